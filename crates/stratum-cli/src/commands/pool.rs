//! `stratum pool`: the public pool (公海): list, claim, release, lock, the log; and the
//! release after each `segment --db` run when the config has a [pool] section.

use anyhow::Result;
use chrono::NaiveDate;
use stratum_core::Lang;
use stratum_store::Store;
use stratum_store::pool::{PoolEntry, PoolRules, PoolState};

use super::history::{open, shown};
use crate::BadInput;
use crate::cli::{PoolAction, PoolArgs};
use crate::settings::{parse_cli_date, read_config};
use crate::terminal::table;

/// Now, as the log records it.
fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Runs `stratum pool`.
pub fn run(args: PoolArgs) -> Result<()> {
    let rules = match &args.config {
        Some(path) => read_config(path)?
            .pool
            .ok_or_else(|| BadInput(format!("`{}` has no [pool] section", path.display())))?
            .rules()?,
        None => PoolRules::default(),
    };
    let as_of = match &args.as_of {
        Some(d) => parse_cli_date("--as-of", d)?,
        None => chrono::Local::now().date_naive(),
    };
    let mut store = open(&args.db)?;
    let refused = |e: stratum_store::StoreError| match e {
        e @ stratum_store::StoreError::Pool(_) => anyhow::Error::new(BadInput(e.to_string())),
        e => anyhow::Error::new(e),
    };
    match args.action {
        PoolAction::List { status, owner } => {
            let wanted = |s: PoolState| match status.as_deref() {
                None => s != PoolState::Owned,
                Some("all") => true,
                Some(code) => s.code() == code,
            };
            if let Some(code) = status.as_deref()
                && !["in_pool", "due", "warning", "owned", "exempt", "all"].contains(&code)
            {
                return Err(BadInput(format!(
                    "--status {code}: give in_pool, due, warning, owned, exempt or all"
                ))
                .into());
            }
            let all = store.pool(&rules, as_of).map_err(refused)?;
            let shown_rows: Vec<&PoolEntry> = all
                .iter()
                .filter(|e| wanted(e.state) && owner.as_ref().is_none_or(|o| &e.owner == o))
                .collect();
            let header = [
                "customer",
                "owner",
                "tier",
                "status",
                "release on",
                "reason",
                "last follow-up",
                "last purchase",
                "since",
            ]
            .map(String::from);
            let day = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
            let rows: Vec<Vec<String>> = shown_rows
                .iter()
                .map(|e| {
                    vec![
                        e.customer.clone(),
                        e.owner.clone(),
                        e.tier.clone(),
                        e.state.code().into(),
                        day(e.release_on),
                        e.reason.into(),
                        day(e.last_follow_up),
                        day(e.last_purchase),
                        day(e.since),
                    ]
                })
                .collect();
            let count = |s: PoolState| all.iter().filter(|e| e.state == s).count();
            println!(
                "as of {as_of}: {} in the pool, {} due for release, {} warned, {} owned, {} exempt",
                count(PoolState::InPool),
                count(PoolState::Due),
                count(PoolState::Warning),
                count(PoolState::Owned),
                count(PoolState::Exempt)
            );
            print!("{}", table(&header, &rows));
        }
        PoolAction::Claim { customer, manager } => {
            let e = store
                .pool_claim(&rules, &customer, &manager, as_of, &now(), &manager)
                .map_err(refused)?;
            println!(
                "{} claimed {} (release on {})",
                e.owner,
                e.customer,
                e.release_on.map_or("–".into(), |d| d.to_string())
            );
        }
        PoolAction::Release { customer, reason } => match customer {
            Some(c) => {
                let actor = std::env::var("USER").unwrap_or_else(|_| "cli".into());
                store
                    .pool_release(&rules, &c, as_of, &now(), &actor, &reason)
                    .map_err(refused)?;
                println!("released {c} to the pool");
            }
            None => {
                let released = store
                    .pool_release_due(&rules, as_of, &now())
                    .map_err(refused)?;
                println!(
                    "released {} customers to the pool as of {as_of}",
                    released.len()
                );
                for e in &released {
                    println!("  {} from {} ({})", e.customer, e.owner, e.reason);
                }
            }
        },
        PoolAction::Lock { customer } => {
            let actor = std::env::var("USER").unwrap_or_else(|_| "cli".into());
            store
                .pool_lock(&rules, &customer, true, as_of, &now(), &actor)
                .map_err(refused)?;
            println!("locked {customer}");
        }
        PoolAction::Unlock { customer } => {
            let actor = std::env::var("USER").unwrap_or_else(|_| "cli".into());
            store
                .pool_lock(&rules, &customer, false, as_of, &now(), &actor)
                .map_err(refused)?;
            println!("unlocked {customer}");
        }
        PoolAction::Log { customer } => {
            let log = store.pool_log(customer.as_deref(), None)?;
            let header = [
                "day", "customer", "action", "from", "to", "by", "reason", "at",
            ]
            .map(String::from);
            let rows: Vec<Vec<String>> = log
                .iter()
                .map(|e| {
                    vec![
                        e.day.to_string(),
                        e.customer.clone(),
                        e.action.clone(),
                        e.from.clone(),
                        e.to.clone(),
                        e.actor.clone(),
                        e.reason.clone(),
                        e.at.clone(),
                    ]
                })
                .collect();
            print!("{}", table(&header, &rows));
        }
    }
    Ok(())
}

/// Applies the pool's rules after a run kept in `db`: releases the customers due at the
/// run's date, and says how many were released and warned.
pub(crate) fn release_after_run(
    store: &mut Store,
    db: &str,
    rules: &PoolRules,
    as_of: NaiveDate,
    lang: Lang,
) -> Result<()> {
    // judged once: the release takes the due, the warned stay
    let all = store.pool(rules, as_of)?;
    let released = store
        .pool_release_of(&all, rules, as_of, &now())
        .map_err(|e| {
            anyhow::anyhow!(
                "the run is kept in `{}`, but the pool's release failed: {e}",
                shown(db)
            )
        })?;
    let warned = all.iter().filter(|e| e.state == PoolState::Warning).count();
    eprintln!(
        "{} {} · {} {}",
        lang.pick("释放到公海：", "released to the pool:"),
        released.len(),
        lang.pick("即将释放（已提醒）：", "due soon (warned):"),
        warned
    );
    Ok(())
}
