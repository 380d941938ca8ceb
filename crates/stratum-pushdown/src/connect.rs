//! Connections to the engines: the table's columns, and the rows of a statement streamed as
//! text.

use postgres::fallible_iterator::FallibleIterator;

use crate::PushdownError;
use crate::route::Route;
use crate::source::{Engine, TableSource};
use crate::sql::{Column, Kind, Shape};

/// What receives each row of a statement: its values as text, `None` for NULL.
pub(crate) type RowSink<'a> = dyn FnMut(&[Option<String>]) -> Result<(), PushdownError> + 'a;

/// A connection to the source's engine.
pub(crate) trait Connection {
    /// The columns of `table` (`schema.table` or a table of the current schema), in order.
    fn columns(&mut self, table: &str) -> Result<Vec<Column>, PushdownError>;
    /// Starts a read-only transaction on one snapshot, so that both statements read the same
    /// rows however the table changes meanwhile, and sets what the statements assume.
    fn begin_snapshot(&mut self) -> Result<(), PushdownError>;
    /// Runs `sql`, handing each row's values (as text, `None` for NULL) to `row` as they come.
    fn each_row(&mut self, sql: &str, row: &mut RowSink<'_>) -> Result<(), PushdownError>;
    /// Where the statements over `shape` run: on this node, unless the engine shards it.
    fn route(&mut self, shape: &Shape) -> Result<Route, PushdownError> {
        let _ = shape;
        Ok(Route::single_node())
    }
}

/// Connects to the source's database; a password missing from the URL is taken from
/// `PGPASSWORD` (PostgreSQL), `MYSQL_PWD` (MySQL protocol) or `CLICKHOUSE_PASSWORD`.
pub(crate) fn connect(source: &TableSource) -> Result<Box<dyn Connection>, PushdownError> {
    let failed = |message: String| PushdownError::Connect {
        url: source.shown_url().to_string(),
        message,
    };
    match source.engine() {
        Engine::Postgres => {
            let mut config: postgres::Config = source
                .url()
                .parse()
                .map_err(|e: postgres::Error| failed(e.to_string()))?;
            if config.get_password().is_none()
                && let Ok(password) = std::env::var("PGPASSWORD")
            {
                config.password(password);
            }
            let client = config
                .connect(postgres::NoTls)
                .map_err(|e| failed(pg_message(&e)))?;
            Ok(Box::new(Postgres(client)))
        }
        Engine::MySql => {
            let opts = mysql::Opts::from_url(source.url()).map_err(|e| failed(e.to_string()))?;
            let mut builder = mysql::OptsBuilder::from_opts(opts.clone());
            if opts.get_pass().is_none()
                && let Ok(password) = std::env::var("MYSQL_PWD")
            {
                builder = builder.pass(Some(password));
            }
            let conn = mysql::Conn::new(builder).map_err(|e| failed(e.to_string()))?;
            Ok(Box::new(MySql(conn)))
        }
        Engine::ClickHouse => {
            let url = ClickHouseUrl::parse(source.url()).map_err(failed)?;
            Ok(Box::new(clickhouse(&url, source.shown_url())?))
        }
        #[cfg(feature = "spark")]
        Engine::Spark => Ok(Box::new(
            spark::connect(source.url(), source.shown_url()).map_err(failed)?,
        )),
        #[cfg(not(feature = "spark"))]
        Engine::Spark => Err(PushdownError::NotYet {
            scheme: "sc".to_string(),
        }),
    }
}

/// Spark Connect, through the Apache client (which runs its own tokio runtime).
#[cfg(feature = "spark")]
mod spark {
    use spark_connect::row::Value;
    use spark_connect::{SparkSession, SparkSessionBuilder};

    use super::{Connection, RowSink};
    use crate::PushdownError;
    use crate::sql::{Column, Dialect, Kind};

    pub(super) struct Spark {
        session: SparkSession,
        /// The URL, and as it may be shown: the client's messages can quote it.
        url: String,
        shown: String,
    }

    /// A session on the server at `url` (`sc://host:15002/;params`), checked with a statement;
    /// an error's text without the URL's parameters.
    pub(super) fn connect(url: &str, shown: &str) -> Result<Spark, String> {
        let session = SparkSessionBuilder::new()
            .remote(url)
            .get_or_create()
            .map_err(|e| scrub(&e.to_string(), url, shown))?;
        let mut spark = Spark {
            session,
            url: url.to_string(),
            shown: shown.to_string(),
        };
        spark
            .each_row("SELECT 1", &mut |_| Ok(()))
            .map_err(|e| e.to_string())?;
        Ok(spark)
    }

