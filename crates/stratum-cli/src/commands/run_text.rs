//! A run on the terminal: the tables on stdout (RFM classes, segments, ABC classes, the
//! scheme's final tiers, lifetime value per class) and the notes on stderr (data quality,
//! overrides not applied, validation warnings), laid out from the run's values.

use stratum_core::run::{ClvRun, RunResult};
use stratum_core::scheme::{SchemeResult, SkipReason};
use stratum_core::summary::GroupSummary;
use stratum_core::{Labelled, Lang, Tiering};
use stratum_io::clv::{CLV_CLASS_COLUMNS, clv_class_cells};
use stratum_io::format::{number, pct, thousands};
use stratum_io::output::Cell;
use stratum_io::quality::QualityReport;
use stratum_io::render::Run;
use stratum_io::tiers::{SUMMARY_COLUMNS, SchemeOutput, summary_rows};

use crate::terminal::table;

/// The tables `stratum segment` prints on stdout.
pub(crate) fn tables(run: &Run, lang: Lang) -> String {
    let mut tables = segment_text(&run.result.tiering, lang);
    if let Some(output) = run.scheme_output(lang) {
        tables.push_str(&format!("\n{}", final_tier_text(&output)));
    }
    if let Some(c) = run.result.clv() {
        tables.push_str(&format!("\n{}", clv_class_text(c, lang)));
    }
    tables
}

/// The overrides not applied and the validation warnings, on stderr.
pub(crate) fn print_notes(result: &RunResult, lang: Lang) {
    if let Some(scheme) = &result.scheme {
        report_overrides(&scheme.result, lang);
    }
    validation_notes(&result.validations, lang);
}

/// One line of warning counts per segmentation on stderr, and the tests that are not defined.
fn validation_notes(done: &[(String, stratum_core::validate::Validation)], lang: Lang) {
    // a count per segmentation here; each warning is in validation.json
    for (name, v) in done {
        use stratum_core::validate::ValidationWarning;
        let count = |f: fn(&ValidationWarning) -> bool| v.warnings.iter().filter(|w| f(w)).count();
        let small = count(|w| matches!(w, ValidationWarning::SmallSegment { .. }));
        let alike = count(|w| matches!(w, ValidationWarning::NotDifferent { .. }));
        if small + alike > 0 {
            eprintln!(
                "{} {name}: {small} {}, {alike} {}",
                lang.pick("验证提示", "validation"),
                lang.pick("个分群占比不足", "small segments"),
                lang.pick(
                    "对分群无显著差异（详见 validation.json）",
                    "pairs of segments not significantly different (see validation.json)"
                ),
            );
        }
        for w in &v.warnings {
            if matches!(w, ValidationWarning::TooSmallToCompare { .. }) {
                eprintln!(
                    "{} {name}: {}",
                    lang.pick("验证提示", "validation"),
                    w.text(lang)
                );
            }
        }
        for t in &v.tests {
            let undefined = [
                ("Kruskal–Wallis", t.kruskal_wallis.err()),
                ("ANOVA", t.anova.err()),
            ];
            for (test, why) in undefined {
                if let Some(why) = why {
                    eprintln!(
                        "{} {name}: {test} ({}) {}",
                        lang.pick("验证提示", "validation"),
                        t.feature,
                        why.text(lang)
                    );
                }
            }
        }
    }
}

/// The per-class table on stdout.
fn clv_class_text(c: &ClvRun, lang: Lang) -> String {
    let header = CLV_CLASS_COLUMNS.map(|h| stratum_core::labels::column_label(h, lang).to_string());
    let rows: Vec<Vec<String>> = c
        .classes
        .iter()
        .map(|k| clv_class_cells(k, lang).iter().map(Cell::display).collect())
        .collect();
    format!(
        "{} ({}, {} {}):\n{}{}\n",
        lang.pick(
            "各 RFM 类别的预测客户价值与流失风险",
            "predicted value and churn risk by RFM class"
        ),
        c.model.params().model().title(),
        c.model.params().horizon_months(),
        lang.pick("个月", "months"),
        table(&header, &rows),
        c.model.params().model().assumption(lang),
    )
}

