//! Account managers' scorecards (绩效考核) for a period, from the runs kept at its start and
//! its end and the tier reviews raised in it.
//!
//! Definitions (the tests work them by hand):
//! - The period is a quarter (`2026-Q3`), a month (`2026-07`) or a year (`2026`), from its
//!   first day to the first day after it. The start run is the latest kept run as of its first
//!   day or before; the end run the latest as of the first day after it or before (a run as of
//!   a day sees the lines before that day). Both must exist and differ.
//! - Tiers are those of the end run's final dimension (its scheme's, else `rfm_class`), ranked
//!   as the migrations rank them; the top tier is the best ranked.
//! - A customer belongs to the account manager the end run gives them (a customer lost by the
//!   end, to the start run's manager; no manager: `""`).
//! - Per manager: customers at the end, by tier; of the customers in both runs, upgrades
//!   (to a better rank), downgrades and stable; new customers (only at the end) and lost ones
//!   (only at the start); top-tier retention: of the start's top-tier customers, those still
//!   top tier at the end; revenue in the period: the book's net revenue at the end less the
//!   same customers' at the start (new customers from zero), and growth: that over their
//!   revenue at the start; disputes raised by the manager's customers' reviewers in the period,
//!   and approved; follow-ups recorded in the period, on time (made by the day the customer
//!   was due then: their interval after the later of their previous follow-up and their last
//!   purchase at the start, or their first purchase when new) or late; customers overdue at
//!   the end: those
//!   of the end book whose next action ([`crate::followup::due`]: their tier's interval after
//!   the later of their last purchase and their last follow-up before the end) fell due
//!   before the end; and customers lost to the public pool in the period (released from the
//!   manager, by the rules or by hand).

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use stratum_core::Money;

use crate::migrate::Tiers;
use crate::review::{ReviewFilter, ReviewStatus, Verdict};
use crate::{RunInfo, Store, StoreError};

/// A period of the scorecards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScorePeriod {
    /// As given: `2026-Q3`, `2026-07` or `2026`.
    pub label: String,
    /// Its first day.
    pub start: NaiveDate,
    /// The first day after it.
    pub end: NaiveDate,
}

impl ScorePeriod {
    /// The period `text` names, or `None`.
    pub fn parse(text: &str) -> Option<ScorePeriod> {
        let t = text.trim();
        let day = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1);
        let (start, end) = if let Some((y, q)) = t
            .split_once(['-', ' '])
            .filter(|(_, q)| q.len() == 2 && (q.starts_with('Q') || q.starts_with('q')))
        {
            let (y, q): (i32, u32) = (y.parse().ok()?, q[1..].parse().ok()?);
            if !(1..=4).contains(&q) {
                return None;
            }
            let start = day(y, 3 * q - 2)?;
            (start, start.checked_add_months(chrono::Months::new(3))?)
        } else if let Some((y, m)) = t.split_once('-') {
            let start = day(y.parse().ok()?, m.parse().ok()?)?;
            (start, start.checked_add_months(chrono::Months::new(1))?)
        } else {
            let y: i32 = t.parse().ok()?;
            (day(y, 1)?, day(y + 1, 1)?)
        };
        (start.year() > 0).then(|| ScorePeriod {
            label: t.to_uppercase(),
            start,
            end,
        })
    }
}

impl ScorePeriod {
    /// The last whole quarter before `day`'s quarter (2026-Q3 for a day in October 2026).
    pub fn quarter_before(day: NaiveDate) -> ScorePeriod {
        let q = day.month0() / 3;
        let (year, q) = if q == 0 {
            (day.year() - 1, 4)
        } else {
            (day.year(), q)
        };
        let start = NaiveDate::from_ymd_opt(year, 3 * q - 2, 1).unwrap_or(day);
        ScorePeriod {
            label: format!("{year}-Q{q}"),
            start,
            end: start
                .checked_add_months(chrono::Months::new(3))
                .unwrap_or(NaiveDate::MAX),
        }
    }
}

