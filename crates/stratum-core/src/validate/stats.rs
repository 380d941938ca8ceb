//! The test statistics: Kruskal–Wallis H (with the tie correction), one-way ANOVA F, and the
//! five-number summaries.

use statrs::distribution::{ChiSquared, ContinuousCDF, FisherSnedecor};

/// Why the data leave a test undefined (a result, not an error: the run goes on and says so).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Undefined {
    /// Fewer than two groups have values: there is nothing to compare.
    FewerThanTwoGroups,
    /// Every value is the same: the data do not vary.
    NoVariance,
    /// No group holds two values, so the spread within groups cannot be estimated.
    GroupsTooSmall,
    /// Every group is constant though the groups differ: the spread within groups is zero
    /// and the statistic is infinite.
    NoWithinVariance,
}

impl Undefined {
    /// The reason as a short code (`no_variance`), as written in outputs.
    pub fn code(self) -> &'static str {
        match self {
            Undefined::FewerThanTwoGroups => "fewer_than_two_groups",
            Undefined::NoVariance => "no_variance",
            Undefined::GroupsTooSmall => "groups_too_small",
            Undefined::NoWithinVariance => "no_within_variance",
        }
    }

    /// The reason in English or Chinese.
    pub fn text(self, lang: crate::Lang) -> &'static str {
        match (self, lang) {
            (Undefined::FewerThanTwoGroups, crate::Lang::En) => "undefined: fewer than two groups",
            (Undefined::FewerThanTwoGroups, crate::Lang::Zh) => "无法检验：不足两组",
            (Undefined::NoVariance, crate::Lang::En) => "undefined: the values do not vary",
            (Undefined::NoVariance, crate::Lang::Zh) => "无法检验：数值没有变化",
            (Undefined::GroupsTooSmall, crate::Lang::En) => "undefined: groups too small",
            (Undefined::GroupsTooSmall, crate::Lang::Zh) => "无法检验：分组过小",
            (Undefined::NoWithinVariance, crate::Lang::En) => {
                "undefined: no variance within groups"
            }
            (Undefined::NoWithinVariance, crate::Lang::Zh) => "无法检验：组内没有变化",
        }
    }
}

/// A test's result as written to JSON: its fields, or `{"undefined": reason}`.
pub(crate) fn serialize_outcome<T: serde::Serialize, S: serde::Serializer>(
    outcome: &Result<T, Undefined>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    match outcome {
        Ok(t) => t.serialize(serializer),
        Err(u) => {
            let mut map = serializer.serialize_map(Some(1))?;
            map.serialize_entry("undefined", u)?;
            map.end()
        }
    }
}

/// `P(X ≥ x)` from a survival function, only for a finite, non-negative statistic (statrs
/// panics on NaN).
fn upper_tail(x: f64, sf: impl FnOnce(f64) -> f64) -> f64 {
    if x.is_finite() && x >= 0.0 {
        sf(x)
    } else {
        f64::NAN
    }
}

/// Kruskal–Wallis H test across groups.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct KruskalWallis {
    /// H, corrected for ties.
    pub h: f64,
    /// Degrees of freedom (groups − 1).
    pub df: f64,
    /// P(χ²(df) ≥ H).
    pub p: f64,
    /// Effect size ε² = H / (n − 1): the share of rank variance between groups.
    pub epsilon_sq: f64,
}

/// One-way ANOVA across groups.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Anova {
    /// F = (between-group mean square) / (within-group mean square).
    pub f: f64,
    /// Degrees of freedom between groups (groups − 1).
    pub df_between: f64,
    /// Degrees of freedom within groups (n − groups).
    pub df_within: f64,
    /// P(F(df_between, df_within) ≥ F).
    pub p: f64,
}

