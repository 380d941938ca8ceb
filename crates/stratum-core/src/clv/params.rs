use super::ClvError;
use super::summary::Period;

/// Which transaction model to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum ModelKind {
    /// MBG/NBD, the modified BG/NBD (the default): customers may drop out after any purchase,
    /// the first included, so one-time buyers can lapse.
    #[default]
    MbgNbd,
    /// BG/NBD: customers drop out only after a repeat purchase, so a one-time buyer is
    /// always alive.
    BgNbd,
    /// Pareto/NBD.
    ParetoNbd,
    /// BG/BB, for discrete opportunities.
    BgBb,
}

impl ModelKind {
    /// The model's published name.
    pub fn title(self) -> &'static str {
        match self {
            ModelKind::MbgNbd => "MBG/NBD",
            ModelKind::BgNbd => "BG/NBD",
            ModelKind::ParetoNbd => "Pareto/NBD",
            ModelKind::BgBb => "BG/BB",
        }
    }

    /// What the model assumes about churn, in one sentence for people reading a churn risk,
    /// in English or Chinese.
    pub fn assumption(self, lang: crate::Lang) -> &'static str {
        match (self, lang) {
            (ModelKind::MbgNbd, crate::Lang::En) => {
                "MBG/NBD assumes a customer may stop buying after any purchase, the first \
                 included: the longer a customer stays away, one-time buyers too, the higher \
                 their churn risk."
            }
            (ModelKind::MbgNbd, crate::Lang::Zh) => {
                "MBG/NBD 模型假设客户在任何一次购买（包括首次购买）之后都可能流失：\
                 客户（包括只买过一次的客户）越久未购买，流失风险越高。"
            }
            (ModelKind::BgNbd, crate::Lang::En) => {
                "BG/NBD assumes customers stop buying only after a repeat purchase: a one-time \
                 buyer always has churn risk 0, however long ago they bought."
            }
            (ModelKind::BgNbd, crate::Lang::Zh) => {
                "BG/NBD 模型假设客户只会在复购之后流失：只买过一次的客户无论多久未购买，\
                 流失风险都为 0。"
            }
            (ModelKind::ParetoNbd, crate::Lang::En) => {
                "Pareto/NBD assumes a customer may stop buying at any moment, not only at a \
                 purchase: the longer a customer stays away, one-time buyers too, the higher \
                 their churn risk."
            }
            (ModelKind::ParetoNbd, crate::Lang::Zh) => {
                "Pareto/NBD 模型假设客户可能在任何时刻流失（不限于购买之后）：\
                 客户（包括只买过一次的客户）越久未购买，流失风险越高。"
            }
            (ModelKind::BgBb, crate::Lang::En) => {
                "BG/BB assumes one purchase opportunity per period and that a customer may drop \
                 out before any of them: churn risk is the chance of having dropped out before \
                 the next one."
            }
            (ModelKind::BgBb, crate::Lang::Zh) => {
                "BG/BB 模型假设每个周期有一次购买机会，客户可能在任何一次机会之前流失：\
                 流失风险是在下一次机会之前已流失的概率。"
            }
        }
    }
}

impl std::str::FromStr for ModelKind {
    type Err = ClvError;
    fn from_str(s: &str) -> Result<Self, ClvError> {
        let key: String = s
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match key.as_str() {
            "mbgnbd" => Ok(ModelKind::MbgNbd),
            "bgnbd" => Ok(ModelKind::BgNbd),
            "paretonbd" | "pnbd" => Ok(ModelKind::ParetoNbd),
            "bgbb" => Ok(ModelKind::BgBb),
            _ => Err(ClvError::Model(s.to_string())),
        }
    }
}

/// Settings of a lifetime-value fit, unchecked. Build with [`ClvParams::new`] and the setters.
#[derive(Debug, Clone, PartialEq)]
pub struct ClvParams {
    model: ModelKind,
    period: Period,
    penalty: f64,
    max_iters: u64,
    min_repeat: usize,
    horizon_months: u32,
    discount_rate: f64,
    churn_medium: f64,
    churn_high: f64,
}

impl Default for ClvParams {
    fn default() -> Self {
        ClvParams::new()
    }
}

