//! Do the segments really differ? Per segment: size, share and the quartiles of each feature;
//! per feature: Kruskal–Wallis H across segments (with ε² as effect size) and one-way ANOVA F
//! as a second opinion; warnings for segments below a minimum share and for pairs of segments
//! that differ significantly on no feature.
//!
//! The pairwise check runs a two-group Kruskal–Wallis test for every pair of segments and every
//! feature at `alpha` divided by the number of tests (Bonferroni). On large data each segment
//! takes part in it with a seeded random sample of at most 5,000 customers, which keeps the
//! check fast and is said so in [`Validation::pairwise_sample`]. A segment of fewer than
//! [`MIN_COMPARE_SIZE`] customers takes no part in it: so few values cannot show a difference at
//! that level, and "do not differ" would be a verdict of the sample size, not of the segments.
//! Such segments are named in one [`ValidationWarning::TooSmallToCompare`] instead.
//!
//! A test the data leave undefined (fewer than two groups, values that do not vary, groups of
//! one) is an [`Undefined`] reason in its place, never a panic or a made-up number.
//!
//! Features that defined the segments (recency, frequency and monetary value for RFM classes,
//! the clustering features for clusters) differ across them by construction: the p-values are
//! then tiny whatever the quality, and ε² and the pairwise warnings say more.

mod stats;

pub use stats::{
    Anova, Describe, KruskalWallis, PooledRanks, Undefined, anova, describe, describe_sorted,
    kruskal_wallis, kruskal_wallis_pooled, kruskal_wallis_sorted,
};

/// The fewest customers a segment needs to take part in the pairwise "do they differ" check.
pub const MIN_COMPARE_SIZE: usize = 10;

use thiserror::Error;

/// What can go wrong validating a segmentation.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ValidateError {
    /// A setting out of range.
    #[error("{name} must be {expected}, got {value}")]
    Param {
        /// The setting.
        name: &'static str,
        /// Its value.
        value: f64,
        /// The allowed range.
        expected: &'static str,
    },
    /// A label that names no segment.
    #[error("customer {row} has segment {label}, but there are only {segments} segments")]
    Label {
        /// The customer's position.
        row: usize,
        /// Its label.
        label: usize,
        /// The number of segment names.
        segments: usize,
    },
    /// A [`FeatureOrder`] of other features.
    #[error("the value order holds {orders} features, and {features} features were given")]
    Order {
        /// The features the order holds.
        orders: usize,
        /// The features given.
        features: usize,
    },
    /// Labels and feature values of different lengths.
    #[error("feature `{feature}` has {values} values for {customers} customers")]
    Length {
        /// The feature.
        feature: String,
        /// Its values.
        values: usize,
        /// The customers.
        customers: usize,
    },
}

/// Validation settings, unchecked.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidateParams {
    min_share: f64,
    alpha: f64,
}

impl Default for ValidateParams {
    fn default() -> Self {
        ValidateParams::new()
    }
}

impl ValidateParams {
    /// The defaults: segments below 1% of customers are flagged; tests at the 5% level.
    pub fn new() -> Self {
        ValidateParams {
            min_share: 0.01,
            alpha: 0.05,
        }
    }
    /// The share under which a segment is flagged as small (default 0.01).
    pub fn min_share(mut self, min_share: f64) -> Self {
        self.min_share = min_share;
        self
    }
    /// The significance level (default 0.05).
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }
    /// Checks the settings.
    pub fn check(self) -> Result<CheckedValidateParams, ValidateError> {
        if !(0.0..1.0).contains(&self.min_share) {
            return Err(ValidateError::Param {
                name: "min_share",
                value: self.min_share,
                expected: "in [0, 1)",
            });
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(ValidateError::Param {
                name: "alpha",
                value: self.alpha,
                expected: "between 0 and 1",
            });
        }
        Ok(CheckedValidateParams(self))
    }
}

/// Checked validation settings: run with [`CheckedValidateParams::validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedValidateParams(ValidateParams);

/// One segment's figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SegmentStats {
    /// The segment's name.
    pub name: String,
    /// Customers in it.
    pub size: usize,
    /// Its share of all customers.
    pub share: f64,
    /// Each feature's summary, in feature order.
    pub features: Vec<Describe>,
}

