//! `stratum serve`: the history store behind the HTTP API and the dashboard
//! ([`stratum_server`]); `stratum users`: the server's users and API tokens.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;
use stratum_core::Lang;
use stratum_server::error::ApiError;
use stratum_server::{Server, ServerConfig};
use stratum_store::access::AuditEntry;

use super::history::{open, shown};
use crate::BadInput;
use crate::cli::{Cli, ServeArgs, UsersAction, UsersArgs};
use crate::terminal::table;

/// The default address: this machine only.
const DEFAULT_BIND: &str = "127.0.0.1:8321";

/// The B2B scheme the demo store is tiered with.
const DEMO_SCHEME: &str = include_str!("../../../../schemes/b2b.toml");

/// The demo users' password (printed when the demo starts; the demo listens on loopback).
const DEMO_PASSWORD: &str = "stratum-demo";

/// The `[server]` section of a config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    bind: Option<String>,
    lang: Option<String>,
    currency: Option<String>,
    secure_cookies: Option<bool>,
    session_hours: Option<i64>,
    uploads: Option<std::path::PathBuf>,
    max_upload_mb: Option<usize>,
    run_nice: Option<i32>,
}

/// A `[[schedules]]` entry of a config file (no `Debug`: its source may hold a password).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleSection {
    name: String,
    cron: String,
    #[serde(default)]
    transactions: String,
    /// Instead of `transactions`: a database URL and its table (`segment --source --table`).
    source: Option<String>,
    table: Option<String>,
    customers: Option<String>,
    interactions: Option<String>,
    opportunities: Option<String>,
    scheme: Option<std::path::PathBuf>,
}

/// A `[[sources]]` entry: a database table runs can be started on by name (no `Debug`: its
/// source may hold a password).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceSection {
    name: String,
    source: String,
    table: String,
}

#[derive(Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    schedules: Vec<ScheduleSection>,
    #[serde(default)]
    sources: Vec<SourceSection>,
    /// The public pool's rules, as `stratum pool --config` reads them.
    pool: Option<crate::settings::PoolConfig>,
}

fn lang_of(flag: &str, v: &str) -> Result<Lang> {
    match v {
        "zh" => Ok(Lang::Zh),
        "en" => Ok(Lang::En),
        other => Err(BadInput(format!("{flag} `{other}`: expected zh or en")).into()),
    }
}

/// Runs `stratum serve`.
pub fn run(args: ServeArgs) -> Result<()> {
    let file = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
            toml::from_str::<ConfigFile>(&text)
                .map_err(|e| BadInput(format!("{}: {}", path.display(), e.message())))?
        }
        None => ConfigFile::default(),
    };
    let section = file.server;
    let bind_text = args
        .bind
        .clone()
        .or(section.bind.clone())
        .unwrap_or_else(|| DEFAULT_BIND.into());
    let bind: SocketAddr = bind_text.parse().map_err(|_| {
        BadInput(format!(
            "--bind `{bind_text}`: expected an address and port, e.g. 127.0.0.1:8321 or 0.0.0.0:8321"
        ))
    })?;
    // the demo's store lives in a folder removed when the server stops
    let demo_dir = if args.demo {
        Some(tempfile::tempdir().context("a temporary folder for the demo store")?)
    } else {
        None
    };
    let db = match &demo_dir {
        Some(dir) => fill_demo(dir.path())?,
        None => {
            if !args.db.contains("://") && !Path::new(&args.db).exists() {
                return Err(BadInput(format!(
                    "no history store at `{}`: record runs with `stratum segment --db {}` or `stratum backfill`, or try `stratum serve --demo`",
                    args.db, args.db
                ))
                .into());
            }
            args.db.clone()
        }
    };
    let mut config = ServerConfig::new(&db, bind);
    if let Some(l) = args.lang.as_deref().or(section.lang.as_deref()) {
        config.lang = lang_of("--lang", l)?;
    }
    if let Some(c) = args.currency.clone().or(section.currency.clone()) {
        config.currency = c;
    }
    if let Some(s) = section.secure_cookies {
        config.secure_cookies = s;
    }
    if let Some(h) = section.session_hours {
        if !(1..=24 * 30).contains(&h) {
            return Err(BadInput(format!("[server] session_hours {h}: 1 to 720")).into());
        }
        config.session_hours = h;
    }
    // runs started from the server are this binary's `segment`, in a process of its own
    config.runner = std::env::current_exe().ok();
    config.uploads = match (&section.uploads, &demo_dir) {
        (Some(dir), _) => dir.clone(),
        (None, Some(demo)) => demo.path().join("uploads"),
        (None, None) if !db.contains("://") => Path::new(&db)
            .parent()
            .map_or_else(|| "stratum-uploads".into(), |p| p.join("stratum-uploads")),
        (None, None) => "stratum-uploads".into(),
    };
    if let Some(p) = file.pool {
        config.pool = Some(p.rules()?);
    }
    config.schedules = file
        .schedules
        .into_iter()
        .map(schedule)
        .collect::<Result<_>>()?;
    config.sources = run_sources(file.sources)?;
    if let Some(n) = section.run_nice {
        if !(0..=19).contains(&n) {
            return Err(BadInput(format!("[server] run_nice {n}: 0 to 19")).into());
        }
        config.run_nice = n;
    }
    if let Some(mb) = section.max_upload_mb {
        config.max_upload = mb.saturating_mul(1 << 20);
    }
    // the demo shows the public pool with the default rules
    if args.demo && config.pool.is_none() {
        config.pool = Some(stratum_store::pool::PoolRules::default());
    }
    init_logs();
    let server = Server::bind(config).map_err(|e| BadInput(e.to_string()))?;
    let address = server.local_addr();
    eprintln!(
        "Stratum serving {} on http://{address}/ (API: /api/openapi.json; Ctrl-C stops)",
        if args.demo {
            "the demo store".to_string()
        } else {
            shown(&db)
        }
    );
    if args.demo {
        eprintln!(
            "demo users (password `{DEMO_PASSWORD}`): admin, analyst, viewer, and account managers zhangwei (张伟) and wangfang (王芳)"
        );
    }
    server.run()?;
    drop(demo_dir);
    Ok(())
}

