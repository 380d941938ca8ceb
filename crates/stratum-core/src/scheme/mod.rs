//! Tier schemes: a company's own tiering rules, written once and run every period.
//!
//! A scheme names dimensions (value, behaviour, lifecycle, …), each an ordered list of tiers
//! with a rule per tier; the first rule that is true places the customer, a default tier
//! catches the rest. Rules are SQL conditions over the customer's features and attributes
//! ([`expr`]).

pub mod error;
pub mod expr;

pub use error::RuleError;
pub use expr::{Catalog, ColumnType, Row, Rule, Value};
