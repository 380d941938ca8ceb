//! Seeded synthetic customers and transactions for demos and benchmarks.
//!
//! The data set imitates a B2B sales export: a customer master (company name, industry, region,
//! size, signup date, account manager) and order lines with heavy-tailed revenue (roughly 20 % of
//! the customers bring 70–85 % of the revenue), customer lifecycles (new, active, dormant,
//! churned), multi-line orders, returns and the odd duplicated export row.
//!
//! Usage follows the params → checked → generated pattern:
//!
//! ```
//! use stratum_core::synth::DemoParams;
//!
//! let params = DemoParams::new().customers(50).transactions(1_000).seed(7).check()?;
//! let customers = params.customers();
//! let mut lines = 0;
//! params.for_each_line(&customers, |_line| lines += 1);
//! assert_eq!(lines, 1_000);
//! # Ok::<(), stratum_core::synth::SynthError>(())
//! ```
//!
//! Generation is streaming: lines are produced in date order from a merge of per-customer
//! purchase processes, so memory is proportional to the number of customers, not of lines.
//! The same parameters always give the same customers and lines (ChaCha8 seeded from
//! [`DemoParams::seed`], no clock, no hash maps). Floating-point steps use the platform's `exp`,
//! `ln` and `powf`, so byte-identical output is guaranteed on one platform; another platform's
//! math library may round a rare amount or date differently.

mod generate;
mod interactions;
mod opportunities;
mod words;

use chrono::{Months, NaiveDate};
use thiserror::Error;

use crate::Money;

pub use interactions::{DemoInteraction, INTERACTION_TYPES};
pub use opportunities::{DEMO_STAGES, DemoOpportunity, LOST_REASONS};
pub use words::{ACCOUNT_MANAGERS, CATEGORIES, CHANNELS, INDUSTRIES, REGIONS, SIZES};

/// Largest accepted number of customers (the customer list is held in memory, about 200 bytes
/// per customer).
pub const MAX_CUSTOMERS: usize = 10_000_000;
/// Largest accepted number of transaction lines (about 60 bytes per CSV line, so 60 GB).
pub const MAX_TRANSACTIONS: u64 = 1_000_000_000;
/// Largest accepted history length in years.
pub const MAX_HISTORY_YEARS: u32 = 50;

/// Default last day of the data set, 2025-12-31.
pub const DEFAULT_END_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2025, 12, 31) {
    Some(date) => date,
    None => panic!("2025-12-31 is a valid date"),
};

/// Why demo parameters were rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SynthError {
    /// No customers were requested.
    #[error("customers must be at least 1, got {0}")]
    TooFewCustomers(usize),
    /// More customers than [`MAX_CUSTOMERS`] were requested.
    #[error("customers must be at most {max}, got {got}")]
    TooManyCustomers {
        /// The requested count.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// No transaction lines were requested.
    #[error("transactions must be at least 1, got {0}")]
    TooFewTransactions(u64),
    /// More transaction lines than [`MAX_TRANSACTIONS`] were requested.
    #[error("transactions must be at most {max}, got {got}")]
    TooManyTransactions {
        /// The requested count.
        got: u64,
        /// The limit.
        max: u64,
    },
    /// The history length is zero or above [`MAX_HISTORY_YEARS`].
    #[error("history_years must be between 1 and {max}, got {got}")]
    HistoryYears {
        /// The requested length.
        got: u32,
        /// The limit.
        max: u32,
    },
    /// The history window would start before the earliest representable date.
    #[error("end_date {end_date} is too early for a {years}-year history")]
    EndDateOutOfRange {
        /// The requested end date.
        end_date: NaiveDate,
        /// The requested history length.
        years: u32,
    },
}

/// Unchecked parameters of the demo data set; call [`DemoParams::check`] to validate them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DemoParams {
    customers: usize,
    transactions: u64,
    seed: u64,
    end_date: NaiveDate,
    history_years: u32,
}

impl Default for DemoParams {
    fn default() -> Self {
        Self::new()
    }
}

