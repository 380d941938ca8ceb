//! Expressions over an input file's own columns: the line amount (`--amount "Quantity *
//! Price"`), the rows to keep (`--where "Country <> 'Unspecified'"`) and the lines that are
//! refunds (`--refund-when "Invoice LIKE 'C%'"`).
//!
//! They are written in the language of scheme rules ([`stratum_core::scheme::Rule`]) and
//! compiled once per file against its headers (each file of an input has its own), so a column
//! is named as the file names it. A column is read as a number where an expression computes
//! with it or compares it with a number (with the amount parser: thousands separators, currency
//! signs and `--decimal-comma` as for the amount column), as text otherwise. A value that is not
//! a number in a column read as one rejects the row, naming the column: `bad_amount` for an
//! operand of the amount, `bad_number` elsewhere. An empty value is empty (`NULL`): an amount
//! with an empty operand is empty and its row rejected as `missing_amount`, naming the column,
//! unless `COALESCE` gives a default; a condition on an empty value is unknown, and a row is
//! kept by `--where` (or made a refund by `--refund-when`) only when its condition is true.
//!
//! Operands are read as they are written (a price of 0.00125, a 13-digit barcode), computed in
//! double precision, and the amount rounded once to the nearest 1/10,000 (the precision of
//! [`Money`]).

use std::path::{Path, PathBuf};

use stratum_core::Money;
use stratum_core::scheme::{Catalog, ColumnType, Formula, Row, Rule, RuleError, Value};

use crate::fields::{Bad, Fields, field_text};
use crate::rejects::RejectReason;
use crate::values::{AmountError, DecimalMark, MAX_AMOUNT, parse_amount};

/// The expressions of a transaction input, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RowExpressions {
    /// The line amount (`--amount`, `[columns] amount`), instead of an amount column.
    #[serde(rename = "amount_expression", skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// The condition a row must meet to be used (`--where`, `[input] where`).
    #[serde(rename = "where", skip_serializing_if = "Option::is_none")]
    pub keep: Option<String>,
    /// The condition that makes a line a refund (`--refund-when`, `[input] refund_when`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_when: Option<String>,
}

impl RowExpressions {
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.amount.is_none() && self.keep.is_none() && self.refund_when.is_none()
    }
}

/// Which expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpressionRole {
    /// `--amount`.
    Amount,
    /// `--where`.
    Where,
    /// `--refund-when`.
    RefundWhen,
}

impl ExpressionRole {
    /// The command-line flag that gives it.
    pub fn flag(self) -> &'static str {
        match self {
            ExpressionRole::Amount => "--amount",
            ExpressionRole::Where => "--where",
            ExpressionRole::RefundWhen => "--refund-when",
        }
    }
}

/// An expression that does not fit a file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExpressionError {
    /// The expression does not compile against the file's columns.
    #[error(
        "{} `{text}` on `{path}`: {error}",
        role.flag(),
        path = path.display()
    )]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Which expression.
        role: ExpressionRole,
        /// The expression.
        text: String,
        /// What is wrong, and where (its kind says which mistake).
        error: RuleError,
    },
    /// One column read as a number by one expression and as text by another.
    #[error(
        "column `{column}` of `{path}` is read as a number by {} and as text by {}; compare it with numbers in both, or with text in both",
        number.flag(),
        text.flag(),
        path = path.display()
    )]
    TwoTypes {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// The expression that reads it as a number.
        number: ExpressionRole,
        /// The expression that reads it as text.
        text: ExpressionRole,
    },
}

/// The expressions compiled against a table's columns, for a database to evaluate them as
/// the file engine does (`stratum-pushdown` writes them in the engine's SQL).
#[derive(Debug, Clone)]
pub struct CompiledExpressions {
    /// `--amount`, with its text.
    pub amount: Option<(Formula, String)>,
    /// `--where`.
    pub keep: Option<Rule>,
    /// `--refund-when`.
    pub refund: Option<Rule>,
    /// Every column an expression reads: its index, what it is read as, and whether the
    /// amount reads it; in the order the expressions name them.
    pub columns: Vec<(usize, ColumnType, bool)>,
    /// The columns of [`CompiledExpressions::columns`] only tested for emptiness (`IS NULL`),
    /// whose values are never read.
    pub untyped: Vec<usize>,
}

