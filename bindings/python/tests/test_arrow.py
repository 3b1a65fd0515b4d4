"""Snapshot.to_arrow against every backend, and against delta-rs (deltalake's
get_add_actions) on the Delta project's fixture tables."""

import datetime
import os
import sys
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deltasql  # noqa: E402
from backends import CI, add_backend_tests  # noqa: E402

try:
    import pyarrow as pa
except ImportError:  # the runner's venv has it; CI must
    if CI:
        raise
    pa = None
try:
    import deltalake
except ImportError:
    if CI:
        raise
    deltalake = None

FIXTURES = os.environ.get("DELTASQL_FIXTURES") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "shared", "fixtures",
    "delta-acceptance")
SCHEMA = {"type": "struct", "fields": [
    {"name": "id", "type": "long", "nullable": False, "metadata": {}},
    {"name": "price", "type": "double", "nullable": True, "metadata": {}},
    {"name": "name", "type": "string", "nullable": True, "metadata": {}},
    {"name": "day", "type": "date", "nullable": True, "metadata": {}},
    {"name": "at", "type": "timestamp", "nullable": True, "metadata": {}},
    {"name": "country", "type": "string", "nullable": True, "metadata": {}},
    {"name": "year", "type": "integer", "nullable": True, "metadata": {}}]}
UTC = datetime.timezone.utc


@unittest.skipIf(pa is None, "SKIPPED: pyarrow is not installed (outside CI only)")
class _ArrowCases:
    def setUp(self):
        self.cat = deltasql.connect(self.uri())

    def tearDown(self):
        self.cat.close()

    def name(self, base):
        return "%s_%s" % (base, uuid.uuid4().hex[:10])

    def test_files_as_typed_columns(self):
        t = self.name("arrow")
        self.cat.create_table(t, schema=SCHEMA, partition_by=["country", "year"])
        dv = {"storageType": "u", "pathOrInlineDv": "ab^-aqEH.-t@S}K{vb[*k^", "offset": 4,
              "sizeInBytes": 40, "cardinality": 6}
        stats = {"numRecords": 3, "minValues": {"id": 1, "price": 0.5, "name": "a",
                                                "day": "2026-01-01",
                                                "at": "2026-01-01T10:00:00.000Z"},
                 "maxValues": {"id": 9, "price": 9.5, "name": "z", "day": "2026-12-31",
                               "at": "2026-12-31T10:00:00.000Z"},
                 "nullCount": {"id": 0, "price": 1, "name": 0, "day": 0, "at": 2}}
        with self.cat.transaction() as tx:
            stage = tx.table(t)
            stage.action({"protocol": {  # deletion vectors need the table feature
                "minReaderVersion": 3, "minWriterVersion": 7,
                "readerFeatures": ["deletionVectors"], "writerFeatures": ["deletionVectors"]}})
            stage.add(path="country=DE/year=2026/a.parquet", size=100,
                      partition_values={"country": "DE", "year": "2026"}, stats=stats,
                      modification_time="2026-03-01T00:00:00Z", deletion_vector=dv,
                      tags={"k": "v"})
            stage.add(path="country=__HIVE_DEFAULT_PARTITION__/year=2025/b.parquet", size=200,
                      partition_values={"country": None, "year": "2025"},
                      data_change=False, modification_time=5)
            # A body staged as JSON text laid out over lines: exported as one line.
            stage.action('{"add": {\n  "path": "country=FR/year=2024/c.parquet",\n'
                         '  "partitionValues": {"country": "FR", "year": "2024"},\n'
                         '  "size": 300, "modificationTime": 7, "dataChange": true,\n'
                         '  "stats": "{\\"numRecords\\": 4}"}}')
        with self.cat.snapshot(t) as snap:
            tbl = snap.to_arrow()
        self.assertEqual(tbl.column_names, ["path", "size_bytes", "modification_time",
                                            "data_change", "num_records", "null_count", "min",
                                            "max", "partition", "deletion_vector"])
        self.assertEqual(tbl.num_rows, 3)
        a, c, b = tbl.to_pylist()  # by path: "F" sorts before "_"
        self.assertEqual(a["path"], "country=DE/year=2026/a.parquet")
        self.assertEqual((a["size_bytes"], a["data_change"], a["num_records"]), (100, True, 3))
        self.assertEqual(a["modification_time"], datetime.datetime(2026, 3, 1, tzinfo=UTC))
        self.assertEqual(a["min"], {"id": 1, "price": 0.5, "name": "a",
                                    "day": datetime.date(2026, 1, 1),
                                    "at": datetime.datetime(2026, 1, 1, 10, tzinfo=UTC)})
        self.assertEqual(a["max"]["day"], datetime.date(2026, 12, 31))
        self.assertEqual(a["null_count"], {"id": 0, "price": 1, "name": 0, "day": 0, "at": 2})
        self.assertEqual(a["partition"], {"country": "DE", "year": 2026})
        self.assertEqual(a["deletion_vector"], {"storage_type": "u", "path_or_inline_dv":
                                                dv["pathOrInlineDv"], "offset": 4,
                                                "size_in_bytes": 40, "cardinality": 6})
        self.assertEqual(b["partition"], {"country": None, "year": 2025})
        self.assertEqual((b["data_change"], b["num_records"], b["min"], b["deletion_vector"]),
                         (False, None, None, None))
        self.assertEqual((c["path"], c["num_records"], c["partition"]["country"]),
                         ("country=FR/year=2024/c.parquet", 4, "FR"))
        self.assertEqual(tbl.schema.field("partition").type.field("year").type, pa.int32())
        self.assertEqual(tbl.schema.field("modification_time").type,
                         pa.timestamp("ms", "UTC"))
        df = self.cat.snapshot(t).to_pandas()
        self.assertEqual(list(df["size_bytes"]), [100, 300, 200])

    def test_column_mapping_shows_logical_names(self):
        t = self.name("mapped")
        schema = {"type": "struct", "fields": [
            {"name": "id", "type": "long", "nullable": True, "metadata": {
                "delta.columnMapping.id": 1, "delta.columnMapping.physicalName": "col-a1"}},
            {"name": "p", "type": "integer", "nullable": True, "metadata": {
                "delta.columnMapping.id": 2, "delta.columnMapping.physicalName": "col-b2"}}]}
        self.cat.create_table(t)
        with self.cat.transaction() as tx:
            tx.table(t).set_protocol(2, 5)
            tx.table(t).set_metadata(schema, partition_by=["p"], configuration={
                "delta.columnMapping.mode": "name", "delta.columnMapping.maxColumnId": "2"})
        with self.cat.transaction() as tx:
            tx.table(t).add(path="a", size=1, partition_values={"col-b2": "7"},
                            stats={"numRecords": 2, "minValues": {"col-a1": 3},
                                   "maxValues": {"col-a1": 9}, "nullCount": {"col-a1": 0}})
        (row,) = self.cat.snapshot(t).to_arrow().to_pylist()
        self.assertEqual((row["min"], row["max"], row["null_count"], row["partition"]),
                         ({"id": 3}, {"id": 9}, {"id": 0}, {"p": 7}))
        with self.assertRaises(deltasql.UnsupportedError):  # write keys by logical names
            with self.cat.transaction() as tx:
                tx.table(t).write(pa.table({"id": [1], "p": pa.array([7], pa.int32())}))

    def test_empty_snapshot_and_unparsable_stats(self):
        t = self.name("arrow")
        self.cat.create_table(t, schema=SCHEMA)
        tbl = self.cat.snapshot(t).to_arrow()
        self.assertEqual(tbl.num_rows, 0)
        self.assertIn("min", tbl.column_names)
        with self.cat.transaction() as tx:
            tx.table(t).add(path="a", size=1, stats={"numRecords": 2})
            # Stats another engine wrote against a column's type: counts stay.
            tx.table(t).add(path="b", size=1, stats={"numRecords": 5,
                                                     "minValues": {"id": "not a number"}})
        tbl = self.cat.snapshot(t).to_arrow()
        self.assertEqual(tbl.column("num_records").to_pylist(), [2, 5])


