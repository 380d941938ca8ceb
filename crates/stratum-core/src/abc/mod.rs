//! ABC (Pareto) classes by cumulative share of monetary value.
//!
//! Customers are ranked by monetary value, largest first. A customer is in class A when the
//! cumulative share of revenue of the customers ranked *before* them is below the A cut point
//! (default 80%): the A class is the smallest head of the ranking that reaches the cut point.
//! B likewise with the B cut point (default 95%), C for the rest. Customers with equal
//! monetary value always get the same class (the class of the first of them in the ranking), and
//! customers with a net value of zero or less are always C. Shares are of the total positive
//! monetary value.

mod algorithm;
mod error;
mod params;

pub use algorithm::{Abc, AbcClass, Pareto};
pub use error::AbcError;
pub use params::{AbcParams, CheckedAbcParams};
