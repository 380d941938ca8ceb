//! Parity: the same transactions, read from a file by the file engine and pushed down to a real
//! database as SQL, give the same features for every customer and the same row accounting.
//! PostgreSQL runs when `STRATUM_TEST_DATABASE_URL` is set, the MySQL protocol (MariaDB here)
//! when `STRATUM_TEST_MYSQL_URL` is, and ClickHouse when `STRATUM_TEST_CLICKHOUSE_URL` is: a
//! table on one server, and `Distributed` tables over the three shards of the cluster `stratum`
//! that `.ci/clickhouse-cluster` starts, sharded by customer id and by `rand()`. `.ci/run` sets
//! all three.

use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;
use stratum_core::synth::DemoParams;
use stratum_core::{Features, FrequencyBasis, PeriodSchedule};
use stratum_io::demo::write_demo;
use stratum_io::rejects::RejectReason;
use stratum_io::rejects::RejectsWriter;
use stratum_io::transactions::{
    Duplicates, TransactionOptions, TransactionQuality, load_transactions,
};
use stratum_pushdown::{PushdownError, TableSource, load, load_streamed, plan};

const HEADER: &str = "customer_id,order_id,order_date,amount,channel,category";

/// Every case the rules have to agree on, in shuffled date order.
const ADVERSARIAL: &str = "\
C001,O1,2024-03-05,100.00,web,a
C001,O1,2024-03-05,100.00,web,a
C001,O1,2024-03-04,50.00,web,b
C007,O20,2024-01-02,5.00,web,a
C007,O20,2023-12-30,6.00,web,a
 C001 ,O2,2024-05-01,20.00,web,a
c001,O3,2024-05-02,30.00,web,a
\u{3000}C002\u{3000},O4,2024-01-10,80.00,shop,a
C002,O4,2024-01-11,5.00,shop,a
C002,,2024-02-01,7.50,shop,a
C002,,2024-02-01,7.50,shop,a
C002,,2024-02-02,7.50,shop,a
C002, ,2024-02-03,1.00,shop,a
C003,O5,2024-06-01,-40.00,web,a
C003,O6,2024-06-02,0.00,web,a
C004,O7,2024-07-01,0.00,web,a
C005,O8,2024-08-01,60.00,web,a
C005,O8,2024-08-01,60.00,web ,a
C005,O9,2024-12-30,25.00,web,a
C005,O10,2025-01-15,45.00,web,a
,O11,2024-04-01,12.00,shop,a
,O11,2024-04-01,12.00,shop,a
C006,O12,,10.00,web,a
C006,O12,,10.00,web,a
C006,O13,1899-12-31,11.00,web,a
C006,O14,2024-02-02,,web,a
C006,O15,2024-02-02,200000000000.00,web,a
C007,O16,2024-09-09,15.00,web,a
C007,O17,2024-09-10,-15.00,web,a
\tC008,O18,2024-10-10,33.00,web,a
C009,O19,2025-02-01,9.00,web,a
C010,O21,2024-05-05,0.00001,web,a
C010,O22,2024-05-06,10.123456,web,a
";

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn write_adversarial(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("adversarial.csv");
    let mut f = std::fs::File::create(&path).expect("file");
    writeln!(f, "{HEADER}").expect("write");
    f.write_all(ADVERSARIAL.as_bytes()).expect("write");
    path
}

fn write_demo_file(dir: &Path) -> std::path::PathBuf {
    let params = DemoParams::new()
        .customers(400)
        .transactions(20_000)
        .seed(7)
        .check()
        .expect("demo params");
    write_demo(&params, dir, |_| {}).expect("demo files");
    dir.join("transactions.csv")
}

fn options(frequency: FrequencyBasis, duplicates: Duplicates) -> TransactionOptions {
    TransactionOptions {
        frequency,
        duplicates,
        ..TransactionOptions::default()
    }
}

/// With each customer's days (a tier scheme's windows, lifetime value).
fn with_history(o: TransactionOptions) -> TransactionOptions {
    TransactionOptions { history: true, ..o }
}

/// The file engine's features and accounting.
fn in_process(
    path: &Path,
    options: &TransactionOptions,
    as_of: Option<NaiveDate>,
) -> (Features, TransactionQuality) {
    let mut rejects = RejectsWriter::new(Vec::new()).expect("rejects");
    let (agg, quality) =
        load_transactions(path, options, as_of, &mut rejects, &mut |_, _| {}).expect("load file");
    let at = as_of.or(agg.default_as_of()).expect("an as-of date");
    (agg.finish(at), quality)
}

/// The pushed-down features and accounting.
fn pushed(
    source: &TableSource,
    options: &TransactionOptions,
    as_of: Option<NaiveDate>,
) -> (Features, TransactionQuality) {
    let (agg, quality) = load(source, options, as_of).expect("pushdown");
    let at = as_of.or(agg.default_as_of()).expect("an as-of date");
    (agg.finish(at), quality)
}

/// Every period end of a backfill (quarters from 2024-01-01 to the day after the last line),
/// from the file engine and from the table: the features and the row accounting.
fn assert_periods_parity(
    what: &str,
    path: &Path,
    source: &TableSource,
    options: &TransactionOptions,
) {
    let schedule = PeriodSchedule::new(NaiveDate::from_ymd_opt(2024, 1, 1).expect("date"), 3)
        .expect("schedule");
    let options = TransactionOptions {
        periods: Some(schedule),
        ..options.clone()
    };
    let mut rejects = RejectsWriter::new(Vec::new()).expect("rejects");
    let (mut file, fq) =
        load_transactions(path, &options, None, &mut rejects, &mut |_, _| {}).expect("load file");
    let (mut db, dq) = load(source, &options, None).expect("pushdown");
    assert_eq!(fq.counts, dq.counts, "{what}: row accounting");
    assert_eq!(fq.lines, dq.lines, "{what}: line statistics");
    let last = file.default_as_of().expect("a last line");
    assert_eq!(Some(last), db.default_as_of(), "{what}: last line");
    let ends = schedule.ends_through(last);
    assert!(ends.len() >= 4, "{what}: {ends:?}");
    for end in ends {
        let (f, d) = (file.next_period(), db.next_period());
        let (f, d) = (f.expect("a period"), d.expect("a period"));
        assert_eq!(f.as_of, Some(end), "{what}: period end");
        assert_same_features(&format!("{what} as of {end}"), &f, &d);
    }
}

