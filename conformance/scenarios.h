/*
 * The shared scenarios: the commit path exercised through the public API
 * only, against any catalog URI. Every driver runs the same scenarios; the
 * tables of each test have unique names, so one catalog serves them all.
 */
#ifndef DSQL_SCENARIOS_H
#define DSQL_SCENARIOS_H

#include <check.h>

/* Builds a Check suite named label running every scenario against uri.
 * The catalog at uri is created when absent. capabilities are the driver's
 * DSQL_CAP_* bits: scenarios a driver does not declare are left out, and
 * the names of those left out are printed. */
Suite *scenarios_suite(const char *label, const char *uri, unsigned int capabilities);

#endif
