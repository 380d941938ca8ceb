//! The history store from the command line: `segment --db` records a run, `stratum runs`
//! lists (or prunes) the runs kept, `stratum history CUSTOMER` shows one customer's tiers over
//! time.

use anyhow::{Context, Result};
use stratum_core::Lang;
use stratum_core::run::RunResult;
use stratum_io::format::thousands;
use stratum_io::output::{Cell, CsvOut, CsvText};
use stratum_store::chunk::StoredValue;
use stratum_store::migrate::{Migrations, Mover};
use stratum_store::why::{
    compact_number, crossed, mover_crossed, number_in, reason_text, value_text,
};
use stratum_store::{RunMeta, Store, StoreError, StoredReasonText};

use super::outputs::Outputs;
use crate::BadInput;
use crate::cli::{DiffArgs, ExportArgs, HistoryArgs, MigrationsArgs, RunsAction, RunsArgs};
use crate::settings::SegmentSettings;
use crate::terminal::table;

/// Opens the store at `db` (a SQLite file, created if missing, or a PostgreSQL URL).
pub(crate) fn open(db: &str) -> Result<Store> {
    Store::open(db).with_context(|| format!("failed to open the history store `{}`", shown(db)))
}

/// The run `--run` names: its id, or `latest`; refused when the store does not have it.
pub(crate) fn run_of(store: &mut Store, db: &str, text: &str) -> Result<i64> {
    let run = match text {
        "latest" => store
            .latest_run_id()?
            .ok_or_else(|| BadInput(format!("no runs in `{}` yet", shown(db))))?,
        id => id.parse().map_err(|_| {
            BadInput(format!(
                "--run {id}: give a run id (`stratum runs`) or latest"
            ))
        })?,
    };
    if !store.runs()?.iter().any(|r| r.id == run) {
        return Err(BadInput(format!("{} (`{}`)", StoreError::NoRun(run), shown(db))).into());
    }
    Ok(run)
}

/// A store location as it may be printed: a URL's password left out.
pub(crate) fn shown(db: &str) -> String {
    match (db.find("://"), db.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let auth = &db[scheme + 3..at];
            match auth.find(':') {
                Some(colon) => format!("{}{}:***{}", &db[..scheme + 3], &auth[..colon], &db[at..]),
                None => db.to_string(),
            }
        }
        _ => db.to_string(),
    }
}

/// Records the run just published in `s.out`, with what its manifest says of the inputs.
pub(crate) fn record(
    store: &mut Store,
    db: &str,
    run: &RunResult,
    s: &SegmentSettings,
) -> Result<i64> {
    let manifest_path = s.out.join("manifest.json");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&manifest_path)
            .with_context(|| format!("failed to read `{}`", manifest_path.display()))?,
    )
    .with_context(|| format!("failed to read `{}`", manifest_path.display()))?;
    let text = |key: &str| {
        manifest
            .get(key)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    check_order(store, db, run.as_of).with_context(|| {
        format!(
            "the run's files are in `{}`, but the run was not kept",
            s.out.display()
        )
    })?;
    let meta = run_meta(
        s,
        (text("started"), text("finished")),
        manifest.get("inputs").cloned().unwrap_or_default(),
        serde_json::json!({
            "command": manifest.get("command").cloned().unwrap_or_default(),
        }),
    )?;
    store.record(run, &meta).with_context(|| {
        format!(
            "the run's files are in `{}`, but keeping the run in `{}` failed",
            s.out.display(),
            shown(db)
        )
    })
}

/// Refuses a run as of `as_of` when the store holds a later one: a customer's history, time
/// in tier and the run before another are read in the order runs are kept, which must be
/// as-of order (a run as of the same date is taken: a re-run).
pub(crate) fn check_order(store: &mut Store, db: &str, as_of: chrono::NaiveDate) -> Result<()> {
    match store.runs()?.last() {
        Some(latest) if latest.as_of > as_of => Err(BadInput(format!(
            "the history store `{}` has runs up to as-of {} (run {}): a run as of {as_of} would go \
             before them; keep it in another store (--db), or backfill a new store",
            shown(db),
            latest.as_of,
            latest.id
        ))
        .into()),
        _ => Ok(()),
    }
}

