//! Excel and OpenDocument workbooks, through `calamine`, read sparsely.
//!
//! Cells become text the value parsers understand: numbers in their shortest form, date cells
//! as `YYYY-MM-DD hh:mm:ss` (in the workbook's own 1900 or 1904 date system), text as
//! is. Line numbers are the worksheet's row numbers as Excel shows them.
//!
//! A workbook is a hostile input like any other, so three things are decided before a cell is
//! read:
//! - what the file really is, from its content, not its name: an `.xlsx`, `.xlsb` or `.ods`
//!   zip archive, or an `.xls` compound file (an `.xls` renamed `.xlsx` is read as what it is;
//!   a zip without a workbook inside or a password-protected workbook is an error saying so);
//! - that reading it takes memory in proportion to its size: a zip archive may declare at most
//!   [`EXPANSION_RATIO`] times its size (or [`EXPANSION_FLOOR`]) of content, so a deflate
//!   bomb is refused before anything is inflated (the `zip` crate enforces the declared sizes);
//!   an `.xls` or `.ods` file, which calamine lays out as a whole grid, is measured first (see
//!   `biff` and `ods`), so a stray cell far from the table cannot ask for gigabytes;
//! - which worksheet cells hold values: `.xlsx` and `.xlsb` sheets are streamed cell by cell
//!   and only the cells present are kept ([`Cells`]), so one cell at `XFD1048576` costs one
//!   cell, not the 17 billion of its "used range".
//!
//! The columns served are those of the header row, plus any column with a value below it;
//! columns with neither are dropped, and values right of the header's last column follow the
//! header's columns without the empty gap between (so that the row is rejected as longer than
//! the header, with its values, instead of a sheet's width of empty fields). A worksheet with
//! more than [`MAX_COLUMNS`] columns in use is refused.

mod biff;
mod ods;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use calamine::{Data, DataRef, Ods, Reader, Xls, Xlsb, Xlsx, open_workbook, open_workbook_from_rs};
use csv::ByteRecord;

use crate::format::size_text;
pub use crate::record::{EXPANSION_FLOOR, EXPANSION_RATIO};
use crate::record::{
    Format, MAX_TITLE_ROWS, MappedField, ReadOptions, RecordSource, SourceError, SourceInfo,
    UnsavedFormulas, looks_like_header,
};

/// The most columns in use a worksheet may have (each row is served as a record this wide).
pub const MAX_COLUMNS: usize = 1024;

/// Bytes of content a workbook of `size` bytes may expand to.
pub(crate) fn budget(size: u64) -> u64 {
    size.saturating_mul(EXPANSION_RATIO).max(EXPANSION_FLOOR)
}

/// A cell reference as Excel writes it: row 0, column 3 is `D1`.
pub(crate) fn cell_ref(row: u32, col: u32) -> String {
    let mut letters = Vec::new();
    let mut c = u64::from(col) + 1;
    while c > 0 {
        let rem = ((c - 1) % 26) as u8;
        letters.push(b'A' + rem);
        c = (c - 1) / 26;
    }
    letters.reverse();
    format!(
        "{}{}",
        String::from_utf8_lossy(&letters),
        u64::from(row) + 1
    )
}

/// A formula for a message: at most 80 characters.
fn shorten(formula: &str) -> String {
    match formula.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &formula[..at]),
        None => formula.to_string(),
    }
}

/// What a workbook file really is, from its content.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Xlsx,
    Xlsb,
    Ods,
    /// With the compound file calamine is to read (see `biff`).
    Xls(Vec<u8>),
}

