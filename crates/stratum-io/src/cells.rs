//! Typed cells and the CSV writer every output file goes through: numbers as plain numbers,
//! dates as ISO dates, text made safe from spreadsheet formulas unless asked otherwise.

use std::io::Write;

use chrono::{Datelike, NaiveDate};
use stratum_core::Money;

/// A typed cell, written as text to CSV and as a typed value to XLSX.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    /// Text.
    Text(&'a str),
    /// Owned text.
    Owned(String),
    /// An integer.
    Int(i64),
    /// A money amount.
    Money(Money),
    /// A share in 0..=1.
    Share(f64),
    /// A plain decimal number.
    Number(f64),
    /// A date.
    Date(NaiveDate),
}

impl Cell<'static> {
    /// A number, or an empty cell when there is none or it is not finite (a statistic that
    /// could not be computed, a failed prediction).
    pub fn finite(v: Option<f64>) -> Self {
        match v {
            Some(v) if v.is_finite() => Cell::Number(v),
            _ => Cell::Text(""),
        }
    }
}

impl Cell<'_> {
    /// The value as people read it: thousands separators, percentages, one decimal.
    pub fn display(&self) -> String {
        use crate::format::{money, number, pct, thousands};
        match self {
            Cell::Int(i) if *i >= 0 => thousands(*i as u64),
            Cell::Share(v) => pct(*v),
            Cell::Money(m) => money(*m),
            Cell::Number(v) => number(*v, 1),
            other => other.text(),
        }
    }

    pub(crate) fn text(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out);
        out
    }

    /// Appends the value as written to CSV: plain digits, a point, ISO dates.
    pub(crate) fn write_text(&self, out: &mut String) {
        use std::fmt::Write as _;
        // writing to a String cannot fail
        let _ = match self {
            Cell::Text(s) => {
                out.push_str(s);
                Ok(())
            }
            Cell::Owned(s) => {
                out.push_str(s);
                Ok(())
            }
            Cell::Int(i) => {
                out.push_str(itoa::Buffer::new().format(*i));
                Ok(())
            }
            Cell::Money(m) => {
                m.push_text(out);
                Ok(())
            }
            Cell::Share(v) => write!(out, "{v:.6}"),
            Cell::Number(v) => write!(out, "{v:.4}"),
            Cell::Date(d) => {
                out.push_str(&String::from_utf8_lossy(&date_bytes(&mut [0; 10], *d)));
                Ok(())
            }
        };
    }
}

/// `d` as `YYYY-MM-DD`, as chrono writes it, without its general formatter (a tenth of the
/// time; dates are two columns of every customer row): in `buf` for the years 0 to 9999,
/// by chrono beyond.
fn date_bytes(buf: &mut [u8; 10], d: NaiveDate) -> std::borrow::Cow<'_, [u8]> {
    let year = d.year();
    if !(0..=9999).contains(&year) {
        return d.to_string().into_bytes().into();
    }
    let digit = |v: u32| b'0' + (v % 10) as u8;
    let y = year as u32;
    *buf = [
        digit(y / 1000),
        digit(y / 100),
        digit(y / 10),
        digit(y),
        b'-',
        digit(d.month() / 10),
        digit(d.month()),
        b'-',
        digit(d.day() / 10),
        digit(d.day()),
    ];
    std::borrow::Cow::Borrowed(buf)
}

/// How text is written to CSV files.
///
/// A spreadsheet program runs a cell that begins with `=`, `+`, `-` or `@` as a formula
/// (OWASP "CSV injection"): a customer name such as `=HYPERLINK(…)` in an export must not
/// become a live formula when an account manager opens `actions/张伟.csv` in Excel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CsvText {
    /// Text beginning with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`,
    /// which spreadsheets show as text; numbers (`-12.50`, `+3`) are left as they are.
    #[default]
    Safe,
    /// Every value exactly as it is, for programs reading the files (`--csv-raw`).
    Raw,
}

impl CsvText {
    /// Appends `text` to `out` as this policy writes it.
    pub fn push(self, out: &mut String, text: &str) {
        if self == CsvText::Safe && would_run_as_formula(text) {
            out.push('\'');
        }
        out.push_str(text);
    }
}

/// Whether a spreadsheet would take `text` for a formula: it begins with `=`, `+`, `-`, `@`,
/// a tab or a carriage return, and is not simply a signed number.
pub fn would_run_as_formula(text: &str) -> bool {
    match text.as_bytes().first() {
        Some(b'=' | b'@' | b'\t' | b'\r') => true,
        Some(b'+' | b'-') => !is_signed_number(&text[1..]),
        _ => false,
    }
}

