//! A database source: `--source URL --table NAME`, its engine from the URL's scheme, and the
//! URL as it may be shown (without its password).

use crate::PushdownError;
use crate::sql::Dialect;

/// The engines a source URL can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// `postgres://` or `postgresql://`: PostgreSQL (and Citus, which speaks its protocol).
    Postgres,
    /// `mysql://` or `mariadb://`: the MySQL protocol (MySQL, MariaDB, Doris, StarRocks).
    MySql,
    /// `clickhouse://`: ClickHouse over HTTP (port 8123), one server or a sharded cluster.
    ClickHouse,
    /// `sc://`: Spark Connect (port 15002), which shuffles rows by customer itself.
    Spark,
}

impl Engine {
    /// The engine's name in the quality report.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Postgres => "postgresql",
            Engine::MySql => "mysql",
            Engine::ClickHouse => "clickhouse",
            Engine::Spark => "spark",
        }
    }

    /// The SQL dialect it speaks.
    pub fn dialect(self) -> Dialect {
        match self {
            Engine::Postgres => Dialect::Postgres,
            Engine::MySql => Dialect::MySql,
            Engine::ClickHouse => Dialect::ClickHouse,
            Engine::Spark => Dialect::Spark,
        }
    }
}

/// A table in a database.
#[derive(Clone)]
pub struct TableSource {
    engine: Engine,
    /// The URL as given (it may hold a password: never shown).
    url: String,
    /// The URL without its password.
    shown: String,
    table: String,
}

impl std::fmt::Debug for TableSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableSource")
            .field("engine", &self.engine)
            .field("url", &self.shown)
            .field("table", &self.table)
            .finish()
    }
}

impl TableSource {
    /// The table `table` of the database at `url`.
    pub fn new(url: &str, table: &str) -> Result<Self, PushdownError> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| PushdownError::BadUrl {
            url: redact(url),
            message: "expected scheme://host/database, such as postgres://user@host:5432/db".into(),
        })?;
        let engine = match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => Engine::Postgres,
            "mysql" | "mariadb" => Engine::MySql,
            "clickhouse" => Engine::ClickHouse,
            "sc" if cfg!(feature = "spark") => Engine::Spark,
            "sc" => {
                return Err(PushdownError::NotYet {
                    scheme: scheme.to_string(),
                });
            }
            _ => {
                return Err(PushdownError::BadUrl {
                    url: redact(url),
                    message: format!(
                        "`{scheme}://` names no engine Stratum reads; use postgres://, mysql:// or clickhouse://"
                    ),
                });
            }
        };
        if rest.is_empty() {
            return Err(PushdownError::BadUrl {
                url: redact(url),
                message: "the URL names no host".into(),
            });
        }
        if engine == Engine::Spark
            && let Err(message) = check_spark(rest)
        {
            return Err(PushdownError::BadUrl {
                url: redact(url),
                message,
            });
        }
        let valid_part = |p: &str| !p.is_empty() && !p.contains('\0');
        if !table.split('.').all(valid_part) || table.split('.').count() > 2 {
            return Err(PushdownError::BadTable {
                table: table.to_string(),
            });
        }
        // MariaDB's URL is MySQL's
        let url = match engine {
            Engine::MySql => format!("mysql://{rest}"),
            Engine::Postgres | Engine::ClickHouse | Engine::Spark => url.to_string(),
        };
        Ok(TableSource {
            engine,
            shown: redact(&url),
            url,
            table: table.to_string(),
        })
    }

    /// The engine.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The table as named.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The URL as it may be shown: without its password.
    pub fn shown_url(&self) -> &str {
        &self.shown
    }

    /// `URL table NAME`, for messages.
    pub fn shown(&self) -> String {
        format!("{} table {}", self.shown, self.table)
    }

    /// The URL with its secrets, for connecting only.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}

/// Checks a Spark Connect URL past `sc://` as its client reads it: `host[:port]`, then
/// optionally `/;key=value;…` (a user or token goes there, never before the host).
fn check_spark(rest: &str) -> Result<(), String> {
    let (authority, params) = match rest.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (rest, None),
    };
    if authority.is_empty() || authority.contains(['@', ';', '?', '#']) {
        return Err("expected sc://host:15002 or sc://host:15002/;key=value;…".into());
    }
    if let Some((_, port)) = authority.rsplit_once(':')
        && port.parse::<u16>().is_err()
    {
        return Err("the port must be a number (sc://host:15002)".into());
    }
    match params {
        None | Some("") => Ok(()),
        Some(p) => {
            let p = p
                .strip_prefix(';')
                .ok_or("parameters follow `/;`: sc://host:15002/;key=value")?;
            // a value may hold `=` (base64 padding); a key is a plain word
            p.split(';')
                .filter(|kv| !kv.is_empty())
                .try_for_each(|kv| match kv.split_once('=') {
                    Some((k, _))
                        if !k.is_empty()
                            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
                    {
                        Ok(())
                    }
                    _ => Err(
                        "each parameter is key=value: sc://host:15002/;token=…;user_id=…"
                            .to_string(),
                    ),
                })
        }
    }
}

