//! Maximum likelihood: L-BFGS (`argmin`) on log-parameters, then standard errors from the
//! Hessian.
//!
//! Every model provides its total log-likelihood with the exact gradient in the natural
//! parameters ([`Likelihood`]). The optimiser works on `u = ln θ`, so the parameters stay
//! positive, and minimises the mean negative log-likelihood plus an optional L2 penalty
//! `λ Σ (θ/c)²`, the `penalizer_coef` of the `lifetimes` package, so that results can be
//! compared: like `lifetimes`, time-scale parameters are penalised in units of the largest `T`
//! (`c` = max T for them, 1 for the others).
//! Standard errors are the square roots of the diagonal of the inverse Hessian of the total
//! negative log-likelihood at the optimum; the Hessian is the forward difference of the exact
//! gradient (relative step 1e-6), symmetrised. On large data the optimiser starts from a fit on
//! a systematic sample (every 16th distinct summary), which saves most full passes.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;

use super::ClvError;

/// A log-likelihood over `N` positive parameters with its exact gradient.
pub(crate) trait Likelihood: Sync {
    /// The model's name in messages.
    const MODEL: &'static str;
    /// The parameter names, in order.
    const NAMES: &'static [&'static str];
    /// The total log-likelihood at `params` and its gradient, written to `grad`.
    fn log_likelihood(&self, params: &[f64], grad: &mut [f64]) -> f64;
    /// The number of customers (the weight the mean is taken over).
    fn customers(&self) -> f64;
    /// Starting values.
    fn start(&self) -> Vec<f64>;
    /// The unit parameter `i` is penalised in: the largest `T` for a time scale (as
    /// `lifetimes`, which fits on times divided by the largest `T`), else 1.
    fn penalty_unit(&self, _i: usize) -> f64 {
        1.0
    }
    /// The data's natural size for parameter `i` (the mean age for a time scale, the mean
    /// spend for a money scale, 1 for a shape): a fitted value more than 1e8 times larger or
    /// smaller than it counts as run off.
    fn scale(&self, _i: usize) -> f64 {
        1.0
    }
}

/// How a fit went: parameters, their standard errors and the optimiser's diagnostics.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FitReport {
    /// The model's name.
    pub model: &'static str,
    /// The parameter names.
    pub names: Vec<&'static str>,
    /// The fitted values.
    pub values: Vec<f64>,
    /// Standard errors (from the inverse Hessian), `None` when the Hessian is not positive
    /// definite there.
    pub std_errors: Vec<Option<f64>>,
    /// The total log-likelihood at the fitted values (without the penalty).
    pub log_likelihood: f64,
    /// The L2 penalty used.
    pub penalty: f64,
    /// L-BFGS iterations.
    pub iterations: u64,
    /// Likelihood evaluations (each with its gradient).
    pub evaluations: u64,
    /// The largest component of the gradient of the mean objective in log-parameters at the
    /// end; the fit counts as converged below 1e-5.
    pub gradient_norm: f64,
    /// The optimiser's stopping reason.
    pub termination: String,
    /// Customers the model was fitted on.
    pub customers: f64,
    /// Distinct summaries the likelihood was evaluated over.
    pub groups: usize,
}

impl FitReport {
    /// The fitted value of parameter `name` (NaN when there is none).
    pub fn value(&self, name: &str) -> f64 {
        self.names
            .iter()
            .position(|n| *n == name)
            .map_or(f64::NAN, |i| self.values[i])
    }
}

/// A point, the objective there and its gradient.
type Evaluation = (Vec<f64>, f64, Vec<f64>);

/// The objective in log-parameters, caching the last evaluation (argmin asks for the cost and
/// the gradient at the same point separately; one likelihood pass gives both).
struct Problem<'a, L: Likelihood> {
    model: &'a L,
    penalty: f64,
    last: Mutex<Option<Evaluation>>,
    evaluations: &'a AtomicU64,
}

