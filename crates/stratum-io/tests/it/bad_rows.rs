//! A file with every kind of bad row: each lands in the rejects file with its line, column,
//! value and reason, and the counts add up.

use stratum_io::rejects::RejectReason;
use stratum_io::source::ReadOptions;
use stratum_io::transactions::TransactionOptions;

use crate::common::{fixture, run};

#[test]
fn every_kind_of_bad_row_is_rejected_with_its_line_and_reason() {
    let (t, q, rejects) = run(&fixture("bad_rows.csv"), &TransactionOptions::default());
    let c = &q.counts;
    // line 2 ok, 3 an anonymous sale (no customer id), 4–8 and 11 bad, 9–10 one quoted two-line row (ok), 12 duplicate of 2,
    // 13 an empty line (not a row), 14 a refund-only customer (ok), 15 an unquoted thousands
    // separator splitting the amount (bad), 16 a zero amount (ok, not a purchase)
    assert_eq!(
        (
            c.rows_read,
            c.accepted,
            c.duplicates,
            c.rejected,
            c.blank_rows
        ),
        (13, 4, 1, 7, 0)
    );
    assert_eq!(
        (c.anonymous, c.anonymous_amount),
        (1, stratum_core::Money::from_units(1_000_000))
    );
    assert_eq!(
        c.rows_read,
        c.accepted + c.anonymous + c.duplicates + c.rejected
    );
    let by_reason: Vec<(RejectReason, u64)> =
        c.rejected_by_reason.iter().map(|(r, n)| (*r, *n)).collect();
    assert_eq!(
        by_reason,
        [
            (RejectReason::MissingDate, 1),
            (RejectReason::BadDate, 1),
            (RejectReason::MissingAmount, 1),
            (RejectReason::BadAmount, 2),
            (RejectReason::ShortRow, 1),
            (RejectReason::LongRow, 1),
        ]
    );
    insta::assert_snapshot!(rejects, @r#"
    file,line,reason,column,value,message,row
    bad_rows.csv,4,missing_date,order_date,,date is empty,"C02,o3,,50"
    bad_rows.csv,5,bad_date,order_date,2025-13-40,"`2025-13-40` is not a date; expected YYYY-MM-DD, YYYY/M/D, YYYY年M月D日, an ISO datetime, YYYYMMDD or an Excel serial date, in the years 1900–2100","C02,o4,2025-13-40,50"
    bad_rows.csv,6,missing_amount,amount,,amount is empty,"C03,o5,2025-01-06,"
    bad_rows.csv,7,bad_amount,amount,12abc,`12abc` is not an amount,"C03,o6,2025-01-06,12abc"
    bad_rows.csv,8,short_row,,,"row has 3 fields, the columns used need 4","C04,o7,2025-01-07"
    bad_rows.csv,11,bad_amount,amount,"1,5","`1,5` is not an amount; if commas are decimal marks, pass --decimal-comma","C05,o9,2025-01-09,""1,5"""
    bad_rows.csv,15,long_row,,,"row has 5 fields, the header has 4; an unquoted separator inside a value? (quote values that contain the delimiter)","C07,o11,2025-01-11,1,234.50"
    "#);
    // C06 has only a refund and C08 only a zero line: kept out of scoring but listed
    let unscored: Vec<&str> = t
        .features
        .no_purchase
        .iter()
        .map(|c| c.customer_id.as_str())
        .collect();
    assert_eq!(unscored, ["C06", "C08"]);
    assert_eq!(q.lines.zero_amount_lines, 1);
    let ids: Vec<&str> = t
        .features
        .customers
        .iter()
        .map(|c| c.customer_id.as_str())
        .collect();
    assert_eq!(ids, ["C01", "C05"]);
}

#[test]
fn a_gbk_file_read_as_utf8_rejects_its_rows_as_bad_encoding() {
    let options = TransactionOptions {
        read: ReadOptions {
            encoding: Some(encoding_rs::UTF_8),
            ..ReadOptions::default()
        },
        columns: [
            ("customer_id".to_string(), "c".to_string()),
            ("order_date".to_string(), "d".to_string()),
            ("amount".to_string(), "a".to_string()),
        ]
        .into_iter()
        .collect(),
        ..TransactionOptions::default()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gbk.csv");
    let (body, _, _) = encoding_rs::GBK.encode("c,d,a\n客户1,2025-01-01,5\nC2,2025-01-02,6\n");
    std::fs::write(&path, &body).expect("write");
    let (t, q, rejects) = run(&path, &options);
    assert_eq!(
        q.counts
            .rejected_by_reason
            .get(&RejectReason::InvalidEncoding),
        Some(&1)
    );
    assert_eq!(t.features.customers.len(), 1);
    assert!(rejects.contains("invalid_encoding"), "{rejects}");
}

/// A filtered or rejected line that `--refund-when` makes a refund counts negative in the
/// filtered and rejected revenue too, and the reject rate is of the rows `--where` kept.
#[test]
fn filtered_and_rejected_refunds_count_negative_and_filtered_rows_do_not_dilute_rejects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("lines.csv");
    std::fs::write(
        &path,
        "customer_id,order_date,amount,type,country\n\
         A,2025-01-01,100,sale,UK\n\
         A,2025-01-02,40,return,X\n\
         B,not a date,30,return,UK\n\
         B,2025-01-03,10,sale,X\n",
    )
    .expect("write");
    let options = TransactionOptions {
        expressions: stratum_io::row_exprs::RowExpressions {
            keep: Some("country <> 'X'".into()),
            refund_when: Some("type = 'return'".into()),
            ..Default::default()
        },
        ..TransactionOptions::default()
    };
    let mut rejects = stratum_io::rejects::RejectsWriter::new(Vec::new()).expect("header");
    let (_, q) = stratum_io::transactions::load_transactions(
        &path,
        &options,
        None,
        &mut rejects,
        &mut |_, _| {},
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let c = &q.counts;
    assert_eq!((c.accepted, c.filtered, c.rejected), (1, 2, 1));
    // the filtered return (−40) and sale (+10); the rejected return (−30)
    assert_eq!(c.filtered_amount, stratum_core::Money::from_major(-30));
    assert_eq!(c.rejected_amount, stratum_core::Money::from_major(-30));
    // one rejected row of the two kept, not of the four read
    assert_eq!(c.reject_rate(), 0.5);
}