/// `digits[.digits]`, or `.digits`: the rest of a signed number.
fn is_signed_number(rest: &str) -> bool {
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    match frac {
        None => !int.is_empty() && digits(int),
        Some(f) => !f.is_empty() && digits(f) && digits(int),
    }
}

/// A CSV file being written: records of typed cells or of text, with text written by a
/// [`CsvText`] policy. Every CSV file Stratum writes goes through it.
///
/// The bytes are those of the `csv` crate's default writer (comma, `\n`, a field quoted only
/// when it holds a comma, a quote, `\r` or `\n`, quotes doubled, a record of one empty field
/// written as `""`, every record as wide as the first), written straight into one buffer: the
/// `csv` writer's per-field state machine and buffer copies were half the profile of writing
/// `customers.csv` (a 200k-customer file: 90 → 71 ms). A property test holds the two to the
/// same bytes.
#[derive(Debug)]
pub struct CsvOut<W: Write> {
    /// `None` once taken by [`CsvOut::into_inner`], and for records gathered in memory
    /// ([`CsvOut::in_memory`]).
    out: Option<W>,
    buf: Vec<u8>,
    scratch: String,
    text: CsvText,
    /// Fields of the first record, which every later one must have (unless flexible).
    width: Option<usize>,
    flexible: bool,
}

/// Bytes gathered before they are handed to the writer.
const FLUSH_AT: usize = 64 << 10;

impl<W: Write> CsvOut<W> {
    /// A comma-separated file written to `out`.
    pub fn new(out: W, text: CsvText) -> Self {
        CsvOut {
            out: Some(out),
            buf: Vec::with_capacity(FLUSH_AT + 4096),
            scratch: String::new(),
            text,
            width: None,
            flexible: false,
        }
    }

    /// A file whose records may differ in width (the tests' tables of several widths).
    #[cfg(test)]
    fn flexible(out: W, text: CsvText) -> Self {
        let mut w = CsvOut::new(out, text);
        w.flexible = true;
        w
    }

    /// Writes one record of typed cells.
    pub fn cells(&mut self, cells: &[Cell]) -> csv::Result<()> {
        let start = self.buf.len();
        for (k, cell) in cells.iter().enumerate() {
            if k > 0 {
                self.buf.push(b',');
            }
            match cell {
                Cell::Text(s) => self.text_field(s),
                Cell::Owned(s) => self.text_field(s),
                // numbers and dates hold no comma, quote or line break
                Cell::Int(i) => self
                    .buf
                    .extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
                // typed values straight into the buffer: through `scratch` each was copied
                // again (four amounts, two dates and a share a customer in customers.csv)
                Cell::Money(m) => m.push_bytes(&mut self.buf),
                Cell::Date(d) => self.buf.extend_from_slice(&date_bytes(&mut [0; 10], *d)),
                Cell::Share(v) => push_share(&mut self.buf, *v),
                // writing to a `Vec` cannot fail
                Cell::Number(v) => {
                    let _ = write!(self.buf, "{v:.4}");
                }
            }
        }
        self.end_record(start, cells.len())
    }

