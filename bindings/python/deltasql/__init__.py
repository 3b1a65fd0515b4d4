"""deltasql: Delta Lake table metadata in a SQL database, with atomic commits
across several tables.

    import deltasql
    cat = deltasql.connect("sqlite:lake.db")
    with cat.transaction(isolation="write_serializable") as tx:
        tx.table("dim_customer").add(path="part-0001.parquet", size=1024)
        tx.table("fact_orders").remove("part-0000.parquet")
    # committed here; rolled back if the block raised

A thin ctypes layer over the C library (libdeltasql); the standard library only.
pyarrow (``pip install deltasql[arrow]``) adds ``Snapshot.to_arrow()`` and
``TableStage.write()``.
"""

from __future__ import annotations

import ctypes
import datetime as _dt
import json
import re
from dataclasses import dataclass, field
from typing import (TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Mapping, Optional,
                    Sequence, TypeVar, Union, cast)

from . import _lib
from ._lib import (AlreadyExistsError, CommitUnknownError, ConflictError, DatabaseError,
                   Error, FileError, InvalidInputError, NotFoundError, RetryableError,
                   UnsupportedError, _b, _c, _check, _Error, _json, library_path)

if TYPE_CHECKING:  # pragma: no cover
    import pandas
    import pyarrow

__all__ = [
    "connect", "library_path", "version", "Catalog", "Transaction", "TableStage", "Snapshot",
    "TableInfo", "HistoryEntry", "FileInfo", "CommitResult", "SqlResult", "ExpireResult",
    "VacuumEntry", "Metrics", "RetryPolicy", "Timestamp",
    "Error", "ConflictError", "NotFoundError", "InvalidInputError", "AlreadyExistsError",
    "DatabaseError", "RetryableError", "CommitUnknownError", "UnsupportedError", "FileError",
]

version: str = _c["dsql_version"]().decode()
"""The C library's version string."""

T = TypeVar("T")

Timestamp = Union[_dt.datetime, _dt.date, str, int]
"""A point in time: a timezone-aware datetime, a date (its midnight UTC), an ISO-8601
string as the CLI takes it (``2026-12-31``, ``2026-12-31T00:00:00Z``,
``2026-12-31 08:00:00.5+02:00``) or epoch milliseconds."""

_UTC = _dt.timezone.utc
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
                  r"(Z|[+-]\d{2}:\d{2})?)?$")


def _invalid(message: str) -> InvalidInputError:
    return InvalidInputError(_lib.EINVALID, message)


def _to_ms(value: Timestamp, what: str) -> int:
    """Epoch milliseconds of a Timestamp; InvalidInputError naming `what` otherwise."""
    if isinstance(value, bool):
        raise _invalid("%s: %r is not a timestamp" % (what, value))
    if isinstance(value, int):
        return value
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise _invalid("%s: %s has no time zone (give tzinfo, e.g. datetime.timezone.utc)"
                           % (what, value.isoformat()))
        return (value - _dt.datetime(1970, 1, 1, tzinfo=_UTC)) // _dt.timedelta(milliseconds=1)
    if isinstance(value, _dt.date):
        return _to_ms(_dt.datetime(value.year, value.month, value.day, tzinfo=_UTC), what)
    if isinstance(value, str):
        return _parse_iso(value, what)
    raise _invalid("%s: %r is not a timestamp (datetime, ISO-8601 string or epoch ms)"
                   % (what, value))


def _parse_iso(text: str, what: str) -> int:
    """The CLI's grammar (tools/cli_util.c cli_parse_time): digits are epoch ms; else
    YYYY-MM-DD, optionally (T or space) HH:MM:SS, fraction, Z or +HH:MM; UTC when no
    zone is given."""
    if text.isdigit():
        return int(text)
    m = _ISO.match(text)
    if not m:
        raise _invalid("%s: %r is not an ISO-8601 timestamp (YYYY-MM-DD[THH:MM:SS[.fff]"
                       "[Z|+HH:MM]]) or epoch milliseconds" % (what, text))
    y, mo, d, h, mi, s, frac, zone = m.groups()
    tz = _UTC
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        tz = _dt.timezone(sign * _dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    try:
        when = _dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0),
                            min(int(s or 0), 59), tzinfo=tz)
    except ValueError as e:
        raise _invalid("%s: %r is not a valid date or time (%s)" % (what, text, e)) from None
    ms = int((frac or "0")[:3].ljust(3, "0"))
    return _to_ms(when, what) + ms + (1000 if s == "60" else 0)


def _from_ms(ms: Optional[int]) -> Optional[_dt.datetime]:
    if ms is None or ms < 0:
        return None
    return _at(ms)


def _at(ms: int) -> _dt.datetime:
    return _dt.datetime(1970, 1, 1, tzinfo=_UTC) + _dt.timedelta(milliseconds=ms)


