//! The report: one self-contained HTML file (styles and SVG charts inline, no scripts, no
//! network) that opens offline in any browser, prints to PDF, and reads in Chinese or English.
//!
//! A report is a list of [`Section`]s of [`Block`]s (headline figures, charts, tables, notes),
//! built from the results by [`build`] and written as HTML by [`html`]. Sections appear only
//! for what the run computed: scheme tiers with a scheme, clusters with a `[cluster]` section,
//! lifetime value with `--clv`.

pub(crate) mod chart;
mod sections;

use std::fmt::Write;

use stratum_core::Lang;
use stratum_core::Tiering;
use stratum_core::cluster::Clustering;
use stratum_core::run::ClvRun;
use stratum_core::validate::Validation;

use crate::history::HistoryView;
use crate::quality::QualityReport;
use crate::tiers::SchemeOutput;
use chart::esc;

pub use sections::{build, funnel_section, history_section, preview as preview_sections};

/// Everything a report is made of.
#[derive(Debug)]
pub struct ReportInput<'a> {
    /// The tiers and features.
    pub tiering: &'a Tiering,
    /// The data-quality figures.
    pub quality: &'a QualityReport,
    /// Label language.
    pub lang: Lang,
    /// The currency symbol put before amounts (may be empty).
    pub currency: &'a str,
    /// The scheme's results, when a scheme ran.
    pub scheme: Option<&'a SchemeOutput<'a>>,
    /// The clusters and each cluster's revenue share, when clustering ran.
    pub clusters: Option<(&'a Clustering, &'a [f64])>,
    /// The validations: (segmentation name, result).
    pub validations: &'a [(String, Validation)],
    /// The sales funnel's summary, when opportunities were given.
    pub funnel: Option<&'a stratum_core::funnel::FunnelSummary>,
    /// The account managers' scorecards of the last whole quarter, when the store has them.
    pub scorecards: Option<&'a ReportTable>,
    /// The lifetime-value model and its predictions, when fitted.
    pub clv: Option<&'a ClvRun>,
    /// How many high-value customers at risk to list.
    pub top: usize,
    /// The ABC cut points (cumulative revenue shares ending classes A and B).
    pub abc_cuts: (f64, f64),
    /// Whether the RFM scores are quantiles (else fixed thresholds).
    pub rfm_quantiles: bool,
    /// The program and version, for the footer.
    pub generator: &'a str,
    /// The history of the store's runs, when the run is kept in one (`--db`).
    pub history: Option<&'a HistoryView>,
}

/// A table made elsewhere for the report (the scorecards, from the store): its title, a note
/// under it, its header and rows as display text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReportTable {
    /// The heading.
    pub title: String,
    /// What the figures mean.
    pub note: String,
    /// The column headings.
    pub header: Vec<String>,
    /// The rows.
    pub rows: Vec<Vec<String>>,
}

/// A part of the report with its own heading and table-of-contents entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// The anchor id.
    pub id: &'static str,
    /// The heading.
    pub title: String,
    /// The content.
    pub blocks: Vec<Block>,
}

/// A piece of a section.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Headline figures: (label, value, note).
    Figures(Vec<(String, String, String)>),
    /// A sub-heading.
    Heading(String),
    /// A paragraph.
    Text(String),
    /// A chart: its SVG and caption.
    Chart {
        /// The SVG element.
        svg: String,
        /// The caption under it.
        caption: String,
    },
    /// A table; cells are display text, numbers right-aligned.
    Table(Table),
    /// A list of remarks (warnings, notes).
    Notes(Vec<String>),
}

/// A table of display text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// The column headings.
    pub header: Vec<String>,
    /// The rows.
    pub rows: Vec<Vec<String>>,
    /// Per cell, a background shade in 0..=1 (a heat table) where given.
    pub shade: Option<Vec<Vec<f64>>>,
    /// A row to highlight (e.g. the chosen K).
    pub highlight: Option<usize>,
}

