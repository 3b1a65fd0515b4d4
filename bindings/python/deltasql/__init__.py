"""deltasql: Delta Lake table metadata in a SQL database, with atomic commits
across several tables.

    import deltasql
    cat = deltasql.connect("sqlite:lake.db")
    with cat.transaction(isolation="write_serializable") as tx:
        tx.table("dim_customer").add(path="part-0001.parquet", size=1024)
        tx.table("fact_orders").remove("part-0000.parquet")
    # committed here; rolled back if the block raised

A thin ctypes layer over the C library (libdeltasql); standard library only.
"""

import ctypes
import ctypes.util
import json
import os
import random
import time

__all__ = [
    "connect", "library_path", "Catalog", "Transaction", "Snapshot", "Error", "ConflictError",
    "NotFoundError", "InvalidInputError", "AlreadyExistsError", "DatabaseError",
    "RetryableError", "CommitUnknownError", "UnsupportedError", "FileError",
]

LATEST = -1

# Status codes (include/deltasql/common.h).
OK, ERROR, ECONFLICT, ERETRY, EUNKNOWN, ENOTFOUND, EEXISTS, EINVALID = 0, -1, -2, -3, -4, -5, -6, -7
EUNSUPPORTED, ECONNECT, EDB, ETIMEOUT, ENOMEM, ECATALOG_VERSION, EIO = (-8, -9, -10, -11, -12,
                                                                     -13, -14)

TYPE_NULL, TYPE_INT64, TYPE_DOUBLE, TYPE_TEXT, TYPE_BLOB = 0, 1, 2, 3, 4

ISOLATION = {None: 0, "serializable": 1, "write_serializable": 2, "snapshot": 3}


# --- the library ---------------------------------------------------------

def _library_candidates():
    """Where libdeltasql may be, in the order tried: an explicit override, the copy
    bundled in the wheel, the loader's search path (ld.so.conf, LD_LIBRARY_PATH),
    pkg-config's libdir recorded at build time and asked now, and the source tree's
    build when the package is imported from the tree."""
    here = os.path.dirname(os.path.abspath(__file__))
    out = []
    if os.environ.get("DELTASQL_LIBRARY"):
        out.append(os.environ["DELTASQL_LIBRARY"])
    try:
        from . import _build_info
    except ImportError:
        _build_info = None
    if _build_info is not None and _build_info.BUNDLED:
        out.append(os.path.join(here, _build_info.BUNDLED))
    out.append("libdeltasql.so.0")
    found = ctypes.util.find_library("deltasql")
    if found:
        out.append(found)
    libdirs = []
    if _build_info is not None and _build_info.PKG_CONFIG_LIBDIR:
        libdirs.append(_build_info.PKG_CONFIG_LIBDIR)
    libdirs.append(_pkg_config_libdir())
    out += [os.path.join(d, "libdeltasql.so.0") for d in libdirs if d]
    out.append(os.path.join(here, "..", "..", "..", "_build", ".libs", "libdeltasql.so"))
    return out


def _pkg_config_libdir():
    import subprocess
    try:
        res = subprocess.run(["pkg-config", "--variable=libdir", "deltasql"],
                             capture_output=True, text=True, check=False)
    except OSError:
        return None
    return res.stdout.strip() if res.returncode == 0 else None


def _load_library():
    errors = []
    for path in _library_candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            errors.append(str(e))
    raise ImportError("cannot load libdeltasql (not bundled, not on the loader's path, not "
                      "in pkg-config's libdir; DELTASQL_LIBRARY names one): " +
                      "; ".join(errors))


_lib = _load_library()


def library_path():
    """The file of the libdeltasql this package loaded."""
    return _lib._name


class _Conflict(ctypes.Structure):
    _fields_ = [("rule", ctypes.c_char * 40), ("table", ctypes.c_char * 256),
                ("winning_version", ctypes.c_int64), ("detail", ctypes.c_char * 256)]


class _Error(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("sqlstate", ctypes.c_char * 6),
                ("native_code", ctypes.c_int64), ("driver", ctypes.c_char * 32),
                ("conflict", _Conflict), ("statement_index", ctypes.c_int),
                ("message", ctypes.c_char * 1024)]


class _RetryPolicy(ctypes.Structure):
    _fields_ = [("max_attempts", ctypes.c_uint), ("base_delay_ms", ctypes.c_uint),
                ("max_delay_ms", ctypes.c_uint), ("timeout_ms", ctypes.c_uint)]


class _CatalogOptions(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint), ("create", ctypes.c_int), ("retry", _RetryPolicy)]