# --- small records --------------------------------------------------------------

@dataclass(frozen=True)
class RetryPolicy:
    """How commits retry transient database failures and how ``Catalog.run`` re-runs
    conflicting transactions (``dsql_retry_policy``; the defaults are the C library's
    ``DSQL_RETRY_POLICY_INIT``)."""

    max_attempts: int = 20
    base_delay_ms: int = 2
    max_delay_ms: int = 500
    timeout_ms: int = 60000

    def _c(self) -> "_lib._RetryPolicy":
        return _lib._RetryPolicy(self.max_attempts, self.base_delay_ms, self.max_delay_ms,
                                 self.timeout_ms)


@dataclass(frozen=True)
class TableInfo:
    """A table of the catalog, as listed by ``Catalog.tables()``."""

    name: str
    uuid: str
    location: Optional[str]
    version: int
    created: _dt.datetime


@dataclass(frozen=True)
class HistoryEntry:
    """One version of a table, as listed by ``Catalog.history()``."""

    version: int
    timestamp: _dt.datetime
    txn_id: str
    operation: str
    adds: int
    removes: int


@dataclass(frozen=True)
class FileInfo:
    """A live data file of a snapshot: its add action, typed. ``action`` is the add's
    body as stored (the Delta log's JSON object)."""

    path: str
    size: int
    partition_values: Dict[str, Optional[str]]
    modification_time: Optional[_dt.datetime]
    data_change: bool
    stats: Optional[Dict[str, Any]]
    tags: Dict[str, Optional[str]]
    deletion_vector: Optional[Dict[str, Any]]
    action: Dict[str, Any] = field(repr=False, compare=False)

    @property
    def num_records(self) -> Optional[int]:
        """The file's row count from its statistics, None when unknown."""
        n = (self.stats or {}).get("numRecords")
        return n if isinstance(n, int) else None

    @classmethod
    def _from_action(cls, body: Dict[str, Any]) -> "FileInfo":
        stats = body.get("stats")
        if isinstance(stats, str):
            try:
                stats = json.loads(stats)
            except ValueError:
                stats = None  # kept as written in the log; not ours to judge here
        mt = body.get("modificationTime")
        return cls(path=body["path"], size=body.get("size", -1),
                   partition_values=dict(body.get("partitionValues") or {}),
                   modification_time=_from_ms(mt) if isinstance(mt, int) else None,
                   data_change=body.get("dataChange", True) is not False,
                   stats=stats if isinstance(stats, dict) else None,
                   tags=dict(body.get("tags") or {}),
                   deletion_vector=body.get("deletionVector"), action=body)


@dataclass(frozen=True)
class SqlResult:
    """What an application statement of a transaction did: rows changed and rows
    returned (each value as text, or None)."""

    changes: int
    rows: List[List[Optional[str]]]


@dataclass(frozen=True)
class CommitResult:
    """A committed transaction: the new version of each table it wrote, its id, how
    many attempts the commit took and whether it was found already committed (a
    replay of the same txn_id)."""

    versions: Dict[str, int]
    txn_id: str
    attempts: int
    replayed: bool
    sql: List[SqlResult] = field(default_factory=list, repr=False)


@dataclass(frozen=True)
class ExpireResult:
    """What ``Catalog.expire`` removed (or would remove, with dry_run)."""

    oldest_version: int
    versions_expired: int
    actions_removed: int
    files_removed: int


@dataclass(frozen=True)
class VacuumEntry:
    """A removed file past retention, as listed (and deleted) by ``Catalog.vacuum``."""

    path: str
    removed: Optional[_dt.datetime]
    deleted: bool


@dataclass(frozen=True)
class Metrics:
    """The catalog handle's commit counters (``dsql_metrics``)."""

    commits: int
    failures: int
    replays: int
    conflicts: int
    conflicts_by_rule: Dict[str, int]
    rebases: int
    retries: int
    backoff_ms: int
    latency_count: int
    latency_sum_us: int
    latency_max_us: int
    hint_misses: int
    published_files: int
    publish_failures: int


# --- snapshots --------------------------------------------------------------

