//! A table of typed cells written as one Apache Parquet file (for a run's tiers exported to a
//! data warehouse or a notebook): each column typed by its cells (text, 64-bit integers,
//! money as DECIMAL(38, 4) exactly as Stratum holds it, floating point numbers, dates), an
//! empty cell in a typed column written as null, compressed with zstd.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, Date32Array, Decimal128Array, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use chrono::{Datelike, NaiveDate};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::cells::Cell;

/// Why a table could not be written as Parquet.
#[derive(Debug, thiserror::Error)]
pub enum ParquetOutError {
    /// The file could not be created.
    #[error("failed to create `{path}`: {source}")]
    Create {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A column holds cells of two kinds (a number and a date): a caller's mistake.
    #[error("column `{column}` holds a {found} in row {row} among {kind} values")]
    MixedColumn {
        /// The column.
        column: String,
        /// The row, from 1.
        row: usize,
        /// The column's kind.
        kind: &'static str,
        /// The cell's kind.
        found: &'static str,
    },
    /// The Arrow data could not be built.
    #[error("failed to build the table: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// Writing failed.
    #[error("failed to write parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
}

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Int,
    Money,
    Number,
    Date,
}

impl Kind {
    fn of(cell: &Cell<'_>) -> Option<Kind> {
        match cell {
            Cell::Text("") => None,
            Cell::Owned(s) if s.is_empty() => None,
            Cell::Text(_) | Cell::Owned(_) => Some(Kind::Text),
            Cell::Int(_) => Some(Kind::Int),
            Cell::Money(_) => Some(Kind::Money),
            Cell::Share(_) | Cell::Number(_) => Some(Kind::Number),
            Cell::Date(_) => Some(Kind::Date),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Int => "integer",
            Kind::Money => "money amount",
            Kind::Number => "number",
            Kind::Date => "date",
        }
    }
}

/// Writes `rows` under `header` to `path`.
pub fn write_table_parquet<'c, R: AsRef<[Cell<'c>]>>(
    path: &Path,
    header: &[String],
    rows: &[R],
) -> Result<(), ParquetOutError> {
    let mut fields = Vec::with_capacity(header.len());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(header.len());
    for (k, name) in header.iter().enumerate() {
        let cells = || rows.iter().map(move |r| r.as_ref().get(k));
        let kind = cells().flatten().find_map(Kind::of).unwrap_or(Kind::Text);
        let mismatch = cells()
            .enumerate()
            .find(|(_, c)| c.and_then(Kind::of).is_some_and(|found| found != kind));
        if let Some((row, cell)) = mismatch {
            return Err(ParquetOutError::MixedColumn {
                column: name.clone(),
                row: row + 1,
                kind: kind.name(),
                found: cell.and_then(Kind::of).map_or("", Kind::name),
            });
        }
        let (data_type, array): (DataType, ArrayRef) = match kind {
            Kind::Text => (
                DataType::Utf8,
                Arc::new(StringArray::from_iter(cells().map(|c| {
                    Some(c.map_or_else(String::new, |c| match c {
                        Cell::Text(s) => (*s).to_string(),
                        Cell::Owned(s) => s.clone(),
                        _ => String::new(),
                    }))
                }))),
            ),
            Kind::Int => (
                DataType::Int64,
                Arc::new(Int64Array::from_iter(cells().map(|c| match c {
                    Some(Cell::Int(v)) => Some(*v),
                    _ => None,
                }))),
            ),
            Kind::Money => {
                let values = Decimal128Array::from_iter(cells().map(|c| match c {
                    Some(Cell::Money(m)) => Some(m.units()),
                    _ => None,
                }))
                .with_precision_and_scale(38, 4)?;
                (DataType::Decimal128(38, 4), Arc::new(values))
            }
            Kind::Number => (
                DataType::Float64,
                Arc::new(Float64Array::from_iter(cells().map(|c| match c {
                    Some(Cell::Number(v) | Cell::Share(v)) => Some(*v),
                    _ => None,
                }))),
            ),
            Kind::Date => (
                DataType::Date32,
                Arc::new(Date32Array::from_iter(cells().map(|c| match c {
                    Some(Cell::Date(d)) => Some(days_from_epoch(*d)),
                    _ => None,
                }))),
            ),
        };
        fields.push(Field::new(name, data_type, kind != Kind::Text));
        arrays.push(array);
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?;
    let file = std::fs::File::create(path).map_err(|source| ParquetOutError::Create {
        path: path.to_path_buf(),
        source,
    })?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))?;
    writer.write(&batch)?;
    writer.close()?;
    Ok(())
}

/// Days from 1970-01-01, as Parquet's DATE counts them.
fn days_from_epoch(d: NaiveDate) -> i32 {
    const EPOCH_FROM_CE: i32 = 719_163;
    d.num_days_from_ce() - EPOCH_FROM_CE
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use stratum_core::Money;

    #[test]
    fn each_column_is_written_with_its_type_and_empty_cells_as_nulls() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.parquet");
        let header: Vec<String> = ["id", "n", "m", "x", "d"].map(String::from).to_vec();
        let day = NaiveDate::from_ymd_opt(1970, 1, 2).expect("date");
        let rows = vec![
            vec![
                Cell::Text("C1"),
                Cell::Int(-3),
                Cell::Money(Money::from_units(12_345)),
                Cell::Number(0.5),
                Cell::Date(day),
            ],
            vec![
                Cell::Owned("客户".into()),
                Cell::Text(""),
                Cell::Money(Money::from_major(-2)),
                Cell::Text(""),
                Cell::Date(day),
            ],
        ];
        write_table_parquet(&path, &header, &rows).expect("write");
        let file = std::fs::File::open(&path).expect("open");
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .expect("reader")
            .build()
            .expect("build");
        let batches: Vec<RecordBatch> = reader.map(|b| b.expect("batch")).collect();
        let b = &batches[0];
        assert_eq!(b.num_rows(), 2);
        let types: Vec<DataType> = b
            .schema()
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(
            types,
            [
                DataType::Utf8,
                DataType::Int64,
                DataType::Decimal128(38, 4),
                DataType::Float64,
                DataType::Date32
            ]
        );
        let ids = b.column(0).as_any().downcast_ref::<StringArray>();
        assert_eq!(ids.map(|a| a.value(1)), Some("客户"));
        let n = b.column(1).as_any().downcast_ref::<Int64Array>();
        assert_eq!(n.map(|a| (a.value(0), a.is_null(1))), Some((-3, true)));
        let m = b.column(2).as_any().downcast_ref::<Decimal128Array>();
        assert_eq!(m.map(|a| (a.value(0), a.value(1))), Some((12_345, -20_000)));
        let d = b.column(4).as_any().downcast_ref::<Date32Array>();
        assert_eq!(d.map(|a| a.value(0)), Some(1));
    }

    #[test]
    fn a_column_of_two_kinds_is_an_error_not_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.parquet");
        let rows = vec![vec![Cell::Int(1)], vec![Cell::Number(2.0)]];
        let err = write_table_parquet(&path, &["n".to_string()], &rows);
        assert!(
            matches!(err, Err(ParquetOutError::MixedColumn { row: 2, .. })),
            "{err:?}"
        );
    }
}
