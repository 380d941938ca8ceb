//! `stratum clv`: fit a lifetime-value model on a transaction export and predict every
//! customer's future purchases, P(alive), churn risk and CLV.

use anyhow::{Context, Result};
use chrono::{Days, NaiveDate};
use stratum_core::Lang;
use stratum_core::clv::{ChurnBand, ClvModel, FitReport, ModelKind, Summary, summaries};
use stratum_io::clv::{
    ClvInput, ClvReport, CustomerPrediction, HOLDOUT_COLUMNS, holdout_cells, holdout_check_text,
    load_summaries, write_holdout_csv, write_predictions_csv,
};
use stratum_io::format::{money, number, thousands};
use stratum_io::output::Cell;
use stratum_io::quality::InputQuality;
use stratum_io::transactions::TransactionOptions;

use super::ingest::{
    Rejects, Timer, check_reject_rate, create, finish_rejects, no_usable_transactions,
    open_rejects, read_transactions, with_rejects_path,
};
use super::outputs::Outputs;
use crate::BadInput;
use crate::cli::ClvArgs;
use crate::settings::{ClvSettings, clv_settings};
use crate::terminal::table;

/// The output files.
pub const OUTPUT_FILES: [&str; 4] = [
    "rejects.csv",
    "params.json",
    "predictions.csv",
    "holdout.csv",
];

/// Runs `stratum clv`.
pub fn run(args: ClvArgs) -> Result<()> {
    run_with(clv_settings(args)?)
}

/// What the model is fitted on: each customer's summary, and where it came from.
struct Prepared {
    rows: Vec<(String, Summary)>,
    /// The last day of calibration and the last day observed (transactions only).
    dates: Option<(NaiveDate, NaiveDate)>,
    first_seen_in_holdout: usize,
    quality: Quality,
}

enum Quality {
    Transactions(Box<stratum_io::transactions::TransactionQuality>),
    Summary(InputQuality),
}

impl Quality {
    fn counts(&self) -> &stratum_io::transactions::RowCounts {
        match self {
            Quality::Transactions(q) => &q.counts,
            Quality::Summary(q) => &q.counts,
        }
    }
    fn input(&self) -> ClvInput<'_> {
        match self {
            Quality::Transactions(q) => ClvInput::Transactions(q),
            Quality::Summary(q) => ClvInput::Summary(q),
        }
    }
}

fn run_with(s: ClvSettings) -> Result<()> {
    let mut outputs = Outputs::begin(
        &s.out,
        &s.transactions
            .iter()
            .flat_map(|t| t.inputs())
            .chain([
                ("summary", s.summary.as_deref()),
                ("config", s.input.config.as_deref()),
            ])
            .collect::<Vec<_>>(),
        &OUTPUT_FILES,
    )?;
    let result = clv(&s, &mut outputs);
    let (written, text) = outputs.finish(result)?;
    super::outputs::print_done(&text, s.input.lang, &s.out, &written);
    Ok(())
}