const OLE_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Decides what `path` is and checks that reading it stays within its memory budget.
fn inspect(path: &Path) -> Result<Kind, SourceError> {
    let io = |source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let mut magic = [0u8; 8];
    let n = read_full(&mut file, &mut magic).map_err(io)?;
    if magic[..n] == OLE_MAGIC {
        let data = std::fs::read(path).map_err(io)?;
        return Ok(Kind::Xls(biff::check(path, &data)?));
    }
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| SourceError::Excel {
        path: path.to_path_buf(),
        message: format!("not a readable zip archive: {e}"),
    })?;
    let kind = zip_kind(path, &zip)?;
    check_zip_sizes(path, &mut zip, size)?;
    match kind {
        Kind::Ods => ods::check(path, &mut zip, size)?,
        Kind::Xlsx => check_shared_strings(path, &mut zip, size)?,
        _ => {}
    }
    Ok(kind)
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The kind of workbook a zip archive holds, from the names inside.
fn zip_kind<R: Read + std::io::Seek>(
    path: &Path,
    zip: &zip::ZipArchive<R>,
) -> Result<Kind, SourceError> {
    let names: Vec<String> = zip
        .file_names()
        .filter_map(Result::ok)
        .map(|n| n.to_ascii_lowercase())
        .collect();
    let has = |name: &str| names.iter().any(|n| n == name);
    if has("mimetype") && has("content.xml") {
        return Ok(Kind::Ods);
    }
    if has("xl/workbook.bin") {
        return Ok(Kind::Xlsb);
    }
    // (a Word or PowerPoint file has the same package parts, but no `xl/` folder)
    if names.iter().any(|n| n.starts_with("xl/")) {
        return Ok(Kind::Xlsx);
    }
    let mut entries: Vec<String> = zip
        .file_names()
        .filter_map(Result::ok)
        .take(5)
        .map(|n| n.into_owned())
        .collect();
    if zip.len() > entries.len() {
        entries.push(format!("and {} more", zip.len() - entries.len()));
    }
    if entries.is_empty() {
        entries.push("nothing".into());
    }
    Err(SourceError::NotAWorkbook {
        path: path.to_path_buf(),
        entries: entries.join(", "),
    })
}

/// Refuses an archive whose entries declare more content than the budget for its size. The
/// declared sizes bound what can be inflated: the `zip` crate fails a read that goes past
/// them.
fn check_zip_sizes<R: Read + std::io::Seek>(
    path: &Path,
    zip: &mut zip::ZipArchive<R>,
    size: u64,
) -> Result<(), SourceError> {
    let mut total = 0u64;
    let mut largest = (0u64, String::new());
    for i in 0..zip.len() {
        let Ok(entry) = zip.by_index_raw(i) else {
            // calamine reports an unreadable entry when it needs it
            continue;
        };
        total = total.saturating_add(entry.size());
        if entry.size() > largest.0 {
            largest = (entry.size(), entry.name().unwrap_or_default().into_owned());
        }
    }
    if total > budget(size) {
        return Err(SourceError::TooLarge {
            path: path.to_path_buf(),
            part: format!("{} of it in `{}`", size_text(largest.0), largest.1),
            expanded: total,
            size,
        });
    }
    Ok(())
}

/// Refuses a shared string table that announces more strings than the budget holds: calamine
/// reserves room for the count it announces before reading any.
fn check_shared_strings<R: Read + std::io::Seek>(
    path: &Path,
    zip: &mut zip::ZipArchive<R>,
    size: u64,
) -> Result<(), SourceError> {
    let names: Vec<String> = zip
        .file_names()
        .filter_map(Result::ok)
        .filter(|n| n.to_ascii_lowercase().ends_with("sharedstrings.xml"))
        .map(|n| n.into_owned())
        .collect();
    for name in names {
        let Ok(part) = zip.by_name(&name) else {
            continue;
        };
        let mut reader = quick_xml::Reader::from_reader(BufReader::new(part));
        let mut buf = Vec::new();
        let count = loop {
            buf.clear();
            match reader.read_event_into(&mut buf) {
                Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e))
                    if e.local_name().as_ref() == "sst" =>
                {
                    break e
                        .try_get_attribute("uniqueCount")
                        .ok()
                        .flatten()
                        .and_then(|a| a.value.trim().parse::<u64>().ok());
                }
                Ok(quick_xml::events::Event::Eof) | Err(_) => break None,
                Ok(_) => {}
            }
        };
        let Some(count) = count else { continue };
        let bytes = count.saturating_mul(std::mem::size_of::<String>() as u64);
        if bytes > budget(size) {
            return Err(SourceError::TooLarge {
                path: path.to_path_buf(),
                part: format!("`{name}` announces {count} strings"),
                expanded: bytes,
                size,
            });
        }
    }
    Ok(())
}

