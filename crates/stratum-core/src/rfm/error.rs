//! Errors in RFM parameters.

/// A reason the RFM parameters cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RfmError {
    /// The number of score levels is outside 3..=5.
    #[error("bins must be between 3 and 5, got {0}")]
    Bins(u8),
    /// A threshold list has the wrong length for the number of levels.
    #[error("{dimension} thresholds must have {expected} values (bins − 1), got {got}")]
    ThresholdCount {
        /// `recency`, `frequency` or `monetary`.
        dimension: &'static str,
        /// bins − 1.
        expected: usize,
        /// The number given.
        got: usize,
    },
    /// A threshold list is not strictly ascending or holds a non-finite value.
    #[error("{dimension} thresholds must be finite and strictly ascending, got {values:?}")]
    ThresholdOrder {
        /// `recency`, `frequency` or `monetary`.
        dimension: &'static str,
        /// The values given.
        values: Vec<f64>,
    },
}