/// The run, writing into the staging folder of `outputs`: the files written and the text for
/// stdout.
fn clv(s: &ClvSettings, outputs: &mut Outputs) -> Result<(Vec<&'static str>, String)> {
    let lang = s.input.lang;
    let out = outputs.dir().to_path_buf();
    let shown_rejects = outputs.failed_path("rejects.csv");
    let (mut rejects, rejects_path) = open_rejects(&out, s.input.csv_text)?;
    let mut timer = Timer::new();
    let (path, prepared) = match (&s.transactions, &s.summary) {
        (_, Some(path)) => {
            let discrete = s.clv.model() == ModelKind::BgBb;
            let (rows, counts, columns) =
                load_summaries(path, &s.input.read, discrete, &mut rejects)
                    .map_err(|e| with_rejects_path(e, &rejects_path))?;
            outputs.rows("summary", &counts);
            let quality = Quality::Summary(InputQuality {
                path: path.clone(),
                columns,
                counts,
            });
            let prepared = Prepared {
                rows,
                dates: None,
                first_seen_in_holdout: 0,
                quality,
            };
            (path.clone(), prepared)
        }
        (Some(files), None) => {
            let prepared = from_transactions(
                files,
                s,
                outputs.read_digests(),
                &mut rejects,
                &rejects_path,
                &shown_rejects,
            )?;
            outputs.rows("transactions", prepared.quality.counts());
            (std::path::PathBuf::from(files.shown()), prepared)
        }
        (None, None) => {
            return Err(BadInput("give a --transactions or a --summary file".into()).into());
        }
    };
    finish_rejects(rejects, &rejects_path)?;
    check_reject_rate(
        prepared.quality.counts(),
        s.input.max_reject_rate,
        &path,
        &shown_rejects,
    )?;
    timer.lap("summaries");
    let just: Vec<Summary> = prepared.rows.iter().map(|r| r.1).collect();
    let model = s
        .clv
        .fit(&just)
        .map_err(|e| BadInput(format!("`{}`: {e}", path.display())))?;
    timer.lap("fit");
    let predictions = model.predict_all(&just);
    timer.lap("predict");
    let rows: Vec<CustomerPrediction> = prepared
        .rows
        .iter()
        .zip(&predictions)
        .map(|((customer_id, summary), &prediction)| CustomerPrediction {
            customer_id,
            summary: *summary,
            prediction,
        })
        .collect();
    let holdout_days = prepared.dates.map_or(0, |(calibration_end, last_day)| {
        (last_day - calibration_end).num_days()
    });
    let holdout_periods = (holdout_days > 0).then(|| holdout_days as f64 / s.clv.period().days());
    let holdout = match holdout_periods {
        Some(p) => model.holdout_table(&just, p, 7),
        None => Vec::new(),
    };
    let report = ClvReport::new(
        &model,
        prepared.dates.map(|d| d.0),
        holdout_periods.and(prepared.dates.map(|d| d.1)),
        &rows,
        prepared.first_seen_in_holdout,
        &holdout,
        prepared.quality.input(),
        holdout_periods,
    );
    stratum_io::render::write_json(&out.join("params.json"), &report)?;
    let predictions_path = out.join("predictions.csv");
    write_predictions_csv(
        create(&predictions_path)?,
        &rows,
        holdout_periods.is_some(),
        lang,
        s.input.csv_text,
    )
    .with_context(|| format!("failed to write `{}`", predictions_path.display()))?;
    let mut written = vec!["rejects.csv", "params.json", "predictions.csv"];
    if holdout_periods.is_some() {
        let holdout_path = out.join("holdout.csv");
        write_holdout_csv(create(&holdout_path)?, &holdout, s.input.csv_text)
            .with_context(|| format!("failed to write `{}`", holdout_path.display()))?;
        written.push("holdout.csv");
    }
    timer.lap("outputs");

    if model.spend_correlation_warning() {
        eprintln!(
            "{} {:.2}",
            lang.pick(
                "警告：复购次数与平均消费额相关性较强，Gamma-Gamma 模型假设二者独立；相关系数",
                "warning: repeat purchases and mean spend are correlated, which the Gamma-Gamma model assumes they are not; correlation",
            ),
            model.spend_correlation()
        );
    }
    if report.customers_not_predicted > 0 {
        eprintln!(
            "{} {}",
            thousands(report.customers_not_predicted as u64),
            lang.pick(
                "位客户的预测值无法计算（不是有限数），已留空",
                "customers could not be predicted (not a finite number); their predictions are left empty",
            )
        );
    }
    if prepared.first_seen_in_holdout > 0 {
        eprintln!(
            "{} {}",
            thousands(prepared.first_seen_in_holdout as u64),
            lang.pick(
                "位客户首次购买在验证期内，未参与拟合与预测",
                "customers first bought in the holdout: not fitted, not predicted",
            )
        );
    }
    Ok((written, clv_text(&model, &report, &rows, lang)))
}

/// Reads a transaction file and summarises every customer up to the calibration end.
fn from_transactions(
    files: &crate::settings::TransactionFiles,
    s: &ClvSettings,
    digests: Option<stratum_io::publish::ReadDigests>,
    rejects: &mut Rejects,
    rejects_path: &std::path::Path,
    shown_rejects: &std::path::Path,
) -> Result<Prepared> {
    let options = TransactionOptions {
        read: s.input.read.clone(),
        columns: s.input.columns.clone(),
        frequency: stratum_core::FrequencyBasis::Orders,
        batch_bytes: None,
        duplicates: s.input.duplicates,
        history: true,
        expressions: s.input.expressions.clone(),
        periods: None,
        digests,
    };
    let (aggregator, txq) =
        read_transactions(files.paths(), &options, s.as_of, rejects, rejects_path)?;
    let Some((first_date, _)) = aggregator.date_range() else {
        return Err(no_usable_transactions(
            &std::path::PathBuf::from(files.shown()),
            &txq.counts,
            shown_rejects,
        ));
    };
    let as_of = match (s.as_of, aggregator.default_as_of()) {
        (Some(d), _) | (None, Some(d)) => d,
        (None, None) => first_date,
    };
    let last_day = as_of - Days::new(1);
    let calibration_end = match s.holdout_from {
        Some(h) if h <= first_date || h > last_day => {
            return Err(BadInput(format!(
                "--holdout-from {h} must be after the first transaction ({first_date}) and on or \
                 before the last day observed ({last_day})"
            ))
            .into());
        }
        Some(h) => h - Days::new(1),
        None => last_day,
    };
    let features = aggregator.finish(as_of);
    let all = summaries(&features.customers, calibration_end, &s.clv);
    let rows: Vec<(String, Summary)> = features
        .customers
        .into_iter()
        .zip(&all)
        .filter_map(|(c, s)| s.map(|s| (c.customer_id, s)))
        .collect();
    Ok(Prepared {
        first_seen_in_holdout: all.len() - rows.len(),
        rows,
        dates: Some((calibration_end, last_day)),
        quality: Quality::Transactions(Box::new(txq)),
    })
}

