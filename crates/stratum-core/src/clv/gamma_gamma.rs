//! The Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves
//! for customer base analysis", and Fader & Hardie, "The Gamma-Gamma model of monetary value",
//! 2013).
//!
//! A customer's transaction values are Gamma(p, ν) with ν ~ Gamma(q, γ) across customers. For a
//! customer with `x` repeat transactions of mean value `m`, the log-likelihood is
//!
//! `ℓ = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m + px ln x − (px+q) ln(γ+mx)`.
//!
//! Terms in `x` alone are summed once per distinct `x`; a pass costs one `ln` per customer. The
//! model assumes spend is independent of frequency; [`SpendData::correlation`] reports the
//! Pearson correlation between the two so a strong one can be flagged.

use super::dual::{digamma, ln_gamma};
use super::optimize::{Likelihood, par_sum};
use super::summary::Summary;

/// Fitted Gamma-Gamma parameters.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct GammaGamma {
    /// Shape of the transaction-value gamma distribution.
    pub p: f64,
    /// Shape of the gamma distribution of the transaction-value scale.
    pub q: f64,
    /// Scale of the gamma distribution of the transaction-value scale.
    pub gamma: f64,
}

impl GammaGamma {
    /// The parameter names.
    pub const NAMES: &'static [&'static str] = &["p", "q", "gamma"];

    /// The parameters in [`GammaGamma::NAMES`] order.
    pub fn from_values(v: &[f64]) -> Self {
        GammaGamma {
            p: v[0],
            q: v[1],
            gamma: v[2],
        }
    }

    /// The expected mean transaction value of a customer with `x` repeat transactions of mean
    /// `m` (equation 5 of the 2013 note); the population mean `pγ / (q − 1)` when `x = 0`.
    pub fn expected_spend(&self, x: u32, m: f64) -> f64 {
        let x = f64::from(x);
        let m = if x > 0.0 { m } else { 0.0 };
        self.p * (self.gamma + m * x) / (self.p * x + self.q - 1.0)
    }
}

/// Customers with repeat purchases and a positive mean spend, grouped by `x`.
#[derive(Debug, Default)]
pub(crate) struct SpendData {
    /// `(x, m)` per customer.
    rows: Vec<(u32, f64)>,
    /// Per distinct x: `(x, customers, Σ ln m)`.
    per_x: Vec<(u32, f64, f64)>,
    /// Pearson correlation of x and m.
    pub(crate) correlation: f64,
    /// Customers with repeat purchases left out for a mean spend of zero or less.
    pub(crate) nonpositive: usize,
}

