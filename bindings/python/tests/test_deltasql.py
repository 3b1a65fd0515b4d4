"""Tests of the Python binding, against SQLite and (when DELTASQL_TEST_PG_URI
is set) PostgreSQL."""

import ctypes
import dataclasses
import datetime
import inspect
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deltasql  # noqa: E402
from backends import ODBC_MARIADB, add_backend_tests  # noqa: E402

SCHEMA = {"type": "struct", "fields": [
    {"name": "id", "type": "long", "nullable": False, "metadata": {}},
    {"name": "country", "type": "string", "nullable": True, "metadata": {}}]}
FIXTURES = os.environ.get("DELTASQL_FIXTURES") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "shared", "fixtures",
    "delta-acceptance")


def rss_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


class Base:
    """The scenarios; subclasses say which catalog."""

    def name(self, base):
        return "%s_%s" % (base, uuid.uuid4().hex[:10])

    def setUp(self):
        self.cat = deltasql.connect(self.uri())

    def tearDown(self):
        self.cat.close()

    def test_multi_table_commit_and_snapshot(self):
        dim, fact = self.name("dim"), self.name("fact")
        self.cat.create_table(dim, schema=SCHEMA, partition_by=["country"],
                              properties={"owner": "etl"})
        self.cat.create_table(fact)
        with self.cat.transaction(isolation="write_serializable") as tx:
            tx.table(dim).add(path="country=DE/p1.parquet", size=1024,
                              partition_values={"country": "DE"}, stats={"numRecords": 10})
            tx.table(fact).add(path="f1.parquet", size=2048)
            tx.table(fact).set_app_txn("loader", 7)
        self.assertEqual(tx.versions, {dim: 1, fact: 1})
        snap = self.cat.snapshot(dim)
        self.assertEqual(snap.version, 1)
        self.assertEqual(snap.protocol["minReaderVersion"], 1)
        self.assertEqual(snap.partition_columns, ["country"])
        self.assertEqual(snap.metadata["configuration"], {"owner": "etl"})
        self.assertEqual([f.path for f in snap], ["country=DE/p1.parquet"])
        self.assertEqual(snap.files[0].partition_values, {"country": "DE"})
        self.assertEqual(snap.files[0].num_records, 10)
        self.assertEqual(self.cat.snapshot(fact).app_txns, {"loader": 7})
        self.assertEqual(self.cat.snapshot(dim, version=0).files, [])
        hist = self.cat.history(fact)
        self.assertEqual([h.version for h in hist], [0, 1])
        self.assertEqual(hist[1].txn_id, tx.id)
        self.assertEqual(hist[1].timestamp.tzinfo, datetime.timezone.utc)
        later = hist[1].timestamp + datetime.timedelta(seconds=1000)
        for when in (later, later.isoformat(), later.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                     later.astimezone(datetime.timezone(datetime.timedelta(hours=-5))),
                     int(later.timestamp() * 1000)):
            self.assertEqual(self.cat.snapshot(dim, timestamp=when).version, 1, when)
        with self.assertRaises(deltasql.NotFoundError):
            self.cat.snapshot(dim, timestamp="2000-01-01")
        self.assertIn(dim, [t.name for t in self.cat.tables()])
        both = self.cat.snapshots([dim, fact])
        self.assertEqual({n: s.version for n, s in both.items()}, {dim: 1, fact: 1})
        self.assertEqual(len(both[fact]), 1)
        with self.assertRaises(deltasql.NotFoundError):
            self.cat.snapshots([dim, self.name("missing")])

    def test_add_and_remove_stage_the_lines_json_would(self):
        typed, lines = self.name("typed"), self.name("lines")
        dv = {"storageType": "u", "pathOrInlineDv": "ab^-aqEH.-t@S}K{vb[*k^", "offset": 4,
              "sizeInBytes": 40, "cardinality": 6}
        files = [("country=DE/a.parquet", {"country": "DE"}, {"numRecords": 3}, None, None),
                 ("country=__null/b.parquet", {"country": None}, None, {"k": "v"}, dv)]
        for t in (typed, lines):
            self.cat.create_table(t, schema=SCHEMA, partition_by=["country"])
        with self.cat.transaction() as tx:  # deletion vectors need the table feature
            for t in (typed, lines):
                tx.table(t).action({"protocol": {
                    "minReaderVersion": 3, "minWriterVersion": 7,
                    "readerFeatures": ["deletionVectors"], "writerFeatures": ["deletionVectors"]}})
        with self.cat.transaction() as tx:
            for path, part, stats, tags, vec in files:
                # These go as typed fields (dsql_txn_add_file), not as JSON.
                self.assertIsNotNone(deltasql._lib._file_action(path, 10, part, stats, True, 1,
                                                           tags, vec))
                tx.table(typed).add(path=path, size=10, partition_values=part, stats=stats,
                                    modification_time=1700000000000, tags=tags,
                                    deletion_vector=vec)
                body = {"path": path, "partitionValues": part, "size": 10,
                        "modificationTime": 1700000000000, "dataChange": True}
                if stats is not None:
                    body["stats"] = deltasql._json(stats)
                if tags:
                    body["tags"] = tags
                if vec:
                    body["deletionVector"] = vec
                tx.table(lines).action({"add": body})
        self.assertEqual(self.cat.snapshot(typed).files, self.cat.snapshot(lines).files)
        self.assertEqual(len(self.cat.snapshot(typed).files), 2)
        with self.cat.transaction() as tx:
            tx.table(typed).remove("country=DE/a.parquet", partition_values={"country": "DE"})
            tx.table(lines).action({"remove": {"path": "country=DE/a.parquet",
                                               "dataChange": True, "deletionTimestamp": 1}})
        self.assertEqual(self.cat.snapshot(typed).files, self.cat.snapshot(lines).files)
        self.assertEqual([f.path for f in self.cat.snapshot(typed).files],
                         ["country=__null/b.parquet"])
        # What is not of Delta's shapes is refused, naming the field, and nothing is staged.
        bad = [dict(size=-1), dict(size=1.5), dict(size=1, partition_values={"country": 7}),
               dict(size=1, deletion_vector={"storageType": "u"})]
        for kwargs in bad:
            with self.assertRaises(deltasql.InvalidInputError, msg=str(kwargs)):
                with self.cat.transaction() as tx:
                    tx.table(typed).add(path="x.parquet", **kwargs)
        self.assertEqual(self.cat.table_version(typed), 3)

    def test_exception_rolls_back_everything(self):
        a, b = self.name("a"), self.name("b")
        self.cat.create_table(a)
        self.cat.create_table(b)
        with self.assertRaises(RuntimeError):
            with self.cat.transaction() as tx:
                tx.table(a).add(path="x", size=1)
                tx.table(b).add(path="y", size=1)
                raise RuntimeError("boom")
        self.assertEqual(self.cat.table_version(a), 0)
        self.assertEqual(self.cat.table_version(b), 0)

    def test_errors_form_a_hierarchy(self):
        t = self.name("t")
        self.cat.create_table(t)
        with self.assertRaises(deltasql.AlreadyExistsError):
            self.cat.create_table(t)
        with self.assertRaises(deltasql.NotFoundError) as cm:
            self.cat.snapshot(self.name("missing"))
        self.assertIsInstance(cm.exception, deltasql.Error)
        with self.assertRaises(deltasql.InvalidInputError) as cm:
            with self.cat.transaction() as tx:
                tx.table(t).remove("ghost")
        self.assertIn("not a live file", str(cm.exception))
        with self.assertRaises(deltasql.InvalidInputError):
            with self.cat.transaction() as tx:
                tx.table(t).action({"notAnAction": {}})
        with self.assertRaises(deltasql.InvalidInputError):
            self.cat.transaction(isolation="read_committed")
        self.assertEqual(self.cat.table_version(t), 0)

    def test_conflict_carries_rule_and_table(self):
        t = self.name("t")
        self.cat.create_table(t)
        with self.cat.transaction() as tx:
            tx.table(t).add(path="f", size=1)
        loser = self.cat.transaction()
        loser.table(t, read_version=1).remove("f")
        with self.cat.transaction() as winner:
            winner.table(t).remove("f")
        with self.assertRaises(deltasql.ConflictError) as cm:
            loser.commit()
        e = cm.exception
        self.assertEqual((e.rule, e.table, e.winning_version, e.detail),
                         ("concurrent_delete_delete", t, 2, "f"))
        self.assertEqual(self.cat.metrics().conflicts_by_rule["concurrent_delete_delete"], 1)

    def test_read_sets_and_isolation(self):
        t = self.name("t")
        self.cat.create_table(t)
        tx = self.cat.transaction(isolation="serializable")
        tx.table(t).read(whole_table=True)
        tx.table(t).add(path="mine", size=1)
        with self.cat.transaction() as other:
            other.table(t).add(path="theirs", size=1)
        with self.assertRaises(deltasql.ConflictError) as cm:
            tx.commit()
        self.assertEqual(cm.exception.rule, "concurrent_append")
        tx = self.cat.transaction(isolation="write_serializable")
        tx.table(t, read_version=1).read(whole_table=True)
        tx.table(t).add(path="mine2", size=1)
        with self.cat.transaction() as other:
            other.table(t).add(path="theirs2", size=1)
        self.assertEqual(tx.commit().versions, {t: 3})  # rebased past a blind append

    def test_run_retries_on_conflict(self):
        t = self.name("counter")
        self.cat.create_table(t)
        with self.cat.transaction() as tx:
            tx.table(t).add(path="n-0", size=1)
        calls = []

        def increment(tx):
            snap = self.cat.snapshot(t)
            n = int(snap.files[0].path[2:])
            tx.table(t, read_version=snap.version).remove("n-%d" % n)
            tx.table(t).add(path="n-%d" % (n + 1), size=1)
            if not calls:  # someone else wins the first round
                with self.cat.transaction() as other:
                    other.table(t, read_version=snap.version).remove("n-%d" % n)
                    other.table(t).add(path="n-%d" % (n + 1), size=1)
            calls.append(n)
            return n + 1
        self.assertEqual(self.cat.run(increment), 2)
        self.assertEqual(calls, [0, 1])
        self.assertEqual([f.path for f in self.cat.snapshot(t).files], ["n-2"])

    def test_timestamps_in_and_out(self):
        t = self.name("t")
        info = self.cat.create_table(t)
        self.assertEqual(info.created.tzinfo, datetime.timezone.utc)
        with self.cat.transaction() as tx:
            tx.table(t).add(path="a", size=1, modification_time="2026-01-02T03:04:05.678Z")
            tx.table(t).add(path="b", size=1, modification_time=datetime.datetime(
                2026, 1, 2, 4, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=1))))
            tx.table(t).set_app_txn("job", 1, last_updated=datetime.date(2026, 1, 2))
        a, b = self.cat.snapshot(t).files
        self.assertEqual(a.modification_time, datetime.datetime(
            2026, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.timezone.utc))
        self.assertEqual(b.modification_time, a.modification_time.replace(microsecond=0))
        # A bad timestamp is a deltasql error naming it, before anything is staged.
        for bad in ("2026-13-01", "yesterday", "2026-02-30T00:00:00Z", "2026-01-01T00:00",
                    datetime.datetime(2026, 1, 1), 1.5, True):
            with self.assertRaises(deltasql.InvalidInputError, msg=repr(bad)) as cm:
                self.cat.snapshot(t, timestamp=bad)
            self.assertIn("snapshot timestamp", cm.exception.message)
            self.assertNotIsInstance(cm.exception, ValueError)
        with self.assertRaises(deltasql.InvalidInputError):
            with self.cat.transaction() as tx:
                tx.table(t).add(path="c", size=1, modification_time="not a time")
        self.assertEqual(self.cat.table_version(t), 1)

    def test_records_reprs_and_iteration(self):
        t = self.name("t")
        self.cat.create_table(t, partition_by=["country"], schema=SCHEMA)
        with self.cat.transaction() as tx:
            for i in range(3):
                tx.table(t).add(path="country=DE/%d.parquet" % i, size=i + 1,
                                partition_values={"country": "DE"})
        res = tx.result
        self.assertIsInstance(res, deltasql.CommitResult)
        self.assertEqual((res.versions, res.txn_id, res.attempts, res.replayed),
                         ({t: 1}, tx.id, 1, False))
        self.assertIn("committed", repr(tx))
        with self.cat.snapshot(t) as snap:
            self.assertEqual(len(snap), 3)
            self.assertEqual([f.size for f in snap], [1, 2, 3])
            self.assertIsInstance(snap.files[0], deltasql.FileInfo)
            self.assertRegex(repr(snap), r"<Snapshot %s v1 at 20.*, 3 files>" % t)
            self.assertIn("country=DE/0.parquet", repr(snap.files[0]))
        self.assertEqual(len(snap.files), 3)  # read before close: kept
        closed = self.cat.snapshot(t)
        closed.close()
        with self.assertRaises(deltasql.InvalidInputError):
            closed.files
        info = [x for x in self.cat.tables() if x.name == t][0]
        self.assertIsInstance(info, deltasql.TableInfo)
        self.assertEqual(info.version, 1)
        self.assertIn("name='%s'" % t, repr(info))
        self.assertIsInstance(self.cat.history(t)[0], deltasql.HistoryEntry)
        self.assertIn(self.cat.driver, repr(self.cat))

    def test_run_is_the_c_librarys_retry_loop(self):
        t = self.name("t")
        self.cat.create_table(t)
        with self.cat.transaction() as tx:
            tx.table(t).add(path="f", size=1)
        before = self.cat.metrics().retries

        def always_loses(tx):
            tx.table(t, read_version=self.cat.table_version(t)).remove("f")
            with self.cat.transaction() as other:  # wins every round
                other.table(t).remove("f")
                other.table(t).add(path="f", size=1)
            calls.append(1)
        calls = []
        with self.assertRaises(deltasql.ConflictError):
            self.cat.run(always_loses, retry=deltasql.RetryPolicy(max_attempts=3,
                                                                  base_delay_ms=1))
        self.assertEqual(len(calls), 3)  # the policy's attempts, counted by the C loop
        self.assertGreater(self.cat.metrics().retries, before)
        with self.assertRaises(KeyError):  # fn's own exception, not a deltasql one
            self.cat.run(lambda tx: {}["missing"])
        with self.assertRaises(deltasql.InvalidInputError):
            self.cat.run(lambda tx: tx.commit())

    def test_every_action_kind_and_application_sql(self):
        t, app = self.name("t"), self.name("wm")
        # Through ODBC the database cannot judge a statement: none is run.
        judged = not self.backend.startswith("Odbc")
        self.cat.create_table(t, schema=SCHEMA)
        if judged:
            self.app_schema("CREATE TABLE %s (k VARCHAR(20) PRIMARY KEY, v BIGINT)" % app)
        with self.cat.transaction() as tx:
            if judged:
                tx.sql("INSERT INTO %s VALUES (?, ?)" % app, ("job", 1))
            else:
                with self.assertRaises(deltasql.UnsupportedError):
                    tx.sql("SELECT 1")
            tbl = tx.table(t)
            tbl.add(path="a", size=1, tags={"k": "v"})
            tbl.set_app_txn("job", 1, last_updated=5)
            tbl.domain_metadata("my.domain", {"x": 1})
            tbl.commit_info({"operation": "PIPELINE", "engineInfo": "test"})
            tbl.set_protocol(1, 2)
            tbl.set_metadata(SCHEMA, configuration={"k": "v"})
            if judged:
                idx = tx.sql("SELECT v FROM %s WHERE k = ?" % app, ("job",))
        if judged:
            self.assertEqual(tx.sql_result(idx).rows, [["1"]])
        snap = self.cat.snapshot(t)
        self.assertEqual(snap.domains, {"my.domain": '{"x": 1}'})
        self.assertEqual(snap.metadata["configuration"], {"k": "v"})
        self.assertEqual(self.cat.history(t)[-1].operation, "PIPELINE")
        if not judged:
            return
        with self.assertRaises(deltasql.AlreadyExistsError) as cm:
            with self.cat.transaction() as tx:
                tx.table(t).add(path="b", size=1)
                tx.sql("INSERT INTO %s VALUES ('job', 2)" % app)
        self.assertEqual(cm.exception.statement_index, 0)
        self.assertEqual(self.cat.table_version(t), 1)
        self.app_schema("DROP TABLE %s" % app)

    def app_schema(self, statement):
        """A schema change of the application's tables: SQLite takes it as
        application SQL; PostgreSQL's application SQL is one query or DML
        statement, so it goes through psql."""
        if self.backend == "PostgreSQL":
            subprocess.check_call(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                                   self.uri(), "-c", statement])
            return
        with self.cat.transaction() as tx:
            tx.sql(statement)

    def test_retention(self):
        t = self.name("t")
        self.cat.create_table(t)
        for i in range(4):
            with self.cat.transaction() as tx:
                tx.table(t).add(path="f%d" % i, size=1)
        with self.cat.transaction() as tx:
            tx.table(t).remove("f0")
        res = self.cat.expire(t, keep_versions=1)
        self.assertEqual(res.oldest_version, 5)
        with self.assertRaises(deltasql.NotFoundError):
            self.cat.snapshot(t, version=1)
        self.assertEqual(len(self.cat.history(t)), 6)
        import time
        time.sleep(0.05)
        self.assertEqual([v.path for v in self.cat.vacuum(t, datetime.timedelta(0))], ["f0"])

    def test_handles_do_not_leak(self):
        t = self.name("leak")
        self.cat.create_table(t)
        for i in range(3000):  # warm-up: caches, allocator
            tx = self.cat.transaction()
            tx.table(t).add(path="w%d" % i, size=1)
            tx.rollback()
        before = rss_kb()
        n = int(os.environ.get("DELTASQL_PY_LEAK_ROUNDS", "100000"))
        for i in range(n):
            tx = self.cat.transaction()
            tx.table(t).add(path="p%d" % i, size=1)
            tx.rollback()
        for i in range(300):
            with self.cat.transaction() as tx:
                tx.table(t).add(path="c%d" % i, size=1)
        growth = rss_kb() - before
        self.assertLess(growth, 20 * 1024, "RSS grew by %d kB over %d transactions" % (growth, n))