/// The history the report and the workbook show: the store's latest runs, then `run` (about
/// to be kept, its scheme's text `scheme_text`), with the biggest moves of each kind (`s.top`).
pub(crate) fn overview(
    store: &mut Store,
    db: &str,
    run: &RunResult,
    scheme_text: Option<&str>,
    s: &SegmentSettings,
) -> Result<Option<stratum_io::history::HistoryView>> {
    let current = stratum_store::overview::Current { run, scheme_text };
    store
        .overview(Some(current), None, s.top, s.lang)
        .with_context(|| format!("failed to read the history in `{}`", shown(db)))
}

/// What the store keeps of a run besides its customers: when it ran, the tool, the `inputs`
/// as the manifest lists them, the settings (`settings`, a JSON object, plus the frequency
/// basis and whether lifetime value was fitted) and the scheme's text.
pub(crate) fn run_meta(
    s: &SegmentSettings,
    (started_at, finished_at): (String, String),
    inputs: serde_json::Value,
    mut settings: serde_json::Value,
) -> Result<RunMeta> {
    let scheme_text = s
        .scheme
        .as_deref()
        .map(|p| crate::settings::read_text_file(p, "scheme"))
        .transpose()?;
    if let Some(map) = settings.as_object_mut() {
        map.insert(
            "frequency".into(),
            format!("{:?}", s.frequency).to_lowercase().into(),
        );
        map.insert("clv".into(), s.clv.is_some().into());
    }
    Ok(RunMeta {
        started_at,
        finished_at,
        tool_version: format!("Stratum {}", env!("CARGO_PKG_VERSION")),
        inputs,
        settings,
        scheme_text,
        alerts: true,
    })
}

/// `stratum runs`.
pub fn runs(args: RunsArgs) -> Result<()> {
    let mut store = open(&args.db)?;
    if let Some(RunsAction::Prune { keep }) = args.action {
        let deleted = store.prune(keep)?;
        eprintln!("deleted {deleted} runs, kept the newest {keep}");
        return Ok(());
    }
    let runs = store.runs()?;
    if runs.is_empty() {
        eprintln!(
            "no runs in `{}` yet: `stratum segment … --db {}` keeps one",
            shown(&args.db),
            args.db
        );
        return Ok(());
    }
    let header: Vec<String> = [
        "run",
        "as of",
        "customers",
        "revenue",
        "scheme",
        "finished",
        "tool",
    ]
    .map(String::from)
    .to_vec();
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                r.as_of.to_string(),
                thousands(r.customers),
                format!("{:.2}", r.revenue.to_f64()),
                r.scheme_name.clone().unwrap_or_else(|| "-".into()),
                r.finished_at.clone(),
                r.tool_version.clone(),
            ]
        })
        .collect();
    print!("{}", table(&header, &rows));
    Ok(())
}

/// `customer`'s history, or the error that no run of `db` scored it.
fn history_of(
    store: &mut Store,
    db: &str,
    customer: &str,
) -> Result<stratum_store::CustomerHistory> {
    store.history(customer)?.ok_or_else(|| {
        BadInput(format!(
            "customer `{customer}` is in no run of `{}`",
            shown(db)
        ))
        .into()
    })
}

