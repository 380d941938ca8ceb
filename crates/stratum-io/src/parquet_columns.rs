//! Parquet read column by column, a row group at a time, for the parallel engine.
//!
//! Each column of a row group is decoded whole into an Arrow array by the `parquet` crate's
//! Arrow reader (the columns in parallel): strings land in one contiguous buffer instead of a
//! reference-counted object per value. The rows are then cleaned in parallel pieces, reading
//! the arrays in place:
//! - text columns are handed to the cleaning rules as the bytes stored;
//! - a DATE or TIMESTAMP column used as the order date, and a DECIMAL column of at most four
//!   decimals used as the amount, are taken as typed values, with the same plausibility
//!   limits as text (years 1900–2100, amounts within ±100 billion); values outside them go
//!   the text way, so that they are rejected with the same message as in a CSV file;
//! - any other typed value becomes, only when asked for, the text the CSV path would see
//!   (dates `YYYY-MM-DD`, decimals in plain notation, timestamps as their UTC date and time).
//!
//! Exact duplicates are found by a hash of each row's stored values (typed values by their
//! bytes, nulls apart from empty strings).

use std::cell::{Cell, OnceCell};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Decimal256Type, Float32Type, Float64Type, Int8Type, Int16Type,
    Int32Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Decimal256Array,
    FixedSizeBinaryArray, Float32Array, Float64Array, Int64Array, PrimitiveArray, StringArray,
    UInt64Array,
};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, TimeUnit};
use chrono::{DateTime, Datelike, NaiveDate};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use rayon::prelude::*;
use stratum_core::Money;

use crate::fields::Fields;
use crate::source::SourceError;
use crate::values::MAX_AMOUNT;

/// One column of a row group, decoded.
pub(crate) struct Column {
    data: Data,
    /// Which rows are null, when any is.
    nulls: Option<NullBuffer>,
}

/// A column's values.
enum Data {
    /// Strings (UTF8-annotated byte arrays).
    Text(StringArray),
    /// Byte arrays without a text annotation, read as they are.
    Bytes(BinaryArray),
    /// Fixed-length byte arrays without a decimal annotation.
    Fixed(FixedSizeBinaryArray),
    Bool(BooleanArray),
    /// Every signed integer and the unsigned ones up to 32 bits.
    Int(Int64Array),
    UInt(UInt64Array),
    F32(Float32Array),
    F64(Float64Array),
    Date(Date32Array),
    Decimal(Decimal128Array, i8),
    WideDecimal(Decimal256Array, i8),
    /// A timestamp as an integer count of `1 / per_second` seconds since 1970 (UTC).
    Timestamp {
        values: Int64Array,
        per_second: i64,
    },
}

impl Column {
    fn from_array(array: &ArrayRef) -> Option<Column> {
        let nulls = array.logical_nulls().filter(|n| n.null_count() > 0);
        Data::from_array(array).map(|data| Column { data, nulls })
    }

    pub fn len(&self) -> usize {
        self.data.array().len()
    }

    /// How many of its values are null.
    pub fn null_count(&self) -> usize {
        self.nulls.as_ref().map_or(0, |n| n.null_count())
    }

    fn is_null(&self, row: usize) -> bool {
        self.nulls.as_ref().is_some_and(|n| n.is_null(row))
    }
}

