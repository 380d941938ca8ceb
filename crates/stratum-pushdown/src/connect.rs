//! Connections to the engines: the table's columns, and the rows of a statement streamed as
//! text.

use postgres::fallible_iterator::FallibleIterator;

use crate::PushdownError;
use crate::source::{Engine, TableSource};
use crate::sql::{Column, Kind};

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
}

/// Connects to the source's database; a password missing from the URL is taken from
/// `PGPASSWORD` (PostgreSQL) or `MYSQL_PWD` (MySQL protocol).
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