impl CompiledExpressions {
    /// Compiles `exprs` against the columns `headers` of `path` (named in errors); `None`
    /// when there are none.
    pub fn compile(
        path: &Path,
        headers: &[String],
        exprs: &RowExpressions,
    ) -> Result<Option<CompiledExpressions>, ExpressionError> {
        if exprs.is_empty() {
            return Ok(None);
        }
        let r = RowRules::compile(path, headers, exprs)?;
        Ok(Some(CompiledExpressions {
            amount: r.amount,
            keep: r.keep,
            refund: r.refund,
            columns: r.columns,
            untyped: r.untyped,
        }))
    }

    /// The type column `c` is read as, if an expression reads it.
    pub fn column_type(&self, c: usize) -> Option<ColumnType> {
        self.columns.iter().find(|x| x.0 == c).map(|x| x.1)
    }
}

/// The expressions compiled against one file's headers.
#[derive(Debug, Default)]
pub(crate) struct RowRules {
    amount: Option<(Formula, String)>,
    keep: Option<Rule>,
    refund: Option<Rule>,
    /// Every column an expression reads, with its type and whether the amount reads it.
    columns: Vec<(usize, ColumnType, bool)>,
    /// The columns `keep` reads (indexes into `columns`).
    keep_columns: Vec<usize>,
    /// The columns only tested for emptiness.
    untyped: Vec<usize>,
}

impl RowRules {
    /// Compiles `exprs` against `headers` (the file is named in errors).
    pub fn compile(
        path: &Path,
        headers: &[String],
        exprs: &RowExpressions,
    ) -> Result<RowRules, ExpressionError> {
        if exprs.is_empty() {
            return Ok(RowRules::default());
        }
        let mut catalog = Catalog::new();
        for h in headers {
            catalog.push_untyped(h.as_str());
        }
        let invalid = |role: ExpressionRole, text: &str| {
            let path = path.to_path_buf();
            let text = text.to_string();
            move |error| ExpressionError::Invalid {
                path,
                role,
                text,
                error,
            }
        };
        let amount = match &exprs.amount {
            Some(text) => Some((
                Formula::compile(text, &catalog).map_err(invalid(ExpressionRole::Amount, text))?,
                text.trim().to_string(),
            )),
            None => None,
        };
        let rule = |role, text: &Option<String>| -> Result<Option<Rule>, ExpressionError> {
            text.as_deref()
                .map(|t| Rule::compile(t, &catalog).map_err(invalid(role, t)))
                .transpose()
        };
        let keep = rule(ExpressionRole::Where, &exprs.keep)?;
        let refund = rule(ExpressionRole::RefundWhen, &exprs.refund_when)?;
        // the columns of all three, each read one way (a column a rule only tests for
        // emptiness takes the type another expression gives it, else text)
        let mut typed: Vec<(usize, Option<ColumnType>, bool)> = Vec::new();
        let mut roles: Vec<ExpressionRole> = Vec::new();
        let no_free: &[usize] = &[];
        let used = [
            (
                ExpressionRole::Amount,
                amount.as_ref().map(|(f, _)| (f.columns(), no_free)),
            ),
            (
                ExpressionRole::Where,
                keep.as_ref().map(|r| (r.columns(), r.free_columns())),
            ),
            (
                ExpressionRole::RefundWhen,
                refund.as_ref().map(|r| (r.columns(), r.free_columns())),
            ),
        ];
        for (role, cols) in used {
            let Some((cols, free)) = cols else { continue };
            for &(c, ty) in cols {
                let ty = (!free.contains(&c)).then_some(ty);
                let amount = role == ExpressionRole::Amount;
                match typed.iter().position(|&(i, ..)| i == c) {
                    Some(k) => {
                        match (typed[k].1, ty) {
                            (Some(a), Some(b)) if a != b => {
                                let (number, text) = if b == ColumnType::Number {
                                    (role, roles[k])
                                } else {
                                    (roles[k], role)
                                };
                                return Err(ExpressionError::TwoTypes {
                                    path: path.to_path_buf(),
                                    column: headers[c].clone(),
                                    number,
                                    text,
                                });
                            }
                            (None, Some(_)) => {
                                typed[k].1 = ty;
                                roles[k] = role;
                            }
                            _ => {}
                        }
                        typed[k].2 |= amount;
                    }
                    None => {
                        typed.push((c, ty, amount));
                        roles.push(role);
                    }
                }
            }
        }
        let untyped = (typed.iter())
            .filter_map(|&(c, ty, _)| ty.is_none().then_some(c))
            .collect();
        let columns: Vec<(usize, ColumnType, bool)> = typed
            .into_iter()
            .map(|(c, ty, amount)| (c, ty.unwrap_or(ColumnType::Text), amount))
            .collect();
        let keep_columns = keep.as_ref().map_or_else(Vec::new, |k| {
            k.columns()
                .iter()
                .filter_map(|&(c, _)| columns.iter().position(|&(i, ..)| i == c))
                .collect()
        });
        Ok(RowRules {
            amount,
            keep,
            refund,
            columns,
            keep_columns,
            untyped,
        })
    }

