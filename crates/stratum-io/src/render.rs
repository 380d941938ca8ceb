//! A run's files: every output of `stratum segment` laid out from one [`Run`] (the run's
//! result, the inputs' accounting and the master data), nothing computed here that the run
//! has computed.
//!
//! The workbook, the slowest output, is written on a thread of its own beside all the others.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rust_xlsxwriter::XlsxError;
use stratum_core::clv::ValueTier;
use stratum_core::run::{ClvRun, RunResult};
use stratum_core::validate::Validation;
use stratum_core::{Lang, Tiering};

use crate::clv::{ClvInput, ClvReport, CustomerPrediction, write_clv_by_class_csv, write_clv_csv};
use crate::master::CustomerTable;
use crate::output::{CsvText, write_customers_csv, write_segments_csv, write_unscored_csv};
use crate::publish::DescribedFile;
use crate::quality::QualityReport;
use crate::report::{ReportInput, write_report};
use crate::tiers::{SchemeOutput, SchemeOutputError, action_lists, write_scheme_outputs};
use crate::workbook::{WorkbookInput, write_workbook};

/// A run as its outputs show it: what the run computed, how the inputs were read, and the
/// master data the customer rows are joined to.
#[derive(Debug)]
pub struct Run {
    /// Everything the run computed.
    pub result: RunResult,
    /// The inputs' accounting (quality.json).
    pub quality: QualityReport,
    /// The customer master, when one was read.
    pub master: Option<CustomerTable>,
}

impl Run {
    /// The scheme's outputs (tiers, reasons worded in `lang`), when a scheme ran.
    pub fn scheme_output(&self, lang: Lang) -> Option<SchemeOutput<'_>> {
        let r = &self.result;
        r.scheme
            .as_ref()
            .map(|s| SchemeOutput::new(&r.tiering, s, self.master.as_ref(), r.as_of, lang))
    }
}

/// How the files are laid out.
#[derive(Debug, Clone, Copy)]
pub struct RenderSettings<'a> {
    /// Label language.
    pub lang: Lang,
    /// The currency symbol put before amounts (may be empty).
    pub currency: &'a str,
    /// How text cells that look like formulas are written to CSV.
    pub csv_text: CsvText,
    /// Whether to write `stratum.xlsx` and `actions.xlsx`.
    pub workbook: bool,
    /// How many customers the workbook's customer sheets hold.
    pub workbook_rows: crate::workbook::WorkbookRows,
    /// Whether to write `report.html`.
    pub report: bool,
    /// How many high-value customers at risk the report lists.
    pub top: usize,
    /// The program and version, for the report's footer.
    pub generator: &'a str,
    /// The run's rejects file (already written), copied into the workbook.
    pub rejects_csv: &'a Path,
    /// The history of the store the run is kept in, for the report and the workbook.
    pub history: Option<&'a crate::history::HistoryView>,
    /// The account managers' scorecards, for the report.
    pub scorecards: Option<&'a crate::report::ReportTable>,
}

/// An output that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("failed to write `{}`", path.display())]
pub struct WriteError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: WriteFailure,
}

