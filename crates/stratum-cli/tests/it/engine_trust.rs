//! The engine never gives a silently wrong number and no input crashes it: money sums that
//! cannot wrap, statistics on data that do not vary, rules tens of thousands of terms long,
//! scheme values checked like columns, and tiers that do not depend on the display language.

use std::fs;
use std::path::Path;

use crate::{fixture, segment, stratum, test_fixture};

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The values of `column` per `customer_id` in a CSV output, in file order.
fn column(file: &Path, name: &str) -> Vec<(String, String)> {
    let mut reader = csv::Reader::from_path(file).unwrap_or_else(|e| panic!("{e}"));
    let header = reader.headers().expect("header").clone();
    let at = |n: &str| {
        header
            .iter()
            .position(|h| h == n)
            .unwrap_or_else(|| panic!("no column {n} in {}", file.display()))
    };
    let (id, col) = (at("customer_id"), at(name));
    reader
        .records()
        .map(|r| {
            let r = r.expect("record");
            (r[id].to_string(), r[col].to_string())
        })
        .collect()
}

/// A scheme with one dimension `value` whose tier `big` has `rule` and `small` is the default.
fn one_rule_scheme(dir: &Path, rule: &str) -> std::path::PathBuf {
    let path = dir.join("scheme.toml");
    fs::write(
        &path,
        format!(
            "[[dimensions]]\nname = \"value\"\n\n[[dimensions.tiers]]\nname = \"big\"\nrule = \"{rule}\"\n\n[[dimensions.tiers]]\nname = \"small\"\n"
        ),
    )
    .expect("write scheme");
    path
}

// ── money ───────────────────────────────────────────────────────────────────────────────

