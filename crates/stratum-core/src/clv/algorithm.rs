use super::bgbb::{BgBb, BgBbData};
use super::bgnbd::{BgNbd, BgNbdData};
use super::gamma_gamma::{GammaGamma, SpendData};
use super::mbgnbd::{MbgNbd, MbgNbdData};
use super::optimize::{FitReport, fit, fit_sampled};
use super::params::{CheckedClvParams, ModelKind};
use super::paretonbd::{ParetoNbd, ParetoNbdData};
use super::summary::{Grouped, Summary};
use super::{ClvError, TransactionModel};

/// From this many distinct summaries (or spend rows) on, the fit starts from a fit on a sample.
const SAMPLE_FROM: usize = 100_000;
/// The sample: every this many-th distinct summary (or spend row).
const SAMPLE_EVERY: usize = 16;

/// A fitted transaction model.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum TransactionFit {
    /// MBG/NBD.
    MbgNbd(MbgNbd),
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
            TransactionFit::MbgNbd(m) => m.p_alive(s),
            TransactionFit::BgNbd(m) => m.p_alive(s),
            TransactionFit::ParetoNbd(m) => m.p_alive(s),
            TransactionFit::BgBb(m) => m.p_alive(s),
        }
    }
    fn expected_purchases_if_alive(&self, s: &Summary, horizon: f64) -> f64 {
        match self {
            TransactionFit::MbgNbd(m) => m.expected_purchases_if_alive(s, horizon),
            TransactionFit::BgNbd(m) => m.expected_purchases_if_alive(s, horizon),
            TransactionFit::ParetoNbd(m) => m.expected_purchases_if_alive(s, horizon),
            TransactionFit::BgBb(m) => m.expected_purchases_if_alive(s, horizon),
        }
    }
    fn expected_purchases_new(&self, horizon: f64) -> f64 {
        match self {
            TransactionFit::MbgNbd(m) => m.expected_purchases_new(horizon),
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
    /// The bands, from low to high risk.
    pub const ALL: [ChurnBand; 3] = [ChurnBand::Low, ChurnBand::Medium, ChurnBand::High];

    /// The band's place in [`ChurnBand::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// How many of `bands` are in each band, in [`ChurnBand::ALL`] order (`None`, a customer
    /// without a usable prediction, is in none): the one count every output shows.
    pub fn count(bands: impl IntoIterator<Item = Option<ChurnBand>>) -> [usize; 3] {
        let mut counts = [0; 3];
        for band in bands.into_iter().flatten() {
            counts[band.index()] += 1;
        }
        counts
    }

    /// The code used in files and rules.
    pub fn code(self) -> &'static str {
        self.label(crate::Lang::En)
    }

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

/// A predicted-value tier: customers ranked by CLV, the top 20% high, the next 30% medium,
/// the rest low; customers with equal CLV share the tier of the first of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueTier {
    /// The top 20% by CLV.
    High,
    /// The next 30%.
    Medium,
    /// The rest.
    Low,
}

impl ValueTier {
    /// The code used in files and rules.
    pub fn code(self) -> &'static str {
        match self {
            ValueTier::High => "high",
            ValueTier::Medium => "medium",
            ValueTier::Low => "low",
        }
    }

    /// The tier's name in English or Chinese.
    pub fn label(self, lang: crate::Lang) -> &'static str {
        match (self, lang) {
            (ValueTier::High, crate::Lang::En) => "high predicted value",
            (ValueTier::Medium, crate::Lang::En) => "medium predicted value",
            (ValueTier::Low, crate::Lang::En) => "low predicted value",
            (ValueTier::High, crate::Lang::Zh) => "高预测价值",
            (ValueTier::Medium, crate::Lang::Zh) => "中预测价值",
            (ValueTier::Low, crate::Lang::Zh) => "低预测价值",
        }
    }

    /// The tier of every customer given their CLVs; a CLV that is not a finite number ranks
    /// last.
    pub fn assign(clv: &[f64]) -> Vec<ValueTier> {
        let n = clv.len();
        let mut order: Vec<usize> = (0..n).collect();
        let key = |i: usize| {
            if clv[i].is_finite() {
                clv[i]
            } else {
                f64::NEG_INFINITY
            }
        };
        order.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
        let mut tiers = vec![ValueTier::Low; n];
        let mut tier = ValueTier::High;
        for (rank, &i) in order.iter().enumerate() {
            let tied = rank > 0 && clv[order[rank - 1]] == clv[i];
            if !tied {
                let share = rank as f64 / n as f64;
                tier = if share < 0.2 {
                    ValueTier::High
                } else if share < 0.5 {
                    ValueTier::Medium
                } else {
                    ValueTier::Low
                };
            }
            tiers[i] = tier;
        }
        tiers
    }
}

