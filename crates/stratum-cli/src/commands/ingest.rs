//! Reading the inputs of a command: the rejects file, the transaction files with a progress
//! bar, the reject-rate limit, the errors that name the rejects file; and phase timings.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::NaiveDate;
use stratum_core::ShardedAggregator;
use stratum_io::inputs::{InputFiles, Inputs, check_text_options, load_inputs, load_side_inputs};
use stratum_io::output::CsvText;
use stratum_io::rejects::RejectsWriter;
use stratum_io::source::{Format, detect_format};
use stratum_io::transactions::{LoadError, RowCounts, TransactionOptions, TransactionQuality};

use stratum_core::Features;
use stratum_core::funnel::OpportunityLog;
use stratum_core::interactions::InteractionLog;
use stratum_core::scheme::Override;
use stratum_io::master::{CustomerTable, MasterQuality};
use stratum_io::quality::{AsOfSource, InputQuality};

use super::outputs::Outputs;
use crate::BadInput;
use crate::progress;
use crate::settings::SegmentSettings;

/// Creates `path` for writing, buffered.
pub(crate) fn create(path: &Path) -> Result<BufWriter<File>> {
    Ok(stratum_io::render::create(path)?)
}

/// Every input of a run, read, with its rejects written.
pub(crate) struct Loaded {
    /// The transactions, aggregated per customer, and their accounting.
    pub(crate) transactions: TransactionQuality,
    /// The customer master and its accounting.
    pub(crate) master: Option<(CustomerTable, MasterQuality)>,
    /// The interactions and their accounting.
    pub(crate) interactions: Option<(InteractionLog, InputQuality)>,
    /// The overrides and their accounting.
    pub(crate) overrides: Option<(Vec<Override>, InputQuality)>,
    /// The opportunities and their accounting.
    pub(crate) opportunities: Option<(OpportunityLog, InputQuality)>,
    /// The rejects file, in the staging folder.
    pub(crate) rejects_path: PathBuf,
    /// Where the rejects file will be if the run fails, for error messages.
    pub(crate) shown_rejects: PathBuf,
    aggregator: Option<ShardedAggregator>,
}

impl Loaded {
    /// Every customer's features at the analysis date (`--as-of`, or the day after the last
    /// transaction), or the error that no line could be used.
    pub(crate) fn features(
        &mut self,
        s: &SegmentSettings,
    ) -> Result<(Features, NaiveDate, AsOfSource)> {
        let aggregator = self
            .aggregator
            .take()
            .context("the transactions were aggregated once already")?;
        let (as_of, source) = match (s.as_of, aggregator.default_as_of()) {
            (Some(d), _) => (d, AsOfSource::Given),
            (None, Some(d)) => (d, AsOfSource::DayAfterLastTransaction),
            (None, None) => {
                return Err(no_usable_transactions(
                    Path::new(&s.transactions.shown()),
                    &self.transactions.counts,
                    &self.shown_rejects,
                ));
            }
        };
        Ok((aggregator.finish(as_of), as_of, source))
    }

    /// The aggregated transactions of a load with a period schedule, to be taken one period at
    /// a time ([`ShardedAggregator::next_period`]).
    pub(crate) fn periods(&mut self) -> Result<ShardedAggregator> {
        self.aggregator
            .take()
            .context("the transactions were aggregated once already")
    }
}