/// Overrides not applied, on stderr.
fn report_overrides(result: &SchemeResult, lang: Lang) {
    for k in &result.skipped {
        let why = match k.why {
            SkipReason::Expired => format!(
                "{} {}",
                lang.pick("已于此日到期：", "expired on"),
                k.item.expires.map(|d| d.to_string()).unwrap_or_default()
            ),
            SkipReason::UnknownTier => format!(
                "{} \"{}\"",
                lang.pick("最终等级中没有", "no final tier named"),
                k.item.tier
            ),
            SkipReason::Superseded => lang
                .pick(
                    "被同一客户较新的调整取代",
                    "a later override of the customer replaces it",
                )
                .to_string(),
            SkipReason::UnknownCustomer => lang
                .pick(
                    "该客户没有被评分（无购买记录）",
                    "the customer is not among the scored customers",
                )
                .to_string(),
        };
        eprintln!(
            "{} {} → {}: {why}",
            lang.pick("忽略手动调整", "override ignored:"),
            k.item.customer_id,
            k.item.tier
        );
    }
}

/// The final tiers as a table: customers, revenue share, strategy.
fn final_tier_text(o: &SchemeOutput<'_>) -> String {
    let lang = o.lang;
    let fin = &o.scheme.dimensions[o.scheme.final_dimension];
    let shown = [
        "tier_label",
        "customers",
        "customer_share",
        "revenue_share",
        "nps",
        "strategy",
    ]
    .map(|name| SUMMARY_COLUMNS.iter().position(|c| *c == name).unwrap_or(0));
    let rows: Vec<Vec<String>> = summary_rows(o)
        .into_iter()
        .filter(|r| matches!(&r[0], Cell::Text(d) if *d == fin.name))
        .map(|r| shown.iter().map(|&k| r[k].display()).collect())
        .collect();
    let header: Vec<String> = [
        fin.label.pick(lang, &fin.name),
        lang.pick("客户数", "customers"),
        lang.pick("客户占比", "share"),
        lang.pick("收入占比", "revenue"),
        "NPS",
        lang.pick("服务策略", "strategy"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    table(&header, &rows)
}

/// The data-quality lines, aligned.
pub(crate) fn quality_text(report: &QualityReport, lang: Lang) -> String {
    let lines = report.lines(lang);
    let width = lines
        .iter()
        .map(|(k, _)| unicode_width::UnicodeWidthStr::width(k.as_str()))
        .max()
        .unwrap_or(0);
    let mut out = String::from(lang.pick("数据质量\n", "Data quality\n"));
    for (k, v) in lines {
        let pad = width - unicode_width::UnicodeWidthStr::width(k.as_str());
        out.push_str(&format!("  {k}{}  {v}\n", " ".repeat(pad)));
    }
    out
}

fn group_rows<K: Labelled>(groups: &[GroupSummary<K>], lang: Lang) -> Vec<Vec<String>> {
    groups
        .iter()
        .map(|g| {
            vec![
                g.key.label(lang).to_string(),
                thousands(g.customers as u64),
                pct(g.customer_share),
                pct(g.revenue_share),
                number(g.mean_recency, 0),
                number(g.mean_frequency, 1),
                number(g.mean_monetary, 2),
                number(g.avg_order_value, 2),
            ]
        })
        .collect()
}

fn segment_text(t: &Tiering, lang: Lang) -> String {
    let header = |first: &str| -> Vec<String> {
        [
            first,
            lang.pick("客户数", "customers"),
            lang.pick("客户占比", "share"),
            lang.pick("收入占比", "revenue"),
            lang.pick("平均R(天)", "mean R (days)"),
            lang.pick("平均F", "mean F"),
            lang.pick("平均M", "mean M"),
            lang.pick("客单价", "AOV"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let mut out = String::new();
    out.push_str(&table(
        &header(lang.pick("RFM 八类", "RFM class")),
        &group_rows(&t.classes, lang),
    ));
    out.push('\n');
    out.push_str(&table(
        &header(lang.pick("RFM 分群", "RFM segment")),
        &group_rows(&t.segments, lang),
    ));
    out.push('\n');
    out.push_str(&table(
        &header(lang.pick("ABC 分类", "ABC class")),
        &group_rows(&t.abc_classes, lang),
    ));
    out
}
