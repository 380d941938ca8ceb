//! `--amount`, `--where` and `--refund-when` written in a database's SQL, with the meaning the
//! file engine gives them (`stratum_io::row_exprs`), at the distinct level's columns (`c0`,
//! `c1`, …):
//! - a column read as a number is the table's number as a double (DECIMAL, NUMERIC, integers
//!   and floats; a text column is refused, as text dates and amounts are); a column read as text
//!   is its text trimmed of Unicode whitespace, compared byte for byte (a date as
//!   `YYYY-MM-DD`; a timestamp or a float is refused, their text differs between engines);
//!   NULL and empty text are empty;
//! - arithmetic in doubles, a division by zero empty; the amount rounded half away from zero
//!   to 1/10,000 and made an exact DECIMAL there, beyond ±100 billion a `bad_amount`, empty
//!   because of an empty column a `missing_amount` (otherwise, a division by zero, a
//!   `bad_amount`);
//! - conditions three-valued: a row is kept, or made a refund, only when its condition is true.
//!   ClickHouse's `AND`/`OR` are not Kleene's before version 21 (`NULL AND 0` is NULL) and its
//!   `IN` skips NULLs, so there each condition is a number: 0 false, 1 unknown, 2 true, with
//!   `least` for `AND`, `greatest` for `OR` and `2 − t` for `NOT`.

use stratum_core::scheme::{Arith, Cmp, ColumnType, Term, Tree};
use stratum_io::row_exprs::CompiledExpressions;
use stratum_io::values::MAX_AMOUNT;

use crate::PushdownError;
use crate::sql::{Column, Dialect, Kind, col};

/// Checks that every column the expressions read can be read so in the database.
pub(crate) fn check_columns(
    exprs: &CompiledExpressions,
    columns: &[Column],
) -> Result<(), PushdownError> {
    for &(i, ty, _) in &exprs.columns {
        let c = &columns[i];
        // a column only tested for emptiness (`IS NULL`) is read as any type
        if exprs.untyped.contains(&i) {
            continue;
        }
        let fits = match ty {
            ColumnType::Number => matches!(c.kind, Kind::Exact | Kind::Float),
            ColumnType::Text => !matches!(c.kind, Kind::Timestamp | Kind::Float),
        };
        if !fits {
            return Err(PushdownError::ExpressionColumn {
                column: c.name.clone(),
                type_name: c.type_name.clone(),
                read_as: match ty {
                    ColumnType::Number => "a number",
                    ColumnType::Text => "text",
                },
                need: match ty {
                    ColumnType::Number => {
                        "a DECIMAL, NUMERIC, integer or floating-point column is needed (text numbers are not read in the database yet)"
                    }
                    ColumnType::Text => {
                        "a text, integer, DECIMAL or DATE column is needed (the text of a timestamp or a float differs between engines)"
                    }
                },
            });
        }
    }
    Ok(())
}

/// Writes the expressions of one table in one dialect.
pub(crate) struct Writer<'a> {
    pub d: Dialect,
    pub columns: &'a [Column],
    pub exprs: &'a CompiledExpressions,
}