/// Reads the inputs of `s` (the interactions, overrides and opportunities only when `all`), the rejected rows
/// into the staging folder's `rejects.csv`; `history` keeps every customer's purchase dates
/// (for lifetime value and the scheme's columns); with `periods` the lines are held back by
/// period for [`Loaded::periods`].
pub(crate) fn load(
    s: &SegmentSettings,
    outputs: &Outputs,
    (history, all): (bool, bool),
    periods: Option<stratum_core::PeriodSchedule>,
) -> Result<Loaded> {
    let shown_rejects = outputs.failed_path("rejects.csv");
    let (mut rejects, rejects_path) = open_rejects(outputs.dir(), s.csv_text)?;
    let options = TransactionOptions {
        read: s.read.clone(),
        columns: s.columns.clone(),
        frequency: s.frequency,
        batch_bytes: None,
        duplicates: s.duplicates,
        history,
        expressions: s.expressions.clone(),
        periods,
        digests: outputs.read_digests(),
    };
    let files = InputFiles {
        transactions: s.transactions.paths(),
        options: &options,
        as_of: s.as_of,
        customers: s.customers.as_deref(),
        customers_read: &s.customers_read,
        customers_id: s.customers_id.as_deref(),
        interactions: s.interactions.as_deref().filter(|_| all),
        overrides: s.overrides.as_deref().filter(|_| all),
        opportunities: s
            .opportunities
            .as_ref()
            .filter(|_| all)
            .map(|(p, params)| (p.as_path(), params)),
    };
    let inputs = match s.transactions.table() {
        // a database table is aggregated where it lives; the other inputs are files
        Some(table) => {
            refuse_file_options(&s.read)?;
            let (aggregator, transactions, streamed) =
                stratum_pushdown::load_streamed(table, &options, s.as_of, &mut |row| {
                    rejects.write_row(row).map_err(std::io::Error::from)
                })?;
            Timer::new().note(&format!(
                "pushdown: accounting {:.3} s, first customer row {}, {} rows in {:.3} s{}",
                streamed.accounting.as_secs_f64(),
                streamed
                    .first_row
                    .map_or("none".to_string(), |d| format!("{:.3} s", d.as_secs_f64())),
                streamed.rows,
                streamed.total.as_secs_f64(),
                streamed.rate().map_or(String::new(), |r| format!(
                    " ({r:.0} rows/s after the first)"
                )),
            ));
            let side = load_side_inputs(&files, &mut rejects)
                .map_err(|e| with_rejects_path(e, &rejects_path))?;
            Inputs::from_parts(aggregator, transactions, side)
        }
        None => read_inputs(&files, &mut rejects, &rejects_path)?,
    };
    finish_rejects(rejects, &rejects_path)?;
    Ok(Loaded {
        transactions: inputs.transactions,
        master: inputs.master,
        interactions: inputs.interactions,
        overrides: inputs.overrides,
        opportunities: inputs.opportunities,
        rejects_path,
        shown_rejects,
        aggregator: Some(inputs.aggregator),
    })
}

/// Refuses the options that say how a transaction file is read when the transactions are a
/// database table: a table has typed columns, and an option that would change nothing is
/// an error, not a silence.
fn refuse_file_options(read: &stratum_io::source::ReadOptions) -> Result<()> {
    let given = [
        (read.encoding.is_some(), "--encoding"),
        (read.delimiter.is_some() || read.whitespace, "--delimiter"),
        (read.columns.is_some(), "--no-header/--columns"),
        (read.sheet.is_some(), "--sheet"),
        (
            read.decimal != stratum_io::values::DecimalMark::Point,
            "--decimal-comma",
        ),
    ];
    match given.into_iter().find(|(set, _)| *set) {
        Some((_, flag)) => Err(BadInput(format!(
            "{flag} (or its [input] setting) says how a file is read; the transactions come from --source, a table"
        ))
        .into()),
        None => Ok(()),
    }
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
        opportunities: None,
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

/// Phase timings on stderr when `STRATUM_TIMINGS` is set (for benchmarks and profiling): each
/// phase's wall time and, where the system tells it, the CPU time of all the process's threads
/// in it (a phase that keeps both cores busy shows about twice its wall time), the part of it
/// spent in the kernel, and the page faults that did not read a file (fresh memory touched).
pub(crate) struct Timer {
    on: bool,
    last: std::time::Instant,
    usage: Option<Usage>,
}

/// The process's resource use so far (every thread, those ended included), from
/// `/proc/self/stat`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Usage {
    /// CPU time in user mode, in clock ticks.
    user: u64,
    /// CPU time in the kernel, in clock ticks.
    system: u64,
    /// Page faults served without reading a file (mostly fresh pages zeroed and mapped).
    minor_faults: u64,
}

