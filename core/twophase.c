/*
 * Native two-phase commit, on drivers that have it (DSQL_CAP_TWO_PHASE).
 *
 * Phase one is an ordinary commit attempt that ends with PREPARE
 * TRANSACTION under a global id naming the catalog, the time and the
 * transaction: "dsql_<catalog>_<ms>_<txn id>". Phase two first records the
 * decision in dsql_decision (outside the prepared transaction, so it is
 * durable on its own), then runs COMMIT PREPARED, then forgets the decision.
 * Recovery (presumed abort): a prepared transaction older than a grace
 * period is committed when its decision was recorded, rolled back when not.
 */
#include "deltasql/txn.h"
#include "txn_int.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int need_two_phase(dsql_catalog *cat, dsql_error *err)
{
	const dsql_driver *d = db_driver(cat->db);

	if (db_capabilities(cat->db) & DSQL_CAP_TWO_PHASE)
		return DSQL_OK;
	return dsql_error_set(err, DSQL_EUNSUPPORTED, d->name, NULL, 0,
	                      "the %s driver does not support native two-phase commit", d->name);
}

static void prefix_of(const dsql_catalog *cat, char *buf, size_t cap)
{
	snprintf(buf, cap, "dsql_%.8s_", cat->uuid);
}

int twophase_make_gid(dsql_txn *txn, dsql_error *err)
{
	char prefix[32];
	int rc = need_two_phase(txn->cat, err);

	if (rc != DSQL_OK)
		return rc;
	for (const char *p = txn->id; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-", *p))
			return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                      "transaction id '%s' cannot be part of a two-phase global "
			                      "id (allowed: letters, digits, _ . : -)", txn->id);
	prefix_of(txn->cat, prefix, sizeof(prefix));
	snprintf(txn->gid, sizeof(txn->gid), "%s%lld_%s", prefix, (long long)util_now_ms(),
	         txn->id);
	return DSQL_OK;
}

/* The gid's prepare time and transaction id; 0 when it is not a gid of
 * this catalog. */
static int parse_gid(const dsql_catalog *cat, const char *gid, int64_t *ms, const char **txn_id)
{
	char prefix[32], *end;
	size_t n;
	long long v;

	prefix_of(cat, prefix, sizeof(prefix));
	n = strlen(prefix);
	if (!gid || strncmp(gid, prefix, n) != 0)
		return 0;
	v = strtoll(gid + n, &end, 10);
	if (end == gid + n || *end != '_')
		return 0;
	if (ms)
		*ms = v;
	if (txn_id)
		*txn_id = end + 1;
	return 1;
}

typedef struct find_gid {
	const char *gid;
	int found;
} find_gid;

static int find_cb(const char *gid, void *payload)
{
	find_gid *f = payload;

	if (strcmp(gid, f->gid) == 0)
		f->found = 1;
	return 0;
}

int twophase_prepared_exists(dsql_catalog *cat, const char *gid, int *exists, dsql_error *err)
{
	find_gid f = {gid, 0};
	int rc = db_list_prepared(cat->db, gid, find_cb, &f, err);

	*exists = f.found;
	return rc;
}

static int run_decision(dsql_catalog *cat, const char *sql, const char *gid, dsql_error *err)
{
	db_stmt *st;
	int rc = db_begin(cat->db, DSQL_BEGIN_WRITE, err);

	if (rc == DSQL_OK)
		rc = db_stmt_get(&st, cat->db, sql, err);
	if (rc == DSQL_OK) {
		rc = db_run(st, err, strstr(sql, "INSERT") ? "ti" : "t", gid, util_now_ms());
		rc = rc == DSQL_DONE ? DSQL_OK : rc;
	}
	if (rc != DSQL_OK) {
		db_rollback(cat->db);
		return rc == DSQL_EEXISTS ? DSQL_OK : rc; /* decided before: fine */
	}
	return db_commit(cat->db, err);
}

static int record_decision(dsql_catalog *cat, const char *gid, dsql_error *err)
{
	return run_decision(cat, "INSERT INTO dsql_decision (gid, decided_ms) VALUES (?, ?)", gid,
	                    err);
}

static int forget_decision(dsql_catalog *cat, const char *gid, dsql_error *err)
{
	return run_decision(cat, "DELETE FROM dsql_decision WHERE gid = ?", gid, err);
}

