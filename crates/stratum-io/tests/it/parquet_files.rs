//! Parquet files whose footer says what no row can: nested or all-null columns mapped to a
//! field, and row counts that lie.

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch, StringArray, StructArray};
use arrow_schema::{DataType, Field};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::{
    ParquetMetaDataBuilder, ParquetMetaDataReader, ParquetMetaDataWriter,
};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use stratum_io::source::SourceError;
use stratum_io::transactions::{LoadError, TransactionOptions, load_transactions};

use crate::common::run;

fn strings(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

const IDS: [Option<&str>; 4] = [Some("A"), Some("B"), Some("A"), Some("C")];
const DATES: [Option<&str>; 4] = [
    Some("2025-01-01"),
    Some("2025-01-02"),
    Some("2025-01-03"),
    Some("2025-01-04"),
];
const AMOUNTS: [Option<&str>; 4] = [Some("10"), Some("20"), Some("5"), Some("7.5")];

fn write(path: &Path, columns: Vec<(&str, ArrayRef)>, statistics: bool) {
    write_groups(path, columns, statistics, 1 << 20);
}

/// Writes `columns` in row groups of `group_rows` rows.
fn write_groups(path: &Path, columns: Vec<(&str, ArrayRef)>, statistics: bool, group_rows: usize) {
    let batch = RecordBatch::try_from_iter(columns).expect("batch");
    let props = WriterProperties::builder()
        .set_statistics_enabled(if statistics {
            EnabledStatistics::Page
        } else {
            EnabledStatistics::None
        })
        .set_max_row_group_row_count(Some(group_rows))
        .build();
    let file = std::fs::File::create(path).expect("create");
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props)).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

fn source_err(path: &Path) -> (SourceError, String) {
    let mut rejects = stratum_io::rejects::RejectsWriter::new(Vec::new()).expect("header");
    match load_transactions(
        path,
        &TransactionOptions::default(),
        None,
        &mut rejects,
        &mut |_, _| {},
    ) {
        Ok(_) => panic!("`{}` was read", path.display()),
        Err(LoadError::Source(e)) => {
            let dir = path.parent().map(|d| format!("{}/", d.display()));
            let text = e.to_string().replace(&dir.unwrap_or_default(), "");
            (e, text)
        }
        Err(other) => panic!("not a source error: {other}"),
    }
}

#[test]
fn a_struct_customer_id_is_refused_naming_its_type() {
    // read as text, `{id: "A"}` passed for a customer id
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("struct_id.parquet");
    let ids = StructArray::from(vec![(
        Arc::new(Field::new("id", DataType::Utf8, true)),
        strings(&IDS),
    )]);
    write(
        &path,
        vec![
            ("customer_id", Arc::new(ids) as ArrayRef),
            ("order_date", strings(&DATES)),
            ("amount", strings(&AMOUNTS)),
        ],
        true,
    );
    let (e, text) = source_err(&path);
    assert!(matches!(e, SourceError::NestedColumn { .. }), "{e}");
    assert_eq!(
        text,
        "column `customer_id` of `struct_id.parquet` is mapped to customer_id but holds struct<id: string> values, not plain values; map a column of text, numbers or dates"
    );
}

#[test]
fn a_list_amount_is_refused_naming_its_type() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("list_amount.parquet");
    let mut amounts = ListBuilder::new(StringBuilder::new());
    for a in AMOUNTS {
        amounts.values().append_option(a);
        amounts.append(true);
    }
    write(
        &path,
        vec![
            ("customer_id", strings(&IDS)),
            ("order_date", strings(&DATES)),
            ("amount", Arc::new(amounts.finish()) as ArrayRef),
        ],
        true,
    );
    let (e, text) = source_err(&path);
    assert!(matches!(e, SourceError::NestedColumn { .. }), "{e}");
    assert_eq!(
        text,
        "column `amount` of `list_amount.parquet` is mapped to amount but holds list<string> values, not plain values; map a column of text, numbers or dates"
    );
}

#[test]
fn a_required_column_of_nulls_is_refused_naming_it_and_the_count() {
    // with statistics the footer says so before a row is read; without, the run finds it
    for statistics in [true, false] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("null_amount.parquet");
        write(
            &path,
            vec![
                ("customer_id", strings(&IDS)),
                ("order_date", strings(&DATES)),
                ("amount", strings(&[None; 4])),
            ],
            statistics,
        );
        let (e, text) = source_err(&path);
        assert!(
            matches!(e, SourceError::AllNull { rows: 4, .. }),
            "statistics {statistics}: {e}"
        );
        assert_eq!(
            text,
            "column `amount` of `null_amount.parquet` is mapped to amount but all its 4 values are null; map the column that holds the amount",
            "statistics {statistics}"
        );
    }
}

#[test]
fn an_optional_column_of_nulls_and_an_unmapped_list_are_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("optional.parquet");
    let mut tags = ListBuilder::new(StringBuilder::new());
    for _ in IDS {
        tags.values().append_value("vip");
        tags.append(true);
    }
    write(
        &path,
        vec![
            ("customer_id", strings(&IDS)),
            ("order_id", strings(&[None; 4])),
            ("order_date", strings(&DATES)),
            ("amount", strings(&AMOUNTS)),
            ("tags", Arc::new(tags.finish()) as ArrayRef),
        ],
        true,
    );
    let (t, q, _) = run(&path, &TransactionOptions::default());
    assert_eq!((q.counts.rows_read, q.counts.accepted), (4, 4));
    let got: Vec<(String, String)> = t
        .features
        .customers
        .iter()
        .map(|c| (c.customer_id.clone(), c.monetary.to_string()))
        .collect();
    assert_eq!(
        got,
        [
            ("A".to_string(), "15.00".to_string()),
            ("B".to_string(), "20.00".to_string()),
            ("C".to_string(), "7.50".to_string())
        ]
    );
}

