//! What changed between two scheme versions, in words: one line per change, in Chinese or
//! English, each marked `+` (added), `-` (removed) or `~` (changed). For `stratum scheme diff`,
//! the API and the dashboard.

use stratum_core::Lang;
use stratum_core::scheme::SchemeChange;

/// The mark of `change`: `+` added, `-` removed, `~` changed.
pub fn mark(change: &SchemeChange) -> char {
    match change {
        SchemeChange::DimensionAdded(_) | SchemeChange::TierAdded { .. } => '+',
        SchemeChange::DimensionRemoved(_) | SchemeChange::TierRemoved { .. } => '-',
        _ => '~',
    }
}

/// `change` in words in `lang`, after its mark (`+ dimension value`, `~ value.key: a → b`).
pub fn line(change: &SchemeChange, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    let t = |z: &'static str, e: &'static str| if zh { z } else { e };
    let rule = |r: &Option<String>| {
        r.clone()
            .unwrap_or_else(|| t("（默认层级）", "(default tier)").to_string())
    };
    let list = |v: &[String]| v.join(t("、", ", "));
    let text = match change {
        SchemeChange::DimensionAdded(d) | SchemeChange::DimensionRemoved(d) => {
            format!("{} {d}", t("维度", "dimension"))
        }
        SchemeChange::TierAdded {
            dimension,
            tier,
            rule: r,
        }
        | SchemeChange::TierRemoved {
            dimension,
            tier,
            rule: r,
        } => format!("{dimension}.{tier}: {}", rule(r)),
        SchemeChange::RuleChanged {
            dimension,
            tier,
            from,
            to,
        } => format!("{dimension}.{tier}: {} → {}", rule(from), rule(to)),
        SchemeChange::OrderChanged {
            dimension,
            from,
            to,
        } => format!(
            "{dimension} {}: {} → {}",
            t("层级顺序（从高到低）", "order (best first)"),
            list(from),
            list(to)
        ),
        SchemeChange::RuleOrderChanged {
            dimension,
            from,
            to,
        } => format!(
            "{dimension} {}: {} → {}",
            t("规则的判断顺序", "rules tried in the order"),
            list(from),
            list(to)
        ),
        SchemeChange::FinalChanged { from, to } => {
            format!("{}: {from} → {to}", t("最终维度", "final dimension"))
        }
        SchemeChange::SectionChanged(key) => format!("[{key}] {}", t("有改动", "changed")),
    };
    format!("{} {text}", mark(change))
}

/// Every change, a line each; "no changes" when there is none.
pub fn text(changes: &[SchemeChange], lang: Lang) -> String {
    if changes.is_empty() {
        return format!(
            "{}\n",
            if lang == Lang::Zh {
                "没有改动"
            } else {
                "no changes"
            }
        );
    }
    changes.iter().map(|c| line(c, lang) + "\n").collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_change_reads_as_one_marked_line_in_either_language() {
        let changes = vec![
            SchemeChange::DimensionAdded("risk".into()),
            SchemeChange::TierRemoved {
                dimension: "value".into(),
                tier: "silver".into(),
                rule: None,
            },
            SchemeChange::RuleChanged {
                dimension: "value".into(),
                tier: "gold".into(),
                from: Some("monetary >= 1000".into()),
                to: Some("monetary >= 2000".into()),
            },
            SchemeChange::OrderChanged {
                dimension: "value".into(),
                from: vec!["a".into(), "b".into()],
                to: vec!["b".into(), "a".into()],
            },
            SchemeChange::FinalChanged {
                from: "value".into(),
                to: "risk".into(),
            },
            SchemeChange::SectionChanged("lifecycle".into()),
        ];
        assert_eq!(
            text(&changes, Lang::En),
            "+ dimension risk\n\
             - value.silver: (default tier)\n\
             ~ value.gold: monetary >= 1000 → monetary >= 2000\n\
             ~ value order (best first): a, b → b, a\n\
             ~ final dimension: value → risk\n\
             ~ [lifecycle] changed\n"
        );
        assert_eq!(
            text(&changes, Lang::Zh),
            "+ 维度 risk\n\
             - value.silver: （默认层级）\n\
             ~ value.gold: monetary >= 1000 → monetary >= 2000\n\
             ~ value 层级顺序（从高到低）: a、b → b、a\n\
             ~ 最终维度: value → risk\n\
             ~ [lifecycle] 有改动\n"
        );
        assert_eq!(text(&[], Lang::En), "no changes\n");
    }
}
