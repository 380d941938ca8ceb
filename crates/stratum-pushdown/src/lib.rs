//! Pushdown: the dedupe and the per-customer aggregation of a transaction table run as SQL in
//! the database that holds it (`--source URL --table NAME`), and one row of base totals per
//! customer streams back. Stratum then scores, tiers, validates and renders exactly as for a
//! file: the totals fill the same [`Aggregator`] the file engine fills, so every feature past
//! the totals (recency, tenure, order value, scores, classes, tiers) has one definition.
//!
//! The rules are the file engine's (`stratum_io::transactions`), written as SQL (see [`sql`]):
//! - **duplicates**: rows equal in every column, as the database types them, are one row (a
//!   file compares its lines' bytes: `12.5` and `12.50` are two rows there, one in a table
//!   whose amount is a DECIMAL); `--duplicates keep` keeps them all;
//! - **ids**: customer and order ids are trimmed of Unicode whitespace (U+3000 included) and
//!   compared byte for byte (MySQL's collations would ignore case and trailing spaces);
//! - **rejects**: a line without a date (`missing_date`), dated outside 1900–2100
//!   (`bad_date`), without an amount (`missing_amount`) or beyond ±100 billion
//!   (`bad_amount`), in that order; a line with no customer id is an anonymous sale;
//! - **sums** are DECIMAL sums read back as exact text; a float amount column is refused.
//!
//! When each customer's days are needed (lifetime value, a tier scheme's windows), a row per
//! customer and day comes back instead, an order counted on the day of its earliest purchase
//! line (the file engine's rule too).
//!
//! Supported now: PostgreSQL and the MySQL protocol (MySQL, MariaDB), one node each,
//! ClickHouse, one server or a sharded cluster (see `route` for the plans), and, with the
//! `spark` feature, Spark Connect. `--amount`, `--where` and `--refund-when` are written in the
//! engine's SQL with the file engine's meaning (see `exprs`). Not yet: text date or amount
//! columns, and text columns read as numbers by an expression.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use stratum_core::scheme::params::Label;
use stratum_core::{Aggregator, CustomerTotals, DayLines, Money, ShardedAggregator, TotalsError};
use stratum_io::mapping::{MappingError, transaction_columns};
use stratum_io::record::DatabaseInfo;
use stratum_io::rejects::{RejectReason, RejectRow};
use stratum_io::source::{Format, SourceInfo};
use stratum_io::transactions::{LineStats, RowCounts, TransactionOptions, TransactionQuality};

mod connect;
use connect::Connection;
mod exprs;
mod route;
pub mod source;
pub mod sql;

pub use source::{Engine, TableSource};
use sql::{CUSTOMER_COLUMNS, DAY_COLUMNS, Kind, QUALITY_COLUMNS, REASONS, Shape};

