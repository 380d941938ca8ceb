//! Fitting RFM scores, classes and segments to customer features.

use super::{CheckedRfmParams, ClassBasis, RfmClass, ScoreMethod, Segment};
use crate::features::CustomerFeatures;

/// One customer's RFM result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerRfm {
    /// Recency score, 1..=bins (high = recent).
    pub r: u8,
    /// Frequency score, 1..=bins.
    pub f: u8,
    /// Monetary score, 1..=bins.
    pub m: u8,
    /// The classic class.
    pub class: RfmClass,
    /// The named segment.
    pub segment: Segment,
}

impl CustomerRfm {
    /// The three scores as a code such as `"545"`.
    pub fn score_code(&self) -> String {
        self.score_text().into_owned()
    }

    /// [`score_code`](Self::score_code) without an allocation for scores of one digit (every
    /// score: bins are 3 to 5).
    pub fn score_text(&self) -> std::borrow::Cow<'static, str> {
        /// "000" to "999".
        static CODES: [[u8; 3]; 1000] = {
            let mut codes = [[0u8; 3]; 1000];
            let mut i = 0;
            while i < 1000 {
                codes[i] = [
                    b'0' + (i / 100) as u8,
                    b'0' + (i / 10 % 10) as u8,
                    b'0' + (i % 10) as u8,
                ];
                i += 1;
            }
            codes
        };
        let (r, f, m) = (
            usize::from(self.r),
            usize::from(self.f),
            usize::from(self.m),
        );
        if r < 10
            && f < 10
            && m < 10
            && let Ok(text) = std::str::from_utf8(&CODES[r * 100 + f * 10 + m])
        {
            return std::borrow::Cow::Borrowed(text);
        }
        std::borrow::Cow::Owned(format!("{r}{f}{m}"))
    }
}

/// The fewest customers quantile scores are meaningful for: below it each score level holds a
/// customer or two, and a customer's score says more about its neighbours than about itself.
pub const MIN_QUANTILE_CUSTOMERS: usize = 20;

/// Something about a set of RFM scores the analyst should know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RfmWarning {
    /// Quantile scores over fewer than [`MIN_QUANTILE_CUSTOMERS`] customers.
    TooFewForQuantiles {
        /// The customers scored.
        customers: usize,
        /// [`MIN_QUANTILE_CUSTOMERS`].
        min: usize,
    },
}

impl RfmWarning {
    /// The warning in English or Chinese.
    pub fn text(&self, lang: crate::Lang) -> String {
        match (self, lang) {
            (RfmWarning::TooFewForQuantiles { customers, min }, crate::Lang::En) => format!(
                "RFM quantile scores over only {customers} customer{} (fewer than {min}): the scores and classes say little",
                if *customers == 1 { "" } else { "s" }
            ),
            (RfmWarning::TooFewForQuantiles { customers, min }, crate::Lang::Zh) => format!(
                "只有 {customers} 位客户（少于 {min} 位）参与 RFM 分位数评分：评分与分类参考价值有限"
            ),
        }
    }
}

/// RFM results for a set of customers, in the order of the features given to
/// [`CheckedRfmParams::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct Rfm {
    bins: u8,
    quantiles: bool,
    class_basis: ClassBasis,
    mean_scores: [f64; 3],
    mean_values: [f64; 3],
    customers: Vec<CustomerRfm>,
}

impl Rfm {
    /// The number of score levels.
    pub fn bins(&self) -> u8 {
        self.bins
    }

    /// What the classes were compared with.
    pub fn class_basis(&self) -> ClassBasis {
        self.class_basis
    }

    /// Mean R, F and M scores.
    pub fn mean_scores(&self) -> [f64; 3] {
        self.mean_scores
    }

    /// Mean recency (days), frequency and monetary value (currency units).
    pub fn mean_values(&self) -> [f64; 3] {
        self.mean_values
    }

    /// Per-customer results, in input order.
    pub fn customers(&self) -> &[CustomerRfm] {
        &self.customers
    }

    /// What the analyst should know about these scores.
    pub fn warnings(&self) -> Vec<RfmWarning> {
        let n = self.customers.len();
        let mut out = Vec::new();
        if self.quantiles && n < MIN_QUANTILE_CUSTOMERS {
            out.push(RfmWarning::TooFewForQuantiles {
                customers: n,
                min: MIN_QUANTILE_CUSTOMERS,
            });
        }
        out
    }
}