class Snapshot:
    """A table at one version: ``version``, ``timestamp``, ``protocol``, ``metadata``,
    ``app_txns``, ``domains``, and its live files (``len(snap)``, ``iter(snap)``,
    ``snap.files``, ``snap.to_arrow()``). Holds the loaded snapshot until ``close()``,
    the end of a ``with`` block, or garbage collection."""

    def __init__(self, handle: ctypes.c_void_p, table: str) -> None:
        f = _c
        self._h = handle
        self._files: Optional[List[FileInfo]] = None
        self.table: str = table
        self.version: int = f["dsql_snapshot_version"](handle)
        self.timestamp: _dt.datetime = _at(f["dsql_snapshot_timestamp"](handle))
        self.protocol: Dict[str, Any] = json.loads(f["dsql_snapshot_protocol_json"](handle))
        self.metadata: Dict[str, Any] = json.loads(f["dsql_snapshot_metadata_json"](handle))
        self.app_txns: Dict[str, int] = {}
        v = ctypes.c_int64()
        for i in range(f["dsql_snapshot_app_txn_count"](handle)):
            app = f["dsql_snapshot_app_txn"](handle, i, ctypes.byref(v))
            self.app_txns[app.decode()] = v.value
        self.domains: Dict[str, str] = {}
        conf = ctypes.c_char_p()
        for i in range(f["dsql_snapshot_domain_count"](handle)):
            d = f["dsql_snapshot_domain"](handle, i, ctypes.byref(conf))
            self.domains[d.decode()] = (conf.value or b"").decode()
        self._count: int = f["dsql_snapshot_file_count"](handle)

    def _handle(self) -> ctypes.c_void_p:
        if not self._h:
            raise _invalid("the snapshot of %s v%d is closed" % (self.table, self.version))
        return self._h

    @property
    def schema(self) -> Optional[Dict[str, Any]]:
        """The table's Delta schema (a struct type), None when it has none."""
        return json.loads(self.metadata.get("schemaString", "null"))

    @property
    def partition_columns(self) -> List[str]:
        """The table's partition columns, in order."""
        return list(self.metadata.get("partitionColumns", []))

    @property
    def files(self) -> List[FileInfo]:
        """The live files, ordered by path (parsed on first use, then kept)."""
        if self._files is None:
            h = self._handle()
            get = _c["dsql_snapshot_file_json"]
            self._files = [FileInfo._from_action(json.loads(get(h, i)))
                           for i in range(self._count)]
        return self._files

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[FileInfo]:
        return iter(self.files)

    def to_arrow(self) -> "pyarrow.Table":
        """The live files as a pyarrow.Table with the columns of deltalake's
        ``get_add_actions()``: path, size_bytes, modification_time, data_change,
        num_records, null_count, min, max, partition (structs typed by the table's
        schema), and deletion_vector. Built column by column from one call into the C
        library (the Arrow C data interface), with no Python work per file. Needs
        pyarrow (``pip install deltasql[arrow]``)."""
        from . import _arrow
        return _arrow.files_table(self)

    def to_pandas(self) -> "pandas.DataFrame":
        """``to_arrow()`` as a pandas DataFrame (needs pandas and pyarrow)."""
        return self.to_arrow().to_pandas()

    def close(self) -> None:
        """Frees the loaded snapshot; the attributes stay readable, the files do not
        unless they were read before."""
        if self._h:
            _c["dsql_snapshot_free"](self._h)
        self._h = ctypes.c_void_p()

    def __enter__(self) -> "Snapshot":
        """Returns the snapshot; the block's end closes it."""
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        return "<Snapshot %s v%d at %s, %d files>" % (
            self.table, self.version,
            self.timestamp.isoformat() if self.timestamp else "?", self._count)


# --- transactions -----------------------------------------------------------

