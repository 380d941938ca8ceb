//! Synthetic opportunities (商机) for the sales funnel: over the last two years before the end
//! date, about one a year per customer who is still buying, and leads from prospects (one per
//! ten customers), each moving through the four default stages with a chance to advance that
//! is higher for larger customers; an opportunity that does not advance is lost after a while,
//! else still open at the end date.
//!
//! Written as a stage history: one row per stage entered, with the amount, status, lost reason
//! and close day on the last row.

use chrono::NaiveDate;
use rand::RngExt;
use rand_distr::{Distribution, Poisson};

use super::generate::seeded;
use super::{CheckedDemoParams, DemoCustomer, Lifecycle};
use crate::Money;

/// The stages of the demo opportunities (the funnel's default stages).
pub const DEMO_STAGES: [&str; 4] = ["lead", "qualified", "proposal", "negotiation"];

/// Why demo opportunities are lost.
pub const LOST_REASONS: [&str; 4] = ["价格", "竞争对手", "预算取消", "需求变化"];

/// One demo opportunity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOpportunity {
    /// `D` and a zero-padded number.
    pub id: String,
    /// The customer's index in the customer list, or `None` for a prospect.
    pub customer: Option<u32>,
    /// The prospect's id (`P` and a number) when there is no customer.
    pub prospect: String,
    /// Its owner.
    pub owner: &'static str,
    /// The stages entered, in order, with their days (the first is the created day).
    pub stages: Vec<(usize, NaiveDate)>,
    /// Its amount.
    pub amount: Money,
    /// `open`, `won` or `lost`.
    pub status: &'static str,
    /// Why it was lost.
    pub lost_reason: &'static str,
    /// The day it was won or lost.
    pub closed: Option<NaiveDate>,
}

/// Random-number stream of the opportunities.
const STREAM: u64 = 11;

impl CheckedDemoParams {
    /// The opportunities of `customers` and of prospects, in created-day order (then id).
    /// Deterministic from the seed.
    pub fn opportunities(&self, customers: &[DemoCustomer]) -> Vec<DemoOpportunity> {
        let mut rng = seeded(self, STREAM);
        let end = self.end_date();
        let from = end - chrono::Duration::days(730);
        let mut drafts: Vec<(Option<u32>, &'static str, NaiveDate, f64)> = Vec::new();
        for (i, c) in customers.iter().enumerate() {
            if matches!(c.lifecycle, Lifecycle::Churned) {
                continue;
            }
            let start = c.signup_date.max(from);
            let stop = c.active_until.min(end);
            if stop <= start {
                continue;
            }
            let days = (stop - start).num_days();
            let n = Poisson::new((days as f64 / 365.0).max(0.05))
                .map(|p| p.sample(&mut rng) as u64)
                .unwrap_or(0);
            let size = match c.size {
                "大型" => 3.0,
                "中型" => 2.0,
                _ => 1.0,
            };
            for _ in 0..n {
                let day = start + chrono::Duration::days(rng.random_range(0..days));
                drafts.push((Some(i as u32), c.account_manager, day, size));
            }
        }
        let managers = super::ACCOUNT_MANAGERS;
        for _ in 0..customers.len() / 10 {
            let day = from + chrono::Duration::days(rng.random_range(0..730));
            let owner = managers[rng.random_range(0..managers.len())];
            drafts.push((None, owner, day, 1.0));
        }
        drafts.sort_by_key(|d| d.2);
        let mut out = Vec::with_capacity(drafts.len());
        for (k, (customer, owner, created, size)) in drafts.into_iter().enumerate() {
            let advance = 0.6 + 0.08 * size;
            let mut stages = vec![(0, created)];
            let mut day = created;
            let mut status = "open";
            let mut closed = None;
            loop {
                let stay = rng.random_range(5..45);
                let next = day + chrono::Duration::days(stay);
                if next >= end {
                    break;
                }
                let at = stages.len() - 1;
                if rng.random_bool(advance) {
                    if at + 1 == DEMO_STAGES.len() {
                        status = "won";
                        closed = Some(next);
                        break;
                    }
                    stages.push((at + 1, next));
                    day = next;
                } else {
                    status = "lost";
                    closed = Some(next);
                    break;
                }
            }
            let amount =
                Money::from_major((rng.random_range(2..60) as f64 * 5_000.0 * size).round() as i64);
            out.push(DemoOpportunity {
                id: format!("D{:05}", k + 1),
                customer,
                prospect: if customer.is_none() {
                    format!("P{:04}", k + 1)
                } else {
                    String::new()
                },
                owner,
                stages,
                amount,
                status,
                lost_reason: if status == "lost" {
                    LOST_REASONS[rng.random_range(0..LOST_REASONS.len())]
                } else {
                    ""
                },
                closed,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::synth::DemoParams;

    #[test]
    fn opportunities_are_seeded_ordered_and_move_forward() {
        let p = DemoParams::new()
            .customers(300)
            .transactions(5_000)
            .check()
            .expect("params");
        let customers = p.customers();
        let a = p.opportunities(&customers);
        assert_eq!(a, p.opportunities(&customers));
        assert!(a.len() > 100, "{}", a.len());
        assert!(a.iter().any(|o| o.customer.is_none()));
        for o in &a {
            assert!(
                o.stages
                    .windows(2)
                    .all(|w| w[0].0 + 1 == w[1].0 && w[0].1 < w[1].1)
            );
            assert!(o.closed.is_some() == (o.status != "open"), "{o:?}");
            assert!(o.closed.is_none_or(|c| c < p.end_date()));
        }
        for status in ["open", "won", "lost"] {
            assert!(a.iter().any(|o| o.status == status), "{status}");
        }
    }
}