/// Each customer's recency, frequency and monetary value, read from the features once (at a
/// million customers a pass over the features reads 160 MB): RFM's scores and means read
/// these columns, and the tiering's ABC and revenue the amounts.
pub(crate) struct RfmColumns {
    pub recency: Vec<i64>,
    pub frequency: Vec<u64>,
    pub monetary: Vec<crate::Money>,
}

impl RfmColumns {
    /// The columns of `customers`, in their order.
    pub fn of(customers: &[CustomerFeatures]) -> Self {
        use rayon::prelude::*;
        let (recency, (frequency, monetary)) = customers
            .par_iter()
            .map(|c| (c.recency_days, (c.frequency, c.monetary)))
            .unzip();
        RfmColumns {
            recency,
            frequency,
            monetary,
        }
    }
}

impl CheckedRfmParams {
    /// Scores, classes and segments for `customers`.
    pub fn fit(&self, customers: &[CustomerFeatures]) -> Rfm {
        self.fit_columns(&RfmColumns::of(customers))
    }

    /// [`CheckedRfmParams::fit`] on the customers' columns.
    pub(crate) fn fit_columns(&self, columns: &RfmColumns) -> Rfm {
        let bins = self.bins();
        use rayon::prelude::*;
        let RfmColumns {
            recency,
            frequency,
            monetary,
        } = columns;
        // "Goodness" keys: larger is better in every dimension.
        let (r, f, m) = match self.method() {
            ScoreMethod::Quantile => {
                let newer: Vec<std::cmp::Reverse<i64>> =
                    recency.par_iter().map(|&d| std::cmp::Reverse(d)).collect();
                // the three dimensions at once
                let ((r, f), m) = rayon::join(
                    || {
                        rayon::join(
                            || quantile_scores(&newer, bins),
                            || quantile_scores(frequency, bins),
                        )
                    },
                    || quantile_scores(monetary, bins),
                );
                (r, f, m)
            }
            ScoreMethod::Thresholds {
                recency: recency_cuts,
                frequency: frequency_cuts,
                monetary: monetary_cuts,
            } => (
                recency
                    .iter()
                    .map(|&days| {
                        let above = recency_cuts.iter().filter(|&&t| (days as f64) > t);
                        bins - above.count() as u8
                    })
                    .collect(),
                threshold_scores(frequency.iter().map(|&v| v as f64), frequency_cuts),
                threshold_scores(monetary.iter().map(|m| m.to_f64()), monetary_cuts),
            ),
        };
        // every pass over the customers in parallel: at a million customers one thread's
        // passes were a tenth of the scoring
        let n = recency.len().max(1) as f64;
        let mean = |s: &[u8]| s.par_iter().map(|&v| u64::from(v)).sum::<u64>() as f64 / n;
        let mean_scores = [mean(&r), mean(&f), mean(&m)];
        // Summed exactly (in any order), divided once.
        let sums = (
            recency.par_iter().map(|&d| i128::from(d)).sum::<i128>(),
            frequency.par_iter().map(|&v| i128::from(v)).sum::<i128>(),
            monetary.par_iter().map(|m| m.units()).sum::<i128>(),
        );
        let mean_values = [
            sums.0 as f64 / n,
            sums.1 as f64 / n,
            sums.2 as f64 / crate::Money::SCALE as f64 / n,
        ];
        // each (R, F, M)'s segment looked up once, not found by rule for each customer
        let side = usize::from(bins) + 1;
        let segments: Vec<Segment> = (0..side.pow(3))
            .map(|k| {
                let score = |v: usize| u8::try_from(v).unwrap_or(u8::MAX);
                Segment::from_scores(
                    score(k / side / side),
                    score(k / side % side),
                    score(k % side),
                    bins,
                )
            })
            .collect();
        let segment = |r: u8, f: u8, m: u8| {
            let k = (usize::from(r) * side + usize::from(f)) * side + usize::from(m);
            match (r.max(f).max(m) <= bins, segments.get(k)) {
                (true, Some(&s)) => s,
                _ => Segment::from_scores(r, f, m, bins),
            }
        };
        let results = (0..recency.len())
            .into_par_iter()
            .map(|i| {
                let (rh, fh, mh) = match self.class_basis() {
                    ClassBasis::Scores => (
                        f64::from(r[i]) > mean_scores[0],
                        f64::from(f[i]) > mean_scores[1],
                        f64::from(m[i]) > mean_scores[2],
                    ),
                    ClassBasis::Values => (
                        (recency[i] as f64) < mean_values[0],
                        (frequency[i] as f64) > mean_values[1],
                        monetary[i].to_f64() > mean_values[2],
                    ),
                };
                CustomerRfm {
                    r: r[i],
                    f: f[i],
                    m: m[i],
                    class: RfmClass::from_highs(rh, fh, mh),
                    segment: segment(r[i], f[i], m[i]),
                }
            })
            .collect();
        Rfm {
            bins,
            quantiles: matches!(self.method(), ScoreMethod::Quantile),
            class_basis: self.class_basis(),
            mean_scores,
            mean_values,
            customers: results,
        }
    }
}