class _TableOptions(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint), ("location", ctypes.c_char_p),
                ("schema_json", ctypes.c_char_p),
                ("partition_columns", ctypes.POINTER(ctypes.c_char_p)),
                ("properties", ctypes.POINTER(ctypes.c_char_p)),
                ("min_reader_version", ctypes.c_int), ("min_writer_version", ctypes.c_int)]


class _TxnOptions(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint), ("isolation", ctypes.c_int),
                ("txn_id", ctypes.c_char_p), ("retry", ctypes.POINTER(_RetryPolicy))]


class _Param(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("i64", ctypes.c_int64), ("f64", ctypes.c_double),
                ("data", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _TableInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("uuid", ctypes.c_char_p),
                ("location", ctypes.c_char_p), ("version", ctypes.c_int64),
                ("created_ms", ctypes.c_int64)]


class _CommitInfo(ctypes.Structure):
    _fields_ = [("version", ctypes.c_int64), ("timestamp_ms", ctypes.c_int64),
                ("txn_id", ctypes.c_char_p), ("operation", ctypes.c_char_p),
                ("adds", ctypes.c_int64), ("removes", ctypes.c_int64)]


RULES = ["concurrent_append", "concurrent_delete_read", "concurrent_delete_delete",
         "metadata_changed", "protocol_changed", "concurrent_transaction",
         "concurrent_domain_metadata"]


class _Metrics(ctypes.Structure):
    _fields_ = [("commits", ctypes.c_uint64), ("failures", ctypes.c_uint64),
                ("replays", ctypes.c_uint64), ("conflicts", ctypes.c_uint64),
                ("conflicts_by_rule", ctypes.c_uint64 * 7), ("rebases", ctypes.c_uint64),
                ("retries", ctypes.c_uint64), ("backoff_ms", ctypes.c_uint64),
                ("latency_count", ctypes.c_uint64), ("latency_sum_us", ctypes.c_uint64),
                ("latency_max_us", ctypes.c_uint64), ("latency_buckets", ctypes.c_uint64 * 10),
                ("hint_misses", ctypes.c_uint64)]


class _KeyValue(ctypes.Structure):
    _fields_ = [("key", ctypes.c_char_p), ("value", ctypes.c_char_p)]


class _DeletionVector(ctypes.Structure):
    _fields_ = [("storage_type", ctypes.c_char_p), ("path_or_inline_dv", ctypes.c_char_p),
                ("offset", ctypes.c_int64), ("size_in_bytes", ctypes.c_int64),
                ("cardinality", ctypes.c_int64)]


class _FileAction(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint), ("path", ctypes.c_char_p),
                ("partition_values", ctypes.POINTER(_KeyValue)),
                ("n_partition_values", ctypes.c_size_t), ("size", ctypes.c_int64),
                ("timestamp_ms", ctypes.c_int64), ("data_change", ctypes.c_int),
                ("stats", ctypes.c_char_p), ("tags", ctypes.POINTER(_KeyValue)),
                ("n_tags", ctypes.c_size_t),
                ("deletion_vector", ctypes.POINTER(_DeletionVector)),
                ("base_row_id", ctypes.c_int64), ("default_row_commit_version", ctypes.c_int64)]


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _key_values(m):
    """A dict of str to str or None as a C array, or None when it is something else."""
    if not isinstance(m, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in m.items()):
        return None
    arr = (_KeyValue * max(len(m), 1))()
    for i, (k, v) in enumerate(m.items()):
        arr[i].key = k.encode()
        arr[i].value = None if v is None else v.encode()
    return arr


def _file_action(path, size, partition_values, stats, data_change, timestamp_ms, tags,
                 deletion_vector):
    """The typed file action (dsql_txn_add_file), or None where an argument has another
    shape: the JSON line then goes through dsql_txn_stage, whose checks name what is
    wrong."""
    if not isinstance(path, str) or not (size is None or _is_int(size)) or \
            not isinstance(data_change, bool) or not _is_int(timestamp_ms):
        return None
    f = _FileAction(1, path.encode(), None, 0, -1 if size is None else size, timestamp_ms,
                    1 if data_change else 0, None, None, 0, None, -1, -1)
    keep = []
    for value, ptr, count in ((partition_values, "partition_values", "n_partition_values"),
                              (tags, "tags", "n_tags")):
        if value:
            arr = _key_values(value)
            if arr is None:
                return None
            keep.append(arr)
            setattr(f, ptr, ctypes.cast(arr, ctypes.POINTER(_KeyValue)))
            setattr(f, count, len(value))
    if stats is not None:
        f.stats = _json(stats).encode()
    if deletion_vector:
        dv = deletion_vector
        if not isinstance(dv, dict) or set(dv) - {"storageType", "pathOrInlineDv", "offset",
                                                   "sizeInBytes", "cardinality"} or \
                not isinstance(dv.get("storageType"), str) or \
                not isinstance(dv.get("pathOrInlineDv"), str) or \
                not all(_is_int(dv.get(k)) for k in ("sizeInBytes", "cardinality")) or \
                not (dv.get("offset") is None or _is_int(dv["offset"])):
            return None
        d = _DeletionVector(dv["storageType"].encode(), dv["pathOrInlineDv"].encode(),
                            -1 if dv.get("offset") is None else dv["offset"],
                            dv["sizeInBytes"], dv["cardinality"])
        keep.append(d)
        f.deletion_vector = ctypes.pointer(d)
    return f, keep


