"""The C library as ctypes sees it: loading it, its structs (their layouts are
checked against the C headers by the tests) and its functions' signatures, and the
error classes its status codes map to. Internal: the public API is the package."""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib
from typing import Any
import json
import os

LATEST = -1

# Status codes (include/deltasql/common.h).
OK, ERROR, ECONFLICT, ERETRY, EUNKNOWN, ENOTFOUND, EEXISTS, EINVALID = 0, -1, -2, -3, -4, -5, -6, -7
EUNSUPPORTED, ECONNECT, EDB, ETIMEOUT, ENOMEM, ECATALOG_VERSION, EIO = (-8, -9, -10, -11, -12,
                                                                     -13, -14)

TYPE_NULL, TYPE_INT64, TYPE_DOUBLE, TYPE_TEXT, TYPE_BLOB = 0, 1, 2, 3, 4

ISOLATION = {None: 0, "serializable": 1, "write_serializable": 2, "snapshot": 3}


# --- the library ---------------------------------------------------------

def _library_candidates() -> "list[str]":
    """Where libdeltasql may be, in the order tried: an explicit override, the copy
    bundled in the wheel, the loader's search path (ld.so.conf, LD_LIBRARY_PATH),
    pkg-config's libdir recorded at build time and asked now, and the source tree's
    build when the package is imported from the tree."""
    here = os.path.dirname(os.path.abspath(__file__))
    out = []
    if os.environ.get("DELTASQL_LIBRARY"):
        out.append(os.environ["DELTASQL_LIBRARY"])
    try:  # written by the build backend into the wheel; absent in the tree
        _build_info: Any = importlib.import_module(__package__ + "._build_info")
    except ImportError:
        _build_info = None
    if _build_info is not None and _build_info.BUNDLED:
        out.append(os.path.join(here, _build_info.BUNDLED))
    out += ["libdeltasql.so.0", "libdeltasql.0.dylib"]
    found = ctypes.util.find_library("deltasql")
    if found:
        out.append(found)
    libdirs = []
    if _build_info is not None and _build_info.PKG_CONFIG_LIBDIR:
        libdirs.append(_build_info.PKG_CONFIG_LIBDIR)
    libdirs.append(_pkg_config_libdir())
    out += [os.path.join(d, f) for d in libdirs if d
            for f in ("libdeltasql.so.0", "libdeltasql.0.dylib")]
    out.append(os.path.join(here, "..", "..", "..", "_build", ".libs", "libdeltasql.so"))
    return out


def _pkg_config_libdir() -> "str | None":
    import subprocess
    try:
        res = subprocess.run(["pkg-config", "--variable=libdir", "deltasql"],
                             capture_output=True, text=True, check=False)
    except OSError:
        return None
    return res.stdout.strip() if res.returncode == 0 else None


def _load_library() -> ctypes.CDLL:
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


def library_path() -> str:
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
                ("hint_misses", ctypes.c_uint64), ("published_files", ctypes.c_uint64),
                ("publish_failures", ctypes.c_uint64)]


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


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _key_values(m: Any) -> Any:
    """A dict of str to str or None as a C array, or None when it is something else."""
    if not isinstance(m, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in m.items()):
        return None
    arr = (_KeyValue * max(len(m), 1))()
    for i, (k, v) in enumerate(m.items()):
        arr[i].key = k.encode()
        arr[i].value = None if v is None else v.encode()
    return arr


def _file_action(path: Any, size: Any, partition_values: Any, stats: Any, data_change: Any,
                 timestamp_ms: Any, tags: Any, deletion_vector: Any) -> Any:
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


class _ArrowSchema(ctypes.Structure):
    pass


_ArrowSchema._fields_ = [("format", ctypes.c_char_p), ("name", ctypes.c_char_p),
                         ("metadata", ctypes.c_char_p), ("flags", ctypes.c_int64),
                         ("n_children", ctypes.c_int64),
                         ("children", ctypes.POINTER(ctypes.POINTER(_ArrowSchema))),
                         ("dictionary", ctypes.POINTER(_ArrowSchema)),
                         ("release", ctypes.c_void_p), ("private_data", ctypes.c_void_p)]