    /// `message` with the URL shown without its parameters, and each parameter's value (a
    /// token among them) replaced by `…`: the client quotes both in its errors.
    pub(super) fn scrub(message: &str, url: &str, shown: &str) -> String {
        let mut out = message.replace(url, shown);
        let params = url.split_once(';').map_or("", |(_, p)| p);
        for value in params
            .split(';')
            .filter_map(|p| p.split_once('=').map(|kv| kv.1))
        {
            if !value.is_empty() {
                out = out.replace(value, "…");
            }
        }
        out
    }

    impl Spark {
        fn query(&self, e: spark_connect::SparkError) -> PushdownError {
            PushdownError::Query {
                message: scrub(&e.to_string(), &self.url, &self.shown),
            }
        }
    }

    /// A value as the statements read it back: text (they cast every cell to text; the
    /// connection's check selects an integer).
    fn text(v: &Value) -> Result<Option<String>, PushdownError> {
        Ok(match v {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            Value::Integer(n) => Some(n.to_string()),
            other => {
                return Err(PushdownError::Query {
                    message: format!("a value Stratum does not read: {other:?}"),
                });
            }
        })
    }

    /// What a Spark type name holds, and its scale.
    fn kind(type_name: &str) -> (Kind, u32) {
        let t = type_name.trim().to_ascii_lowercase();
        // `string collate utf8_lcase` too: compared as bytes by the statements
        if t.starts_with("string") || t.starts_with("varchar") || t.starts_with("char") {
            return (Kind::Text, 0);
        }
        if let Some(args) = t.strip_prefix("decimal(") {
            let scale = args
                .trim_end_matches(')')
                .split(',')
                .nth(1)
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            return (Kind::Exact, scale);
        }
        match t.as_str() {
            "date" => (Kind::Date, 0),
            "timestamp" | "timestamp_ntz" => (Kind::Timestamp, 0),
            "tinyint" | "smallint" | "int" | "bigint" => (Kind::Exact, 0),
            "float" | "double" => (Kind::Float, 0),
            _ => (Kind::Other, 0),
        }
    }

    impl Connection for Spark {
        fn begin_snapshot(&mut self) -> Result<(), PushdownError> {
            // each statement reads the table as it is then; Spark tables have no transactions
            Ok(())
        }

        fn columns(&mut self, table: &str) -> Result<Vec<Column>, PushdownError> {
            let sql = format!("DESCRIBE TABLE {}", Dialect::Spark.table(table));
            let mut columns = Vec::new();
            let mut done = false;
            let described = self.each_row(&sql, &mut |row| {
                let name = row.first().cloned().flatten().unwrap_or_default();
                // the columns end where the partitioning's section starts
                if name.is_empty() || name.starts_with('#') {
                    done = true;
                }
                if !done {
                    let type_name = row.get(1).cloned().flatten().unwrap_or_default();
                    let (kind, scale) = kind(&type_name);
                    columns.push(Column {
                        name,
                        type_name,
                        kind,
                        scale,
                    });
                }
                Ok(())
            });
            match described {
                Ok(()) => Ok(columns),
                // no such table: no columns, which the caller names
                Err(PushdownError::Query { message })
                    if message.contains("TABLE_OR_VIEW_NOT_FOUND") =>
                {
                    Ok(Vec::new())
                }
                Err(e) => Err(e),
            }
        }

        fn each_row(&mut self, sql: &str, row: &mut RowSink<'_>) -> Result<(), PushdownError> {
            let df = self.session.sql(sql).map_err(|e| self.query(e))?;
            let rows = df.to_local_iterator(true).map_err(|e| self.query(e))?;
            let mut values = Vec::new();
            for r in rows {
                let r = r.map_err(|e| self.query(e))?;
                values.clear();
                for v in r.values() {
                    values.push(text(v)?);
                }
                row(&values)?;
            }
            Ok(())
        }
    }
}

/// A PostgreSQL error's own message: the server's when it sent one, else the client's with
/// its causes (`error connecting to server: Connection refused (os error 111)`).
fn pg_message(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_string();
    }
    let mut message = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        message.push_str(&format!(": {c}"));
        cause = c.source();
    }
    message
}

struct Postgres(postgres::Client);

