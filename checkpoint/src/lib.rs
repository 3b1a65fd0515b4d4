//! Delta checkpoint files for deltasql's publication (core/checkpoint.c): one
//! C function that decodes a table's snapshot, given as Delta actions in JSON
//! lines, into the checkpoint schema of the Delta protocol ("Checkpoint
//! Schema": one nullable struct column per action kind) and writes it as one
//! Parquet file with the Apache Arrow project's `parquet` crate.
use std::ffi::{c_char, CStr};
use std::fs::File;
use std::io::Cursor;
use std::sync::Arc;

use arrow_json::ReaderBuilder;
use arrow_schema::{DataType, Field, Fields, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

fn s(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}
fn i64f(name: &str) -> Field {
    Field::new(name, DataType::Int64, true)
}
fn i32f(name: &str) -> Field {
    Field::new(name, DataType::Int32, true)
}
fn b(name: &str) -> Field {
    Field::new(name, DataType::Boolean, true)
}
fn st(name: &str, fields: Vec<Field>) -> Field {
    Field::new(name, DataType::Struct(Fields::from(fields)), true)
}
fn strings(name: &str) -> Field {
    Field::new(name, DataType::List(Arc::new(Field::new("element", DataType::Utf8, true))), true)
}
/// A string-to-string map, as Delta writers lay it out in Parquet.
fn map(name: &str) -> Field {
    let entries = Field::new(
        "key_value",
        DataType::Struct(Fields::from(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("value", DataType::Utf8, true),
        ])),
        false,
    );
    Field::new(name, DataType::Map(Arc::new(entries), false), true)
}
fn deletion_vector() -> Field {
    st(
        "deletionVector",
        vec![s("storageType"), s("pathOrInlineDv"), i32f("offset"), i32f("sizeInBytes"),
             i64f("cardinality")],
    )
}

fn checkpoint_schema() -> Schema {
    Schema::new(vec![
        st("txn", vec![s("appId"), i64f("version"), i64f("lastUpdated")]),
        st(
            "add",
            vec![s("path"), map("partitionValues"), i64f("size"), i64f("modificationTime"),
                 b("dataChange"), s("stats"), map("tags"), deletion_vector(),
                 i64f("baseRowId"), i64f("defaultRowCommitVersion"), s("clusteringProvider")],
        ),
        st(
            "remove",
            vec![s("path"), i64f("deletionTimestamp"), b("dataChange"),
                 b("extendedFileMetadata"), map("partitionValues"), i64f("size"),
                 deletion_vector(), i64f("baseRowId"), i64f("defaultRowCommitVersion")],
        ),
        st(
            "metaData",
            vec![s("id"), s("name"), s("description"),
                 st("format", vec![s("provider"), map("options")]), s("schemaString"),
                 strings("partitionColumns"), map("configuration"), i64f("createdTime")],
        ),
        st(
            "protocol",
            vec![i32f("minReaderVersion"), i32f("minWriterVersion"), strings("readerFeatures"),
                 strings("writerFeatures")],
        ),
        st("domainMetadata", vec![s("domain"), s("configuration"), b("removed")]),
    ])
}

fn write(path: &str, lines: &[u8]) -> Result<u64, String> {
    let schema = Arc::new(checkpoint_schema());
    let reader = ReaderBuilder::new(schema.clone())
        .with_batch_size(8192)
        .build(Cursor::new(lines))
        .map_err(|e| e.to_string())?;
    let file = File::create(path).map_err(|e| format!("cannot create '{path}': {e}"))?;
    let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let mut writer = ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| e.to_string())?;
    let mut rows = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        rows += batch.num_rows() as u64;
        writer.write(&batch).map_err(|e| e.to_string())?;
    }
    let file = writer.into_inner().map_err(|e| e.to_string())?;
    file.sync_all().map_err(|e| format!("cannot sync '{path}': {e}"))?;
    Ok(rows)
}

/// Writes the checkpoint file `path` (created or truncated) from `len` bytes of
/// JSON lines at `lines`, each one action ({"add": {...}}, {"protocol": {...}}, ...),
/// and syncs it. Returns the number of actions written, or -1 with a message in
/// `err` (`cap` bytes, NUL-terminated).
///
/// # Safety
/// `path` is a NUL-terminated string; `lines` points to `len` readable bytes;
/// `err` to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn dsqlcp_write(path: *const c_char, lines: *const u8, len: usize,
                                       err: *mut c_char, cap: usize) -> i64 {
    let path = match CStr::from_ptr(path).to_str() {
        Ok(p) => p,
        Err(_) => return fail(err, cap, "checkpoint path is not UTF-8"),
    };
    let lines = std::slice::from_raw_parts(lines, len);
    match std::panic::catch_unwind(|| write(path, lines)) {
        Ok(Ok(rows)) => rows as i64,
        Ok(Err(e)) => fail(err, cap, &e),
        Err(_) => fail(err, cap, "the checkpoint writer panicked"),
    }
}

unsafe fn fail(err: *mut c_char, cap: usize, msg: &str) -> i64 {
    if cap > 0 {
        let n = msg.len().min(cap - 1);
        std::ptr::copy_nonoverlapping(msg.as_ptr(), err as *mut u8, n);
        *err.add(n) = 0;
    }
    -1
}
