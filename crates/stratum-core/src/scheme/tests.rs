//! Schemes on a hand-written profile: rule order, defaults, later dimensions reading earlier
//! ones, reasons, overrides and their expiry, and the errors a scheme author sees.

use chrono::NaiveDate;
use proptest::prelude::*;

use super::*;
use crate::labels::Lang;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
}

/// Four customers: revenue, tenure in months, industry, days since the last order.
fn profile4() -> (Profile, Vec<&'static str>) {
    let p = Profile::from_columns(
        4,
        vec![
            (
                "annual_revenue".into(),
                ColumnData::Number(vec![
                    Some(1_250_000.0),
                    Some(1_250_000.0),
                    Some(60_000.0),
                    None,
                ]),
            ),
            (
                "tenure_months".into(),
                ColumnData::Number(vec![Some(31.0), Some(12.0), Some(40.0), Some(3.0)]),
            ),
            (
                "industry".into(),
                ColumnData::Text(
                    vec![
                        Some("制造业".to_string()),
                        Some("retail".into()),
                        None,
                        Some("retail".into()),
                    ]
                    .into(),
                ),
            ),
            (
                "days_since_last_order".into(),
                ColumnData::Number(vec![Some(10.0), Some(200.0), Some(30.0), Some(400.0)]),
            ),
        ],
    );
    (p, vec!["C1", "C2", "C3", "C4"])
}

const B2B: &str = r#"
name = "test"

[[dimensions]]
name = "value"

[[dimensions.tiers]]
name = "strategic"
rule = "annual_revenue >= 1000000 AND tenure_months >= 24"

[[dimensions.tiers]]
name = "key"
rule = "annual_revenue >= 1000000"

[[dimensions.tiers]]
name = "standard"

[[dimensions.tiers]]
name = "growth"
rule = "industry = 'retail'"

[[dimensions]]
name = "tier"

[[dimensions.tiers]]
name = "at_risk"
rule = "value IN ('strategic', 'key') AND days_since_last_order > 180"

[[dimensions.tiers]]
name = "vip"
rule = "value = 'strategic'"

[[dimensions.tiers]]
name = "other"

[strategies.at_risk]
coverage = { zh = "高管拜访", en = "executive visit" }
response_hours = 4

[strategies.vip]
response_hours = 8

[strategies.other]
response_hours = 48
"#;

fn run(scheme: &str, overrides: &[Override]) -> (CheckedScheme, SchemeResult) {
    let (p, ids) = profile4();
    let s = SchemeParams::from_toml(scheme)
        .and_then(|s| s.check(p.catalog()))
        .unwrap_or_else(|e| panic!("{e}"));
    let r = s.apply(&p, &ids, overrides, d("2026-10-31"));
    (s, r)
}