class _ExpireOptions(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint), ("before_ms", ctypes.c_int64),
                ("keep_versions", ctypes.c_int64), ("dry_run", ctypes.c_int)]


class _ExpireResult(ctypes.Structure):
    _fields_ = [("oldest_version", ctypes.c_int64), ("versions_expired", ctypes.c_int64),
                ("actions_removed", ctypes.c_int64), ("files_removed", ctypes.c_int64)]


_P = ctypes.c_void_p
_E = ctypes.POINTER(_Error)
_TABLE_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(_TableInfo), _P)
_HISTORY_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(_CommitInfo), _P)
_VACUUM_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.c_int64, ctypes.c_int, _P)


def _sig(name, restype, *argtypes):
    fn = getattr(_lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


_c = {}
for _name, _res, _args in [
    ("dsql_version", ctypes.c_char_p, []),
    ("dsql_catalog_open", ctypes.c_int, [ctypes.POINTER(_P), ctypes.c_char_p,
                                          ctypes.POINTER(_CatalogOptions), _E]),
    ("dsql_catalog_free", None, [_P]),
    ("dsql_catalog_uuid", ctypes.c_char_p, [_P]),
    ("dsql_catalog_driver", ctypes.c_char_p, [_P]),
    ("dsql_catalog_metrics", None, [_P, ctypes.POINTER(_Metrics), ctypes.c_size_t]),
    ("dsql_table_create", ctypes.c_int, [_P, ctypes.c_char_p, ctypes.POINTER(_TableOptions), _E]),
    ("dsql_table_list", ctypes.c_int, [_P, _TABLE_CB, _P, _E]),
    ("dsql_table_drop", ctypes.c_int, [_P, ctypes.c_char_p, _E]),
    ("dsql_table_version", ctypes.c_int, [_P, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int64), _E]),
    ("dsql_txn_begin", ctypes.c_int, [ctypes.POINTER(_P), _P, ctypes.POINTER(_TxnOptions), _E]),
    ("dsql_txn_open_table", ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_int64, _E]),
    ("dsql_txn_read_version", ctypes.c_int, [_P, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int64), _E]),
    ("dsql_txn_stage", ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_char_p, _E]),
    ("dsql_txn_add_file", ctypes.c_int, [_P, ctypes.c_char_p, ctypes.POINTER(_FileAction), _E]),
    ("dsql_txn_remove_file", ctypes.c_int, [_P, ctypes.c_char_p, ctypes.POINTER(_FileAction),
                                            _E]),
    ("dsql_txn_read", ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_char_p, _E]),
    ("dsql_txn_add_sql", ctypes.c_int, [_P, ctypes.POINTER(ctypes.c_size_t), ctypes.c_char_p,
                                         ctypes.POINTER(_Param), ctypes.c_size_t, _E]),
    ("dsql_txn_sql_changes", ctypes.c_int64, [_P, ctypes.c_size_t]),
    ("dsql_txn_sql_row_count", ctypes.c_size_t, [_P, ctypes.c_size_t]),
    ("dsql_txn_sql_column_count", ctypes.c_size_t, [_P, ctypes.c_size_t]),
    ("dsql_txn_sql_value", ctypes.c_char_p, [_P, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t]),
    ("dsql_txn_commit", ctypes.c_int, [_P, _E]),
    ("dsql_txn_id", ctypes.c_char_p, [_P]),
    ("dsql_txn_committed_version", ctypes.c_int, [_P, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int64)]),
    ("dsql_txn_attempts", ctypes.c_uint, [_P]),
    ("dsql_txn_was_replayed", ctypes.c_int, [_P]),
    ("dsql_txn_free", None, [_P]),
    ("dsql_snapshot_open", ctypes.c_int, [ctypes.POINTER(_P), _P, ctypes.c_char_p, ctypes.c_int64, _E]),
    ("dsql_snapshot_open_at", ctypes.c_int, [ctypes.POINTER(_P), _P, ctypes.c_char_p, ctypes.c_int64, _E]),
    ("dsql_snapshot_free", None, [_P]),
    ("dsql_snapshot_version", ctypes.c_int64, [_P]),
    ("dsql_snapshot_timestamp", ctypes.c_int64, [_P]),
    ("dsql_snapshot_protocol_json", ctypes.c_char_p, [_P]),
    ("dsql_snapshot_metadata_json", ctypes.c_char_p, [_P]),
    ("dsql_snapshot_file_count", ctypes.c_size_t, [_P]),
    ("dsql_snapshot_file_json", ctypes.c_char_p, [_P, ctypes.c_size_t]),
    ("dsql_snapshot_app_txn_count", ctypes.c_size_t, [_P]),
    ("dsql_snapshot_app_txn", ctypes.c_char_p, [_P, ctypes.c_size_t, ctypes.POINTER(ctypes.c_int64)]),
    ("dsql_snapshot_domain_count", ctypes.c_size_t, [_P]),
    ("dsql_snapshot_domain", ctypes.c_char_p, [_P, ctypes.c_size_t, ctypes.POINTER(ctypes.c_char_p)]),
    ("dsql_history", ctypes.c_int, [_P, ctypes.c_char_p, _HISTORY_CB, _P, _E]),
    ("dsql_delta_import", ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_char_p, _P, _P, _E]),
    ("dsql_delta_export", ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int64,
                                          ctypes.POINTER(ctypes.c_int64), _P, _P, _E]),
    ("dsql_table_expire", ctypes.c_int, [_P, ctypes.c_char_p, ctypes.POINTER(_ExpireOptions),
                                          ctypes.POINTER(_ExpireResult), _E]),
    ("dsql_table_vacuum", ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_int64, ctypes.c_int,
                                          _VACUUM_CB, _P, _E]),
]:
    _c[_name] = _sig(_name, _res, *_args)

