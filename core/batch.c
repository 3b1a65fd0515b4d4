/* Multi-row statements for the commit path (see batch.h). */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

/* The statement forms: the kinds, then the look-up of batch_find_live and
 * BATCH_UNLINK by row ids. */
enum { FORM_LIVE = BATCH_KINDS, FORM_UNLINK_BY_ROW_ID, N_FORMS };
_Static_assert(N_FORMS == BATCH_FORMS, "BATCH_FORMS (catalog_int.h) counts the forms");

static const struct {
	const char *head, *row, *sep, *tail;
	int row_params, lead_params;
} forms[N_FORMS] = {
	[BATCH_ACTION] = {"INSERT INTO dsql_action (table_id, version, seq, kind, body) VALUES ",
	                  "(?, ?, ?, ?, ?)", ", ", "", 5, 0},
	[BATCH_FILE] = {"INSERT INTO dsql_file (table_id, path, dv_id, added_version,"
	                " removed_version, size, body) VALUES ",
	                "(?, ?, ?, ?, NULL, ?, ?)", ", ", "", 6, 0},
	/* "path IN (...)" lets the planner probe the live-file index
	 * (table_id, removed_version, path, dv_id) once per path; the OR chain
	 * (generated after it, see sql_for) matches path and deletion vector
	 * exactly. */
	[BATCH_UNLINK] = {"UPDATE dsql_file SET removed_version = ? WHERE table_id = ?"
	                  " AND removed_version IS NULL AND path IN (",
	                  "?", ", ", ") AND (", 3, 2},
	/* Which of these paths are live (with their deletion vector ids): one
	 * exact probe of the live-file index per path, as a UNION ALL. An IN
	 * list would let PostgreSQL, before it has statistics, plan a walk
	 * over every live file of the table instead (see chunk_rows). */
	[FORM_LIVE] = {"", "SELECT path, dv_id FROM dsql_file WHERE table_id = ?"
	               " AND removed_version IS NULL AND path = ?", " UNION ALL ", "", 2, 0},
	/* BATCH_UNLINK where the dialect has a row-id form
	 * (dsql_dialect.unlink_by_row_id, PostgreSQL's by ctid): its text
	 * comes from the dialect (form_of); only the parameters are here. */
	[FORM_UNLINK_BY_ROW_ID] = {NULL, NULL, NULL, NULL, 3, 1},
};

/* A form's text: the core's, or the dialect's row-id form. */
static dsql_dialect_rows form_of(dsql_catalog *cat, int kind)
{
	dsql_dialect_rows r = {forms[kind].head, forms[kind].row, forms[kind].sep,
	                       forms[kind].tail};

	return kind == FORM_UNLINK_BY_ROW_ID ? db_dialect(cat->db)->unlink_by_row_id : r;
}

/* Chunks of up to BATCH_MAX_ROWS rows, one statement text per size in use:
 * a commit of up to 64 files is one statement per kind (on a server, one
 * round trip; see chunk_rows). */
