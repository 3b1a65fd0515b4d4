"""The Delta engines themselves against deltasql (tests/check-engines.sh runs this).

deltasql -> engines: real Parquet files written with pyarrow are committed through the
deltasql command (the C API) and the Python binding; the log deltasql publishes under each
table's location must read, in delta-rs (deltalake), DuckDB's delta extension and Spark with
delta-spark, as the same version with the same files and the same rows as deltasql's own
snapshot: after each commit, and at every version (time travel) where the engine has it,
after removes, a schema change, an expire, with partitions.

engines -> deltasql: tables written by delta-rs and by Spark (appends, deletes with and
without deletion vectors, optimize) import into deltasql with, at every version, the files
and the live row counts the engine itself reports.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import uuid
import warnings

import duckdb
import duckdb_ext
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake

import deltasql

CLI = os.environ["DELTASQL_CLI"]
WORK = tempfile.mkdtemp(prefix="deltasql-engines-")
SCHEMA = {"type": "struct", "fields": [
    {"name": "id", "type": "long", "nullable": True, "metadata": {}},
    {"name": "v", "type": "double", "nullable": True, "metadata": {}},
    {"name": "p", "type": "string", "nullable": True, "metadata": {}}]}
WIDER = {"type": "struct", "fields": SCHEMA["fields"] + [
    {"name": "w", "type": "string", "nullable": True, "metadata": {}}]}

_spark = None


def spark():
    """One Spark session for the whole run (it takes seconds to start), with Delta and its
    jars in the environment's own Ivy cache."""
    global _spark
    if _spark is None:
        from delta import configure_spark_with_delta_pip
        from pyspark.sql import SparkSession
        b = (SparkSession.builder.master("local[2]").appName("deltasql-engines")
             .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
             .config("spark.sql.catalog.spark_catalog",
                     "org.apache.spark.sql.delta.catalog.DeltaCatalog")
             .config("spark.jars.ivy", os.environ["DELTASQL_IVY"])
             .config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "2")
             .config("spark.driver.memory", "1g")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.session.timeZone", "UTC"))
        _spark = configure_spark_with_delta_pip(b).getOrCreate()
        _spark.sparkContext.setLogLevel("ERROR")
    return _spark