impl Usage {
    /// The kernel's user clock ticks a second: 100 on every architecture Stratum is built for
    /// (x86-64, aarch64).
    const TICKS: f64 = 100.0;

    /// The figures so far; `None` where they cannot be read.
    fn now() -> Option<Self> {
        Self::parse(&std::fs::read_to_string("/proc/self/stat").ok()?)
    }

    fn parse(stat: &str) -> Option<Self> {
        // the fields after the command's name (in parentheses, which may hold spaces): minflt
        // is the 10th of the line, utime and stime the 14th and 15th
        let (_, rest) = stat.rsplit_once(')')?;
        let fields: Vec<&str> = rest.split_whitespace().take(13).collect();
        let number = |i: usize| fields.get(i)?.parse::<u64>().ok();
        Some(Usage {
            minor_faults: number(7)?,
            user: number(11)?,
            system: number(12)?,
        })
    }
}

impl Timer {
    pub(crate) fn new() -> Self {
        let on = std::env::var_os("STRATUM_TIMINGS").is_some();
        Timer {
            on,
            last: std::time::Instant::now(),
            usage: if on { Usage::now() } else { None },
        }
    }

    /// Prints `text` as a timing line, when timings are on.
    pub(crate) fn note(&self, text: &str) {
        if self.on {
            eprintln!("timing: {text}");
        }
    }

    pub(crate) fn lap(&mut self, what: &str) {
        if self.on {
            let now = std::time::Instant::now();
            let usage = Usage::now();
            let spent = match (self.usage, usage) {
                (Some(before), Some(after)) => {
                    let user = after.user.saturating_sub(before.user);
                    let system = after.system.saturating_sub(before.system);
                    format!(
                        " (cpu {:.2} s, system {:.2} s, {} page faults)",
                        (user + system) as f64 / Usage::TICKS,
                        system as f64 / Usage::TICKS,
                        after.minor_faults.saturating_sub(before.minor_faults)
                    )
                }
                _ => String::new(),
            };
            eprintln!(
                "timing: {what}: {:.3} s{spent}",
                (now - self.last).as_secs_f64()
            );
            self.last = now;
            self.usage = usage;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn the_process_usage_is_read_and_does_not_go_back() {
        let before = Usage::now().unwrap_or_else(|| panic!("no usage in /proc/self/stat"));
        // some work and some fresh memory, so that a tick may pass and pages be touched (64
        // MiB: above glibc's largest threshold for mapping an allocation of its own, so these
        // pages are new to the process, never reused)
        let sum: u64 = (0..5_000_000u64).map(|i| i ^ (i >> 3)).sum();
        std::hint::black_box(sum);
        std::hint::black_box(vec![1u8; 64 << 20]);
        let after = Usage::now().unwrap_or_else(|| panic!("no usage in /proc/self/stat"));
        assert!(after.user >= before.user, "{before:?} then {after:?}");
        assert!(after.system >= before.system, "{before:?} then {after:?}");
        assert!(
            after.minor_faults > before.minor_faults,
            "{before:?} then {after:?}"
        );
    }

    #[test]
    fn a_stat_line_is_read_by_field_even_with_a_name_of_blanks_and_parentheses() {
        // the layout of proc(5): pid (comm) state ppid pgrp session tty_nr tpgid flags minflt
        // cminflt majflt cmajflt utime stime ...
        let line = "42 (a (b) c) R 1 42 42 0 -1 4194560 1234 0 5 0 250 37 0 0 20 0 3 0";
        assert_eq!(
            Usage::parse(line),
            Some(Usage {
                user: 250,
                system: 37,
                minor_faults: 1234
            })
        );
        assert_eq!(Usage::parse("42 (cut) R 1 42"), None);
    }
}