static int journal_has(dsql_catalog *cat, const char *txn_id, int *found, dsql_error *err)
{
	db_stmt *st;
	int rc = db_stmt_get(&st, cat->db, "SELECT 1 FROM dsql_transaction WHERE txn_id = ?", err);

	if (rc != DSQL_OK)
		return rc;
	rc = db_run(st, err, "t", txn_id);
	db_stmt_done(st);
	*found = rc == DSQL_ROW;
	return rc == DSQL_ROW || rc == DSQL_DONE ? DSQL_OK : rc;
}

/* A decision on a prepared transaction, for the catalog's logger. */
static void log_decision(dsql_catalog *cat, const char *gid, const char *decision, int rc,
                         const dsql_error *err)
{
	dsql_log_field f[] = {{"gid", gid}, {"decision", decision},
	                      {"result", rc == DSQL_OK ? "ok" : dsql_status_name(rc)}};

	log_emit(&cat->log, rc == DSQL_OK ? DSQL_LOG_INFO : DSQL_LOG_ERROR, DSQL_EVENT_TWO_PHASE, f,
	         LOG_N(f), "%s %s%s%s", decision, gid, rc == DSQL_OK ? "" : " failed: ",
	         rc == DSQL_OK || !err ? "" : err->message);
}

static int is_decided(dsql_catalog *cat, const char *gid, int *decided, dsql_error *err)
{
	db_stmt *st;
	int rc = db_stmt_get(&st, cat->db, "SELECT 1 FROM dsql_decision WHERE gid = ?", err);

	if (rc != DSQL_OK)
		return rc;
	rc = db_run(st, err, "t", gid);
	db_stmt_done(st);
	*decided = rc == DSQL_ROW;
	return rc == DSQL_ROW || rc == DSQL_DONE ? DSQL_OK : rc;
}

int dsql_prepared_commit(dsql_catalog *cat, const char *gid, dsql_error *err)
{
	const char *txn_id;
	int rc, found;

	if ((rc = need_two_phase(cat, err)) != DSQL_OK)
		return rc;
	if (!parse_gid(cat, gid, NULL, &txn_id))
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "'%s' is not a prepared transaction of this catalog",
		                      gid ? gid : "(null)");
	rc = record_decision(cat, gid, err);
	db_fault_point(cat->db, "after_decision");
	if (rc == DSQL_OK)
		rc = db_commit_prepared(cat->db, gid, err);
	if (rc == DSQL_ENOTFOUND && journal_has(cat, txn_id, &found, NULL) == DSQL_OK && found)
		rc = DSQL_OK; /* committed already (by recovery, or an earlier call) */
	if (rc == DSQL_OK || rc == DSQL_ENOTFOUND)
		forget_decision(cat, gid, NULL);
	if (cat->log.cb)
		log_decision(cat, gid, "commit", rc, err);
	return rc;
}

/* A recorded decision is a promise to commit: its coordinator may have
 * told its caller so already, and recovery will commit it. */
int dsql_prepared_rollback(dsql_catalog *cat, const char *gid, dsql_error *err)
{
	int rc, decided = 0;

	if ((rc = need_two_phase(cat, err)) != DSQL_OK)
		return rc;
	if (!parse_gid(cat, gid, NULL, NULL))
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "'%s' is not a prepared transaction of this catalog",
		                      gid ? gid : "(null)");
	if ((rc = is_decided(cat, gid, &decided, err)) != DSQL_OK)
		return rc;
	if (decided)
		rc = dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                    "prepared transaction '%s' has a recorded decision to commit: "
		                    "it cannot be rolled back; commit it (recover --commit)", gid);
	else
		rc = db_rollback_prepared(cat->db, gid, err);
	if (cat->log.cb)
		log_decision(cat, gid, "rollback", rc, err);
	return rc;
}

typedef struct gid_list {
	char **gids;
	size_t n;
} gid_list;

static int collect_cb(const char *gid, void *payload)
{
	gid_list *l = payload;
	char **n = realloc(l->gids, (l->n + 1) * sizeof(*n));

	if (!n)
		return DSQL_ENOMEM;
	l->gids = n;
	l->gids[l->n] = strdup(gid);
	if (!l->gids[l->n])
		return DSQL_ENOMEM;
	l->n++;
	return 0;
}