/// Why a database source could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PushdownError {
    /// The URL is not one Stratum can use.
    #[error("--source `{url}`: {message}")]
    BadUrl {
        /// The URL, without its password.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// An engine Stratum will read, but does not yet.
    #[error(
        "--source `{scheme}://…`: this build reads PostgreSQL (postgres://), the MySQL protocol (mysql://) and ClickHouse (clickhouse://); Spark Connect (sc://) needs a build with the `spark` feature (cargo install --features spark)"
    )]
    NotYet {
        /// The URL's scheme.
        scheme: String,
    },
    /// The table name is empty or has more than two parts.
    #[error("--table `{table}`: expected `table` or `schema.table`")]
    BadTable {
        /// The name given.
        table: String,
    },
    /// The database could not be reached.
    #[error("cannot connect to `{url}`: {message}")]
    Connect {
        /// The URL, without its password.
        url: String,
        /// The engine's or the network's message.
        message: String,
    },
    /// A statement failed.
    #[error("the database refused a statement: {message}")]
    Query {
        /// The engine's message.
        message: String,
    },
    /// The table does not exist (or has no column the connection may see).
    #[error("no table `{table}` in `{url}`")]
    NoTable {
        /// The table.
        table: String,
        /// The URL, without its password.
        url: String,
    },
    /// A field could not be mapped to a column.
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// An expression (`--amount`, `--where`, `--refund-when`) does not fit the table.
    #[error(transparent)]
    Expression(#[from] stratum_io::row_exprs::ExpressionError),
    /// A column an expression reads cannot be read so in the database.
    #[error(
        "column `{column}` is of type {type_name}, which an expression reads as {read_as}; {need}"
    )]
    ExpressionColumn {
        /// The column.
        column: String,
        /// Its type as the engine names it.
        type_name: String,
        /// What the expression reads it as.
        read_as: &'static str,
        /// What would be read.
        need: &'static str,
    },
    /// A mapped column's type cannot be read by the pushed-down rules.
    #[error("column `{column}` ({field}) is of type {type_name}; {need}")]
    ColumnType {
        /// The column.
        column: String,
        /// The field it is mapped to.
        field: &'static str,
        /// Its type as the engine names it.
        type_name: String,
        /// What would be read.
        need: &'static str,
    },
    /// A column whose name the ClickHouse statements use for their own.
    #[error(
        "column `{column}`: ClickHouse applies a query's aliases at every level, and the pushdown's statements name one of their own `{column}`; rename the column or read the table through a view that does"
    )]
    ReservedName {
        /// The column.
        column: String,
    },
    /// An option that a database source does not support yet.
    #[error("{what} is not supported with --source yet; export the table to a file and use -t")]
    Unsupported {
        /// The option.
        what: &'static str,
    },
    /// The database returned a value that is not what the statement asks for.
    #[error("the database returned `{value}` for {column}, which is not {expected}")]
    BadValue {
        /// The statement's column.
        column: &'static str,
        /// The value.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// The totals could not be added.
    #[error(transparent)]
    Totals(#[from] TotalsError),
    /// A rejected row could not be written.
    #[error("cannot write the rejected rows: {0}")]
    Rejects(#[source] std::io::Error),
    /// Full pushdown found one customer on two shards: the table's rows are not placed by
    /// its sharding key, and each shard's part would count that customer apart.
    #[error(
        "customer `{customer}` has rows on shard {first} and on shard {second} of table `{table}`: its rows are not all where the sharding key puts them (rows written into the shards' own tables, or shards added without moving rows), so it cannot be aggregated shard by shard; read it through a Distributed table sharded by rand(), which merges on the initiator"
    )]
    SplitCustomer {
        /// The customer id.
        customer: String,
        /// The table.
        table: String,
        /// The two shards, numbered from 1.
        first: usize,
        /// See `first`.
        second: usize,
    },
}

impl PushdownError {
    /// Whether the error is in what the user gave (the URL, the table, a column, an option)
    /// rather than in the database's answer.
    pub fn is_input(&self) -> bool {
        match self {
            PushdownError::BadUrl { .. }
            | PushdownError::NotYet { .. }
            | PushdownError::BadTable { .. }
            | PushdownError::Connect { .. }
            | PushdownError::NoTable { .. }
            | PushdownError::Mapping(_)
            | PushdownError::Expression(_)
            | PushdownError::ExpressionColumn { .. }
            | PushdownError::ColumnType { .. }
            | PushdownError::ReservedName { .. }
            | PushdownError::Unsupported { .. }
            | PushdownError::SplitCustomer { .. } => true,
            // a value the rules cannot read is the table's, as a bad line is a file's
            PushdownError::BadValue { .. } => true,
            PushdownError::Query { .. } | PushdownError::Totals(_) | PushdownError::Rejects(_) => {
                false
            }
        }
    }
}

/// What the pushdown of a table will run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The engine.
    pub engine: Engine,
    /// The plan in words, in Chinese and English.
    pub plan: Label,
    /// Under full pushdown on a sharded table: each shard (`host:port`), which runs the
    /// statements on its part of the table; empty when one server runs them.
    pub shards: Vec<String>,
    /// How each field was mapped (`field←column`).
    pub columns: String,
    /// Statement 1: the row accounting.
    pub quality_sql: String,
    /// Statement 2: one row per customer (`:as_of` stands for the date when it is not
    /// given).
    pub customers_sql: String,
    /// Statement 2 when each customer's days are needed (`report`, a tier scheme, `--clv`):
    /// one row per customer and day, instead.
    pub days_sql: String,
    /// Statement 3, run only when statement 1 counts rejected rows: them, for `rejects.csv`.
    pub rejects_sql: String,
}

