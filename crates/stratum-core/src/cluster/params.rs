use super::ClusterError;

/// How the number of clusters is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KChoice {
    /// This many clusters.
    Fixed(usize),
    /// The K in `min..=max` with the best silhouette score.
    Auto {
        /// Smallest K tried.
        min: usize,
        /// Largest K tried.
        max: usize,
    },
}

/// How features are put on one scale before clustering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scaling {
    /// (x − mean) / standard deviation (the default).
    #[default]
    ZScore,
    /// (x − median) / interquartile range: outliers weigh less.
    Robust,
}

impl std::str::FromStr for Scaling {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zscore" | "z-score" | "z" | "standard" => Ok(Scaling::ZScore),
            "robust" => Ok(Scaling::Robust),
            other => Err(format!(
                "unknown scaling `{other}`; expected zscore or robust"
            )),
        }
    }
}

/// K-means settings, unchecked. Build with [`ClusterParams::new`] and the setters.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterParams {
    pub(crate) k: KChoice,
    pub(crate) runs: usize,
    pub(crate) max_iters: u64,
    pub(crate) tolerance: f64,
    pub(crate) seed: u64,
    pub(crate) scaling: Scaling,
    pub(crate) log: bool,
    pub(crate) selection_sample: usize,
    pub(crate) silhouette_sample: usize,
}

impl Default for ClusterParams {
    fn default() -> Self {
        ClusterParams::new()
    }
}

impl ClusterParams {
    /// The defaults: K chosen from 2–8, 10 k-means++ restarts, at most 300 iterations,
    /// tolerance 1e-4, seed 42, z-scores of log-transformed features, K chosen on a sample of
    /// at most 20,000 customers (with at most 4 restarts per K), silhouettes on at most 5,000.
    pub fn new() -> Self {
        ClusterParams {
            k: KChoice::Auto { min: 2, max: 8 },
            runs: 10,
            max_iters: 300,
            tolerance: 1e-4,
            seed: 42,
            scaling: Scaling::ZScore,
            log: true,
            selection_sample: 20_000,
            silhouette_sample: 5_000,
        }
    }
    /// The number of clusters, or how to choose it (default: auto over 2–8).
    pub fn k(mut self, k: KChoice) -> Self {
        self.k = k;
        self
    }
    /// k-means++ restarts; the best (lowest inertia) is kept (default 10).
    pub fn runs(mut self, runs: usize) -> Self {
        self.runs = runs;
        self
    }
    /// The most iterations per restart (default 300).
    pub fn max_iters(mut self, max_iters: u64) -> Self {
        self.max_iters = max_iters;
        self
    }
    /// The convergence tolerance on the centroids' movement (default 1e-4).
    pub fn tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = tolerance;
        self
    }
    /// The random seed (default 42): the same data and seed give the same clusters.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// How features are scaled (default z-score).
    pub fn scaling(mut self, scaling: Scaling) -> Self {
        self.scaling = scaling;
        self
    }
    /// Whether features are log-transformed first, `sign(x) · ln(1 + |x|)`, which tames the
    /// heavy tails of frequency and monetary value (default true).
    pub fn log(mut self, log: bool) -> Self {
        self.log = log;
        self
    }
    /// The most customers K is chosen on (default 20,000; a seeded random sample above).
    pub fn selection_sample(mut self, n: usize) -> Self {
        self.selection_sample = n;
        self
    }
    /// The most customers a silhouette score is computed on (default 5,000).
    pub fn silhouette_sample(mut self, n: usize) -> Self {
        self.silhouette_sample = n;
        self
    }

    /// Checks every setting.
    pub fn check(self) -> Result<CheckedClusterParams, ClusterError> {
        let bad = |name, value: f64, expected| {
            Err(ClusterError::Param {
                name,
                value,
                expected,
            })
        };
        match self.k {
            KChoice::Fixed(k) if !(2..=100).contains(&k) => {
                return bad("k", k as f64, "between 2 and 100");
            }
            KChoice::Auto { min, max } if !(2 <= min && min <= max && max <= 30) => {
                return bad(
                    "the k range",
                    min as f64,
                    "a range within 2–30, smallest first",
                );
            }
            _ => {}
        }
        if self.runs == 0 {
            return bad("runs", 0.0, "at least 1");
        }
        if self.max_iters == 0 {
            return bad("max_iters", 0.0, "at least 1");
        }
        if self.tolerance.is_nan() || self.tolerance <= 0.0 {
            return bad("tolerance", self.tolerance, "above 0");
        }
        if self.selection_sample < 100 {
            return bad(
                "selection_sample",
                self.selection_sample as f64,
                "at least 100",
            );
        }
        if self.silhouette_sample < 10 {
            return bad(
                "silhouette_sample",
                self.silhouette_sample as f64,
                "at least 10",
            );
        }
        Ok(CheckedClusterParams(self))
    }
}

/// Checked k-means settings: fit with [`CheckedClusterParams::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedClusterParams(pub(crate) ClusterParams);

impl CheckedClusterParams {
    /// The K choice.
    pub fn k(&self) -> KChoice {
        self.0.k
    }
    /// The scaling.
    pub fn scaling(&self) -> Scaling {
        self.0.scaling
    }
    /// Whether features are log-transformed.
    pub fn log(&self) -> bool {
        self.0.log
    }
    /// The seed.
    pub fn seed(&self) -> u64 {
        self.0.seed
    }
}
