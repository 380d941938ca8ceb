//! The Stratum engine: turns per-line customer transactions into per-customer features and
//! tiers (RFM scores, the eight classic RFM classes, named RFM segments, ABC classes).
//!
//! The crate is pure: no files, no clock, no network. Every recency calculation takes an
//! explicit `as_of` date and every random process takes a seed, so the same input always gives
//! the same output.
//!
//! ```
//! use chrono::NaiveDate;
//! use stratum_core::{Aggregator, FrequencyBasis, Money, RfmParams};
//!
//! let day = |d| NaiveDate::from_ymd_opt(2025, 3, d).unwrap();
//! let mut agg = Aggregator::new(None, FrequencyBasis::Orders);
//! agg.add("C1", Some("o1"), day(1), Money::from_major(500));
//! agg.add("C1", Some("o2"), day(20), Money::from_major(300));
//! agg.add("C2", Some("o3"), day(5), Money::from_major(80));
//! let features = agg.finish(day(21));
//! let rfm = RfmParams::new().check().unwrap().fit(&features.customers);
//! // Two customers: C1 is better in every dimension, so its scores are 1 + ⌊5 × 1 / 2⌋ = 3.
//! assert_eq!(rfm.customers()[0].score_code(), "333");
//! assert_eq!(rfm.customers()[1].score_code(), "111");
//! ```
#![deny(missing_docs)]

pub mod abc;
pub mod cluster;
pub mod clv;
pub mod features;
pub mod format;
pub mod funnel;
pub mod history;
pub mod interactions;
pub mod keyset;
pub mod labels;
pub mod money;
pub mod record;
pub mod rfm;
pub mod run;
mod sampling;
pub mod scheme;
pub mod summary;
pub mod synth;
pub mod tiering;
pub mod validate;

pub use abc::{AbcClass, AbcParams};
pub use features::{
    Aggregator, CustomerFeatures, CustomerTotals, DayLines, DayTotal, Features, FrequencyBasis,
    PeriodSchedule, ShardedAggregator, TotalsError,
};
pub use labels::{Labelled, Lang};
pub use money::Money;
pub use rfm::{ClassBasis, RfmClass, RfmParams, ScoreMethod, Segment};
pub use tiering::{Tiering, tier};