/// One account manager's scorecard.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scorecard {
    /// The account manager (`""`: customers without one).
    pub manager: String,
    /// Customers at the end.
    pub customers: usize,
    /// Customers at the end per tier, in the scorecards' tier order.
    pub by_tier: Vec<usize>,
    /// Customers in both runs who moved to a better tier.
    pub upgrades: usize,
    /// Customers in both runs who moved to a worse tier.
    pub downgrades: usize,
    /// Customers in both runs in a tier of the same rank.
    pub stable: usize,
    /// Customers only at the end.
    pub new_customers: usize,
    /// Customers only at the start.
    pub lost_customers: usize,
    /// Top-tier customers at the start.
    pub top_at_start: usize,
    /// Of those, still top tier at the end.
    pub top_kept: usize,
    /// The book's net revenue at the start (the end book's customers).
    pub revenue_before: Money,
    /// Its net revenue earned in the period.
    pub revenue_in_period: Money,
    /// Disputes raised in the period.
    pub disputes_raised: usize,
    /// Of those, approved.
    pub disputes_approved: usize,
    /// Follow-ups recorded in the period.
    pub follow_ups: usize,
    /// Of those, made by the day the customer was due.
    pub follow_ups_on_time: usize,
    /// Of those, made after it.
    pub follow_ups_late: usize,
    /// Customers of the end book overdue at the end.
    pub overdue_at_end: usize,
    /// Customers released from the manager to the public pool in the period.
    pub lost_to_pool: usize,
}

impl Scorecard {
    /// Top-tier retention: kept / at the start.
    pub fn top_retention(&self) -> Option<f64> {
        (self.top_at_start > 0).then(|| self.top_kept as f64 / self.top_at_start as f64)
    }

    /// Revenue in the period over the revenue before it.
    pub fn growth(&self) -> Option<f64> {
        let before = self.revenue_before.to_f64();
        (before > 0.0).then(|| self.revenue_in_period.to_f64() / before)
    }

    fn add(&mut self, o: &Scorecard) {
        self.customers += o.customers;
        for (a, b) in self.by_tier.iter_mut().zip(&o.by_tier) {
            *a += b;
        }
        self.upgrades += o.upgrades;
        self.downgrades += o.downgrades;
        self.stable += o.stable;
        self.new_customers += o.new_customers;
        self.lost_customers += o.lost_customers;
        self.top_at_start += o.top_at_start;
        self.top_kept += o.top_kept;
        self.revenue_before += o.revenue_before;
        self.revenue_in_period += o.revenue_in_period;
        self.disputes_raised += o.disputes_raised;
        self.disputes_approved += o.disputes_approved;
        self.follow_ups += o.follow_ups;
        self.follow_ups_on_time += o.follow_ups_on_time;
        self.follow_ups_late += o.follow_ups_late;
        self.overdue_at_end += o.overdue_at_end;
        self.lost_to_pool += o.lost_to_pool;
    }
}

/// The scorecards of a period.
#[derive(Debug, Clone, PartialEq)]
pub struct Scorecards {
    /// The period.
    pub period: ScorePeriod,
    /// The run at its start.
    pub from: RunInfo,
    /// The run at its end.
    pub to: RunInfo,
    /// The dimension the tiers are of.
    pub dimension: String,
    /// Its tiers, best first.
    pub tiers: Vec<String>,
    /// Per account manager, by name.
    pub cards: Vec<Scorecard>,
    /// Every manager together.
    pub total: Scorecard,
}

