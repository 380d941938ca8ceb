//! Reading, cleaning and aggregating a transaction file in one streaming, parallel pass.
//!
//! Every data row ends up in exactly one of five places, so that
//! `rows_read = accepted + anonymous + duplicates + rejected + filtered` always holds:
//! - **filtered**: a row the `--where` condition does not keep (see [`crate::row_exprs`]),
//!   counted with its amount (when it can be read) before anything else of it is judged;
//! - **duplicates**: a row identical to an earlier row is dropped. Rows are recognised by a
//!   128-bit xxh3 hash: of the raw line (without its line ending, decoded to UTF-8 if the file is in
//!   another encoding) for a CSV file, so that rows must be byte-identical; of the fields and
//!   their lengths for Excel and Parquet. Memory is
//!   about 22 bytes per distinct row in the hash tables, and a false match needs a hash
//!   collision (probability below 10⁻²⁰ for 10⁹ rows);
//! - **anonymous**: a row with a date and an amount but no customer id (a sale to a guest):
//!   counted with its amount, left out of tiering;
//! - **rejected**: a row with a missing or unreadable date or amount, text
//!   that is not valid in the file's encoding, or fewer or more fields than the header is
//!   written to the rejects file with its line number and reason;
//! - **accepted**: every other row, aggregated per customer. Negative amounts are refund lines:
//!   netted into monetary value, not counted as orders.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;
use csv::ByteRecord;
use serde::Serialize;
use stratum_core::{FrequencyBasis, Money, ShardedAggregator};

use crate::engine::{Context, Engine, RunError, Shard};
use crate::mapping::{MappedColumn, MappingError, TransactionColumns, transaction_columns};
use crate::parquet_columns;
use crate::rejects::{RejectReason, RejectRow, RejectsWriter, file_label};
use crate::row_exprs::{ExpressionError, RowExpressions, RowRules};
use crate::source::{self, CsvSource, Format, ReadOptions, RecordSource, SourceError, SourceInfo};
use crate::values::{AmountError, DATE_FORMATS, DecimalMark, MAX_AMOUNT, parse_amount, parse_date};

/// What happened to the rows of one input file.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct RowCounts {
    /// Data rows read (blank lines excluded).
    pub rows_read: u64,
    /// Rows used.
    pub accepted: u64,
    /// Rows dropped as exact duplicates of an earlier row.
    pub duplicates: u64,
    /// Rows without a customer id but with a valid date and amount (transactions only): sales
    /// to guests, counted with their amount and left out of tiering; not rejects.
    pub anonymous: u64,
    /// Net amount of the anonymous rows (transactions only).
    pub anonymous_amount: Money,
    /// Net amount of the duplicate rows dropped (transactions only; duplicates of rows that
    /// were rejected count no amount).
    pub duplicate_amount: Money,
    /// Rows left out by the `--where` condition (never rejects; not judged as duplicates).
    pub filtered: u64,
    /// Net amount of the filtered rows whose amount could be read.
    pub filtered_amount: Money,
    /// Filtered rows whose amount could not be read (so not in `filtered_amount`).
    pub filtered_without_amount: u64,
    /// Rows written to the rejects file.
    pub rejected: u64,
    /// Net amount of the rejected rows whose amount could be read (a row rejected for its
    /// date, say).
    pub rejected_amount: Money,
    /// Rejected rows by reason code.
    pub rejected_by_reason: BTreeMap<RejectReason, u64>,
    /// Blank lines or rows skipped (not counted as read).
    pub blank_rows: u64,
}

impl RowCounts {
    /// The share of rows read that were anonymous sales.
    pub fn anonymous_share(&self) -> f64 {
        self.anonymous as f64 / self.rows_read.max(1) as f64
    }

    /// The share of rows read that were rejected.
    pub fn reject_rate(&self) -> f64 {
        if self.rows_read == 0 {
            0.0
        } else {
            self.rejected as f64 / self.rows_read as f64
        }
    }
}

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

