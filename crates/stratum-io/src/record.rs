//! What every input format is read as: the options, what was detected, the errors, and the
//! record source trait the readers implement (CSV here in `source`, workbooks in `excel`,
//! Parquet in `parquet_source`).

use std::io;
use std::path::PathBuf;

use csv::ByteRecord;
use encoding_rs::Encoding;

use crate::values::DecimalMark;

/// A workbook may hold at most this many times its own size of content (inflated XML,
/// or cells laid out as a grid).
pub const EXPANSION_RATIO: u64 = 100;

/// ... or this many bytes, whichever is more: small workbooks compress well.
pub const EXPANSION_FLOOR: u64 = 64 << 20;

/// How to read an input file; every field is optional and detected when absent.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The text encoding of a CSV file (default: detected).
    pub encoding: Option<&'static Encoding>,
    /// The field delimiter of a CSV file (default: detected among `,` `;` tab `|`).
    pub delimiter: Option<u8>,
    /// Fields are separated by runs of spaces and tabs (fixed-width looking text such as
    /// CDNOW's); leading and trailing blanks of a line are not fields. Quotes are not special.
    pub whitespace: bool,
    /// The file has no header row: these are its columns' names, and its first line is data.
    pub columns: Option<Vec<String>>,
    /// The worksheet of an Excel file (default: the first).
    pub sheet: Option<String>,
    /// Whether amounts use a decimal comma.
    pub decimal: DecimalMark,
}

/// The file formats Stratum reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Delimited text.
    Csv,
    /// An Excel or OpenDocument workbook.
    Excel,
    /// Apache Parquet.
    Parquet,
    /// A table in a database, aggregated there (`--source URL --table NAME`).
    Database,
}

/// What was detected about a file, for the quality report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SourceInfo {
    /// The file.
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
    /// The text encoding (CSV).
    pub encoding: Option<String>,
    /// Why that encoding was chosen (CSV).
    pub encoding_evidence: Option<EncodingEvidence>,
    /// The delimiter (CSV), as text (`tab` for a tab).
    pub delimiter: Option<String>,
    /// The delimiter byte (CSV).
    #[serde(skip)]
    pub delimiter_byte: Option<u8>,
    /// The worksheet (Excel).
    pub sheet: Option<String>,
    /// Title lines above the header row that were skipped (a report title such as
    /// `2025年销售明细表` on a line of its own), with their text.
    pub title_rows: Vec<String>,
    /// The table and the engine that aggregated it, for a database source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseInfo>,
}

/// Where a database source's lines were aggregated.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DatabaseInfo {
    /// The engine (`postgresql`, `mysql`).
    pub engine: String,
    /// The table.
    pub table: String,
    /// The plan that ran (`single_node`).
    pub plan: String,
    /// The plan in words, in Chinese and English.
    pub plan_text: stratum_core::scheme::params::Label,
}

/// How many leading rows may be titles before the header row.
pub const MAX_TITLE_ROWS: usize = 20;

/// Whether a row looks like a header: at least two non-empty cells. Exports often put a report
/// title in a row of its own above the header.
pub fn looks_like_header<'a>(cells: impl Iterator<Item = &'a [u8]>) -> bool {
    cells.filter(|c| !c.trim_ascii().is_empty()).count() >= 2
}