class TableStage:
    """Stages Delta actions for one table of a transaction (``tx.table(name)``)."""

    def __init__(self, tx: "Transaction", name: str) -> None:
        self._tx = tx
        self.name: str = name

    def __repr__(self) -> str:
        return "<TableStage %s of transaction %s>" % (self.name, self._tx.id)

    def action(self, action: Union[Mapping[str, Any], str]) -> "TableStage":
        """Stages one Delta log action given as a dict (``{"add": {...}}``) or JSON."""
        self._tx._stage(self.name, _json(action))
        return self

    def add(self, path: str, size: int, partition_values: Optional[Mapping[str, Optional[str]]] = None,
            stats: Optional[Union[Mapping[str, Any], str]] = None, data_change: bool = True,
            modification_time: Optional[Timestamp] = None,
            tags: Optional[Mapping[str, Optional[str]]] = None,
            deletion_vector: Optional[Mapping[str, Any]] = None) -> "TableStage":
        """Stages an add of a data file (path relative to the table's location), as
        typed fields (no JSON to build or parse) where the arguments have Delta's
        shapes; other shapes go as the JSON line, whose check names what is wrong.
        modification_time defaults to now."""
        ms = _now_ms() if modification_time is None else _to_ms(modification_time,
                                                                "modification_time")
        typed = _lib._file_action(path, size, partition_values, stats, data_change, ms, tags,
                                  deletion_vector) if _lib._is_int(size) else None
        if typed is not None:
            self._tx._stage_file("dsql_txn_add_file", self.name, typed[0])
            return self
        body: Dict[str, Any] = {"path": path, "partitionValues": partition_values or {},
                                "size": size, "modificationTime": ms, "dataChange": data_change}
        if stats is not None:
            body["stats"] = _json(stats)
        if tags:
            body["tags"] = tags
        if deletion_vector:
            body["deletionVector"] = deletion_vector
        return self.action({"add": body})

    def remove(self, path: str, data_change: bool = True,
               deletion_timestamp: Optional[Timestamp] = None,
               partition_values: Optional[Mapping[str, Optional[str]]] = None,
               deletion_vector: Optional[Mapping[str, Any]] = None) -> "TableStage":
        """Stages a remove of a live file, as typed fields where the arguments have
        Delta's shapes. deletion_timestamp defaults to now."""
        ms = _now_ms() if deletion_timestamp is None else _to_ms(deletion_timestamp,
                                                                 "deletion_timestamp")
        typed = _lib._file_action(path, None, partition_values, None, data_change, ms, None,
                                  deletion_vector)
        if typed is not None:
            self._tx._stage_file("dsql_txn_remove_file", self.name, typed[0])
            return self
        body: Dict[str, Any] = {"path": path, "dataChange": data_change, "deletionTimestamp": ms}
        if partition_values is not None:
            body["partitionValues"] = partition_values
        if deletion_vector:
            body["deletionVector"] = deletion_vector
        return self.action({"remove": body})

    def write(self, data: Any, partition_by: Optional[Sequence[str]] = None,
              mode: str = "append", file_rows: int = 1_000_000) -> List[FileInfo]:
        """Writes data (a pyarrow.Table, RecordBatchReader or pandas DataFrame) as
        Parquet files under the table's location, one folder per partition value
        (Hive style), and stages their adds with Delta statistics (numRecords,
        minValues, maxValues, nullCount). mode="overwrite" also removes every file of
        the table's version this transaction read. A table without a schema gets the
        data's. Returns the staged files. Needs pyarrow. The files are written before
        the commit; a commit that fails leaves them unreferenced (vacuum's business)."""
        from . import _write
        return _write.write(self, data, partition_by, mode, file_rows)

    def set_metadata(self, schema: Union[Mapping[str, Any], str],
                     partition_by: Optional[Sequence[str]] = None,
                     configuration: Optional[Mapping[str, str]] = None,
                     id: Optional[str] = None, **extra: Any) -> "TableStage":
        """Stages a metaData action (a new schema, partitioning or configuration);
        the table's id is kept unless given."""
        body = {"id": id or self._tx._catalog._metadata_id(self.name),
                "format": {"provider": "parquet", "options": {}},
                "schemaString": _json(schema), "partitionColumns": list(partition_by or []),
                "configuration": dict(configuration or {})}
        body.update(extra)
        return self.action({"metaData": body})

    def set_protocol(self, min_reader_version: int, min_writer_version: int,
                     reader_features: Optional[Sequence[str]] = None,
                     writer_features: Optional[Sequence[str]] = None) -> "TableStage":
        """Stages a protocol action."""
        body: Dict[str, Any] = {"minReaderVersion": min_reader_version,
                                "minWriterVersion": min_writer_version}
        if reader_features is not None:
            body["readerFeatures"] = list(reader_features)
        if writer_features is not None:
            body["writerFeatures"] = list(writer_features)
        return self.action({"protocol": body})

    def set_app_txn(self, app_id: str, version: int,
                    last_updated: Optional[Timestamp] = None) -> "TableStage":
        """Stages an application transaction version (Delta's txn action), e.g. the
        last batch a pipeline loaded."""
        body: Dict[str, Any] = {"appId": app_id, "version": version}
        if last_updated is not None:
            body["lastUpdated"] = _to_ms(last_updated, "last_updated")
        return self.action({"txn": body})

    def domain_metadata(self, domain: str, configuration: Union[Mapping[str, Any], str],
                        removed: bool = False) -> "TableStage":
        """Stages a domainMetadata action (its configuration as JSON)."""
        return self.action({"domainMetadata": {"domain": domain,
                                               "configuration": _json(configuration),
                                               "removed": removed}})

    def commit_info(self, info: Mapping[str, Any]) -> "TableStage":
        """Stages the commitInfo of this table's commit (operation, engineInfo, ...)."""
        return self.action({"commitInfo": dict(info)})

    def read(self, whole_table: bool = False, predicate: Optional[str] = None,
             files: Optional[Sequence[str]] = None,
             app_ids: Optional[Sequence[str]] = None) -> "TableStage":
        """Records what the transaction read, for the conflict rules."""
        r: Dict[str, Any] = {}
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
    def read_version(self) -> int:
        """The table's version this transaction reads (opening it at the latest)."""
        v = ctypes.c_int64()
        err = _Error()
        h = self._tx._handle()
        if _c["dsql_txn_read_version"](h, _b(self.name), ctypes.byref(v), None) == _lib.OK:
            return v.value
        _check(_c["dsql_txn_open_table"](h, _b(self.name), _lib.LATEST, ctypes.byref(err)), err)
        _check(_c["dsql_txn_read_version"](h, _b(self.name), ctypes.byref(v),
                                           ctypes.byref(err)), err)
        return v.value


