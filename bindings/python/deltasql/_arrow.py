"""A snapshot's files as a pyarrow.Table (Snapshot.to_arrow), in the shape of
deltalake's ``get_add_actions()``.

The C library hands the files' add bodies over in one call as an Arrow array of
one-line JSON texts (``dsql_snapshot_files_arrow``, the Arrow C data interface);
pyarrow's JSON reader parses them in one call against a schema made from the
table's Delta schema, and the stats strings it finds in a second. Nothing here
runs per file.
"""

from __future__ import annotations

import ctypes
import json
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from . import _lib
from ._lib import _c, _check, _Error

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow

try:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pj
except ImportError as e:  # pragma: no cover - exercised without pyarrow
    raise ImportError("deltasql's Arrow view needs pyarrow: pip install deltasql[arrow]") from e

# Delta primitive types as their statistics are written (JSON numbers, strings).
_STATS_TYPES = {
    "long": pa.int64(), "integer": pa.int32(), "short": pa.int16(), "byte": pa.int8(),
    "double": pa.float64(), "float": pa.float32(), "string": pa.string(),
    "boolean": pa.bool_(), "timestamp": pa.timestamp("us", "UTC"),
    "timestamp_ntz": pa.timestamp("us"), "date": pa.string(), "binary": pa.string(),
}
# What a JSON-read value is cast to afterwards.
_FINAL_TYPES = {"date": pa.date32(), "binary": pa.binary()}
_DV = pa.struct([("storage_type", pa.string()), ("path_or_inline_dv", pa.string()),
                 ("offset", pa.int32()), ("size_in_bytes", pa.int32()),
                 ("cardinality", pa.int64())])
_DV_JSON = pa.struct([("storageType", pa.string()), ("pathOrInlineDv", pa.string()),
                      ("offset", pa.int32()), ("sizeInBytes", pa.int32()),
                      ("cardinality", pa.int64())])


def _physical(field: Dict[str, Any], mapped: bool) -> str:
    meta = field.get("metadata") or {}
    return meta.get("delta.columnMapping.physicalName", field["name"]) if mapped \
        else field["name"]


def _stats_type(delta_type: Any, mapped: bool) -> Tuple[Optional[pa.DataType],
                                                         Optional[pa.DataType]]:
    """(the type the JSON reader reads, the type shown) of a column's min/max; None
    for types Delta keeps no min/max of (arrays, maps)."""
    if isinstance(delta_type, str):
        if delta_type.startswith("decimal"):
            return pa.float64(), pa.float64()
        t = _STATS_TYPES.get(delta_type)
        return t, _FINAL_TYPES.get(delta_type, t)
    if isinstance(delta_type, dict) and delta_type.get("type") == "struct":
        read, shown = [], []
        for f in delta_type.get("fields", []):
            r, s = _stats_type(f["type"], mapped)
            if r is not None:
                read.append((_physical(f, mapped), r))
                shown.append((f["name"], s))
        return (pa.struct(read), pa.struct(shown)) if read else (None, None)
    return None, None


def _null_count_type(delta_type: Any, mapped: bool) -> pa.DataType:
    if isinstance(delta_type, dict) and delta_type.get("type") == "struct":
        return pa.struct([(_physical(f, mapped), _null_count_type(f["type"], mapped))
                          for f in delta_type.get("fields", [])])
    return pa.int64()


def _ndjson(column: pa.Array, schema: pa.Schema, lines: bool = False) -> pa.Table:
    """Parses a column of one-line JSON objects (nulls read as {}) in one call;
    lines: each value already ends its line (the C library's export)."""
    lt = pa.large_string()
    if not lines:
        column = pc.binary_join_element_wise(pc.fill_null(column, pa.scalar("{}", lt)),
                                             pa.scalar("", lt), pa.scalar("\n", lt))
    lengths = pc.binary_length(column)
    longest = pc.max(lengths).as_py() or 0
    if len(column) == 0:
        return schema.empty_table()
    offsets = column.buffers()[1]
    width = 8 if pa.types.is_large_string(column.type) else 4
    start, end = (int.from_bytes(offsets[(column.offset + k) * width:
                                         (column.offset + k + 1) * width], "little")
                  for k in (0, len(column)))
    data = column.buffers()[2][start:end]
    opts = pj.ReadOptions(block_size=max(1 << 22, 2 * longest))
    return pj.read_json(pa.BufferReader(data), read_options=opts,
                        parse_options=pj.ParseOptions(explicit_schema=schema,
                                                      unexpected_field_behavior="ignore"))


def _rename(arr: pa.Array, shown: pa.DataType) -> pa.Array:
    """A struct read under physical names and JSON-friendly types, under the
    columns' names and types; a value that does not cast stays as read."""
    if pa.types.is_struct(shown) and pa.types.is_struct(arr.type):
        children = [_rename(arr.field(i), shown.field(i).type) for i in range(shown.num_fields)]
        return pa.StructArray.from_arrays(children, names=[f.name for f in shown],
                                          mask=pc.is_null(arr))
    if arr.type == shown:
        return arr
    try:
        return arr.cast(shown)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return arr


