//! Writing the demo data set.
//!
//! [`write_demo`] streams the synthetic data set of
//! [`stratum_core::synth`] into UTF-8 CSV files (no BOM):
//!
//! * `customers.csv`: `customer_id,name,industry,region,size,signup_date,account_manager`;
//! * `interactions.csv`: `customer_id,date,type,satisfaction,nps` (visits, calls, tickets,
//!   complaints, surveys);
//! * `opportunities.csv`: `opportunity_id,customer_id,owner,stage,stage_date,amount,status,
//!   lost_reason,closed`, one row per stage entered (the amount, status and close on the last);
//! * `transactions.csv`: `customer_id,order_id,order_date,amount,channel,category`, dates as
//!   `YYYY-MM-DD`, amounts in plain decimal notation (`1234.50`, `-200.00`).
//!
//! The transaction lines are formatted by hand into a large reused buffer, so ten million lines
//! take a few seconds and memory stays proportional to the number of customers.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use stratum_core::Money;
use stratum_core::synth::{CheckedDemoParams, DemoCustomer, DemoLine};
use thiserror::Error;

/// File name of the transaction lines.
pub const TRANSACTIONS_FILE: &str = "transactions.csv";
/// File name of the customer master.
pub const CUSTOMERS_FILE: &str = "customers.csv";
/// File name of the interactions.
pub const INTERACTIONS_FILE: &str = "interactions.csv";
/// Header of `interactions.csv`.
pub const INTERACTIONS_HEADER: [&str; 5] = ["customer_id", "date", "type", "satisfaction", "nps"];
/// File name of the opportunities.
pub const OPPORTUNITIES_FILE: &str = "opportunities.csv";
/// Header of `opportunities.csv`.
pub const OPPORTUNITIES_HEADER: [&str; 9] = [
    "opportunity_id",
    "customer_id",
    "owner",
    "stage",
    "stage_date",
    "amount",
    "status",
    "lost_reason",
    "closed",
];
/// Header of `transactions.csv`.
pub const TRANSACTIONS_HEADER: [&str; 6] = [
    "customer_id",
    "order_id",
    "order_date",
    "amount",
    "channel",
    "category",
];
/// Header of `customers.csv`.
pub const CUSTOMERS_HEADER: [&str; 7] = [
    "customer_id",
    "name",
    "industry",
    "region",
    "size",
    "signup_date",
    "account_manager",
];
/// The progress callback of [`write_demo`] is called every this many lines.
pub const PROGRESS_EVERY: u64 = 100_000;

/// Size of the output buffer, flushed to the file whenever it fills up.
const BUFFER_BYTES: usize = 1 << 20;

/// What [`write_demo`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    /// Customers written to `customers.csv`.
    pub customers: usize,
    /// Transaction lines written to `transactions.csv` (returns and duplicate rows included).
    pub lines: u64,
    /// Distinct orders among the lines.
    pub orders: u64,
    /// Path of `customers.csv`.
    pub path_customers: PathBuf,
    /// Path of `transactions.csv`.
    pub path_transactions: PathBuf,
    /// Path of `interactions.csv`.
    pub path_interactions: PathBuf,
    /// Interactions written.
    pub interactions: usize,
    /// Path of `opportunities.csv`.
    pub path_opportunities: PathBuf,
    /// Opportunities written.
    pub opportunities: usize,
    /// Size of `transactions.csv` in bytes.
    pub transactions_bytes: u64,
}

