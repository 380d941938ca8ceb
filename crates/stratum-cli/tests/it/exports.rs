//! Exports as users have them: sales to guests (no customer id) and lines that repeat,
//! counted with their revenue and never hidden.

use std::fs;
use std::path::Path;

use crate::segment;

use crate::arg as s;

use crate::quality_json as quality;

/// A retail export of the four needed columns: 12 customers with 3 orders each, 9 sales to
/// guests (20% of the lines, 450.00) and 3 lines repeated word for word (60.00).
fn retail(dir: &Path) -> std::path::PathBuf {
    let mut text = String::from("customer_id,invoice,order_date,amount\n");
    let mut n = 0;
    for c in 0..12 {
        for k in 0..3 {
            n += 1;
            let line = format!(
                "C{c:02},I{n:03},2025-0{}-{:02},{}.00\n",
                k + 1,
                (c * 3 + k) % 27 + 1,
                10 + (c * 7 + k * 13) % 90
            );
            text.push_str(&line);
            if n % 12 == 0 {
                // the same product twice in one order: the export has no line column
                text.push_str(&format!(
                    "C{c:02},I{n:03},2025-0{}-{:02},20.00\n",
                    k + 1,
                    28
                ));
                text.push_str(&format!(
                    "C{c:02},I{n:03},2025-0{}-{:02},20.00\n",
                    k + 1,
                    28
                ));
            }
        }
    }
    for g in 0..9 {
        text.push_str(&format!(",G{g:02},2025-02-{:02},50.00\n", g + 1));
    }
    let path = dir.join("retail.csv");
    fs::write(&path, text).expect("write");
    path
}

#[test]
fn guests_are_anonymous_sales_with_their_revenue_not_rejects() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = retail(tmp.path());
    let out = tmp.path().join("out");
    // 9 of 51 lines have no customer id: far above the 5% reject limit, and not rejects
    let run = segment(s(&input), &out, &["--report"], tmp.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let q = quality(&out);
    let t = &q["transactions"];
    assert_eq!(t["rows_read"], 51, "{t}");
    assert_eq!(t["anonymous"], 9, "{t}");
    assert_eq!(t["anonymous_amount"], 450.0, "{t}");
    assert_eq!(t["rejected"], 0, "{t}");
    assert_eq!(t["duplicates"], 3, "{t}");
    assert_eq!(t["duplicate_amount"], 60.0, "{t}");
    assert_eq!(t["accepted"], 39, "{t}");
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("anonymous sales (no customer id, not tiered)"))
        .unwrap_or_default();
    assert!(
        line.ends_with("9 lines (17.6% of rows), 450.00"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("may be genuine repeated lines"),
        "{}",
        run.stderr
    );
    let customers = fs::read_to_string(out.join("customers.csv")).expect("customers");
    assert_eq!(customers.lines().count(), 13, "{customers}");
    // the report's overview says it too, and warns about the duplicates
    let report = fs::read_to_string(out.join("report.html")).expect("report");
    assert!(
        report.contains("17.6% of lines (450.00) have no customer id"),
        "{report}"
    );
    assert!(report.contains("run again with --duplicates keep"));
}

#[test]
fn duplicates_keep_counts_repeated_lines_as_sales() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = retail(tmp.path());
    let drop = tmp.path().join("drop");
    let keep = tmp.path().join("keep");
    assert_eq!(segment(s(&input), &drop, &[], tmp.path()).code, 0);
    let run = segment(s(&input), &keep, &["--duplicates", "keep"], tmp.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (d, k) = (quality(&drop), quality(&keep));
    assert_eq!(k["transactions"]["duplicates"], 0);
    assert_eq!(k["transactions"]["accepted"], 42);
    let revenue = |q: &serde_json::Value| q["transactions"]["purchase_amount"].as_f64();
    assert_eq!(revenue(&d).zip(revenue(&k)).map(|(d, k)| k - d), Some(60.0));
    assert!(
        !run.stderr.contains("warning: duplicates"),
        "{}",
        run.stderr
    );
    let run = segment(s(&input), &keep, &["--duplicates", "some"], tmp.path());
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("--duplicates: unknown duplicates rule `some`"),
        "{}",
        run.stderr
    );
}

fn stratum_clv(args: &[&str], tmp: &Path) -> crate::Run {
    let mut all = vec!["clv"];
    all.extend_from_slice(args);
    crate::stratum(&all, tmp)
}

