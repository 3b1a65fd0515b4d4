"""TableStage.write against every backend; what it writes is read back by
delta-rs (deltalake) from the table's exported _delta_log."""

import datetime
import os
import shutil
import sys
import tempfile
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deltasql  # noqa: E402
from backends import CI, add_backend_tests  # noqa: E402

try:
    import pandas as pd
    import pyarrow as pa
    import deltalake
except ImportError:
    if CI:
        raise
    pa = None

UTC = datetime.timezone.utc


def customers(ids, country):
    return pa.table({"customer_id": pa.array(ids, pa.int64()),
                     "name": ["c%d" % i for i in ids],
                     "country": [country] * len(ids)})


def orders(ids, day):
    return pa.table({"order_id": pa.array(ids, pa.int64()),
                     "customer_id": pa.array([i % 3 for i in ids], pa.int64()),
                     "amount": [float(i) * 1.5 if i % 4 else None for i in ids],
                     "day": [day] * len(ids),
                     "at": pa.array([datetime.datetime(2026, 1, 1, i % 24, tzinfo=UTC)
                                     for i in ids], pa.timestamp("us", "UTC"))})


@unittest.skipIf(pa is None, "SKIPPED: pyarrow, pandas or deltalake missing (outside CI only)")
class _WriteCases:
    def setUp(self):
        self.cat = deltasql.connect(self.uri())
        self.lake = tempfile.mkdtemp(prefix="deltasql-lake-")

    def tearDown(self):
        self.cat.close()
        shutil.rmtree(self.lake, ignore_errors=True)

    def table(self, base, **kw):
        name = "%s_%s" % (base, uuid.uuid4().hex[:10])
        self.cat.create_table(name, location=os.path.join(self.lake, name), **kw)
        return name

    def read_back(self, name):
        """The table as delta-rs reads it from its location, after an export."""
        loc = self.cat.table_info(name).location
        shutil.rmtree(os.path.join(loc, "_delta_log"), ignore_errors=True)
        self.cat.export_delta(name, loc)
        return deltalake.DeltaTable(loc)

    def test_dimension_and_fact_in_one_transaction(self):
        dim, fact = self.table("dim_customer"), self.table("fact_orders")
        with self.cat.transaction() as tx:
            d = tx.table(dim).write(customers([1, 2], "DE"), partition_by=["country"])
            f = tx.table(fact).write(orders(range(10), datetime.date(2026, 1, 2)),
                                     partition_by=["day"], file_rows=4)
        self.assertEqual(tx.versions, {dim: 1, fact: 1})
        self.assertEqual(len(d), 1)
        self.assertEqual(len(f), 3)  # 10 rows at 4 per file
        self.assertEqual(f[0].partition_values, {"day": "2026-01-02"})
        self.assertTrue(f[0].path.startswith("day=2026-01-02/part-"))
        dt = self.read_back(fact)
        got = dt.to_pyarrow_table().sort_by("order_id")
        self.assertEqual(got.column("order_id").to_pylist(), list(range(10)))
        self.assertEqual(got.column("amount").to_pylist()[:5], [None, 1.5, 3.0, 4.5, None])
        self.assertEqual(got.column("day").to_pylist()[0], datetime.date(2026, 1, 2))
        self.assertEqual(got.column("at").to_pylist()[1],
                         datetime.datetime(2026, 1, 1, 1, tzinfo=UTC))
        # The statistics, as delta-rs reads them, are the data's.
        adds = pa.table(dt.get_add_actions(flatten=True)).sort_by("path").to_pylist()
        ours = self.cat.snapshot(fact).to_arrow().sort_by("path").to_pylist()
        self.assertEqual(sum(a["num_records"] for a in adds), 10)
        for a, o in zip(adds, ours):
            self.assertEqual(a["num_records"], o["num_records"])
            self.assertEqual(a["min.order_id"], o["min"]["order_id"])
            self.assertEqual(a["max.order_id"], o["max"]["order_id"])
            self.assertEqual(a["null_count.amount"], o["null_count"]["amount"])
        first = [o for o in ours if o["min"]["order_id"] == 0][0]
        self.assertEqual((first["max"]["order_id"], first["null_count"]["amount"]), (3, 1))
        self.assertEqual(first["min"]["at"], datetime.datetime(2026, 1, 1, 0, tzinfo=UTC))
        dims = self.read_back(dim).to_pyarrow_table()
        self.assertEqual(sorted(dims.column("customer_id").to_pylist()), [1, 2])
        self.assertEqual(dims.column("country").to_pylist(), ["DE", "DE"])
        # The table's schema came from the data.
        self.assertEqual([fl["name"] for fl in self.cat.snapshot(fact).schema["fields"]],
                         ["order_id", "customer_id", "amount", "day", "at"])

    def test_overwrite_removes_what_it_replaces(self):
        t = self.table("t")
        with self.cat.transaction() as tx:
            tx.table(t).write(customers([1, 2, 3], "DE"), partition_by=["country"])
        with self.cat.transaction() as tx:
            tx.table(t).write(customers([4], "FR"))
        self.assertEqual(len(self.cat.snapshot(t)), 2)
        with self.cat.transaction() as tx:
            tx.table(t).write(customers([7, 8], "US"), mode="overwrite")
        self.assertEqual([f.partition_values for f in self.cat.snapshot(t)],
                         [{"country": "US"}])
        got = self.read_back(t).to_pyarrow_table()
        self.assertEqual(sorted(got.column("customer_id").to_pylist()), [7, 8])
        self.assertEqual(self.cat.history(t)[-1].removes, 2)

    def test_overwrite_conflicts_with_a_concurrent_append(self):
        t = self.table("t")
        with self.cat.transaction() as tx:
            tx.table(t).write(customers([1], "DE"))
        tx = self.cat.transaction(isolation="serializable")
        tx.table(t).write(customers([2], "DE"), mode="overwrite")
        with self.cat.transaction() as other:
            other.table(t).write(customers([3], "DE"))
        with self.assertRaises(deltasql.ConflictError):
            tx.commit()
        self.assertEqual(len(self.cat.snapshot(t)), 2)

    def test_pandas_and_record_batch_readers(self):
        t = self.table("t")
        df = pd.DataFrame({"id": [1, 2, 3], "name": ["a", None, "c"],
                           "when": pd.to_datetime(["2026-01-01", "2026-01-02", None],
                                                  utc=True)})
        with self.cat.transaction() as tx:
            tx.table(t).write(df)
        reader = pa.RecordBatchReader.from_batches(
            pa.schema([("id", pa.int64()), ("name", pa.string())]),
            [pa.record_batch({"id": [4], "name": ["d"]}),
             pa.record_batch({"id": [5], "name": ["e"]})])
        with self.cat.transaction() as tx:
            streamed = tx.table(t).write(reader, file_rows=1)  # a file per batch, as it comes
        self.assertEqual([f.num_records for f in streamed], [1, 1])
        got = self.read_back(t).to_pandas().sort_values("id")
        self.assertEqual(list(got["id"]), [1, 2, 3, 4, 5])
        self.assertEqual([None if pd.isna(x) else x for x in got["name"]],
                         ["a", None, "c", "d", "e"])
        self.assertEqual(self.cat.snapshot(t).to_pandas()["num_records"].sum(), 5)

    def test_partition_values_stay_under_the_location(self):
        t = self.table("t")
        nasty = ["../../escape", "a/b", "x=y", "100%", None]
        data = pa.table({"id": list(range(len(nasty))), "k": nasty})
        with self.cat.transaction() as tx:
            tx.table(t).write(data, partition_by=["k"])
        loc = self.cat.table_info(t).location
        for root, _, files in os.walk(self.lake):
            for fn in files:
                self.assertTrue(os.path.abspath(os.path.join(root, fn)).startswith(loc + "/"))
        got = self.read_back(t).to_pyarrow_table().sort_by("id")
        self.assertEqual(got.column("k").to_pylist(), nasty)
        self.assertIn("k=__HIVE_DEFAULT_PARTITION__",
                      [f.path.split("/")[0] for f in self.cat.snapshot(t)])

    def test_refusals_write_nothing(self):
        a, b, c = self.table("a"), self.table("b"), self.table("c")
        nowhere = "nowhere_%s" % uuid.uuid4().hex[:8]
        self.cat.create_table(nowhere)
        with self.cat.transaction() as tx:
            tx.table(a).write(customers([1], "DE"))
        cases = [
            (lambda tx: tx.table(a).write(pa.table({"other": [1]})), "not in the table"),
            (lambda tx: tx.table(a).write(customers([1], "DE"), partition_by=["name"]),
             "partitioned by"),
            (lambda tx: tx.table(nowhere).write(customers([1], "DE")), "no location"),
            (lambda tx: tx.table(b).write([1, 2]), "pyarrow.Table"),
            (lambda tx: tx.table(c).write(pa.table({"t": pa.array(
                [datetime.datetime(2026, 1, 1)], pa.timestamp("us"))})), "time zone"),
            (lambda tx: tx.table(b).write(customers([1], "DE"), mode="upsert"), "mode"),
        ]
        for fn, message in cases:
            with self.assertRaises(deltasql.InvalidInputError, msg=message) as cm:
                with self.cat.transaction() as tx:
                    tx.table(b).write(customers([9], "FR"))  # staged, then dropped
                    fn(tx)
            self.assertIn(message, cm.exception.message)
        self.assertEqual([self.cat.table_version(x) for x in (a, b, c)], [1, 0, 0])


add_backend_tests(_WriteCases, globals())


if __name__ == "__main__":
    unittest.main()