def _stats_columns(stats: pa.Array, schema: Optional[Dict[str, Any]], partition_columns:
                   List[str], mapped: bool) -> List[Tuple[str, pa.Array]]:
    fields = [f for f in (schema or {}).get("fields", []) if f["name"] not in partition_columns]
    mins_read, mins_shown, nulls = [], [], []
    for f in fields:
        r, s = _stats_type(f["type"], mapped)
        if r is not None:
            mins_read.append((_physical(f, mapped), r))
            mins_shown.append((f["name"], s))
        nulls.append((_physical(f, mapped), _null_count_type(f["type"], mapped)))
    full = [("numRecords", pa.int64())]
    if mins_read:
        full += [("nullCount", pa.struct(nulls)), ("minValues", pa.struct(mins_read)),
                 ("maxValues", pa.struct(mins_read))]
    n = len(stats)
    try:
        t = _ndjson(stats, pa.schema(full))
    except pa.ArrowInvalid:
        # A file's stats disagree with the schema (written by another engine, or
        # before a schema change): the row counts alone, which every writer gives;
        # or, where a file's stats are not JSON at all (kept as written), none.
        mins_read = []
        try:
            t = _ndjson(stats, pa.schema([("numRecords", pa.int64())]))
        except pa.ArrowInvalid:
            return [("num_records", pa.nulls(n, pa.int64()))]
    out = [("num_records", t.column("numRecords").combine_chunks())]
    if mins_read:
        shown_nulls = pa.struct([(f["name"], _null_count_type(f["type"], False))
                                 for f in fields])
        out.append(("null_count", _rename(t.column("nullCount").combine_chunks(), shown_nulls)))
        for name, key in (("min", "minValues"), ("max", "maxValues")):
            out.append((name, _rename(t.column(key).combine_chunks(), pa.struct(mins_shown))))
    assert all(len(a) == n for _, a in out)
    return out


def _partition_type(schema: Optional[Dict[str, Any]], partition_columns: List[str],
                    mapped: bool) -> Tuple[pa.DataType, List[Tuple[str, pa.DataType]]]:
    """(partitionValues as read: every value a string, under its key; the types shown)."""
    by_name = {f["name"]: f for f in (schema or {}).get("fields", [])}
    read, shown = [], []
    for c in partition_columns:
        f = by_name.get(c)
        read.append((_physical(f, mapped) if f else c, pa.string()))
        _, t = _stats_type(f["type"] if f else "string", False)
        shown.append((c, t or pa.string()))
    return pa.struct(read), shown


def _partition_column(values: pa.StructArray, shown: List[Tuple[str, pa.DataType]]) -> pa.Array:
    children = []
    for i, (_, t) in enumerate(shown):
        arr = values.field(i)
        if t != pa.string():
            try:
                arr = arr.cast(t)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass  # kept as the log's text
        children.append(arr)
    return pa.StructArray.from_arrays(children, names=[n for n, _ in shown])


def files_table(snap: Any) -> "pyarrow.Table":
    """The snapshot's live files as a pyarrow.Table (see Snapshot.to_arrow)."""
    schema_c, array_c = _lib._ArrowSchema(), _lib._ArrowArray()
    err = _Error()
    _check(_c["dsql_snapshot_files_arrow"](snap._handle(), ctypes.byref(schema_c),
                                           ctypes.byref(array_c), ctypes.byref(err)), err)
    bodies = pa.Array._import_from_c(ctypes.addressof(array_c), ctypes.addressof(schema_c))
    meta = snap.metadata
    schema = json.loads(meta["schemaString"]) if meta.get("schemaString") else None
    parts = list(meta.get("partitionColumns") or [])
    mode = (meta.get("configuration") or {}).get("delta.columnMapping.mode", "none")
    mapped = mode not in (None, "none")
    pv_read, pv_shown = _partition_type(schema, parts, mapped)
    add = _ndjson(bodies, pa.schema([
        ("path", pa.string()), ("size", pa.int64()), ("modificationTime", pa.int64()),
        ("dataChange", pa.bool_()), ("partitionValues", pv_read), ("stats", pa.large_string()),
        ("deletionVector", _DV_JSON)]), lines=True)
    del bodies
    col = {name: add.column(name).combine_chunks() for name in add.column_names}
    cols: List[Tuple[str, pa.Array]] = [
        ("path", col["path"]),
        ("size_bytes", col["size"]),
        ("modification_time", col["modificationTime"].cast(pa.timestamp("ms", "UTC"))),
        ("data_change", pc.fill_null(col["dataChange"], True)),
    ]
    cols += _stats_columns(col["stats"], schema, parts, mapped)
    if parts:
        cols.append(("partition", _partition_column(col["partitionValues"], pv_shown)))
    dv = col["deletionVector"]
    cols.append(("deletion_vector", pa.StructArray.from_arrays(
        [dv.field(i) for i in range(dv.type.num_fields)], fields=list(_DV),
        mask=pc.is_null(dv))))
    return pa.table(dict(cols))