impl Connection for Postgres {
    fn begin_snapshot(&mut self) -> Result<(), PushdownError> {
        let query = |e: postgres::Error| PushdownError::Query {
            message: pg_message(&e),
        };
        // the trimmed set is written as Unicode escapes, which need a UTF8 server
        let encoding = self
            .0
            .query_one("SHOW server_encoding", &[])
            .and_then(|r| r.try_get::<_, String>(0))
            .map_err(query)?;
        if encoding != "UTF8" {
            return Err(PushdownError::Unsupported {
                what: "a PostgreSQL server whose encoding is not UTF8",
            });
        }
        self.0
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .map_err(query)
    }

    fn columns(&mut self, table: &str) -> Result<Vec<Column>, PushdownError> {
        // the table as the statements will find it (through search_path when unqualified)
        let quoted = crate::sql::Dialect::Postgres.table(table);
        let rows = self
            .0
            .query(
                "SELECT column_name::text, data_type::text FROM information_schema.columns \
                 WHERE (table_schema, table_name) = (SELECT n.nspname::text, c.relname::text \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.oid = to_regclass($1::text)) \
                 ORDER BY ordinal_position",
                &[&quoted],
            )
            .map_err(|e| PushdownError::Query {
                message: pg_message(&e),
            })?;
        rows.iter()
            .map(|r| {
                let name: String = r.try_get(0).map_err(|e| PushdownError::Query {
                    message: pg_message(&e),
                })?;
                let type_name: String = r.try_get(1).map_err(|e| PushdownError::Query {
                    message: pg_message(&e),
                })?;
                let kind = pg_kind(&type_name);
                Ok(Column {
                    name,
                    type_name,
                    kind,
                    scale: 0,
                })
            })
            .collect()
    }

    fn each_row(&mut self, sql: &str, row: &mut RowSink<'_>) -> Result<(), PushdownError> {
        let query = |e: postgres::Error| PushdownError::Query {
            message: pg_message(&e),
        };
        let mut rows = self
            .0
            .query_raw(sql, std::iter::empty::<i32>())
            .map_err(query)?;
        let mut values: Vec<Option<String>> = Vec::new();
        while let Some(r) = rows.next().map_err(query)? {
            values.clear();
            for i in 0..r.len() {
                let v: Option<&str> = r.try_get(i).map_err(query)?;
                values.push(v.map(str::to_string));
            }
            row(&values)?;
        }
        Ok(())
    }
}

/// What a PostgreSQL `information_schema` data type holds.
fn pg_kind(type_name: &str) -> Kind {
    match type_name {
        "text" | "character varying" | "character" => Kind::Text,
        "date" => Kind::Date,
        "timestamp without time zone" | "timestamp with time zone" => Kind::Timestamp,
        "numeric" | "integer" | "bigint" | "smallint" => Kind::Exact,
        "real" | "double precision" => Kind::Float,
        _ => Kind::Other,
    }
}

struct MySql(mysql::Conn);

impl Connection for MySql {
    fn begin_snapshot(&mut self) -> Result<(), PushdownError> {
        use mysql::prelude::Queryable;
        let query = |e: mysql::Error| PushdownError::Query {
            message: e.to_string(),
        };
        // the trimmed set's pattern is written with backslash escapes
        self.0
            .query_drop("SET SESSION sql_mode = REPLACE(@@sql_mode, 'NO_BACKSLASH_ESCAPES', '')")
            .map_err(query)?;
        self.0
            .query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            .map_err(query)
    }

    fn columns(&mut self, table: &str) -> Result<Vec<Column>, PushdownError> {
        use mysql::prelude::Queryable;
        let (schema, name) = match table.split_once('.') {
            Some((s, t)) => (Some(s.to_string()), t.to_string()),
            None => (None, table.to_string()),
        };
        let rows: Vec<(String, String)> = self
            .0
            .exec(
                "SELECT CAST(COLUMN_NAME AS CHAR), CAST(DATA_TYPE AS CHAR) FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? \
                 ORDER BY ORDINAL_POSITION",
                (schema, name),
            )
            .map_err(|e| PushdownError::Query {
                message: e.to_string(),
            })?;
        Ok(rows
            .into_iter()
            .map(|(name, type_name)| {
                let kind = mysql_kind(&type_name);
                Column {
                    name,
                    type_name,
                    kind,
                    scale: 0,
                }
            })
            .collect())
    }

