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
                write_date(out, *d);
                Ok(())
            }
        };
    }
}

/// `d` as `YYYY-MM-DD`, as chrono writes it, without its general formatter (a tenth of the
/// time; dates are two columns of every customer row).
fn write_date(out: &mut String, d: NaiveDate) {
    let year = d.year();
    if !(0..=9999).contains(&year) {
        out.push_str(&d.to_string());
        return;
    }
    let digit = |v: u32| char::from(b'0' + (v % 10) as u8);
    let y = year as u32;
    for v in [y / 1000, y / 100, y / 10, y] {
        out.push(digit(v));
    }
    out.push('-');
    out.push(digit(d.month() / 10));
    out.push(digit(d.month()));
    out.push('-');
    out.push(digit(d.day() / 10));
    out.push(digit(d.day()));
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
#[derive(Debug)]
pub struct CsvOut<W: Write> {
    w: csv::Writer<W>,
    scratch: String,
    text: CsvText,
}

impl<W: Write> CsvOut<W> {
    /// A comma-separated file written to `out`.
    pub fn new(out: W, text: CsvText) -> Self {
        CsvOut::with_writer(csv::Writer::from_writer(out), text)
    }

    /// A file written through a configured CSV writer (another delimiter).
    pub fn with_writer(w: csv::Writer<W>, text: CsvText) -> Self {
        CsvOut {
            w,
            scratch: String::new(),
            text,
        }
    }

    /// Writes one record of typed cells.
    pub fn cells(&mut self, cells: &[Cell]) -> csv::Result<()> {
        for cell in cells {
            self.scratch.clear();
            match cell {
                Cell::Text(s) => self.text.push(&mut self.scratch, s),
                Cell::Owned(s) => self.text.push(&mut self.scratch, s),
                other => other.write_text(&mut self.scratch),
            }
            self.w.write_field(self.scratch.as_bytes())?;
        }
        self.w.write_record(None::<&[u8]>)
    }

    /// Writes one record of text fields (a header, a row of names).
    pub fn texts<I, S>(&mut self, fields: I) -> csv::Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for field in fields {
            self.scratch.clear();
            self.text.push(&mut self.scratch, field.as_ref());
            self.w.write_field(self.scratch.as_bytes())?;
        }
        self.w.write_record(None::<&[u8]>)
    }

    /// Writes one record of raw byte fields (a rejected row's fields as they were read);
    /// each is text to the policy when it is valid UTF-8.
    pub fn bytes<'b>(&mut self, fields: impl IntoIterator<Item = &'b [u8]>) -> csv::Result<()> {
        for field in fields {
            match std::str::from_utf8(field) {
                Ok(text) => {
                    self.scratch.clear();
                    self.text.push(&mut self.scratch, text);
                    self.w.write_field(self.scratch.as_bytes())?;
                }
                Err(_) => self.w.write_field(field)?,
            }
        }
        self.w.write_record(None::<&[u8]>)
    }

    /// Flushes the buffered records to the underlying writer.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }

    /// The underlying writer, once every record is flushed.
    pub fn into_inner(self) -> csv::Result<W> {
        self.w.into_inner().map_err(|e| e.into_error().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut w = CsvOut::with_writer(
            csv::WriterBuilder::new()
                .flexible(true)
                .from_writer(Vec::new()),
            CsvText::Safe,
        );
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
}
