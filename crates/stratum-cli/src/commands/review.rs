//! `stratum review`: tier review by sales, as the server keeps it: a run's agreement rates,
//! the reviews, the overrides in force.

use anyhow::Result;
use stratum_store::review::{Agreement, ReviewFilter, ReviewStatus};

use super::history::{open, shown};
use crate::BadInput;
use crate::cli::{ReviewAction, ReviewArgs};
use crate::terminal::table;
use stratum_io::format::{pct, thousands};

/// Runs `stratum review`.
pub fn run(args: ReviewArgs) -> Result<()> {
    let mut store = open(&args.db)?;
    match args.action {
        ReviewAction::Stats { run } => {
            let run = match run.as_str() {
                "latest" => store
                    .latest_run_id()?
                    .ok_or_else(|| BadInput(format!("no runs in `{}` yet", shown(&args.db))))?,
                id => id.parse().map_err(|_| {
                    BadInput(format!(
                        "--run {id}: give a run id (`stratum runs`) or latest"
                    ))
                })?,
            };
            if !store.runs()?.iter().any(|r| r.id == run) {
                return Err(BadInput(format!("no run {run} in `{}`", shown(&args.db))).into());
            }
            let stats = store.review_stats(run)?;
            print!("{}", stats_text(&stats));
        }
        ReviewAction::List { status, run } => {
            let filter = ReviewFilter {
                run,
                status: status.as_deref().and_then(ReviewStatus::parse),
                ..ReviewFilter::default()
            };
            let reviews = store.reviews(&filter)?;
            if reviews.is_empty() {
                println!("no reviews");
                return Ok(());
            }
            let header = [
                "id",
                "run",
                "customer",
                "tier",
                "verdict",
                "proposed",
                "reviewer",
                "manager",
                "status",
                "decided by",
                "reason",
                "answer",
            ]
            .map(String::from);
            let rows: Vec<Vec<String>> = reviews
                .iter()
                .map(|r| {
                    let v = &r.review;
                    vec![
                        r.id.to_string(),
                        v.run.to_string(),
                        v.customer.clone(),
                        v.tier.clone(),
                        v.verdict.code().into(),
                        v.proposed.clone().unwrap_or_default(),
                        v.reviewer.clone(),
                        v.manager.clone(),
                        r.status.code().into(),
                        r.decided_by.clone().unwrap_or_default(),
                        v.reason.clone(),
                        r.answer.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            print!("{}", table(&header, &rows));
        }
        ReviewAction::Overrides => {
            let kept = store.overrides()?;
            if kept.is_empty() {
                println!("no overrides in force");
                return Ok(());
            }
            let header = [
                "customer", "tier", "set by", "set on", "expires", "review", "reason",
            ]
            .map(String::from);
            let rows: Vec<Vec<String>> = kept
                .iter()
                .map(|k| {
                    let o = &k.item;
                    vec![
                        o.customer_id.clone(),
                        o.tier.clone(),
                        o.set_by.clone(),
                        o.set_on.map(|d| d.to_string()).unwrap_or_default(),
                        o.expires.map(|d| d.to_string()).unwrap_or_default(),
                        k.review.map(|r| r.to_string()).unwrap_or_default(),
                        o.reason.clone(),
                    ]
                })
                .collect();
            print!("{}", table(&header, &rows));
        }
    }
    Ok(())
}

/// A run's agreement rates as a table: all, then per tier, then per account manager.
fn stats_text(s: &stratum_store::review::ReviewStats) -> String {
    if s.all.reviewed() == 0 {
        return format!("run {}: no customer reviewed\n", s.run);
    }
    let header = [
        "group",
        "reviewed",
        "agreed",
        "disputed",
        "approved",
        "rejected",
        "agreement",
    ]
    .map(String::from);
    let row = |name: String, a: &Agreement| {
        vec![
            name,
            thousands(a.reviewed() as u64),
            thousands(a.agreed as u64),
            thousands(a.disputed as u64),
            thousands(a.approved as u64),
            thousands(a.rejected as u64),
            a.rate().map_or_else(|| "–".into(), pct),
        ]
    };
    let mut rows = vec![row("all".into(), &s.all)];
    rows.extend(s.by_tier.iter().map(|(t, a)| row(format!("tier {t}"), a)));
    rows.extend(
        s.by_manager
            .iter()
            .map(|(m, a)| row(format!("manager {m}"), a)),
    );
    format!(
        "run {}: agreement of sales with the tiers\n{}",
        s.run,
        table(&header, &rows)
    )
}

/// Runs `stratum scorecards`.
pub fn scorecards(args: crate::cli::ScorecardsArgs) -> Result<()> {
    use stratum_core::Lang;
    use stratum_store::scorecard::ScorePeriod;
    let lang: Lang = args
        .lang
        .parse()
        .map_err(|e| BadInput(format!("--lang: {e}")))?;
    let period = ScorePeriod::parse(&args.period).ok_or_else(|| {
        BadInput(format!(
            "--period {}: give a quarter (2026-Q3), a month (2026-07) or a year (2026)",
            args.period
        ))
    })?;
    let mut store = open(&args.db)?;
    let s = store.scorecards(&period).map_err(|e| match e {
        e @ stratum_store::StoreError::NoPeriodRuns { .. } => {
            anyhow::Error::new(BadInput(format!("`{}`: {e}", shown(&args.db))))
        }
        e => anyhow::Error::new(e),
    })?;
    let scheme = store
        .scheme_text(s.to.id)?
        .and_then(|t| stratum_core::scheme::SchemeParams::from_toml(&t).ok());
    let label = |t: &str| match scheme.as_ref().and_then(|p| p.tier_label(&s.dimension, t)) {
        Some(l) => l.pick(lang, t).to_string(),
        None => stratum_core::history::tier_label(None, &s.dimension, t, lang),
    };
    let (header, rows) = stratum_server::scorecards::table(&s, &label, true, lang);
    println!(
        "{} {} · {} #{} ({}) → #{} ({})",
        lang.pick("绩效考核", "scorecards"),
        s.period.label,
        lang.pick("比较运行", "runs"),
        s.from.id,
        s.from.as_of,
        s.to.id,
        s.to.as_of
    );
    let shown_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(stratum_io::cells::Cell::display).collect())
        .collect();
    print!("{}", table(&header, &shown_rows));
    if let Some(out) = &args.out {
        let names = ["scorecards.csv", "scorecards.xlsx"];
        let outputs = super::outputs::Outputs::begin(out, &[], &names)?;
        let written = (|| -> Result<Vec<String>> {
            for (name, xlsx) in [(names[0], false), (names[1], true)] {
                let bytes = stratum_server::scorecards::file(&header, &rows, xlsx)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                std::fs::write(outputs.dir().join(name), bytes)?;
            }
            Ok(names.map(String::from).to_vec())
        })();
        let written = outputs.finish(written)?;
        eprintln!("wrote {}: {}", out.display(), written.join(", "));
    }
    Ok(())
}