/// `stratum history CUSTOMER`.
pub fn history(args: HistoryArgs) -> Result<()> {
    let lang: Lang = args
        .lang
        .parse()
        .map_err(|e| BadInput(format!("--lang: {e}")))?;
    let mut store = open(&args.db)?;
    let h = history_of(&mut store, &args.db, &args.customer)?;
    let dimensions: Vec<String> = h
        .entries
        .last()
        .map(|e| e.tiers.iter().map(|(d, _)| d.clone()).collect())
        .unwrap_or_default();
    let words = Words::of_run(&mut store, h.entries.last().map(|e| e.run), lang)?;
    let mut header: Vec<String> = [
        lang.pick("运行", "run"),
        lang.pick("分析日期", "as of"),
        "RFM",
        "ABC",
        lang.pick("天数R", "R days"),
        "F",
        "M",
    ]
    .map(String::from)
    .to_vec();
    header.extend(dimensions.iter().map(|d| words.dimension(d)));
    header.push(lang.pick("原因", "reason").to_string());
    let rows: Vec<Vec<String>> = h
        .entries
        .iter()
        .map(|e| {
            let mut row = vec![
                e.run.to_string(),
                e.as_of.to_string(),
                words.rfm_class(&e.codes[0]),
                e.codes[2].clone(),
                e.recency_days.to_string(),
                e.frequency.to_string(),
                format!("{:.2}", e.monetary.to_f64()),
            ];
            row.extend(dimensions.iter().map(|d| {
                e.tiers
                    .iter()
                    .find(|(name, _)| name == d)
                    .map_or_else(|| "-".to_string(), |(_, t)| words.tier(d, t))
            }));
            row.push(reason_text(e.reason.as_ref(), lang));
            row
        })
        .collect();
    println!("{}", h.customer_id);
    print!("{}", table(&header, &rows));
    if let Some((first, last)) = h.seen() {
        eprintln!(
            "{} {first}, {} {last}",
            lang.pick("首次出现", "first seen"),
            lang.pick("最近出现", "last seen")
        );
    }
    if let (Some((since, runs)), Some((dimension, tier))) = (
        h.in_current_tier(),
        h.entries.last().and_then(|e| e.tiers.last()),
    ) {
        let tier = words.tier(dimension, tier);
        eprintln!(
            "{} {tier} {} {since} ({runs} {})",
            lang.pick("当前等级", "in tier"),
            lang.pick("始于", "since"),
            lang.pick("次运行", "runs")
        );
    }
    Ok(())
}

/// The codes a store keeps, worded in one language: a run's tiers and dimensions by its
/// scheme's labels, RFM classes by Stratum's; a code without a label stays as it is.
struct Words {
    lang: Lang,
    scheme: Option<stratum_core::scheme::SchemeParams>,
}

impl Words {
    /// The words of run `run`'s scheme (none for no run, or a run without a scheme).
    fn of_run(store: &mut Store, run: Option<i64>, lang: Lang) -> Result<Words> {
        let scheme = run.map(|run| scheme_of(store, run)).transpose()?.flatten();
        Ok(Words { lang, scheme })
    }

    fn tier(&self, dimension: &str, code: &str) -> String {
        let label = self
            .scheme
            .as_ref()
            .and_then(|s| s.tier_label(dimension, code));
        label.map_or(code, |l| l.pick(self.lang, code)).to_string()
    }

    fn dimension(&self, name: &str) -> String {
        let label = self.scheme.as_ref().and_then(|s| s.dimension_label(name));
        label.map_or(name, |l| l.pick(self.lang, name)).to_string()
    }

    fn rfm_class(&self, code: &str) -> String {
        stratum_core::history::tier_label(None, "rfm_class", code, self.lang)
    }
}

/// The scheme run `run` used, parsed from the text the store kept (`None` without a scheme).
/// The scheme was read when the run was kept: one that no longer parses (a newer file
/// format) only costs the labels and thresholds read from it.
fn scheme_of(store: &mut Store, run: i64) -> Result<Option<stratum_core::scheme::SchemeParams>> {
    let text = store.scheme_text(run)?;
    Ok(text.and_then(|t| stratum_core::scheme::SchemeParams::from_toml(&t).ok()))
}

