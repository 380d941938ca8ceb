//! Who moved between two runs: the transition matrix of one dimension (customers and revenue
//! per from → to tier, new and lost customers), the counts that moved up, stayed and moved
//! down, and every customer who changed tier.
//!
//! A tier is higher than another when it comes earlier in its run's scheme (the scheme lists
//! tiers best first); the built-in segmentations are ordered as Stratum lists them (RFM classes
//! from important value, ABC from A).

use std::collections::HashMap;

use stratum_core::Money;

use crate::chunk::{Layout, Stored, StoredValue};
use crate::{RunInfo, StoreError, StoredReasonText, explaining, reason_of};

/// One cell of the matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The tier in the earlier run (`None`: the customer is new).
    pub from: Option<String>,
    /// The tier in the later run (`None`: the customer was lost).
    pub to: Option<String>,
    /// Customers.
    pub customers: u64,
    /// Their net revenue in the earlier run.
    pub revenue_from: Money,
    /// Their net revenue in the later run.
    pub revenue_to: Money,
}

pub use stratum_core::history::Direction;

/// A customer who changed tier (moved, new or lost).
#[derive(Debug, Clone, PartialEq)]
pub struct Mover {
    /// The store id.
    pub id: u64,
    /// The customer id.
    pub customer_id: String,
    /// The tier before.
    pub from: Option<String>,
    /// The tier after.
    pub to: Option<String>,
    /// How.
    pub direction: Direction,
    /// Net revenue in the earlier run.
    pub monetary_from: Money,
    /// Net revenue in the later run.
    pub monetary_to: Money,
    /// Whether the customer was in ABC class A in the earlier run (a high-value customer).
    pub was_class_a: bool,
    /// Why it had its tier before (with a scheme).
    pub reason_from: Option<StoredReasonText>,
    /// Why it has its tier after (with a scheme).
    pub reason_to: Option<StoredReasonText>,
    /// The numbers and values that explain its tiers in the earlier run: recency, frequency,
    /// monetary value and every column the scheme's rules read.
    pub values_from: Vec<(String, StoredValue)>,
    /// The same in the later run.
    pub values_to: Vec<(String, StoredValue)>,
}

/// Who moved between two runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Migrations {
    /// The earlier run.
    pub from: RunInfo,
    /// The later run.
    pub to: RunInfo,
    /// The dimension compared.
    pub dimension: String,
    /// The earlier run's tiers of the dimension, best first.
    pub from_tiers: Vec<String>,
    /// The later run's tiers of the dimension, best first.
    pub to_tiers: Vec<String>,
    /// The matrix: every non-empty cell, ordered by from tier then to tier (scheme order, new
    /// first, lost last).
    pub cells: Vec<Transition>,
    /// Customers in both runs who moved up, stayed, moved down.
    pub counts: [u64; 3],
    /// Customers only in the later run, only in the earlier one.
    pub new_and_lost: [u64; 2],
    /// Every customer who changed tier, was new or was lost, by revenue (the larger of the
    /// two runs') from the highest.
    pub movers: Vec<Mover>,
}

impl Migrations {
    /// The shares of the customers in both runs who moved up, stayed and moved down.
    pub fn shares(&self) -> [f64; 3] {
        let n = self.counts.iter().sum::<u64>().max(1) as f64;
        self.counts.map(|c| c as f64 / n)
    }

    /// The movers who were in ABC class A and moved down or were lost.
    pub fn high_value_down(&self) -> impl Iterator<Item = &Mover> {
        self.movers
            .iter()
            .filter(|m| m.was_class_a && matches!(m.direction, Direction::Down | Direction::Lost))
    }
}

/// A stored customer's tier index in a dimension.
pub(crate) type Pick<'a> = Box<dyn Fn(&Stored) -> Option<usize> + 'a>;

/// A cell of the matrix by tier indices (`None`: new or lost; `usize::MAX`: no tier).
type CellKey = (Option<usize>, Option<usize>);

/// A dimension of one run: its tiers' names and ranks (by tier index, 0 the best) and each
/// stored customer's tier index.
pub(crate) struct Tiers<'a> {
    pub(crate) names: Vec<String>,
    rank: Vec<usize>,
    pub(crate) pick: Pick<'a>,
}

impl Tiers<'_> {
    /// The rank of `tier` (no tier: after every tier).
    pub(crate) fn rank(&self, tier: Option<usize>) -> usize {
        tier.and_then(|t| self.rank.get(t).copied())
            .unwrap_or(usize::MAX)
    }

    /// The tiers' names, best first.
    pub(crate) fn ranked(&self) -> Vec<String> {
        let mut order: Vec<usize> = (0..self.names.len()).collect();
        order.sort_by_key(|&t| self.rank(Some(t)));
        order.into_iter().map(|t| self.names[t].clone()).collect()
    }
}

impl<'a> Tiers<'a> {
    pub(crate) fn of(layout: &'a Layout, dimension: &str) -> Option<Tiers<'a>> {
        if let Some(d) = layout.dimensions.iter().position(|(n, _)| n == dimension) {
            let names = layout.dimensions[d].1.clone();
            let rank = match layout.ranks.get(d) {
                Some(r) if r.len() == names.len() => r.iter().map(|&r| usize::from(r)).collect(),
                _ => (0..names.len()).collect(),
            };
            return Some(Tiers {
                names,
                rank,
                pick: Box::new(move |s: &Stored| s.tiers.get(d).map(|&t| usize::from(t))),
            });
        }
        let (slot, order): (usize, Vec<&'static str>) = match dimension {
            "rfm_class" => (0, codes(stratum_core::RfmClass::ALL.iter())),
            "rfm_segment" => (1, codes(stratum_core::Segment::ALL.iter())),
            "abc_class" => (2, codes(stratum_core::AbcClass::ALL.iter())),
            _ => return None,
        };
        let names: Vec<String> = order.iter().map(|s| s.to_string()).collect();
        let rank: Vec<Option<usize>> = layout
            .codes
            .iter()
            .map(|c| order.iter().position(|o| o == c))
            .collect();
        Some(Tiers {
            rank: (0..names.len()).collect(),
            names,
            pick: Box::new(move |s: &Stored| {
                rank.get(usize::from(s.codes[slot])).copied().flatten()
            }),
        })
    }
}

fn codes<'a, T: stratum_core::Labelled + 'a>(
    all: impl Iterator<Item = &'a T>,
) -> Vec<&'static str> {
    all.map(|x| x.code()).collect()
}