/// A database table of the config (`what` names its entry in errors), checked as `--source
/// URL --table NAME` is: its engine, its URL, its table's name.
fn table_input(
    what: &str,
    url: String,
    table: String,
) -> Result<stratum_server::schedules::TableInput> {
    let checked = stratum_pushdown::TableSource::new(&url, &table)
        .map_err(|e| BadInput(format!("{what}: {e}")))?;
    Ok(stratum_server::schedules::TableInput {
        shown_url: checked.shown_url().to_string(),
        url,
        table,
    })
}

/// The `[[sources]]` entries, checked: names given and unique, URLs as `--source` takes them.
fn run_sources(sections: Vec<SourceSection>) -> Result<Vec<stratum_server::schedules::RunSource>> {
    let mut sources: Vec<stratum_server::schedules::RunSource> = Vec::new();
    for s in sections {
        let name = s.name.trim().to_string();
        if name.is_empty() {
            return Err(BadInput("[[sources]]: a source needs a name".into()).into());
        }
        if sources.iter().any(|o| o.name == name) {
            return Err(BadInput(format!("[[sources]]: two sources are named `{name}`")).into());
        }
        let table = table_input(&format!("source `{name}`"), s.source, s.table)?;
        sources.push(stratum_server::schedules::RunSource { name, table });
    }
    Ok(sources)
}

/// A `[[schedules]]` entry as the server runs it; a `source` is checked as `--source` is (its
/// engine, its table's name) before the server starts.
fn schedule(s: ScheduleSection) -> Result<stratum_server::schedules::Schedule> {
    let source = match (s.source, s.table) {
        (Some(url), Some(table)) => {
            Some(table_input(&format!("schedule `{}`", s.name), url, table)?)
        }
        (None, None) => None,
        (Some(_), None) => {
            return Err(BadInput(format!(
                "schedule `{}`: a source needs its table (table = \"orders\")",
                s.name
            ))
            .into());
        }
        (None, Some(_)) => {
            return Err(BadInput(format!(
                "schedule `{}`: a table needs its source (source = \"postgres://…\")",
                s.name
            ))
            .into());
        }
    };
    Ok(stratum_server::schedules::Schedule {
        name: s.name,
        cron: s.cron,
        transactions: s.transactions,
        source,
        customers: s.customers,
        interactions: s.interactions,
        opportunities: s.opportunities,
        scheme: s.scheme,
    })
}

