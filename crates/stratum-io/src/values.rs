//! Parsing the dates and amounts found in real exports.
//!
//! Dates: `2025-03-07`, `2025/3/7`, `2025.3.7`, `2025/3/7 14:23`, `2025年3月7日`, ISO datetimes
//! (`2025-03-07T14:23:00`, `…Z`, `…+08:00`; the local date as written is used), `20250307` and
//! Excel serial dates (`45723`, `45723.6`, 1900 date system). Amounts: `1234.5`, `1,234.50`,
//! `¥1,234.50`, `-¥200.00`, `¥-200`, `(200.00)`, `$1,234.50`, `1 234.50`, `USD 12`, `12元`,
//! `1.2E+3`, and with decimal comma `1 234,50` or `1.234,50`. Thousands separators must group
//! by three (`1,5` is refused instead of being read as 15). Both parsers work on bytes and
//! allocate nothing; they are on the hot path of every row.
//!
//! Plausibility: dates must fall in the years 1900–2100 (Excel serials 10000–73050, that is
//! 1927-05-18 to 2099-12-31, so that a stray `2025` or `100` in a date column is refused
//! rather than read as a day in 1905 or 1900), and amounts must be within ±100 billion.

use chrono::{Duration, NaiveDate};
use stratum_core::Money;

/// The date forms accepted, for error messages.
pub const DATE_FORMATS: &str = "YYYY-MM-DD, YYYY/M/D, YYYY年M月D日, an ISO datetime, YYYYMMDD or an Excel serial date, in the years 1900–2100";

/// The largest accepted amount, in currency units.
pub const MAX_AMOUNT: i64 = 100_000_000_000;

/// Why an amount shown as `shown` is rejected for its size (`bad_amount`).
pub fn beyond_largest_amount(shown: &str) -> String {
    format!(
        "`{shown}` is beyond the largest accepted amount (±{})",
        crate::format::thousands(MAX_AMOUNT as u64)
    )
}

/// Why an amount could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountError {
    /// Not a number in a recognised form.
    Malformed,
    /// A number beyond ±[`MAX_AMOUNT`].
    OutOfRange,
}

/// Parses a date; `None` when the text is not a date in a recognised format.
pub fn parse_date(raw: &[u8]) -> Option<NaiveDate> {
    let s = raw.trim_ascii();
    if s.is_empty() {
        return None;
    }
    if s.iter().all(|b| b.is_ascii_digit() || *b == b'.') && s[0] != b'.' {
        if s.len() == 8 && s.iter().all(u8::is_ascii_digit) {
            let y = digits(&s[0..4])?;
            let m = digits(&s[4..6])?;
            let d = digits(&s[6..8])?;
            if let Some(date) = ymd(y, m, d) {
                return Some(date);
            }
        }
        let dots = s.iter().filter(|b| **b == b'.').count();
        if dots == 0 || dots == 1 && s.last() != Some(&b'.') {
            return excel_serial(s);
        }
    }
    let mut p = Cursor { s, i: 0 };
    let y = p.number(4, 4)?;
    let sep = p.separator()?;
    let m = p.number(1, 2)?;
    let sep2 = p.separator()?;
    let same_kind = match (sep, sep2) {
        (Sep::Year, Sep::Month) => true,
        (Sep::Char(a), Sep::Char(b)) => a == b,
        _ => false,
    };
    if !same_kind {
        return None;
    }
    let d = p.number(1, 2)?;
    if sep == Sep::Year {
        p.eat_str("日".as_bytes());
    }
    let date = ymd(y, m, d)?;
    p.skip_spaces();
    if p.done() {
        return Some(date);
    }
    // A time part: 'T' or a space, then hh:mm[:ss[.fff]], then an optional zone.
    if p.peek() == Some(b'T') {
        p.i += 1;
    }
    p.skip_spaces();
    let h = p.number(1, 2)?;
    p.eat(b':').then_some(())?;
    let mi = p.number(2, 2)?;
    let mut sec = 0;
    if p.eat(b':') {
        sec = p.number(2, 2)?;
        if p.eat(b'.') || p.eat(b',') {
            p.number(1, 9)?;
        }
    }
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    p.skip_spaces();
    if p.eat(b'Z') || p.done() {
        return p.done().then_some(date);
    }
    if p.eat(b'+') || p.eat(b'-') {
        p.number(2, 2)?;
        let _ = p.eat(b':');
        if !p.done() {
            p.number(2, 2)?;
        }
        return p.done().then_some(date);
    }
    // 12-hour clocks: "2025/3/7 2:23 PM"
    let rest = &s[p.i..];
    (rest.eq_ignore_ascii_case(b"AM") || rest.eq_ignore_ascii_case(b"PM")).then_some(date)
}