/// `url` without the password of its user part (`user:secret@host` → `user@host`) and
/// without its query string (`?password=…`), fragment or Spark Connect parameters
/// (`;token=…`). When an `@` could end a user part or sit in a query or parameter (a
/// password holding an unencoded `/`, `?`, `#` or `;`, or `?user=a@b`), nothing past the
/// scheme is shown: `scheme://…`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (user, host) = match rest.rfind('@') {
        Some(at) if rest[..at].contains(['/', '?', '#', ';']) => {
            return format!("{scheme}://…");
        }
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or_default();
            (format!("{user}@"), &rest[at + 1..])
        }
        None => (String::new(), rest),
    };
    // none of a query string, a fragment or Spark Connect's `;key=value` parameters (a
    // token among them) is shown
    let (host, query) = match host.find(['?', '#', ';']) {
        Some(i) if host.as_bytes()[i] == b';' => (&host[..i], ";…"),
        Some(i) => (&host[..i], "?…"),
        None => (host, ""),
    };
    format!("{scheme}://{user}{host}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_never_shown() {
        assert_eq!(
            redact("postgres://ana:s3cr:et@db.example:5432/sales"),
            "postgres://ana@db.example:5432/sales"
        );
        assert_eq!(
            redact("mysql://root@127.0.0.1:3306/test?password=x"),
            "mysql://root@127.0.0.1:3306/test?…"
        );
        assert_eq!(redact("postgres://host/db"), "postgres://host/db");
        assert_eq!(redact("mysql://h/db?password=x"), "mysql://h/db?…");
        assert_eq!(redact("mysql://u@h?password=x"), "mysql://u@h?…");
        assert_eq!(redact("postgres://ana:ab/cd@db:5432/sales"), "postgres://…");
        assert_eq!(
            redact("postgres://ana:p@ss@db/s#x"),
            "postgres://ana@db/s?…"
        );
        assert_eq!(
            redact("--source=postgres://u:p@h/db"),
            "--source=postgres://u@h/db"
        );
        assert_eq!(redact("clickhouse://ana:p#ss@h/db"), "clickhouse://…");
        assert_eq!(redact("mysql://ana:a?b@h/db?x=1"), "mysql://…");
        // an `@` in a query or in Spark's parameters: none of it shown
        assert_eq!(
            redact("postgres://h/db?user=a@b&password=x"),
            "postgres://…"
        );
        assert_eq!(redact("postgres://h:5432/db?password=a@b"), "postgres://…");
        assert_eq!(
            redact("sc://spark.internal/;token=S;user_id=ana@corp.com"),
            "sc://…"
        );
        let s = TableSource::new("mariadb://u:pw@h/db", "orders").map(|s| s.shown());
        assert_eq!(s.ok().as_deref(), Some("mysql://u@h/db table orders"));
        let debug = TableSource::new("postgres://u:pw@h/db", "t").map(|s| format!("{s:?}"));
        assert!(debug.is_ok_and(|d| !d.contains("pw")));
    }

    #[test]
    fn spark_urls_are_checked_as_the_client_reads_them() {
        assert_eq!(check_spark("h:15002"), Ok(()));
        assert_eq!(check_spark("h"), Ok(()));
        assert_eq!(check_spark("h:15002/"), Ok(()));
        assert_eq!(check_spark("h:15002/;token=abc==;user_id=ana"), Ok(()));
        for bad in [
            "h:15002;token=x",
            "ana@h:15002",
            "h:port",
            "h:15002/token=x",
            "h:15002/;token",
            "h:15002/;=x",
            "",
        ] {
            assert!(check_spark(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_and_later_engines_are_named() {
        let e = TableSource::new("sc://h:15002", "t").err();
        if cfg!(feature = "spark") {
            assert!(e.is_none());
        } else {
            assert!(matches!(e, Some(PushdownError::NotYet { .. })));
        }
        assert_eq!(
            redact("sc://h:15002/;token=s3cret;user_id=ana"),
            "sc://h:15002/;…"
        );
        let s = TableSource::new("clickhouse://u:pw@h:8123/db", "t");
        assert!(s.is_ok_and(
            |s| s.engine() == Engine::ClickHouse && s.shown_url() == "clickhouse://u@h:8123/db"
        ));
        let e = TableSource::new("oracle://h/db", "t").err();
        assert!(matches!(e, Some(PushdownError::BadUrl { .. })));
        let e = TableSource::new("postgres://h/db", "a.b.c").err();
        assert!(matches!(e, Some(PushdownError::BadTable { .. })));
        let e = TableSource::new("h/db", "t").err();
        assert!(matches!(e, Some(PushdownError::BadUrl { .. })));
    }
}
