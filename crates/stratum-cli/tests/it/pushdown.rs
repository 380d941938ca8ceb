//! `--source URL --table NAME`: the same run from a PostgreSQL table as from the file it was
//! loaded from, byte for byte; `stratum pushdown`; a password never shown. Runs when
//! `STRATUM_TEST_DATABASE_URL` names a PostgreSQL server (`.ci/run` sets it).

use std::io::Write;
use std::path::Path;

use super::{arg, quality_json, stratum, stratum_env};

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
    // a row the table rejects is listed in rejects.csv, as a file's would be
    let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    client
        .batch_execute(&format!(
            "INSERT INTO {table} VALUES ('C9999', 'SO9999', NULL, 12.50, 'web', 'x')"
        ))
        .expect("insert");
    let out = dir.path().join("with-reject");
    let run = stratum(
        &[
            "segment",
            "--source",
            &url,
            "--table",
            &table,
            "-o",
            arg(&out),
            "--no-xlsx",
        ],
        dir.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rejects = std::fs::read_to_string(out.join("rejects.csv")).expect("rejects.csv");
    let lines: Vec<&str> = rejects.lines().collect();
    assert_eq!(lines.len(), 2, "{rejects}");
    assert_eq!(
        lines[1],
        format!("{table},0,missing_date,order_date,,date is empty,\"C9999,SO9999,,12.50,web,x\"")
    );
    drop_table(&url, &table);
}

