//! ABC parameters: unchecked, then checked.

use super::AbcError;

/// Unchecked ABC parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AbcParams {
    a: f64,
    b: f64,
}

impl Default for AbcParams {
    fn default() -> Self {
        AbcParams { a: 0.80, b: 0.95 }
    }
}

impl AbcParams {
    /// Default cut points: A up to 80% of revenue, B up to 95%.
    pub fn new() -> Self {
        Self::default()
    }

    /// The A cut point as a share of revenue (default 0.80).
    pub fn a(mut self, a: f64) -> Self {
        self.a = a;
        self
    }

    /// The B cut point as a share of revenue (default 0.95).
    pub fn b(mut self, b: f64) -> Self {
        self.b = b;
        self
    }

    /// Validates the cut points.
    pub fn check(self) -> Result<CheckedAbcParams, AbcError> {
        let ok = self.a.is_finite() && self.b.is_finite() && 0.0 < self.a && self.a < self.b;
        if !ok || self.b > 1.0 {
            return Err(AbcError::Cuts {
                a: self.a,
                b: self.b,
            });
        }
        Ok(CheckedAbcParams(self))
    }
}

/// ABC parameters that passed [`AbcParams::check`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckedAbcParams(AbcParams);

impl CheckedAbcParams {
    /// The A cut point.
    pub fn a(&self) -> f64 {
        self.0.a
    }

    /// The B cut point.
    pub fn b(&self) -> f64 {
        self.0.b
    }
}