/// Every customer's features, the customers without a purchase and the lines after the as-of.
fn assert_same_features(what: &str, f: &Features, d: &Features) {
    assert_eq!(f.as_of, d.as_of, "{what}: as of");
    assert_eq!(f.customers.len(), d.customers.len(), "{what}: customers");
    for (a, b) in f.customers.iter().zip(&d.customers) {
        assert_eq!(a, b, "{what}: customer {}", a.customer_id);
    }
    assert_eq!(
        f.no_purchase, d.no_purchase,
        "{what}: customers without a purchase"
    );
    assert_eq!(
        f.lines_after_as_of, d.lines_after_as_of,
        "{what}: lines after as-of"
    );
    assert_eq!(
        f.amount_after_as_of, d.amount_after_as_of,
        "{what}: amount after as-of"
    );
}

fn assert_parity(
    what: &str,
    file: (Features, TransactionQuality),
    db: (Features, TransactionQuality),
) {
    let ((f, fq), (d, dq)) = (file, db);
    assert_same_features(what, &f, &d);
    assert_eq!(fq.counts, dq.counts, "{what}: row accounting");
    assert_eq!(fq.lines, dq.lines, "{what}: line statistics");
    assert_eq!(fq.columns, dq.columns, "{what}: mapping");
}

/// The rejected rows of a file, as (reason, column) pairs in order.
fn file_rejects(path: &Path, options: &TransactionOptions) -> Vec<(String, String)> {
    let mut rejects = RejectsWriter::new(Vec::new()).expect("rejects");
    load_transactions(path, options, None, &mut rejects, &mut |_, _| {}).expect("load file");
    let written = rejects.finish().expect("rejects");
    let mut reader = csv::Reader::from_reader(written.as_slice());
    let mut pairs: Vec<(String, String)> = reader
        .records()
        .map(|r| {
            let r = r.expect("record");
            (r[2].to_string(), r[3].to_string())
        })
        .collect();
    pairs.sort();
    pairs
}

/// The rejected rows a table's pushdown lists, the same pairs in order, the rows and the
/// accounting.
fn table_rejects(
    source: &TableSource,
    options: &TransactionOptions,
) -> (
    Vec<(String, String)>,
    Vec<stratum_io::rejects::RejectRow>,
    TransactionQuality,
) {
    let mut listed = Vec::new();
    let (_, quality, _) = load_streamed(source, options, None, &mut |row| {
        listed.push(row.clone());
        Ok(())
    })
    .expect("pushdown");
    let mut pairs: Vec<(String, String)> = listed
        .iter()
        .map(|r| (r.reason.code().to_string(), r.column.clone()))
        .collect();
    pairs.sort();
    (pairs, listed, quality)
}

/// The cases of one engine: the demo data and the adversarial file, each with the default
/// as-of and an explicit one, counting orders and days, dropping and keeping duplicates.
fn parity_suite(url: &str, engine: &dyn Engine) {
    let dir = temp();
    let files = [
        ("adversarial", write_adversarial(dir.path())),
        ("demo", write_demo_file(&dir.path().join("demo"))),
    ];
    for (name, path) in &files {
        let table = format!("stratum_parity_{name}_{}", std::process::id());
        engine.load_csv(url, &table, path);
        let source = TableSource::new(url, &table).expect("source");
        let cases = [
            (FrequencyBasis::Orders, Duplicates::Drop, None),
            (
                FrequencyBasis::Orders,
                Duplicates::Drop,
                NaiveDate::from_ymd_opt(2025, 1, 1),
            ),
            (FrequencyBasis::Days, Duplicates::Drop, None),
            (
                FrequencyBasis::Orders,
                Duplicates::Keep,
                NaiveDate::from_ymd_opt(2024, 9, 1),
            ),
        ];
        for (frequency, duplicates, as_of) in cases {
            for history in [false, true] {
                let o = options(frequency, duplicates);
                let o = if history { with_history(o) } else { o };
                let what =
                    format!("{name} {frequency:?} {duplicates:?} {as_of:?} history {history}");
                assert_parity(
                    &what,
                    in_process(path, &o, as_of),
                    pushed(&source, &o, as_of),
                );
            }
        }
        for history in [false, true] {
            let o = options(FrequencyBasis::Orders, Duplicates::Drop);
            let o = if history { with_history(o) } else { o };
            let what = format!("{name} backfill by quarter, history {history}");
            assert_periods_parity(&what, path, &source, &o);
        }
        engine.drop_table(url, &table);
    }
}

/// What the adversarial file must give, worked by hand (both paths are held to it).
fn assert_adversarial_by_hand(db: &(Features, TransactionQuality)) {
    let (f, q) = db;
    let c = &q.counts;
    assert_eq!(c.rows_read, 33);
    // C001's repeated line, the guest's, C002's order-less line and C006's date-less line
    assert_eq!(c.duplicates, 4);
    assert_eq!(c.anonymous, 1);
    assert_eq!(c.rejected, 4);
    let by = |r| c.rejected_by_reason.get(&r).copied().unwrap_or(0);
    assert_eq!(by(RejectReason::MissingDate), 1);
    assert_eq!(by(RejectReason::BadDate), 1);
    assert_eq!(by(RejectReason::MissingAmount), 1);
    assert_eq!(by(RejectReason::BadAmount), 1);
    assert_eq!(c.accepted, 24);
    let ids: Vec<&str> = f.customers.iter().map(|c| c.customer_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "C001", "C002", "C005", "C007", "C008", "C009", "C010", "c001"
        ]
    );
    // amounts to four decimals, half away from zero: 0.00001 is a zero line
    let c010 = &f.customers[6];
    assert_eq!((c010.gross.to_string(), c010.orders), ("10.1235".into(), 1));
    let c002 = &f.customers[1];
    // O4 once, and three lines without an order id (the blank one among them)
    assert_eq!(c002.orders, 4);
    assert_eq!(c002.gross.to_string(), "101.00");
    let no_purchase: Vec<&str> = f
        .no_purchase
        .iter()
        .map(|c| c.customer_id.as_str())
        .collect();
    assert_eq!(no_purchase, ["C003", "C004"]);
}