version = _c["dsql_version"]().decode()


# --- errors ---------------------------------------------------------------

class Error(Exception):
    """A deltasql failure: code, message, SQLSTATE, the database's native code,
    the driver, and for conflicts the rule, table and winning version."""

    def __init__(self, err, message=None):
        if message is not None:  # raised by the binding itself
            err = _Error(code=err, message=message.encode()[:1023])
        self.code = err.code
        self.message = err.message.decode(errors="replace")
        self.sqlstate = err.sqlstate.decode() or None
        self.native_code = err.native_code
        self.driver = err.driver.decode() or None
        self.rule = err.conflict.rule.decode() or None
        self.table = err.conflict.table.decode(errors="replace") or None
        self.winning_version = err.conflict.winning_version
        self.detail = err.conflict.detail.decode(errors="replace") or None
        self.statement_index = err.statement_index
        super().__init__(self.message)


class ConflictError(Error):
    """Another transaction won: re-read and redo (rule, table, winning_version)."""


class NotFoundError(Error):
    """No such table, version or catalog."""


class InvalidInputError(Error):
    """The input was refused; nothing was written."""


class AlreadyExistsError(InvalidInputError):
    """What was to be created exists already."""


class DatabaseError(Error):
    """The database failed."""


class RetryableError(DatabaseError):
    """A transient failure (busy, serialization, deadlock) outlasted the retry policy."""


class CommitUnknownError(DatabaseError):
    """The connection died during COMMIT; look the transaction id up later."""


class UnsupportedError(Error):
    """The driver or catalog does not support this."""


class FileError(Error):
    """A file of a Delta log could not be read or written (import and export)."""


_CLASSES = {ECONFLICT: ConflictError, ENOTFOUND: NotFoundError, EINVALID: InvalidInputError,
            EEXISTS: AlreadyExistsError, ERETRY: RetryableError, EUNKNOWN: CommitUnknownError,
            EUNSUPPORTED: UnsupportedError, ECATALOG_VERSION: UnsupportedError, EIO: FileError}


def _check(rc, err):
    if rc != OK:
        raise _CLASSES.get(rc, DatabaseError)(err)


def _b(s):
    return None if s is None else s.encode()


def _json(v):
    return v if isinstance(v, str) else json.dumps(v)


# --- snapshots --------------------------------------------------------------