/// A failure to open or read an input file.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file could not be opened or read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The CSV data is malformed beyond one row.
    #[error("cannot parse `{path}` as CSV near line {line}: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// What the CSV reader said.
        message: String,
    },
    /// The workbook could not be read.
    #[error("cannot read workbook `{path}`: {message}")]
    Excel {
        /// The file.
        path: PathBuf,
        /// What calamine said.
        message: String,
    },
    /// The sheet asked for does not exist.
    #[error("sheet `{sheet}` not found in `{path}`; sheets are: {sheets}")]
    NoSheet {
        /// The file.
        path: PathBuf,
        /// The sheet asked for.
        sheet: String,
        /// The sheets present, comma separated.
        sheets: String,
    },
    /// The Parquet file could not be read.
    #[error("cannot read parquet file `{path}`: {message}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What the parquet reader said.
        message: String,
    },
    /// The file has no header row.
    #[error("`{path}` is empty: no header row found")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file holds something that is not a table (a web page or an XML spreadsheet saved
    /// under a workbook or CSV name, as some systems export "Excel" files).
    #[error(
        "`{path}` holds {content}, not a workbook, CSV or Parquet file; open it in Excel or WPS and save it as .xlsx or .csv"
    )]
    NotATable {
        /// The file.
        path: PathBuf,
        /// What it holds, such as `an html page`.
        content: &'static str,
    },
    /// A database table was given where a file is read.
    #[error("`{path}` is a database table, which is read with --source and --table")]
    NotAFile {
        /// The source as shown.
        path: PathBuf,
    },
    /// The file is a zip archive without a workbook inside.
    #[error("`{path}` is a zip archive but not a workbook; it holds: {entries}")]
    NotAWorkbook {
        /// The file.
        path: PathBuf,
        /// The first names in the archive, comma separated.
        entries: String,
    },
    /// The workbook is encrypted with a password.
    #[error(
        "`{path}` is protected with a password; save a copy without the password and read that"
    )]
    Encrypted {
        /// The file.
        path: PathBuf,
    },
    /// Reading the workbook would take far more memory than its data can explain: a
    /// decompression bomb, or parts whose declared sizes are implausible.
    #[error(
        "`{path}` would expand to {} in memory ({part}), more than {} times its size of {}; refusing it as a possible decompression bomb",
        crate::format::size_text(*expanded),
        EXPANSION_RATIO,
        crate::format::size_text(*size)
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The part of the file that expands most, such as `xl/sharedStrings.xml`.
        part: String,
        /// Bytes it would expand to.
        expanded: u64,
        /// The file's size in bytes.
        size: u64,
    },
    /// A worksheet whose used range is vast but nearly empty (a stray cell far from the
    /// table), in a format that is read as a whole grid.
    #[error(
        "sheet `{sheet}` of `{path}` spans {span} ({cells} cells) but holds only {values} values; delete the stray cells outside the table (Ctrl+End in Excel shows the last one) or save the file as .xlsx"
    )]
    SparseSheet {
        /// The file.
        path: PathBuf,
        /// The worksheet.
        sheet: String,
        /// The range it spans, such as `A1:IV65536`.
        span: String,
        /// Cells in that range.
        cells: u64,
        /// Cells that hold a value.
        values: u64,
    },
    /// The header row of a worksheet has more columns than Stratum reads.
    #[error(
        "sheet `{sheet}` of `{path}` has {columns} columns in use; at most {max} can be read: delete the columns the run does not need"
    )]
    TooManyColumns {
        /// The file.
        path: PathBuf,
        /// The worksheet.
        sheet: String,
        /// Columns in use.
        columns: usize,
        /// The limit.
        max: usize,
    },
    /// A mapped column holds formulas whose results were never saved in the file (it was
    /// written by a program that does not calculate, such as a script).
    #[error(
        "column `{}` ({}) of sheet `{}` in `{path}` holds formulas whose values were not saved: {} cells, the first {} `{}`; open the file in Excel or WPS and save it (or paste the cells as values), then run again",
        formulas.column,
        formulas.field,
        formulas.sheet,
        formulas.cells,
        formulas.first,
        formulas.formula
    )]
    FormulasWithoutValues {
        /// The file.
        path: PathBuf,
        /// Where they are and what they say.
        formulas: Box<UnsavedFormulas>,
    },
    /// A worksheet read with others as one input has another header than the first.
    #[error(
        "sheet `{sheet}` of `{path}` has other columns than sheet `{first}`, so the sheets cannot be read as one input: `{first}` has {expected}; `{sheet}` has {found}"
    )]
    SheetHeaders {
        /// The file.
        path: PathBuf,
        /// The sheet.
        sheet: String,
        /// The first sheet read.
        first: String,
        /// The first sheet's headers, comma separated.
        expected: String,
        /// This sheet's headers, comma separated.
        found: String,
    },
    /// A mapped Parquet column is nested (a struct, list or map), so it has no single value
    /// per row to read.
    #[error(
        "column `{column}` of `{path}` is mapped to {field} but holds {kind} values, not plain values; map a column of text, numbers or dates"
    )]
    NestedColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// The field it is mapped to.
        field: &'static str,
        /// Its type, such as `struct<id: int64>`.
        kind: String,
    },
    /// A required field's Parquet column holds no value at all.
    #[error(
        "column `{column}` of `{path}` is mapped to {field} but all its {rows} values are null; map the column that holds the {field}"
    )]
    AllNull {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// The field it is mapped to.
        field: &'static str,
        /// Rows in the file.
        rows: u64,
    },
}

/// Formulas of a mapped column whose values were not saved, for
/// [`SourceError::FormulasWithoutValues`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsavedFormulas {
    /// The worksheet.
    pub sheet: String,
    /// The column's header.
    pub column: String,
    /// The field it is mapped to.
    pub field: &'static str,
    /// Cells of the column with a formula and no value.
    pub cells: u64,
    /// The first such cell, such as `D2`.
    pub first: String,
    /// Its formula, such as `=B2*C2`.
    pub formula: String,
}

/// A column a field is read from, for [`RecordSource::check_mapped`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappedField {
    /// The field's name, such as `amount`.
    pub field: &'static str,
    /// The column's index among the headers.
    pub column: usize,
    /// Whether the field is required.
    pub required: bool,
}

