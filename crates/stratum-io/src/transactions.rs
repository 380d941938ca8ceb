//! Reading, cleaning and aggregating a transaction file in one streaming, parallel pass.
//!
//! Every data row ends up in exactly one of five places, so that
//! `rows_read = accepted + anonymous + duplicates + rejected + filtered` always holds:
//! - **filtered**: a row the `--where` condition does not keep (see [`crate::row_exprs`]),
//!   counted with its amount (when it can be read) before anything else of it is judged;
//! - **duplicates**: a row identical to an earlier row is dropped. Rows are recognised by a
//!   128-bit xxh3 hash: of the raw line (without its line ending, decoded to UTF-8 if the file is in
//!   another encoding) for a CSV file, so that rows must be byte-identical; of the fields and
//!   their lengths for Excel and Parquet. The duplicate check keeps 96 of its bits, about 17
//!   bytes per distinct row in the hash tables, and a false match needs two rows whose hashes
//!   agree in those 96 bits (probability below 10⁻¹¹ for 10⁹ rows);
//! - **anonymous**: a row with a date and an amount but no customer id (a sale to a guest):
//!   counted with its amount, left out of tiering;
//! - **rejected**: a row with a missing or unreadable date or amount, text
//!   that is not valid in the file's encoding, or fewer or more fields than the header is
//!   written to the rejects file with its line number and reason;
//! - **accepted**: every other row, aggregated per customer. Negative amounts are refund lines:
//!   netted into monetary value, not counted as orders.

use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;
use stratum_core::{Money, ShardedAggregator};

use crate::engine::{Context, Engine, RunError, Shard};
pub use crate::fields::record_hash;
pub use crate::ingest::{Duplicates, LineStats, LoadError, RowCounts, TransactionOptions};
use crate::mapping::{MappedColumn, transaction_columns};
use crate::parquet_columns;
use crate::rejects::{RejectRow, RejectsWriter, file_label};
use crate::row_exprs::{RowExpressions, RowRules};
use crate::source::{self, CsvSource, Format, RecordSource, SourceError, SourceInfo};

/// The quality of a transaction file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TransactionQuality {
    /// The file and what was detected about it (the first file, when there are several).
    pub source: SourceInfo,
    /// The other files of the input, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub more_sources: Vec<SourceInfo>,
    /// How the fields were mapped.
    pub columns: Vec<MappedColumn>,
    /// Row accounting.
    #[serde(flatten)]
    pub counts: RowCounts,
    /// What the accepted lines add up to.
    #[serde(flatten)]
    pub lines: LineStats,
    /// Columns in the file's header.
    pub header_columns: usize,
    /// What was done with identical rows.
    pub duplicates_rule: Duplicates,
    /// The distinct columns read (mapped or named by an expression), of the file that reads
    /// the fewest.
    pub columns_read: usize,
    /// `--amount`, `--where` and `--refund-when`, as given (`amount_expression`, `where`,
    /// `refund_when`, when given).
    #[serde(flatten)]
    pub expressions: RowExpressions,
}

/// Dropped duplicates that may well be genuine repeated lines, for a warning.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DuplicateWarning {
    /// Rows dropped.
    pub rows: u64,
    /// Their net amount.
    pub amount: Money,
    /// Their amount as a share of purchases plus their amount.
    pub share: f64,
    /// Whether the file has no column besides the mapped ones, so that two lines of one order
    /// for the same product at the same price cannot be told apart.
    pub only_mapped_columns: bool,
}

/// The share of revenue in dropped duplicates above which they are warned about.
pub const DUPLICATE_WARNING_SHARE: f64 = 0.01;

impl TransactionQuality {
    /// A warning when the duplicates dropped look like genuine repeated lines: the file has
    /// no column besides the mapped ones, or they hold more than
    /// [`DUPLICATE_WARNING_SHARE`] of the revenue.
    pub fn duplicate_warning(&self) -> Option<DuplicateWarning> {
        let c = &self.counts;
        if c.duplicates == 0 || self.duplicates_rule == Duplicates::Keep {
            return None;
        }
        let only_mapped_columns = self.header_columns <= self.columns_read;
        let dup = c.duplicate_amount.to_f64().max(0.0);
        let total = self.lines.purchase_amount.to_f64() + dup;
        let share = if total > 0.0 { dup / total } else { 0.0 };
        (only_mapped_columns || share > DUPLICATE_WARNING_SHARE).then_some(DuplicateWarning {
            rows: c.duplicates,
            amount: c.duplicate_amount,
            share,
            only_mapped_columns,
        })
    }
}