class Snapshot:
    """A table at one version: .version, .timestamp (ms), .protocol, .metadata,
    .files (the add actions of the live files), .app_txns, .domains."""

    def __init__(self, handle, table):
        f = _c
        self.table = table
        self.version = f["dsql_snapshot_version"](handle)
        self.timestamp = f["dsql_snapshot_timestamp"](handle)
        self.protocol = json.loads(f["dsql_snapshot_protocol_json"](handle))
        self.metadata = json.loads(f["dsql_snapshot_metadata_json"](handle))
        self.files = [json.loads(f["dsql_snapshot_file_json"](handle, i))
                      for i in range(f["dsql_snapshot_file_count"](handle))]
        self.app_txns = {}
        v = ctypes.c_int64()
        for i in range(f["dsql_snapshot_app_txn_count"](handle)):
            app = f["dsql_snapshot_app_txn"](handle, i, ctypes.byref(v))
            self.app_txns[app.decode()] = v.value
        self.domains = {}
        conf = ctypes.c_char_p()
        for i in range(f["dsql_snapshot_domain_count"](handle)):
            d = f["dsql_snapshot_domain"](handle, i, ctypes.byref(conf))
            self.domains[d.decode()] = conf.value.decode()

    @property
    def schema(self):
        return json.loads(self.metadata.get("schemaString", "null"))

    @property
    def partition_columns(self):
        return list(self.metadata.get("partitionColumns", []))

    def __repr__(self):
        return "<Snapshot %s v%d, %d files>" % (self.table, self.version, len(self.files))


# --- transactions -----------------------------------------------------------

class TableStage:
    """Stages Delta actions for one table of a transaction."""

    def __init__(self, tx, name):
        self._tx = tx
        self.name = name

    def action(self, action):
        """Stages one Delta log action given as a dict ({"add": {...}}) or JSON."""
        self._tx._stage(self.name, _json(action))
        return self

    def add(self, path, size, partition_values=None, stats=None, data_change=True,
            modification_time=None, tags=None, deletion_vector=None):
        """Stages an add, as typed fields (no JSON to build or parse) where the arguments
        have Delta's shapes."""
        if modification_time is None:
            modification_time = int(time.time() * 1000)
        # An add's size is required: without one, the JSON line says so.
        typed = _file_action(path, size, partition_values, stats, data_change,
                             modification_time, tags, deletion_vector) if _is_int(size) else None
        if typed is not None:
            self._tx._stage_file("dsql_txn_add_file", self.name, typed[0])
            return self
        body = {"path": path, "partitionValues": partition_values or {}, "size": size,
                "modificationTime": modification_time, "dataChange": data_change}
        if stats is not None:
            body["stats"] = _json(stats)
        if tags:
            body["tags"] = tags
        if deletion_vector:
            body["deletionVector"] = deletion_vector
        return self.action({"add": body})

    def remove(self, path, data_change=True, deletion_timestamp=None, partition_values=None,
               deletion_vector=None):
        """Stages a remove, as typed fields where the arguments have Delta's shapes."""
        if deletion_timestamp is None:
            deletion_timestamp = int(time.time() * 1000)
        typed = _file_action(path, None, partition_values, None, data_change,
                             deletion_timestamp, None, deletion_vector)
        if typed is not None:
            self._tx._stage_file("dsql_txn_remove_file", self.name, typed[0])
            return self
        body = {"path": path, "dataChange": data_change, "deletionTimestamp": deletion_timestamp}
        if partition_values is not None:
            body["partitionValues"] = partition_values
        if deletion_vector:
            body["deletionVector"] = deletion_vector
        return self.action({"remove": body})

    def set_metadata(self, schema, partition_by=None, configuration=None, id=None, **extra):
        body = {"id": id or self._tx._catalog.snapshot(self.name).metadata.get("id"),
                "format": {"provider": "parquet", "options": {}},
                "schemaString": _json(schema), "partitionColumns": list(partition_by or []),
                "configuration": dict(configuration or {})}
        body.update(extra)
        return self.action({"metaData": body})

    def set_protocol(self, min_reader_version, min_writer_version, reader_features=None,
                     writer_features=None):
        body = {"minReaderVersion": min_reader_version, "minWriterVersion": min_writer_version}
        if reader_features is not None:
            body["readerFeatures"] = list(reader_features)
        if writer_features is not None:
            body["writerFeatures"] = list(writer_features)
        return self.action({"protocol": body})

    def set_app_txn(self, app_id, version, last_updated=None):
        body = {"appId": app_id, "version": version}
        if last_updated is not None:
            body["lastUpdated"] = last_updated
        return self.action({"txn": body})

    def domain_metadata(self, domain, configuration, removed=False):
        return self.action({"domainMetadata": {"domain": domain,
                                               "configuration": _json(configuration),
                                               "removed": removed}})

    def commit_info(self, info):
        return self.action({"commitInfo": dict(info)})

    def read(self, whole_table=False, predicate=None, files=None, app_ids=None):
        """Records what the transaction read (for the conflict rules)."""
        r = {}
        if app_ids is not None:
            r["app_ids"] = list(app_ids)
        if whole_table:
            r["whole_table"] = True
        if predicate is not None:
            r["predicate"] = predicate
        if files is not None:
            r["files"] = list(files)
        self._tx._read(self.name, json.dumps(r))
        return self

    @property
    def read_version(self):
        v = ctypes.c_int64()
        err = _Error()
        _check(_c["dsql_txn_read_version"](self._tx._handle(), _b(self.name), ctypes.byref(v),
                                           ctypes.byref(err)), err)
        return v.value