impl Plan {
    /// The plan and both statements as a commented SQL script.
    pub fn script(&self, source: &TableSource, as_of: Option<NaiveDate>) -> String {
        let at = match as_of {
            Some(d) => d.to_string(),
            None => {
                "the day after the last accepted line (statement 1's last_date), shown as :as_of"
                    .into()
            }
        };
        let shards = if self.shards.is_empty() {
            String::new()
        } else {
            format!(
                "-- each statement runs on each of the {} shards ({}); their rows are added up\n",
                self.shards.len(),
                self.shards.join(", ")
            )
        };
        format!(
            "-- source: {} ({})\n-- plan: {}\n{shards}-- columns: {}\n\n-- 1. row accounting (the quality report)\n{};\n\n-- 2. one row per customer, as of {at}\n{};\n\n-- 2, when each customer's days are needed (report, a tier scheme, --clv): one row per customer and day instead\n{};\n\n-- 3. only when statement 1 counts rejected rows: those rows (rejects.csv)\n{};\n",
            source.shown(),
            self.engine.name(),
            self.plan.en,
            self.columns,
            self.quality_sql,
            self.customers_sql,
            self.days_sql,
            self.rejects_sql
        )
    }
}

/// The statements a table's pushdown runs, with `as_of` when given; connects to read the
/// table's columns, runs nothing else.
pub fn plan(
    source: &TableSource,
    options: &TransactionOptions,
    as_of: Option<NaiveDate>,
) -> Result<Plan, PushdownError> {
    let mut conn = connect::connect(source)?;
    let (shape, mapped) = shape(source, conn.as_mut(), options)?;
    let route = conn.route(&shape)?;
    let run = route.statement_shape(&shape);
    let d = source.engine().dialect();
    Ok(Plan {
        engine: source.engine(),
        plan: route.layout.text(source.engine(), false),
        shards: route.shards.iter().map(|s| s.address()).collect(),
        columns: stratum_io::mapping::shown_mapping(&mapped),
        quality_sql: run.quality_sql(d, as_of),
        customers_sql: run.customers_sql(d, as_of),
        days_sql: run.days_sql(d, as_of),
        rejects_sql: run.rejects_sql(d),
    })
}

/// The table's shape: its columns, mapped as a file's header would be, and checked.
fn shape(
    source: &TableSource,
    conn: &mut dyn connect::Connection,
    options: &TransactionOptions,
) -> Result<(Shape, Vec<stratum_io::mapping::MappedColumn>), PushdownError> {
    let columns = conn.columns(source.table())?;
    if columns.is_empty() {
        return Err(PushdownError::NoTable {
            table: source.table().to_string(),
            url: source.shown_url().to_string(),
        });
    }
    let headers: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    let shown = source.shown();
    let exprs = stratum_io::row_exprs::CompiledExpressions::compile(
        Path::new(&shown),
        &headers,
        &options.expressions,
    )?;
    let computed = exprs.as_ref().is_some_and(|e| e.amount.is_some());
    let (cols, mapped) =
        transaction_columns(Path::new(&shown), &headers, &options.columns, computed)?;
    if let Some(e) = &exprs {
        exprs::check_columns(e, &columns)?;
    }
    let check = |i: usize, field: &'static str, ok: &[Kind], need: &'static str| {
        let c = &columns[i];
        if ok.contains(&c.kind) {
            Ok(())
        } else {
            Err(PushdownError::ColumnType {
                column: c.name.clone(),
                field,
                type_name: c.type_name.clone(),
                need,
            })
        }
    };
    check(
        cols.order_date,
        "order_date",
        &[Kind::Date, Kind::Timestamp],
        "a DATE or TIMESTAMP column is needed (text dates are not read in the database yet)",
    )?;
    if let Some(amount) = cols.amount {
        check(
            amount,
            "amount",
            &[Kind::Exact],
            "a DECIMAL, NUMERIC or integer column is needed: sums are exact, never floats",
        )?;
    }
    let ids = [Kind::Text, Kind::Exact, Kind::Other];
    check(
        cols.customer_id,
        "customer_id",
        &ids,
        "a text or integer column is needed",
    )?;
    if let Some(o) = cols.order_id {
        check(o, "order_id", &ids, "a text or integer column is needed")?;
    }
    // a computed amount is made a DECIMAL at four places
    let amount_scale = cols.amount.map_or(4, |a| columns[a].scale);
    let shape = Shape {
        table: source.table().to_string(),
        columns,
        customer_id: cols.customer_id,
        order_id: cols.order_id,
        order_date: cols.order_date,
        amount: cols.amount,
        keep_duplicates: options.duplicates == stratum_io::transactions::Duplicates::Keep,
        amount_scale,
        exprs,
    };
    if source.engine() == Engine::ClickHouse
        && let Some(column) = shape.clashing_column()
    {
        return Err(PushdownError::ReservedName {
            column: column.to_string(),
        });
    }
    Ok((shape, mapped))
}