/// `stratum migrations`.
pub fn migrations(args: MigrationsArgs) -> Result<()> {
    let mut store = open(&args.db)?;
    let runs = store.runs()?;
    let to = match args.to {
        Some(id) => id,
        None => runs
            .last()
            .map(|r| r.id)
            .ok_or_else(|| BadInput(format!("no runs in `{}` yet", shown(&args.db))))?,
    };
    let from = match args.from {
        Some(id) => id,
        None => runs
            .iter()
            .rev()
            .find(|r| r.id < to)
            .map(|r| r.id)
            .ok_or_else(|| {
                BadInput(format!(
                    "run {to} has no earlier run in `{}` to compare with (--from)",
                    shown(&args.db)
                ))
            })?,
    };
    let m = store
        .migrations(from, to, args.dimension.as_deref())
        .map_err(|e| match e {
            e @ (StoreError::NoRun(_) | StoreError::NoDimension { .. }) => {
                anyhow::Error::new(BadInput(e.to_string()))
            }
            e => anyhow::Error::new(e),
        })?;
    print!("{}", migrations_text(&m, args.top));
    if let Some(out) = &args.out {
        let outputs = Outputs::begin(out, &[], &["migrations.csv", "movers.csv"])?;
        let dir = outputs.dir().to_path_buf();
        let (from_scheme, to_scheme) = (
            scheme_of(&mut store, m.from.id)?,
            scheme_of(&mut store, m.to.id)?,
        );
        let written = write_migrations(&dir, &m, (from_scheme.as_ref(), to_scheme.as_ref()));
        outputs.finish(written)?;
        eprintln!("wrote {}: migrations.csv, movers.csv", out.display());
    }
    Ok(())
}

/// The matrix, the shares and the movers as terminal tables.
fn migrations_text(m: &Migrations, top: usize) -> String {
    // every tier in scheme order, new customers as the first row and lost ones as the last
    // column when there are any
    let has = |f: fn(&stratum_store::migrate::Transition) -> bool| m.cells.iter().any(f);
    let from: Vec<Option<&str>> = has(|c| c.from.is_none())
        .then_some(None)
        .into_iter()
        .chain(m.from_tiers.iter().map(|t| Some(t.as_str())))
        .collect();
    let to: Vec<Option<&str>> = m
        .to_tiers
        .iter()
        .map(|t| Some(t.as_str()))
        .chain(has(|c| c.to.is_none()).then_some(None))
        .collect();
    let name = |t: Option<&str>, none: &str| t.map_or_else(|| none.to_string(), str::to_string);
    let mut header = vec![format!("{} → {}", m.from.id, m.to.id)];
    header.extend(to.iter().map(|t| name(*t, "(lost)")));
    let rows: Vec<Vec<String>> = from
        .iter()
        .map(|f| {
            let mut row = vec![name(*f, "(new)")];
            row.extend(to.iter().map(|t| {
                m.cells
                    .iter()
                    .find(|c| c.from.as_deref() == *f && c.to.as_deref() == *t)
                    .map_or_else(|| "0".to_string(), |c| thousands(c.customers))
            }));
            row
        })
        .collect();
    let [up, stable, down] = m.shares();
    let mut out = format!(
        "{}: run {} ({}) → run {} ({})\n{}",
        m.dimension,
        m.from.id,
        m.from.as_of,
        m.to.id,
        m.to.as_of,
        table(&header, &rows)
    );
    out.push_str(&format!(
        "up {} ({:.1}%), stable {} ({:.1}%), down {} ({:.1}%); new {}, lost {}\n",
        thousands(m.counts[0]),
        up * 100.0,
        thousands(m.counts[1]),
        stable * 100.0,
        thousands(m.counts[2]),
        down * 100.0,
        thousands(m.new_and_lost[0]),
        thousands(m.new_and_lost[1]),
    ));
    let mover_rows = |list: &mut dyn Iterator<Item = &Mover>| -> Vec<Vec<String>> {
        list.take(top)
            .map(|x| {
                vec![
                    x.customer_id.clone(),
                    name(x.from.as_deref(), "-"),
                    name(x.to.as_deref(), "-"),
                    x.direction.code().to_string(),
                    format!("{:.2}", x.monetary_from.to_f64()),
                    format!("{:.2}", x.monetary_to.to_f64()),
                ]
            })
            .collect()
    };
    let mover_header: Vec<String> = [
        "customer",
        "from",
        "to",
        "move",
        "revenue before",
        "revenue after",
    ]
    .map(String::from)
    .to_vec();
    let biggest = mover_rows(&mut m.movers.iter());
    if !biggest.is_empty() {
        out.push_str("\nbiggest movers by revenue\n");
        out.push_str(&table(&mover_header, &biggest));
    }
    let high = mover_rows(&mut m.high_value_down());
    if !high.is_empty() {
        out.push_str("\nhigh-value customers (ABC class A) who moved down or were lost\n");
        out.push_str(&table(&mover_header, &high));
    }
    out
}

