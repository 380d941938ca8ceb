//! `stratum clv` on the CDNOW sample's transactions (`cdnow.csv`, converted from
//! `stratum-core/tests/data/clv/CDNOW_sample.txt`: sample id, date, dollars).

use std::path::Path;

use crate::{Run, stratum, test_fixture};

/// `stratum clv FLAG INPUT -o OUT EXTRA…` (`FLAG` is `-t` or `--summary`).
fn clv(flag: &str, input: &Path, out: &Path, extra: &[&str], tmp: &Path) -> Run {
    let (input, out) = (input.to_str().expect("utf-8"), out.to_str().expect("utf-8"));
    let mut args = vec!["clv", flag, input, "-o", out];
    args.extend_from_slice(extra);
    stratum(&args, tmp)
}

#[test]
fn clv_on_cdnow_transactions_reproduces_the_published_fit_and_holdout_table() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = test_fixture("cdnow.csv");
    let out = tmp.path().join("out");
    let run = clv(
        "-t",
        &input,
        &out,
        &["--holdout-from", "1997-10-01", "--model", "bgnbd"],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // From the transactions rather than the published summary, 8 customers whose only
    // purchase was a zero-dollar line are not buyers and 21 exact duplicate lines are dropped,
    // so the fit is close to, not equal to, the published r = 0.243, α = 4.414, a = 0.793,
    // b = 2.426 (stratum-core's tests match those exactly on the published summary).
    assert_published(&out, 0.01);
    insta::assert_snapshot!(run.stdout);
    let holdout = std::fs::read_to_string(out.join("holdout.csv")).expect("holdout.csv");
    insta::assert_snapshot!(holdout);
}

/// The BG/NBD parameters in `out/params.json` are the published CDNOW ones (r = 0.243,
/// α = 4.414, a = 0.793, b = 2.426) within the relative tolerance `tol`.
fn assert_published(out: &std::path::Path, tol: f64) {
    let params: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("params.json")).expect("params.json"),
    )
    .expect("json");
    let values = &params["transaction_model"]["values"];
    for (i, published) in [0.243, 4.414, 0.793, 2.426].iter().enumerate() {
        let v = values[i].as_f64().unwrap_or(f64::NAN);
        assert!(
            (v / published - 1.0).abs() < tol,
            "{i}: {v} against {published}"
        );
    }
}

#[test]
fn a_holdout_outside_the_data_is_a_plain_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = test_fixture("cdnow.csv");
    let out = tmp.path().join("out");
    let run = clv(
        "-t",
        &input,
        &out,
        &["--holdout-from", "1999-01-01"],
        tmp.path(),
    );
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.stderr);
}

