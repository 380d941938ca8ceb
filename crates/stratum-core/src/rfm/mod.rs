//! RFM scoring: recency, frequency and monetary scores, the eight classic classes and named
//! segments.
//!
//! # Scores
//! Higher is better for all three scores: a recent last purchase gives a high R.
//!
//! With [`ScoreMethod::Quantile`] (the default) a customer's score in each dimension is
//!
//! ```text
//! score = 1 + ⌊bins × worse / n⌋
//! ```
//!
//! where `n` is the number of customers and `worse` the number of customers with a strictly
//! worse value (a longer recency, fewer orders, less money). Identical values therefore always
//! get the same score, the best customers get `bins`, and a value shared by many customers
//! (say, 60% of customers with one order) keeps them all in one level instead of splitting them
//! arbitrarily. In SQL this is `1 + ((RANK() OVER (ORDER BY x) − 1) × bins) / n` in integer
//! arithmetic, with `ORDER BY x` ascending for F and M and descending for recency.
//!
//! # Classes
//! Each of R, F and M is *high* when it is above the mean (see [`ClassBasis`]); the three
//! high/low answers select one of the eight [`RfmClass`]es.
//!
//! # Segments
//! See [`segments`] for the named-segment grid.

mod algorithm;
mod classes;
mod error;
mod params;
pub mod segments;

pub(crate) use algorithm::RfmColumns;
pub use algorithm::{CustomerRfm, MIN_QUANTILE_CUSTOMERS, Rfm, RfmWarning};
pub use classes::RfmClass;
pub use error::RfmError;
pub use params::{CheckedRfmParams, ClassBasis, RfmParams, ScoreMethod};
pub use segments::Segment;