impl Store {
    /// The scorecards of `period` (see the module's definitions); [`StoreError::NoPeriodRuns`]
    /// without a kept run at its start and another at its end.
    pub fn scorecards(&mut self, period: &ScorePeriod) -> Result<Scorecards, StoreError> {
        let runs = self.runs()?;
        // the run of the latest analysis date on or before `day` (of those, the last kept)
        let at = |day: NaiveDate| {
            runs.iter()
                .filter(|r| r.as_of <= day)
                .max_by_key(|r| (r.as_of, r.id))
                .cloned()
        };
        let (from, to) = match (at(period.start), at(period.end)) {
            (Some(a), Some(b)) if a.id != b.id => (a, b),
            _ => {
                return Err(StoreError::NoPeriodRuns {
                    period: period.label.clone(),
                    start: period.start,
                    end: period.end,
                });
            }
        };
        let wanted = vec!["account_manager".to_string()];
        let before = self.kept_columns(from.id, Some(&wanted))?;
        let after = self.kept_columns(to.id, Some(&wanted))?;
        let text = self.db.scheme_text(to.id)?;
        let scheme = text.and_then(|t| stratum_core::scheme::SchemeParams::from_toml(&t).ok());
        let dimension = crate::overview::final_dimension(scheme.as_ref(), &after.layout);
        let (Some(t_before), Some(t_after)) = (
            Tiers::of(&before.layout, &dimension),
            Tiers::of(&after.layout, &dimension),
        ) else {
            return Err(StoreError::NoDimension {
                dimension,
                known: after
                    .layout
                    .dimensions
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let managers = |k: &crate::preview::KeptProfile| -> Vec<String> {
            match k.profile.column("account_manager") {
                Some(stratum_core::scheme::ColumnData::Text(t)) => (0..k.rows.len())
                    .map(|i| t.get(i).unwrap_or("").to_string())
                    .collect(),
                _ => vec![String::new(); k.rows.len()],
            }
        };
        let (m_before, m_after) = (managers(&before), managers(&after));
        let tiers = t_after.ranked();
        // the end run's tier index → place in best-first order
        let place: Vec<usize> = t_after
            .names
            .iter()
            .map(|n| tiers.iter().position(|t| t == n).unwrap_or(0))
            .collect();
        let start: BTreeMap<&str, usize> = before
            .codes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i))
            .collect();
        let mut cards: BTreeMap<String, Scorecard> = BTreeMap::new();
        let n = tiers.len();
        // each end tier's follow-up interval, and each customer's last follow-up before the end
        let interval: Vec<Option<u32>> = t_after
            .names
            .iter()
            .map(|t| scheme.as_ref()?.strategy(t)?.follow_up_days)
            .collect();
        let last_follow_ups = self.last_follow_ups(Some(period.end))?;
        let mut seen = vec![false; before.rows.len()];
        for (i, s) in after.rows.iter().enumerate() {
            let c = card_of(&mut cards, &m_after[i], n);
            c.customers += 1;
            let t_to = (t_after.pick)(s);
            if let Some(p) = t_to.and_then(|t| place.get(t)) {
                c.by_tier[*p] += 1;
            }
            let due = t_to
                .and_then(|t| interval.get(t).copied().flatten())
                .and_then(|days| {
                    crate::followup::due(
                        crate::chunk::date(s.last_purchase),
                        last_follow_ups.get(after.codes[i].as_str()).copied(),
                        days,
                    )
                });
            if due.is_some_and(|d| d < period.end) {
                c.overdue_at_end += 1;
            }
            match start.get(after.codes[i].as_str()) {
                Some(&j) => {
                    seen[j] = true;
                    let b = &before.rows[j];
                    let t_from = (t_before.pick)(b);
                    let (r_from, r_to) = (t_before.rank(t_from), t_after.rank(t_to));
                    if r_to < r_from {
                        c.upgrades += 1;
                    } else if r_to > r_from {
                        c.downgrades += 1;
                    } else {
                        c.stable += 1;
                    }
                    c.revenue_before += b.monetary();
                    c.revenue_in_period += s.monetary() - b.monetary();
                }
                None => {
                    c.new_customers += 1;
                    c.revenue_in_period += s.monetary();
                }
            }
        }
        let end_index: BTreeMap<&str, usize> = after
            .codes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i))
            .collect();
        for (j, b) in before.rows.iter().enumerate() {
            let top = t_before.rank((t_before.pick)(b)) == 0;
            // the start's top tier, and who kept it, count for the start's manager
            if top {
                let c = card_of(&mut cards, &m_before[j], n);
                c.top_at_start += 1;
                if let Some(&i) = end_index.get(before.codes[j].as_str())
                    && t_after.rank((t_after.pick)(&after.rows[i])) == 0
                {
                    c.top_kept += 1;
                }
            }
            if !seen[j] {
                card_of(&mut cards, &m_before[j], n).lost_customers += 1;
            }
        }
        let reviews = self.reviews(&ReviewFilter::default())?;
        let (from_day, to_day) = (period.start.to_string(), period.end.to_string());
        for r in reviews.iter().filter(|r| {
            r.review.verdict == Verdict::Dispute
                && r.review.created_at.as_str() >= from_day.as_str()
                && r.review.created_at.as_str() < to_day.as_str()
        }) {
            let c = card_of(&mut cards, &r.review.manager, n);
            c.disputes_raised += 1;
            if r.status == ReviewStatus::Approved {
                c.disputes_approved += 1;
            }
        }
        // every follow-up before the end, oldest first: those of the period count, on time
        // when made by the day the customer was due then
        let mut until_end = self.follow_ups(&crate::followup::FollowUpFilter {
            until: Some(period.end),
            ..Default::default()
        })?;
        until_end.reverse();
        let mut previous: HashMap<&str, NaiveDate> = HashMap::new();
        for f in &until_end {
            let customer = f.item.customer.as_str();
            let prev = previous.insert(customer, f.item.day);
            if f.item.day < period.start {
                continue;
            }
            let c = card_of(&mut cards, &f.item.manager, n);
            c.follow_ups += 1;
            // the customer's due day then: their interval after the later of their previous
            // follow-up and their last purchase at the start (first purchase when new)
            let due = end_index.get(customer).and_then(|&i| {
                let days = (t_after.pick)(&after.rows[i])
                    .and_then(|t| interval.get(t).copied().flatten())?;
                let bought = match start.get(customer) {
                    Some(&j) => crate::chunk::date(before.rows[j].last_purchase),
                    None => crate::chunk::date(after.rows[i].first_purchase),
                };
                crate::followup::due(bought, prev, days)
            });
            match due {
                Some(d) if f.item.day > d => c.follow_ups_late += 1,
                _ => c.follow_ups_on_time += 1,
            }
        }
        for e in self
            .pool_log(None, None)?
            .iter()
            .filter(|e| e.action == "release" && e.day >= period.start && e.day < period.end)
        {
            card_of(&mut cards, &e.from, n).lost_to_pool += 1;
        }
        let mut total = Scorecard {
            by_tier: vec![0; tiers.len()],
            ..Scorecard::default()
        };
        for c in cards.values() {
            total.add(c);
        }
        Ok(Scorecards {
            period: period.clone(),
            from,
            to,
            dimension,
            tiers,
            cards: cards.into_values().collect(),
            total,
        })
    }
}