/// One customer's predictions.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Prediction {
    /// Probability of being alive at the end of calibration.
    pub p_alive: f64,
    /// `1 − p_alive`.
    pub churn_risk: f64,
    /// The band of `churn_risk`; `None` when the prediction failed (not a finite number).
    pub churn_band: Option<ChurnBand>,
    /// Expected purchases in the next 90 days.
    pub expected_purchases_90d: f64,
    /// Expected mean purchase value (Gamma-Gamma).
    pub expected_spend: f64,
    /// Discounted expected value over the horizon.
    pub clv: f64,
}

impl Prediction {
    /// Whether the prediction is usable: P(alive) and CLV are finite numbers (a prediction
    /// that is not is left empty in the outputs and ranked last).
    pub fn is_finite(&self) -> bool {
        self.clv.is_finite() && self.p_alive.is_finite()
    }
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

/// How far a model's predicted holdout purchases may miss the actual ones, as a share of the
/// actual total, before the model is flagged: 10%.
pub const HOLDOUT_MARGIN: f64 = 0.10;

/// Whether a model's total predicted holdout purchases are within [`HOLDOUT_MARGIN`] of the
/// actual total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldoutVerdict {
    /// Within the margin.
    Within,
    /// Predicts fewer purchases than happened, by more than the margin.
    UnderPredicts,
    /// Predicts more purchases than happened, by more than the margin.
    OverPredicts,
}

impl HoldoutVerdict {
    /// The code used in files.
    pub fn code(self) -> &'static str {
        match self {
            HoldoutVerdict::Within => "within",
            HoldoutVerdict::UnderPredicts => "under_predicts",
            HoldoutVerdict::OverPredicts => "over_predicts",
        }
    }

    /// The verdict for people, in English or Chinese.
    pub fn label(self, lang: crate::Lang) -> &'static str {
        match (self, lang) {
            (HoldoutVerdict::Within, crate::Lang::En) => "within the margin",
            (HoldoutVerdict::UnderPredicts, crate::Lang::En) => "under-predicts the holdout",
            (HoldoutVerdict::OverPredicts, crate::Lang::En) => "over-predicts the holdout",
            (HoldoutVerdict::Within, crate::Lang::Zh) => "在允许误差之内",
            (HoldoutVerdict::UnderPredicts, crate::Lang::Zh) => "低估验证期购买",
            (HoldoutVerdict::OverPredicts, crate::Lang::Zh) => "高估验证期购买",
        }
    }
}

/// Total predicted against total actual holdout purchases, and the verdict.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct HoldoutCheck {
    /// Actual holdout purchases, all customers.
    pub actual: f64,
    /// Predicted holdout purchases, all customers.
    pub predicted: f64,
    /// `(predicted − actual) / actual` (infinite when nothing was bought and something was
    /// predicted).
    pub relative_error: f64,
    /// The margin the verdict used ([`HOLDOUT_MARGIN`]).
    pub margin: f64,
    /// The verdict.
    pub verdict: HoldoutVerdict,
}

