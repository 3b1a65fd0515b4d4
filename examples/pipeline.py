"""A dimension + fact table pipeline: each batch adds customer and order files
and records the batch as an application transaction, all in one commit.

    python3 examples/pipeline.py [CATALOG-URI]    (default: a temporary SQLite file)
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings",
                                "python"))
import deltasql  # noqa: E402

uri = sys.argv[1] if len(sys.argv) > 1 else "sqlite:%s/lake.db" % tempfile.mkdtemp()
cat = deltasql.connect(uri)
for name in ("dim_customer", "fact_orders"):
    try:
        cat.drop_table(name)
    except deltasql.NotFoundError:
        pass
cat.create_table("dim_customer", partition_by=["country"], schema={
    "type": "struct", "fields": [
        {"name": "id", "type": "long", "nullable": False, "metadata": {}},
        {"name": "country", "type": "string", "nullable": True, "metadata": {}}]})
cat.create_table("fact_orders", schema={"type": "struct", "fields": [
    {"name": "order_id", "type": "long", "nullable": False, "metadata": {}}]})

for batch in range(1, 4):
    with cat.transaction(isolation="write_serializable") as tx:
        tx.table("dim_customer").add(
            path="country=DE/batch-%d.parquet" % batch, size=1024,
            partition_values={"country": "DE"}, stats={"numRecords": 10 * batch})
        orders = tx.table("fact_orders")
        orders.add(path="orders-%d.parquet" % batch, size=4096, stats={"numRecords": 100})
        orders.set_app_txn("orders-pipeline", batch)
    print("batch %d committed: %s" % (batch, tx.versions))

fact = cat.snapshot("fact_orders")
assert fact.app_txns["orders-pipeline"] == 3 and len(fact.files) == 3
assert cat.snapshot("dim_customer").version == 3
print("pipeline: ok (%d order files, last batch %d)" % (len(fact.files),
                                                        fact.app_txns["orders-pipeline"]))
cat.close()
