//! `stratum.xlsx`, the analyst's workbook: a summary sheet with the key figures, the tables
//! behind them and native Excel charts (the Pareto curve, the RFM classes, the named segments,
//! the final tiers, the churn bands), then the customers, segments, tiers, lifetime value,
//! one action list per account manager, data quality and rejects.
//!
//! Every table sheet has a frozen, filtered header row and set column widths; numbers are
//! numbers with formats (amounts with thousands separators and the currency symbol, shares as
//! percentages, dates as dates).

use std::cmp::Ordering;
use std::collections::HashSet;
use std::path::Path;

use rust_xlsxwriter::{
    Chart, ChartType, ConditionalFormat2ColorScale, Format, Workbook, Worksheet, XlsxError,
};
use stratum_core::clv::{ChurnBand, ValueTier};
use stratum_core::summary::GroupSummary;
use stratum_core::{Labelled, Lang, Money, Tiering};

use crate::clv::{CustomerPrediction, clv_header, clv_row};
use crate::history::{
    HistoryView, MatrixCell, RunRef, TIME_IN_TIER_BANDS, TIME_IN_TIER_DAYS, tier_label,
    time_band_names,
};
use crate::master::CustomerTable;
use crate::output::{
    Cell, CsvText, Formats, SEGMENT_COLUMNS, XLSX_MAX_ROWS, customer_header, customer_row,
    segment_rows, would_run_as_formula, write_cell, write_table,
};
use crate::quality::QualityReport;
use crate::tiers::{
    ACTION_COLUMNS, ACTION_WIDTHS, NameLimits, SchemeOutput, safe_name, tiers_header, tiers_row,
};

/// A column's header in `lang` (the CSV files keep the codes).
fn label(code: &str, lang: Lang) -> String {
    stratum_core::labels::column_label(code, lang).to_string()
}

/// How many customers the workbook's customer sheets hold (customers, tiers, lifetime value,
/// each account manager's action list) and how many rows its rejects sheet copies. Every
/// customer is always in `customers.csv` (and `tiers.csv`, `clv.csv`, `actions/*.csv`); a
/// workbook of a million customer rows is slow to write and to open, and Excel stops at
/// 1,048,576 rows a sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkbookRows {
    /// Every customer (long tables continue on further sheets).
    All,
    /// At most this many: all of them when there are no more, else the top ones by net
    /// revenue (ABC's ranking; by predicted value on the lifetime-value sheet, by priority
    /// on an action list).
    Top(usize),
}

impl WorkbookRows {
    /// The default: the top 10,000 customers.
    pub const DEFAULT: WorkbookRows = WorkbookRows::Top(10_000);

    /// `all` or a positive number of rows.
    pub fn parse(text: &str) -> Option<WorkbookRows> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("all") {
            return Some(WorkbookRows::All);
        }
        let n: usize = text.replace(['_', ','], "").parse().ok()?;
        (n > 0).then_some(WorkbookRows::Top(n))
    }

    /// The rows a table of `len` rows keeps.
    pub fn keep(self, len: usize) -> usize {
        match self {
            WorkbookRows::All => len,
            WorkbookRows::Top(n) => len.min(n),
        }
    }

    /// What the workbook leaves out of a run of `of` and where it is: `None` when it holds
    /// every customer and every rejected row.
    pub fn note(self, of: WorkbookOf, lang: Lang) -> Option<String> {
        let mut parts = Vec::new();
        let (kept, customers) = (self.keep(of.customers), of.customers);
        if self.cuts(customers) {
            parts.push(match lang {
                Lang::Zh => format!(
                    "工作簿列出净收入最高的 {kept} 位客户（共 {customers} 位）{}{}；全部客户见 customers.csv{}{}。",
                    if of.clv { "，客户价值表按预测价值列出" } else { "" },
                    if of.lists { format!("，每位经理的行动清单列出前 {kept} 位") } else { String::new() },
                    if of.lists { "、tiers.csv、actions/ 文件夹" } else { "" },
                    if of.clv { "、clv.csv" } else { "" },
                ),
                Lang::En => format!(
                    "This workbook lists the top {kept} of {customers} customers by net revenue{}{}; every customer is in customers.csv{}{}.",
                    if of.clv { " (by predicted value on the lifetime-value sheet)" } else { "" },
                    if of.lists { format!(" and the first {kept} of each manager's action list") } else { String::new() },
                    if of.lists { ", tiers.csv, the actions/ folder" } else { "" },
                    if of.clv { ", clv.csv" } else { "" },
                ),
            });
        }
        let (kept, rejects) = (self.keep(of.rejects), of.rejects);
        if self.cuts(rejects) {
            parts.push(match lang {
                Lang::Zh => format!("拒绝行表列出前 {kept} 行（共 {rejects} 行），全部见 rejects.csv。"),
                Lang::En => format!(
                    "The rejects sheet holds the first {kept} of {rejects} rejected rows; all are in rejects.csv."
                ),
            });
        }
        (!parts.is_empty()).then(|| parts.join(" "))
    }

    /// Whether a table of `len` rows is cut.
    pub fn cuts(self, len: usize) -> bool {
        self.keep(len) < len
    }

    /// The customers of `t` on the customer sheets, by index: all in id order, or when they
    /// are more than the limit, the top ones by net revenue, highest first.
    pub fn customers(self, t: &Tiering) -> Vec<u32> {
        let n = t.features.customers.len();
        if self.cuts(n) {
            t.abc.ranking()[..self.keep(n)].to_vec()
        } else {
            (0..n as u32).collect()
        }
    }
}

