//! The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), in the form of Fader & Hardie,
//! "A note on deriving the Pareto/NBD model and related expressions" (2005).
//!
//! While alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α); their lifetime
//! is exponential with rate μ ~ Gamma(s, β). The likelihood (equation 22 of the note) is
//!
//! `L = Γ(r+x) αʳ βˢ / Γ(r) · [ 1 / ((α+T)^(r+x) (β+T)ˢ) + s / (r+s+x) · A₀ ]`
//!
//! where `s / (r+s+x) · A₀` is the integral over the death time τ between `t_x` and `T`,
//! `s ∫ (α+τ)^−(r+x) (β+τ)^−(s+1) dτ` (equation 21 before it is solved). The note's closed form
//! for `A₀`, a difference of two Gauss hypergeometric series (equations 19–20), converges slowly
//! when one of α and β is much larger than the other (its argument nears 1; a million-customer
//! fit took ten minutes); it also cancels badly. We evaluate the integral instead, in
//! `u = ln(α+τ)` where the integrand is `exp(g(u))` with a monotone `g`, by Gauss–Legendre
//! quadrature (8 nodes) on as many equal pieces as keep `g`'s change under 3 on each, which
//! keeps the relative error near 1e-15. Everything is computed in logarithms, generically over
//! [`Real`], so the same code gives the value and, with dual numbers, the exact gradient of the
//! quadrature.

use std::sync::OnceLock;

use super::TransactionModel;
use super::dual::{Real, log_add_exp};
use super::optimize::{Likelihood, dual_log_likelihood};
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

/// Gauss–Legendre nodes and weights on [−1, 1], 8 points (Newton's method on P₈).
fn gauss_legendre() -> &'static [(f64, f64); 8] {
    static NODES: OnceLock<[(f64, f64); 8]> = OnceLock::new();
    NODES.get_or_init(|| {
        const N: usize = 8;
        let mut out = [(0.0, 0.0); N];
        for (i, slot) in out.iter_mut().enumerate() {
            let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (N as f64 + 0.5)).cos();
            let mut dp = 1.0;
            for _ in 0..100 {
                // P_N(x) by the three-term recurrence, and its derivative
                let (mut p0, mut p1) = (1.0, x);
                for j in 2..=N {
                    let j = j as f64;
                    let p2 = ((2.0 * j - 1.0) * x * p1 - (j - 1.0) * p0) / j;
                    p0 = p1;
                    p1 = p2;
                }
                dp = N as f64 * (x * p1 - p0) / (x * x - 1.0);
                let step = p1 / dp;
                x -= step;
                if step.abs() < 1e-16 {
                    break;
                }
            }
            *slot = (x, 2.0 / ((1.0 - x * x) * dp * dp));
        }
        out
    })
}

/// `ln ∫_{t_x}^{T} (α+τ)^−(r+x) (β+τ)^−(s+1) dτ` for `t_x < T` (see the module comment).
fn ln_death_integral<T: Real>(r: T, alpha: T, s: T, beta: T, x: f64, tx: f64, t: f64) -> T {
    let (u0, u1) = ((alpha + tx).ln(), (alpha + t).ln());
    // g(u) = −(r+x−1) u − (s+1) ln(β − α + eᵘ): both parts are monotone, so the total change
    // of g is the sum of the changes of the parts
    let rx1 = r + (x - 1.0);
    let change = rx1.value().abs() * (u1 - u0).value()
        + (s.value() + 1.0) * ((beta.value() + t) / (beta.value() + tx)).ln();
    let pieces = (change / 3.0).ceil().clamp(1.0, 10_000.0);
    let half = (u1 - u0) / (2.0 * pieces);
    let mut logs: Vec<T> = Vec::with_capacity(8 * pieces as usize);
    let mut i = 0.0;
    while i < pieces {
        let mid = u0 + half * (2.0 * i + 1.0);
        for &(node, weight) in gauss_legendre() {
            let u = mid + half * node;
            let g = -(rx1 * u) - (s + 1.0) * (beta - alpha + u.exp()).ln();
            logs.push(g + weight.ln());
        }
        i += 1.0;
    }
    let top = logs
        .iter()
        .map(|l| l.value())
        .fold(f64::NEG_INFINITY, f64::max);
    let mut sum = T::constant(0.0);
    for l in logs {
        sum = sum + (l - top).exp();
    }
    sum.ln() + top + half.ln()
}