class PublicApiTest(unittest.TestCase):
    def test_every_public_name_has_a_docstring_and_type_hints(self):
        missing = []
        for name in deltasql.__all__:
            obj = getattr(deltasql, name)
            if name in ("version", "Timestamp"):
                continue
            if not inspect.getdoc(obj):
                missing.append(name)
            members = inspect.getmembers(obj, lambda m: inspect.isfunction(m) or
                                         isinstance(m, property)) if inspect.isclass(obj) \
                else [(name, obj)]
            for mname, m in members:
                if mname.startswith("_") and mname != "__init__":
                    continue
                fn = m.fget if isinstance(m, property) else m
                if getattr(fn, "__module__", "").startswith("deltasql") is False:
                    continue
                if mname != "__init__" and not inspect.getdoc(fn):
                    missing.append("%s.%s (doc)" % (name, mname))
                hints = getattr(fn, "__annotations__", {})
                params = [p for p in inspect.signature(fn).parameters if p != "self"]
                if any(p not in hints for p in params) or "return" not in hints:
                    missing.append("%s.%s (hints)" % (name, mname))
        self.assertEqual(missing, [])
        here = os.path.dirname(os.path.abspath(deltasql.__file__))
        self.assertTrue(os.path.exists(os.path.join(here, "py.typed")))

    def test_the_package_type_checks(self):
        try:
            import mypy.api
        except ImportError:
            if os.environ.get("CI") == "true":
                raise
            self.skipTest("SKIPPED: mypy is not installed (outside CI only)")
        here = os.path.dirname(os.path.abspath(deltasql.__file__))
        out, err, status = mypy.api.run(["--ignore-missing-imports", "--disallow-untyped-defs",
                                         "--disallow-incomplete-defs", "--cache-dir", os.devnull,
                                         here])
        self.assertEqual(status, 0, out + err)