class _ArrowArray(ctypes.Structure):
    pass


_ArrowArray._fields_ = [("length", ctypes.c_int64), ("null_count", ctypes.c_int64),
                        ("offset", ctypes.c_int64), ("n_buffers", ctypes.c_int64),
                        ("n_children", ctypes.c_int64), ("buffers", ctypes.c_void_p),
                        ("children", ctypes.c_void_p), ("dictionary", ctypes.c_void_p),
                        ("release", ctypes.c_void_p), ("private_data", ctypes.c_void_p)]


_P = ctypes.c_void_p
_E = ctypes.POINTER(_Error)
_TABLE_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(_TableInfo), _P)
_HISTORY_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(_CommitInfo), _P)
_VACUUM_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.c_int64, ctypes.c_int, _P)
_TXN_FN = ctypes.CFUNCTYPE(ctypes.c_int, _P, _P)


def _sig(name: str, restype: Any, *argtypes: Any) -> Any:
    fn = getattr(_lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


_c = {}
_SIGNATURES: "list[tuple[str, Any, list[Any]]]" = [
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
    ("dsql_txn_run", ctypes.c_int, [_P, ctypes.POINTER(_TxnOptions), _TXN_FN, _P, _E]),
    ("dsql_snapshot_open", ctypes.c_int, [ctypes.POINTER(_P), _P, ctypes.c_char_p, ctypes.c_int64, _E]),
    ("dsql_snapshot_open_at", ctypes.c_int, [ctypes.POINTER(_P), _P, ctypes.c_char_p, ctypes.c_int64, _E]),
    ("dsql_snapshot_open_many", ctypes.c_int, [ctypes.POINTER(_P), _P,
                                                ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t,
                                                _E]),
    ("dsql_snapshot_free", None, [_P]),
    ("dsql_snapshot_version", ctypes.c_int64, [_P]),
    ("dsql_snapshot_timestamp", ctypes.c_int64, [_P]),
    ("dsql_snapshot_protocol_json", ctypes.c_char_p, [_P]),
    ("dsql_snapshot_metadata_json", ctypes.c_char_p, [_P]),
    ("dsql_snapshot_file_count", ctypes.c_size_t, [_P]),
    ("dsql_snapshot_file_json", ctypes.c_char_p, [_P, ctypes.c_size_t]),
    ("dsql_snapshot_files_arrow", ctypes.c_int, [_P, ctypes.POINTER(_ArrowSchema),
                                                  ctypes.POINTER(_ArrowArray), _E]),
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
]
for _name, _res, _args in _SIGNATURES:
    _c[_name] = _sig(_name, _res, *_args)

version = _c["dsql_version"]().decode()


# --- errors ---------------------------------------------------------------

class Error(Exception):
    """A deltasql failure: code, message, SQLSTATE, the database's native code,
    the driver, and for conflicts the rule, table and winning version."""

    def __init__(self, err: "_Error | int", message: "str | None" = None) -> None:
        e = err if isinstance(err, _Error) else \
            _Error(code=err, message=(message or "").encode()[:1023])
        self.code: int = e.code
        self.message: str = e.message.decode(errors="replace")
        self.sqlstate: "str | None" = e.sqlstate.decode() or None
        self.native_code: int = e.native_code
        self.driver: "str | None" = e.driver.decode() or None
        self.rule: "str | None" = e.conflict.rule.decode() or None
        self.table: "str | None" = e.conflict.table.decode(errors="replace") or None
        self.winning_version: int = e.conflict.winning_version
        self.detail: "str | None" = e.conflict.detail.decode(errors="replace") or None
        self.statement_index: int = e.statement_index
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


def _check(rc: int, err: "_Error") -> None:
    if rc != OK:
        raise _CLASSES.get(rc, DatabaseError)(err)


def _b(s: "str | None") -> "bytes | None":
    return None if s is None else s.encode()


def _json(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v)