/// The non-empty cells of a worksheet, sorted by row then column, their text in one buffer.
#[derive(Debug, Default)]
struct Cells {
    text: String,
    at: Vec<CellAt>,
    /// Columns holding formulas whose values were not saved.
    unsaved: BTreeMap<u32, Unsaved>,
}

/// The formulas of a column whose values were not saved.
#[derive(Debug)]
struct Unsaved {
    /// The first one's row and formula (`=B2*C2`).
    row: u32,
    formula: String,
    /// How many there are.
    cells: u64,
}

/// A cell: where it is, and where its text is in [`Cells::text`].
#[derive(Debug, Clone, Copy)]
struct CellAt {
    row: u32,
    col: u32,
    start: usize,
    end: usize,
    blank: bool,
}

impl Cells {
    /// Adds a cell whose text `write` appends to the buffer; nothing for an empty one.
    fn push(&mut self, row: u32, col: u32, write: impl FnOnce(&mut String)) {
        let start = self.text.len();
        write(&mut self.text);
        let end = self.text.len();
        if end == start {
            return;
        }
        let blank = self.text[start..end].trim().is_empty();
        self.at.push(CellAt {
            row,
            col,
            start,
            end,
            blank,
        });
    }

    fn text(&self, c: &CellAt) -> &str {
        self.text.get(c.start..c.end).unwrap_or("")
    }

    /// Sorts the cells in row then column order (streams are in that order already, but a
    /// file may say otherwise), keeping the first of two cells at one place.
    fn finish(&mut self) {
        if !self.at.is_sorted_by_key(|c| (c.row, c.col)) {
            self.at.sort_by_key(|c| (c.row, c.col));
        }
        self.at.dedup_by_key(|c| (c.row, c.col));
    }

    /// The end (exclusive) of the row starting at cell `i`.
    fn row_end(&self, i: usize) -> usize {
        let row = self.at[i].row;
        i + self.at[i..].iter().take_while(|c| c.row == row).count()
    }
}

/// Appends a cell's text, as the value parsers expect it.
fn push_data(out: &mut String, cell: &Data) {
    match cell {
        Data::Empty => {}
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => out.push_str(s),
        Data::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Data::Float(f) => {
            let _ = write!(out, "{f}");
        }
        Data::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Data::DateTime(dt) => push_datetime(out, dt),
        Data::Error(e) => {
            let _ = write!(out, "#{e:?}");
        }
    }
}

/// [`push_data`] for a streamed cell, without copying shared strings twice.
fn push_data_ref(out: &mut String, cell: &DataRef<'_>) {
    match cell {
        DataRef::SharedString(s) => out.push_str(s),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => out.push_str(s),
        DataRef::Empty => {}
        DataRef::Int(i) => push_data(out, &Data::Int(*i)),
        DataRef::Float(f) => push_data(out, &Data::Float(*f)),
        DataRef::Bool(b) => push_data(out, &Data::Bool(*b)),
        DataRef::DateTime(dt) => push_datetime(out, dt),
        DataRef::Error(e) => push_data(out, &Data::Error(e.clone())),
    }
}

fn push_datetime(out: &mut String, dt: &calamine::ExcelDateTime) {
    if dt.is_datetime() {
        // calamine applies the workbook's own date system (1900 or 1904).
        let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
        let _ = write!(out, "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}");
    } else {
        let _ = write!(out, "{}", dt.as_f64());
    }
}

