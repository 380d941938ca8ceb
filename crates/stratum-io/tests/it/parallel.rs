//! The parallel engine gives the same result whatever the thread count and batch size, and
//! whatever path the file takes (parallel UTF-8 chunks, or records from a transcoding reader).

use std::fmt::Write as _;

use stratum_core::synth::DemoParams;
use stratum_io::rejects::RejectsWriter;
use stratum_io::source::ReadOptions;
use stratum_io::transactions::{TransactionOptions, load_transactions};

/// Everything a run produces, as text: features of every customer, the quality counts and the
/// rejects file.
fn run(
    path: &std::path::Path,
    threads: usize,
    batch_bytes: Option<usize>,
    encoding: Option<&'static encoding_rs::Encoding>,
) -> String {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    pool.install(|| {
        let options = TransactionOptions {
            read: ReadOptions {
                encoding,
                ..ReadOptions::default()
            },
            batch_bytes,
            ..TransactionOptions::default()
        };
        let mut rejects = RejectsWriter::new(Vec::new()).expect("header");
        let (agg, q) = load_transactions(path, &options, None, &mut rejects, &mut |_, _| {}).expect("load");
        let as_of = agg.default_as_of().expect("data");
        let f = agg.finish(as_of);
        let mut out = String::new();
        let c = &q.counts;
        let _ = writeln!(
            out,
            "read {} accepted {} anonymous {} {} dup {} rejected {} {:?} purchases {} {} refunds {} {} zero {} dates {:?}..{:?}",
            c.rows_read, c.accepted, c.anonymous, c.anonymous_amount, c.duplicates, c.rejected, c.rejected_by_reason,
            q.lines.purchase_lines, q.lines.purchase_amount, q.lines.refund_lines, q.lines.refund_amount, q.lines.zero_amount_lines,
            q.lines.first_date, q.lines.last_date
        );
        for x in &f.customers {
            let _ = writeln!(out, "{x:?}");
        }
        for x in &f.no_purchase {
            let _ = writeln!(out, "{x:?}");
        }
        out.push_str(&String::from_utf8(rejects.finish().expect("flush")).expect("utf-8"));
        out
    })
}

/// Demo data with bad rows, quoted multi-line fields and far-apart duplicates mixed in.
fn messy_file(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let params = DemoParams::new()
        .customers(300)
        .transactions(20_000)
        .seed(11)
        .check()
        .expect("params");
    let customers = params.customers();
    let mut text = String::from("customer_id,order_id,order_date,amount,note\n");
    let mut n = 0u64;
    params.for_each_line(&customers, |l| {
        n += 1;
        let id = &customers[l.customer as usize].id;
        let note = match n % 97 {
            0 => "\"two\nlines, quoted\"".to_string(),
            1 => "5\" literal quote".to_string(),
            _ => String::new(),
        };
        let _ = writeln!(
            text,
            "{id},{},{},{},{note}",
            params.order_id(l.order_id),
            l.order_date,
            l.amount
        );
        match n % 1_000 {
            0 => text.push_str(",SO1,2025-01-01,5,\n"),
            250 => text.push_str("C0001,SO2,someday,5,\n"),
            500 => text.push_str("C0002,SO3,2025-01-01,1,234.50,x\n"),
            750 => text.push_str("C0001,SO000001,2021-01-10,100.00,\n"), // the same row many times
            _ => {}
        }
    });
    let path = dir.join("messy.csv");
    std::fs::write(&path, &text).expect("write");
    (path, text)
}

#[test]
fn threads_and_batch_sizes_do_not_change_any_result() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _) = messy_file(dir.path());
    let reference = run(&path, 1, None, None);
    assert!(
        reference.contains("long_row") && reference.contains("bad_date"),
        "{}",
        &reference[..300]
    );
    for (threads, batch) in [(2, None), (4, Some(4_096)), (3, Some(997)), (1, Some(50))] {
        let got = run(&path, threads, batch, None);
        assert!(
            got == reference,
            "threads {threads}, batch {batch:?} differ from one thread"
        );
    }
}

