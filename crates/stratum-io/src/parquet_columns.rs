//! Parquet read column by column, a row group at a time, for the parallel engine.
//!
//! The row-by-row reader of the `parquet` crate builds an object per row and field; here each
//! column of a row group is decoded whole (the columns in parallel), and the rows are then
//! turned into records in parallel pieces. Values become the same text the CSV path sees
//! (dates `YYYY-MM-DD`, decimals in plain notation, timestamps as their UTC date and time), so
//! that one set of cleaning rules serves every format.

use std::fs::File;
use std::path::Path;

use chrono::{DateTime, NaiveDate};
use csv::ByteRecord;
use parquet::basic::{ConvertedType, LogicalType, TimeUnit, Type as PhysicalType};
use parquet::column::reader::ColumnReader;
use parquet::data_type::{ByteArray, FixedLenByteArray, Int96};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::schema::types::ColumnDescPtr;

use crate::source::SourceError;

/// Rows decoded per read call.
const READ_BATCH: usize = 64 * 1024;

/// How a column's values are to be shown as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    Date,
    Decimal(u32),
    TimestampMillis,
    TimestampMicros,
    TimestampNanos,
}

fn kind_of(desc: &ColumnDescPtr) -> Kind {
    let scale = desc.type_scale().max(0) as u32;
    match (desc.logical_type_ref(), desc.converted_type()) {
        (Some(LogicalType::Timestamp(t)), _) => match t.unit {
            TimeUnit::MILLIS => Kind::TimestampMillis,
            TimeUnit::MICROS => Kind::TimestampMicros,
            TimeUnit::NANOS => Kind::TimestampNanos,
        },
        (_, ConvertedType::DATE) => Kind::Date,
        (_, ConvertedType::DECIMAL) => Kind::Decimal(scale),
        (_, ConvertedType::TIMESTAMP_MILLIS) => Kind::TimestampMillis,
        (_, ConvertedType::TIMESTAMP_MICROS) => Kind::TimestampMicros,
        _ if desc.physical_type() == PhysicalType::INT96 => Kind::TimestampNanos,
        _ => Kind::Plain,
    }
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::Bool(v) => v.len(),
            Values::I32(v) => v.len(),
            Values::I64(v) => v.len(),
            Values::I96(v) => v.len(),
            Values::F32(v) => v.len(),
            Values::F64(v) => v.len(),
            Values::Bytes(v) => v.len(),
            Values::Fixed(v) => v.len(),
        }
    }
}