impl SpendData {
    pub(crate) fn new<'a>(summaries: impl IntoIterator<Item = &'a Summary>) -> Self {
        let mut rows = Vec::new();
        let mut nonpositive = 0;
        for s in summaries {
            if s.frequency == 0 {
                continue;
            }
            if !(s.monetary > 0.0 && s.monetary.is_finite()) {
                nonpositive += 1;
                continue;
            }
            rows.push((s.frequency, s.monetary));
        }
        {
            use rayon::slice::ParallelSliceMut;
            rows.par_sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        }
        SpendData {
            nonpositive,
            ..SpendData::with_rows(rows)
        }
    }

    /// The data of `rows`, sorted by x.
    fn with_rows(rows: Vec<(u32, f64)>) -> Self {
        let mut per_x: Vec<(u32, f64, f64)> = Vec::new();
        for &(x, m) in &rows {
            match per_x.last_mut() {
                Some(last) if last.0 == x => {
                    last.1 += 1.0;
                    last.2 += m.ln();
                }
                _ => per_x.push((x, 1.0, m.ln())),
            }
        }
        SpendData {
            correlation: pearson(&rows),
            rows,
            per_x,
            nonpositive: 0,
        }
    }

    /// Every `every`-th row (a systematic sample of the rows sorted by x and m).
    pub(crate) fn sample(&self, every: usize) -> SpendData {
        SpendData::with_rows(self.rows.iter().step_by(every.max(1)).copied().collect())
    }

    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// The Hessian of the log-likelihood in (p, q, γ), exact (trigamma for the gamma
    /// functions' second derivatives).
    fn hessian(&self, params: &[f64]) -> [[f64; 3]; 3] {
        let (p, q, g) = (params[0], params[1], params[2]);
        // per customer: −x/D, −1/D and (px+q)/D² with D = γ + m x
        let sums = par_sum::<_, 3>(&self.rows, |&(x, m), acc| {
            let x = f64::from(x);
            let d = g + m * x;
            acc[0] -= x / d;
            acc[1] -= 1.0 / d;
            acc[2] += (p * x + q) / (d * d);
        });
        let n = self.rows.len() as f64;
        let (mut pp, mut pq, mut qq) = (0.0, 0.0, 0.0);
        let tri_q = trigamma(q);
        for &(x, w, _) in &self.per_x {
            let x = f64::from(x);
            let tri_a = trigamma(p * x + q);
            pp += w * x * x * (tri_a - trigamma(p * x));
            pq += w * x * tri_a;
            qq += w * (tri_a - tri_q);
        }
        let pg = sums[0];
        let qg = n / g + sums[1];
        let gg = -n * q / (g * g) + sums[2];
        [[pp, pq, pg], [pq, qq, qg], [pg, qg, gg]]
    }

    /// Newton steps on the exact Hessian from `start` (an optimiser's answer) to the maximum
    /// of the likelihood: L-BFGS stops on the flat ridge of q and γ some 1e-3 (relative) short
    /// of it; a few Newton steps reach it to machine precision. `None` when the Hessian is not
    /// negative definite there or no step improves the likelihood.
    pub(crate) fn polish(&self, start: &[f64]) -> Option<(Vec<f64>, f64)> {
        let mut theta = start.to_vec();
        let mut grad = [0.0; 3];
        let mut ll = self.log_likelihood(&theta, &mut grad);
        let mut moved = false;
        for _ in 0..50 {
            let h = self.hessian(&theta);
            // −H must be positive definite: Newton's step then goes uphill
            let neg = h.map(|row| row.map(|v| -v));
            let step = solve3(neg, grad)?;
            let mut t = 1.0;
            let next = loop {
                let cand: Vec<f64> = theta.iter().zip(step).map(|(v, d)| v + t * d).collect();
                if cand.iter().all(|v| *v > 0.0 && v.is_finite()) {
                    let mut g2 = [0.0; 3];
                    let l2 = self.log_likelihood(&cand, &mut g2);
                    if l2.is_finite() && l2 >= ll {
                        break Some((cand, l2, g2));
                    }
                }
                t /= 2.0;
                if t < 1e-6 {
                    break None;
                }
            };
            let Some((cand, l2, g2)) = next else {
                break;
            };
            let small = cand
                .iter()
                .zip(&theta)
                .all(|(a, b)| (a - b).abs() <= 1e-14 * b.abs());
            (theta, ll, grad) = (cand, l2, g2);
            moved = true;
            if small {
                break;
            }
        }
        moved.then_some((theta, ll))
    }

    fn mean_spend(&self) -> f64 {
        let total: f64 = self.rows.iter().map(|r| r.1).sum();
        (total / self.rows.len().max(1) as f64).max(1e-3)
    }
}

fn pearson(rows: &[(u32, f64)]) -> f64 {
    let n = rows.len() as f64;
    let mx = rows.iter().map(|r| f64::from(r.0)).sum::<f64>() / n;
    let mm = rows.iter().map(|r| r.1).sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for &(x, m) in rows {
        let (dx, dm) = (f64::from(x) - mx, m - mm);
        sxy += dx * dm;
        sxx += dx * dx;
        syy += dm * dm;
    }
    sxy / (sxx * syy).sqrt()
}