/// Reads the table of `source`: the row accounting and every customer's totals, computed in
/// the database; lines dated on or after `as_of` are counted apart (by default `as_of` is the
/// day after the last accepted line, as for a file).
pub fn load(
    source: &TableSource,
    options: &TransactionOptions,
    as_of: Option<NaiveDate>,
) -> Result<(ShardedAggregator, TransactionQuality), PushdownError> {
    load_streamed(source, options, as_of, &mut |_| Ok(())).map(|(a, q, _)| (a, q))
}

/// How the rows of a pushdown came back: for benchmarks and `STRATUM_TIMINGS`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Streamed {
    /// From connecting to the row accounting's answer (the table's shape and plan included).
    pub accounting: Duration,
    /// From connecting to the first per-customer (or per-customer-and-day) row, if any came.
    pub first_row: Option<Duration>,
    /// Per-customer (or per-customer-and-day) rows received, from every shard.
    pub rows: u64,
    /// From connecting to the last row received.
    pub total: Duration,
}

impl Streamed {
    /// Rows per second from the first row to the last.
    pub fn rate(&self) -> Option<f64> {
        let span = self.total.checked_sub(self.first_row?)?.as_secs_f64();
        (span > 0.0).then(|| self.rows as f64 / span)
    }
}

/// [`load`], and how the rows came back; each rejected row (one per distinct row, as the
/// accounting counts them) goes to `on_reject`, when there are any.
pub fn load_streamed(
    source: &TableSource,
    options: &TransactionOptions,
    as_of: Option<NaiveDate>,
    on_reject: &mut dyn FnMut(&RejectRow) -> std::io::Result<()>,
) -> Result<(ShardedAggregator, TransactionQuality, Streamed), PushdownError> {
    let start = Instant::now();
    let mut conn = connect::connect(source)?;
    let (shape, mapped) = shape(source, conn.as_mut(), options)?;
    let route = conn.route(&shape)?;
    conn.begin_snapshot()?;
    let d = source.engine().dialect();
    let run = route.statement_shape(&shape);
    let quality_sql = run.quality_sql(d, as_of);
    let read_accounting = |c: &mut dyn Connection| {
        let mut first: Option<Vec<Option<String>>> = None;
        c.each_row(&quality_sql, &mut |row| {
            first = Some(row.to_vec());
            Ok(())
        })?;
        accounting(&first.unwrap_or_default(), as_of.is_some())
    };
    let parts = if route.shards.is_empty() {
        vec![read_accounting(conn.as_mut())?]
    } else {
        on_shards(&route.shards, read_accounting)?
    };
    let (counts, lines, after) = add_up(parts);
    let accounting_done = start.elapsed();
    // the rows the accounting rejected, listed only when there are some
    if counts.rejected > 0 {
        let sql = run.rejects_sql(d);
        let mut list = |c: &mut dyn Connection| {
            c.each_row(&sql, &mut |row| {
                on_reject(&rejected_row(source, &shape, row)?).map_err(PushdownError::Rejects)
            })
        };
        if route.shards.is_empty() {
            list(conn.as_mut())?;
        } else {
            // one shard after another: the rows go to one writer
            for (i, url) in route.shards.iter().enumerate() {
                list(&mut shard_connection(url, i, route.shards.len())?)?;
            }
        }
    }
    let until = as_of.or_else(|| lines.last_date.and_then(|d| d.succ_opt()));
    // each part: its aggregator, when its first row came and how many came
    let fill =
        |c: &mut dyn Connection| -> Result<(Aggregator, Option<Duration>, u64), PushdownError> {
            let (mut first, mut rows) = (None, 0u64);
            let mut came = || {
                first.get_or_insert_with(|| start.elapsed());
                rows += 1;
            };
            let mut aggregator = Aggregator::new(as_of, options.frequency);
            if options.history {
                aggregator = aggregator.keep_history();
            }
            if let Some(schedule) = options.periods {
                aggregator = aggregator.in_periods(schedule);
            }
            match until {
                // a backfill's days are held back by period, and a history is kept by day
                Some(until) if options.history || options.periods.is_some() => {
                    c.each_row(&run.days_sql(d, Some(until)), &mut |row| {
                        came();
                        let (id, day) = day_row(row)?;
                        aggregator.add_day(id, &day)?;
                        Ok(())
                    })?;
                }
                Some(until) => {
                    c.each_row(&run.customers_sql(d, Some(until)), &mut |row| {
                        came();
                        let (id, totals) = customer(row)?;
                        aggregator.add_totals(id, &totals, &[])?;
                        Ok(())
                    })?;
                }
                None => {}
            }
            Ok((aggregator, first, rows))
        };
    let parts = if route.shards.is_empty() {
        vec![fill(conn.as_mut())?]
    } else {
        // each shard's customers are its own: one aggregator each, filled side by side
        on_shards(&route.shards, fill)?
    };
    let streamed = Streamed {
        accounting: accounting_done,
        first_row: parts.iter().filter_map(|p| p.1).min(),
        rows: parts.iter().map(|p| p.2).sum(),
        total: start.elapsed(),
    };
    let mut aggregators: Vec<Aggregator> = parts.into_iter().map(|p| p.0).collect();
    if let (Some((lines_after, amount_after)), Some(first)) = (after, aggregators.first_mut()) {
        first.add_after_as_of(lines_after, amount_after);
    }
    let columns_read = {
        let mut used = vec![shape.customer_id, shape.order_date];
        used.extend(shape.amount);
        used.extend(shape.order_id);
        if let Some(e) = &shape.exprs {
            used.extend(e.columns.iter().map(|c| c.0));
        }
        used.sort_unstable();
        used.dedup();
        used.len()
    };
    let quality = TransactionQuality {
        source: SourceInfo {
            path: PathBuf::from(source.shown_url()),
            format: Format::Database,
            encoding: None,
            encoding_evidence: None,
            delimiter: None,
            delimiter_byte: None,
            sheet: None,
            title_rows: Vec::new(),
            database: Some(DatabaseInfo {
                engine: source.engine().name().to_string(),
                table: source.table().to_string(),
                plan: route.layout.code(source.engine()).to_string(),
                plan_text: route.layout.text(source.engine(), options.history),
            }),
        },
        more_sources: Vec::new(),
        columns: mapped,
        counts,
        lines,
        header_columns: shape.columns.len(),
        duplicates_rule: options.duplicates,
        columns_read,
        expressions: options.expressions.clone(),
    };
    let mut aggregator = ShardedAggregator::new(aggregators);
    // full pushdown trusts the sharding key: a customer on two shards is caught here
    if !route.shards.is_empty()
        && let Some((customer, first, second)) = aggregator.shared_customer()
    {
        return Err(PushdownError::SplitCustomer {
            customer,
            table: source.table().to_string(),
            first: first + 1,
            second: second + 1,
        });
    }
    Ok((aggregator, quality, streamed))
}

