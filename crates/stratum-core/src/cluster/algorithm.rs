use linfa::prelude::*;
use linfa_clustering::KMeans;
use ndarray::{Array2, ArrayView1, ArrayView2, Axis};
use rand_xoshiro::Xoshiro256Plus;
use rand_xoshiro::rand_core::SeedableRng;
use rayon::prelude::*;

use super::params::{CheckedClusterParams, KChoice, Scaling};
use super::{ClusterError, describe_cluster};
use crate::sampling::{quantile, sample_indices as sample};

/// One row of the K-selection table.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct KRow {
    /// The number of clusters.
    pub k: usize,
    /// Sum of squared distances to the nearest centre (the elbow figure).
    pub inertia: f64,
    /// Mean silhouette width (higher is better; the choice).
    pub silhouette: f64,
    /// Calinski–Harabasz index (higher is better).
    pub calinski_harabasz: f64,
}

/// One cluster, numbered in business order.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Cluster {
    /// 1 for the cluster with the highest mean of the ordering feature, and so on.
    pub id: usize,
    /// Customers in it.
    pub size: usize,
    /// Its share of the clustered customers.
    pub share: f64,
    /// Mean of each feature on its own scale.
    pub means: Vec<f64>,
    /// Mean of each feature after transformation and scaling, minus the overall mean (in
    /// standard deviations for z-scores): what the description reads.
    pub relative: Vec<f64>,
    /// The cluster's code (`high_value+recent`, or `average`): the same in every language,
    /// what data and rules hold ([`describe_cluster`]).
    pub code: String,
    /// The cluster in words, English.
    pub label_en: String,
    /// The cluster in words, Chinese.
    pub label_zh: String,
}
impl Cluster {
    /// The cluster in words, in `lang`.
    pub fn label(&self, lang: crate::Lang) -> &str {
        lang.pick(&self.label_zh, &self.label_en)
    }
}

/// A fitted clustering.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Clustering {
    /// The features, in order.
    pub features: Vec<String>,
    /// The number of clusters.
    pub k: usize,
    /// Each input row's cluster id (1-based, business order), `None` without every feature.
    pub labels: Vec<Option<usize>>,
    /// The clusters, by id.
    pub clusters: Vec<Cluster>,
    /// Sum of squared distances to the nearest centre, in the scaled space.
    pub inertia: f64,
    /// Mean silhouette width on a seeded random sample of `silhouette_sample` customers.
    pub silhouette: f64,
    /// Calinski–Harabasz index.
    pub calinski_harabasz: f64,
    /// The K-selection table (empty for a fixed K).
    pub k_table: Vec<KRow>,
    /// Customers K was chosen on, when that was a seeded random sample of the clustered ones.
    pub selection_sample: Option<usize>,
    /// Customers the silhouette was computed on (a seeded random sample when fewer than the
    /// clustered ones).
    pub silhouette_sample: usize,
    /// Rows left out for a missing or non-finite feature value.
    pub skipped: usize,
}

/// Restarts per K while choosing K (the final fit uses them all).
const SELECTION_RUNS: usize = 4;

/// `sign(x) · ln(1 + |x|)`.
fn signed_log(x: f64) -> f64 {
    x.signum() * x.abs().ln_1p()
}

