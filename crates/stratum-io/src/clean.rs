//! Cleaning one transaction row: the `--where` condition, the customer id, the date, the amount
//! (a column or `--amount`), `--refund-when`, the order id; or the reason it is rejected.

use chrono::NaiveDate;
use stratum_core::Money;

use crate::fields::{Bad, Fields, bad, field_text};
use crate::ingest::TransactionOptions;
use crate::mapping::TransactionColumns;
use crate::rejects::RejectReason;
use crate::row_exprs::RowRules;
use crate::values::{AmountError, DATE_FORMATS, DecimalMark, parse_amount, parse_date};

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
    // `--where`, `--amount` and `--refund-when` apart, so that a plain load pays one branch
    let computed = if rules.is_empty() {
        None
    } else {
        match evaluate(record, cols, options, rules)? {
            Evaluated::Filtered(amount) => return Ok(Cleaned::Filtered(amount)),
            Evaluated::Kept { amount, refund } => Some((amount, refund)),
        }
    };
    // an empty customer id is an anonymous sale (a guest, a walk-in customer), not a reject:
    // the caller counts it apart once its date and amount are read
    let customer_id = text(cols.customer_id)?;
    let date = match record.typed_date(cols.order_date) {
        Some(date) => date,
        None => text_date(record, dates, cols.order_date)?,
    };
    let amount = match computed {
        None => column_amount(record, cols, options)?,
        Some((amount, refund)) => {
            let amount = match amount {
                Some(amount) => amount?,
                None => column_amount(record, cols, options)?,
            };
            if refund && !amount.is_negative() {
                -amount
            } else {
                amount
            }
        }
    };
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

/// What the expressions make of a row.
enum Evaluated {
    /// `--where` leaves it out; its amount when that can be read.
    Filtered(Option<Money>),
    /// It is kept: its computed amount (`None` when the amount is a column) and whether
    /// `--refund-when` makes it a refund.
    Kept {
        amount: Option<Result<Money, Bad>>,
        refund: bool,
    },
}

/// Evaluates the expressions on a row: the rows `--where` leaves out are counted apart, before
/// anything else of them is read (a filtered row is never a reject).
#[inline(never)]
fn evaluate<F: Fields + ?Sized>(
    record: &F,
    cols: &TransactionColumns,
    options: &TransactionOptions,
    rules: &RowRules,
) -> Result<Evaluated, Bad> {
    let mut values = rules.row(record.count());
    let mark = options.read.decimal;
    if !rules.keeps(record, &mut values, mark)? {
        return Ok(Evaluated::Filtered(readable_amount(
            record, cols, options, rules,
        )));
    }
    rules.read_all(record, &mut values, mark)?;
    Ok(Evaluated::Kept {
        amount: rules.amount(&values),
        refund: rules.is_refund(&values),
    })
}

/// The amount of a row that is not used (filtered or rejected), when it can be read, signed
/// as `--refund-when` would sign it.
pub(crate) fn readable_amount<F: Fields + ?Sized>(
    record: &F,
    cols: &TransactionColumns,
    options: &TransactionOptions,
    rules: &RowRules,
) -> Option<Money> {
    let mut values = rules.row(record.count());
    let read = rules.is_empty()
        || rules
            .read_all(record, &mut values, options.read.decimal)
            .is_ok();
    let amount = match rules.amount(&values).filter(|_| read) {
        Some(amount) => amount.ok()?,
        None if rules.computes_amount() => return None,
        None => column_amount(record, cols, options).ok()?,
    };
    Some(
        if read && !amount.is_negative() && rules.is_refund(&values) {
            -amount
        } else {
            amount
        },
    )
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
            AmountError::OutOfRange => crate::values::beyond_largest_amount(shown),
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