#[test]
fn a_customer_with_many_lines_near_the_largest_amount_sums_exactly_never_negative() {
    // 10,000 lines of 99,999,999,999.99 (just under the largest accepted amount, 100 billion):
    // 999,999,999,999,900.00 in all, 10^19 units of 1/10,000, beyond an i64 (9.2 · 10^18)
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut csv = String::from("customer_id,order_id,order_date,amount\n");
    for i in 0..10_000 {
        csv.push_str(&format!(
            "BIG,o{i},2025-{:02}-{:02},99999999999.99\n",
            1 + i % 12,
            1 + i % 28
        ));
    }
    csv.push_str("S1,s1,2025-03-01,10\nS2,s2,2025-04-01,20\n");
    let input = tmp.path().join("big.csv");
    fs::write(&input, csv).expect("write");
    let out = tmp.path().join("out");
    let run = segment(s(&input), &out, &[], tmp.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let monetary = column(&out.join("customers.csv"), "monetary");
    assert_eq!(
        monetary,
        [
            ("BIG".to_string(), "999999999999900.00".to_string()),
            ("S1".to_string(), "10.00".to_string()),
            ("S2".to_string(), "20.00".to_string()),
        ]
    );
    let revenue: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("net revenue") || l.contains("purchase lines"))
        .collect();
    insta::assert_snapshot!(revenue.join("\n"), @"
      purchase lines                             10,002 (999,999,999,999,930.00)
      net revenue                                999,999,999,999,930.00
    ");
}

// ── statistics on data that do not vary ─────────────────────────────────────────────────

/// A one-day export: one order per customer, of `amounts`.
fn one_day(dir: &Path, amounts: &[u32]) -> String {
    let path = dir.join("one_day.csv");
    let mut csv = String::from("customer_id,order_id,order_date,amount\n");
    for (i, a) in amounts.iter().enumerate() {
        csv.push_str(&format!("K{i},o{i},2025-01-01,{a}\n"));
    }
    fs::write(&path, csv).expect("write");
    s(&path).to_string()
}

#[test]
fn validate_on_data_that_do_not_vary_names_the_undefined_tests_and_succeeds() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // class A: the 5,000 customer, class B: the three of 100 (ANOVA of recency was 0/0
    // here, and statrs panicked on it)
    let input = one_day(tmp.path(), &[100, 100, 100, 5000]);
    let out = tmp.path().join("out");
    let validate = |by: &str| {
        stratum(
            &[
                "validate",
                "-t",
                &input,
                "-o",
                s(&out),
                "--by",
                by,
                "--features",
                "recency_days,frequency,monetary",
            ],
            tmp.path(),
        )
    };
    let run = validate("abc_class");
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!(fs::read_to_string(out.join("validation_tests.csv")).expect("read"), @"
    segmentation,feature,kruskal_wallis_h,df,p_value,epsilon_squared,anova_f,anova_p_value,undefined
    abc_class,recency_days,,,,,,,kruskal_wallis: no_variance; anova: no_variance
    abc_class,frequency,,,,,,,kruskal_wallis: no_variance; anova: no_variance
    abc_class,monetary,3.0000,1,0.0833,1.0000,,,anova: no_within_variance
    ");
    // quantile scores on four customers are flagged; groups of one and three get no verdict
    insta::assert_snapshot!(run.stderr, @r#"
    warning: RFM quantile scores over only 4 customers (fewer than 20): the scores and classes say little
    note: features that defined the segments differ by construction; ε² and the pairwise warnings say more
    validation: segments "A", "B" hold fewer than 10 customers each: too few to tell whether they differ from others
    wrote [TMP]/out: rejects.csv, validation.csv, validation_tests.csv, validation.json
    "#);
    // one segment only: nothing to compare
    let run = validate("lifecycle");
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!(fs::read_to_string(out.join("validation_tests.csv")).expect("read"), @"
    segmentation,feature,kruskal_wallis_h,df,p_value,epsilon_squared,anova_f,anova_p_value,undefined
    lifecycle,recency_days,,,,,,,kruskal_wallis: fewer_than_two_groups; anova: fewer_than_two_groups
    lifecycle,frequency,,,,,,,kruskal_wallis: fewer_than_two_groups; anova: fewer_than_two_groups
    lifecycle,monetary,,,,,,,kruskal_wallis: fewer_than_two_groups; anova: fewer_than_two_groups
    ");
}

#[test]
fn cluster_on_a_one_day_export_reports_undefined_tests_and_succeeds() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = one_day(tmp.path(), &[100, 200, 5000]);
    let out = tmp.path().join("out");
    let run = stratum(
        &["cluster", "-t", &input, "-o", s(&out), "--k", "2"],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    // recency and frequency are the same for everyone; the two clusters hold one and two
    // customers: no "do not differ" verdict, the segments named as too small instead
    insta::assert_snapshot!(fs::read_to_string(out.join("validation_tests.csv")).expect("read"), @"
    segmentation,feature,kruskal_wallis_h,df,p_value,epsilon_squared,anova_f,anova_p_value,undefined
    cluster,recency_days,,,,,,,kruskal_wallis: no_variance; anova: no_variance
    cluster,frequency,,,,,,,kruskal_wallis: no_variance; anova: no_variance
    cluster,monetary,1.5000,1,0.2207,0.7500,3136.3333,0.0114,
    ");
    let validation: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("validation"))
        .collect();
    insta::assert_snapshot!(validation.join("\n"), @r#"validation: segments "1", "2" hold fewer than 10 customers each: too few to tell whether they differ from others"#);
}

#[test]
fn segment_on_data_that_do_not_vary_writes_every_output_and_names_the_undefined_tests() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = one_day(tmp.path(), &[100, 100, 100, 5000]);
    let out = tmp.path().join("out");
    let run = segment(&input, &out, &[], tmp.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(!run.stderr.contains("not significantly different"));
    let notes: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("validation abc_class") || l.starts_with("warning"))
        .collect();
    insta::assert_snapshot!(notes.join("\n"), @r#"
    warning: RFM quantile scores over only 4 customers (fewer than 20): the scores and classes say little
    validation abc_class: segments "A", "B" hold fewer than 10 customers each: too few to tell whether they differ from others
    validation abc_class: Kruskal–Wallis (recency_days) undefined: the values do not vary
    validation abc_class: ANOVA (recency_days) undefined: the values do not vary
    validation abc_class: Kruskal–Wallis (frequency) undefined: the values do not vary
    validation abc_class: ANOVA (frequency) undefined: the values do not vary
    validation abc_class: ANOVA (monetary) undefined: no variance within groups
    "#);
    for file in [
        "customers.csv",
        "stratum.xlsx",
        "validation_tests.csv",
        "validation.json",
    ] {
        assert!(out.join(file).exists(), "no {file}");
    }
}

// ── long rules ──────────────────────────────────────────────────────────────────────────

#[test]
fn a_rule_of_fifty_thousand_or_terms_is_checked_and_applied() {
    // (this test runs on a test thread: 2 MiB of stack)
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut rule: Vec<String> = (1..50_000).map(|i| format!("frequency = -{i}")).collect();
    rule.push("annual_revenue >= 5000".into());
    let scheme = one_rule_scheme(tmp.path(), &rule.join(" OR "));
    let check = stratum(&["check", s(&scheme)], tmp.path());
    assert_eq!(check.code, 0, "{}", check.stderr);
    let out = tmp.path().join("out");
    let input = fixture("hand.csv");
    let run = segment(s(&input), &out, &["--scheme", s(&scheme)], tmp.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    // C03 (5,000 in the 12 months) and C09 (6,000): see scheme.rs
    let big: Vec<String> = column(&out.join("tiers.csv"), "value")
        .into_iter()
        .filter(|(_, t)| t == "big")
        .map(|(id, _)| id)
        .collect();
    assert_eq!(big, ["C03", "C09"]);
}

#[test]
fn nesting_beyond_the_limits_is_refused_with_the_limit() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let parens = format!("{}frequency > 0{}", "(".repeat(60), ")".repeat(60));
    let scheme = one_rule_scheme(tmp.path(), &parens);
    let run = stratum(&["check", s(&scheme)], tmp.path());
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.stderr, @"error: scheme `[TMP]/scheme.toml`, line 6: the rule is nested more than 50 levels deep at rule big, position 1; use fewer parentheses, or split the rule");
    // a chain of 50,000 additions is as deep as it is long
    let sum = format!("{} > 0", vec!["frequency"; 50_000].join(" + "));
    let scheme = one_rule_scheme(tmp.path(), &sum);
    let run = stratum(&["check", s(&scheme)], tmp.path());
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("the rule is nested more than 200 operators deep"),
        "{}",
        run.stderr
    );
}

// ── values ──────────────────────────────────────────────────────────────────────────────

#[test]
fn a_misspelt_lifecycle_stage_is_an_error_with_a_suggestion() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let scheme = one_rule_scheme(tmp.path(), "lifecycle = 'chruned'");
    let run = stratum(&["check", s(&scheme)], tmp.path());
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.stderr, @"error: scheme `[TMP]/scheme.toml`, line 6: 'chruned' is not a value of lifecycle; its values are 'new', 'growing', 'stable', 'churn_warning', 'churned' at rule big, position 13; did you mean 'churned'?");
    // IN lists, RFM segments and ABC classes too
    let scheme = one_rule_scheme(tmp.path(), "rfm_segment IN ('champions', 'loyl')");
    let run = stratum(&["check", s(&scheme)], tmp.path());
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("did you mean 'loyal'?"),
        "{}",
        run.stderr
    );
    let scheme = one_rule_scheme(tmp.path(), "abc_class <> 'a'");
    let run = stratum(&["check", s(&scheme)], tmp.path());
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("did you mean 'A'?"), "{}", run.stderr);
}