def _now_ms() -> int:
    return _to_ms(_dt.datetime.now(_UTC), "now")


class Transaction:
    """A transaction over one or several tables; a context manager that commits
    on normal exit and rolls back when the block raises. Made by
    ``Catalog.transaction()`` (or handed to ``Catalog.run``'s function)."""

    def __init__(self, catalog: "Catalog", isolation: Optional[str] = None,
                 txn_id: Optional[str] = None, retry: Optional[RetryPolicy] = None,
                 _borrowed: Optional[int] = None) -> None:
        if isolation not in _lib.ISOLATION:
            raise _invalid("unknown isolation level %r (serializable, write_serializable, "
                           "snapshot)" % (isolation,))
        self._catalog = catalog
        self._h = ctypes.c_void_p()
        self._borrowed = _borrowed is not None
        self._names: List[str] = []
        self._sql: List[int] = []
        self._write_schemas: Dict[str, Any] = {}  # what write() staged, by table
        self.result: Optional[CommitResult] = None
        if self._borrowed:
            self._h = ctypes.c_void_p(_borrowed)
        else:
            policy = retry._c() if retry else None
            opts = _lib._TxnOptions(1, _lib.ISOLATION[isolation], _b(txn_id),
                                    ctypes.pointer(policy) if policy else None)
            err = _Error()
            _check(_c["dsql_txn_begin"](ctypes.byref(self._h), catalog._handle(),
                                        ctypes.byref(opts), ctypes.byref(err)), err)
        self.id: str = _c["dsql_txn_id"](self._h).decode()

    def __repr__(self) -> str:
        state = "committed" if self.result else ("open" if self._h else "finished")
        return "<Transaction %s %s, tables %s>" % (self.id, state, self._names)

    @property
    def versions(self) -> Dict[str, int]:
        """After commit: each written table's new version (empty before)."""
        return dict(self.result.versions) if self.result else {}

    @property
    def committed(self) -> bool:
        """Whether commit() succeeded."""
        return self.result is not None

    def _handle(self) -> ctypes.c_void_p:
        if not self._h:
            raise _invalid("the transaction %s is finished" % self.id)
        return self._h

    def _stage(self, table: str, text: str) -> None:
        err = _Error()
        self._note(table)
        _check(_c["dsql_txn_stage"](self._handle(), _b(table), text.encode(),
                                    ctypes.byref(err)), err)

    def _stage_file(self, fn: str, table: str, f: Any) -> None:
        err = _Error()
        self._note(table)
        _check(_c[fn](self._handle(), _b(table), ctypes.byref(f), ctypes.byref(err)), err)

    def _read(self, table: str, text: str) -> None:
        err = _Error()
        _check(_c["dsql_txn_read"](self._handle(), _b(table), text.encode(),
                                   ctypes.byref(err)), err)

    def _note(self, table: str) -> None:
        if table not in self._names:
            self._names.append(table)

    def table(self, name: str, read_version: Optional[int] = None) -> TableStage:
        """The staging helper of a table; opens it at read_version, or (on first use)
        at the latest version."""
        if read_version is not None:
            err = _Error()
            _check(_c["dsql_txn_open_table"](self._handle(), _b(name), read_version,
                                             ctypes.byref(err)), err)
        return TableStage(self, name)

    def snapshot(self, name: str) -> Snapshot:
        """The table at the version this transaction reads (opening it at the latest
        on first use)."""
        return self._catalog.snapshot(name, version=self.table(name).read_version)

    def sql(self, statement: str, params: Sequence[Any] = ()) -> int:
        """Adds an application statement run inside the commit (parameters bound, never
        spliced); returns its index for ``result.sql``."""
        arr = (_lib._Param * max(1, len(params)))()
        keep = []
        for i, p in enumerate(params):
            if p is None:
                arr[i].type = _lib.TYPE_NULL
            elif isinstance(p, (bool, int)):
                arr[i].type, arr[i].i64 = _lib.TYPE_INT64, int(p)
            elif isinstance(p, float):
                arr[i].type, arr[i].f64 = _lib.TYPE_DOUBLE, p
            else:
                blob = isinstance(p, (bytes, bytearray))
                data = bytes(p) if blob else str(p).encode()
                buf = ctypes.create_string_buffer(data, len(data))
                keep.append(buf)
                arr[i].type = _lib.TYPE_BLOB if blob else _lib.TYPE_TEXT
                arr[i].data, arr[i].len = ctypes.addressof(buf), len(data)
        idx = ctypes.c_size_t()
        err = _Error()
        _check(_c["dsql_txn_add_sql"](self._handle(), ctypes.byref(idx), statement.encode(),
                                      arr, len(params), ctypes.byref(err)), err)
        self._sql.append(idx.value)
        return idx.value

    def sql_result(self, index: int) -> SqlResult:
        """After commit: what application statement `index` did."""
        if self.result is None:
            raise _invalid("the transaction %s has not committed" % self.id)
        return self.result.sql[index]

    def commit(self) -> CommitResult:
        """Commits every table atomically (retrying transient database failures per the
        retry policy). The transaction is finished afterwards, whatever the outcome.
        Raises ConflictError when another transaction won."""
        if self._borrowed:
            raise _invalid("Catalog.run commits its transaction itself")
        err = _Error()
        h = self._handle()
        try:
            rc = _c["dsql_txn_commit"](h, ctypes.byref(err))
            if rc == _lib.OK:
                self.result = self._collect(h)
            _check(rc, err)
        finally:
            self.close()
        assert self.result is not None  # _check raised otherwise
        return self.result

    def _collect(self, h: ctypes.c_void_p) -> CommitResult:
        v = ctypes.c_int64()
        versions = {}
        for name in self._names:
            if _c["dsql_txn_committed_version"](h, _b(name), ctypes.byref(v)) == _lib.OK:
                versions[name] = v.value
        results = []
        for i in range(len(self._sql)):
            rows = []
            for r in range(_c["dsql_txn_sql_row_count"](h, i)):
                row = []
                for col in range(_c["dsql_txn_sql_column_count"](h, i)):
                    val = _c["dsql_txn_sql_value"](h, i, r, col)
                    row.append(None if val is None else val.decode())
                rows.append(row)
            results.append(SqlResult(_c["dsql_txn_sql_changes"](h, i), rows))
        return CommitResult(versions, self.id, _c["dsql_txn_attempts"](h),
                            bool(_c["dsql_txn_was_replayed"](h)), results)

    def rollback(self) -> None:
        """Drops the transaction (nothing was written to the catalog)."""
        self.close()

    def close(self) -> None:
        """Frees the transaction's handle (rolls back what was not committed)."""
        if self._h and not self._borrowed:
            _c["dsql_txn_free"](self._h)
        self._h = ctypes.c_void_p()

    def __enter__(self) -> "Transaction":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.rollback()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