/// Excel's 1900 date system: for every serial after 60 the date is 1899-12-30 plus the serial.
/// Only serials from 10000 (1927-05-18) to 73050 (2099-12-31) are taken as dates: smaller
/// numbers are far more likely to be a year, a quantity or an id in the wrong column.
fn excel_serial(s: &[u8]) -> Option<NaiveDate> {
    let text = std::str::from_utf8(s).ok()?;
    let v: f64 = text.parse().ok()?;
    if !(10_000.0..73_051.0).contains(&v) {
        return None;
    }
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    base.checked_add_signed(Duration::days(v.floor() as i64))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Sep {
    Char(u8),
    Year,
    Month,
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn eat_str(&mut self, t: &[u8]) -> bool {
        if self.s[self.i..].starts_with(t) {
            self.i += t.len();
            true
        } else {
            false
        }
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    fn number(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.i;
        while self.i < self.s.len() && self.i - start < max && self.s[self.i].is_ascii_digit() {
            self.i += 1;
        }
        if self.i - start < min {
            return None;
        }
        digits(&self.s[start..self.i])
    }

    fn separator(&mut self) -> Option<Sep> {
        for b in [b'-', b'/', b'.'] {
            if self.eat(b) {
                return Some(Sep::Char(b));
            }
        }
        if self.eat_str("年".as_bytes()) {
            return Some(Sep::Year);
        }
        if self.eat_str("月".as_bytes()) {
            return Some(Sep::Month);
        }
        None
    }
}

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    s.iter().try_fold(0u32, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

fn ymd(y: u32, m: u32, d: u32) -> Option<NaiveDate> {
    if !(1900..=2100).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(y as i32, m, d)
}

/// How an amount's digits are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DecimalMark {
    /// `1,234.50` (the default).
    #[default]
    Point,
    /// `1.234,50` or `1 234,50`.
    Comma,
}

const CURRENCY_WORDS: [&[u8]; 8] = [
    "¥".as_bytes(),
    "￥".as_bytes(),
    "元".as_bytes(),
    "€".as_bytes(),
    "£".as_bytes(),
    b"RMB",
    b"CNY",
    b"USD",
];

/// Parses a money amount: `Err(Malformed)` when the text is not a number in a recognised
/// form, `Err(OutOfRange)` beyond ±[`MAX_AMOUNT`].
///
/// Inlined, so that the common form's amount stays in registers: returned through memory, the
/// 16-byte amount was read back in one load from the callee's two 8-byte writes, which cannot
/// be forwarded (the load waits for the writes to land).
#[inline(always)]
pub fn parse_amount(raw: &[u8], mark: DecimalMark) -> Result<Money, AmountError> {
    match plain_units(raw, mark) {
        Some(units) => in_range(units),
        None => parse_general(raw, mark),
    }
}

/// [`parse_amount`] for the forms [`plain_units`] leaves.
#[inline(never)]
fn parse_general(raw: &[u8], mark: DecimalMark) -> Result<Money, AmountError> {
    let units = parse_units(raw, mark)
        .ok_or(AmountError::Malformed)?
        .ok_or(AmountError::OutOfRange)?;
    in_range(units)
}

/// `units` as an amount, unless beyond [`MAX_AMOUNT`].
#[inline]
fn in_range(units: i64) -> Result<Money, AmountError> {
    if units.unsigned_abs() > (MAX_AMOUNT * Money::SCALE) as u64 {
        return Err(AmountError::OutOfRange);
    }
    Ok(Money::from_units(units))
}

/// The amount as most exports write it, `-?digits` with up to four decimals after the decimal
/// mark and at most [`MAX_AMOUNT`], in one pass; `None` for anything else, which the general
/// parser reads (with the same result for what this one accepts: tested).
#[inline]
fn plain_units(raw: &[u8], mark: DecimalMark) -> Option<i64> {
    let decimal = match mark {
        DecimalMark::Point => b'.',
        DecimalMark::Comma => b',',
    };
    let (negative, digits) = match raw.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, raw),
    };
    let int_len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    // twelve digits hold MAX_AMOUNT; longer is left to the general parser's range check
    if int_len == 0 || int_len > 12 {
        return None;
    }
    let int = digits[..int_len]
        .iter()
        .fold(0i64, |v, b| v * 10 + i64::from(b - b'0'));
    if int > MAX_AMOUNT {
        return None;
    }
    let mut units = int * Money::SCALE;
    if let Some((&point, frac)) = digits[int_len..].split_first() {
        if point != decimal || frac.is_empty() || frac.len() > 4 {
            return None;
        }
        let mut scale = Money::SCALE;
        for b in frac {
            if !b.is_ascii_digit() {
                return None;
            }
            scale /= 10;
            units += i64::from(b - b'0') * scale;
        }
    }
    Some(if negative { -units } else { units })
}