/// `--table` alone reads the URL from `STRATUM_SOURCE` (as the server's runs do); the variable
/// set does not get in the way of a file's run, and `--table` without either is refused.
#[test]
fn the_url_can_come_from_the_environment() {
    let Some((url, with_password)) = server() else {
        eprintln!("STRATUM_TEST_DATABASE_URL is not set: skipped");
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let table = format!("stratum_cli_env_{}", std::process::id());
    let file = demo_table(&url, &table, dir.path());
    let env = [("STRATUM_SOURCE", with_password.as_str())];
    let (from_env, from_file) = (dir.path().join("env"), dir.path().join("file"));
    let run = stratum_env(
        &[
            "segment",
            "--table",
            &table,
            "-o",
            arg(&from_env),
            "--no-xlsx",
        ],
        dir.path(),
        &env,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("pg-s3cret"), "{}", run.stderr);
    let run = stratum_env(
        &[
            "segment",
            "-t",
            arg(&file),
            "-o",
            arg(&from_file),
            "--no-xlsx",
        ],
        dir.path(),
        &env,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    same_file(&from_env, &from_file, "customers.csv");
    let run = stratum(
        &["segment", "--table", &table, "-o", arg(&from_env)],
        dir.path(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "--table needs --source URL (or the URL in the environment variable STRATUM_SOURCE)"
        ),
        "{}",
        run.stderr
    );
    drop_table(&url, &table);
}

/// A history backfilled from a table keeps the runs, tiers and reasons a backfill of the
/// file keeps: every quarter's run, exported, byte for byte.
#[test]
fn a_backfill_from_a_table_keeps_the_runs_its_file_keeps() {
    let Some((url, with_password)) = server() else {
        eprintln!("STRATUM_TEST_DATABASE_URL is not set: skipped");
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let table = format!("stratum_cli_backfill_{}", std::process::id());
    let file = demo_table(&url, &table, dir.path());
    let scheme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemes/b2b.toml");
    let mut kept = Vec::new();
    for (name, input) in [
        ("table", ["--source", &with_password, "--table", &table]),
        ("file", ["-t", arg(&file), "--scheme", arg(&scheme)]),
    ] {
        let (db, out) = (
            dir.path().join(format!("{name}.db")),
            dir.path().join(format!("{name}-out")),
        );
        let mut args = vec![
            "backfill",
            "--every",
            "quarter",
            "--from",
            "2024-01-01",
            "--db",
            arg(&db),
            "-o",
            arg(&out),
        ];
        args.extend(input);
        if name == "table" {
            args.extend(["--scheme", arg(&scheme)]);
        }
        let run = stratum(&args, dir.path());
        assert_eq!(run.code, 0, "{}", run.stderr);
        for text in [&run.stdout, &run.stderr] {
            assert!(!text.contains("pg-s3cret"));
        }
        let lines = std::fs::read_to_string(out.join("backfill.csv")).expect("backfill.csv");
        let runs = lines.lines().count() - 1;
        assert!(runs >= 4, "{lines}");
        let mut exports = Vec::new();
        for id in 1..=runs {
            let to = dir.path().join(format!("{name}-export-{id}"));
            let id = id.to_string();
            let export = stratum(
                &["export", "--run", &id, "--db", arg(&db), "-o", arg(&to)],
                dir.path(),
            );
            assert_eq!(export.code, 0, "{}", export.stderr);
            exports.push(std::fs::read(to.join("tiers.csv")).expect("tiers.csv"));
        }
        kept.push((lines, exports));
    }
    assert_eq!(kept[0].0, kept[1].0, "backfill.csv");
    for (i, (a, b)) in kept[0].1.iter().zip(&kept[1].1).enumerate() {
        assert!(a == b, "the export of run {} differs", i + 1);
    }
    drop_table(&url, &table);
}

/// A schedule reads a table, and a run started from the API reads a configured source's: the
/// server hands the URL to its run in the environment, and shows it without the password.
#[test]
fn a_schedule_and_a_started_run_read_a_table() {
    use super::serve::{finished, multipart, request, serve};
    let Some((url, with_password)) = server() else {
        eprintln!("STRATUM_TEST_DATABASE_URL is not set: skipped");
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let table = format!("stratum_cli_schedule_{}", std::process::id());
    let file = demo_table(&url, &table, dir);
    let db = dir.join("stratum.db");
    let seeded = stratum(
        &[
            "segment",
            "-t",
            arg(&file),
            "--db",
            arg(&db),
            "-o",
            arg(&dir.join("first")),
        ],
        dir,
    );
    assert_eq!(seeded.code, 0, "{}", seeded.stderr);
    let added = stratum(
        &["users", "add", "ada", "--role", "admin", "--db", arg(&db)],
        dir,
    );
    assert_eq!(added.code, 0, "{}", added.stderr);
    let admin = stratum(&["users", "token", "ada", "--db", arg(&db)], dir)
        .stdout
        .trim()
        .to_string();
    let config = dir.join("stratum.toml");
    std::fs::write(
        &config,
        format!(
            "[[schedules]]\nname = \"warehouse\"\ncron = \"0 2 1 * *\"\nsource = {with_password:?}\ntable = {table:?}\n\n\
             [[sources]]\nname = \"sales\"\nsource = {with_password:?}\ntable = {table:?}\n"
        ),
    )
    .expect("config");
    let server = serve(&db, Some(&config));
    let (status, list) = request(&server.address, "GET", "/api/schedules", &admin, None);
    assert_eq!(status, 200, "{list}");
    assert!(!list.contains("pg-s3cret"), "{list}");
    let list: serde_json::Value = serde_json::from_str(&list).expect("schedules");
    assert_eq!(list[0]["table"], table.as_str());
    assert!(list[0]["transactions"].is_null(), "{list}");
    let (status, job) = request(
        &server.address,
        "POST",
        "/api/schedules/warehouse/run",
        &admin,
        None,
    );
    assert_eq!(status, 202, "{job}");
    let id: serde_json::Value = serde_json::from_str(&job).expect("job");
    let done = finished(&server, &admin, id["id"].as_u64().expect("id"));
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["run"], 2);
    assert!(!done.to_string().contains("pg-s3cret"), "{done}");
    assert!(
        done["inputs"][0]
            .as_str()
            .is_some_and(|i| i.ends_with(&format!("table {table}"))),
        "{done}"
    );
    // the run kept from the table is the run the file gives
    let (status, run) = request(&server.address, "GET", "/api/runs/2", &admin, None);
    assert_eq!(status, 200, "{run}");
    let (status, first) = request(&server.address, "GET", "/api/runs/1", &admin, None);
    assert_eq!(status, 200, "{first}");
    let (run, first): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&run).expect("run"),
        serde_json::from_str(&first).expect("run"),
    );
    assert_eq!(run["tiers"], first["tiers"]);
    // a run started on the configured source, as the runs page's form sends it (its file
    // input left empty)
    let (status, sources) = request(&server.address, "GET", "/api/sources", &admin, None);
    assert_eq!(status, 200, "{sources}");
    assert!(
        !sources.contains("pg-s3cret") && sources.contains("\"sales\""),
        "{sources}"
    );
    let (kind, body) = multipart(&[("transactions", "", b""), ("source", "", b"sales")]);
    let (status, job) = request(
        &server.address,
        "POST",
        "/api/runs",
        &admin,
        Some((&kind, &body)),
    );
    assert_eq!(status, 202, "{job}");
    let id: serde_json::Value = serde_json::from_str(&job).expect("job");
    let done = finished(&server, &admin, id["id"].as_u64().expect("id"));
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["run"], 3);
    for (parts, message) in [
        (
            &[("source", "", &b"nope"[..])][..],
            "source `nope`: expected one of sales",
        ),
        (
            &[
                ("transactions", "t.csv", &b"customer_id\n"[..]),
                ("source", "", &b"sales"[..]),
            ][..],
            "give one",
        ),
    ] {
        let (kind, body) = multipart(parts);
        let (status, answer) = request(
            &server.address,
            "POST",
            "/api/runs",
            &admin,
            Some((&kind, &body)),
        );
        assert_eq!(status, 400, "{answer}");
        assert!(answer.contains(message), "{answer}");
    }
    drop(server);
    // a source without its table is refused before the server starts
    std::fs::write(
        &config,
        format!("[[schedules]]\nname = \"w\"\ncron = \"0 2 1 * *\"\nsource = {with_password:?}\n"),
    )
    .expect("config");
    let bad = stratum(
        &[
            "serve",
            "--db",
            arg(&db),
            "--bind",
            "127.0.0.1:0",
            "--config",
            arg(&config),
        ],
        dir,
    );
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert!(
        bad.stderr
            .contains("schedule `w`: a source needs its table"),
        "{}",
        bad.stderr
    );
    assert!(!bad.stderr.contains("pg-s3cret"), "{}", bad.stderr);
    drop_table(&url, &table);
}

