//! Errors in ABC parameters.

/// A reason the ABC parameters cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AbcError {
    /// The cut points are not `0 < a < b ≤ 1`.
    #[error("abc cut points must satisfy 0 < a < b ≤ 1, got a = {a}, b = {b}")]
    Cuts {
        /// The A cut point.
        a: f64,
        /// The B cut point.
        b: f64,
    },
}
