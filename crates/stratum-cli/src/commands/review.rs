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
            let run = super::history::run_of(&mut store, &args.db, &run)?;
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
    let label = |t: &str| stratum_server::api::tier_label(scheme.as_ref(), &s.dimension, t, lang);
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

/// Runs `stratum followups`.
pub fn followups(args: crate::cli::FollowupsArgs) -> Result<()> {
    use stratum_core::interactions::InteractionKind;
    use stratum_store::followup::{FollowUpFilter, NewFollowUp};
    let mut store = open(&args.db)?;
    match args.action {
        crate::cli::FollowupsAction::Import { file } => {
            let mut rejects = stratum_io::rejects::RejectsWriter::new(Vec::new())?;
            let (log, counts, _) = stratum_io::interactions::load_interactions(
                &file,
                &stratum_io::source::ReadOptions::default(),
                &mut rejects,
            )
            .map_err(|e| BadInput(format!("`{}`: {e}", file.display())))?;
            // each customer's account manager, from the latest run
            let managers: std::collections::HashMap<String, String> = match store.latest_run_id()? {
                Some(run) => {
                    let kept = store.kept_columns(run, Some(&["account_manager".to_string()]))?;
                    match kept.profile.column("account_manager") {
                        Some(stratum_core::scheme::ColumnData::Text(t)) => kept
                            .codes
                            .iter()
                            .enumerate()
                            .map(|(i, c)| (c.clone(), t.get(i).unwrap_or("").to_string()))
                            .collect(),
                        _ => Default::default(),
                    }
                }
                None => Default::default(),
            };
            let created_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let mut list: Vec<NewFollowUp> = log
                .iter()
                .filter_map(|(c, i)| {
                    let kind = match i.kind {
                        InteractionKind::Visit => "visit",
                        InteractionKind::Call => "call",
                        _ => return None,
                    };
                    Some(NewFollowUp {
                        customer: c.to_string(),
                        manager: managers.get(c).cloned().unwrap_or_default(),
                        kind: kind.into(),
                        day: i.date,
                        note: String::new(),
                        created_by: "import".into(),
                        created_at: created_at.clone(),
                    })
                })
                .collect();
            list.sort_by(|a, b| (&a.customer, a.day, &a.kind).cmp(&(&b.customer, b.day, &b.kind)));
            // the rows that cannot be used, each with its line, column, value and reason
            let rejected = String::from_utf8_lossy(&rejects.finish()?).into_owned();
            for line in rejected.lines().skip(1).take(10) {
                eprintln!("rejected: {line}");
            }
            let new = store.import_follow_ups(&list)?;
            println!(
                "{} rows read, {} rejected; {} visits and calls, {new} new follow-ups kept in `{}`",
                counts.rows_read,
                counts.rejected,
                list.len(),
                shown(&args.db)
            );
        }
        crate::cli::FollowupsAction::List { customer, manager } => {
            let list = store.follow_ups(&FollowUpFilter {
                customer,
                manager,
                ..FollowUpFilter::default()
            })?;
            if list.is_empty() {
                println!("no follow-ups");
                return Ok(());
            }
            let header = [
                "date", "customer", "manager", "kind", "by", "source", "note",
            ]
            .map(String::from);
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|f| {
                    let i = &f.item;
                    vec![
                        i.day.to_string(),
                        i.customer.clone(),
                        i.manager.clone(),
                        i.kind.clone(),
                        i.created_by.clone(),
                        f.source.clone(),
                        i.note.clone(),
                    ]
                })
                .collect();
            print!("{}", table(&header, &rows));
        }
    }
    Ok(())
}

/// The scorecards of the last whole quarter before `as_of` as the report shows them, when the
/// store keeps runs at both its ends (else none: the report goes without).
pub(crate) fn report_scorecards(
    store: &mut stratum_store::Store,
    as_of: chrono::NaiveDate,
    lang: stratum_core::Lang,
) -> Option<stratum_io::report::ReportTable> {
    let period = stratum_store::scorecard::ScorePeriod::quarter_before(as_of);
    let s = store.scorecards(&period).ok()?;
    let scheme = store
        .scheme_text(s.to.id)
        .ok()
        .flatten()
        .and_then(|t| stratum_core::scheme::SchemeParams::from_toml(&t).ok());
    let label_of =
        |t: &str| stratum_server::api::tier_label(scheme.as_ref(), &s.dimension, t, lang);
    let (header, rows) = stratum_server::scorecards::table(&s, &label_of, true, lang);
    Some(stratum_io::report::ReportTable {
        title: format!(
            "{} {}",
            lang.pick("客户经理绩效考核", "Account managers' scorecards"),
            s.period.label
        ),
        note: format!(
            "{} #{} ({}) → #{} ({}); {}",
            lang.pick("比较保存的运行", "kept runs compared"),
            s.from.id,
            s.from.as_of,
            s.to.id,
            s.to.as_of,
            lang.pick(
                "定义见 stratum scorecards --help 与 README",
                "definitions in `stratum scorecards --help` and the README"
            )
        ),
        header,
        rows: rows
            .iter()
            .map(|r| r.iter().map(stratum_io::cells::Cell::display).collect())
            .collect(),
    })
}
