//! One module per subcommand.

pub mod alerts;
pub mod backfill;
pub mod check;
pub mod cluster;
pub mod clv;
pub mod demo;
pub mod history;
pub mod ingest;
pub mod outputs;
pub mod pool;
pub mod prepare;
pub mod preview;
pub mod pushdown;
pub mod review;
pub mod run_text;
pub mod scheme;
pub mod segment;
pub mod serve;
pub mod validate;
pub mod versions;
