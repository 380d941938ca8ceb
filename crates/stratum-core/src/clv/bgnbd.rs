//! The BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").
//!
//! While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after each
//! purchase they drop out with probability p ~ Beta(a, b). The log-likelihood of `(x, t_x, T)`
//! is, with `A₁ = ln Γ(r+x) − ln Γ(r) + r ln α` and
//! `A₂ = ln Γ(a+b) + ln Γ(b+x) − ln Γ(b) − ln Γ(a+b+x)`,
//!
//! `ℓ = A₁ + A₂ − (r+x) ln(α+T) + ln(1 + [x>0] e^d)`,
//! `d = ln a − ln(b+x−1) + (r+x) (ln(α+T) − ln(α+t_x))`
//!
//! (equation 6 of the paper, rearranged so the sum of the two terms is a stable softplus). The
//! terms that depend on `x` alone are computed once per distinct `x`, the logarithms once per
//! distinct time value, so a likelihood pass costs one `exp` and one `ln` per distinct summary
//! with a repeat purchase, and nothing per customer without one beyond a table look-up. The
//! gradient is derived by hand from the same expression (checked against finite differences in
//! the tests).
//!
//! The same pass serves the modified BG/NBD ([`super::MbgNbd`]), whose customers may also drop
//! out right after their first purchase: its likelihood is this one with `b + x − 1` in `d`
//! and `b + x`, `a + b + x` in `A₂` each one higher, and the second term present for `x = 0`
//! too (see `mbgnbd.rs`).

use rustc_hash::FxHashMap;

use super::TransactionModel;
use super::dual::{digamma, hyp2f1, ln_gamma};
use super::optimize::{Likelihood, par_sum};
use super::summary::{Grouped, Summary};

/// Fitted BG/NBD parameters.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BgNbd {
    /// Shape of the purchase-rate gamma distribution.
    pub r: f64,
    /// Scale of the purchase-rate gamma distribution (in periods).
    pub alpha: f64,
    /// First shape of the dropout-probability beta distribution.
    pub a: f64,
    /// Second shape of the dropout-probability beta distribution.
    pub b: f64,
}

impl BgNbd {
    /// The parameters in [`BgNbd::NAMES`] order.
    pub fn from_values(v: &[f64]) -> Self {
        BgNbd {
            r: v[0],
            alpha: v[1],
            a: v[2],
            b: v[3],
        }
    }

    /// The parameter names.
    pub const NAMES: &'static [&'static str] = &["r", "alpha", "a", "b"];
}

impl TransactionModel for BgNbd {
    fn p_alive(&self, s: &Summary) -> f64 {
        if s.frequency == 0 {
            return 1.0;
        }
        let x = f64::from(s.frequency);
        let d = self.a.ln() - (self.b + x - 1.0).ln()
            + (self.r + x) * ((self.alpha + s.t).ln() - (self.alpha + s.recency).ln());
        1.0 / (1.0 + d.exp())
    }

    fn expected_purchases_if_alive(&self, s: &Summary, horizon: f64) -> f64 {
        // equation 10 of the paper (its denominator is 1 / P(alive)), with its ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z)
        // rewritten by Euler's transformation as (1−z)^(a−1) ₂F₁(a+b−1−r, a−1; a+b+x−1; z):
        // the same value, but a series that converges faster as x grows instead of overflowing
        let BgNbd { r, alpha, a, b } = *self;
        let x = f64::from(s.frequency);
        let z = horizon / (alpha + s.t + horizon);
        let f = hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z).unwrap_or(f64::NAN);
        let ratio = ((a - 1.0) * (-z).ln_1p()).exp();
        (a + b + x - 1.0) / (a - 1.0) * (1.0 - ratio * f)
    }

    fn expected_purchases_new(&self, horizon: f64) -> f64 {
        // equation 7 of the paper, with the same transformation
        let BgNbd { r, alpha, a, b } = *self;
        let z = horizon / (alpha + horizon);
        let f = hyp2f1(a + b - 1.0 - r, a - 1.0, a + b - 1.0, z).unwrap_or(f64::NAN);
        let ratio = ((a - 1.0) * (-z).ln_1p()).exp();
        (a + b - 1.0) / (a - 1.0) * (1.0 - ratio * f)
    }
}

/// A distinct summary with a repeat purchase, as indices into the tables.
#[derive(Debug, Clone, Copy)]
struct Row {
    x: u32,
    /// index of `x` in `BgNbdData::xs`
    xi: u32,
    /// index of `t_x` in `BgNbdData::times`
    tx: u32,
    /// index of `T` in `BgNbdData::times`
    t: u32,
    weight: f64,
}