    /// Whether the amount is computed.
    pub fn computes_amount(&self) -> bool {
        self.amount.is_some()
    }

    /// Whether there is nothing to evaluate.
    pub fn is_empty(&self) -> bool {
        self.amount.is_none() && self.keep.is_none() && self.refund.is_none()
    }

    /// The columns the expressions read.
    pub fn column_indexes(&self) -> impl Iterator<Item = usize> + '_ {
        self.columns.iter().map(|&(c, ..)| c)
    }

    /// A row's values, with the columns the expressions read empty until read.
    pub fn row<'r>(&self, width: usize) -> FileRow<'r> {
        FileRow {
            // (no allocation when there is nothing to evaluate)
            values: if self.is_empty() {
                Vec::new()
            } else {
                vec![Value::Null; width]
            },
        }
    }

    /// Reads the columns of `which` (indexes into the columns) into `row`.
    fn read<'r, F: Fields + ?Sized>(
        &self,
        record: &'r F,
        which: impl Iterator<Item = usize>,
        row: &mut FileRow<'r>,
        mark: DecimalMark,
    ) -> Result<(), Bad> {
        for k in which {
            let (c, ty, amount) = self.columns[k];
            let Some(slot) = row.values.get_mut(c) else {
                continue;
            };
            *slot = match ty {
                ColumnType::Text => match field_text(record, c)? {
                    "" => Value::Null,
                    t => Value::Text(t),
                },
                ColumnType::Number => match number(record, c, mark, amount)? {
                    Some(x) => Value::Number(x),
                    None => Value::Null,
                },
            };
        }
        Ok(())
    }

    /// Whether the row is kept: `Ok(true)` without a `--where`.
    pub fn keeps<'r, F: Fields + ?Sized>(
        &self,
        record: &'r F,
        row: &mut FileRow<'r>,
        mark: DecimalMark,
    ) -> Result<bool, Bad> {
        let Some(keep) = &self.keep else {
            return Ok(true);
        };
        self.read(record, self.keep_columns.iter().copied(), row, mark)?;
        Ok(keep.matches(row))
    }

    /// Reads every column the expressions use (after [`RowRules::keeps`]).
    pub fn read_all<'r, F: Fields + ?Sized>(
        &self,
        record: &'r F,
        row: &mut FileRow<'r>,
        mark: DecimalMark,
    ) -> Result<(), Bad> {
        self.read(record, 0..self.columns.len(), row, mark)
    }

    /// The computed amount of a row read with [`RowRules::read_all`]; `None` when the amount
    /// is not computed.
    pub fn amount(&self, row: &FileRow<'_>) -> Option<Result<Money, Bad>> {
        let (formula, text) = self.amount.as_ref()?;
        let first = self.columns.iter().find(|c| c.2).map(|c| c.0);
        Some(match formula.value(row) {
            Some(x) if x.abs() <= MAX_AMOUNT as f64 => {
                Money::from_f64(x).ok_or_else(|| out_of_range(first, text))
            }
            Some(_) => Err(out_of_range(first, text)),
            None => Err(match formula.empty_column(row) {
                Some(c) => Bad {
                    reason: RejectReason::MissingAmount,
                    column: Some(c),
                    message: empty_amount(text),
                },
                None => Bad {
                    reason: RejectReason::BadAmount,
                    column: first,
                    message: format!("the amount `{text}` divides by zero or is out of range"),
                },
            }),
        })
    }

    /// Whether `--refund-when` makes the row a refund.
    pub fn is_refund(&self, row: &FileRow<'_>) -> bool {
        self.refund.as_ref().is_some_and(|r| r.matches(row))
    }
}