/// Structured logs on standard error, filtered by $STRATUM_LOG (default `info`).
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("STRATUM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Writes the demo data into `dir`, backfills a store there with quarterly runs tiered by
/// the B2B scheme, adds the demo users; returns the store's path.
fn fill_demo(dir: &Path) -> Result<String> {
    use clap::Parser;
    let data = dir.join("demo");
    let scheme = dir.join("b2b.toml");
    std::fs::write(&scheme, DEMO_SCHEME)?;
    let db = dir.join("stratum.db").to_string_lossy().into_owned();
    let path = |p: &Path| p.to_string_lossy().into_owned();
    eprintln!("filling a demo store: demo data, then quarterly runs from 2024 …");
    let demo = Cli::try_parse_from(["stratum", "demo", "--out", &path(&data)])?;
    let backfill = Cli::try_parse_from([
        "stratum",
        "backfill",
        "--every",
        "quarter",
        "--from",
        "2024-01-01",
        "-t",
        &path(&data.join("transactions.csv")),
        "-c",
        &path(&data.join("customers.csv")),
        "--interactions",
        &path(&data.join("interactions.csv")),
        "--opportunities",
        &path(&data.join("opportunities.csv")),
        "--scheme",
        &path(&scheme),
        "--db",
        &db,
        "-o",
        &path(&dir.join("backfill")),
        "--lang",
        "zh",
    ])?;
    for cli in [demo, backfill] {
        crate::run(cli)?;
    }
    let mut store = open(&db)?;
    for (name, role, book) in [
        ("admin", "admin", None),
        ("analyst", "analyst", None),
        ("viewer", "viewer", None),
        ("zhangwei", "manager", Some("张伟")),
        ("wangfang", "manager", Some("王芳")),
    ] {
        let user = stratum_server::api::make_user(name, role, book, Some(DEMO_PASSWORD))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        store.add_user(&user)?;
    }
    Ok(db)
}

/// Who is acting from the command line, for the audit log.
fn actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_default();
    format!("cli:{user}")
}

/// An API error as the CLI reports it: what the user gave is bad input (exit 1).
fn cli_error(e: ApiError) -> anyhow::Error {
    match e {
        ApiError::BadRequest(_) | ApiError::Conflict(_) | ApiError::NotFound { .. } => {
            BadInput(e.to_string()).into()
        }
        e => anyhow::anyhow!("{e}"),
    }
}

/// Runs `stratum users`.
pub fn users(args: UsersArgs) -> Result<()> {
    if !args.db.contains("://") && !Path::new(&args.db).exists() {
        return Err(BadInput(format!("no history store at `{}`", args.db)).into());
    }
    let mut store = open(&args.db)?;
    match args.action {
        UsersAction::Add {
            name,
            role,
            book,
            password_stdin,
        } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            } else {
                std::env::var("STRATUM_PASSWORD").ok()
            };
            let user =
                stratum_server::api::make_user(&name, &role, book.as_deref(), password.as_deref())
                    .map_err(cli_error)?;
            store.add_user(&user).map_err(|e| match e {
                stratum_store::StoreError::Exists { .. } => BadInput(e.to_string()).into(),
                e => anyhow::Error::from(e),
            })?;
            store.audit(&AuditEntry {
                at: stratum_server::auth::now(),
                actor: actor(),
                action: "user.add".into(),
                detail: format!("{} ({})", user.name, user.role.code()),
            })?;
            eprintln!(
                "added {} ({}{}){}",
                user.name,
                user.role.code(),
                if user.role == stratum_store::access::Role::Manager {
                    format!(", sees the customers of account manager {}", user.book())
                } else {
                    String::new()
                },
                if user.password_hash.is_none() {
                    "; no password: they sign in with API tokens (`stratum users token`)"
                } else {
                    ""
                }
            );
        }
        UsersAction::List => {
            let users = store.users()?;
            if users.is_empty() {
                eprintln!(
                    "no users in `{}`: add one with `stratum users add NAME --role admin`",
                    shown(&args.db)
                );
                return Ok(());
            }
            let rows: Vec<Vec<String>> = users
                .iter()
                .map(|u| {
                    vec![
                        u.name.clone(),
                        u.role.code().into(),
                        if u.role == stratum_store::access::Role::Manager {
                            u.book().into()
                        } else {
                            String::new()
                        },
                        if u.password_hash.is_some() {
                            "yes"
                        } else {
                            "no"
                        }
                        .into(),
                        if u.disabled { "disabled" } else { "" }.into(),
                        u.created_at.clone(),
                    ]
                })
                .collect();
            print!(
                "{}",
                table(
                    &["user", "role", "book", "password", "status", "added"].map(String::from),
                    &rows
                )
            );
        }
        UsersAction::Token { name, label } => {
            let created = stratum_server::api::create_token(&mut store, &name, &label, &actor())
                .map_err(cli_error)?;
            eprintln!(
                "token {} for {name} ({label}); it is shown this once:",
                created.id
            );
            println!("{}", created.token);
        }
        UsersAction::Revoke { id } => {
            store
                .revoke_token(&id, &stratum_server::auth::now())
                .map_err(|e| match e {
                    stratum_store::StoreError::NoToken(_) => BadInput(e.to_string()).into(),
                    e => anyhow::Error::from(e),
                })?;
            store.audit(&AuditEntry {
                at: stratum_server::auth::now(),
                actor: actor(),
                action: "token.revoke".into(),
                detail: id.clone(),
            })?;
            eprintln!("revoked {id}");
        }
    }
    Ok(())
}
