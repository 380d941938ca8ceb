//! Writing results: `customers.csv`, `segments.csv`, `unscored.csv`, and the typed cells and
//! table sheets the workbooks are made of.
//!
//! The CSV files are for programs and CRM re-import: stable English column names and codes,
//! plain numbers, ISO dates, UTF-8. Label columns (`rfm_class_label`, `segment_label`, …) follow
//! the chosen language. The workbook holds the same tables as typed cells (numbers as numbers,
//! dates as dates) with a frozen, filtered header row.

use std::io::Write;

use chrono::Datelike;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};
use stratum_core::summary::GroupSummary;
use stratum_core::{Labelled, Lang, Tiering};

pub use crate::cells::{Cell, CsvOut, CsvText, would_run_as_formula};
use crate::master::CustomerTable;

/// The fixed columns of `customers.csv`, before any customer attributes.
pub const CUSTOMER_COLUMNS: [&str; 20] = [
    "customer_id",
    "first_order_date",
    "last_order_date",
    "recency_days",
    "frequency",
    "monetary",
    "gross",
    "refunds",
    "avg_order_value",
    "tenure_days",
    "r_score",
    "f_score",
    "m_score",
    "rfm_score",
    "rfm_class",
    "rfm_class_label",
    "segment",
    "segment_label",
    "abc_class",
    "revenue_cum_share",
];

/// The header of `customers.csv`: the fixed columns, then the master data's attributes
/// (renamed `attr_NAME` where a name clashes with a fixed column).
pub fn customer_header(master: Option<&CustomerTable>) -> Vec<String> {
    let mut header: Vec<String> = CUSTOMER_COLUMNS.iter().map(|s| s.to_string()).collect();
    if let Some(m) = master {
        for a in &m.attributes {
            if CUSTOMER_COLUMNS.contains(&a.as_str()) {
                header.push(format!("attr_{a}"));
            } else {
                header.push(a.clone());
            }
        }
    }
    header
}

/// The cells of customer `i`.
pub fn customer_row<'a>(
    t: &'a Tiering,
    i: usize,
    master: Option<&'a CustomerTable>,
    lang: Lang,
) -> Vec<Cell<'a>> {
    let mut row = Vec::new();
    customer_cells(t, i, master, lang, &mut row);
    row
}

/// [`customer_row`] into `row` (cleared first), for writers that reuse one row.
pub fn customer_cells<'a>(
    t: &'a Tiering,
    i: usize,
    master: Option<&'a CustomerTable>,
    lang: Lang,
    row: &mut Vec<Cell<'a>>,
) {
    let c = &t.features.customers[i];
    let r = &t.rfm.customers()[i];
    row.clear();
    row.extend([
        Cell::Text(&c.customer_id),
        Cell::Date(c.first_purchase),
        Cell::Date(c.last_purchase),
        Cell::Int(c.recency_days),
        Cell::Int(c.frequency as i64),
        Cell::Money(c.monetary),
        Cell::Money(c.gross),
        Cell::Money(c.refunds),
        Cell::Money(c.avg_order_value),
        Cell::Int(c.tenure_days),
        Cell::Int(i64::from(r.r)),
        Cell::Int(i64::from(r.f)),
        Cell::Int(i64::from(r.m)),
        match r.score_text() {
            std::borrow::Cow::Borrowed(code) => Cell::Text(code),
            std::borrow::Cow::Owned(code) => Cell::Owned(code),
        },
        Cell::Text(r.class.code()),
        Cell::Text(r.class.label(lang)),
        Cell::Text(r.segment.code()),
        Cell::Text(r.segment.label(lang)),
        Cell::Text(t.abc.classes()[i].code()),
        Cell::Share(t.abc.cumulative_share()[i]),
    ]);
    if let Some(m) = master {
        match m.get(&c.customer_id) {
            Some(values) => row.extend(values.iter().map(|v| Cell::Text(v))),
            None => row.extend(m.attributes.iter().map(|_| Cell::Text(""))),
        }
    }
}

