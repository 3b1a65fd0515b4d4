"""make bench, Python part: a snapshot of 1M live files to a pyarrow.Table
(Snapshot.to_arrow) against pyarrow reading the same rows from the database
directly (the ADBC SQLite driver's fetch_arrow_table of the file index).

    python bench_arrow.py [--files N] [--reps R] [--json]

The table is made by deltasql (schema, partition column), then its file index is
bulk-loaded with the add bodies a writer of 4 columns with statistics stages
(one transaction of SQL inserts, as the C benchmark's bulk rows): committing a
million adds one by one would only measure the commit path, which the C
benchmark does. Medians of R runs; the ratio is what counts.
"""

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time

import deltasql

SCHEMA = {"type": "struct", "fields": [
    {"name": "id", "type": "long", "nullable": False, "metadata": {}},
    {"name": "amount", "type": "double", "nullable": True, "metadata": {}},
    {"name": "name", "type": "string", "nullable": True, "metadata": {}},
    {"name": "day", "type": "date", "nullable": True, "metadata": {}},
    {"name": "country", "type": "string", "nullable": True, "metadata": {}}]}


def body(i):
    country = ("DE", "FR", "US", "JP")[i % 4]
    stats = {"numRecords": 1000 + i % 97,
             "minValues": {"id": i * 1000, "amount": 0.5, "name": "a%07d" % i,
                           "day": "2026-01-01"},
             "maxValues": {"id": i * 1000 + 999, "amount": 99.5, "name": "z%07d" % i,
                           "day": "2026-12-31"},
             "nullCount": {"id": 0, "amount": i % 3, "name": 0, "day": 0}}
    return json.dumps({"path": "country=%s/part-%08d.parquet" % (country, i),
                       "partitionValues": {"country": country}, "size": 104857 + i % 1000,
                       "modificationTime": 1767225600000 + i, "dataChange": True,
                       "stats": json.dumps(stats, separators=(",", ":"))},
                      separators=(",", ":"))


def build(db, n):
    cat = deltasql.connect("sqlite:" + db)
    cat.create_table("big", schema=SCHEMA, partition_by=["country"])
    cat.close()
    con = sqlite3.connect(db)
    (tid,) = con.execute("SELECT id FROM dsql_table WHERE name = 'big'").fetchone()
    con.executemany("INSERT INTO dsql_file (table_id, path, dv_id, added_version, "
                    "removed_version, size, body) VALUES (?, ?, '', 0, NULL, ?, ?)",
                    ((tid, "country=%s/part-%08d.parquet" % (("DE", "FR", "US", "JP")[i % 4], i),
                      104857 + i % 1000, body(i)) for i in range(n)))
    con.commit()
    con.close()
    return tid


def median_ms(fn, reps):
    times = []
    out = None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1000)
        del out
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    import adbc_driver_sqlite.dbapi as adbc

    work = tempfile.mkdtemp(prefix="deltasql-pybench-")
    db = os.path.join(work, "big.db")
    t0 = time.perf_counter()
    tid = build(db, a.files)
    built = time.perf_counter() - t0
    cat = deltasql.connect("sqlite:" + db)

    def load():
        with cat.snapshot("big") as s:
            return s

    def to_arrow():
        with cat.snapshot("big") as s:
            return s.to_arrow()

    t = to_arrow()
    assert t.num_rows == a.files and t.column("min").type.field("day").type.id is not None
    assert t.column("num_records")[1].as_py() == 1004  # by path: i = 0, 4, 8, ...
    assert t.column("min")[1].as_py()["name"] == "a0000004"
    load_ms = median_ms(load, a.reps)
    arrow_ms = median_ms(to_arrow, a.reps)
    con = adbc.connect(db)

    def raw():
        cur = con.cursor()
        cur.execute("SELECT path, body FROM dsql_file WHERE table_id = ? AND "
                    "removed_version IS NULL ORDER BY removed_version, path, dv_id", (tid,))
        tbl = cur.fetch_arrow_table()
        cur.close()
        return tbl

    assert raw().num_rows == a.files
    raw_ms = median_ms(raw, a.reps)
    con.close()
    cat.close()
    result = {"section": "python_snapshot_to_arrow", "files": a.files, "reps": a.reps,
              "snapshot_load_ms": round(load_ms, 1), "to_arrow_ms": round(arrow_ms, 1),
              "raw_adbc_ms": round(raw_ms, 1), "ratio": round(arrow_ms / raw_ms, 2),
              "build_s": round(built, 1)}
    if a.json:
        print(json.dumps(result))
    else:
        print("\nPython: a snapshot of %d files to a pyarrow.Table (median of %d), vs pyarrow "
              "reading the same rows from SQLite (ADBC)" % (a.files, a.reps))
        print("   snapshot load %.0f ms; load + to_arrow (typed stats, partitions, DVs) "
              "%.0f ms; raw SELECT to Arrow %.0f ms; ratio %.2fx (table built in %.0f s)"
              % (load_ms, arrow_ms, raw_ms, arrow_ms / raw_ms, built))
    import shutil
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
