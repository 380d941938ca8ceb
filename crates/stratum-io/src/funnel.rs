//! The sales funnel's files: `funnel.csv` (every stage of every group: reached, moved on,
//! next-step and cumulative conversion, lost, still open, days in stage), `funnel_summary.csv`
//! (every group: opportunities, open, won, lost, win rate, overall conversion, amounts, cycle)
//! and `opportunities.csv` (every opportunity with its customer's tier and the high-tier flag).
//! Groups: `all`, then by `owner`, by `tier` (the scheme's final tier, else the ABC class) and
//! by `period` (created in). The groups' files are laid out from the run's
//! [`FunnelSummary`], as the dashboard shows it.

use std::io::Write;

use chrono::NaiveDate;
use stratum_core::Lang;
use stratum_core::funnel::{FunnelFigures, FunnelRun, FunnelSummary, Status};

use crate::cells::{Cell, CsvOut};
use crate::output::CsvText;

/// A group of the funnel: its dimension (`all`, `owner`, `tier`, `period`), its code and its
/// name in the chosen language, and its figures.
#[derive(Debug)]
pub struct FunnelGroup<'a> {
    /// `all`, `owner`, `tier` or `period`.
    pub dimension: &'static str,
    /// The group's code: the owner, the tier's code, the period (empty for `all` and for the
    /// customers without a tier).
    pub code: &'a str,
    /// The group's name.
    pub name: String,
    /// Its figures.
    pub figures: &'a FunnelFigures,
}

/// The name of tier `code` (`label` names a tier code; empty: not a scored customer).
pub fn tier_name(code: &str, label: &dyn Fn(&str) -> String, lang: Lang) -> String {
    if code.is_empty() {
        lang.pick("无等级（非已评分客户）", "no tier (not a scored customer)")
            .to_string()
    } else {
        label(code)
    }
}

/// Every group of the funnel, `all` first, then by owner, tier and period; `label` names a
/// tier code.
pub fn groups<'a>(
    s: &'a FunnelSummary,
    label: &dyn Fn(&str) -> String,
    lang: Lang,
) -> Vec<FunnelGroup<'a>> {
    let mut out = vec![FunnelGroup {
        dimension: "all",
        code: "",
        name: lang.pick("全部商机", "all opportunities").into(),
        figures: &s.all,
    }];
    for g in &s.by_owner {
        out.push(FunnelGroup {
            dimension: "owner",
            code: &g.group,
            name: if g.group.is_empty() {
                lang.pick("（未分配）", "(unassigned)").into()
            } else {
                g.group.clone()
            },
            figures: &g.figures,
        });
    }
    for g in &s.by_tier {
        out.push(FunnelGroup {
            dimension: "tier",
            code: &g.group,
            name: tier_name(&g.group, label, lang),
            figures: &g.figures,
        });
    }
    for g in &s.by_period {
        out.push(FunnelGroup {
            dimension: "period",
            code: &g.group,
            name: g.group.clone(),
            figures: &g.figures,
        });
    }
    out
}

/// The columns of `funnel.csv`.
pub const FUNNEL_COLUMNS: [&str; 15] = [
    "dimension",
    "group",
    "group_name",
    "step",
    "stage",
    "stage_name",
    "reached",
    "moved_on",
    "next_rate",
    "cumulative_rate",
    "lost",
    "open",
    "mean_days_in_stage",
    "days_known",
    "won_after",
];

/// Writes `funnel.csv`: one row per group and stage (`won_after` is the group's won count on
/// the last stage's row, empty on the others).
pub fn write_funnel_csv<W: Write>(
    out: W,
    s: &FunnelSummary,
    label: &dyn Fn(&str) -> String,
    lang: Lang,
    text: CsvText,
) -> csv::Result<()> {
    let mut w = CsvOut::new(out, text);
    w.texts(FUNNEL_COLUMNS)?;
    for g in groups(s, label, lang) {
        for (i, (stage, x)) in s.stages.iter().zip(&g.figures.stages).enumerate() {
            let last = i + 1 == s.stages.len();
            w.cells(&[
                Cell::Text(g.dimension),
                Cell::Text(g.code),
                Cell::Text(&g.name),
                Cell::Int(i as i64 + 1),
                Cell::Text(&stage.key),
                Cell::Text(stage.pick(lang)),
                Cell::Int(x.reached as i64),
                Cell::Int(g.figures.moved_on(i) as i64),
                share(g.figures.next_rate(i)),
                share(g.figures.cumulative_rate(i)),
                Cell::Int(x.lost as i64),
                Cell::Int(x.open as i64),
                Cell::finite(x.mean_days()),
                Cell::Int(x.days_known as i64),
                if last {
                    Cell::Int(g.figures.won as i64)
                } else {
                    Cell::Text("")
                },
            ])?;
        }
    }
    w.flush()?;
    Ok(())
}