/// A stream of records with a header.
pub trait RecordSource {
    /// The header row, as text.
    fn headers(&self) -> &[String];
    /// Reads the next non-blank record into `record` and returns the line (or row) number it
    /// starts on, or `None` at the end of the data.
    fn read(&mut self, record: &mut ByteRecord) -> Result<Option<u64>, SourceError>;
    /// What was detected about the file.
    fn info(&self) -> &SourceInfo;
    /// Progress so far and the total, in bytes (CSV) or rows.
    fn progress(&self) -> (u64, u64);
    /// Rows whose fields are all empty (such as `,,,`), skipped so far. Empty lines of a CSV
    /// file are not rows at all and are not counted.
    fn blank_rows(&self) -> u64;
    /// Refuses mapped columns that no value can be read from: a workbook column of formulas
    /// whose values were not saved, a nested Parquet column, a required Parquet column of
    /// nulls. Called once the columns are mapped, before any row is read; the default
    /// accepts every column.
    fn check_mapped(&self, _fields: &[MappedField]) -> Result<(), SourceError> {
        Ok(())
    }
    /// Keeps the mapped fields, for a source of several parts that checks each part as it
    /// reaches it; the default keeps nothing.
    fn remember_mapped(&mut self, _fields: &[MappedField]) {}
    /// The part of the input the record last read comes from (a worksheet of several read as
    /// one), to name it in rejects; `None` for an input of one part.
    fn part(&self) -> Option<&str> {
        None
    }
    /// Whether the record last read is a line whose quote never closed (CSV), to be rejected
    /// as `unclosed_quote`; the default is never.
    fn unclosed_quote(&self) -> Option<UnclosedQuote> {
        None
    }
}

/// Why a file's encoding was chosen, for the summary and the quality report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "basis")]
pub enum EncodingEvidence {
    /// `--encoding` (or the config file) named it.
    Forced,
    /// The file starts with a byte order mark.
    ByteOrderMark,
    /// Every byte looked at is ASCII, which UTF-8 reads as it is.
    Ascii,
    /// Every byte looked at is valid UTF-8.
    ValidUtf8 {
        /// Multi-byte characters seen.
        characters: u64,
    },
    /// Nearly all non-ASCII text is valid UTF-8; the few invalid sequences are rows to
    /// reject, not a reason to read every row in another encoding.
    MostlyUtf8 {
        /// Multi-byte characters seen.
        characters: u64,
        /// Invalid byte sequences seen.
        invalid: u64,
        /// The line of the first one.
        first_invalid_line: u64,
    },
    /// Most non-ASCII bytes are not UTF-8: the file is read as GB18030 (which covers GBK and
    /// GB2312, the encodings of Chinese Windows exports).
    NotUtf8 {
        /// Multi-byte UTF-8 characters seen.
        characters: u64,
        /// Invalid UTF-8 sequences seen.
        invalid: u64,
        /// The line of the first one.
        first_invalid_line: u64,
    },
    /// UTF-16 without a byte order mark: every other byte of the ASCII text is a zero byte.
    Utf16WithoutBom,
}

impl EncodingEvidence {
    /// The evidence in words.
    pub fn describe(self, lang: stratum_core::Lang) -> String {
        use EncodingEvidence as E;
        match self {
            E::Forced => lang
                .pick("由 --encoding 指定", "set by --encoding")
                .to_string(),
            E::ByteOrderMark => lang
                .pick("文件开头的字节顺序标记 (BOM)", "byte order mark")
                .to_string(),
            E::Ascii => lang.pick("只有 ASCII 字符", "ASCII only").to_string(),
            E::ValidUtf8 { characters } => match lang {
                stratum_core::Lang::Zh => {
                    format!("全部是有效的 UTF-8（{characters} 个多字节字符）")
                }
                stratum_core::Lang::En => {
                    format!("all valid UTF-8 ({characters} multi-byte characters)")
                }
            },
            E::MostlyUtf8 {
                characters,
                invalid,
                first_invalid_line,
            } => match lang {
                stratum_core::Lang::Zh => format!(
                    "{characters} 个有效 UTF-8 多字节字符，{invalid} 处无效字节（首处在第 {first_invalid_line} 行），这些行被拒绝"
                ),
                stratum_core::Lang::En => format!(
                    "{characters} valid UTF-8 multi-byte characters and {invalid} invalid byte {} (the first on line {first_invalid_line}), whose rows are rejected",
                    if invalid == 1 {
                        "sequence"
                    } else {
                        "sequences"
                    }
                ),
            },
            E::NotUtf8 {
                characters,
                invalid,
                first_invalid_line,
            } => match lang {
                stratum_core::Lang::Zh => format!(
                    "不是 UTF-8：{invalid} 处无效字节（首处在第 {first_invalid_line} 行），仅 {characters} 个有效多字节字符；按 GB18030 读取"
                ),
                stratum_core::Lang::En => format!(
                    "not UTF-8: {invalid} invalid byte sequences (the first on line {first_invalid_line}) against {characters} valid multi-byte characters; read as GB18030"
                ),
            },
            E::Utf16WithoutBom => lang
                .pick(
                    "UTF-16，无字节顺序标记（每隔一个字节为零）",
                    "UTF-16 without a byte order mark (every other byte is zero)",
                )
                .to_string(),
        }
    }
}

/// A record served because a quote in it never closed (see [`crate::quotes`]): the caller
/// rejects it as `unclosed_quote`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnclosedQuote {
    /// The field the quote opened (0-based).
    pub field: usize,
}