impl<L: Likelihood> Problem<'_, L> {
    fn eval(&self, u: &[f64]) -> (f64, Vec<f64>) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((p, f, g)) = last.as_ref()
            && p.as_slice() == u
        {
            return (*f, g.clone());
        }
        let theta: Vec<f64> = u.iter().map(|x| x.exp()).collect();
        let mut g = vec![0.0; theta.len()];
        let ll = self.model.log_likelihood(&theta, &mut g);
        let n = self.model.customers();
        let mut f = -ll / n;
        for (i, th) in theta.iter().enumerate() {
            let c = self.model.penalty_unit(i);
            f += self.penalty * (th / c).powi(2);
            // d/du of (−ll/n + λ (θ/c)²) with θ = eᵘ
            g[i] = (-g[i] / n + 2.0 * self.penalty * th / (c * c)) * th;
        }
        if !f.is_finite() || g.iter().any(|x| !x.is_finite()) {
            // keeps the line search away from where the likelihood breaks down
            f = f64::INFINITY;
        }
        self.evaluations.fetch_add(1, Ordering::Relaxed);
        *last = Some((u.to_vec(), f, g.clone()));
        (f, g)
    }
}

impl<L: Likelihood> CostFunction for Problem<'_, L> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, u: &Vec<f64>) -> Result<f64, argmin::core::Error> {
        Ok(self.eval(u).0)
    }
}

impl<L: Likelihood> Gradient for Problem<'_, L> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, u: &Vec<f64>) -> Result<Vec<f64>, argmin::core::Error> {
        Ok(self.eval(u).1)
    }
}

/// Fits `model` by maximum likelihood.
///
/// With `start`, the optimiser starts there (a fit on a sample of the data) instead of at the
/// model's own starting values. When no maximum is found from there, the fit is tried again
/// from every parameter at 1 (where `lifetimes` starts) before the first failure is reported.
pub(crate) fn fit<L: Likelihood>(
    model: &L,
    groups: usize,
    penalty: f64,
    max_iters: u64,
    start: Option<&[f64]>,
) -> Result<FitReport, ClvError> {
    let first = start.map_or_else(|| model.start(), <[f64]>::to_vec);
    let ones = vec![1.0; first.len()];
    match fit_from(model, groups, penalty, max_iters, &first) {
        Err(e) if first != ones => {
            fit_from(model, groups, penalty, max_iters, &ones).map_err(|_| e)
        }
        done => done,
    }
}

/// Fits `model` (`groups` distinct rows), starting from a fit on `sample` (with its number of
/// rows) when one is given and converges: on large data the sample fit does most of the
/// optimiser's walk at a fraction of the cost.
pub(crate) fn fit_sampled<L: Likelihood>(
    model: &L,
    groups: usize,
    sample: Option<(&L, usize)>,
    penalty: f64,
    max_iters: u64,
) -> Result<FitReport, ClvError> {
    let start = sample
        .and_then(|(data, rows)| fit(data, rows, penalty, max_iters, None).ok())
        .map(|r| r.values);
    fit(model, groups, penalty, max_iters, start.as_deref())
}

