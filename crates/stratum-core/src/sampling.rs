//! Seeded random samples of row indices, for the statistics that run on a subset of large data.

use rand::{RngExt, SeedableRng};

/// A seeded random sample of at most `most` of `0..n`, ascending (all of them when `n` is not
/// larger). Random rather than every k-th row, so that a periodic order in the data cannot
/// bias it; the same seed gives the same sample.
pub(crate) fn sample_indices(n: usize, most: usize, seed: u64) -> Vec<usize> {
    if n <= most {
        return (0..n).collect();
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut idx: Vec<usize> = (0..n).collect();
    // a partial Fisher–Yates shuffle: the first `most` places
    for i in 0..most {
        let j = rng.random_range(i..n);
        idx.swap(i, j);
    }
    idx.truncate(most);
    idx.sort_unstable();
    idx
}

/// The value at quantile `p` of ascending `sorted` values, by linear interpolation between
/// order statistics (numpy's and pandas' default).
pub(crate) fn quantile(sorted: &[f64], p: f64) -> f64 {
    let pos = p * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}