/// The trigamma function ψ′(x) for x > 0: the recurrence ψ′(x) = ψ′(x + 1) + 1/x² up to
/// x ≥ 15, then the asymptotic series (its next term is below 1e-14 there).
fn trigamma(mut x: f64) -> f64 {
    let mut acc = 0.0;
    while x < 15.0 {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    let z = 1.0 / (x * x);
    acc + 1.0 / x
        + z / 2.0
        + z / x * (1.0 / 6.0 - z * (1.0 / 30.0 - z * (1.0 / 42.0 - z * (1.0 / 30.0))))
}

/// The solution of the 3×3 system `a · x = b` when `a` is symmetric positive definite
/// (Cholesky); `None` otherwise.
fn solve3(a: [[f64; 3]; 3], b: [f64; 3]) -> Option<[f64; 3]> {
    let mut l = [[0.0f64; 3]; 3];
    for i in 0..3 {
        for j in 0..=i {
            let sum: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = a[i][i] - sum;
                if !(d > 0.0 && d.is_finite()) {
                    return None;
                }
                l[i][j] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - sum) / l[j][j];
            }
        }
    }
    let mut y = [0.0; 3];
    for i in 0..3 {
        let sum: f64 = (0..i).map(|k| l[i][k] * y[k]).sum();
        y[i] = (b[i] - sum) / l[i][i];
    }
    let mut x = [0.0; 3];
    for i in (0..3).rev() {
        let sum: f64 = (i + 1..3).map(|k| l[k][i] * x[k]).sum();
        x[i] = (y[i] - sum) / l[i][i];
    }
    Some(x)
}

