//! The sales funnel's files: `funnel.csv` (every stage of every group: reached, moved on,
//! next-step and cumulative conversion, lost, still open, days in stage), `funnel_summary.csv`
//! (every group: opportunities, open, won, lost, win rate, overall conversion, amounts, cycle)
//! and `opportunities.csv` (every opportunity with its customer's tier and the high-tier flag).
//! Groups: `all`, then by `owner`, by `tier` (the scheme's final tier, else the ABC class) and
//! by `period` (created in).

use std::io::Write;

use stratum_core::funnel::{FunnelFigures, FunnelRun, Status, TierBasis};
use stratum_core::run::RunResult;
use stratum_core::{AbcClass, Labelled, Lang};

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
    pub code: String,
    /// The group's name.
    pub name: String,
    /// Its figures.
    pub figures: &'a FunnelFigures,
}

/// The code and name of tier `t` of the funnel of `run` (`None`: not a scored customer).
pub fn tier_names(run: &RunResult, f: &FunnelRun, t: Option<u16>, lang: Lang) -> (String, String) {
    let Some(t) = t else {
        return (
            String::new(),
            lang.pick("无等级（非已评分客户）", "no tier (not a scored customer)")
                .to_string(),
        );
    };
    match (f.basis, &run.scheme) {
        (TierBasis::Scheme, Some(s)) => {
            let dim = &s.checked.dimensions[s.checked.final_dimension];
            match dim.tiers.get(usize::from(t)) {
                Some(tier) => (tier.name.clone(), tier.label.pick(lang, &tier.name).into()),
                None => (t.to_string(), t.to_string()),
            }
        }
        _ => match AbcClass::ALL.get(usize::from(t)) {
            Some(c) => (c.code().to_string(), c.label(lang).to_string()),
            None => (t.to_string(), t.to_string()),
        },
    }
}

/// Every group of the funnel, `all` first, then by owner, tier and period.
pub fn groups<'a>(run: &RunResult, f: &'a FunnelRun, lang: Lang) -> Vec<FunnelGroup<'a>> {
    let mut out = vec![FunnelGroup {
        dimension: "all",
        code: String::new(),
        name: lang.pick("全部商机", "all opportunities").into(),
        figures: &f.all,
    }];
    for (owner, g) in &f.by_owner {
        out.push(FunnelGroup {
            dimension: "owner",
            code: owner.clone(),
            name: if owner.is_empty() {
                lang.pick("（未分配）", "(unassigned)").into()
            } else {
                owner.clone()
            },
            figures: g,
        });
    }
    for (t, g) in &f.by_tier {
        let (code, name) = tier_names(run, f, *t, lang);
        out.push(FunnelGroup {
            dimension: "tier",
            code,
            name,
            figures: g,
        });
    }
    for (p, g) in &f.by_period {
        out.push(FunnelGroup {
            dimension: "period",
            code: p.to_string(),
            name: p.to_string(),
            figures: g,
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
    run: &RunResult,
    f: &FunnelRun,
    lang: Lang,
    text: CsvText,
) -> csv::Result<()> {
    let mut w = CsvOut::new(out, text);
    w.texts(FUNNEL_COLUMNS)?;
    let stages = f.params.stages();
    for g in groups(run, f, lang) {
        for (i, (stage, s)) in stages.iter().zip(&g.figures.stages).enumerate() {
            let last = i + 1 == stages.len();
            w.cells(&[
                Cell::Text(g.dimension),
                Cell::Text(&g.code),
                Cell::Text(&g.name),
                Cell::Int(i as i64 + 1),
                Cell::Text(&stage.key),
                Cell::Text(stage.label.pick(lang, &stage.key)),
                Cell::Int(s.reached as i64),
                Cell::Int(g.figures.moved_on(i) as i64),
                share(g.figures.next_rate(i)),
                share(g.figures.cumulative_rate(i)),
                Cell::Int(s.lost as i64),
                Cell::Int(s.open as i64),
                Cell::finite(s.mean_days()),
                Cell::Int(s.days_known as i64),
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
    run: &RunResult,
    f: &FunnelRun,
    lang: Lang,
    text: CsvText,
) -> csv::Result<()> {
    let mut w = CsvOut::new(out, text);
    w.texts(SUMMARY_COLUMNS)?;
    for g in groups(run, f, lang) {
        let x = g.figures;
        w.cells(&[
            Cell::Text(g.dimension),
            Cell::Text(&g.code),
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

/// Writes `opportunities.csv`: every opportunity counted, in id order; `days_in_stage` is,
/// for an open one, the days from entering its current stage to the analysis date.
pub fn write_opportunities_csv<W: Write>(
    out: W,
    run: &RunResult,
    f: &FunnelRun,
    lang: Lang,
    text: CsvText,
) -> csv::Result<()> {
    let mut w = CsvOut::new(out, text);
    w.texts(OPPORTUNITY_COLUMNS)?;
    let stages = f.params.stages();
    for ((o, t), high) in f.opportunities.iter().zip(&f.tiers).zip(&f.high) {
        let (code, name) = tier_names(run, f, *t, lang);
        let stage = &stages[o.current];
        let waiting = match o.status {
            Status::Open => o.entered[o.current].map(|d| (run.as_of - d).num_days()),
            _ => None,
        };
        w.cells(&[
            Cell::Text(&o.id),
            Cell::Text(&o.customer_id),
            Cell::Text(&o.owner),
            Cell::Text(&code),
            Cell::Text(if t.is_some() { &name } else { "" }),
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
