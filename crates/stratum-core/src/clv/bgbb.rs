//! The BG/BB model (Fader, Hardie & Shang 2010, "Customer-base analysis in a discrete-time
//! noncontractual setting") for discrete transaction opportunities (yearly renewals, annual
//! donations, one event per period).
//!
//! While alive a customer transacts at each opportunity with probability p ~ Beta(α, β) and
//! dies before the next one with probability θ ~ Beta(γ, δ). For `x` transactions in `n`
//! opportunities, the last at opportunity `t_x`, the likelihood is (equation 5 of the paper)
//!
//! `L = B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
//!    + Σ_{i=0}^{n−t_x−1} B(α+x, β+t_x−x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ)`,
//!
//! summed in logarithms, generically over [`Real`] for the exact gradient.

use super::TransactionModel;
use super::dual::{Real, ln_gamma, log_add_exp};
use super::optimize::{Likelihood, dual_log_likelihood};
use super::summary::{Grouped, Summary};

/// Fitted BG/BB parameters.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BgBb {
    /// First shape of the transaction-probability beta distribution.
    pub alpha: f64,
    /// Second shape of the transaction-probability beta distribution.
    pub beta: f64,
    /// First shape of the dropout-probability beta distribution.
    pub gamma: f64,
    /// Second shape of the dropout-probability beta distribution.
    pub delta: f64,
}

impl BgBb {
    /// The parameter names.
    pub const NAMES: &'static [&'static str] = &["alpha", "beta", "gamma", "delta"];

    /// The parameters in [`BgBb::NAMES`] order.
    pub fn from_values(v: &[f64]) -> Self {
        BgBb {
            alpha: v[0],
            beta: v[1],
            gamma: v[2],
            delta: v[3],
        }
    }
}

/// One summary's log-likelihood.
fn row_ll<T: Real>(p: [T; 4], x: f64, tx: f64, n: f64) -> T {
    let [alpha, beta, gamma, delta] = p;
    let (b_ab, b_gd) = (alpha.ln_beta(beta), gamma.ln_beta(delta));
    let mut ll = (alpha + x).ln_beta(beta + n - x) - b_ab + gamma.ln_beta(delta + n) - b_gd;
    let mut i = 0.0;
    while i < n - tx {
        let term = (alpha + x).ln_beta(beta + tx - x + i) - b_ab
            + (gamma + 1.0).ln_beta(delta + tx + i)
            - b_gd;
        ll = log_add_exp(ll, term);
        i += 1.0;
    }
    ll
}

impl TransactionModel for BgBb {
    fn p_alive(&self, s: &Summary) -> f64 {
        // equation 11 of the paper: alive at opportunity n + 1
        let BgBb {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        let (x, n) = (f64::from(s.frequency), s.t);
        let ll = row_ll([alpha, beta, gamma, delta], x, s.recency, n);
        ((alpha + x).ln_beta(beta + n - x) - alpha.ln_beta(beta) + gamma.ln_beta(delta + n + 1.0)
            - gamma.ln_beta(delta)
            - ll)
            .exp()
    }

    /// Expected transactions in the next `horizon` opportunities (rounded to whole ones) if
    /// alive at opportunity n + 1: equation 13 of the paper divided by equation 11 (the
    /// likelihood cancels).
    fn expected_purchases_if_alive(&self, s: &Summary, horizon: f64) -> f64 {
        let BgBb {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        let (x, n, m) = (f64::from(s.frequency), s.t, horizon.round());
        let lead = ((alpha + x + 1.0).ln_beta(beta + n - x) - (alpha + x).ln_beta(beta + n - x)
            + gamma.ln_beta(delta)
            - gamma.ln_beta(delta + n + 1.0))
        .exp();
        let g = |k: f64| (ln_gamma(1.0 + delta + k) - ln_gamma(gamma + delta + k)).exp();
        lead * delta / (gamma - 1.0)
            * (ln_gamma(gamma + delta) - ln_gamma(1.0 + delta)).exp()
            * (g(n) - g(n + m))
    }

    /// Expected transactions of a new customer in `horizon` opportunities, equation 8.
    fn expected_purchases_new(&self, horizon: f64) -> f64 {
        let BgBb {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        let m = horizon.round();
        let r = (ln_gamma(gamma + delta) + ln_gamma(1.0 + delta + m)
            - ln_gamma(gamma + delta + m)
            - ln_gamma(1.0 + delta))
        .exp();
        alpha / (alpha + beta) * delta / (gamma - 1.0) * (1.0 - r)
    }
}

/// The grouped data for the likelihood: `(x, t_x, n, customers)` with whole numbers.
#[derive(Debug)]
pub(crate) struct BgBbData<'a> {
    pub(crate) grouped: &'a Grouped,
}

impl Likelihood for BgBbData<'_> {
    const MODEL: &'static str = "BG/BB";
    const NAMES: &'static [&'static str] = BgBb::NAMES;

    fn log_likelihood(&self, p: &[f64], grad: &mut [f64]) -> f64 {
        dual_log_likelihood(self.grouped, p, grad, row_ll)
    }

    fn customers(&self) -> f64 {
        self.grouped.customers
    }

    fn start(&self) -> Vec<f64> {
        vec![1.0; 4]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    /// The likelihood by brute force over every death time: with p and θ integrated
    /// numerically on a grid (midpoint rule), P(x, t_x, n | p, θ) summed over the opportunity
    /// the customer dies after.
    fn brute_force(p: [f64; 4], x: u32, tx: u32, n: u32) -> f64 {
        let [alpha, beta, gamma, delta] = p;
        let beta_pdf = |v: f64, a: f64, b: f64| {
            ((a - 1.0) * v.ln() + (b - 1.0) * (1.0 - v).ln() + ln_gamma(a + b)
                - ln_gamma(a)
                - ln_gamma(b))
            .exp()
        };
        let steps = 500;
        let mut total = 0.0;
        for i in 0..steps {
            let pp = (f64::from(i) + 0.5) / f64::from(steps);
            for j in 0..steps {
                let th = (f64::from(j) + 0.5) / f64::from(steps);
                let (x, tx, n) = (f64::from(x), f64::from(tx), f64::from(n));
                // alive through n
                let mut l = pp.powf(x) * (1.0 - pp).powf(n - x) * (1.0 - th).powf(n);
                // alive through t_x + i, dead before t_x + i + 1
                for k in 0..(n - tx) as u32 {
                    let k = f64::from(k);
                    l += pp.powf(x) * (1.0 - pp).powf(tx - x + k) * th * (1.0 - th).powf(tx + k);
                }
                total += l * beta_pdf(pp, alpha, beta) * beta_pdf(th, gamma, delta);
            }
        }
        total / f64::from(steps * steps)
    }

    #[test]
    fn likelihood_matches_brute_force_integration() {
        let p = [2.6, 2.8, 2.5, 3.5];
        for (x, tx, n) in [(0, 0, 6), (3, 5, 6), (2, 2, 6), (6, 6, 6)] {
            let ll: f64 = row_ll(p, f64::from(x), f64::from(tx), f64::from(n));
            assert_relative_eq!(ll.exp(), brute_force(p, x, tx, n), max_relative = 1e-4);
        }
    }
}