impl Likelihood for SpendData {
    const MODEL: &'static str = "Gamma-Gamma";
    const NAMES: &'static [&'static str] = GammaGamma::NAMES;

    fn log_likelihood(&self, params: &[f64], grad: &mut [f64]) -> f64 {
        let (p, q, g) = (params[0], params[1], params[2]);
        // per customer: ln(γ + m x) weighted by 1, by x and by (px + q), and (px+q)/(γ + m x)
        let sums = par_sum::<_, 4>(&self.rows, |&(x, m), acc| {
            let x = f64::from(x);
            let l = (g + m * x).ln();
            let pxq = p * x + q;
            acc[0] += pxq * l;
            acc[1] += x * l;
            acc[2] += l;
            acc[3] += pxq / (g + m * x);
        });
        let mut ll = -sums[0];
        let mut gp = -sums[1];
        let mut gq = -sums[2];
        let mut gg = -sums[3];
        let (lg_q, psi_q, ln_g) = (ln_gamma(q), digamma(q), g.ln());
        for &(x, w, sum_ln_m) in &self.per_x {
            let x = f64::from(x);
            let px = p * x;
            let psi_pxq = digamma(px + q);
            ll += w * (ln_gamma(px + q) - ln_gamma(px) - lg_q + q * ln_g + px * x.ln())
                + (px - 1.0) * sum_ln_m;
            gp += w * x * (psi_pxq - digamma(px) + x.ln()) + x * sum_ln_m;
            gq += w * (psi_pxq - psi_q + ln_g);
            gg += w * q / g;
        }
        grad.copy_from_slice(&[gp, gq, gg]);
        ll
    }

    fn customers(&self) -> f64 {
        self.rows.len() as f64
    }

    fn start(&self) -> Vec<f64> {
        vec![1.0, 1.0, self.mean_spend()]
    }

    fn scale(&self, i: usize) -> f64 {
        if i == 2 { self.mean_spend() } else { 1.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn direct_ll(par: [f64; 3], rows: &[(u32, f64)]) -> f64 {
        let [p, q, g] = par;
        rows.iter()
            .map(|&(x, m)| {
                let x = f64::from(x);
                ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q)
                    + q * g.ln()
                    + (p * x - 1.0) * m.ln()
                    + p * x * x.ln()
                    - (p * x + q) * (g + m * x).ln()
            })
            .sum()
    }

    #[test]
    fn the_hessian_matches_finite_differences_of_the_gradient() {
        let rows = vec![(1, 20.0), (1, 12.0), (3, 35.5), (7, 18.0), (2, 40.0)];
        let data = SpendData::with_rows(rows);
        let par = [6.25, 3.74, 15.44];
        let h = data.hessian(&par);
        for j in 0..3 {
            let e = 1e-6 * par[j];
            let (mut up, mut down) = (par, par);
            up[j] += e;
            down[j] -= e;
            let (mut gu, mut gd) = ([0.0; 3], [0.0; 3]);
            data.log_likelihood(&up, &mut gu);
            data.log_likelihood(&down, &mut gd);
            for i in 0..3 {
                let fd = (gu[i] - gd[i]) / (2.0 * e);
                assert_relative_eq!(h[i][j], fd, max_relative = 1e-5, epsilon = 1e-9);
            }
        }
    }

    /// From the published values, rounded to two decimals (some 1e-3 off the maximum, where
    /// L-BFGS can stop on the ridge of q and γ), Newton steps reach the maximum an independent
    /// fit finds (`bench/clv/gamma_gamma_reference.py`, scipy without derivatives).
    #[test]
    fn newton_steps_reach_the_maximum_from_near_it() {
        let text =
            include_str!("../../tests/data/clv/cdnow_customers_summary_with_transactions.csv");
        let mut rows: Vec<(u32, f64)> = text
            .lines()
            .skip(1)
            .filter_map(|line| {
                let f: Vec<&str> = line.split(',').collect();
                let (x, m): (u32, f64) = (f.get(1)?.parse().ok()?, f.get(4)?.parse().ok()?);
                (x > 0 && m > 0.0).then_some((x, m))
            })
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let data = SpendData::with_rows(rows);
        assert_eq!(data.len(), 946);
        let (values, ll) = data.polish(&[6.25, 3.74, 15.44]).expect("polished");
        let reference = [
            6.248_803_179_906_075_5,
            3.744_588_437_828_986_6,
            15.447_745_963_837_745,
        ];
        for (v, r) in values.iter().zip(reference) {
            assert_relative_eq!(*v, r, max_relative = 1e-6);
        }
        assert!(ll >= -4_055.923_243_502_856 - 1e-9, "{ll}");
        // at the maximum the gradient vanishes (per customer, to the sums' rounding)
        let mut grad = [0.0; 3];
        data.log_likelihood(&values, &mut grad);
        assert!(grad.iter().all(|g| g.abs() / 946.0 < 1e-8), "{grad:?}");
    }

    #[test]
    fn trigamma_matches_known_values() {
        // ψ′(1) = π²/6, ψ′(1/2) = π²/2, ψ′(10) from the series ζ(2) − Σ_{k<10} 1/k²
        let pi2 = std::f64::consts::PI.powi(2);
        assert_relative_eq!(trigamma(1.0), pi2 / 6.0, max_relative = 1e-12);
        assert_relative_eq!(trigamma(0.5), pi2 / 2.0, max_relative = 1e-12);
        let tail = pi2 / 6.0 - (1..10).map(|k| 1.0 / f64::from(k * k)).sum::<f64>();
        assert_relative_eq!(trigamma(10.0), tail, max_relative = 1e-12);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let s = |frequency, monetary| Summary {
            frequency,
            monetary,
            t: 10.0,
            recency: 5.0,
            ..Summary::default()
        };
        let all = [
            s(1, 20.0),
            s(3, 35.5),
            s(1, 12.0),
            s(0, 0.0),
            s(2, -1.0),
            s(7, 18.0),
        ];
        let data = SpendData::new(&all);
        assert_eq!((data.len(), data.nonpositive), (4, 1));
        let par = [6.25, 3.74, 15.44];
        let mut grad = [0.0; 3];
        let ll = data.log_likelihood(&par, &mut grad);
        assert_relative_eq!(ll, direct_ll(par, &data.rows), max_relative = 1e-12);
        for i in 0..3 {
            let h = 1e-6 * par[i];
            let (mut up, mut down) = (par, par);
            up[i] += h;
            down[i] -= h;
            let fd = (direct_ll(up, &data.rows) - direct_ll(down, &data.rows)) / (2.0 * h);
            assert_relative_eq!(grad[i], fd, max_relative = 1e-6);
        }
    }

    #[test]
    fn expected_spend_shrinks_toward_the_population_mean() {
        // the published CDNOW fit; the population mean is pγ/(q−1) = 35.22
        let m = GammaGamma {
            p: 6.25,
            q: 3.74,
            gamma: 15.44,
        };
        assert_relative_eq!(
            m.expected_spend(0, 0.0),
            6.25 * 15.44 / 2.74,
            max_relative = 1e-12
        );
        let one = m.expected_spend(1, 100.0);
        assert!(one > 35.22 && one < 100.0);
    }
}
