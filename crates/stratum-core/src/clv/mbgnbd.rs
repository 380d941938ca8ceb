//! The modified BG/NBD model (MBG/NBD; Batislam, Denizel & Filiztekin 2007, "Empirical
//! validation and comparison of models for customer base analysis", with the erratum of
//! Wagner & Hoppe 2008).
//!
//! As BG/NBD, while alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α) and
//! drops out with probability p ~ Beta(a, b); but the first chance to drop out comes right
//! after the *first* purchase, not after the first repeat purchase. So a customer who never
//! bought again can have lapsed, and their P(alive) falls the longer they stay away, where
//! under BG/NBD it stays 1. The log-likelihood of `(x, t_x, T)` is, with
//! `A₁ = ln Γ(r+x) − ln Γ(r) + r ln α` and
//! `A₂ = ln Γ(a+b) + ln Γ(b+x+1) − ln Γ(b) − ln Γ(a+b+x+1)`,
//!
//! `ℓ = A₁ + A₂ − (r+x) ln(α+T) + ln(1 + e^d)`,
//! `d = ln a − ln(b+x) + (r+x) (ln(α+T) − ln(α+t_x))`
//!
//! for every `x`, `x = 0` included (lifetimes' `ModifiedBetaGeoFitter` writes it so). The
//! likelihood pass and its gradient are BG/NBD's with `b` shifted (`bgnbd.rs`).

use super::TransactionModel;
use super::dual::hyp2f1;
use super::summary::Summary;

/// Fitted MBG/NBD parameters.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MbgNbd {
    /// Shape of the purchase-rate gamma distribution.
    pub r: f64,
    /// Scale of the purchase-rate gamma distribution (in periods).
    pub alpha: f64,
    /// First shape of the dropout-probability beta distribution.
    pub a: f64,
    /// Second shape of the dropout-probability beta distribution.
    pub b: f64,
}

/// The grouped data for the MBG/NBD likelihood.
pub(crate) type MbgNbdData = super::bgnbd::BgNbdData<true>;

impl MbgNbd {
    /// The parameter names.
    pub const NAMES: &'static [&'static str] = &["r", "alpha", "a", "b"];

    /// The parameters in [`MbgNbd::NAMES`] order.
    pub fn from_values(v: &[f64]) -> Self {
        MbgNbd {
            r: v[0],
            alpha: v[1],
            a: v[2],
            b: v[3],
        }
    }
}

impl TransactionModel for MbgNbd {
    fn p_alive(&self, s: &Summary) -> f64 {
        // equation 5 of the paper's appendix: 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x))
        let x = f64::from(s.frequency);
        let d = self.a.ln() - (self.b + x).ln()
            + (self.r + x) * ((self.alpha + s.t).ln() - (self.alpha + s.recency).ln());
        1.0 / (1.0 + d.exp())
    }

    fn expected_purchases_if_alive(&self, s: &Summary, horizon: f64) -> f64 {
        // Wagner & Hoppe's conditional expectation, without its factor P(alive):
        // (a+b+x)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x+1; a+b+x; z)],
        // z = t/(α+T+t); by Euler's transformation the bracket's product is
        // (1−z)^(a−1) ₂F₁(a+b−r, a−1; a+b+x; z), a series that does not overflow as x grows
        let MbgNbd { r, alpha, a, b } = *self;
        let x = f64::from(s.frequency);
        let z = horizon / (alpha + s.t + horizon);
        let f = hyp2f1(a + b - r, a - 1.0, a + b + x, z).unwrap_or(f64::NAN);
        let ratio = ((a - 1.0) * (-z).ln_1p()).exp();
        (a + b + x) / (a - 1.0) * (1.0 - ratio * f)
    }

