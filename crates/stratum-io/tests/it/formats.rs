//! One hand-computed data set in every input format: CSV (UTF-8, English headers, mixed date
//! and amount forms), GB18030 CSV (Chinese headers, `;`, 年月日 dates, ¥ amounts), XLSX (written
//! by openpyxl, Chinese headers, date cells, second sheet) and Parquet (written by pyarrow,
//! date32 and decimal(12,2) columns). See `fixtures/make_fixtures.py`.
//!
//! The data (as of 2025-07-01, the day after the last line; n = 10, 5 levels, so
//! score = 1 + ⌊5 × worse / 10⌋ = 1 + ⌊worse / 2⌋):
//!
//! | id  | lines (date amount order)                       | R days | F | M     | worse R/F/M | scores |
//! |-----|-------------------------------------------------|--------|---|-------|-------------|--------|
//! | C01 | 06-25 1000 o1; 05-01 1500+500 o2; 03-01 1000 o3 |      6 | 3 |  4000 | 7 / 8 / 6   | 4 5 4  |
//! | C02 | 06-30 500                                       |      1 | 1 |   500 | 9 / 0 / 3   | 5 1 2  |
//! | C03 | 2024-07-01 3000; 2024-12-01 2000                |    212 | 2 |  5000 | 2 / 6 / 7   | 2 4 4  |
//! | C04 | 01-15 800; refund 01-20 −300 (same order)       |    167 | 1 |   500 | 3 / 0 / 3   | 2 1 2  |
//! | C05 | 06-01, 06-15, 06-20, 06-28 × 100 (+1 duplicate) |      3 | 4 |   400 | 8 / 9 / 2   | 5 5 2  |
//! | C06 | 2023-07-01 10000                                |    731 | 1 | 10000 | 0 / 0 / 9   | 1 1 5  |
//! | C07 | 04-01 1500; 05-01 1500                          |     61 | 2 |  3000 | 5 / 6 / 5   | 3 4 3  |
//! | C08 | 02-01 200                                       |    150 | 1 |   200 | 4 / 0 / 1   | 3 1 1  |
//! | C09 | 06-10 6000                                      |     21 | 1 |  6000 | 6 / 0 / 8   | 4 1 5  |
//! | C10 | 2024-10-01 50                                   |    273 | 1 |    50 | 1 / 0 / 0   | 1 1 1  |
//!
//! Mean scores: R 30/10 = 3.0, F 24/10 = 2.4, M 29/10 = 2.9; high = strictly above the mean, so
//! R high ⇔ R ≥ 4, F high ⇔ F ≥ 3, M high ⇔ M ≥ 3.
//! Classes: C01 HHH important_value; C02 HLL general_development; C03 LHH important_retention;
//! C04 LLL general_win_back; C05 HHL general_value; C06 LLH important_win_back; C07 (R 3 is not
//! above 3.0) LHH important_retention; C08 LLL; C09 HLH important_development; C10 LLL.
//!
//! Segments, FM = ⌈(F + M) / 2⌉: C01 R4 FM5 loyal; C02 R5 FM2 potential_loyalist; C03 R2 FM4
//! at_risk; C04 R2 FM2 hibernating; C05 R5 FM4 champions; C06 R1 FM3 at_risk; C07 R3 FM4 loyal;
//! C08 R3 FM1 about_to_sleep; C09 R4 FM3 potential_loyalist; C10 R1 FM1 lost.
//!
//! ABC, total 29,650: C06 10000 (before 0% → A), C09 6000 (33.7% → A), C03 5000 (54.0% → A),
//! C01 4000 (70.8% → A), C07 3000 (84.3% → B), C02 500 (94.4% → B), C04 500 (tie with C02 → B),
//! C05 400 (97.8% → C), C08 200 (C), C10 50 (C). Top 20% (2 customers): 16000 / 29650.

use approx::assert_relative_eq;
use stratum_core::{Labelled, Tiering};
use stratum_io::source::ReadOptions;
use stratum_io::transactions::TransactionOptions;

use crate::common::{fixture, run};

