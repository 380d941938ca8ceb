//! The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), in the form of Fader & Hardie,
//! "A note on deriving the Pareto/NBD model and related expressions" (2005).
//!
//! While alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α); their lifetime
//! is exponential with rate μ ~ Gamma(s, β). The likelihood (equation 22 of the note) is
//!
//! `L = Γ(r+x) αʳ βˢ / Γ(r) · [ 1 / ((α+T)^(r+x) (β+T)ˢ) + s / (r+s+x) · A₀ ]`
//!
//! with `A₀` a difference of two Gauss hypergeometric terms (equations 19–20). It is computed in
//! logarithms (`A₀` by `ln(eᵘ − eᵛ)`), generically over [`Real`] so the same code gives the value
//! and, with dual numbers, the exact gradient.

use super::TransactionModel;
use super::dual::{Dual, Real, hyp2f1, log_add_exp, log_sub_exp};
use super::optimize::{Likelihood, par_sum};
use super::summary::{Grouped, Summary};

/// Fitted Pareto/NBD parameters.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ParetoNbd {
    /// Shape of the purchase-rate gamma distribution.
    pub r: f64,
    /// Scale of the purchase-rate gamma distribution (in periods).
    pub alpha: f64,
    /// Shape of the dropout-rate gamma distribution.
    pub s: f64,
    /// Scale of the dropout-rate gamma distribution (in periods).
    pub beta: f64,
}

impl ParetoNbd {
    /// The parameter names.
    pub const NAMES: &'static [&'static str] = &["r", "alpha", "s", "beta"];

    /// The parameters in [`ParetoNbd::NAMES`] order.
    pub fn from_values(v: &[f64]) -> Self {
        ParetoNbd {
            r: v[0],
            alpha: v[1],
            s: v[2],
            beta: v[3],
        }
    }
}

/// `ln A₀` (equations 19–20 of the note), `None` when `t_x = T` (then `A₀ = 0`) or the series
/// does not converge.
fn ln_a0<T: Real>(r: T, alpha: T, s: T, beta: T, x: f64, tx: f64, t: f64) -> Option<T> {
    if tx >= t {
        return None;
    }
    let rsx = r + s + x;
    let (top, b, diff) = if alpha.value() >= beta.value() {
        (alpha, s + 1.0, alpha - beta)
    } else {
        (beta, r + x, beta - alpha)
    };
    let term = |y: T| Some(hyp2f1(rsx, b, rsx + 1.0, diff / y)?.ln() - rsx * y.ln());
    Some(log_sub_exp(term(top + tx)?, term(top + t)?))
}

/// One summary's log-likelihood (NaN when a series does not converge).
fn row_ll<T: Real>(p: [T; 4], x: f64, tx: f64, t: f64) -> T {
    let [r, alpha, s, beta] = p;
    let a1 = (r + x).ln_gamma() - r.ln_gamma() + r * alpha.ln() + s * beta.ln();
    let first = -((r + x) * (alpha + t).ln()) - s * (beta + t).ln();
    if tx >= t {
        return a1 + first;
    }
    match ln_a0(r, alpha, s, beta, x, tx, t) {
        Some(la0) => a1 + log_add_exp(first, s.ln() - (r + s + x).ln() + la0),
        None => T::constant(f64::NAN),
    }
}

impl TransactionModel for ParetoNbd {
    fn p_alive(&self, s: &Summary) -> f64 {
        // equation 18 of the note
        let ParetoNbd {
            r,
            alpha,
            s: sh,
            beta,
        } = *self;
        let x = f64::from(s.frequency);
        match ln_a0(r, alpha, sh, beta, x, s.recency, s.t) {
            Some(la0) => {
                let e = sh.ln() - (r + sh + x).ln()
                    + (r + x) * (alpha + s.t).ln()
                    + sh * (beta + s.t).ln()
                    + la0;
                1.0 / (1.0 + e.exp())
            }
            None if s.recency >= s.t => 1.0,
            None => f64::NAN,
        }
    }

    fn expected_purchases(&self, s: &Summary, horizon: f64) -> f64 {
        // equation 41 of the note; (1 − q^(s−1)) / (s − 1) as −expm1((s−1) ln q) / (s − 1)
        let ParetoNbd {
            r,
            alpha,
            s: sh,
            beta,
        } = *self;
        let x = f64::from(s.frequency);
        let bt = beta + s.t;
        let q = (bt / (bt + horizon)).ln();
        let ratio = if (sh - 1.0).abs() < 1e-12 {
            -q
        } else {
            -((sh - 1.0) * q).exp_m1() / (sh - 1.0)
        };
        (r + x) * bt / (alpha + s.t) * ratio * self.p_alive(s)
    }

