//! Per-group summaries: how big each class or segment is, what it is worth and what its
//! customers look like on average.

use crate::Money;
use crate::features::CustomerFeatures;
use crate::rfm::CustomerRfm;

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

/// Summaries of the groups `keys` places customers in, one per key of `order` (groups with no
/// customers included, so tables always show every class). `rfm` holds each customer's
/// scores, in the order of `customers`.
pub fn summarize<K: Copy + PartialEq>(
    customers: &[CustomerFeatures],
    rfm: &[CustomerRfm],
    keys: &[K],
    order: &[K],
) -> Vec<GroupSummary<K>> {
    let n = customers.len();
    let total: i128 = customers.iter().map(|c| c.monetary.units()).sum();
    order
        .iter()
        .map(|&key| {
            let mut count = 0usize;
            let mut revenue = Money::ZERO;
            let mut recency = 0i64;
            let mut frequency = 0u64;
            let mut orders = 0u64;
            let mut scores = [0u64; 3];
            for ((c, k), r) in customers.iter().zip(keys).zip(rfm) {
                if *k == key {
                    count += 1;
                    revenue += c.monetary;
                    recency += c.recency_days;
                    frequency += c.frequency;
                    orders += c.orders;
                    scores[0] += u64::from(r.r);
                    scores[1] += u64::from(r.f);
                    scores[2] += u64::from(r.m);
                }
            }
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
                mean_recency: per(recency as f64),
                mean_frequency: per(frequency as f64),
                mean_monetary: per(revenue.to_f64()),
                mean_scores: scores.map(|s| per(s as f64)),
                avg_order_value: if orders == 0 {
                    0.0
                } else {
                    revenue.to_f64() / orders as f64
                },
            }
        })
        .collect()
}
