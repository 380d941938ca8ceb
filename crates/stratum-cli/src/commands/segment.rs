//! `stratum segment`: a transaction export in, tiers and a quality report out.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use stratum_core::summary::GroupSummary;
use stratum_core::{Labelled, Lang, Tiering};
use stratum_io::format::{number, pct, thousands};
use stratum_io::inputs::{InputFiles, Inputs};
use stratum_io::master::CustomerTable;
use stratum_io::output::{write_customers_csv, write_segments_csv, write_unscored_csv};
use stratum_io::quality::{AsOfSource, QualityInputs, QualityReport};
use stratum_io::report::{ClvPart, ReportInput, write_report};
use stratum_io::transactions::TransactionOptions;
use stratum_io::workbook::{WorkbookInput, write_workbook};

use stratum_core::scheme::{Attributes, SchemeResult, SkipReason};
use stratum_io::master::MasterAttributes;
use stratum_io::output::{Cell, CsvText};
use stratum_io::tiers::{
    SUMMARY_COLUMNS, SchemeOutput, action_lists, summary_rows, write_scheme_outputs,
};

use super::ingest::{
    Timer, check_reject_rate, create, finish_rejects, no_usable_transactions, open_rejects,
    read_inputs,
};
use super::outputs::{Outputs, write_json};
use super::scheme::{load_scheme, scheme_error, warn_shadowed};
use crate::BadInput;
use crate::cli::SegmentArgs;
use crate::settings::{SegmentSettings, segment_settings};
use crate::terminal::table;
use stratum_core::clv::ValueTier;
use stratum_core::run::{ClvRun, RunError, RunInput, RunResult};
use stratum_io::clv::{
    CLV_CLASS_COLUMNS, ClassClv, ClvInput, ClvReport, CustomerPrediction, clv_class_cells,
    write_clv_by_class_csv, write_clv_csv,
};

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
    let inputs: Vec<(&str, Option<&Path>)> = s
        .transactions
        .inputs()
        .chain([
            ("customers", s.customers.as_deref()),
            ("interactions", s.interactions.as_deref()),
            ("overrides", s.overrides.as_deref()),
            ("scheme", s.scheme.as_deref()),
            ("config", s.config.as_deref()),
        ])
        .collect();
    let mut outputs = Outputs::begin(&s.out, &inputs, &names)?;
    let written = segment(&s, scheme, &mut outputs);
    let (written, tables) = outputs.finish(written)?;
    print!("{tables}");
    eprintln!(
        "{} {}: {}",
        s.lang.pick("结果已写入", "wrote"),
        s.out.display(),
        written.join(", ")
    );
    Ok(())
}

