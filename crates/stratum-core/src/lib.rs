//! The Stratum engine: turns per-line customer transactions into per-customer features and
//! tiers (RFM scores, the eight classic RFM classes, named RFM segments, ABC classes).
//!
//! The crate is pure: no files, no clock, no network. Every recency calculation takes an
//! explicit `as_of` date and every random process takes a seed, so the same input always gives
//! the same output.
#![deny(missing_docs)]

pub mod money;
pub mod synth;

pub use money::Money;
