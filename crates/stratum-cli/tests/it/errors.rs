//! Every input error: a message naming the file, line, column or value, and exit code 1.

use crate::{fixture, segment};

fn segment_error(file_name: &str, content: &[u8], extra: &[&str]) -> (i32, String) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join(file_name);
    std::fs::write(&path, content).expect("write");
    let out = tmp.path().join("out");
    let run = segment(path.to_str().expect("path"), &out, extra, tmp.path());
    (run.code, run.stderr)
}

#[test]
fn a_missing_column_lists_the_headers_and_the_names_tried() {
    let (code, stderr) = segment_error(
        "orders.csv",
        "客户编号,日子,金额\nC1,2025-01-01,5\n".as_bytes(),
        &[],
    );
    assert_eq!(code, 1);
    insta::assert_snapshot!(stderr, @"error: column `order_date` not found in `[TMP]/orders.csv`; headers are: 客户编号, 日子, 金额; names tried: order_date, orderdate, order_time, purchase_date, invoice_date, transaction_date, date, 下单时间, 订单日期, 下单日期, 交易日期, 交易时间, 成交日期, 成交时间, 付款时间, 支付时间, 购买日期, 日期 (name the column with --map order_date=HEADER)");
}

#[test]
fn a_mapping_to_an_absent_header_is_an_error() {
    let (code, stderr) = segment_error(
        "orders.csv",
        "客户编号,日子,金额\nC1,2025-01-01,5\n".as_bytes(),
        &["--map", "order_date=日期"],
    );
    assert_eq!(code, 1);
    insta::assert_snapshot!(stderr, @"error: mapping order_date=日期 names a column that `[TMP]/orders.csv` does not have; headers are: 客户编号, 日子, 金额");
}

#[test]
fn too_many_rejected_rows_is_an_error_after_writing_the_rejects() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let run = segment(
        fixture("bad_rows.csv").to_str().expect("path"),
        &out,
        &[],
        tmp.path(),
    );
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.stderr, @"
    warning: RFM quantile scores over only 2 customers (fewer than 20): the scores and classes say little
    Data quality
      transactions file                                            [FIXTURES]/bad_rows.csv
      format                                                       csv, UTF-8, delimiter ,
      encoding because                                             ASCII only
      columns                                                      customer_id←customer_id, order_id←order_id, order_date←order_date, amount←amount
      rows read                                                    13
      accepted                                                     4
      duplicates dropped                                           1 (100.00)
      warning: duplicates                                          1 line, 100.00 (47.6% of revenue), may be genuine repeated lines: the file has no column besides the mapped ones, so two lines of one order for the same product cannot be told apart; if the export lists the same product twice in one order, run with --duplicates keep
      anonymous sales (no customer id, not tiered)                 1 line (7.7% of rows), 100.00
      rejected                                                     7 (53.8%, 100.00 where the amount was readable)
        - missing_date                                             1
        - bad_date                                                 1
        - missing_amount                                           1
        - bad_amount                                               2
        - short_row                                                1
        - long_row                                                 1
      purchase lines                                               2 (110.00)
      refund lines                                                 1 (-20.00)
      zero-amount lines (not purchases)                            1
      date range                                                   2025-01-05 – 2025-01-12
      as of                                                        2025-01-13 (day after the last transaction)
      customers                                                    2
      customers without a purchase (not scored, see unscored.csv)  2 (-20.00)
      net revenue                                                  110.00
      revenue share of the top 20% of customers                    90.9%
      customers in class A                                         50.0%

    error: 53.8% of the rows of `[FIXTURES]/bad_rows.csv` were rejected (7 of 13), more than the allowed 5.0% (--max-reject-rate); see `[TMP]/out.failed/rejects.csv`
    note: this run's diagnostics are in `[TMP]/out.failed`; `[TMP]/out` was not created
    ");
    // nothing is published: the diagnostics are beside the output folder
    let failed = tmp.path().join("out.failed");
    assert!(failed.join("rejects.csv").exists() && failed.join("quality.json").exists());
    assert!(!out.exists() && !failed.join("customers.csv").exists());
    let relaxed = segment(
        fixture("bad_rows.csv").to_str().expect("path"),
        &out,
        &["--max-reject-rate", "70%"],
        tmp.path(),
    );
    assert_eq!(relaxed.code, 0, "{}", relaxed.stderr);
    // a complete run takes the place of the failed one's diagnostics
    assert!(out.join("customers.csv").exists() && !failed.exists());
}

#[test]
fn a_missing_file_names_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing = tmp.path().join("nope.csv");
    let out = tmp.path().join("out");
    let run = segment(missing.to_str().expect("path"), &out, &[], tmp.path());
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.stderr, @"error: cannot read `[TMP]/nope.csv`: No such file or directory (os error 2)");
}