impl Data {
    fn from_array(array: &ArrayRef) -> Option<Data> {
        fn widen<T>(a: &dyn Array) -> Int64Array
        where
            T: arrow_array::ArrowPrimitiveType,
            T::Native: Into<i64>,
        {
            a.as_primitive::<T>().unary(|v| v.into())
        }
        fn as_i64<T>(a: &dyn Array) -> Int64Array
        where
            T: arrow_array::ArrowPrimitiveType<Native = i64>,
        {
            let a = a.as_primitive::<T>();
            PrimitiveArray::new(a.values().clone(), a.nulls().cloned())
        }
        let a = array.as_ref();
        Some(match a.data_type() {
            DataType::Utf8 => Data::Text(a.as_string::<i32>().clone()),
            DataType::Binary => Data::Bytes(a.as_binary::<i32>().clone()),
            DataType::FixedSizeBinary(_) => Data::Fixed(a.as_fixed_size_binary().clone()),
            DataType::Boolean => Data::Bool(a.as_boolean().clone()),
            DataType::Int8 => Data::Int(widen::<Int8Type>(a)),
            DataType::Int16 => Data::Int(widen::<Int16Type>(a)),
            DataType::Int32 => Data::Int(widen::<Int32Type>(a)),
            DataType::Int64 => Data::Int(as_i64::<Int64Type>(a)),
            DataType::UInt8 => Data::Int(widen::<UInt8Type>(a)),
            DataType::UInt16 => Data::Int(widen::<UInt16Type>(a)),
            DataType::UInt32 => Data::Int(widen::<UInt32Type>(a)),
            DataType::UInt64 => Data::UInt(a.as_primitive::<UInt64Type>().clone()),
            DataType::Float32 => Data::F32(a.as_primitive::<Float32Type>().clone()),
            DataType::Float64 => Data::F64(a.as_primitive::<Float64Type>().clone()),
            DataType::Date32 => Data::Date(a.as_primitive::<Date32Type>().clone()),
            DataType::Decimal128(_, scale) => {
                Data::Decimal(a.as_primitive::<Decimal128Type>().clone(), *scale)
            }
            DataType::Decimal256(_, scale) => {
                Data::WideDecimal(a.as_primitive::<Decimal256Type>().clone(), *scale)
            }
            DataType::Timestamp(unit, _) => {
                let (values, per_second) = match unit {
                    TimeUnit::Second => (as_i64::<TimestampSecondType>(a), 1),
                    TimeUnit::Millisecond => (as_i64::<TimestampMillisecondType>(a), 1_000),
                    TimeUnit::Microsecond => (as_i64::<TimestampMicrosecondType>(a), 1_000_000),
                    TimeUnit::Nanosecond => (as_i64::<TimestampNanosecondType>(a), 1_000_000_000),
                };
                Data::Timestamp { values, per_second }
            }
            _ => return None,
        })
    }

    fn array(&self) -> &dyn Array {
        match self {
            Data::Text(a) => a,
            Data::Bytes(a) => a,
            Data::Fixed(a) => a,
            Data::Bool(a) => a,
            Data::Int(a) => a,
            Data::UInt(a) => a,
            Data::F32(a) => a,
            Data::F64(a) => a,
            Data::Date(a) => a,
            Data::Decimal(a, _) => a,
            Data::WideDecimal(a, _) => a,
            Data::Timestamp { values, .. } => values,
        }
    }
}

impl Column {
    /// The stored bytes of a byte-array value, without formatting.
    fn stored(&self, row: usize) -> Option<&[u8]> {
        match &self.data {
            Data::Text(a) => Some(a.value(row).as_bytes()),
            Data::Bytes(a) => Some(a.value(row)),
            Data::Fixed(a) => Some(a.value(row)),
            _ => None,
        }
    }

    /// Appends row `row`'s value as text to `out` (nothing for a null).
    fn write(&self, row: usize, out: &mut Vec<u8>) {
        use std::io::Write;
        if self.is_null(row) {
            return;
        }
        if let Some(bytes) = self.stored(row) {
            out.extend_from_slice(bytes);
            return;
        }
        let _ = match &self.data {
            Data::Bool(a) => write!(out, "{}", a.value(row)),
            Data::Int(a) => write!(out, "{}", a.value(row)),
            Data::UInt(a) => write!(out, "{}", a.value(row)),
            Data::F32(a) => write!(out, "{}", a.value(row)),
            Data::F64(a) => write!(out, "{}", a.value(row)),
            Data::Date(a) => write_date(out, i64::from(a.value(row))),
            Data::Decimal(a, scale) => write_decimal(out, a.value(row), *scale),
            Data::WideDecimal(a, scale) => match a.value(row).to_i128() {
                Some(v) => write_decimal(out, v, *scale),
                // a value no amount can be: the row is rejected instead of read as zero
                None => out.write_all(b"decimal wider than 128 bits"),
            },
            Data::Timestamp { values, per_second } => {
                write_timestamp(out, values.value(row), *per_second)
            }
            Data::Text(_) | Data::Bytes(_) | Data::Fixed(_) => Ok(()),
        };
    }