    fn each_row(&mut self, sql: &str, row: &mut RowSink<'_>) -> Result<(), PushdownError> {
        use mysql::prelude::Queryable;
        let query = |e: mysql::Error| PushdownError::Query {
            message: e.to_string(),
        };
        let result = self.0.query_iter(sql).map_err(query)?;
        let mut values: Vec<Option<String>> = Vec::new();
        for r in result {
            let mut r = r.map_err(query)?;
            values.clear();
            for i in 0..r.len() {
                let v = r
                    .take_opt::<Option<String>, _>(i)
                    .transpose()
                    .map_err(|e| PushdownError::Query {
                        message: e.to_string(),
                    })?
                    .flatten();
                values.push(v);
            }
            row(&values)?;
        }
        Ok(())
    }
}

/// What a MySQL `information_schema` data type holds.
fn mysql_kind(type_name: &str) -> Kind {
    match type_name.to_ascii_lowercase().as_str() {
        "char" | "varchar" | "text" | "tinytext" | "mediumtext" | "longtext" => Kind::Text,
        "date" => Kind::Date,
        "datetime" | "timestamp" => Kind::Timestamp,
        "decimal" | "int" | "bigint" | "smallint" | "tinyint" | "mediumint" => Kind::Exact,
        "float" | "double" => Kind::Float,
        _ => Kind::Other,
    }
}

/// The parts of a `clickhouse://[user[:password]@]host[:port][/database]` URL.
#[derive(Clone)]
pub(crate) struct ClickHouseUrl {
    /// `host:port`, as the URL gives them (port 8123 when none is given).
    host: String,
    port: u16,
    user: Option<String>,
    password: Option<String>,
    /// The database the URL names (`default` when none).
    pub(crate) database: String,
}

impl std::fmt::Debug for ClickHouseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // never the password
        f.debug_struct("ClickHouseUrl")
            .field("address", &self.address())
            .field("user", &self.user)
            .field("database", &self.database)
            .finish()
    }
}

impl ClickHouseUrl {
    /// Reads `url`; the password, when the URL holds none, comes from `CLICKHOUSE_PASSWORD`.
    pub(crate) fn parse(url: &str) -> Result<Self, String> {
        let parsed = url::Url::parse(url).map_err(|e| e.to_string())?;
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("the URL names no host")?
            .to_string();
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let user = Some(parsed.username())
            .filter(|u| !u.is_empty())
            .map(decode);
        let password = parsed
            .password()
            .map(decode)
            .or_else(|| std::env::var("CLICKHOUSE_PASSWORD").ok());
        let database = parsed.path().trim_start_matches('/');
        let database = if database.is_empty() {
            "default".to_string()
        } else {
            decode(database)
        };
        Ok(ClickHouseUrl {
            host,
            port: parsed.port().unwrap_or(8123),
            user,
            password,
            database,
        })
    }

    /// The same server account at another host (a shard), in database `database`.
    pub(crate) fn at(&self, host: &str, database: &str) -> Self {
        ClickHouseUrl {
            host: host.to_string(),
            database: database.to_string(),
            ..self.clone()
        }
    }

    /// `host:port`, for messages.
    pub(crate) fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// A ClickHouse server, over HTTP with the official client. ClickHouse has no transactions:
/// the statements read the table as it is when each runs.
pub(crate) struct ClickHouse {
    runtime: tokio::runtime::Runtime,
    client: clickhouse::Client,
    url: ClickHouseUrl,
}

/// Connects to the ClickHouse server `url` names, and checks that it answers.
pub(crate) fn clickhouse(url: &ClickHouseUrl, shown: &str) -> Result<ClickHouse, PushdownError> {
    let failed = |message: String| PushdownError::Connect {
        url: shown.to_string(),
        message,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| failed(e.to_string()))?;
    // (an IPv6 host comes bracketed from the URL, as HTTP wants it)
    let mut client = clickhouse::Client::default()
        .with_url(format!("http://{}:{}", url.host, url.port))
        .with_database(&url.database);
    if let Some(user) = &url.user {
        client = client.with_user(user);
    }
    if let Some(password) = &url.password {
        client = client.with_password(password);
    }
    let mut ch = ClickHouse {
        runtime,
        client,
        url: url.clone(),
    };
    ch.each_row("SELECT 1", &mut |_| Ok(()))
        .map_err(|e| match e {
            PushdownError::Query { message } => failed(message),
            other => other,
        })?;
    Ok(ch)
}

impl ClickHouse {
    /// `table` (`database.table` or a table of the URL's database) as its two parts.
    pub(crate) fn split<'a>(&'a self, table: &'a str) -> (&'a str, &'a str) {
        table.split_once('.').unwrap_or((&self.url.database, table))
    }