/// The run itself, writing into the staging folder of `outputs`; returns the names of the
/// files written and the tables for stdout.
fn segment(
    s: &SegmentSettings,
    scheme: Option<stratum_core::scheme::SchemeParams>,
    outputs: &mut Outputs,
) -> Result<(Vec<String>, String)> {
    let out = outputs.dir().to_path_buf();
    let shown_rejects = outputs.failed_path("rejects.csv");
    let (mut rejects, rejects_path) = open_rejects(&out, s.csv_text)?;
    let options = TransactionOptions {
        read: s.read.clone(),
        columns: s.columns.clone(),
        frequency: s.frequency,
        batch_bytes: None,
        duplicates: s.duplicates,
        history: scheme.is_some() || s.clv.is_some(),
        expressions: s.expressions.clone(),
    };
    let mut timer = Timer::new();
    let files = InputFiles {
        transactions: s.transactions.paths(),
        options: &options,
        as_of: s.as_of,
        customers: s.customers.as_deref(),
        customers_read: &s.customers_read,
        customers_id: s.customers_id.as_deref(),
        interactions: s.interactions.as_deref(),
        overrides: s.overrides.as_deref(),
    };
    let Inputs {
        aggregator,
        transactions: txq,
        master,
        interactions,
        overrides,
    } = read_inputs(&files, &mut rejects, &rejects_path)?;
    let (overrides, overrides_quality) = match overrides {
        Some((list, quality)) => (list, Some(quality)),
        None => (Vec::new(), None),
    };
    timer.lap("read inputs");
    finish_rejects(rejects, &rejects_path)?;

    let (as_of, as_of_source) = match (s.as_of, aggregator.default_as_of()) {
        (Some(d), _) => (d, AsOfSource::Given),
        (None, Some(d)) => (d, AsOfSource::DayAfterLastTransaction),
        (None, None) => {
            return Err(no_usable_transactions(
                Path::new(&s.transactions.shown()),
                &txq.counts,
                &shown_rejects,
            ));
        }
    };
    let features = aggregator.finish(as_of);
    timer.lap("features");
    let (master_table, master_quality) = match master {
        Some((t, q)) => (Some(t), Some(q)),
        None => (None, None),
    };
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
    // the scheme's rules see the master's attributes
    let attributes = master_table
        .as_ref()
        .filter(|_| scheme.is_some())
        .map(MasterAttributes::new);
    if let Some(a) = &attributes {
        warn_shadowed(a);
    }
    let signup_unreadable = attributes.as_ref().map_or(0, |a| a.unreadable_signups());
    let input = RunInput {
        clv: s.clv.as_ref(),
        scheme,
        attributes: attributes.as_ref().map(|a| a as &dyn Attributes),
        interactions: interactions.as_ref().map(|(log, _)| log),
        overrides: &overrides,
        ..RunInput::new(features, as_of, &s.rfm, &s.abc)
    };
    let run = stratum_core::run::run(input).map_err(|e| {
        let path = s.scheme.as_deref().unwrap_or(Path::new(""));
        match e {
            RunError::Scheme {
                error,
                with_clv,
                clv_failure,
            } => {
                if let Some(e) = clv_failure {
                    clv_warning(&e);
                }
                scheme_error(path, &error, master_table.is_some(), with_clv)
            }
            e => BadInput(format!("scheme `{}`, [cluster]: {e}", path.display())).into(),
        }
    })?;
    timer.lap("tiers, lifetime value and scheme");
    let RunResult {
        tiering,
        clv,
        scheme: scheme_run,
    } = run;
    super::prepare::warn_rfm(&tiering, s.lang);
    let clv = match clv {
        Some(Ok(c)) => Some(c),
        Some(Err(e)) => {
            clv_warning(&e);
            None
        }
        None => None,
    };
    let ids = tiering.features.customer_ids();
    let (applied, scheme_clusters) = match (scheme_run, s.scheme.as_ref()) {
        (Some(r), Some(path)) => (Some((path, r.profile, r.checked, r.result)), r.clusters),
        _ => (None, None),
    };
    let report = QualityReport::new(
        QualityInputs {
            as_of_source,
            transactions: txq,
            master: master_table.as_ref().zip(master_quality),
            interactions: interactions.as_ref().map(|(log, q)| (log, q)),
            overrides: overrides_quality.as_ref(),
            scheme_path: applied.as_ref().map(|(path, ..)| path.as_path()),
            signup_dates_unreadable: signup_unreadable,
        },
        as_of,
        &tiering,
        applied
            .as_ref()
            .map(|(_, profile, checked, result)| (profile, checked, result)),
    );
    write_json(&out.join("quality.json"), &report)?;
    eprintln!("{}", quality_text(&report, s.lang));
    outputs.rows("transactions", &report.transactions.counts);
    if let Some(q) = &report.customer_master {
        outputs.rows("customers", &q.counts);
    }
    if let Some(q) = report.scheme.as_ref().and_then(|q| q.interactions.as_ref()) {
        outputs.rows("interactions", &q.counts);
    }
    if let Some(q) = report.scheme.as_ref().and_then(|q| q.overrides.as_ref()) {
        outputs.rows("overrides", &q.counts);
    }
    check_reject_rate(
        &report.transactions.counts,
        s.max_reject_rate,
        Path::new(&s.transactions.shown()),
        &shown_rejects,
    )?;
    for (path, counts) in report.other_inputs() {
        check_reject_rate(counts, s.max_reject_rate, path, &shown_rejects)?;
    }

    if tiering.features.customers.is_empty() {
        return Err(BadInput(format!(
            "no customer has a purchase before {as_of} in `{}`",
            s.transactions.shown()
        ))
        .into());
    }

    let output = applied.as_ref().map(|(_, profile, checked, result)| {
        SchemeOutput::new(
            &tiering,
            profile,
            checked,
            result,
            master_table.as_ref(),
            as_of,
            s.lang,
        )
    });
    let clv_rows = clv.as_ref().map(|c| clv_rows(&tiering, c));
    // sorted per manager once, for actions/*.csv, actions.xlsx and the workbook
    let actions = output.as_ref().map(action_lists).unwrap_or_default();
    // The workbook is the slowest output: it is written beside all the others, the
    // validation statistics beside the CSV files.
    let xlsx_path = out.join("stratum.xlsx");
    let (xlsx, rest) = std::thread::scope(|scope| {
        let xlsx = scope.spawn(|| {
            if !s.write_xlsx {
                return Ok(());
            }
            let input = WorkbookInput {
                tiering: &tiering,
                master: master_table.as_ref(),
                quality: &report,
                rejects_csv: &rejects_path,
                rejects_text: s.csv_text,
                lang: s.lang,
                currency: &s.currency,
                scheme: output.as_ref(),
                actions: &actions,
                clv: clv_rows.as_ref().map(|(r, t)| (r.as_slice(), t.as_slice())),
                clv_model: clv.as_ref().map(|c| c.model.params().model()),
            };
            write_workbook(&xlsx_path, &input)
                .with_context(|| format!("failed to write `{}`", xlsx_path.display()))
        });
        let rest = (|| -> Result<_> {
            let validation = scope.spawn(|| {
                stratum_core::run::validations(
                    &tiering,
                    applied
                        .as_ref()
                        .map(|(_, _, scheme, result)| (scheme, result)),
                    scheme_clusters.as_ref().map(|c| &c.0),
                )
                .map_err(|e| anyhow::anyhow!("{e}"))
            });
            let csvs = write_csv_outputs(&out, &tiering, master_table.as_ref(), s.lang, s.csv_text);
            let validation = match validation.join() {
                Ok(v) => v,
                Err(_) => anyhow::bail!("validating the segments failed unexpectedly"),
            };
            timer.lap("outputs");
            csvs?;
            let mut scheme_files = Vec::new();
            let mut scheme_table = String::new();
            let cluster_revenue = scheme_clusters
                .as_ref()
                .map(|(clustering, _)| super::prepare::revenue_shares(&tiering, clustering));
            if let (Some((_, _, _, result)), Some(output)) = (&applied, &output) {
                report_overrides(result, s.lang);
                scheme_files =
                    write_scheme_outputs(&out, output, &actions, s.write_xlsx, s.csv_text)?;
                if let (Some((clustering, columns)), Some(revenue)) =
                    (&scheme_clusters, &cluster_revenue)
                {
                    let path = out.join("clusters.csv");
                    stratum_io::cluster::write_clusters_csv(
                        create(&path)?,
                        &ids,
                        clustering,
                        columns,
                        s.lang,
                        s.csv_text,
                    )
                    .with_context(|| format!("failed to write `{}`", path.display()))?;
                    let path = out.join("cluster_profiles.csv");
                    stratum_io::cluster::write_profiles_csv(
                        create(&path)?,
                        clustering,
                        revenue,
                        s.lang,
                        s.csv_text,
                    )
                    .with_context(|| format!("failed to write `{}`", path.display()))?;
                    scheme_files
                        .extend([out.join("clusters.csv"), out.join("cluster_profiles.csv")]);
                }
                timer.lap("scheme outputs");
                scheme_table = final_tier_text(output);
            }

            let validation = validation?;
            let validation_files = write_validation(&out, &validation, s.lang, s.csv_text)?;
            timer.lap("validation files");

            let mut clv_files: Vec<&str> = Vec::new();
            let mut clv_table = String::new();
            if let (Some(c), Some((rows, tiers))) = (&clv, &clv_rows) {
                let classes = c.by_class(&tiering);
                clv_files = write_clv_outputs(
                    &out,
                    c,
                    (rows, tiers),
                    &classes,
                    &report.transactions,
                    s.lang,
                    s.csv_text,
                )?;
                clv_table = clv_class_text(&classes, c, s.lang);
                timer.lap("clv outputs");
            }

            let mut report_files: Vec<&str> = Vec::new();
            if s.report {
                let path = out.join("report.html");
                let generator = format!("Stratum {}", env!("CARGO_PKG_VERSION"));
                let input = ReportInput {
                    tiering: &tiering,
                    quality: &report,
                    lang: s.lang,
                    currency: &s.currency,
                    scheme: output.as_ref(),
                    clusters: scheme_clusters
                        .as_ref()
                        .zip(cluster_revenue.as_deref())
                        .map(|((c, _), r)| (c, r)),
                    validations: &validation,
                    clv: clv.as_ref().map(|c| ClvPart {
                        predictions: &c.per_customer,
                        model: format!("{} + Gamma-Gamma", c.model.params().model().title()),
                        kind: c.model.params().model(),
                        horizon_months: c.model.params().horizon_months(),
                        churn_bands: c.model.params().churn_bands(),
                    }),
                    top: s.top,
                    abc_cuts: (s.abc.a(), s.abc.b()),
                    rfm_quantiles: matches!(s.rfm.method(), stratum_core::ScoreMethod::Quantile),
                    generator: &generator,
                };
                write_report(&path, &input)
                    .with_context(|| format!("failed to write `{}`", path.display()))?;
                report_files.push("report.html");
                timer.lap("report");
            }
            Ok((
                scheme_files,
                scheme_table,
                validation_files,
                clv_files,
                clv_table,
                report_files,
            ))
        })();
        (xlsx.join(), rest)
    });
    let (scheme_files, scheme_table, validation_files, clv_files, clv_table, report_files) = rest?;
    match xlsx {
        Ok(result) => result?,
        Err(_) => anyhow::bail!("writing `{}` failed unexpectedly", xlsx_path.display()),
    }
    timer.lap("workbook");

    let mut tables = segment_text(&tiering, s.lang);
    if !scheme_table.is_empty() {
        tables.push_str(&format!("\n{scheme_table}"));
    }
    if !clv_table.is_empty() {
        tables.push_str(&format!("\n{clv_table}"));
    }
    let files = OUTPUT_FILES
        .iter()
        .filter(|f| s.write_xlsx || **f != "stratum.xlsx")
        .map(|f| f.to_string())
        .chain(
            scheme_files
                .iter()
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())),
        )
        .chain(validation_files.iter().map(|f| f.to_string()))
        .chain(clv_files.iter().map(|f| f.to_string()))
        .chain(report_files.iter().map(|f| f.to_string()))
        .collect();
    Ok((files, tables))
}