class SQLiteOnly:
    """Scenarios that need the local SQLite catalog (a C compiler, the fixtures)."""

    def setUp(self):
        self.cat = deltasql.connect(self.uri())

    def tearDown(self):
        self.cat.close()

    def name(self, base):
        return "%s_%s" % (base, uuid.uuid4().hex[:10])

    def test_struct_layouts_match_the_c_headers(self):
        src = os.path.join(self.dir, "sizes.c")
        inc = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "include")
        with open(src, "w") as f:
            f.write('#include <stdio.h>\n#include <deltasql.h>\n#include <deltasql/driver.h>\n'
                    'int main(void){printf("%zu %zu %zu %zu %zu %zu\\n", sizeof(dsql_error), '
                    'sizeof(dsql_metrics), sizeof(dsql_txn_options), sizeof(dsql_table_options),'
                    ' sizeof(dsql_param), sizeof(dsql_catalog_options));'
                    'printf("%zu %zu %zu\\n", sizeof(dsql_file_action), sizeof(dsql_key_value),'
                    ' sizeof(dsql_deletion_vector));'
                    'dsql_retry_policy p = DSQL_RETRY_POLICY_INIT;'
                    'printf("%u %u %u %u\\n", p.max_attempts, p.base_delay_ms, p.max_delay_ms,'
                    ' p.timeout_ms);return 0;}\n')
        exe = os.path.join(self.dir, "sizes")
        if shutil.which("cc") is None:
            self.skipTest("no C compiler")
        subprocess.check_call(["cc", "-I", inc, src, "-o", exe])
        sizes = [int(x) for x in subprocess.check_output([exe]).split()]
        m = deltasql._lib
        self.assertEqual(sizes, [ctypes.sizeof(m._Error), ctypes.sizeof(m._Metrics),
                                 ctypes.sizeof(m._TxnOptions), ctypes.sizeof(m._TableOptions),
                                 ctypes.sizeof(m._Param), ctypes.sizeof(m._CatalogOptions),
                                 ctypes.sizeof(m._FileAction), ctypes.sizeof(m._KeyValue),
                                 ctypes.sizeof(m._DeletionVector),
                                 *dataclasses.astuple(deltasql.RetryPolicy())])

    def test_delta_import_and_export(self):
        case = os.path.join(FIXTURES, "dat", "basic_append", "delta")
        if not os.path.isdir(case):
            if os.environ.get("CI") == "true":
                self.fail("Delta fixtures missing at %s" % FIXTURES)
            self.skipTest("SKIPPED: no Delta fixtures at %s" % FIXTURES)
        t = self.name("imported")
        self.assertEqual(self.cat.import_delta(t, case), 1)
        out = os.path.join(self.dir, "export-" + t)
        self.assertEqual(self.cat.export_delta(t, out), 2)
        self.assertTrue(os.path.exists(os.path.join(out, "_delta_log", "%020d.json" % 1)))
        self.assertEqual(len(self.cat.snapshot(t).files), 2)  # per the fixture
        # A directory that cannot be made is a file error naming it.
        blocker = os.path.join(self.dir, "not-a-dir-" + t)
        open(blocker, "w").close()
        with self.assertRaises(deltasql.FileError) as cm:
            self.cat.export_delta(t, os.path.join(blocker, "out"))
        self.assertIn(blocker, cm.exception.message)


add_backend_tests(Base, globals(), extra=[ODBC_MARIADB])
add_backend_tests(SQLiteOnly, globals(), only=["SQLite"])


if __name__ == "__main__":
    if os.environ.get("CI") == "true" and not os.environ.get("DELTASQL_TEST_PG_URI"):
        sys.exit("FAIL: DELTASQL_TEST_PG_URI is not set (CI=true: PostgreSQL tests must run)")
    unittest.main()
