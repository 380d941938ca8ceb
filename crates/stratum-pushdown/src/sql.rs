//! The SQL that Stratum pushes down, in each dialect: one statement for the row accounting
//! (the quality report) and one for the per-customer totals, both over the same three levels:
//!
//! 1. **distinct rows**: the table's rows grouped by every column (typed values; text compared
//!    byte for byte, case and trailing spaces included), with how many copies each has (one
//!    each with `--duplicates keep`);
//! 2. **classified**: the mapped columns cleaned by the rules of the file engine (ids trimmed
//!    of Unicode whitespace, a timestamp's date, the reject reason or none);
//! 3. **per customer**: the accepted lines dated before `as_of`, one row per customer.
//!
//! Every value comes back as text (dates as `YYYY-MM-DD`, sums as exact decimals), so that no
//! float is ever involved and both dialects read back alike.

use chrono::NaiveDate;
use stratum_io::row_exprs::CompiledExpressions;
use stratum_io::values::MAX_AMOUNT;

use crate::exprs::Writer;

/// The SQL dialects Stratum writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL (and engines of its protocol, such as Citus).
    Postgres,
    /// MySQL's dialect (MySQL, MariaDB; Doris and StarRocks speak it).
    MySql,
    /// ClickHouse's dialect, as old as 18.16 (no `WITH` subqueries: the levels are nested).
    ClickHouse,
    /// Spark SQL (through Spark Connect).
    Spark,
}

/// What a column holds, as far as the SQL cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text of any length.
    Text,
    /// A date.
    Date,
    /// A date and time (its date is used).
    Timestamp,
    /// An exact number: DECIMAL, NUMERIC or an integer.
    Exact,
    /// A floating-point number.
    Float,
    /// Anything else (compared as the engine compares it).
    Other,
}

/// A column of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// The engine's type name.
    pub type_name: String,
    /// What it holds.
    pub kind: Kind,
    /// Its decimal places, for an exact number (0 for an integer).
    pub scale: u32,
}

/// The table and which of its columns hold what.
#[derive(Debug, Clone)]
pub struct Shape {
    /// The table as named (`schema.table` or `table`).
    pub table: String,
    /// Every column, in the table's order.
    pub columns: Vec<Column>,
    /// The customer id column.
    pub customer_id: usize,
    /// The order id column, if any.
    pub order_id: Option<usize>,
    /// The date column.
    pub order_date: usize,
    /// The amount column; none when `--amount` computes the amount.
    pub amount: Option<usize>,
    /// Whether identical rows are all kept (`--duplicates keep`).
    pub keep_duplicates: bool,
    /// The amount column's decimal places (0 for an integer column), where the dialect
    /// needs it (ClickHouse rebuilds the amount from its text at this scale); 4 for a
    /// computed amount.
    pub amount_scale: u32,
    /// `--amount`, `--where` and `--refund-when`, compiled against the table's columns.
    pub exprs: Option<CompiledExpressions>,
}

/// The rows the accounting rejects (`filtered` rows are left out by `--where`, not rejected).
const REJECTED: &str = "reason IS NOT NULL AND reason <> 'filtered'";

/// The reject reasons the SQL can give, as it spells them.
pub const REASONS: [&str; 4] = ["missing_date", "bad_date", "missing_amount", "bad_amount"];

/// The columns of the quality statement's one row, in order.
pub const QUALITY_COLUMNS: [&str; 23] = [
    "rows_read",
    "duplicates",
    "duplicate_amount",
    "anonymous",
    "anonymous_amount",
    "rejected",
    "rejected_amount",
    "missing_date",
    "bad_date",
    "missing_amount",
    "bad_amount",
    "accepted",
    "purchase_lines",
    "zero_amount_lines",
    "refund_lines",
    "purchase_amount",
    "refund_amount",
    "lines_without_order_id",
    "first_date",
    "last_date",
    "filtered",
    "filtered_amount",
    "filtered_without_amount",
];

/// The columns of the per-customer statement's rows, in order.
pub const CUSTOMER_COLUMNS: [&str; 11] = [
    "customer_id",
    "first_purchase",
    "last_purchase",
    "orders",
    "purchase_days",
    "gross",
    "refunds",
    "refund_lines",
    "zero_lines",
    "first_line",
    "last_line",
];