/// The outputs beyond [`OUTPUT_FILES`]: the validation files and those written only with a
/// scheme or `--clv`; removed before every run like the others.
const OPTIONAL_FILES: [&str; 12] = [
    "report.html",
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

/// Writes the validation files and prints one line of warning counts per segmentation.
fn write_validation(
    out: &Path,
    done: &[(String, stratum_core::validate::Validation)],
    lang: Lang,
    text: CsvText,
) -> Result<[&'static str; 3]> {
    let all: Vec<(&str, &stratum_core::validate::Validation)> =
        done.iter().map(|(n, v)| (n.as_str(), v)).collect();
    super::prepare::write_validation_files(out, &all, text)?;
    // a count per segmentation here; each warning is in validation.json
    for (name, v) in &all {
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
    Ok(["validation.csv", "validation_tests.csv", "validation.json"])
}

/// Writes `clv.csv`, `clv_by_class.csv` and `clv_params.json`.
fn write_clv_outputs(
    out: &Path,
    c: &ClvRun,
    (rows, tiers): (&[CustomerPrediction<'_>], &[ValueTier]),
    classes: &[ClassClv],
    transactions: &stratum_io::transactions::TransactionQuality,
    lang: Lang,
    text: CsvText,
) -> Result<Vec<&'static str>> {
    let path = out.join("clv.csv");
    write_clv_csv(create(&path)?, rows, tiers, lang, text)
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    let path = out.join("clv_by_class.csv");
    write_clv_by_class_csv(create(&path)?, classes, lang, text)
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    let path = out.join("clv_params.json");
    let report = ClvReport::new(
        &c.model,
        Some(c.calibration_end),
        None,
        rows,
        0,
        &[],
        ClvInput::Transactions(transactions),
        None,
    );
    write_json(&path, &report)?;
    Ok(vec!["clv.csv", "clv_by_class.csv", "clv_params.json"])
}

/// The customers with a prediction (in the tiering's order) and their value tiers.
fn clv_rows<'a>(tiering: &'a Tiering, c: &ClvRun) -> (Vec<CustomerPrediction<'a>>, Vec<ValueTier>) {
    tiering
        .features
        .customers
        .iter()
        .zip(&c.summaries)
        .zip(&c.per_customer)
        .filter_map(|((f, s), p)| {
            let (prediction, tier) = p.as_ref()?;
            Some((
                CustomerPrediction {
                    customer_id: &f.customer_id,
                    summary: (*s)?,
                    prediction: *prediction,
                },
                *tier,
            ))
        })
        .unzip()
}

/// The per-class table on stdout.
fn clv_class_text(classes: &[ClassClv], c: &ClvRun, lang: Lang) -> String {
    let header = CLV_CLASS_COLUMNS.map(|h| stratum_core::labels::column_label(h, lang).to_string());
    let rows: Vec<Vec<String>> = classes
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

/// Writes `customers.csv`, `segments.csv` and `unscored.csv`.
fn write_csv_outputs(
    out: &Path,
    tiering: &Tiering,
    master: Option<&CustomerTable>,
    lang: Lang,
    text: CsvText,
) -> Result<()> {
    let customers_path = out.join("customers.csv");
    let mut w = create(&customers_path)?;
    write_customers_csv(&mut w, tiering, master, lang, text)
        .map_err(std::io::Error::from)
        .and_then(|_| w.flush())
        .with_context(|| format!("failed to write `{}`", customers_path.display()))?;
    let segments_path = out.join("segments.csv");
    let mut w = create(&segments_path)?;
    write_segments_csv(&mut w, tiering, lang, text)
        .map_err(std::io::Error::from)
        .and_then(|_| w.flush())
        .with_context(|| format!("failed to write `{}`", segments_path.display()))?;
    let unscored_path = out.join("unscored.csv");
    let mut w = create(&unscored_path)?;
    write_unscored_csv(&mut w, tiering, text)
        .map_err(std::io::Error::from)
        .and_then(|_| w.flush())
        .with_context(|| format!("failed to write `{}`", unscored_path.display()))?;
    Ok(())
}

fn quality_text(report: &QualityReport, lang: Lang) -> String {
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