/// Runs `work` on each shard at once, each on its own connection; the results in shard order.
fn on_shards<T: Send>(
    shards: &[connect::ClickHouseUrl],
    work: impl Fn(&mut dyn Connection) -> Result<T, PushdownError> + Sync,
) -> Result<Vec<T>, PushdownError> {
    let n = shards.len();
    std::thread::scope(|scope| {
        let work = &work;
        let running: Vec<_> = shards
            .iter()
            .enumerate()
            .map(|(i, url)| {
                scope.spawn(move || {
                    let mut conn = shard_connection(url, i, n)?;
                    work(&mut conn)
                })
            })
            .collect();
        running
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// A connection to shard `i` (from 0) of `n`, named so in its errors.
fn shard_connection(
    url: &connect::ClickHouseUrl,
    i: usize,
    n: usize,
) -> Result<connect::ClickHouse, PushdownError> {
    let shown = format!(
        "clickhouse://{}/{} (shard {} of {n})",
        url.address(),
        url.database,
        i + 1
    );
    connect::clickhouse(url, &shown)
}

/// A row of the rejects statement (every column as text, then the reason) as a rejected
/// row: the table for its file, no line number (a table has none), the column at fault.
fn rejected_row(
    source: &TableSource,
    shape: &Shape,
    row: &[Option<String>],
) -> Result<RejectRow, PushdownError> {
    let n = shape.columns.len();
    let cell = |i: usize| row.get(i).cloned().flatten();
    let code = cell(n).unwrap_or_default();
    let reason =
        REASON_KINDS
            .into_iter()
            .find(|r| r.code() == code)
            .ok_or(PushdownError::BadValue {
                column: "reason",
                value: code,
                expected: "a reject reason",
            })?;
    let formula = shape.exprs.as_ref().and_then(|e| e.amount.as_ref());
    // a computed amount's fault is the empty column that made it empty, as the file engine
    // finds it, or its first column
    let amount_column = || match (formula, &shape.exprs) {
        (Some((f, _)), Some(exprs)) => f
            .empty_column(&Cells { row, exprs })
            .or_else(|| f.columns().first().map(|c| c.0))
            .unwrap_or(shape.order_date),
        _ => shape.amount.unwrap_or(shape.order_date),
    };
    let at = match reason {
        RejectReason::MissingDate | RejectReason::BadDate => shape.order_date,
        _ => amount_column(),
    };
    let value = cell(at).unwrap_or_default();
    let message = match (reason, formula) {
        (RejectReason::MissingDate, _) => "date is empty".to_string(),
        (RejectReason::MissingAmount, None) => "amount is empty".to_string(),
        (RejectReason::MissingAmount, Some((_, text))) => stratum_io::row_exprs::empty_amount(text),
        (RejectReason::BadAmount, Some((_, text))) => {
            stratum_io::row_exprs::unreadable_amount(text)
        }
        (RejectReason::BadAmount, None) => stratum_io::values::beyond_largest_amount(&value),
        _ if source.engine() == Engine::ClickHouse && value.starts_with("1970-01-01") => {
            format!("`{value}` is ClickHouse's zero date, stored for a date it could not hold")
        }
        _ => format!("`{value}` is outside the dates accepted (1900-01-01 to 2100-12-31)"),
    };
    let values: Vec<String> = (0..n).map(|i| cell(i).unwrap_or_default()).collect();
    Ok(RejectRow {
        file: source.table().to_string(),
        line: 0,
        reason,
        column: shape.columns[at].name.clone(),
        value,
        message,
        row: stratum_io::rejects::join_record(&csv::ByteRecord::from(values), b','),
    })
}

/// A rejected row's cells as the expressions read them (a number as its text says).
struct Cells<'a> {
    row: &'a [Option<String>],
    exprs: &'a stratum_io::row_exprs::CompiledExpressions,
}

impl stratum_core::scheme::Row for Cells<'_> {
    fn get(&self, column: usize) -> stratum_core::scheme::Value<'_> {
        use stratum_core::scheme::{ColumnType, Value};
        let text = self
            .row
            .get(column)
            .and_then(|v| v.as_deref())
            .map(str::trim);
        match (text, self.exprs.column_type(column)) {
            (None | Some(""), _) => Value::Null,
            (Some(t), Some(ColumnType::Number)) => t.parse().map_or(Value::Null, Value::Number),
            (Some(t), _) => Value::Text(t),
        }
    }
}