/// Reads the cells of `sheet` (or the first sheet) and returns the sheet's name with them.
fn read_cells(
    path: &Path,
    kind: Kind,
    sheet: Option<&str>,
) -> Result<(String, Cells), SourceError> {
    let excel_err = |message: String| SourceError::Excel {
        path: path.to_path_buf(),
        message,
    };
    let pick = |names: Vec<String>| -> Result<String, SourceError> {
        match sheet {
            Some(s) => names
                .iter()
                .find(|n| n.as_str() == s)
                .cloned()
                .ok_or_else(|| SourceError::NoSheet {
                    path: path.to_path_buf(),
                    sheet: s.to_string(),
                    sheets: names.join(", "),
                }),
            None => names.first().cloned().ok_or_else(|| SourceError::Empty {
                path: path.to_path_buf(),
            }),
        }
    };
    let mut cells = Cells::default();
    let name = match kind {
        Kind::Xlsx => {
            let mut book: Xlsx<_> =
                open_workbook(path).map_err(|e: calamine::XlsxError| excel_err(e.to_string()))?;
            let name = pick(book.sheet_names())?;
            let mut reader = match book.worksheet_cells_reader(&name) {
                Ok(r) => r,
                // a chart sheet holds no cells
                Err(calamine::XlsxError::NotAWorksheet(_)) => return Ok((name, cells)),
                Err(e) => return Err(excel_err(e.to_string())),
            };
            while let Some(cell) = reader
                .next_cell_with_formula_metadata()
                .map_err(|e| excel_err(e.to_string()))?
            {
                let (row, col) = cell.pos;
                if cell.value == DataRef::Empty {
                    if let Some(formula) = cell.formula {
                        let gap = cells.unsaved.entry(col).or_insert_with(|| Unsaved {
                            row,
                            formula: match formula {
                                calamine::XlsxFormulaMetadata::Normal { formula }
                                | calamine::XlsxFormulaMetadata::Shared { formula, .. } => {
                                    format!("={formula}")
                                }
                                // the text is on the first cell of the shared formula
                                _ => "(a shared formula)".into(),
                            },
                            cells: 0,
                        });
                        gap.cells += 1;
                    }
                    continue;
                }
                cells.push(row, col, |out| push_data_ref(out, &cell.value));
            }
            name
        }
        Kind::Xlsb => {
            let mut book: Xlsb<_> =
                open_workbook(path).map_err(|e: calamine::XlsbError| excel_err(e.to_string()))?;
            let name = pick(book.sheet_names())?;
            let mut reader = book
                .worksheet_cells_reader(&name)
                .map_err(|e| excel_err(e.to_string()))?;
            while let Some(cell) = reader.next_cell().map_err(|e| excel_err(e.to_string()))? {
                let (row, col) = cell.get_position();
                cells.push(row, col, |out| push_data_ref(out, cell.get_value()));
            }
            name
        }
        // laid out as a grid by calamine, within the budget `inspect` checked
        Kind::Xls(compound) => {
            let mut book: Xls<_> = open_workbook_from_rs(std::io::Cursor::new(compound))
                .map_err(|e: calamine::XlsError| excel_err(e.to_string()))?;
            let name = pick(book.sheet_names())?;
            let range = book
                .worksheet_range(&name)
                .map_err(|e| excel_err(e.to_string()))?;
            grid_cells(&range, &mut cells);
            name
        }
        Kind::Ods => {
            let mut book: Ods<_> =
                open_workbook(path).map_err(|e: calamine::OdsError| excel_err(e.to_string()))?;
            let name = pick(book.sheet_names())?;
            let range = book
                .worksheet_range(&name)
                .map_err(|e| excel_err(e.to_string()))?;
            grid_cells(&range, &mut cells);
            name
        }
    };
    cells.finish();
    Ok((name, cells))
}