/// Writes `customers.csv`.
///
/// Rows are formatted in parallel, a group of blocks at a time, while a thread of its own
/// writes the group before (writing, and hashing what is written, is one stream: done after
/// the formatting, it ran on one core while the others waited).
pub fn write_customers_csv<W: Write + Send>(
    mut out: W,
    t: &Tiering,
    master: Option<&CustomerTable>,
    lang: Lang,
    text: CsvText,
) -> csv::Result<()> {
    use rayon::prelude::*;
    let mut w = CsvOut::new(&mut out, text);
    w.texts(customer_header(master))?;
    w.flush()?;
    drop(w);
    let n = t.features.customers.len();
    let block = 16_384;
    let starts: Vec<usize> = (0..n).step_by(block).collect();
    let group = 2 * rayon::current_num_threads().max(1);
    // each block's buffer made as large as the largest block so far at once, 128 bytes a row
    // before the first (grown a row at a time, a block of 2-3 MB was copied as it doubled, into
    // fresh pages each time)
    let largest = std::sync::atomic::AtomicUsize::new(0);
    let format = |&from: &usize| -> csv::Result<Vec<u8>> {
        use std::sync::atomic::Ordering::Relaxed;
        let to = (from + block).min(n);
        let guess = match largest.load(Relaxed) {
            0 => (to - from) * 128,
            bytes => bytes + bytes / 16,
        };
        let mut w = CsvOut::in_memory(guess, text);
        let mut row = Vec::new();
        for i in from..to {
            customer_cells(t, i, master, lang, &mut row);
            w.cells(&row)?;
        }
        let bytes = w.into_bytes();
        largest.fetch_max(bytes.len(), Relaxed);
        Ok(bytes)
    };
    std::thread::scope(|scope| {
        // one group waits while the next is formatted: at most three groups in memory
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Vec<u8>>>(1);
        let writer = scope.spawn(move || -> std::io::Result<W> {
            for blocks in rx {
                for b in blocks {
                    out.write_all(&b)?;
                }
            }
            Ok(out)
        });
        let formatted = (|| -> csv::Result<()> {
            for starts in starts.chunks(group) {
                let blocks = starts.par_iter().map(format).collect::<csv::Result<_>>()?;
                if tx.send(blocks).is_err() {
                    // the writer stopped: its error is the one to report
                    break;
                }
            }
            Ok(())
        })();
        drop(tx);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the customers.csv writer panicked")));
        // a write that failed (a full disk) is the cause of whatever followed
        written?.flush()?;
        formatted
    })
}

/// The columns of `segments.csv`.
pub const SEGMENT_COLUMNS: [&str; 14] = [
    "dimension",
    "code",
    "label",
    "customers",
    "customer_share",
    "revenue",
    "revenue_share",
    "mean_recency_days",
    "mean_frequency",
    "mean_monetary",
    "mean_r_score",
    "mean_f_score",
    "mean_m_score",
    "avg_order_value",
];

fn group_row<'a, K: Labelled>(
    dimension: &'a str,
    g: &GroupSummary<K>,
    lang: Lang,
) -> Vec<Cell<'a>> {
    vec![
        Cell::Text(dimension),
        Cell::Text(g.key.code()),
        Cell::Text(g.key.label(lang)),
        Cell::Int(g.customers as i64),
        Cell::Share(g.customer_share),
        Cell::Money(g.revenue),
        Cell::Share(g.revenue_share),
        Cell::Number(g.mean_recency),
        Cell::Number(g.mean_frequency),
        Cell::Number(g.mean_monetary),
        Cell::Number(g.mean_scores[0]),
        Cell::Number(g.mean_scores[1]),
        Cell::Number(g.mean_scores[2]),
        Cell::Number(g.avg_order_value),
    ]
}

/// Every row of `segments.csv`: the eight RFM classes, the named segments, the ABC classes.
pub fn segment_rows(t: &Tiering, lang: Lang) -> Vec<Vec<Cell<'_>>> {
    let classes = t.classes.iter().map(|g| group_row("rfm_class", g, lang));
    let segments = t.segments.iter().map(|g| group_row("segment", g, lang));
    let abc = t
        .abc_classes
        .iter()
        .map(|g| group_row("abc_class", g, lang));
    classes.chain(segments).chain(abc).collect()
}

/// Writes `segments.csv`.
pub fn write_segments_csv<W: Write>(
    out: W,
    t: &Tiering,
    lang: Lang,
    text: CsvText,
) -> csv::Result<()> {
    let mut w = CsvOut::new(out, text);
    w.texts(SEGMENT_COLUMNS)?;
    for row in segment_rows(t, lang) {
        w.cells(&row)?;
    }
    w.flush()?;
    Ok(())
}

/// The columns of `unscored.csv`.
pub const UNSCORED_COLUMNS: [&str; 5] = [
    "customer_id",
    "reason",
    "refunds",
    "refund_lines",
    "zero_amount_lines",
];