/// Why a computed amount `text` is missing: the column named beside is empty.
pub fn empty_amount(text: &str) -> String {
    format!("is empty, so the amount `{text}` is empty")
}

/// Why a computed amount `text` is rejected when the database computed it (which does not
/// say which of the two it was).
pub fn unreadable_amount(text: &str) -> String {
    format!(
        "the amount `{text}` divides by zero or is beyond the largest accepted amount (±{})",
        crate::format::thousands(MAX_AMOUNT as u64)
    )
}

fn out_of_range(column: Option<usize>, text: &str) -> Bad {
    Bad {
        reason: RejectReason::BadAmount,
        column,
        message: format!(
            "the amount `{text}` is beyond the largest accepted amount (±{})",
            crate::format::thousands(MAX_AMOUNT as u64)
        ),
    }
}

/// Field `c` read as a number: `None` when empty.
fn number<F: Fields + ?Sized>(
    record: &F,
    c: usize,
    mark: DecimalMark,
    amount: bool,
) -> Result<Option<f64>, Bad> {
    // a plain number as it is (no rounding to 1/10,000, no amount range: a quantity of
    // 0.00125, a 13-digit barcode); a typed one as stored; else as amounts are read
    // (`¥1,200.50`, a decimal comma)
    let raw = record.field(c).unwrap_or(b"");
    let text = raw.trim_ascii();
    if text.is_empty() {
        return Ok(None);
    }
    if mark == DecimalMark::Point
        && let Some(x) = std::str::from_utf8(text)
            .ok()
            .and_then(|t| t.parse::<f64>().ok())
            .filter(|x| x.is_finite())
    {
        return Ok(Some(x));
    }
    if let Some(x) = record.typed_amount(c) {
        return Ok(Some(x.to_f64()));
    }
    parse_amount(raw, mark)
        .map(|m| Some(m.to_f64()))
        .map_err(|e| {
            let shown = String::from_utf8_lossy(raw);
            let shown = shown.trim();
            Bad {
                reason: if amount {
                    RejectReason::BadAmount
                } else {
                    RejectReason::BadNumber
                },
                column: Some(c),
                message: match e {
                    AmountError::OutOfRange => format!(
                        "`{shown}` is beyond the largest accepted number (±{})",
                        crate::format::thousands(MAX_AMOUNT as u64)
                    ),
                    AmountError::Malformed => format!("`{shown}` is not a number"),
                },
            }
        })
}

/// One row's values of the columns the expressions read, by column index.
pub(crate) struct FileRow<'r> {
    values: Vec<Value<'r>>,
}