/// The names of the worksheets of a workbook, in order.
pub fn sheet_names(path: &Path) -> Result<Vec<String>, SourceError> {
    let excel_err = |message: String| SourceError::Excel {
        path: path.to_path_buf(),
        message,
    };
    let kind = inspect(path)?;
    crate::guard::catch(|| -> Result<Vec<String>, SourceError> {
        Ok(match kind {
            Kind::Xlsx => {
                let book: Xlsx<_> = open_workbook(path)
                    .map_err(|e: calamine::XlsxError| excel_err(e.to_string()))?;
                book.sheet_names()
            }
            Kind::Xlsb => {
                let book: Xlsb<_> = open_workbook(path)
                    .map_err(|e: calamine::XlsbError| excel_err(e.to_string()))?;
                book.sheet_names()
            }
            Kind::Xls(compound) => {
                let book: Xls<_> = open_workbook_from_rs(std::io::Cursor::new(compound))
                    .map_err(|e: calamine::XlsError| excel_err(e.to_string()))?;
                book.sheet_names()
            }
            Kind::Ods => {
                let book: Ods<_> = open_workbook(path)
                    .map_err(|e: calamine::OdsError| excel_err(e.to_string()))?;
                book.sheet_names()
            }
        })
    })
    .map_err(|panic| SourceError::Excel {
        path: path.to_path_buf(),
        message: format!("the workbook reader failed on this file: {panic}"),
    })?
}

/// Several worksheets of one workbook read as one input (`--sheet all`, or a list): one header
/// (every sheet's must be the same), rows in sheet order, each row's sheet told by
/// [`RecordSource::part`]. One sheet is in memory at a time.
#[derive(Debug)]
pub struct SheetsSource {
    path: std::path::PathBuf,
    options: ReadOptions,
    sheets: Vec<String>,
    /// The index of the sheet being read.
    at: usize,
    current: ExcelSource,
    info: SourceInfo,
    /// Blank rows of the sheets already read.
    blank: u64,
    /// The mapped fields, checked again on every sheet.
    mapped: Vec<MappedField>,
    /// The first sheet's header.
    first_headers: Vec<String>,
}

impl SheetsSource {
    /// Opens `sheets` of `path` (the first must exist; each is checked when reached).
    pub fn open(
        path: &Path,
        options: &ReadOptions,
        sheets: Vec<String>,
    ) -> Result<Self, SourceError> {
        let first = sheets.first().cloned().ok_or_else(|| SourceError::Empty {
            path: path.to_path_buf(),
        })?;
        let current = Self::sheet(path, options, &first)?;
        let mut info = current.info.clone();
        info.sheet = Some(sheets.join(", "));
        let first_headers = current.headers.clone();
        Ok(SheetsSource {
            first_headers,
            path: path.to_path_buf(),
            options: options.clone(),
            sheets,
            at: 0,
            current,
            info,
            blank: 0,
            mapped: Vec::new(),
        })
    }

    fn sheet(path: &Path, options: &ReadOptions, name: &str) -> Result<ExcelSource, SourceError> {
        let one = ReadOptions {
            sheet: Some(name.to_string()),
            ..options.clone()
        };
        ExcelSource::open(path, &one)
    }
}

impl RecordSource for SheetsSource {
    fn headers(&self) -> &[String] {
        // the first sheet's, which every other sheet's must equal
        &self.first_headers
    }

    fn read(&mut self, record: &mut ByteRecord) -> Result<Option<u64>, SourceError> {
        loop {
            if let Some(line) = self.current.read(record)? {
                return Ok(Some(line));
            }
            self.blank += self.current.blank_rows();
            if self.at + 1 >= self.sheets.len() {
                return Ok(None);
            }
            self.at += 1;
            let name = self.sheets[self.at].clone();
            let next = Self::sheet(&self.path, &self.options, &name)?;
            if next.headers != self.first_headers {
                return Err(SourceError::SheetHeaders {
                    path: self.path.clone(),
                    sheet: name,
                    first: self.sheets[0].clone(),
                    expected: self.first_headers.join(", "),
                    found: next.headers.join(", "),
                });
            }
            next.check_mapped(&self.mapped)?;
            self.current = next;
        }
    }

    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn progress(&self) -> (u64, u64) {
        // sheets done, in thousandths, and the current sheet's share
        let (done, total) = self.current.progress();
        let sheets = self.sheets.len() as u64;
        let part = (done * 1000).checked_div(total).unwrap_or(0);
        (self.at as u64 * 1000 + part, sheets * 1000)
    }

