//! Every input of a run read in one call: the transaction files (through the parallel engine),
//! the customer master, the interactions and the overrides, each with its row accounting, and
//! the rejected rows of all of them in one rejects file.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use stratum_core::ShardedAggregator;
use stratum_core::interactions::InteractionLog;
use stratum_core::scheme::Override;

use crate::ingest::{LoadError, TransactionOptions};
use crate::interactions::load_interactions;
use crate::master::{CustomerTable, MasterQuality, load_customers};
use crate::opportunities::load_opportunities;
use crate::overrides::load_overrides;
use crate::quality::InputQuality;
use crate::record::{Format, ReadOptions};
use crate::rejects::RejectsWriter;
use crate::source::detect_format;
use crate::transactions::{TransactionQuality, load_transactions_from};
use stratum_core::funnel::{CheckedFunnelParams, OpportunityLog};

/// What to read.
#[derive(Debug, Clone, Copy)]
pub struct InputFiles<'a> {
    /// The transaction files, read as one input.
    pub transactions: &'a [PathBuf],
    /// How the transactions are read.
    pub options: &'a TransactionOptions,
    /// Lines on or after this date are counted apart.
    pub as_of: Option<NaiveDate>,
    /// The customer master file.
    pub customers: Option<&'a Path>,
    /// How the customer master, interactions and overrides files are read.
    pub customers_read: &'a ReadOptions,
    /// The customer master's id column, when named.
    pub customers_id: Option<&'a str>,
    /// The interactions file.
    pub interactions: Option<&'a Path>,
    /// The overrides file.
    pub overrides: Option<&'a Path>,
    /// The opportunities file, with the funnel's stages.
    pub opportunities: Option<(&'a Path, &'a CheckedFunnelParams)>,
}

/// Everything read, with the quality of each input.
#[derive(Debug)]
pub struct Inputs {
    /// Every customer's lines, aggregated.
    pub aggregator: ShardedAggregator,
    /// The transactions' accounting.
    pub transactions: TransactionQuality,
    /// The customer master and its accounting.
    pub master: Option<(CustomerTable, MasterQuality)>,
    /// The interactions and their accounting.
    pub interactions: Option<(InteractionLog, InputQuality)>,
    /// The overrides and their accounting.
    pub overrides: Option<(Vec<Override>, InputQuality)>,
    /// The opportunities and their accounting.
    pub opportunities: Option<(OpportunityLog, InputQuality)>,
}

/// A text-file option given for an input that is no text file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flag} applies to text files, and `{path}` is a {kind} file", path = path.display())]
pub struct TextOnlyOption {
    /// The option, as the command line spells it.
    pub flag: &'static str,
    /// The file.
    pub path: PathBuf,
    /// What the file is (`workbook`, `Parquet`).
    pub kind: &'static str,
}

/// Refuses the text-file options (`--no-header/--columns`, `--delimiter whitespace`) for an
/// input file that is a workbook or a Parquet file.
pub fn check_text_options(paths: &[PathBuf], read: &ReadOptions) -> Result<(), TextOnlyOption> {
    let text_only = [
        (read.columns.is_some(), "--no-header/--columns"),
        (read.whitespace, "--delimiter whitespace"),
    ];
    for path in paths {
        let format = detect_format(path).ok();
        for (given, flag) in text_only {
            if let Some(kind) = format.filter(|_| given).and_then(|f| match f {
                Format::Excel => Some("workbook"),
                Format::Parquet => Some("Parquet"),
                Format::Database => Some("database"),
                Format::Csv => None,
            }) {
                return Err(TextOnlyOption {
                    flag,
                    path: path.clone(),
                    kind,
                });
            }
        }
    }
    Ok(())
}

/// Reads every input; rejected rows go to `rejects` (transactions first, then the master, the
/// interactions and the overrides); `progress(done, total)` follows the transaction files.
pub fn load_inputs<W: Write>(
    files: &InputFiles<'_>,
    rejects: &mut RejectsWriter<W>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Inputs, LoadError> {
    let (aggregator, transactions) = load_transactions_from(
        files.transactions,
        files.options,
        files.as_of,
        rejects,
        progress,
    )?;
    let side = load_side_inputs(files, rejects)?;
    Ok(Inputs::from_parts(aggregator, transactions, side))
}

impl Inputs {
    /// The inputs of a run whose transactions were read apart from the other inputs.
    pub fn from_parts(
        aggregator: ShardedAggregator,
        transactions: TransactionQuality,
        side: SideInputs,
    ) -> Self {
        Inputs {
            aggregator,
            transactions,
            master: side.master,
            interactions: side.interactions,
            overrides: side.overrides,
            opportunities: side.opportunities,
        }
    }
}

/// The inputs of a run besides its transactions.
#[derive(Debug)]
pub struct SideInputs {
    /// The customer master and its accounting.
    pub master: Option<(CustomerTable, MasterQuality)>,
    /// The interactions and their accounting.
    pub interactions: Option<(InteractionLog, InputQuality)>,
    /// The overrides and their accounting.
    pub overrides: Option<(Vec<Override>, InputQuality)>,
    /// The opportunities and their accounting.
    pub opportunities: Option<(OpportunityLog, InputQuality)>,
}

/// Reads every input but the transactions (the customer master, the interactions, the
/// overrides and the opportunities, in that order), their rejected rows to `rejects`: for a
/// run whose transactions come from elsewhere (a database table).
pub fn load_side_inputs<W: Write>(
    files: &InputFiles<'_>,
    rejects: &mut RejectsWriter<W>,
) -> Result<SideInputs, LoadError> {
    let master = match files.customers {
        Some(path) => Some(load_customers(
            path,
            files.customers_read,
            files.customers_id,
            files.options.columns.get("customer_id").map(String::as_str),
            rejects,
        )?),
        None => None,
    };
    let quality = |path: &Path, (counts, columns)| InputQuality {
        path: path.to_path_buf(),
        columns,
        counts,
    };
    let interactions = match files.interactions {
        Some(path) => {
            let (log, counts, columns) = load_interactions(path, files.customers_read, rejects)?;
            Some((log, quality(path, (counts, columns))))
        }
        None => None,
    };
    let overrides = match files.overrides {
        Some(path) => {
            let (list, counts, columns) = load_overrides(path, files.customers_read, rejects)?;
            Some((list, quality(path, (counts, columns))))
        }
        None => None,
    };
    let opportunities = match files.opportunities {
        Some((path, params)) => {
            let (log, counts, columns) =
                load_opportunities(path, files.customers_read, params, rejects)?;
            Some((log, quality(path, (counts, columns))))
        }
        None => None,
    };
    Ok(SideInputs {
        master,
        interactions,
        overrides,
        opportunities,
    })
}
