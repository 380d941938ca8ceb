//! Forward-mode automatic differentiation: a value with its exact partial derivatives.
//!
//! The log-likelihoods of the Pareto/NBD and BG/BB models involve a numerical integral and sums
//! of beta functions whose derivatives by hand are long and error-prone. Written once
//! over [`Real`], the same code gives the value (with `f64`) and the value with the exact
//! gradient (with [`Dual`]). No maintained crate offers dual numbers with `ln_gamma`, which these
//! models need, so this small type is our own.

use std::ops::{Add, Div, Mul, Neg, Sub};

/// The number operations the model formulas use.
pub trait Real:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + Add<f64, Output = Self>
    + Sub<f64, Output = Self>
    + Mul<f64, Output = Self>
    + Div<f64, Output = Self>
{
    /// A constant (all derivatives zero).
    fn constant(v: f64) -> Self;
    /// The value without derivatives.
    fn value(self) -> f64;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// Exponential.
    fn exp(self) -> Self;
    /// `ln(1 + x)`, accurate for small `x`.
    fn ln_1p(self) -> Self;
    /// `ln Γ(x)` for `x > 0`.
    fn ln_gamma(self) -> Self;
    /// Whether `self` is negligible (relative 1e-16) next to `sum`, in value and in every
    /// derivative: a series may stop adding terms.
    fn negligible(self, sum: Self) -> bool;
    /// `ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b)`.
    fn ln_beta(self, b: Self) -> Self {
        self.ln_gamma() + b.ln_gamma() - (self + b).ln_gamma()
    }
}

impl Real for f64 {
    fn constant(v: f64) -> Self {
        v
    }
    fn value(self) -> f64 {
        self
    }
    fn ln(self) -> Self {
        f64::ln(self)
    }
    fn exp(self) -> Self {
        f64::exp(self)
    }
    fn ln_1p(self) -> Self {
        f64::ln_1p(self)
    }
    fn ln_gamma(self) -> Self {
        ln_gamma(self)
    }
    fn negligible(self, sum: Self) -> bool {
        self.abs() <= 1e-16 * sum.abs()
    }
}

/// `ln Γ(x)` for `x > 0` (Lanczos approximation, relative error below 1e-14).
pub fn ln_gamma(x: f64) -> f64 {
    statrs::function::gamma::ln_gamma(x)
}

/// The digamma function `ψ(x) = d/dx ln Γ(x)` for `x > 0`.
pub fn digamma(x: f64) -> f64 {
    statrs::function::gamma::digamma(x)
}

/// A value and its partial derivatives with respect to `N` variables.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dual<const N: usize> {
    /// The value.
    pub v: f64,
    /// The partial derivatives.
    pub d: [f64; N],
}

impl<const N: usize> Dual<N> {
    /// Variable number `i` (derivative 1 with respect to itself) with value `v`.
    pub fn variable(v: f64, i: usize) -> Self {
        let mut d = [0.0; N];
        d[i] = 1.0;
        Dual { v, d }
    }

    /// `f(self)` given `f(v)` and `f'(v)` (the chain rule).
    fn chain(self, f: f64, df: f64) -> Self {
        Dual {
            v: f,
            d: self.d.map(|x| x * df),
        }
    }
}

impl<const N: usize> Real for Dual<N> {
    fn constant(v: f64) -> Self {
        Dual { v, d: [0.0; N] }
    }
    fn value(self) -> f64 {
        self.v
    }
    fn ln(self) -> Self {
        self.chain(self.v.ln(), 1.0 / self.v)
    }
    fn exp(self) -> Self {
        let e = self.v.exp();
        self.chain(e, e)
    }
    fn ln_1p(self) -> Self {
        self.chain(self.v.ln_1p(), 1.0 / (1.0 + self.v))
    }
    fn ln_gamma(self) -> Self {
        self.chain(ln_gamma(self.v), digamma(self.v))
    }
    fn negligible(self, sum: Self) -> bool {
        self.v.negligible(sum.v) && self.d.iter().zip(sum.d).all(|(t, s)| t.negligible(s))
    }
}

impl<const N: usize> Add for Dual<N> {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        let mut d = self.d;
        for (x, y) in d.iter_mut().zip(o.d) {
            *x += y;
        }
        Dual { v: self.v + o.v, d }
    }
}

impl<const N: usize> Sub for Dual<N> {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        let mut d = self.d;
        for (x, y) in d.iter_mut().zip(o.d) {
            *x -= y;
        }
        Dual { v: self.v - o.v, d }
    }
}

impl<const N: usize> Mul for Dual<N> {
    type Output = Self;
    fn mul(self, o: Self) -> Self {
        let mut d = self.d;
        for (x, y) in d.iter_mut().zip(o.d) {
            *x = *x * o.v + self.v * y;
        }
        Dual { v: self.v * o.v, d }
    }
}