/// Kruskal–Wallis over the non-empty groups; undefined with fewer than two of them or when
/// every value is the same.
pub fn kruskal_wallis(groups: &[&[f64]]) -> Result<KruskalWallis, Undefined> {
    let sorted: Vec<Vec<f64>> = groups.iter().map(|g| sorted(g)).collect();
    let refs: Vec<&[f64]> = sorted.iter().map(Vec::as_slice).collect();
    kruskal_wallis_sorted(&refs)
}

/// [`kruskal_wallis`] of groups that are each sorted by [`f64::total_cmp`]: the groups are
/// merged, not sorted together, and each run of equal values is ranked at once (a segmentation
/// is tested on several features and every pair of its segments: each group is sorted once).
pub fn kruskal_wallis_sorted(groups: &[&[f64]]) -> Result<KruskalWallis, Undefined> {
    let groups: Vec<&[f64]> = groups.iter().copied().filter(|g| !g.is_empty()).collect();
    if groups.len() < 2 {
        return Err(Undefined::FewerThanTwoGroups);
    }
    let total: usize = groups.iter().map(|g| g.len()).sum();
    let n = total as f64;
    let mut heads = vec![0usize; groups.len()];
    let mut rank_sums = vec![0.0; groups.len()];
    let mut ties = 0.0;
    let mut ranked = 0usize;
    let mut counts = vec![0usize; groups.len()];
    while ranked < total {
        // the smallest value not yet ranked, and every copy of it at the groups' heads
        let (first, min) = groups
            .iter()
            .zip(&heads)
            .enumerate()
            .filter_map(|(g, (values, &h))| values.get(h).map(|&v| (g, v)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .ok_or(Undefined::FewerThanTwoGroups)?;
        for ((values, head), count) in groups.iter().zip(&mut heads).zip(&mut counts) {
            let start = *head;
            while values.get(*head).is_some_and(|&v| v == min) {
                *head += 1;
            }
            *count = *head - start;
        }
        if counts[first] == 0 {
            // NaN equals nothing, not even itself: it is a run of one
            counts[first] = 1;
            heads[first] += 1;
        }
        let t: usize = counts.iter().sum();
        // positions ranked..ranked + t share the mean rank (half-integers: the sums are exact
        // below about 9.5e7 values, as the pooled sort's were)
        let rank = (2 * ranked + t - 1) as f64 / 2.0 + 1.0;
        for (sum, &c) in rank_sums.iter_mut().zip(&counts) {
            *sum += c as f64 * rank;
        }
        ranked += t;
        let t = t as f64;
        ties += t * t * t - t;
    }
    let sums: Vec<(usize, f64)> = groups.iter().map(|g| g.len()).zip(rank_sums).collect();
    kruskal_wallis_of(&sums, n, ties)
}

/// H, its p-value and ε² from each non-empty group's size and rank sum, the number of values
/// `n` and the ties' term Σ(t³ − t).
fn kruskal_wallis_of(
    groups: &[(usize, f64)],
    n: f64,
    ties: f64,
) -> Result<KruskalWallis, Undefined> {
    let correction = 1.0 - ties / (n * n * n - n);
    if correction <= 0.0 {
        return Err(Undefined::NoVariance);
    }
    let sum: f64 = groups.iter().map(|&(g, r)| r * r / g as f64).sum();
    let h = (12.0 / (n * (n + 1.0)) * sum - 3.0 * (n + 1.0)) / correction;
    let df = (groups.len() - 1) as f64;
    if !h.is_finite() {
        return Err(Undefined::NoVariance);
    }
    let p = upper_tail(h, |h| ChiSquared::new(df).map_or(f64::NAN, |c| c.sf(h)));
    Ok(KruskalWallis {
        h,
        df,
        p,
        epsilon_sq: h / (n - 1.0),
    })
}

/// [`kruskal_wallis`] of the values of `k` groups pooled in one list sorted by
/// [`f64::total_cmp`], each value with its group: each run of equal values is ranked at once
/// and only the groups in it are touched (the same sums, in the same order, as
/// [`kruskal_wallis_sorted`], without looking at every group for every value).
pub fn kruskal_wallis_pooled(
    pooled: &[(f64, usize)],
    k: usize,
) -> Result<KruskalWallis, Undefined> {
    let mut ranks = PooledRanks::new(k);
    for &(value, g) in pooled {
        ranks.push(value, g);
    }
    ranks.finish()
}

/// [`kruskal_wallis_pooled`] taken as the values come, in order (by [`f64::total_cmp`]), each
/// with its group, without the list: a pass over values in order ranks them as it goes.
/// A value of a group past the `k` given takes its rank and counts in no group.
#[derive(Debug, Clone)]
pub struct PooledRanks {
    sizes: Vec<usize>,
    rank_sums: Vec<f64>,
    /// Per group, its values in the current run of equal values.
    counts: Vec<usize>,
    /// The groups with a value in the current run.
    touched: Vec<usize>,
    ties: f64,
    /// Values ranked before the current run.
    ranked: usize,
    /// The current run's value and length.
    run: (f64, usize),
}

impl PooledRanks {
    /// Nothing ranked yet, of `k` groups.
    pub fn new(k: usize) -> Self {
        PooledRanks {
            sizes: vec![0; k],
            rank_sums: vec![0.0; k],
            counts: vec![0; k],
            touched: Vec::with_capacity(k),
            ties: 0.0,
            ranked: 0,
            run: (0.0, 0),
        }
    }

    /// The next value in order, of group `g`.
    #[inline]
    pub fn push(&mut self, value: f64, g: usize) {
        // NaN equals nothing, not even itself: it is a run of one
        if self.run.1 > 0 && value == self.run.0 {
            self.run.1 += 1;
        } else {
            self.close_run();
            self.run = (value, 1);
        }
        if let (Some(c), Some(size)) = (self.counts.get_mut(g), self.sizes.get_mut(g)) {
            if *c == 0 {
                self.touched.push(g);
            }
            *c += 1;
            *size += 1;
        }
    }

    /// Ranks the current run of equal values: each of its values takes their mean rank.
    fn close_run(&mut self) {
        let t = self.run.1;
        if t == 0 {
            return;
        }
        let rank = (2 * self.ranked + t - 1) as f64 / 2.0 + 1.0;
        self.touched.sort_unstable();
        for &g in &self.touched {
            self.rank_sums[g] += self.counts[g] as f64 * rank;
            self.counts[g] = 0;
        }
        self.touched.clear();
        self.ranked += t;
        let t = t as f64;
        self.ties += t * t * t - t;
        self.run.1 = 0;
    }

    /// The test over the values given.
    pub fn finish(mut self) -> Result<KruskalWallis, Undefined> {
        if self.sizes.iter().filter(|&&s| s > 0).count() < 2 {
            return Err(Undefined::FewerThanTwoGroups);
        }
        self.close_run();
        let n = self.sizes.iter().sum::<usize>() as f64;
        let sums: Vec<(usize, f64)> = self
            .sizes
            .into_iter()
            .zip(self.rank_sums)
            .filter(|&(s, _)| s > 0)
            .collect();
        kruskal_wallis_of(&sums, n, self.ties)
    }
}

/// A sorted copy of `values` (by [`f64::total_cmp`]).
fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_unstable_by(f64::total_cmp);
    v
}

/// One-way ANOVA over the non-empty groups; undefined with fewer than two of them, no
/// within-group degrees of freedom, or no spread within the groups.
pub fn anova(groups: &[&[f64]]) -> Result<Anova, Undefined> {
    let groups: Vec<&[f64]> = groups.iter().copied().filter(|g| !g.is_empty()).collect();
    let n: usize = groups.iter().map(|g| g.len()).sum();
    let k = groups.len();
    if k < 2 {
        return Err(Undefined::FewerThanTwoGroups);
    }
    if n <= k {
        return Err(Undefined::GroupsTooSmall);
    }
    let grand = groups.iter().flat_map(|g| g.iter()).sum::<f64>() / n as f64;
    let (mut between, mut within) = (0.0, 0.0);
    for g in &groups {
        let mean = g.iter().sum::<f64>() / g.len() as f64;
        between += g.len() as f64 * (mean - grand).powi(2);
        within += g.iter().map(|v| (v - mean).powi(2)).sum::<f64>();
    }
    let (df_between, df_within) = ((k - 1) as f64, (n - k) as f64);
    if within.is_nan() || within <= 0.0 {
        return Err(if between > 0.0 {
            Undefined::NoWithinVariance
        } else {
            Undefined::NoVariance
        });
    }
    let f = (between / df_between) / (within / df_within);
    if !f.is_finite() {
        return Err(Undefined::NoWithinVariance);
    }
    let p = upper_tail(f, |f| {
        FisherSnedecor::new(df_between, df_within).map_or(f64::NAN, |d| d.sf(f))
    });
    Ok(Anova {
        f,
        df_between,
        df_within,
        p,
    })
}

/// Count, mean and quartiles of some values.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Describe {
    /// Values.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// First quartile.
    pub q1: f64,
    /// Median.
    pub median: f64,
    /// Third quartile.
    pub q3: f64,
}

