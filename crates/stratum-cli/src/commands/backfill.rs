//! `stratum backfill`: a history from one export. The transactions are read once, their lines
//! held back by month or quarter; then the customers are tiered at every period end in turn,
//! each as-of with only the lines before it, exactly as `segment --as-of` would, and each run
//! is kept in the store.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use stratum_core::PeriodSchedule;
use stratum_core::run::RunResult;
use stratum_io::output::{Cell, CsvOut};
use stratum_io::quality::{AsOfSource, QualityReport};
use stratum_io::render::write_json;
use stratum_store::{RunMeta, Store};

use super::history::{open, run_meta, shown};
use super::ingest::{Timer, load, no_usable_transactions};
use super::outputs::{Outputs, now};
use super::scheme::{load_scheme, warn_shadowed};
use super::segment::{RunParts, check_rows, run_inputs, tier};
use crate::BadInput;
use crate::cli::BackfillArgs;
use crate::settings::{SegmentSettings, parse_cli_date, segment_settings};

/// The files `backfill` writes: the rejected rows and the quality of the input (as of the last
/// run), and one line per run kept.
const OUTPUT_FILES: [&str; 3] = ["rejects.csv", "quality.json", "backfill.csv"];

/// The schedule of a backfill.
struct Periods {
    schedule: PeriodSchedule,
    /// `month` or `quarter`, as given.
    every: String,
    months: u32,
    from: NaiveDate,
    to: Option<NaiveDate>,
}

/// One run kept.
struct Kept {
    id: i64,
    as_of: NaiveDate,
    customers: usize,
    unscored: usize,
    revenue: stratum_core::Money,
    lines_after: u64,
}

/// Runs `stratum backfill`.
pub fn run(args: BackfillArgs) -> Result<()> {
    let BackfillArgs {
        every,
        from,
        to,
        run: mut run_args,
    } = args;
    if run_args.as_of.is_some() {
        return Err(BadInput(
            "--as-of: backfill tiers at every period end from --from to --to; \
             `stratum segment --as-of DATE --db …` keeps a single run"
                .into(),
        )
        .into());
    }
    if run_args.report {
        return Err(BadInput(
            "--report: backfill keeps its runs in the store and writes no report; \
             `stratum report --as-of DATE` makes the report of one period"
                .into(),
        )
        .into());
    }
    let months = match every.as_str() {
        "month" => 1,
        "quarter" => 3,
        other => {
            return Err(BadInput(format!("--every `{other}`: expected month or quarter")).into());
        }
    };
    let from = parse_cli_date("--from", &from)?;
    let to = to.map(|t| parse_cli_date("--to", &t)).transpose()?;
    if let Some(to) = to.filter(|to| *to < from) {
        return Err(BadInput(format!("--to {to} is before --from {from}")).into());
    }
    let schedule = PeriodSchedule::new(from, months)
        .with_context(|| format!("no {every} holds --from {from}"))?;
    run_args
        .out
        .get_or_insert_with(|| "stratum-backfill".into());
    run_args.db.get_or_insert_with(|| "stratum.db".into());
    let s = segment_settings(run_args)?;
    let periods = Periods {
        schedule,
        every,
        months,
        from,
        to,
    };
    // a scheme with a syntax error, or a store that cannot be opened, fails before anything
    // is read
    let scheme = s.scheme.as_deref().map(load_scheme).transpose()?;
    let db = s.db.clone().unwrap_or_default();
    let mut store = open(&db)?;
    let mut outputs = Outputs::begin(&s.out, &run_inputs(&s), &OUTPUT_FILES)?;
    let mut kept = Vec::new();
    let result = backfill(&s, scheme, &periods, &mut outputs, &mut store, &mut kept);
    let result = result.with_context(|| match (kept.first(), kept.last()) {
        (Some(first), Some(last)) => format!(
            "the runs as of {} to {} (runs {} to {}) are kept in `{}`",
            first.as_of,
            last.as_of,
            first.id,
            last.id,
            shown(&db)
        ),
        _ => format!("no run was kept in `{}`", shown(&db)),
    });
    outputs.finish(result)?;
    print_kept(&kept, &s, &db);
    Ok(())
}