/// Why an output could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteFailure {
    /// The file system refused.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A CSV file failed.
    #[error(transparent)]
    Csv(#[from] csv::Error),
    /// A workbook failed.
    #[error(transparent)]
    Xlsx(#[from] XlsxError),
    /// A JSON file failed.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// The writer stopped unexpectedly.
    #[error("the writer stopped unexpectedly")]
    Panicked,
}

impl WriteError {
    fn at(path: &Path) -> impl FnOnce(WriteFailure) -> WriteError + '_ {
        move |source| WriteError {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl From<SchemeOutputError> for WriteError {
    fn from(e: SchemeOutputError) -> Self {
        match e {
            SchemeOutputError::Io { path, source } => WriteError {
                path,
                source: source.into(),
            },
            SchemeOutputError::Xlsx { path, source } => WriteError {
                path,
                source: source.into(),
            },
        }
    }
}

/// Creates `path` for writing, buffered.
pub fn create(path: &Path) -> Result<BufWriter<File>, WriteError> {
    let file = File::create(path).map_err(|e| WriteError::at(path)(e.into()))?;
    Ok(BufWriter::with_capacity(1 << 20, file))
}

/// Writes a file with `write` into a buffered file, flushed, its description for the
/// manifest worked out as it is written ([`DescribedFile`]).
fn write_file<E: Into<WriteFailure>>(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<DescribedFile>) -> Result<(), E>,
) -> Result<(), WriteError> {
    let file = DescribedFile::create(path).map_err(|e| WriteError::at(path)(e.into()))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    write(&mut w)
        .map_err(Into::into)
        .and_then(|()| {
            w.into_inner()
                .map_err(|e| WriteFailure::from(e.into_error()))?
                .finish()
                .map_err(WriteFailure::from)
        })
        .map_err(WriteError::at(path))
}

/// Writes `value` as pretty JSON to `path`, with a final line break.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), WriteError> {
    write_file(path, |w| {
        serde_json::to_writer_pretty(&mut *w, value)?;
        w.write_all(b"\n").map_err(WriteFailure::from)
    })
}

/// Writes every output of `run` beyond `rejects.csv` and `quality.json` into `dir`: the
/// customer files, the workbook, the scheme's tiers and action lists, the clusters, the
/// validation, the lifetime value and the report. Returns the names of the files written, in
/// a fixed order; `lap(phase)` is called as each group of files is done.
pub fn write_run(
    dir: &Path,
    run: &Run,
    s: &RenderSettings<'_>,
    lap: &mut dyn FnMut(&str),
) -> Result<Vec<String>, WriteError> {
    let r = &run.result;
    let tiering = &r.tiering;
    let output = run.scheme_output(s.lang);
    let clv = r.clv();
    let clv_rows = clv.map(|c| clv_rows(tiering, c));
    // sorted per manager once, for actions/*.csv, actions.xlsx and the workbook
    let actions = output.as_ref().map(action_lists).unwrap_or_default();
    // the funnel's groups, as the store keeps them: its files and the report draw on them
    let funnel = r.funnel_summary();
    let xlsx_path = dir.join("stratum.xlsx");
    let (xlsx, rest) = std::thread::scope(|scope| {
        let xlsx = scope.spawn(|| {
            if !s.workbook {
                return Ok(());
            }
            let input = WorkbookInput {
                tiering,
                master: run.master.as_ref(),
                quality: &run.quality,
                rejects_csv: s.rejects_csv,
                rejects_text: s.csv_text,
                lang: s.lang,
                currency: s.currency,
                scheme: output.as_ref(),
                actions: &actions,
                clv: clv_rows.as_ref().map(|(r, t)| (r.as_slice(), t.as_slice())),
                clv_run: clv,
                history: s.history,
                rows: s.workbook_rows,
            };
            write_workbook(&xlsx_path, &input).map_err(|e| WriteError::at(&xlsx_path)(e.into()))
        });
        let rest = (|| -> Result<Vec<String>, WriteError> {
            let mut files: Vec<String> = Vec::new();
            write_customer_files(dir, tiering, run.master.as_ref(), s.lang, s.csv_text)?;
            files.extend(CUSTOMER_FILES.map(String::from));
            if s.workbook {
                files.push("stratum.xlsx".into());
            }
            lap("outputs");
            if let (Some(scheme), Some(output)) = (&r.scheme, &output) {
                let written = write_scheme_outputs(dir, output, &actions, s.workbook, s.csv_text)?;
                files.extend(
                    written
                        .iter()
                        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())),
                );
                if let Some(c) = &scheme.clusters {
                    let ids = tiering.features.customer_ids();
                    let path = dir.join("clusters.csv");
                    write_file(&path, |w| {
                        crate::cluster::write_clusters_csv(
                            w,
                            &ids,
                            &c.clustering,
                            &c.columns,
                            s.lang,
                            s.csv_text,
                        )
                    })?;
                    let path = dir.join("cluster_profiles.csv");
                    write_file(&path, |w| {
                        crate::cluster::write_profiles_csv(
                            w,
                            &c.clustering,
                            &c.revenue_shares,
                            s.lang,
                            s.csv_text,
                        )
                    })?;
                    files.extend(["clusters.csv".into(), "cluster_profiles.csv".into()]);
                }
                lap("scheme outputs");
            }
            let all: Vec<(&str, &Validation)> =
                r.validations.iter().map(|(n, v)| (n.as_str(), v)).collect();
            files.extend(write_validation_files(dir, &all, s.csv_text)?.map(String::from));
            lap("validation files");
            if let (Some(c), Some(rows)) = (clv, &clv_rows) {
                files.extend(write_clv_files(dir, c, rows, &run.quality, s)?.map(String::from));
                lap("clv outputs");
            }
            if let (Some(f), Some(summary)) = (&r.funnel, &funnel) {
                files.extend(write_funnel_files(dir, r, f, summary, s)?.map(String::from));
                lap("funnel outputs");
            }
            if s.report {
                let path = dir.join("report.html");
                let input = ReportInput {
                    tiering,
                    quality: &run.quality,
                    lang: s.lang,
                    currency: s.currency,
                    scheme: output.as_ref(),
                    clusters: r
                        .scheme
                        .as_ref()
                        .and_then(|s| s.clusters.as_ref())
                        .map(|c| (&c.clustering, c.revenue_shares.as_slice())),
                    validations: &r.validations,
                    funnel: funnel.as_ref(),
                    scorecards: s.scorecards,
                    clv,
                    top: s.top,
                    abc_cuts: (r.abc.a(), r.abc.b()),
                    rfm_quantiles: matches!(r.rfm.method(), stratum_core::ScoreMethod::Quantile),
                    generator: s.generator,
                    history: s.history,
                };
                write_report(&path, &input).map_err(|e| WriteError::at(&path)(e.into()))?;
                files.push("report.html".into());
                lap("report");
            }
            Ok(files)
        })();
        (xlsx.join(), rest)
    });
    let files = rest?;
    match xlsx {
        Ok(result) => result?,
        Err(_) => return Err(WriteError::at(&xlsx_path)(WriteFailure::Panicked)),
    }
    lap("workbook");
    Ok(files)
}