# --- the catalog ---------------------------------------------------------------

class Catalog:
    """A catalog opened by URI (``connect``). One thread at a time; ``close()`` or a
    ``with`` block releases it."""

    def __init__(self, uri: str, create: bool = True,
                 retry: Optional[RetryPolicy] = None) -> None:
        self.uri: str = uri
        self._h = ctypes.c_void_p()
        opts = _lib._CatalogOptions(1, 1 if create else 0, (retry or RetryPolicy())._c())
        err = _Error()
        _check(_c["dsql_catalog_open"](ctypes.byref(self._h), uri.encode(), ctypes.byref(opts),
                                       ctypes.byref(err)), err)

    def _handle(self) -> ctypes.c_void_p:
        if not self._h:
            raise _invalid("the catalog is closed")
        return self._h

    def __repr__(self) -> str:
        if not self._h:
            return "<Catalog closed>"
        return "<Catalog %s driver=%s uuid=%s>" % (_redact(self.uri), self.driver, self.uuid)

    @property
    def uuid(self) -> str:
        """The catalog's identity (kept in the database)."""
        return _c["dsql_catalog_uuid"](self._handle()).decode()

    @property
    def driver(self) -> str:
        """The name of the driver serving the catalog."""
        return _c["dsql_catalog_driver"](self._handle()).decode()

    def close(self) -> None:
        """Closes the database connection."""
        if self._h:
            _c["dsql_catalog_free"](self._h)
        self._h = ctypes.c_void_p()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    # tables
    def create_table(self, name: str, schema: Optional[Union[Mapping[str, Any], str]] = None,
                     partition_by: Optional[Sequence[str]] = None,
                     properties: Optional[Mapping[str, Any]] = None,
                     location: Optional[str] = None) -> TableInfo:
        """Creates a table (its version 0) and returns it. location is where its data
        files live (``TableStage.write`` writes there)."""
        parts = list(partition_by or [])
        part_arr = (ctypes.c_char_p * (len(parts) + 1))(*[p.encode() for p in parts], None)
        props: List[bytes] = []
        for k, v in (properties or {}).items():
            props += [k.encode(), str(v).encode()]
        prop_arr = (ctypes.c_char_p * (len(props) + 1))(*props, None)
        opts = _lib._TableOptions(1, _b(None if location is None else str(location)),
                                  _b(None if schema is None else _json(schema)),
                                  part_arr, prop_arr, 0, 0)
        err = _Error()
        _check(_c["dsql_table_create"](self._handle(), name.encode(), ctypes.byref(opts),
                                       ctypes.byref(err)), err)
        return self.table_info(name)

    def tables(self) -> List[TableInfo]:
        """Every table, by name."""
        out: List[TableInfo] = []

        def cb(info: Any, payload: Any) -> int:
            i = info.contents
            out.append(TableInfo(i.name.decode(), i.uuid.decode(),
                                 i.location.decode() if i.location else None, i.version,
                                 _at(i.created_ms)))
            return 0
        err = _Error()
        _check(_c["dsql_table_list"](self._handle(), _lib._TABLE_CB(cb), None,
                                     ctypes.byref(err)), err)
        return out

    def table_info(self, name: str) -> TableInfo:
        """One table as ``tables()`` lists it; NotFoundError when there is none."""
        for t in self.tables():
            if t.name == name:
                return t
        raise NotFoundError(_lib.ENOTFOUND, "no table %r" % name)

    def drop_table(self, name: str) -> None:
        """Drops a table from the catalog (its data files are not touched)."""
        err = _Error()
        _check(_c["dsql_table_drop"](self._handle(), name.encode(), ctypes.byref(err)), err)

    def table_version(self, name: str) -> int:
        """The table's latest version."""
        v = ctypes.c_int64()
        err = _Error()
        _check(_c["dsql_table_version"](self._handle(), name.encode(), ctypes.byref(v),
                                        ctypes.byref(err)), err)
        return v.value

    # reading
    def snapshot(self, name: str, version: Optional[int] = None,
                 timestamp: Optional[Timestamp] = None) -> Snapshot:
        """The table at a version, at a time (the latest version committed then: a
        datetime, an ISO-8601 string or epoch ms), or the latest."""
        if version is not None and timestamp is not None:
            raise _invalid("snapshot: give version or timestamp, not both")
        h = ctypes.c_void_p()
        err = _Error()
        if timestamp is not None:
            ms = _to_ms(timestamp, "snapshot timestamp")
            rc = _c["dsql_snapshot_open_at"](ctypes.byref(h), self._handle(), name.encode(), ms,
                                             ctypes.byref(err))
        else:
            rc = _c["dsql_snapshot_open"](ctypes.byref(h), self._handle(), name.encode(),
                                          _lib.LATEST if version is None else version,
                                          ctypes.byref(err))
        _check(rc, err)
        try:
            return Snapshot(h, name)
        except BaseException:
            _c["dsql_snapshot_free"](h)
            raise

    def snapshots(self, names: Sequence[str]) -> Dict[str, Snapshot]:
        """The latest snapshots of several tables as of one moment (one database read):
        a transaction that wrote to several of them is in all of them or in none."""
        names = list(names)
        hs = (ctypes.c_void_p * max(1, len(names)))()
        arr = (ctypes.c_char_p * max(1, len(names)))(*[n.encode() for n in names])
        err = _Error()
        _check(_c["dsql_snapshot_open_many"](hs, self._handle(), arr, len(names),
                                             ctypes.byref(err)), err)
        out: Dict[str, Snapshot] = {}
        try:
            for i, n in enumerate(names):
                out[n] = Snapshot(ctypes.c_void_p(hs[i]), n)
                hs[i] = None
        finally:
            for h in hs:
                if h:
                    _c["dsql_snapshot_free"](h)
        return out

    def _metadata_id(self, name: str) -> Optional[str]:
        with self.snapshot(name) as s:
            return s.metadata.get("id")

    def history(self, name: str) -> List[HistoryEntry]:
        """The table's versions, oldest first."""
        out: List[HistoryEntry] = []

        def cb(info: Any, payload: Any) -> int:
            i = info.contents
            out.append(HistoryEntry(i.version, _at(i.timestamp_ms), i.txn_id.decode(),
                                    i.operation.decode(), i.adds, i.removes))
            return 0
        err = _Error()
        _check(_c["dsql_history"](self._handle(), name.encode(), _lib._HISTORY_CB(cb), None,
                                  ctypes.byref(err)), err)
        return out

    # writing
    def transaction(self, isolation: Optional[str] = None, txn_id: Optional[str] = None,
                    retry: Optional[RetryPolicy] = None) -> Transaction:
        """Begins a transaction (use it in a ``with`` block). isolation is
        "serializable", "write_serializable" or "snapshot" (None: the table's
        delta.isolationLevel, else write_serializable); txn_id makes a retried commit
        idempotent."""
        return Transaction(self, isolation, txn_id, retry)

    def run(self, fn: Callable[[Transaction], T], isolation: Optional[str] = None,
            txn_id: Optional[str] = None, retry: Optional[RetryPolicy] = None) -> T:
        """Runs fn(tx) in a transaction and commits it; on a conflict runs it again in
        a new transaction on fresh snapshots, after a backoff, within the retry
        policy (the catalog's unless given): the C library's ``dsql_txn_run``, the
        one retry loop. fn must not commit; an exception from fn abandons the
        transaction and propagates. Returns fn's last result."""
        if isolation not in _lib.ISOLATION:
            raise _invalid("unknown isolation level %r" % (isolation,))
        state: Dict[str, Any] = {}

        def call(txn: int, payload: Any) -> int:
            tx = Transaction(self, isolation, _borrowed=txn)
            try:
                state["result"] = fn(tx)
                state.pop("exc", None)
                return _lib.OK
            except BaseException as e:  # carried across the C frame, raised below
                state["exc"] = e
                return _lib.ERROR
            finally:
                tx._h = ctypes.c_void_p()

        policy = retry._c() if retry else None
        opts = _lib._TxnOptions(1, _lib.ISOLATION[isolation], _b(txn_id),
                                ctypes.pointer(policy) if policy else None)
        err = _Error()
        rc = _c["dsql_txn_run"](self._handle(), ctypes.byref(opts), _lib._TXN_FN(call), None,
                                ctypes.byref(err))
        if "exc" in state:
            raise state["exc"]
        _check(rc, err)
        return cast(T, state.get("result"))

    # Delta Lake
    def import_delta(self, name: str, path: str) -> int:
        """Imports a Delta table's _delta_log as a new table; returns its version."""
        err = _Error()
        _check(_c["dsql_delta_import"](self._handle(), name.encode(), str(path).encode(), None,
                                       None, ctypes.byref(err)), err)
        return self.table_version(name)

    def export_delta(self, name: str, directory: str, from_version: int = 0) -> int:
        """Writes the table's log as directory/_delta_log (commit files from
        from_version on); returns how many files were written."""
        written = ctypes.c_int64()
        err = _Error()
        _check(_c["dsql_delta_export"](self._handle(), name.encode(), str(directory).encode(),
                                       from_version, ctypes.byref(written), None, None,
                                       ctypes.byref(err)), err)
        return written.value

    # retention
    def expire(self, name: str, keep_versions: int = 0, before: Optional[Timestamp] = None,
               dry_run: bool = False) -> ExpireResult:
        """Drops old versions' history (keeping the last keep_versions, or those
        committed at or after `before`)."""
        before_ms = -1 if before is None else _to_ms(before, "expire before")
        opts = _lib._ExpireOptions(1, before_ms, keep_versions, 1 if dry_run else 0)
        res = _lib._ExpireResult()
        err = _Error()
        _check(_c["dsql_table_expire"](self._handle(), name.encode(), ctypes.byref(opts),
                                       ctypes.byref(res), ctypes.byref(err)), err)
        return ExpireResult(res.oldest_version, res.versions_expired, res.actions_removed,
                            res.files_removed)

    def vacuum(self, name: str, retain: Union[_dt.timedelta, float],
               delete: bool = False) -> List[VacuumEntry]:
        """The files removed longer ago than retain (a timedelta, or hours), deleted
        from the table's location when delete is true."""
        hours = retain.total_seconds() / 3600 if isinstance(retain, _dt.timedelta) else retain
        out: List[VacuumEntry] = []

        def cb(path: bytes, removed_ms: int, deleted: int, payload: Any) -> int:
            out.append(VacuumEntry(path.decode(), _from_ms(removed_ms), bool(deleted)))
            return 0
        err = _Error()
        _check(_c["dsql_table_vacuum"](self._handle(), name.encode(),
                                       int(hours * 3600 * 1000), 1 if delete else 0,
                                       _lib._VACUUM_CB(cb), None, ctypes.byref(err)), err)
        return out

    def metrics(self) -> Metrics:
        """This handle's commit counters."""
        m = _lib._Metrics()
        _c["dsql_catalog_metrics"](self._handle(), ctypes.byref(m), ctypes.sizeof(m))
        return Metrics(m.commits, m.failures, m.replays, m.conflicts,
                       dict(zip(_lib.RULES, list(m.conflicts_by_rule))), m.rebases, m.retries,
                       m.backoff_ms, m.latency_count, m.latency_sum_us, m.latency_max_us,
                       m.hint_misses, m.published_files, m.publish_failures)


def _redact(uri: str) -> str:
    """The URI without a password (for repr)."""
    uri = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", uri)
    return re.sub(r"(?i)(password|pwd)=[^;&]*", r"\1=***", uri)


def connect(uri: str, create: bool = True, retry: Optional[RetryPolicy] = None) -> Catalog:
    """Opens a catalog by URI: ``sqlite:lake.db``, ``postgresql://...``, ``odbc:DSN=x``;
    create=False refuses a database without one. retry is the policy of its commits."""
    return Catalog(uri, create=create, retry=retry)