#[test]
fn the_transcoding_path_gives_the_same_result_as_the_parallel_utf8_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, text) = messy_file(dir.path());
    let gbk_path = dir.path().join("messy_gbk.csv");
    let (gbk, _, _) = encoding_rs::GB18030.encode(&text);
    std::fs::write(&gbk_path, &gbk).expect("write");
    let utf8 = run(&path, 2, Some(8_192), None);
    let transcoded = run(&gbk_path, 2, Some(8_192), Some(encoding_rs::GB18030));
    assert!(
        utf8.replace("messy.csv", "X") == transcoded.replace("messy_gbk.csv", "X"),
        "the GB18030 path differs from the UTF-8 path"
    );
}

/// Runs `text` in several configurations, checks they all agree and returns the reference.
fn agree(text: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.csv");
    std::fs::write(&path, text).expect("write");
    let reference = run(&path, 1, None, None);
    for (threads, batch) in [(2, Some(7)), (3, Some(1)), (2, Some(40)), (4, None)] {
        let got = run(&path, threads, batch, None);
        assert!(
            got == reference,
            "threads {threads}, batch {batch:?}:\n{got}\nvs\n{reference}"
        );
    }
    reference
}

#[test]
fn crlf_and_blank_lines_before_quoted_rows_keep_duplicates_and_line_numbers() {
    // CRLF, every row quoted (so the CSV reader parses it): the repeated X row (lines 3 and 5)
    // is one duplicate; the bad date on line 4 is reported on line 4.
    let crlf = b"customer_id,order_id,order_date,amount,note\r\nA,o1,2025-01-01,5,\"n\"\r\nX,o9,2025-01-01,10,\"n\"\r\nB,o2,someday,7,\"n\"\r\nX,o9,2025-01-01,10,\"n\"\r\n";
    let out = agree(crlf);
    assert!(
        out.starts_with("read 4 accepted 2 anonymous 0 0.00 dup 1 rejected 1"),
        "{out}"
    );
    assert!(out.contains("t.csv,4,bad_date,order_date,someday"), "{out}");
    // LF with blank lines between quoted rows (lines 3, 4 and 6): the bad date is on line 5
    let blank = b"customer_id,order_id,order_date,amount,note\nX,o9,2025-01-01,10,\"n\"\n\n\nB,o2,someday,7,\"n\"\n\nX,o9,2025-01-01,10,\"n\"\n";
    let out = agree(blank);
    assert!(
        out.starts_with("read 3 accepted 1 anonymous 0 0.00 dup 1 rejected 1"),
        "{out}"
    );
    assert!(out.contains("t.csv,5,bad_date"), "{out}");
}

#[test]
fn a_lone_carriage_return_ends_a_record_as_for_the_csv_reader() {
    // `\r` then a quoted field holding a newline: three records, all accepted
    let text = b"customer_id,order_id,order_date,amount\nA,o1,2025-01-01,5\r\"B\n\",o2,2025-01-02,7\nC,o3,2025-01-03,9\n";
    let out = agree(text);
    assert!(
        out.starts_with("read 3 accepted 3 anonymous 0 0.00 dup 0 rejected 0"),
        "{out}"
    );
}

#[test]
fn rejects_that_share_a_line_number_stay_in_file_order() {
    // lone-CR line endings: the CSV reader numbers every row line 1
    let text = b"customer_id,order_id,order_date,amount\rA,o1,bad1,5\rB,o2,bad2,7\rC,o3,bad3,9\rD,o4,bad4,1\rE,o5,2025-01-01,1\r";
    let out = agree(text);
    let order: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split(',').nth(4))
        .filter(|v| v.starts_with("bad"))
        .collect();
    assert_eq!(order, ["bad1", "bad2", "bad3", "bad4"]);
}