/// Rewrites the footer of the Parquet file at `path` so that its last row group announces
/// `rows` rows.
fn announce_rows(path: &Path, rows: i64) {
    let bytes = std::fs::read(path).expect("read");
    let meta = ParquetMetaDataReader::new()
        .parse_and_finish(&std::fs::File::open(path).expect("open"))
        .expect("footer");
    let last = meta.num_row_groups() - 1;
    let groups = meta
        .row_groups()
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let rows = if i == last { rows } else { g.num_rows() };
            g.clone().into_builder().set_num_rows(rows).build()
        })
        .collect::<Result<Vec<_>, _>>()
        .expect("row groups");
    let meta = ParquetMetaDataBuilder::new_from_metadata(meta)
        .set_row_groups(groups)
        .build();
    let footer = u32::from_le_bytes(
        bytes[bytes.len() - 8..bytes.len() - 4]
            .try_into()
            .expect("4 bytes"),
    );
    let mut out = bytes[..bytes.len() - 8 - footer as usize].to_vec();
    ParquetMetaDataWriter::new(&mut out, &meta)
        .finish()
        .expect("footer written");
    std::fs::write(path, out).expect("write");
}

/// The peak resident memory of this process so far, in KiB (Linux).
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

const LIAR: &str = "STRATUM_IT_LYING_PARQUET";

#[test]
fn a_footer_announcing_67_million_rows_reserves_memory_for_the_rows_present() {
    if let Some(path) = std::env::var_os(LIAR) {
        // the child process: read the file, which fails, and say how much memory it took
        let (e, _) = source_err(Path::new(&path));
        assert!(matches!(e, SourceError::Parquet { .. }), "{e}");
        println!("peak-kib {}", peak_kib());
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("liar.parquet");
    // 512 distinct orders in two row groups, so that every shard of the engine holds some
    // when the tables are sized (after the first batch, once the next one is read: the lie
    // is in the second group, found out when it runs dry)
    let ids: Vec<String> = (0..512).map(|i| format!("C{i}")).collect();
    let ids: Vec<Option<&str>> = ids.iter().map(|s| Some(s.as_str())).collect();
    write_groups(
        &path,
        vec![
            ("customer_id", strings(&ids)),
            ("order_date", strings(&[Some("2025-01-01"); 512])),
            ("amount", strings(&[Some("1"); 512])),
        ],
        true,
        256,
    );
    announce_rows(&path, 1 << 26);
    // measured in a process of its own: the tests of this binary run side by side
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "parquet_files::a_footer_announcing_67_million_rows_reserves_memory_for_the_rows_present",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(LIAR, &path)
        .output()
        .expect("child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let peak: u64 = stdout
        .lines()
        .find_map(|l| l.split_once("peak-kib ").map(|(_, v)| v))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak in: {stdout}"));
    // the footer asked for tables of 67 million rows (gigabytes); the file holds 256
    assert!(peak < 200 * 1024, "peak {peak} KiB");
}

/// `--amount`, `--where` and `--refund-when` over a Parquet file's typed columns (integers,
/// doubles, text) on the parallel reader: the same as over text.
#[test]
fn expressions_read_a_parquet_files_typed_columns() {
    use arrow_array::{Float64Array, Int64Array};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("lines.parquet");
    let quantity: ArrayRef = Arc::new(Int64Array::from(vec![
        Some(2),
        Some(3),
        Some(1),
        None,
        Some(1),
    ]));
    let price: ArrayRef = Arc::new(Float64Array::from(vec![2.55, 1.1, 18.0, 4.0, 9.99]));
    write(
        &path,
        vec![
            (
                "customer_id",
                strings(&[Some("A"), Some("A"), Some("B"), Some("B"), Some("B")]),
            ),
            (
                "invoice",
                strings(&[Some("1"), Some("2"), Some("3"), Some("4"), Some("C5")]),
            ),
            (
                "order_date",
                strings(&[
                    Some("2025-01-01"),
                    Some("2025-01-02"),
                    Some("2025-01-03"),
                    Some("2025-01-04"),
                    Some("2025-01-05"),
                ]),
            ),
            (
                "code",
                strings(&[Some("x"), Some("y"), Some("POST"), Some("z"), Some("w")]),
            ),
            ("quantity", quantity),
            ("price", price),
        ],
        true,
    );
    let options = TransactionOptions {
        expressions: stratum_io::row_exprs::RowExpressions {
            amount: Some("quantity * price".into()),
            keep: Some("code <> 'POST'".into()),
            refund_when: Some("invoice LIKE 'C%'".into()),
        },
        ..TransactionOptions::default()
    };
    let (t, q, rejects) = crate::common::run(&path, &options);
    let c = &q.counts;
    // A: 5.10 + 3.30; B: POST filtered (18.00), an empty quantity rejected, C5 a refund
    assert_eq!(
        (c.rows_read, c.accepted, c.filtered, c.rejected),
        (5, 3, 1, 1)
    );
    assert_eq!(c.filtered_amount, stratum_core::Money::from_major(18));
    assert_eq!(
        q.lines.refund_amount,
        stratum_core::Money::from_units(-99_900)
    );
    let a = &t.features.customers[0];
    assert_eq!(
        (a.customer_id.as_str(), a.monetary.to_string()),
        ("A", "8.40".into())
    );
    assert!(
        rejects.contains("lines.parquet,5,missing_amount,quantity,,\"is empty, so the amount `quantity * price` is empty\""),
        "{rejects}"
    );
}