/// With history, C007's order O20 is new on 2023-12-30, its earliest line, though that line
/// comes second in the file (by file order it would be new on 2024-01-02).
fn assert_earliest_line_rule(db: &(Features, TransactionQuality)) {
    let c007 = db.0.customers.iter().find(|c| c.customer_id == "C007");
    let days = c007.and_then(|c| c.days.as_deref()).unwrap_or_default();
    let new: Vec<(String, u32)> = days
        .iter()
        .map(|d| (d.date.to_string(), d.new_orders))
        .collect();
    assert_eq!(
        new,
        [
            ("2023-12-30".to_string(), 1),
            ("2024-01-02".to_string(), 0),
            ("2024-09-09".to_string(), 1),
            ("2024-09-10".to_string(), 0),
        ]
    );
    let orders_12m = c007.and_then(|c| c.windows.as_ref()).map(|w| w.orders_12m);
    assert_eq!(orders_12m, Some(1));
}

/// A column's type in a test table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Text,
    Date,
    Decimal,
}

/// A test table's columns; the first is the customer id (text, empty rather than NULL).
type Schema = [(&'static str, Ty)];

/// The columns of the order files.
const ORDERS: &Schema = &[
    ("customer_id", Ty::Text),
    ("order_id", Ty::Text),
    ("order_date", Ty::Date),
    ("amount", Ty::Decimal),
    ("channel", Ty::Text),
    ("category", Ty::Text),
];

/// Loading a CSV file into an engine's table, as a user's warehouse would hold it.
trait Engine {
    fn load_csv(&self, url: &str, table: &str, path: &Path) {
        self.load_typed(url, table, path, ORDERS);
    }
    /// The CSV file `path`, whose columns are `schema`, as table `table`.
    fn load_typed(&self, url: &str, table: &str, path: &Path, schema: &Schema);
    fn drop_table(&self, url: &str, table: &str);
    fn create_float_table(&self, url: &str, table: &str);
    /// Whether the table is spread over shards (its plan is not one node's).
    fn sharded(&self) -> bool {
        false
    }
}

struct Postgres;

impl Engine for Postgres {
    fn load_typed(&self, url: &str, table: &str, path: &Path, schema: &Schema) {
        let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
        let columns: Vec<String> = schema
            .iter()
            .map(|(name, ty)| {
                let ty = match ty {
                    Ty::Text => "text",
                    Ty::Date => "date",
                    Ty::Decimal => "numeric",
                };
                format!("{name} {ty}")
            })
            .collect();
        client
            .batch_execute(&format!(
                "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} ({})",
                columns.join(", ")
            ))
            .expect("create");
        let mut w = client
            .copy_in(&format!(
                "COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)"
            ))
            .expect("copy");
        w.write_all(&std::fs::read(path).expect("read"))
            .expect("copy rows");
        w.finish().expect("copy done");
    }

    fn drop_table(&self, url: &str, table: &str) {
        let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
        client
            .batch_execute(&format!("DROP TABLE IF EXISTS {table}"))
            .expect("drop");
    }

    fn create_float_table(&self, url: &str, table: &str) {
        let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
        client
            .batch_execute(&format!(
                "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (customer_id text, order_date date, amount double precision)"
            ))
            .expect("create");
    }
}

struct MySql;

impl Engine for MySql {
    fn load_typed(&self, url: &str, table: &str, path: &Path, schema: &Schema) {
        use mysql::prelude::Queryable;
        let mut conn = mysql::Conn::new(mysql::Opts::from_url(url).expect("url")).expect("connect");
        conn.query_drop(format!("DROP TABLE IF EXISTS {table}"))
            .expect("drop");
        let columns: Vec<String> = schema
            .iter()
            .map(|(name, ty)| {
                let ty = match ty {
                    Ty::Text => "VARCHAR(64)",
                    Ty::Date => "DATE",
                    Ty::Decimal => "DECIMAL(24, 6)",
                };
                format!("{name} {ty}")
            })
            .collect();
        // the server's default collation: case-insensitive, trailing spaces ignored
        conn.query_drop(format!(
            "CREATE TABLE {table} ({}) CHARACTER SET utf8mb4",
            columns.join(", ")
        ))
        .expect("create");
        let mut reader = csv::Reader::from_path(path).expect("csv");
        let rows: Vec<Vec<mysql::Value>> = reader
            .records()
            .map(|r| {
                r.expect("record")
                    .iter()
                    .map(|v| {
                        if v.is_empty() {
                            mysql::Value::NULL
                        } else {
                            mysql::Value::from(v)
                        }
                    })
                    .collect()
            })
            .collect();
        let row = format!("({})", vec!["?"; schema.len()].join(", "));
        for chunk in rows.chunks(500) {
            let marks = vec![row.as_str(); chunk.len()].join(", ");
            let params: Vec<mysql::Value> = chunk.iter().flatten().cloned().collect();
            conn.exec_drop(format!("INSERT INTO {table} VALUES {marks}"), params)
                .expect("insert");
        }
    }

    fn drop_table(&self, url: &str, table: &str) {
        use mysql::prelude::Queryable;
        let mut conn = mysql::Conn::new(mysql::Opts::from_url(url).expect("url")).expect("connect");
        conn.query_drop(format!("DROP TABLE IF EXISTS {table}"))
            .expect("drop");
    }

    fn create_float_table(&self, url: &str, table: &str) {
        use mysql::prelude::Queryable;
        let mut conn = mysql::Conn::new(mysql::Opts::from_url(url).expect("url")).expect("connect");
        conn.query_drop(format!("DROP TABLE IF EXISTS {table}"))
            .expect("drop");
        conn.query_drop(format!(
            "CREATE TABLE {table} (customer_id VARCHAR(64), order_date DATE, amount DOUBLE)"
        ))
        .expect("create");
    }
}

/// ClickHouse over HTTP: `key` `None` for a MergeTree table on the server of the URL, else a
/// `Distributed` table over a MergeTree table on each shard of the cluster `stratum`, sharded
/// by `key`.
struct ClickHouse {
    key: Option<&'static str>,
}

/// The HTTP address and database of a `clickhouse://host:port/db` URL.
fn ch_http(url: &str) -> (String, String) {
    let rest = url
        .strip_prefix("clickhouse://")
        .expect("a clickhouse:// URL");
    let (host, db) = rest.split_once('/').unwrap_or((rest, "default"));
    (format!("http://{host}"), db.to_string())
}

/// Runs `sql` on the server at `http` (`http://host:port`), returning its rows as TSV lines.
fn ch_query(http: &str, db: &str, sql: &str) -> Vec<String> {
    use tokio::io::AsyncBufReadExt;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = clickhouse::Client::default()
            .with_url(http)
            .with_database(db)
            .with_setting("insert_distributed_sync", "1");
        let mut cursor = client
            .query(&sql.replace('?', "??"))
            .fetch_bytes("TabSeparated")
            .expect("query");
        let mut out = Vec::new();
        let mut lines = (&mut cursor).lines();
        while let Some(line) = lines
            .next_line()
            .await
            .unwrap_or_else(|e| panic!("{e}: {}", &sql[..sql.len().min(200)]))
        {
            out.push(line);
        }
        out
    })
}