impl CheckedClusterParams {
    /// Clusters the rows that have every feature. `features` are `(name, value per row)`;
    /// clusters are numbered by descending mean of feature `order_by` (e.g. monetary value),
    /// so cluster 1 is the same kind of customer from run to run.
    pub fn fit(
        &self,
        features: &[(String, Vec<Option<f64>>)],
        order_by: usize,
    ) -> Result<Clustering, ClusterError> {
        let p = &self.0;
        let (first, rest) = features.split_first().ok_or(ClusterError::NoFeatures)?;
        let rows = first.1.len();
        for (name, values) in rest {
            if values.len() != rows {
                return Err(ClusterError::Length {
                    feature: name.clone(),
                    values: values.len(),
                    first: first.0.clone(),
                    expected: rows,
                });
            }
        }
        let d = features.len();
        let complete: Vec<usize> = (0..rows)
            .filter(|&i| {
                features
                    .iter()
                    .all(|(_, v)| v[i].is_some_and(f64::is_finite))
            })
            .collect();
        let n = complete.len();
        let raw = |i: usize, f: usize| features[f].1[complete[i]].unwrap_or(f64::NAN);
        let min_k = match p.k {
            KChoice::Fixed(k) => k,
            KChoice::Auto { min, .. } => min,
        };
        if n < min_k.max(2) {
            return Err(ClusterError::TooFew {
                customers: n,
                k: min_k,
            });
        }
        // transform and scale
        let mut x = Array2::<f64>::zeros((n, d));
        for f in 0..d {
            let mut col: Vec<f64> = (0..n)
                .map(|i| {
                    if p.log {
                        signed_log(raw(i, f))
                    } else {
                        raw(i, f)
                    }
                })
                .collect();
            let mean = col.iter().sum::<f64>() / n as f64;
            let sd = (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
            let (centre, spread) = match p.scaling {
                Scaling::ZScore => (mean, sd),
                Scaling::Robust => {
                    let mut sorted = col.clone();
                    sorted.sort_by(f64::total_cmp);
                    let iqr = quantile(&sorted, 0.75) - quantile(&sorted, 0.25);
                    (quantile(&sorted, 0.5), if iqr > 0.0 { iqr } else { sd })
                }
            };
            let spread = if spread > 0.0 { spread } else { 1.0 };
            for (i, v) in col.iter_mut().enumerate() {
                x[[i, f]] = (*v - centre) / spread;
            }
        }

        // choose K on a sample
        let mut k_table = Vec::new();
        let mut selection_sample = None;
        let k = match p.k {
            KChoice::Fixed(k) => k,
            KChoice::Auto { min, max } => {
                let idx = sample(n, p.selection_sample, p.seed);
                if idx.len() < n {
                    selection_sample = Some(idx.len());
                }
                let rows_x = x.select(Axis(0), &idx);
                let max = max.min(idx.len().saturating_sub(1)).max(min);
                for k in min..=max {
                    let labels = self.kmeans(rows_x.view(), k, p.runs.min(SELECTION_RUNS))?;
                    let (inertia, ch) = inertia_ch(rows_x.view(), &labels, k);
                    let silhouette =
                        silhouette_sampled(rows_x.view(), &labels, p.silhouette_sample, p.seed);
                    k_table.push(KRow {
                        k,
                        inertia,
                        silhouette,
                        calinski_harabasz: ch,
                    });
                }
                // the best silhouette; the smaller K on a tie; a K whose silhouette could not
                // be computed (a cluster left empty, every point in one) never wins
                k_table
                    .iter()
                    .filter(|r| r.silhouette.is_finite())
                    .fold(None::<KRow>, |best, r| match best {
                        Some(b) if b.silhouette >= r.silhouette => Some(b),
                        _ => Some(*r),
                    })
                    .map(|r| r.k)
                    .ok_or(ClusterError::NoStructure)?
            }
        };
        if n < k {
            return Err(ClusterError::TooFew { customers: n, k });
        }
        let labels = self.kmeans(x.view(), k, p.runs)?;
        let mut sizes = vec![0usize; k];
        for &l in &labels {
            sizes[l] += 1;
        }
        let empty = sizes.iter().filter(|&&s| s == 0).count();
        if empty > 0 {
            return Err(ClusterError::Empty { k, empty });
        }
        let (inertia, calinski_harabasz) = inertia_ch(x.view(), &labels, k);
        let silhouette = silhouette_sampled(x.view(), &labels, p.silhouette_sample, p.seed);

        // business order: descending mean of the ordering feature on its own scale
        let mut sums = vec![vec![0.0; d]; k];
        let mut zsums = vec![vec![0.0; d]; k];
        for (i, &l) in labels.iter().enumerate() {
            for f in 0..d {
                sums[l][f] += raw(i, f);
                zsums[l][f] += x[[i, f]];
            }
        }
        let overall: Vec<f64> = (0..d).map(|f| x.column(f).sum() / n as f64).collect();
        let order_by = order_by.min(d - 1);
        let mean_of = |c: usize, f: usize| sums[c][f] / sizes[c].max(1) as f64;
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&a, &b| {
            mean_of(b, order_by)
                .total_cmp(&mean_of(a, order_by))
                .then(sizes[b].cmp(&sizes[a]))
                .then(a.cmp(&b))
        });
        let mut id_of = vec![0usize; k];
        for (rank, &c) in order.iter().enumerate() {
            id_of[c] = rank + 1;
        }
        let names: Vec<String> = features.iter().map(|f| f.0.clone()).collect();
        let clusters = order
            .iter()
            .enumerate()
            .map(|(rank, &c)| {
                let relative: Vec<f64> = (0..d)
                    .map(|f| zsums[c][f] / sizes[c].max(1) as f64 - overall[f])
                    .collect();
                let words = describe_cluster(&names, &relative);
                Cluster {
                    id: rank + 1,
                    size: sizes[c],
                    share: sizes[c] as f64 / n as f64,
                    means: (0..d).map(|f| mean_of(c, f)).collect(),
                    relative,
                    code: words.code,
                    label_en: words.en,
                    label_zh: words.zh,
                }
            })
            .collect();
        let mut out = vec![None; rows];
        for (i, &l) in labels.iter().enumerate() {
            out[complete[i]] = Some(id_of[l]);
        }
        Ok(Clustering {
            features: names,
            k,
            labels: out,
            clusters,
            inertia,
            silhouette,
            calinski_harabasz,
            k_table,
            selection_sample,
            silhouette_sample: p.silhouette_sample.min(n),
            skipped: rows - n,
        })
    }

    /// k-means++ with restarts (linfa), seeded; each row's cluster index.
    fn kmeans(
        &self,
        x: ArrayView2<'_, f64>,
        k: usize,
        runs: usize,
    ) -> Result<Vec<usize>, ClusterError> {
        let p = &self.0;
        let rng = Xoshiro256Plus::seed_from_u64(p.seed);
        let data = DatasetBase::from(x.to_owned());
        let model = KMeans::params_with_rng(k, rng)
            .n_runs(runs)
            .max_n_iterations(p.max_iters)
            .tolerance(p.tolerance)
            .fit(&data)
            .map_err(|e| ClusterError::KMeans(e.to_string()))?;
        Ok(model.predict(&x.to_owned()).to_vec())
    }
}

