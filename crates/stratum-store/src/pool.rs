//! The public pool (公海): customers an account manager has not followed up or sold to for too
//! long are released to the pool, where another manager may claim them.
//!
//! Rules ([`PoolRules`], the config's `[pool]`):
//! - A customer's owner is the account manager the latest run gives them, until the pool
//!   changes it (a release makes the pool the owner, a claim the claimer). Locked customers
//!   and those of an exempt tier are never released.
//! - An owned customer is released when the follow-up clock or the deal clock runs out: `N`
//!   days (`no_follow_up_days`, per tier if set) after the later of their last follow-up and
//!   the day their owner got them; or `M` days (`no_deal_days`) after the later of their last
//!   purchase and that day. The release day is the earlier of the two; a warning is due `K`
//!   days (`warning_days`) before it.
//! - A manager may claim a customer of the pool unless they own `max_owned` customers already
//!   (保有量), claimed `daily_claims` today, or released this customer less than
//!   `cooldown_days` ago.
//! - Every release and claim is logged, with the reason and who (or which rule) did it.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::access::Value;
use crate::{Store, StoreError};

/// The pool's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolRules {
    /// N: days without a follow-up before a release.
    pub no_follow_up_days: u32,
    /// M: days without a purchase before a release.
    pub no_deal_days: u32,
    /// K: days before a release the owner is warned.
    pub warning_days: u32,
    /// Per final tier's code: its own N and M (longer for high-value customers).
    pub tiers: HashMap<String, (Option<u32>, Option<u32>)>,
    /// Final tiers never released.
    pub exempt_tiers: Vec<String>,
    /// The most customers a manager may own (none: no cap).
    pub max_owned: Option<usize>,
    /// The most claims a manager may make in a day (none: no limit).
    pub daily_claims: Option<usize>,
    /// Days the manager who lost a customer to the pool may not claim them back.
    pub cooldown_days: u32,
}

impl Default for PoolRules {
    fn default() -> Self {
        PoolRules {
            no_follow_up_days: 30,
            no_deal_days: 90,
            warning_days: 7,
            tiers: HashMap::new(),
            exempt_tiers: Vec::new(),
            max_owned: None,
            daily_claims: None,
            cooldown_days: 30,
        }
    }
}

/// Where a customer stands with the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolState {
    /// In the pool: anyone may claim them.
    InPool,
    /// Owned and past the release day: the next release takes them.
    Due,
    /// Owned, within the warning days of the release day.
    Warning,
    /// Owned, not near release.
    Owned,
    /// Locked, or of an exempt tier: never released.
    Exempt,
}

impl PoolState {
    /// The code given in files and the API.
    pub fn code(self) -> &'static str {
        match self {
            PoolState::InPool => "in_pool",
            PoolState::Due => "due",
            PoolState::Warning => "warning",
            PoolState::Owned => "owned",
            PoolState::Exempt => "exempt",
        }
    }
}

/// A customer of the latest run as the pool sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolEntry {
    /// The customer.
    pub customer: String,
    /// The owner (empty: the pool).
    pub owner: String,
    /// The final tier's code.
    pub tier: String,
    /// Where they stand.
    pub state: PoolState,
    /// The day they are released (owned, not exempt).
    pub release_on: Option<NaiveDate>,
    /// Why: `no_follow_up` or `no_deal`, the clock that runs out first.
    pub reason: &'static str,
    /// Their last follow-up.
    pub last_follow_up: Option<NaiveDate>,
    /// Their last purchase.
    pub last_purchase: Option<NaiveDate>,
    /// Since when the owner has them (a claim), when the pool changed the owner.
    pub since: Option<NaiveDate>,
    /// Whether they are locked.
    pub locked: bool,
}