/// The shards of the cluster `stratum` (`host:port`, the URL's port), or none.
fn ch_shards(url: &str) -> Vec<String> {
    let (http, db) = ch_http(url);
    let port = http.rsplit(':').next().unwrap_or("8123").to_string();
    ch_query(
        &http,
        &db,
        "SELECT host_address FROM system.clusters WHERE cluster = 'stratum' AND replica_num = 1 ORDER BY shard_num",
    )
    .into_iter()
    .map(|h| format!("http://{h}:{port}"))
    .collect()
}

/// A schema as ClickHouse columns: the customer id a `String`, the others `Nullable`.
fn ch_columns(schema: &Schema) -> String {
    let columns: Vec<String> = schema
        .iter()
        .enumerate()
        .map(|(i, (name, ty))| {
            let ty = match ty {
                Ty::Text => "String",
                Ty::Date => "Date",
                Ty::Decimal => "Decimal(24, 6)",
            };
            if i == 0 {
                format!("{name} {ty}")
            } else {
                format!("{name} Nullable({ty})")
            }
        })
        .collect();
    format!("({})", columns.join(", "))
}

/// A CSV field as a TabSeparated value: empty is NULL, except for the customer id.
fn tsv_value(v: &str, nullable: bool) -> String {
    if v.is_empty() && nullable {
        return "\\N".into();
    }
    v.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
}

impl Engine for ClickHouse {
    fn load_typed(&self, url: &str, table: &str, path: &Path, schema: &Schema) {
        let (http, db) = ch_http(url);
        let columns = ch_columns(schema);
        self.drop_table(url, table);
        match self.key {
            None => {
                ch_query(
                    &http,
                    &db,
                    &format!("CREATE TABLE {table} {columns} ENGINE = MergeTree ORDER BY tuple()"),
                );
            }
            Some(key) => {
                for shard in ch_shards(url) {
                    ch_query(
                        &shard,
                        &db,
                        &format!(
                            "CREATE TABLE {table}_local {columns} ENGINE = MergeTree ORDER BY tuple()"
                        ),
                    );
                }
                ch_query(
                    &http,
                    &db,
                    &format!(
                        "CREATE TABLE {table} AS {table}_local ENGINE = Distributed(stratum, {db}, {table}_local, {key})"
                    ),
                );
            }
        }
        let mut reader = csv::Reader::from_path(path).expect("csv");
        let mut data = String::new();
        for r in reader.records() {
            let r = r.expect("record");
            let values: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(i, v)| tsv_value(v, i != 0))
                .collect();
            data.push_str(&values.join("\t"));
            data.push('\n');
        }
        ch_query(
            &http,
            &db,
            &format!("INSERT INTO {table} FORMAT TabSeparated\n{data}"),
        );
    }

    fn drop_table(&self, url: &str, table: &str) {
        let (http, db) = ch_http(url);
        ch_query(&http, &db, &format!("DROP TABLE IF EXISTS {table}"));
        if self.key.is_some() {
            for shard in ch_shards(url) {
                ch_query(&shard, &db, &format!("DROP TABLE IF EXISTS {table}_local"));
            }
        }
    }

    fn sharded(&self) -> bool {
        self.key.is_some()
    }

    fn create_float_table(&self, url: &str, table: &str) {
        let (http, db) = ch_http(url);
        ch_query(&http, &db, &format!("DROP TABLE IF EXISTS {table}"));
        ch_query(
            &http,
            &db,
            &format!(
                "CREATE TABLE {table} (customer_id String, order_date Date, amount Float64) ENGINE = MergeTree ORDER BY tuple()"
            ),
        );
    }
}

