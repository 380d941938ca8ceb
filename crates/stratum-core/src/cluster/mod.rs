//! Quantitative segmentation by k-means: customers clustered on chosen features (default the
//! log of recency, frequency and monetary value, z-scored), k-means++ with restarts
//! (`linfa-clustering`), seeded, so the same data and seed give the same clusters.
//!
//! K can be fixed or chosen from a range by the silhouette score; the table of inertia (for
//! the elbow), silhouette and Calinski–Harabasz figures for every K is kept so the analyst sees
//! why. On large data K is chosen on a seeded random sample (with at most 4 restarts per K)
//! and silhouettes are computed on a smaller one (both reported); the final fit uses every
//! customer and every restart.
//!
//! Clusters are numbered in business order — descending mean of a chosen feature such as
//! monetary value — not in the algorithm's internal order, and described in words.

mod algorithm;
mod describe;
mod error;
mod params;

pub use algorithm::{Cluster, Clustering, KRow, silhouette};
pub use describe::{AVERAGE_CODE, CODE_SEPARATOR, Description, describe_cluster, feature_codes};
pub use error::ClusterError;
pub use params::{CheckedClusterParams, ClusterParams, KChoice, Scaling};
