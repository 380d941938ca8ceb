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
    // Gamma-Gamma at the maximum of its likelihood on the same log (9,449 customers with a
    // repeat purchase day, exact duplicate lines dropped): an independent fit without
    // derivatives (`bench/clv/gamma_gamma_reference.py CDNOW_master.txt`: scipy's
    // Nelder-Mead, restarted until it stops moving; Powell from another start agrees to 1e-7)
    // gives p 6.29683181, q 3.62006161, γ 14.8891254 and log-likelihood −40747.8226655176
    let spend = &params["spend_model"];
    assert_eq!(spend["customers"], 9_449.0);
    let got: Vec<f64> = spend["values"]
        .as_array()
        .expect("values")
        .iter()
        .filter_map(serde_json::Value::as_f64)
        .collect();
    let reference = [
        6.296_831_810_244_667,
        3.620_061_612_883_256,
        14.889_125_387_705_59,
    ];
    assert_eq!(got.len(), 3);
    for (g, r) in got.iter().zip(reference) {
        assert!((g - r).abs() / r < 1e-6, "{got:?} against {reference:?}");
    }
    let ll = spend["log_likelihood"].as_f64().expect("log-likelihood");
    assert!(ll >= -40_747.822_665_517_61 - 1e-6, "{ll}");
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
    assert_eq!(monetary_of(&out, "C1"), Some(170.0));
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

/// The Online Retail-shaped export: `--sheet all`, `--amount`, `--where` and `--refund-when`
/// in one command give every per-customer number and every count that pandas works out
/// independently (`tests/fixtures/online_retail/make_fixture.py`).
#[test]
fn an_online_retail_export_is_read_in_one_command_with_every_number_as_pandas_has_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = crate::test_fixture("online_retail");
    let out = tmp.path().join("out");
    let run = segment(
        s(&dir.join("online_retail.xlsx")),
        &out,
        &[
            "--sheet",
            "all",
            "--as-of",
            "2011-12-10",
            "--amount",
            "Quantity * Price",
            "--where",
            "StockCode NOT IN ('POST', 'M') AND Country <> 'Unspecified'",
            "--refund-when",
            "Invoice LIKE 'C%'",
            "--max-reject-rate",
            "10%",
            "--report",
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);

    // every count and amount of the quality report
    let expected: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(dir.join("expected_quality.json")).expect("expected"),
    )
    .expect("json");
    let q = quality(&out);
    let t = &q["transactions"];
    for (key, want) in expected.as_object().expect("object") {
        let got = &t[key];
        match want {
            serde_json::Value::String(amount) => {
                let want: f64 = amount.parse().expect("amount");
                assert_eq!(got.as_f64(), Some(want), "{key}: {t}");
            }
            want => assert_eq!(got, want, "{key}: {t}"),
        }
    }
    assert_eq!(
        t["where"],
        "StockCode NOT IN ('POST', 'M') AND Country <> 'Unspecified'"
    );

    // every customer's recency, frequency and monetary value
    let mut want = csv::Reader::from_path(dir.join("expected_customers.csv")).expect("expected");
    let mut got = csv::Reader::from_path(out.join("customers.csv")).expect("customers");
    let headers = got.headers().expect("headers").clone();
    let at = |name: &str| headers.iter().position(|h| h == name).expect(name);
    let (id, r, f, m) = (
        at("customer_id"),
        at("recency_days"),
        at("frequency"),
        at("monetary"),
    );
    let mut ours: Vec<(String, String, String, f64)> = got
        .records()
        .map(|row| {
            let row = row.expect("row");
            (
                row[id].to_string(),
                row[r].to_string(),
                row[f].to_string(),
                row[m].parse().expect("monetary"),
            )
        })
        .collect();
    ours.sort_by(|a, b| a.0.cmp(&b.0));
    let theirs: Vec<(String, String, String, f64)> = want
        .records()
        .map(|row| {
            let row = row.expect("row");
            (
                row[0].to_string(),
                row[1].to_string(),
                row[2].to_string(),
                row[3].parse().expect("monetary"),
            )
        })
        .collect();
    assert_eq!(ours, theirs);

    // rejects name the sheet, the line, the column and the value
    let rejects = fs::read_to_string(out.join("rejects.csv")).expect("rejects");
    assert!(
        rejects.contains("online_retail.xlsx[Year 2009-2010],16,bad_amount,Quantity,n/a"),
        "{rejects}"
    );
    assert!(
        rejects.contains("online_retail.xlsx[Year 2009-2010],17,missing_date,InvoiceDate"),
        "{rejects}"
    );
    // the summary and the report tell the filtered rows with their revenue
    assert!(
        run.stderr
            .lines()
            .any(|l| l.contains("filtered out (--where, not rejects)") && l.ends_with("4 (120.52)")),
        "{}",
        run.stderr
    );
    let report = fs::read_to_string(out.join("report.html")).expect("report");
    assert!(report.contains("rows filtered out (--where)"), "{report}");
    // the whole quality summary, with anonymous, filtered, duplicate and rejected revenue
    let summary: Vec<&str> = run
        .stderr
        .lines()
        .skip_while(|l| *l != "Data quality")
        .take_while(|l| !l.is_empty())
        .collect();
    insta::assert_snapshot!(summary.join("\n"), @"
    Data quality
      transactions file                             [CLI_FIXTURES]/online_retail/online_retail.xlsx
      format                                        excel, sheet Year 2009-2010, Year 2010-2011
      columns                                       customer_id←Customer ID, order_id←Invoice, order_date←InvoiceDate
      amount computed as                            Quantity * Price
      rows used where                               StockCode NOT IN ('POST', 'M') AND Country <> 'Unspecified'
      refunds where                                 Invoice LIKE 'C%'
      rows read                                     32
      accepted                                      19
      duplicates dropped                            3 (121.12)
      warning: duplicates                           3 lines, 121.12 (14.3% of revenue), may be genuine repeated lines: a large share of revenue; if the export lists the same product twice in one order, run with --duplicates keep
      anonymous sales (no customer id, not tiered)  4 lines (12.5% of rows), 44.85
      filtered out (--where, not rejects)           4 (120.52)
      rejected                                      2 (7.1%, 35.70 where the amount was readable)
        - missing_date                              1
        - bad_amount                                1
      purchase lines                                14 (723.20)
      refund lines                                  4 (-71.71)
      zero-amount lines (not purchases)             1
      date range                                    2009-12-01 – 2011-12-09
      as of                                         2011-12-10 (given)
      customers                                     8
      net revenue                                   651.49
      revenue share of the top 20% of customers     84.0%
      customers in class A                          25.0%
    ");
}

