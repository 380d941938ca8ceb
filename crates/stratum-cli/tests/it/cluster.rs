//! `stratum cluster` and `stratum validate` on a small seeded demo data set.

use std::path::Path;

use crate::{Run, stratum};

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
