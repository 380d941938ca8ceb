use super::bgbb::{BgBb, BgBbData};
use super::bgnbd::{BgNbd, BgNbdData};
use super::gamma_gamma::{GammaGamma, SpendData};
use super::optimize::{FitReport, fit};
use super::params::{CheckedClvParams, ModelKind};
use super::paretonbd::{ParetoNbd, ParetoNbdData};
use super::summary::{Grouped, Summary};
use super::{ClvError, TransactionModel};

/// A fitted transaction model.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum TransactionFit {
    /// BG/NBD.
    BgNbd(BgNbd),
    /// Pareto/NBD.
    ParetoNbd(ParetoNbd),
    /// BG/BB.
    BgBb(BgBb),
}

impl TransactionModel for TransactionFit {
    fn p_alive(&self, s: &Summary) -> f64 {
        match self {
            TransactionFit::BgNbd(m) => m.p_alive(s),
            TransactionFit::ParetoNbd(m) => m.p_alive(s),
            TransactionFit::BgBb(m) => m.p_alive(s),
        }
    }
    fn expected_purchases(&self, s: &Summary, horizon: f64) -> f64 {
        match self {
            TransactionFit::BgNbd(m) => m.expected_purchases(s, horizon),
            TransactionFit::ParetoNbd(m) => m.expected_purchases(s, horizon),
            TransactionFit::BgBb(m) => m.expected_purchases(s, horizon),
        }
    }
    fn expected_purchases_new(&self, horizon: f64) -> f64 {
        match self {
            TransactionFit::BgNbd(m) => m.expected_purchases_new(horizon),
            TransactionFit::ParetoNbd(m) => m.expected_purchases_new(horizon),
            TransactionFit::BgBb(m) => m.expected_purchases_new(horizon),
        }
    }
}

/// Churn risk bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChurnBand {
    /// Below the medium threshold.
    Low,
    /// From the medium threshold.
    Medium,
    /// From the high threshold.
    High,
}

impl ChurnBand {
    /// The band's name in English or Chinese.
    pub fn label(self, lang: crate::Lang) -> &'static str {
        match (self, lang) {
            (ChurnBand::Low, crate::Lang::En) => "low",
            (ChurnBand::Medium, crate::Lang::En) => "medium",
            (ChurnBand::High, crate::Lang::En) => "high",
            (ChurnBand::Low, crate::Lang::Zh) => "低",
            (ChurnBand::Medium, crate::Lang::Zh) => "中",
            (ChurnBand::High, crate::Lang::Zh) => "高",
        }
    }
}

/// One customer's predictions.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Prediction {
    /// Probability of being alive at the end of calibration.
    pub p_alive: f64,
    /// `1 − p_alive`.
    pub churn_risk: f64,
    /// The band of `churn_risk`.
    pub churn_band: ChurnBand,
    /// Expected purchases in the next 90 days.
    pub expected_purchases_90d: f64,
    /// Expected mean purchase value (Gamma-Gamma).
    pub expected_spend: f64,
    /// Discounted expected value over the horizon.
    pub clv: f64,
}

/// Predicted against actual holdout purchases for customers with one number of calibration
/// purchases (`frequency`; the last row, `None`, is every customer).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct HoldoutRow {
    /// Repeat purchases in calibration (the top group holds this many and more).
    pub frequency: Option<u32>,
    /// Whether the row holds `frequency` and more.
    pub and_more: bool,
    /// Customers.
    pub customers: usize,
    /// Mean actual holdout purchases.
    pub actual: f64,
    /// Mean predicted holdout purchases.
    pub predicted: f64,
}

/// A fitted transaction model and spend model with what is needed to predict.
#[derive(Debug, Clone)]
pub struct ClvModel {
    params: CheckedClvParams,
    transaction: TransactionFit,
    transaction_report: FitReport,
    spend: GammaGamma,
    spend_report: FitReport,
    spend_correlation: f64,
    spend_excluded: usize,
}

