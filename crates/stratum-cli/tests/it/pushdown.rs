//! `--source URL --table NAME`: the same run from a PostgreSQL table as from the file it was
//! loaded from, byte for byte; `stratum pushdown`; a password never shown. Runs when
//! `STRATUM_TEST_DATABASE_URL` names a PostgreSQL server (`.ci/run` sets it).

use std::io::Write;
use std::path::Path;

use super::{arg, quality_json, stratum};

/// The test server with a password in its URL: trust authentication ignores it, so it must
/// be dropped from everything the run shows or writes.
fn server() -> Option<(String, String)> {
    let url = std::env::var("STRATUM_TEST_DATABASE_URL").ok()?;
    let with_password = url.replacen("://postgres@", "://postgres:pg-s3cret@", 1);
    Some((url, with_password))
}

/// Writes demo data into `dir` and loads its transactions into the table `table`.
fn demo_table(url: &str, table: &str, dir: &Path) -> std::path::PathBuf {
    let demo = dir.join("demo");
    let run = stratum(
        &[
            "demo",
            "--out",
            arg(&demo),
            "--customer-count",
            "300",
            "--line-count",
            "9000",
        ],
        dir,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let file = demo.join("transactions.csv");
    let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (customer_id text, order_id text, \
             order_date date, amount numeric(14, 2), channel text, category text)"
        ))
        .expect("create");
    let mut w = client
        .copy_in(&format!(
            "COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)"
        ))
        .expect("copy");
    w.write_all(&std::fs::read(&file).expect("read"))
        .expect("rows");
    w.finish().expect("copy done");
    file
}

fn drop_table(url: &str, table: &str) {
    let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    client
        .batch_execute(&format!("DROP TABLE IF EXISTS {table}"))
        .expect("drop");
}

fn same_file(a: &Path, b: &Path, name: &str) {
    let read = |d: &Path| std::fs::read(d.join(name)).expect(name);
    assert!(read(a) == read(b), "{name} differs");
}

#[test]
fn a_table_gives_the_run_its_file_gives() {
    let Some((url, with_password)) = server() else {
        eprintln!("STRATUM_TEST_DATABASE_URL is not set: skipped");
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let table = format!("stratum_cli_pushdown_{}", std::process::id());
    let file = demo_table(&url, &table, dir.path());
    let customers = dir.path().join("demo/customers.csv");
    // segment, and the report (lifetime value: each customer's days) with the B2B scheme
    let scheme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemes/b2b.toml");
    for (command, extra) in [
        ("segment", vec![]),
        ("report", vec!["--scheme", arg(&scheme)]),
    ] {
        let (db, from_file) = (
            dir.path().join(format!("{command}-db")),
            dir.path().join(format!("{command}-file")),
        );
        let mut args = vec![
            command,
            "--source",
            &with_password,
            "--table",
            &table,
            "-c",
            arg(&customers),
            "-o",
            arg(&db),
            "--no-xlsx",
        ];
        args.extend(&extra);
        let run = stratum(&args, dir.path());
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stderr.contains("transactions table"), "{}", run.stderr);
        for text in [&run.stdout, &run.stderr] {
            assert!(!text.contains("pg-s3cret"));
        }
        let mut args = vec![
            command,
            "-t",
            arg(&file),
            "-c",
            arg(&customers),
            "-o",
            arg(&from_file),
            "--no-xlsx",
        ];
        args.extend(&extra);
        let run = stratum(&args, dir.path());
        assert_eq!(run.code, 0, "{}", run.stderr);
        for name in ["customers.csv", "segments.csv", "validation.csv"] {
            same_file(&db, &from_file, name);
        }
        let (q, f) = (quality_json(&db), quality_json(&from_file));
        let source = &q["transactions"]["source"];
        assert_eq!(source["format"], "database");
        assert_eq!(source["database"]["table"], table.as_str());
        assert_eq!(source["database"]["plan"], "single_node");
        for count in ["rows_read", "accepted", "duplicates", "duplicate_amount"] {
            assert_eq!(
                q["transactions"][count], f["transactions"][count],
                "{count}"
            );
        }
        assert_eq!(q["customers"], f["customers"]);
        for name in ["quality.json", "manifest.json", "customers.csv"] {
            let text = std::fs::read_to_string(db.join(name)).expect(name);
            assert!(!text.contains("pg-s3cret"), "{name} shows the password");
        }
    }
    drop_table(&url, &table);
}

#[test]
fn pushdown_shows_the_plan_and_the_sql_without_running_it() {
    let Some((url, with_password)) = server() else {
        eprintln!("STRATUM_TEST_DATABASE_URL is not set: skipped");
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let table = format!("stratum_cli_plan_{}", std::process::id());
    demo_table(&url, &table, dir.path());
    let run = stratum(
        &[
            "pushdown",
            "--source",
            &with_password,
            "--table",
            &table,
            "--print-sql",
            "--as-of",
            "2025-07-01",
        ],
        dir.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let first = run.stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("-- source: postgres://postgres@")
            && first.ends_with(&format!("table {table} (postgresql)")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("\n-- plan: full pushdown on one node"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("DATE '2025-07-01'"), "{}", run.stdout);
    assert!(!run.stdout.contains("pg-s3cret"));
    drop_table(&url, &table);
}

#[test]
fn what_a_table_cannot_do_yet_is_refused_by_name() {
    // no server needed: the options are checked before connecting, the URL before anything
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("out");
    let unreachable = "postgres://nobody@127.0.0.1:1/none";
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "--source",
                unreachable,
                "--table",
                "orders",
                "--where",
                "channel = 'web'",
            ],
            "--where is not supported with --source yet",
        ),
        (
            &["--source", "sc://h:15002", "--table", "orders"],
            "not supported yet",
        ),
        (
            &[
                "--source",
                unreachable,
                "--table",
                "orders",
                "--encoding",
                "gb18030",
            ],
            "--encoding (or its [input] setting) says how a file is read",
        ),
        (&["--source", "postgres://h/db"], "--table"),
    ];
    for (given, message) in cases {
        let mut args = vec!["segment"];
        args.extend(given);
        args.extend(["-o", arg(&out)]);
        let run = stratum(&args, dir.path());
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(run.stderr.contains(message), "{}", run.stderr);
    }
    assert!(!out.exists(), "a refused run writes nothing");
}
