//! Stratum inputs and outputs: reading exports in any common format and encoding, mapping
//! their columns, cleaning their rows (nothing dropped without a count and a reason), and
//! writing the results for people (XLSX) and programs (CSV, JSON).
#![deny(missing_docs)]

// number formatting and the history view are pure: they live in the engine, where the store
// can use them without this crate's file formats
pub use stratum_core::{format, history};

pub mod cells;
pub mod changes;
mod clean;
pub mod cluster;
pub mod clv;
pub mod demo;
mod engine;
pub mod excel;
pub mod export;
mod fields;
pub mod funnel;
pub mod guard;
mod hits;
pub mod ingest;
pub mod inputs;
pub mod interactions;
mod mapped;
pub mod mapping;
pub mod master;
pub mod opportunities;
pub mod output;
pub mod overrides;
mod parquet_columns;
pub mod parquet_out;
pub mod parquet_source;
pub mod publish;
pub mod quality;
pub mod quotes;
pub mod record;
pub mod rejects;
pub mod render;
pub mod report;
pub mod row_exprs;
pub mod source;
pub mod tiers;
pub mod transactions;
pub mod validation;
pub mod values;
pub mod workbook;