/// A share cell, empty when there is none.
fn share(v: Option<f64>) -> Cell<'static> {
    v.map_or(Cell::Text(""), Cell::Share)
}

/// The columns of `funnel_summary.csv`.
pub const SUMMARY_COLUMNS: [&str; 14] = [
    "dimension",
    "group",
    "group_name",
    "opportunities",
    "open",
    "won",
    "lost",
    "win_rate",
    "overall_conversion",
    "amount",
    "won_amount",
    "open_amount",
    "mean_cycle_days",
    "cycles_known",
];

/// Writes `funnel_summary.csv`: one row per group.
pub fn write_summary_csv<W: Write>(
    out: W,
    s: &FunnelSummary,
    label: &dyn Fn(&str) -> String,
    lang: Lang,
    text: CsvText,
) -> csv::Result<()> {
    let mut w = CsvOut::new(out, text);
    w.texts(SUMMARY_COLUMNS)?;
    for g in groups(s, label, lang) {
        let x = g.figures;
        w.cells(&[
            Cell::Text(g.dimension),
            Cell::Text(g.code),
            Cell::Text(&g.name),
            Cell::Int(x.opportunities as i64),
            Cell::Int(x.open as i64),
            Cell::Int(x.won as i64),
            Cell::Int(x.lost as i64),
            share(x.win_rate()),
            share(x.overall_conversion()),
            Cell::Money(x.amount),
            Cell::Money(x.won_amount),
            Cell::Money(x.open_amount),
            Cell::finite(x.mean_cycle_days()),
            Cell::Int(x.cycle_known as i64),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// The columns of `opportunities.csv`.
pub const OPPORTUNITY_COLUMNS: [&str; 15] = [
    "opportunity_id",
    "customer_id",
    "owner",
    "tier",
    "tier_name",
    "high_tier",
    "status",
    "stage",
    "stage_name",
    "furthest_stage",
    "created",
    "closed",
    "amount",
    "days_in_stage",
    "lost_reason",
];

/// How `opportunities.csv` names things: the code of each tier index, a tier code's name, the
/// analysis date and the language.
pub struct OpportunityNames<'a> {
    /// Tier codes by index.
    pub codes: &'a [String],
    /// A tier code's name.
    pub label: &'a dyn Fn(&str) -> String,
    /// The analysis date.
    pub as_of: NaiveDate,
    /// The language.
    pub lang: Lang,
}

impl std::fmt::Debug for OpportunityNames<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpportunityNames")
            .field("codes", &self.codes)
            .field("as_of", &self.as_of)
            .field("lang", &self.lang)
            .finish_non_exhaustive()
    }
}

/// Writes `opportunities.csv`: every opportunity counted, in id order; `days_in_stage` is,
/// for an open one, the days from entering its current stage to the analysis date.
pub fn write_opportunities_csv<W: Write>(
    out: W,
    f: &FunnelRun,
    names: &OpportunityNames<'_>,
    text: CsvText,
) -> csv::Result<()> {
    let mut w = CsvOut::new(out, text);
    w.texts(OPPORTUNITY_COLUMNS)?;
    let stages = f.params.stages();
    let lang = names.lang;
    for ((o, t), high) in f.opportunities.iter().zip(&f.tiers).zip(&f.high) {
        let code = t
            .and_then(|t| names.codes.get(usize::from(t)))
            .map_or("", String::as_str);
        let stage = &stages[o.current];
        let waiting = match o.status {
            Status::Open => o.entered[o.current].map(|d| (names.as_of - d).num_days()),
            _ => None,
        };
        w.cells(&[
            Cell::Text(&o.id),
            Cell::Text(&o.customer_id),
            Cell::Text(&o.owner),
            Cell::Text(code),
            if code.is_empty() {
                Cell::Text("")
            } else {
                Cell::Owned((names.label)(code))
            },
            Cell::Text(if *high { "yes" } else { "no" }),
            Cell::Text(o.status.code()),
            Cell::Text(&stage.key),
            Cell::Text(stage.label.pick(lang, &stage.key)),
            Cell::Text(&stages[o.furthest].key),
            Cell::Date(o.created),
            o.closed.map_or(Cell::Text(""), Cell::Date),
            Cell::Money(o.amount),
            waiting.map_or(Cell::Text(""), Cell::Int),
            Cell::Text(&o.lost_reason),
        ])?;
    }
    w.flush()?;
    Ok(())
}