/// The files every run writes for its customers.
const CUSTOMER_FILES: [&str; 3] = ["customers.csv", "segments.csv", "unscored.csv"];

/// Writes `customers.csv`, `segments.csv` and `unscored.csv`.
fn write_customer_files(
    dir: &Path,
    tiering: &Tiering,
    master: Option<&CustomerTable>,
    lang: Lang,
    text: CsvText,
) -> Result<(), WriteError> {
    write_file(&dir.join(CUSTOMER_FILES[0]), |w| {
        write_customers_csv(w, tiering, master, lang, text)
    })?;
    write_file(&dir.join(CUSTOMER_FILES[1]), |w| {
        write_segments_csv(w, tiering, lang, text)
    })?;
    write_file(&dir.join(CUSTOMER_FILES[2]), |w| {
        write_unscored_csv(w, tiering, text)
    })
}

/// Writes `validation.csv`, `validation_tests.csv` and `validation.json` (a list of
/// `{segmentation, validation}`: a scheme dimension may share a name with a built-in
/// segmentation) for `(segmentation name, validation)` pairs.
pub fn write_validation_files(
    dir: &Path,
    all: &[(&str, &Validation)],
    text: CsvText,
) -> Result<[&'static str; 3], WriteError> {
    use crate::validation::{write_tests_csv, write_validation_csv};
    let names = ["validation.csv", "validation_tests.csv", "validation.json"];
    write_file(&dir.join(names[0]), |w| write_validation_csv(w, all, text))?;
    write_file(&dir.join(names[1]), |w| write_tests_csv(w, all, text))?;
    let json: Vec<serde_json::Value> = all
        .iter()
        .map(|(name, v)| serde_json::json!({ "segmentation": name, "validation": v }))
        .collect();
    write_json(&dir.join(names[2]), &json)?;
    Ok(names)
}

/// Writes `funnel.csv`, `funnel_summary.csv` and `opportunities.csv`.
fn write_funnel_files(
    dir: &Path,
    r: &RunResult,
    f: &stratum_core::funnel::FunnelRun,
    summary: &stratum_core::funnel::FunnelSummary,
    s: &RenderSettings<'_>,
) -> Result<[&'static str; 3], WriteError> {
    use crate::funnel::{
        OpportunityNames, write_funnel_csv, write_opportunities_csv, write_summary_csv,
    };
    let names = ["funnel.csv", "funnel_summary.csv", "opportunities.csv"];
    let scheme = r.scheme.as_ref().map(|x| &x.checked);
    let (dimension, codes) = r.funnel_tiers();
    let label = |t: &str| stratum_core::history::tier_label(scheme, &dimension, t, s.lang);
    write_file(&dir.join(names[0]), |w| {
        write_funnel_csv(w, summary, &label, s.lang, s.csv_text)
    })?;
    write_file(&dir.join(names[1]), |w| {
        write_summary_csv(w, summary, &label, s.lang, s.csv_text)
    })?;
    let opportunity_names = OpportunityNames {
        codes: &codes,
        label: &label,
        as_of: r.as_of,
        lang: s.lang,
    };
    write_file(&dir.join(names[2]), |w| {
        write_opportunities_csv(w, f, &opportunity_names, s.csv_text)
    })?;
    Ok(names)
}

/// Writes `clv.csv`, `clv_by_class.csv` and `clv_params.json`.
fn write_clv_files(
    dir: &Path,
    c: &ClvRun,
    (rows, tiers): &(Vec<CustomerPrediction<'_>>, Vec<ValueTier>),
    quality: &QualityReport,
    s: &RenderSettings<'_>,
) -> Result<[&'static str; 3], WriteError> {
    let names = ["clv.csv", "clv_by_class.csv", "clv_params.json"];
    write_file(&dir.join(names[0]), |w| {
        write_clv_csv(w, rows, tiers, s.lang, s.csv_text)
    })?;
    write_file(&dir.join(names[1]), |w| {
        write_clv_by_class_csv(w, &c.classes, s.lang, s.csv_text)
    })?;
    let report = ClvReport::new(
        &c.model,
        Some(c.calibration_end),
        None,
        rows,
        0,
        &[],
        ClvInput::Transactions(&quality.transactions),
        None,
    );
    write_json(&dir.join(names[2]), &report)?;
    Ok(names)
}

/// The customers with a prediction (in the tiering's order) and their value tiers.
pub fn clv_rows<'a>(
    tiering: &'a Tiering,
    c: &ClvRun,
) -> (Vec<CustomerPrediction<'a>>, Vec<ValueTier>) {
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