impl Writer<'_> {
    /// Column `i` at the distinct level as the expressions read it (NULL when empty).
    fn column(&self, i: usize) -> String {
        let c = &self.columns[i];
        let q = self.d.ident(&col(i));
        match self.exprs.column_type(i).unwrap_or(ColumnType::Text) {
            ColumnType::Number => match (self.d, c.kind) {
                (Dialect::Postgres, Kind::Float) => {
                    format!("CAST(CAST({q} AS text) AS double precision)")
                }
                (Dialect::Postgres, _) => format!("CAST({q} AS double precision)"),
                (Dialect::MySql, Kind::Float) => format!("(CAST({q} AS CHAR) + 0E0)"),
                (Dialect::MySql, _) => format!("({q} + 0E0)"),
                // an exact number was grouped as its text (see `distinct_value`); a decimal's
                // integer divided by a power of ten is the nearest double while it is below 2⁵³
                (Dialect::ClickHouse, Kind::Exact) => format!(
                    "if(isNull({q}), NULL, toFloat64(toDecimal128(ifNull({q}, '0'), {})))",
                    c.scale
                ),
                // a float as its shortest text, as an export writes it (a 4-byte 0.1 is 0.1,
                // not 0.10000000149)
                (Dialect::ClickHouse, Kind::Float) => format!("toFloat64(toString({q}))"),
                (Dialect::ClickHouse, _) => format!("toFloat64({q})"),
                (Dialect::Spark, Kind::Float) => format!("CAST(CAST({q} AS STRING) AS DOUBLE)"),
                (Dialect::Spark, _) => format!("CAST({q} AS DOUBLE)"),
            },
            ColumnType::Text => match c.kind {
                Kind::Date => self.d.date_text(&q),
                _ => {
                    let trimmed = self.d.id(&col(i), c);
                    match self.d {
                        Dialect::ClickHouse => format!("nullIf({trimmed}, '')"),
                        _ => format!("NULLIF({trimmed}, '')"),
                    }
                }
            },
        }
    }

    /// A number literal, as a double.
    fn number(&self, x: f64) -> String {
        match self.d {
            Dialect::Postgres => format!("CAST('{x:e}' AS double precision)"),
            _ => format!("({x:e})"),
        }
    }

    /// A text literal as the dialect reads it.
    fn literal(&self, t: &str) -> String {
        match self.d {
            // E'…' reads the same whatever standard_conforming_strings says
            Dialect::Postgres => {
                format!("E'{}'", t.replace('\\', "\\\\").replace('\'', "''"))
            }
            // backslashes escape in these dialects' string literals
            Dialect::MySql => format!("_utf8mb4'{}'", t.replace('\\', "\\\\").replace('\'', "''")),
            Dialect::ClickHouse | Dialect::Spark => {
                format!("'{}'", t.replace('\\', "\\\\").replace('\'', "\\'"))
            }
        }
    }

    /// A text value compared byte for byte.
    fn text(&self, t: &str) -> String {
        let l = self.literal(t);
        match self.d {
            Dialect::Postgres => format!("({l} COLLATE \"C\")"),
            Dialect::MySql => format!("CAST({l} AS BINARY)"),
            Dialect::ClickHouse | Dialect::Spark => l,
        }
    }

    /// A value (a number or text; NULL when empty).
    pub fn value(&self, t: Tree<'_>) -> String {
        match t.term() {
            Term::Column(i) => self.column(i),
            Term::Number(x) => self.number(x),
            Term::Text(s) => self.text(s),
            Term::Null => "NULL".to_string(),
            Term::Arith(Arith::Div, l, r) => {
                let nullif = if self.d == Dialect::ClickHouse {
                    "nullIf"
                } else {
                    "NULLIF"
                };
                format!(
                    "({} / {nullif}({}, {}))",
                    self.value(l),
                    self.value(r),
                    self.number(0.0)
                )
            }
            Term::Arith(op, l, r) => {
                format!("({} {} {})", self.value(l), op.symbol(), self.value(r))
            }
            Term::Neg(n) => format!("(-{})", self.value(n)),
            Term::Coalesce(ops) => {
                let ops: Vec<String> = ops.into_iter().map(|o| self.value(o)).collect();
                format!("COALESCE({})", ops.join(", "))
            }
            // conditions are not values (the compiler keeps them apart)
            _ => "NULL".to_string(),
        }
    }

    /// Whether the empty value of `t` comes from an empty column (never NULL).
    pub fn empty(&self, t: Tree<'_>) -> String {
        let is_null = |e: String| match self.d {
            Dialect::ClickHouse => format!("isNull({e})"),
            _ => format!("({e} IS NULL)"),
        };
        match t.term() {
            Term::Column(i) => is_null(self.column(i)),
            Term::Arith(_, l, r) => format!("({} OR {})", self.empty(l), self.empty(r)),
            Term::Neg(n) => self.empty(n),
            Term::Coalesce(ops) => {
                let parts: Vec<String> = ops.iter().map(|o| self.empty(*o)).collect();
                format!("({} AND ({}))", is_null(self.value(t)), parts.join(" OR "))
            }
            _ => "(1 = 0)".to_string(),
        }
    }

    /// A condition that is true exactly when `t` is true (false when it is false or unknown).
    pub fn holds(&self, t: Tree<'_>) -> String {
        match self.d {
            Dialect::ClickHouse => format!("({} = 2)", self.truth(t)),
            _ => self.condition(t),
        }
    }

    /// A comparison operator in SQL.
    fn op(cmp: Cmp) -> &'static str {
        match cmp {
            Cmp::Eq => "=",
            Cmp::Ne => "<>",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }

    /// The LIKE pattern as a literal: the file engine's LIKE has no escape character.
    fn pattern(&self, p: &str) -> String {
        match self.d {
            // ESCAPE '' turns escaping off
            Dialect::Postgres => self.literal(p),
            // a backslash escapes in these dialects' LIKE
            _ => self.literal(&p.replace('\\', "\\\\")),
        }
    }

    /// `e LIKE p` (not negated), three-valued.
    fn like(&self, e: Tree<'_>, pattern: &str, fold_case: bool) -> String {
        let v = self.value(e);
        let p = self.pattern(pattern);
        match (self.d, fold_case) {
            (Dialect::Postgres, false) => format!("({v} LIKE {p} ESCAPE '')"),
            (Dialect::Postgres, true) => {
                format!("(lower(CAST({v} AS text) COLLATE \"default\") LIKE {p} ESCAPE '')")
            }
            // one `_` is one character under a binary collation of utf8mb4
            (Dialect::MySql, false) => {
                format!("(CONVERT({v} USING utf8mb4) COLLATE utf8mb4_bin LIKE {p})")
            }
            (Dialect::MySql, true) => {
                format!("(LOWER(CONVERT({v} USING utf8mb4)) COLLATE utf8mb4_bin LIKE {p})")
            }
            (Dialect::ClickHouse, false) => format!("like({v}, {p})"),
            (Dialect::ClickHouse, true) => format!("like(lowerUTF8({v}), {p})"),
            (Dialect::Spark, false) => format!("({v} LIKE {p})"),
            (Dialect::Spark, true) => format!("(lower({v}) LIKE {p})"),
        }
    }

    /// `t` in SQL's three-valued logic (every dialect but ClickHouse's).
    fn condition(&self, t: Tree<'_>) -> String {
        let join = |ops: Vec<Tree<'_>>, op: &str| {
            let parts: Vec<String> = ops.into_iter().map(|o| self.condition(o)).collect();
            format!("({})", parts.join(&format!(" {op} ")))
        };
        let not = |negated: bool, e: String| if negated { format!("(NOT {e})") } else { e };
        match t.term() {
            Term::Bool(true) => "(1 = 1)".to_string(),
            Term::Bool(false) => "(1 = 0)".to_string(),
            Term::Cmp(cmp, l, r) => {
                format!("({} {} {})", self.value(l), Self::op(cmp), self.value(r))
            }
            Term::And(ops) => join(ops, "AND"),
            Term::Or(ops) => join(ops, "OR"),
            Term::Not(n) => format!("(NOT {})", self.condition(n)),
            Term::In {
                expr,
                list,
                negated,
            } => {
                let items: Vec<String> = list.into_iter().map(|i| self.value(i)).collect();
                format!(
                    "({} {}IN ({}))",
                    self.value(expr),
                    if negated { "NOT " } else { "" },
                    items.join(", ")
                )
            }
            Term::Between {
                expr,
                low,
                high,
                negated,
            } => format!(
                "({} {}BETWEEN {} AND {})",
                self.value(expr),
                if negated { "NOT " } else { "" },
                self.value(low),
                self.value(high)
            ),
            Term::IsNull { expr, negated } => format!(
                "({} IS {}NULL)",
                self.value(expr),
                if negated { "NOT " } else { "" }
            ),
            Term::Like {
                expr,
                pattern,
                negated,
                fold_case,
            } => not(negated, self.like(expr, pattern, fold_case)),
            // NULL (unknown); values are not conditions
            _ => "(1 = NULL)".to_string(),
        }
    }

    /// `t` as ClickHouse's number: 0 false, 1 unknown, 2 true (never NULL).
    fn truth(&self, t: Tree<'_>) -> String {
        let known = |e: String| format!("ifNull(({e}) * 2, 1)");
        let fold = |parts: Vec<String>, f: &str| {
            parts
                .into_iter()
                .reduce(|a, b| format!("{f}({a}, {b})"))
                .unwrap_or_else(|| "toUInt8(2)".to_string())
        };
        let not = |negated: bool, e: String| if negated { format!("(2 - {e})") } else { e };
        match t.term() {
            Term::Bool(true) => "toUInt8(2)".to_string(),
            Term::Bool(false) => "toUInt8(0)".to_string(),
            Term::Cmp(cmp, l, r) => known(format!(
                "{} {} {}",
                self.value(l),
                Self::op(cmp),
                self.value(r)
            )),
            Term::And(ops) => fold(ops.into_iter().map(|o| self.truth(o)).collect(), "least"),
            Term::Or(ops) => fold(ops.into_iter().map(|o| self.truth(o)).collect(), "greatest"),
            Term::Not(n) => format!("(2 - {})", self.truth(n)),
            Term::In {
                expr,
                list,
                negated,
            } => {
                let v = self.value(expr);
                // a list of literals: one IN over those that are not NULL (ClickHouse's IN
                // skips NULLs), unknown when the value is not found and the list holds a NULL
                let literals: Option<Vec<Option<String>>> = list
                    .iter()
                    .map(|i| match i.term() {
                        Term::Number(x) => Some(Some(format!("{x:e}"))),
                        Term::Text(s) => Some(Some(self.text(s))),
                        Term::Null => Some(None),
                        _ => None,
                    })
                    .collect();
                let in_list = match literals {
                    Some(items) => {
                        let missing = u8::from(items.iter().any(Option::is_none));
                        let items: Vec<String> = items.into_iter().flatten().collect();
                        if items.is_empty() {
                            format!("multiIf(isNull({v}), 1, {missing})")
                        } else {
                            format!(
                                "multiIf(isNull({v}), 1, {v} IN ({}), 2, {missing})",
                                items.join(", ")
                            )
                        }
                    }
                    None => {
                        let each: Vec<String> = list
                            .into_iter()
                            .map(|i| known(format!("{v} = {}", self.value(i))))
                            .collect();
                        fold(each, "greatest")
                    }
                };
                not(negated, in_list)
            }
            Term::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let v = self.value(expr);
                let inside = format!(
                    "least({}, {})",
                    known(format!("{v} >= {}", self.value(low))),
                    known(format!("{v} <= {}", self.value(high)))
                );
                not(negated, inside)
            }
            Term::IsNull { expr, negated } => {
                not(negated, format!("(isNull({}) * 2)", self.value(expr)))
            }
            Term::Like {
                expr,
                pattern,
                negated,
                fold_case,
            } => not(negated, known(self.like(expr, pattern, fold_case))),
            _ => "toUInt8(1)".to_string(),
        }
    }

    /// The computed amount, signed by `--refund-when`: an exact DECIMAL at four places, NULL
    /// when empty or not a number, beyond the largest amount when out of range.
    pub fn amount(&self, refund: Option<String>) -> Option<String> {
        let (formula, _) = self.exprs.amount.as_ref()?;
        let x = self.value(formula.tree());
        let max = self.number(MAX_AMOUNT as f64);
        let scaled = |e: String| {
            format!(
                "floor({e} * {} + {})",
                self.number(10_000.0),
                self.number(0.5)
            )
        };
        let up = self.decimal(&scaled(x.clone()));
        let down = self.decimal(&scaled(format!("(-{x})")));
        let refund = refund
            .map(|r| format!(" WHEN {r} THEN (-{up})"))
            .unwrap_or_default();
        let zero = self.number(0.0);
        // NaN (from a float column) and infinities are not numbers to the file engine either:
        // a bad amount; `floor(y + 0.5)` is `round(y)` but for y within 2⁻⁵⁴ below one half
        Some(format!(
            "CASE WHEN {x} IS NULL THEN NULL \
             WHEN {x} > {max} OR {x} < -{max} OR {x} * {zero} <> {zero} THEN {} \
             WHEN {x} < {zero} THEN (-{down}){refund} ELSE {up} END",
            self.beyond(),
        ))
    }

    /// An integral double (at most 10¹⁵ in size) as the exact DECIMAL of that many
    /// ten-thousandths.
    fn decimal(&self, k: &str) -> String {
        match self.d {
            Dialect::Postgres => format!("(CAST(CAST({k} AS bigint) AS numeric) * 0.0001)"),
            Dialect::MySql => format!("(CAST({k} AS SIGNED) * 0.0001)"),
            Dialect::ClickHouse => format!("(toDecimal128(toInt64({k}), 4) / 10000)"),
            Dialect::Spark => format!("(CAST(CAST({k} AS BIGINT) AS DECIMAL(20, 0)) * 0.0001)"),
        }
    }

    /// An amount beyond the largest accepted, which the accounting rejects as `bad_amount`.
    fn beyond(&self) -> String {
        let n = MAX_AMOUNT + 1;
        match self.d {
            Dialect::Postgres => format!("CAST({n} AS numeric)"),
            Dialect::MySql => format!("{n}.0000"),
            Dialect::ClickHouse => format!("toDecimal128({n}, 4)"),
            Dialect::Spark => format!("CAST({n} AS DECIMAL(20, 4))"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use stratum_io::row_exprs::RowExpressions;

    fn columns() -> Vec<Column> {
        let c = |name: &str, type_name: &str, kind, scale| Column {
            name: name.into(),
            type_name: type_name.into(),
            kind,
            scale,
        };
        vec![
            c("qty", "numeric", Kind::Exact, 0),
            c("price", "numeric", Kind::Exact, 2),
            c("status", "text", Kind::Text, 0),
            c("at", "timestamp", Kind::Timestamp, 0),
        ]
    }

    fn compiled(exprs: RowExpressions) -> CompiledExpressions {
        let headers: Vec<String> = columns().into_iter().map(|c| c.name).collect();
        CompiledExpressions::compile(Path::new("t"), &headers, &exprs)
            .expect("compiles")
            .expect("some")
    }

    #[test]
    fn text_and_numbers_are_read_as_the_expressions_read_them() {
        let e = compiled(RowExpressions {
            amount: Some("qty * price".into()),
            keep: Some("status <> 'test' AND qty > 0".into()),
            refund_when: None,
        });
        let cols = columns();
        let w = Writer {
            d: Dialect::Postgres,
            columns: &cols,
            exprs: &e,
        };
        let keep = e.keep.as_ref().expect("where");
        let sql = w.holds(keep.tree());
        assert!(sql.contains("CAST(\"c0\" AS double precision) > CAST('0e0' AS double precision)"));
        assert!(sql.contains("<> (E'test' COLLATE \"C\")"), "{sql}");
        assert!(check_columns(&e, &cols).is_ok());
    }

    #[test]
    fn a_timestamp_read_as_text_is_refused_by_name() {
        let e = compiled(RowExpressions {
            keep: Some("at >= '2024-01-01'".into()),
            ..RowExpressions::default()
        });
        let err = check_columns(&e, &columns()).expect_err("refused");
        let PushdownError::ExpressionColumn {
            column, read_as, ..
        } = err
        else {
            panic!("{err}");
        };
        assert_eq!(column, "at");
        assert_eq!(read_as, "text");
    }

    #[test]
    fn a_column_only_tested_for_emptiness_is_read_whatever_its_type() {
        let e = compiled(RowExpressions {
            keep: Some("at IS NOT NULL".into()),
            ..RowExpressions::default()
        });
        assert_eq!(e.untyped, [3]);
        assert!(check_columns(&e, &columns()).is_ok());
    }

    #[test]
    fn a_float_is_read_through_its_shortest_text() {
        let mut cols = columns();
        cols[1] = Column {
            name: "price".into(),
            type_name: "real".into(),
            kind: Kind::Float,
            scale: 0,
        };
        let e = compiled(RowExpressions {
            amount: Some("qty * price".into()),
            ..RowExpressions::default()
        });
        let w = Writer {
            d: Dialect::Postgres,
            columns: &cols,
            exprs: &e,
        };
        let (formula, _) = e.amount.as_ref().expect("amount");
        assert_eq!(
            w.value(formula.tree()),
            "(CAST(\"c0\" AS double precision) * CAST(CAST(\"c1\" AS text) AS double precision))"
        );
    }

    #[test]
    fn clickhouse_conditions_are_kleene_numbers() {
        let e = compiled(RowExpressions {
            keep: Some("NOT (status = 'a' AND qty IN (1, NULL))".into()),
            ..RowExpressions::default()
        });
        let cols = columns();
        let w = Writer {
            d: Dialect::ClickHouse,
            columns: &cols,
            exprs: &e,
        };
        let sql = w.holds(e.keep.as_ref().expect("where").tree());
        let status = "nullIf(replaceRegexpAll(ifNull(toString(`c2`), '')";
        let qty = "if(isNull(`c0`), NULL, toFloat64(toDecimal128(ifNull(`c0`, '0'), 0)))";
        assert!(
            sql.starts_with(&format!("((2 - least(ifNull(({status}")),
            "{sql}"
        );
        // the list's NULL makes a value not found unknown (1), not false
        assert!(
            sql.ends_with(&format!(
                "multiIf(isNull({qty}), 1, {qty} IN (1e0), 2, 1))) = 2)"
            )),
            "{sql}"
        );
    }

    #[test]
    fn literals_are_escaped_for_each_dialect() {
        let e = compiled(RowExpressions {
            keep: Some("status = 'it''s'".into()),
            ..RowExpressions::default()
        });
        let cols = columns();
        let w = |d| Writer {
            d,
            columns: &cols,
            exprs: &e,
        };
        assert_eq!(w(Dialect::MySql).literal("a\\'b"), "_utf8mb4'a\\\\''b'");
        assert_eq!(w(Dialect::ClickHouse).literal("a\\'b"), "'a\\\\\\'b'");
        assert_eq!(w(Dialect::Postgres).literal("a\\'b"), "E'a\\\\''b'");
        // LIKE has no escape character in the rules: a backslash is itself
        assert_eq!(w(Dialect::Spark).pattern("a\\%"), "'a\\\\\\\\%'");
    }
}
