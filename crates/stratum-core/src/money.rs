//! Exact money amounts.
//!
//! Amounts are summed over millions of order lines; floating point would make the totals depend
//! on the order of summation (and so on the thread count). [`Money`] is a fixed-point number with
//! four decimal places held in an `i128`, so sums are exact and reproducible, and cannot overflow:
//! one amount is read from an `i64` count of units at most, and a sum of fewer than 2^62 such
//! amounts stays below 2^126.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub};

/// A money amount with four decimal places, stored as an integer number of 1/10,000 units.
///
/// A single amount comes from an `i64` count of units (±922 trillion currency units); sums are
/// held in an `i128` and so never wrap, however many lines a customer has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i128);

impl Money {
    /// Number of stored units per currency unit.
    pub const SCALE: i64 = 10_000;
    /// Zero.
    pub const ZERO: Money = Money(0);

    /// A money amount from a raw count of 1/10,000 units.
    pub const fn from_units(units: i64) -> Self {
        Money(units as i128)
    }

    /// A money amount from a raw count of 1/10,000 units held as a sum (as [`Money::units`]
    /// gives it).
    pub const fn from_units_i128(units: i128) -> Self {
        Money(units)
    }

    /// The raw count of 1/10,000 units.
    pub const fn units(self) -> i128 {
        self.0
    }

    /// The raw count of 1/10,000 units, when it fits an `i64` (any single amount read does).
    pub fn units_i64(self) -> Option<i64> {
        i64::try_from(self.0).ok()
    }

    /// A money amount from whole currency units.
    pub const fn from_major(major: i64) -> Self {
        Money(major as i128 * Self::SCALE as i128)
    }

    /// The nearest money amount to `value`, or `None` when it is not finite or out of range.
    pub fn from_f64(value: f64) -> Option<Self> {
        let scaled = (value * Self::SCALE as f64).round();
        if scaled.is_finite() && scaled.abs() < 9.0e18 {
            Some(Money(scaled as i128))
        } else {
            None
        }
    }

    /// The amount as a float (for statistics and shares, never for sums).
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / Self::SCALE as f64
    }

    /// Whether the amount is below zero.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Checked addition, `None` on overflow.
    pub const fn checked_add(self, other: Money) -> Option<Money> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(Money(v)),
            None => None,
        }
    }

    /// The amount divided by a count, rounded half away from zero; zero when `count` is zero.
    pub fn div_count(self, count: u64) -> Money {
        if count == 0 {
            return Money::ZERO;
        }
        let count = i128::from(count);
        let v = self.0;
        // |v| < 2^126 for any sum of read amounts (see the module doc), so 2v cannot overflow
        let q = (2 * v + v.signum() * count) / (2 * count);
        Money(q)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 += rhs.0;
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

impl<'a> Sum<&'a Money> for Money {
    fn sum<I: Iterator<Item = &'a Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + *b)
    }
}

/// Plain decimal notation with at least two and at most four decimals (`1234.5` → `1234.50`,
/// `0.125` → `0.125`), no thousands separators: the form CSV outputs use.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let major = abs / Self::SCALE as u128;
        let mut frac = abs % Self::SCALE as u128;
        let mut digits = 4;
        while digits > 2 && frac.is_multiple_of(10) {
            frac /= 10;
            digits -= 1;
        }
        write!(f, "{sign}{major}.{frac:0digits$}")
    }
}

impl Money {
    /// Appends the amount as [`Display`](fmt::Display) writes it, without the formatter for
    /// amounts within ±9.2 × 10^14 (the CSV writers' hot path: four amounts a customer).
    pub fn push_text(self, out: &mut String) {
        let mut buf = [0; Self::TEXT_BYTES];
        match self.short_text(&mut buf).map(std::str::from_utf8) {
            Some(Ok(text)) => out.push_str(text),
            _ => {
                use fmt::Write as _;
                let _ = write!(out, "{self}");
            }
        }
    }

    /// Appends the amount as [`Money::push_text`] does, to bytes (the CSV writer's buffer,
    /// without a copy through a `String`).
    pub fn push_bytes(self, out: &mut Vec<u8>) {
        let mut buf = [0; Self::TEXT_BYTES];
        match self.short_text(&mut buf) {
            Some(text) => out.extend_from_slice(text),
            None => {
                use std::io::Write as _;
                // writing to a `Vec` cannot fail
                let _ = write!(out, "{self}");
            }
        }
    }

    /// The longest text of [`Money::short_text`]: a sign, 15 digits, a point, four decimals.
    const TEXT_BYTES: usize = 1 + 15 + 1 + 4;

    /// The amount's text (ASCII) in `buf`, for amounts within ±9.2 × 10^14 (`None` beyond:
    /// the formatter writes those).
    fn short_text(self, buf: &mut [u8; Self::TEXT_BYTES]) -> Option<&[u8]> {
        let units = i64::try_from(self.0).ok()?;
        let abs = units.unsigned_abs();
        let scale = Self::SCALE as u64;
        let mut len = 0;
        if units < 0 {
            buf[0] = b'-';
            len = 1;
        }
        let mut buffer = itoa::Buffer::new();
        let whole = buffer.format(abs / scale).as_bytes();
        buf.get_mut(len..len + whole.len())?.copy_from_slice(whole);
        len += whole.len();
        let frac = abs % scale;
        // four decimals, trailing zeros dropped down to two
        let (value, digits) = if frac.is_multiple_of(100) {
            (frac / 100, 2)
        } else if frac.is_multiple_of(10) {
            (frac / 10, 3)
        } else {
            (frac, 4)
        };
        *buf.get_mut(len)? = b'.';
        len += 1;
        let mut div = 10u64.pow(digits - 1);
        while div > 0 {
            *buf.get_mut(len)? = b'0' + (value / div % 10) as u8;
            len += 1;
            div /= 10;
        }
        buf.get(..len)
    }