/// The fitted parameters with standard errors.
fn params_table(r: &FitReport, lang: Lang) -> String {
    let header = [
        lang.pick("参数", "parameter"),
        lang.pick("估计值", "estimate"),
        lang.pick("标准误", "std. error"),
    ]
    .map(String::from);
    let rows: Vec<Vec<String>> = r
        .names
        .iter()
        .zip(&r.values)
        .zip(&r.std_errors)
        .map(|((n, v), se)| {
            vec![
                n.to_string(),
                format!("{v:.4}"),
                se.map_or_else(|| "–".to_string(), |se| format!("{se:.4}")),
            ]
        })
        .collect();
    format!(
        "{} ({} {}, {} {}, {} {}):\n{}",
        r.model,
        lang.pick("对数似然", "log-likelihood"),
        number(r.log_likelihood, 2),
        thousands(r.customers as u64),
        lang.pick("位客户", "customers"),
        r.iterations,
        lang.pick("次迭代", "iterations"),
        table(&header, &rows)
    )
}

fn clv_text(
    model: &ClvModel,
    report: &ClvReport<'_>,
    rows: &[CustomerPrediction<'_>],
    lang: Lang,
) -> String {
    let mut text = params_table(model.transaction_report(), lang);
    text.push('\n');
    text.push_str(&params_table(model.spend_report(), lang));
    if !report.holdout.is_empty() {
        let header = match lang {
            Lang::En => HOLDOUT_COLUMNS.map(String::from),
            Lang::Zh => [
                "校准期复购次数",
                "客户数",
                "验证期实际购买",
                "验证期预测购买",
            ]
            .map(String::from),
        };
        // mean purchases with three decimals: they are small numbers
        let cells: Vec<Vec<String>> = holdout_cells(report.holdout, lang)
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| match c {
                        Cell::Number(v) => format!("{v:.3}"),
                        other => other.display(),
                    })
                    .collect()
            })
            .collect();
        text.push_str(&format!(
            "\n{} {} ({} {:.1} {}):\n{}",
            lang.pick("验证期", "holdout from"),
            report
                .calibration_end
                .map(|d| (d + Days::new(1)).to_string())
                .unwrap_or_default(),
            lang.pick("长度", "length"),
            report.holdout_periods.unwrap_or(0.0),
            model.params().period().label(lang),
            table(&header, &cells)
        ));
        if let Some(check) = &report.holdout_check {
            text.push_str(&holdout_check_text(check, lang));
            text.push('\n');
        }
    }
    let total_clv: f64 = rows
        .iter()
        .map(|r| r.prediction.clv)
        .filter(|v| v.is_finite())
        .sum();
    let bands = ChurnBand::count(rows.iter().map(|r| r.prediction.churn_band));
    let band = |b: ChurnBand| bands[b.index()] as u64;
    text.push_str(&format!(
        "\n{} {}: {}; {}: {} {} / {} {} / {} {}\n{}\n",
        lang.pick("未来", "CLV over"),
        format_args!(
            "{} {}",
            model.params().horizon_months(),
            lang.pick("个月客户价值合计", "months, all customers")
        ),
        stratum_core::Money::from_f64(total_clv).map_or_else(|| number(total_clv, 2), money),
        lang.pick("流失风险", "churn risk"),
        thousands(band(ChurnBand::Low)),
        ChurnBand::Low.label(lang),
        thousands(band(ChurnBand::Medium)),
        ChurnBand::Medium.label(lang),
        thousands(band(ChurnBand::High)),
        ChurnBand::High.label(lang),
        model.params().model().assumption(lang),
    ));
    text
}
