//! `stratum scheme publish|log|diff`: the versions of the tiering rules kept in a history
//! store. Every run keeps the scheme it used as a version by itself; `publish` keeps one on
//! purpose with a message and an author, `diff` shows what changed between two.

use std::path::Path;

use anyhow::Result;
use stratum_core::scheme::{SchemeChange, SchemeParams, changes};
use stratum_store::{Store, StoreError};

use super::history::{open, shown};
use super::scheme::load_scheme;
use crate::BadInput;
use crate::cli::{SchemeAction, SchemeArgs};
use crate::terminal::table;

/// Runs `stratum scheme`.
pub fn run(args: SchemeArgs) -> Result<()> {
    let mut store = open(&args.db)?;
    match args.action {
        SchemeAction::Publish {
            file,
            message,
            author,
        } => publish(&mut store, &args.db, &file, &message, author),
        SchemeAction::Log => log(&mut store, &args.db),
        SchemeAction::Diff { from, to } => {
            let (old, new) = (
                scheme_of(&mut store, &args.db, &from)?,
                scheme_of(&mut store, &args.db, &to)?,
            );
            print!("{}", changes_text(&changes(&old, &new)));
            Ok(())
        }
    }
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
    let name = scheme_name(&scheme);
    let (v, new) = store.publish(scheme.text(), name.as_deref(), message.trim(), &author)?;
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

/// The scheme's `name`, when it gives one.
fn scheme_name(scheme: &SchemeParams) -> Option<String> {
    let table: toml::Table = scheme.text().parse().ok()?;
    table.get("name")?.as_str().map(str::to_string)
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

/// The scheme `what` names: a version number in the store, else a scheme file.
fn scheme_of(store: &mut Store, db: &str, what: &str) -> Result<SchemeParams> {
    let Ok(id) = what.parse::<i64>() else {
        return load_scheme(Path::new(what));
    };
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

/// The changes as lines: `+`/`-` for what was added or removed, `~` for what changed.
fn changes_text(list: &[SchemeChange]) -> String {
    if list.is_empty() {
        return "no changes\n".into();
    }
    let rule = |r: &Option<String>| r.clone().unwrap_or_else(|| "(default tier)".into());
    let mut out = String::new();
    for c in list {
        let line = match c {
            SchemeChange::DimensionAdded(d) => format!("+ dimension {d}"),
            SchemeChange::DimensionRemoved(d) => format!("- dimension {d}"),
            SchemeChange::TierAdded {
                dimension,
                tier,
                rule: r,
            } => format!("+ {dimension}.{tier}: {}", rule(r)),
            SchemeChange::TierRemoved {
                dimension,
                tier,
                rule: r,
            } => format!("- {dimension}.{tier}: {}", rule(r)),
            SchemeChange::RuleChanged {
                dimension,
                tier,
                from,
                to,
            } => format!("~ {dimension}.{tier}: {} → {}", rule(from), rule(to)),
            SchemeChange::OrderChanged {
                dimension,
                from,
                to,
            } => format!(
                "~ {dimension} order (best first): {} → {}",
                from.join(", "),
                to.join(", ")
            ),
            SchemeChange::FinalChanged { from, to } => {
                format!("~ final dimension: {from} → {to}")
            }
            SchemeChange::SectionChanged(key) => format!("~ [{key}] changed"),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}
