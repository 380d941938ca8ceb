//! Excel and OpenDocument workbooks, through `calamine`.
//!
//! Cells become text the value parsers understand: numbers in their shortest form, date cells
//! as `YYYY-MM-DD hh:mm:ss` (in the workbook's own 1900 or 1904 date system), text as
//! is. Line numbers are the worksheet's row numbers as Excel shows them.

use std::path::Path;

use calamine::{Data, Range, Reader, open_workbook_auto};
use csv::ByteRecord;

use crate::source::{
    Format, MAX_TITLE_ROWS, ReadOptions, RecordSource, SourceError, SourceInfo, looks_like_header,
};

/// A worksheet, read whole.
#[derive(Debug)]
pub struct ExcelSource {
    range: Range<Data>,
    headers: Vec<String>,
    next_row: usize,
    first_row_number: u64,
    info: SourceInfo,
    blank: u64,
}

impl ExcelSource {
    /// Opens the worksheet `options.sheet`, or the first one.
    pub fn open(path: &Path, options: &ReadOptions) -> Result<Self, SourceError> {
        let excel_err = |e: calamine::Error| SourceError::Excel {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let mut book = open_workbook_auto(path).map_err(excel_err)?;
        let names = book.sheet_names();
        let sheet = match &options.sheet {
            Some(s) => names
                .iter()
                .find(|n| n.as_str() == s.as_str())
                .cloned()
                .ok_or_else(|| SourceError::NoSheet {
                    path: path.to_path_buf(),
                    sheet: s.clone(),
                    sheets: names.join(", "),
                })?,
            None => names.first().cloned().ok_or_else(|| SourceError::Empty {
                path: path.to_path_buf(),
            })?,
        };
        let range = book.worksheet_range(&sheet).map_err(excel_err)?;
        let start_row = range.start().map_or(0, |(r, _)| r as u64);
        let non_empty: Vec<usize> = range
            .rows()
            .enumerate()
            .filter(|(_, row)| row.iter().any(|c| !cell_text(c).trim().is_empty()))
            .map(|(i, _)| i)
            .take(MAX_TITLE_ROWS + 1)
            .collect();
        let texts = |i: usize| -> Vec<String> { row_cells(&range, i).map(cell_text).collect() };
        // The header is the first row with two or more cells; rows above it are titles. If no
        // row qualifies, the first non-empty row is the header.
        let header_at = non_empty
            .iter()
            .position(|&i| looks_like_header(texts(i).iter().map(|t| t.as_bytes())));
        let (header_index, title_rows) = match (header_at, non_empty.first()) {
            (Some(k), _) => (
                non_empty[k],
                non_empty[..k]
                    .iter()
                    .map(|&i| texts(i).join(" ").trim().to_string())
                    .collect(),
            ),
            (None, Some(&first)) => (first, Vec::new()),
            (None, None) => {
                return Err(SourceError::Empty {
                    path: path.to_path_buf(),
                });
            }
        };
        let headers = texts(header_index)
            .iter()
            .map(|t| t.trim().to_string())
            .collect();
        Ok(ExcelSource {
            range,
            headers,
            next_row: header_index + 1,
            first_row_number: start_row + 1,
            info: SourceInfo {
                path: path.to_path_buf(),
                format: Format::Excel,
                encoding: None,
                delimiter: None,
                delimiter_byte: None,
                sheet: Some(sheet),
                title_rows,
            },
            blank: 0,
        })
    }
}

/// The cells of row `i` (relative to the range), by direct index: O(width) per row.
fn row_cells(range: &Range<Data>, i: usize) -> impl Iterator<Item = &Data> {
    let width = range.width();
    (0..width).map(move |c| range.get((i, c)).unwrap_or(&Data::Empty))
}

/// The text of a cell as the value parsers expect it.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) if dt.is_datetime() => {
            // calamine applies the workbook's own date system (1900 or 1904).
            let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
            format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
        }
        Data::DateTime(dt) => dt.as_f64().to_string(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

impl RecordSource for ExcelSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn read(&mut self, record: &mut ByteRecord) -> Result<Option<u64>, SourceError> {
        let mut text = String::new();
        while self.next_row < self.range.height() {
            let i = self.next_row;
            self.next_row += 1;
            record.clear();
            let mut blank = true;
            for cell in row_cells(&self.range, i) {
                text.clear();
                text.push_str(&cell_text(cell));
                blank &= text.trim().is_empty();
                record.push_field(text.as_bytes());
            }
            if blank {
                self.blank += 1;
                continue;
            }
            return Ok(Some(self.first_row_number + i as u64));
        }
        Ok(None)
    }

    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn progress(&self) -> (u64, u64) {
        (self.next_row as u64, self.range.height() as u64)
    }

    fn blank_rows(&self) -> u64 {
        self.blank
    }
}
