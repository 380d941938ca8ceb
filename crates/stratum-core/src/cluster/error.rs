use thiserror::Error;

/// What can go wrong clustering.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ClusterError {
    /// A setting out of range.
    #[error("{name} must be {expected}, got {value}")]
    Param {
        /// The setting.
        name: &'static str,
        /// Its value.
        value: f64,
        /// The allowed range.
        expected: &'static str,
    },
    /// No features to cluster on.
    #[error("no features to cluster on")]
    NoFeatures,
    /// A feature with a different number of values than the first.
    #[error("feature `{feature}` has {values} values, `{first}` has {expected}")]
    Length {
        /// The feature.
        feature: String,
        /// Its values.
        values: usize,
        /// The first feature.
        first: String,
        /// The first feature's values.
        expected: usize,
    },
    /// Fewer customers than clusters.
    #[error("{customers} customers with every feature cannot make {k} clusters")]
    TooFew {
        /// Customers with every feature.
        customers: usize,
        /// Clusters asked for.
        k: usize,
    },
    /// K-means left clusters without customers (fewer distinct customers than K).
    #[error(
        "k-means left {empty} of {k} clusters empty: the customers are too few or too alike for k = {k}"
    )]
    Empty {
        /// Clusters asked for.
        k: usize,
        /// Clusters left empty.
        empty: usize,
    },
    /// No K in the range gave a silhouette score.
    #[error(
        "no K in the range separates the customers (every silhouette undefined): are the features constant?"
    )]
    NoStructure,
    /// The clustering library failed.
    #[error("k-means failed: {0}")]
    KMeans(String),
}