impl ClvParams {
    /// The defaults: MBG/NBD in weeks, no penalty, at most 500 iterations, at least 10 repeat
    /// customers, CLV over 12 months at 1% a month, churn risk medium from 0.2 and high from 0.5.
    pub fn new() -> Self {
        ClvParams {
            model: ModelKind::MbgNbd,
            period: Period::Week,
            penalty: 0.0,
            max_iters: 500,
            min_repeat: 10,
            horizon_months: 12,
            discount_rate: 0.01,
            churn_medium: 0.2,
            churn_high: 0.5,
        }
    }
    /// The transaction model (default MBG/NBD).
    pub fn model(mut self, model: ModelKind) -> Self {
        self.model = model;
        self
    }
    /// The time unit (default week).
    pub fn period(mut self, period: Period) -> Self {
        self.period = period;
        self
    }
    /// The L2 penalty `λ` on the parameters, added to the mean negative log-likelihood as
    /// `λ Σ θ²` as in `lifetimes` (default 0).
    pub fn penalty(mut self, penalty: f64) -> Self {
        self.penalty = penalty;
        self
    }
    /// The most L-BFGS iterations (default 500).
    pub fn max_iters(mut self, max_iters: u64) -> Self {
        self.max_iters = max_iters;
        self
    }
    /// The fewest customers with a repeat purchase to fit at all (default 10).
    pub fn min_repeat(mut self, min_repeat: usize) -> Self {
        self.min_repeat = min_repeat;
        self
    }
    /// The CLV horizon in months (default 12).
    pub fn horizon_months(mut self, horizon_months: u32) -> Self {
        self.horizon_months = horizon_months;
        self
    }
    /// The discount rate per month (default 0.01).
    pub fn discount_rate(mut self, discount_rate: f64) -> Self {
        self.discount_rate = discount_rate;
        self
    }
    /// Churn risk (1 − P(alive)) from which a customer is at medium risk (default 0.2).
    pub fn churn_medium(mut self, churn_medium: f64) -> Self {
        self.churn_medium = churn_medium;
        self
    }
    /// Churn risk from which a customer is at high risk (default 0.5).
    pub fn churn_high(mut self, churn_high: f64) -> Self {
        self.churn_high = churn_high;
        self
    }

    /// Checks every setting.
    pub fn check(self) -> Result<CheckedClvParams, ClvError> {
        let bad = |name, value: f64, expected| {
            Err(ClvError::Param {
                name,
                value,
                expected,
            })
        };
        if !(self.penalty >= 0.0 && self.penalty.is_finite()) {
            return bad("penalty", self.penalty, "a finite number ≥ 0");
        }
        if self.max_iters == 0 {
            return bad("max_iters", 0.0, "at least 1");
        }
        if self.min_repeat == 0 {
            return bad("min_repeat", 0.0, "at least 1");
        }
        if !(1..=1200).contains(&self.horizon_months) {
            return bad(
                "horizon_months",
                f64::from(self.horizon_months),
                "between 1 and 1200",
            );
        }
        if !(0.0..1.0).contains(&self.discount_rate) {
            return bad("discount_rate", self.discount_rate, "in [0, 1)");
        }
        if !(self.churn_medium > 0.0 && self.churn_medium < 1.0) {
            return bad("churn_medium", self.churn_medium, "between 0 and 1");
        }
        if !(self.churn_high > self.churn_medium && self.churn_high < 1.0) {
            return bad(
                "churn_high",
                self.churn_high,
                "above churn_medium and below 1",
            );
        }
        Ok(CheckedClvParams(self))
    }
}

/// Checked lifetime-value settings: fit with [`CheckedClvParams::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedClvParams(ClvParams);

impl CheckedClvParams {
    /// The transaction model.
    pub fn model(&self) -> ModelKind {
        self.0.model
    }
    /// The time unit.
    pub fn period(&self) -> Period {
        self.0.period
    }
    /// The L2 penalty.
    pub fn penalty(&self) -> f64 {
        self.0.penalty
    }
    /// The most iterations.
    pub fn max_iters(&self) -> u64 {
        self.0.max_iters
    }
    /// The fewest repeat customers.
    pub fn min_repeat(&self) -> usize {
        self.0.min_repeat
    }
    /// The CLV horizon in months.
    pub fn horizon_months(&self) -> u32 {
        self.0.horizon_months
    }
    /// The monthly discount rate.
    pub fn discount_rate(&self) -> f64 {
        self.0.discount_rate
    }
    /// The churn-risk band thresholds (medium, high).
    pub fn churn_bands(&self) -> (f64, f64) {
        (self.0.churn_medium, self.0.churn_high)
    }
}
