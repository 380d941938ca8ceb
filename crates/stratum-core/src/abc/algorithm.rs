//! Fitting ABC classes.

use super::CheckedAbcParams;
use crate::Money;
use crate::labels::{Labelled, Lang};

/// An ABC class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AbcClass {
    /// The head that brings the first `a` share of revenue.
    A,
    /// The next customers up to the `b` share.
    B,
    /// The long tail.
    C,
}

impl AbcClass {
    /// All classes in order.
    pub const ALL: [AbcClass; 3] = [AbcClass::A, AbcClass::B, AbcClass::C];
}

impl Labelled for AbcClass {
    fn code(&self) -> &'static str {
        match self {
            AbcClass::A => "A",
            AbcClass::B => "B",
            AbcClass::C => "C",
        }
    }

    fn label(&self, lang: Lang) -> &'static str {
        match self {
            AbcClass::A => lang.pick("A类（核心）", "A (head)"),
            AbcClass::B => lang.pick("B类（中坚）", "B (middle)"),
            AbcClass::C => lang.pick("C类（长尾）", "C (long tail)"),
        }
    }
}

/// The Pareto figures of a customer base.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Pareto {
    /// Number of customers.
    pub customers: usize,
    /// Sum of positive monetary values.
    pub positive_revenue: f64,
    /// Share of positive revenue from the top 20% of customers (⌈n / 5⌉ customers).
    pub top20_revenue_share: f64,
    /// Share of customers in class A.
    pub a_customer_share: f64,
    /// Share of customers in class B.
    pub b_customer_share: f64,
    /// Share of customers in class C.
    pub c_customer_share: f64,
}

/// ABC results in the order of the values given to [`CheckedAbcParams::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct Abc {
    classes: Vec<AbcClass>,
    cumulative_share: Vec<f64>,
    pareto: Pareto,
    /// The customers by value, largest first (ties in input order).
    ranking: Vec<u32>,
}

impl Abc {
    /// The customers' indexes by value, largest first (ties in input order): the one sort
    /// the classes, the Pareto figures and the Pareto curve share.
    pub fn ranking(&self) -> &[u32] {
        &self.ranking
    }

    /// Each customer's class.
    pub fn classes(&self) -> &[AbcClass] {
        &self.classes
    }

    /// Each customer's cumulative revenue share, up to and including them, in the ranking
    /// (0 for customers with zero or negative value).
    pub fn cumulative_share(&self) -> &[f64] {
        &self.cumulative_share
    }

    /// The Pareto figures.
    pub fn pareto(&self) -> Pareto {
        self.pareto
    }
}

impl CheckedAbcParams {
    /// ABC classes for customers with the given monetary values.
    pub fn fit(&self, monetary: &[Money]) -> Abc {
        use rayon::prelude::*;
        // 16-byte keys where every value and index fits them (amounts beyond 9.2 billion
        // billion units, 922 trillion in money, or more than 4 billion customers take the
        // wide ones)
        let narrow = u32::try_from(monetary.len()).is_ok()
            && monetary
                .par_iter()
                .all(|m| i64::try_from(m.units()).is_ok());
        if narrow {
            self.fit_as::<Narrow>(monetary)
        } else {
            self.fit_as::<Wide>(monetary)
        }
    }