/// The tests on one feature across all segments.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FeatureTest {
    /// The feature.
    pub feature: String,
    /// Kruskal–Wallis H across segments, or why the data leave it undefined.
    #[serde(serialize_with = "stats::serialize_outcome")]
    pub kruskal_wallis: Result<KruskalWallis, Undefined>,
    /// One-way ANOVA, or why the data leave it undefined.
    #[serde(serialize_with = "stats::serialize_outcome")]
    pub anova: Result<Anova, Undefined>,
}

/// Something the analyst should look at.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ValidationWarning {
    /// A segment below the minimum share.
    SmallSegment {
        /// The segment.
        segment: String,
        /// Its share.
        share: f64,
    },
    /// Two segments that differ significantly on no feature.
    NotDifferent {
        /// One segment.
        a: String,
        /// The other.
        b: String,
    },
    /// Segments too small for the pairwise check, left out of it.
    TooSmallToCompare {
        /// The segments.
        segments: Vec<String>,
        /// The fewest customers a segment needs ([`MIN_COMPARE_SIZE`]).
        min: usize,
    },
}

impl ValidationWarning {
    /// The warning in English or Chinese.
    pub fn text(&self, lang: crate::Lang) -> String {
        self.text_with(lang, &|code| code.to_string())
    }

    /// The warning in English or Chinese, segments named by `name` (e.g. their labels).
    pub fn text_with(&self, lang: crate::Lang, name: &dyn Fn(&str) -> String) -> String {
        match (self, lang) {
            (ValidationWarning::SmallSegment { segment, share }, crate::Lang::En) => format!(
                "segment \"{}\" holds only {:.2}% of customers",
                name(segment),
                share * 100.0
            ),
            (ValidationWarning::SmallSegment { segment, share }, crate::Lang::Zh) => {
                format!("分群“{}”仅占客户的 {:.2}%", name(segment), share * 100.0)
            }
            (ValidationWarning::NotDifferent { a, b }, crate::Lang::En) => format!(
                "segments \"{}\" and \"{}\" do not differ significantly on any feature",
                name(a),
                name(b)
            ),
            (ValidationWarning::NotDifferent { a, b }, crate::Lang::Zh) => {
                format!("分群“{}”与“{}”在任何指标上都没有显著差异", name(a), name(b))
            }
            (ValidationWarning::TooSmallToCompare { segments, min }, crate::Lang::En) => {
                let names = segments
                    .iter()
                    .map(|s| format!("\"{}\"", name(s)))
                    .collect::<Vec<_>>()
                    .join(", ");
                if segments.len() == 1 {
                    format!(
                        "segment {names} holds fewer than {min} customers: too few to tell whether it differs from others"
                    )
                } else {
                    format!(
                        "segments {names} hold fewer than {min} customers each: too few to tell whether they differ from others"
                    )
                }
            }
            (ValidationWarning::TooSmallToCompare { segments, min }, crate::Lang::Zh) => format!(
                "分群{}的客户均少于 {min} 个，无法判断是否与其他分群有差异",
                segments
                    .iter()
                    .map(|s| format!("“{}”", name(s)))
                    .collect::<Vec<_>>()
                    .join("、")
            ),
        }
    }
}

/// A segmentation's validation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Validation {
    /// The feature names.
    pub features: Vec<String>,
    /// Per segment, in segment order (empty segments left out).
    pub segments: Vec<SegmentStats>,
    /// Per feature.
    pub tests: Vec<FeatureTest>,
    /// What to look at.
    pub warnings: Vec<ValidationWarning>,
    /// The most customers per segment in the pairwise tests (segments larger than this were
    /// sampled).
    pub pairwise_sample: usize,
}