impl PoolEntry {
    /// Works out the entry's state, release day and reason under `rules` at `as_of`, from its
    /// owner, lock, tier, last follow-up, last purchase and since.
    fn judge(&mut self, rules: &PoolRules, as_of: NaiveDate) {
        (self.release_on, self.reason) = (None, "");
        self.state = if self.owner.is_empty() {
            PoolState::InPool
        } else if self.locked || rules.exempt_tiers.contains(&self.tier) {
            PoolState::Exempt
        } else {
            let (n, m) = rules.tiers.get(&self.tier).copied().unwrap_or((None, None));
            let n = n.unwrap_or(rules.no_follow_up_days);
            let m = m.unwrap_or(rules.no_deal_days);
            // a day beyond the calendar: never
            let after = |d: Option<NaiveDate>, days: u32| {
                d.max(self.since)?
                    .checked_add_days(chrono::Days::new(u64::from(days)))
            };
            let follow = after(self.last_follow_up, n);
            let deal = after(self.last_purchase, m);
            let (on, reason) = match (follow, deal) {
                (Some(f), Some(d)) if d < f => (Some(d), "no_deal"),
                (Some(f), _) => (Some(f), "no_follow_up"),
                (None, Some(d)) => (Some(d), "no_deal"),
                (None, None) => (None, ""),
            };
            self.release_on = on;
            self.reason = reason;
            match on {
                Some(on) if on <= as_of => PoolState::Due,
                Some(on)
                    if on
                        .checked_sub_days(chrono::Days::new(u64::from(rules.warning_days)))
                        .is_none_or(|w| w <= as_of) =>
                {
                    PoolState::Warning
                }
                _ => PoolState::Owned,
            }
        };
    }

    /// The entry with the pool's change applied: `owner` from `since`, `locked`.
    fn changed(
        mut self,
        owner: &str,
        since: Option<NaiveDate>,
        locked: bool,
        rules: &PoolRules,
        as_of: NaiveDate,
    ) -> PoolEntry {
        self.owner = owner.to_string();
        self.since = since;
        self.locked = locked;
        self.judge(rules, as_of);
        self
    }
}

/// A release or a claim, as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolEvent {
    /// When (RFC 3339).
    pub at: String,
    /// The day it counts for.
    pub day: NaiveDate,
    /// The customer.
    pub customer: String,
    /// `release`, `claim`, `lock` or `unlock`.
    pub action: String,
    /// The owner before.
    pub from: String,
    /// The owner after.
    pub to: String,
    /// Why (a rule, or what the user wrote).
    pub reason: String,
    /// Who (a user, or `rules`).
    pub actor: String,
}

/// Why a claim or a release is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolRefusal {
    /// The customer is not in the latest run.
    #[error("no customer `{0}` in the latest run")]
    NoCustomer(String),
    /// A claim of a customer someone owns.
    #[error("`{customer}` is not in the pool: {owner} owns them")]
    NotInPool {
        /// The customer.
        customer: String,
        /// Their owner.
        owner: String,
    },
    /// A release of a customer already in the pool.
    #[error("`{0}` is in the pool already")]
    InPool(String),
    /// A locked customer.
    #[error("`{0}` is locked: unlock them first")]
    Locked(String),
    /// The claimer owns the most customers allowed.
    #[error("{manager} owns {owned} customers, the most allowed (max_owned = {max})")]
    Cap {
        /// The claimer.
        manager: String,
        /// How many they own.
        owned: usize,
        /// The cap.
        max: usize,
    },
    /// The claimer claimed the most allowed today.
    #[error("{manager} claimed {max} customers on {day} already (daily_claims = {max})")]
    Daily {
        /// The claimer.
        manager: String,
        /// The day.
        day: NaiveDate,
        /// The limit.
        max: usize,
    },
    /// The claimer lost this customer to the pool too recently.
    #[error(
        "{manager} lost `{customer}` to the pool on {released}: they may claim them again from {until}"
    )]
    Cooldown {
        /// The claimer.
        manager: String,
        /// The customer.
        customer: String,
        /// When it was released.
        released: NaiveDate,
        /// The first day they may claim it.
        until: NaiveDate,
    },
}

/// One customer's row of `pool_owners`.
struct Owned {
    owner: String,
    since: Option<NaiveDate>,
    locked: bool,
}

fn text(row: &[Value], i: usize) -> String {
    crate::access::opt_text_at(row, i).unwrap_or_default()
}

fn day(text: &str) -> Option<NaiveDate> {
    text.get(..10)?.parse().ok()
}