#[test]
fn a_misspelt_tier_of_an_earlier_dimension_is_an_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("scheme.toml");
    let text = fs::read_to_string(test_fixture("hand_scheme.toml"))
        .expect("read")
        .replace("rule = \"value <> 'small'\"", "rule = \"value <> 'smal'\"");
    fs::write(&path, text).expect("write");
    let run = stratum(
        &["check", s(&path), "-c", s(&test_fixture("hand_master.csv"))],
        tmp.path(),
    );
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.stderr, @"error: scheme `[TMP]/scheme.toml`, line 34: 'smal' is not a value of value; its values are 'big', 'mid', 'small' at rule key, position 10; did you mean 'small'?");
}

#[test]
fn numbers_that_are_not_finite_are_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for (rule, message) in [
        (
            "tenure_months = nan",
            "`nan` is not a number a rule can compare with at rule big, position 17",
        ),
        (
            "tenure_months < INF",
            "`INF` is not a number a rule can compare with at rule big, position 17",
        ),
        (
            "tenure_months < 1e999",
            "`1e999` is beyond the range of numbers at rule big, position 17",
        ),
    ] {
        let scheme = one_rule_scheme(tmp.path(), rule);
        let run = stratum(&["check", s(&scheme)], tmp.path());
        assert_eq!(run.code, 1, "{rule}");
        assert!(run.stderr.contains(message), "{rule}: {}", run.stderr);
    }
}