impl<const N: usize> Div for Dual<N> {
    type Output = Self;
    fn div(self, o: Self) -> Self {
        let q = self.v / o.v;
        let mut d = self.d;
        for (x, y) in d.iter_mut().zip(o.d) {
            *x = (*x - q * y) / o.v;
        }
        Dual { v: q, d }
    }
}

impl<const N: usize> Neg for Dual<N> {
    type Output = Self;
    fn neg(self) -> Self {
        Dual {
            v: -self.v,
            d: self.d.map(|x| -x),
        }
    }
}

impl<const N: usize> Add<f64> for Dual<N> {
    type Output = Self;
    fn add(self, o: f64) -> Self {
        Dual {
            v: self.v + o,
            d: self.d,
        }
    }
}

impl<const N: usize> Sub<f64> for Dual<N> {
    type Output = Self;
    fn sub(self, o: f64) -> Self {
        Dual {
            v: self.v - o,
            d: self.d,
        }
    }
}

impl<const N: usize> Mul<f64> for Dual<N> {
    type Output = Self;
    fn mul(self, o: f64) -> Self {
        Dual {
            v: self.v * o,
            d: self.d.map(|x| x * o),
        }
    }
}

impl<const N: usize> Div<f64> for Dual<N> {
    type Output = Self;
    fn div(self, o: f64) -> Self {
        Dual {
            v: self.v / o,
            d: self.d.map(|x| x / o),
        }
    }
}

/// `ln(eᵃ + eᵇ)` without overflow.
pub fn log_add_exp<T: Real>(a: T, b: T) -> T {
    if a.value() >= b.value() {
        a + (b - a).exp().ln_1p()
    } else {
        b + (a - b).exp().ln_1p()
    }
}

/// The Gauss hypergeometric function ₂F₁(a, b; c; z) for `0 ≤ z < 1` by its power series, or
/// `None` when the series has not converged after a million terms.
pub fn hyp2f1<T: Real>(a: T, b: T, c: T, z: T) -> Option<T> {
    let mut term = T::constant(1.0);
    let mut sum = term;
    for k in 0..1_000_000u32 {
        let k = f64::from(k);
        term = term * (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
        sum = sum + term;
        if term.negligible(sum) {
            return Some(sum);
        }
        if !sum.value().is_finite() {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn dual_derivatives_match_the_calculus() {
        // f(x, y) = ln Γ(x) · y / (x + y), at (2.5, 1.5)
        let x = Dual::<2>::variable(2.5, 0);
        let y = Dual::<2>::variable(1.5, 1);
        let f = x.ln_gamma() * y / (x + y);
        let (lg, psi) = (ln_gamma(2.5), digamma(2.5));
        assert_relative_eq!(f.v, lg * 1.5 / 4.0, max_relative = 1e-15);
        // ∂f/∂x = (ψ(x) y (x + y) − ln Γ(x) y) / (x + y)²
        assert_relative_eq!(
            f.d[0],
            (psi * 1.5 * 4.0 - lg * 1.5) / 16.0,
            max_relative = 1e-14
        );
        // ∂f/∂y = ln Γ(x) x / (x + y)²
        assert_relative_eq!(f.d[1], lg * 2.5 / 16.0, max_relative = 1e-14);
    }

    #[test]
    fn hyp2f1_matches_closed_forms() {
        // ₂F₁(1, 1; 2; z) = −ln(1 − z) / z
        let z = 0.7;
        let v = hyp2f1(1.0, 1.0, 2.0, z).unwrap_or(f64::NAN);
        assert_relative_eq!(v, -(1.0f64 - z).ln() / z, max_relative = 1e-13);
        // ₂F₁(a, b; b; z) = (1 − z)^(−a)
        let v = hyp2f1(2.5, 3.0, 3.0, 0.4).unwrap_or(f64::NAN);
        assert_relative_eq!(v, 0.6f64.powf(-2.5), max_relative = 1e-13);
        // derivative in z of ₂F₁(a, b; b; z) = a (1 − z)^(−a − 1)
        let z = Dual::<1>::variable(0.4, 0);
        let c = Dual::constant;
        let v = hyp2f1(c(2.5), c(3.0), c(3.0), z).map_or(f64::NAN, |v| v.d[0]);
        assert_relative_eq!(v, 2.5 * 0.6f64.powf(-3.5), max_relative = 1e-12);
    }

    #[test]
    fn log_sums_are_stable() {
        assert_relative_eq!(log_add_exp(1000.0, 1000.0), 1000.0 + 2f64.ln());
    }
}