impl Store {
    fn pool_owners(&mut self) -> Result<HashMap<String, Owned>, StoreError> {
        let rows = self.db.query(
            "SELECT customer, owner, since, locked FROM pool_owners",
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    text(r, 0),
                    Owned {
                        owner: text(r, 1),
                        since: day(&text(r, 2)),
                        locked: matches!(r.get(3), Some(Value::Int(n)) if *n != 0),
                    },
                )
            })
            .collect())
    }

    /// The owners the pool gave customers (empty: in the pool), by customer.
    pub fn pool_owner_map(&mut self) -> Result<HashMap<String, String>, StoreError> {
        Ok(self
            .pool_owners()?
            .into_iter()
            .map(|(c, o)| (c, o.owner))
            .collect())
    }

    /// Every customer of the latest run as the pool sees them at `as_of`, in customer order.
    pub fn pool(
        &mut self,
        rules: &PoolRules,
        as_of: NaiveDate,
    ) -> Result<Vec<PoolEntry>, StoreError> {
        let Some(run) = self.latest_run_id()? else {
            return Err(StoreError::NoRuns);
        };
        let kept = self.kept_columns(run, Some(&["account_manager".to_string()]))?;
        let text_scheme = self.db.scheme_text(run)?;
        let scheme =
            text_scheme.and_then(|t| stratum_core::scheme::SchemeParams::from_toml(&t).ok());
        let dimension = crate::overview::final_dimension(scheme.as_ref(), &kept.layout);
        let tiers = crate::migrate::Tiers::of(&kept.layout, &dimension);
        let managers = match kept.profile.column("account_manager") {
            Some(stratum_core::scheme::ColumnData::Text(t)) => (0..kept.rows.len())
                .map(|i| t.get(i).unwrap_or("").to_string())
                .collect(),
            _ => vec![String::new(); kept.rows.len()],
        };
        let owners = self.pool_owners()?;
        let follow_ups = self.last_follow_ups(None)?;
        let mut out: Vec<PoolEntry> = kept
            .rows
            .iter()
            .zip(&kept.codes)
            .zip(managers)
            .map(|((s, code), manager)| {
                let tier = tiers
                    .as_ref()
                    .and_then(|t| (t.pick)(s).and_then(|i| t.names.get(i).cloned()))
                    .unwrap_or_default();
                let kept_owner = owners.get(code.as_str());
                let owner = kept_owner.map_or(manager, |o| o.owner.clone());
                let since = kept_owner.and_then(|o| o.since);
                let locked = kept_owner.is_some_and(|o| o.locked);
                let last_purchase = crate::chunk::date(s.last_purchase);
                let last_follow_up = follow_ups.get(code.as_str()).copied();
                let mut e = PoolEntry {
                    customer: code.clone(),
                    owner,
                    tier,
                    state: PoolState::Owned,
                    release_on: None,
                    reason: "",
                    last_follow_up,
                    last_purchase,
                    since,
                    locked,
                };
                e.judge(rules, as_of);
                e
            })
            .collect();
        out.sort_by(|a, b| a.customer.cmp(&b.customer));
        Ok(out)
    }

    /// Releases every customer due at `as_of` to the pool, logging each with the rule that
    /// released them; returns them.
    pub fn pool_release_due(
        &mut self,
        rules: &PoolRules,
        as_of: NaiveDate,
        at: &str,
    ) -> Result<Vec<PoolEntry>, StoreError> {
        let all = self.pool(rules, as_of)?;
        self.pool_release_of(&all, rules, as_of, at)
    }

    /// [`Store::pool_release_due`] of `all`, the pool as [`Store::pool`] judged it at `as_of`
    /// (for a caller that reads the rest of it too).
    pub fn pool_release_of(
        &mut self,
        all: &[PoolEntry],
        rules: &PoolRules,
        as_of: NaiveDate,
        at: &str,
    ) -> Result<Vec<PoolEntry>, StoreError> {
        let due: Vec<PoolEntry> = all
            .iter()
            .filter(|e| e.state == PoolState::Due)
            .cloned()
            .collect();
        let mut statements = Vec::new();
        let reasons: Vec<String> = due
            .iter()
            .map(|e| {
                let (n, m) = rules.tiers.get(&e.tier).copied().unwrap_or((None, None));
                match e.reason {
                    "no_deal" => format!(
                        "no purchase for {} days (last {})",
                        m.unwrap_or(rules.no_deal_days),
                        e.last_purchase.map_or("never".into(), |d| d.to_string())
                    ),
                    _ => format!(
                        "no follow-up for {} days (last {})",
                        n.unwrap_or(rules.no_follow_up_days),
                        e.last_follow_up.map_or("never".into(), |d| d.to_string())
                    ),
                }
            })
            .collect();
        for (e, reason) in due.iter().zip(&reasons) {
            statements.extend(owner_change(&e.customer, "", Some(as_of), false));
            statements.push(log(
                at,
                as_of,
                &e.customer,
                "release",
                &e.owner,
                "",
                reason,
                "rules",
            ));
        }
        self.db.execute_all(&statements)?;
        Ok(due)
    }

    /// Releases `customer` to the pool by hand (their owner, or an analyst).
    pub fn pool_release(
        &mut self,
        rules: &PoolRules,
        customer: &str,
        as_of: NaiveDate,
        at: &str,
        actor: &str,
        reason: &str,
    ) -> Result<PoolEntry, StoreError> {
        let e = self.pool_entry(rules, customer, as_of)?;
        if e.state == PoolState::InPool {
            return Err(PoolRefusal::InPool(customer.into()).into());
        }
        if e.locked {
            return Err(PoolRefusal::Locked(customer.into()).into());
        }
        let mut statements = owner_change(customer, "", Some(as_of), false);
        statements.push(log(
            at, as_of, customer, "release", &e.owner, "", reason, actor,
        ));
        self.db.execute_all(&statements)?;
        Ok(e.changed("", Some(as_of), false, rules, as_of))
    }

    /// Claims `customer` from the pool for `manager` on `as_of`, within the cap, the daily
    /// limit and the cool-down.
    pub fn pool_claim(
        &mut self,
        rules: &PoolRules,
        customer: &str,
        manager: &str,
        as_of: NaiveDate,
        at: &str,
        actor: &str,
    ) -> Result<PoolEntry, StoreError> {
        let all = self.pool(rules, as_of)?;
        let e = all
            .iter()
            .find(|e| e.customer == customer)
            .ok_or_else(|| PoolRefusal::NoCustomer(customer.into()))?
            .clone();
        if e.state != PoolState::InPool {
            return Err(PoolRefusal::NotInPool {
                customer: customer.into(),
                owner: e.owner.clone(),
            }
            .into());
        }
        if let Some(max) = rules.max_owned {
            let owned = all.iter().filter(|x| x.owner == manager).count();
            if owned >= max {
                return Err(PoolRefusal::Cap {
                    manager: manager.into(),
                    owned,
                    max,
                }
                .into());
            }
        }
        let events = self.pool_log(Some(customer), None)?;
        if let Some(max) = rules.daily_claims {
            let today = self
                .pool_log(None, Some(manager))?
                .iter()
                .filter(|x| x.action == "claim" && x.day == as_of)
                .count();
            if today >= max {
                return Err(PoolRefusal::Daily {
                    manager: manager.into(),
                    day: as_of,
                    max,
                }
                .into());
            }
        }
        // the latest release of this customer by this manager
        if let Some(r) = events
            .iter()
            .find(|x| x.action == "release" && x.from == manager)
        {
            let until = r
                .day
                .checked_add_days(chrono::Days::new(u64::from(rules.cooldown_days)))
                .unwrap_or(NaiveDate::MAX);
            if as_of < until {
                return Err(PoolRefusal::Cooldown {
                    manager: manager.into(),
                    customer: customer.into(),
                    released: r.day,
                    until,
                }
                .into());
            }
        }
        let mut statements = claim_change(customer, manager, as_of);
        statements.push(log(
            at,
            as_of,
            customer,
            "claim",
            "",
            manager,
            "claimed from the pool",
            actor,
        ));
        match self.db.execute_all(&statements) {
            // another claim took them first
            Err(StoreError::Conflict) => {
                let now = self.pool_entry(rules, customer, as_of)?;
                return Err(PoolRefusal::NotInPool {
                    customer: customer.into(),
                    owner: now.owner,
                }
                .into());
            }
            r => r?,
        }
        Ok(e.changed(manager, Some(as_of), false, rules, as_of))
    }

    /// Locks `customer` with their owner (never released) or unlocks them.
    pub fn pool_lock(
        &mut self,
        rules: &PoolRules,
        customer: &str,
        locked: bool,
        as_of: NaiveDate,
        at: &str,
        actor: &str,
    ) -> Result<PoolEntry, StoreError> {
        let e = self.pool_entry(rules, customer, as_of)?;
        if e.state == PoolState::InPool {
            return Err(PoolRefusal::InPool(customer.into()).into());
        }
        let mut statements = owner_change(customer, &e.owner, e.since, locked);
        let action = if locked { "lock" } else { "unlock" };
        statements.push(log(
            at, as_of, customer, action, &e.owner, &e.owner, "", actor,
        ));
        self.db.execute_all(&statements)?;
        let (owner, since) = (e.owner.clone(), e.since);
        Ok(e.changed(&owner, since, locked, rules, as_of))
    }

    fn pool_entry(
        &mut self,
        rules: &PoolRules,
        customer: &str,
        as_of: NaiveDate,
    ) -> Result<PoolEntry, StoreError> {
        self.pool(rules, as_of)?
            .into_iter()
            .find(|e| e.customer == customer)
            .ok_or_else(|| PoolRefusal::NoCustomer(customer.into()).into())
    }

    /// The pool's log, newest first: of one customer, or of the releases from and claims by
    /// one manager.
    pub fn pool_log(
        &mut self,
        customer: Option<&str>,
        manager: Option<&str>,
    ) -> Result<Vec<PoolEvent>, StoreError> {
        let (filter, params): (&str, Vec<Value>) = match (customer, manager) {
            (Some(c), _) => (" WHERE customer = $1", vec![c.into()]),
            (None, Some(m)) => (" WHERE from_owner = $1 OR to_owner = $1", vec![m.into()]),
            (None, None) => ("", Vec::new()),
        };
        let rows = self.db.query(
            &format!(
                "SELECT at, day, customer, action, from_owner, to_owner, reason, actor \
                 FROM pool_log{filter} ORDER BY seq DESC"
            ),
            &params,
        )?;
        Ok(rows
            .iter()
            .map(|r| PoolEvent {
                at: text(r, 0),
                day: day(&text(r, 1)).unwrap_or_default(),
                customer: text(r, 2),
                action: text(r, 3),
                from: text(r, 4),
                to: text(r, 5),
                reason: text(r, 6),
                actor: text(r, 7),
            })
            .collect())
    }
}

