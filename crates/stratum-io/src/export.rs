//! A kept run's tiers as one table (one row per customer: every dimension's tier, the final
//! tier, the RFM class and segment, the ABC class, recency, frequency, net revenue, CLV and
//! P(alive), the reason), written as CSV, XLSX or Parquet: what `stratum export` writes and the
//! server's export downloads.

use std::path::Path;

use chrono::NaiveDate;
use stratum_core::Money;

use crate::cells::{Cell, CsvOut, CsvText};

/// A file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Comma-separated text (UTF-8), cells that spreadsheets would run as formulas quoted.
    Csv,
    /// An Excel workbook of one sheet.
    Xlsx,
    /// Parquet.
    Parquet,
}

impl ExportFormat {
    /// The format named `name` (`csv`, `xlsx`, `parquet`).
    pub fn parse(name: &str) -> Option<ExportFormat> {
        match name {
            "csv" => Some(ExportFormat::Csv),
            "xlsx" => Some(ExportFormat::Xlsx),
            "parquet" => Some(ExportFormat::Parquet),
            _ => None,
        }
    }

    /// The file's name: `tiers.csv`, `tiers.xlsx` or `tiers.parquet`.
    pub fn file_name(self) -> &'static str {
        match self {
            ExportFormat::Csv => "tiers.csv",
            ExportFormat::Xlsx => "tiers.xlsx",
            ExportFormat::Parquet => "tiers.parquet",
        }
    }

    /// The media type of the file.
    pub fn media_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
            ExportFormat::Parquet => "application/vnd.apache.parquet",
        }
    }
}

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The file could not be written.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The CSV writer failed.
    #[error(transparent)]
    Csv(#[from] csv::Error),
    /// The workbook writer failed.
    #[error(transparent)]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    /// The Parquet writer failed.
    #[error(transparent)]
    Parquet(#[from] crate::parquet_out::ParquetOutError),
}

/// One customer of a kept run.
#[derive(Debug, Clone, Copy)]
pub struct TierRow<'a> {
    /// The customer id.
    pub customer_id: &'a str,
    /// The run's analysis date.
    pub as_of: NaiveDate,
    /// The tier in each dimension (dimension, tier), in the scheme's order.
    pub tiers: &'a [(String, String)],
    /// The final tier (empty without a scheme).
    pub final_tier: &'a str,
    /// RFM class, RFM segment and ABC class codes.
    pub codes: &'a [String; 3],
    /// Days since the last purchase.
    pub recency_days: i64,
    /// Purchases.
    pub frequency: u64,
    /// Net revenue.
    pub monetary: Money,
    /// Predicted lifetime value and P(alive), with a model.
    pub clv: Option<(f64, f64)>,
    /// Why the final tier, in words.
    pub reason: &'a str,
}

/// The header of an export of a run with scheme dimensions `dimensions`.
pub fn header(dimensions: &[String]) -> Vec<String> {
    let mut header: Vec<String> = vec!["customer_id".into(), "as_of".into()];
    header.extend(dimensions.iter().cloned());
    header.extend(
        [
            "final_tier",
            "rfm_class",
            "rfm_segment",
            "abc_class",
            "recency_days",
            "frequency",
            "monetary",
            "clv",
            "p_alive",
            "reason",
        ]
        .map(String::from),
    );
    header
}

/// The cells of `r`, in the header's order.
pub fn cells<'a>(r: &TierRow<'a>) -> Vec<Cell<'a>> {
    let mut row = vec![Cell::Text(r.customer_id), Cell::Date(r.as_of)];
    row.extend(r.tiers.iter().map(|(_, t)| Cell::Text(t)));
    let clv = |f: fn(&(f64, f64)) -> f64| {
        r.clv
            .as_ref()
            .map_or(Cell::Text(""), |c| Cell::Number(f(c)))
    };
    row.extend([
        Cell::Text(r.final_tier),
        Cell::Text(&r.codes[0]),
        Cell::Text(&r.codes[1]),
        Cell::Text(&r.codes[2]),
        Cell::Int(r.recency_days),
        Cell::Int(r.frequency as i64),
        Cell::Money(r.monetary),
        clv(|c| c.0),
        clv(|c| c.1),
        Cell::Text(r.reason),
    ]);
    row
}

/// Writes the table to `path` in `format`.
pub fn write(
    path: &Path,
    format: ExportFormat,
    header: &[String],
    rows: &[Vec<Cell<'_>>],
) -> Result<(), ExportError> {
    match format {
        ExportFormat::Xlsx => {
            crate::output::write_table_xlsx(path, "tiers", header, rows.iter())?;
        }
        ExportFormat::Parquet => crate::parquet_out::write_table_parquet(path, header, rows)?,
        ExportFormat::Csv => {
            let file = std::io::BufWriter::new(std::fs::File::create(path)?);
            let mut w = CsvOut::new(file, CsvText::Safe);
            w.texts(header)?;
            for row in rows {
                w.cells(row)?;
            }
            std::io::Write::flush(&mut w.into_inner()?)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_read_from_their_names_and_name_their_files() {
        for (name, file) in [
            ("csv", "tiers.csv"),
            ("xlsx", "tiers.xlsx"),
            ("parquet", "tiers.parquet"),
        ] {
            assert_eq!(
                ExportFormat::parse(name).map(ExportFormat::file_name),
                Some(file)
            );
        }
        assert_eq!(ExportFormat::parse("json"), None);
    }

    #[test]
    fn a_row_has_a_cell_under_every_heading() {
        let tiers = [
            ("value".to_string(), "key".to_string()),
            ("tier".to_string(), "key".to_string()),
        ];
        let codes = [
            "champions".to_string(),
            "loyal".to_string(),
            "A".to_string(),
        ];
        let r = TierRow {
            customer_id: "C1",
            as_of: NaiveDate::from_ymd_opt(2025, 4, 1).expect("date"),
            tiers: &tiers,
            final_tier: "key",
            codes: &codes,
            recency_days: 3,
            frequency: 4,
            monetary: Money::from_major(120),
            clv: None,
            reason: "default tier",
        };
        let header = header(&["value".into(), "tier".into()]);
        assert_eq!(cells(&r).len(), header.len());
    }
}