/// The summary of `values` (quartiles by linear interpolation between order statistics, the
/// default of numpy and pandas).
pub fn describe(values: &[f64]) -> Describe {
    describe_sorted(&sorted(values))
}

/// [`describe`] of values sorted by [`f64::total_cmp`].
pub fn describe_sorted(v: &[f64]) -> Describe {
    if v.is_empty() {
        return Describe::default();
    }
    let q = |p: f64| crate::sampling::quantile(v, p);
    Describe {
        n: v.len(),
        mean: v.iter().sum::<f64>() / v.len() as f64,
        q1: q(0.25),
        median: q(0.5),
        q3: q(0.75),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    proptest::proptest! {
        /// The pooled ranking gives the merge's figures bit for bit: ties (values on a coarse
        /// grid), ±0, empty groups, one group. (Not NaN: each NaN is a run of its own, so with
        /// several the ranks they take depend on their order, which the two ways do not share.)
        #[test]
        fn pooled_ranking_equals_the_merge_of_sorted_groups(
            items in proptest::collection::vec((0usize..5, -20i32..20), 0..300),
            zero_sign in proptest::bool::ANY,
        ) {
            let value = |x: i32| if x == 0 && zero_sign { -0.0 } else { f64::from(x) / 4.0 };
            let mut pooled: Vec<(f64, usize)> = items.iter().map(|&(g, x)| (value(x), g)).collect();
            pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut groups = vec![Vec::new(); 5];
            for &(v, g) in &pooled {
                groups[g].push(v);
            }
            let refs: Vec<&[f64]> = groups.iter().map(Vec::as_slice).collect();
            let (a, b) = (kruskal_wallis_pooled(&pooled, 5), kruskal_wallis_sorted(&refs));
            match (a, b) {
                (Ok(a), Ok(b)) => {
                    proptest::prop_assert_eq!(a.h.to_bits(), b.h.to_bits());
                    proptest::prop_assert_eq!(a.p.to_bits(), b.p.to_bits());
                    proptest::prop_assert_eq!(a.df.to_bits(), b.df.to_bits());
                }
                (a, b) => proptest::prop_assert_eq!(a.err(), b.err()),
            }
        }
    }

    #[test]
    fn a_value_of_no_group_takes_its_rank_and_counts_nowhere() {
        // 2.0 belongs to no group of the two: it takes rank 2, so the groups' rank sums are
        // 1 + 4 = 5 and 3 + 5 = 8 over n = 4, no ties
        let pooled = [(1.0, 0), (2.0, 9), (3.0, 1), (4.0, 0), (5.0, 1)];
        let got = kruskal_wallis_pooled(&pooled, 2).unwrap_or_else(|e| panic!("{e:?}"));
        let want =
            kruskal_wallis_of(&[(2, 5.0), (2, 8.0)], 4.0, 0.0).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(got.h.to_bits(), want.h.to_bits());
        assert_eq!(got.p.to_bits(), want.p.to_bits());
    }

    #[test]
    fn kruskal_wallis_without_ties_by_hand() {
        // ranks = values; mean ranks 2, 5, 8 of N = 9:
        // H = 12/(9·10) · 3·(2² + 5² + 8²) − 3·10 = 0.1333… · 279 − 30 = 7.2; df 2;
        // p = P(χ²₂ ≥ 7.2) = e^(−7.2/2) = 0.027324; ε² = 7.2 / 8 = 0.9
        let kw = kruskal_wallis(&[&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], &[7.0, 8.0, 9.0]]);
        let kw = kw.unwrap_or_else(|e| panic!("{e:?}"));
        assert_relative_eq!(kw.h, 7.2, max_relative = 1e-12);
        assert_relative_eq!(kw.df, 2.0);
        assert_relative_eq!(kw.p, (-3.6f64).exp(), max_relative = 1e-9);
        assert_relative_eq!(kw.epsilon_sq, 0.9, max_relative = 1e-12);
    }

    #[test]
    fn kruskal_wallis_with_ties_by_hand() {
        // A = 1, 2, 2; B = 2, 3, 4. Sorted: 1 | 2 2 2 | 3 | 4 → ranks 1 | 3 3 3 | 5 | 6.
        // R_A = 1 + 3 + 3 = 7, R_B = 3 + 5 + 6 = 14; N = 6.
        // H₀ = 12/(6·7) · (49/3 + 196/3) − 3·7 = 0.285714 · 81.6667 − 21 = 2.333333
        // ties: one group of 3 → Σ(t³ − t) = 24; correction 1 − 24/(216 − 6) = 0.885714
        // H = 2.333333 / 0.885714 = 2.634409; df 1; p = P(χ²₁ ≥ H) = erfc(√(H/2)) = 0.1045710
        let kw = kruskal_wallis(&[&[1.0, 2.0, 2.0], &[2.0, 3.0, 4.0]]);
        let kw = kw.unwrap_or_else(|e| panic!("{e:?}"));
        assert_relative_eq!(
            kw.h,
            2.333_333_333_333 / (1.0 - 24.0 / 210.0),
            max_relative = 1e-9
        );
        assert_relative_eq!(kw.p, 0.104_571_0, max_relative = 1e-6);
        assert_eq!(
            kruskal_wallis(&[&[1.0, 1.0], &[1.0]]),
            Err(Undefined::NoVariance)
        );
    }

    #[test]
    fn merged_ranks_equal_ranks_of_the_pooled_sort() {
        // ranks from one sort of all values, as the textbook computes them
        fn pooled(groups: &[&[f64]]) -> f64 {
            let mut all: Vec<(f64, usize)> = groups
                .iter()
                .enumerate()
                .flat_map(|(g, v)| v.iter().map(move |&x| (x, g)))
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut sums = vec![0.0; groups.len()];
            let mut i = 0;
            while i < all.len() {
                let mut j = i;
                while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
                    j += 1;
                }
                for item in &all[i..=j] {
                    sums[item.1] += (i + j) as f64 / 2.0 + 1.0;
                }
                i = j + 1;
            }
            let n = all.len() as f64;
            let s: f64 = groups
                .iter()
                .zip(&sums)
                .map(|(g, r)| r * r / g.len() as f64)
                .sum();
            12.0 / (n * (n + 1.0)) * s - 3.0 * (n + 1.0)
        }
        // many ties, a negative zero beside a zero, uneven groups
        let a = [3.0, 1.0, 2.0, 2.0, 0.0, 7.0, 7.0, 7.0];
        let b = [2.0, -0.0, 9.0, 1.0];
        let c = [7.0, 5.0, 5.0, 1.0, 2.0, 10.0, 0.0];
        let groups: [&[f64]; 3] = [&a, &b, &c];
        let ties: f64 = [3.0, 3.0, 4.0, 1.0, 2.0, 4.0, 1.0, 1.0]
            .iter()
            .map(|t: &f64| t * t * t - t)
            .sum();
        let n = 19.0;
        let expected = pooled(&groups) / (1.0 - ties / (n * n * n - n));
        let kw = kruskal_wallis(&groups).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(kw.h, expected);
        // NaN is a run of its own, as in a pooled sort
        let with_nan: [&[f64]; 2] = [&[1.0, f64::NAN], &[f64::NAN, 2.0, 3.0]];
        assert!(kruskal_wallis(&with_nan).is_ok_and(|k| k.h.is_finite()));
    }

    #[test]
    fn anova_by_hand() {
        // means 2, 5, 8, grand mean 5: SSB = 3·(9 + 0 + 9) = 54, SSW = 3·2 = 6;
        // F = (54/2) / (6/6) = 27 with (2, 6) df; for F(2, d): P(F ≥ f) = (1 + 2f/d)^(−d/2)
        // = (1 + 9)^(−3) = 0.001
        let a = anova(&[&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], &[7.0, 8.0, 9.0]]);
        let a = a.unwrap_or_else(|e| panic!("{e:?}"));
        assert_relative_eq!(a.f, 27.0, max_relative = 1e-12);
        assert_relative_eq!((a.df_between, a.df_within).0, 2.0);
        assert_relative_eq!(a.df_within, 6.0);
        assert_relative_eq!(a.p, 0.001, max_relative = 1e-9);
    }

    #[test]
    fn tests_on_data_that_do_not_vary_are_undefined_not_a_panic() {
        // one order per customer on one day: every value the same
        let same: [&[f64]; 3] = [&[1.0], &[1.0], &[1.0]];
        assert_eq!(anova(&same), Err(Undefined::GroupsTooSmall));
        assert_eq!(kruskal_wallis(&same), Err(Undefined::NoVariance));
        let flat: [&[f64]; 2] = [&[1.0, 1.0], &[1.0, 1.0, 1.0]];
        assert_eq!(anova(&flat), Err(Undefined::NoVariance));
        assert_eq!(kruskal_wallis(&flat), Err(Undefined::NoVariance));
        // constant within groups, different between them: F would be infinite
        let split: [&[f64]; 2] = [&[1.0, 1.0], &[2.0, 2.0]];
        assert_eq!(anova(&split), Err(Undefined::NoWithinVariance));
        assert!(kruskal_wallis(&split).is_ok_and(|k| k.p.is_finite()));
        // one group only
        assert_eq!(anova(&[&[1.0, 2.0]]), Err(Undefined::FewerThanTwoGroups));
        assert_eq!(
            kruskal_wallis(&[&[1.0, 2.0], &[]]),
            Err(Undefined::FewerThanTwoGroups)
        );
        // NaN values never reach statrs
        let nan: [&[f64]; 2] = [&[f64::NAN, 1.0], &[2.0, 3.0]];
        assert!(anova(&nan).is_err());
    }

    #[test]
    fn quartiles_interpolate_like_numpy() {
        // numpy.percentile([1, 2, 3, 4, 10], [25, 50, 75]) = 2, 3, 4
        let d = describe(&[10.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!((d.n, d.q1, d.median, d.q3), (5, 2.0, 3.0, 4.0));
        assert_relative_eq!(d.mean, 4.0);
        // numpy.percentile([1, 2, 3, 4], 25) = 1.75
        assert_relative_eq!(describe(&[1.0, 2.0, 3.0, 4.0]).q1, 1.75);
    }
}