fn names(s: &CheckedScheme, r: &SchemeResult) -> Vec<String> {
    r.assignments
        .iter()
        .map(|a| {
            a.tiers
                .iter()
                .enumerate()
                .map(|(d, &t)| s.dimensions[d].tiers[t as usize].name.as_str())
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect()
}

#[test]
fn the_first_matching_rule_wins_and_the_default_catches_the_rest() {
    let (s, r) = run(B2B, &[]);
    // C1: 1.25M and 31 months → strategic (before key); recent → vip.
    // C2: 1.25M, 12 months → key; 200 days → at_risk.
    // C3: 60k, no industry (NULL ≠ 'retail') → standard (the default, wherever it stands).
    // C4: no revenue, retail → growth (a rule after the default still applies).
    assert_eq!(
        names(&s, &r),
        [
            "strategic/vip",
            "key/at_risk",
            "standard/other",
            "growth/other"
        ]
    );
    let reasons: Vec<String> = r
        .assignments
        .iter()
        .map(|a| a.reason.text(&s, Lang::En))
        .collect();
    assert_eq!(
        reasons,
        [
            "value=strategic",
            "value=key in ('strategic', 'key'); days_since_last_order=200 > 180",
            "default tier (no rule matched)",
            "default tier (no rule matched)",
        ]
    );
    assert_eq!(
        s.strategies["at_risk"].coverage.pick(Lang::Zh, ""),
        "高管拜访"
    );
}

#[test]
fn overrides_win_until_they_expire_and_bad_ones_are_reported() {
    let o = |id: &str, tier: &str, expires: Option<&str>| Override {
        customer_id: id.into(),
        tier: tier.into(),
        reason: "key account in negotiation".into(),
        set_by: "the account manager".into(),
        set_on: Some(d("2026-10-01")),
        expires: expires.map(d),
    };
    let (s, r) = run(
        B2B,
        &[
            o("C3", "vip", Some("2026-10-31")), // last valid day = as_of: applied
            o("C1", "other", Some("2026-10-30")), // expired the day before as_of
            o("C2", "platinum", None),          // no such final tier
            o("C9", "vip", None),               // no such customer
        ],
    );
    assert_eq!(
        names(&s, &r),
        [
            "strategic/vip",
            "key/at_risk",
            "standard/vip",
            "growth/other"
        ]
    );
    assert!(r.assignments[2].overridden);
    assert_eq!(
        r.assignments[2].reason.text(&s, Lang::En),
        "override by the account manager on 2026-10-01: key account in negotiation"
    );
    assert_eq!(r.applied, 1);
    let why: Vec<(&str, SkipReason)> = r
        .skipped
        .iter()
        .map(|k| (k.item.customer_id.as_str(), k.why))
        .collect();
    assert_eq!(
        why,
        [
            ("C1", SkipReason::Expired),
            ("C2", SkipReason::UnknownTier),
            ("C9", SkipReason::UnknownCustomer)
        ]
    );
}

fn check_error(scheme: &str) -> String {
    let (p, _) = profile4();
    match SchemeParams::from_toml(scheme).and_then(|s| s.check(p.catalog())) {
        Ok(_) => "ok".into(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn scheme_errors_name_the_line_the_rule_and_the_position() {
    let typo = B2B.replace(
        "rule = \"annual_revenue >= 1000000 AND tenure",
        "rule = \"anual_revenue >= 1000000 AND tenure",
    );
    assert_eq!(
        check_error(&typo),
        "line 9: unknown column \"anual_revenue\" at rule strategic, position 1; did you mean \"annual_revenue\"?"
    );
    let types = B2B.replace("industry = 'retail'", "industry = 5");
    assert_eq!(
        check_error(&types),
        "line 20: = compares a text with a number (`5`) at rule growth, position 12; put text values in single quotes"
    );
    // a multi-line rule: the error's line is the line inside the file
    let multi = B2B.replace(
        "rule = \"industry = 'retail'\"",
        "rule = \"\"\"\nindustry = 'retail'\n  AND tenure_month > 1\"\"\"",
    );
    assert_eq!(
        check_error(&multi),
        "line 22: unknown column \"tenure_month\" at rule growth, position 7; did you mean \"tenure_months\"?"
    );
    assert_eq!(
        check_error(&B2B.replace(
            "name = \"standard\"",
            "name = \"standard\"\nrule = \"TRUE\""
        )),
        "line 5: dimension \"value\" has no default tier; give one tier no rule, so that every customer lands in a tier"
    );
    assert_eq!(
        check_error(&B2B.replace(
            "name = \"other\"",
            "name = \"other\"\n[[dimensions.tiers]]\nname = \"rest\""
        )),
        "line 36: dimension \"tier\" has two tiers without a rule (\"other\" and \"rest\"); exactly one, the default, catches the customers no rule matches"
    );
    assert_eq!(
        check_error(&B2B.replace("[strategies.other]", "[strategies.others]")),
        "line 43: strategy \"others\" is for no tier of the final dimension \"tier\"; its tiers are \"at_risk\", \"vip\", \"other\""
    );
    assert_eq!(
        check_error(&B2B.replace("response_hours = 48", "response_hour = 48")),
        "line 44: unknown field `response_hour`, expected one of `coverage`, `response_hours`, `follow_up_days`, `cadence`, `marketing`, `discount`, `notes`"
    );
    // `at_risk` names a tier of the final dimension
    assert_eq!(
        check_error(&B2B.replace(
            "name = \"test\"",
            "name = \"test\"\nat_risk = \"vip_at_rsk\""
        )),
        "line 3: at_risk = \"vip_at_rsk\" names no tier of the final dimension \"tier\"; its tiers are \"at_risk\", \"vip\", \"other\""
    );
    let (p, _) = profile4();
    let named = SchemeParams::from_toml(
        &B2B.replace("name = \"test\"", "name = \"test\"\nat_risk = \"at_risk\""),
    )
    .and_then(|s| s.check(p.catalog()))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(named.at_risk, Some(0));
    assert_eq!(
        named.dimensions[1].tiers[0].rule_text.as_deref(),
        Some("value IN ('strategic', 'key') AND days_since_last_order > 180")
    );
    assert_eq!(named.dimensions[1].tiers[2].rule_text, None);
    let (p, _) = profile4();
    let unnamed = SchemeParams::from_toml(B2B)
        .and_then(|s| s.check(p.catalog()))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(unnamed.at_risk, None);
    // a later dimension's rules see earlier dimensions, not the other way round
    let backwards = B2B.replace("industry = 'retail'", "tier = 'vip'");
    assert_eq!(
        check_error(&backwards),
        "line 20: unknown column \"tier\" at rule growth, position 1; see `stratum check --columns` for the columns a rule can use"
    );
}

proptest! {
    #[test]
    fn every_customer_lands_in_exactly_one_tier_per_dimension(
        rows in proptest::collection::vec((proptest::option::of(0.0..2e6f64), 0.0..60.0f64, 0.0..500.0f64, any::<bool>()), 1..40)
    ) {
        let n = rows.len();
        let p = Profile::from_columns(n, vec![
            ("annual_revenue".into(), ColumnData::Number(rows.iter().map(|r| r.0).collect())),
            ("tenure_months".into(), ColumnData::Number(rows.iter().map(|r| Some(r.1)).collect())),
            ("industry".into(), ColumnData::Text(rows.iter().map(|r| r.3.then_some("retail")).collect())),
            ("days_since_last_order".into(), ColumnData::Number(rows.iter().map(|r| Some(r.2)).collect())),
        ]);
        let ids: Vec<String> = (0..n).map(|i| format!("C{i}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let s = SchemeParams::from_toml(B2B).and_then(|s| s.check(p.catalog())).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let r = s.apply(&p, &ids, &[], d("2026-10-31"));
        prop_assert_eq!(r.assignments.len(), n);
        for a in &r.assignments {
            prop_assert_eq!(a.tiers.len(), s.dimensions.len());
            for (dim, &t) in s.dimensions.iter().zip(&a.tiers) {
                prop_assert!((t as usize) < dim.tiers.len());
            }
            prop_assert!(!a.reason.text(&s, Lang::En).is_empty());
        }
    }
}

#[test]
fn an_override_reaches_later_dimensions_and_the_latest_override_wins() {
    let scheme = B2B.replace("name = \"test\"", "name = \"test\"\nfinal = \"tier\"")
        + r#"
[[dimensions]]
name = "flag"

[[dimensions.tiers]]
name = "vip_flag"
rule = "tier = 'vip'"

[[dimensions.tiers]]
name = "none"
"#;
    let o = |id: &str, tier: &str, on: Option<&str>| Override {
        customer_id: id.into(),
        tier: tier.into(),
        reason: format!("set {on:?}"),
        set_by: String::new(),
        set_on: on.map(d),
        expires: None,
    };
    let (s, r) = run(
        &scheme,
        &[
            o("C3", "vip", Some("2026-09-01")),
            o("C3", "other", Some("2026-08-01")), // older than the first: superseded
            o("C4", "other", Some("2026-07-01")),
            o("C4", "vip", Some("2026-07-01")), // same day, later row: wins
            o("C2", "vip", Some("2026-11-15")), // set after as_of: the data lags, it applies
        ],
    );
    assert_eq!(
        names(&s, &r),
        [
            "strategic/vip/vip_flag",
            "key/vip/vip_flag",
            "standard/vip/vip_flag",
            "growth/vip/vip_flag"
        ]
    );
    assert_eq!(r.applied, 3);
    let why: Vec<(&str, &str, SkipReason)> = r
        .skipped
        .iter()
        .map(|k| (k.item.customer_id.as_str(), k.item.tier.as_str(), k.why))
        .collect();
    assert_eq!(
        why,
        [
            ("C3", "other", SkipReason::Superseded),
            ("C4", "other", SkipReason::Superseded),
        ]
    );
    assert_eq!(
        r.assignments[2].reason.text(&s, Lang::En),
        "override by the account manager on 2026-09-01: set Some(\"2026-09-01\")"
    );
}

#[test]
fn empty_tiers_and_values_no_customer_has_are_warnings() {
    // `growth` catches C4 (retail); nobody is 'Retail' with a capital; `never` is empty
    let scheme = B2B.replace(
        "name = \"growth\"\nrule = \"industry = 'retail'\"",
        "name = \"growth\"\nrule = \"industry IN ('Retail', 'retail')\"\n\n[[dimensions.tiers]]\nname = \"never\"\nrule = \"annual_revenue > 1e12\"",
    );
    let (p, _) = profile4();
    let (s, r) = run(&scheme, &[]);
    assert_eq!(
        s.warnings(&p, &r),
        [
            SchemeWarning::UnseenValue {
                dimension: "value".into(),
                tier: "growth".into(),
                column: "industry".into(),
                value: "Retail".into(),
                // retail twice, 制造业 once
                seen: vec!["retail".into(), "制造业".into()],
                distinct: 2,
            },
            SchemeWarning::EmptyTier {
                dimension: "value".into(),
                tier: "never".into(),
            },
        ]
    );
    assert_eq!(
        s.warnings(&p, &r)[0].text(Lang::En),
        "the rule of tier \"growth\" of dimension \"value\" compares industry with 'Retail', which no customer has; its values include 'retail', '制造业'"
    );
}

#[test]
fn a_misspelt_tier_of_an_earlier_dimension_is_an_error() {
    let (p, _) = profile4();
    let e = SchemeParams::from_toml(&B2B.replace("value = 'strategic'", "value = 'stratgic'"))
        .and_then(|s| s.check(p.catalog()))
        .err();
    let Some(SchemeError::Rule { error, .. }) = e else {
        panic!("not a rule error: {e:?}")
    };
    assert_eq!(
        *error.kind,
        RuleErrorKind::UnknownValue {
            column: "value".into(),
            value: "stratgic".into(),
            suggestion: Some("strategic".into()),
        }
    );
}

#[test]
fn a_dimension_ranks_its_tiers_by_its_rank_list_else_by_their_order() {
    let (scheme, _) = run(B2B, &[]);
    // no rank list: the order of the tiers
    assert_eq!(scheme.dimensions[0].rank, [0, 1, 2, 3]);
    let ranked = B2B.replacen(
        "[[dimensions]]\nname = \"value\"\n",
        "[[dimensions]]\nname = \"value\"\nrank = [\"strategic\", \"key\", \"growth\", \"standard\"]\n",
        1,
    );
    let (scheme, _) = run(&ranked, &[]);
    // by tier index (strategic, key, standard, growth): standard ranks below growth
    assert_eq!(scheme.dimensions[0].rank, [0, 1, 3, 2]);
    let with = |list: &str| {
        check_error(&B2B.replacen(
            "[[dimensions]]\nname = \"value\"\n",
            &format!("[[dimensions]]\nname = \"value\"\nrank = {list}\n"),
            1,
        ))
    };
    assert!(
        with(r#"["strategic", "key", "growht", "standard"]"#).contains(
            "rank names \"growht\", which is not one of its tiers (strategic, key, standard, growth)"
        )
    );
    assert!(
        with(r#"["strategic", "key", "key", "growth", "standard"]"#)
            .contains("rank names \"key\" twice")
    );
    assert!(with(r#"["strategic", "key", "growth"]"#).contains("rank leaves out \"standard\""));
}