class Transaction:
    """A transaction over one or several tables; a context manager that commits
    on normal exit and rolls back when the block raises."""

    def __init__(self, catalog, isolation=None, txn_id=None):
        if isolation not in ISOLATION:
            raise ValueError("unknown isolation level %r" % (isolation,))
        self._catalog = catalog
        self._h = ctypes.c_void_p()
        self._sql = []
        self._results = []
        self.versions = {}
        self.committed = False
        self.attempts = 0
        self.replayed = False
        opts = _TxnOptions(1, ISOLATION[isolation], _b(txn_id), None)
        err = _Error()
        _check(_c["dsql_txn_begin"](ctypes.byref(self._h), catalog._handle(), ctypes.byref(opts),
                                    ctypes.byref(err)), err)
        self.id = _c["dsql_txn_id"](self._h).decode()

    def _handle(self):
        if not self._h:
            raise InvalidInputError(EINVALID, "the transaction %s is finished" % self.id)
        return self._h

    def _stage(self, table, text):
        err = _Error()
        _check(_c["dsql_txn_stage"](self._handle(), _b(table), text.encode(), ctypes.byref(err)), err)

    def _stage_file(self, fn, table, f):
        err = _Error()
        _check(_c[fn](self._handle(), _b(table), ctypes.byref(f), ctypes.byref(err)), err)

    def _read(self, table, text):
        err = _Error()
        _check(_c["dsql_txn_read"](self._handle(), _b(table), text.encode(), ctypes.byref(err)), err)

    def table(self, name, read_version=None):
        """The staging helper of a table; opens it (at read_version, or the latest)."""
        if read_version is not None:
            err = _Error()
            _check(_c["dsql_txn_open_table"](self._handle(), _b(name), read_version,
                                             ctypes.byref(err)), err)
        return TableStage(self, name)

    def sql(self, statement, params=()):
        """Adds an application statement run inside the commit; returns its index."""
        arr = (_Param * max(1, len(params)))()
        keep = []
        for i, p in enumerate(params):
            if p is None:
                arr[i].type = TYPE_NULL
            elif isinstance(p, bool) or isinstance(p, int):
                arr[i].type, arr[i].i64 = TYPE_INT64, int(p)
            elif isinstance(p, float):
                arr[i].type, arr[i].f64 = TYPE_DOUBLE, p
            elif isinstance(p, (bytes, bytearray)):
                buf = ctypes.create_string_buffer(bytes(p), len(p))
                keep.append(buf)
                arr[i].type, arr[i].data, arr[i].len = TYPE_BLOB, ctypes.addressof(buf), len(p)
            else:
                data = str(p).encode()
                buf = ctypes.create_string_buffer(data, len(data))
                keep.append(buf)
                arr[i].type, arr[i].data, arr[i].len = TYPE_TEXT, ctypes.addressof(buf), len(data)
        idx = ctypes.c_size_t()
        err = _Error()
        _check(_c["dsql_txn_add_sql"](self._handle(), ctypes.byref(idx), statement.encode(), arr,
                                      len(params), ctypes.byref(err)), err)
        self._sql.append(idx.value)
        return idx.value

    def sql_result(self, index):
        """After commit: {"changes": n, "rows": [[text or None, ...], ...]}."""
        return self._results[index]

    def commit(self):
        """Commits every table atomically; returns {table: version}. The
        transaction is finished afterwards, whatever the outcome."""
        err = _Error()
        h = self._handle()
        try:
            rc = _c["dsql_txn_commit"](h, ctypes.byref(err))
            self.attempts = _c["dsql_txn_attempts"](h)
            self.replayed = bool(_c["dsql_txn_was_replayed"](h))
            if rc == OK:
                self.committed = True
                self._collect(h)
            _check(rc, err)
        finally:
            self.close()
        return dict(self.versions)

    def _collect(self, h):
        v = ctypes.c_int64()
        for name in self._catalog._table_names_hint(self):
            if _c["dsql_txn_committed_version"](h, _b(name), ctypes.byref(v)) == OK:
                self.versions[name] = v.value
        self._results = []
        for i in range(len(self._sql)):
            rows = []
            for r in range(_c["dsql_txn_sql_row_count"](h, i)):
                row = []
                for col in range(_c["dsql_txn_sql_column_count"](h, i)):
                    val = _c["dsql_txn_sql_value"](h, i, r, col)
                    row.append(None if val is None else val.decode())
                rows.append(row)
            self._results.append({"changes": _c["dsql_txn_sql_changes"](h, i), "rows": rows})

    def rollback(self):
        """Drops the transaction (nothing was written)."""
        self.close()

    def close(self):
        if self._h:
            _c["dsql_txn_free"](self._h)
        self._h = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.rollback()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