/// The grouped data in the form the likelihood pass wants: BG/NBD, or with `MODIFIED` the
/// MBG/NBD.
#[derive(Debug)]
pub(crate) struct BgNbdData<const MODIFIED: bool> {
    /// Distinct `x` values and the customers having each.
    xs: Vec<(u32, f64)>,
    /// Distinct time values (`t_x` and `T`).
    times: Vec<f64>,
    /// Customers without repeat purchases, by index of `T` (BG/NBD only: under MBG/NBD they
    /// are rows like the others).
    zero: Vec<(u32, f64)>,
    rows: Vec<Row>,
    customers: f64,
    mean_t: f64,
    max_t: f64,
}

impl<const MODIFIED: bool> BgNbdData<MODIFIED> {
    /// What the modified model adds to `b` in `d` and `A₂`.
    const SHIFT: f64 = if MODIFIED { 1.0 } else { 0.0 };

    pub(crate) fn new(g: &Grouped) -> Self {
        let mut time_index: FxHashMap<u64, u32> = FxHashMap::default();
        let mut times = Vec::new();
        let mut index = |v: f64| {
            *time_index.entry(v.to_bits()).or_insert_with(|| {
                times.push(v);
                (times.len() - 1) as u32
            })
        };
        let mut x_index: FxHashMap<u32, u32> = FxHashMap::default();
        let mut xs: Vec<(u32, f64)> = Vec::new();
        let mut zero: FxHashMap<u32, f64> = FxHashMap::default();
        let mut rows = Vec::new();
        for &(x, tx, t, weight) in &g.rows {
            let xi = *x_index.entry(x).or_insert_with(|| {
                xs.push((x, 0.0));
                (xs.len() - 1) as u32
            });
            xs[xi as usize].1 += weight;
            let t = index(t);
            if x == 0 && !MODIFIED {
                *zero.entry(t).or_insert(0.0) += weight;
            } else {
                let tx = index(tx);
                rows.push(Row {
                    x,
                    xi,
                    tx,
                    t,
                    weight,
                });
            }
        }
        let mut zero: Vec<(u32, f64)> = zero.into_iter().collect();
        zero.sort_unstable_by_key(|z| z.0);
        BgNbdData {
            xs,
            times,
            zero,
            rows,
            customers: g.customers,
            mean_t: g.mean_t(),
            max_t: g.max_t(),
        }
    }
}