#[test]
fn gb18030_files_take_the_same_parallel_path_with_true_line_numbers() {
    // CRLF, quoted fields, Chinese ids; the bad date is on line 4 and the repeated row on 5
    let text = "customer_id,order_id,order_date,amount,note\r\n客户甲,o1,2025-01-01,5,\"备注\"\r\n客户乙,o9,2025-01-01,10,\"n\"\r\n客户丙,o2,someday,7,\"n\"\r\n客户乙,o9,2025-01-01,10,\"n\"\r\n";
    let (gbk, _, _) = encoding_rs::GB18030.encode(text);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.csv");
    std::fs::write(&path, &gbk).expect("write");
    let reference = run(&path, 1, None, None);
    for (threads, batch) in [(2, Some(7)), (3, Some(1))] {
        assert!(
            run(&path, threads, batch, None) == reference,
            "threads {threads}, batch {batch:?}"
        );
    }
    assert!(
        reference.starts_with("read 4 accepted 2 anonymous 0 0.00 dup 1 rejected 1"),
        "{reference}"
    );
    assert!(
        reference.contains("t.csv,4,bad_date,order_date,someday"),
        "{reference}"
    );
    assert!(reference.contains("customer_id: \"客户乙\""), "{reference}");
}

#[test]
fn parquet_with_typed_columns_gives_the_same_result_as_the_same_rows_in_csv() {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Date32Array, Decimal128Array, RecordBatch, StringArray};
    use chrono::NaiveDate;

    // (customer, order, date, amount in cents, note); `None` is a null in Parquet and an
    // empty field in CSV
    type Row = (
        Option<String>,
        Option<String>,
        Option<NaiveDate>,
        Option<i128>,
        Option<&'static str>,
    );
    let params = DemoParams::new()
        .customers(200)
        .transactions(6_000)
        .seed(5)
        .check()
        .expect("params");
    let customers = params.customers();
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
    let mut rows: Vec<Row> = Vec::new();
    params.for_each_line(&customers, |l| {
        rows.push((
            Some(customers[l.customer as usize].id.clone()),
            Some(params.order_id(l.order_id)),
            Some(l.order_date),
            Some(l.amount.units() / 100),
            Some(l.channel),
        ));
        let bad: Option<Row> = match rows.len() % 500 {
            0 => Some((None, Some("SO1".into()), day(2025, 1, 1), Some(500), None)),
            100 => Some((Some("C0001".into()), None, day(1850, 1, 1), Some(500), None)),
            200 => Some((
                Some("C0002".into()),
                None,
                day(2025, 1, 1),
                Some(20_000_000_000_000),
                None,
            )),
            300 => Some((Some("C0003".into()), None, None, Some(1), None)),
            350 => Some((Some("C0003".into()), None, day(2025, 1, 1), None, Some("x"))),
            400 => Some((None, None, None, None, None)),
            450 => rows.first().cloned(), // the same row again, far away
            _ => None,
        };
        rows.extend(bad);
    });
    let dir = tempfile::tempdir().expect("tempdir");
    // CSV: dates as YYYY-MM-DD, amounts with two decimals
    let mut csv = String::from("customer_id,order_id,order_date,amount,note\n");
    for (c, o, d, a, n) in &rows {
        let amount = a.map(|a| {
            format!(
                "{}{}.{:02}",
                if a < 0 { "-" } else { "" },
                a.abs() / 100,
                a.abs() % 100
            )
        });
        let _ = writeln!(
            csv,
            "{},{},{},{},{}",
            c.as_deref().unwrap_or(""),
            o.as_deref().unwrap_or(""),
            d.map(|d| d.to_string()).unwrap_or_default(),
            amount.unwrap_or_default(),
            n.unwrap_or("")
        );
    }
    let csv_path = dir.path().join("t.csv");
    std::fs::write(&csv_path, csv).expect("write csv");
    // Parquet: DATE and DECIMAL(18,2) columns, in row groups of 1,000 rows
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter(rows.iter().map(|r| r.0.clone()))),
        Arc::new(StringArray::from_iter(rows.iter().map(|r| r.1.clone()))),
        Arc::new(Date32Array::from_iter(
            rows.iter()
                .map(|r| r.2.map(|d| (d - epoch).num_days() as i32)),
        )),
        Arc::new(
            Decimal128Array::from_iter(rows.iter().map(|r| r.3))
                .with_precision_and_scale(18, 2)
                .expect("decimal type"),
        ),
        Arc::new(StringArray::from_iter(rows.iter().map(|r| r.4))),
    ];
    let batch = RecordBatch::try_from_iter(
        ["customer_id", "order_id", "order_date", "amount", "note"]
            .into_iter()
            .zip(columns),
    )
    .expect("batch");
    let pq_path = dir.path().join("t.parquet");
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(1_000))
        .build();
    let file = std::fs::File::create(&pq_path).expect("create");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).expect("writer");
    writer.write(&batch).expect("write parquet");
    writer.close().expect("close");

    let from_csv = run(&csv_path, 2, None, None).replace("t.csv", "t");
    let counts = from_csv.lines().next().unwrap_or("");
    // a row without a customer id is an anonymous sale in both
    assert!(!counts.contains("anonymous 0 "), "{counts}");
    for reason in ["BadDate", "BadAmount", "MissingDate", "MissingAmount"] {
        assert!(counts.contains(reason), "{reason} missing: {counts}");
    }
    assert!(!counts.contains(" dup 0 "), "{counts}");
    // whole row groups, and batches of 64 rows (`batch_bytes / 64`) read in step
    for (threads, batch) in [(1, None), (3, Some(4_096))] {
        let from_parquet = run(&pq_path, threads, batch, None).replace("t.parquet", "t");
        assert!(
            from_parquet == from_csv,
            "{threads} threads, batch {batch:?}: Parquet differs from CSV:\n{}",
            first_difference(&from_parquet, &from_csv)
        );
    }
}

