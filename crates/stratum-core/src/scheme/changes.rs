//! What changed between two versions of a scheme: dimensions and tiers added or removed, rules
//! rewritten, the tiers' rank and the order their rules are tried, the final dimension, and any
//! other section (`[lifecycle]`, `[strategies]`, `[cluster]`, …) that differs. Labels are
//! display text and are not compared. For `stratum scheme diff`.

use std::collections::BTreeSet;

use super::params::SchemeParams;

/// One change from an older scheme to a newer one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemeChange {
    /// A dimension only the newer scheme has.
    DimensionAdded(String),
    /// A dimension only the older scheme has.
    DimensionRemoved(String),
    /// A tier only the newer scheme has in a dimension both have, and its rule.
    TierAdded {
        /// The dimension.
        dimension: String,
        /// The tier.
        tier: String,
        /// Its rule (`None`: the default tier).
        rule: Option<String>,
    },
    /// A tier only the older scheme has in a dimension both have, and its rule.
    TierRemoved {
        /// The dimension.
        dimension: String,
        /// The tier.
        tier: String,
        /// Its rule (`None`: the default tier).
        rule: Option<String>,
    },
    /// A tier whose rule was rewritten.
    RuleChanged {
        /// The dimension.
        dimension: String,
        /// The tier.
        tier: String,
        /// The older rule (`None`: it was the default tier).
        from: Option<String>,
        /// The newer rule (`None`: it is the default tier).
        to: Option<String>,
    },
    /// The tiers of a dimension ranked in another order (best first).
    OrderChanged {
        /// The dimension.
        dimension: String,
        /// The older order.
        from: Vec<String>,
        /// The newer order.
        to: Vec<String>,
    },
    /// The rules of a dimension's tiers tried in another order (the first that holds wins).
    RuleOrderChanged {
        /// The dimension.
        dimension: String,
        /// The older order.
        from: Vec<String>,
        /// The newer order.
        to: Vec<String>,
    },
    /// Another dimension is the final one.
    FinalChanged {
        /// The older final dimension.
        from: String,
        /// The newer one.
        to: String,
    },
    /// A section other than the dimensions differs (`lifecycle`, `strategies`, `cluster`,
    /// `name`, …).
    SectionChanged(String),
}