/// What a run has that the workbook may leave out, for [`WorkbookRows::note`].
#[derive(Debug, Clone, Copy)]
pub struct WorkbookOf {
    /// Scored customers.
    pub customers: usize,
    /// Rows of the rejects file.
    pub rejects: usize,
    /// Whether the run has action lists (a scheme).
    pub lists: bool,
    /// Whether the run has lifetime values.
    pub clv: bool,
}

/// What the workbook is made of.
#[derive(Debug)]
pub struct WorkbookInput<'a> {
    /// The tiers and features.
    pub tiering: &'a Tiering,
    /// Master data, joined to the customers sheet.
    pub master: Option<&'a CustomerTable>,
    /// The data-quality figures.
    pub quality: &'a QualityReport,
    /// The rejects file, copied into the rejects sheet.
    pub rejects_csv: &'a Path,
    /// How the rejects file was written: the `'` that [`CsvText::Safe`] puts before
    /// formula-like text is taken off again, since workbook cells are typed text.
    pub rejects_text: CsvText,
    /// Label language (sheet names, labels).
    pub lang: Lang,
    /// The currency symbol of the amount format (may be empty).
    pub currency: &'a str,
    /// The scheme's results: the tiers sheet.
    pub scheme: Option<&'a SchemeOutput<'a>>,
    /// The scheme's [`action_lists`](crate::tiers::action_lists), one sheet per manager.
    pub actions: &'a [(String, Vec<Vec<Cell<'a>>>)],
    /// The lifetime-value predictions and value tiers (same order).
    pub clv: Option<(&'a [CustomerPrediction<'a>], &'a [ValueTier])>,
    /// The lifetime-value model and its totals (its transaction model's churn assumption is
    /// stated beside the churn chart).
    pub clv_run: Option<&'a stratum_core::run::ClvRun>,
    /// The history of the store the run is kept in: the history sheet.
    pub history: Option<&'a crate::history::HistoryView>,
    /// How many customers the customer sheets hold.
    pub rows: WorkbookRows,
}

/// A table on the summary sheet, for a chart: where its rows are.
struct Placed {
    first_row: u32,
    last_row: u32,
}

/// Writes a titled table of (label, customers, customer share, revenue, revenue share) rows at
/// `row`; returns where its data rows are and the next free row.
fn group_block<K: Labelled>(
    ws: &mut Worksheet,
    row: u32,
    title: &str,
    groups: &[GroupSummary<K>],
    f: &Formats,
    lang: Lang,
) -> Result<(Placed, u32), XlsxError> {
    let rows: Vec<Vec<Cell<'_>>> = groups
        .iter()
        .map(|g| {
            vec![
                Cell::Text(g.key.label(lang)),
                Cell::Int(g.customers as i64),
                Cell::Share(g.customer_share),
                Cell::Money(g.revenue),
                Cell::Share(g.revenue_share),
            ]
        })
        .collect();
    share_block(ws, row, title, &rows, f, lang)
}

