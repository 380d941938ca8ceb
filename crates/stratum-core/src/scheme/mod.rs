//! Tier schemes: a company's own tiering rules, written once and run every period.
//!
//! A scheme names dimensions (value, behaviour, lifecycle, …), each an ordered list of tiers
//! with a rule per tier; the first rule that is true places the customer, a default tier
//! catches the rest. Rules are SQL conditions ([`expr`]) over the customer's profile
//! ([`profile`]): features, built-in tiers, lifecycle stage and master-data attributes.
//!
//! The layout follows the other algorithms: [`SchemeParams`] (the parsed file) →
//! [`CheckedScheme`] (rules compiled against the profile's columns) →
//! [`SchemeResult`] ([`CheckedScheme::apply`]).

pub mod alerts;
pub mod algorithm;
pub mod changes;
pub mod error;
pub mod expr;
pub mod params;
pub mod profile;

pub use algorithm::{
    Assignment, Override, Reason, SEEN_SHOWN, SchemeResult, SchemeWarning, SkipReason,
    SkippedOverride,
};
pub use changes::{SchemeChange, changes};
pub use error::{RuleError, RuleErrorKind, SchemeError};
pub use expr::{
    Arith, Catalog, Clause, Cmp, ColumnType, Formula, KnownValues, MAX_DEPTH, MAX_NESTING, Operand,
    Row, Rule, Shown, Term, Threshold, Tree, Value, thresholds,
};
pub use params::{CheckedScheme, ClusterSpec, Dimension, Label, SchemeParams, Strategy, Tier};
pub use profile::{
    Attributes, BUILTIN_COLUMNS, CLUSTER_COLUMNS, CLV_COLUMNS, ColumnData, LifecycleParams,
    Profile, STAGES, TextColumn, attribute_number, builtin_known_values, catalog, cluster_codes,
    profile, shadowed, stage_label,
};

#[cfg(test)]
mod tests;