impl Row for FileRow<'_> {
    fn get(&self, column: usize) -> Value<'_> {
        self.values.get(column).copied().unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use csv::ByteRecord;

    fn headers() -> Vec<String> {
        ["Invoice", "StockCode", "Quantity", "Price", "Customer ID"]
            .map(String::from)
            .to_vec()
    }

    fn rules(amount: &str, keep: Option<&str>, refund: Option<&str>) -> RowRules {
        let exprs = RowExpressions {
            amount: Some(amount.into()),
            keep: keep.map(String::from),
            refund_when: refund.map(String::from),
        };
        RowRules::compile(Path::new("x.csv"), &headers(), &exprs).unwrap_or_else(|e| panic!("{e}"))
    }

    fn eval(r: &RowRules, fields: &[&str]) -> Result<(bool, Money, bool), Bad> {
        let record = ByteRecord::from(fields.to_vec());
        let mut row = r.row(fields.len());
        let kept = r.keeps(&record, &mut row, DecimalMark::Point)?;
        r.read_all(&record, &mut row, DecimalMark::Point)?;
        let amount = r.amount(&row).unwrap_or(Ok(Money::ZERO))?;
        Ok((kept, amount, r.is_refund(&row)))
    }

    #[test]
    fn amounts_filters_and_refunds_are_computed_per_row() {
        let r = rules(
            "Quantity * Price",
            Some("StockCode NOT IN ('POST', 'M')"),
            Some("Invoice LIKE 'C%'"),
        );
        let (kept, amount, refund) = eval(&r, &["489434", "85048", "12", "6.95", "13085"])
            .unwrap_or_else(|b| panic!("{}", b.message));
        assert!(kept && !refund);
        assert_eq!(amount, Money::from_units(834_000));
        let (_, amount, refund) = eval(&r, &["C489449", "22087", "-12", "0.85", "16321"])
            .unwrap_or_else(|b| panic!("{}", b.message));
        assert!(refund);
        assert_eq!(amount, Money::from_units(-102_000));
        let (kept, ..) = eval(&r, &["489597", "POST", "1", "18", ""])
            .unwrap_or_else(|b| panic!("{}", b.message));
        assert!(!kept);
        // an operand that is no number names its column; an empty one too
        let bad = eval(&r, &["1", "A", "twelve", "1", "2"])
            .map(|_| ())
            .expect_err("an error");
        assert_eq!((bad.reason, bad.column), (RejectReason::BadAmount, Some(2)));
        assert_eq!(bad.message, "`twelve` is not a number");
        let empty = eval(&r, &["1", "A", "3", " ", "2"])
            .map(|_| ())
            .expect_err("an error");
        assert_eq!(
            (empty.reason, empty.column),
            (RejectReason::MissingAmount, Some(3))
        );
    }

    #[test]
    fn a_where_on_a_number_column_rejects_a_value_that_is_no_number() {
        let r = rules("Price", Some("Quantity > 0"), None);
        let bad = eval(&r, &["1", "A", "x", "1", "2"])
            .map(|_| ())
            .expect_err("an error");
        assert_eq!((bad.reason, bad.column), (RejectReason::BadNumber, Some(2)));
        // an empty quantity is unknown: the row is not kept
        let (kept, ..) =
            eval(&r, &["1", "A", "", "1", "2"]).unwrap_or_else(|b| panic!("{}", b.message));
        assert!(!kept);
    }

    #[test]
    fn operands_are_read_as_written_and_emptiness_tests_take_any_type() {
        // `Price IS NOT NULL` does not make Price text against the amount's number
        let r = rules("Quantity * Price", Some("Price IS NOT NULL"), None);
        let (kept, amount, _) = eval(&r, &["1", "A", "1000", "0.00125", "2"])
            .unwrap_or_else(|b| panic!("{}", b.message));
        // 0.00125 is not rounded to 0.0013 before the product
        assert!(kept);
        assert_eq!(amount, Money::from_units(12_500));
        // an empty price fails the condition: the row is filtered before its amount is read
        let record = ByteRecord::from(vec!["1", "A", "1", "", "2"]);
        let mut row = r.row(5);
        assert_eq!(
            r.keeps(&record, &mut row, DecimalMark::Point).ok(),
            Some(false)
        );
        // a 13-digit barcode is a number beyond any amount
        let r = rules("Price", Some("StockCode > 4000000000000"), None);
        let (kept, ..) = eval(&r, &["1", "4006381333931", "1", "2", "3"])
            .unwrap_or_else(|b| panic!("{}", b.message));
        assert!(kept);
    }

    #[test]
    fn expressions_that_do_not_fit_the_file_are_errors_naming_it() {
        let exprs = RowExpressions {
            amount: Some("Quantity * Prise".into()),
            ..RowExpressions::default()
        };
        let e = RowRules::compile(Path::new("x.csv"), &headers(), &exprs).expect_err("an error");
        assert_eq!(
            e.to_string(),
            "--amount `Quantity * Prise` on `x.csv`: unknown column \"Prise\" at position 12; did you mean \"Price\"?"
        );
        let exprs = RowExpressions {
            amount: Some("Quantity * Price".into()),
            keep: Some("Quantity <> 'none'".into()),
            ..RowExpressions::default()
        };
        let e = RowRules::compile(Path::new("x.csv"), &headers(), &exprs).expect_err("an error");
        assert!(matches!(
            e,
            ExpressionError::TwoTypes {
                number: ExpressionRole::Amount,
                text: ExpressionRole::Where,
                ..
            }
        ));
    }
}
