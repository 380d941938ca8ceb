//! Reading the inputs of a command: the rejects file, the transaction files with a progress
//! bar, the reject-rate limit, the errors that name the rejects file; and phase timings.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::NaiveDate;
use stratum_core::ShardedAggregator;
use stratum_io::inputs::{InputFiles, Inputs, check_text_options, load_inputs};
use stratum_io::output::CsvText;
use stratum_io::rejects::RejectsWriter;
use stratum_io::source::{Format, detect_format};
use stratum_io::transactions::{LoadError, RowCounts, TransactionOptions, TransactionQuality};

use crate::BadInput;
use crate::progress;

/// Creates `path` for writing, buffered.
pub(crate) fn create(path: &Path) -> Result<BufWriter<File>> {
    let file =
        File::create(path).with_context(|| format!("failed to create `{}`", path.display()))?;
    Ok(BufWriter::with_capacity(1 << 20, file))
}

/// The rejects file of a run.
pub(crate) type Rejects = RejectsWriter<BufWriter<File>>;

/// Opens the run's `rejects.csv` in `dir`.
pub(crate) fn open_rejects(dir: &Path, text: CsvText) -> Result<(Rejects, PathBuf)> {
    let rejects_path = dir.join("rejects.csv");
    let rejects = RejectsWriter::with_text(create(&rejects_path)?, text)
        .with_context(|| format!("failed to write `{}`", rejects_path.display()))?;
    Ok((rejects, rejects_path))
}

/// Reads every input of a run (see [`load_inputs`]) with a progress bar on stderr, the rejected
/// rows to `rejects`.
pub(crate) fn read_inputs(
    files: &InputFiles<'_>,
    rejects: &mut Rejects,
    rejects_path: &Path,
) -> Result<Inputs> {
    check_text_options(files.transactions, &files.options.read)
        .map_err(|e| BadInput(e.to_string()))?;
    let total: u64 = files
        .transactions
        .iter()
        .map(|p| fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    let in_bytes = files
        .transactions
        .iter()
        .all(|p| detect_format(p).ok() == Some(Format::Csv));
    let bar = progress::bar(total, in_bytes, "reading");
    // several files: the bar follows each in turn
    let read = load_inputs(files, rejects, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .map_err(|e| with_rejects_path(e, rejects_path))?;
    bar.finish_and_clear();
    Ok(read)
}

/// Reads transaction files alone (see [`read_inputs`]).
pub(crate) fn read_transactions(
    paths: &[PathBuf],
    options: &TransactionOptions,
    as_of: Option<NaiveDate>,
    rejects: &mut Rejects,
    rejects_path: &Path,
) -> Result<(ShardedAggregator, TransactionQuality)> {
    let files = InputFiles {
        transactions: paths,
        options,
        as_of,
        customers: None,
        customers_read: &options.read,
        customers_id: None,
        interactions: None,
        overrides: None,
    };
    let read = read_inputs(&files, rejects, rejects_path)?;
    Ok((read.aggregator, read.transactions))
}

/// Completes `rejects.csv`.
pub(crate) fn finish_rejects(rejects: Rejects, path: &Path) -> Result<()> {
    rejects
        .finish()
        .and_then(|mut w| w.flush())
        .with_context(|| format!("failed to write `{}`", path.display()))
}

/// An error when more than `max` of the rows of `input` were rejected.
pub(crate) fn check_reject_rate(
    counts: &RowCounts,
    max: f64,
    input: &Path,
    rejects_path: &Path,
) -> Result<()> {
    let rate = counts.reject_rate();
    if rate > max {
        return Err(BadInput(format!(
            "{:.1}% of the rows of `{}` were rejected ({} of {}), more than the allowed {:.1}% (--max-reject-rate); see `{}`",
            rate * 100.0,
            input.display(),
            counts.rejected,
            counts.kept(),
            max * 100.0,
            rejects_path.display()
        ))
        .into());
    }
    Ok(())
}

/// The error when no line of `input` could be used.
pub(crate) fn no_usable_transactions(
    input: &Path,
    counts: &RowCounts,
    rejects_path: &Path,
) -> anyhow::Error {
    BadInput(format!(
        "no usable transactions in `{}`: {} rows read, {} rejected, {} duplicates; see `{}`",
        input.display(),
        counts.rows_read,
        counts.rejected,
        counts.duplicates,
        rejects_path.display()
    ))
    .into()
}

/// Phase timings on stderr when `STRATUM_TIMINGS` is set (for benchmarks and profiling).
pub(crate) struct Timer {
    on: bool,
    last: std::time::Instant,
}

impl Timer {
    pub(crate) fn new() -> Self {
        Timer {
            on: std::env::var_os("STRATUM_TIMINGS").is_some(),
            last: std::time::Instant::now(),
        }
    }

    pub(crate) fn lap(&mut self, what: &str) {
        if self.on {
            let now = std::time::Instant::now();
            eprintln!("timing: {what}: {:.3} s", (now - self.last).as_secs_f64());
            self.last = now;
        }
    }
}

/// Names the rejects file when writing it failed (an output failure, not bad input).
pub(crate) fn with_rejects_path(e: LoadError, path: &Path) -> anyhow::Error {
    match e {
        LoadError::Rejects(_) => {
            anyhow::Error::new(e).context(format!("failed to write `{}`", path.display()))
        }
        other => other.into(),
    }
}