add_backend_tests(_ArrowCases, globals())


@unittest.skipIf(deltalake is None, "SKIPPED: deltalake is not installed (outside CI only)")
class DeltaRsAgreesTest(unittest.TestCase):
    """to_arrow gives what delta-rs's get_add_actions gives for the same table."""

    def test_every_fixture_table(self):
        base = os.path.join(FIXTURES, "dat")
        if not os.path.isdir(base):
            if CI:
                self.fail("Delta fixtures missing at %s" % FIXTURES)
            self.skipTest("SKIPPED: no Delta fixtures at %s" % FIXTURES)
        import tempfile
        cases = sorted(os.listdir(base))
        self.assertGreaterEqual(len(cases), 4)
        with tempfile.TemporaryDirectory() as d, \
                deltasql.connect("sqlite:%s/c.db" % d) as cat:
            for case in cases:
                path = os.path.join(base, case, "delta")
                cat.import_delta(case, path)
                ours = cat.snapshot(case).to_arrow().sort_by("path")
                theirs = pa.table(deltalake.DeltaTable(path).get_add_actions()).sort_by("path")
                for col in theirs.column_names:
                    mine = ours.column(col)
                    if col == "modification_time":  # theirs: epoch ms as int64
                        mine = mine.cast(pa.int64())
                    self.assertTrue(mine.equals(theirs.column(col)), "%s: %s: %s vs %s" % (
                        case, col, mine.to_pylist()[:2], theirs.column(col).to_pylist()[:2]))


if __name__ == "__main__":
    unittest.main()
