//! One module per subcommand.

pub mod check;
pub mod clv;
pub mod demo;
pub mod scheme;
pub mod segment;
