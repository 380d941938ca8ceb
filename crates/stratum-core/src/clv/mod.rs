//! Customer lifetime value and churn risk from the buy-till-you-die models.
//!
//! Tiering by what customers *were* worth is half the job; these models say what each will be
//! worth and how likely they are to still be a customer. From each customer's purchase days
//! ([`summarize`]) we fit a transaction model — [`MbgNbd`] (the default), [`BgNbd`],
//! [`ParetoNbd`] or, for discrete opportunities, [`BgBb`] — and the [`GammaGamma`] spend model, by maximum likelihood with
//! exact gradients (see `optimize`). Identical summaries are grouped, so the cost grows with
//! distinct summaries, not customers.
//!
//! ```
//! use stratum_core::clv::{ClvParams, ModelKind, Summary};
//!
//! // the published CDNOW summary of Fader, Hardie & Lee (2005), in weeks: ID, repeat
//! // purchases, recency, age and the mean repeat spend of each of 2,357 customers
//! let path = concat!(
//!     env!("CARGO_MANIFEST_DIR"),
//!     "/tests/data/clv/cdnow_customers_summary_with_transactions.csv"
//! );
//! let text = std::fs::read_to_string(path).unwrap();
//! let summaries: Vec<Summary> = text
//!     .lines()
//!     .skip(1)
//!     .map(|line| {
//!         let v: Vec<f64> = line.split(',').map(|x| x.trim().parse().unwrap()).collect();
//!         Summary {
//!             frequency: v[1] as u32,
//!             recency: v[2],
//!             t: v[3],
//!             monetary: v[4],
//!             ..Summary::default()
//!         }
//!     })
//!     .collect();
//! let params = ClvParams::new().model(ModelKind::BgNbd).min_repeat(1).check().unwrap();
//! let model = params.fit(&summaries).unwrap();
//! let fit = model.transaction_report();
//! // the published BG/NBD parameters: r 0.243, α 4.414, a 0.793, b 2.426
//! let published = [("r", "0.243"), ("alpha", "4.414"), ("a", "0.793"), ("b", "2.426")];
//! for (name, value) in published {
//!     assert_eq!(format!("{:.3}", fit.value(name)), value, "{name}");
//! }
//! ```

mod algorithm;
mod bgbb;
mod bgnbd;
pub mod dual;
mod error;
mod gamma_gamma;
mod mbgnbd;
mod optimize;
mod params;
mod paretonbd;
pub mod simulate;
mod summary;

pub use algorithm::{
    ChurnBand, ClvModel, HOLDOUT_MARGIN, HoldoutCheck, HoldoutRow, HoldoutVerdict, Prediction,
    TransactionFit, ValueTier,
};
pub use bgbb::BgBb;
pub use bgnbd::BgNbd;
pub use error::ClvError;
pub use gamma_gamma::GammaGamma;
pub use mbgnbd::MbgNbd;
pub use optimize::FitReport;
pub use params::{CheckedClvParams, ClvParams, ModelKind};
pub use paretonbd::ParetoNbd;
pub use summary::{
    Grouped, Period, PurchaseDay, Summary, purchase_days, summaries, summarize, summarize_discrete,
};

/// Predictions of a fitted transaction model for one customer's summary; times are in the
/// model's periods.
pub trait TransactionModel {
    /// The probability that the customer is still alive at the end of calibration.
    fn p_alive(&self, s: &Summary) -> f64;
    /// Expected purchases in the `horizon` periods after the end of calibration, if the
    /// customer is alive then. Every model's expectation factors as P(alive) times this, so a
    /// prediction over many horizons works P(alive) out once.
    fn expected_purchases_if_alive(&self, s: &Summary, horizon: f64) -> f64;
    /// Expected purchases in the `horizon` periods after the end of calibration.
    fn expected_purchases(&self, s: &Summary, horizon: f64) -> f64 {
        self.p_alive(s) * self.expected_purchases_if_alive(s, horizon)
    }
    /// Expected purchases of a customer new at time 0 over `horizon` periods.
    fn expected_purchases_new(&self, horizon: f64) -> f64;
}

/// What the transaction models' unit tests share.
#[cfg(test)]
pub(crate) mod testing {
    use super::summary::Grouped;
    use approx::assert_relative_eq;

    /// A few grouped summaries covering no repeat purchases, recency = age and weights.
    pub(crate) fn sample() -> Grouped {
        Grouped::from_rows(vec![
            (0, 0.0, 30.0, 3.0),
            (0, 0.0, 12.5, 1.0),
            (1, 4.0, 30.0, 2.0),
            (3, 20.0, 30.0, 1.0),
            (3, 29.0, 31.0, 1.0),
            (7, 12.5, 12.5, 1.0),
        ])
        .unwrap_or_default()
    }

    /// Checks a log-likelihood and its gradient at `p` (`ll` fills the gradient) against the
    /// paper's formula `paper` and the central differences of that formula.
    pub(crate) fn check_likelihood(
        p: [f64; 4],
        ll: impl Fn(&[f64; 4], &mut [f64; 4]) -> f64,
        paper: impl Fn(&[f64; 4]) -> f64,
    ) {
        let mut grad = [0.0; 4];
        assert_relative_eq!(ll(&p, &mut grad), paper(&p), max_relative = 1e-12);
        for i in 0..4 {
            let h = 1e-6 * p[i];
            let (mut up, mut down) = (p, p);
            up[i] += h;
            down[i] -= h;
            let fd = (paper(&up) - paper(&down)) / (2.0 * h);
            assert_relative_eq!(grad[i], fd, max_relative = 1e-6);
        }
    }
}