/// A Spark Connect server (with the `spark` feature): tables are Parquet tables of its
/// warehouse, loaded from the CSV file through a temporary view (Spark's CSV reader reads an
/// empty field as NULL: the customer id is given back its empty text, as the other loaders
/// keep it).
#[cfg(feature = "spark")]
struct Spark;

#[cfg(feature = "spark")]
fn spark_sql(url: &str, statements: &[String]) {
    let session = spark_connect::SparkSessionBuilder::new()
        .remote(url)
        .get_or_create()
        .expect("a Spark Connect session");
    for s in statements {
        let df = session.sql(s).unwrap_or_else(|e| panic!("{e}: {s}"));
        df.collect().unwrap_or_else(|e| panic!("{e}: {s}"));
    }
}

#[cfg(feature = "spark")]
impl Engine for Spark {
    fn load_typed(&self, url: &str, table: &str, path: &Path, schema: &Schema) {
        let view = format!("{table}_csv");
        let columns: Vec<String> = schema
            .iter()
            .enumerate()
            .map(|(i, (name, ty))| match ty {
                _ if i == 0 => format!("COALESCE({name}, '') AS {name}"),
                Ty::Text => name.to_string(),
                Ty::Date => format!("CAST({name} AS DATE) AS {name}"),
                Ty::Decimal => format!("CAST({name} AS DECIMAL(24, 6)) AS {name}"),
            })
            .collect();
        spark_sql(
            url,
            &[
                format!("DROP TABLE IF EXISTS {table}"),
                format!(
                    "CREATE OR REPLACE TEMPORARY VIEW {view} USING csv OPTIONS (path '{}', header 'true')",
                    path.display()
                ),
                format!(
                    "CREATE TABLE {table} USING parquet AS SELECT {} FROM {view}",
                    columns.join(", ")
                ),
            ],
        );
    }

    fn drop_table(&self, url: &str, table: &str) {
        spark_sql(url, &[format!("DROP TABLE IF EXISTS {table}")]);
    }

    fn create_float_table(&self, url: &str, table: &str) {
        spark_sql(
            url,
            &[
                format!("DROP TABLE IF EXISTS {table}"),
                format!(
                    "CREATE TABLE {table} (customer_id STRING, order_date DATE, amount DOUBLE) USING parquet"
                ),
            ],
        );
    }
}

/// A Spark 4 column with a collation of its own (case-insensitive) is still compared byte for
/// byte: `ABC` and `abc` are two customers, as in a file.
#[cfg(feature = "spark")]
#[test]
fn a_collated_spark_column_is_compared_as_bytes() {
    let Ok(url) = std::env::var("STRATUM_TEST_SPARK_URL") else {
        eprintln!("STRATUM_TEST_SPARK_URL is not set: skipped");
        return;
    };
    let table = format!("stratum_collated_{}", std::process::id());
    spark_sql(
        &url,
        &[
            format!("DROP TABLE IF EXISTS {table}"),
            format!(
                "CREATE TABLE {table} (customer_id STRING COLLATE UTF8_LCASE, order_id STRING COLLATE UTF8_LCASE, \
                 order_date DATE, amount DECIMAL(10, 2)) USING parquet"
            ),
            format!(
                "INSERT INTO {table} VALUES ('ABC', 'o1', DATE '2024-01-02', 10.00), \
                 ('abc', 'o1', DATE '2024-01-02', 10.00), ('abc', 'O1', DATE '2024-01-03', 5.00)"
            ),
        ],
    );
    let source = TableSource::new(&url, &table).expect("source");
    // rows equal but for case are two rows, not a duplicate
    let (f, q) = pushed(
        &source,
        &options(FrequencyBasis::Orders, Duplicates::Drop),
        None,
    );
    assert_eq!(q.counts.duplicates, 0);
    let ids: Vec<(&str, u64)> = f
        .customers
        .iter()
        .map(|c| (c.customer_id.as_str(), c.orders))
        .collect();
    assert_eq!(ids, [("ABC", 1), ("abc", 2)]);
    Spark.drop_table(&url, &table);
}

fn engines() -> Vec<(String, Box<dyn Engine>)> {
    let mut out: Vec<(String, Box<dyn Engine>)> = Vec::new();
    match std::env::var("STRATUM_TEST_DATABASE_URL") {
        Ok(url) => out.push((url, Box::new(Postgres))),
        Err(_) => eprintln!("STRATUM_TEST_DATABASE_URL is not set: PostgreSQL skipped"),
    }
    match std::env::var("STRATUM_TEST_MYSQL_URL") {
        Ok(url) => out.push((url, Box::new(MySql))),
        Err(_) => eprintln!("STRATUM_TEST_MYSQL_URL is not set: MySQL protocol skipped"),
    }
    match std::env::var("STRATUM_TEST_CLICKHOUSE_URL") {
        Ok(url) => {
            out.push((url.clone(), Box::new(ClickHouse { key: None })));
            if ch_shards(&url).len() > 1 {
                for key in ["cityHash64(customer_id)", "rand()"] {
                    out.push((url.clone(), Box::new(ClickHouse { key: Some(key) })));
                }
            } else {
                eprintln!("no cluster `stratum` at {url}: sharded ClickHouse tables skipped");
            }
        }
        Err(_) => eprintln!("STRATUM_TEST_CLICKHOUSE_URL is not set: ClickHouse skipped"),
    }
    #[cfg(feature = "spark")]
    match std::env::var("STRATUM_TEST_SPARK_URL") {
        Ok(url) => out.push((url, Box::new(Spark))),
        Err(_) => eprintln!("STRATUM_TEST_SPARK_URL is not set: Spark skipped"),
    }
    out
}

#[test]
fn pushdown_equals_the_file_engine_on_every_engine() {
    for (url, engine) in engines() {
        parity_suite(&url, engine.as_ref());
    }
}