/// Refills each feature's segments (`values[f][s]`) with their values in value order, from each
/// feature's customers in value order (`orders`) and each customer's segment (`segment_of`,
/// past `k` for none), and ranks each feature's values as they come.
fn in_value_order<S: Copy + Into<u64> + Sync>(
    segment_of: &[S],
    values: &mut [Vec<Vec<f64>>],
    orders: &[Vec<(f64, u32)>],
    k: usize,
) -> Vec<Result<KruskalWallis, Undefined>> {
    use rayon::prelude::*;
    // the features in parallel (each a pass over every customer)
    values
        .par_iter_mut()
        .zip(orders)
        .map(|(by, order)| {
            let mut ranks = PooledRanks::new(k);
            for seg in by.iter_mut() {
                seg.clear();
            }
            for &(v, i) in order {
                let seg = segment_of.get(i as usize).map_or(u64::MAX, |&s| s.into());
                let seg = usize::try_from(seg).unwrap_or(usize::MAX);
                if let Some(list) = by.get_mut(seg) {
                    list.push(v);
                    ranks.push(v, seg);
                }
            }
            ranks.finish()
        })
        .collect()
}

/// Per segment, the most customers used in the pairwise tests.
const PAIRWISE_SAMPLE: usize = 5_000;

/// Per feature, the customers that have a value, in the order of their values (by
/// [`f64::total_cmp`]): sorted once, shared by every segmentation validated on the features.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureOrder(Vec<Vec<(f64, u32)>>);

impl FeatureOrder {
    /// Sorts each feature's values (the features in parallel).
    pub fn new(features: &[(String, Vec<Option<f64>>)]) -> Self {
        use rayon::prelude::*;
        FeatureOrder(
            features
                .par_iter()
                .map(|(_, column)| sorted(column))
                .collect(),
        )
    }

    /// Every feature's order but feature `feature`'s, which
    /// [`PendingOrder::with_ranking`] reads from a ranking (the features in parallel).
    pub(crate) fn all_but(features: &[(String, Vec<Option<f64>>)], feature: usize) -> PendingOrder {
        use rayon::prelude::*;
        PendingOrder {
            orders: features
                .par_iter()
                .enumerate()
                .map(|(f, (_, column))| {
                    if f == feature {
                        Vec::new()
                    } else {
                        sorted(column)
                    }
                })
                .collect(),
            feature,
        }
    }
}

/// A [`FeatureOrder`] but one feature's, whose order a ranking gives: the other features sorted
/// beside the work that makes the ranking.
#[derive(Debug, Clone)]
pub(crate) struct PendingOrder {
    /// Each feature's order; feature `feature`'s empty.
    orders: Vec<Vec<(f64, u32)>>,
    /// The feature whose order is to come.
    feature: usize,
}

impl PendingOrder {
    /// The whole order, feature `feature`'s taken from `ranking` instead of a sort: the
    /// customers largest value first, equal values in customer order (as
    /// [`Abc::ranking`](crate::abc::Abc::ranking) holds them for the monetary value it is
    /// computed from). Read backwards, each run of equal values turned back into customer
    /// order; where [`from_ranking`] finds `ranking` is not such an order, the feature is
    /// sorted. At a million customers the sort took 35–40 ms on both cores. `features` must
    /// be those the order was begun with.
    pub(crate) fn with_ranking(
        self,
        features: &[(String, Vec<Option<f64>>)],
        ranking: &[u32],
    ) -> FeatureOrder {
        let PendingOrder {
            mut orders,
            feature,
        } = self;
        if let (Some(order), Some((_, column))) = (orders.get_mut(feature), features.get(feature)) {
            *order = from_ranking(column, ranking).unwrap_or_else(|| sorted(column));
        }
        let order = FeatureOrder(orders);
        debug_assert_eq!(
            order.0.iter().map(|o| bits(o)).collect::<Vec<_>>(),
            FeatureOrder::new(features)
                .0
                .iter()
                .map(|o| bits(o))
                .collect::<Vec<_>>()
        );
        order
    }
}

/// The bits of each value, beside its customer (a NaN is equal to itself, -0.0 not to 0.0).
fn bits(order: &[(f64, u32)]) -> Vec<(u64, u32)> {
    order.iter().map(|&(v, i)| (v.to_bits(), i)).collect()
}

