/* The SQLSTATE table shared by the drivers that get SQLSTATEs from their
 * database (PostgreSQL natively, every database through ODBC). */
#ifndef DSQL_COMMON_SQLSTATE_H
#define DSQL_COMMON_SQLSTATE_H

/* The deltasql code for a five-character SQLSTATE: the exact state first,
 * then its two-character class; DSQL_EDB when neither is known. */
int dsql_sqlstate_classify(const char *sqlstate);

#endif