static const char *sql_for(dsql_catalog *cat, int kind, size_t rows)
{
	char **slot = &cat->batch_sql[kind][rows];
	dsql_dialect_rows f = form_of(cat, kind);
	size_t len, cap;
	char *s;

	if (*slot)
		return *slot;
	cap = strlen(f.head) + strlen(f.tail) + 1 + rows * (strlen(f.row) + strlen(f.sep));
	if (kind == BATCH_UNLINK) /* the OR chain */
		cap += rows * sizeof(" OR (path = ? AND dv_id = ?)") + 2;
	s = malloc(cap);
	if (!s)
		return NULL;
	len = (size_t)snprintf(s, cap, "%s", f.head);
	for (size_t i = 0; i < rows; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s%s", i ? f.sep : "", f.row);
	len += (size_t)snprintf(s + len, cap - len, "%s", f.tail);
	if (kind == BATCH_UNLINK) {
		for (size_t i = 0; i < rows; i++)
			len += (size_t)snprintf(s + len, cap - len, "%s(path = ? AND dv_id = ?)",
			                        i ? " OR " : "");
		snprintf(s + len, cap - len, ")");
	}
	*slot = s;
	return s;
}

/* Rows per statement (the choices are db.c's). A database in the process
 * (SQLite) gets one row per statement: there is no round trip to save, and
 * a statement that can change only one row needs no statement journal.
 * Files are unlinked many to a statement only by the dialect's row-id form
 * (exact probes that every planner gets right); else,
 * where statements are queued (no round trip each), each by its own
 * statement, an exact probe of (table_id, path, dv_id). An IN list is
 * planned from statistics, and PostgreSQL without them (a catalog not
 * analyzed yet, or a file index VACUUM emptied) walks every live file of
 * the table instead; only removes through a driver that neither queues
 * statements nor has row ids still take that risk (adds are unlinked
 * after batch_find_live's exact probes, see commit.c). */
static size_t chunk_rows(const db_choices *c, batch_kind kind)
{
	if (c->row_per_statement || (kind == BATCH_UNLINK && c->unlink_each))
		return 1;
	return BATCH_MAX_ROWS;
}

int batch_run(dsql_catalog *cat, batch_kind kind, size_t n_rows, int64_t lead1, int64_t lead2,
              batch_bind_fn bind, void *ctx, int one_each, dsql_error *err)
{
	size_t done = 0;
	int rc = DSQL_OK;

	const db_choices *c = db_choose(cat->db);
	size_t chunk = chunk_rows(c, kind);
	int form = kind == BATCH_UNLINK && c->unlink_by_row_id ? FORM_UNLINK_BY_ROW_ID : (int)kind;

	while (done < n_rows && rc == DSQL_OK) {
		size_t rows = n_rows - done < chunk ? n_rows - done : chunk;
		const char *sql = sql_for(cat, form, rows);
		db_stmt *st;
		int param = 1;

		if (!sql)
			return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
		rc = db_stmt_get(&st, cat->db, sql, err);
		if (rc == DSQL_OK && forms[form].lead_params) {
			rc = db_bind(st, param++, DSQL_TYPE_INT64, lead1, 0, NULL, 0, err);
			if (rc == DSQL_OK && forms[form].lead_params > 1)
				rc = db_bind(st, param++, DSQL_TYPE_INT64, lead2, 0, NULL, 0, err);
		}
		if (form == FORM_UNLINK_BY_ROW_ID) {
			/* Per file: the table id, then the (path, dv_id) pair. */
			for (size_t i = 0; i < rows && rc == DSQL_OK; i++) {
				rc = db_bind(st, param, DSQL_TYPE_INT64, lead2, 0, NULL, 0, err);
				if (rc == DSQL_OK)
					rc = bind(st, param + 1, done + i, ctx, err);
				param += forms[form].row_params;
			}
		} else if (kind == BATCH_UNLINK) {
			/* The paths of the IN list, then the (path, dv_id) pairs. */
			for (size_t i = 0; i < rows && rc == DSQL_OK; i++)
				rc = bind(st, -(param + (int)i), done + i, ctx, err);
			param += (int)rows;
			for (size_t i = 0; i < rows && rc == DSQL_OK; i++) {
				rc = bind(st, param, done + i, ctx, err);
				param += 2;
			}
		} else {
			for (size_t i = 0; i < rows && rc == DSQL_OK; i++) {
				rc = bind(st, param, done + i, ctx, err);
				param += forms[kind].row_params;
			}
		}
		if (rc == DSQL_OK)
			rc = db_defer(st, one_each ? (int64_t)rows : -1, err);
		done += rows;
	}
	return rc;
}

int batch_find_live(dsql_catalog *cat, int64_t table_id, const action *const *files,
                    size_t n_files, unsigned char *live, dsql_error *err)
{
	int rc = DSQL_OK;

	for (size_t done = 0; done < n_files && rc == DSQL_OK;) {
		size_t rows = n_files - done < BATCH_MAX_ROWS ? n_files - done : BATCH_MAX_ROWS;
		const char *sql = sql_for(cat, FORM_LIVE, rows);
		db_stmt *st;

		if (!sql)
			return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
		rc = db_stmt_get(&st, cat->db, sql, err);
		for (size_t i = 0; i < rows && rc == DSQL_OK; i++) {
			rc = db_bind(st, 1 + 2 * (int)i, DSQL_TYPE_INT64, table_id, 0, NULL, 0, err);
			if (rc == DSQL_OK)
				rc = db_bind(st, 2 + 2 * (int)i, DSQL_TYPE_TEXT, 0, 0, files[done + i]->path,
				             strlen(files[done + i]->path), err);
		}
		for (rc = rc == DSQL_OK ? db_step(st, err) : rc; rc == DSQL_ROW; rc = db_step(st, err)) {
			const char *path = db_column_text(st, 0, NULL), *dv = db_column_text(st, 1, NULL);

			for (size_t i = done; i < done + rows; i++)
				if (strcmp(files[i]->path, path) == 0 && strcmp(files[i]->dv_id, dv) == 0)
					live[i] = 1;
		}
		if (rc == DSQL_DONE)
			rc = DSQL_OK;
		done += rows;
	}
	return rc;
}

void batch_free(dsql_catalog *cat)
{
	for (int k = 0; k < N_FORMS; k++)
		for (int s = 0; s <= BATCH_MAX_ROWS; s++)
			free(cat->batch_sql[k][s]);
}