/// Writes `migrations.csv` and `movers.csv` into `dir`.
fn write_migrations(
    dir: &std::path::Path,
    m: &Migrations,
    (from_scheme, to_scheme): (
        Option<&stratum_core::scheme::SchemeParams>,
        Option<&stratum_core::scheme::SchemeParams>,
    ),
) -> Result<()> {
    let tier = |t: &Option<String>| t.clone().unwrap_or_default();
    let path = dir.join("migrations.csv");
    let mut w = CsvOut::new(super::ingest::create(&path)?, CsvText::Safe);
    let write = |w: &mut CsvOut<_>| -> csv::Result<()> {
        w.texts([
            "from_tier",
            "to_tier",
            "customers",
            "revenue_from",
            "revenue_to",
        ])?;
        for c in &m.cells {
            let (from, to) = (tier(&c.from), tier(&c.to));
            w.cells(&[
                Cell::Text(&from),
                Cell::Text(&to),
                Cell::Int(c.customers as i64),
                Cell::Money(c.revenue_from),
                Cell::Money(c.revenue_to),
            ])?;
        }
        Ok(())
    };
    write(&mut w)
        .and_then(|()| w.into_inner().map(|_| ()))
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    let path = dir.join("movers.csv");
    let mut w = CsvOut::new(super::ingest::create(&path)?, CsvText::Safe);
    let write = |w: &mut CsvOut<_>| -> csv::Result<()> {
        w.texts([
            "customer_id",
            "from_tier",
            "to_tier",
            "move",
            "revenue_from",
            "revenue_to",
            "was_class_a",
            "reason_from",
            "reason_to",
            "crossed",
        ])?;
        for x in &m.movers {
            let (from, to) = (tier(&x.from), tier(&x.to));
            let why = |r: &Option<StoredReasonText>| {
                r.as_ref()
                    .map_or_else(String::new, |r| reason_text(Some(r), Lang::En))
            };
            let (why_from, why_to) = (why(&x.reason_from), why(&x.reason_to));
            // the numbers that crossed a threshold of the old or the new tier's rule
            let crossed = match (&x.from, &x.to) {
                (Some(from), Some(to)) => {
                    mover_crossed(x, &m.dimension, from, to, (from_scheme, to_scheme)).join("; ")
                }
                _ => String::new(),
            };
            w.cells(&[
                Cell::Text(&x.customer_id),
                Cell::Text(&from),
                Cell::Text(&to),
                Cell::Text(x.direction.code()),
                Cell::Money(x.monetary_from),
                Cell::Money(x.monetary_to),
                Cell::Text(if x.was_class_a { "yes" } else { "no" }),
                Cell::Text(&why_from),
                Cell::Text(&why_to),
                Cell::Text(&crossed),
            ])?;
        }
        Ok(())
    };
    write(&mut w)
        .and_then(|()| w.into_inner().map(|_| ()))
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    Ok(())
}

/// `stratum diff RUN RUN --customer ID`.
pub fn diff(args: DiffArgs) -> Result<()> {
    let mut store = open(&args.db)?;
    let h = history_of(&mut store, &args.db, &args.customer)?;
    let runs = store.runs()?;
    for id in [args.from, args.to] {
        if !runs.iter().any(|r| r.id == id) {
            return Err(BadInput(format!("no run {id} in `{}`", shown(&args.db))).into());
        }
    }
    let entry = |id: i64| h.entries.iter().find(|e| e.run == id);
    let (before, after) = (entry(args.from), entry(args.to));
    print!(
        "{}",
        diff_text(&args.customer, (args.from, before), (args.to, after))
    );
    let (from_scheme, to_scheme) = (
        scheme_of(&mut store, args.from)?,
        scheme_of(&mut store, args.to)?,
    );
    if let (Some(b), Some(a)) = (before, after) {
        print!(
            "{}",
            crossed_text(b, a, from_scheme.as_ref(), to_scheme.as_ref())
        );
    }
    Ok(())
}

