//! Applying a checked scheme to a profile: every customer lands in exactly one tier per
//! dimension (the first tier whose rule is true, else the default), manual overrides win for
//! the final tier, and every final tier comes with the reason it was given.

use chrono::NaiveDate;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::expr::{Clause, Row, Value};
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
    /// A later override of the same customer replaces it.
    Superseded,
}

impl SkipReason {
    /// The stable code written to files.
    pub fn code(self) -> &'static str {
        match self {
            SkipReason::Expired => "expired",
            SkipReason::UnknownTier => "unknown_tier",
            SkipReason::UnknownCustomer => "unknown_customer",
            SkipReason::Superseded => "superseded",
        }
    }
}

/// One customer's tiers.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// The tier index in each dimension, in scheme order.
    pub tiers: Vec<u16>,
    /// Why the customer has its final tier, as data ([`Reason::text`] words it).
    pub reason: Reason,
    /// Whether the final tier comes from an override.
    pub overridden: bool,
}

/// Why a customer has its final tier.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// The final tier's rule is true: the comparisons that made it so, with the values.
    Rule(Vec<Clause>),
    /// No rule of the final dimension is true: the default tier.
    Default,
    /// A manual override placed it.
    Override(Override),
}

impl Reason {
    /// The reason in words, with the column names of the scheme's catalog
    /// ([`CheckedScheme::catalog`]): `annual_revenue=1,250,000 ≥ 1,000,000`,
    /// `default tier (no rule matched)`, `override by 张伟 on 2026-10-01: …`.
    pub fn text(&self, scheme: &CheckedScheme, lang: Lang) -> String {
        match self {
            Reason::Rule(clauses) => Clause::join(clauses, scheme.catalog.names()),
            Reason::Default => lang
                .pick("默认等级（没有规则命中）", "default tier (no rule matched)")
                .to_string(),
            Reason::Override(o) => override_reason(o, lang),
        }
    }
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

/// Something about a scheme's run the analyst should know: the run goes on, and says so.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SchemeWarning {
    /// A tier no customer landed in.
    EmptyTier {
        /// The dimension.
        dimension: String,
        /// The tier.
        tier: String,
    },
    /// A rule compares a master-data text column with a value no scored customer has.
    UnseenValue {
        /// The dimension of the rule.
        dimension: String,
        /// The tier of the rule.
        tier: String,
        /// The column.
        column: String,
        /// The value compared with.
        value: String,
        /// The most common values the column does have (at most [`SEEN_SHOWN`]), most common
        /// first.
        seen: Vec<String>,
        /// How many distinct values the column has.
        distinct: usize,
    },
}

/// The most values of a column an [`SchemeWarning::UnseenValue`] names.
pub const SEEN_SHOWN: usize = 8;

