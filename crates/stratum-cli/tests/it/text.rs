//! What a text file really holds is what a run reads: quotes that never close, encodings
//! decided from the whole evidence, headers that are ambiguous. Each failed on the main of
//! 2026-12-03 (merged rows, mojibake ids, a silent guess).

use std::fs;
use std::path::Path;

use crate::segment;

use crate::arg as s;

/// The rejects of a finished run, as `line,reason` pairs.
fn rejects(out: &Path) -> Vec<(String, String)> {
    let text = fs::read_to_string(out.join("rejects.csv")).expect("rejects.csv");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| {
            let r = r.expect("record");
            (r[1].to_string(), r[2].to_string())
        })
        .collect()
}

use crate::quality_json as quality;

#[test]
fn a_stray_quote_rejects_its_line_and_the_next_fifty_lines_are_read() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("orders.csv");
    let mut text = String::from("customer_id,product,order_date,amount\n");
    text.push_str("C00,\"Widget,2025-01-01,5\n");
    for i in 1..=50 {
        text.push_str(&format!(
            "C{:02},Thing,2025-01-{:02},{i}\n",
            i % 7,
            i % 28 + 1
        ));
    }
    fs::write(&input, &text).expect("write");
    let out = tmp.path().join("out");
    let run = segment(s(&input), &out, &["--max-reject-rate", "50%"], tmp.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        rejects(&out),
        [("2".to_string(), "unclosed_quote".to_string())]
    );
    let q = quality(&out);
    let counts = &q["transactions"];
    assert_eq!(counts["rows_read"], 51, "{counts}");
    assert_eq!(counts["accepted"], 50, "{counts}");
    assert!(run.stderr.contains("unclosed"), "{}", run.stderr);
    // the same file as customer master data: the streaming reader rejects the same line
    let master = tmp.path().join("master.csv");
    let mut text = String::from("customer_id,name,city\n");
    text.push_str("C00,\"Acme,Shanghai\n");
    for i in 1..7 {
        text.push_str(&format!("C{i:02},Firm {i},Beijing\n"));
    }
    fs::write(&master, &text).expect("write");
    let orders = tmp.path().join("plain.csv");
    let mut plain = String::from("customer_id,order_date,amount\n");
    for i in 0..28 {
        let day = (i * 5) % 28 + 1;
        plain.push_str(&format!(
            "C{:02},2025-01-{day:02},{}\n",
            i % 7,
            10 + (i * i) % 41
        ));
    }
    fs::write(&orders, plain).expect("write");
    let out = tmp.path().join("out2");
    let run = segment(
        s(&orders),
        &out,
        &["-c", s(&master), "--max-reject-rate", "50%"],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        rejects(&out),
        [("2".to_string(), "unclosed_quote".to_string())]
    );
    let customers = fs::read_to_string(out.join("customers.csv")).expect("customers");
    assert!(customers.contains("Firm 6"), "{customers}");
}

#[test]
fn one_invalid_byte_in_a_utf8_file_rejects_its_row_and_keeps_every_chinese_id() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("orders.csv");
    let mut text = String::from("客户编号,下单日期,金额\n");
    for i in 0..90 {
        let line = format!(
            "客户{:02},2025-{:02}-{:02},{}\n",
            i % 30,
            i % 3 + 1,
            (i * 7) % 28 + 1,
            10 + (i * i) % 97
        );
        text.push_str(&line);
    }
    let mut bytes = text.clone().into_bytes();
    // a stray Latin-1 byte in one row
    bytes.extend_from_slice(b"caf\xe9,2025-03-01,5\n");
    fs::write(&input, &bytes).expect("write");
    let out = tmp.path().join("out");
    let run = segment(s(&input), &out, &["--max-reject-rate", "50%"], tmp.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let customers = fs::read_to_string(out.join("customers.csv")).expect("customers");
    assert!(
        customers.contains("客户00") && customers.contains("客户29"),
        "{customers}"
    );
    assert_eq!(
        rejects(&out),
        [("92".to_string(), "invalid_encoding".to_string())]
    );
    let q = quality(&out);
    assert_eq!(q["transactions"]["source"]["encoding"], "UTF-8");
    assert_eq!(
        q["transactions"]["source"]["encoding_evidence"]["basis"],
        "mostly_utf8"
    );
    assert!(run.stderr.contains("line 92"), "{}", run.stderr);
    // a GB18030 file is still read as GB18030, and says why
    let (gbk, _, _) = encoding_rs::GB18030.encode(&text);
    let input = tmp.path().join("gbk.csv");
    fs::write(&input, &gbk).expect("write");
    let out = tmp.path().join("gbk");
    let run = segment(s(&input), &out, &[], tmp.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let customers = fs::read_to_string(out.join("customers.csv")).expect("customers");
    assert!(customers.contains("客户00"), "{customers}");
    assert_eq!(
        quality(&out)["transactions"]["source"]["encoding_evidence"]["basis"],
        "not_utf8"
    );
}

#[test]
fn utf16_without_a_byte_order_mark_is_read() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let text = "customer_id,order_date,amount\r\nC1,2025-01-02,10\r\nC2,2025-01-03,20\r\n";
    let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let input = tmp.path().join("orders.csv");
    fs::write(&input, bytes).expect("write");
    let out = tmp.path().join("out");
    let run = segment(s(&input), &out, &[], tmp.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let q = quality(&out);
    assert_eq!(q["transactions"]["accepted"], 2);
    assert_eq!(
        q["transactions"]["source"]["encoding_evidence"]["basis"],
        "utf16_without_bom"
    );
}

#[test]
fn a_duplicated_header_or_a_column_mapped_twice_is_bad_input() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("orders.csv");
    fs::write(
        &input,
        "客户编号,下单日期,金额,金额\nC1,2025-01-02,10,12\nC2,2025-01-03,20,22\n",
    )
    .expect("write");
    let run = segment(s(&input), &tmp.path().join("out"), &[], tmp.path());
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("has 2 columns named so (columns 3, 4)"),
        "{}",
        run.stderr
    );
    let run = segment(
        s(&input),
        &tmp.path().join("out"),
        &["--map", "amount=金额", "--map", "order_id=客户编号"],
        tmp.path(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("is mapped to both customer_id and order_id"),
        "{}",
        run.stderr
    );
}