/// The rows a table rejects are listed as a file's are: one per distinct row, with its reason
/// and the column at fault, the whole row beside.
#[test]
fn rejected_rows_are_listed_as_the_file_engine_lists_them() {
    let dir = temp();
    let path = write_adversarial(dir.path());
    let o = options(FrequencyBasis::Orders, Duplicates::Drop);
    let from_file = file_rejects(&path, &o);
    assert_eq!(
        from_file,
        [
            ("bad_amount", "amount"),
            ("bad_date", "order_date"),
            ("missing_amount", "amount"),
            ("missing_date", "order_date"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    for (url, engine) in engines() {
        let table = format!("stratum_rejects_{}", std::process::id());
        engine.load_csv(&url, &table, &path);
        let source = TableSource::new(&url, &table).expect("source");
        let (pairs, listed, quality) = table_rejects(&source, &o);
        assert_eq!(pairs, from_file, "{url}");
        assert_eq!(listed.len() as u64, quality.counts.rejected);
        for r in &listed {
            assert_eq!(r.file, table);
            assert!(r.row.starts_with("C006,O1"), "{}: {}", url, r.row);
        }
        let amount = listed
            .iter()
            .find(|r| r.reason.code() == "bad_amount")
            .expect("bad_amount");
        assert!(amount.value.starts_with("200000000000"), "{}", amount.value);
        assert!(
            amount.message.contains("largest accepted amount"),
            "{}",
            amount.message
        );
        engine.drop_table(&url, &table);
    }
}

/// The columns of the file the expressions read.
const PRICED: &Schema = &[
    ("customer_id", Ty::Text),
    ("order_id", Ty::Text),
    ("order_date", Ty::Date),
    ("qty", Ty::Decimal),
    ("price", Ty::Decimal),
    ("pack", Ty::Decimal),
    ("status", Ty::Text),
    ("channel", Ty::Text),
];

/// Lines whose amount, keeping and sign come from expressions: every case they have to agree
/// on (the comments say what the file engine makes of each).
const PRICED_LINES: &str = "\
customer_id,order_id,order_date,qty,price,pack,status,channel
C001,O1,2024-03-05,2,10.50,,paid,web
C001,O1,2024-03-05,2,10.50,,paid,web
C001,O2,2024-04-01,3,0.000050,1,paid,web
C001,T3,2024-04-02,1,99,1,paid,web
C002,O4,2024-01-10,1,80.00,1,return,shop
C002,O5,2024-01-11,-1,5.00,1,paid,shop
C002,O6,2024-02-01,,7.50,1,paid,shop
C002,O7,2024-02-02,1,7.50,0,paid,shop
C003,O8,2024-06-01,1000000,1000000,1,paid,web
C003,O9,2024-06-02,1,12.00,1,,web
C003,O9b,2024-06-02,1,12.00,2,,web
C003,O10,2024-06-03,1,12.00,2,test,web
C003,O10,2024-06-03,1,12.00,2,test,web
C003,O11,2024-06-04,1,13.00,1,test,web
C004,O12,2024-07-01,1,5,1,PAID,Web
 C004 ,O13,2024-07-02,2,2.5,1, return ,web 
C005,O14,,1,10,1,paid,web
C005,O15,2024-08-01,0,10,1,paid,web
C006,O16,2024-08-02,1,0.000050,1,paid,web
C006,O17,2024-08-03,1,-0.000050,1,paid,web
C006,O18,2024-08-04,7,0.000150,3,paid,web
,O19,2024-08-04,1,3,1,paid,web
C007,O20,2024-09-01,1,4,1,paid,app
C007,O21,2024-09-02,1,5,0,test,app
C007,O22,2024-09-03,1,6,1,return,app
C007,O23,2024-09-04,1,6,1,paid,
C007,O24,2024-09-05,2,3,1,paid,shop
";

/// The expressions over [`PRICED_LINES`]: a computed amount with a default and a division,
/// a condition with `NOT` over an unknown, `LIKE`, `IN` and `ILIKE`, a refund rule.
fn priced_options() -> TransactionOptions {
    let mut o = options(FrequencyBasis::Orders, Duplicates::Drop);
    o.expressions = stratum_io::row_exprs::RowExpressions {
        amount: Some("qty * price / COALESCE(pack, 1)".into()),
        keep: Some(
            "NOT (status = 'test' AND pack > 1) AND order_id NOT LIKE 'T%' \
             AND (channel IN ('web', 'shop') OR channel ILIKE 'WE%') \
             AND NOT (status = 'it''s \\ 100%' AND pack > 5) \
             AND (order_date BETWEEN '2024-01-01' AND '2025-12-31' OR order_date IS NULL)"
                .into(),
        ),
        refund_when: Some("status = 'return' OR qty < 0".into()),
    };
    o
}

/// `--amount`, `--where` and `--refund-when` written in each engine's SQL keep, sign, round and
/// reject every line as the file engine does; the rejected rows name the same columns.
#[test]
fn expressions_mean_in_the_database_what_they_mean_in_a_file() {
    let dir = temp();
    let path = dir.path().join("priced.csv");
    std::fs::write(&path, PRICED_LINES).expect("write");
    let base = priced_options();
    let mut rejects = RejectsWriter::new(Vec::new()).expect("rejects");
    let (agg, fq) =
        load_transactions(&path, &base, None, &mut rejects, &mut |_, _| {}).expect("load file");
    drop(rejects);
    // the file engine's figures, worked by hand: the amount first
    let at = agg.default_as_of().expect("a date");
    let file = agg.finish(at);
    let c = &fq.counts;
    assert_eq!(c.rows_read, 27);
    // T3; O9b (unknown under NOT); O10 twice; O20 (app); O21, O22 (app); O23 (no channel)
    assert_eq!(c.filtered, 8);
    // T3 99, O9b 12/2, O10 6 twice, O20 4, O22 -6 (a refund), O23 6; O21 divides by zero
    assert_eq!(c.filtered_amount.units(), 1_210_000);
    assert_eq!(c.filtered_without_amount, 1);
    assert_eq!(c.duplicates, 1);
    assert_eq!(c.anonymous, 1);
    let mut reasons: Vec<(&str, u64)> = c
        .rejected_by_reason
        .iter()
        .map(|(r, n)| (r.code(), *n))
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            ("bad_amount", 2),
            ("missing_amount", 1),
            ("missing_date", 1)
        ]
    );
    // (gross, refunds, orders) in ten-thousandths
    let money = |id: &str| {
        let f = file.customers.iter().find(|f| f.customer_id == id);
        f.map(|f| (f.gross.units(), f.refunds.units(), f.orders))
    };
    // C001: 21 + 3 × 0.00005 (1.5e-4 in doubles, a hair above the tie: 0.0002)
    assert_eq!(money("C001"), Some((210_002, 0, 2)));
    // C002: a refund by status (-80) and one by its negative quantity (-5): no purchase
    assert_eq!(money("C002"), None);
    // C003: NOT (NULL AND FALSE) is true and keeps O9; O11 is kept
    assert_eq!(money("C003"), Some((250_000, 0, 2)));
    // C004: a Web line kept by ILIKE; a padded ` return ` is a refund
    assert_eq!(money("C004"), Some((50_000, -50_000, 1)));
    // C006: ±0.00005 round half away from zero; 7 × 0.00015 / 3 is 3.5 ten-thousandths
    assert_eq!(money("C006"), Some((1 + 4, -1, 2)));
    let from_file = file_rejects(&path, &base);
    assert_eq!(
        from_file,
        [
            ("bad_amount", "qty"),
            ("bad_amount", "qty"),
            ("missing_amount", "qty"),
            ("missing_date", "order_date"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    for (url, engine) in engines() {
        let table = format!("stratum_priced_{}", std::process::id());
        engine.load_typed(&url, &table, &path, PRICED);
        let source = TableSource::new(&url, &table).expect("source");
        let cases = [
            (Duplicates::Drop, None, false),
            (Duplicates::Drop, NaiveDate::from_ymd_opt(2024, 8, 2), true),
            (Duplicates::Keep, None, true),
        ];
        for (duplicates, as_of, history) in cases {
            let o = TransactionOptions {
                duplicates,
                history,
                ..base.clone()
            };
            let what = format!("{url} {duplicates:?} {as_of:?} history {history}");
            let (d, dq) = pushed(&source, &o, as_of);
            assert_eq!(dq.columns_read, 8, "{what}: columns read");
            assert_eq!(dq.expressions, base.expressions, "{what}: expressions");
            assert_parity(&what, in_process(&path, &o, as_of), (d, dq));
        }
        // the amount a column (`price`), signed and filtered by rules
        let mut by_column = base.clone();
        by_column.expressions.amount = None;
        by_column.columns.insert("amount".into(), "price".into());
        let what = format!("{url} amount column");
        let (d, dq) = pushed(&source, &by_column, None);
        assert!(dq.lines.refund_lines >= 3, "{what}: {:?}", dq.lines);
        assert_parity(&what, in_process(&path, &by_column, None), (d, dq));
        let (pairs, ..) = table_rejects(&source, &base);
        assert_eq!(pairs, from_file, "{url}: rejected rows");
        engine.drop_table(&url, &table);
    }
}

#[test]
fn the_adversarial_file_gives_the_hand_worked_figures() {
    let dir = temp();
    let path = write_adversarial(dir.path());
    let o = options(FrequencyBasis::Orders, Duplicates::Drop);
    let h = with_history(o.clone());
    assert_adversarial_by_hand(&in_process(&path, &o, None));
    assert_earliest_line_rule(&in_process(&path, &h, None));
    for (url, engine) in engines() {
        let table = format!("stratum_hand_{}", std::process::id());
        engine.load_csv(&url, &table, &path);
        let source = TableSource::new(&url, &table).expect("source");
        assert_adversarial_by_hand(&pushed(&source, &o, None));
        assert_earliest_line_rule(&pushed(&source, &h, None));
        engine.drop_table(&url, &table);
    }
}

#[test]
fn the_plan_names_the_table_and_both_statements() {
    let dir = temp();
    let path = write_adversarial(dir.path());
    for (url, engine) in engines() {
        if engine.sharded() {
            // its plans: a_clickhouse_cluster_runs_the_plan_its_sharding_allows
            continue;
        }
        let table = format!("stratum_plan_{}", std::process::id());
        engine.load_csv(&url, &table, &path);
        let source = TableSource::new(&url, &table).expect("source");
        let o = options(FrequencyBasis::Orders, Duplicates::Drop);
        let p = plan(&source, &o, None).expect("plan");
        let script = p.script(&source, None);
        assert!(script.contains(&format!("table {table}")), "{script}");
        assert!(
            script.contains("full pushdown on one node")
                || script.contains("full pushdown: Spark shuffles the rows by customer"),
            "{script}"
        );
        assert!(script.contains("GROUP BY cid"), "{script}");
        assert!(script.contains(":as_of"), "{script}");
        assert!(
            script.contains("-- 3. only when statement 1 counts rejected rows")
                && script.contains("WHERE reason IS NOT NULL"),
            "{script}"
        );
        assert_eq!(
            p.columns,
            "customer_id←customer_id, order_id←order_id, order_date←order_date, amount←amount"
        );
        let at = NaiveDate::from_ymd_opt(2025, 1, 1);
        let dated = plan(&source, &o, at).expect("plan").script(&source, at);
        assert!(
            (dated.contains("DATE '2025-01-01'") || dated.contains("toDate('2025-01-01')"))
                && !dated.contains(":as_of"),
            "{dated}"
        );
        engine.drop_table(&url, &table);
    }
}

#[test]
fn bad_sources_are_refused_by_name() {
    let o = options(FrequencyBasis::Orders, Duplicates::Drop);
    for (url, engine) in engines() {
        let missing = TableSource::new(&url, "stratum_no_such_table").expect("source");
        let e = load(&missing, &o, None).err();
        assert!(matches!(e, Some(PushdownError::NoTable { .. })), "{e:?}");
        let table = format!("stratum_float_{}", std::process::id());
        engine.create_float_table(&url, &table);
        let floats = TableSource::new(&url, &table).expect("source");
        let e = load(&floats, &o, None).err();
        assert!(
            matches!(
                e,
                Some(PushdownError::ColumnType {
                    field: "amount",
                    ..
                })
            ),
            "{e:?}"
        );
        engine.drop_table(&url, &table);
    }
    // ClickHouse applies a query's names at every level: a column named as one of the
    // statements' own is refused by name, not read as it
    if let Ok(url) = std::env::var("STRATUM_TEST_CLICKHOUSE_URL") {
        let (http, db) = ch_http(&url);
        let table = format!("stratum_clash_{}", std::process::id());
        ch_query(&http, &db, &format!("DROP TABLE IF EXISTS {table}"));
        ch_query(
            &http,
            &db,
            &format!(
                "CREATE TABLE {table} (customer_id String, order_date Date, amount Decimal(18, 2), gross Decimal(18, 2)) ENGINE = MergeTree ORDER BY tuple()"
            ),
        );
        let source = TableSource::new(&url, &table).expect("source");
        let e = load(&source, &o, None).err();
        assert!(
            matches!(&e, Some(PushdownError::ReservedName { column }) if column == "gross"),
            "{e:?}"
        );
        ch_query(&http, &db, &format!("DROP TABLE IF EXISTS {table}"));
    }
    // a wrong password is refused, and never shown
    if let Ok(url) = std::env::var("STRATUM_TEST_MYSQL_URL") {
        let wrong = url.replacen("://root@", "://nobody:hunter2@", 1);
        let source = TableSource::new(&wrong, "t").expect("source");
        let e = load(&source, &o, None).err().map(|e| e.to_string());
        assert!(
            e.as_deref()
                .is_some_and(|m| m.starts_with("cannot connect to `mysql://nobody@")
                    && !m.contains("hunter2")),
            "{e:?}"
        );
    }
}

#[test]
fn a_clickhouse_cluster_runs_the_plan_its_sharding_allows() {
    let Ok(url) = std::env::var("STRATUM_TEST_CLICKHOUSE_URL") else {
        eprintln!("STRATUM_TEST_CLICKHOUSE_URL is not set: ClickHouse skipped");
        return;
    };
    let shards = ch_shards(&url).len();
    if shards < 2 {
        eprintln!("no cluster `stratum` at {url}: sharded ClickHouse tables skipped");
        return;
    }
    let dir = temp();
    let demo = write_demo_file(&dir.path().join("demo"));
    let adversarial = write_adversarial(dir.path());
    let by_customer = "cityHash64(customer_id)";
    let full = format!(
        "full pushdown: table sharded by {by_customer}; each of the {shards} shards runs the dedupe"
    );
    let cases = [
        (Some(by_customer), &demo, "full_pushdown", full.as_str()),
        // three of its customer ids are padded: one customer's rows may sit on two shards
        (
            Some(by_customer),
            &adversarial,
            "merge_on_initiator",
            "but 3 rows have a customer id with whitespace around it",
        ),
        (
            Some("rand()"),
            &demo,
            "merge_on_initiator",
            "sharding key is rand(); every distinct line flows to the initiator",
        ),
        (
            None,
            &demo,
            "single_node",
            "full pushdown on one node: ClickHouse",
        ),
    ];
    let o = options(FrequencyBasis::Orders, Duplicates::Drop);
    for (key, path, code, words) in cases {
        let engine = ClickHouse { key };
        let table = format!("stratum_layout_{}", std::process::id());
        engine.load_csv(&url, &table, path);
        let source = TableSource::new(&url, &table).expect("source");
        let (_, quality) = load(&source, &o, None).expect("pushdown");
        let db = quality.source.database.expect("database info");
        assert_eq!(db.plan, code, "{key:?} {}", path.display());
        assert!(db.plan_text.en.contains(words), "{}", db.plan_text.en);
        let p = plan(&source, &o, None).expect("plan");
        assert!(p.plan.en.contains(words), "{}", p.plan.en);
        let script = p.script(&source, None);
        if code == "full_pushdown" {
            // each shard reads its own part: the table under the Distributed one
            assert_eq!(p.shards.len(), shards);
            assert!(script.contains(&format!("`{table}_local`")), "{script}");
        } else {
            assert!(
                p.shards.is_empty() && !script.contains("_local"),
                "{script}"
            );
        }
        engine.drop_table(&url, &table);
    } // rows written into a shard's own table, away from where the key puts them: the
    // customer on two shards is caught, not counted twice
    let engine = ClickHouse {
        key: Some(by_customer),
    };
    let table = format!("stratum_split_{}", std::process::id());
    engine.load_csv(&url, &table, &demo);
    let (_, db) = ch_http(&url);
    let first = ch_query(
        &ch_shards(&url)[0],
        &db,
        &format!("SELECT customer_id FROM {table}_local ORDER BY customer_id LIMIT 1"),
    );
    let customer = first.first().expect("a customer on shard 1").clone();
    ch_query(
        &ch_shards(&url)[1],
        &db,
        &format!(
            "INSERT INTO {table}_local FORMAT TabSeparated\n{customer}\tSPLIT1\t2025-06-01\t10\tweb\ta\n"
        ),
    );
    let source = TableSource::new(&url, &table).expect("source");
    match load(&source, &o, None) {
        Err(e @ PushdownError::SplitCustomer { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains(&format!(
                    "customer `{customer}` has rows on shard 1 and on shard 2"
                )),
                "{text}"
            );
        }
        other => panic!("expected the split customer, got {:?}", other.map(|_| ())),
    }
    engine.drop_table(&url, &table);
}