/// The customers of `column` that have a value, in the order of their values, equal values in
/// customer order.
fn sorted(column: &[Option<f64>]) -> Vec<(f64, u32)> {
    use rayon::prelude::*;
    let mut pairs: Vec<(f64, u32)> = column
        .iter()
        .enumerate()
        .filter_map(|(i, v)| Some(((*v)?, u32::try_from(i).ok()?)))
        .collect();
    // whole numbers in a short range (days, counts) by counting; others by a sort, in
    // parallel too: three features on two cores left one sorting alone. Equal values in
    // customer order, so that the order is the same whatever the sort (equal numbers are
    // ranked as one run, but a NaN is a run of its own)
    counted(&pairs).unwrap_or_else(|| {
        pairs.par_sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        pairs
    })
}

/// [`sorted`]'s order of `column` from `ranking`, the customers once each, largest value
/// first, equal values in customer order (those without a value are passed over); `None` where
/// `ranking` holds an index out of range, not every customer with a value or values out of
/// order. (A customer twice in place of another goes unnoticed: the one caller's ranking is
/// the permutation a sort made, and a debug build compares the result with the sort's.)
fn from_ranking(column: &[Option<f64>], ranking: &[u32]) -> Option<Vec<(f64, u32)>> {
    use rayon::prelude::*;
    if ranking.par_iter().any(|&i| i as usize >= column.len()) {
        return None;
    }
    let valued = column.par_iter().filter(|v| v.is_some()).count();
    let mut pairs: Vec<(f64, u32)> = ranking
        .par_iter()
        .rev()
        .filter_map(|&i| Some((column[i as usize]?, i)))
        .collect();
    if pairs.len() != valued {
        return None;
    }
    // read backwards, values rise; equal ones (as the sort compares them, by their bits)
    // come last customer first, or mixed where distinct amounts met in one float
    let mut start = 0;
    for end in 1..=pairs.len() {
        if end < pairs.len() && pairs[end].0.to_bits() == pairs[start].0.to_bits() {
            continue;
        }
        if end < pairs.len() && pairs[end].0.total_cmp(&pairs[start].0).is_lt() {
            return None;
        }
        let run = &mut pairs[start..end];
        if run.len() > 1 {
            if run.windows(2).all(|w| w[0].1 > w[1].1) {
                run.reverse();
            } else {
                run.sort_unstable_by_key(|&(_, i)| i);
            }
        }
        start = end;
    }
    Some(pairs)
}

/// The widest range of whole values [`counted`] sorts by counting: a count per value.
const COUNTED_RANGE: u64 = 1 << 16;

/// `pairs` in value order by a counting sort, when every value is a whole number (not −0.0,
/// which [`f64::total_cmp`] puts before 0) within [`COUNTED_RANGE`] and a range not much wider
/// than their number; `None` otherwise. `pairs` must be in customer order (as
/// [`FeatureOrder::new`] makes them): the count is stable, so equal values stay in customer
/// order as the sort puts them. Recency and frequency are such values: at a million customers
/// each took 40–60 ms to sort, and a count takes a few.
fn counted(pairs: &[(f64, u32)]) -> Option<Vec<(f64, u32)>> {
    debug_assert!(pairs.windows(2).all(|w| w[0].1 < w[1].1));
    if pairs.is_empty() {
        return Some(Vec::new());
    }
    // the cast saturates: 2^63 is taken as i64::MAX (whose float is 2^63), still one key per
    // value and in their order; beyond, the cast changes the value and it is not counted
    let whole = |v: f64| {
        let i = v as i64;
        ((i as f64).to_bits() == v.to_bits()).then_some(i)
    };
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for &(v, _) in pairs {
        let i = whole(v)?;
        lo = lo.min(i);
        hi = hi.max(i);
    }
    let span = hi.abs_diff(lo);
    // a count per value of the range: for a few values far apart a sort is cheaper
    if span >= COUNTED_RANGE || span > (pairs.len() as u64).saturating_mul(4).max(1024) {
        return None;
    }
    let bucket = |v: f64| (v as i64).abs_diff(lo) as usize;
    // the number of each value, then summed into where value `lo + b` goes first
    let mut starts = vec![0usize; span as usize + 2];
    for &(v, _) in pairs {
        starts[bucket(v) + 1] += 1;
    }
    for b in 1..starts.len() {
        starts[b] += starts[b - 1];
    }
    let mut sorted = vec![(0.0, 0); pairs.len()];
    for &pair in pairs {
        let at = &mut starts[bucket(pair.0)];
        sorted[*at] = pair;
        *at += 1;
    }
    Some(sorted)
}