fn fit_from<L: Likelihood>(
    model: &L,
    groups: usize,
    penalty: f64,
    max_iters: u64,
    start: &[f64],
) -> Result<FitReport, ClvError> {
    let evaluations = AtomicU64::new(0);
    let problem = |evaluations| Problem {
        model,
        penalty,
        last: Mutex::new(None),
        evaluations,
    };
    let start: Vec<f64> = start.iter().map(|x| x.ln()).collect();
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 10)
        .with_tolerance_grad(1e-7)
        .and_then(|s| s.with_tolerance_cost(1e-15))
        .map_err(|e| optimiser_error::<L>(&e))?;
    let result = Executor::new(problem(&evaluations), solver)
        .configure(|state| state.param(start).max_iters(max_iters))
        .run()
        .map_err(|e| optimiser_error::<L>(&e))?;
    let state = result.state();
    let u = state
        .get_best_param()
        .cloned()
        .ok_or_else(|| ClvError::Degenerate {
            model: L::MODEL,
            reason: "the optimiser returned no parameters".into(),
        })?;
    let termination = state
        .get_termination_reason()
        .map_or_else(|| "unknown".to_string(), |r| r.text().to_string());
    let iterations = state.get_iter();
    // (argmin can lose the problem when the line search stops with an error: a fresh one)
    let (cost, grad) = problem(&evaluations).eval(&u);
    let evaluations = evaluations.load(Ordering::Relaxed);
    let gradient_norm = grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    let values: Vec<f64> = u.iter().map(|x| x.exp()).collect();
    let names = L::NAMES;
    if let Some((name, v)) = names
        .iter()
        .zip(&values)
        .enumerate()
        .find(|(i, (_, v))| !(1e-8..=1e8).contains(&(**v / model.scale(*i))))
        .map(|(_, nv)| nv)
    {
        return Err(ClvError::Degenerate {
            model: L::MODEL,
            reason: format!(
                "parameter {name} ran off to {v:.3e} ({}): the data does not identify the \
                 model (too little repeat buying, or everyone alike)",
                show_params(names, &values)
            ),
        });
    }
    if !cost.is_finite() || gradient_norm.is_nan() || gradient_norm >= 1e-5 {
        return Err(ClvError::Degenerate {
            model: L::MODEL,
            reason: format!(
                "no maximum found after {iterations} iterations ({termination}); \
                 gradient {gradient_norm:.3e} at {}",
                show_params(names, &values)
            ),
        });
    }
    // the mean penalised objective back to the total log-likelihood
    let log_likelihood = -(cost - penalty * penalty_sum(model, &values)) * model.customers();
    let std_errors = std_errors(model, &values, penalty);
    Ok(FitReport {
        model: L::MODEL,
        names: names.to_vec(),
        values,
        std_errors,
        log_likelihood,
        penalty,
        iterations,
        evaluations,
        gradient_norm,
        termination,
        customers: model.customers(),
        groups,
    })
}

fn optimiser_error<L: Likelihood>(e: &argmin::core::Error) -> ClvError {
    ClvError::Degenerate {
        model: L::MODEL,
        reason: format!("the optimiser failed: {e}"),
    }
}

fn show_params(names: &[&str], values: &[f64]) -> String {
    names
        .iter()
        .zip(values)
        .map(|(n, v)| format!("{n} = {v:.4}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `Σ (θ/c)²`, the penalty per unit of `λ`.
fn penalty_sum<L: Likelihood>(model: &L, theta: &[f64]) -> f64 {
    theta
        .iter()
        .enumerate()
        .map(|(i, th)| (th / model.penalty_unit(i)).powi(2))
        .sum()
}

/// Standard errors from the inverse of the Hessian of the penalised total negative
/// log-likelihood, by forward differences of the exact gradient (relative step 1e-6).
#[expect(
    clippy::needless_range_loop,
    reason = "matrix code reads clearer with indices"
)]
fn std_errors<L: Likelihood>(model: &L, theta: &[f64], penalty: f64) -> Vec<Option<f64>> {
    let n = theta.len();
    let total = model.customers();
    let grad = |p: &[f64]| {
        let mut g = vec![0.0; n];
        model.log_likelihood(p, &mut g);
        // gradient of −ll + n λ Σ(θ/c)²
        g.iter()
            .zip(p)
            .enumerate()
            .map(|(i, (gi, th))| {
                let c = model.penalty_unit(i);
                -gi + 2.0 * penalty * total * th / (c * c)
            })
            .collect::<Vec<f64>>()
    };
    let mut h = vec![vec![0.0; n]; n];
    let at = grad(theta);
    for i in 0..n {
        let step = 1e-6 * theta[i];
        let mut up = theta.to_vec();
        up[i] += step;
        let gu = grad(&up);
        for j in 0..n {
            h[i][j] = (gu[j] - at[j]) / step;
        }
    }
    for i in 0..n {
        for j in 0..i {
            let m = 0.5 * (h[i][j] + h[j][i]);
            h[i][j] = m;
            h[j][i] = m;
        }
    }
    match invert(h) {
        Some(inv) => (0..n)
            .map(|i| (inv[i][i] > 0.0).then(|| inv[i][i].sqrt()))
            .collect(),
        None => vec![None; n],
    }
}

#[expect(
    clippy::needless_range_loop,
    reason = "matrix code reads clearer with indices"
)]
/// The inverse of a small symmetric positive definite matrix (Cholesky), or `None`.
fn invert(a: Vec<Vec<f64>>) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = a[i][i] - s;
                if d.is_nan() || d <= 0.0 {
                    return None;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    // columns of the inverse: solve L Lᵀ x = e_k
    let mut inv = vec![vec![0.0; n]; n];
    for k in 0..n {
        let mut y = vec![0.0; n];
        for i in 0..n {
            let e = if i == k { 1.0 } else { 0.0 };
            let s: f64 = (0..i).map(|j| l[i][j] * y[j]).sum();
            y[i] = (e - s) / l[i][i];
        }
        let mut x = vec![0.0; n];
        for i in (0..n).rev() {
            let s: f64 = (i + 1..n).map(|j| l[j][i] * x[j]).sum();
            x[i] = (y[i] - s) / l[i][i];
        }
        for i in 0..n {
            inv[i][k] = x[i];
        }
    }
    Some(inv)
}