/// Expressions that do not fit the file are errors that name the file, the column and a fix;
/// a column read as a number that holds text rejects the row naming the column.
#[test]
fn expressions_that_do_not_fit_the_file_are_bad_input_with_a_fix() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("lines.csv");
    fs::write(
        &input,
        "客户编号,订单号,下单日期,数量,单价,折扣\nC1,o1,2025-01-05,2,10.5,\nC1,o2,2025-02-05,1,100,5\nC2,o3,2025-02-06,三,10,\n",
    )
    .expect("write");
    let out = tmp.path().join("out");
    let run = segment(
        s(&input),
        &out,
        &["--amount", "数量 * 单格 - COALESCE(折扣, 0)"],
        tmp.path(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("unknown column \"单格\"")
            && run.stderr.contains("did you mean \"单价\"?"),
        "{}",
        run.stderr
    );
    assert!(!out.exists());
    // the expression in the config file's [columns], as a mapping would be written
    let config = tmp.path().join("stratum.toml");
    fs::write(
        &config,
        "[columns]\namount = \"数量 * 单价 - COALESCE(折扣, 0)\"\n",
    )
    .expect("write");
    let run = segment(
        s(&input),
        &out,
        &["--config", s(&config), "--max-reject-rate", "50%"],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let q = quality(&out);
    let t = &q["transactions"];
    assert_eq!(
        (&t["accepted"], &t["rejected"]),
        (&2.into(), &1.into()),
        "{t}"
    );
    assert_eq!(
        t["amount_expression"], "数量 * 单价 - COALESCE(折扣, 0)",
        "{t}"
    );
    assert_eq!(monetary_of(&out, "C1"), Some(116.0));
    let rejects = fs::read_to_string(out.join("rejects.csv")).expect("rejects");
    assert!(
        rejects.contains("lines.csv,4,bad_amount,数量,三"),
        "{rejects}"
    );
    // --amount and a mapped amount column together are one too many
    let run = segment(
        s(&input),
        &tmp.path().join("two"),
        &["--amount", "数量 * 单价", "--map", "amount=单价"],
        tmp.path(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("give one of them"), "{}", run.stderr);
}

/// The monetary value of `customer` in `customers.csv` of `out`.
fn monetary_of(out: &Path, customer: &str) -> Option<f64> {
    let mut file = csv::Reader::from_path(out.join("customers.csv")).expect("customers.csv");
    let headers = file.headers().expect("headers").clone();
    let (id, monetary) = (
        headers.iter().position(|h| h == "customer_id")?,
        headers.iter().position(|h| h == "monetary")?,
    );
    file.records()
        .map(|r| r.expect("row"))
        .find(|r| &r[id] == customer)
        .and_then(|r| r[monetary].parse().ok())
}
