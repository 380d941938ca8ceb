//! RFM parameters: unchecked, then checked.

use super::RfmError;

/// How raw values become scores.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ScoreMethod {
    /// By rank among all customers (the default), see [`super`] for the exact tie rule.
    #[default]
    Quantile,
    /// By fixed cut points, `bins − 1` strictly ascending values per dimension.
    ///
    /// Recency (days): a customer scores `bins` minus the number of cut points strictly below
    /// their recency, so `[30, 90, 180, 365]` gives 5 for ≤ 30 days and 1 for > 365 days.
    /// Frequency and monetary: 1 plus the number of cut points at or below the value, so
    /// `[2, 3, 5, 10]` gives 1 for one order and 5 for ten or more.
    Thresholds {
        /// Recency cut points in days.
        recency: Vec<f64>,
        /// Frequency cut points.
        frequency: Vec<f64>,
        /// Monetary cut points in currency units.
        monetary: Vec<f64>,
    },
}

/// What R, F and M are compared with to decide "high" or "low" for the eight classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClassBasis {
    /// A score strictly above the mean score is high (the default).
    #[default]
    Scores,
    /// A raw value better than the mean raw value is high: recency strictly below the mean,
    /// frequency or monetary strictly above it.
    Values,
}

/// Unchecked RFM parameters, built with consuming setters.
#[derive(Debug, Clone, PartialEq)]
pub struct RfmParams {
    bins: u8,
    method: ScoreMethod,
    class_basis: ClassBasis,
}

impl Default for RfmParams {
    fn default() -> Self {
        RfmParams {
            bins: 5,
            method: ScoreMethod::Quantile,
            class_basis: ClassBasis::Scores,
        }
    }
}

impl RfmParams {
    /// Default parameters: 5 levels, quantile scores, classes against the mean score.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of score levels, 3 to 5 (default 5).
    pub fn bins(mut self, bins: u8) -> Self {
        self.bins = bins;
        self
    }

    /// How scores are assigned (default [`ScoreMethod::Quantile`]).
    pub fn method(mut self, method: ScoreMethod) -> Self {
        self.method = method;
        self
    }

    /// What "high" means for the eight classes (default [`ClassBasis::Scores`]).
    pub fn class_basis(mut self, basis: ClassBasis) -> Self {
        self.class_basis = basis;
        self
    }

    /// Validates the parameters.
    pub fn check(self) -> Result<CheckedRfmParams, RfmError> {
        if !(3..=5).contains(&self.bins) {
            return Err(RfmError::Bins(self.bins));
        }
        if let ScoreMethod::Thresholds {
            recency,
            frequency,
            monetary,
        } = &self.method
        {
            for (dimension, values) in [
                ("recency", recency),
                ("frequency", frequency),
                ("monetary", monetary),
            ] {
                let expected = usize::from(self.bins) - 1;
                if values.len() != expected {
                    return Err(RfmError::ThresholdCount {
                        dimension,
                        expected,
                        got: values.len(),
                    });
                }
                let ascending = values.windows(2).all(|w| w[0] < w[1]);
                if !ascending || values.iter().any(|v| !v.is_finite()) {
                    return Err(RfmError::ThresholdOrder {
                        dimension,
                        values: values.clone(),
                    });
                }
            }
        }
        Ok(CheckedRfmParams(self))
    }
}

/// RFM parameters that passed [`RfmParams::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRfmParams(RfmParams);

impl CheckedRfmParams {
    /// The number of score levels.
    pub fn bins(&self) -> u8 {
        self.0.bins
    }

    /// How scores are assigned.
    pub fn method(&self) -> &ScoreMethod {
        &self.0.method
    }

    /// What "high" means for the eight classes.
    pub fn class_basis(&self) -> ClassBasis {
        self.0.class_basis
    }
}