    /// The value's bytes for the duplicate hash: the stored bytes, or a typed value's own.
    fn hash_bytes(&self, row: usize, out: &mut Vec<u8>) {
        if self.is_null(row) {
            out.extend_from_slice(&u32::MAX.to_le_bytes());
            return;
        }
        let mut put = |bytes: &[u8]| {
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(bytes);
        };
        match &self.data {
            Data::Text(a) => put(a.value(row).as_bytes()),
            Data::Bytes(a) => put(a.value(row)),
            Data::Fixed(a) => put(a.value(row)),
            Data::Bool(a) => put(&[u8::from(a.value(row))]),
            Data::Int(a) => put(&a.value(row).to_le_bytes()),
            Data::UInt(a) => put(&a.value(row).to_le_bytes()),
            Data::F32(a) => put(&a.value(row).to_le_bytes()),
            Data::F64(a) => put(&a.value(row).to_le_bytes()),
            Data::Date(a) => put(&a.value(row).to_le_bytes()),
            Data::Decimal(a, _) => put(&a.value(row).to_le_bytes()),
            Data::WideDecimal(a, _) => put(&a.value(row).to_le_bytes()),
            Data::Timestamp { values, .. } => put(&values.value(row).to_le_bytes()),
        }
    }

    /// The value as an order date, when the column stores dates or timestamps and the date is
    /// plausible (years 1900–2100, as for text).
    fn date(&self, row: usize) -> Option<NaiveDate> {
        if self.is_null(row) {
            return None;
        }
        let date = match &self.data {
            // day 719,163 of the common era is 1970-01-01
            Data::Date(a) => {
                NaiveDate::from_num_days_from_ce_opt(a.value(row).checked_add(719_163)?)?
            }
            Data::Timestamp { values, per_second } => {
                DateTime::from_timestamp(values.value(row).div_euclid(*per_second), 0)?.date_naive()
            }
            _ => return None,
        };
        (1900..=2100).contains(&date.year()).then_some(date)
    }