impl CheckedValidateParams {
    /// Validates a segmentation: `labels[i]` is customer `i`'s segment (an index into
    /// `names`, or `None` for a customer in no segment, left out), `features` are
    /// `(name, value per customer)`; a missing value leaves the customer out of that feature's
    /// figures. Shares are of the customers with a segment.
    pub fn validate<L: Copy + Into<Option<usize>> + Sync>(
        &self,
        labels: &[L],
        names: &[String],
        features: &[(String, Vec<Option<f64>>)],
    ) -> Result<Validation, ValidateError> {
        self.validate_ordered(labels, names, features, &FeatureOrder::new(features))
    }

    /// [`validate`](Self::validate) with each feature's customers already in value order
    /// (several segmentations of the same customers share one sort per feature).
    pub fn validate_ordered<L: Copy + Into<Option<usize>> + Sync>(
        &self,
        labels: &[L],
        names: &[String],
        features: &[(String, Vec<Option<f64>>)],
        order: &FeatureOrder,
    ) -> Result<Validation, ValidateError> {
        if order.0.len() != features.len() {
            return Err(ValidateError::Order {
                orders: order.0.len(),
                features: features.len(),
            });
        }
        for (name, values) in features {
            if values.len() != labels.len() {
                return Err(ValidateError::Length {
                    feature: name.clone(),
                    values: values.len(),
                    customers: labels.len(),
                });
            }
        }
        let labels = || labels.iter().map(|&l| l.into());
        let n = labels().flatten().count();
        let k = names.len();
        if let Some((row, label)) = labels()
            .enumerate()
            .find_map(|(row, l)| l.filter(|&l| l >= k).map(|l| (row, l)))
        {
            return Err(ValidateError::Label {
                row,
                label,
                segments: k,
            });
        }
        let mut sizes = vec![0usize; k];
        for l in labels().flatten() {
            if let Some(s) = sizes.get_mut(l) {
                *s += 1;
            }
        }
        // per feature (the features in parallel): values[f][s], feature f's values in segment
        // s in customer order; the sums of ANOVA from them; and, for the pairwise tests, a
        // seeded random sample of each segment's values, sorted. Each segment's values are
        // then put in value order once, for the quartiles and every rank test.
        use rayon::prelude::*;
        type PerFeature = (Vec<Vec<f64>>, (Result<Anova, Undefined>, Vec<Vec<f64>>));
        let (mut values, (anovas, sampled)): (Vec<_>, (Vec<_>, Vec<_>)) = features
            .par_iter()
            .map(|(_, column)| -> PerFeature {
                let mut by: Vec<Vec<f64>> = sizes.iter().map(|&n| Vec::with_capacity(n)).collect();
                for (l, v) in labels().zip(column) {
                    if let (Some(v), Some(seg)) = (v, l.and_then(|l| by.get_mut(l))) {
                        seg.push(*v);
                    }
                }
                let sums = anova(&by.iter().map(Vec::as_slice).collect::<Vec<_>>());
                let sampled = by
                    .iter()
                    .map(|v| {
                        let mut sample: Vec<f64> =
                            crate::sampling::sample_indices(v.len(), PAIRWISE_SAMPLE, 42)
                                .into_iter()
                                .map(|i| v[i])
                                .collect();
                        sample.sort_unstable_by(f64::total_cmp);
                        sample
                    })
                    .collect();
                (by, (sums, sampled))
            })
            .unzip();
        // each segment's values in order, from the shared order of each feature (customers
        // in no segment left out), and each feature's customers ranked as they come; the
        // segments as one byte each where they fit (a million customers' in 1 MB, not 4: the
        // look-ups in value order jump across all of them)
        let ranked: Vec<Result<KruskalWallis, Undefined>> = if k < usize::from(u8::MAX) {
            let segment_of: Vec<u8> = labels()
                .map(|l| l.and_then(|l| u8::try_from(l).ok()).unwrap_or(u8::MAX))
                .collect();
            in_value_order(&segment_of, &mut values, &order.0, k)
        } else {
            let segment_of: Vec<u32> = labels()
                .map(|l| l.and_then(|l| u32::try_from(l).ok()).unwrap_or(u32::MAX))
                .collect();
            in_value_order(&segment_of, &mut values, &order.0, k)
        };
        let present: Vec<usize> = (0..k).filter(|&s| sizes[s] > 0).collect();
        let segments = present
            .iter()
            .map(|&s| SegmentStats {
                name: names[s].clone(),
                size: sizes[s],
                share: sizes[s] as f64 / n.max(1) as f64,
                features: values.iter().map(|f| describe_sorted(&f[s])).collect(),
            })
            .collect();
        let tests = features
            .iter()
            .zip(ranked)
            .zip(anovas)
            .map(|(((name, _), kruskal_wallis), anova)| FeatureTest {
                feature: name.clone(),
                kruskal_wallis,
                anova,
            })
            .collect();
        let mut warnings: Vec<ValidationWarning> = present
            .iter()
            .filter(|&&s| (sizes[s] as f64 / n.max(1) as f64) < self.0.min_share)
            .map(|&s| ValidationWarning::SmallSegment {
                segment: names[s].clone(),
                share: sizes[s] as f64 / n.max(1) as f64,
            })
            .collect();
        let (compared, too_small): (Vec<usize>, Vec<usize>) =
            present.iter().partition(|&&s| sizes[s] >= MIN_COMPARE_SIZE);
        if present.len() >= 2 && !too_small.is_empty() {
            warnings.push(ValidationWarning::TooSmallToCompare {
                segments: too_small.iter().map(|&s| names[s].clone()).collect(),
                min: MIN_COMPARE_SIZE,
            });
        }
        let pairs = compared.len() * compared.len().saturating_sub(1) / 2;
        let level = self.0.alpha / (pairs * features.len()).max(1) as f64;
        for (i, &a) in compared.iter().enumerate() {
            for &b in &compared[i + 1..] {
                let differs = sampled
                    .iter()
                    .any(|by| kruskal_wallis_sorted(&[&by[a], &by[b]]).is_ok_and(|t| t.p < level));
                if !differs {
                    warnings.push(ValidationWarning::NotDifferent {
                        a: names[a].clone(),
                        b: names[b].clone(),
                    });
                }
            }
        }
        Ok(Validation {
            features: features.iter().map(|f| f.0.clone()).collect(),
            segments,
            tests,
            warnings,
            pairwise_sample: PAIRWISE_SAMPLE,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compared(pairs: &[(f64, u32)]) -> Vec<(f64, u32)> {
        let mut sorted = pairs.to_vec();
        sorted.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        sorted
    }

    proptest::proptest! {
        /// The order read from ABC's ranking of amounts is the sort's of their floats, for
        /// amounts whose floats meet (wide ones) or not, with customers without a value.
        #[test]
        fn an_order_from_a_ranking_is_the_sorts(
            values in proptest::collection::vec(proptest::option::weighted(0.9, -40i64..40), 0..300),
            wide in proptest::bool::ANY,
        ) {
            use crate::Money;
            // wide amounts 50 units apart, about five to a float (floats are 256 units apart
            // there): several floats, each shared by several amounts
            let amount = |v: i64| {
                Money::from_units_i128(if wide {
                    (1i128 << 60) + 50 * i128::from(v)
                } else {
                    i128::from(v)
                })
            };
            let column: Vec<Option<f64>> =
                values.iter().map(|v| v.map(|v| amount(v).to_f64())).collect();
            // customers without a value ranked as zero, to be passed over
            let amounts: Vec<Money> =
                values.iter().map(|v| v.map_or(Money::ZERO, amount)).collect();
            let params = crate::abc::AbcParams::new()
                .check()
                .map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            let ranking = params.fit(&amounts).ranking().to_vec();
            let from = from_ranking(&column, &ranking);
            proptest::prop_assert_eq!(from.as_deref().map(bits), Some(bits(&sorted(&column))));
            let features = [("x".into(), column.clone())];
            let order = FeatureOrder::all_but(&features, 0).with_ranking(&features, &ranking);
            proptest::prop_assert_eq!(bits(&order.0[0]), bits(&sorted(&column)));
        }
    }

    #[test]
    fn a_ranking_that_is_not_one_is_sorted_instead() {
        let column = vec![Some(1.0), None, Some(3.0), Some(2.0)];
        let right = [2, 3, 0];
        assert_eq!(
            from_ranking(&column, &right).as_deref().map(bits),
            Some(bits(&[(1.0, 0), (2.0, 3), (3.0, 2)]))
        );
        // a customer without a value is passed over
        assert_eq!(
            from_ranking(&column, &[2, 3, 1, 0]).as_deref().map(bits),
            Some(bits(&[(1.0, 0), (2.0, 3), (3.0, 2)]))
        );
        // out of order, a customer short, an index out of range
        for wrong in [&[3, 2, 0][..], &[2, 3], &[2, 3, 0, 9]] {
            assert_eq!(from_ranking(&column, wrong), None, "{wrong:?}");
            let features = [("x".into(), column.clone())];
            let order = FeatureOrder::all_but(&features, 0).with_ranking(&features, wrong);
            assert_eq!(bits(&order.0[0]), bits(&sorted(&column)), "{wrong:?}");
        }
    }

    proptest::proptest! {
        /// Counting puts whole values where the sort does, ties in customer order.
        #[test]
        fn counting_orders_whole_values_as_the_sort_does(
            values in proptest::collection::vec(-300i64..300, 0..400),
            offset in proptest::prop_oneof![proptest::strategy::Just(0i64), -(1i64 << 52)..(1i64 << 52)],
        ) {
            let pairs: Vec<(f64, u32)> = values
                .iter()
                .enumerate()
                .map(|(i, &v)| ((v + offset) as f64, i as u32))
                .collect();
            let counted = counted(&pairs);
            proptest::prop_assert!(counted.is_some());
            proptest::prop_assert_eq!(bits(&counted.unwrap_or_default()), bits(&compared(&pairs)));
        }
    }

    #[test]
    fn whole_values_at_the_ends_of_i64_are_counted_in_order() {
        let top = 2f64.powi(63);
        let bottom = -top;
        for values in [
            vec![top, top - 1024.0, top, top - 1024.0],
            vec![bottom + 1024.0, bottom, bottom + 1024.0],
            vec![7.0],
        ] {
            let pairs: Vec<(f64, u32)> = values
                .iter()
                .enumerate()
                .map(|(i, &v)| (v, i as u32))
                .collect();
            let counted = counted(&pairs);
            assert!(counted.is_some(), "{values:?}");
            assert_eq!(
                bits(&counted.unwrap_or_default()),
                bits(&compared(&pairs)),
                "{values:?}"
            );
        }
        assert_eq!(counted(&[(bottom, 0), (top, 1)]), None);
    }

    #[test]
    fn values_counting_cannot_order_as_the_sort_does_are_sorted() {
        // −0.0 sorts before 0.0; a fraction, a NaN of either sign, an infinity or a wide range
        // are not counted
        for odd in [
            -0.0,
            0.5,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e9,
        ] {
            let pairs = [(0.0, 0), (odd, 1), (1.0, 2), (0.0, 3)];
            assert_eq!(counted(&pairs), None, "{odd}");
            let order =
                FeatureOrder::new(&[("x".into(), pairs.iter().map(|&(v, _)| Some(v)).collect())]);
            assert_eq!(bits(&order.0[0]), bits(&compared(&pairs)), "{odd}");
        }
        assert_eq!(counted(&[]), Some(Vec::new()));
        // the widest range counted (values enough for it), and one wider; a few values far
        // apart are sorted
        let spread = |last: u64| -> Vec<(f64, u32)> {
            (0..COUNTED_RANGE / 4)
                .map(|i| ((i * 4) as f64, i as u32))
                .chain([(last as f64, (COUNTED_RANGE / 4) as u32)])
                .collect()
        };
        assert!(counted(&spread(COUNTED_RANGE - 1)).is_some());
        assert!(counted(&spread(COUNTED_RANGE)).is_none());
        assert!(counted(&[(0.0, 0), (1024.0, 1)]).is_some());
        assert!(counted(&[(0.0, 0), (1025.0, 1)]).is_none());
    }

    #[test]
    fn distinct_segments_pass_and_twins_and_tiny_ones_are_flagged() {
        // segments 0 and 1 draw from the same values; 2 is far away; 3 holds one customer
        let mut labels = Vec::new();
        let mut x = Vec::new();
        for i in 0..300u32 {
            let v = f64::from(i % 50);
            labels.push((i % 3) as usize);
            x.push(Some(if i % 3 == 2 { v + 1000.0 } else { v }));
        }
        labels.push(3);
        x.push(Some(5.0));
        let names: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let v = ValidateParams::new()
            .check()
            .and_then(|p| p.validate(&labels, &names, &[("x".into(), x)]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v.segments.len(), 4);
        assert!(v.tests[0].kruskal_wallis.is_ok_and(|t| t.p < 1e-10));
        let texts: Vec<String> = v.warnings.iter().map(|w| w.text(crate::Lang::En)).collect();
        assert_eq!(
            texts,
            [
                "segment \"d\" holds only 0.33% of customers",
                // one customer cannot be shown to differ from anyone: no verdict on it
                "segment \"d\" holds fewer than 10 customers: too few to tell whether it differs from others",
                "segments \"a\" and \"b\" do not differ significantly on any feature",
            ]
        );
    }

    #[test]
    fn the_rank_test_equals_the_one_on_the_groups_with_few_and_with_many_segments() {
        // segments kept in one byte each (3, 254: the most that leave a byte for "none") and
        // in four (255 on, past a byte's reach); ties, and customers in no segment
        for k in [3usize, 254, 255, 256, 300] {
            let names: Vec<String> = (0..k).map(|s| s.to_string()).collect();
            let mut labels = Vec::new();
            let mut x = Vec::new();
            let mut groups = vec![Vec::new(); k];
            for i in 0..3_000usize {
                let v = ((i * 7919) % 101) as f64 + (i % k) as f64 / 10.0;
                let label = (i % 11 != 0).then_some((i * 31) % k);
                if let Some(s) = label {
                    groups[s].push(v);
                }
                labels.push(label);
                x.push(Some(v));
            }
            let v = ValidateParams::new()
                .check()
                .and_then(|p| p.validate(&labels, &names, &[("x".into(), x)]))
                .unwrap_or_else(|e| panic!("{e}"));
            let refs: Vec<&[f64]> = groups.iter().map(Vec::as_slice).collect();
            let by_groups = kruskal_wallis(&refs).unwrap_or_else(|e| panic!("{e:?}"));
            let got = v.tests[0]
                .kruskal_wallis
                .unwrap_or_else(|e| panic!("{e:?}"));
            assert_eq!(got.h.to_bits(), by_groups.h.to_bits(), "{k} segments");
            assert_eq!(got.p.to_bits(), by_groups.p.to_bits(), "{k} segments");
            assert_eq!(got.df, by_groups.df);
            // each segment's quartiles from its values in order
            let mut first = groups[0].clone();
            first.sort_by(f64::total_cmp);
            assert_eq!(v.segments[0].features[0], describe_sorted(&first));
        }
    }

    #[test]
    fn customers_without_a_segment_are_left_out() {
        let names: Vec<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        let labels = [Some(0), None, Some(1), Some(1), None];
        let x: Vec<Option<f64>> = [1.0, 99.0, 3.0, 5.0, 99.0].map(Some).to_vec();
        let v = ValidateParams::new()
            .check()
            .and_then(|p| p.validate(&labels, &names, &[("x".into(), x)]))
            .unwrap_or_else(|e| panic!("{e}"));
        let sizes: Vec<(usize, f64)> = v.segments.iter().map(|s| (s.size, s.share)).collect();
        assert_eq!(sizes, [(1, 1.0 / 3.0), (2, 2.0 / 3.0)]);
        // the 99s of the unlabelled customers are in no segment's figures
        assert_eq!(v.segments[1].features[0].mean, 4.0);
    }
}