/// The reasons of [`REASONS`], in its order.
const REASON_KINDS: [RejectReason; REASONS.len()] = [
    RejectReason::MissingDate,
    RejectReason::BadDate,
    RejectReason::MissingAmount,
    RejectReason::BadAmount,
];

/// The row accounting of several shards, added up.
fn add_up(parts: Vec<Accounting>) -> Accounting {
    let mut total: Accounting = (RowCounts::default(), LineStats::default(), None);
    for (counts, lines, after) in parts {
        total.0.merge(counts);
        total.1.merge(&lines);
        total.2 = match (total.2, after) {
            (Some((n, a)), Some((m, b))) => Some((n + m, a + b)),
            (x, y) => x.or(y),
        };
    }
    total
}

/// One customer's id and one of its days from the per-day statement's row.
fn day_row(row: &[Option<String>]) -> Result<(&str, DayLines), PushdownError> {
    let cell = |i: usize| row.get(i).and_then(|v| v.as_deref());
    let name = |i: usize| DAY_COLUMNS[i];
    let id = cell(0).ok_or(PushdownError::BadValue {
        column: name(0),
        value: "NULL".into(),
        expected: "a customer id",
    })?;
    let date = date(name(1), cell(1))?.ok_or(PushdownError::BadValue {
        column: name(1),
        value: "NULL".into(),
        expected: "a date",
    })?;
    Ok((
        id,
        DayLines {
            date,
            gross: sum(name(2), cell(2))?,
            refunds: sum(name(3), cell(3))?,
            refund_lines: count(name(4), cell(4))?,
            zero_lines: count(name(5), cell(5))?,
            purchase_lines: count(name(6), cell(6))?,
            new_orders: count(name(7), cell(7))?,
        },
    ))
}