/// A failure to write the demo data set.
#[derive(Debug, Error)]
pub enum DemoWriteError {
    /// The output directory could not be created.
    #[error("cannot create directory `{path}`: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// An output file could not be created or written.
    #[error("cannot write `{path}`: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// Writes `dir/customers.csv` and `dir/transactions.csv` (creating `dir` if needed, replacing
/// existing files) and returns what was written. `progress` is called with the number of lines
/// written so far every [`PROGRESS_EVERY`] lines and once at the end.
pub fn write_demo(
    params: &CheckedDemoParams,
    dir: &Path,
    mut progress: impl FnMut(u64),
) -> Result<DemoSummary, DemoWriteError> {
    fs::create_dir_all(dir).map_err(|source| DemoWriteError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let customers = params.customers();

    let path_customers = dir.join(CUSTOMERS_FILE);
    write_customers(&customers, &path_customers).map_err(|source| DemoWriteError::Write {
        path: path_customers.clone(),
        source,
    })?;

    let path_transactions = dir.join(TRANSACTIONS_FILE);
    let written = write_transactions(params, &customers, &path_transactions, &mut progress)
        .map_err(|source| DemoWriteError::Write {
            path: path_transactions.clone(),
            source,
        })?;
    if !written.lines.is_multiple_of(PROGRESS_EVERY) {
        progress(written.lines);
    }

    let path_interactions = dir.join(INTERACTIONS_FILE);
    let interactions = params.interactions(&customers);
    write_interactions(&customers, &interactions, &path_interactions).map_err(|source| {
        DemoWriteError::Write {
            path: path_interactions.clone(),
            source,
        }
    })?;

    let path_opportunities = dir.join(OPPORTUNITIES_FILE);
    let opportunities = params.opportunities(&customers);
    write_opportunities(&customers, &opportunities, &path_opportunities).map_err(|source| {
        DemoWriteError::Write {
            path: path_opportunities.clone(),
            source,
        }
    })?;

    Ok(DemoSummary {
        customers: customers.len(),
        lines: written.lines,
        orders: written.orders,
        path_customers,
        path_transactions,
        path_interactions,
        interactions: interactions.len(),
        path_opportunities,
        opportunities: opportunities.len(),
        transactions_bytes: written.bytes,
    })
}

fn write_interactions(
    customers: &[DemoCustomer],
    interactions: &[stratum_core::synth::DemoInteraction],
    path: &Path,
) -> io::Result<()> {
    let file = File::create(path)?;
    let mut out = csv::Writer::from_writer(BufWriter::with_capacity(BUFFER_BYTES, file));
    out.write_record(INTERACTIONS_HEADER)?;
    for x in interactions {
        let score = |v: Option<u8>| v.map(|v| v.to_string()).unwrap_or_default();
        out.write_record([
            customers[x.customer as usize].id.as_str(),
            &x.date.to_string(),
            x.kind,
            &score(x.satisfaction),
            &score(x.nps),
        ])?;
    }
    let buffered = out.into_inner().map_err(|e| e.into_error())?;
    buffered.into_inner().map_err(|e| e.into_error())?;
    Ok(())
}

fn write_opportunities(
    customers: &[DemoCustomer],
    opportunities: &[stratum_core::synth::DemoOpportunity],
    path: &Path,
) -> io::Result<()> {
    use stratum_core::synth::DEMO_STAGES;
    let file = File::create(path)?;
    let mut out = csv::Writer::from_writer(BufWriter::with_capacity(BUFFER_BYTES, file));
    out.write_record(OPPORTUNITIES_HEADER)?;
    for o in opportunities {
        let customer = match o.customer {
            Some(i) => customers[i as usize].id.as_str(),
            None => o.prospect.as_str(),
        };
        for (k, (stage, day)) in o.stages.iter().enumerate() {
            let last = k + 1 == o.stages.len();
            let amount = if last {
                o.amount.to_string()
            } else {
                String::new()
            };
            let closed = match (last, o.closed) {
                (true, Some(d)) => d.to_string(),
                _ => String::new(),
            };
            out.write_record([
                o.id.as_str(),
                customer,
                o.owner,
                DEMO_STAGES[*stage],
                &day.to_string(),
                &amount,
                if last { o.status } else { "" },
                if last { o.lost_reason } else { "" },
                &closed,
            ])?;
        }
    }
    let buffered = out.into_inner().map_err(|e| e.into_error())?;
    buffered.into_inner().map_err(|e| e.into_error())?;
    Ok(())
}

fn write_customers(customers: &[DemoCustomer], path: &Path) -> io::Result<()> {
    let file = File::create(path)?;
    let mut out = csv::Writer::from_writer(BufWriter::with_capacity(BUFFER_BYTES, file));
    out.write_record(CUSTOMERS_HEADER)?;
    let mut date = DateCache::default();
    for c in customers {
        out.write_record([
            c.id.as_bytes(),
            c.name.as_bytes(),
            c.industry.as_bytes(),
            c.region.as_bytes(),
            c.size.as_bytes(),
            date.get(c.signup_date),
            c.account_manager.as_bytes(),
        ])?;
    }
    let buffered = out.into_inner().map_err(|e| e.into_error())?;
    buffered.into_inner().map_err(|e| e.into_error())?;
    Ok(())
}

struct Written {
    lines: u64,
    orders: u64,
    bytes: u64,
}

fn write_transactions(
    params: &CheckedDemoParams,
    customers: &[DemoCustomer],
    path: &Path,
    progress: &mut impl FnMut(u64),
) -> io::Result<Written> {
    let mut file = File::create(path)?;
    let mut buf: Vec<u8> = Vec::with_capacity(BUFFER_BYTES + 1024);
    let mut written = Written {
        lines: 0,
        orders: 0,
        bytes: 0,
    };
    for (i, field) in TRANSACTIONS_HEADER.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        push_field(&mut buf, field);
    }
    buf.push(b'\n');

    // Customer ids as CSV fields, each followed by `,SO`, in one contiguous block: a line then
    // copies one short slice instead of chasing two pointers.
    let mut ids: Vec<u8> = Vec::new();
    let mut id_ends: Vec<usize> = Vec::with_capacity(customers.len() + 1);
    id_ends.push(0);
    for customer in customers {
        push_field(&mut ids, &customer.id);
        ids.extend_from_slice(b",SO");
        id_ends.push(ids.len());
    }

    let order_width = params.order_id_width();
    let mut date = DateCache::default();
    params.try_for_each_line(customers, |line: &DemoLine| {
        let c = line.customer as usize;
        buf.extend_from_slice(&ids[id_ends[c]..id_ends[c + 1]]);
        push_padded(&mut buf, line.order_id, order_width);
        buf.push(b',');
        buf.extend_from_slice(date.get(line.order_date));
        buf.push(b',');
        push_money(&mut buf, line.amount);
        buf.push(b',');
        push_field(&mut buf, line.channel);
        buf.push(b',');
        push_field(&mut buf, line.category);
        buf.push(b'\n');

        written.orders = written.orders.max(line.order_id);
        written.lines += 1;
        if buf.len() >= BUFFER_BYTES {
            file.write_all(&buf)?;
            written.bytes += buf.len() as u64;
            buf.clear();
        }
        if written.lines.is_multiple_of(PROGRESS_EVERY) {
            progress(written.lines);
        }
        Ok::<(), io::Error>(())
    })?;
    file.write_all(&buf)?;
    written.bytes += buf.len() as u64;
    file.flush()?;
    Ok(written)
}

/// Appends a CSV field, quoted only when it contains a comma, quote or line break (as every
/// CSV file Stratum writes).
fn push_field(buf: &mut Vec<u8>, field: &str) {
    crate::cells::push_field(buf, field.as_bytes());
}

/// Appends `n` in decimal, left-padded with zeros to `width` digits.
fn push_padded(buf: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let len = digits.len() - i;
    for _ in len..width {
        buf.push(b'0');
    }
    buf.extend_from_slice(&digits[i..]);
}

/// Appends `amount` exactly as its `Display` does: two to four decimals, no separators.
fn push_money(buf: &mut Vec<u8>, amount: Money) {
    let units = amount.units();
    let Ok(abs) = u64::try_from(units.unsigned_abs()) else {
        buf.extend_from_slice(amount.to_string().as_bytes());
        return;
    };
    if units < 0 {
        buf.push(b'-');
    }
    let scale = Money::SCALE as u64;
    push_padded(buf, abs / scale, 1);
    buf.push(b'.');
    let mut frac = abs % scale;
    let mut width = 4;
    while width > 2 && frac.is_multiple_of(10) {
        frac /= 10;
        width -= 1;
    }
    push_padded(buf, frac, width);
}

/// Formats dates as `YYYY-MM-DD`, remembering the last one (lines come in date order).
#[derive(Default)]
struct DateCache {
    date: Option<NaiveDate>,
    text: Vec<u8>,
}

impl DateCache {
    fn get(&mut self, date: NaiveDate) -> &[u8] {
        if self.date != Some(date) {
            self.text.clear();
            if (0..=9999).contains(&date.year()) {
                push_padded(&mut self.text, date.year() as u64, 4);
                self.text.push(b'-');
                push_padded(&mut self.text, u64::from(date.month()), 2);
                self.text.push(b'-');
                push_padded(&mut self.text, u64::from(date.day()), 2);
            } else {
                self.text
                    .extend_from_slice(date.format("%Y-%m-%d").to_string().as_bytes());
            }
            self.date = Some(date);
        }
        &self.text
    }
}

/// File name of the Parquet copy of the transactions.
pub const TRANSACTIONS_PARQUET_FILE: &str = "transactions.parquet";

/// Lines per Parquet row group.
const PARQUET_ROW_GROUP: usize = 1 << 20;

/// The Parquet schema of the demo transactions: strings as UTF-8, the date as DATE and the
/// amount as DECIMAL(18,2), as ERP and warehouse exports type them.
const PARQUET_SCHEMA: &str = "
message transactions {
  REQUIRED BYTE_ARRAY customer_id (UTF8);
  REQUIRED BYTE_ARRAY order_id (UTF8);
  REQUIRED INT32 order_date (DATE);
  REQUIRED INT64 amount (DECIMAL(18,2));
  REQUIRED BYTE_ARRAY channel (UTF8);
  REQUIRED BYTE_ARRAY category (UTF8);
}";

/// Writes the same transaction lines as [`write_demo`] (same params, same order, duplicate
/// rows and returns included) to `dir/transactions.parquet`, snappy-compressed, in row groups
/// of 1,048,576 lines. `progress` is called with the lines written after each row group.
pub fn write_demo_parquet(
    params: &CheckedDemoParams,
    dir: &Path,
    mut progress: impl FnMut(u64),
) -> Result<PathBuf, DemoWriteError> {
    use std::sync::Arc;

    use parquet::basic::Compression;
    use parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    fs::create_dir_all(dir).map_err(|source| DemoWriteError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(TRANSACTIONS_PARQUET_FILE);
    let err = |e: parquet::errors::ParquetError| DemoWriteError::Write {
        path: path.clone(),
        source: io::Error::other(e.to_string()),
    };
    let schema = Arc::new(parse_message_type(PARQUET_SCHEMA).map_err(err)?);
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    let file = File::create(&path).map_err(|source| DemoWriteError::Write {
        path: path.clone(),
        source,
    })?;
    let mut writer = SerializedFileWriter::new(file, schema, props).map_err(err)?;
    let customers = params.customers();
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();

    #[derive(Default)]
    struct Group {
        customer: Vec<ByteArray>,
        order: Vec<ByteArray>,
        date: Vec<i32>,
        amount: Vec<i64>,
        channel: Vec<ByteArray>,
        category: Vec<ByteArray>,
    }
    let mut group = Group::default();
    let mut written = 0u64;
    let flush = |group: &mut Group,
                 writer: &mut SerializedFileWriter<File>|
     -> Result<(), parquet::errors::ParquetError> {
        if group.date.is_empty() {
            return Ok(());
        }
        let mut rg = writer.next_row_group()?;
        let mut i = 0;
        while let Some(mut col) = rg.next_column()? {
            match i {
                0 | 1 | 4 | 5 => {
                    let values = match i {
                        0 => &group.customer,
                        1 => &group.order,
                        4 => &group.channel,
                        _ => &group.category,
                    };
                    col.typed::<ByteArrayType>()
                        .write_batch(values, None, None)?;
                }
                2 => {
                    col.typed::<Int32Type>()
                        .write_batch(&group.date, None, None)?;
                }
                _ => {
                    col.typed::<Int64Type>()
                        .write_batch(&group.amount, None, None)?;
                }
            }
            col.close()?;
            i += 1;
        }
        rg.close()?;
        *group = Group::default();
        Ok(())
    };
    let mut failed = None;
    params.for_each_line(&customers, |l| {
        if failed.is_some() {
            return;
        }
        group
            .customer
            .push(ByteArray::from(customers[l.customer as usize].id.as_str()));
        group
            .order
            .push(ByteArray::from(params.order_id(l.order_id).as_str()));
        group.date.push((l.order_date - epoch).num_days() as i32);
        // DECIMAL(18,2): whole cents (the demo amounts have two decimals)
        // (one generated line's amount, far inside an i64 count of cents)
        let cents = l.amount.units() / i128::from(Money::SCALE / 100);
        group.amount.push(i64::try_from(cents).unwrap_or(i64::MAX));
        group.channel.push(ByteArray::from(l.channel));
        group.category.push(ByteArray::from(l.category));
        if group.date.len() == PARQUET_ROW_GROUP {
            written += group.date.len() as u64;
            if let Err(e) = flush(&mut group, &mut writer) {
                failed = Some(e);
            }
            progress(written);
        }
    });
    if let Some(e) = failed {
        return Err(err(e));
    }
    written += group.date.len() as u64;
    flush(&mut group, &mut writer).map_err(err)?;
    writer.close().map_err(err)?;
    progress(written);
    Ok(path)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use stratum_core::synth::DemoParams;

    use super::*;

    fn params(customers: usize, transactions: u64, seed: u64) -> CheckedDemoParams {
        DemoParams::new()
            .customers(customers)
            .transactions(transactions)
            .seed(seed)
            .check()
            .expect("valid params")
    }

    #[test]
    fn written_files_read_back_with_the_documented_headers_and_counts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("nested").join("demo");
        let p = params(300, 7_000, 42);
        let summary = write_demo(&p, &out, |_| {}).expect("written");
        assert_eq!(summary.customers, 300);
        assert_eq!(summary.lines, 7_000);
        assert_eq!(summary.path_transactions, out.join("transactions.csv"));
        assert_eq!(summary.path_customers, out.join("customers.csv"));
        let bytes = fs::read(&summary.path_transactions).expect("read");
        assert_eq!(summary.transactions_bytes, bytes.len() as u64);
        assert!(bytes.starts_with(b"customer_id,order_id,"), "no BOM");

        let mut reader = csv::Reader::from_path(&summary.path_transactions).expect("open");
        assert_eq!(
            reader.headers().expect("header"),
            &csv::StringRecord::from(TRANSACTIONS_HEADER.to_vec())
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
        assert_eq!(rows.len(), 7_000);
        let mut orders: Vec<&str> = Vec::new();
        for row in &rows {
            assert_eq!(row.len(), 6);
            assert!(row[0].starts_with('C') && row[0].len() == 4, "{row:?}");
            assert!(row[1].starts_with("SO") && row[1].len() == 6, "{row:?}");
            NaiveDate::parse_from_str(&row[2], "%Y-%m-%d").expect("date");
            let amount: f64 = row[3].parse().expect("amount");
            assert!(amount != 0.0);
            let decimals = row[3].split('.').nth(1).expect("decimals");
            assert_eq!(decimals.len(), 2);
            orders.push(&row[1]);
        }
        orders.sort_unstable();
        orders.dedup();
        assert_eq!(orders.len() as u64, summary.orders);
        assert!(rows.iter().any(|r| r[3].starts_with('-')));

        let mut reader = csv::Reader::from_path(&summary.path_customers).expect("open");
        assert_eq!(
            reader.headers().expect("header"),
            &csv::StringRecord::from(CUSTOMERS_HEADER.to_vec())
        );
        let customers: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
        assert_eq!(customers.len(), 300);
        assert_eq!(&customers[0][0], "C001");
        assert!(customers[0][1].ends_with("有限公司"));
        let ids: Vec<&str> = customers.iter().map(|c| &c[0]).collect();
        assert!(rows.iter().all(|r| ids.binary_search(&&r[0]).is_ok()));
    }

    #[test]
    fn the_same_seed_writes_identical_files_and_another_seed_different_ones() {
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, seed: u64| {
            let out = dir.path().join(name);
            write_demo(&params(100, 3_000, seed), &out, |_| {}).expect("written");
            (
                fs::read(out.join(TRANSACTIONS_FILE)).expect("read"),
                fs::read(out.join(CUSTOMERS_FILE)).expect("read"),
            )
        };
        let a = write("a", 5);
        let b = write("b", 5);
        let c = write("c", 6);
        assert_eq!(a, b);
        assert_ne!(a.0, c.0);
        assert_ne!(a.1, c.1);
    }

    #[test]
    fn duplicate_rows_are_written_byte_identical() {
        let dir = tempfile::tempdir().expect("temp dir");
        let summary = write_demo(&params(200, 20_000, 1), dir.path(), |_| {}).expect("written");
        let text = fs::read_to_string(summary.path_transactions).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        let duplicates = lines.windows(2).filter(|w| w[0] == w[1]).count();
        assert!((20..=100).contains(&duplicates), "{duplicates}");
    }

    #[test]
    fn progress_is_reported_every_hundred_thousand_lines_and_at_the_end() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut calls = Vec::new();
        write_demo(&params(1_000, 250_000, 3), dir.path(), |n| calls.push(n)).expect("ok");
        assert_eq!(calls, vec![100_000, 200_000, 250_000]);
        let mut calls = Vec::new();
        write_demo(&params(1_000, 200_000, 3), dir.path(), |n| calls.push(n)).expect("ok");
        assert_eq!(calls, vec![100_000, 200_000]);
    }

    #[test]
    fn an_unwritable_directory_is_reported_with_its_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("occupied");
        fs::write(&file, "x").expect("write");
        let err = write_demo(&params(5, 10, 1), &file, |_| {}).expect_err("not a directory");
        assert!(matches!(err, DemoWriteError::CreateDir { .. }));
        let message = err.to_string();
        assert!(
            message.starts_with("cannot create directory `"),
            "{message}"
        );
        assert!(message.contains("occupied"), "{message}");
    }

