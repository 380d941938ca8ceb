//! Number formatting for people: thousands separators, money with two decimals, percentages.

use crate::Money;

/// `12345678` → `12,345,678`.
pub fn thousands(n: u64) -> String {
    thousands_wide(u128::from(n))
}

/// [`thousands`] of a number beyond `u64` (a sum of money in cents).
pub fn thousands_wide(n: u128) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A money amount with thousands separators and two decimals (rounded half away from zero).
pub fn money(m: Money) -> String {
    let cents = m.round_cents().units() / i128::from(Money::SCALE / 100);
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", thousands_wide(abs / 100), abs % 100)
}

/// A float with thousands separators and `decimals` decimals.
pub fn number(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let text = format!("{:.*}", decimals, v.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let sign = if v < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    let int = thousands(int.parse().unwrap_or(0));
    if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// A share as a percentage with one decimal.
pub fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

/// An amount as Chinese readers group it: 亿 (10⁸) and 万 (10⁴) units above ten thousand,
/// e.g. `123,456,789` → `1.23亿`, `12,345,678` → `1,234.57万`, `5,432.1` → `5,432.10`.
pub fn wan(v: f64) -> String {
    // the unit is chosen on the rounded value: 99,999,999 is 1.00亿, not 10,000.00万
    let rounds_to = |x: f64| (x * 100.0).round() / 100.0;
    let a = v.abs();
    if rounds_to(a / 1e4) >= 1e4 {
        format!("{}亿", number(v / 1e8, 2))
    } else if rounds_to(a) >= 1e4 {
        format!("{}万", number(v / 1e4, 2))
    } else {
        number(v, 2)
    }
}

/// A byte count for messages: `900 bytes`, `2.8 kib`, `1.5 gib`.
pub fn size_text(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["kib", "mib", "gib", "tib"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(12_345_678), "12,345,678");
        assert_eq!(money(Money::from_units(-12_345_678_900)), "-1,234,567.89");
        assert_eq!(money(Money::from_units(5_000)), "0.50");
        assert_eq!(money(Money::from_units(-50)), "-0.01");
        assert_eq!(number(1_234_567.891, 2), "1,234,567.89");
        assert_eq!(number(-0.001, 2), "0.00");
        assert_eq!(number(-2500.7, 0), "-2,501");
        assert_eq!(pct(0.8012), "80.1%");
        assert_eq!(wan(123_456_789.0), "1.23亿");
        assert_eq!(wan(12_345_678.0), "1,234.57万");
        assert_eq!(wan(-15_000.0), "-1.50万");
        assert_eq!(wan(5_432.1), "5,432.10");
        assert_eq!(wan(9_999.996), "1.00万");
        assert_eq!(wan(99_999_999.0), "1.00亿");
    }
}