/// Compares two runs' customers (each sorted by store id, as chunks hold them) in `dimension`.
pub(crate) fn compare(
    (from, from_layout, a): (&RunInfo, &Layout, &[Stored]),
    (to, to_layout, b): (&RunInfo, &Layout, &[Stored]),
    dimension: &str,
) -> Result<Migrations, StoreError> {
    let unknown = || {
        let mut known: Vec<&str> = from_layout
            .dimensions
            .iter()
            .filter(|(d, _)| to_layout.dimensions.iter().any(|(e, _)| e == d))
            .map(|(d, _)| d.as_str())
            .collect();
        known.extend(["rfm_class", "rfm_segment", "abc_class"]);
        StoreError::NoDimension {
            dimension: dimension.to_string(),
            known: known.join(", "),
        }
    };
    let before = Tiers::of(from_layout, dimension).ok_or_else(unknown)?;
    let after = Tiers::of(to_layout, dimension).ok_or_else(unknown)?;
    let class_a = from_layout.codes.iter().position(|c| c == "A");
    let mut cells: HashMap<CellKey, Transition> = HashMap::new();
    let mut counts = [0u64; 3];
    let mut new_and_lost = [0u64; 2];
    let mut movers = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let (x, y) = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x.id == y.id => {
                i += 1;
                j += 1;
                (Some(x), Some(y))
            }
            (Some(x), Some(y)) if x.id < y.id => {
                i += 1;
                (Some(x), None)
            }
            (Some(x), None) => {
                i += 1;
                (Some(x), None)
            }
            (_, y) => {
                j += 1;
                (None, y)
            }
        };
        let t_from = x.and_then(|s| (before.pick)(s));
        let t_to = y.and_then(|s| (after.pick)(s));
        let name = |t: &Tiers<'_>, k: Option<usize>| k.and_then(|k| t.names.get(k).cloned());
        let (n_from, n_to) = (name(&before, t_from), name(&after, t_to));
        let (m_from, m_to) = (
            x.map_or(Money::ZERO, Stored::monetary),
            y.map_or(Money::ZERO, Stored::monetary),
        );
        let direction = match (x, y) {
            (None, _) => Direction::New,
            (_, None) => Direction::Lost,
            _ if n_from == n_to => Direction::Stable,
            _ if after.rank(t_to) > before.rank(t_from) => Direction::Down,
            _ if after.rank(t_to) < before.rank(t_from) => Direction::Up,
            // a tier renamed at the same rank
            _ => Direction::Stable,
        };
        match direction {
            Direction::Up => counts[0] += 1,
            Direction::Stable => counts[1] += 1,
            Direction::Down => counts[2] += 1,
            Direction::New => new_and_lost[0] += 1,
            Direction::Lost => new_and_lost[1] += 1,
        }
        let cell = cells
            .entry((x.map(|_| before.rank(t_from)), y.map(|_| after.rank(t_to))))
            .or_insert_with(|| Transition {
                from: x.map(|_| n_from.clone().unwrap_or_default()),
                to: y.map(|_| n_to.clone().unwrap_or_default()),
                customers: 0,
                revenue_from: Money::ZERO,
                revenue_to: Money::ZERO,
            });
        cell.customers += 1;
        cell.revenue_from += m_from;
        cell.revenue_to += m_to;
        if direction != Direction::Stable {
            let s = x.or(y).map_or(0, |s| s.id);
            movers.push(Mover {
                id: s,
                customer_id: String::new(),
                from: x.and(n_from),
                to: y.and(n_to),
                direction,
                monetary_from: m_from,
                monetary_to: m_to,
                was_class_a: x.is_some_and(|s| class_a == Some(usize::from(s.codes[2]))),
                reason_from: x.map(|s| reason_of(from_layout, s)).transpose()?.flatten(),
                reason_to: y.map(|s| reason_of(to_layout, s)).transpose()?.flatten(),
                values_from: x
                    .map(|s| explaining(from_layout, s))
                    .transpose()?
                    .unwrap_or_default(),
                values_to: y
                    .map(|s| explaining(to_layout, s))
                    .transpose()?
                    .unwrap_or_default(),
            });
        }
    }
    let mut cells: Vec<(CellKey, Transition)> = cells.into_iter().collect();
    // new (None) first, then scheme order; lost (None) last
    let key = |k: &CellKey| {
        (
            k.0.map_or(0, |t| t.saturating_add(1)),
            k.1.map_or(usize::MAX, |t| t),
        )
    };
    cells.sort_by_key(|(k, _)| key(k));
    movers.sort_by(|p, q| {
        let size = |m: &Mover| m.monetary_from.max(m.monetary_to);
        size(q).cmp(&size(p)).then(p.id.cmp(&q.id))
    });
    Ok(Migrations {
        from: from.clone(),
        to: to.clone(),
        dimension: dimension.to_string(),
        from_tiers: before.ranked(),
        to_tiers: after.ranked(),
        cells: cells.into_iter().map(|(_, c)| c).collect(),
        counts,
        new_and_lost,
        movers,
    })
}