def duck():
    """DuckDB with the delta extension of the duckdb-ext-delta package: loaded from the
    package's folder, never downloaded."""
    ext = os.path.join(list(duckdb_ext.__path__)[0], "extensions")
    con = duckdb.connect(config={"extension_directory": ext,
                                 "autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    con.execute("LOAD delta")
    return con


def cli(catalog, *args, doc=None):
    r = subprocess.run([CLI, "--catalog", catalog, "--json", *args], capture_output=True,
                       text=True, input=None if doc is None else json.dumps(doc))
    if r.returncode != 0:
        raise AssertionError(f"deltasql {' '.join(args)}: exit {r.returncode}: {r.stderr}")
    return json.loads(r.stdout) if r.stdout.strip().startswith(("{", "[")) else r.stdout


def new_catalog():
    uri = "sqlite:" + os.path.join(tempfile.mkdtemp(dir=WORK), "catalog.db")
    cli(uri, "init")
    return uri


def relative(loc, path):
    """A file path as the log has it (relative to the location, unescaped)."""
    from urllib.parse import unquote
    path = unquote(path)
    for prefix in ("file://", "file:"):
        if path.startswith(prefix):
            path = path[len(prefix):]
    loc = os.path.realpath(loc)
    path = os.path.realpath(path) if path.startswith("/") else os.path.join(loc, path)
    return os.path.relpath(path, loc)


def norm(v):
    if isinstance(v, float):
        return round(v, 9)
    return v


def rows_of(records, columns):
    return sorted((tuple(norm(r.get(c)) for c in columns) for r in records), key=repr)


class Data:
    """Parquet files under a table's location, as a writer of the table would leave them:
    partition columns in the directory names, not in the file."""

    def __init__(self, loc):
        self.loc = loc
        self.rows = {}   # relative path -> the file's rows with partition values

    def write(self, part, ids, wide=False):
        rel = f"p={part}/part-{uuid.uuid4()}.parquet"
        cols = {"id": pa.array(ids, pa.int64()), "v": pa.array([i / 4 for i in ids])}
        if wide:
            cols["w"] = pa.array([f"w{i}" for i in ids])
        os.makedirs(os.path.join(self.loc, f"p={part}"), exist_ok=True)
        pq.write_table(pa.table(cols), os.path.join(self.loc, rel))
        self.rows[rel] = [{"id": i, "v": i / 4, "p": part, "w": f"w{i}" if wide else None}
                          for i in ids]
        stats = {"numRecords": len(ids), "minValues": {"id": min(ids)},
                 "maxValues": {"id": max(ids)}, "nullCount": {"id": 0}}
        return rel, os.path.getsize(os.path.join(self.loc, rel)), stats

    def add_action(self, part, ids, wide=False):
        rel, size, stats = self.write(part, ids, wide)
        return {"add": {"path": rel, "partitionValues": {"p": part}, "size": size,
                        "modificationTime": int(time.time() * 1000), "dataChange": True,
                        "stats": json.dumps(stats)}}


class EngineReads:
    """What each engine reads of a published table, checked against deltasql's snapshot."""

    def expect(self, snap, data, columns):
        files = {f["path"] for f in snap["files"]}
        rows = rows_of([r for f in files for r in data.rows[f]], columns)
        return files, rows

    def check_deltars(self, loc, version, files, rows, columns):
        dt = DeltaTable(loc, version=version)
        self.assertEqual(dt.version(), version)
        self.assertEqual({relative(loc, u) for u in dt.file_uris()}, files, "delta-rs files")
        self.assertEqual(rows_of(dt.to_pyarrow_table().to_pylist(), columns), rows,
                         f"delta-rs rows at version {version}")

    def check_duckdb(self, loc, files, rows, columns):
        con = duck()
        got = con.execute(f"SELECT * FROM delta_scan(?, filename=true)", [loc])
        names = [d[0] for d in got.description]
        recs = [dict(zip(names, r)) for r in got.fetchall()]
        self.assertEqual({relative(loc, r["filename"]) for r in recs}, files, "DuckDB files")
        self.assertEqual(rows_of(recs, columns), rows, "DuckDB rows")
        con.close()

    def check_spark(self, loc, version, files, rows, columns, latest=None):
        df = spark().read.format("delta").option("versionAsOf", version).load(loc)
        recs = [r.asDict() for r in df.select("*", "_metadata.file_path").collect()]
        self.assertEqual({relative(loc, r["file_path"]) for r in recs}, files,
                         f"Spark files at version {version}")
        self.assertEqual(rows_of(recs, columns), rows, f"Spark rows at version {version}")
        if latest is not None:
            h = spark().sql(f"DESCRIBE HISTORY delta.`{loc}` LIMIT 1").collect()
            self.assertEqual(h[0]["version"], latest, "Spark's latest version")


class FromDeltasql(unittest.TestCase, EngineReads):
    def catalog(self):
        return new_catalog()

    def test_cli_commits_read_by_every_engine(self):
        cat = self.catalog()
        loc = tempfile.mkdtemp(dir=WORK, prefix="cli-")
        data = Data(loc)
        cli(cat, "create", "t", "--location", loc, "--schema", json.dumps(SCHEMA),
            "--partition-by", "p")
        narrow, wide = ["id", "v", "p"], ["id", "v", "p", "w"]
        first = data.add_action("a", [1, 2, 3])
        steps = [
            [first, data.add_action("b", [4, 5])],                    # 1: two partitions
            [data.add_action("a", [6])],                               # 2: an append
            [{"remove": {"path": first["add"]["path"], "dataChange": True,  # 3: a remove
                         "deletionTimestamp": int(time.time() * 1000),
                         "partitionValues": {"p": "a"}}}],
            [{"metaData": {"id": str(uuid.uuid4()), "format": {"provider": "parquet",  # 4
                                                              "options": {}},
                           "schemaString": json.dumps(WIDER), "partitionColumns": ["p"],
                           "configuration": {}}},
             data.add_action("c", [7, 8], wide=True)],
            [data.add_action("b", [9], wide=True)],                    # 5
        ]
        columns = {}
        for v, actions in enumerate(steps, start=1):
            cli(cat, "commit", "-", doc={"tables": {"t": {"actions": actions}}})
            columns[v] = wide if v >= 4 else narrow
            snap = cli(cat, "snapshot", "t")
            self.assertEqual(snap["version"], v)
            files, rows = self.expect(snap, data, columns[v])
            # Each engine reads the newest version as it is published.
            self.check_deltars(loc, v, files, rows, columns[v])
            self.check_duckdb(loc, files, rows, columns[v])
        columns[0] = narrow
        # Time travel: every version again (DuckDB's delta_scan has no time travel).
        for v in range(0, len(steps) + 1):
            files, rows = self.expect(cli(cat, "snapshot", "t", "--version", str(v)), data,
                                      columns[v])
            self.check_deltars(loc, v, files, rows, columns[v])
            self.check_spark(loc, v, files, rows, columns[v],
                             latest=v if v == len(steps) else None)

        # Expire drops old versions' detail from the catalog; the published log keeps
        # them, and the next commit is published after them.
        cli(cat, "expire", "t", "--keep-versions", "2")
        cli(cat, "commit", "-", doc={"tables": {"t": {"actions": [
            data.add_action("a", [10], wide=True)]}}})
        v = len(steps) + 1
        snap = cli(cat, "snapshot", "t")
        self.assertEqual(snap["version"], v)
        files, rows = self.expect(snap, data, wide)
        self.check_deltars(loc, v, files, rows, wide)
        self.check_duckdb(loc, files, rows, wide)
        self.check_spark(loc, v, files, rows, wide, latest=v)
        old = self.expect({"files": [{"path": p} for p in
                                     {first["add"]["path"]} | set(list(data.rows)[1:2])]},
                          data, narrow)
        self.check_deltars(loc, 1, *old, narrow)
        # What deltasql published is byte for byte what export writes.
        out = tempfile.mkdtemp(dir=WORK)
        cli(cat, "export", "t", out, "--from-version", str(v - 2))
        for n in range(v - 2, v + 1):
            name = f"_delta_log/{n:020d}.json"
            with open(os.path.join(loc, name), "rb") as a, open(os.path.join(out, name),
                                                                  "rb") as b:
                self.assertEqual(a.read(), b.read(), name)

    def test_python_binding_commits_read_by_every_engine(self):
        """A multi-table commit through the binding publishes each table's version."""
        cat_uri = self.catalog()
        locs = {name: tempfile.mkdtemp(dir=WORK, prefix=f"py-{name}-") for name in
                ("fact", "dim")}
        data = {name: Data(loc) for name, loc in locs.items()}
        columns = ["id", "v", "p"]
        with deltasql.Catalog(cat_uri) as cat:
            for name, loc in locs.items():
                cat.create_table(name, schema=SCHEMA, partition_by=["p"], location=loc)
            for v, (part, ids) in enumerate([("x", [1, 2]), ("y", [3]), ("x", [4, 5, 6])], 1):
                with cat.transaction() as tx:
                    for name in locs:
                        rel, size, stats = data[name].write(part, ids)
                        tx.table(name).add(rel, size, partition_values={"p": part},
                                           stats=stats)
                for name, loc in locs.items():
                    snap = cli(cat_uri, "snapshot", name)
                    self.assertEqual(snap["version"], v)
                    files, rows = self.expect(snap, data[name], columns)
                    self.check_deltars(loc, v, files, rows, columns)
                    self.check_duckdb(loc, files, rows, columns)
                    self.check_spark(loc, v, files, rows, columns, latest=v)


@unittest.skipUnless(os.environ.get("DELTASQL_CHECKPOINTS") == "1",
                     "deltasql built without --enable-checkpoints")
class Checkpoints(unittest.TestCase, EngineReads):
    """Checkpoints deltasql writes are read by every engine: with every JSON file before
    the checkpoint gone, as an engine's log cleanup leaves a table, each engine still reads
    the table whole."""

    def test_engines_read_from_the_checkpoint(self):
        cat = new_catalog()
        loc = tempfile.mkdtemp(dir=WORK, prefix="cp-")
        data = Data(loc)
        columns = ["id", "v", "p"]
        cli(cat, "create", "t", "--location", loc, "--schema", json.dumps(SCHEMA),
            "--partition-by", "p", "--property", "delta.checkpointInterval=5")
        first = None
        for v in range(1, 13):
            actions = [data.add_action("ab"[v % 2], [v, v + 100])]
            if v == 1:
                first = actions[0]["add"]["path"]
            if v == 7:   # a tombstone inside the checkpoint's range
                actions.append({"remove": {"path": first, "dataChange": True,
                                           "deletionTimestamp": int(time.time() * 1000)}})
            if v == 3:
                actions.append({"txn": {"appId": "job", "version": 3}})
            cli(cat, "commit", "-", doc={"tables": {"t": {"actions": actions}}})
        log = os.path.join(loc, "_delta_log")
        with open(os.path.join(log, "_last_checkpoint")) as f:
            self.assertEqual(json.load(f)["version"], 10)
        for n in range(0, 10):
            os.unlink(os.path.join(log, f"{n:020d}.json"))
        os.unlink(os.path.join(log, f"{5:020d}.checkpoint.parquet"))
        snap = cli(cat, "snapshot", "t")
        self.assertEqual(snap["version"], 12)
        files, rows = self.expect(snap, data, columns)
        self.check_deltars(loc, 12, files, rows, columns)
        self.check_duckdb(loc, files, rows, columns)
        self.check_spark(loc, 12, files, rows, columns, latest=12)
        files, rows = self.expect(cli(cat, "snapshot", "t", "--version", "10"), data, columns)
        self.check_deltars(loc, 10, files, rows, columns)
        self.check_spark(loc, 10, files, rows, columns)
        self.assertEqual(DeltaTable(loc).transaction_version("job"), 3)


class IntoDeltasql(unittest.TestCase):
    """Engines' own tables imported: deltasql's snapshot at each version has the files and
    live rows the engine reports."""

    def imported(self, loc, name):
        cat = new_catalog()
        cli(cat, "import", name, loc)
        latest = cli(cat, "snapshot", name)["version"]
        return cat, latest

    @staticmethod
    def live_rows(snap):
        """deltasql's view: each file's rows from its stats, less its deletion vector."""
        out = {}
        for f in snap["files"]:
            n = json.loads(f["stats"])["numRecords"]
            dv = f.get("deletionVector")
            out[f["path"]] = n - (dv["cardinality"] if dv else 0)
        return out

    def compare(self, cat, name, loc, latest, engine_view):
        for v in range(latest + 1):
            snap = cli(cat, "snapshot", name, "--version", str(v))
            ours = {relative(loc, p): n for p, n in self.live_rows(snap).items() if n > 0}
            self.assertEqual(ours, engine_view(v), f"{name} version {v}")

    def test_deltars_tables_import(self):
        loc = os.path.join(tempfile.mkdtemp(dir=WORK), "rs")
        t = pa.table({"id": pa.array(range(10), pa.int64()),
                      "p": pa.array(["a", "b"] * 5)})
        write_deltalake(loc, t, partition_by=["p"])
        write_deltalake(loc, t.slice(0, 4), mode="append")
        DeltaTable(loc).delete("id = 3")
        DeltaTable(loc).optimize.compact()
        write_deltalake(loc, t.slice(5, 3), mode="append")

        def deltars(v):
            acts = pa.table(DeltaTable(loc, version=v).get_add_actions(flatten=True)).to_pylist()
            return {relative(loc, a["path"]): a["num_records"] for a in acts
                    if a["num_records"]}

        cat, latest = self.imported(loc, "rs")
        self.assertEqual(latest, DeltaTable(loc).version())
        self.compare(cat, "rs", loc, latest, deltars)

    def spark_table(self, dvs):
        loc = os.path.join(tempfile.mkdtemp(dir=WORK), "spark")
        s = spark()
        s.sql(f"CREATE TABLE delta.`{loc}` (id BIGINT, p STRING) USING delta PARTITIONED BY (p)"
              f" TBLPROPERTIES ('delta.enableDeletionVectors' = '{str(dvs).lower()}')")
        s.range(0, 20).selectExpr("id", "IF(id % 2 = 0, 'a', 'b') AS p") \
            .repartition(2).write.format("delta").mode("append").save(loc)
        s.range(20, 30).selectExpr("id", "'a' AS p").write.format("delta") \
            .mode("append").save(loc)
        s.sql(f"DELETE FROM delta.`{loc}` WHERE id IN (2, 3, 21)")
        s.sql(f"OPTIMIZE delta.`{loc}`")
        s.sql(f"DELETE FROM delta.`{loc}` WHERE id = 25")
        return loc

    def spark_view(self, loc):
        def view(v):
            df = spark().read.format("delta").option("versionAsOf", v).load(loc)
            return {relative(loc, r["f"]): r["n"] for r in
                    df.groupBy(df["_metadata.file_path"].alias("f")).count()
                      .withColumnRenamed("count", "n").collect()}
        return view

    def test_spark_tables_import_with_deletion_vectors(self):
        loc = self.spark_table(dvs=True)
        cat, latest = self.imported(loc, "sparkdv")
        snap = cli(cat, "snapshot", "sparkdv")
        self.assertTrue(any(f.get("deletionVector") for f in snap["files"]),
                        "Spark wrote no deletion vector")
        self.assertEqual(latest, spark().sql(f"DESCRIBE HISTORY delta.`{loc}` LIMIT 1")
                         .collect()[0]["version"])
        self.compare(cat, "sparkdv", loc, latest, self.spark_view(loc))

    def test_spark_tables_import_without_deletion_vectors(self):
        loc = self.spark_table(dvs=False)
        cat, latest = self.imported(loc, "spark")
        snap = cli(cat, "snapshot", "spark")
        self.assertFalse(any(f.get("deletionVector") for f in snap["files"]))
        self.compare(cat, "spark", loc, latest, self.spark_view(loc))


def tearDownModule():
    if _spark is not None:
        _spark.stop()
    if not os.environ.get("DELTASQL_KEEP_TEST_FILES"):
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    # py4j leaves its sockets to the garbage collector.
    warnings.simplefilter("ignore", ResourceWarning)
    unittest.main(verbosity=2, warnings="ignore")
