//! A look inside `.ods` files before calamine reads them.
//!
//! OpenDocument compresses a sheet inside its own XML: a cell or a row carries a repeat count
//! (`table:number-columns-repeated`, `table:number-rows-repeated`) and `<text:s text:c="n"/>`
//! stands for n spaces. calamine expands all of that, for every sheet, when the file is
//! opened: a cell repeated across 16,384 columns in a million rows, or a four-billion-space
//! run, is a few bytes of XML and gigabytes of memory. Here `content.xml` is streamed once,
//! counting what calamine will build the way it builds it (repeats capped as it caps them),
//! and a file that needs more than [`super::budget`] allows for its size is refused.

use std::io::{BufReader, Read, Seek};
use std::path::Path;

use calamine::Data;
use quick_xml::events::{BytesStart, Event};

use super::{budget, cell_ref, size_text};
use crate::record::SourceError;

/// calamine's caps: rows in a sheet, columns in a row.
const MAX_ROWS: u64 = 1_048_576;
const MAX_COLUMNS: u64 = 16_384;

/// What calamine will build for one sheet.
#[derive(Debug, Default)]
struct Table {
    name: String,
    /// Cells pushed while reading rows (before the rows' own repeats), their text bytes.
    raw: u64,
    raw_text: u64,
    /// Cells with a value, repeats counted.
    values: u64,
    /// Rows read so far (repeats counted), and the first and last (exclusive) with a value.
    rows: u64,
    first_row: Option<u64>,
    rows_end: u64,
    /// Columns with a value: the first, and the last (exclusive).
    first_col: u64,
    cols_end: u64,
    /// Text bytes of the rows with a value, times their repeats.
    span_text: u64,
}

impl Table {
    fn span_cells(&self) -> u64 {
        let rows = self
            .rows_end
            .saturating_sub(self.first_row.unwrap_or(self.rows_end));
        rows.saturating_mul(self.cols_end.saturating_sub(self.first_col))
    }

    fn bytes(&self) -> u64 {
        let cell = (std::mem::size_of::<Data>() + std::mem::size_of::<String>()) as u64;
        self.raw
            .saturating_add(self.span_cells())
            .saturating_mul(cell)
            .saturating_add(self.raw_text)
            .saturating_add(self.span_text)
    }

    fn span(&self) -> String {
        let (Some(r0), true) = (self.first_row, self.cols_end > self.first_col) else {
            return String::new();
        };
        let at = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        format!(
            "{}:{}",
            cell_ref(at(r0), at(self.first_col)),
            cell_ref(at(self.rows_end - 1), at(self.cols_end - 1))
        )
    }
}

/// One row being read.
#[derive(Debug, Default)]
struct Row {
    repeats: u64,
    col: u64,
    pending_empty: u64,
    first: Option<u64>,
    end: u64,
    text: u64,
    values: u64,
}

/// One cell being read.
#[derive(Debug, Default)]
struct Cell {
    repeats: u64,
    value: bool,
    text: u64,
    paragraphs: u64,
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.try_get_attribute(name)
        .ok()
        .flatten()
        .map(|a| a.value.into_owned())
}

fn count(e: &BytesStart<'_>, name: &str) -> u64 {
    attr(e, name)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(1)
}