/// What the accepted lines of a file add up to.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LineStats {
    /// Accepted lines with an amount > 0.
    pub purchase_lines: u64,
    /// Accepted lines with an amount of exactly 0 (not purchases, see the features' rules).
    pub zero_amount_lines: u64,
    /// Accepted lines with a negative amount.
    pub refund_lines: u64,
    /// Sum of the purchase lines.
    pub purchase_amount: Money,
    /// Sum of the refund lines.
    pub refund_amount: Money,
    /// Accepted purchase lines with no order id (each counted as an order of its own).
    pub lines_without_order_id: u64,
    /// First date among accepted lines.
    pub first_date: Option<NaiveDate>,
    /// Last date among accepted lines.
    pub last_date: Option<NaiveDate>,
}

impl LineStats {
    /// Counts one accepted line.
    pub(crate) fn add(&mut self, amount: Money, has_order_id: bool, date: NaiveDate) {
        if amount.is_negative() {
            self.refund_lines += 1;
            self.refund_amount += amount;
        } else if amount == Money::ZERO {
            self.zero_amount_lines += 1;
        } else {
            self.purchase_lines += 1;
            self.purchase_amount += amount;
            if !has_order_id {
                self.lines_without_order_id += 1;
            }
        }
        self.first_date = min_opt(self.first_date, Some(date), true);
        self.last_date = min_opt(self.last_date, Some(date), false);
    }

    /// Adds another part's counts.
    pub(crate) fn merge(&mut self, o: &LineStats) {
        self.purchase_lines += o.purchase_lines;
        self.zero_amount_lines += o.zero_amount_lines;
        self.refund_lines += o.refund_lines;
        self.purchase_amount += o.purchase_amount;
        self.refund_amount += o.refund_amount;
        self.lines_without_order_id += o.lines_without_order_id;
        self.first_date = min_opt(self.first_date, o.first_date, true);
        self.last_date = min_opt(self.last_date, o.last_date, false);
    }
}

impl TransactionQuality {
    /// The net amount of all accepted lines.
    pub fn accepted_amount(&self) -> Money {
        self.lines.purchase_amount + self.lines.refund_amount
    }
}

/// A failure that stops reading a transaction file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// A required column is missing.
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// An expression (`--amount`, `--where`, `--refund-when`) does not fit the file.
    #[error(transparent)]
    Expression(#[from] ExpressionError),
    /// The rejects file could not be written (not an input error).
    #[error("cannot write the rejects file: {0}")]
    Rejects(#[from] csv::Error),
}

/// Options for reading transactions.
#[derive(Debug, Clone, Default)]
pub struct TransactionOptions {
    /// How to read the file.
    pub read: ReadOptions,
    /// Explicit field → header mapping.
    pub columns: BTreeMap<String, String>,
    /// What `frequency` counts.
    pub frequency: FrequencyBasis,
    /// Bytes of CSV per batch (default 32 MiB; other sources take one record per 256 bytes).
    /// Results do not depend on it; small values exercise batch boundaries in tests.
    pub batch_bytes: Option<usize>,
    /// Keep each customer's amounts by day, for the trailing-window features
    /// ([`stratum_core::features::Windows`]) that tier schemes use.
    pub history: bool,
    /// What to do with rows identical to an earlier row.
    pub duplicates: Duplicates,
    /// The amount as an expression, which rows to keep, which are refunds.
    pub expressions: RowExpressions,
}

/// What to do with rows identical to an earlier row (`--duplicates`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Duplicates {
    /// Drop them: an export that repeats lines (a re-run export appended, a join that
    /// doubled rows) counts each sale once.
    #[default]
    Drop,
    /// Keep them: the file lists the same product twice in one order, and has no line-level
    /// column that tells the lines apart.
    Keep,
}

impl std::str::FromStr for Duplicates {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "drop" => Ok(Duplicates::Drop),
            "keep" => Ok(Duplicates::Keep),
            other => Err(format!(
                "unknown duplicates rule `{other}`; use drop or keep"
            )),
        }
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
    for shard in shards {
        let c = shard.counts;
        q.counts.rows_read += c.rows_read;
        q.counts.accepted += c.accepted;
        q.counts.anonymous += c.anonymous;
        q.counts.anonymous_amount += c.anonymous_amount;
        q.counts.duplicates += c.duplicates;
        q.counts.duplicate_amount += c.duplicate_amount;
        q.counts.filtered += c.filtered;
        q.counts.filtered_amount += c.filtered_amount;
        q.counts.filtered_without_amount += c.filtered_without_amount;
        q.counts.rejected += c.rejected;
        q.counts.rejected_amount += c.rejected_amount;
        for (reason, n) in c.rejected_by_reason {
            *q.counts.rejected_by_reason.entry(reason).or_default() += n;
        }
        q.lines.merge(&shard.lines);
        aggs.push(shard.agg);
    }
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
        Format::Excel => (source::open(path, &options.read)?, None),
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

