"""TableStage.write: data as Parquet files under the table's location, their adds
staged with Delta statistics.

Files go to ``<location>/<col>=<value>/.../part-<uuid>.parquet`` (Hive style, the
partition columns left out of the files, as Delta keeps them); a partition value
is escaped as Spark and delta-rs escape it, so that no value can name a folder
outside the table's location. The files are written before the commit: a commit
that fails leaves them unreferenced, for vacuum.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import urllib.parse
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence, Tuple

from . import _lib

if TYPE_CHECKING:  # pragma: no cover
    from . import FileInfo, TableStage

try:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq
except ImportError as e:  # pragma: no cover - exercised without pyarrow
    raise ImportError("TableStage.write needs pyarrow: pip install deltasql[arrow]") from e

NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
# Characters Spark's escapePathName escapes in a partition folder's name.
_ESCAPED = set('"#%\'*/:=?\\\x7f{[]^') | {chr(c) for c in range(32)}


def _invalid(message: str) -> _lib.InvalidInputError:
    return _lib.InvalidInputError(_lib.EINVALID, message)


def _escape(text: str) -> str:
    return "".join("%%%02X" % ord(c) if c in _ESCAPED else c for c in text)


# --- types ------------------------------------------------------------------

def _delta_type(t: pa.DataType, column: str) -> Any:
    if pa.types.is_int64(t):
        return "long"
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return "integer"
    if pa.types.is_int16(t) or pa.types.is_uint8(t):
        return "short"
    if pa.types.is_int8(t):
        return "byte"
    if pa.types.is_float64(t):
        return "double"
    if pa.types.is_float32(t) or pa.types.is_float16(t):
        return "float"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "binary"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        if t.tz is None:
            raise _invalid("write: column %r is a timestamp without a time zone; Delta's "
                           "timestamp is UTC: give it one (e.g. pandas tz_localize('UTC'))"
                           % column)
        return "timestamp"
    if pa.types.is_decimal(t):
        return "decimal(%d,%d)" % (t.precision, t.scale)
    if pa.types.is_struct(t):
        return {"type": "struct", "fields": [_delta_field(f) for f in t]}
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return {"type": "array", "elementType": _delta_type(t.value_type, column),
                "containsNull": True}
    if pa.types.is_map(t):
        return {"type": "map", "keyType": _delta_type(t.key_type, column),
                "valueType": _delta_type(t.item_type, column), "valueContainsNull": True}
    raise _invalid("write: column %r has type %s, which Delta has no type for" % (column, t))


def _delta_field(f: pa.Field) -> Dict[str, Any]:
    return {"name": f.name, "type": _delta_type(f.type, f.name), "nullable": f.nullable,
            "metadata": {}}


_ARROW = {"long": pa.int64(), "integer": pa.int32(), "short": pa.int16(), "byte": pa.int8(),
          "double": pa.float64(), "float": pa.float32(), "string": pa.string(),
          "boolean": pa.bool_(), "binary": pa.binary(), "date": pa.date32(),
          "timestamp": pa.timestamp("us", "UTC"), "timestamp_ntz": pa.timestamp("us")}


def _arrow_type(t: Any) -> Optional[pa.DataType]:
    """The Arrow type of a Delta type; None for one to leave as the data has it."""
    if isinstance(t, str):
        if t.startswith("decimal("):
            p, s = t[8:-1].split(",")
            return pa.decimal128(int(p), int(s))
        return _ARROW.get(t)
    return None


# --- data -------------------------------------------------------------------

def _source(data: Any, file_rows: int) -> Tuple[pa.Schema, Iterator[pa.Table]]:
    """The data's schema and its rows in tables: a reader's batches are gathered up
    to file_rows rows at a time, so that a stream is written without being held."""
    if type(data).__module__.split(".")[0] == "pandas":
        data = pa.Table.from_pandas(data, preserve_index=False)
    elif isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    elif not isinstance(data, (pa.Table, pa.RecordBatchReader)):
        if not hasattr(data, "__arrow_c_stream__"):
            raise _invalid("write: data is a %s; give a pyarrow.Table, a RecordBatchReader "
                           "or a pandas DataFrame" % type(data).__name__)
        data = pa.RecordBatchReader.from_stream(data)
    if isinstance(data, pa.Table):
        return data.schema, iter([data])
    reader = data

    def chunks() -> Iterator[pa.Table]:
        held: List[pa.RecordBatch] = []
        rows = 0
        for batch in reader:
            held.append(batch)
            rows += batch.num_rows
            if rows >= file_rows:
                yield pa.Table.from_batches(held, schema=reader.schema)
                held, rows = [], 0
        if held:
            yield pa.Table.from_batches(held, schema=reader.schema)
    return reader.schema, chunks()


def _conform(table: pa.Table, schema: Dict[str, Any], parts: List[str]) -> pa.Table:
    """The data with the table's columns, in its order and types."""
    fields = {f["name"]: f for f in schema.get("fields", [])}
    extra = [c for c in table.column_names if c not in fields]
    if extra:
        raise _invalid("write: column(s) %s are not in the table's schema (%s)"
                       % (", ".join(extra), ", ".join(fields)))
    cols, names = [], []
    for name, f in fields.items():
        if name in table.column_names:
            col = table.column(name)
        elif f.get("nullable", True):
            col = pa.nulls(table.num_rows, _arrow_type(f["type"]) or pa.null())
        else:
            raise _invalid("write: the data has no column %r, which is not nullable" % name)
        target = _arrow_type(f["type"])
        if target is not None and col.type != target:
            if pa.types.is_timestamp(col.type) and col.type.tz is None and \
                    f["type"] == "timestamp":
                raise _invalid("write: column %r is a timestamp without a time zone; the "
                               "table's is UTC" % name)
            try:
                col = col.cast(target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                raise _invalid("write: column %r (%s) does not fit the table's type %s: %s"
                               % (name, col.type, f["type"], e)) from None
        if not f.get("nullable", True) and col.null_count:
            raise _invalid("write: column %r is not nullable and has %d nulls"
                           % (name, col.null_count))
        cols.append(col)
        names.append(name)
    return pa.table(cols, names=names)


def _stat_value(v: Any) -> Any:
    """A min/max as Delta's stats JSON has it; None to leave the column out."""
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(v, bool) or v is None:
        return None  # Delta keeps no min/max of booleans
    if isinstance(v, _dt.datetime):
        v = v.astimezone(_dt.timezone.utc) if v.tzinfo else v
        return v.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d" % (v.microsecond // 1000) + \
            ("Z" if v.tzinfo else "")
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, (int, str)):
        return v
    return None