/// Why each dimension whose tier changed moved: the numbers that crossed a threshold of the
/// old tier's rule (`annual_revenue 1,250,000 → 820,000 < 1,000,000`) or of the new tier's
/// (`annual_revenue 420,000 → 520,000 ≥ 500,000`), from the rules of each run's scheme and
/// the values each run kept.
fn crossed_text(
    before: &stratum_store::HistoryEntry,
    after: &stratum_store::HistoryEntry,
    from_scheme: Option<&stratum_core::scheme::SchemeParams>,
    to_scheme: Option<&stratum_core::scheme::SchemeParams>,
) -> String {
    let number = |e: &stratum_store::HistoryEntry, column: &str| -> Option<f64> {
        match column.to_lowercase().as_str() {
            "recency_days" => Some(e.recency_days as f64),
            "frequency" => Some(e.frequency as f64),
            "monetary" => Some(e.monetary.to_f64()),
            _ => number_in(&e.values, column),
        }
    };
    let mut out = String::new();
    for ((dimension, from), (_, to)) in before.tiers.iter().zip(&after.tiers) {
        if from == to {
            continue;
        }
        let rules = [
            from_scheme.and_then(|s| s.tier_rule(dimension, from)),
            to_scheme.and_then(|s| s.tier_rule(dimension, to)),
        ];
        let mut lines = crossed(rules, &|c: &str| number(before, c), &|c: &str| {
            number(after, c)
        });
        // a dimension whose rules read another dimension's tier follows it
        for ((other, other_from), (_, other_to)) in before.tiers.iter().zip(&after.tiers) {
            let reads = |rule: Option<&str>| {
                rule.is_some_and(|r| {
                    r.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .any(|word| word == other)
                })
            };
            if other != dimension && other_from != other_to && rules.iter().any(|r| reads(*r)) {
                lines.push(format!("{other} {other_from} → {other_to}"));
            }
        }
        out.push_str(&format!("{dimension} {from} → {to}: "));
        if lines.is_empty() {
            out.push_str(
                "no number crossed a threshold of the two tiers' rules (see the reasons)\n",
            );
        } else {
            out.push_str(&lines.join("; "));
            out.push('\n');
        }
    }
    out
}