    fn expected_purchases_new(&self, horizon: f64) -> f64 {
        // equation 17 of the note
        let ParetoNbd { r, alpha, s, beta } = *self;
        let q = (beta / (beta + horizon)).ln();
        let ratio = if (s - 1.0).abs() < 1e-12 {
            -q
        } else {
            -((s - 1.0) * q).exp_m1() / (s - 1.0)
        };
        r * beta / alpha * ratio
    }
}

/// The grouped data for the likelihood.
#[derive(Debug)]
pub(crate) struct ParetoNbdData<'a> {
    pub(crate) grouped: &'a Grouped,
}

impl Likelihood for ParetoNbdData<'_> {
    const MODEL: &'static str = "Pareto/NBD";
    const NAMES: &'static [&'static str] = ParetoNbd::NAMES;

    fn log_likelihood(&self, p: &[f64], grad: &mut [f64]) -> f64 {
        let vars: [Dual<4>; 4] = std::array::from_fn(|i| Dual::variable(p[i], i));
        let sums = par_sum::<_, 5>(&self.grouped.rows, |&(x, tx, t, w), acc| {
            let l = row_ll(vars, f64::from(x), tx, t);
            acc[0] += w * l.v;
            for i in 0..4 {
                acc[i + 1] += w * l.d[i];
            }
        });
        grad.copy_from_slice(&sums[1..]);
        sums[0]
    }

    fn customers(&self) -> f64 {
        self.grouped.customers
    }

    fn start(&self) -> Vec<f64> {
        let g = self.grouped;
        let mean_t = g.rows.iter().map(|r| r.2 * r.3).sum::<f64>() / g.customers.max(1.0);
        vec![1.0, mean_t.max(1e-3), 1.0, mean_t.max(1e-3)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clv::dual::ln_gamma;
    use approx::assert_relative_eq;

    /// The likelihood by numerical integration over the lifetime τ (equation 3 of the note
    /// integrated over the gamma mixing distributions is equation 22; here the inner step is
    /// written with the NBD marginals: P(x, t_x | alive to T) and the density of dying at τ).
    fn integrated_likelihood(p: [f64; 4], x: f64, tx: f64, t: f64) -> f64 {
        let [r, alpha, s, beta] = p;
        // E over λ of λˣ e^(−λ y) = Γ(r+x)/Γ(r) αʳ / (α+y)^(r+x)
        let nbd = |y: f64| {
            (ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() - (r + x) * (alpha + y).ln()).exp()
        };
        // P(μ-lifetime > T) = (β/(β+T))ˢ; density of death at τ: s βˢ / (β+τ)^(s+1)
        let survive = (beta / (beta + t)).powf(s);
        let mut integral = 0.0;
        let steps = 200_000;
        let h = (t - tx) / f64::from(steps);
        for k in 0..steps {
            let tau = tx + (f64::from(k) + 0.5) * h;
            integral += nbd(tau) * s * beta.powf(s) / (beta + tau).powf(s + 1.0) * h;
        }
        nbd(t) * survive + integral
    }

    #[test]
    fn likelihood_matches_numerical_integration_on_both_branches() {
        for p in [[0.55, 10.58, 0.61, 11.67], [0.8, 14.0, 1.3, 6.0]] {
            for (x, tx, t) in [(0.0, 0.0, 30.0), (2.0, 20.0, 38.0), (5.0, 3.0, 12.0)] {
                let ll: f64 = row_ll(p, x, tx, t);
                let direct = integrated_likelihood(p, x, tx, t).ln();
                assert_relative_eq!(ll, direct, max_relative = 1e-8);
            }
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let g = Grouped::from_rows(vec![
            (0, 0.0, 30.0, 3.0),
            (2, 20.0, 38.0, 1.0),
            (5, 3.0, 12.0, 2.0),
            (1, 9.0, 9.0, 1.0),
        ])
        .unwrap_or_default();
        let data = ParetoNbdData { grouped: &g };
        let p = [0.55, 10.58, 0.61, 11.67];
        let mut grad = [0.0; 4];
        data.log_likelihood(&p, &mut grad);
        for i in 0..4 {
            let h = 1e-6 * p[i];
            let (mut up, mut down) = (p, p);
            up[i] += h;
            down[i] -= h;
            let mut g2 = [0.0; 4];
            let fd = (data.log_likelihood(&up, &mut g2) - data.log_likelihood(&down, &mut g2))
                / (2.0 * h);
            assert_relative_eq!(grad[i], fd, max_relative = 1e-6);
        }
    }
}
