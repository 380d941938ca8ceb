//! One module per subcommand.

pub mod check;
pub mod cluster;
pub mod clv;
pub mod demo;
pub mod ingest;
pub mod outputs;
pub mod prepare;
pub mod scheme;
pub mod segment;
pub mod validate;