/// A customer's two entries side by side: tiers, reasons, and every value the reasons read.
fn diff_text(
    customer: &str,
    (from, before): (i64, Option<&stratum_store::HistoryEntry>),
    (to, after): (i64, Option<&stratum_store::HistoryEntry>),
) -> String {
    let as_of = |e: Option<&stratum_store::HistoryEntry>| {
        e.map_or_else(|| "not scored".to_string(), |e| e.as_of.to_string())
    };
    let mut out = format!(
        "{customer}: run {from} ({}) → run {to} ({})\n",
        as_of(before),
        as_of(after)
    );
    let mut dimensions: Vec<&str> = Vec::new();
    for e in [before, after].into_iter().flatten() {
        for (d, _) in &e.tiers {
            if !dimensions.contains(&d.as_str()) {
                dimensions.push(d);
            }
        }
    }
    let tier = |e: Option<&stratum_store::HistoryEntry>, d: &str| {
        e.and_then(|e| e.tiers.iter().find(|(n, _)| n == d))
            .map_or_else(|| "-".to_string(), |(_, t)| t.clone())
    };
    let mut rows: Vec<Vec<String>> = dimensions
        .iter()
        .map(|d| {
            let (b, a) = (tier(before, d), tier(after, d));
            let mark = if b == a { "" } else { "changed" };
            vec![d.to_string(), b, a, mark.to_string()]
        })
        .collect();
    let code = |e: Option<&stratum_store::HistoryEntry>, k: usize| {
        e.map_or_else(|| "-".to_string(), |e| e.codes[k].clone())
    };
    for (k, name) in ["rfm_class", "rfm_segment", "abc_class"].iter().enumerate() {
        let (b, a) = (code(before, k), code(after, k));
        let mark = if b == a { "" } else { "changed" };
        rows.push(vec![name.to_string(), b, a, mark.to_string()]);
    }
    let header: Vec<String> = ["", "before", "after", ""].map(String::from).to_vec();
    out.push_str(&table(&header, &rows));
    let reason = |e: Option<&stratum_store::HistoryEntry>| {
        reason_text(e.and_then(|e| e.reason.as_ref()), Lang::En)
    };
    out.push_str(&format!("reason before: {}\n", reason(before)));
    out.push_str(&format!("reason after:  {}\n", reason(after)));
    // the values the rules read, and the features every run keeps
    let mut values: Vec<(String, String, String)> = Vec::new();
    let feature = |e: Option<&stratum_store::HistoryEntry>, name: &str| -> Option<String> {
        let e = e?;
        match name {
            "recency_days" => Some(e.recency_days.to_string()),
            "frequency" => Some(e.frequency.to_string()),
            "monetary" => Some(format!("{:.2}", e.monetary.to_f64())),
            _ if e.tiers.iter().any(|(d, _)| d == name) => e
                .tiers
                .iter()
                .find(|(d, _)| d == name)
                .map(|(_, t)| t.clone()),
            _ => match (&e.reason, e.values.iter().find(|(c, _)| c == name)) {
                (_, Some((_, StoredValue::Number(x)))) => Some(compact_number(*x)),
                (_, Some((_, v))) => Some(value_text(v)),
                (Some(StoredReasonText::Rule(columns)), None) => columns
                    .iter()
                    .find(|(c, _)| c == name)
                    .map(|(_, v)| value_text(v)),
                _ => None,
            },
        }
    };
    let mut names: Vec<String> = ["recency_days", "frequency", "monetary"]
        .map(String::from)
        .to_vec();
    for e in [before, after].into_iter().flatten() {
        let read = match &e.reason {
            Some(StoredReasonText::Rule(columns)) => columns.as_slice(),
            _ => &[],
        };
        for (c, _) in read.iter().chain(&e.values) {
            if !names.contains(c) {
                names.push(c.clone());
            }
        }
    }
    for name in &names {
        let unknown = || "?".to_string();
        values.push((
            name.clone(),
            feature(before, name).unwrap_or_else(unknown),
            feature(after, name).unwrap_or_else(unknown),
        ));
    }
    let unread = values.iter().any(|(_, b, a)| b == "?" || a == "?");
    let rows: Vec<Vec<String>> = values
        .into_iter()
        .map(|(n, b, a)| vec![n, format!("{b} → {a}")])
        .collect();
    out.push_str(&table(
        &["value".to_string(), "before → after".to_string()],
        &rows,
    ));
    if unread {
        out.push_str(
            "(?: that run's reason did not read the column; a run keeps the columns of the rule that was true)\n",
        );
    }
    out
}

/// `stratum export`.
pub fn export(args: ExportArgs) -> Result<()> {
    use stratum_io::export::ExportFormat;
    let format = ExportFormat::parse(&args.format).ok_or_else(|| {
        BadInput(format!(
            "--format {}: give csv, xlsx or parquet",
            args.format
        ))
    })?;
    let name = format.file_name();
    let mut store = open(&args.db)?;
    // a run the store does not have is refused before any folder is made
    let run = run_of(&mut store, &args.db, &args.run)?;
    let outputs = Outputs::begin(&args.out, &[], &[name])?;
    let path = outputs.dir().join(name);
    let written = stratum_server::export::write_run(&mut store, run, None, format, &path).map_err(
        |e| match e {
            stratum_server::export::RunExportError::Store(e @ StoreError::NoRun(_)) => {
                anyhow::Error::new(BadInput(e.to_string()))
            }
            e => anyhow::Error::new(e).context(format!("failed to write `{}`", path.display())),
        },
    );
    let (info, _) = outputs.finish(written)?;

    eprintln!(
        "wrote {}: {name} (run {}, as of {}, {} customers)",
        args.out.display(),
        info.id,
        info.as_of,
        thousands(info.customers)
    );
    Ok(())
}
