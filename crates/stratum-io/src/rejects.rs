//! The rejects file: every row Stratum could not use, with where it was and why.

use std::io::Write;
use std::path::Path;

use csv::ByteRecord;

use crate::cells::{Cell, CsvOut, CsvText};

/// Why a row with more non-empty fields than the `width` fields of the header is rejected, or
/// `None` when it has no more (empty trailing fields, as spreadsheets write them, are fine).
pub(crate) fn long_row(record: &ByteRecord, width: usize) -> Option<String> {
    let extra = record
        .iter()
        .skip(width)
        .any(|f| !f.trim_ascii().is_empty());
    extra.then(|| {
        format!(
            "row has {} fields, the header has {width}; an unquoted separator inside a value? (quote values that contain the delimiter)",
            record.len()
        )
    })
}

/// Why a row was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The customer id is empty.
    MissingCustomerId,
    /// The date is empty.
    MissingDate,
    /// The date is not in a recognised form.
    BadDate,
    /// The amount is empty.
    MissingAmount,
    /// The amount is not a number in a recognised form.
    BadAmount,
    /// A column that a `--where` or `--refund-when` condition reads as a number holds
    /// something else.
    BadNumber,
    /// A field is not valid text in the file's encoding.
    InvalidEncoding,
    /// A quote opens a value and never closes within the limits (see [`crate::quotes`]).
    UnclosedQuote,
    /// The row has fewer fields than the header.
    ShortRow,
    /// The row has more non-empty fields than the header.
    LongRow,
    /// A customer master row repeats a customer id seen earlier in the file.
    DuplicateCustomerId,
    /// An override row names no tier.
    MissingTier,
    /// A satisfaction (1–5) or NPS (0–10) answer out of its scale.
    BadScore,
    /// A customer summary (frequency, recency, T, monetary) that is not valid.
    BadSummary,
    /// A row's own id (an opportunity's) is empty.
    MissingId,
    /// A stage that is not one of the funnel's stages.
    UnknownStage,
    /// A status that is not open, won or lost.
    BadStatus,
}

impl RejectReason {
    /// The stable code written to files.
    pub fn code(self) -> &'static str {
        match self {
            RejectReason::MissingCustomerId => "missing_customer_id",
            RejectReason::MissingDate => "missing_date",
            RejectReason::BadDate => "bad_date",
            RejectReason::MissingAmount => "missing_amount",
            RejectReason::BadAmount => "bad_amount",
            RejectReason::BadNumber => "bad_number",
            RejectReason::InvalidEncoding => "invalid_encoding",
            RejectReason::UnclosedQuote => "unclosed_quote",
            RejectReason::ShortRow => "short_row",
            RejectReason::LongRow => "long_row",
            RejectReason::DuplicateCustomerId => "duplicate_customer_id",
            RejectReason::MissingTier => "missing_tier",
            RejectReason::BadScore => "bad_score",
            RejectReason::BadSummary => "bad_summary",
            RejectReason::MissingId => "missing_id",
            RejectReason::UnknownStage => "unknown_stage",
            RejectReason::BadStatus => "bad_status",
        }
    }
}

impl RejectReason {
    /// The reason in words, for the report.
    pub fn label(self, lang: stratum_core::Lang) -> &'static str {
        match self {
            RejectReason::MissingCustomerId => lang.pick("缺少客户编号", "missing customer id"),
            RejectReason::MissingDate => lang.pick("缺少日期", "missing date"),
            RejectReason::BadDate => lang.pick("日期无法识别", "unreadable date"),
            RejectReason::MissingAmount => lang.pick("缺少金额", "missing amount"),
            RejectReason::BadAmount => lang.pick("金额无法识别", "unreadable amount"),
            RejectReason::BadNumber => lang.pick("数值无法识别", "unreadable number"),
            RejectReason::InvalidEncoding => lang.pick("文本编码错误", "bad text encoding"),
            RejectReason::UnclosedQuote => lang.pick("引号未闭合", "unclosed quote"),
            RejectReason::ShortRow => lang.pick("字段少于表头", "fewer fields than the header"),
            RejectReason::LongRow => lang.pick("字段多于表头", "more fields than the header"),
            RejectReason::DuplicateCustomerId => lang.pick("客户编号重复", "customer id repeated"),
            RejectReason::MissingTier => lang.pick("缺少等级", "missing tier"),
            RejectReason::BadScore => lang.pick("评分超出范围", "score out of its scale"),
            RejectReason::BadSummary => lang.pick("客户汇总无效", "invalid customer summary"),
            RejectReason::MissingId => lang.pick("缺少编号", "missing id"),
            RejectReason::UnknownStage => lang.pick("阶段未配置", "unknown stage"),
            RejectReason::BadStatus => lang.pick("状态无法识别", "unreadable status"),
        }
    }
}

/// One rejected row.
#[derive(Debug, Clone, Copy)]
pub struct Reject<'a> {
    /// The file's name.
    pub file: &'a str,
    /// The line or row number in the file.
    pub line: u64,
    /// Why.
    pub reason: RejectReason,
    /// The column at fault (header text), if one.
    pub column: &'a str,
    /// The value at fault.
    pub value: &'a [u8],
    /// A human explanation.
    pub message: &'a str,
    /// The whole row.
    pub row: &'a ByteRecord,
}