#[test]
fn values_no_customer_has_and_empty_tiers_are_warnings_of_the_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("scheme.toml");
    // 制造 is not an industry of the master data (制造业 is); no customer has 10 million
    let text = fs::read_to_string(test_fixture("hand_scheme.toml"))
        .expect("read")
        .replace("industry = '制造业'", "industry = '制造'")
        .replace("annual_revenue >= 5000", "annual_revenue >= 10000000");
    fs::write(&path, text).expect("write");
    let out = tmp.path().join("out");
    let run = segment(
        s(&fixture("hand.csv")),
        &out,
        &[
            "-c",
            s(&test_fixture("hand_master.csv")),
            "--scheme",
            s(&path),
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("tier warning"))
        .collect();
    insta::assert_snapshot!(warnings.join("\n"), @r#"
    tier warning                                    no customer is in tier "big" of dimension "value"
    tier warning                                    the rule of tier "vip" of dimension "tier" compares industry with '制造', which no customer has; its values include '制造业', '零售'
    tier warning                                    no customer is in tier "vip" of dimension "tier"
    "#);
    let quality: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("quality.json")).expect("read"))
            .expect("json");
    insta::assert_snapshot!(serde_json::to_string(&quality["scheme"]["warnings"]).expect("json"), @r#"
    [{"dimension":"value","kind":"empty_tier","tier":"big"},{"column":"industry","dimension":"tier","distinct":2,"kind":"unseen_value","seen":["制造业","零售"],"tier":"vip","value":"制造"},{"dimension":"tier","kind":"empty_tier","tier":"vip"}]
    "#);
}

// ── language ────────────────────────────────────────────────────────────────────────────

#[test]
fn a_rule_on_cluster_label_tiers_the_same_in_chinese_and_english() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let demo = tmp.path().join("demo");
    let run = stratum(
        &[
            "demo",
            "--out",
            s(&demo),
            "--customers",
            "300",
            "--transactions",
            "4000",
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let input = demo.join("transactions.csv");
    let scheme = tmp.path().join("clusters.toml");
    fs::write(
        &scheme,
        "[cluster]\nk = 3\nfeatures = [\"recency_days\", \"frequency\", \"monetary\"]\n\n\
         [[dimensions]]\nname = \"tier\"\n\n\
         [[dimensions.tiers]]\nname = \"best\"\nrule = \"cluster_label LIKE 'high_value%'\"\n\n\
         [[dimensions.tiers]]\nname = \"rest\"\n",
    )
    .expect("write scheme");
    let tiers = |lang: &str| {
        let out = tmp.path().join(lang);
        let run = segment(
            s(&input),
            &out,
            &["--scheme", s(&scheme), "--lang", lang],
            tmp.path(),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let best: Vec<String> = column(&out.join("tiers.csv"), "tier")
            .into_iter()
            .filter(|(_, t)| t == "best")
            .map(|(id, _)| id)
            .collect();
        // the code in data, the words in the language
        let codes: Vec<(String, String)> = column(&out.join("tiers.csv"), "tier");
        (best, codes)
    };
    let (zh, zh_tiers) = tiers("zh");
    let (en, en_tiers) = tiers("en");
    assert!(!en.is_empty(), "no customer in the high-value cluster");
    assert_eq!(zh, en);
    assert_eq!(zh_tiers, en_tiers);
    // a misspelt cluster code is caught before the run
    let bad = tmp.path().join("bad.toml");
    fs::write(
        &bad,
        fs::read_to_string(&scheme).expect("read").replace(
            "cluster_label LIKE 'high_value%'",
            "cluster_label = 'high_valeu'",
        ),
    )
    .expect("write");
    let run = stratum(&["check", s(&bad)], tmp.path());
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("did you mean 'high_value'?"),
        "{}",
        run.stderr
    );
}