/// The smaller (or, with `min = false`, the larger) of two optional dates.
fn min_opt(a: Option<NaiveDate>, b: Option<NaiveDate>, min: bool) -> Option<NaiveDate> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if min { x.min(y) } else { x.max(y) }),
        (x, y) => x.or(y),
    }
}

/// A 128-bit hash of a record's fields and their boundaries (so that `ab,c` and `a,bc`
/// differ): xxh3 of the concatenated field bytes, seeded with a hash of the field lengths.
pub fn record_hash(record: &ByteRecord) -> u128 {
    use xxhash_rust::xxh3;
    let mut lens = [0u8; 256];
    let mut n = 0;
    for field in record {
        if n + 4 > lens.len() {
            // more than 64 fields: hash them one by one
            let mut h = xxh3::Xxh3::new();
            for field in record {
                h.update(&(field.len() as u32).to_le_bytes());
                h.update(field);
            }
            return h.digest128();
        }
        lens[n..n + 4].copy_from_slice(&(field.len() as u32).to_le_bytes());
        n += 4;
    }
    xxh3::xxh3_128_with_seed(record.as_slice(), xxh3::xxh3_64(&lens[..n]))
}

/// What cleaning a row gives.
pub(crate) enum Cleaned<'a> {
    /// A row to use (an anonymous sale when its customer id is empty).
    Row(CleanRow<'a>),
    /// A row `--where` leaves out, with its amount when it can be read.
    Filtered(Option<Money>),
}

pub(crate) struct CleanRow<'a> {
    pub customer_id: &'a str,
    pub order_id: Option<&'a str>,
    pub date: NaiveDate,
    pub amount: Money,
}

pub(crate) struct Bad {
    pub reason: RejectReason,
    pub column: Option<usize>,
    pub message: String,
}

fn bad(reason: RejectReason, column: usize, message: String) -> Bad {
    Bad {
        reason,
        column: Some(column),
        message,
    }
}

/// Whether a byte at the end of an ASCII-trimmed field may still be white space to `str::trim`:
/// a non-ASCII byte (U+3000, U+00A0, …) or a vertical tab, which `trim_ascii` keeps.
fn needs_unicode_trim(b: &u8) -> bool {
    !b.is_ascii() || *b == 0x0B
}

/// Whether `bytes` hold U+FFFD (EF BF BD in UTF-8): a byte search, much cheaper than a char
/// search on the short fields of every row.
fn has_replacement_char(bytes: &[u8]) -> bool {
    memchr::memchr_iter(0xEF, bytes).any(|i| bytes.get(i + 1..i + 3) == Some(&[0xBF, 0xBD]))
}

/// The last date text parsed and its value: exports are often sorted by date, so most rows
/// repeat the previous row's date and need no parsing.
#[derive(Debug, Default)]
pub(crate) struct DateCache {
    text: Vec<u8>,
    date: Option<NaiveDate>,
}

impl DateCache {
    fn parse(&mut self, raw: &[u8]) -> Option<NaiveDate> {
        if self.date.is_some() && self.text == raw {
            return self.date;
        }
        let date = parse_date(raw);
        if date.is_some() {
            self.text.clear();
            self.text.extend_from_slice(raw);
            self.date = date;
        }
        date
    }
}

