//! Applying a checked scheme to a profile: every customer lands in exactly one tier per
//! dimension (the first tier whose rule is true, else the default), manual overrides win for
//! the final tier, and every final tier comes with the reason it was given.

use chrono::NaiveDate;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::expr::{Row, Value};
use super::params::CheckedScheme;
use super::profile::{Profile, ProfileRow};
use crate::labels::Lang;

/// An account manager's manual placement of a customer in a final tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// The customer.
    pub customer_id: String,
    /// The final tier's code.
    pub tier: String,
    /// Why.
    pub reason: String,
    /// Who set it.
    pub set_by: String,
    /// When it was set, if known.
    pub set_on: Option<NaiveDate>,
    /// The last day it applies, if it expires.
    pub expires: Option<NaiveDate>,
}

/// An override that was not applied, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedOverride {
    /// The override.
    pub item: Override,
    /// Why it was not applied.
    pub why: SkipReason,
}

/// Why an override was not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// It expired before `as_of`.
    Expired,
    /// Its tier is not a tier of the final dimension.
    UnknownTier,
    /// The customer is not among the scored customers.
    UnknownCustomer,
}

/// One customer's tiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The tier index in each dimension, in scheme order.
    pub tiers: Vec<u16>,
    /// Why the customer has its final tier.
    pub reason: String,
    /// Whether the final tier comes from an override.
    pub overridden: bool,
}

/// The scheme's result for every customer of the profile.
#[derive(Debug, Clone)]
pub struct SchemeResult {
    /// One assignment per customer, in profile order.
    pub assignments: Vec<Assignment>,
    /// Overrides applied.
    pub applied: usize,
    /// Overrides not applied, in input order.
    pub skipped: Vec<SkippedOverride>,
}

/// A profile row with the tiers of the dimensions decided so far as extra text columns.
struct Staged<'a> {
    base: ProfileRow<'a>,
    base_len: usize,
    scheme: &'a CheckedScheme,
    tiers: &'a [u16],
}

impl Row for Staged<'_> {
    fn get(&self, column: usize) -> Value<'_> {
        if column < self.base_len {
            return self.base.get(column);
        }
        let d = column - self.base_len;
        match self.tiers.get(d) {
            Some(&t) => Value::Text(&self.scheme.dimensions[d].tiers[t as usize].name),
            None => Value::Null,
        }
    }
}

impl CheckedScheme {
    /// Places every customer of `profile` (which must be the profile the scheme was checked
    /// against) and applies the overrides valid at `as_of`; reasons are worded in `lang`.
    pub fn apply(
        &self,
        profile: &Profile,
        customer_ids: &[&str],
        overrides: &[Override],
        as_of: NaiveDate,
        lang: Lang,
    ) -> SchemeResult {
        let base_len = profile.catalog().names().len();
        let fin = self.final_dimension;
        let mut assignments: Vec<Assignment> = (0..profile.rows())
            .into_par_iter()
            .map(|row| {
                let mut tiers: Vec<u16> = Vec::with_capacity(self.dimensions.len());
                let mut reason = String::new();
                for (d, dim) in self.dimensions.iter().enumerate() {
                    let staged = Staged {
                        base: profile.row(row),
                        base_len,
                        scheme: self,
                        tiers: &tiers,
                    };
                    let hit = dim
                        .tiers
                        .iter()
                        .position(|t| t.rule.as_ref().is_some_and(|r| r.matches(&staged)));
                    if d == fin {
                        reason = match hit.and_then(|k| dim.tiers[k].rule.as_ref()) {
                            Some(rule) => rule.explain(&staged, &self.catalog),
                            None => lang
                                .pick("默认等级（没有规则命中）", "default tier (no rule matched)")
                                .to_string(),
                        };
                    }
                    tiers.push(hit.unwrap_or(dim.default) as u16);
                }
                Assignment {
                    tiers,
                    reason,
                    overridden: false,
                }
            })
            .collect();
        let index: FxHashMap<&str, usize> = customer_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i))
            .collect();
        let mut applied = 0;
        let mut skipped = Vec::new();
        for o in overrides {
            let why = if o.expires.is_some_and(|e| e < as_of) {
                Some(SkipReason::Expired)
            } else if !self.dimensions[fin].tiers.iter().any(|t| t.name == o.tier) {
                Some(SkipReason::UnknownTier)
            } else if !index.contains_key(o.customer_id.as_str()) {
                Some(SkipReason::UnknownCustomer)
            } else {
                None
            };
            if let Some(why) = why {
                skipped.push(SkippedOverride {
                    item: o.clone(),
                    why,
                });
                continue;
            }
            let (Some(&row), Some(tier)) = (
                index.get(o.customer_id.as_str()),
                self.dimensions[fin]
                    .tiers
                    .iter()
                    .position(|t| t.name == o.tier),
            ) else {
                continue;
            };
            let a = &mut assignments[row];
            a.tiers[fin] = tier as u16;
            a.overridden = true;
            let on = o.set_on.map(|d| d.to_string()).unwrap_or_default();
            let by = if o.set_by.is_empty() {
                lang.pick("客户经理", "the account manager").to_string()
            } else {
                o.set_by.clone()
            };
            a.reason = match (lang, on.is_empty()) {
                (Lang::Zh, true) => format!("{by}手动调整：{}", o.reason),
                (Lang::Zh, false) => format!("{by}于 {on} 手动调整：{}", o.reason),
                (Lang::En, true) => format!("override by {by}: {}", o.reason),
                (Lang::En, false) => format!("override by {by} on {on}: {}", o.reason),
            };
            applied += 1;
        }
        SchemeResult {
            assignments,
            applied,
            skipped,
        }
    }
}