    /// The values of the rows of `sql`.
    pub(crate) fn rows(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, PushdownError> {
        let mut out = Vec::new();
        self.each_row(sql, &mut |r| {
            out.push(r.to_vec());
            Ok(())
        })?;
        Ok(out)
    }

    /// The table's engine and its full definition (`Distributed(cluster, db, table, key)`),
    /// if the table exists.
    pub(crate) fn engine_of(
        &mut self,
        table: &str,
    ) -> Result<Option<(String, String)>, PushdownError> {
        let (db, name) = self.split(table);
        let sql = format!(
            "SELECT engine, engine_full FROM system.tables WHERE database = {} AND name = {}",
            ch_literal(db),
            ch_literal(name)
        );
        let rows = self.rows(&sql)?;
        Ok(rows.into_iter().next().map(|r| {
            let cell = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
            (cell(0), cell(1))
        }))
    }

    /// The address of each shard of `cluster` (its first replica), in shard order.
    pub(crate) fn shards(&mut self, cluster: &str) -> Result<Vec<String>, PushdownError> {
        let sql = format!(
            "SELECT host_address FROM system.clusters WHERE cluster = {} AND replica_num = 1 ORDER BY shard_num",
            ch_literal(cluster)
        );
        Ok(self
            .rows(&sql)?
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect())
    }
}

/// `s` as a ClickHouse string literal.
pub(crate) fn ch_literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

impl Connection for ClickHouse {
    fn begin_snapshot(&mut self) -> Result<(), PushdownError> {
        // no transactions: each statement reads the table as it is
        Ok(())
    }

    fn route(&mut self, shape: &Shape) -> Result<Route, PushdownError> {
        let url = self.url.clone();
        crate::route::clickhouse_route(self, &url, shape)
    }

    fn columns(&mut self, table: &str) -> Result<Vec<Column>, PushdownError> {
        if self.engine_of(table)?.is_none() {
            return Ok(Vec::new());
        }
        let (db, name) = self.split(table);
        let quoted = crate::sql::Dialect::ClickHouse.table(&format!("{db}.{name}"));
        let rows = self.rows(&format!("DESCRIBE TABLE {quoted}"))?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let cell = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
                let (name, type_name) = (cell(0), cell(1));
                let (kind, scale) = clickhouse_kind(&type_name);
                Column {
                    name,
                    type_name,
                    kind,
                    scale,
                }
            })
            .collect())
    }

    fn each_row(&mut self, sql: &str, row: &mut RowSink<'_>) -> Result<(), PushdownError> {
        use tokio::io::AsyncBufReadExt;
        let query = |message: String| PushdownError::Query { message };
        // the client binds `?`; none is meant here
        let sql = sql.replace('?', "??");
        let client = &self.client;
        self.runtime.block_on(async {
            let mut cursor = client
                .query(&sql)
                .fetch_bytes("TabSeparated")
                .map_err(|e| query(e.to_string()))?;
            let mut line = Vec::new();
            loop {
                line.clear();
                let n = cursor
                    .read_until(b'\n', &mut line)
                    .await
                    .map_err(|e| query(clickhouse::error::Error::from(e).to_string()))?;
                if n == 0 {
                    return Ok(());
                }
                if line.pop() != Some(b'\n') {
                    // every row ends its line: the answer was cut short
                    return Err(query(format!(
                        "the answer ended inside a row: `{}`",
                        String::from_utf8_lossy(&line)
                    )));
                }
                // an error met after the first rows is written into the body
                // (an error line holds no tab; every row of these statements does)
                if line.starts_with(b"Code: ")
                    && !line.contains(&b'\t')
                    && line.windows(13).any(|w| w == b"DB::Exception")
                {
                    return Err(query(String::from_utf8_lossy(&line).into_owned()));
                }
                row(&tsv_fields(&line)?)?;
            }
        })
    }
}

/// The values of a `TabSeparated` row: `\N` is NULL, backslash escapes undone. A value that
/// is not UTF-8 is refused: two such ids would both read as U+FFFD and be taken for one.
fn tsv_fields(line: &[u8]) -> Result<Vec<Option<String>>, PushdownError> {
    line.split(|&b| b == b'\t')
        .map(|field| {
            if field == b"\\N" {
                return Ok(None);
            }
            let mut out = Vec::with_capacity(field.len());
            let mut bytes = field.iter();
            while let Some(&b) = bytes.next() {
                if b != b'\\' {
                    out.push(b);
                    continue;
                }
                match bytes.next() {
                    Some(b't') => out.push(b'\t'),
                    Some(b'n') => out.push(b'\n'),
                    Some(b'r') => out.push(b'\r'),
                    Some(b'b') => out.push(0x08),
                    Some(b'f') => out.push(0x0C),
                    Some(b'0') => out.push(0),
                    Some(&other) => out.push(other),
                    None => out.push(b'\\'),
                }
            }
            String::from_utf8(out)
                .map(Some)
                .map_err(|e| PushdownError::BadValue {
                    column: "a ClickHouse value",
                    value: String::from_utf8_lossy(e.as_bytes()).into_owned(),
                    expected: "UTF-8 text",
                })
        })
        .collect()
}

