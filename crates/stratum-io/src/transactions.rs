//! Reading, cleaning and aggregating a transaction file in one streaming pass.
//!
//! Every data row ends up in exactly one of three places, so that
//! `rows_read = accepted + duplicates + rejected` always holds:
//! - **duplicates**: a row byte-identical (field by field) to an earlier row is dropped. Rows
//!   are recognised by a 128-bit hash of their fields, so memory is 16 bytes per distinct row
//!   and a false match needs a hash collision (probability below 10⁻²⁰ for 10⁹ rows);
//! - **rejected**: a row with an empty customer id, a missing or unreadable date or amount, text
//!   that is not valid in the file's encoding, or fewer fields than the header is written to
//!   the rejects file with its line number and reason;
//! - **accepted**: every other row, passed to the [`Aggregator`]. Negative amounts are refund
//!   lines: netted into monetary value, not counted as orders.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;
use csv::ByteRecord;
use rustc_hash::FxHashSet;
use stratum_core::{Aggregator, Money};

use crate::mapping::{MappedColumn, MappingError, TransactionColumns, transaction_columns};
use crate::rejects::{Reject, RejectReason, RejectsWriter, file_label};
use crate::source::{self, ReadOptions, SourceError, SourceInfo};
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
    /// Rows written to the rejects file.
    pub rejected: u64,
    /// Rejected rows by reason code.
    pub rejected_by_reason: BTreeMap<RejectReason, u64>,
    /// Blank lines or rows skipped (not counted as read).
    pub blank_rows: u64,
}

impl RowCounts {
    /// The share of rows read that were rejected.
    pub fn reject_rate(&self) -> f64 {
        if self.rows_read == 0 {
            0.0
        } else {
            self.rejected as f64 / self.rows_read as f64
        }
    }

    fn reject(&mut self, reason: RejectReason) {
        self.rejected += 1;
        *self.rejected_by_reason.entry(reason).or_default() += 1;
    }
}

/// The quality of a transaction file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TransactionQuality {
    /// The file and what was detected about it.
    pub source: SourceInfo,
    /// How the fields were mapped.
    pub columns: Vec<MappedColumn>,
    /// Row accounting.
    #[serde(flatten)]
    pub counts: RowCounts,
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

impl TransactionQuality {
    /// The net amount of all accepted lines.
    pub fn accepted_amount(&self) -> Money {
        self.purchase_amount + self.refund_amount
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
}

/// Reads `path`, cleans every row and feeds the accepted ones to `aggregator`; rejected rows
/// go to `rejects`. `progress(done, total)` is called now and then.
pub fn load_transactions<W: Write>(
    path: &Path,
    options: &TransactionOptions,
    aggregator: &mut Aggregator,
    rejects: &mut RejectsWriter<W>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<TransactionQuality, LoadError> {
    let mut src = source::open(path, &options.read)?;
    let headers = src.headers().to_vec();
    let (cols, mapped) = transaction_columns(path, &headers, &options.columns)?;
    let file = file_label(path);
    rejects.set_delimiter(src.info().delimiter_byte.unwrap_or(b','));
    let mut q = TransactionQuality {
        source: src.info().clone(),
        columns: mapped,
        counts: RowCounts::default(),
        purchase_lines: 0,
        zero_amount_lines: 0,
        refund_lines: 0,
        purchase_amount: Money::ZERO,
        refund_amount: Money::ZERO,
        lines_without_order_id: 0,
        first_date: None,
        last_date: None,
    };
    let mut seen: FxHashSet<u128> = FxHashSet::default();
    let mut record = ByteRecord::new();
    let needed = [cols.customer_id, cols.order_date, cols.amount]
        .into_iter()
        .chain(cols.order_id)
        .max()
        .unwrap_or(0);
    while let Some(line) = src.read(&mut record)? {
        q.counts.rows_read += 1;
        if q.counts.rows_read.is_multiple_of(65_536) {
            let (done, total) = src.progress();
            progress(done, total);
        }
        if !seen.insert(record_hash(&record)) {
            q.counts.duplicates += 1;
            continue;
        }
        match clean_row(&record, &cols, needed, headers.len(), options) {
            Ok(row) => {
                q.counts.accepted += 1;
                if row.amount.is_negative() {
                    q.refund_lines += 1;
                    q.refund_amount += row.amount;
                } else if row.amount == Money::ZERO {
                    q.zero_amount_lines += 1;
                } else {
                    q.purchase_lines += 1;
                    q.purchase_amount += row.amount;
                    if row.order_id.is_none() {
                        q.lines_without_order_id += 1;
                    }
                }
                q.first_date = Some(q.first_date.map_or(row.date, |d| d.min(row.date)));
                q.last_date = Some(q.last_date.map_or(row.date, |d| d.max(row.date)));
                aggregator.add(row.customer_id, row.order_id, row.date, row.amount);
            }
            Err(bad) => {
                q.counts.reject(bad.reason);
                let column = bad
                    .column
                    .map_or("", |c| headers.get(c).map_or("", String::as_str));
                rejects.write(&Reject {
                    file: &file,
                    line,
                    reason: bad.reason,
                    column,
                    value: bad.column.and_then(|c| record.get(c)).unwrap_or(b""),
                    message: &bad.message,
                    row: &record,
                })?;
            }
        }
    }
    q.counts.blank_rows = src.blank_rows();
    let (done, total) = src.progress();
    progress(done, total);
    Ok(q)
}

/// A hash of a record's fields and their boundaries.
pub fn record_hash(record: &ByteRecord) -> u128 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for field in record {
        h.update(&(field.len() as u32).to_le_bytes());
        h.update(field);
    }
    h.digest128()
}

struct CleanRow<'a> {
    customer_id: &'a str,
    order_id: Option<&'a str>,
    date: NaiveDate,
    amount: Money,
}