/// Checks the sheets of an OpenDocument archive against the budget for a file of `size`
/// bytes.
pub(super) fn check<R: Read + Seek>(
    path: &Path,
    zip: &mut zip::ZipArchive<R>,
    size: u64,
) -> Result<(), SourceError> {
    let Ok(content) = zip.by_name("content.xml") else {
        // calamine says it is missing
        return Ok(());
    };
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(content));
    let config = reader.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    config.check_comments = false;
    config.expand_empty_elements = true;
    let mut buf = Vec::new();
    let mut tables: Vec<Table> = Vec::new();
    let mut table: Option<Table> = None;
    let mut row: Option<Row> = None;
    let mut cell: Option<Cell> = None;
    loop {
        buf.clear();
        // calamine stops at the first XML error too: what was read so far is what it built
        let Ok(event) = reader.read_event_into(&mut buf) else {
            break;
        };
        match event {
            Event::Eof => break,
            Event::Start(e) => match e.name().as_ref() {
                "table:table" => {
                    if let Some(name) = attr(&e, "table:name") {
                        table = Some(Table {
                            name,
                            first_col: u64::MAX,
                            ..Table::default()
                        });
                    }
                }
                "table:table-row" => {
                    if let Some(t) = &mut table {
                        let repeats = count(&e, "table:number-rows-repeated")
                            .min(MAX_ROWS.saturating_sub(t.rows));
                        row = Some(Row {
                            repeats,
                            ..Row::default()
                        });
                    }
                }
                "table:table-cell" | "table:covered-table-cell" if row.is_some() => {
                    let mut c = Cell {
                        repeats: count(&e, "table:number-columns-repeated"),
                        ..Cell::default()
                    };
                    let mut string_content = false;
                    for a in e.attributes().with_checks(false).flatten() {
                        match a.key.as_ref() {
                            "office:value"
                            | "office:date-value"
                            | "office:time-value"
                            | "office:boolean-value"
                            | "table:formula" => c.value = true,
                            "office:string-value" => {
                                c.value = true;
                                c.text += a.value.len() as u64;
                            }
                            "office:value-type" if a.value == "string" => string_content = true,
                            "calcext:value-type" if a.value == "error" => string_content = true,
                            _ => {}
                        }
                    }
                    // a string cell without a string-value attribute is read from its
                    // content, and is a value even when that is empty
                    c.value |= string_content;
                    cell = Some(c);
                }
                "text:p" => {
                    if let Some(c) = &mut cell {
                        c.paragraphs += 1;
                    }
                }
                "text:s" => {
                    if let Some(c) = &mut cell {
                        c.text = c.text.saturating_add(count(&e, "text:c"));
                    }
                }
                "text:tab" | "text:line-break" => {
                    if let Some(c) = &mut cell {
                        c.text += 1;
                    }
                }
                _ => {}
            },
            Event::Text(t) => {
                if let Some(c) = &mut cell {
                    c.text += t.len() as u64;
                }
            }
            Event::GeneralRef(_) => {
                if let Some(c) = &mut cell {
                    c.text += 4;
                }
            }
            Event::End(e) => match e.name().as_ref() {
                "table:table-cell" | "table:covered-table-cell" => {
                    if let (Some(c), Some(r)) = (cell.take(), &mut row) {
                        let text = c.text + c.paragraphs.saturating_sub(1);
                        let empties = r.pending_empty.min(MAX_COLUMNS - r.col);
                        r.col += empties;
                        r.pending_empty = 0;
                        let repeats = c.repeats.min(MAX_COLUMNS - r.col);
                        if let Some(t) = &mut table {
                            t.raw += empties;
                            if c.value {
                                t.raw += repeats;
                                t.raw_text =
                                    t.raw_text.saturating_add(text.saturating_mul(repeats));
                            }
                        }
                        if c.value {
                            r.first.get_or_insert(r.col);
                            r.col += repeats;
                            r.end = r.col;
                            r.values += repeats;
                            r.text = r.text.saturating_add(text.saturating_mul(repeats));
                        } else {
                            r.pending_empty = repeats;
                        }
                    }
                }
                "table:table-row" => {
                    if let (Some(r), Some(t)) = (row.take(), &mut table) {
                        if let Some(first) = r.first {
                            t.first_col = t.first_col.min(first);
                            t.cols_end = t.cols_end.max(r.end);
                            t.first_row.get_or_insert(t.rows);
                            t.rows_end = t.rows + r.repeats;
                            t.span_text =
                                t.span_text.saturating_add(r.text.saturating_mul(r.repeats));
                            t.values = t.values.saturating_add(r.values.saturating_mul(r.repeats));
                        }
                        t.rows += r.repeats;
                    }
                }
                "table:table" => {
                    if let Some(t) = table.take() {
                        tables.push(t);
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
    // a table cut off by an XML error is built up to there
    tables.extend(table);
    let total: u64 = tables.iter().map(Table::bytes).fold(0, u64::saturating_add);
    if total <= budget(size) {
        return Ok(());
    }
    let Some(worst) = tables.iter().max_by_key(|t| t.bytes()) else {
        return Ok(());
    };
    if worst.span_cells() > worst.values.saturating_mul(8) {
        return Err(SourceError::SparseSheet {
            path: path.to_path_buf(),
            sheet: worst.name.clone(),
            span: worst.span(),
            cells: worst.span_cells(),
            values: worst.values,
        });
    }
    Err(SourceError::TooLarge {
        path: path.to_path_buf(),
        part: format!(
            "{} of it for sheet `{}` of content.xml",
            size_text(worst.bytes()),
            worst.name
        ),
        expanded: total,
        size,
    })
}
