//! Stratum inputs and outputs.
#![deny(missing_docs)]

pub mod demo;