/// The statements that make `owner` the owner of `customer` from `since` (none: as the run
/// gave them, the clocks not restarted).
fn owner_change(
    customer: &str,
    owner: &str,
    since: Option<NaiveDate>,
    locked: bool,
) -> Vec<crate::Statement<'static>> {
    let since = since.map(|d| d.to_string()).unwrap_or_default();
    vec![
        (
            "DELETE FROM pool_owners WHERE customer = $1",
            vec![customer.into()],
            false,
        ),
        (
            "INSERT INTO pool_owners (customer, owner, since, locked) VALUES ($1, $2, $3, $4)",
            vec![
                customer.into(),
                owner.into(),
                since.as_str().into(),
                Value::Int(i64::from(locked)),
            ],
            true,
        ),
    ]
}

/// The statements that give `customer` to `manager` from `day` only if they are still in the
/// pool when the transaction runs (a claim that lost a race changes no row: a conflict).
fn claim_change(customer: &str, manager: &str, day: NaiveDate) -> Vec<crate::Statement<'static>> {
    let day = day.to_string();
    vec![
        // a customer the run left without a manager has no row yet
        (
            "INSERT INTO pool_owners (customer, owner, since, locked) SELECT $1, '', $2, 0 \
             WHERE NOT EXISTS (SELECT 1 FROM pool_owners WHERE customer = $1)",
            vec![customer.into(), day.as_str().into()],
            false,
        ),
        (
            // placeholders in order of first appearance: SQLite numbers them so
            "UPDATE pool_owners SET owner = $1, since = $2 WHERE customer = $3 AND owner = ''",
            vec![manager.into(), day.as_str().into(), customer.into()],
            true,
        ),
    ]
}

/// The statement that logs an event.
#[allow(clippy::too_many_arguments)]
fn log(
    at: &str,
    day: NaiveDate,
    customer: &str,
    action: &str,
    from: &str,
    to: &str,
    reason: &str,
    actor: &str,
) -> crate::Statement<'static> {
    (
        "INSERT INTO pool_log (at, day, customer, action, from_owner, to_owner, reason, actor) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        vec![
            at.into(),
            day.to_string().as_str().into(),
            customer.into(),
            action.into(),
            from.into(),
            to.into(),
            reason.into(),
            actor.into(),
        ],
        true,
    )
}