/// The row accounting, the accepted lines' statistics and, with an explicit `as_of`, the
/// lines dated on or after it and their net amount.
type Accounting = (RowCounts, LineStats, Option<(u64, Money)>);

/// The row accounting from the quality statement's row.
fn accounting(row: &[Option<String>], with_after: bool) -> Result<Accounting, PushdownError> {
    let cell = |i: usize| row.get(i).and_then(|v| v.as_deref());
    let count = |i: usize| {
        count(
            QUALITY_COLUMNS.get(i).copied().unwrap_or("after_as_of"),
            cell(i),
        )
    };
    let sum = |i: usize| {
        sum(
            QUALITY_COLUMNS.get(i).copied().unwrap_or("after_as_of"),
            cell(i),
        )
    };
    let date = |i: usize| date(QUALITY_COLUMNS[i], cell(i));
    let mut counts = RowCounts {
        rows_read: count(0)?,
        duplicates: count(1)?,
        duplicate_amount: sum(2)?,
        anonymous: count(3)?,
        anonymous_amount: sum(4)?,
        rejected: count(5)?,
        rejected_amount: sum(6)?,
        accepted: count(11)?,
        ..RowCounts::default()
    };
    for (k, reason) in REASON_KINDS.into_iter().enumerate() {
        let n = count(7 + k)?;
        if n > 0 {
            counts.rejected_by_reason.insert(reason, n);
        }
    }
    let lines = LineStats {
        purchase_lines: count(12)?,
        zero_amount_lines: count(13)?,
        refund_lines: count(14)?,
        purchase_amount: sum(15)?,
        refund_amount: sum(16)?,
        lines_without_order_id: count(17)?,
        first_date: date(18)?,
        last_date: date(19)?,
    };
    counts.filtered = count(20)?;
    counts.filtered_amount = sum(21)?;
    counts.filtered_without_amount = count(22)?;
    let after = if with_after {
        Some((count(23)?, sum(24)?))
    } else {
        None
    };
    Ok((counts, lines, after))
}

