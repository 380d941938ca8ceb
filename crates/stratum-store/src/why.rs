//! Why a customer has its tier, and why it moved, in words: a stored reason as text, and the
//! numbers that crossed a threshold of the rules of the tiers it left and entered. Shared by
//! the command line (`diff`, `movers.csv`) and the report's history section.

use stratum_core::Lang;
use stratum_core::scheme::SchemeParams;

use crate::StoredReasonText;
use crate::chunk::StoredValue;
use crate::migrate::Mover;

/// A stored reason in words.
pub fn reason_text(reason: Option<&StoredReasonText>, lang: Lang) -> String {
    match reason {
        None => "-".into(),
        Some(StoredReasonText::Default) => lang
            .pick("默认等级（没有规则命中）", "default tier (no rule matched)")
            .into(),
        Some(StoredReasonText::Override { set_by, note }) => format!(
            "{} {set_by}: {note}",
            lang.pick("手动调整，来自", "override by")
        ),
        Some(StoredReasonText::Rule(columns)) => columns
            .iter()
            .map(|(c, v)| format!("{c}={}", value_text(v)))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// The numbers that crossed a threshold of a move's rules (`rules`: the old tier's, the new
/// tier's): a comparison of the old rule that held before and no longer does
/// (`annual_revenue 1,250,000 → 820,000 < 1,000,000`), one of the new rule that did not hold
/// and now does (`annual_revenue 420,000 → 520,000 ≥ 500,000`).
pub fn crossed(
    rules: [Option<&str>; 2],
    before: &dyn Fn(&str) -> Option<f64>,
    after: &dyn Fn(&str) -> Option<f64>,
) -> Vec<String> {
    use stratum_core::scheme::{Cmp, thresholds};
    let not = |op: Cmp| match op {
        Cmp::Eq => "≠",
        Cmp::Ne => "=",
        Cmp::Lt => "≥",
        Cmp::Le => ">",
        Cmp::Gt => "≤",
        Cmp::Ge => "<",
    };
    let mut lines = Vec::new();
    for (rule, old) in rules.into_iter().zip([true, false]) {
        for t in rule.map(thresholds).unwrap_or_default() {
            let (Some(b), Some(a)) = (before(&t.column), after(&t.column)) else {
                continue;
            };
            let op = match (old, t.holds(b), t.holds(a)) {
                (true, true, false) => not(t.op),
                (false, false, true) => t.op.symbol(),
                _ => continue,
            };
            let line = format!(
                "{} {} → {} {op} {}",
                t.column,
                shown_number(b),
                shown_number(a),
                shown_number(t.value)
            );
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
    }
    lines
}

/// The number kept for `column` (any case), if it is one.
pub fn number_in(values: &[(String, StoredValue)], column: &str) -> Option<f64> {
    values
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(column))
        .and_then(|(_, v)| match v {
            StoredValue::Number(x) => Some(*x),
            _ => None,
        })
}

/// A number as `diff` shows it: thousands separated, decimals only where it has them.
pub fn shown_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        stratum_core::format::number(x, 0)
    } else {
        stratum_core::format::number(x, 2)
    }
}

/// A stored value as text.
pub fn value_text(v: &StoredValue) -> String {
    match v {
        StoredValue::Number(x) => compact_number(*x),
        StoredValue::Text(t) => t.clone(),
        StoredValue::Empty => "(empty)".into(),
    }
}

/// Why `m` moved in `dimension`, in words: the numbers that crossed a threshold of the rule of
/// the tier it left (in `schemes.0`, the earlier run's scheme) or of the one it entered (in
/// `schemes.1`); without such a number, the reason of its tier after (before, when lost).
pub fn mover_why(
    m: &Mover,
    dimension: &str,
    schemes: (Option<&SchemeParams>, Option<&SchemeParams>),
    lang: Lang,
) -> String {
    let lines = match (&m.from, &m.to) {
        (Some(from), Some(to)) => mover_crossed(m, dimension, from, to, schemes),
        _ => Vec::new(),
    };
    if !lines.is_empty() {
        return lines.join("; ");
    }
    match m.reason_to.as_ref().or(m.reason_from.as_ref()) {
        Some(r) => reason_text(Some(r), lang),
        None => String::new(),
    }
}

/// The numbers that crossed a threshold of the rules of `m`'s tiers `from` and `to`.
pub fn mover_crossed(
    m: &Mover,
    dimension: &str,
    from: &str,
    to: &str,
    (from_scheme, to_scheme): (Option<&SchemeParams>, Option<&SchemeParams>),
) -> Vec<String> {
    crossed(
        [
            from_scheme.and_then(|s| s.tier_rule(dimension, from)),
            to_scheme.and_then(|s| s.tier_rule(dimension, to)),
        ],
        &|c: &str| number_in(&m.values_from, c),
        &|c: &str| number_in(&m.values_to, c),
    )
}

/// A kept number as text: whole numbers whole, others to at most four decimals.
pub fn compact_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        let text = format!("{x:.4}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}