/// The columns of the per-customer-and-day statement's rows, in order.
pub const DAY_COLUMNS: [&str; 8] = [
    "customer_id",
    "day",
    "gross",
    "refunds",
    "refund_lines",
    "zero_lines",
    "purchase_lines",
    "new_orders",
];

/// The characters Rust's `char::is_whitespace` (Unicode `White_Space`) removes, which the file
/// engine trims from ids: U+0009–U+000D, U+0020, U+0085, U+00A0, U+1680, U+2000–U+200A,
/// U+2028, U+2029, U+202F, U+205F and U+3000 (the full-width space of Chinese text).
const WHITE_SPACE: [(u32, u32); 10] = [
    (0x09, 0x0D),
    (0x20, 0x20),
    (0x85, 0x85),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
];

impl Dialect {
    /// `name` as a quoted identifier (`schema.table` quoted part by part).
    pub fn ident(self, name: &str) -> String {
        match self {
            Dialect::Postgres => format!("\"{}\"", name.replace('"', "\"\"")),
            Dialect::MySql | Dialect::Spark => format!("`{}`", name.replace('`', "``")),
            // ClickHouse escapes with a backslash inside backquotes
            Dialect::ClickHouse => {
                format!("`{}`", name.replace('\\', "\\\\").replace('`', "\\`"))
            }
        }
    }

    /// A table name, `schema.table` or `table`, quoted.
    pub fn table(self, name: &str) -> String {
        match name.split_once('.') {
            Some((schema, table)) => format!("{}.{}", self.ident(schema), self.ident(table)),
            None => self.ident(name),
        }
    }

    /// A date literal.
    fn date(self, d: NaiveDate) -> String {
        match self {
            Dialect::ClickHouse => format!("toDate('{}')", d.format("%Y-%m-%d")),
            _ => format!("DATE '{}'", d.format("%Y-%m-%d")),
        }
    }

    /// An expression as text, for reading back.
    fn text(self, e: &str) -> String {
        match self {
            Dialect::Postgres => format!("CAST({e} AS text)"),
            Dialect::MySql => format!("CAST({e} AS CHAR)"),
            Dialect::ClickHouse => format!("toString({e})"),
            Dialect::Spark => format!("CAST({e} AS STRING)"),
        }
    }

    /// A date expression as `YYYY-MM-DD` text.
    pub(crate) fn date_text(self, e: &str) -> String {
        match self {
            Dialect::Postgres => format!("to_char({e}, 'YYYY-MM-DD')"),
            Dialect::MySql => format!("DATE_FORMAT({e}, '%Y-%m-%d')"),
            Dialect::Spark => format!("date_format({e}, 'yyyy-MM-dd')"),
            Dialect::ClickHouse => format!("toString({e})"),
        }
    }

    /// How many distinct values of `e` (NULL not counted), 0 when none.
    fn count_distinct(self, e: &str) -> String {
        match self {
            // ClickHouse 18.16 gives NULL for a group whose values are all NULL
            Dialect::ClickHouse => format!("ifNull(COUNT(DISTINCT {e}), 0)"),
            _ => format!("COUNT(DISTINCT {e})"),
        }
    }

    /// A count literal of the per-day statement's second part (its types must match the
    /// first part's in ClickHouse).
    fn count_literal(self, n: u32) -> String {
        match self {
            Dialect::ClickHouse => format!("toUInt64({n})"),
            _ => n.to_string(),
        }
    }

    /// A zero sum of the per-day statement's second part, at `scale`.
    fn zero_sum(self, scale: u32) -> String {
        match self {
            Dialect::ClickHouse => format!("toDecimal128(0, {scale})"),
            _ => "0".to_string(),
        }
    }