impl TransactionQuality {
    /// The net amount of all accepted lines.
    pub fn accepted_amount(&self) -> Money {
        self.lines.purchase_amount + self.lines.refund_amount
    }
}

/// Reads `path`, cleans every row and aggregates the accepted ones per customer (lines dated
/// on or after `as_of` are counted apart, see [`stratum_core::Aggregator::new`]); rejected rows go to
/// `rejects` in line order. `progress(done, total)` is called after each batch.
///
/// The work runs on the current rayon thread pool; the result is the same for any number of
/// threads (see the `engine` module).
pub fn load_transactions<W: Write>(
    path: &Path,
    options: &TransactionOptions,
    as_of: Option<NaiveDate>,
    rejects: &mut RejectsWriter<W>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(ShardedAggregator, TransactionQuality), LoadError> {
    load_transactions_from(&[path.to_path_buf()], options, as_of, rejects, progress)
}

/// Reads several files of the same kind as one input (see [`load_transactions`]): each is
/// detected (format, encoding, delimiter, header, mapping) on its own, and a row identical to
/// one of an earlier file is a duplicate. Rejects are in file order, then line order.
pub fn load_transactions_from<W: Write>(
    paths: &[std::path::PathBuf],
    options: &TransactionOptions,
    as_of: Option<NaiveDate>,
    rejects: &mut RejectsWriter<W>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(ShardedAggregator, TransactionQuality), LoadError> {
    let mut shards: Vec<Shard> = Vec::new();
    let mut blank = 0;
    let mut sources = Vec::with_capacity(paths.len());
    let mut columns = Vec::new();
    let mut header_columns = usize::MAX;
    let mut columns_read = usize::MAX;
    let mut expressions = None;
    for path in paths {
        let read = load_one(path, options, as_of, rejects, progress, shards, blank)?;
        (shards, blank) = (read.shards, read.blank);
        sources.push(read.info);
        if columns.is_empty() {
            columns = read.columns;
        }
        header_columns = header_columns.min(read.header_columns);
        columns_read = columns_read.min(read.columns_read);
        expressions.get_or_insert(read.expressions);
    }
    let mut sources = sources.into_iter();
    let Some(source) = sources.next() else {
        return Err(LoadError::Source(SourceError::Empty {
            path: std::path::PathBuf::new(),
        }));
    };
    let mut q = TransactionQuality {
        source,
        more_sources: sources.collect(),
        columns,
        counts: RowCounts::default(),
        lines: LineStats::default(),
        header_columns,
        duplicates_rule: options.duplicates,
        columns_read,
        expressions: expressions.unwrap_or_default(),
    };
    q.counts.blank_rows = blank;
    let mut aggs = Vec::with_capacity(shards.len());
    let mut seen = Vec::with_capacity(shards.len());
    for mut shard in shards {
        seen.push(shard.take_seen());
        q.counts.merge(shard.counts);
        q.lines.merge(&shard.lines);
        aggs.push(shard.agg);
    }
    // the duplicate sets (about 17 bytes a line read), freed while the run goes on
    stratum_core::keyset::drop_aside(seen);
    Ok((ShardedAggregator::new(aggs), q))
}

/// The parquet reader panics on some corrupt files (a footer with negative column offsets):
/// under the guard that is the file's error.
fn parquet_guard<T>(
    path: &Path,
    f: impl FnOnce() -> Result<T, SourceError>,
) -> Result<T, SourceError> {
    crate::guard::catch(f).unwrap_or_else(|panic| Err(parquet_failed(path, &panic)))
}

fn parquet_failed(path: &Path, panic: &str) -> SourceError {
    SourceError::Parquet {
        path: path.to_path_buf(),
        message: format!("the parquet reader failed on this file: {panic}"),
    }
}

/// One file of an input read into the engine's shards.
struct ReadOne {
    shards: Vec<Shard>,
    blank: u64,
    info: SourceInfo,
    columns: Vec<MappedColumn>,
    header_columns: usize,
    columns_read: usize,
    expressions: RowExpressions,
}

fn load_one<W: Write>(
    path: &Path,
    options: &TransactionOptions,
    as_of: Option<NaiveDate>,
    rejects: &mut RejectsWriter<W>,
    progress: &mut dyn FnMut(u64, u64),
    shards: Vec<Shard>,
    blank: u64,
) -> Result<ReadOne, LoadError> {
    // A CSV file is read in parallel chunks from where its data starts; anything else through
    // its record source.
    let format = source::detect_format(path)?;
    let read_parquet = format == Format::Parquet;
    let (mut src, fast) = match format {
        Format::Csv => {
            let csv = CsvSource::open(path, &options.read)?;
            let fast = csv.data_start().map(Fast::Csv);
            (Box::new(csv) as Box<dyn RecordSource>, fast)
        }
        Format::Parquet => {
            let fast = parquet_guard(path, || parquet_columns::inspect(path))?.map(Fast::Parquet);
            (
                parquet_guard(path, || source::open(path, &options.read))?,
                fast,
            )
        }
        Format::Excel | Format::Database => (source::open(path, &options.read)?, None),
    };
    let headers = src.headers().to_vec();
    // `[columns] amount = "Quantity * Price"` (or `--map amount=…`) that is no header of the
    // file but an expression computes the amount
    let mut expressions = options.expressions.clone();
    let mut explicit = std::borrow::Cow::Borrowed(&options.columns);
    if expressions.amount.is_none()
        && let Some(m) = options.columns.get("amount")
        && is_amount_expression(m, &headers)
    {
        expressions.amount = Some(m.clone());
        explicit.to_mut().remove("amount");
    }
    let rules = RowRules::compile(path, &headers, &expressions)?;
    let (cols, mapped) = transaction_columns(path, &headers, &explicit, rules.computes_amount())?;
    src.check_mapped(&cols.mapped_fields())?;
    src.remember_mapped(&cols.mapped_fields());
    let file = file_label(path);
    let delimiter = src.info().delimiter_byte.unwrap_or(b',');
    rejects.set_delimiter(delimiter);
    let info = src.info().clone();
    let total = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let ctx = Context {
        cols,
        headers: &headers,
        options,
        file: &file,
        delimiter,
        as_of,
        rules: &rules,
    };
    let mut engine = Engine::with_shards(ctx, shards, blank);
    let mut sink = |rows: Vec<RejectRow>| -> Result<(), csv::Error> {
        for r in &rows {
            rejects.write_row(r)?;
        }
        Ok(())
    };
    let ran = match fast {
        Some(Fast::Csv(start)) => {
            drop(src);
            engine.run_csv(path, start, &mut sink, &mut |done| progress(done, total))
        }
        Some(Fast::Parquet(file)) => {
            drop(src);
            crate::guard::catch(|| engine.run_parquet(path, &file, &mut sink, progress))
                .unwrap_or_else(|panic| Err(RunError::Source(parquet_failed(path, &panic))))
        }
        None if read_parquet => {
            crate::guard::catch(|| engine.run_source(src.as_mut(), &mut sink, progress))
                .unwrap_or_else(|panic| Err(RunError::Source(parquet_failed(path, &panic))))
        }
        None => engine.run_source(src.as_mut(), &mut sink, progress),
    };
    ran.map_err(|e| match e {
        RunError::Source(e) => LoadError::Source(e),
        RunError::Rejects(e) => LoadError::Rejects(e),
    })?;
    Ok(ReadOne {
        blank: engine.blank,
        shards: engine.shards,
        info,
        columns_read: {
            let mut read: Vec<usize> = cols
                .mapped_fields()
                .iter()
                .map(|m| m.column)
                .chain(rules.column_indexes())
                .collect();
            read.sort_unstable();
            read.dedup();
            read.len()
        },
        columns: mapped,
        header_columns: headers.len(),
        expressions,
    })
}

/// Whether the amount's explicit mapping `mapped` is an expression: it names no header (as
/// a mapping would find it) and computes something (`*`, `/`, `+`, ` - `, `COALESCE(`).
fn is_amount_expression(mapped: &str, headers: &[String]) -> bool {
    let wanted = crate::mapping::normalize(mapped);
    let header = headers
        .iter()
        .any(|h| h == mapped.trim() || crate::mapping::normalize(h) == wanted);
    let computes = ["*", "/", "+", " - "].iter().any(|op| mapped.contains(op))
        || mapped.to_ascii_lowercase().contains("coalesce(");
    !header && computes
}

/// The parallel ways in: a CSV file from where its data starts (decoded to UTF-8 on the way
/// when it is in another encoding), a flat Parquet file.
enum Fast {
    Csv(source::DataStart),
    Parquet(crate::parquet_columns::ParquetFile),
}