    /// The amount rounded to whole cents (two decimals), half away from zero.
    pub fn round_cents(self) -> Money {
        let step = Self::SCALE as i128 / 100;
        let half = step / 2;
        let r = if self.0 >= 0 {
            (self.0 + half) / step
        } else {
            (self.0 - half) / step
        };
        Money(r * step)
    }
}

/// Serialised as a JSON number in currency units (exact for amounts below 900 billion).
impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.to_f64())
    }
}

/// Read back from a JSON number in currency units, as [`Money`] is serialised.
impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(deserializer)?;
        Money::from_f64(v).ok_or_else(|| serde::de::Error::custom(format!("{v} is not an amount")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The writers' fast text is Display's, on both sides of the fast path's range.
        #[test]
        fn push_text_writes_what_display_writes(units in proptest::num::i128::ANY, small in proptest::num::i64::ANY, digits in 0i64..100_000) {
            for m in [Money::from_units_i128(units), Money::from_units(small), Money::from_units(digits), Money::from_units(-digits)] {
                let mut text = String::from("x");
                m.push_text(&mut text);
                proptest::prop_assert_eq!(&text[1..], m.to_string());
                let mut bytes = b"y".to_vec();
                m.push_bytes(&mut bytes);
                proptest::prop_assert_eq!(String::from_utf8_lossy(&bytes[1..]), m.to_string());
            }
        }
    }

    #[test]
    fn the_fast_text_ends_where_i64_ends() {
        let edges = [
            i128::from(i64::MIN) - 1,
            i128::from(i64::MIN),
            i128::from(i64::MIN) + 1,
            i128::from(i64::MAX) - 1,
            i128::from(i64::MAX),
            i128::from(i64::MAX) + 1,
        ];
        for units in edges {
            let m = Money::from_units_i128(units);
            let mut text = String::new();
            m.push_text(&mut text);
            let mut bytes = Vec::new();
            m.push_bytes(&mut bytes);
            assert_eq!(text, m.to_string(), "{units}");
            assert_eq!(bytes, m.to_string().into_bytes(), "{units}");
        }
        assert_eq!(
            Money::from_units_i128(i128::from(i64::MIN)).to_string(),
            "-922337203685477.5808"
        );
    }

    #[test]
    fn display_keeps_two_to_four_decimals() {
        assert_eq!(Money::from_units(12_345_000).to_string(), "1234.50");
        assert_eq!(Money::from_units(1_250).to_string(), "0.125");
        assert_eq!(Money::from_units(-2_000_000).to_string(), "-200.00");
        assert_eq!(Money::from_units(-5).to_string(), "-0.0005");
        assert_eq!(Money::ZERO.to_string(), "0.00");
    }

    #[test]
    fn division_by_count_rounds_half_away_from_zero() {
        assert_eq!(Money::from_units(10).div_count(4), Money::from_units(3));
        assert_eq!(Money::from_units(-10).div_count(4), Money::from_units(-3));
        assert_eq!(Money::from_units(9).div_count(4), Money::from_units(2));
        assert_eq!(Money::from_units(9).div_count(0), Money::ZERO);
    }

    #[test]
    fn cents_round_half_away_from_zero() {
        assert_eq!(
            Money::from_units(36_887_978).round_cents(),
            Money::from_units(36_888_000)
        );
        assert_eq!(Money::from_units(50).round_cents(), Money::from_units(100));
        assert_eq!(
            Money::from_units(-50).round_cents(),
            Money::from_units(-100)
        );
        assert_eq!(Money::from_units(49).round_cents(), Money::ZERO);
    }

    #[test]
    fn from_f64_rounds_to_the_nearest_unit() {
        assert_eq!(Money::from_f64(1234.5), Some(Money::from_units(12_345_000)));
        assert_eq!(Money::from_f64(0.00004), Some(Money::ZERO));
        assert_eq!(Money::from_f64(f64::NAN), None);
    }

    #[test]
    fn sums_of_the_largest_amounts_never_wrap() {
        // a million amounts of the largest single value: far beyond an i64, exact in an i128
        let line = Money::from_units(i64::MAX);
        let total: Money = std::iter::repeat_n(line, 1_000_000).sum();
        assert_eq!(total.units(), i128::from(i64::MAX) * 1_000_000);
        assert!(!total.is_negative());
        assert_eq!(total.units_i64(), None);
        assert_eq!(line.units_i64(), Some(i64::MAX));
        assert_eq!((line + line).to_string(), "1844674407370955.1614");
        assert_eq!(
            (-(line + line)).round_cents().to_string(),
            "-1844674407370955.16"
        );
        assert_eq!(total.div_count(1_000_000), line);
    }
}