def _stats(piece: pa.Table) -> Dict[str, Any]:
    mins: Dict[str, Any] = {}
    maxs: Dict[str, Any] = {}
    nulls: Dict[str, Any] = {}
    for name in piece.column_names:
        col = piece.column(name)
        nulls[name] = col.null_count
        t = col.type
        if pa.types.is_nested(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t) or \
                pa.types.is_boolean(t) or pa.types.is_null(t):
            continue
        if col.null_count == len(col):
            continue
        mm = pc.min_max(col)
        lo, hi = _stat_value(mm["min"].as_py()), _stat_value(mm["max"].as_py())
        if lo is not None and hi is not None:
            mins[name], maxs[name] = lo, hi
    return {"numRecords": piece.num_rows, "minValues": mins, "maxValues": maxs,
            "nullCount": nulls}


def _partition_text(v: Any) -> Optional[str]:
    """A partition value as Delta serializes it."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, _dt.datetime):
        v = v.astimezone(_dt.timezone.utc).replace(tzinfo=None) if v.tzinfo else v
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, bytes):
        return v.decode("latin-1")
    return str(v)


def _groups(table: pa.Table, parts: List[str]) -> List[Tuple[Dict[str, Optional[str]], pa.Table]]:
    """(partition values, rows without the partition columns) per partition."""
    if not parts:
        return [({}, table)]
    keys = table.select(parts).group_by(parts, use_threads=False).aggregate([])
    out = []
    for row in keys.to_pylist():
        mask = None
        for c in parts:
            v = row[c]
            m = pc.is_null(table.column(c)) if v is None else \
                pc.fill_null(pc.equal(table.column(c), pa.scalar(v, table.column(c).type)),
                             False)
            mask = m if mask is None else pc.and_(mask, m)
        out.append(({c: _partition_text(row[c]) for c in parts},
                    table.filter(mask).drop_columns(parts)))
    return out


# --- the table's place -------------------------------------------------------

def _filesystem(location: str) -> Tuple[pafs.FileSystem, str]:
    parsed = urllib.parse.urlparse(location)
    if parsed.scheme in ("", "file"):
        path = urllib.parse.unquote(parsed.path) if parsed.scheme else location
        return pafs.LocalFileSystem(), os.path.abspath(path)
    try:
        return pafs.FileSystem.from_uri(location)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise _lib.UnsupportedError(_lib.EUNSUPPORTED, "write: cannot write to %s: %s"
                                    % (location, e)) from None


def write(stage: "TableStage", data: Any, partition_by: Optional[Sequence[str]], mode: str,
          file_rows: int) -> List["FileInfo"]:
    from . import FileInfo

    if mode not in ("append", "overwrite"):
        raise _invalid("write: mode is 'append' or 'overwrite', not %r" % (mode,))
    if not isinstance(file_rows, int) or file_rows < 1:
        raise _invalid("write: file_rows must be a positive integer")
    arrow_schema, chunks = _source(data, file_rows)
    tx, name = stage._tx, stage.name
    with tx.snapshot(name) as snap:
        schema, parts = snap.schema, snap.partition_columns
        live = list(snap.files) if mode == "overwrite" else []
        mapping = (snap.metadata.get("configuration") or {}).get("delta.columnMapping.mode")
    if mapping not in (None, "none"):
        raise _lib.UnsupportedError(_lib.EUNSUPPORTED, "write: table %s uses column mapping "
                                    "(%s), which write does not do" % (name, mapping))
    info = tx._catalog.table_info(name)
    if not info.location:
        raise _invalid("write: table %s has no location (create it with location=...)" % name)
    # A schema this transaction already staged (an earlier write) is the table's.
    staged = tx._write_schemas
    schema, parts = staged.get(name, (schema, parts))
    fresh = not (schema or {}).get("fields")
    if partition_by is not None and not fresh and list(partition_by) != parts:
        raise _invalid("write: table %s is partitioned by %s, not %s"
                       % (name, parts, list(partition_by)))
    if fresh:
        parts = list(partition_by or [])
        missing = [c for c in parts if c not in arrow_schema.names]
        if missing:
            raise _invalid("write: partition column(s) %s are not in the data"
                           % ", ".join(missing))
        schema = {"type": "struct", "fields": [_delta_field(f) for f in arrow_schema]}
        stage.set_metadata(schema, partition_by=parts)
        staged[name] = (schema, parts)
    fs, root = _filesystem(info.location)
    if mode == "overwrite":
        stage.read(whole_table=True)
        for f in live:
            stage.remove(f.path, partition_values=f.partition_values,
                         deletion_vector=f.deletion_vector)
    written: List[FileInfo] = []
    for chunk in chunks:
        written += _write_chunk(stage, _conform(chunk, schema, parts), parts, fs, root,
                                file_rows)
    return written


def _write_chunk(stage: "TableStage", table: pa.Table, parts: List[str], fs: pafs.FileSystem,
                 root: str, file_rows: int) -> List["FileInfo"]:
    from . import FileInfo, _now_ms

    # Arrow's timestamps may be ns; Delta's are us.
    table = table.cast(pa.schema([pa.field(f.name, pa.timestamp("us", f.type.tz), f.nullable)
                                  if pa.types.is_timestamp(f.type) else f
                                  for f in table.schema]))
    written: List[FileInfo] = []
    for values, rows in _groups(table, parts):
        folder = "/".join("%s=%s" % (_escape(c), _escape(v) if v is not None else NULL_PARTITION)
                          for c, v in ((c, values[c]) for c in parts))
        for start in range(0, rows.num_rows, file_rows):
            piece = rows.slice(start, file_rows)
            rel = (folder + "/" if folder else "") + "part-%s.parquet" % uuid.uuid4()
            target = root.rstrip("/") + "/" + rel
            if folder:
                fs.create_dir(target.rsplit("/", 1)[0], recursive=True)
            else:
                fs.create_dir(root, recursive=True)
            pq.write_table(piece, target, filesystem=fs)
            size = fs.get_file_info(target).size
            stats = _stats(piece)
            ms = _now_ms()
            log_path = urllib.parse.quote(rel, safe="/=")
            stage.add(path=log_path, size=size, partition_values=values, stats=stats,
                      modification_time=ms)
            written.append(FileInfo._from_action({
                "path": log_path, "partitionValues": values, "size": size,
                "modificationTime": ms, "dataChange": True,
                "stats": json.dumps(stats)}))
    return written
