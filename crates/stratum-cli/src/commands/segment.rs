//! `stratum segment`: a transaction export in, tiers and a quality report out.

use std::path::Path;

use anyhow::{Context, Result};
use stratum_core::funnel::OpportunityLog;
use stratum_core::interactions::InteractionLog;
use stratum_core::run::{RunError, RunInput, RunResult};
use stratum_core::scheme::{Attributes, Override};
use stratum_io::master::{CustomerTable, MasterAttributes, MasterQuality};
use stratum_io::quality::{AsOfSource, InputQuality, QualityInputs, QualityReport};
use stratum_io::render::{RenderSettings, Run, write_json, write_run};
use stratum_io::transactions::TransactionQuality;

use super::ingest::{Loaded, Timer, check_reject_rate, load};
use super::outputs::Outputs;
use super::run_text;
use super::scheme::{load_scheme, scheme_error, warn_shadowed};
use crate::BadInput;
use crate::cli::SegmentArgs;
use crate::settings::{SegmentSettings, segment_settings};

/// The output files, in the order they are written.
pub const OUTPUT_FILES: [&str; 6] = [
    "rejects.csv",
    "quality.json",
    "customers.csv",
    "segments.csv",
    "unscored.csv",
    "stratum.xlsx",
];

/// Runs `stratum segment`.
pub fn run(args: SegmentArgs) -> Result<()> {
    run_with(segment_settings(args)?)
}

/// Runs the segmentation with resolved settings.
pub fn run_with(s: SegmentSettings) -> Result<()> {
    // a scheme with a syntax error fails before anything is written
    let scheme = s.scheme.as_deref().map(load_scheme).transpose()?;
    let names: Vec<&str> = OUTPUT_FILES
        .iter()
        .chain(&OPTIONAL_FILES)
        .copied()
        .chain(["actions/"])
        .collect();
    let inputs = run_inputs(&s);
    // the store opens (and is migrated) before the run, so a wrong --db fails first
    let mut store = s.db.as_deref().map(super::history::open).transpose()?;
    // a run that would go before the store's latest is refused before anything is written
    // when its as-of date is given (else when it is kept)
    if let (Some(store), Some(db), Some(as_of)) = (&mut store, &s.db, s.as_of) {
        super::history::check_order(store, db, as_of)?;
    }
    let mut outputs = Outputs::begin(&s.out, &inputs, &names)?;
    let written = segment(&s, scheme, store.as_mut(), &mut outputs);
    let (written, tables, run) = outputs.finish(written)?;
    if let (Some(store), Some(db)) = (&mut store, &s.db) {
        let id = super::history::record(store, db, &run.result, &s)?;
        eprintln!("{} {id} → {db}", s.lang.pick("已记录运行", "recorded run"));
        if let Some(rules) = &s.pool {
            super::pool::release_after_run(store, db, rules, run.result.as_of, s.lang)?;
        }
        super::alerts::send_after_run(store, db);
    }
    super::outputs::print_done(&tables, s.lang, &s.out, &written);
    crate::memory::release(run);
    Ok(())
}

/// The inputs of a run, by role (absent ones `None`).
pub(crate) fn run_inputs(s: &SegmentSettings) -> Vec<(&'static str, Option<&Path>)> {
    s.transactions
        .inputs()
        .chain([
            ("customers", s.customers.as_deref()),
            ("interactions", s.interactions.as_deref()),
            ("overrides", s.overrides.as_deref()),
            (
                "opportunities",
                s.opportunities.as_ref().map(|(p, _)| p.as_path()),
            ),
            ("scheme", s.scheme.as_deref()),
            ("config", s.config.as_deref()),
        ])
        .collect()
}