/// One customer's id and totals from the per-customer statement's row.
fn customer(row: &[Option<String>]) -> Result<(&str, CustomerTotals), PushdownError> {
    let cell = |i: usize| row.get(i).and_then(|v| v.as_deref());
    let name = |i: usize| CUSTOMER_COLUMNS[i];
    let id = cell(0).ok_or(PushdownError::BadValue {
        column: name(0),
        value: "NULL".into(),
        expected: "a customer id",
    })?;
    let first_line = date(name(9), cell(9))?;
    let last_line = date(name(10), cell(10))?;
    Ok((
        id,
        CustomerTotals {
            first_purchase: date(name(1), cell(1))?,
            last_purchase: date(name(2), cell(2))?,
            orders: count(name(3), cell(3))?,
            purchase_days: count(name(4), cell(4))?,
            gross: sum(name(5), cell(5))?,
            refunds: sum(name(6), cell(6))?,
            refund_lines: count(name(7), cell(7))?,
            zero_lines: count(name(8), cell(8))?,
            dates: first_line.zip(last_line),
        },
    ))
}

/// A count (NULL, the SUM of no rows, is 0).
fn count(column: &'static str, value: Option<&str>) -> Result<u64, PushdownError> {
    let Some(v) = value else { return Ok(0) };
    v.trim().parse().map_err(|_| PushdownError::BadValue {
        column,
        value: v.to_string(),
        expected: "a count",
    })
}

/// A date as `YYYY-MM-DD` (NULL: none).
fn date(column: &'static str, value: Option<&str>) -> Result<Option<NaiveDate>, PushdownError> {
    let Some(v) = value else { return Ok(None) };
    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
        .map(Some)
        .map_err(|_| PushdownError::BadValue {
            column,
            value: v.to_string(),
            expected: "a date",
        })
}

/// An exact decimal sum (NULL, the SUM of no rows, is 0), to Stratum's four decimals; a
/// non-zero fifth decimal is refused rather than rounded.
fn sum(column: &'static str, value: Option<&str>) -> Result<Money, PushdownError> {
    let Some(v) = value else {
        return Ok(Money::ZERO);
    };
    parse_decimal(v.trim()).ok_or_else(|| PushdownError::BadValue {
        column,
        value: v.to_string(),
        expected: "an exact amount with at most four decimals",
    })
}

/// `-123.4500` as money; `None` for anything but an optional sign, digits and an optional
/// fraction whose digits past the fourth are zeros.
fn parse_decimal(text: &str) -> Option<Money> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() && frac.is_empty() || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    if frac.len() > 4 && frac.bytes().skip(4).any(|b| b != b'0') {
        return None;
    }
    let scale = i128::from(Money::SCALE);
    let mut units: i128 = 0;
    for b in int.bytes() {
        units = units.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    units = units.checked_mul(scale)?;
    let mut place = scale / 10;
    for b in frac.bytes().take(4) {
        units += i128::from(b - b'0') * place;
        place /= 10;
    }
    Some(Money::from_units_i128(if negative {
        -units
    } else {
        units
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_read_exactly() {
        let m = |t: &str| parse_decimal(t).map(Money::units);
        assert_eq!(m("123.45"), Some(1_234_500));
        assert_eq!(m("-0.5"), Some(-5_000));
        assert_eq!(m("7"), Some(70_000));
        assert_eq!(m("1.230000"), Some(12_300));
        assert_eq!(m("1.23456"), None);
        assert_eq!(m("12e3"), None);
        assert_eq!(m("-"), None);
        assert_eq!(m(""), None);
        assert_eq!(m(".5"), Some(5_000));
        // far beyond one line's limit: a sum of many
        assert_eq!(
            m("123456789012345678.9"),
            Some(1_234_567_890_123_456_789_000)
        );
    }
}
