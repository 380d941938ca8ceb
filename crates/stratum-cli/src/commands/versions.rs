//! `stratum scheme publish|log|diff`: the versions of the tiering rules kept in a history
//! store. Every run keeps the scheme it used as a version by itself; `publish` keeps one on
//! purpose with a message and an author, `diff` shows what changed between two.

use std::path::Path;

use anyhow::Result;
use stratum_core::Lang;
use stratum_core::scheme::{SchemeParams, changes};
use stratum_store::{Store, StoreError};

use super::history::{open, shown};
use super::scheme::load_scheme;
use crate::BadInput;
use crate::cli::{SchemeAction, SchemeArgs};
use crate::terminal::table;

/// Runs `stratum scheme`.
pub fn run(args: SchemeArgs) -> Result<()> {
    match args.action {
        SchemeAction::Publish {
            file,
            message,
            author,
        } => publish(&mut open(&args.db)?, &args.db, &file, &message, author),
        SchemeAction::Log => {
            if is_missing_file(&args.db) {
                eprintln!("no history store at `{}`", args.db);
                return Ok(());
            }
            log(&mut open(&args.db)?, &args.db)
        }
        SchemeAction::Diff { from, to } => {
            // the store is opened only for a version number (two files need none)
            let mut store = None;
            let mut scheme = |what: &str| -> Result<SchemeParams> {
                if what.parse::<i64>().is_err() || Path::new(what).is_file() {
                    return load_scheme(Path::new(what));
                }
                if store.is_none() {
                    if is_missing_file(&args.db) {
                        return Err(BadInput(format!(
                            "no history store at `{}` for scheme version {what}",
                            args.db
                        ))
                        .into());
                    }
                    store = Some(open(&args.db)?);
                }
                match store.as_mut() {
                    Some(store) => scheme_of(store, &args.db, what),
                    None => Err(anyhow::anyhow!(
                        "the history store `{}` did not open",
                        args.db
                    )),
                }
            };
            let (old, new) = (scheme(&from)?, scheme(&to)?);
            print!(
                "{}",
                stratum_io::changes::text(&changes(&old, &new), Lang::En)
            );
            Ok(())
        }
    }
}

/// Whether `db` names a SQLite file that does not exist (reading commands do not create one).
fn is_missing_file(db: &str) -> bool {
    !db.contains("://") && !Path::new(db).exists()
}

/// `stratum scheme publish`: the file must be a scheme (a syntax error names its line).
fn publish(
    store: &mut Store,
    db: &str,
    file: &Path,
    message: &str,
    author: Option<String>,
) -> Result<()> {
    if message.trim().is_empty() {
        return Err(BadInput("--message is empty: say what changed and why".into()).into());
    }
    let scheme = load_scheme(file)?;
    let author = author
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("USERNAME").ok())
        .unwrap_or_default();
    let (v, new) = store.publish(scheme.text(), scheme.name(), message.trim(), &author)?;
    if new {
        eprintln!(
            "published scheme version {} ({}) → {}",
            v.id,
            &v.hash[..12],
            shown(db)
        );
    } else {
        eprintln!(
            "scheme version {} has this text already ({}: {}); nothing published",
            v.id, v.created_at, v.message
        );
    }
    Ok(())
}

/// `stratum scheme log`.
fn log(store: &mut Store, db: &str) -> Result<()> {
    let versions = store.versions()?;
    if versions.is_empty() {
        eprintln!(
            "no scheme versions in `{}` yet: a run with --scheme keeps its scheme, `stratum scheme publish FILE -m …` keeps one",
            shown(db)
        );
        return Ok(());
    }
    let header: Vec<String> = ["version", "created", "author", "name", "sha256", "message"]
        .map(String::from)
        .to_vec();
    let rows: Vec<Vec<String>> = versions
        .iter()
        .map(|v| {
            vec![
                v.id.to_string(),
                v.created_at.clone(),
                v.author.clone(),
                v.name.clone().unwrap_or_default(),
                v.hash[..12].to_string(),
                v.message.clone(),
            ]
        })
        .collect();
    print!("{}", table(&header, &rows));
    Ok(())
}

/// Scheme version `what` (a number) of the store.
fn scheme_of(store: &mut Store, db: &str, what: &str) -> Result<SchemeParams> {
    let id: i64 = what.parse()?;
    let v = store.version(id).map_err(|e| match e {
        StoreError::NoVersion(_) => anyhow::Error::new(BadInput(format!(
            "no scheme version {id} in `{}` (`stratum scheme log` lists them)",
            shown(db)
        ))),
        e => anyhow::Error::new(e),
    })?;
    SchemeParams::from_toml(&v.text)
        .map_err(|e| anyhow::anyhow!("scheme version {id} in `{}` does not read: {e}", shown(db)))
}