impl CheckedClvParams {
    /// Fits the transaction model and the Gamma-Gamma spend model on calibration summaries
    /// (for BG/BB, from [`super::summarize_discrete`]).
    pub fn fit(&self, summaries: &[Summary]) -> Result<ClvModel, ClvError> {
        let (transaction, transaction_report) = self.fit_transactions(summaries)?;
        let spend_data = SpendData::new(summaries);
        if spend_data.len() < self.min_repeat() {
            return Err(ClvError::TooFewRepeat {
                model: "Gamma-Gamma",
                found: spend_data.len(),
                customers: summaries.len(),
                needed: self.min_repeat(),
                what: " with a positive mean spend",
            });
        }
        let spend_report = fit(
            &spend_data,
            spend_data.len(),
            self.penalty(),
            self.max_iters(),
        )?;
        Ok(ClvModel {
            params: self.clone(),
            transaction,
            transaction_report,
            spend: GammaGamma::from_values(&spend_report.values),
            spend_report,
            spend_correlation: spend_data.correlation,
            spend_excluded: spend_data.nonpositive,
        })
    }
}

impl CheckedClvParams {
    /// Fits the transaction model alone.
    pub fn fit_transactions(
        &self,
        summaries: &[Summary],
    ) -> Result<(TransactionFit, FitReport), ClvError> {
        let model = self.model();
        if model == ModelKind::BgBb {
            for s in summaries {
                let whole = |v: f64| v.fract() == 0.0;
                let (x, tx, n) = (f64::from(s.frequency), s.recency, s.t);
                if !(whole(tx) && whole(n) && x <= tx && tx <= n && (x > 0.0 || tx == 0.0)) {
                    return Err(ClvError::Discrete {
                        frequency: s.frequency,
                        recency: s.recency,
                        n: s.t,
                    });
                }
            }
        }
        let grouped = Grouped::new(summaries)?;
        let repeat = grouped.repeat_customers() as usize;
        if repeat < self.min_repeat() {
            return Err(ClvError::TooFewRepeat {
                model: model.title(),
                found: repeat,
                customers: summaries.len(),
                needed: self.min_repeat(),
                what: "",
            });
        }
        let (penalty, iters, groups) = (self.penalty(), self.max_iters(), grouped.rows.len());
        Ok(match model {
            ModelKind::BgNbd => {
                let r = fit(&BgNbdData::new(&grouped), groups, penalty, iters)?;
                (TransactionFit::BgNbd(BgNbd::from_values(&r.values)), r)
            }
            ModelKind::ParetoNbd => {
                let r = fit(&ParetoNbdData { grouped: &grouped }, groups, penalty, iters)?;
                (
                    TransactionFit::ParetoNbd(ParetoNbd::from_values(&r.values)),
                    r,
                )
            }
            ModelKind::BgBb => {
                let r = fit(&BgBbData { grouped: &grouped }, groups, penalty, iters)?;
                (TransactionFit::BgBb(BgBb::from_values(&r.values)), r)
            }
        })
    }
}

impl ClvModel {
    /// The settings the model was fitted with.
    pub fn params(&self) -> &CheckedClvParams {
        &self.params
    }
    /// The fitted transaction model.
    pub fn transaction(&self) -> &TransactionFit {
        &self.transaction
    }
    /// How the transaction model's fit went.
    pub fn transaction_report(&self) -> &FitReport {
        &self.transaction_report
    }
    /// The fitted spend model.
    pub fn spend(&self) -> &GammaGamma {
        &self.spend
    }
    /// How the spend model's fit went.
    pub fn spend_report(&self) -> &FitReport {
        &self.spend_report
    }
    /// Pearson correlation between repeat purchases and mean spend among repeat customers; the
    /// spend model assumes none.
    pub fn spend_correlation(&self) -> f64 {
        self.spend_correlation
    }
    /// Whether the correlation is strong enough (|ρ| ≥ 0.3) to doubt the spend model.
    pub fn spend_correlation_warning(&self) -> bool {
        self.spend_correlation.abs() >= 0.3
    }
    /// Repeat customers left out of the spend fit for a mean spend of zero or less.
    pub fn spend_excluded(&self) -> usize {
        self.spend_excluded
    }