/// The total log-likelihood of grouped summaries and its exact gradient, from a per-summary
/// log-likelihood written over dual numbers: `row(params, x, t_x, T)`.
pub(crate) fn dual_log_likelihood(
    grouped: &super::Grouped,
    p: &[f64],
    grad: &mut [f64],
    row: impl Fn([super::dual::Dual<4>; 4], f64, f64, f64) -> super::dual::Dual<4> + Sync,
) -> f64 {
    let vars: [super::dual::Dual<4>; 4] =
        std::array::from_fn(|i| super::dual::Dual::variable(p[i], i));
    let sums = par_sum::<_, 5>(&grouped.rows, |&(x, tx, t, w), acc| {
        let l = row(vars, f64::from(x), tx, t);
        acc[0] += w * l.v;
        for i in 0..4 {
            acc[i + 1] += w * l.d[i];
        }
    });
    grad.copy_from_slice(&sums[1..]);
    sums[0]
}

/// Sums `f` over `rows` in fixed chunks on the rayon pool, adding the chunk sums in order, so
/// the result is the same for any number of threads.
pub(crate) fn par_sum<T: Sync, const K: usize>(
    rows: &[T],
    f: impl Fn(&T, &mut [f64; K]) + Sync,
) -> [f64; K] {
    use rayon::prelude::*;
    let parts: Vec<[f64; K]> = rows
        .par_chunks(4096)
        .map(|chunk| {
            let mut acc = [0.0; K];
            for r in chunk {
                f(r, &mut acc);
            }
            acc
        })
        .collect();
    let mut total = [0.0; K];
    for p in parts {
        for (t, v) in total.iter_mut().zip(p) {
            *t += v;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn cholesky_inverse_of_a_known_matrix() {
        // [[4, 2], [2, 3]]⁻¹ = [[3, −2], [−2, 4]] / 8
        let inv = invert(vec![vec![4.0, 2.0], vec![2.0, 3.0]]).unwrap_or_default();
        assert_relative_eq!(inv[0][0], 3.0 / 8.0, max_relative = 1e-14);
        assert_relative_eq!(inv[0][1], -2.0 / 8.0, max_relative = 1e-14);
        assert_relative_eq!(inv[1][1], 4.0 / 8.0, max_relative = 1e-14);
        assert!(invert(vec![vec![1.0, 2.0], vec![2.0, 1.0]]).is_none());
    }
}