    #[test]
    fn hand_formatting_matches_display() {
        for units in [
            0,
            1,
            5,
            -5,
            100,
            1_250,
            12_345_000,
            -2_000_000,
            99_999_999,
            i64::MAX,
            i64::MIN + 1,
        ] {
            let mut buf = Vec::new();
            push_money(&mut buf, Money::from_units(units));
            let expected = Money::from_units(units).to_string();
            assert_eq!(String::from_utf8(buf).expect("utf8"), expected);
        }
        let p = params(10, 123_456, 1);
        for id in [1, 42, 99_999, 123_456] {
            let mut buf = b"SO".to_vec();
            push_padded(&mut buf, id, p.order_id_width());
            assert_eq!(String::from_utf8(buf).expect("utf8"), p.order_id(id));
        }
        let mut cache = DateCache::default();
        for date in [
            NaiveDate::from_ymd_opt(2025, 1, 9).expect("date"),
            NaiveDate::from_ymd_opt(999, 12, 31).expect("date"),
            NaiveDate::from_ymd_opt(-5, 3, 1).expect("date"),
            NaiveDate::from_ymd_opt(12345, 3, 1).expect("date"),
        ] {
            let text = String::from_utf8(cache.get(date).to_vec()).expect("utf8");
            assert_eq!(text, date.format("%Y-%m-%d").to_string());
        }
    }