enum Values {
    Bool(Vec<bool>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    I96(Vec<Int96>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    Bytes(Vec<ByteArray>),
    Fixed(Vec<FixedLenByteArray>),
}

/// One column of a row group, decoded.
pub(crate) struct Column {
    values: Values,
    kind: Kind,
    /// For each row, the index of its value, or `None` for a null (absent when no row is null).
    slots: Option<Vec<Option<u32>>>,
}

impl Column {
    /// Appends row `row`'s value as text to `out` (nothing for a null).
    pub fn write(&self, row: usize, out: &mut Vec<u8>) {
        let i = match &self.slots {
            None => row,
            Some(slots) => match slots.get(row).copied().flatten() {
                Some(i) => i as usize,
                None => return,
            },
        };
        use std::io::Write;
        // a corrupt file may hold fewer values than rows: such a row reads as null
        if i >= self.values.len() {
            return;
        }
        let _ = match &self.values {
            Values::Bool(v) => write!(out, "{}", v[i]),
            Values::I32(v) => match self.kind {
                Kind::Date => write_date(out, i64::from(v[i])),
                Kind::Decimal(scale) => write_decimal(out, i128::from(v[i]), scale),
                _ => write!(out, "{}", v[i]),
            },
            Values::I64(v) => match self.kind {
                Kind::Decimal(scale) => write_decimal(out, i128::from(v[i]), scale),
                Kind::TimestampMillis => write_timestamp(out, v[i], 1_000),
                Kind::TimestampMicros => write_timestamp(out, v[i], 1_000_000),
                Kind::TimestampNanos => write_timestamp(out, v[i], 1_000_000_000),
                _ => write!(out, "{}", v[i]),
            },
            Values::I96(v) => write_timestamp(out, v[i].to_nanos(), 1_000_000_000),
            Values::F32(v) => write!(out, "{}", v[i]),
            Values::F64(v) => write!(out, "{}", v[i]),
            Values::Bytes(v) => match self.kind {
                Kind::Decimal(scale) => write_be_decimal(out, v[i].data(), scale),
                _ => out.write_all(v[i].data()),
            },
            Values::Fixed(v) => match self.kind {
                Kind::Decimal(scale) => write_be_decimal(out, v[i].data(), scale),
                _ => out.write_all(v[i].data()),
            },
        };
    }
}

/// A big-endian two's complement integer (decimals stored as bytes); past 128 bits, a value
/// no amount can be, so that the row is rejected instead of read as zero.
fn be_int(bytes: &[u8]) -> Option<i128> {
    if bytes.is_empty() || bytes.len() > 16 {
        return None;
    }
    let negative = bytes[0] & 0x80 != 0;
    let mut buf = if negative { [0xFFu8; 16] } else { [0u8; 16] };
    buf[16 - bytes.len()..].copy_from_slice(bytes);
    Some(i128::from_be_bytes(buf))
}

/// A decimal stored as bytes, or a marker the amount parser rejects.
fn write_be_decimal(out: &mut Vec<u8>, bytes: &[u8], scale: u32) -> std::io::Result<()> {
    match be_int(bytes) {
        Some(v) => write_decimal(out, v, scale),
        None => {
            out.extend_from_slice(b"decimal wider than 128 bits");
            Ok(())
        }
    }
}

fn write_decimal(out: &mut Vec<u8>, unscaled: i128, scale: u32) -> std::io::Result<()> {
    // by hand: this runs for every amount of a decimal column
    if unscaled < 0 {
        out.push(b'-');
    }
    let mut digits = [0u8; 40];
    let mut n = 0;
    let mut v = unscaled.unsigned_abs();
    loop {
        digits[n] = b'0' + (v % 10) as u8;
        v /= 10;
        n += 1;
        if v == 0 {
            break;
        }
    }
    let scale = (scale as usize).min(38);
    while n <= scale {
        digits[n] = b'0';
        n += 1;
    }
    for k in (0..n).rev() {
        if k + 1 == scale {
            out.push(b'.');
        }
        out.push(digits[k]);
    }
    Ok(())
}

fn write_date(out: &mut Vec<u8>, days: i64) -> std::io::Result<()> {
    use chrono::Datelike;
    use std::io::Write;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    match epoch.checked_add_signed(chrono::Duration::days(days)) {
        Some(d) if (0..=9999).contains(&d.year()) => {
            // by hand: `Display` goes through the formatting machinery for every row
            let (y, m, dd) = (d.year() as u32, d.month(), d.day());
            out.extend_from_slice(&[
                b'0' + (y / 1000) as u8,
                b'0' + (y / 100 % 10) as u8,
                b'0' + (y / 10 % 10) as u8,
                b'0' + (y % 10) as u8,
                b'-',
                b'0' + (m / 10) as u8,
                b'0' + (m % 10) as u8,
                b'-',
                b'0' + (dd / 10) as u8,
                b'0' + (dd % 10) as u8,
            ]);
            Ok(())
        }
        Some(d) => write!(out, "{d}"),
        // out of chrono's range: leave a value the date parser will reject, with its number
        None => write!(out, "date {days}"),
    }
}

fn write_timestamp(out: &mut Vec<u8>, value: i64, per_second: i64) -> std::io::Result<()> {
    use std::io::Write;
    let secs = value.div_euclid(per_second);
    match DateTime::from_timestamp(secs, 0) {
        Some(t) => write!(out, "{}", t.naive_utc().format("%Y-%m-%d %H:%M:%S")),
        None => write!(out, "timestamp {value}"),
    }
}

/// A Parquet file's flat columns, if it has no nested fields.
pub(crate) struct ParquetFile {
    pub headers: Vec<String>,
    pub row_groups: Vec<usize>,
    pub total_rows: u64,
}

/// The file's column names and row group sizes; `None` when the schema is nested (then the
/// row reader is used).
pub(crate) fn inspect(path: &Path) -> Result<Option<ParquetFile>, SourceError> {
    let reader = open(path)?;
    let meta = reader.metadata();
    let schema = meta.file_metadata().schema_descr();
    // flat: every leaf a top-level field, none repeated (a list column or a struct goes through
    // the row reader)
    let flat = schema
        .columns()
        .iter()
        .all(|c| c.max_rep_level() == 0 && c.path().parts().len() == 1);
    if !flat || schema.root_schema().get_fields().len() != schema.num_columns() {
        return Ok(None);
    }
    let headers = schema
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let row_groups: Vec<usize> = meta
        .row_groups()
        .iter()
        .map(|g| g.num_rows().max(0) as usize)
        .collect();
    Ok(Some(ParquetFile {
        headers,
        total_rows: row_groups.iter().map(|&n| n as u64).sum(),
        row_groups,
    }))
}

fn open(path: &Path) -> Result<SerializedFileReader<File>, SourceError> {
    let file = File::open(path).map_err(|source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    SerializedFileReader::new(file).map_err(|e| parquet_err(path, e))
}

fn parquet_err(path: &Path, e: parquet::errors::ParquetError) -> SourceError {
    SourceError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Decodes column `col` of row group `group` (each call opens the file on its own, so that
/// columns can be decoded on different threads).
pub(crate) fn read_column(path: &Path, group: usize, col: usize) -> Result<Column, SourceError> {
    let err = |e| parquet_err(path, e);
    let reader = open(path)?;
    let rg = reader.get_row_group(group).map_err(err)?;
    let desc = reader.metadata().file_metadata().schema_descr().column(col);
    let rows = rg.metadata().num_rows().max(0) as usize;
    let max_def = desc.max_def_level();
    let kind = kind_of(&desc);
    let mut defs: Vec<i16> = Vec::with_capacity(if max_def > 0 { rows } else { 0 });
    macro_rules! read_all {
        ($r:expr, $variant:ident) => {{
            let mut values = Vec::with_capacity(rows);
            loop {
                let d = if max_def > 0 { Some(&mut defs) } else { None };
                let (records, _, _) = $r
                    .read_records(READ_BATCH, d, None, &mut values)
                    .map_err(err)?;
                if records == 0 {
                    break;
                }
            }
            Values::$variant(values)
        }};
    }
    let values = match rg.get_column_reader(col).map_err(err)? {
        ColumnReader::BoolColumnReader(mut r) => read_all!(r, Bool),
        ColumnReader::Int32ColumnReader(mut r) => read_all!(r, I32),
        ColumnReader::Int64ColumnReader(mut r) => read_all!(r, I64),
        ColumnReader::Int96ColumnReader(mut r) => read_all!(r, I96),
        ColumnReader::FloatColumnReader(mut r) => read_all!(r, F32),
        ColumnReader::DoubleColumnReader(mut r) => read_all!(r, F64),
        ColumnReader::ByteArrayColumnReader(mut r) => read_all!(r, Bytes),
        ColumnReader::FixedLenByteArrayColumnReader(mut r) => read_all!(r, Fixed),
    };
    let slots = (max_def > 0).then(|| {
        let mut next = 0u32;
        defs.iter()
            .map(|&d| {
                (d == max_def).then(|| {
                    next += 1;
                    next - 1
                })
            })
            .collect()
    });
    Ok(Column {
        values,
        kind,
        slots,
    })
}

/// Row `row` of the decoded columns as a record.
pub(crate) fn row_record(
    columns: &[Column],
    row: usize,
    record: &mut ByteRecord,
    scratch: &mut Vec<u8>,
) {
    record.clear();
    for c in columns {
        scratch.clear();
        c.write(row, scratch);
        record.push_field(scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
        let mut out = Vec::new();
        let _ = f(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn decimals_dates_and_timestamps_become_the_text_the_parsers_read() {
        assert_eq!(text(|o| write_decimal(o, 123_450, 2)), "1234.50");
        assert_eq!(text(|o| write_decimal(o, -5, 2)), "-0.05");
        assert_eq!(text(|o| write_decimal(o, 42, 0)), "42");
        assert_eq!(text(|o| write_decimal(o, 7, 3)), "0.007");
        assert_eq!(text(|o| write_decimal(o, -123_456_789, 4)), "-12345.6789");
        assert_eq!(text(|o| write_decimal(o, 0, 2)), "0.00");
        assert_eq!(text(|o| write_date(o, 20_154)), "2025-03-07");
        assert_eq!(
            text(|o| write_timestamp(o, 1_741_392_000_500, 1_000)),
            "2025-03-08 00:00:00"
        );
        assert_eq!(
            text(|o| write_timestamp(o, -1, 1_000)),
            "1969-12-31 23:59:59"
        );
        assert_eq!(be_int(&[0xFF, 0x85]), Some(-123));
        assert_eq!(be_int(&[0x01, 0x00]), Some(256));
        assert_eq!(be_int(&[1; 17]), None);
    }
}