    fn expected_purchases_new(&self, horizon: f64) -> f64 {
        // b/(a−1) · [1 − (α/(α+t))^r ₂F₁(r, b+1; a+b; t/(α+t))], with the same transformation
        let MbgNbd { r, alpha, a, b } = *self;
        let z = horizon / (alpha + horizon);
        let f = hyp2f1(a + b - r, a - 1.0, a + b, z).unwrap_or(f64::NAN);
        let ratio = ((a - 1.0) * (-z).ln_1p()).exp();
        b / (a - 1.0) * (1.0 - ratio * f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clv::dual::ln_gamma;
    use crate::clv::optimize::Likelihood;
    use crate::clv::summary::Grouped;
    use crate::clv::testing::{check_likelihood, sample};
    use approx::assert_relative_eq;

    /// The likelihood written straight from the paper, as the sum of its two terms:
    /// B(a, b+x+1)/B(a,b) · Γ(r+x)αʳ/(Γ(r)(α+T)^(r+x))
    /// + B(a+1, b+x)/B(a,b) · Γ(r+x)αʳ/(Γ(r)(α+t_x)^(r+x)).
    fn paper_ll(p: &[f64], rows: &[(u32, f64, f64, f64)]) -> f64 {
        let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
        let beta = |x: f64, y: f64| ln_gamma(x) + ln_gamma(y) - ln_gamma(x + y);
        rows.iter()
            .map(|&(x, tx, t, w)| {
                let x = f64::from(x);
                let nbd = |y: f64| {
                    ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() - (r + x) * (alpha + y).ln()
                };
                let l1 = beta(a, b + x + 1.0) - beta(a, b) + nbd(t);
                let l2 = beta(a + 1.0, b + x) - beta(a, b) + nbd(tx);
                w * (l1.exp() + l2.exp()).ln()
            })
            .sum()
    }

    #[test]
    fn likelihood_equals_the_papers_formula_and_its_gradient_the_finite_difference() {
        let g = sample();
        let data = MbgNbdData::new(&g);
        check_likelihood(
            [0.7, 5.5, 0.9, 2.1],
            |p, grad| data.log_likelihood(p, grad),
            |p| paper_ll(p, &g.rows),
        );
    }

    #[test]
    fn a_one_time_buyer_has_the_hand_computed_likelihood() {
        // x = 0, T = 2 at r = α = a = b = 1: the customer either dropped out at once (p) or
        // is alive and bought nothing in 2 periods: E[(1−p)] · E[e^(−2λ)] = 1/2 · 1/3, so
        // L = 1/2 + 1/6 = 2/3
        let g = Grouped::from_rows(vec![(0, 0.0, 2.0, 1.0)]).unwrap_or_default();
        let mut grad = [0.0; 4];
        let ll = MbgNbdData::new(&g).log_likelihood(&[1.0; 4], &mut grad);
        assert_relative_eq!(ll, (2.0f64 / 3.0).ln(), max_relative = 1e-14);
    }

    #[test]
    fn p_alive_of_a_one_time_buyer_falls_with_time_by_hand() {
        // at r = α = a = b = 1, x = 0: P(alive) = 1 / (1 + (1+T)/(1+0)) = 1 / (2 + T)
        let m = MbgNbd::from_values(&[1.0; 4]);
        for t in [0.0, 1.0, 2.0, 10.0, 73.0] {
            let s = Summary {
                t,
                ..Summary::default()
            };
            assert_relative_eq!(m.p_alive(&s), 1.0 / (2.0 + t), max_relative = 1e-14);
        }
        // x = 2, t_x = 3, T = 5 at r = 2, α = 1, a = 2, b = 3:
        // 1 / (1 + 2/5 · (6/4)⁴) = 1 / (1 + 0.4 · 5.0625) = 1 / 3.025
        let m = MbgNbd::from_values(&[2.0, 1.0, 2.0, 3.0]);
        let s = Summary {
            frequency: 2,
            recency: 3.0,
            t: 5.0,
            ..Summary::default()
        };
        assert_relative_eq!(m.p_alive(&s), 1.0 / 3.025, max_relative = 1e-14);
    }

    #[test]
    fn expected_purchases_equal_the_untransformed_series_by_hand() {
        // the conditional expectation as lifetimes writes it, with ₂F₁ summed term by term
        let series = |a: f64, b: f64, c: f64, z: f64| {
            let (mut term, mut sum) = (1.0, 1.0);
            for k in 0..2000 {
                let k = f64::from(k);
                term *= (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
                sum += term;
            }
            sum
        };
        let m = MbgNbd::from_values(&[0.525, 6.183, 0.891, 1.614]);
        let (r, alpha, a, b) = (m.r, m.alpha, m.a, m.b);
        for (x, tx, t, h) in [
            (0u32, 0.0, 38.86, 39.0),
            (2, 30.43, 38.86, 39.0),
            (7, 29.43, 35.14, 12.0),
        ] {
            let s = Summary {
                frequency: x,
                recency: tx,
                t,
                ..Summary::default()
            };
            let xf = f64::from(x);
            let z = h / (alpha + t + h);
            let direct = (a + b + xf) / (a - 1.0)
                * (1.0
                    - ((alpha + t) / (alpha + t + h)).powf(r + xf)
                        * series(r + xf, b + xf + 1.0, a + b + xf, z));
            assert_relative_eq!(
                m.expected_purchases_if_alive(&s, h),
                direct,
                max_relative = 1e-12
            );
        }
        let z = 39.0 / (alpha + 39.0);
        let direct =
            b / (a - 1.0) * (1.0 - (alpha / (alpha + 39.0)).powf(r) * series(r, b + 1.0, a + b, z));
        assert_relative_eq!(m.expected_purchases_new(39.0), direct, max_relative = 1e-12);
    }
}
