/*
 * Delta's serialization of partition values (PROTOCOL.md, "Partition Value
 * Serialization"): every value is a string, "" and null both mean null,
 * and a value must read as its column's type, or no reader can use the
 * file (a Spark reader fails the whole scan on "x" for an integer column).
 */
#ifndef DSQL_CORE_PARTITION_H
#define DSQL_CORE_PARTITION_H

/* Whether text (NULL or "": null) is a value of the Delta primitive type
 * named type: "integer", "long", "decimal(10,2)", "date", "timestamp"...
 * Numbers are their string form (sign, digits; floating point also NaN
 * and Infinity), a boolean is true or false, a date YYYY-MM-DD and a
 * timestamp a date, ' ' or 'T', HH:MM:SS, up to 9 fraction digits and an
 * optional Z or offset. Strings, binaries, and types it does not know
 * (NULL: a complex type, or a schema without the column) take any value. */
int partition_value_ok(const char *type, const char *text);

#endif
