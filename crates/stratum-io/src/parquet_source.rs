//! Apache Parquet files, through the `parquet` crate's row reader.
//!
//! Values become text the value parsers understand: dates as `YYYY-MM-DD`, timestamps as ISO
//! datetimes in UTC, decimals and floats in plain notation. Line numbers are 1-based row
//! numbers plus one, so that row 1 of the data is "line 2" as in a CSV file with a header.

use std::fs::File;
use std::path::Path;

use csv::ByteRecord;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, reader::RowIter};

use crate::source::{Format, RecordSource, SourceError, SourceInfo};

/// A Parquet file read row by row.
pub struct ParquetSource {
    rows: RowIter<'static>,
    headers: Vec<String>,
    row: u64,
    total: u64,
    info: SourceInfo,
    blank: u64,
}

impl std::fmt::Debug for ParquetSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetSource")
            .field("info", &self.info)
            .finish()
    }
}

impl ParquetSource {
    /// Opens a Parquet file.
    pub fn open(path: &Path) -> Result<Self, SourceError> {
        let err = |e: parquet::errors::ParquetError| SourceError::Parquet {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let file = File::open(path).map_err(|source| SourceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let reader = SerializedFileReader::new(file).map_err(err)?;
        let meta = reader.metadata().file_metadata();
        let total = meta.num_rows().max(0) as u64;
        let headers = meta
            .schema_descr()
            .root_schema()
            .get_fields()
            .iter()
            .map(|f| f.name().to_string())
            .collect();
        Ok(ParquetSource {
            rows: reader.into_iter(),
            headers,
            row: 0,
            total,
            info: SourceInfo {
                path: path.to_path_buf(),
                format: Format::Parquet,
                encoding: None,
                delimiter: None,
                delimiter_byte: None,
                sheet: None,
                title_rows: Vec::new(),
            },
            blank: 0,
        })
    }
}

fn field_text(field: &Field, out: &mut String) {
    use std::fmt::Write;
    out.clear();
    let _ = match field {
        Field::Null => Ok(()),
        Field::Str(s) => {
            out.push_str(s);
            Ok(())
        }
        Field::Bytes(b) => {
            out.push_str(&String::from_utf8_lossy(b.data()));
            Ok(())
        }
        Field::Double(v) => write!(out, "{v}"),
        Field::Float(v) => write!(out, "{v}"),
        other => write!(out, "{other}"),
    };
}

impl RecordSource for ParquetSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn read(&mut self, record: &mut ByteRecord) -> Result<Option<u64>, SourceError> {
        let mut text = String::new();
        for next in self.rows.by_ref() {
            self.row += 1;
            let row = next.map_err(|e| SourceError::Parquet {
                path: self.info.path.clone(),
                message: format!("row {}: {e}", self.row),
            })?;
            record.clear();
            let mut blank = true;
            for (_, field) in row.get_column_iter() {
                field_text(field, &mut text);
                blank &= text.trim().is_empty();
                record.push_field(text.as_bytes());
            }
            if blank {
                self.blank += 1;
                continue;
            }
            return Ok(Some(self.row + 1));
        }
        Ok(None)
    }

    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn progress(&self) -> (u64, u64) {
        (self.row, self.total)
    }

    fn blank_rows(&self) -> u64 {
        self.blank
    }
}