    /// [`fit`](Self::fit), the customers ranked by keys of type `K`.
    fn fit_as<K: Ranked>(&self, monetary: &[Money]) -> Abc {
        use rayon::prelude::*;
        let n = monetary.len();
        // Largest first; ties keep input order, which the class rule makes irrelevant. The
        // values are sorted with their index (in parallel; the index makes every key distinct,
        // so the order is the stable one), and the walk below reads them from these keys in
        // order, not from a million scattered places.
        let mut keyed: Vec<K> = monetary
            .par_iter()
            .enumerate()
            .map(|(i, m)| K::new(m.units(), i))
            .collect();
        keyed.par_sort_unstable();
        let total: i128 = monetary
            .iter()
            .filter(|m| m.units() > 0)
            .map(|m| m.units())
            .sum();
        let mut classes = vec![AbcClass::C; n];
        let mut cumulative_share = vec![0.0; n];
        // A running sum as a float: through `i64` when the total fits one (a single
        // instruction, where an `i128`'s conversion is a library call), the same value either
        // way (both round to the nearest float). Every running sum lies in 0..=total (positive
        // values only are added), so it fits when the total does. Each conversion has a walk
        // of its own: with the choice made per sum the optimiser folded both back into the
        // library call, which took two fifths of the walk (the one part of the fit on one
        // core, 20–30 ms at a million customers).
        let walk = if i64::try_from(total).is_ok() {
            walk::<K, true>
        } else {
            walk::<K, false>
        };
        walk(
            &keyed,
            total,
            (self.a(), self.b()),
            &mut classes,
            &mut cumulative_share,
        );
        let top = n.div_ceil(5);
        let top_sum: i128 = keyed.iter().take(top).map(|k| k.value().max(0)).sum();
        let share_of = |c: AbcClass| {
            if n == 0 {
                0.0
            } else {
                classes.iter().filter(|&&x| x == c).count() as f64 / n as f64
            }
        };
        let pareto = Pareto {
            customers: n,
            positive_revenue: total as f64 / Money::SCALE as f64,
            top20_revenue_share: if total == 0 {
                0.0
            } else {
                top_sum as f64 / total as f64
            },
            a_customer_share: share_of(AbcClass::A),
            b_customer_share: share_of(AbcClass::B),
            c_customer_share: share_of(AbcClass::C),
        };
        Abc {
            classes,
            cumulative_share,
            pareto,
            ranking: keyed.iter().map(|k| k.index() as u32).collect(),
        }
    }
}

/// A customer's key in the ABC ranking: in the keys' order, values largest first, equal
/// values by customer index.
trait Ranked: Ord + Copy + Send {
    /// The key of customer `index` with `value`, which must fit the key.
    fn new(value: i128, index: usize) -> Self;
    /// The customer's value.
    fn value(self) -> i128;
    /// The customer's index.
    fn index(self) -> usize;
}

/// A key for any value and index, in 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Wide(std::cmp::Reverse<i128>, usize);

impl Ranked for Wide {
    fn new(value: i128, index: usize) -> Self {
        Wide(std::cmp::Reverse(value), index)
    }
    fn value(self) -> i128 {
        self.0.0
    }
    fn index(self) -> usize {
        self.1
    }
}

/// A key for a value within `i64` and an index within `u32`, in 16 bytes: the value's bits
/// with the sign bit flipped (an unsigned number in the values' order), inverted (largest
/// first). At a million customers these sort in about two thirds of the wide keys' time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Narrow(u64, u32);

impl Ranked for Narrow {
    fn new(value: i128, index: usize) -> Self {
        debug_assert!(i64::try_from(value).is_ok() && u32::try_from(index).is_ok());
        Narrow(!((value as i64 as u64) ^ (1 << 63)), index as u32)
    }
    fn value(self) -> i128 {
        i128::from((!self.0 ^ (1 << 63)) as i64)
    }
    fn index(self) -> usize {
        self.1 as usize
    }
}