impl DemoParams {
    /// Default parameters: 2,000 customers, 50,000 transaction lines, seed 42, end date
    /// 2025-12-31 and a 5-year history.
    pub fn new() -> Self {
        DemoParams {
            customers: 2_000,
            transactions: 50_000,
            seed: 42,
            end_date: DEFAULT_END_DATE,
            history_years: 5,
        }
    }

    /// Number of customers (default 2,000, at least 1, at most [`MAX_CUSTOMERS`]).
    pub fn customers(mut self, customers: usize) -> Self {
        self.customers = customers;
        self
    }

    /// Exact number of transaction lines, returns and duplicate rows included (default 50,000,
    /// at least 1, at most [`MAX_TRANSACTIONS`]). With fewer lines than customers only the first
    /// `transactions` customers buy, once each.
    pub fn transactions(mut self, transactions: u64) -> Self {
        self.transactions = transactions;
        self
    }

    /// Random seed (default 42).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Last day of the data set (default 2025-12-31); no line is dated after it.
    pub fn end_date(mut self, end_date: NaiveDate) -> Self {
        self.end_date = end_date;
        self
    }

    /// Length of the history in years before `end_date` (default 5, at most
    /// [`MAX_HISTORY_YEARS`]); customers sign up over this window.
    pub fn history_years(mut self, history_years: u32) -> Self {
        self.history_years = history_years;
        self
    }

    /// Validates the parameters.
    pub fn check(self) -> Result<CheckedDemoParams, SynthError> {
        if self.customers == 0 {
            return Err(SynthError::TooFewCustomers(self.customers));
        }
        if self.customers > MAX_CUSTOMERS {
            return Err(SynthError::TooManyCustomers {
                got: self.customers,
                max: MAX_CUSTOMERS,
            });
        }
        if self.transactions == 0 {
            return Err(SynthError::TooFewTransactions(self.transactions));
        }
        if self.transactions > MAX_TRANSACTIONS {
            return Err(SynthError::TooManyTransactions {
                got: self.transactions,
                max: MAX_TRANSACTIONS,
            });
        }
        if self.history_years == 0 || self.history_years > MAX_HISTORY_YEARS {
            return Err(SynthError::HistoryYears {
                got: self.history_years,
                max: MAX_HISTORY_YEARS,
            });
        }
        let out_of_range = SynthError::EndDateOutOfRange {
            end_date: self.end_date,
            years: self.history_years,
        };
        let before = |months: u32| self.end_date.checked_sub_months(Months::new(months));
        let start_date = before(12 * self.history_years).ok_or(out_of_range.clone())?;
        let new_since = before(6).ok_or(out_of_range.clone())?;
        let churn_before = before(18).ok_or(out_of_range)?;
        Ok(CheckedDemoParams {
            params: self,
            start_date,
            new_since,
            churn_before,
        })
    }
}

/// Validated demo parameters; they generate the customers and the transaction lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CheckedDemoParams {
    params: DemoParams,
    start_date: NaiveDate,
    /// Customers signing up after this day are new (end date minus 6 months).
    new_since: NaiveDate,
    /// Customers stopping before this day are churned (end date minus 18 months).
    churn_before: NaiveDate,
}

impl CheckedDemoParams {
    /// Number of customers.
    pub fn customer_count(&self) -> usize {
        self.params.customers
    }

    /// Exact number of transaction lines.
    pub fn transaction_count(&self) -> u64 {
        self.params.transactions
    }

    /// Random seed.
    pub fn seed(&self) -> u64 {
        self.params.seed
    }

    /// Last day of the data set.
    pub fn end_date(&self) -> NaiveDate {
        self.params.end_date
    }

    /// First day of the history (end date minus the history years).
    pub fn start_date(&self) -> NaiveDate {
        self.start_date
    }

    /// History length in years.
    pub fn history_years(&self) -> u32 {
        self.params.history_years
    }

    /// Digits of the zero-padded number in customer ids (`C0001` for 2,000 customers).
    pub fn customer_id_width(&self) -> usize {
        digits(self.params.customers as u64)
    }

    /// Digits of the zero-padded number in order ids (`SO00001` for 50,000 lines); order numbers
    /// never exceed the line count, so every id has this width.
    pub fn order_id_width(&self) -> usize {
        digits(self.params.transactions)
    }