/// Read access to a row's fields: a parsed record, or a line of the file split in place.
pub(crate) trait Fields {
    /// The number of fields.
    fn count(&self) -> usize;
    /// Field `i`, if the row has it.
    fn field(&self, i: usize) -> Option<&[u8]>;
    /// The fields as a record (for the rejects file).
    fn to_record(&self) -> ByteRecord {
        let mut r = ByteRecord::new();
        for i in 0..self.count() {
            r.push_field(self.field(i).unwrap_or(b""));
        }
        r
    }
    /// Field `i` as text, when the source guarantees it is valid UTF-8 (saves checking it);
    /// `None` to check the bytes of [`Fields::field`].
    fn str_field(&self, _i: usize) -> Option<&str> {
        None
    }
    /// Whether every field is empty or blank.
    fn is_blank(&self) -> bool {
        (0..self.count()).all(|i| self.field(i).is_none_or(|f| f.trim_ascii().is_empty()))
    }
    /// Field `i` as a date, when the source stores it typed and it is plausible; `None` to read
    /// the field's text instead.
    fn typed_date(&self, _i: usize) -> Option<NaiveDate> {
        None
    }
    /// Field `i` as an amount, when the source stores it typed and it is within range; `None`
    /// to read the field's text instead.
    fn typed_amount(&self, _i: usize) -> Option<Money> {
        None
    }
    /// A 128-bit hash of the row's values for duplicate detection (`scratch` is a buffer to
    /// reuse).
    fn row_hash(&self, _scratch: &mut Vec<u8>) -> u128 {
        record_hash(&self.to_record())
    }
}

impl Fields for ByteRecord {
    fn count(&self) -> usize {
        self.len()
    }

    fn field(&self, i: usize) -> Option<&[u8]> {
        self.get(i)
    }

    fn to_record(&self) -> ByteRecord {
        self.clone()
    }

    fn row_hash(&self, _scratch: &mut Vec<u8>) -> u128 {
        record_hash(self)
    }
}

/// A line without quotes split at its delimiters: field `i` is `line[bounds[i].0..bounds[i].1]`.
pub(crate) struct SplitLine<'a> {
    pub line: &'a [u8],
    /// The line as text, when the piece it comes from was checked as valid UTF-8 as a whole
    /// (once per piece instead of once per field).
    pub text: Option<&'a str>,
    pub bounds: &'a [(u32, u32)],
}

impl Fields for SplitLine<'_> {
    fn count(&self) -> usize {
        self.bounds.len()
    }

    fn field(&self, i: usize) -> Option<&[u8]> {
        let &(a, b) = self.bounds.get(i)?;
        self.line.get(a as usize..b as usize)
    }

    fn str_field(&self, i: usize) -> Option<&str> {
        let &(a, b) = self.bounds.get(i)?;
        // fields end at ASCII delimiters, so at character boundaries
        self.text?.get(a as usize..b as usize)
    }
}

pub(crate) fn clean_row<'a, F: Fields + ?Sized>(
    record: &'a F,
    dates: &mut DateCache,
    cols: &TransactionColumns,
    needed: usize,
    width: usize,
    options: &TransactionOptions,
    rules: &RowRules,
) -> Result<Cleaned<'a>, Bad> {
    if record.count() > width
        && (width..record.count())
            .filter_map(|i| record.field(i))
            .any(|f| !f.trim_ascii().is_empty())
    {
        return Err(Bad {
            reason: RejectReason::LongRow,
            column: None,
            message: format!(
                "row has {} fields, the header has {width}; an unquoted separator inside a value? (quote values that contain the delimiter)",
                record.count()
            ),
        });
    }
    if record.count() <= needed {
        return Err(Bad {
            reason: RejectReason::ShortRow,
            column: None,
            message: format!(
                "row has {} fields, the columns used need {}",
                record.count(),
                needed + 1
            ),
        });
    }
    let text = |c: usize| field_text(record, c);
    // the rows `--where` leaves out are counted apart, before anything else of them is read
    // (a filtered row is never a reject); their amount as far as it can be read
    let mut values = rules.row(width.max(record.count()));
    let mark = options.read.decimal;
    if !rules.keeps(record, &mut values, mark)? {
        return Ok(Cleaned::Filtered(readable_amount(
            record, cols, options, rules,
        )));
    }
    if !rules.is_empty() {
        rules.read_all(record, &mut values, mark)?;
    }
    // an empty customer id is an anonymous sale (a guest, a walk-in customer), not a reject:
    // the caller counts it apart once its date and amount are read
    let customer_id = text(cols.customer_id)?;
    let date = match record.typed_date(cols.order_date) {
        Some(date) => date,
        None => text_date(record, dates, cols.order_date)?,
    };
    let mut amount = match rules.amount(&values) {
        Some(amount) => amount?,
        None => column_amount(record, cols, options)?,
    };
    if !amount.is_negative() && rules.is_refund(&values) {
        amount = -amount;
    }
    let order_id = match cols.order_id {
        Some(c) => Some(text(c)?).filter(|s| !s.is_empty()),
        None => None,
    };
    Ok(Cleaned::Row(CleanRow {
        customer_id,
        order_id,
        date,
        amount,
    }))
}

