//! The rejects file: every row Stratum could not use, with where it was and why.

use std::io::Write;
use std::path::Path;

use csv::ByteRecord;

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
    /// A field is not valid text in the file's encoding.
    BadEncoding,
    /// The row has fewer fields than the header.
    ShortRow,
    /// The row has more non-empty fields than the header.
    LongRow,
    /// A customer master row repeats a customer id seen earlier in the file.
    DuplicateCustomerId,
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
            RejectReason::BadEncoding => "bad_encoding",
            RejectReason::ShortRow => "short_row",
            RejectReason::LongRow => "long_row",
            RejectReason::DuplicateCustomerId => "duplicate_customer_id",
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

/// Writes `rejects.csv`: `file,line,reason,column,value,message,row`, where `row` is the
/// original row re-joined with the file's delimiter.
#[derive(Debug)]
pub struct RejectsWriter<W: Write> {
    out: csv::Writer<W>,
    delimiter: u8,
    scratch: Vec<u8>,
}

/// The header of the rejects file.
pub const REJECTS_HEADER: [&str; 7] = [
    "file", "line", "reason", "column", "value", "message", "row",
];

impl<W: Write> RejectsWriter<W> {
    /// A writer that writes the header at once.
    pub fn new(out: W) -> csv::Result<Self> {
        let mut out = csv::Writer::from_writer(out);
        out.write_record(REJECTS_HEADER)?;
        Ok(RejectsWriter {
            out,
            delimiter: b',',
            scratch: Vec::new(),
        })
    }

    /// The delimiter used to re-join rows of the file being read.
    pub fn set_delimiter(&mut self, delimiter: u8) {
        self.delimiter = delimiter;
    }

    /// Writes one rejected row.
    pub fn write(&mut self, r: &Reject<'_>) -> csv::Result<()> {
        self.scratch.clear();
        {
            let mut w = csv::WriterBuilder::new()
                .delimiter(self.delimiter)
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(&mut self.scratch);
            w.write_byte_record(r.row)?;
            w.flush()?;
        }
        if self.scratch.last() == Some(&b'\n') {
            self.scratch.pop();
        }
        let line = r.line.to_string();
        // The rejects file stays valid UTF-8: bytes that are not (rows rejected for their
        // encoding) are shown as U+FFFD; the line number leads back to the original bytes.
        let value = String::from_utf8_lossy(r.value);
        let row = String::from_utf8_lossy(&self.scratch);
        self.out.write_record([
            r.file,
            &line,
            r.reason.code(),
            r.column,
            &value,
            r.message,
            &row,
        ])
    }

    /// Flushes and returns the inner writer.
    pub fn finish(self) -> Result<W, std::io::Error> {
        self.out
            .into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))
    }
}

/// The file name of `path` for the rejects file's `file` column.
pub fn file_label(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