    /// Column `c` at the distinct level: text compared byte for byte.
    fn distinct_value(self, c: &Column) -> String {
        let q = self.ident(&c.name);
        match (self, c.kind) {
            // text as bytes: the "C" collation (citext and non-deterministic collations
            // would compare case-insensitively); other types without an equality (json) as
            // their text
            (Dialect::Postgres, Kind::Text | Kind::Other) => {
                format!("CAST({q} AS text) COLLATE \"C\"")
            }
            (Dialect::Postgres, _) => q,
            // MySQL's collations ignore case and trailing spaces: compare the UTF-8 bytes
            (Dialect::MySql, Kind::Text) => format!("CAST(CONVERT({q} USING utf8mb4) AS BINARY)"),
            (Dialect::MySql, _) => q,
            // ClickHouse 18.16 crashes grouping by a Decimal128 beside other keys: exact
            // numbers are grouped by their text, which is one to one at a column's fixed
            // scale; strings compare as bytes already
            (Dialect::ClickHouse, Kind::Exact) => format!("toString({q})"),
            (Dialect::ClickHouse, _) => q,
            // Spark compares strings as bytes (UTF8_BINARY) unless a column has a collation
            // of its own (`string collate UTF8_LCASE`, Spark 4), and numbers as typed
            (Dialect::Spark, _) if collated(c) => format!("{q} COLLATE UTF8_BINARY"),
            (Dialect::Spark, _) => q,
        }
    }

    /// An id column (from the distinct level's `name`) as trimmed text, grouped byte for byte.
    pub(crate) fn id(self, name: &str, c: &Column) -> String {
        let q = self.ident(name);
        match self {
            Dialect::Postgres => {
                let text = if c.kind == Kind::Text {
                    q
                } else {
                    format!("CAST({q} AS text)")
                };
                let set: String = WHITE_SPACE
                    .iter()
                    .flat_map(|&(a, b)| a..=b)
                    .map(|u| format!("\\u{u:04X}"))
                    .collect();
                // a NULL id is an empty one: an anonymous sale, a line without an order id
                format!("(COALESCE(btrim({text}, E'{set}'), '')) COLLATE \"C\"")
            }
            Dialect::ClickHouse => {
                // re2 in UTF-8 mode
                let set = regex_white_space();
                format!("replaceRegexpAll(ifNull(toString({q}), ''), '^[{set}]+|[{set}]+$', '')")
            }
            Dialect::Spark => {
                // Java's regular expressions read `\x{…}` as ClickHouse's re2 does; a
                // collated column is binary already (see `distinct_value`)
                let set = regex_white_space();
                format!(
                    "COALESCE(regexp_replace(CAST({q} AS STRING), '^[{set}]+|[{set}]+$', ''), '')"
                )
            }
            Dialect::MySql => {
                let text = if c.kind == Kind::Text {
                    format!("CONVERT({q} USING utf8mb4)")
                } else {
                    format!("CONVERT(CAST({q} AS CHAR) USING utf8mb4)")
                };
                let set = regex_white_space();
                format!(
                    "COALESCE(CAST(REGEXP_REPLACE({text}, '^[{set}]+|[{set}]+$', '') AS BINARY), '')"
                )
            }
        }
    }

    /// Bytes-compared id text as readable text.
    fn id_out(self, e: &str) -> String {
        match self {
            Dialect::Postgres | Dialect::ClickHouse | Dialect::Spark => e.to_string(),
            Dialect::MySql => format!("CONVERT({e} USING utf8mb4)"),
        }
    }
}

/// Whether a Spark column's type carries a collation of its own (`string collate …`).
fn collated(c: &Column) -> bool {
    c.type_name.to_ascii_lowercase().contains("collate")
}

/// The White_Space set as a regular-expression class's inside (`\x{9}-\x{D}\x{20}…`), in a
/// SQL string literal that doubles each backslash (MySQL's ICU and ClickHouse's re2 read it
/// alike).
fn regex_white_space() -> String {
    WHITE_SPACE
        .iter()
        .map(|&(a, b)| {
            if a == b {
                format!("\\\\x{{{a:X}}}")
            } else {
                format!("\\\\x{{{a:X}}}-\\\\x{{{b:X}}}")
            }
        })
        .collect()
}

/// The names the statements give their own columns and subqueries. ClickHouse applies a
/// query's aliases at every level, so a table column of one of these names (or `c0`, `c1`,
/// …, see [`col`]) would be read as the alias there: such a table is refused by name.
pub const OWN_NAMES: [&str; 17] = [
    "copies",
    "cid",
    "oid",
    "d",
    "a",
    "reason",
    "day",
    "gross",
    "refunds",
    "refund_lines",
    "zero_lines",
    "purchase_lines",
    "new_orders",
    "source_rows",
    "per_day",
    "classified",
    "typed",
];

/// The names the statements give their own columns with expressions (see [`OWN_NAMES`]).
const EXPRESSION_NAMES: [&str; 2] = ["amount_empty", "kept"];