/// id, recency, frequency, monetary (whole units), scores, class, segment, abc
type Expected = (
    &'static str,
    i64,
    u64,
    i64,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

const EXPECTED: [Expected; 10] = [
    ("C01", 6, 3, 4000, "454", "important_value", "loyal", "A"),
    (
        "C02",
        1,
        1,
        500,
        "512",
        "general_development",
        "potential_loyalist",
        "B",
    ),
    (
        "C03",
        212,
        2,
        5000,
        "244",
        "important_retention",
        "at_risk",
        "A",
    ),
    (
        "C04",
        167,
        1,
        500,
        "212",
        "general_win_back",
        "hibernating",
        "B",
    ),
    ("C05", 3, 4, 400, "552", "general_value", "champions", "C"),
    (
        "C06",
        731,
        1,
        10000,
        "115",
        "important_win_back",
        "at_risk",
        "A",
    ),
    (
        "C07",
        61,
        2,
        3000,
        "343",
        "important_retention",
        "loyal",
        "B",
    ),
    (
        "C08",
        150,
        1,
        200,
        "311",
        "general_win_back",
        "about_to_sleep",
        "C",
    ),
    (
        "C09",
        21,
        1,
        6000,
        "415",
        "important_development",
        "potential_loyalist",
        "A",
    ),
    ("C10", 273, 1, 50, "111", "general_win_back", "lost", "C"),
];

fn check_hand_results(t: &Tiering) {
    assert_eq!(
        t.features.as_of.map(|d| d.to_string()).as_deref(),
        Some("2025-07-01")
    );
    assert_eq!(t.features.customers.len(), EXPECTED.len());
    for (i, want) in EXPECTED.iter().enumerate() {
        let c = &t.features.customers[i];
        let r = &t.rfm.customers()[i];
        let got = (
            c.customer_id.as_str(),
            c.recency_days,
            c.frequency,
            c.monetary.units() / i128::from(stratum_core::Money::SCALE),
            r.score_code(),
            r.class.code(),
            r.segment.code(),
            t.abc.classes()[i].code(),
        );
        let want = (
            want.0,
            want.1,
            want.2,
            i128::from(want.3),
            want.4.to_string(),
            want.5,
            want.6,
            want.7,
        );
        assert_eq!(got, want, "customer {}", want.0);
    }
    let c01 = &t.features.customers[0];
    assert_eq!(c01.avg_order_value.to_string(), "1333.33");
    assert_eq!(c01.tenure_days, 122); // 2025-03-01 → 2025-07-01
    assert_eq!(c01.first_purchase.to_string(), "2025-03-01");
    let c04 = &t.features.customers[3];
    assert_eq!(
        (c04.gross.to_string(), c04.refunds.to_string()),
        ("800.00".into(), "-300.00".into())
    );
    assert_eq!(t.rfm.mean_scores(), [3.0, 2.4, 2.9]);
    assert_relative_eq!(t.abc.pareto().top20_revenue_share, 16000.0 / 29650.0);
}

#[test]
fn utf8_csv_with_mixed_date_and_amount_forms_gives_the_hand_computed_tiers() {
    let (t, q, rejects) = run(&fixture("hand.csv"), &TransactionOptions::default());
    check_hand_results(&t);
    assert_eq!(
        (
            q.counts.rows_read,
            q.counts.accepted,
            q.counts.duplicates,
            q.counts.rejected
        ),
        (20, 19, 1, 0)
    );
    assert_eq!(
        (q.lines.refund_lines, q.lines.refund_amount.to_string()),
        (1, "-300.00".into())
    );
    assert_eq!(q.lines.purchase_amount.to_string(), "29950.00");
    assert_eq!(rejects, "file,line,reason,column,value,message,row\n");
}

#[test]
fn gb18030_csv_with_chinese_headers_is_detected_and_read() {
    let (t, q, _) = run(&fixture("hand_gb18030.csv"), &TransactionOptions::default());
    check_hand_results(&t);
    assert_eq!(q.source.encoding.as_deref(), Some("gb18030"));
    assert_eq!(q.source.delimiter.as_deref(), Some(";"));
    let mapped: Vec<(&str, Option<&str>)> = q
        .columns
        .iter()
        .map(|m| (m.field, m.header.as_deref()))
        .collect();
    assert_eq!(
        mapped,
        [
            ("customer_id", Some("客户编号")),
            ("order_id", Some("订单号")),
            ("order_date", Some("下单时间")),
            ("amount", Some("实付金额"))
        ]
    );
}

#[test]
fn xlsx_written_by_openpyxl_is_read_from_its_first_sheet() {
    let (t, q, _) = run(&fixture("hand.xlsx"), &TransactionOptions::default());
    check_hand_results(&t);
    assert_eq!(q.source.sheet.as_deref(), Some("订单明细"));
    assert_eq!(q.counts.duplicates, 1);
}

#[test]
fn a_missing_sheet_is_an_error_listing_the_sheets() {
    let options = TransactionOptions {
        read: ReadOptions {
            sheet: Some("Sheet9".into()),
            ..ReadOptions::default()
        },
        ..TransactionOptions::default()
    };
    let mut rejects = stratum_io::rejects::RejectsWriter::new(Vec::new()).expect("header");
    let path = fixture("hand.xlsx");
    let err = stratum_io::transactions::load_transactions(
        &path,
        &options,
        None,
        &mut rejects,
        &mut |_, _| {},
    )
    .map(|_| ())
    .map_err(|e| {
        e.to_string()
            .replace(&path.display().to_string(), "hand.xlsx")
    });
    assert_eq!(
        err,
        Err("sheet `Sheet9` not found in `hand.xlsx`; sheets are: 订单明细, 说明".into())
    );
}

#[test]
fn parquet_written_by_pyarrow_with_date32_and_decimal_columns_is_read() {
    let (t, q, _) = run(&fixture("hand.parquet"), &TransactionOptions::default());
    check_hand_results(&t);
    assert_eq!(q.counts.rows_read, 20);
}

#[test]
fn a_title_line_above_the_header_is_skipped_and_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("titled.csv");
    let body = std::fs::read_to_string(fixture("hand.csv")).expect("read");
    std::fs::write(&path, format!("2025年销售明细表,,,\n{body}")).expect("write");
    let (t, q, _) = run(&path, &TransactionOptions::default());
    check_hand_results(&t);
    assert_eq!(q.source.title_rows, ["2025年销售明细表"]);
    assert_eq!(q.counts.rows_read, 20);
}

