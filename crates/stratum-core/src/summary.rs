//! Per-group summaries: how big each class or segment is, what it is worth and what its
//! customers look like on average.

use crate::Money;
use crate::abc::AbcClass;
use crate::features::CustomerFeatures;
use crate::rfm::{CustomerRfm, RfmClass, Segment};

/// The summary of one group of customers (a class, a segment, a tier).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GroupSummary<K> {
    /// The group.
    pub key: K,
    /// Customers in the group.
    pub customers: usize,
    /// Share of all customers.
    pub customer_share: f64,
    /// Net monetary value of the group.
    pub revenue: Money,
    /// Share of the total net monetary value (0 when the total is not positive).
    pub revenue_share: f64,
    /// Mean recency in days.
    pub mean_recency: f64,
    /// Mean frequency.
    pub mean_frequency: f64,
    /// Mean monetary value.
    pub mean_monetary: f64,
    /// Mean R, F and M scores.
    pub mean_scores: [f64; 3],
    /// Average order value: the group's revenue divided by its orders.
    pub avg_order_value: f64,
}

/// The summaries of the RFM classes, the named segments and the ABC classes.
pub type TierSummaries = (
    Vec<GroupSummary<RfmClass>>,
    Vec<GroupSummary<Segment>>,
    Vec<GroupSummary<AbcClass>>,
);

/// The summaries of the RFM classes, the named segments and the ABC classes, one per class or
/// segment (groups with no customers included, so tables always show every class), from one
/// pass over the customers. `rfm` and `abc` hold each customer's results, in the order of
/// `customers`; `revenue` must be the sum of their monetary values (the denominator of each
/// group's share of revenue).
pub fn summarize_tiers(
    customers: &[CustomerFeatures],
    rfm: &[CustomerRfm],
    abc: &[AbcClass],
    revenue: Money,
) -> TierSummaries {
    use rayon::prelude::*;
    let empty = || {
        [
            vec![Sums::default(); RfmClass::ALL.len()],
            vec![Sums::default(); Segment::ALL.len()],
            vec![Sums::default(); AbcClass::ALL.len()],
        ]
    };
    // one pass (in parallel) into a slot per group of each grouping (a pass over a million
    // customers' features reads 160 MB): every sum is an integer, so the figures do not
    // depend on how the pass is split
    let [classes, segments, abc_classes] = customers
        .par_iter()
        .zip(rfm)
        .zip(abc)
        .fold(empty, |mut sums, ((c, r), a)| {
            if let Some(i) = RfmClass::ALL.iter().position(|k| *k == r.class) {
                sums[0][i].add(c, r);
            }
            if let Some(i) = Segment::ALL.iter().position(|k| *k == r.segment) {
                sums[1][i].add(c, r);
            }
            if let Some(i) = AbcClass::ALL.iter().position(|k| k == a) {
                sums[2][i].add(c, r);
            }
            sums
        })
        .reduce(empty, |mut a, b| {
            for (x, y) in a.iter_mut().flatten().zip(b.iter().flatten()) {
                x.merge(y);
            }
            a
        });
    debug_assert_eq!(revenue, customers.iter().map(|c| c.monetary).sum::<Money>());
    let n = customers.len();
    let total = revenue.units();
    (
        groups(&RfmClass::ALL, classes, n, total),
        groups(&Segment::ALL, segments, n, total),
        groups(&AbcClass::ALL, abc_classes, n, total),
    )
}

/// The summaries of the groups `order`, whose sums are `sums`, among `n` customers worth
/// `total` units.
fn groups<K: Copy>(order: &[K], sums: Vec<Sums>, n: usize, total: i128) -> Vec<GroupSummary<K>> {
    order
        .iter()
        .zip(sums)
        .map(|(&key, s)| {
            let count = s.count;
            let revenue = s.revenue;
            let per = |v: f64| if count == 0 { 0.0 } else { v / count as f64 };
            GroupSummary {
                key,
                customers: count,
                customer_share: if n == 0 { 0.0 } else { count as f64 / n as f64 },
                revenue,
                revenue_share: if total > 0 {
                    revenue.units() as f64 / total as f64
                } else {
                    0.0
                },
                mean_recency: per(s.recency as f64),
                mean_frequency: per(s.frequency as f64),
                mean_monetary: per(revenue.to_f64()),
                mean_scores: s.scores.map(|v| per(v as f64)),
                avg_order_value: if s.orders == 0 {
                    0.0
                } else {
                    revenue.to_f64() / s.orders as f64
                },
            }
        })
        .collect()
}

/// A group's integer sums.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    count: usize,
    revenue: Money,
    recency: i64,
    frequency: u64,
    orders: u64,
    scores: [u64; 3],
}

impl Sums {
    fn add(&mut self, c: &CustomerFeatures, r: &CustomerRfm) {
        self.count += 1;
        self.revenue += c.monetary;
        self.recency += c.recency_days;
        self.frequency += c.frequency;
        self.orders += c.orders;
        self.scores[0] += u64::from(r.r);
        self.scores[1] += u64::from(r.f);
        self.scores[2] += u64::from(r.m);
    }

    fn merge(&mut self, o: &Sums) {
        self.count += o.count;
        self.revenue += o.revenue;
        self.recency += o.recency;
        self.frequency += o.frequency;
        self.orders += o.orders;
        for (a, b) in self.scores.iter_mut().zip(o.scores) {
            *a += b;
        }
    }
}