/// One summary's log-likelihood.
fn row_ll<T: Real>(p: [T; 4], x: f64, tx: f64, t: f64) -> T {
    let [r, alpha, s, beta] = p;
    let a1 = (r + x).ln_gamma() - r.ln_gamma() + r * alpha.ln() + s * beta.ln();
    let first = -((r + x) * (alpha + t).ln()) - s * (beta + t).ln();
    if tx >= t {
        return a1 + first;
    }
    a1 + log_add_exp(
        first,
        s.ln() + ln_death_integral(r, alpha, s, beta, x, tx, t),
    )
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
        // (the share of the likelihood from being alive at T)
        let x = f64::from(s.frequency);
        if s.recency >= s.t {
            return 1.0;
        }
        let e = sh.ln()
            + ln_death_integral(r, alpha, sh, beta, x, s.recency, s.t)
            + (r + x) * (alpha + s.t).ln()
            + sh * (beta + s.t).ln();
        1.0 / (1.0 + e.exp())
    }

    fn expected_purchases_if_alive(&self, s: &Summary, horizon: f64) -> f64 {
        // equation 41 of the note, without its factor P(alive)
        let ParetoNbd {
            r,
            alpha,
            s: sh,
            beta,
        } = *self;
        let x = f64::from(s.frequency);
        let bt = beta + s.t;
        (r + x) * bt / (alpha + s.t) * survival_ratio(sh, bt, horizon)
    }

    fn expected_purchases_new(&self, horizon: f64) -> f64 {
        // equation 17 of the note
        let ParetoNbd { r, alpha, s, beta } = *self;
        r * beta / alpha * survival_ratio(s, beta, horizon)
    }
}

/// (1 − q^(s−1)) / (s − 1) with q = b / (b + horizon), computed as −expm1((s−1) ln q) / (s − 1)
/// (and −ln q at s = 1, its limit): the expected purchases' dropout factor.
fn survival_ratio(s: f64, b: f64, horizon: f64) -> f64 {
    let q = (b / (b + horizon)).ln();
    if (s - 1.0).abs() < 1e-12 {
        -q
    } else {
        -((s - 1.0) * q).exp_m1() / (s - 1.0)
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
        dual_log_likelihood(self.grouped, p, grad, row_ll)
    }

    fn customers(&self) -> f64 {
        self.grouped.customers
    }

    fn start(&self) -> Vec<f64> {
        let mean_t = self.grouped.mean_t();
        vec![1.0, mean_t, 1.0, mean_t]
    }

    fn scale(&self, i: usize) -> f64 {
        if i == 1 || i == 3 {
            self.grouped.mean_t()
        } else {
            1.0
        }
    }

    fn penalty_unit(&self, i: usize) -> f64 {
        if i == 1 || i == 3 {
            self.grouped.max_t()
        } else {
            1.0
        }
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
    fn gauss_legendre_integrates_polynomials_to_degree_15_exactly() {
        let nodes = gauss_legendre();
        let total: f64 = nodes.iter().map(|n| n.1).sum();
        assert_relative_eq!(total, 2.0, max_relative = 1e-15);
        let x14: f64 = nodes.iter().map(|(x, w)| w * x.powi(14)).sum();
        assert_relative_eq!(x14, 2.0 / 15.0, max_relative = 1e-14);
    }

    #[test]
    fn a_much_larger_beta_than_alpha_is_fast_and_right() {
        // the fitted parameters of the 1M-customer benchmark, where the hypergeometric series
        // needed thousands of terms per customer
        let p = [2.708, 97.17, 40.45, 14_618.7];
        let ll: f64 = row_ll(p, 2.0, 10.0, 140.0);
        assert_relative_eq!(
            ll,
            integrated_likelihood(p, 2.0, 10.0, 140.0).ln(),
            max_relative = 1e-9
        );
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