impl Reject<'_> {
    /// An owned copy, with the row re-joined with `delimiter`. Text that is not valid UTF-8
    /// (rows rejected for their encoding) is shown with U+FFFD, so that the rejects file stays
    /// valid UTF-8; the line number leads back to the original bytes.
    pub fn to_row(&self, delimiter: u8) -> RejectRow {
        RejectRow {
            file: self.file.to_string(),
            line: self.line,
            reason: self.reason,
            column: self.column.to_string(),
            value: String::from_utf8_lossy(self.value).into_owned(),
            message: self.message.to_string(),
            row: join_record(self.row, delimiter),
        }
    }
}

/// An owned rejected row, ready to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectRow {
    /// The file's name.
    pub file: String,
    /// The line or row number in the file.
    pub line: u64,
    /// Why.
    pub reason: RejectReason,
    /// The column at fault (header text), or empty.
    pub column: String,
    /// The value at fault.
    pub value: String,
    /// A human explanation.
    pub message: String,
    /// The whole row, re-joined with the file's delimiter.
    pub row: String,
}

/// A record's fields joined with `delimiter`, quoted as CSV needs.
pub fn join_record(record: &ByteRecord, delimiter: u8) -> String {
    let mut out = Vec::new();
    {
        let mut w = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(&mut out);
        // Writing to a Vec cannot fail.
        let _ = w.write_byte_record(record);
        let _ = w.flush();
    }
    if out.last() == Some(&b'\n') {
        out.pop();
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes `rejects.csv`: `file,line,reason,column,value,message,row`.
#[derive(Debug)]
pub struct RejectsWriter<W: Write> {
    out: CsvOut<W>,
    delimiter: u8,
}

/// The header of the rejects file.
pub const REJECTS_HEADER: [&str; 7] = [
    "file", "line", "reason", "column", "value", "message", "row",
];

impl<W: Write> RejectsWriter<W> {
    /// A writer that writes the header at once; values and rows that a spreadsheet would run
    /// as formulas get a leading `'` ([`CsvText::Safe`]).
    pub fn new(out: W) -> csv::Result<Self> {
        Self::with_text(out, CsvText::Safe)
    }

    /// A writer that writes the header at once; values and rows that a spreadsheet would run
    /// as formulas are written as `text` says.
    pub fn with_text(out: W, text: CsvText) -> csv::Result<Self> {
        let mut out = CsvOut::new(out, text);
        out.texts(REJECTS_HEADER)?;
        Ok(RejectsWriter {
            out,
            delimiter: b',',
        })
    }

    /// The delimiter used to re-join rows of the file being read.
    pub fn set_delimiter(&mut self, delimiter: u8) {
        self.delimiter = delimiter;
    }

    /// Writes one rejected row.
    pub fn write(&mut self, r: &Reject<'_>) -> csv::Result<()> {
        let row = r.to_row(self.delimiter);
        self.write_row(&row)
    }

    /// Writes one owned rejected row.
    pub fn write_row(&mut self, r: &RejectRow) -> csv::Result<()> {
        self.out.cells(&[
            Cell::Text(&r.file),
            Cell::Int(r.line as i64),
            Cell::Text(r.reason.code()),
            Cell::Text(&r.column),
            Cell::Text(&r.value),
            Cell::Text(&r.message),
            Cell::Text(&r.row),
        ])
    }

    /// Flushes and returns the inner writer.
    pub fn finish(self) -> Result<W, std::io::Error> {
        self.out.into_inner().map_err(std::io::Error::from)
    }
}

/// The file name of `path` for the rejects file's `file` column.
pub fn file_label(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The rows a `rejects.csv` lists: its records after the header, however many lines each
/// takes (a rejected row's text may hold line breaks).
pub fn count_rows(read: impl std::io::Read) -> csv::Result<u64> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(read);
    let mut record = ByteRecord::new();
    let mut rows = 0;
    while reader.read_byte_record(&mut record)? {
        rows += 1;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rows_of_a_rejects_file_are_counted_by_record_not_by_line() {
        let mut w = RejectsWriter::new(Vec::new()).expect("writer");
        for (line, row) in [(2, "C1,2025-13-45,10"), (5, "C2,\"a\nb\",x")] {
            w.write_row(&RejectRow {
                file: "订单.csv".into(),
                line,
                reason: RejectReason::BadDate,
                column: "order_date".into(),
                value: "2025-13-45".into(),
                message: "not a date".into(),
                row: row.into(),
            })
            .expect("write");
        }
        let bytes = w.finish().expect("finish");
        assert_eq!(line_count(&bytes), 4, "the second row takes two lines");
        assert_eq!(count_rows(bytes.as_slice()).expect("count"), 2);
        let header_only = RejectsWriter::new(Vec::new())
            .expect("writer")
            .finish()
            .expect("finish");
        assert_eq!(count_rows(header_only.as_slice()).expect("count"), 0);
    }

    fn line_count(bytes: &[u8]) -> usize {
        bytes.iter().filter(|&&b| b == b'\n').count()
    }
}