impl SchemeWarning {
    /// The warning in English or Chinese.
    pub fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (SchemeWarning::EmptyTier { dimension, tier }, Lang::En) => {
                format!("no customer is in tier \"{tier}\" of dimension \"{dimension}\"")
            }
            (SchemeWarning::EmptyTier { dimension, tier }, Lang::Zh) => {
                format!("维度“{dimension}”的层级“{tier}”中没有客户")
            }
            (
                SchemeWarning::UnseenValue {
                    dimension,
                    tier,
                    column,
                    value,
                    seen,
                    distinct,
                },
                lang,
            ) => {
                let mut shown = seen
                    .iter()
                    .map(|v| format!("'{v}'"))
                    .collect::<Vec<_>>()
                    .join(", ");
                if *distinct > seen.len() {
                    shown.push_str(", …");
                }
                if lang == Lang::Zh {
                    format!(
                        "维度“{dimension}”层级“{tier}”的规则比较 {column} 与 '{value}'，但没有客户取此值；已有取值：{shown}"
                    )
                } else {
                    format!(
                        "the rule of tier \"{tier}\" of dimension \"{dimension}\" compares {column} with '{value}', which no customer has; its values include {shown}"
                    )
                }
            }
        }
    }
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
    /// What the analyst should know about `result`, the scheme applied to `profile`: tiers
    /// no customer is in, and rules comparing a master-data text column with a value no
    /// customer has (a column of known values was checked when the scheme was).
    pub fn warnings(&self, profile: &Profile, result: &SchemeResult) -> Vec<SchemeWarning> {
        let mut out = Vec::new();
        let base_len = profile.catalog().names().len();
        for (d, dim) in self.dimensions.iter().enumerate() {
            for tier in &dim.tiers {
                let Some(rule) = &tier.rule else { continue };
                for (column, value) in rule.compared_texts() {
                    if column >= base_len || self.catalog.known_values(column).is_some() {
                        continue;
                    }
                    let name = &self.catalog.names()[column];
                    let Some(super::profile::ColumnData::Text(col)) = profile.column(name) else {
                        continue;
                    };
                    if col.values().iter().any(|v| v == value) {
                        continue;
                    }
                    let mut counts = vec![0usize; col.values().len()];
                    for row in 0..col.len() {
                        if let Some(c) = col.code(row) {
                            counts[c] += 1;
                        }
                    }
                    let mut order: Vec<usize> = (0..counts.len()).collect();
                    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
                    out.push(SchemeWarning::UnseenValue {
                        dimension: dim.name.clone(),
                        tier: tier.name.clone(),
                        column: name.clone(),
                        value: value.to_string(),
                        seen: order
                            .iter()
                            .take(SEEN_SHOWN)
                            .map(|&c| col.values()[c].clone())
                            .collect(),
                        distinct: counts.len(),
                    });
                }
            }
            let mut sizes = vec![0usize; dim.tiers.len()];
            for a in &result.assignments {
                if let Some(s) = a.tiers.get(d).and_then(|&t| sizes.get_mut(usize::from(t))) {
                    *s += 1;
                }
            }
            for (tier, &n) in dim.tiers.iter().zip(&sizes) {
                if n == 0 {
                    out.push(SchemeWarning::EmptyTier {
                        dimension: dim.name.clone(),
                        tier: tier.name.clone(),
                    });
                }
            }
        }
        out
    }

    /// Places every customer of `profile` (which must be the profile the scheme was checked
    /// against) and applies the overrides valid at `as_of`; reasons are data, worded at the
    /// edge ([`Reason::text`]).
    pub fn apply(
        &self,
        profile: &Profile,
        customer_ids: &[&str],
        overrides: &[Override],
        as_of: NaiveDate,
    ) -> SchemeResult {
        let base_len = profile.catalog().names().len();
        let fin = self.final_dimension;
        let (chosen, skipped) = self.resolve(customer_ids, overrides, as_of);
        let assignments: Vec<Assignment> = (0..profile.rows())
            .into_par_iter()
            .map(|row| {
                let mut tiers: Vec<u16> = Vec::with_capacity(self.dimensions.len());
                let mut reason = Reason::Default;
                let mut overridden = false;
                for (d, dim) in self.dimensions.iter().enumerate() {
                    // an override places the final tier; later dimensions see it
                    if d == fin
                        && let Some(&(k, tier)) = chosen.get(&row)
                    {
                        reason = Reason::Override(overrides[k].clone());
                        overridden = true;
                        tiers.push(tier as u16);
                        continue;
                    }
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
                            Some(rule) => Reason::Rule(rule.because(&staged)),
                            None => Reason::Default,
                        };
                    }
                    tiers.push(hit.unwrap_or(dim.default) as u16);
                }
                Assignment {
                    tiers,
                    reason,
                    overridden,
                }
            })
            .collect();
        SchemeResult {
            assignments,
            applied: chosen.len(),
            skipped,
        }
    }

    /// The override that applies to each customer row (index into `overrides`, final tier
    /// index), and the ones that do not, in input order. Of several valid overrides of one
    /// customer, the latest `set_on` wins (the later row on a tie or without dates).
    fn resolve(
        &self,
        customer_ids: &[&str],
        overrides: &[Override],
        as_of: NaiveDate,
    ) -> (FxHashMap<usize, (usize, usize)>, Vec<SkippedOverride>) {
        let fin = &self.dimensions[self.final_dimension];
        let index: FxHashMap<&str, usize> = customer_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i))
            .collect();
        let mut why: Vec<Option<SkipReason>> = vec![None; overrides.len()];
        let mut chosen: FxHashMap<usize, (usize, usize)> = FxHashMap::default();
        for (k, o) in overrides.iter().enumerate() {
            let tier = fin.tiers.iter().position(|t| t.name == o.tier);
            let row = index.get(o.customer_id.as_str()).copied();
            why[k] = if o.expires.is_some_and(|e| e < as_of) {
                Some(SkipReason::Expired)
            } else if tier.is_none() {
                Some(SkipReason::UnknownTier)
            } else if row.is_none() {
                Some(SkipReason::UnknownCustomer)
            } else {
                None
            };
            let (Some(row), Some(tier), None) = (row, tier, why[k]) else {
                continue;
            };
            match chosen.get(&row).copied() {
                Some((earlier, _)) if overrides[earlier].set_on > o.set_on => {
                    why[k] = Some(SkipReason::Superseded);
                }
                Some((earlier, _)) => {
                    why[earlier] = Some(SkipReason::Superseded);
                    chosen.insert(row, (k, tier));
                }
                None => {
                    chosen.insert(row, (k, tier));
                }
            }
        }
        let skipped = overrides
            .iter()
            .zip(why)
            .filter_map(|(o, why)| {
                why.map(|why| SkippedOverride {
                    item: o.clone(),
                    why,
                })
            })
            .collect();
        (chosen, skipped)
    }
}

/// The reason given for an override.
fn override_reason(o: &Override, lang: Lang) -> String {
    let on = o.set_on.map(|d| d.to_string()).unwrap_or_default();
    let by = if o.set_by.is_empty() {
        lang.pick("客户经理", "the account manager").to_string()
    } else {
        o.set_by.clone()
    };
    match (lang, on.is_empty()) {
        (Lang::Zh, true) => format!("{by}手动调整：{}", o.reason),
        (Lang::Zh, false) => format!("{by}于 {on} 手动调整：{}", o.reason),
        (Lang::En, true) => format!("override by {by}: {}", o.reason),
        (Lang::En, false) => format!("override by {by} on {on}: {}", o.reason),
    }
}