    #[test]
    fn fields_with_commas_or_quotes_are_quoted() {
        let mut buf = Vec::new();
        push_field(&mut buf, "a,b\"c");
        assert_eq!(buf, b"\"a,b\"\"c\"");
        buf.clear();
        push_field(&mut buf, "华东");
        assert_eq!(buf, "华东".as_bytes());
    }

    /// Timing: `cargo test --release -p stratum-io demo -- --ignored --nocapture`.
    #[test]
    #[ignore = "writes 10 million lines (about 550 MB)"]
    fn ten_million_lines_are_written_quickly() {
        let dir = tempfile::tempdir().expect("temp dir");
        let started = Instant::now();
        let p = params(2_000, 10_000_000, 42);
        let summary = write_demo(&p, dir.path(), |_| {}).expect("written");
        let elapsed = started.elapsed();
        assert_eq!(summary.lines, 10_000_000);
        println!(
            "wrote {} lines ({} orders, {:.1} MB) in {:.2} s",
            summary.lines,
            summary.orders,
            summary.transactions_bytes as f64 / 1e6,
            elapsed.as_secs_f64()
        );
        let started = Instant::now();
        let p = params(200_000, 10_000_000, 42);
        let summary = write_demo(&p, dir.path(), |_| {}).expect("written");
        println!(
            "200,000 customers: wrote {} lines ({:.1} MB) in {:.2} s",
            summary.lines,
            summary.transactions_bytes as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
    }
}