    /// The band of a churn risk.
    pub fn churn_band(&self, churn_risk: f64) -> ChurnBand {
        let (medium, high) = self.params.churn_bands();
        if churn_risk >= high {
            ChurnBand::High
        } else if churn_risk >= medium {
            ChurnBand::Medium
        } else {
            ChurnBand::Low
        }
    }

    /// Predictions for one customer.
    ///
    /// The CLV adds, month by month over the horizon, the expected purchases in that month
    /// times the expected spend, discounted by `(1 + d)^i` for month `i` (the stepwise
    /// discounting of `lifetimes`' `customer_lifetime_value`). BG/BB steps by whole
    /// opportunities instead, with the monthly rate converted to the opportunity's length.
    pub fn predict(&self, s: &Summary) -> Prediction {
        let m = &self.transaction;
        let p_alive = m.p_alive(s).clamp(0.0, 1.0);
        let churn_risk = 1.0 - p_alive;
        let unit = self.params.period().days();
        let expected_spend = self.spend.expected_spend(s.frequency, s.monetary);
        let month = 365.25 / 12.0 / unit;
        let (step, steps) = match m {
            TransactionFit::BgBb(_) => {
                let steps = (f64::from(self.params.horizon_months()) * month).round();
                (1.0, steps as u32)
            }
            _ => (month, self.params.horizon_months()),
        };
        let per_step = (1.0 + self.params.discount_rate()).powf(step / month);
        let mut clv = 0.0;
        let (mut before, mut discount) = (0.0, 1.0);
        for i in 1..=steps {
            let upto = m.expected_purchases(s, f64::from(i) * step);
            discount *= per_step;
            clv += (upto - before) * expected_spend / discount;
            before = upto;
        }
        Prediction {
            p_alive,
            churn_risk,
            churn_band: self.churn_band(churn_risk),
            expected_purchases_90d: m.expected_purchases(s, 90.0 / unit),
            expected_spend,
            clv,
        }
    }

    /// Predictions for many customers, in parallel, in order.
    pub fn predict_all(&self, summaries: &[Summary]) -> Vec<Prediction> {
        use rayon::prelude::*;
        summaries.par_iter().map(|s| self.predict(s)).collect()
    }

    /// Mean predicted against mean actual purchases in a holdout of `holdout` periods, by
    /// number of calibration repeat purchases (0 … `top`−1 and `top`+), then all customers.
    pub fn holdout_table(&self, summaries: &[Summary], holdout: f64, top: u32) -> Vec<HoldoutRow> {
        let mut rows: Vec<HoldoutRow> = (0..=top)
            .map(|f| HoldoutRow {
                frequency: Some(f),
                and_more: f == top,
                customers: 0,
                actual: 0.0,
                predicted: 0.0,
            })
            .collect();
        let mut all = HoldoutRow {
            frequency: None,
            and_more: false,
            customers: 0,
            actual: 0.0,
            predicted: 0.0,
        };
        for s in summaries {
            let predicted = self.transaction.expected_purchases(s, holdout);
            let actual = f64::from(s.holdout_frequency);
            for r in [&mut rows[s.frequency.min(top) as usize], &mut all] {
                r.customers += 1;
                r.actual += actual;
                r.predicted += predicted;
            }
        }
        rows.push(all);
        rows.retain(|r| r.customers > 0);
        for r in &mut rows {
            r.actual /= r.customers as f64;
            r.predicted /= r.customers as f64;
        }
        rows
    }
}