/// `None`: malformed; `Some(None)`: a number too large for the money type.
fn parse_units(raw: &[u8], mark: DecimalMark) -> Option<Option<i64>> {
    let mut s = trim(raw);
    let mut negative = false;
    if s.first() == Some(&b'(') && s.last() == Some(&b')') {
        negative = true;
        s = trim(&s[1..s.len() - 1]);
    }
    // Signs and currency markers may come in any order before the digits, and currency
    // markers after them.
    loop {
        let before = s.len();
        if let Some(rest) = strip_sign(s) {
            if negative && rest.1 {
                return None;
            }
            negative |= rest.1;
            s = trim(rest.0);
        }
        if let Some(rest) = strip_currency_prefix(s) {
            s = trim(rest);
        }
        if s.len() == before {
            break;
        }
    }
    while let Some(rest) = strip_currency_suffix(s) {
        s = trim(rest);
    }
    if s.is_empty() || !s[0].is_ascii_digit() && s[0] != b'.' && s[0] != b',' {
        return None;
    }
    let units = if s.iter().any(|b| *b == b'e' || *b == b'E') {
        let v: f64 = std::str::from_utf8(s).ok()?.parse().ok()?;
        if !v.is_finite() {
            return None;
        }
        Money::from_f64(v).and_then(Money::units_i64)
    } else {
        fixed_point(s, mark)?
    };
    Some(units.map(|u| if negative { -u } else { u }))
}

fn trim(s: &[u8]) -> &[u8] {
    let mut s = s.trim_ascii();
    // the common case: nothing but ASCII at both ends
    if s.first().is_none_or(u8::is_ascii) && s.last().is_none_or(u8::is_ascii) {
        return s;
    }
    // non-breaking and narrow no-break spaces, as written by spreadsheet exports
    for ws in [
        "\u{a0}".as_bytes(),
        "\u{202f}".as_bytes(),
        "\u{3000}".as_bytes(),
    ] {
        while let Some(rest) = s.strip_prefix(ws) {
            s = rest.trim_ascii();
        }
        while let Some(rest) = s.strip_suffix(ws) {
            s = rest.trim_ascii();
        }
    }
    s
}

fn strip_sign(s: &[u8]) -> Option<(&[u8], bool)> {
    match s.first() {
        Some(b'-') => Some((&s[1..], true)),
        Some(b'+') => Some((&s[1..], false)),
        Some(b) if b.is_ascii() => None,
        _ => s.strip_prefix("−".as_bytes()).map(|r| (r, true)),
    }
}

fn strip_currency_prefix(s: &[u8]) -> Option<&[u8]> {
    // every marker starts with `$`, an upper-case letter or a non-ASCII byte
    if s.first()
        .is_none_or(|b| b.is_ascii() && !b.is_ascii_uppercase() && *b != b'$')
    {
        return None;
    }
    if let Some(rest) = s.strip_prefix(b"$") {
        return Some(rest);
    }
    CURRENCY_WORDS.iter().find_map(|w| s.strip_prefix(*w))
}

fn strip_currency_suffix(s: &[u8]) -> Option<&[u8]> {
    // every marker ends with an upper-case letter or a non-ASCII byte
    if s.last()
        .is_none_or(|b| b.is_ascii() && !b.is_ascii_uppercase())
    {
        return None;
    }
    CURRENCY_WORDS.iter().find_map(|w| s.strip_suffix(*w))
}