impl<const MODIFIED: bool> Likelihood for BgNbdData<MODIFIED> {
    const MODEL: &'static str = if MODIFIED { "MBG/NBD" } else { "BG/NBD" };
    const NAMES: &'static [&'static str] = BgNbd::NAMES;

    fn log_likelihood(&self, p: &[f64], grad: &mut [f64]) -> f64 {
        let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
        let logs: Vec<f64> = self.times.iter().map(|t| (alpha + t).ln()).collect();
        let invs: Vec<f64> = self.times.iter().map(|t| 1.0 / (alpha + t)).collect();
        // per distinct x: 1 / (b + x − 1) and ln a − ln(b + x − 1) (b + x for MBG/NBD)
        let shift = Self::SHIFT;
        let per_x: Vec<(f64, f64)> = self
            .xs
            .iter()
            .map(|&(x, _)| {
                let bx = b + f64::from(x) - 1.0 + shift;
                (1.0 / bx, a.ln() - bx.ln())
            })
            .collect();
        // [ℓ, ∂r, ∂α, Σσ (→ ∂a), Σσ/(b+x−1+shift) (→ ∂b)]
        let sums = par_sum::<Row, 5>(&self.rows, |row, acc| {
            let w = row.weight;
            let rx = r + f64::from(row.x);
            let (lt, ltx) = (logs[row.t as usize], logs[row.tx as usize]);
            let (it, itx) = (invs[row.t as usize], invs[row.tx as usize]);
            let (binv, c) = per_x[row.xi as usize];
            let d = c + rx * (lt - ltx);
            // softplus(d) = ln(1 + eᵈ) and its derivative σ(d), both stable
            let (softplus, sigma) = if d > 0.0 {
                let e = (-d).exp();
                (d + e.ln_1p(), 1.0 / (1.0 + e))
            } else {
                let e = d.exp();
                (e.ln_1p(), e / (1.0 + e))
            };
            acc[0] += w * (softplus - rx * lt);
            acc[1] += w * (sigma * (lt - ltx) - lt);
            acc[2] += w * (sigma * rx * (it - itx) - rx * it);
            acc[3] += w * sigma;
            acc[4] += w * sigma * binv;
        });
        let (mut ll, mut gr, mut galpha) = (sums[0], sums[1], sums[2]);
        let mut ga = sums[3] / a;
        let mut gb = -sums[4];
        for &(t, w) in &self.zero {
            ll -= w * r * logs[t as usize];
            gr -= w * logs[t as usize];
            galpha -= w * r * invs[t as usize];
        }
        let (lg_r, psi_r) = (ln_gamma(r), digamma(r));
        let (lg_ab, psi_ab) = (ln_gamma(a + b), digamma(a + b));
        let (lg_b, psi_b) = (ln_gamma(b), digamma(b));
        for &(x, w) in &self.xs {
            let x = f64::from(x);
            let a1 = ln_gamma(r + x) - lg_r + r * alpha.ln();
            let has_a2 = MODIFIED || x > 0.0;
            let a2 = if has_a2 {
                lg_ab + ln_gamma(b + x + shift) - lg_b - ln_gamma(a + b + x + shift)
            } else {
                0.0
            };
            ll += w * (a1 + a2);
            gr += w * (digamma(r + x) - psi_r + alpha.ln());
            galpha += w * r / alpha;
            if has_a2 {
                let psi_abx = digamma(a + b + x + shift);
                ga += w * (psi_ab - psi_abx);
                gb += w * (psi_ab + digamma(b + x + shift) - psi_b - psi_abx);
            }
        }
        grad.copy_from_slice(&[gr, galpha, ga, gb]);
        ll
    }

    fn customers(&self) -> f64 {
        self.customers
    }

    fn start(&self) -> Vec<f64> {
        vec![1.0, self.mean_t, 1.0, 1.0]
    }

    fn scale(&self, i: usize) -> f64 {
        if i == 1 { self.mean_t } else { 1.0 }
    }

    fn penalty_unit(&self, i: usize) -> f64 {
        if i == 1 { self.max_t } else { 1.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clv::testing::{check_likelihood, sample};
    use approx::assert_relative_eq;

    /// The log-likelihood written straight from equation 6 of the paper, term by term.
    fn paper_ll(p: &[f64], rows: &[(u32, f64, f64, f64)]) -> f64 {
        let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
        let beta = |x: f64, y: f64| ln_gamma(x) + ln_gamma(y) - ln_gamma(x + y);
        rows.iter()
            .map(|&(x, tx, t, w)| {
                let x = f64::from(x);
                let l1 = beta(a, b + x) - beta(a, b) + ln_gamma(r + x) - ln_gamma(r)
                    + r * alpha.ln()
                    - (r + x) * (alpha + t).ln();
                let l = if x > 0.0 {
                    let l2 = beta(a + 1.0, b + x - 1.0) - beta(a, b) + ln_gamma(r + x)
                        - ln_gamma(r)
                        + r * alpha.ln()
                        - (r + x) * (alpha + tx).ln();
                    (l1.exp() + l2.exp()).ln()
                } else {
                    l1
                };
                w * l
            })
            .sum()
    }

    #[test]
    fn likelihood_equals_the_papers_formula_and_its_gradient_the_finite_difference() {
        let g = sample();
        let data = BgNbdData::<false>::new(&g);
        check_likelihood(
            [0.7, 5.5, 0.9, 2.1],
            |p, grad| data.log_likelihood(p, grad),
            |p| paper_ll(p, &g.rows),
        );
    }

    #[test]
    fn expected_purchases_stay_finite_for_very_frequent_buyers() {
        // the untransformed series overflows here: its terms grow like (1 − z)^−(r+x)
        let m = BgNbd::from_values(&[0.243, 4.414, 0.793, 2.426]);
        let s = Summary {
            frequency: 5000,
            recency: 51.9,
            t: 52.0,
            ..Summary::default()
        };
        // the untransformed equation 10 in 50-digit arithmetic (mpmath 1.3, hyp2f1):
        // 1303.5341039152119373…
        assert_relative_eq!(
            m.expected_purchases(&s, 39.0),
            1_303.534_103_915_212,
            max_relative = 1e-10
        );
    }

    #[test]
    fn a_customer_without_repeat_purchases_is_alive() {
        let m = BgNbd::from_values(&[0.243, 4.414, 0.793, 2.426]);
        let s = Summary {
            t: 30.0,
            ..Summary::default()
        };
        assert_relative_eq!(m.p_alive(&s), 1.0);
    }
}
