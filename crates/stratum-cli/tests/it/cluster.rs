//! `stratum cluster` and `stratum validate` on a small seeded demo data set.

use std::path::Path;

use crate::{Run, csv_columns, stratum};

fn demo(tmp: &Path) -> String {
    let out = tmp.join("demo");
    let run = stratum(
        &[
            "demo",
            "--out",
            out.to_str().expect("utf-8"),
            "--customers",
            "400",
            "--transactions",
            "6000",
        ],
        tmp,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    out.join("transactions.csv").display().to_string()
}

/// `stratum segment` of `input` with the scheme `toml` (written beside), into `out`.
fn segment_with_scheme(input: &str, toml: &str, out: &Path, extra: &[&str], tmp: &Path) -> Run {
    let scheme = out.with_extension("toml");
    std::fs::write(&scheme, toml).expect("write scheme");
    let mut args = vec![
        "segment",
        "-t",
        input,
        "-o",
        out.to_str().expect("utf-8"),
        "--scheme",
        scheme.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    stratum(&args, tmp)
}

fn cluster(input: &str, out: &Path, extra: &[&str], tmp: &Path) -> Run {
    let mut args = vec!["cluster", "-t", input, "-o", out.to_str().expect("utf-8")];
    args.extend_from_slice(extra);
    stratum(&args, tmp)
}

#[test]
fn cluster_chooses_k_numbers_clusters_by_value_and_validates_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = demo(tmp.path());
    let out = tmp.path().join("out");
    let run = cluster(&input, &out, &[], tmp.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout);
    // the same seed gives the same files
    let again = tmp.path().join("again");
    let second = cluster(&input, &again, &[], tmp.path());
    assert_eq!(second.code, 0, "{}", second.stderr);
    for file in [
        "clusters.csv",
        "cluster_profiles.csv",
        "k_selection.csv",
        "validation.json",
    ] {
        let a = std::fs::read(out.join(file)).expect("first");
        let b = std::fs::read(again.join(file)).expect("second");
        assert!(a == b, "{file} differs between runs");
    }
}

#[test]
fn cluster_in_chinese_with_a_fixed_k_and_robust_scaling() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = demo(tmp.path());
    let out = tmp.path().join("out");
    let run = cluster(
        &input,
        &out,
        &["--k", "3", "--scale", "robust", "--lang", "zh"],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn an_unknown_feature_lists_the_number_columns() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = demo(tmp.path());
    let out = tmp.path().join("out");
    let run = cluster(
        &input,
        &out,
        &["--features", "recency_days,segment"],
        tmp.path(),
    );
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.stderr);
}

#[test]
fn validate_abc_classes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = demo(tmp.path());
    let out = tmp.path().join("out");
    let run = stratum(
        &[
            "validate",
            "-t",
            &input,
            "-o",
            out.to_str().expect("utf-8"),
            "--by",
            "abc_class",
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn validate_in_chinese_shows_chinese_headers_features_and_classes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = demo(tmp.path());
    let out = tmp.path().join("out");
    let run = stratum(
        &[
            "validate",
            "-t",
            &input,
            "-o",
            out.to_str().expect("utf-8"),
            "--by",
            "rfm_class",
            "--lang",
            "zh",
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout);
    // the files keep the codes, whatever the language
    let tests = std::fs::read_to_string(out.join("validation_tests.csv")).expect("csv");
    assert!(
        tests.starts_with("segmentation,feature,kruskal_wallis_h,"),
        "{tests}"
    );
}

#[test]
fn a_scheme_cluster_section_gives_rules_the_cluster_columns() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = demo(tmp.path());
    let out = tmp.path().join("out");
    let run = segment_with_scheme(
        &input,
        r#"
name = "By cluster"

[cluster]
k = 3
features = ["recency_days", "frequency", "monetary"]

[[dimensions]]
name = "tier"

[[dimensions.tiers]]
name = "best"
rule = "cluster = 1"

[[dimensions.tiers]]
name = "rest"
"#,
        &out,
        &["--report"],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // the report shows the clusters and validates them
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    assert!(html.contains("<section id=\"clusters\">"));
    assert!(html.contains("<h2>Clusters (k-means)</h2>"));
    assert!(
        html.contains("<h3>Clusters</h3>"),
        "no cluster validation table"
    );
    // the customers of cluster 1 are exactly the "best" tier
    let ids_where = |file: &str, column: &str, value: &str| {
        csv_columns(&out.join(file), &["customer_id", column])
            .into_iter()
            .filter(|r| r[1] == value)
            .map(|r| r[0].clone())
            .collect::<std::collections::BTreeSet<String>>()
    };
    let in_one = ids_where("clusters.csv", "cluster", "1");
    assert!(!in_one.is_empty());
    assert_eq!(in_one, ids_where("tiers.csv", "final_tier", "best"));
    let profiles = std::fs::read_to_string(out.join("cluster_profiles.csv")).expect("profiles");
    insta::assert_snapshot!(profiles);
}

/// Tiers, rule reasons and cluster codes are data: a scheme whose rules use `cluster_label`
/// places every customer the same under `--lang zh` and `--lang en`; only labels differ.
#[test]
fn tiers_reasons_and_cluster_codes_are_the_same_in_every_language() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = demo(tmp.path());
    let columns = |lang: &str| {
        let out = tmp.path().join(lang);
        let run = segment_with_scheme(
            &input,
            r#"
[cluster]
k = 3
features = ["recency_days", "frequency", "monetary"]

[[dimensions]]
name = "tier"

[[dimensions.tiers]]
name = "valuable"
rule = "cluster_label LIKE '%high_value%' OR monetary > 100000"

[[dimensions.tiers]]
name = "rest"
"#,
            &out,
            &["--lang", lang, "--no-xlsx"],
            tmp.path(),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let read = |file: &str, names: &[&str]| csv_columns(&out.join(file), names);
        let tiers = read(
            "tiers.csv",
            &["customer_id", "tier", "final_tier", "overridden"],
        );
        // a rule's reason is data, worded the same in both languages
        let reasons: Vec<Vec<String>> = read("tiers.csv", &["final_tier", "reason"])
            .into_iter()
            .filter(|r| r[0] == "valuable")
            .collect();
        // the code, not the words (`cluster_label` there is for people)
        let clusters = read("clusters.csv", &["customer_id", "cluster", "cluster_code"]);
        (tiers, reasons, clusters)
    };
    let (zh, en) = (columns("zh"), columns("en"));
    assert!(en.0.iter().any(|r| r[2] == "valuable") && en.0.iter().any(|r| r[2] == "rest"));
    assert!(!en.1.is_empty());
    for (what, a, b) in [
        ("tiers", &zh.0, &en.0),
        ("reasons", &zh.1, &en.1),
        ("clusters", &zh.2, &en.2),
    ] {
        assert_eq!(a.len(), b.len(), "{what}");
        if let Some((x, y)) = a.iter().zip(b.iter()).find(|(x, y)| x != y) {
            panic!("{what} differ between zh and en: {x:?} and {y:?}");
        }
    }
}