/// Writes `unscored.csv`: customers with lines but no purchase before the analysis date.
pub fn write_unscored_csv<W: Write>(out: W, t: &Tiering, text: CsvText) -> csv::Result<()> {
    let mut w = CsvOut::new(out, text);
    w.texts(UNSCORED_COLUMNS)?;
    for c in &t.features.no_purchase {
        w.cells(&[
            Cell::Text(&c.customer_id),
            Cell::Text("no_purchase_before_as_of"),
            Cell::Money(c.refunds),
            Cell::Int(c.refund_lines as i64),
            Cell::Int(c.zero_lines as i64),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Runs a workbook writer, turning a panic into an I/O error. `rust_xlsxwriter` panics when a
/// temporary file of a constant-memory worksheet cannot be written (a full disk, a quota):
/// the run must end with the OS error, not a panic or a hang.
pub(crate) fn catching_panics(
    write: impl FnOnce() -> Result<(), XlsxError>,
) -> Result<(), XlsxError> {
    crate::guard::catch(write)
        .unwrap_or_else(|message| Err(XlsxError::IoError(std::io::Error::other(message))))
}

/// Excel's limit on the characters in a cell.
const XLSX_MAX_CHARS: usize = 32_767;

/// The text cut to Excel's cell limit, with a marker; the CSV files keep it whole.
fn excel_text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().count() <= XLSX_MAX_CHARS {
        return std::borrow::Cow::Borrowed(s);
    }
    let cut: String = s.chars().take(XLSX_MAX_CHARS - 20).collect();
    std::borrow::Cow::Owned(format!("{cut}… [cut, see the CSV]"))
}

/// Excel's row limit less the header row: longer tables continue on further sheets.
pub(crate) const XLSX_MAX_ROWS: usize = 1_048_575;

pub(crate) struct Formats {
    pub(crate) header: Format,
    pub(crate) title: Format,
    money: Format,
    share: Format,
    number: Format,
    date: Format,
}

impl Formats {
    /// The workbook's formats: bold shaded header, thousands with two decimals, percentages,
    /// ISO dates.
    pub(crate) fn standard() -> Formats {
        Formats::with_currency("")
    }

    /// The standard formats, amounts with `symbol` before them (e.g. `¥#,##0.00`).
    pub(crate) fn with_currency(symbol: &str) -> Formats {
        // a literal in an Excel number format is quoted; quotes in it cannot be
        let symbol: String = symbol.chars().filter(|&c| c != '"').collect();
        let money = if symbol.is_empty() {
            "#,##0.00".to_string()
        } else {
            format!("\"{symbol}\"#,##0.00")
        };
        Formats {
            header: Format::new().set_bold().set_background_color("#DDEBF7"),
            title: Format::new().set_bold().set_font_size(12),
            money: Format::new().set_num_format(money),
            share: Format::new().set_num_format("0.00%"),
            number: Format::new().set_num_format("#,##0.00"),
            date: Format::new().set_num_format("yyyy-mm-dd"),
        }
    }
}

pub(crate) fn write_cell(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    cell: &Cell<'_>,
    f: &Formats,
) -> Result<(), XlsxError> {
    match cell {
        Cell::Text(s) => ws.write_string(row, col, excel_text(s)).map(|_| ()),
        Cell::Owned(s) => ws.write_string(row, col, excel_text(s)).map(|_| ()),
        Cell::Int(i) => ws.write_number(row, col, *i as f64).map(|_| ()),
        Cell::Money(m) => ws
            .write_number_with_format(row, col, m.to_f64(), &f.money)
            .map(|_| ()),
        Cell::Share(v) => ws
            .write_number_with_format(row, col, *v, &f.share)
            .map(|_| ()),
        Cell::Number(v) => ws
            .write_number_with_format(row, col, *v, &f.number)
            .map(|_| ()),
        Cell::Date(d) => {
            let dt = ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?;
            ws.write_datetime_with_format(row, col, &dt, &f.date)
                .map(|_| ())
        }
    }
}

/// Writes a workbook of one table (`sheet`, continued on `sheet (2)`, … past Excel's row
/// limit), with typed cells, a frozen header and filters.
pub fn write_table_xlsx<'c, R: AsRef<[Cell<'c>]>>(
    path: &std::path::Path,
    sheet: &str,
    header: &[String],
    rows: impl Iterator<Item = R>,
) -> Result<(), XlsxError> {
    crate::output::catching_panics(|| {
        let mut book = Workbook::new();
        book.set_zip_compression_level(1);
        write_table(&mut book, sheet, header, &[], rows, &Formats::standard())?;
        book.save(path)
    })
}

/// Writes one table to as many sheets as it needs (`name`, `name (2)`, …).
pub(crate) fn write_table<'c, R: AsRef<[Cell<'c>]>>(
    book: &mut Workbook,
    name: &str,
    header: &[String],
    widths: &[f64],
    rows: impl Iterator<Item = R>,
    f: &Formats,
) -> Result<(), XlsxError> {
    let mut rows = rows.peekable();
    let mut part = 1;
    loop {
        let ws = book.add_worksheet_with_constant_memory()?;
        ws.set_name(if part == 1 {
            name.to_string()
        } else {
            format!("{name} ({part})")
        })?;
        for (c, h) in header.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h, &f.header)?;
            let width = widths.get(c).copied().unwrap_or(14.0);
            ws.set_column_width(c as u16, width)?;
        }
        ws.set_freeze_panes(1, 0)?;
        let mut n = 0usize;
        while n < XLSX_MAX_ROWS {
            let Some(row) = rows.next() else { break };
            n += 1;
            for (c, cell) in row.as_ref().iter().enumerate() {
                write_cell(ws, n as u32, c as u16, cell, f)?;
            }
        }
        if !header.is_empty() {
            ws.autofilter(0, 0, n.max(1) as u32, (header.len() - 1) as u16)?;
        }
        if rows.peek().is_none() {
            return Ok(());
        }
        part += 1;
    }
}