/// `1 + ⌊bins × (number of strictly smaller keys) / n⌋` for every key.
///
/// Score `s` starts at the smallest key with at least `r = ⌈(s − 1) n / bins⌉` keys strictly
/// below it: the key of rank `r` when no equal key comes before it, else the next larger key.
/// Each of these (at most `bins − 1`) is found by selection on what is left above the one
/// before and a count of the keys equal to it below (`bins` passes, not a sort: at a million
/// customers a sort of each dimension was most of the scoring), and each customer's score is
/// the number of those cuts at or below their key.
fn quantile_scores<K: Ord + Copy + Send + Sync>(keys: &[K], bins: u8) -> Vec<u8> {
    use rayon::prelude::*;
    let cuts = quantile_cuts(keys, bins);
    keys.par_iter()
        .map(|k| 1 + cuts.iter().take_while(|&cut| cut <= k).count() as u8)
        .collect()
}

/// `cuts[s - 2]`: the smallest key that scores `s` or more, for each score from 2 that some
/// key has (score 1 needs no cut; a score may be skipped when a run of equal keys spans a whole
/// bin, and then its cut is the next one's).
fn quantile_cuts<K: Ord + Copy>(keys: &[K], bins: u8) -> Vec<K> {
    let n = keys.len();
    let mut work = keys.to_vec();
    let mut cuts: Vec<K> = Vec::with_capacity(usize::from(bins));
    // `work[..done]` holds keys no larger than any in `work[done..]`
    let mut done = 0;
    for s in 2..=u128::from(bins) {
        let rank = ((s - 1) * n as u128).div_ceil(u128::from(bins)) as usize;
        if rank >= n {
            break;
        }
        let (_, &mut at, _) = work[done..].select_nth_unstable(rank - done);
        // keys strictly below `at`: those before it, less the ones equal to it
        let below = rank - work[..rank].iter().filter(|&&k| k == at).count();
        let cut = if below == rank {
            Some(at)
        } else {
            work[rank + 1..].iter().filter(|&&k| k > at).min().copied()
        };
        match cut {
            Some(cut) => cuts.push(cut),
            // `at` is the largest key: no key scores `s`, nor any higher score
            None => break,
        }
        done = rank;
    }
    cuts
}