#[test]
fn bad_flag_values_name_the_value() {
    let cases: [&[&str]; 10] = [
        &["--as-of", "2025-02-30"],
        &["--bins", "7"],
        &["--max-reject-rate", "lots"],
        &["--encoding", "klingon"],
        &["--frequency", "weekly"],
        &["--delimiter", "::"],
        &["--lang", "fr"],
        &["--class-basis", "median"],
        &["--map", "amount"],
        &["--map", "revenue=amount"],
    ];
    let mut all = String::new();
    for extra in cases {
        let (code, stderr) = segment_error(
            "t.csv",
            b"customer_id,order_date,amount\nC1,2025-01-01,5\n",
            extra,
        );
        all.push_str(&format!("{extra:?} -> exit {code}: {stderr}"));
    }
    insta::assert_snapshot!(all, @r#"
    ["--as-of", "2025-02-30"] -> exit 1: error: --as-of must be a date like 2025-12-31, got `2025-02-30`
    ["--bins", "7"] -> exit 1: error: bins must be between 3 and 5, got 7
    ["--max-reject-rate", "lots"] -> exit 1: error: --max-reject-rate must be a share between 0 and 1 or a percentage, got `lots`
    ["--encoding", "klingon"] -> exit 1: error: unknown encoding `klingon`; use e.g. utf-8, gb18030, gbk, big5, utf-16le, windows-1252
    ["--frequency", "weekly"] -> exit 1: error: frequency must be `orders` or `days`, got `weekly`
    ["--delimiter", "::"] -> exit 1: error: delimiter must be a single ASCII character or `tab`, got `::`
    ["--lang", "fr"] -> exit 1: error: language must be `zh` or `en`, got `fr`
    ["--class-basis", "median"] -> exit 1: error: class basis must be `scores` or `values`, got `median`
    ["--map", "amount"] -> exit 1: error: --map takes FIELD=HEADER, got `amount`
    ["--map", "revenue=amount"] -> exit 1: error: unknown field `revenue` in column mapping; fields are: customer_id, order_id, order_date, amount
    "#);
}

#[test]
fn a_config_file_with_an_unknown_key_names_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = tmp.path().join("stratum.toml");
    std::fs::write(&config, "[rfm]\nbins = 4\nbinz = 5\n").expect("write");
    let out = tmp.path().join("out");
    let run = segment(
        fixture("hand.csv").to_str().expect("path"),
        &out,
        &["--config", config.to_str().expect("path")],
        tmp.path(),
    );
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.stderr, @"
    error: config file `[TMP]/stratum.toml`: TOML parse error at line 3, column 1
      |
    3 | binz = 5
      | ^^^^
    unknown field `binz`, expected one of `bins`, `method`, `class_basis`, `frequency`, `thresholds`
    ");
}

#[test]
fn a_file_where_every_row_is_rejected_says_so() {
    let (code, stderr) = segment_error(
        "t.csv",
        b"customer_id,order_date,amount\nC1,someday,5\n",
        &["--max-reject-rate", "100%"],
    );
    assert_eq!(code, 1);
    insta::assert_snapshot!(stderr, @"
    error: no usable transactions in `[TMP]/t.csv`: 1 rows read, 1 rejected, 0 duplicates; see `[TMP]/out.failed/rejects.csv`
    note: this run's diagnostics are in `[TMP]/out.failed`; `[TMP]/out` was not created
    ");
}

#[test]
fn bad_config_values_name_the_value() {
    let mut all = String::new();
    for config in [
        "[abc]\na = 0.9\nb = 0.8\n",
        "[rfm]\nbins = 4\n[rfm.thresholds]\nrecency = [30, 90]\nfrequency = [2, 3, 5]\nmonetary = [1, 2, 3]\n",
        "[rfm.thresholds]\nrecency = [90, 30, 180, 365]\nfrequency = [2, 3, 5, 10]\nmonetary = [1, 2, 3, 4]\n",
        "[rfm]\nmethod = \"thresholds\"\n",
        "[input]\nmax_reject_rate = 2.0\n",
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("stratum.toml");
        std::fs::write(&path, config).expect("write");
        let out = tmp.path().join("out");
        let run = segment(
            fixture("hand.csv").to_str().expect("path"),
            &out,
            &["--config", path.to_str().expect("path")],
            tmp.path(),
        );
        all.push_str(&format!("exit {}: {}", run.code, run.stderr));
    }
    insta::assert_snapshot!(all, @"
    exit 1: error: abc cut points must satisfy 0 < a < b ≤ 1, got a = 0.9, b = 0.8
    exit 1: error: recency thresholds must have 3 values (bins − 1), got 2
    exit 1: error: recency thresholds must be finite and strictly ascending, got [90.0, 30.0, 180.0, 365.0]
    exit 1: error: [rfm] method is `thresholds` but there is no [rfm.thresholds] table
    exit 1: error: [input] max_reject_rate must be a share between 0 and 1 or a percentage, got `2`
    ");
}

#[test]
fn a_missing_sheet_and_an_empty_file_are_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let sheet = segment(
        fixture("hand.xlsx").to_str().expect("path"),
        &out,
        &["--sheet", "Sheet9"],
        tmp.path(),
    );
    let (code, empty) = segment_error("empty.csv", b"", &[]);
    insta::assert_snapshot!(format!("exit {}: {}exit {code}: {empty}", sheet.code, sheet.stderr), @"
    exit 1: error: sheet `Sheet9` not found in `[FIXTURES]/hand.xlsx`; sheets are: 订单明细, 说明
    exit 1: error: `[TMP]/empty.csv` is empty: no header row found
    ");
}