# --- the catalog ---------------------------------------------------------------

class Catalog:
    """A catalog opened by URI. Use one per thread; close() or a with block
    releases it."""

    def __init__(self, uri, create=True):
        self.uri = uri
        self._h = ctypes.c_void_p()
        self._staged_tables = {}
        opts = _CatalogOptions(1, 1 if create else 0, _RetryPolicy(20, 2, 500, 60000))
        err = _Error()
        _check(_c["dsql_catalog_open"](ctypes.byref(self._h), uri.encode(), ctypes.byref(opts),
                                       ctypes.byref(err)), err)

    def _handle(self):
        if not self._h:
            raise InvalidInputError(EINVALID, "the catalog is closed")
        return self._h

    @property
    def uuid(self):
        return _c["dsql_catalog_uuid"](self._handle()).decode()

    @property
    def driver(self):
        return _c["dsql_catalog_driver"](self._handle()).decode()

    def close(self):
        if self._h:
            _c["dsql_catalog_free"](self._h)
        self._h = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # tables
    def create_table(self, name, schema=None, partition_by=None, properties=None,
                     location=None):
        parts = list(partition_by or [])
        part_arr = (ctypes.c_char_p * (len(parts) + 1))(*[p.encode() for p in parts], None)
        props = []
        for k, v in (properties or {}).items():
            props += [k.encode(), str(v).encode()]
        prop_arr = (ctypes.c_char_p * (len(props) + 1))(*props, None)
        opts = _TableOptions(1, _b(location), _b(None if schema is None else _json(schema)),
                             part_arr, prop_arr, 0, 0)
        err = _Error()
        _check(_c["dsql_table_create"](self._handle(), name.encode(), ctypes.byref(opts),
                                       ctypes.byref(err)), err)

    def tables(self):
        """[{"name", "uuid", "location", "version", "created_ms"}, ...] by name."""
        out = []

        def cb(info, payload):
            i = info.contents
            out.append({"name": i.name.decode(), "uuid": i.uuid.decode(),
                        "location": i.location.decode() if i.location else None,
                        "version": i.version, "created_ms": i.created_ms})
            return 0
        err = _Error()
        _check(_c["dsql_table_list"](self._handle(), _TABLE_CB(cb), None, ctypes.byref(err)), err)
        return out

    def drop_table(self, name):
        err = _Error()
        _check(_c["dsql_table_drop"](self._handle(), name.encode(), ctypes.byref(err)), err)

    def table_version(self, name):
        v = ctypes.c_int64()
        err = _Error()
        _check(_c["dsql_table_version"](self._handle(), name.encode(), ctypes.byref(v),
                                        ctypes.byref(err)), err)
        return v.value

    # reading
    def snapshot(self, name, version=None, timestamp=None):
        """The table at a version, at a time (epoch ms or datetime), or the latest."""
        if version is not None and timestamp is not None:
            raise ValueError("give version or timestamp, not both")
        h = ctypes.c_void_p()
        err = _Error()
        if timestamp is not None:
            ms = int(timestamp.timestamp() * 1000) if hasattr(timestamp, "timestamp") else int(timestamp)
            rc = _c["dsql_snapshot_open_at"](ctypes.byref(h), self._handle(), name.encode(), ms,
                                             ctypes.byref(err))
        else:
            rc = _c["dsql_snapshot_open"](ctypes.byref(h), self._handle(), name.encode(),
                                          LATEST if version is None else version, ctypes.byref(err))
        _check(rc, err)
        try:
            return Snapshot(h, name)
        finally:
            _c["dsql_snapshot_free"](h)

    def history(self, name):
        out = []

        def cb(info, payload):
            i = info.contents
            out.append({"version": i.version, "timestamp_ms": i.timestamp_ms,
                        "txn_id": i.txn_id.decode(), "operation": i.operation.decode(),
                        "adds": i.adds, "removes": i.removes})
            return 0
        err = _Error()
        _check(_c["dsql_history"](self._handle(), name.encode(), _HISTORY_CB(cb), None,
                                  ctypes.byref(err)), err)
        return out

    # writing
    def transaction(self, isolation=None, txn_id=None):
        return _TrackedTransaction(self, isolation, txn_id)

    def _table_names_hint(self, tx):
        return self._staged_tables.get(id(tx), set())

    def run(self, fn, retries=10, isolation=None, base_delay=0.002, max_delay=0.5):
        """Runs fn(tx) in a transaction and commits; on a conflict runs it again
        on fresh snapshots, up to `retries` more times. Returns fn's result."""
        attempt = 0
        while True:
            tx = self.transaction(isolation=isolation)
            try:
                result = fn(tx)
                tx.commit()
                return result
            except ConflictError:
                if attempt >= retries:
                    raise
            finally:
                tx.close()
            attempt += 1
            time.sleep(random.uniform(0, min(max_delay, base_delay * 2 ** attempt)))

    # Delta Lake
    def import_delta(self, name, path):
        err = _Error()
        _check(_c["dsql_delta_import"](self._handle(), name.encode(), str(path).encode(), None,
                                       None, ctypes.byref(err)), err)
        return self.table_version(name)

    def export_delta(self, name, directory, from_version=0):
        written = ctypes.c_int64()
        err = _Error()
        _check(_c["dsql_delta_export"](self._handle(), name.encode(), str(directory).encode(),
                                       from_version, ctypes.byref(written), None, None,
                                       ctypes.byref(err)), err)
        return written.value

    # retention
    def expire(self, name, keep_versions=0, before_ms=-1, dry_run=False):
        opts = _ExpireOptions(1, before_ms, keep_versions, 1 if dry_run else 0)
        res = _ExpireResult()
        err = _Error()
        _check(_c["dsql_table_expire"](self._handle(), name.encode(), ctypes.byref(opts),
                                       ctypes.byref(res), ctypes.byref(err)), err)
        return {"oldest_version": res.oldest_version, "versions_expired": res.versions_expired,
                "actions_removed": res.actions_removed, "files_removed": res.files_removed}

    def vacuum(self, name, retain_hours, delete=False):
        out = []

        def cb(path, removed_ms, deleted, payload):
            out.append({"path": path.decode(), "removed_ms": removed_ms, "deleted": bool(deleted)})
            return 0
        err = _Error()
        _check(_c["dsql_table_vacuum"](self._handle(), name.encode(),
                                       int(retain_hours * 3600 * 1000), 1 if delete else 0,
                                       _VACUUM_CB(cb), None, ctypes.byref(err)), err)
        return out

    def metrics(self):
        m = _Metrics()
        _c["dsql_catalog_metrics"](self._handle(), ctypes.byref(m), ctypes.sizeof(m))
        return {"commits": m.commits, "failures": m.failures, "replays": m.replays,
                "conflicts": m.conflicts,
                "conflicts_by_rule": dict(zip(RULES, list(m.conflicts_by_rule))),
                "rebases": m.rebases, "retries": m.retries, "backoff_ms": m.backoff_ms,
                "latency_count": m.latency_count, "latency_sum_us": m.latency_sum_us,
                "latency_max_us": m.latency_max_us, "hint_misses": m.hint_misses}


class _TrackedTransaction(Transaction):
    """Remembers which tables were touched, to report their versions."""

    def __init__(self, catalog, isolation, txn_id):
        super().__init__(catalog, isolation, txn_id)
        self._names = set()
        catalog._staged_tables[id(self)] = self._names

    def table(self, name, read_version=None):
        self._names.add(name)
        return super().table(name, read_version)

    def close(self):
        self._catalog._staged_tables.pop(id(self), None)
        super().close()


def connect(uri, create=True):
    """Opens a catalog by URI: "sqlite:lake.db", "postgresql://...", "odbc:DSN=x"."""
    return Catalog(uri, create=create)
