//! The whole tiering job on measured features: RFM, ABC and their group summaries.

use crate::Money;
use crate::abc::{Abc, AbcClass, CheckedAbcParams};
use crate::features::Features;
use crate::rfm::{CheckedRfmParams, Rfm, RfmClass, Segment};
use crate::summary::{GroupSummary, summarize};

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

/// Scores and classifies every customer of `features`.
pub fn tier(features: Features, rfm: &CheckedRfmParams, abc: &CheckedAbcParams) -> Tiering {
    let customers = &features.customers;
    let rfm = rfm.fit(customers);
    let monetary: Vec<_> = customers.iter().map(|c| c.monetary).collect();
    let abc = abc.fit(&monetary);
    let class_keys: Vec<RfmClass> = rfm.customers().iter().map(|c| c.class).collect();
    let segment_keys: Vec<Segment> = rfm.customers().iter().map(|c| c.segment).collect();
    let classes = summarize(customers, rfm.customers(), &class_keys, &RfmClass::ALL);
    let segments = summarize(customers, rfm.customers(), &segment_keys, &Segment::ALL);
    let abc_classes = summarize(customers, rfm.customers(), abc.classes(), &AbcClass::ALL);
    let revenue = monetary.iter().copied().sum();
    Tiering {
        features,
        rfm,
        abc,
        classes,
        segments,
        abc_classes,
        revenue,
    }
}