fn share_block(
    ws: &mut Worksheet,
    row: u32,
    title: &str,
    rows: &[Vec<Cell<'_>>],
    f: &Formats,
    lang: Lang,
) -> Result<(Placed, u32), XlsxError> {
    ws.write_string_with_format(row, 0, title, &f.title)?;
    let header = [
        lang.pick("名称", "name"),
        lang.pick("客户数", "customers"),
        lang.pick("客户占比", "customer share"),
        lang.pick("收入", "revenue"),
        lang.pick("收入占比", "revenue share"),
    ];
    for (c, h) in header.iter().enumerate() {
        ws.write_string_with_format(row + 1, c as u16, *h, &f.header)?;
    }
    for (r, cells) in rows.iter().enumerate() {
        for (c, cell) in cells.iter().enumerate() {
            write_cell(ws, row + 2 + r as u32, c as u16, cell, f)?;
        }
    }
    let first_row = row + 2;
    let last_row = first_row + rows.len().max(1) as u32 - 1;
    Ok((
        Placed {
            first_row,
            last_row,
        },
        last_row + 2,
    ))
}

/// A bar chart of the customer and revenue shares of a placed table.
fn share_chart(sheet: &str, p: &Placed, title: &str, lang: Lang) -> Chart {
    let mut chart = Chart::new(ChartType::Bar);
    chart.title().set_name(title);
    for (col, name) in [
        (2u16, lang.pick("客户占比", "share of customers")),
        (4u16, lang.pick("收入占比", "share of revenue")),
    ] {
        chart
            .add_series()
            .set_name(name)
            .set_categories((sheet, p.first_row, 0, p.last_row, 0))
            .set_values((sheet, p.first_row, col, p.last_row, col));
    }
    // in a bar chart the y axis holds the categories: top to bottom in table order
    chart.y_axis().set_reverse();
    chart.x_axis().set_num_format("0%");
    chart.set_width(620).set_height(320);
    chart
}

/// Writes `stratum.xlsx`.
pub fn write_workbook(path: &Path, w: &WorkbookInput<'_>) -> Result<(), XlsxError> {
    crate::output::catching_panics(|| build_workbook(path, w))
}

fn build_workbook(path: &Path, w: &WorkbookInput<'_>) -> Result<(), XlsxError> {
    let lang = w.lang;
    let t = w.tiering;
    let mut book = Workbook::new();
    // Level 1 deflate: about half the time of the default level 6 on large tables, for a
    // somewhat larger file.
    book.set_zip_compression_level(1);
    let f = Formats::with_currency(w.currency);
    // The rejects sheet is the rejects file as written, as text.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(w.rejects_csv)
        .map_err(|e| {
            XlsxError::ParameterError(format!("cannot read `{}`: {e}", w.rejects_csv.display()))
        })?;
    let rejects_header: Vec<String> = crate::rejects::REJECTS_HEADER
        .iter()
        .map(|s| label(s, lang))
        .collect();
    // the rejects sheet copies the first rows only when the workbook's rows are limited
    let mut records = Vec::new();
    let mut record = csv::ByteRecord::new();
    let rejects = w.quality.rejected_rows() as usize;
    while records.len() < w.rows.keep(rejects)
        && reader
            .read_byte_record(&mut record)
            .map_err(|e| XlsxError::ParameterError(e.to_string()))?
    {
        records.push(record.clone());
    }
    // the fixed sheets are named first, with the continuation sheets of long tables
    // ("customers (2)"), so an account manager named like one gets a suffix instead
    let mut taken: HashSet<String> = HashSet::new();
    let shown = w.rows.customers(t);
    let n = shown.len();
    let name = |base: &str, rows: usize, taken: &mut HashSet<String>| {
        let name = safe_name(base, taken, NameLimits::SHEET);
        for part in 2..=rows.div_ceil(XLSX_MAX_ROWS) {
            taken.insert(format!("{name} ({part})").to_lowercase());
        }
        name
    };
    let summary = name(lang.pick("摘要", "summary"), 0, &mut taken);
    let history_sheet = w
        .history
        .map(|_| name(lang.pick("历史", "history"), 0, &mut taken));
    let customers_sheet = name(lang.pick("客户", "customers"), n, &mut taken);
    let segments_sheet = name(lang.pick("分群", "segments"), 0, &mut taken);
    let tiers_sheet = w
        .scheme
        .map(|_| name(lang.pick("等级", "tiers"), n, &mut taken));
    let clv_sheet = w.clv.map(|(rows, _)| {
        name(
            lang.pick("客户价值", "clv"),
            w.rows.keep(rows.len()),
            &mut taken,
        )
    });
    let quality_sheet = name(lang.pick("数据质量", "quality"), 0, &mut taken);
    let rejects_sheet = name(lang.pick("拒绝行", "rejects"), records.len(), &mut taken);
    let of = WorkbookOf {
        customers: t.features.customers.len(),
        rejects,
        lists: w.scheme.is_some(),
        clv: w.clv.is_some(),
    };
    summary_sheet(&mut book, &summary, w, of, &f)?;
    if let (Some(h), Some(sheet)) = (w.history, &history_sheet) {
        history_sheet_of(&mut book, sheet, h, w, &f)?;
    }

    // headers in the report's language; the master data's own headers as they are
    let fixed = crate::output::CUSTOMER_COLUMNS.len();
    let header: Vec<String> = customer_header(w.master)
        .into_iter()
        .enumerate()
        .map(|(c, h)| if c < fixed { label(&h, lang) } else { h })
        .collect();
    let mut widths = vec![14.0; header.len()];
    widths[0] = 16.0;
    widths[15] = 22.0;
    widths[17] = 22.0;
    let rows = shown
        .iter()
        .map(|&i| customer_row(t, i as usize, w.master, lang));
    write_table(&mut book, &customers_sheet, &header, &widths, rows, &f)?;

    let header: Vec<String> = SEGMENT_COLUMNS.iter().map(|s| label(s, lang)).collect();
    let rows = segment_rows(t, lang).into_iter();
    write_table(
        &mut book,
        &segments_sheet,
        &header,
        &[12.0, 24.0, 24.0],
        rows,
        &f,
    )?;

    if let (Some(o), Some(sheet)) = (w.scheme, &tiers_sheet) {
        // a dimension's column is headed by its label
        let header: Vec<String> = tiers_header(o)
            .iter()
            .map(
                |h| match o.scheme.dimensions.iter().find(|d| d.name == *h) {
                    Some(d) => d.label.pick(lang, &d.name).to_string(),
                    None => label(h, lang),
                },
            )
            .collect();
        let mut widths = vec![14.0; header.len()];
        widths[0] = 16.0;
        write_table(
            &mut book,
            sheet,
            &header,
            &widths,
            shown.iter().map(|&i| tiers_row(o, i as usize)),
            &f,
        )?;
    }
    if let (Some((rows, tiers)), Some(sheet)) = (w.clv, &clv_sheet) {
        // when cut, the top customers by predicted value (unusable predictions last)
        let mut order: Vec<usize> = (0..rows.len()).collect();
        if w.rows.cuts(rows.len()) {
            let value = |k: usize| Some(rows[k].prediction.clv).filter(|v| v.is_finite());
            order.sort_by(|&a, &b| value(b).partial_cmp(&value(a)).unwrap_or(Ordering::Equal));
            order.truncate(w.rows.keep(rows.len()));
        }
        let cells = order.iter().map(|&k| clv_row(&rows[k], tiers[k], lang));
        let header: Vec<String> = clv_header().iter().map(|h| label(h, lang)).collect();
        write_table(&mut book, sheet, &header, &[16.0], cells, &f)?;
    }
    let header: Vec<String> = ACTION_COLUMNS.iter().map(|s| label(s, lang)).collect();
    for (manager, rows) in w.actions {
        let rows = &rows[..w.rows.keep(rows.len())];
        let sheet = name(manager, rows.len(), &mut taken);
        write_table(&mut book, &sheet, &header, &ACTION_WIDTHS, rows.iter(), &f)?;
    }

    let header = vec![
        lang.pick("指标", "measure").to_string(),
        lang.pick("数值", "value").to_string(),
    ];
    let lines = w.quality.lines(lang);
    let rows = lines
        .iter()
        .map(|(k, v)| vec![Cell::Text(k), Cell::Text(v)]);
    write_table(&mut book, &quality_sheet, &header, &[40.0, 60.0], rows, &f)?;

    let rows = records.iter().map(|r| {
        r.iter()
            .map(|f| {
                let text = String::from_utf8_lossy(f);
                let shown = match text.strip_prefix('\'') {
                    Some(rest) if w.rejects_text == CsvText::Safe && would_run_as_formula(rest) => {
                        rest
                    }
                    _ => &text,
                };
                Cell::Owned(shown.to_string())
            })
            .collect::<Vec<_>>()
    });
    write_table(
        &mut book,
        &rejects_sheet,
        &rejects_header,
        &[18.0, 8.0, 20.0, 14.0, 18.0, 50.0, 60.0],
        rows,
        &f,
    )?;
    book.save(path)
}

/// The summary sheet: key figures, the tables behind the charts, the charts.
fn summary_sheet(
    book: &mut Workbook,
    sheet: &str,
    w: &WorkbookInput<'_>,
    of: WorkbookOf,
    f: &Formats,
) -> Result<(), XlsxError> {
    let lang = w.lang;
    let t = w.tiering;
    let q = w.quality;
    let ws = book.add_worksheet();
    ws.set_name(sheet)?;
    ws.set_column_width(0, 30.0)?;
    ws.set_column_width(1, 14.0)?;
    ws.set_column_width(2, 14.0)?;
    ws.set_column_width(3, 18.0)?;
    ws.set_column_width(4, 14.0)?;
    let big = Format::new().set_bold().set_font_size(16);
    ws.write_string_with_format(
        0,
        0,
        lang.pick("客户分级摘要", "Customer tiering summary"),
        &big,
    )?;
    let file = q.file_name();
    ws.write_string(
        1,
        0,
        format!("{file} · {} {}", lang.pick("分析日期", "as of"), q.as_of),
    )?;

    let customers = &t.features.customers;
    let c = &q.transactions.counts;
    let mut figures: Vec<(&str, Cell<'_>)> = vec![
        (
            lang.pick("已评分客户", "customers scored"),
            Cell::Int(q.customers as i64),
        ),
        (
            lang.pick("工作簿中的客户", "customers in this workbook"),
            Cell::Int(w.rows.keep(of.customers) as i64),
        ),
        (
            lang.pick("净收入", "net revenue"),
            Cell::Money(q.scored_revenue),
        ),
    ];
    if let (Some(a), Some(b)) = (
        customers.iter().map(|c| c.first_purchase).min(),
        customers.iter().map(|c| c.last_purchase).max(),
    ) {
        figures.push((lang.pick("首次购买", "first purchase"), Cell::Date(a)));
        figures.push((lang.pick("最近购买", "last purchase"), Cell::Date(b)));
    }
    figures.extend([
        (lang.pick("分析日期", "as-of date"), Cell::Date(q.as_of)),
        (
            lang.pick("前 20% 客户的收入占比", "revenue share of the top 20%"),
            Cell::Share(q.pareto.top20_revenue_share),
        ),
        (
            lang.pick("读取行数", "rows read"),
            Cell::Int(c.rows_read as i64),
        ),
        (
            lang.pick("拒绝行数", "rows rejected"),
            Cell::Int(c.rejected as i64),
        ),
        (
            lang.pick("拒绝率", "reject rate"),
            Cell::Share(c.reject_rate()),
        ),
        (
            lang.pick("重复行（已去除）", "duplicate rows dropped"),
            Cell::Int(c.duplicates as i64),
        ),
    ]);
    if let Some(c) = w.clv_run {
        // the usable predictions only, as the run counted them for every output
        let total = Money::from_f64(c.total.total_clv).unwrap_or(Money::ZERO);
        figures.push((
            lang.pick("预测客户价值合计", "predicted value (CLV), total"),
            Cell::Money(total.round_cents()),
        ));
        figures.push((
            lang.pick("高流失风险客户", "customers at high churn risk"),
            Cell::Int(c.total.high_risk() as i64),
        ));
    }
    ws.write_string_with_format(3, 0, lang.pick("关键指标", "Key figures"), &f.title)?;
    for (r, (label, value)) in figures.iter().enumerate() {
        let row = 4 + r as u32;
        ws.write_string(row, 0, *label)?;
        write_cell(ws, row, 1, value, f)?;
    }
    let mut row = 4 + figures.len() as u32 + 1;
    if let Some(note) = w.rows.note(of, lang) {
        ws.write_string(row, 0, note)?;
        row += 2;
    }

    let mut charts: Vec<Chart> = Vec::new();
    let title = lang.pick("RFM 八类", "RFM classes");
    let (p, next) = group_block(ws, row, title, &t.classes, f, lang)?;
    charts.push(share_chart(sheet, &p, title, lang));
    row = next;
    let title = lang.pick("RFM 分群", "RFM segments");
    let (p, next) = group_block(ws, row, title, &t.segments, f, lang)?;
    charts.push(share_chart(sheet, &p, title, lang));
    row = next;
    let (_, next) = group_block(
        ws,
        row,
        lang.pick("ABC 分类", "ABC classes"),
        &t.abc_classes,
        f,
        lang,
    )?;
    row = next;
    if let Some(o) = w.scheme {
        let d = o.scheme.final_dimension;
        let dim = &o.scheme.dimensions[d];
        let counts = o.tier_totals(d);
        let rows: Vec<Vec<Cell<'_>>> = dim
            .tiers
            .iter()
            .zip(counts)
            .map(|(tier, t)| {
                vec![
                    Cell::Text(tier.label.pick(lang, &tier.name)),
                    Cell::Int(t.customers as i64),
                    Cell::Share(t.customer_share),
                    Cell::Money(t.revenue),
                    Cell::Share(t.revenue_share),
                ]
            })
            .collect();
        let title = dim.label.pick(lang, &dim.name).to_string();
        let (p, next) = share_block(ws, row, &title, &rows, f, lang)?;
        charts.push(share_chart(sheet, &p, &title, lang));
        row = next;
    }
    if let Some(c) = w.clv_run {
        let title = lang.pick("流失风险", "Churn risk");
        ws.write_string_with_format(row, 0, title, &f.title)?;
        ws.write_string_with_format(row + 1, 0, lang.pick("流失风险", "churn band"), &f.header)?;
        ws.write_string_with_format(row + 1, 1, lang.pick("客户数", "customers"), &f.header)?;
        for (k, (band, count)) in ChurnBand::ALL.iter().zip(c.total.bands).enumerate() {
            ws.write_string(row + 2 + k as u32, 0, band.label(lang))?;
            ws.write_number(row + 2 + k as u32, 1, count as f64)?;
        }
        let mut chart = Chart::new(ChartType::Doughnut);
        chart.title().set_name(title);
        chart
            .add_series()
            .set_name(lang.pick("客户数", "customers"))
            .set_categories((sheet, row + 2, 0, row + 4, 0))
            .set_values((sheet, row + 2, 1, row + 4, 1))
            .set_point_colors(&["#0072B2", "#E69F00", "#D55E00"]);
        chart.set_width(620).set_height(320);
        charts.push(chart);
        if let Some(kind) = w.clv_run.map(|c| c.model.params().model()) {
            ws.write_string(row + 5, 0, kind.assumption(lang))?;
        }
        row += 7;
    }
    // the Pareto curve: cumulative revenue share at each percent of customers
    ws.write_string_with_format(
        row,
        0,
        lang.pick("帕累托曲线数据", "Pareto curve data"),
        &f.title,
    )?;
    ws.write_string_with_format(
        row + 1,
        0,
        lang.pick(
            "客户占比（按收入从高到低）",
            "share of customers, largest first",
        ),
        &f.header,
    )?;
    ws.write_string_with_format(
        row + 1,
        1,
        lang.pick("累计收入占比", "cumulative revenue share"),
        &f.header,
    )?;
    let curve = w.tiering.pareto_curve(100);
    for (k, (x, y)) in curve.iter().enumerate() {
        write_cell(ws, row + 2 + k as u32, 0, &Cell::Share(*x), f)?;
        write_cell(ws, row + 2 + k as u32, 1, &Cell::Share(*y), f)?;
    }
    let (first, last) = (row + 2, row + 2 + curve.len() as u32 - 1);
    let mut chart = Chart::new(ChartType::ScatterStraight);
    chart
        .title()
        .set_name(lang.pick("帕累托曲线", "Pareto curve"));
    chart
        .add_series()
        .set_name(lang.pick("累计收入占比", "cumulative revenue share"))
        .set_categories((sheet, first, 0, last, 0))
        .set_values((sheet, first, 1, last, 1));
    chart
        .x_axis()
        .set_name(lang.pick("客户占比", "share of customers"))
        .set_num_format("0%")
        .set_min(0)
        .set_max(1);
    chart
        .y_axis()
        .set_name(lang.pick("收入占比", "share of revenue"))
        .set_num_format("0%")
        .set_min(0)
        .set_max(1);
    chart.legend().set_hidden();
    chart.set_width(620).set_height(320);
    charts.insert(0, chart);

    for (k, chart) in charts.iter().enumerate() {
        ws.insert_chart(1 + 17 * k as u32, 6, chart)?;
    }
    Ok(())
}

/// A matrix cell's value by column.
type CellOf<'a> = dyn Fn(usize, &MatrixCell) -> Cell<'static> + 'a;

/// The history sheet: tier sizes per run, the migration matrix of the last two runs
/// (customers and revenue, shaded), time in tier and the biggest moves, with native charts of
/// the tier sizes (stacked columns) and the time in tier (stacked bars).
fn history_sheet_of(
    book: &mut Workbook,
    sheet: &str,
    h: &HistoryView,
    w: &WorkbookInput<'_>,
    f: &Formats,
) -> Result<(), XlsxError> {
    let lang = w.lang;
    let scheme = w.scheme.map(|o| o.scheme);
    let label = |t: &str| tier_label(scheme, &h.dimension, t, lang);
    let run_name = |r: &RunRef| match r.id {
        Some(id) => format!("#{id} {}", r.as_of),
        None => format!("{} {}", lang.pick("本次", "this run"), r.as_of),
    };
    let ws = book.add_worksheet();
    ws.set_name(sheet)?;
    ws.set_column_width(0, 22.0)?;
    let big = Format::new().set_bold().set_font_size(16);
    ws.write_string_with_format(0, 0, lang.pick("历史与迁移", "History and moves"), &big)?;
    ws.write_string(
        1,
        0,
        format!(
            "{} {} · {} {}",
            lang.pick("维度", "dimension"),
            h.dimension,
            lang.pick("已保存的运行", "runs kept"),
            h.runs_in_store
        ),
    )?;
    let header = |ws: &mut Worksheet, row: u32, cells: &[String]| -> Result<(), XlsxError> {
        for (c, text) in cells.iter().enumerate() {
            ws.write_string_with_format(row, c as u16, text, &f.header)?;
        }
        Ok(())
    };
    let mut charts: Vec<Chart> = Vec::new();

    // tier sizes per run
    let mut row = 3;
    ws.write_string_with_format(
        row,
        0,
        lang.pick("各次运行的等级客户数", "Customers per tier in each run"),
        &f.title,
    )?;
    let mut head = vec![lang.pick("运行", "run").to_string()];
    head.extend(h.tiers.iter().map(|t| label(t)));
    head.push(lang.pick("收入", "revenue").to_string());
    header(ws, row + 1, &head)?;
    let first = row + 2;
    for (k, run) in h.runs.iter().enumerate() {
        let r = first + k as u32;
        ws.write_string(r, 0, run_name(&run.run))?;
        for (t, (customers, _)) in run.tiers.iter().enumerate() {
            write_cell(ws, r, 1 + t as u16, &Cell::Int(*customers as i64), f)?;
        }
        let revenue: Money = run.tiers.iter().map(|x| x.1).sum();
        write_cell(ws, r, 1 + h.tiers.len() as u16, &Cell::Money(revenue), f)?;
    }
    let last = first + h.runs.len().max(1) as u32 - 1;
    let mut chart = Chart::new(ChartType::ColumnStacked);
    chart
        .title()
        .set_name(lang.pick("各等级客户数的变化", "Tier sizes over time"));
    for t in 0..h.tiers.len() {
        let col = 1 + t as u16;
        chart
            .add_series()
            .set_name((sheet, row + 1, col))
            .set_categories((sheet, first, 0, last, 0))
            .set_values((sheet, first, col, last, col));
    }
    chart.set_width(620).set_height(320);
    charts.push(chart);
    row = last + 2;

    // the migration matrix, customers then revenue
    if let Some(m) = &h.matrix {
        let rows: Vec<String> = m
            .rows
            .iter()
            .map(|t| {
                t.as_deref()
                    .map_or_else(|| lang.pick("（新客户）", "(new)").to_string(), label)
            })
            .collect();
        let columns: Vec<String> = m
            .columns
            .iter()
            .map(|t| {
                t.as_deref()
                    .map_or_else(|| lang.pick("（流失）", "(lost)").to_string(), label)
            })
            .collect();
        let title = format!(
            "{} {} → {}",
            lang.pick("迁移矩阵", "Migration matrix"),
            run_name(&m.from),
            run_name(&m.to)
        );
        let blocks: [(&str, &CellOf<'_>); 2] = [
            (lang.pick("客户数", "customers"), &|_, x| {
                Cell::Int(x.customers as i64)
            }),
            (
                lang.pick(
                    "收入（本次；流失客户为上次）",
                    "revenue (later run; the earlier one's for lost customers)",
                ),
                &|c, x| {
                    Cell::Money(if m.columns[c].is_none() {
                        x.revenue_from
                    } else {
                        x.revenue_to
                    })
                },
            ),
        ];
        for (what, value) in blocks {
            ws.write_string_with_format(row, 0, format!("{title}: {what}"), &f.title)?;
            let mut head = vec![lang.pick("之前 \\ 之后", "before \\ after").to_string()];
            head.extend(columns.iter().cloned());
            header(ws, row + 1, &head)?;
            let first = row + 2;
            for (r, cells) in m.cells.iter().enumerate() {
                ws.write_string(first + r as u32, 0, &rows[r])?;
                for (c, x) in cells.iter().enumerate() {
                    write_cell(ws, first + r as u32, 1 + c as u16, &value(c, x), f)?;
                }
            }
            let last = first + m.rows.len().max(1) as u32 - 1;
            let scale = ConditionalFormat2ColorScale::new()
                .set_minimum_color("#FFFFFF")
                .set_maximum_color("#56B4E9");
            ws.add_conditional_format(first, 1, last, columns.len().max(1) as u16, &scale)?;
            row = last + 2;
        }
        let [up, stable, down] = m.shares();
        for (k, (name, share, n)) in [
            (lang.pick("升级", "moved up"), up, m.counts[0]),
            (lang.pick("不变", "stayed"), stable, m.counts[1]),
            (lang.pick("降级", "moved down"), down, m.counts[2]),
        ]
        .into_iter()
        .enumerate()
        {
            let r = row + k as u32;
            ws.write_string(r, 0, name)?;
            write_cell(ws, r, 1, &Cell::Int(n as i64), f)?;
            write_cell(ws, r, 2, &Cell::Share(share), f)?;
        }
        ws.write_string(row + 3, 0, lang.pick("新客户", "new"))?;
        write_cell(ws, row + 3, 1, &Cell::Int(m.new_and_lost[0] as i64), f)?;
        ws.write_string(row + 4, 0, lang.pick("流失", "lost"))?;
        write_cell(ws, row + 4, 1, &Cell::Int(m.new_and_lost[1] as i64), f)?;
        row += 6;
    }

    // time in tier
    if !h.time_in_tier.is_empty() {
        ws.write_string_with_format(
            row,
            0,
            lang.pick(
                "在当前等级的时长（客户数）",
                "Time in the current tier (customers)",
            ),
            &f.title,
        )?;
        let mut head = vec![
            lang.pick("等级", "tier").to_string(),
            lang.pick("客户数", "customers").to_string(),
        ];
        let bands = time_band_names(lang);
        head.extend(bands.iter().cloned());
        head.push(lang.pick("中位天数", "median days").to_string());
        header(ws, row + 1, &head)?;
        let first = row + 2;
        for (k, t) in h.time_in_tier.iter().enumerate() {
            let r = first + k as u32;
            ws.write_string(r, 0, label(&t.tier))?;
            write_cell(ws, r, 1, &Cell::Int(t.customers as i64), f)?;
            for (b, n) in t.bands.iter().enumerate() {
                write_cell(ws, r, 2 + b as u16, &Cell::Int(*n as i64), f)?;
            }
            let c = 2 + t.bands.len() as u16;
            let over = TIME_IN_TIER_DAYS[2];
            let median = if t.median_days > over {
                Cell::Owned(format!("> {over}"))
            } else {
                Cell::Int(t.median_days)
            };
            write_cell(ws, r, c, &median, f)?;
        }
        let last = first + h.time_in_tier.len() as u32 - 1;
        let mut chart = Chart::new(ChartType::BarStacked);
        chart
            .title()
            .set_name(lang.pick("在当前等级的时长", "Time in the current tier"));
        for b in 0..bands.len() {
            let col = 2 + b as u16;
            chart
                .add_series()
                .set_name((sheet, row + 1, col))
                .set_categories((sheet, first, 0, last, 0))
                .set_values((sheet, first, col, last, col));
        }
        chart.y_axis().set_reverse();
        chart.set_width(620).set_height(320);
        charts.push(chart);
        row = last + 2;
    }

    // the biggest moves
    for (title, list) in h.mover_lists(lang) {
        if list.is_empty() {
            continue;
        }
        ws.write_string_with_format(row, 0, title, &f.title)?;
        let head: Vec<String> = [
            lang.pick("客户", "customer"),
            lang.pick("之前", "from"),
            lang.pick("之后", "to"),
            lang.pick("之前收入", "revenue before"),
            lang.pick("之后收入", "revenue after"),
            lang.pick("原因", "why"),
        ]
        .map(String::from)
        .to_vec();
        header(ws, row + 1, &head)?;
        for (k, x) in list.iter().enumerate() {
            let r = row + 2 + k as u32;
            let tier = |t: &Option<String>| t.as_deref().map_or_else(String::new, label);
            write_cell(ws, r, 0, &Cell::Text(&x.customer_id), f)?;
            write_cell(ws, r, 1, &Cell::Owned(tier(&x.from)), f)?;
            write_cell(ws, r, 2, &Cell::Owned(tier(&x.to)), f)?;
            write_cell(ws, r, 3, &Cell::Money(x.monetary_from), f)?;
            write_cell(ws, r, 4, &Cell::Money(x.monetary_to), f)?;
            write_cell(ws, r, 5, &Cell::Text(&x.why), f)?;
        }
        row += 2 + list.len() as u32 + 1;
    }
    let right = 2 + h.tiers.len().max(TIME_IN_TIER_BANDS + 2) as u16 + 1;
    for (k, chart) in charts.iter().enumerate() {
        ws.insert_chart(1 + 17 * k as u32, right, chart)?;
    }
    Ok(())
}