impl Shape {
    /// In ClickHouse's dialect, the first table column whose name the statements use for
    /// their own (see [`OWN_NAMES`]).
    pub fn clashing_column(&self) -> Option<&str> {
        let n = self.columns.len();
        self.columns.iter().map(|c| c.name.as_str()).find(|name| {
            OWN_NAMES.contains(name)
                || (self.exprs.is_some() && EXPRESSION_NAMES.contains(name))
                || name
                    .strip_prefix('c')
                    .and_then(|i| i.parse::<usize>().ok())
                    .is_some_and(|i| i < n && name == &col(i))
        })
    }
}

/// Column names used inside the statements (`c0`, `c1`, …, then these), none of which can
/// clash with the table's own names, which only appear quoted in the first level.
pub(crate) fn col(i: usize) -> String {
    format!("c{i}")
}

impl Shape {
    /// Levels 1 and 2 ending in `classified (cid, oid, d, a, copies, reason)`: the `WITH`
    /// clauses to put first and what to select from (`classified`), or, in ClickHouse's
    /// dialect, no clauses and the levels nested as a subquery.
    fn levels(&self, dialect: Dialect, carry: bool) -> (String, String) {
        let d = dialect;
        let table = d.table(&self.table);
        let picked: Vec<String> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{} AS {}", d.distinct_value(c), col(i)))
            .collect();
        let names: Vec<String> = (0..self.columns.len()).map(col).collect();
        let distinct = if self.keep_duplicates {
            format!("SELECT {}, 1 AS copies FROM {table}", picked.join(", "))
        } else {
            format!(
                "SELECT {}, COUNT(*) AS copies FROM (SELECT {} FROM {table}) AS source_rows GROUP BY {}",
                names.join(", "),
                picked.join(", "),
                names.join(", ")
            )
        };
        let cid = d.id(&col(self.customer_id), &self.columns[self.customer_id]);
        let oid = match self.order_id {
            Some(o) => d.id(&col(o), &self.columns[o]),
            None => match d {
                Dialect::Postgres => "CAST('' AS text)".to_string(),
                Dialect::MySql => "CAST('' AS BINARY)".to_string(),
                Dialect::ClickHouse => "''".to_string(),
                Dialect::Spark => "CAST('' AS STRING)".to_string(),
            },
        };
        let date_col = d.ident(&col(self.order_date));
        let date = match (self.columns[self.order_date].kind, d) {
            (Kind::Timestamp, Dialect::ClickHouse) => format!("toDate({date_col})"),
            (Kind::Timestamp, _) => format!("CAST({date_col} AS DATE)"),
            _ => date_col,
        };
        let writer = self.exprs.as_ref().map(|exprs| Writer {
            d,
            columns: &self.columns,
            exprs,
        });
        let refund = writer.as_ref().and_then(|w| {
            let r = w.exprs.refund.as_ref()?;
            Some(w.holds(r.tree()))
        });
        let computed = writer.as_ref().and_then(|w| w.amount(refund.clone()));
        let amount = match (computed, self.amount) {
            (Some(amount), _) => amount,
            (None, Some(column)) => {
                let a = d.ident(&col(column));
                let amount = match d {
                    // the amount was grouped as text (see `distinct_value`)
                    Dialect::ClickHouse => format!(
                        "if(isNull({a}), NULL, round(toDecimal128(ifNull({a}, '0'), {}), 4))",
                        self.amount_scale
                    ),
                    _ => format!("ROUND({a}, 4)"),
                };
                match &refund {
                    // `--refund-when` makes a line a refund unless it is one already
                    Some(r) => {
                        format!("CASE WHEN {r} AND {amount} > 0 THEN -({amount}) ELSE {amount} END")
                    }
                    None => amount,
                }
            }
            (None, None) => "NULL".to_string(),
        };
        // with expressions: whether an empty amount comes from an empty column, and whether
        // `--where` keeps the row
        let exprs_columns = match &writer {
            Some(w) => {
                let empty = match &w.exprs.amount {
                    Some((formula, _)) => w.empty(formula.tree()),
                    None => "(1 = 1)".to_string(),
                };
                let kept = match &w.exprs.keep {
                    Some(rule) => w.holds(rule.tree()),
                    None => "(1 = 1)".to_string(),
                };
                format!(
                    ", CASE WHEN {empty} THEN 1 ELSE 0 END AS amount_empty, CASE WHEN {kept} THEN 1 ELSE 0 END AS kept"
                )
            }
            None => String::new(),
        };
        let max = MAX_AMOUNT;
        let out_of_range = match d {
            // MySQL keeps dates with a zero month or day (`2024-00-10`), which no file date is
            Dialect::MySql | Dialect::Postgres | Dialect::Spark => {
                let (low, high) = (
                    d.date(NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default()),
                    d.date(NaiveDate::from_ymd_opt(2100, 12, 31).unwrap_or_default()),
                );
                let zero_dates = if d == Dialect::MySql {
                    " OR MONTH(d) = 0 OR DAYOFMONTH(d) = 0"
                } else {
                    ""
                };
                format!("d < {low} OR d > {high}{zero_dates}")
            }
            // ClickHouse's dates start in 1970; a date it could not store (1899, a typo)
            // was stored as its zero date, 1970-01-01, which is taken as such
            Dialect::ClickHouse => format!(
                "d = toDate(0) OR d > {}",
                d.date(NaiveDate::from_ymd_opt(2100, 12, 31).unwrap_or_default())
            ),
        };
        // the rejected rows' statement carries every column to the end
        let carried = if carry {
            format!(", {}", names.join(", "))
        } else {
            String::new()
        };
        let typed = format!(
            "SELECT {cid} AS cid, {oid} AS oid, {date} AS d, {amount} AS a{exprs_columns}, copies{carried} FROM {}",
            match d {
                Dialect::ClickHouse => format!("({distinct})"),
                _ => "distinct_rows".to_string(),
            }
        );
        // a row `--where` does not keep is filtered before anything else of it is judged; an
        // amount an expression leaves empty is missing when an empty column made it so
        let (filtered, missing, bad) = if writer.is_some() {
            (
                "WHEN kept = 0 THEN 'filtered' ",
                "a IS NULL AND amount_empty = 1",
                "a IS NULL OR ",
            )
        } else {
            ("", "a IS NULL", "")
        };
        let classified = format!(
            "SELECT cid, oid, d, a, copies{carried}, CASE {filtered}\
             WHEN d IS NULL THEN 'missing_date' \
             WHEN {out_of_range} THEN 'bad_date' \
             WHEN {missing} THEN 'missing_amount' \
             WHEN {bad}a > {max} OR a < -{max} THEN 'bad_amount' \
             END AS reason FROM {}",
            match d {
                Dialect::ClickHouse => format!("({typed})"),
                _ => "typed".to_string(),
            }
        );
        match d {
            Dialect::ClickHouse => (String::new(), format!("({classified}) AS classified")),
            _ => (
                format!(
                    "WITH distinct_rows AS ({distinct}),\ntyped AS ({typed}),\nclassified AS ({classified})\n"
                ),
                "classified".to_string(),
            ),
        }
    }