/// `1 + (number of cut points at or below the value)`.
fn threshold_scores(values: impl Iterator<Item = f64>, cuts: &[f64]) -> Vec<u8> {
    values
        .map(|v| 1 + cuts.iter().filter(|&&t| t <= v).count() as u8)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rfm::RfmParams;

    #[test]
    fn quantile_scores_follow_the_documented_rank_rule() {
        // keys 10, 20, 20, 30, 40, 50, 60, 70, 80, 90 (n = 10, bins = 5):
        // worse counts 0, 1, 1, 3, 4, 5, 6, 7, 8, 9 → 1 + ⌊5w/10⌋ = 1, 1, 1, 2, 3, 3, 4, 4, 5, 5
        let keys = [10, 20, 20, 30, 40, 50, 60, 70, 80, 90];
        assert_eq!(quantile_scores(&keys, 5), [1, 1, 1, 2, 3, 3, 4, 4, 5, 5]);
    }

    #[test]
    fn the_score_code_is_the_three_scores() {
        let class = RfmClass::from_highs(true, true, true);
        let segment = Segment::from_scores(5, 4, 3, 5);
        let code = |r, f, m| {
            CustomerRfm {
                r,
                f,
                m,
                class,
                segment,
            }
            .score_code()
        };
        assert_eq!(code(5, 4, 3), "543");
        assert_eq!(code(1, 1, 1), "111");
        assert_eq!(code(0, 9, 0), "090");
        // scores of two digits are not made by any bins, but still written whole
        assert_eq!(code(12, 3, 45), "12345");
    }

    #[test]
    fn no_keys_or_one_bin_need_no_cut() {
        assert_eq!(quantile_scores::<i64>(&[], 5), Vec::<u8>::new());
        assert_eq!(quantile_scores(&[3, 1, 2], 1), [1, 1, 1]);
        assert_eq!(quantile_scores(&[7], 5), [1]);
        // two bins: the lower half scores 1, a run of equal keys stays whole
        assert_eq!(quantile_scores(&[1, 1, 1, 2], 2), [1, 1, 1, 2]);
        assert_eq!(quantile_scores(&[5, 5], 2), [1, 1]);
    }

    #[test]
    fn ties_never_split_a_group_of_equal_values() {
        let keys = [1, 1, 1, 1, 1, 1, 2, 3, 4, 5];
        // 6 ones: worse 0 → 1; 2: worse 6 → 4; 3: 7 → 4; 4: 8 → 5; 5: 9 → 5
        assert_eq!(quantile_scores(&keys, 5), [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]);
    }

    /// A customer with these recency, frequency and monetary values (in major units).
    fn customer(id: &str, recency_days: i64, frequency: u64, monetary: i64) -> CustomerFeatures {
        let d = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default();
        CustomerFeatures {
            customer_id: id.to_string(),
            first_purchase: d,
            last_purchase: d,
            recency_days,
            frequency,
            orders: frequency,
            monetary: crate::Money::from_major(monetary),
            gross: crate::Money::from_major(monetary),
            refunds: crate::Money::ZERO,
            refund_lines: 0,
            avg_order_value: crate::Money::ZERO,
            tenure_days: 0,
            windows: None,
            days: None,
        }
    }

    #[test]
    fn thresholds_score_recency_downward_and_money_upward() {
        let params = RfmParams::new()
            .method(ScoreMethod::Thresholds {
                recency: vec![30.0, 90.0, 180.0, 365.0],
                frequency: vec![2.0, 3.0, 5.0, 10.0],
                monetary: vec![100.0, 1000.0, 5000.0, 20000.0],
            })
            .check();
        assert!(params.is_ok());
        let Ok(params) = params else { return };
        let c = |recency_days, frequency, monetary| customer("", recency_days, frequency, monetary);
        let fit = params.fit(&[c(30, 1, 100), c(31, 10, 99), c(400, 4, 20000)]);
        let s: Vec<(u8, u8, u8)> = fit.customers().iter().map(|x| (x.r, x.f, x.m)).collect();
        assert_eq!(s, [(5, 1, 2), (4, 5, 1), (1, 3, 5)]);
    }

    #[test]
    fn quantile_scores_on_fewer_than_twenty_customers_warn() {
        let customers = |n: usize| -> Vec<CustomerFeatures> {
            (0..n)
                .map(|i| customer(&format!("c{i}"), 1 + i as i64, 1, 100))
                .collect()
        };
        let quantiles = RfmParams::new().check().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            quantiles.fit(&customers(19)).warnings(),
            [RfmWarning::TooFewForQuantiles {
                customers: 19,
                min: MIN_QUANTILE_CUSTOMERS
            }]
        );
        assert_eq!(quantiles.fit(&customers(20)).warnings(), []);
        // thresholds do not depend on how many customers there are
        let thresholds = RfmParams::new()
            .method(ScoreMethod::Thresholds {
                recency: vec![30.0, 60.0, 90.0, 180.0],
                frequency: vec![1.0, 2.0, 3.0, 5.0],
                monetary: vec![100.0, 500.0, 1000.0, 5000.0],
            })
            .check()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(thresholds.fit(&customers(3)).warnings(), []);
    }

    #[test]
    fn bad_params_name_the_value() {
        assert_eq!(
            RfmParams::new()
                .bins(7)
                .check()
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err("bins must be between 3 and 5, got 7".to_string())
        );
        let e = RfmParams::new()
            .bins(3)
            .method(ScoreMethod::Thresholds {
                recency: vec![30.0],
                frequency: vec![2.0, 3.0],
                monetary: vec![1.0, 2.0],
            })
            .check()
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert_eq!(
            e,
            Err("recency thresholds must have 2 values (bins − 1), got 1".to_string())
        );
    }

    mod properties {
        use super::super::*;
        use crate::Money;
        use crate::rfm::{ClassBasis, RfmParams};
        use proptest::prelude::*;

        fn customers(raw: &[(i64, u64, i64)]) -> Vec<CustomerFeatures> {
            let d = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default();
            raw.iter()
                .enumerate()
                .map(|(i, &(recency_days, frequency, units))| CustomerFeatures {
                    customer_id: format!("c{i}"),
                    first_purchase: d,
                    last_purchase: d,
                    recency_days,
                    frequency,
                    orders: frequency,
                    monetary: Money::from_units(units),
                    gross: Money::from_units(units),
                    refunds: Money::ZERO,
                    refund_lines: 0,
                    avg_order_value: Money::ZERO,
                    tenure_days: recency_days,
                    windows: None,
                    days: None,
                })
                .collect()
        }

        /// Each key's score by the rule itself: the count of strictly smaller keys, by binary
        /// search in a sorted copy.
        fn by_rank_rule(keys: &[i64], bins: u8) -> Vec<u8> {
            let mut sorted = keys.to_vec();
            sorted.sort_unstable();
            let n = keys.len() as u128;
            keys.iter()
                .map(|k| {
                    let worse = sorted.partition_point(|v| v < k) as u128;
                    (1 + u128::from(bins) * worse / n) as u8
                })
                .collect()
        }

        proptest! {
            /// The cuts give every key the score of the rank rule itself (the count of
            /// strictly smaller keys by binary search), with many ties and few keys.
            #[test]
            fn quantile_scores_equal_the_rank_rule(
                keys in proptest::collection::vec(-20i64..20, 1..300),
                bins in 2u8..=12,
            ) {
                prop_assert_eq!(quantile_scores(&keys, bins), by_rank_rule(&keys, bins));
            }

            /// The same with few ties and more keys than bins by far, and with one key
            /// repeated over more than a bin among them.
            #[test]
            fn quantile_scores_equal_the_rank_rule_with_few_ties(
                mut keys in proptest::collection::vec(-1_000_000i64..1_000_000, 1..3000),
                repeated in 0usize..1500,
                bins in 2u8..=10,
            ) {
                let first = keys[0];
                let len = keys.len();
                keys.extend(std::iter::repeat_n(first, repeated.min(len)));
                prop_assert_eq!(quantile_scores(&keys, bins), by_rank_rule(&keys, bins));
            }

            #[test]
            fn scores_stay_in_range_and_equal_values_score_equally(
                raw in proptest::collection::vec((1i64..60, 1u64..8, -5i64..40), 1..200),
                bins in 3u8..=5,
                by_values in any::<bool>(),
            ) {
                let basis = if by_values { ClassBasis::Values } else { ClassBasis::Scores };
                let params = RfmParams::new().bins(bins).class_basis(basis).check();
                prop_assert!(params.is_ok());
                let Ok(params) = params else { return Ok(()) };
                let cs = customers(&raw);
                let fit = params.fit(&cs);
                prop_assert_eq!(fit.customers().len(), cs.len());
                for (i, a) in fit.customers().iter().enumerate() {
                    for s in [a.r, a.f, a.m] {
                        prop_assert!((1..=bins).contains(&s));
                    }
                    // exactly one class and one segment: the values exist and are among the
                    // known ones
                    prop_assert!(RfmClass::ALL.contains(&a.class));
                    prop_assert!(Segment::ALL.contains(&a.segment));
                    for (j, b) in fit.customers().iter().enumerate() {
                        if cs[i].recency_days == cs[j].recency_days { prop_assert_eq!(a.r, b.r); }
                        if cs[i].frequency == cs[j].frequency { prop_assert_eq!(a.f, b.f); }
                        if cs[i].monetary == cs[j].monetary { prop_assert_eq!(a.m, b.m); }
                        // better values never get lower scores
                        if cs[i].recency_days < cs[j].recency_days { prop_assert!(a.r >= b.r); }
                        if cs[i].frequency > cs[j].frequency { prop_assert!(a.f >= b.f); }
                        if cs[i].monetary > cs[j].monetary { prop_assert!(a.m >= b.m); }
                    }
                }
                // the best value always gets the top score
                let best_f = cs.iter().map(|c| c.frequency).max().unwrap_or(0);
                let top = cs.iter().position(|c| c.frequency == best_f).unwrap_or(0);
                let distinct = cs.iter().map(|c| c.frequency).collect::<std::collections::BTreeSet<_>>().len();
                if distinct > 1 && cs.iter().filter(|c| c.frequency == best_f).count() * usize::from(bins) <= cs.len() {
                    prop_assert_eq!(fit.customers()[top].f, bins);
                }
            }
        }
    }
}