/// `--amount`, `--where` and `--refund-when` on a table give the run they give on its file, and
/// `stratum pushdown --print-sql` shows them in the statements.
#[test]
fn expressions_on_a_table_give_the_run_they_give_on_its_file() {
    let Some((url, _)) = server() else {
        eprintln!("STRATUM_TEST_DATABASE_URL is not set: skipped");
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let table = format!("stratum_cli_exprs_{}", std::process::id());
    let file = demo_table(&url, &table, dir.path());
    let exprs = [
        "--amount",
        "amount * 1.07",
        "--where",
        "channel <> 'phone' AND category NOT LIKE '办公%'",
        "--refund-when",
        "channel = 'distributor' AND amount < 50",
    ];
    let (db, from_file) = (dir.path().join("db"), dir.path().join("file"));
    let run = |input: &[&str], out: &Path| {
        let mut args = vec!["segment"];
        args.extend(input);
        args.extend(exprs);
        args.extend(["-o", arg(out), "--no-xlsx"]);
        let run = stratum(&args, dir.path());
        assert_eq!(run.code, 0, "{}", run.stderr);
    };
    run(&["--source", &url, "--table", &table], &db);
    run(&["-t", arg(&file)], &from_file);
    for name in ["customers.csv", "segments.csv"] {
        same_file(&db, &from_file, name);
    }
    let (q, f) = (quality_json(&db), quality_json(&from_file));
    for count in [
        "rows_read",
        "accepted",
        "filtered",
        "filtered_amount",
        "rejected",
    ] {
        assert_eq!(
            q["transactions"][count], f["transactions"][count],
            "{count}"
        );
    }
    let filtered = q["transactions"]["filtered"].as_u64().unwrap_or_default();
    assert!(filtered > 1000, "{filtered}");
    let mut args = vec![
        "pushdown",
        "--source",
        &url,
        "--table",
        &table,
        "--print-sql",
    ];
    args.extend(exprs);
    let shown = stratum(&args, dir.path());
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(shown.stdout.contains("AS kept"), "{}", shown.stdout);
    assert!(shown.stdout.contains("'办公%'"), "{}", shown.stdout);
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
    let cases: [(&[&str], &str); 3] = [
        (
            &["--source", "sc://h:15002", "--table", "orders"],
            if cfg!(feature = "spark") {
                "cannot connect to `sc://h:15002`"
            } else {
                "Spark Connect (sc://) needs a build with the `spark` feature"
            },
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