/// The first line where two outputs differ, for a readable failure.
fn first_difference(a: &str, b: &str) -> String {
    a.lines().zip(b.lines()).find(|(x, y)| x != y).map_or_else(
        || format!("{} lines vs {}", a.lines().count(), b.lines().count()),
        |(x, y)| format!("{x}\nvs\n{y}"),
    )
}

/// The engine hashes each CSV file as it reads it: the digest it records is the whole file's
/// (what comes before the data included), in small batches and large, through the decoder and
/// through the blanks reader, for each of several files read as one input; and the rows read are
/// the same with hashing and without.
#[test]
fn the_engine_records_each_files_digest_as_it_reads_it() {
    use stratum_io::publish::{ReadDigests, digest_file};
    let dir = tempfile::tempdir().expect("tempdir");
    let (messy, text) = messy_file(dir.path());
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    };
    let bom = write(
        "bom.csv",
        &[b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
    );
    let gb = write("gb.csv", &encoding_rs::GB18030.encode(&text).0);
    let blanks = write(
        "blanks.txt",
        b"customer_id  order_id\torder_date amount\nC1 o1  2025-06-25 10\nC2\to2 2025-06-26   20.5\n",
    );
    let cases: [(&[&std::path::Path], ReadOptions); 4] = [
        (&[&messy, &bom], ReadOptions::default()),
        (
            &[&gb],
            ReadOptions {
                encoding: Some(encoding_rs::GB18030),
                ..ReadOptions::default()
            },
        ),
        (
            &[&blanks],
            ReadOptions {
                whitespace: true,
                ..ReadOptions::default()
            },
        ),
        (&[&messy], ReadOptions::default()),
    ];
    for batch_bytes in [None, Some(4_096)] {
        for (paths, read) in &cases {
            let board = ReadDigests::default();
            let options = TransactionOptions {
                read: read.clone(),
                batch_bytes,
                digests: Some(board.clone()),
                ..TransactionOptions::default()
            };
            let paths: Vec<std::path::PathBuf> = paths.iter().map(|p| p.to_path_buf()).collect();
            let mut rejects = RejectsWriter::new(Vec::new()).expect("header");
            stratum_io::transactions::load_transactions_from(
                &paths,
                &options,
                None,
                &mut rejects,
                &mut |_, _| {},
            )
            .expect("load");
            for path in &paths {
                let whole = digest_file(path).expect("digest");
                assert_eq!(board.get(path), Some(whole), "{}", path.display());
            }
        }
    }
    // hashing or not, the run reads the same rows
    let counts = |digests: Option<ReadDigests>| {
        let options = TransactionOptions {
            digests,
            ..TransactionOptions::default()
        };
        let mut rejects = RejectsWriter::new(Vec::new()).expect("header");
        let (_, q) =
            load_transactions(&messy, &options, None, &mut rejects, &mut |_, _| {}).expect("load");
        format!("{:?} {:?}", q.counts, q.lines)
    };
    assert_eq!(counts(None), counts(Some(ReadDigests::default())));
}
