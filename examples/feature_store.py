"""A feature store's daily load: one transaction writes the day's rows of the
entity table and of two feature tables (Parquet, with Delta statistics), and
records the day as the pipeline's application transaction. Training reads all
three tables as of one moment, so features and entities always match; a rerun
of a loaded day writes nothing.

    python3 examples/feature_store.py [CATALOG-URI]   (default: a temporary SQLite file)

Needs pyarrow (pip install ./bindings/python[arrow]).
"""
import datetime
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings",
                                "python"))
import pyarrow as pa  # noqa: E402

import deltasql  # noqa: E402

lake = tempfile.mkdtemp(prefix="feature-store-")
uri = sys.argv[1] if len(sys.argv) > 1 else "sqlite:%s/catalog.db" % lake
cat = deltasql.connect(uri)
TABLES = ("customers", "features_orders", "features_web")
for name in TABLES:
    try:
        cat.drop_table(name)
    except deltasql.NotFoundError:
        pass
    cat.create_table(name, location=os.path.join(lake, name))
PIPELINE = "feature-pipeline"


def load_day(day: datetime.date) -> None:
    """Writes one day into every table, atomically; skips a day already loaded."""
    done = cat.snapshot("customers").app_txns.get(PIPELINE, -1)
    if day.toordinal() <= done:
        print("%s: already loaded" % day)
        return
    ids = list(range(day.day * 10, day.day * 10 + 5))
    as_of = pa.array([datetime.datetime.combine(day, datetime.time(), datetime.timezone.utc)]
                     * len(ids), pa.timestamp("us", "UTC"))
    with cat.transaction() as tx:
        tx.table("customers").write(pa.table({
            "customer_id": ids, "segment": ["gold" if i % 2 else "std" for i in ids],
            "day": [day] * len(ids)}), partition_by=["day"])
        tx.table("features_orders").write(pa.table({
            "customer_id": ids, "as_of": as_of, "orders_30d": [i % 7 for i in ids],
            "spend_30d": [i * 12.5 for i in ids]}))
        tx.table("features_web").write(pa.table({
            "customer_id": ids, "as_of": as_of, "sessions_7d": [i % 5 for i in ids]}))
        tx.table("customers").set_app_txn(PIPELINE, day.toordinal())
    print("%s: committed %s" % (day, tx.versions))


for d in (1, 2, 3, 2):  # the second day 2 is a rerun
    load_day(datetime.date(2026, 12, d))

# Training: the three tables as of one commit, their files as Arrow.
snaps = cat.snapshots(TABLES)  # one read: a commit is in all of them or in none
assert len({s.version for s in snaps.values()}) == 1  # one commit wrote them all
rows = {name: pa.compute.sum(s.to_arrow().column("num_records")).as_py()
        for name, s in snaps.items()}
assert rows == {"customers": 15, "features_orders": 15, "features_web": 15}, rows
files = snaps["features_orders"].to_arrow()
print("features_orders: %d files, spend_30d from %.1f to %.1f" % (
    files.num_rows, min(m["spend_30d"] for m in files.column("min").to_pylist()),
    max(m["spend_30d"] for m in files.column("max").to_pylist())))
print("feature_store: ok (%d rows per table, last day %s)" % (
    rows["customers"], datetime.date.fromordinal(snaps["customers"].app_txns[PIPELINE])))
cat.close()