    /// Writes one record of text fields (a header, a row of names).
    pub fn texts<I, S>(&mut self, fields: I) -> csv::Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let start = self.buf.len();
        let mut n = 0;
        for field in fields {
            if n > 0 {
                self.buf.push(b',');
            }
            self.text_field(field.as_ref());
            n += 1;
        }
        self.end_record(start, n)
    }

    /// Writes one record of raw byte fields (a rejected row's fields as they were read);
    /// each is text to the policy when it is valid UTF-8.
    pub fn bytes<'b>(&mut self, fields: impl IntoIterator<Item = &'b [u8]>) -> csv::Result<()> {
        let start = self.buf.len();
        let mut n = 0;
        for field in fields {
            if n > 0 {
                self.buf.push(b',');
            }
            match std::str::from_utf8(field) {
                Ok(text) => self.text_field(text),
                Err(_) => push_field(&mut self.buf, field),
            }
            n += 1;
        }
        self.end_record(start, n)
    }

    /// `text` by the policy, quoted when it needs to be.
    fn text_field(&mut self, text: &str) {
        if self.text == CsvText::Safe && would_run_as_formula(text) {
            self.scratch.clear();
            self.text.push(&mut self.scratch, text);
            push_field(&mut self.buf, self.scratch.as_bytes());
        } else {
            push_field(&mut self.buf, text.as_bytes());
        }
    }

    /// Ends the record begun at `start` of the buffer, of `fields` fields; a record of
    /// another width than the first is taken back and is an error.
    fn end_record(&mut self, start: usize, fields: usize) -> csv::Result<()> {
        match self.width {
            None => self.width = Some(fields),
            Some(width) if width != fields && !self.flexible => {
                self.buf.truncate(start);
                return Err(std::io::Error::other(format!(
                    "a record of {fields} fields after records of {width}"
                ))
                .into());
            }
            Some(_) => {}
        }
        // a record with nothing in it is written as `""`, so that it is read back as a record
        if self.buf.len() == start {
            self.buf.extend_from_slice(b"\"\"");
        }
        self.buf.push(b'\n');
        if self.buf.len() >= FLUSH_AT {
            self.write_out()?;
        }
        Ok(())
    }

    /// Hands the buffered bytes to the writer.
    fn write_out(&mut self) -> std::io::Result<()> {
        // records gathered in memory stay until taken
        if let Some(out) = &mut self.out {
            out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Flushes the buffered records to the underlying writer.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.write_out()?;
        match &mut self.out {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }

    /// The underlying writer, once every record is flushed.
    pub fn into_inner(mut self) -> csv::Result<W> {
        self.flush()?;
        self.out
            .take()
            .ok_or_else(|| std::io::Error::other("the writer was taken already").into())
    }
}

impl CsvOut<std::io::Sink> {
    /// Records gathered in memory, in a buffer of `capacity` bytes to begin with:
    /// [`CsvOut::into_bytes`] gives them, without copying them through a writer (a
    /// million-customer `customers.csv` is 150 MB).
    pub fn in_memory(capacity: usize, text: CsvText) -> Self {
        CsvOut {
            out: None,
            buf: Vec::with_capacity(capacity),
            scratch: String::new(),
            text,
            width: None,
            flexible: false,
        }
    }

    /// The records gathered by [`CsvOut::in_memory`].
    pub fn into_bytes(mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}

impl<W: Write> Drop for CsvOut<W> {
    /// Flushes what is left, unless the thread is panicking (its errors are lost: call
    /// [`CsvOut::flush`] to see them).
    fn drop(&mut self) {
        if self.out.is_some() && !std::thread::panicking() {
            let _ = self.flush();
        }
    }
}

/// Appends `{v:.6}` of a share. A share in [0, 1] whose millionths are not within a millionth
/// of a half is written from its rounded millionths without the formatter (a million shares
/// in `customers.csv` took about 0.045 CPU-seconds in it): the product `v × 10⁶` is off the
/// exact one by at most 2⁻³³, so both round to the same integer, as the formatter rounds the
/// exact decimal value. Anything else (a near tie, −0.0, a value outside [0, 1], NaN) goes
/// through the formatter.
fn push_share(buf: &mut Vec<u8>, v: f64) {
    if v.is_sign_positive() && v <= 1.0 {
        let scaled = v * 1e6;
        let whole = scaled.floor();
        let frac = scaled - whole;
        if (frac - 0.5).abs() > 1e-6 {
            // at most 1,000,000: a whole number of millionths
            let millionths = (whole as u32) + u32::from(frac > 0.5);
            let mut text = *b"0.000000";
            text[0] = b'0' + (millionths / 1_000_000) as u8;
            let mut rest = millionths % 1_000_000;
            for digit in text[2..].iter_mut().rev() {
                *digit = b'0' + (rest % 10) as u8;
                rest /= 10;
            }
            buf.extend_from_slice(&text);
            return;
        }
    }
    let _ = write!(buf, "{v:.6}");
}

/// Appends one field: as it is, or in quotes (quotes doubled) when it holds a comma, a quote,
/// `\r` or `\n`.
pub(crate) fn push_field(buf: &mut Vec<u8>, field: &[u8]) {
    if !field
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        buf.extend_from_slice(field);
        return;
    }
    buf.push(b'"');
    for piece in field.split_inclusive(|&b| b == b'"') {
        buf.extend_from_slice(piece);
        if piece.last() == Some(&b'"') {
            buf.push(b'"');
        }
    }
    buf.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy as _;

    #[test]
    fn typed_cells_go_into_a_record_as_their_text() {
        let date = |y| NaiveDate::from_ymd_opt(y, 3, 7).unwrap_or_default();
        let cells = [
            Cell::Date(date(2025)),
            Cell::Date(date(-5)),
            Cell::Date(date(10_000)),
            Cell::Money(Money::from_units(-1_234_500)),
            Cell::Money(Money::from_units(i64::MIN)),
            Cell::Money(Money::from_units_i128(i128::MAX)),
            Cell::Share(0.123_456_5),
            Cell::Share(f64::NAN),
            Cell::Number(f64::INFINITY),
            Cell::Number(-2.0 / 3.0),
            Cell::Int(i64::MIN),
        ];
        for cell in cells {
            assert_eq!(
                written(CsvText::Raw, std::slice::from_ref(&cell)),
                format!("{}\n", cell.text()),
                "{cell:?}"
            );
        }
    }

    #[test]
    fn dates_are_written_as_chrono_writes_them() {
        for (y, m, d) in [
            (2025, 1, 9),
            (999, 12, 31),
            (0, 1, 1),
            (10_000, 2, 3),
            (-5, 6, 7),
        ] {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
            assert_eq!(Cell::Date(date).text(), date.to_string(), "{y}-{m}-{d}");
        }
    }

    #[test]
    fn cells_go_into_one_record_quoted_where_needed() {
        let mut w = CsvOut::flexible(Vec::new(), CsvText::Safe);
        let cells = [
            Cell::Text("a,b"),
            Cell::Int(-3),
            Cell::Money(Money::from_units(1_234_500)),
            Cell::Share(0.5),
            Cell::Number(1.0 / 3.0),
        ];
        w.cells(&cells).unwrap_or_else(|e| panic!("{e}"));
        w.cells(&[Cell::Owned("x".into())])
            .unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default();
        assert_eq!(text, "\"a,b\",-3,123.45,0.500000,0.3333\nx\n");
    }

    fn written(text: CsvText, cells: &[Cell]) -> String {
        let mut w = CsvOut::new(Vec::new(), text);
        w.cells(cells).unwrap_or_else(|e| panic!("{e}"));
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }

    #[test]
    fn text_that_a_spreadsheet_would_run_gets_a_leading_apostrophe() {
        let cells = [
            Cell::Text("=HYPERLINK(\"http://x\",\"y\")"),
            Cell::Text("+86 138 0000 0000"),
            Cell::Text("-2+3"),
            Cell::Text("@SUM(A1)"),
            Cell::Text("\tx"),
            Cell::Text("\rx"),
            Cell::Owned("=1+1".into()),
        ];
        assert_eq!(
            written(CsvText::Safe, &cells),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",'+86 138 0000 0000,'-2+3,'@SUM(A1),'\tx,\"'\rx\",'=1+1\n"
        );
        // --csv-raw: as they are
        assert_eq!(
            written(CsvText::Raw, &cells[1..3]),
            "+86 138 0000 0000,-2+3\n"
        );
    }

    #[test]
    fn numbers_and_signed_number_text_are_left_as_they_are() {
        let cells = [
            Cell::Money(Money::from_units(-125_000)),
            Cell::Int(-7),
            Cell::Number(-0.5),
            Cell::Text("-12.50"),
            Cell::Text("+3"),
            Cell::Text("-.5"),
            Cell::Text("张伟"),
            Cell::Text(""),
        ];
        assert_eq!(
            written(CsvText::Safe, &cells),
            "-12.50,-7,-0.5000,-12.50,+3,-.5,张伟,\n"
        );
        assert!(would_run_as_formula("-"));
        assert!(would_run_as_formula("-1e5"));
        assert!(would_run_as_formula("+1."));
    }

    /// The bytes of the `csv` crate's default writer for `records` (the oracle).
    fn csv_crate(records: &[Vec<String>]) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new());
        for r in records {
            w.write_record(r).unwrap_or_else(|e| panic!("{e}"));
        }
        w.into_inner().unwrap_or_default()
    }

    fn ours(records: &[Vec<String>]) -> Vec<u8> {
        let mut w = CsvOut::flexible(Vec::new(), CsvText::Raw);
        for r in records {
            w.texts(r).unwrap_or_else(|e| panic!("{e}"));
        }
        w.into_inner().unwrap_or_default()
    }

    #[test]
    fn records_are_written_as_the_csv_crate_writes_them() {
        let records: Vec<Vec<String>> = [
            vec![""],
            vec![],
            vec!["", ""],
            vec!["a\"b", "\"", "x,y", "line\nbreak", "cr\rhere", "张伟"],
            vec!["\"\"", " a ", "'", ""],
        ]
        .iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect();
        assert_eq!(ours(&records), csv_crate(&records));
        assert_eq!(
            String::from_utf8(ours(&records)).unwrap_or_default(),
            "\"\"\n\"\"\n,\n\"a\"\"b\",\"\"\"\",\"x,y\",\"line\nbreak\",\"cr\rhere\",张伟\n\"\"\"\"\"\", a ,',\n"
        );
    }

    #[test]
    fn a_record_of_another_width_is_an_error() {
        let mut w = CsvOut::new(Vec::new(), CsvText::Raw);
        w.texts(["a", "b"]).unwrap_or_else(|e| panic!("{e}"));
        w.cells(&[Cell::Int(1), Cell::Int(2)])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(w.texts(["a"]).is_err());
        // taken back: nothing of it is written
        assert_eq!(w.into_inner().unwrap_or_default(), b"a,b\n1,2\n");
    }

    #[test]
    fn records_gathered_in_memory_are_the_written_ones() {
        let rows = [
            vec![Cell::Text("a,b"), Cell::Int(-3), Cell::Share(0.25)],
            vec![Cell::Text("=x"), Cell::Int(7), Cell::Share(1.0)],
        ];
        // more than a flush's worth, so that the writer's copy was flushed on the way
        let mut memory = CsvOut::in_memory(16, CsvText::Safe);
        let mut written = CsvOut::new(Vec::new(), CsvText::Safe);
        for i in 0..FLUSH_AT / 8 {
            memory.cells(&rows[i % 2]).expect("record");
            written.cells(&rows[i % 2]).expect("record");
        }
        assert!(memory.cells(&[Cell::Int(1)]).is_err());
        memory.flush().expect("nothing to write");
        let memory = memory.into_bytes();
        assert!(memory.len() > FLUSH_AT);
        assert_eq!(memory, written.into_inner().expect("flush"));
    }

    #[test]
    fn a_writer_dropped_unflushed_still_writes_its_records() {
        let mut file = Vec::new();
        {
            let mut w = CsvOut::new(&mut file, CsvText::Raw);
            w.texts(["a", "b"]).unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(file, b"a,b\n");
    }

    #[test]
    fn shares_are_written_as_the_formatter_writes_them() {
        let shares = [
            0.0,
            -0.0,
            1.0,
            0.999_999_5,
            0.999_999_6,
            0.000_000_5,
            0.000_000_4,
            0.123_456_5,
            0.745_773,
            1e-300,
            f64::MIN_POSITIVE,
            1.000_000_1,
            -0.3,
            f64::NAN,
            f64::INFINITY,
        ];
        for v in shares {
            let mut ours = Vec::new();
            push_share(&mut ours, v);
            assert_eq!(String::from_utf8_lossy(&ours), format!("{v:.6}"), "{v:e}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_share_is_written_as_the_formatter_writes_it(
            v in proptest::prop_oneof![
                0.0..=1.0f64,
                (0u64..=1_000_000u64, -3i64..=3i64)
                    .prop_map(|(k, ulps)| f64::from_bits(((k as f64 + 0.5) / 1e6).to_bits().wrapping_add_signed(ulps))),
                proptest::num::f64::ANY,
            ]
        ) {
            let mut ours = Vec::new();
            push_share(&mut ours, v);
            proptest::prop_assert_eq!(String::from_utf8_lossy(&ours), format!("{v:.6}"));
        }

        #[test]
        fn any_text_is_written_as_the_csv_crate_writes_it(
            records in proptest::collection::vec(
                proptest::collection::vec("[a,\"\r\n 张'=+-]{0,6}", 0..5),
                0..40,
            )
        ) {
            proptest::prop_assert_eq!(ours(&records), csv_crate(&records));
        }

        #[test]
        fn safe_text_is_the_policy_then_the_csv_crate(
            fields in proptest::collection::vec("[a,\"\r\n\t @'=+-.1]{0,6}", 1..6)
        ) {
            let mut w = CsvOut::new(Vec::new(), CsvText::Safe);
            let cells: Vec<Cell> = fields.iter().map(|f| Cell::Text(f)).collect();
            w.cells(&cells).unwrap_or_else(|e| panic!("{e}"));
            let safe: Vec<String> = fields
                .iter()
                .map(|f| {
                    let mut s = String::new();
                    CsvText::Safe.push(&mut s, f);
                    s
                })
                .collect();
            proptest::prop_assert_eq!(
                w.into_inner().unwrap_or_default(),
                csv_crate(&[safe])
            );
        }
    }
}