#[test]
fn cdnow_text_files_are_read_as_they_are() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // the 1/10th sample, whitespace separated and without a header, gives exactly what the
    // hand-made CSV of its columns gives
    let sample = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../stratum-core/tests/data/clv/CDNOW_sample.txt");
    let raw = tmp.path().join("raw");
    let run = stratum_clv(
        &[
            "-t",
            s(&sample),
            "--delimiter",
            "whitespace",
            "--no-header",
            "--columns",
            "master_id,customer_id,order_date,quantity,amount",
            "-o",
            s(&raw),
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let hand = tmp.path().join("hand");
    let csv = crate::test_fixture("cdnow.csv");
    let run = stratum_clv(&["-t", s(&csv), "-o", s(&hand)], tmp.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let read = |p: &Path| fs::read(p).expect("read");
    assert!(read(&raw.join("predictions.csv")) == read(&hand.join("predictions.csv")));
    // the full log as `lifetimes` ships it (a header of four names, blanks between fields):
    // weekly, calibration to 1997-09-30, purchases are amounts > 0 (80 zero-dollar lines are
    // not), the published maximum-likelihood BG/NBD is r 0.25274, α 4.7976, a 0.72255, b 2.1582
    let master = crate::test_fixture("CDNOW_master.txt");
    let out = tmp.path().join("master");
    let run = stratum_clv(
        &[
            "-t",
            s(&master),
            "--delimiter",
            "whitespace",
            "--map",
            "amount=dollar_value",
            "--holdout-from",
            "1997-10-01",
            "--model",
            "bgnbd",
            "-o",
            s(&out),
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = fs::read_to_string(out.join("params.json")).expect("params");
    let params: serde_json::Value = serde_json::from_str(&text).expect("json");
    let got: Vec<f64> = params["transaction_model"]["values"]
        .as_array()
        .expect("values")
        .iter()
        .filter_map(serde_json::Value::as_f64)
        .collect();
    let published = [0.25274, 4.7976, 0.72255, 2.1582];
    assert_eq!(got.len(), 4);
    for (g, p) in got.iter().zip(published) {
        assert!((g - p).abs() / p < 1e-4, "{got:?} against {published:?}");
    }
    assert_eq!(params["transaction_model"]["customers"], 23_500.0);
}

#[test]
fn columns_without_no_header_is_a_usage_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = crate::stratum(&["segment", "-t", "x.csv", "--columns", "a,b"], tmp.path());
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("--no-header"), "{}", run.stderr);
}

#[test]
fn text_file_flags_on_a_workbook_are_bad_input() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let book = crate::fixture("hand.xlsx");
    let out = tmp.path().join("out");
    let run = segment(
        s(&book),
        &out,
        &["--no-header", "--columns", "a,b,c"],
        tmp.path(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("--no-header/--columns applies to text files, and `[FIXTURES]/hand.xlsx` is a workbook file"),
        "{}",
        run.stderr
    );
    let run = segment(s(&book), &out, &["--delimiter", "whitespace"], tmp.path());
    assert_eq!(run.code, 1, "{}", run.stderr);
}

#[test]
fn several_files_and_globs_are_one_input_with_duplicates_across_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("exports");
    fs::create_dir(&dir).expect("mkdir");
    // January: UTF-8, commas, English headers
    fs::write(
        dir.join("2025-01.csv"),
        "customer_id,order_id,order_date,amount\nC1,o1,2025-01-05,100\nC2,o2,2025-01-06,50\nC3,o3,2025-01-07,oops\n",
    )
    .expect("write");
    // February: GB18030 and Chinese headers; its first line repeats January's
    // first (an export run twice over the month boundary)
    let feb = "客户编号,订单号,下单日期,金额\nC1,o1,2025-01-05,100\nC1,o4,2025-02-03,70\nC2,o5,2025-02-09,30\n";
    let (gbk, _, _) = encoding_rs::GB18030.encode(feb);
    fs::write(dir.join("2025-02.csv"), &gbk).expect("write");
    let out = tmp.path().join("out");
    let pattern = dir.join("2025-*.csv");
    let run = segment(s(&pattern), &out, &["--max-reject-rate", "50%"], tmp.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let q = quality(&out);
    let t = &q["transactions"];
    // the repeated C1 line is one sale, not two; the file order is the name order
    assert_eq!(
        (
            &t["rows_read"],
            &t["accepted"],
            &t["duplicates"],
            &t["rejected"]
        ),
        (&6.into(), &4.into(), &1.into(), &1.into()),
        "{t}"
    );
    assert_eq!(t["more_sources"][0]["encoding"], "gb18030", "{t}");
    let customers = fs::read_to_string(out.join("customers.csv")).expect("customers");
    let c1 = customers
        .lines()
        .find(|l| l.starts_with("C1,"))
        .unwrap_or_default();
    assert!(
        c1.contains(",170.00,") || c1.contains(",170,"),
        "{customers}"
    );
    let rejects = fs::read_to_string(out.join("rejects.csv")).expect("rejects");
    assert!(rejects.contains("2025-01.csv,4,bad_amount"), "{rejects}");
    // both files are inputs in the manifest, with their digests
    let manifest = fs::read_to_string(out.join("manifest.json")).expect("manifest");
    let manifest: serde_json::Value = serde_json::from_str(&manifest).expect("json");
    let inputs: Vec<&str> = manifest["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .filter(|i| i["role"] == "transactions")
        .filter_map(|i| i["path"].as_str())
        .collect();
    assert_eq!(inputs.len(), 2, "{manifest}");
    assert!(inputs[0].ends_with("2025-01.csv") && inputs[1].ends_with("2025-02.csv"));
    // -t repeated gives the same; a pattern that matches nothing is bad input
    let again = tmp.path().join("again");
    let run = crate::stratum(
        &[
            "segment",
            "-t",
            s(&dir.join("2025-01.csv")),
            "-t",
            s(&dir.join("2025-02.csv")),
            "-o",
            s(&again),
            "--max-reject-rate",
            "50%",
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(fs::read(again.join("customers.csv")).ok() == fs::read(out.join("customers.csv")).ok());
    let run = segment(
        s(&dir.join("2024-*.csv")),
        &tmp.path().join("none"),
        &[],
        tmp.path(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("no file matches"), "{}", run.stderr);
}