    fn blank_rows(&self) -> u64 {
        self.blank + self.current.blank_rows()
    }

    fn check_mapped(&self, fields: &[MappedField]) -> Result<(), SourceError> {
        self.current.check_mapped(fields)
    }

    fn remember_mapped(&mut self, fields: &[MappedField]) {
        self.mapped = fields.to_vec();
    }

    fn part(&self) -> Option<&str> {
        self.sheets.get(self.at).map(String::as_str)
    }
}

fn grid_cells(range: &calamine::Range<Data>, cells: &mut Cells) {
    let (r0, c0) = range.start().unwrap_or((0, 0));
    for (r, c, data) in range.used_cells() {
        cells.push(r0 + r as u32, c0 + c as u32, |out| push_data(out, data));
    }
}

/// A worksheet, its cells kept sparsely and served row by row.
#[derive(Debug)]
pub struct ExcelSource {
    cells: Cells,
    /// The sheet columns served, in order: `kept[i]` is field `i`.
    kept: Vec<u32>,
    /// The header's last column: cells right of it are served after the header's fields.
    last_header_col: u32,
    headers: Vec<String>,
    /// The first cell of the next row to serve.
    next: usize,
    info: SourceInfo,
    blank: u64,
}

impl ExcelSource {
    /// Opens the worksheet `options.sheet`, or the first one.
    pub fn open(path: &Path, options: &ReadOptions) -> Result<Self, SourceError> {
        let kind = inspect(path)?;
        // calamine is a large parser of binary formats: a panic inside it is an error in the
        // file, not a crash of the run
        let (sheet, cells) =
            crate::guard::catch(|| read_cells(path, kind, options.sheet.as_deref())).map_err(
                |panic| SourceError::Excel {
                    path: path.to_path_buf(),
                    message: format!("the workbook reader failed on this file: {panic}"),
                },
            )??;
        Self::from_cells(path, sheet, cells)
    }