/// The page's styles: system fonts with CJK fallbacks, print rules.
const STYLE: &str = r#"
:root{--ink:#1f2933;--muted:#52606d;--line:#d9e2ec;--accent:#0072B2;--bg:#f5f7fa}
*{box-sizing:border-box}
body{margin:0;color:var(--ink);background:#fff;font:14px/1.5 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei",sans-serif}
header{background:var(--accent);color:#fff;padding:24px 32px}
header h1{margin:0 0 4px;font-size:26px}
header p{margin:0;opacity:.9}
nav{padding:8px 32px;background:var(--bg);border-bottom:1px solid var(--line);font-size:13px}
nav a{color:var(--accent);margin-right:14px;text-decoration:none;white-space:nowrap}
main{max-width:1100px;margin:0 auto;padding:8px 32px 32px}
section{margin-top:28px;border-top:2px solid var(--line);padding-top:8px}
h2{font-size:20px;margin:8px 0 12px}
h3{font-size:15px;margin:20px 0 8px;color:var(--muted)}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:10px}
.figure{background:var(--bg);border-radius:6px;padding:10px 14px}
.figure .label{font-size:12px;color:var(--muted)}
.figure .value{font-size:22px;font-weight:600}
.figure .note{font-size:12px;color:var(--muted)}
figure{margin:12px 0;break-inside:avoid;page-break-inside:avoid}
figcaption{font-size:12px;color:var(--muted);margin-top:4px}
svg.chart{max-width:100%;height:auto;display:block}
svg text{font-size:12px;fill:var(--ink)}
svg .tick{font-size:11px;fill:var(--muted)}
svg .axis{font-size:12px;fill:var(--muted)}
svg .value,svg .note,svg .legend{font-size:11px}
svg .inbar{font-size:11px;fill:#fff}
svg .mark{font-size:13px;font-weight:600}
svg .cell{font-size:11px;fill:#1f2933}
svg .cell.light{fill:#fff}
svg .grid{stroke:#e4e7eb;stroke-width:1}
svg .axisline{stroke:#9aa5b1;stroke-width:1}
svg .diagonal{stroke:#9aa5b1;stroke-dasharray:4 4}
svg .cut{stroke:#D55E00;stroke-dasharray:6 3;stroke-width:1.5}
svg .markline{stroke:#D55E00;stroke-dasharray:2 3}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;margin:8px 0;font-size:13px;break-inside:auto}
th,td{border-bottom:1px solid var(--line);padding:4px 10px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.num{white-space:nowrap}
td.wide{min-width:14em}
tr.highlight td{background:#fff3cd}
tr{break-inside:avoid;page-break-inside:avoid}
ul.notes{margin:6px 0;padding-left:20px;color:var(--muted)}
footer{max-width:1100px;margin:0 auto;padding:16px 32px 40px;color:var(--muted);font-size:12px}
@media print{
  @page{size:A4;margin:14mm}
  body{font-size:11px}
  header{background:none;color:var(--ink);padding:0 0 8px;border-bottom:2px solid var(--accent)}
  nav{display:none}
  main{max-width:none;padding:0}
  section{break-before:auto}
  h2{break-after:avoid}
  .figure{border:1px solid var(--line)}
  td.shade{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  /* every table fits the A4 page's width: no scrolling, long text wraps, smaller type */
  .table-wrap{overflow:visible}
  table{width:100%;font-size:10px;line-height:1.35}
  th,td{padding:2px 4px;overflow-wrap:break-word}
  td.wide{min-width:0;overflow-wrap:anywhere}
  td.num{white-space:nowrap}
}
/* Chinese headers and short cells (labels, names) break between words, at the spaces and
   punctuation in them, not inside one; long texts wrap anywhere */
:lang(zh) th,:lang(zh) td:not(.wide){word-break:keep-all}
"#;

/// Whether a cell is a number (right-aligned): digits with separators, signs, units.
fn numeric(cell: &str) -> bool {
    let t = cell.trim();
    !t.is_empty()
        && t.chars().any(|c| c.is_ascii_digit())
        && t.chars().all(|c| {
            c.is_ascii_digit()
                || matches!(
                    c,
                    ',' | '.' | '-' | '+' | '%' | '<' | 'e' | '万' | '亿' | ' '
                )
                || !c.is_alphanumeric() && !c.is_whitespace() && (c as u32) < 0x3000
        })
}

/// The report as one HTML document.
pub(crate) fn html(
    title: &str,
    subtitle: &str,
    sections: &[Section],
    footer: &str,
    lang: Lang,
) -> String {
    let mut out = String::with_capacity(1 << 20);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header><h1>{}</h1><p>{}</p></header>\n<nav>",
        lang.pick("zh-CN", "en"),
        esc(title),
        esc(title),
        esc(subtitle)
    );
    for s in sections {
        let _ = write!(out, "<a href=\"#{}\">{}</a>", s.id, esc(&s.title));
    }
    out.push_str("</nav>\n<main>\n");
    for s in sections {
        let _ = writeln!(out, "<section id=\"{}\">\n<h2>{}</h2>", s.id, esc(&s.title));
        for b in &s.blocks {
            block_html(&mut out, b);
        }
        out.push_str("</section>\n");
    }
    let _ = write!(
        out,
        "</main>\n<footer>{}</footer>\n</body>\n</html>\n",
        esc(footer)
    );
    out
}

fn block_html(out: &mut String, b: &Block) {
    match b {
        Block::Figures(items) => {
            out.push_str("<div class=\"figures\">");
            for (label, value, note) in items {
                let _ = write!(
                    out,
                    "<div class=\"figure\"><div class=\"label\">{}</div><div class=\"value\">{}</div><div class=\"note\">{}</div></div>",
                    esc(label),
                    esc(value),
                    esc(note)
                );
            }
            out.push_str("</div>\n");
        }
        Block::Heading(h) => {
            let _ = writeln!(out, "<h3>{}</h3>", esc(h));
        }
        Block::Text(t) => {
            let _ = writeln!(out, "<p>{}</p>", esc(t));
        }
        Block::Chart { svg, caption } => {
            let _ = writeln!(
                out,
                "<figure>{svg}<figcaption>{}</figcaption></figure>",
                esc(caption)
            );
        }
        Block::Table(t) => table_html(out, t),
        Block::Notes(items) => {
            out.push_str("<ul class=\"notes\">");
            for n in items {
                let _ = write!(out, "<li>{}</li>", esc(n));
            }
            out.push_str("</ul>\n");
        }
    }
}

fn table_html(out: &mut String, t: &Table) {
    // a column is numeric when all its non-empty cells are
    let numeric_col: Vec<bool> = (0..t.header.len())
        .map(|c| {
            let mut cells = t
                .rows
                .iter()
                .filter_map(|r| r.get(c))
                .filter(|s| !s.trim().is_empty() && s.as_str() != "–")
                .peekable();
            cells.peek().is_some() && cells.all(|s| numeric(s))
        })
        .collect();
    out.push_str("<div class=\"table-wrap\"><table><thead><tr>");
    for (c, h) in t.header.iter().enumerate() {
        let class = if numeric_col[c] { " class=\"num\"" } else { "" };
        let _ = write!(out, "<th{class}>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for (r, row) in t.rows.iter().enumerate() {
        if t.highlight == Some(r) {
            out.push_str("<tr class=\"highlight\">");
        } else {
            out.push_str("<tr>");
        }
        for (c, cell) in row.iter().enumerate() {
            let shade = t
                .shade
                .as_ref()
                .and_then(|s| s.get(r))
                .and_then(|s| s.get(c))
                .copied();
            let mut class = String::new();
            if numeric_col.get(c).copied().unwrap_or(false) {
                class.push_str("num");
            } else if cell.chars().count() > 24 {
                // long text (a strategy, a description) keeps a readable width
                class.push_str("wide");
            }
            let style = match shade {
                Some(v) if v.is_finite() => {
                    class.push_str(" shade");
                    // light blue to the accent, text turning white on dark cells
                    let a = 0.08 + 0.8 * v.clamp(0.0, 1.0);
                    let color = if a > 0.55 { ";color:#fff" } else { "" };
                    format!(" style=\"background:rgba(0,114,178,{a:.2}){color}\"")
                }
                _ => String::new(),
            };
            let class = class.trim();
            let class = if class.is_empty() {
                String::new()
            } else {
                format!(" class=\"{class}\"")
            };
            let _ = write!(out, "<td{class}{style}>{}</td>", esc(cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>\n");
}

/// `s` escaped for HTML text.
pub fn chart_esc(s: &str) -> String {
    esc(s)
}

/// The report's styles, for pages that show its sections (the server's dashboard).
pub fn style() -> &'static str {
    STYLE
}

/// `section`'s blocks as an HTML fragment (no heading), as the report draws them.
pub fn blocks_html(section: &Section) -> String {
    let mut out = String::new();
    for b in &section.blocks {
        block_html(&mut out, b);
    }
    out
}

/// Writes `preview.html`: a draft scheme's preview (see [`sections::preview`]).
pub fn write_preview(
    path: &std::path::Path,
    preview: &crate::history::PreviewView,
    label: &dyn Fn(&str) -> String,
    lang: Lang,
    currency: &str,
    generator: &str,
) -> std::io::Result<()> {
    let (title, subtitle, sections, footer) =
        sections::preview(preview, label, lang, currency, generator);
    std::fs::write(path, html(&title, &subtitle, &sections, &footer, lang))
}

/// Writes `report.html`.
pub fn write_report(path: &std::path::Path, input: &ReportInput<'_>) -> std::io::Result<()> {
    let (title, subtitle, sections, footer) = build(input);
    std::fs::write(
        path,
        html(&title, &subtitle, &sections, &footer, input.lang),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_recognised_for_alignment() {
        for yes in ["1,234", "-5.2%", "1.23万", "¥1,200.00", "<1e-300", "3.1e-5"] {
            assert!(numeric(yes), "{yes}");
        }
        for no in [
            "Champions",
            "重要价值客户",
            "",
            "A",
            "2025-01-01 to 2025-12-31",
        ] {
            assert!(!numeric(no), "{no}");
        }
    }

    #[test]
    fn html_escapes_and_holds_every_section() {
        let sections = vec![Section {
            id: "one",
            title: "A & B".into(),
            blocks: vec![
                Block::Figures(vec![("customers".into(), "1,000".into(), String::new())]),
                Block::Table(Table {
                    header: vec!["name".into(), "n".into()],
                    rows: vec![vec!["<x>".into(), "12".into()]],
                    ..Table::default()
                }),
            ],
        }];
        let page = html("T", "sub", &sections, "foot", Lang::En);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("<section id=\"one\">"));
        assert!(page.contains("<h2>A &amp; B</h2>"));
        assert!(page.contains("<td>&lt;x&gt;</td><td class=\"num\">12</td>"));
        // nothing loaded from elsewhere: no scripts, no linked files
        for outside in ["<script", "src=", "<link", "@import", "url("] {
            assert!(!page.contains(outside), "{outside}");
        }
        assert!(
            page.contains("<div class=\"label\">customers</div><div class=\"value\">1,000</div>")
        );
        assert!(page.contains("<a href=\"#one\">A &amp; B</a>"));
    }
}