/// The changes from `old` to `new`, dimension by dimension in the newer scheme's order (removed
/// dimensions first), then the other sections by name.
pub fn changes(old: &SchemeParams, new: &SchemeParams) -> Vec<SchemeChange> {
    let mut out = Vec::new();
    let (old_dims, new_dims) = (old.dimension_names(), new.dimension_names());
    for d in old_dims.iter().filter(|d| !new_dims.contains(d)) {
        out.push(SchemeChange::DimensionRemoved(d.to_string()));
    }
    for d in &new_dims {
        if !old_dims.contains(d) {
            out.push(SchemeChange::DimensionAdded(d.to_string()));
            continue;
        }
        let (old_tiers, new_tiers) = (old.tier_names(d), new.tier_names(d));
        let rule = |s: &SchemeParams, t: &str| s.tier_rule(d, t).map(str::to_string);
        for t in old_tiers.iter().filter(|t| !new_tiers.contains(t)) {
            out.push(SchemeChange::TierRemoved {
                dimension: d.to_string(),
                tier: t.to_string(),
                rule: rule(old, t),
            });
        }
        for t in &new_tiers {
            if !old_tiers.contains(t) {
                out.push(SchemeChange::TierAdded {
                    dimension: d.to_string(),
                    tier: t.to_string(),
                    rule: rule(new, t),
                });
            } else if rule(old, t) != rule(new, t) {
                out.push(SchemeChange::RuleChanged {
                    dimension: d.to_string(),
                    tier: t.to_string(),
                    from: rule(old, t),
                    to: rule(new, t),
                });
            }
        }
        let (old_rank, new_rank) = (old.ranked_tiers(d), new.ranked_tiers(d));
        let same_tiers =
            old_tiers.iter().collect::<BTreeSet<_>>() == new_tiers.iter().collect::<BTreeSet<_>>();
        let owned = |list: &[&str]| list.iter().map(|t| t.to_string()).collect();
        if same_tiers && old_rank != new_rank {
            out.push(SchemeChange::OrderChanged {
                dimension: d.to_string(),
                from: owned(&old_rank),
                to: owned(&new_rank),
            });
        }
        if same_tiers && old_tiers != new_tiers {
            out.push(SchemeChange::RuleOrderChanged {
                dimension: d.to_string(),
                from: owned(&old_tiers),
                to: owned(&new_tiers),
            });
        }
    }
    if let (Some(a), Some(b)) = (old.final_name(), new.final_name())
        && a != b
    {
        out.push(SchemeChange::FinalChanged {
            from: a.to_string(),
            to: b.to_string(),
        });
    }
    // every other top-level key, compared as TOML values
    let table = |s: &SchemeParams| s.text().parse::<toml::Table>().unwrap_or_default();
    let (a, b) = (table(old), table(new));
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for key in keys {
        if matches!(key.as_str(), "dimensions" | "final") {
            continue;
        }
        if a.get(key) != b.get(key) {
            out.push(SchemeChange::SectionChanged(key.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = r#"
name = "value"

[lifecycle]
churned_days = 365

[[dimensions]]
name = "tier"
[[dimensions.tiers]]
name = "big"
rule = "monetary >= 1000"
[[dimensions.tiers]]
name = "mid"
rule = "monetary >= 500"
[[dimensions.tiers]]
name = "small"

[[dimensions]]
name = "gone"
[[dimensions.tiers]]
name = "all"
"#;

    const NEW: &str = r#"
name = "value"

[lifecycle]
churned_days = 300

[[dimensions]]
name = "tier"
rank = ["big", "small"]
[[dimensions.tiers]]
name = "big"
rule = "monetary >= 1200"
[[dimensions.tiers]]
name = "small"

[[dimensions]]
name = "service"
[[dimensions.tiers]]
name = "all"
"#;

    #[test]
    fn the_changes_between_two_schemes_are_listed_by_dimension_and_tier() {
        let (old, new) = (
            SchemeParams::from_toml(OLD).expect("old"),
            SchemeParams::from_toml(NEW).expect("new"),
        );
        assert_eq!(
            changes(&old, &new),
            [
                SchemeChange::DimensionRemoved("gone".into()),
                SchemeChange::TierRemoved {
                    dimension: "tier".into(),
                    tier: "mid".into(),
                    rule: Some("monetary >= 500".into()),
                },
                SchemeChange::RuleChanged {
                    dimension: "tier".into(),
                    tier: "big".into(),
                    from: Some("monetary >= 1000".into()),
                    to: Some("monetary >= 1200".into()),
                },
                SchemeChange::DimensionAdded("service".into()),
                SchemeChange::FinalChanged {
                    from: "gone".into(),
                    to: "service".into(),
                },
                SchemeChange::SectionChanged("lifecycle".into()),
            ]
        );
        assert!(changes(&old, &old).is_empty());
    }

    #[test]
    fn a_new_rank_of_the_same_tiers_is_an_order_change() {
        let old = SchemeParams::from_toml(
            "[[dimensions]]\nname = \"t\"\n[[dimensions.tiers]]\nname = \"a\"\nrule = \"monetary > 1\"\n[[dimensions.tiers]]\nname = \"b\"\n",
        )
        .expect("old");
        let new = SchemeParams::from_toml(
            "[[dimensions]]\nname = \"t\"\nrank = [\"b\", \"a\"]\n[[dimensions.tiers]]\nname = \"a\"\nrule = \"monetary > 1\"\n[[dimensions.tiers]]\nname = \"b\"\n",
        )
        .expect("new");
        assert_eq!(
            changes(&old, &new),
            [SchemeChange::OrderChanged {
                dimension: "t".into(),
                from: vec!["a".into(), "b".into()],
                to: vec!["b".into(), "a".into()],
            }]
        );
    }
}