    fn from_cells(path: &Path, sheet: String, cells: Cells) -> Result<Self, SourceError> {
        // the first rows with a non-blank cell: the header is the first of them with two or
        // more such cells; rows above it are titles. If none qualifies, the first row is the
        // header.
        let mut non_empty = Vec::new();
        let mut i = 0;
        while i < cells.at.len() && non_empty.len() <= MAX_TITLE_ROWS {
            let end = cells.row_end(i);
            if cells.at[i..end].iter().any(|c| !c.blank) {
                non_empty.push((i, end));
            }
            i = end;
        }
        let texts = |(a, b): (usize, usize)| cells.at[a..b].iter().map(|c| cells.text(c).trim());
        let header_at = non_empty
            .iter()
            .position(|&r| looks_like_header(texts(r).map(str::as_bytes)));
        let (header, title_rows) = match (header_at, non_empty.first()) {
            (Some(k), _) => (
                non_empty[k],
                non_empty[..k]
                    .iter()
                    .map(|&r| {
                        texts(r)
                            .filter(|t| !t.is_empty())
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .collect(),
            ),
            (None, Some(&first)) => (first, Vec::new()),
            (None, None) => {
                return Err(SourceError::Empty {
                    path: path.to_path_buf(),
                });
            }
        };
        let header_cells = &cells.at[header.0..header.1];
        let last_header_col = header_cells
            .iter()
            .filter(|c| !c.blank)
            .map(|c| c.col)
            .max()
            .unwrap_or(0);
        // the header's columns and, up to its last one, any column with a value below it
        let kept: Vec<u32> = header_cells
            .iter()
            .chain(&cells.at[header.1..])
            .filter(|c| !c.blank && c.col <= last_header_col)
            .map(|c| c.col)
            .collect::<BTreeSet<u32>>()
            .into_iter()
            .collect();
        if kept.len() > MAX_COLUMNS {
            return Err(SourceError::TooManyColumns {
                path: path.to_path_buf(),
                sheet,
                columns: kept.len(),
                max: MAX_COLUMNS,
            });
        }
        let headers = kept
            .iter()
            .map(|col| {
                header_cells
                    .iter()
                    .find(|c| c.col == *col)
                    .map_or("", |c| cells.text(c).trim())
                    .to_string()
            })
            .collect();
        Ok(ExcelSource {
            kept,
            last_header_col,
            headers,
            next: header.1,
            info: SourceInfo {
                path: path.to_path_buf(),
                format: Format::Excel,
                encoding: None,
                encoding_evidence: None,
                delimiter: None,
                delimiter_byte: None,
                sheet: Some(sheet),
                title_rows,
                database: None,
            },
            blank: 0,
            cells,
        })
    }
}

impl RecordSource for ExcelSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn read(&mut self, record: &mut ByteRecord) -> Result<Option<u64>, SourceError> {
        while self.next < self.cells.at.len() {
            let (start, end) = (self.next, self.cells.row_end(self.next));
            self.next = end;
            let row = &self.cells.at[start..end];
            if row.iter().all(|c| c.blank) {
                self.blank += 1;
                continue;
            }
            record.clear();
            let mut field = 0;
            for c in row {
                if c.col <= self.last_header_col {
                    // a blank cell in a column that is not served is dropped
                    let Ok(at) = self.kept.binary_search(&c.col) else {
                        continue;
                    };
                    while field < at {
                        record.push_field(b"");
                        field += 1;
                    }
                    record.push_field(self.cells.text(c).as_bytes());
                    field += 1;
                } else if !c.blank {
                    while field < self.kept.len() {
                        record.push_field(b"");
                        field += 1;
                    }
                    record.push_field(self.cells.text(c).as_bytes());
                    field += 1;
                }
            }
            while field < self.kept.len() {
                record.push_field(b"");
                field += 1;
            }
            return Ok(Some(u64::from(row[0].row) + 1));
        }
        Ok(None)
    }

    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn progress(&self) -> (u64, u64) {
        (self.next as u64, self.cells.at.len() as u64)
    }

    fn blank_rows(&self) -> u64 {
        self.blank
    }

    fn check_mapped(&self, fields: &[MappedField]) -> Result<(), SourceError> {
        for f in fields {
            let Some(&col) = self.kept.get(f.column) else {
                continue;
            };
            if let Some(gap) = self.cells.unsaved.get(&col) {
                return Err(SourceError::FormulasWithoutValues {
                    path: self.info.path.clone(),
                    formulas: Box::new(UnsavedFormulas {
                        sheet: self.info.sheet.clone().unwrap_or_default(),
                        column: self.headers.get(f.column).cloned().unwrap_or_default(),
                        field: f.field,
                        cells: gap.cells,
                        first: cell_ref(gap.row, col),
                        formula: shorten(&gap.formula),
                    }),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_references_are_written_as_excel_shows_them() {
        assert_eq!(cell_ref(0, 0), "A1");
        assert_eq!(cell_ref(1, 25), "Z2");
        assert_eq!(cell_ref(9, 26), "AA10");
        assert_eq!(cell_ref(1_048_575, 16_383), "XFD1048576");
    }

    #[test]
    fn sizes_are_written_in_binary_units() {
        assert_eq!(size_text(900), "900 bytes");
        assert_eq!(size_text(2_867), "2.8 kib");
        assert_eq!(size_text(1_610_612_736), "1.5 gib");
    }
}