    /// The value as an amount, when the column stores decimals of at most four places and the
    /// amount is within ±[`MAX_AMOUNT`] (more places are rounded, like text, by the text way).
    fn amount(&self, row: usize) -> Option<Money> {
        let Data::Decimal(a, scale) = &self.data else {
            return None;
        };
        if self.is_null(row) || !(0..=4).contains(scale) {
            return None;
        }
        let units = a.value(row).checked_mul(10i128.pow(4 - *scale as u32))?;
        let units = i64::try_from(units).ok()?;
        (units.unsigned_abs() <= (MAX_AMOUNT * Money::SCALE) as u64)
            .then(|| Money::from_units(units))
    }
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

fn write_decimal(out: &mut Vec<u8>, unscaled: i128, scale: i8) -> std::io::Result<()> {
    use std::io::Write;
    if scale < 0 {
        // a negative scale multiplies: 12 at scale −2 is 1200
        write!(out, "{unscaled}")?;
        out.extend(std::iter::repeat_n(b'0', scale.unsigned_abs() as usize));
        return Ok(());
    }
    // by hand: this runs for every amount of a decimal column read the text way
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
    use std::io::Write;
    match epoch().checked_add_signed(chrono::Duration::days(days)) {
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
    meta: ArrowReaderMetadata,
}

/// The file's column names and row group sizes; `None` when the schema is nested or holds a
/// type without a text form here (then the row reader is used).
pub(crate) fn inspect(path: &Path) -> Result<Option<ParquetFile>, SourceError> {
    let file = open(path)?;
    // the types come from the Parquet schema alone: an embedded Arrow schema may ask for
    // dictionaries or views, which would change nothing here but the work
    let options = ArrowReaderOptions::new().with_skip_arrow_metadata(true);
    let meta = ArrowReaderMetadata::load(&file, options).map_err(|e| parquet_err(path, e))?;
    let schema = meta.parquet_schema();
    // flat: every leaf a top-level field, none repeated (a list column or a struct goes through
    // the row reader)
    let flat = schema
        .columns()
        .iter()
        .all(|c| c.max_rep_level() == 0 && c.path().parts().len() == 1);
    if !flat || schema.root_schema().get_fields().len() != schema.num_columns() {
        return Ok(None);
    }
    let known = meta.schema().fields().iter().all(|f| {
        matches!(
            f.data_type(),
            DataType::Utf8
                | DataType::Binary
                | DataType::FixedSizeBinary(_)
                | DataType::Boolean
                | DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::UInt8
                | DataType::UInt16
                | DataType::UInt32
                | DataType::UInt64
                | DataType::Float32
                | DataType::Float64
                | DataType::Date32
                | DataType::Decimal128(..)
                | DataType::Decimal256(..)
                | DataType::Timestamp(..)
        )
    });
    if !known {
        return Ok(None);
    }
    let headers = schema
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let row_groups: Vec<usize> = meta
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows().max(0) as usize)
        .collect();
    Ok(Some(ParquetFile {
        headers,
        total_rows: row_groups.iter().map(|&n| n as u64).sum(),
        row_groups,
        meta,
    }))
}

fn open(path: &Path) -> Result<File, SourceError> {
    File::open(path).map_err(|source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn parquet_err(path: &Path, e: parquet::errors::ParquetError) -> SourceError {
    SourceError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// The columns of one row group, read in step a batch of rows at a time.
pub(crate) struct GroupReader {
    /// One reader per column (each with its own file handle, so that they can decode on
    /// different threads).
    readers: Vec<ParquetRecordBatchReader>,
    group: usize,
    /// Rows the file's metadata announces for the group, and rows read so far.
    announced: usize,
    read: usize,
}

/// Opens row group `group` for reading `batch_rows` rows at a time.
pub(crate) fn group_reader(
    path: &Path,
    pq: &ParquetFile,
    group: usize,
    batch_rows: usize,
) -> Result<GroupReader, SourceError> {
    let readers = (0..pq.headers.len())
        .map(|col| {
            let mask = ProjectionMask::leaves(pq.meta.parquet_schema(), [col]);
            ParquetRecordBatchReaderBuilder::new_with_metadata(open(path)?, pq.meta.clone())
                .with_row_groups(vec![group])
                .with_projection(mask)
                .with_batch_size(batch_rows.max(1))
                .build()
                .map_err(|e| parquet_err(path, e))
        })
        .collect::<Result<_, _>>()?;
    Ok(GroupReader {
        readers,
        group,
        announced: pq.row_groups.get(group).copied().unwrap_or(0),
        read: 0,
    })
}

impl GroupReader {
    /// The next batch of rows, every column decoded (the columns in parallel); `None` at the
    /// end of the row group.
    pub fn next_batch(&mut self, path: &Path) -> Result<Option<Vec<Column>>, SourceError> {
        let group = self.group;
        let fail = |message: String| SourceError::Parquet {
            path: path.to_path_buf(),
            message: format!("row group {group}: {message}"),
        };
        let batches: Vec<Option<ArrayRef>> = self
            .readers
            .par_iter_mut()
            .map(|r| match r.next() {
                Some(Ok(batch)) => Ok(Some(Arc::clone(batch.column(0)))),
                Some(Err(e)) => Err(e.to_string()),
                None => Ok(None),
            })
            .collect::<Result<_, _>>()
            .map_err(fail)?;
        if batches.iter().all(Option::is_none) {
            return if self.read == self.announced {
                Ok(None)
            } else {
                Err(fail(format!(
                    "{} rows announced, {} read",
                    self.announced, self.read
                )))
            };
        }
        let arrays: Vec<ArrayRef> = batches.into_iter().flatten().collect();
        let rows = arrays.first().map_or(0, |a| a.len());
        if arrays.len() != self.readers.len() || arrays.iter().any(|a| a.len() != rows) {
            return Err(fail("columns of unequal length".into()));
        }
        self.read += rows;
        arrays
            .iter()
            .map(|a| {
                Column::from_array(a)
                    .ok_or_else(|| fail(format!("unexpected column type {}", a.data_type())))
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }
}

/// Row `row` of a row group's decoded columns, read in place.
pub(crate) struct ParquetRow<'a> {
    pub columns: &'a [Column],
    pub row: usize,
    /// Typed values turned into text, when asked for (one cell per column, emptied per row).
    pub text: &'a [OnceCell<Vec<u8>>],
    /// The last DATE value read and its date (exports are mostly in date order).
    pub last_day: &'a Cell<Option<(i32, NaiveDate)>>,
}

impl Fields for ParquetRow<'_> {
    fn count(&self) -> usize {
        self.columns.len()
    }

    fn field(&self, i: usize) -> Option<&[u8]> {
        let c = self.columns.get(i)?;
        if c.is_null(self.row) {
            return Some(b"");
        }
        match c.stored(self.row) {
            Some(bytes) => Some(bytes),
            None => Some(self.text.get(i)?.get_or_init(|| {
                let mut out = Vec::new();
                c.write(self.row, &mut out);
                out
            })),
        }
    }

    fn str_field(&self, i: usize) -> Option<&str> {
        match self.columns.get(i)? {
            Column {
                data: Data::Text(a),
                nulls,
            } if !nulls.as_ref().is_some_and(|n| n.is_null(self.row)) => Some(a.value(self.row)),
            _ => None,
        }
    }

    fn is_blank(&self) -> bool {
        self.columns.iter().all(|c| {
            c.is_null(self.row)
                || c.stored(self.row)
                    .is_some_and(|b| b.trim_ascii().is_empty())
        })
    }

    fn typed_date(&self, i: usize) -> Option<NaiveDate> {
        let c = self.columns.get(i)?;
        if let Data::Date(a) = &c.data
            && !c.is_null(self.row)
        {
            let days = a.value(self.row);
            if let Some((last, date)) = self.last_day.get()
                && last == days
            {
                return Some(date);
            }
            let date = c.date(self.row)?;
            self.last_day.set(Some((days, date)));
            return Some(date);
        }
        c.date(self.row)
    }

    fn typed_amount(&self, i: usize) -> Option<Money> {
        self.columns.get(i)?.amount(self.row)
    }

    fn row_hash(&self, scratch: &mut Vec<u8>) -> u128 {
        scratch.clear();
        for c in self.columns {
            c.hash_bytes(self.row, scratch);
        }
        xxhash_rust::xxh3::xxh3_128(scratch)
    }
}

/// Row `row` of the decoded columns as a record (the text the CSV path would see).
#[cfg(test)]
fn row_record(columns: &[Column], row: usize) -> csv::ByteRecord {
    let mut record = csv::ByteRecord::new();
    let mut scratch = Vec::new();
    for c in columns {
        scratch.clear();
        c.write(row, &mut scratch);
        record.push_field(&scratch);
    }
    record
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
        assert_eq!(text(|o| write_decimal(o, 12, -2)), "1200");
        assert_eq!(text(|o| write_date(o, 20_154)), "2025-03-07");
        assert_eq!(
            text(|o| write_timestamp(o, 1_741_392_000_500, 1_000)),
            "2025-03-08 00:00:00"
        );
        assert_eq!(
            text(|o| write_timestamp(o, -1, 1_000)),
            "1969-12-31 23:59:59"
        );
    }

    #[test]
    fn typed_dates_and_amounts_match_what_their_text_would_give() {
        use crate::values::{DecimalMark, parse_amount, parse_date};
        let dates: ArrayRef = Arc::new(Date32Array::from(vec![
            Some(20_154),
            None,
            Some(-30_000),
            Some(50_000),
        ]));
        let amounts: ArrayRef = Arc::new(
            Decimal128Array::from(vec![
                Some(123_450),
                Some(-5),
                None,
                Some(10_000_000_000_001),
            ])
            .with_precision_and_scale(18, 2)
            .expect("valid decimal type"),
        );
        let columns = [
            Column::from_array(&dates).expect("dates"),
            Column::from_array(&amounts).expect("amounts"),
        ];
        for row in 0..4 {
            let record = row_record(&columns, row);
            let typed = (columns[0].date(row), columns[1].amount(row));
            let from_text = (
                parse_date(&record[0]),
                parse_amount(&record[1], DecimalMark::Point).ok(),
            );
            assert_eq!(typed, from_text, "row {row}: {record:?}");
        }
        // 1.2345678 at scale 7 is left to the text way, which rounds it
        let fine: ArrayRef = Arc::new(
            Decimal128Array::from(vec![12_345_678])
                .with_precision_and_scale(18, 7)
                .expect("valid decimal type"),
        );
        let fine = Column::from_array(&fine).expect("decimal");
        assert_eq!(fine.amount(0), None);
        assert_eq!(
            parse_amount(
                &row_record(std::slice::from_ref(&fine), 0)[0],
                DecimalMark::Point
            ),
            Ok(Money::from_units(12_346))
        );
    }

    #[test]
    fn nulls_hash_apart_from_empty_strings() {
        let a: ArrayRef = Arc::new(StringArray::from(vec![Some(""), None]));
        let columns = [Column::from_array(&a).expect("strings")];
        let cells = [OnceCell::new()];
        let hash = |row| {
            ParquetRow {
                columns: &columns,
                row,
                text: &cells,
                last_day: &Cell::new(None),
            }
            .row_hash(&mut Vec::new())
        };
        assert_ne!(hash(0), hash(1));
    }
}