/// Digits with optional grouping and one decimal mark, to 1/10,000 units (rounded half away
/// from zero beyond four decimals).
fn fixed_point(s: &[u8], mark: DecimalMark) -> Option<Option<i64>> {
    let (decimal, group) = match mark {
        DecimalMark::Point => (b'.', b','),
        DecimalMark::Comma => (b',', b'.'),
    };
    let (int_part, frac_part) = match s.iter().position(|b| *b == decimal) {
        Some(p) => (&s[..p], Some(&s[p + 1..])),
        None => (s, None),
    };
    let mut int: i64 = 0;
    let mut overflow = false;
    let mut group_len: Option<usize> = None; // digits since the last separator, once one is seen
    let mut first_group = 0usize;
    let mut i = 0;
    while i < int_part.len() {
        let b = int_part[i];
        let sep_len = separator_len(&int_part[i..], group);
        if b.is_ascii_digit() {
            match int
                .checked_mul(10)
                .and_then(|v| v.checked_add(i64::from(b - b'0')))
            {
                Some(v) => int = v,
                None => overflow = true,
            }
            match group_len.as_mut() {
                Some(n) => *n += 1,
                None => first_group += 1,
            }
            i += 1;
        } else if sep_len > 0 {
            match group_len {
                None if (1..=3).contains(&first_group) => {}
                Some(3) => {}
                _ => return None,
            }
            group_len = Some(0);
            i += sep_len;
        } else {
            return None;
        }
    }
    if group_len.is_some_and(|n| n != 3) {
        return None;
    }
    let overflow = overflow || int > MAX_AMOUNT;
    // |int| ≤ MAX_AMOUNT here, so the units and the fraction below cannot overflow an i64.
    let mut units = if overflow { 0 } else { int * Money::SCALE };
    if let Some(frac) = frac_part {
        if int_part.is_empty() && frac.is_empty() {
            return None;
        }
        let mut scale = Money::SCALE / 10;
        let mut round_up = false;
        for (k, b) in frac.iter().enumerate() {
            if !b.is_ascii_digit() {
                return None;
            }
            if k < 4 {
                units += i64::from(b - b'0') * scale;
                scale /= 10;
            } else if k == 4 {
                round_up = *b >= b'5';
            }
        }
        if round_up {
            units += 1;
        }
    } else if int_part.is_empty() {
        return None;
    }
    Some((!overflow).then_some(units))
}