impl HoldoutCheck {
    /// The check of a calibration/holdout table (from [`ClvModel::holdout_table`]), from its
    /// last row (all customers); `None` without one.
    pub fn of(rows: &[HoldoutRow]) -> Option<HoldoutCheck> {
        let all = rows.iter().find(|r| r.frequency.is_none())?;
        let n = all.customers as f64;
        let (actual, predicted) = (all.actual * n, all.predicted * n);
        let miss = predicted - actual;
        let relative_error = if actual > 0.0 {
            miss / actual
        } else if miss > 0.0 {
            f64::INFINITY
        } else {
            0.0
        };
        let verdict = if miss.abs() <= HOLDOUT_MARGIN * actual || miss == 0.0 {
            HoldoutVerdict::Within
        } else if miss < 0.0 {
            HoldoutVerdict::UnderPredicts
        } else {
            HoldoutVerdict::OverPredicts
        };
        Some(HoldoutCheck {
            actual,
            predicted,
            relative_error,
            margin: HOLDOUT_MARGIN,
            verdict,
        })
    }
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
        let (penalty, iters) = (self.penalty(), self.max_iters());
        let sample = (spend_data.len() >= SAMPLE_FROM).then(|| spend_data.sample(SAMPLE_EVERY));
        let mut spend_report = fit_sampled(
            &spend_data,
            spend_data.len(),
            sample.as_ref().map(|d| (d, d.len())),
            penalty,
            iters,
        )?;
        // without a penalty, Newton steps take the fit from where L-BFGS stopped on the
        // likelihood's flat ridge to its maximum
        if penalty == 0.0
            && let Some((values, ll)) = spend_data.polish(&spend_report.values)
        {
            spend_report.values = values;
            spend_report.log_likelihood = ll;
        }
        let q = spend_report.value("q");
        if q <= 1.0 {
            return Err(ClvError::Degenerate {
                model: "Gamma-Gamma",
                reason: format!(
                    "q = {q:.3} ≤ 1, so the population's mean spend is infinite: spend is too \
                     heavy-tailed for the model (look for outliers or mixed currencies)"
                ),
            });
        }
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
        if model == ModelKind::BgBb
            && let Some(s) = summaries.iter().find(|s| !s.is_discrete())
        {
            return Err(ClvError::Discrete {
                frequency: s.frequency,
                recency: s.recency,
                n: s.t,
            });
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
        let sample = (groups >= SAMPLE_FROM).then(|| grouped.sample(SAMPLE_EVERY));
        let rows = |g: &Grouped| g.rows.len();
        Ok(match model {
            ModelKind::MbgNbd => {
                let sample = sample.as_ref().map(|g| (MbgNbdData::new(g), rows(g)));
                let r = fit_sampled(
                    &MbgNbdData::new(&grouped),
                    groups,
                    sample.as_ref().map(|(d, n)| (d, *n)),
                    penalty,
                    iters,
                )?;
                (TransactionFit::MbgNbd(MbgNbd::from_values(&r.values)), r)
            }
            ModelKind::BgNbd => {
                let sample = sample
                    .as_ref()
                    .map(|g| (BgNbdData::<false>::new(g), rows(g)));
                let r = fit_sampled(
                    &BgNbdData::<false>::new(&grouped),
                    groups,
                    sample.as_ref().map(|(d, n)| (d, *n)),
                    penalty,
                    iters,
                )?;
                (TransactionFit::BgNbd(BgNbd::from_values(&r.values)), r)
            }
            ModelKind::ParetoNbd => {
                let sample = sample
                    .as_ref()
                    .map(|g| (ParetoNbdData { grouped: g }, rows(g)));
                let r = fit_sampled(
                    &ParetoNbdData { grouped: &grouped },
                    groups,
                    sample.as_ref().map(|(d, n)| (d, *n)),
                    penalty,
                    iters,
                )?;
                (
                    TransactionFit::ParetoNbd(ParetoNbd::from_values(&r.values)),
                    r,
                )
            }
            ModelKind::BgBb => {
                let r = fit(
                    &BgBbData { grouped: &grouped },
                    groups,
                    penalty,
                    iters,
                    None,
                )?;
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
    /// times the expected spend, discounted by `(1 + d)^i` for month `i`. This is the stepwise
    /// discounting of `lifetimes`' `customer_lifetime_value`, except that a month here is an
    /// average calendar month (30.4375 days) where `lifetimes` steps 30 days. BG/BB steps by
    /// whole opportunities instead, with the monthly rate converted to the opportunity's length.
    /// Repeat buyers without a positive mean spend get the population's expected spend.
    ///
    /// Under BG/NBD a customer without a repeat purchase has P(alive) = 1 however long ago
    /// they bought (the model lets customers drop out only after a repeat purchase): their
    /// churn risk is 0 and their CLV rests on the low purchase rate a single purchase implies.
    /// MBG/NBD (the default) and Pareto/NBD let them lapse.
    pub fn predict(&self, s: &Summary) -> Prediction {
        let m = &self.transaction;
        // P(alive) once: every expectation below is P(alive) times the purchases if alive
        let alive = m.p_alive(s);
        let p_alive = alive.clamp(0.0, 1.0);
        let churn_risk = 1.0 - p_alive;
        let unit = self.params.period().days();
        // repeat buyers left out of the spend fit (mean spend ≤ 0) get the population mean
        let expected_spend = if s.monetary > 0.0 {
            self.spend.expected_spend(s.frequency, s.monetary)
        } else {
            self.spend.expected_spend(0, 0.0)
        };
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
            let upto = alive * m.expected_purchases_if_alive(s, f64::from(i) * step);
            discount *= per_step;
            clv += (upto - before) * expected_spend / discount;
            before = upto;
        }
        Prediction {
            p_alive,
            churn_risk,
            churn_band: churn_risk.is_finite().then(|| self.churn_band(churn_risk)),
            expected_purchases_90d: alive * m.expected_purchases_if_alive(s, 90.0 / unit),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn all(customers: usize, actual: f64, predicted: f64) -> Vec<HoldoutRow> {
        let row = |frequency| HoldoutRow {
            frequency,
            and_more: false,
            customers,
            actual,
            predicted,
        };
        vec![row(Some(0)), row(None)]
    }

    #[test]
    fn holdout_check_flags_a_miss_of_more_than_ten_percent_of_the_total() {
        // 200 customers, 1.5 purchases each: 300 actual; 10% is 30 purchases
        let check = |predicted: f64| HoldoutCheck::of(&all(200, 1.5, predicted / 200.0));
        let verdict = |predicted| check(predicted).map(|c| c.verdict);
        assert_eq!(verdict(300.0), Some(HoldoutVerdict::Within));
        assert_eq!(verdict(329.0), Some(HoldoutVerdict::Within));
        assert_eq!(verdict(271.0), Some(HoldoutVerdict::Within));
        assert_eq!(verdict(331.0), Some(HoldoutVerdict::OverPredicts));
        assert_eq!(verdict(269.0), Some(HoldoutVerdict::UnderPredicts));
        let c = check(240.0).unwrap_or_else(|| panic!("no check"));
        approx::assert_relative_eq!(c.actual, 300.0, max_relative = 1e-12);
        approx::assert_relative_eq!(c.predicted, 240.0, max_relative = 1e-12);
        approx::assert_relative_eq!(c.relative_error, -0.2, max_relative = 1e-12);
        approx::assert_relative_eq!(c.margin, 0.1);
        // nothing bought: any prediction over-predicts, none is right
        assert_eq!(
            HoldoutCheck::of(&all(10, 0.0, 0.5)).map(|c| c.verdict),
            Some(HoldoutVerdict::OverPredicts)
        );
        assert_eq!(
            HoldoutCheck::of(&all(10, 0.0, 0.0)).map(|c| c.verdict),
            Some(HoldoutVerdict::Within)
        );
        assert_eq!(HoldoutCheck::of(&[]), None);
    }

    #[test]
    fn value_tiers_split_20_30_50_and_keep_ties_together() {
        let clv = [10.0, 9.0, 8.0, 7.0, 7.0, 5.0, 4.0, 3.0, 2.0, 1.0];
        let t = ValueTier::assign(&clv);
        use ValueTier::{High as H, Low as L, Medium as M};
        // ranks 0–1 high (share < 20%), 2–4 medium (the tie at ranks 3 and 4 stays together),
        // 5– low
        assert_eq!(t, vec![H, H, M, M, M, L, L, L, L, L]);
        let tie = ValueTier::assign(&[5.0, 5.0, 5.0]);
        assert_eq!(tie, vec![H, H, H]);
        let nan = ValueTier::assign(&[f64::NAN, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(nan, vec![L, L, M, M, H]);
    }
}