    /// The rejected rows, one per distinct row as the accounting counts them: every column of
    /// the table as text (NULL as NULL), then the reason; in a fixed order.
    pub fn rejects_sql(&self, dialect: Dialect) -> String {
        let d = dialect;
        let names: Vec<String> = (0..self.columns.len()).map(|i| d.ident(&col(i))).collect();
        let cells: Vec<String> = names.iter().map(|n| d.text(n)).collect();
        let (with, classified) = self.levels(d, true);
        format!(
            "{with}SELECT {}, reason FROM {classified} WHERE {REJECTED} ORDER BY reason, {}",
            cells.join(", "),
            names.join(", ")
        )
    }

    /// The row accounting: one row of [`QUALITY_COLUMNS`]; with `as_of`, two more: the lines
    /// dated on or after it and their net amount.
    pub fn quality_sql(&self, dialect: Dialect, as_of: Option<NaiveDate>) -> String {
        let d = dialect;
        let t = |e: &str| d.text(e);
        let ok = "reason IS NULL";
        let accepted = "reason IS NULL AND cid <> ''";
        let anonymous = "reason IS NULL AND cid = ''";
        let max = MAX_AMOUNT;
        let readable = format!("a IS NOT NULL AND a <= {max} AND a >= -{max}");
        let mut cells = vec![
            t("SUM(copies)"),
            // rows `--where` leaves out are not judged as duplicates
            t("SUM(CASE WHEN reason = 'filtered' THEN 0 ELSE copies - 1 END)"),
            t(&format!(
                "SUM(CASE WHEN {ok} THEN (copies - 1) * a ELSE 0 END)"
            )),
            t(&format!("SUM(CASE WHEN {anonymous} THEN 1 ELSE 0 END)")),
            t(&format!("SUM(CASE WHEN {anonymous} THEN a ELSE 0 END)")),
            t(&format!("SUM(CASE WHEN {REJECTED} THEN 1 ELSE 0 END)")),
            // a row rejected for its date still has an amount, when it is readable
            t(&format!(
                "SUM(CASE WHEN reason IN ('missing_date', 'bad_date') AND {readable} THEN a ELSE 0 END)"
            )),
        ];
        cells.extend(
            REASONS
                .iter()
                .map(|r| t(&format!("SUM(CASE WHEN reason = '{r}' THEN 1 ELSE 0 END)"))),
        );
        cells.extend([
            t(&format!("SUM(CASE WHEN {accepted} THEN 1 ELSE 0 END)")),
            t(&format!(
                "SUM(CASE WHEN {accepted} AND a > 0 THEN 1 ELSE 0 END)"
            )),
            t(&format!(
                "SUM(CASE WHEN {accepted} AND a = 0 THEN 1 ELSE 0 END)"
            )),
            t(&format!(
                "SUM(CASE WHEN {accepted} AND a < 0 THEN 1 ELSE 0 END)"
            )),
            t(&format!(
                "SUM(CASE WHEN {accepted} AND a > 0 THEN a ELSE 0 END)"
            )),
            t(&format!(
                "SUM(CASE WHEN {accepted} AND a < 0 THEN a ELSE 0 END)"
            )),
            t(&format!(
                "SUM(CASE WHEN {accepted} AND a > 0 AND oid = '' THEN 1 ELSE 0 END)"
            )),
            d.date_text(&format!("MIN(CASE WHEN {accepted} THEN d END)")),
            d.date_text(&format!("MAX(CASE WHEN {accepted} THEN d END)")),
            // every copy of a filtered row counts, with its amount when it can be read
            t("SUM(CASE WHEN reason = 'filtered' THEN copies ELSE 0 END)"),
            t(&format!(
                "SUM(CASE WHEN reason = 'filtered' AND {readable} THEN copies * a ELSE 0 END)"
            )),
            t(&format!(
                "SUM(CASE WHEN reason = 'filtered' AND (a IS NULL OR a > {max} OR a < -{max}) THEN copies ELSE 0 END)"
            )),
        ]);
        if let Some(as_of) = as_of {
            let at = d.date(as_of);
            cells.push(t(&format!(
                "SUM(CASE WHEN {accepted} AND d >= {at} THEN 1 ELSE 0 END)"
            )));
            cells.push(t(&format!(
                "SUM(CASE WHEN {accepted} AND d >= {at} THEN a ELSE 0 END)"
            )));
        }
        let (with, classified) = self.levels(d, false);
        format!("{with}SELECT {} FROM {classified}", cells.join(",\n  "))
    }