#[test]
fn clv_on_the_published_cdnow_summary_gives_the_published_parameters() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../stratum-core/tests/data/clv/cdnow_customers_summary_with_transactions.csv");
    let out = tmp.path().join("out");
    let run = clv("--summary", &input, &out, &["--model", "bgnbd"], tmp.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    // r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL −9582.4 (Fader, Hardie & Lee 2005);
    // p = 6.25, q = 3.74, γ = 15.44 (Fader, Hardie & Lee 2005, "RFM and CLV")
    assert_published(&out, 0.002);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn summary_rows_too_long_or_with_recency_after_t_are_rejected_with_the_reason() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("summary.csv");
    // the published CDNOW summary with one row whose last purchase is after its age
    let published = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../stratum-core/tests/data/clv/cdnow_customers_summary_with_transactions.csv");
    let mut text = std::fs::read_to_string(published).expect("cdnow summary");
    // (the file ends without a line break; a row appended without one is one row too long)
    text.push_str("9998,1,2,3,4,5\n9999,2,31,30,12\n9997,0,5,30,\n");
    std::fs::write(&input, text).expect("write");
    let out = tmp.path().join("out");
    let run = clv(
        "--summary",
        &input,
        &out,
        &["--max-reject-rate", "5%"],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rejects = std::fs::read_to_string(out.join("rejects.csv")).expect("rejects.csv");
    insta::assert_snapshot!(rejects.replace(&tmp.path().display().to_string(), "[TMP]"));
}

#[test]
fn segment_clv_on_too_little_data_warns_and_still_writes_the_tiers() {
    // the hand fixture's ten customers are too few for the model (ten repeat buyers needed)
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let input = crate::fixture("hand.csv");
    let run = crate::segment(input.to_str().expect("utf-8"), &out, &["--clv"], tmp.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let warning: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning"))
        .collect();
    insta::assert_snapshot!(warning.join("\n"));
    assert!(out.join("customers.csv").exists() && !out.join("clv.csv").exists());
}

/// Customer 0811 of the CDNOW sample bought once, on 1997-02-02, 514 days before the day after
/// the last line (the analysis date): the lapsed one-time buyer of issue 16.
const LAPSED: &str = "0811";

/// The row of `customer` in a CSV file, with the header.
fn row_of(path: &Path, customer: &str) -> String {
    let text = std::fs::read_to_string(path).expect("csv");
    let header = text.lines().next().unwrap_or_default();
    let row = text
        .lines()
        .find(|l| l.starts_with(&format!("{customer},")))
        .unwrap_or_default();
    format!("{header}\n{row}")
}

#[test]
fn a_lapsed_one_time_buyer_has_a_churn_risk_under_the_default_model() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = test_fixture("cdnow.csv");
    // segment --clv with the default model (MBG/NBD)
    let out = tmp.path().join("segment");
    let run = crate::segment(input.to_str().expect("utf-8"), &out, &["--clv"], tmp.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let params: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("clv_params.json")).expect("clv_params.json"),
    )
    .expect("json");
    assert_eq!(params["model"], "MBG/NBD");
    let v: Vec<f64> = (0..4)
        .map(|i| {
            params["transaction_model"]["values"][i]
                .as_f64()
                .unwrap_or(f64::NAN)
        })
        .collect();
    let (r, alpha, a, b) = (v[0], v[1], v[2], v[3]);
    let default = row_of(&out.join("clv.csv"), LAPSED);
    let cells: Vec<&str> = default
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split(',')
        .collect();
    let number = |i: usize| cells[i].parse::<f64>().unwrap_or(f64::NAN);
    // x = 0 and T = 513 days in weeks (to the calibration end, the last day observed);
    // P(alive) = 1 / (1 + a/b · ((α+T)/α)^r) (Batislam et al.), against the file's four
    // decimals
    assert_eq!((cells[1], number(2)), ("0", 0.0));
    let t = 513.0 / 7.0;
    assert!((number(3) - t).abs() < 5e-5, "T {}", number(3));
    let p_alive = 1.0 / (1.0 + a / b * ((alpha + t) / alpha).powf(r));
    assert!(
        (number(5) - p_alive).abs() < 5e-5,
        "{} against {p_alive}",
        number(5)
    );
    assert!((number(6) - (1.0 - p_alive)).abs() < 5e-5);
    assert!(number(6) > 0.5, "churn risk {}", number(6));
    // the same customer under BG/NBD: never churned
    let bgnbd = tmp.path().join("bgnbd");
    let run = clv("-t", &input, &bgnbd, &["--model", "bgnbd"], tmp.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let bgnbd = row_of(&bgnbd.join("predictions.csv"), LAPSED);
    insta::assert_snapshot!(format!("MBG/NBD (default):\n{default}\n\nBG/NBD:\n{bgnbd}"));
}

#[test]
fn the_holdout_table_flags_a_model_that_misses_the_holdout_total_by_more_than_10_percent() {
    // the default MBG/NBD on CDNOW with three holdouts: from 1997-10-01 (39 weeks, the
    // published split) it predicts too few, from 1998-01-01 it is within 10%, from 1998-04-01
    // it predicts too many
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = test_fixture("cdnow.csv");
    let mut lines = Vec::new();
    for (from, verdict) in [
        ("1997-10-01", "under_predicts"),
        ("1998-01-01", "within"),
        ("1998-04-01", "over_predicts"),
    ] {
        let out = tmp.path().join(from);
        let run = clv("-t", &input, &out, &["--holdout-from", from], tmp.path());
        assert_eq!(run.code, 0, "{}", run.stderr);
        let params: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("params.json")).expect("params.json"),
        )
        .expect("json");
        assert_eq!(params["model"], "MBG/NBD");
        let check = &params["holdout_check"];
        let (actual, predicted) = (
            check["actual"].as_f64().unwrap_or(f64::NAN),
            check["predicted"].as_f64().unwrap_or(f64::NAN),
        );
        // the verdict follows from the two totals and the stated margin
        let miss = (predicted - actual) / actual;
        let expected = match miss {
            m if m.abs() <= 0.1 => "within",
            m if m < 0.0 => "under_predicts",
            _ => "over_predicts",
        };
        assert_eq!(
            expected, verdict,
            "{from}: {predicted} predicted, {actual} actual"
        );
        assert_eq!(check["verdict"], verdict, "{from}");
        assert_eq!(check["margin"], 0.1);
        let said = run
            .stdout
            .lines()
            .find(|l| l.starts_with("holdout total") || l.starts_with("warning: the model"));
        lines.push(format!("{from}: {}", said.unwrap_or_default()));
    }
    insta::assert_snapshot!(lines.join("\n"));
}