/// The card of manager `m`, made if missing, with `tiers` tiers.
fn card_of<'a>(
    cards: &'a mut BTreeMap<String, Scorecard>,
    m: &str,
    tiers: usize,
) -> &'a mut Scorecard {
    cards.entry(m.to_string()).or_insert_with(|| Scorecard {
        manager: m.to_string(),
        by_tier: vec![0; tiers],
        ..Scorecard::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn periods_are_quarters_months_or_years() {
        let q = ScorePeriod::parse("2026-Q3").expect("quarter");
        assert_eq!((q.start, q.end), (d(2026, 7, 1), d(2026, 10, 1)));
        let q4 = ScorePeriod::parse("2026-q4").expect("quarter");
        assert_eq!(
            (q4.start, q4.end, q4.label.as_str()),
            (d(2026, 10, 1), d(2027, 1, 1), "2026-Q4")
        );
        let m = ScorePeriod::parse("2026-12").expect("month");
        assert_eq!((m.start, m.end), (d(2026, 12, 1), d(2027, 1, 1)));
        let y = ScorePeriod::parse("2025").expect("year");
        assert_eq!((y.start, y.end), (d(2025, 1, 1), d(2026, 1, 1)));
        assert_eq!(ScorePeriod::quarter_before(d(2026, 10, 1)), q);
        assert_eq!(
            ScorePeriod::quarter_before(d(2027, 2, 3)),
            ScorePeriod::parse("2026-Q4").expect("quarter")
        );
        for bad in ["2026-Q5", "2026-13", "Q3", "", "2026-Qx"] {
            assert_eq!(ScorePeriod::parse(bad), None, "{bad}");
        }
    }
}