/// Each ranked customer's class and cumulative share, walking `keyed` (values largest first,
/// with their customer) up to the first value that is not positive: a customer's class is
/// that of the revenue share before the first customer of its value, against the limits of
/// A and B. `NARROW`: the total fits an `i64`, so every running sum (within 0..=total) is
/// converted to a float through one.
fn walk<K: Ranked, const NARROW: bool>(
    keyed: &[K],
    total: i128,
    (a, b): (f64, f64),
    classes: &mut [AbcClass],
    cumulative_share: &mut [f64],
) {
    let float = |v: i128| if NARROW { v as i64 as f64 } else { v as f64 };
    let total_f = total as f64;
    let mut before: i128 = 0;
    let mut prev: Option<(i128, AbcClass)> = None;
    for key in keyed {
        let (value, i) = (key.value(), key.index());
        if value <= 0 || total == 0 {
            break;
        }
        let class = match prev {
            Some((v, c)) if v == value => c,
            _ => {
                let share_before = float(before) / total_f;
                if share_before < a {
                    AbcClass::A
                } else if share_before < b {
                    AbcClass::B
                } else {
                    AbcClass::C
                }
            }
        };
        before += value;
        classes[i] = class;
        cumulative_share[i] = float(before) / total_f;
        prev = Some((value, class));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abc::AbcParams;
    use approx::assert_relative_eq;

    fn fit(values: &[i64]) -> Abc {
        let m: Vec<Money> = values.iter().map(|&v| Money::from_major(v)).collect();
        match AbcParams::new().check() {
            Ok(p) => p.fit(&m),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn head_that_reaches_eighty_percent_is_a() {
        // total 1000: 500 (before 0% → A), 300 (before 50% → A), 100 (before 80% → B),
        // 60 (before 90% → B), 40 (before 96% → C)
        let abc = fit(&[100, 500, 40, 300, 60]);
        use AbcClass::*;
        assert_eq!(abc.classes(), [B, A, C, A, B]);
        assert_relative_eq!(abc.cumulative_share()[3], 0.8);
        // top 20% = ⌈5/5⌉ = 1 customer: 500 / 1000
        assert_relative_eq!(abc.pareto().top20_revenue_share, 0.5);
    }

    #[test]
    fn sums_beyond_64_bits_give_the_same_shares() {
        // three customers of 2^62 units each: the running sums pass i64's largest value
        let m = vec![Money::from_units(1 << 62); 3];
        let abc = AbcParams::new().check().map(|p| p.fit(&m));
        let shares = abc.map(|a| a.cumulative_share().to_vec());
        assert_eq!(shares.ok(), Some(vec![1.0 / 3.0, 2.0 / 3.0, 1.0]));
    }

    #[test]
    fn equal_values_share_a_class_and_non_positive_values_are_c() {
        // total 1000: 700 (A), 100 (before 70% → A), 100 (tie → A), 100 (tie → A), 0, -50
        let abc = fit(&[700, 100, 100, 100, 0, -50]);
        use AbcClass::*;
        assert_eq!(abc.classes(), [A, A, A, A, C, C]);
    }

    proptest::proptest! {
        /// The narrow keys rank, class and share as the wide ones, at either end of `i64`.
        #[test]
        fn narrow_keys_fit_as_the_wide_ones(
            units in proptest::collection::vec(
                proptest::prop_oneof![
                    -50i64..50,
                    proptest::strategy::Just(i64::MIN),
                    proptest::strategy::Just(i64::MAX),
                    (i64::MAX - 3)..=i64::MAX,
                ],
                0..200,
            ),
        ) {
            let m: Vec<Money> = units.iter().map(|&u| Money::from_units(u)).collect();
            let p = AbcParams::new().check().map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            let (narrow, wide) = (p.fit_as::<Narrow>(&m), p.fit_as::<Wide>(&m));
            proptest::prop_assert_eq!(&narrow.classes, &wide.classes);
            proptest::prop_assert_eq!(&narrow.ranking, &wide.ranking);
            proptest::prop_assert_eq!(narrow, wide);
        }
    }

    #[test]
    fn a_key_gives_back_its_value_and_index() {
        for v in [i64::MIN, -1, 0, 1, i64::MAX] {
            let k = Narrow::new(v.into(), 7);
            assert_eq!((k.value(), k.index()), (i128::from(v), 7));
        }
        // largest first, then by index
        assert!(Narrow::new(5, 9) < Narrow::new(4, 0));
        assert!(Narrow::new(0, 9) < Narrow::new(-1, 0));
        assert!(Narrow::new(3, 1) < Narrow::new(3, 2));
        assert!(Narrow::new(i64::MAX.into(), 0) < Narrow::new(i64::MIN.into(), 0));
    }

    #[test]
    fn cut_points_are_checked() {
        assert_eq!(
            AbcParams::new()
                .a(0.9)
                .b(0.8)
                .check()
                .map_err(|e| e.to_string()),
            Err("abc cut points must satisfy 0 < a < b ≤ 1, got a = 0.9, b = 0.8".to_string())
        );
    }
}