/// The run itself, writing into the staging folder of `outputs`; returns the names of the
/// files written, the tables for stdout and the run. Settings → ingest → run → render.
fn segment(
    s: &SegmentSettings,
    scheme: Option<stratum_core::scheme::SchemeParams>,
    mut store: Option<&mut stratum_store::Store>,
    outputs: &mut Outputs,
) -> Result<(Vec<String>, String, Run)> {
    let mut timer = Timer::new();
    let history = scheme.is_some() || s.clv.is_some();
    let mut loaded = load(s, outputs, (history, true), None)?;
    timer.lap("read inputs");
    let (features, as_of, as_of_source) = loaded.features(s)?;
    timer.lap("features");
    let Loaded {
        rejects_path,
        shown_rejects,
        ..
    } = &loaded;
    let (rejects_path, shown_rejects) = (rejects_path.clone(), shown_rejects.clone());
    let mut parts = RunParts::from(loaded);
    // the overrides approved in the store's tier review apply before the file's (a file's
    // override of the same customer set on the same day or later wins)
    if let (Some(store), Some(db), true) = (store.as_deref_mut(), &s.db, scheme.is_some()) {
        let kept = store.overrides().with_context(|| {
            format!(
                "failed to read the overrides kept in `{}`",
                super::history::shown(db)
            )
        })?;
        parts
            .overrides
            .0
            .splice(0..0, kept.into_iter().map(|k| k.item));
    }
    let attributes = parts.attributes(scheme.is_some());
    if let Some(a) = &attributes {
        warn_shadowed(a);
    }
    let at = (as_of, as_of_source);
    // the scheme's text, for the history's why (the run consumes the parsed scheme)
    let scheme_text = scheme.as_ref().map(|p| p.text().to_string());
    let (result, quality) = tier(s, scheme, &parts, attributes.as_ref(), features, at)?;
    drop(attributes);
    timer.lap("tiers, lifetime value and scheme");
    let run = Run {
        result,
        quality,
        master: parts.master.map(|(table, _)| table),
    };
    let out = outputs.dir().to_path_buf();
    write_json(&out.join("quality.json"), &run.quality)?;
    eprintln!("{}", run_text::quality_text(&run.quality, s.lang));
    check_rows(s, outputs, &run.quality, &shown_rejects)?;
    if run.result.tiering.features.customers.is_empty() {
        return Err(BadInput(format!(
            "no customer has a purchase before {as_of} in `{}`",
            s.transactions.shown()
        ))
        .into());
    }

    // the report's and the workbook's history: the runs kept, then this one
    let (history, scorecards) = match (store, &s.db) {
        (Some(store), Some(db)) if s.report || s.write_xlsx => {
            // a history that cannot be read costs the history section, not the run
            let history =
                super::history::overview(store, db, &run.result, scheme_text.as_deref(), s);
            let h = history.unwrap_or_else(|e| {
                eprintln!(
                    "{} {e:#}",
                    s.lang.pick(
                        "警告：报告与工作簿中没有历史部分：",
                        "warning: no history in the report and the workbook:"
                    )
                );
                None
            });
            // the report's scorecards: of the last whole quarter the kept runs cover
            let cards = s
                .report
                .then(|| super::review::report_scorecards(store, as_of, s.lang))
                .flatten();
            timer.lap("history");
            (h, cards)
        }
        _ => (None, None),
    };
    let generator = format!("Stratum {}", env!("CARGO_PKG_VERSION"));
    let settings = RenderSettings {
        lang: s.lang,
        currency: &s.currency,
        csv_text: s.csv_text,
        workbook: s.write_xlsx,
        workbook_rows: s.xlsx_customers,
        report: s.report,
        top: s.top,
        generator: &generator,
        rejects_csv: &rejects_path,
        history: history.as_ref(),
        scorecards: scorecards.as_ref(),
    };
    let written = write_run(&out, &run, &settings, &mut |phase| timer.lap(phase))?;
    run_text::print_notes(&run.result, s.lang);
    let of = stratum_io::workbook::WorkbookOf {
        customers: run.result.tiering.features.customers.len(),
        rejects: run.quality.rejected_rows() as usize,
        lists: run.result.scheme.is_some(),
        clv: matches!(run.result.clv, Some(Ok(_))),
    };
    if let Some(note) = (s.xlsx_customers.note(of, s.lang)).filter(|_| s.write_xlsx) {
        eprintln!(
            "stratum.xlsx: {note} ({})",
            s.lang.pick(
                "--xlsx-customers all 写出全部客户",
                "--xlsx-customers all writes every customer"
            )
        );
    }
    let tables = run_text::tables(&run, s.lang);
    let files = ["rejects.csv", "quality.json"]
        .into_iter()
        .map(String::from)
        .chain(written)
        .collect();
    Ok((files, tables, run))
}

/// The inputs of a run besides the transactions' features, read once (`backfill` tiers them
/// at every period end).
pub(crate) struct RunParts {
    /// The transactions' accounting.
    pub(crate) transactions: TransactionQuality,
    /// The customer master and its accounting.
    pub(crate) master: Option<(CustomerTable, MasterQuality)>,
    /// The interactions and their accounting.
    pub(crate) interactions: Option<(InteractionLog, InputQuality)>,
    /// The overrides (none without the file) and their accounting.
    pub(crate) overrides: (Vec<Override>, Option<InputQuality>),
    /// The opportunities and their accounting.
    pub(crate) opportunities: Option<(OpportunityLog, InputQuality)>,
}

impl RunParts {
    /// The master's attributes, for a run with a scheme (whose rules see them).
    pub(crate) fn attributes(&self, scheme: bool) -> Option<MasterAttributes<'_>> {
        let (table, _) = self.master.as_ref().filter(|_| scheme)?;
        Some(MasterAttributes::new(table))
    }
}

impl From<Loaded> for RunParts {
    fn from(loaded: Loaded) -> Self {
        RunParts {
            transactions: loaded.transactions,
            master: loaded.master,
            interactions: loaded.interactions,
            overrides: match loaded.overrides {
                Some((list, quality)) => (list, Some(quality)),
                None => (Vec::new(), None),
            },
            opportunities: loaded.opportunities,
        }
    }
}