/// Length of a grouping separator at the start of `s`: the group character, a space, a
/// non-breaking space, a narrow no-break space or an apostrophe.
fn separator_len(s: &[u8], group: u8) -> usize {
    match s.first() {
        Some(&b) if b == group || b == b' ' || b == b'\'' => 1,
        _ => ["\u{a0}".as_bytes(), "\u{202f}".as_bytes()]
            .iter()
            .find(|ws| s.starts_with(ws))
            .map_or(0, |ws| ws.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> Option<String> {
        parse_date(s.as_bytes()).map(|d| d.to_string())
    }

    fn amount(s: &str) -> Option<String> {
        parse_amount(s.as_bytes(), DecimalMark::Point)
            .ok()
            .map(|m| m.to_string())
    }

    proptest::proptest! {
        #[test]
        fn the_plain_path_reads_what_the_general_parser_reads(
            text in "-?[0-9]{0,14}([.,][0-9]{0,6})?",
            comma in proptest::bool::ANY,
        ) {
            let mark = if comma { DecimalMark::Comma } else { DecimalMark::Point };
            let general = match parse_units(text.as_bytes(), mark) {
                None => Err(AmountError::Malformed),
                Some(None) => Err(AmountError::OutOfRange),
                Some(Some(u)) if u.unsigned_abs() > (MAX_AMOUNT * Money::SCALE) as u64 => {
                    Err(AmountError::OutOfRange)
                }
                Some(Some(u)) => Ok(Money::from_units(u)),
            };
            proptest::prop_assert_eq!(parse_amount(text.as_bytes(), mark), general);
        }
    }

    #[test]
    fn huge_amounts_are_out_of_range_not_wrapped() {
        for s in [
            "922337203685477.5808",
            "99999999999999999999999",
            "1e300",
            "100000000000.01",
        ] {
            assert_eq!(
                parse_amount(s.as_bytes(), DecimalMark::Point),
                Err(AmountError::OutOfRange),
                "{s}"
            );
        }
        assert_eq!(amount("100000000000").as_deref(), Some("100000000000.00"));
        assert_eq!(
            parse_amount(b"1e999", DecimalMark::Point),
            Err(AmountError::Malformed)
        );
    }

    #[test]
    fn implausible_dates_and_small_numbers_are_not_dates() {
        for s in [
            "2025",
            "2025.03",
            "100",
            "9999",
            "1025-03-07",
            "2101-01-01",
            "73051",
            "1899-12-31",
        ] {
            assert_eq!(date(s), None, "{s}");
        }
        assert_eq!(date("10000").as_deref(), Some("1927-05-18"));
        assert_eq!(date("73050").as_deref(), Some("2099-12-31"));
        assert_eq!(date("1900-01-01").as_deref(), Some("1900-01-01"));
    }

    fn amount_comma(s: &str) -> Option<String> {
        parse_amount(s.as_bytes(), DecimalMark::Comma)
            .ok()
            .map(|m| m.to_string())
    }

    #[test]
    fn dates_in_every_documented_form_parse_to_the_same_day() {
        for s in [
            "2025-03-07",
            "2025/3/7",
            "2025/03/07",
            "2025.3.7",
            "2025/3/7 14:23",
            "2025-03-07 14:23:59",
            "2025年3月7日",
            "2025年03月07日 08:00",
            "2025-03-07T14:23:00",
            "2025-03-07T14:23:00.123Z",
            "2025-03-07T23:30:00+08:00",
            "2025-03-07T23:30:00-0500",
            "2025/3/7 2:23 PM",
            " 2025-03-07 ",
            "20250307",
            "45723",
            "45723.75",
        ] {
            assert_eq!(date(s).as_deref(), Some("2025-03-07"), "{s}");
        }
    }

    #[test]
    fn excel_serials_use_the_1900_system() {
        // 36526 is 2000-01-01 and 45658 is 2025-01-01 in Excel's 1900 system
        assert_eq!(date("36526").as_deref(), Some("2000-01-01"));
        assert_eq!(date("45658").as_deref(), Some("2025-01-01"));
        assert_eq!(date("60"), None);
        assert_eq!(date("1"), None);
    }

    #[test]
    fn malformed_dates_are_refused() {
        for s in [
            "",
            "2025-13-01",
            "2025-02-30",
            "2025-3",
            "2025/3-7",
            "07/03/2025",
            "2025-03-07 25:00",
            "2025-03-07 abc",
            "yesterday",
            "12.5.3",
            "2025年3-7",
        ] {
            assert_eq!(date(s), None, "{s}");
        }
    }

    #[test]
    fn amounts_in_every_documented_form_parse() {
        for (s, want) in [
            ("1234.5", "1234.50"),
            ("1,234.50", "1234.50"),
            ("¥1,234.50", "1234.50"),
            ("￥1,234.50", "1234.50"),
            ("-¥200.00", "-200.00"),
            ("¥-200", "-200.00"),
            ("(200.00)", "-200.00"),
            ("$1,234.50", "1234.50"),
            ("USD 12", "12.00"),
            ("12元", "12.00"),
            ("RMB 1,000,000", "1000000.00"),
            ("1 234.50", "1234.50"),
            ("1\u{a0}234.50", "1234.50"),
            (".5", "0.50"),
            ("0.00005", "0.0001"),
            ("0.00004", "0.00"),
            ("1.2E+3", "1200.00"),
            ("+7", "7.00"),
            ("−7", "-7.00"),
        ] {
            assert_eq!(amount(s).as_deref(), Some(want), "{s}");
        }
    }

    #[test]
    fn decimal_comma_amounts_parse_with_the_option() {
        assert_eq!(amount_comma("1 234,50").as_deref(), Some("1234.50"));
        assert_eq!(amount_comma("1.234,50").as_deref(), Some("1234.50"));
        assert_eq!(amount_comma("-€200,5").as_deref(), Some("-200.50"));
        assert_eq!(
            amount("1 234,50"),
            None,
            "a decimal comma without the option is refused"
        );
    }

    #[test]
    fn malformed_amounts_are_refused() {
        for s in [
            "",
            "-",
            "abc",
            "1,5",
            "12,34,567",
            "1,2345",
            "1.2.3",
            "--5",
            "(-5)",
            "12 apples",
            "¥",
            ".",
            "1,234.5x",
        ] {
            assert_eq!(amount(s), None, "{s}");
        }
    }
}
