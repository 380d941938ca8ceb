//! The whole tiering job on measured features: RFM, ABC and their group summaries.

use crate::Money;
use crate::abc::{Abc, AbcClass, CheckedAbcParams};
use crate::features::Features;
use crate::rfm::{CheckedRfmParams, Rfm, RfmClass, RfmColumns, Segment};
use crate::summary::{GroupSummary, summarize_tiers};

/// Every customer's RFM and ABC results and the summaries of each grouping.
#[derive(Debug, Clone)]
pub struct Tiering {
    /// The features the tiers were computed from, sorted by customer id.
    pub features: Features,
    /// RFM scores, classes and segments, in the order of `features.customers`.
    pub rfm: Rfm,
    /// ABC classes, in the order of `features.customers`.
    pub abc: Abc,
    /// One summary per RFM class (all eight, empty ones included).
    pub classes: Vec<GroupSummary<RfmClass>>,
    /// One summary per named segment (all eleven).
    pub segments: Vec<GroupSummary<Segment>>,
    /// One summary per ABC class.
    pub abc_classes: Vec<GroupSummary<AbcClass>>,
    /// The net revenue of the scored customers (the sum of their monetary values), computed
    /// once for every share of revenue the outputs show.
    pub revenue: Money,
}

impl Tiering {
    /// The Pareto curve at `steps + 1` evenly spaced customer shares (0 to 1): the share of
    /// the positive revenue held by the largest customers up to each share (customers with
    /// zero or negative value hold none), from the ABC ranking (no second sort).
    pub fn pareto_curve(&self, steps: usize) -> Vec<(f64, f64)> {
        let customers = &self.features.customers;
        let mut prefix = Vec::with_capacity(customers.len() + 1);
        let mut sum: i128 = 0;
        prefix.push(0i128);
        for &i in self.abc.ranking() {
            sum += customers[i as usize].monetary.units().max(0);
            prefix.push(sum);
        }
        let n = customers.len();
        (0..=steps)
            .map(|k| {
                let x = k as f64 / steps as f64;
                // the customers within the share, rounded to the nearest customer
                let m = (x * n as f64).round() as usize;
                let y = if sum > 0 {
                    prefix[m.min(n)] as f64 / sum as f64
                } else {
                    0.0
                };
                (x, y)
            })
            .collect()
    }
}

/// Scores and classifies every customer of `features`.
pub fn tier(features: Features, rfm: &CheckedRfmParams, abc: &CheckedAbcParams) -> Tiering {
    tier_beside(features, rfm, abc, |_| ()).0
}

/// [`tier`], with `beside` run on the same features meanwhile: work that needs the features
/// but not the tiers keeps both cores busy where the tiering leaves one idle (ABC's walk up
/// the ranking is on one core).
pub fn tier_beside<R: Send>(
    features: Features,
    rfm: &CheckedRfmParams,
    abc: &CheckedAbcParams,
    beside: impl FnOnce(&Features) -> R + Send,
) -> (Tiering, R) {
    let customers = &features.customers;
    // read once for RFM, ABC and the revenue
    let columns = RfmColumns::of(customers);
    // ABC first on this thread: its sort, then its walk on one core. `beside`, queued first,
    // is what the other core takes; the RFM scoring goes to whichever core is free first
    let ((abc, rfm), also) = rayon::join(
        || rayon::join(|| abc.fit(&columns.monetary), || rfm.fit_columns(&columns)),
        || beside(&features),
    );
    let revenue = columns.monetary.iter().copied().sum();
    let (classes, segments, abc_classes) =
        summarize_tiers(customers, rfm.customers(), abc.classes(), revenue);
    let tiering = Tiering {
        features,
        rfm,
        abc,
        classes,
        segments,
        abc_classes,
        revenue,
    };
    (tiering, also)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abc::AbcParams;
    use crate::{Aggregator, FrequencyBasis, RfmParams};
    use chrono::NaiveDate;

    fn tiering(lines: &[(&str, i64)]) -> Tiering {
        let day = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap_or_default();
        let mut agg = Aggregator::new(None, FrequencyBasis::Orders);
        for (k, &(customer, amount)) in lines.iter().enumerate() {
            let order = format!("o{k}");
            agg.add(customer, Some(&order), day, Money::from_major(amount));
        }
        let as_of = day.succ_opt().unwrap_or_default();
        match (RfmParams::new().check(), AbcParams::new().check()) {
            (Ok(rfm), Ok(abc)) => tier(agg.finish(as_of), &rfm, &abc),
            _ => panic!("default parameters"),
        }
    }

    #[test]
    fn the_pareto_curve_by_hand() {
        // 50 + 30 + 20 of positive revenue; C2 (10 bought, 20 refunded) counts as 0
        let t = tiering(&[("C1", 30), ("C2", 10), ("C2", -20), ("C3", 50), ("C4", 20)]);
        assert_eq!(t.revenue, Money::from_major(90));
        assert_eq!(
            t.pareto_curve(4),
            [(0.0, 0.0), (0.25, 0.5), (0.5, 0.8), (0.75, 1.0), (1.0, 1.0)]
        );
        assert_eq!(
            tiering(&[]).pareto_curve(2),
            [(0.0, 0.0), (0.5, 0.0), (1.0, 0.0)]
        );
    }
}