struct Bad {
    reason: RejectReason,
    column: Option<usize>,
    message: String,
}

fn bad(reason: RejectReason, column: usize, message: String) -> Bad {
    Bad {
        reason,
        column: Some(column),
        message,
    }
}

fn clean_row<'a>(
    record: &'a ByteRecord,
    cols: &TransactionColumns,
    needed: usize,
    width: usize,
    options: &TransactionOptions,
) -> Result<CleanRow<'a>, Bad> {
    if record.len() > width
        && record
            .iter()
            .skip(width)
            .any(|f| !f.trim_ascii().is_empty())
    {
        return Err(Bad {
            reason: RejectReason::LongRow,
            column: None,
            message: format!(
                "row has {} fields, the header has {width}; an unquoted separator inside a value? (quote values that contain the delimiter)",
                record.len()
            ),
        });
    }
    if record.len() <= needed {
        return Err(Bad {
            reason: RejectReason::ShortRow,
            column: None,
            message: format!(
                "row has {} fields, the columns used need {}",
                record.len(),
                needed + 1
            ),
        });
    }
    let text = |c: usize| -> Result<&'a str, Bad> {
        let raw = record.get(c).unwrap_or(b"");
        // U+FFFD is what a decoder leaves for bytes that are not valid in the file's encoding.
        match std::str::from_utf8(raw) {
            Ok(t) if !t.contains('\u{FFFD}') => Ok(t.trim()),
            _ => Err(bad(
                RejectReason::BadEncoding,
                c,
                "holds bytes that are not valid in the file's encoding; pass --encoding (e.g. gb18030, utf-8)".into(),
            )),
        }
    };
    let customer_id = text(cols.customer_id)?;
    if customer_id.is_empty() {
        return Err(bad(
            RejectReason::MissingCustomerId,
            cols.customer_id,
            "customer id is empty".into(),
        ));
    }
    let raw_date = record.get(cols.order_date).unwrap_or(b"");
    if raw_date.trim_ascii().is_empty() {
        return Err(bad(
            RejectReason::MissingDate,
            cols.order_date,
            "date is empty".into(),
        ));
    }
    let date = parse_date(raw_date).ok_or_else(|| {
        bad(
            RejectReason::BadDate,
            cols.order_date,
            format!(
                "`{}` is not a date; expected {DATE_FORMATS}",
                String::from_utf8_lossy(raw_date).trim()
            ),
        )
    })?;
    let raw_amount = record.get(cols.amount).unwrap_or(b"");
    if raw_amount.trim_ascii().is_empty() {
        return Err(bad(
            RejectReason::MissingAmount,
            cols.amount,
            "amount is empty".into(),
        ));
    }
    let amount = parse_amount(raw_amount, options.read.decimal).map_err(|e| {
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
        bad(RejectReason::BadAmount, cols.amount, message)
    })?;
    let order_id = match cols.order_id {
        Some(c) => Some(text(c)?).filter(|s| !s.is_empty()),
        None => None,
    };
    Ok(CleanRow {
        customer_id,
        order_id,
        date,
        amount,
    })
}