static void free_list(gid_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->gids[i]);
	free(l->gids);
}

static int list_gids(dsql_catalog *cat, gid_list *l, dsql_error *err)
{
	char prefix[32];
	int rc;

	prefix_of(cat, prefix, sizeof(prefix));
	rc = db_list_prepared(cat->db, prefix, collect_cb, l, err);
	if (rc == DSQL_ENOMEM)
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	return rc;
}

int dsql_prepared_list(dsql_catalog *cat, dsql_gid_cb cb, void *payload, dsql_error *err)
{
	gid_list l = {NULL, 0};
	int rc;

	if ((rc = need_two_phase(cat, err)) != DSQL_OK || (rc = list_gids(cat, &l, err)) != DSQL_OK)
		return rc;
	for (size_t i = 0; i < l.n && rc == DSQL_OK; i++) {
		int64_t ms = 0;
		int decided = 0;

		parse_gid(cat, l.gids[i], &ms, NULL);
		rc = is_decided(cat, l.gids[i], &decided, err);
		if (rc == DSQL_OK)
			rc = cb(l.gids[i], ms, decided, payload);
	}
	free_list(&l);
	return rc;
}

int dsql_prepared_recover(dsql_catalog *cat, int64_t older_than_ms, unsigned int *committed,
                          unsigned int *rolled_back, dsql_error *err)
{
	gid_list l = {NULL, 0};
	unsigned int c = 0, r = 0;
	int64_t now = util_now_ms();
	int rc;

	if ((rc = need_two_phase(cat, err)) != DSQL_OK || (rc = list_gids(cat, &l, err)) != DSQL_OK)
		return rc;
	db_fault_point(cat->db, "recover_start");
	for (size_t i = 0; i < l.n && rc == DSQL_OK; i++) {
		int64_t ms = 0;
		int decided = 0;

		parse_gid(cat, l.gids[i], &ms, NULL);
		if (now - ms < older_than_ms)
			continue; /* its coordinator may still be deciding */
		rc = is_decided(cat, l.gids[i], &decided, err);
		if (rc != DSQL_OK)
			break;
		if (LOG_WANTS(&cat->log, DSQL_LOG_WARN)) {
			dsql_log_field f[] = {{"gid", l.gids[i]},
			                      {"decision", decided ? "commit" : "rollback"}};

			log_emit(&cat->log, DSQL_LOG_WARN, DSQL_EVENT_RECOVERY, f, LOG_N(f),
			         "recovering %s, left prepared: %s", l.gids[i],
			         decided ? "its commit was decided" : "undecided, so rolled back");
		}
		if (decided) {
			rc = dsql_prepared_commit(cat, l.gids[i], err);
			c += rc == DSQL_OK;
		} else {
			rc = dsql_prepared_rollback(cat, l.gids[i], err);
			r += rc == DSQL_OK;
		}
		if (rc == DSQL_ENOTFOUND) /* resolved meanwhile by someone else */
			rc = DSQL_OK;
	}
	free_list(&l);
	if (committed)
		*committed = c;
	if (rolled_back)
		*rolled_back = r;
	return rc;
}

int dsql_txn_prepare(dsql_txn *txn, dsql_error *err)
{
	int rc;

	if (!txn)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "transaction is NULL");
	if ((rc = need_two_phase(txn->cat, err)) != DSQL_OK)
		return rc;
	txn->prepare_only = 1;
	rc = dsql_txn_commit(txn, err);
	if (rc != DSQL_OK || txn->replayed)
		txn->gid[0] = '\0'; /* nothing is prepared */
	return rc;
}

const char *dsql_txn_gid(const dsql_txn *txn)
{
	return txn && txn->gid[0] ? txn->gid : NULL;
}

int dsql_txn_commit_two_phase(dsql_txn *txn, dsql_error *err)
{
	int rc = dsql_txn_prepare(txn, err);

	if (rc != DSQL_OK)
		return rc;
	if (txn->replayed)
		return DSQL_OK; /* an earlier commit of this id: nothing was prepared */
	db_fault_point(txn->cat->db, "between_phases");
	rc = dsql_prepared_commit(txn->cat, txn->gid, err);
	if (rc == DSQL_OK)
		txn->gid[0] = '\0'; /* committed: nothing is prepared any more */
	return rc;
}
