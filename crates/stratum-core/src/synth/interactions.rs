//! Synthetic interactions: visits, calls, tickets, complaints and surveys (with satisfaction
//! 1–5 and NPS 0–10), from each customer's signup to the end of its active period.
//!
//! Customers who keep buying are contacted more and answer better: satisfaction is drawn
//! around 4.2 for active and new customers, 3.2 for dormant and 2.4 for churned ones, and
//! NPS around 8.5, 6.5 and 4.5, so that satisfaction and NPS carry the signal a tiering
//! should find. Complaints are twice as likely for dormant and churned customers.

use chrono::NaiveDate;
use rand::RngExt;
use rand_distr::{Distribution, Poisson};

use super::generate::{pick_weighted, seeded};
use super::{CheckedDemoParams, DemoCustomer, Lifecycle};

/// The interaction types, in the demo file's words.
pub const INTERACTION_TYPES: [&str; 5] = ["visit", "call", "ticket", "complaint", "survey"];

/// One interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoInteraction {
    /// Index of the customer in the customer list.
    pub customer: u32,
    /// The day of the interaction.
    pub date: NaiveDate,
    /// One of [`INTERACTION_TYPES`].
    pub kind: &'static str,
    /// Satisfaction 1–5 (surveys and some tickets).
    pub satisfaction: Option<u8>,
    /// Likelihood to recommend, 0–10 (surveys).
    pub nps: Option<u8>,
}

/// Random-number stream of the interactions (apart from the customers' and the lines').
const STREAM: u64 = 7;

impl CheckedDemoParams {
    /// The interactions of `customers`, in date order (then customer order). Deterministic
    /// from the seed; about four a year per active customer.
    pub fn interactions(&self, customers: &[DemoCustomer]) -> Vec<DemoInteraction> {
        let mut rng = seeded(self, STREAM);
        let mut out = Vec::new();
        for (i, c) in customers.iter().enumerate() {
            let (sat_mean, nps_mean, complaint_weight) = match c.lifecycle {
                Lifecycle::New | Lifecycle::Active => (4.2, 8.5, 6),
                Lifecycle::Dormant => (3.2, 6.5, 12),
                Lifecycle::Churned => (2.4, 4.5, 12),
            };
            let from = c.signup_date;
            let to = c.active_until.max(from);
            let days = (to - from).num_days().max(1);
            let expected = days as f64 / 365.0 * 4.0;
            let n = Poisson::new(expected.max(0.1))
                .map(|p| p.sample(&mut rng) as u64)
                .unwrap_or(0);
            for _ in 0..n {
                let date = from + chrono::Duration::days(rng.random_range(0..=days));
                let kind =
                    INTERACTION_TYPES[pick_weighted(&mut rng, &[20, 35, 25, complaint_weight, 14])];
                let score = |rng: &mut rand_chacha::ChaCha8Rng, mean: f64, lo: f64, hi: f64| {
                    let x: f64 = mean + (rng.random::<f64>() + rng.random::<f64>() - 1.0) * 2.0;
                    x.round().clamp(lo, hi) as u8
                };
                let (satisfaction, nps) = match kind {
                    "survey" => (
                        Some(score(&mut rng, sat_mean, 1.0, 5.0)),
                        Some(score(&mut rng, nps_mean, 0.0, 10.0)),
                    ),
                    "ticket" if rng.random_bool(0.5) => {
                        (Some(score(&mut rng, sat_mean, 1.0, 5.0)), None)
                    }
                    _ => (None, None),
                };
                out.push(DemoInteraction {
                    customer: i as u32,
                    date,
                    kind,
                    satisfaction,
                    nps,
                });
            }
        }
        out.sort_by_key(|x| (x.date, x.customer));
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::synth::DemoParams;

    #[test]
    fn interactions_are_seeded_in_range_and_in_the_customers_active_time() {
        let p = DemoParams::new()
            .customers(300)
            .transactions(5_000)
            .check()
            .expect("params");
        let customers = p.customers();
        let a = p.interactions(&customers);
        assert_eq!(a, p.interactions(&customers));
        assert!(a.len() > 300, "{}", a.len());
        for x in &a {
            let c = &customers[x.customer as usize];
            assert!(x.date >= c.signup_date && x.date <= c.active_until.max(c.signup_date));
            assert!(x.satisfaction.is_none_or(|s| (1..=5).contains(&s)));
            assert!(x.nps.is_none_or(|n| n <= 10));
        }
        assert!(
            a.windows(2)
                .all(|w| (w[0].date, w[0].customer) <= (w[1].date, w[1].customer))
        );
    }
}