fn sq_dist(a: ArrayView1<'_, f64>, b: ArrayView1<'_, f64>) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| (x - y).powi(2)).sum()
}

/// Inertia (within-cluster sum of squares) and the Calinski–Harabasz index
/// `(B / (k − 1)) / (W / (n − k))`.
fn inertia_ch(x: ArrayView2<'_, f64>, labels: &[usize], k: usize) -> (f64, f64) {
    let (n, d) = x.dim();
    let mut centres = Array2::<f64>::zeros((k, d));
    let mut sizes = vec![0usize; k];
    for (i, &l) in labels.iter().enumerate() {
        sizes[l] += 1;
        for f in 0..d {
            centres[[l, f]] += x[[i, f]];
        }
    }
    for c in 0..k {
        for f in 0..d {
            centres[[c, f]] /= sizes[c].max(1) as f64;
        }
    }
    let within: f64 = labels
        .iter()
        .enumerate()
        .map(|(i, &l)| sq_dist(x.row(i), centres.row(l)))
        .sum();
    let grand = x
        .mean_axis(Axis(0))
        .unwrap_or_else(|| ndarray::Array1::zeros(d));
    let between: f64 = (0..k)
        .map(|c| sizes[c] as f64 * sq_dist(centres.row(c), grand.view()))
        .sum();
    let used = sizes.iter().filter(|&&s| s > 0).count();
    let ch = if used > 1 && n > used && within > 0.0 {
        (between / (used - 1) as f64) / (within / (n - used) as f64)
    } else {
        f64::NAN
    };
    (within, ch)
}

/// The mean silhouette width of a seeded random sample of at most `most` rows.
fn silhouette_sampled(x: ArrayView2<'_, f64>, labels: &[usize], most: usize, seed: u64) -> f64 {
    let idx = sample(labels.len(), most, seed);
    let sample = x.select(Axis(0), &idx);
    let sample_labels: Vec<usize> = idx.iter().map(|&i| labels[i]).collect();
    silhouette(sample.view(), &sample_labels)
}

/// The mean silhouette width (Rousseeuw 1987): for each point, `(b − a) / max(a, b)` with `a`
/// its mean distance to the rest of its cluster and `b` the smallest mean distance to another
/// cluster; 0 for a point alone in its cluster.
pub fn silhouette(x: ArrayView2<'_, f64>, labels: &[usize]) -> f64 {
    let n = labels.len();
    let k = labels.iter().copied().max().map_or(0, |m| m + 1);
    if n < 2 || k < 2 {
        return f64::NAN;
    }
    let mut sizes = vec![0usize; k];
    for &l in labels {
        sizes[l] += 1;
    }
    let widths: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut sums = vec![0.0; k];
            for j in 0..n {
                if i != j {
                    sums[labels[j]] += sq_dist(x.row(i), x.row(j)).sqrt();
                }
            }
            let own = labels[i];
            if sizes[own] < 2 {
                return 0.0;
            }
            let a = sums[own] / (sizes[own] - 1) as f64;
            let b = (0..k)
                .filter(|&c| c != own && sizes[c] > 0)
                .map(|c| sums[c] / sizes[c] as f64)
                .fold(f64::INFINITY, f64::min);
            if !b.is_finite() {
                return 0.0;
            }
            (b - a) / a.max(b)
        })
        .collect();
    widths.iter().sum::<f64>() / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn silhouette_by_hand() {
        // 1-D points 0, 1 | 5, 6: for 0, a = 1, b = (5 + 6)/2 = 5.5 → 1 − 1/5.5 = 0.818182;
        // for 1, a = 1, b = (4 + 5)/2 = 4.5 → 0.777778; 5 and 6 mirror 1 and 0.
        // mean = (0.818182 + 0.777778) / 2 = 0.797980
        let x = Array2::from_shape_vec((4, 1), vec![0.0, 1.0, 5.0, 6.0]).unwrap_or_default();
        let s = silhouette(x.view(), &[0, 0, 1, 1]);
        assert_relative_eq!(
            s,
            (1.0 - 1.0 / 5.5 + 1.0 - 1.0 / 4.5) / 2.0,
            max_relative = 1e-12
        );
    }

    #[test]
    fn calinski_harabasz_by_hand() {
        // same points: centres 0.5 and 5.5, grand mean 3; W = 4 · 0.25 = 1;
        // B = 2 · 2.5² · 2 = 25; CH = (25 / 1) / (1 / 2) = 50
        let x = Array2::from_shape_vec((4, 1), vec![0.0, 1.0, 5.0, 6.0]).unwrap_or_default();
        let (w, ch) = inertia_ch(x.view(), &[0, 0, 1, 1], 2);
        assert_relative_eq!(w, 1.0);
        assert_relative_eq!(ch, 50.0, max_relative = 1e-12);
    }
}