    /// One row of [`CUSTOMER_COLUMNS`] per customer with an accepted line dated before
    /// `as_of` (`None`: the placeholder `:as_of`, for showing the statement before the date
    /// is known).
    pub fn customers_sql(&self, dialect: Dialect, as_of: Option<NaiveDate>) -> String {
        let d = dialect;
        let t = |e: &str| d.text(e);
        let cells = [
            d.id_out("cid"),
            d.date_text("MIN(CASE WHEN a > 0 THEN d END)"),
            d.date_text("MAX(CASE WHEN a > 0 THEN d END)"),
            // distinct order ids among the purchase lines, and each line without one
            t(&format!(
                "{} + SUM(CASE WHEN a > 0 AND oid = '' THEN 1 ELSE 0 END)",
                d.count_distinct("CASE WHEN a > 0 AND oid <> '' THEN oid END")
            )),
            t(&d.count_distinct("CASE WHEN a > 0 THEN d END")),
            t("SUM(CASE WHEN a > 0 THEN a ELSE 0 END)"),
            t("SUM(CASE WHEN a < 0 THEN a ELSE 0 END)"),
            t("SUM(CASE WHEN a < 0 THEN 1 ELSE 0 END)"),
            t("SUM(CASE WHEN a = 0 THEN 1 ELSE 0 END)"),
            d.date_text("MIN(d)"),
            d.date_text("MAX(d)"),
        ];
        let (with, classified) = self.levels(d, false);
        format!(
            "{with}SELECT {} FROM {classified} WHERE reason IS NULL AND cid <> '' AND d < {} GROUP BY cid",
            cells.join(",\n  "),
            as_of.map_or_else(|| ":as_of".to_string(), |at| d.date(at))
        )
    }
}

