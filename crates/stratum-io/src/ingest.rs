//! What reading an input gives and how it fails: the options of a transaction load, its row
//! accounting and line totals, and the load error every input reader shares.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use stratum_core::{FrequencyBasis, Money};

use crate::mapping::MappingError;
use crate::rejects::RejectReason;
use crate::row_exprs::{ExpressionError, RowExpressions};
use crate::source::{ReadOptions, SourceError};

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
    /// Adds another part's counts (another shard of the same input).
    pub fn merge(&mut self, o: RowCounts) {
        self.rows_read += o.rows_read;
        self.accepted += o.accepted;
        self.anonymous += o.anonymous;
        self.anonymous_amount += o.anonymous_amount;
        self.duplicates += o.duplicates;
        self.duplicate_amount += o.duplicate_amount;
        self.filtered += o.filtered;
        self.filtered_amount += o.filtered_amount;
        self.filtered_without_amount += o.filtered_without_amount;
        self.rejected += o.rejected;
        self.rejected_amount += o.rejected_amount;
        for (reason, n) in o.rejected_by_reason {
            *self.rejected_by_reason.entry(reason).or_default() += n;
        }
        self.blank_rows += o.blank_rows;
    }

    /// The share of rows read that were anonymous sales.
    pub fn anonymous_share(&self) -> f64 {
        self.anonymous as f64 / self.rows_read.max(1) as f64
    }

    /// The rows read that `--where` kept: the input the reject rate is about.
    pub fn kept(&self) -> u64 {
        self.rows_read.saturating_sub(self.filtered)
    }

    /// The share of the kept rows ([`RowCounts::kept`]) that were rejected.
    pub fn reject_rate(&self) -> f64 {
        match self.kept() {
            0 => 0.0,
            kept => self.rejected as f64 / kept as f64,
        }
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
    pub fn merge(&mut self, o: &LineStats) {
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

/// The smaller (or, with `min = false`, the larger) of two optional dates.
fn min_opt(a: Option<NaiveDate>, b: Option<NaiveDate>, min: bool) -> Option<NaiveDate> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if min { x.min(y) } else { x.max(y) }),
        (x, y) => x.or(y),
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
    /// Bytes of CSV per batch (default 32 MiB; the first batch an eighth of it, each next
    /// twice as large; other sources take one record per 256 bytes). Results do not depend
    /// on it; small values exercise batch boundaries in tests.
    pub batch_bytes: Option<usize>,
    /// Keep each customer's amounts by day, for the trailing-window features
    /// ([`stratum_core::features::Windows`]) that tier schemes use.
    pub history: bool,
    /// What to do with rows identical to an earlier row.
    pub duplicates: Duplicates,
    /// The amount as an expression, which rows to keep, which are refunds.
    pub expressions: RowExpressions,
    /// Hold the lines back by period, to measure every period end from this one read
    /// (`stratum backfill`; see [`stratum_core::Aggregator::in_periods`]).
    pub periods: Option<stratum_core::PeriodSchedule>,
    /// Where to record the SHA-256 of each CSV file read whole (for the run's manifest, which
    /// then need not read the file again); `None` hashes nothing.
    pub digests: Option<crate::publish::ReadDigests>,
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