#[test]
fn a_one_column_file_keeps_its_first_row_as_the_header() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ids.csv");
    std::fs::write(&path, "customer_id\nC1\nC2\n").expect("write");
    let mut src = stratum_io::source::open(&path, &ReadOptions::default()).expect("open");
    assert_eq!(src.headers(), ["customer_id"]);
    let mut record = csv::ByteRecord::new();
    let mut lines = Vec::new();
    while let Some(line) = src.read(&mut record).expect("read") {
        lines.push((line, String::from_utf8_lossy(&record[0]).into_owned()));
    }
    assert_eq!(lines, [(2, "C1".to_string()), (3, "C2".to_string())]);
}

#[test]
fn parquet_nulls_timestamps_and_row_groups_line_up_row_by_row() {
    // 7 rows in row groups of 3 (see make_fixtures.py); line = row number + 1:
    // line 2 A o1 2025-01-01 09:30 10.5 → ok; line 3 null customer → an anonymous sale of 1;
    // line 4 B null date → missing_date; line 5 A null amount → missing_amount;
    // line 6 C no order id 2025-01-05 7.25 → ok; line 7 B refund −1.5 → ok (B has no purchase);
    // line 8 A o4 2025-01-04 23:59 3.0 → ok. As of 2025-01-07: A R 3, F 2, M 13.50; C R 2, F 1.
    let (t, q, rejects) = run(&fixture("nulls.parquet"), &TransactionOptions::default());
    let c = &q.counts;
    assert_eq!(
        (
            c.rows_read,
            c.accepted,
            c.anonymous,
            c.duplicates,
            c.rejected
        ),
        (7, 4, 1, 0, 2)
    );
    assert_eq!(c.anonymous_amount, stratum_core::Money::from_units(10_000));
    let got: Vec<(String, i64, u64, String)> = t
        .features
        .customers
        .iter()
        .map(|c| {
            (
                c.customer_id.clone(),
                c.recency_days,
                c.frequency,
                c.monetary.to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("A".to_string(), 3, 2, "13.50".to_string()),
            ("C".to_string(), 2, 1, "7.25".to_string())
        ]
    );
    assert_eq!(t.features.no_purchase[0].customer_id, "B");
    insta::assert_snapshot!(rejects, @r#"
    file,line,reason,column,value,message,row
    nulls.parquet,4,missing_date,order_date,,date is empty,"B,3,,2"
    nulls.parquet,5,missing_amount,amount,,amount is empty,"A,4,2025-01-04 23:59:00,"
    "#);
}

#[test]
fn parquet_with_a_list_column_is_read_by_the_row_reader() {
    // A: 1.50 on 01-01 and 3.25 on 01-03; B: 2.00 on 01-02; as of 2025-01-04
    let (t, q, _) = run(&fixture("nested.parquet"), &TransactionOptions::default());
    assert_eq!((q.counts.rows_read, q.counts.accepted), (3, 3));
    let got: Vec<(String, i64, String)> = t
        .features
        .customers
        .iter()
        .map(|c| {
            (
                c.customer_id.clone(),
                c.recency_days,
                c.monetary.to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("A".to_string(), 1, "4.75".to_string()),
            ("B".to_string(), 2, "2.00".to_string())
        ]
    );
}

/// A workbook of yearly sheets, as retailers export them: `2009-2010` and `2010-2011` with the
/// same columns, one line repeated across the two sheets, a bad date in the second, and a
/// `notes` sheet with other columns.
fn yearly_workbook(dir: &std::path::Path) -> std::path::PathBuf {
    let mut book = rust_xlsxwriter::Workbook::new();
    let rows: [(&str, &[[&str; 3]]); 2] = [
        (
            "2009-2010",
            &[
                ["C1", "2009-12-01", "10.5"],
                ["C2", "2010-01-03", "20"],
                ["C1", "2010-02-01", "5"],
            ],
        ),
        (
            "2010-2011",
            &[
                ["C1", "2010-02-01", "5"],
                ["C3", "someday", "7"],
                ["C2", "2011-03-04", "30"],
            ],
        ),
    ];
    for (name, lines) in rows {
        let sheet = book.add_worksheet();
        sheet.set_name(name).expect("name");
        for (c, h) in ["Customer ID", "InvoiceDate", "Amount"].iter().enumerate() {
            sheet.write_string(0, c as u16, *h).expect("write");
        }
        for (r, line) in lines.iter().enumerate() {
            for (c, v) in line.iter().enumerate() {
                sheet
                    .write_string(r as u32 + 1, c as u16, *v)
                    .expect("write");
            }
        }
    }
    let notes = book.add_worksheet();
    notes.set_name("notes").expect("name");
    notes.write_string(0, 0, "remark").expect("write");
    notes.write_string(0, 1, "by").expect("write");
    let path = dir.join("yearly.xlsx");
    book.save(&path).expect("save");
    path
}

#[test]
fn several_sheets_read_as_one_input_with_duplicates_across_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = yearly_workbook(dir.path());
    let load = |sheet: &str| {
        let options = TransactionOptions {
            read: ReadOptions {
                sheet: Some(sheet.into()),
                ..ReadOptions::default()
            },
            ..TransactionOptions::default()
        };
        let mut rejects = stratum_io::rejects::RejectsWriter::new(Vec::new()).expect("header");
        let loaded = stratum_io::transactions::load_transactions(
            &path,
            &options,
            None,
            &mut rejects,
            &mut |_, _| {},
        );
        let rejects = String::from_utf8(rejects.finish().expect("rejects")).expect("utf-8");
        (loaded, rejects)
    };
    let (loaded, rejects) = load("2009-2010,2010-2011");
    let (agg, q) = loaded.expect("two sheets load");
    let c = &q.counts;
    assert_eq!(
        (c.rows_read, c.accepted, c.duplicates, c.rejected),
        (6, 4, 1, 1)
    );
    assert_eq!(q.source.sheet.as_deref(), Some("2009-2010, 2010-2011"));
    // the reject names its sheet and its row there
    assert!(
        rejects.contains("yearly.xlsx[2010-2011],3,bad_date"),
        "{rejects}"
    );
    let as_of = agg.default_as_of().expect("dates");
    let t = agg.finish(as_of);
    let money: Vec<(String, String)> = t
        .customers
        .iter()
        .map(|c| (c.customer_id.clone(), c.monetary.to_string()))
        .collect();
    assert_eq!(
        money,
        [
            ("C1".to_string(), "15.50".to_string()),
            ("C2".to_string(), "50.00".to_string())
        ]
    );
    // `all` takes every sheet: the notes sheet's other columns are an error naming both
    let (loaded, _) = load("all");
    let err = loaded.map(|_| ()).map_err(|e| e.to_string());
    let err = err.expect_err("notes has other columns");
    assert!(
        err.contains("sheet `notes`") && err.contains("other columns than sheet `2009-2010`"),
        "{err}"
    );
    let (loaded, _) = load("2009-2010,2011");
    let err = loaded.map(|_| ()).map_err(|e| e.to_string());
    assert!(err.is_err_and(|e| e.contains("sheet `2011` not found")));
}

#[test]
fn a_parquet_footer_with_a_negative_column_offset_is_the_files_error_not_a_crash() {
    // found by the `parquet` fuzz target: the parquet crate panics ("column start and length
    // should not be negative") while decoding on rayon's threads
    let path = fixture("fuzz/negative_column_offset.parquet");
    let mut rejects = stratum_io::rejects::RejectsWriter::new(Vec::new()).expect("header");
    let loaded = stratum_io::transactions::load_transactions(
        &path,
        &TransactionOptions::default(),
        None,
        &mut rejects,
        &mut |_, _| {},
    );
    let err = loaded.map(|_| ()).map_err(|e| e.to_string());
    assert!(
        err.as_ref()
            .is_err_and(|e| e.contains("the parquet reader failed on this file")),
        "{err:?}"
    );
}