impl Shape {
    /// In ClickHouse's dialect: how many rows have a customer id that trimming changes (one
    /// row, one count). With none, the raw id is the grouping key, so a table sharded by it
    /// keeps each customer on one shard.
    pub fn untrimmed_ids_sql(&self) -> String {
        let d = Dialect::ClickHouse;
        let c = &self.columns[self.customer_id];
        format!(
            "SELECT toString(COUNT(*)) FROM {} WHERE ifNull(toString({}), '') <> {}",
            d.table(&self.table),
            d.ident(&c.name),
            d.id(&c.name, c)
        )
    }

    /// One row of [`DAY_COLUMNS`] per customer and day with an accepted line dated before
    /// `as_of` (`None`: `:as_of`), ordered by customer then day: what the days a tier
    /// scheme's windows and lifetime value read are made of. An order is new on the day of
    /// its earliest purchase line; a purchase line without an order id is an order of its
    /// own day.
    pub fn days_sql(&self, dialect: Dialect, as_of: Option<NaiveDate>) -> String {
        let d = dialect;
        let t = |e: &str| d.text(e);
        let at = as_of.map_or_else(|| ":as_of".to_string(), |at| d.date(at));
        let used = format!("reason IS NULL AND cid <> '' AND d < {at}");
        let cells = [
            d.id_out("cid"),
            d.date_text("day"),
            t("SUM(gross)"),
            t("SUM(refunds)"),
            t("SUM(refund_lines)"),
            t("SUM(zero_lines)"),
            t("SUM(purchase_lines)"),
            t("SUM(new_orders)"),
        ];
        let (with, classified) = self.levels(d, false);
        let (zero, one, sum0) = (
            d.count_literal(0),
            d.count_literal(1),
            d.zero_sum(self.amount_scale),
        );
        format!(
            "{with}SELECT {} FROM (\n\
             SELECT cid, d AS day, \
             SUM(CASE WHEN a > 0 THEN a ELSE 0 END) AS gross, \
             SUM(CASE WHEN a < 0 THEN a ELSE 0 END) AS refunds, \
             SUM(CASE WHEN a < 0 THEN 1 ELSE 0 END) AS refund_lines, \
             SUM(CASE WHEN a = 0 THEN 1 ELSE 0 END) AS zero_lines, \
             SUM(CASE WHEN a > 0 THEN 1 ELSE 0 END) AS purchase_lines, \
             SUM(CASE WHEN a > 0 AND oid = '' THEN 1 ELSE 0 END) AS new_orders \
             FROM {classified} WHERE {used} GROUP BY cid, d\n\
             UNION ALL\n\
             SELECT cid, MIN(d), {sum0}, {sum0}, {zero}, {zero}, {zero}, {one} FROM {classified} \
             WHERE {used} AND a > 0 AND oid <> '' GROUP BY cid, oid\n\
             ) AS per_day GROUP BY cid, day ORDER BY cid, day",
            cells.join(",\n  "),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_with_their_quotes_doubled() {
        assert_eq!(Dialect::Postgres.ident(r#"a"b"#), r#""a""b""#);
        assert_eq!(Dialect::MySql.ident("a`b"), "`a``b`");
        assert_eq!(Dialect::Postgres.table("s.t"), r#""s"."t""#);
        assert_eq!(Dialect::MySql.table("orders"), "`orders`");
    }

    #[test]
    fn the_trimmed_set_is_rusts_white_space() {
        let set: Vec<char> = WHITE_SPACE
            .iter()
            .flat_map(|&(a, b)| a..=b)
            .filter_map(char::from_u32)
            .collect();
        for u in 0..=0x10FFFFu32 {
            if let Some(c) = char::from_u32(u) {
                assert_eq!(set.contains(&c), c.is_whitespace(), "U+{u:04X}");
            }
        }
    }
}