    /// The customer id of customer `index` (0-based): `C` and the 1-based number, zero-padded.
    pub fn customer_id(&self, index: usize) -> String {
        format!("C{:0w$}", index + 1, w = self.customer_id_width())
    }

    /// The order id written for `order_id`: `SO` and the number, zero-padded.
    pub fn order_id(&self, order_id: u64) -> String {
        format!("SO{order_id:0w$}", w = self.order_id_width())
    }

    /// The customers, in id order (which is also signup order). Deterministic from the seed.
    pub fn customers(&self) -> Vec<DemoCustomer> {
        generate::customers(self)
    }

    /// Calls `sink` for every transaction line, in date order (ties in a fixed order). The
    /// number of lines is exactly [`transaction_count`](Self::transaction_count), returns and
    /// duplicate rows included.
    ///
    /// `customers` should be the list from [`customers`](Self::customers); the first
    /// `min(customers.len(), transactions)` of them buy, each at least once. An empty list
    /// gives no lines.
    pub fn for_each_line(&self, customers: &[DemoCustomer], mut sink: impl FnMut(&DemoLine)) {
        let done: Result<(), std::convert::Infallible> =
            self.try_for_each_line(customers, |line| {
                sink(line);
                Ok(())
            });
        match done {
            Ok(()) => {}
            Err(never) => match never {},
        }
    }

    /// Like [`for_each_line`](Self::for_each_line), but stops at the first error of `sink` and
    /// returns it.
    pub fn try_for_each_line<E>(
        &self,
        customers: &[DemoCustomer],
        sink: impl FnMut(&DemoLine) -> Result<(), E>,
    ) -> Result<(), E> {
        generate::lines(self, customers, sink)
    }
}

/// A customer's lifecycle in the generated history (the ground truth a tiering should find).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lifecycle {
    /// Signed up within the last 6 months before the end date.
    New,
    /// Buys until the end date.
    Active,
    /// Stopped buying 6–18 months before the end date.
    Dormant,
    /// Stopped buying more than 18 months before the end date.
    Churned,
}

impl Lifecycle {
    /// Lowercase English name (`new`, `active`, `dormant`, `churned`).
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::New => "new",
            Lifecycle::Active => "active",
            Lifecycle::Dormant => "dormant",
            Lifecycle::Churned => "churned",
        }
    }
}

/// A synthetic customer.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoCustomer {
    /// Customer id, `C` and a zero-padded number (`C0001`).
    pub id: String,
    /// Company name (`上海华盛机械有限公司`).
    pub name: String,
    /// Industry, one of [`INDUSTRIES`].
    pub industry: &'static str,
    /// Sales region, one of [`REGIONS`].
    pub region: &'static str,
    /// Company size, one of [`SIZES`].
    pub size: &'static str,
    /// Signup date, within the history window; the customer never buys before it.
    pub signup_date: NaiveDate,
    /// Account manager, one of [`ACCOUNT_MANAGERS`] (each covers a region).
    pub account_manager: &'static str,
    /// Lifecycle in the generated history.
    pub lifecycle: Lifecycle,
    /// Last day the customer may buy (the end date unless dormant or churned); the actual last
    /// purchase may be earlier. Returns of earlier purchases may come later.
    pub active_until: NaiveDate,
    /// Hidden purchase behaviour used by the line generator.
    pub(crate) traits: generate::Traits,
}

/// One transaction line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoLine {
    /// Index of the customer in the customer list.
    pub customer: u32,
    /// Order number, 1-based and increasing with the order date; see
    /// [`CheckedDemoParams::order_id`] for the written form. A return carries the number of the
    /// order it returns.
    pub order_id: u64,
    /// Order date (for a return, the return date).
    pub order_date: NaiveDate,
    /// Line amount, in cents; negative for a return.
    pub amount: Money,
    /// Sales channel, one of [`CHANNELS`].
    pub channel: &'static str,
    /// Product category, one of [`CATEGORIES`].
    pub category: &'static str,
}

fn digits(mut n: u64) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

#[cfg(test)]
mod tests;