/// Field `c` as text, trimmed; an error when it holds bytes that are not valid in the file's
/// encoding.
pub(crate) fn field_text<F: Fields + ?Sized>(record: &F, c: usize) -> Result<&str, Bad> {
    // ASCII blanks first (the rule), Unicode ones (such as U+3000) after, only if any
    // U+FFFD is what a decoder leaves for bytes that are not valid in the file's encoding.
    let checked = match record.str_field(c) {
        Some(t) => Ok(t.trim_ascii()),
        None => std::str::from_utf8(record.field(c).unwrap_or(b"").trim_ascii()),
    };
    match checked {
        Ok(t) if !has_replacement_char(t.as_bytes()) => Ok({
            let raw = t.as_bytes();
            if raw.first().is_some_and(needs_unicode_trim) || raw.last().is_some_and(needs_unicode_trim)
            {
                t.trim()
            } else {
                t
            }
        }),
        _ => Err(bad(
            RejectReason::InvalidEncoding,
            c,
            "holds bytes that are not valid in the file's encoding; pass --encoding (e.g. gb18030, utf-8)".into(),
        )),
    }
}

/// The amount of a row that is not used (filtered or rejected), when it can be read.
pub(crate) fn readable_amount<F: Fields + ?Sized>(
    record: &F,
    cols: &TransactionColumns,
    options: &TransactionOptions,
    rules: &RowRules,
) -> Option<Money> {
    if !rules.computes_amount() {
        return column_amount(record, cols, options).ok();
    }
    let mut values = rules.row(record.count());
    rules
        .read_all(record, &mut values, options.read.decimal)
        .ok()?;
    rules.amount(&values)?.ok()
}

/// The amount of the amount column (there is one when the amount is not computed).
fn column_amount<F: Fields + ?Sized>(
    record: &F,
    cols: &TransactionColumns,
    options: &TransactionOptions,
) -> Result<Money, Bad> {
    let c = cols.amount.unwrap_or_default();
    match record.typed_amount(c) {
        Some(amount) => Ok(amount),
        None => text_amount(record, c, options),
    }
}

/// The date in field `c`'s text.
fn text_date<F: Fields + ?Sized>(
    record: &F,
    dates: &mut DateCache,
    c: usize,
) -> Result<NaiveDate, Bad> {
    let raw_date = record.field(c).unwrap_or(b"");
    if raw_date.trim_ascii().is_empty() {
        return Err(bad(RejectReason::MissingDate, c, "date is empty".into()));
    }
    dates.parse(raw_date).ok_or_else(|| {
        bad(
            RejectReason::BadDate,
            c,
            format!(
                "`{}` is not a date; expected {DATE_FORMATS}",
                String::from_utf8_lossy(raw_date).trim()
            ),
        )
    })
}

/// The amount in field `c`'s text.
fn text_amount<F: Fields + ?Sized>(
    record: &F,
    c: usize,
    options: &TransactionOptions,
) -> Result<Money, Bad> {
    let raw_amount = record.field(c).unwrap_or(b"");
    if raw_amount.trim_ascii().is_empty() {
        return Err(bad(
            RejectReason::MissingAmount,
            c,
            "amount is empty".into(),
        ));
    }
    parse_amount(raw_amount, options.read.decimal).map_err(|e| {
        let shown = String::from_utf8_lossy(raw_amount);
        let shown = shown.trim();
        let message = match e {
            AmountError::OutOfRange => format!(
                "`{shown}` is beyond the largest accepted amount (±{})",
                crate::format::thousands(MAX_AMOUNT as u64)
            ),
            AmountError::Malformed
                if options.read.decimal == DecimalMark::Point && raw_amount.contains(&b',') =>
            {
                format!(
                    "`{shown}` is not an amount; if commas are decimal marks, pass --decimal-comma"
                )
            }
            AmountError::Malformed => format!("`{shown}` is not an amount"),
        };
        bad(RejectReason::BadAmount, c, message)
    })
}