/// Reads the inputs once and keeps a run at every period end, into `kept`.
fn backfill(
    s: &SegmentSettings,
    scheme: Option<stratum_core::scheme::SchemeParams>,
    periods: &Periods,
    outputs: &mut Outputs,
    store: &mut Store,
    kept: &mut Vec<Kept>,
) -> Result<()> {
    let mut timer = Timer::new();
    let history = scheme.is_some() || s.clv.is_some();
    let mut loaded = load(s, outputs, (history, true), Some(periods.schedule))?;
    timer.lap("read inputs");
    let mut aggregator = loaded.periods()?;
    let last = match periods.to {
        Some(to) => PeriodSchedule::new(to, periods.months).and_then(|p| p.end(0)),
        None => aggregator.default_as_of(),
    };
    let Some(last) = last else {
        return Err(no_usable_transactions(
            std::path::Path::new(&s.transactions.shown()),
            &loaded.transactions.counts,
            &loaded.shown_rejects,
        ));
    };
    let ends = periods.schedule.ends_through(last);
    if ends.is_empty() {
        return Err(BadInput(format!(
            "no {} ends between --from {} and {last}{}: nothing to re-tier",
            periods.every,
            periods.from,
            match periods.to {
                Some(_) => "",
                None => " (the day after the last transaction)",
            }
        ))
        .into());
    }
    let latest = store.runs()?.last().map(|r| r.as_of);
    if let Some(latest) = latest.filter(|latest| ends[0] <= *latest) {
        return Err(BadInput(format!(
            "the store already has runs as of {latest}: a backfill goes before them, from an \
             empty store, or after them (--from after {latest})"
        ))
        .into());
    }
    let shown_rejects = loaded.shown_rejects.clone();
    let parts = RunParts::from(loaded);
    let attributes = parts.attributes(scheme.is_some());
    if let Some(a) = &attributes {
        warn_shadowed(a);
    }
    // each run is kept on a thread of its own while the next is tiered: the store's writing
    // is single-threaded, the tiering not always
    let (send, receive) = std::sync::mpsc::sync_channel::<(RunResult, RunMeta)>(0);
    let last_quality = std::thread::scope(|scope| -> Result<Option<QualityReport>> {
        let writer = scope.spawn(|| -> Result<()> {
            for (result, meta) in receive {
                let features = &result.tiering.features;
                let k = Kept {
                    id: store.record(&result, &meta)?,
                    as_of: result.as_of,
                    customers: features.customers.len(),
                    unscored: features.no_purchase.len(),
                    revenue: result.tiering.revenue,
                    lines_after: features.lines_after_as_of,
                };
                eprintln!(
                    "as of {}: {} customers → run {}",
                    k.as_of, k.customers, k.id
                );
                kept.push(k);
            }
            Ok(())
        });
        let mut inputs = None;
        let mut last_quality = None;
        let tiered = (|| -> Result<()> {
            for end in ends {
                let started = now();
                let features = aggregator
                    .next_period()
                    .with_context(|| format!("the lines up to {end} were not held back"))?;
                if features.customers.is_empty() {
                    eprintln!("as of {end}: no customer has a purchase before it, no run");
                    continue;
                }
                timer.lap(&format!("features as of {end}"));
                let at = (end, AsOfSource::Given);
                let (result, quality) =
                    tier(s, scheme.clone(), &parts, attributes.as_ref(), features, at)?;
                timer.lap(&format!("tiers as of {end}"));
                let inputs = match &inputs {
                    Some(inputs) => inputs,
                    None => {
                        // the input's accounting is the same at every period end: checked
                        // once, before the first run is kept
                        check_rows(s, outputs, &quality, &shown_rejects)?;
                        inputs.insert(serde_json::to_value(outputs.inputs())?)
                    }
                };
                let settings = serde_json::json!({
                    "command": super::outputs::shown_command(),
                    "backfill": { "every": periods.every, "as_of": end.to_string() },
                });
                // backfilled history alerts no one: its moves are the past's
                let meta = RunMeta {
                    alerts: false,
                    ..run_meta(s, (started, now()), inputs.clone(), settings)?
                };
                last_quality = Some(quality);
                if send.send((result, meta)).is_err() {
                    // the writer stopped on an error, which it returns
                    break;
                }
            }
            Ok(())
        })();
        drop(send);
        let written = writer
            .join()
            .map_err(|_| anyhow::anyhow!("the thread keeping the runs panicked"))?;
        tiered.and(written)?;
        Ok(last_quality)
    })?;
    timer.lap("runs kept");
    let dir = outputs.dir().to_path_buf();
    if let Some(quality) = &last_quality {
        write_json(&dir.join("quality.json"), quality)?;
    }
    write_kept(&dir.join("backfill.csv"), kept)
}

/// `backfill.csv`: one line per run kept.
fn write_kept(path: &std::path::Path, kept: &[Kept]) -> Result<()> {
    let mut w = CsvOut::new(
        super::ingest::create(path)?,
        stratum_io::output::CsvText::Safe,
    );
    let write = |w: &mut CsvOut<_>| -> csv::Result<()> {
        w.texts([
            "run",
            "as_of",
            "customers",
            "unscored",
            "revenue",
            "lines_after_as_of",
        ])?;
        for k in kept {
            let as_of = k.as_of.to_string();
            w.cells(&[
                Cell::Int(k.id),
                Cell::Text(&as_of),
                Cell::Int(k.customers as i64),
                Cell::Int(k.unscored as i64),
                Cell::Money(k.revenue),
                Cell::Int(k.lines_after as i64),
            ])?;
        }
        Ok(())
    };
    write(&mut w)
        .and_then(|()| w.into_inner().map(|_| ()))
        .with_context(|| format!("failed to write `{}`", path.display()))
}

/// What was kept, on stderr.
fn print_kept(kept: &[Kept], s: &SegmentSettings, db: &str) {
    match (kept.first(), kept.last()) {
        (Some(first), Some(last)) => eprintln!(
            "{} {} {} ({} → {}, {} {} → {}) → {}; {} `{}`",
            s.lang.pick("已记录", "kept"),
            kept.len(),
            s.lang.pick("次运行", "runs"),
            first.as_of,
            last.as_of,
            s.lang.pick("运行", "runs"),
            first.id,
            last.id,
            shown(db),
            s.lang.pick("每次运行一行：", "one line per run in"),
            s.out.join("backfill.csv").display()
        ),
        _ => eprintln!(
            "{}",
            s.lang.pick(
                "没有可记录的运行",
                "no period end had a customer: no run kept"
            )
        ),
    }
}