/// What a ClickHouse type holds, and its decimal places (`Nullable(…)` and
/// `LowCardinality(…)` looked through).
fn clickhouse_kind(type_name: &str) -> (Kind, u32) {
    let mut t = type_name.trim();
    while let Some(inner) = ["Nullable(", "LowCardinality("]
        .iter()
        .find_map(|w| t.strip_prefix(w).and_then(|r| r.strip_suffix(')')))
    {
        t = inner.trim();
    }
    let base = t.split('(').next().unwrap_or(t);
    let args: Vec<&str> = t
        .strip_prefix(base)
        .and_then(|r| r.strip_prefix('('))
        .and_then(|r| r.strip_suffix(')'))
        .map(|r| r.split(',').map(str::trim).collect())
        .unwrap_or_default();
    match base {
        "String" | "FixedString" => (Kind::Text, 0),
        // (not Date32: its dates before 1970 would meet the zero-date rule, untested here)
        "Date" => (Kind::Date, 0),
        "DateTime" | "DateTime64" => (Kind::Timestamp, 0),
        "Decimal" => (
            Kind::Exact,
            args.get(1).and_then(|s| s.parse().ok()).unwrap_or(0),
        ),
        "Decimal32" | "Decimal64" | "Decimal128" | "Decimal256" => (
            Kind::Exact,
            args.first().and_then(|s| s.parse().ok()).unwrap_or(0),
        ),
        "Int8" | "Int16" | "Int32" | "Int64" | "Int128" | "Int256" | "UInt8" | "UInt16"
        | "UInt32" | "UInt64" | "UInt128" | "UInt256" => (Kind::Exact, 0),
        "Float32" | "Float64" => (Kind::Float, 0),
        _ => (Kind::Other, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_separated_values_are_unescaped() {
        let fields = tsv_fields(b"\\tC008\t\\N\ta\\\\b\t").ok();
        assert_eq!(
            fields.as_deref(),
            Some(
                &[
                    Some("\tC008".to_string()),
                    None,
                    Some("a\\b".to_string()),
                    Some(String::new())
                ][..]
            )
        );
        let e = tsv_fields(b"C1\t\xff").err();
        assert!(matches!(e, Some(PushdownError::BadValue { .. })), "{e:?}");
    }

    #[test]
    fn clickhouse_types_are_read_through_their_wrappers() {
        assert_eq!(
            clickhouse_kind("Nullable(Decimal(24, 6))"),
            (Kind::Exact, 6)
        );
        assert_eq!(clickhouse_kind("Decimal64(2)"), (Kind::Exact, 2));
        assert_eq!(clickhouse_kind("LowCardinality(String)"), (Kind::Text, 0));
        assert_eq!(
            clickhouse_kind("DateTime('Asia/Shanghai')"),
            (Kind::Timestamp, 0)
        );
        assert_eq!(clickhouse_kind("Nullable(Float64)"), (Kind::Float, 0));
        assert_eq!(clickhouse_kind("UInt64"), (Kind::Exact, 0));
        assert_eq!(clickhouse_kind("Array(String)"), (Kind::Other, 0));
        assert_eq!(
            clickhouse_kind("LowCardinality(Nullable(String))"),
            (Kind::Text, 0)
        );
    }

    #[test]
    fn urls_give_host_port_user_and_database() {
        let u = ClickHouseUrl::parse("clickhouse://ana:p%40ss@10.0.0.1:9123/sales");
        let u = u.expect("url");
        assert_eq!(u.address(), "10.0.0.1:9123");
        assert_eq!(
            (
                u.user.as_deref(),
                u.password.as_deref(),
                u.database.as_str()
            ),
            (Some("ana"), Some("p@ss"), "sales")
        );
        let d = ClickHouseUrl::parse("clickhouse://h").expect("url");
        assert_eq!(
            (d.address(), d.database.as_str()),
            ("h:8123".into(), "default")
        );
    }
}