/// Tiers the customers of `features` at `as_of` with the inputs of `parts` (and the master's
/// `attributes` for the scheme's rules): the run and its quality report. A lifetime-value
/// model that cannot be fitted is a warning.
pub(crate) fn tier(
    s: &SegmentSettings,
    scheme: Option<stratum_core::scheme::SchemeParams>,
    parts: &RunParts,
    attributes: Option<&MasterAttributes<'_>>,
    features: stratum_core::Features,
    (as_of, as_of_source): (chrono::NaiveDate, AsOfSource),
) -> Result<(RunResult, QualityReport)> {
    // a model that cannot be fitted costs the lifetime-value outputs, not the run
    let clv_warning = |e: &stratum_core::clv::ClvError| {
        eprintln!(
            "{} `{}`: {e} (--clv)",
            s.lang.pick(
                "警告：未计算客户生命周期价值：",
                "warning: no lifetime value:"
            ),
            s.transactions.shown()
        );
    };
    let master_table = parts.master.as_ref().map(|(table, _)| table);
    let signup_unreadable = attributes.map_or(0, |a| a.unreadable_signups());
    let input = RunInput {
        clv: s.clv.as_ref(),
        scheme,
        attributes: attributes.map(|a| a as &dyn Attributes),
        interactions: parts.interactions.as_ref().map(|(log, _)| log),
        overrides: &parts.overrides.0,
        funnel: parts
            .opportunities
            .as_ref()
            .zip(s.opportunities.as_ref())
            .map(|((log, _), (_, params))| (log, params)),
        ..RunInput::new(features, as_of, &s.rfm, &s.abc)
    };
    let scheme_path = s.scheme.as_deref().unwrap_or(Path::new(""));
    let result = stratum_core::run::run(input).map_err(|e| match e {
        RunError::Scheme {
            error,
            with_clv,
            clv_failure,
        } => {
            if let Some(e) = clv_failure {
                clv_warning(&e);
            }
            scheme_error(scheme_path, &error, master_table.is_some(), with_clv)
        }
        e @ (RunError::Features(_) | RunError::Cluster(_)) => BadInput(format!(
            "scheme `{}`, [cluster]: {e}",
            scheme_path.display()
        ))
        .into(),
        e @ RunError::Validate(_) => anyhow::Error::new(e),
    })?;
    super::prepare::warn_rfm(&result.tiering, s.lang);
    if let Some(Err(e)) = &result.clv {
        clv_warning(e);
    }
    let quality = QualityReport::new(
        QualityInputs {
            as_of_source,
            transactions: parts.transactions.clone(),
            master: parts.master.as_ref().map(|(t, q)| (t, q.clone())),
            interactions: parts.interactions.as_ref().map(|(log, q)| (log, q)),
            overrides: parts.overrides.1.as_ref(),
            opportunities: parts.opportunities.as_ref().map(|(_, q)| q),
            scheme_path: s.scheme.as_deref().filter(|_| result.scheme.is_some()),
            signup_dates_unreadable: signup_unreadable,
        },
        &result,
    );
    Ok((result, quality))
}

/// Records each input's row accounting for the manifest and refuses a run whose reject rate is
/// above the limit.
pub(crate) fn check_rows(
    s: &SegmentSettings,
    outputs: &mut Outputs,
    quality: &QualityReport,
    shown_rejects: &Path,
) -> Result<()> {
    outputs.rows("transactions", &quality.transactions.counts);
    if let Some(q) = &quality.customer_master {
        outputs.rows("customers", &q.counts);
    }
    if let Some(q) = quality
        .scheme
        .as_ref()
        .and_then(|q| q.interactions.as_ref())
    {
        outputs.rows("interactions", &q.counts);
    }
    if let Some(q) = quality.scheme.as_ref().and_then(|q| q.overrides.as_ref()) {
        outputs.rows("overrides", &q.counts);
    }
    if let Some(q) = &quality.opportunities {
        outputs.rows("opportunities", &q.input.counts);
    }
    check_reject_rate(
        &quality.transactions.counts,
        s.max_reject_rate,
        Path::new(&s.transactions.shown()),
        shown_rejects,
    )?;
    for (path, counts) in quality.other_inputs() {
        check_reject_rate(counts, s.max_reject_rate, path, shown_rejects)?;
    }
    Ok(())
}

/// The outputs beyond [`OUTPUT_FILES`]: the validation files and those written only with a
/// scheme or `--clv`; removed before every run like the others.
const OPTIONAL_FILES: [&str; 15] = [
    "report.html",
    "funnel.csv",
    "funnel_summary.csv",
    "opportunities.csv",
    "clusters.csv",
    "cluster_profiles.csv",
    "validation.csv",
    "validation_tests.csv",
    "validation.json",
    "tiers.csv",
    "tier_summary.csv",
    "actions.xlsx",
    "clv.csv",
    "clv_by_class.csv",
    "clv_params.json",
];
