//! The history store from the command line: `segment --db` keeps each run, `stratum runs`
//! lists and prunes them, `stratum history` shows one customer's tiers and reasons per run.

use super::{arg, segment, stratum};

const SCHEME: &str = r#"
name = "value"

[[dimensions]]
name = "tier"

[[dimensions.tiers]]
name = "big"
rule = "monetary >= 1000"

[[dimensions.tiers]]
name = "small"
"#;

/// B buys 200 in January and 900 in March: small at the end of February, big after March.
const ORDERS: &str = "customer_id,order_id,order_date,amount
A,a1,2025-01-10,1500
B,b1,2025-01-20,200
C,c1,2025-02-01,50
B,b2,2025-03-05,900
";

#[test]
fn segment_with_db_keeps_each_run_and_history_shows_a_customer_moving() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("orders.csv");
    std::fs::write(&input, ORDERS).expect("input");
    let scheme = tmp.path().join("scheme.toml");
    std::fs::write(&scheme, SCHEME).expect("scheme");
    let db = tmp.path().join("stratum.db");
    for (as_of, id) in [("2025-03-01", 1), ("2025-04-01", 2)] {
        let out = tmp.path().join(as_of);
        let run = segment(
            arg(&input),
            &out,
            &[
                "--scheme",
                arg(&scheme),
                "--as-of",
                as_of,
                "--no-xlsx",
                "--db",
                arg(&db),
            ],
            tmp.path(),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("recorded run {id} → [TMP]/stratum.db")),
            "{}",
            run.stderr
        );
        // the run's files are written as without --db
        assert!(out.join("tiers.csv").exists());
    }
    let runs = stratum(&["runs", "--db", arg(&db)], tmp.path());
    assert_eq!(runs.code, 0, "{}", runs.stderr);
    let lines: Vec<&str> = runs.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", runs.stdout);
    assert!(lines[2].contains("2025-03-01"), "{}", lines[2]);
    assert!(
        lines[2].contains("1750.00") && lines[2].contains("value"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].contains("2025-04-01") && lines[3].contains("2650.00"),
        "{}",
        lines[3]
    );

    let history = stratum(&["history", "B", "--db", arg(&db)], tmp.path());
    assert_eq!(history.code, 0, "{}", history.stderr);
    insta::assert_snapshot!(history.stdout, @r"
    B
    run       as of  RFM               ABC  R days  F        M  tier   reason
    ───  ──────────  ────────────────  ───  ──────  ─  ───────  ─────  ──────────────────────────────
      1  2025-03-01  General win-back  B        40  1   200.00  small  default tier (no rule matched)
      2  2025-04-01  General value     A        27  2  1100.00  big    monetary=1100
    ");
    // in Chinese: Stratum's labels, and the scheme's where it gives them (this one does not)
    let zh = stratum(
        &["history", "B", "--db", arg(&db), "--lang", "zh"],
        tmp.path(),
    );
    assert_eq!(zh.code, 0, "{}", zh.stderr);
    assert!(
        zh.stdout.contains("一般挽留客户") && zh.stdout.contains("small"),
        "{}",
        zh.stdout
    );
    assert!(
        history
            .stderr
            .contains("in tier big since 2025-04-01 (1 runs)"),
        "{}",
        history.stderr
    );
    // a customer in no run is named, exit 1
    let missing = stratum(&["history", "Z", "--db", arg(&db)], tmp.path());
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("customer `Z` is in no run"),
        "{}",
        missing.stderr
    );

    // who moved from run 1 to run 2: B, small → big
    let out = tmp.path().join("moves");
    let moves = stratum(
        &["migrations", "--db", arg(&db), "--out", arg(&out)],
        tmp.path(),
    );
    assert_eq!(moves.code, 0, "{}", moves.stderr);
    insta::assert_snapshot!(moves.stdout, @r"
    tier: run 1 (2025-03-01) → run 2 (2025-04-01)
    1 → 2  big  small
    ─────  ───  ─────
    big      1      0
    small    1      1
    up 1 (33.3%), stable 2 (66.7%), down 0 (0.0%); new 0, lost 0

    biggest movers by revenue
    customer  from   to   move  revenue before  revenue after
    ────────  ─────  ───  ────  ──────────────  ─────────────
    B         small  big  up            200.00        1100.00
    ");
    let movers = std::fs::read_to_string(out.join("movers.csv")).expect("movers.csv");
    assert_eq!(
        movers,
        "customer_id,from_tier,to_tier,move,revenue_from,revenue_to,was_class_a,reason_from,reason_to,crossed\n\
         B,small,big,up,200.00,1100.00,no,default tier (no rule matched),monetary=1100,\
         \"monetary 200 → 1,100 ≥ 1,000\"\n"
    );
    let matrix = std::fs::read_to_string(out.join("migrations.csv")).expect("migrations.csv");
    assert_eq!(matrix.lines().count(), 4, "{matrix}");
    // a run that is not there is named, exit 1
    let wrong = stratum(&["migrations", "--db", arg(&db), "--to", "7"], tmp.path());
    assert_eq!(wrong.code, 1, "{}", wrong.stderr);
    // why B moved: its revenue crossed the rule's 1,000
    let why = stratum(
        &["diff", "1", "2", "--customer", "B", "--db", arg(&db)],
        tmp.path(),
    );
    assert_eq!(why.code, 0, "{}", why.stderr);
    insta::assert_snapshot!(why.stdout, @r"
    B: run 1 (2025-03-01) → run 2 (2025-04-01)
                 before            after
    ───────────  ────────────────  ──────────────────  ───────
    tier         small             big                 changed
    rfm_class    general_win_back  general_value       changed
    rfm_segment  hibernating       potential_loyalist  changed
    abc_class    B                 A                   changed
    reason before: default tier (no rule matched)
    reason after:  monetary=1100
    value           before → after
    ────────────  ────────────────
    recency_days           40 → 27
    frequency                1 → 2
    monetary      200.00 → 1100.00
    tier small → big: monetary 200 → 1,100 ≥ 1,000
    ");
    // backwards, the old tier's threshold is the one crossed
    let back = stratum(
        &["diff", "2", "1", "--customer", "B", "--db", arg(&db)],
        tmp.path(),
    );
    assert!(
        back.stdout
            .contains("tier big → small: monetary 1,100 → 200 < 1,000"),
        "{}",
        back.stdout
    );

    // the stored run exports the tiers the run wrote: same customers, same final tiers
    let exported = tmp.path().join("export");
    let export = stratum(
        &[
            "export",
            "--run",
            "2",
            "--db",
            arg(&db),
            "-o",
            arg(&exported),
        ],
        tmp.path(),
    );
    assert_eq!(export.code, 0, "{}", export.stderr);
    let written = super::csv_columns(
        &tmp.path().join("2025-04-01/tiers.csv"),
        &["customer_id", "final_tier"],
    );
    let stored = super::csv_columns(&exported.join("tiers.csv"), &["customer_id", "final_tier"]);
    assert_eq!(written, stored);
    assert_eq!(stored.len(), 3);
    let xlsx = stratum(
        &[
            "export",
            "--format",
            "xlsx",
            "--db",
            arg(&db),
            "-o",
            arg(&exported),
        ],
        tmp.path(),
    );
    assert_eq!(xlsx.code, 0, "{}", xlsx.stderr);
    assert!(exported.join("tiers.xlsx").exists());
    // Parquet: a file the parquet reader takes (its types are checked in stratum-io)
    let parquet = tmp.path().join("export-parquet");
    let run = stratum(
        &[
            "export",
            "--format",
            "parquet",
            "--db",
            arg(&db),
            "-o",
            arg(&parquet),
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let bytes = std::fs::read(parquet.join("tiers.parquet")).expect("tiers.parquet");
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
    let refused = stratum(
        &[
            "export",
            "--format",
            "json",
            "--db",
            arg(&db),
            "-o",
            arg(&parquet),
        ],
        tmp.path(),
    );
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("--format json: give csv, xlsx or parquet")
    );

    // a run as of a date before the store's latest is refused before anything is written
    let earlier = tmp.path().join("earlier");
    let refused = segment(
        arg(&input),
        &earlier,
        &["--as-of", "2025-03-15", "--no-xlsx", "--db", arg(&db)],
        tmp.path(),
    );
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("has runs up to as-of 2025-04-01 (run 2): a run as of 2025-03-15"),
        "{}",
        refused.stderr
    );
    assert!(!earlier.exists());
    // without --as-of the date is known after the run: its files are written, it is not kept
    let late = tmp.path().join("late.csv");
    std::fs::write(
        &late,
        "customer_id,order_id,order_date,amount\nA,a1,2025-01-10,5\n",
    )
    .expect("late");
    let kept_not = segment(
        arg(&late),
        &earlier,
        &["--scheme", arg(&scheme), "--no-xlsx", "--db", arg(&db)],
        tmp.path(),
    );
    assert_eq!(kept_not.code, 1, "{}", kept_not.stderr);
    assert!(
        kept_not.stderr.contains("but the run was not kept"),
        "{}",
        kept_not.stderr
    );
    assert!(earlier.join("tiers.csv").exists());
    let runs = stratum(&["runs", "--db", arg(&db)], tmp.path());
    assert_eq!(runs.stdout.lines().count(), 4, "{}", runs.stdout);

    let prune = stratum(
        &["runs", "prune", "--keep", "1", "--db", arg(&db)],
        tmp.path(),
    );
    assert_eq!(prune.code, 0, "{}", prune.stderr);
    let runs = stratum(&["runs", "--db", arg(&db)], tmp.path());
    assert_eq!(runs.stdout.lines().count(), 3, "{}", runs.stdout);
}

/// With a store, the report gains a history section and the workbook a history sheet: tier
/// sizes per run, the migration matrix of the last two runs, time in tier and the biggest
/// moves with why. Three runs of the store test's customers (A big throughout, B small then
/// big, C small throughout, D new and big, E big then small at 700), the third written with
/// the report: its history is the two runs kept and itself.
#[test]
fn the_report_and_the_workbook_show_the_history_of_the_store() {
    use calamine::{Data, Reader, open_workbook_auto};
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("orders.csv");
    std::fs::write(
        &input,
        "customer_id,order_id,order_date,amount
A,a1,2025-01-10,1500
E,e1,2025-01-12,1200
B,b1,2025-01-20,200
C,c1,2025-02-01,50
B,b2,2025-03-05,900
D,d1,2025-04-10,3000
E,e2,2025-04-15,-500
",
    )
    .expect("input");
    let scheme = tmp.path().join("scheme.toml");
    std::fs::write(&scheme, SCHEME).expect("scheme");
    let db = tmp.path().join("stratum.db");
    for as_of in ["2025-03-01", "2025-04-01", "2025-05-01"] {
        let out = tmp.path().join(as_of);
        let run = segment(
            arg(&input),
            &out,
            &[
                "--scheme",
                arg(&scheme),
                "--as-of",
                as_of,
                "--report",
                "--lang",
                "en",
                "--db",
                arg(&db),
            ],
            tmp.path(),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let out = tmp.path().join("2025-05-01");
    let report = std::fs::read_to_string(out.join("report.html")).expect("report");
    let section = &report[report
        .find(r#"<section id="history""#)
        .expect("history section")..];
    let section = &section[..section.find("</section>").expect("end")];
    for text in [
        "Tier sizes over time",
        "#1 · 2025-03-01",
        "#2 · 2025-04-01",
        "this run · 2025-05-01",
        "Migration matrix: customers and revenue",
        "Where customers moved",
        "Time in the current tier",
        "Top downgrades by revenue",
        "High-value customers (class A before) who moved down or were lost",
        "monetary 1,200 → 700 &lt; 1,000",
    ] {
        assert!(section.contains(text), "no `{text}` in the history section");
    }
    assert!(!section.contains("Top upgrades"), "no one moved up");
    // the first run's report says moves show from the next run
    let first = std::fs::read_to_string(tmp.path().join("2025-03-01/report.html")).expect("report");
    assert!(first.contains("moves between tiers show from the next run on"));

    let mut book = open_workbook_auto(out.join("stratum.xlsx")).expect("workbook");
    assert_eq!(book.sheet_names()[..2], ["summary", "history"]);
    let sheet = book.worksheet_range("history").expect("history sheet");
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    c => c.to_string(),
                })
                .collect()
        })
        .collect();
    let find = |first: &str| {
        rows.iter()
            .find(|r| r.first().map(String::as_str) == Some(first))
            .unwrap_or_else(|| panic!("no row `{first}`: {rows:?}"))
    };
    // tier sizes per run: big, small, revenue
    assert_eq!(find("#1 2025-03-01")[1..4], ["2", "2", "2950"]);
    assert_eq!(find("#2 2025-04-01")[1..4], ["3", "1", "3850"]);
    assert_eq!(find("this run 2025-05-01")[1..4], ["3", "2", "6350"]);
    // the matrix (customers first): new → big 1; big → big 2, big → small 1; small → small 1
    assert_eq!(find("(new)")[1..3], ["1", "0"]);
    assert_eq!(find("big")[1..3], ["2", "1"]);
    assert_eq!(find("moved down")[1..3], ["1", "0.25"]);
    assert_eq!(
        find("E")[1..6],
        [
            "big",
            "small",
            "1200",
            "700",
            "monetary 1,200 → 700 < 1,000"
        ]
    );
}

/// `stratum backfill … --db DB` with `extra`, on `input` with the test scheme.
fn backfill(input: &std::path::Path, db: &std::path::Path, extra: &[&str]) -> super::Run {
    let dir = db.parent().expect("folder");
    let scheme = dir.join("scheme.toml");
    std::fs::write(&scheme, SCHEME).expect("scheme");
    let out = dir.join("backfill-out");
    let mut args = vec![
        "backfill",
        "-t",
        arg(input),
        "--scheme",
        arg(&scheme),
        "--db",
        arg(db),
        "-o",
        arg(&out),
    ];
    args.extend_from_slice(extra);
    stratum(&args, dir)
}

#[test]
fn backfill_keeps_a_run_at_every_month_end_with_only_the_lines_before_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("orders.csv");
    // as of 2025-02-01: A 1500 (big), B 200 (small); C's first line is on 2025-02-01, so C
    // comes in as of 2025-03-01; B's 900 in March makes it big as of 2025-04-01; April is
    // the last month that ends by the day after the last line (2025-04-11)
    std::fs::write(&input, format!("{ORDERS}A,a2,2025-04-10,10\n")).expect("input");
    let db = tmp.path().join("stratum.db");
    let run = backfill(&input, &db, &["--every", "month", "--from", "2025-01-15"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("as of 2025-02-01: 2 customers → run 1")
            && run.stderr.contains("as of 2025-04-01: 3 customers → run 3")
            && !run.stderr.contains("2025-05-01"),
        "{}",
        run.stderr
    );
    let kept = std::fs::read_to_string(tmp.path().join("backfill-out/backfill.csv"))
        .expect("backfill.csv");
    assert_eq!(
        kept,
        "run,as_of,customers,unscored,revenue,lines_after_as_of\n\
         1,2025-02-01,2,0,1700.00,3\n\
         2,2025-03-01,3,0,1750.00,2\n\
         3,2025-04-01,3,0,2650.00,1\n"
    );
    let history = stratum(&["history", "B", "--db", arg(&db)], tmp.path());
    assert_eq!(history.code, 0, "{}", history.stderr);
    let rows: Vec<&str> = history
        .stdout
        .lines()
        .filter(|l| l.contains("2025-0"))
        .collect();
    assert_eq!(rows.len(), 3, "{}", history.stdout);
    assert!(
        rows[0].contains("small") && rows[1].contains("small"),
        "{}",
        history.stdout
    );
    assert!(rows[2].contains("big"), "{}", history.stdout);

    // the store now ends as of 2025-04-01: a second backfill over those months is refused,
    // one after them is taken
    let again = backfill(&input, &db, &["--every", "month", "--from", "2025-02-01"]);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(
        again.stderr.contains("already has runs as of 2025-04-01"),
        "{}",
        again.stderr
    );
    let after = backfill(
        &input,
        &db,
        &[
            "--every",
            "month",
            "--from",
            "2025-04-01",
            "--to",
            "2025-05-20",
        ],
    );
    assert_eq!(after.code, 0, "{}", after.stderr);
    assert!(
        after
            .stderr
            .contains("as of 2025-06-01: 3 customers → run 5"),
        "{}",
        after.stderr
    );
}

#[test]
fn backfill_refuses_what_it_cannot_do() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("orders.csv");
    std::fs::write(&input, "customer_id,order_date,amount\nA,2025-01-10,10\n").expect("input");
    let db = tmp.path().join("stratum.db");
    for (extra, message) in [
        (
            &["--every", "week", "--from", "2025-01-01"][..],
            "--every `week`: expected month or quarter",
        ),
        (
            &[
                "--every",
                "month",
                "--from",
                "2025-03-01",
                "--to",
                "2025-01-01",
            ],
            "--to 2025-01-01 is before --from 2025-03-01",
        ),
        (
            &[
                "--every",
                "month",
                "--from",
                "2025-01-01",
                "--as-of",
                "2025-02-01",
            ],
            "--as-of: backfill tiers at every period end",
        ),
        (
            &["--every", "quarter", "--from", "2025-01-01"],
            "no quarter ends between --from 2025-01-01 and 2025-01-11",
        ),
    ] {
        let run = backfill(&input, &db, extra);
        assert_eq!(run.code, 1, "{extra:?}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{extra:?}: {}", run.stderr);
    }
    let runs = stratum(&["runs", "--db", arg(&db)], tmp.path());
    assert!(runs.stderr.contains("no runs"), "{}", runs.stderr);
}

#[test]
fn backfill_equals_separate_segment_runs_byte_for_byte_on_the_demo_data() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let demo = tmp.path().join("demo");
    let made = stratum(&["demo", "--out", arg(&demo)], tmp.path());
    assert_eq!(made.code, 0, "{}", made.stderr);
    let scheme = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemes/b2b.toml");
    let inputs = |db: &std::path::Path| {
        vec![
            "-t".to_string(),
            demo.join("transactions.csv").display().to_string(),
            "-c".into(),
            demo.join("customers.csv").display().to_string(),
            "--interactions".into(),
            demo.join("interactions.csv").display().to_string(),
            "--scheme".into(),
            arg(&scheme).into(),
            "--clv".into(),
            "--db".into(),
            arg(db).into(),
        ]
    };
    let together = tmp.path().join("backfill.db");
    let mut args = vec!["backfill".to_string()];
    args.extend(inputs(&together));
    let out = tmp.path().join("backfill-out");
    args.extend(
        [
            "--every",
            "quarter",
            "--from",
            "2024-01-01",
            "-o",
            arg(&out),
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = stratum(&args, tmp.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ends = [
        "2024-04-01",
        "2024-07-01",
        "2024-10-01",
        "2025-01-01",
        "2025-04-01",
        "2025-07-01",
        "2025-10-01",
        "2026-01-01",
    ];
    let apart = tmp.path().join("segment.db");
    for end in ends {
        let mut args = vec!["segment".to_string()];
        args.extend(inputs(&apart));
        let out = tmp.path().join(end);
        args.extend(["--as-of", end, "--no-xlsx", "-o", arg(&out)].map(String::from));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = stratum(&args, tmp.path());
        assert_eq!(run.code, 0, "{end}: {}", run.stderr);
    }
    for (i, end) in ends.iter().enumerate() {
        let id = (i + 1).to_string();
        let mut tiers = Vec::new();
        for db in [&together, &apart] {
            let out = tmp.path().join(format!("export-{id}-{}", tiers.len()));
            let export = stratum(
                &[
                    "export",
                    "--run",
                    &id,
                    "--format",
                    "csv",
                    "-o",
                    arg(&out),
                    "--db",
                    arg(db),
                ],
                tmp.path(),
            );
            assert_eq!(export.code, 0, "{}", export.stderr);
            tiers.push(std::fs::read(out.join("tiers.csv")).expect("tiers.csv"));
        }
        assert!(tiers[0] == tiers[1], "run {id} as of {end} differs");
        assert!(tiers[0].len() > 10_000, "run {id}");
    }
    for customer in ["C0001", "C0777", "C1999"] {
        let shown: Vec<String> = [&together, &apart]
            .map(|db| stratum(&["history", customer, "--db", arg(db)], tmp.path()).stdout)
            .to_vec();
        assert_eq!(shown[0], shown[1], "{customer}");
    }
    let matrices: Vec<String> = [&together, &apart]
        .map(|db| stratum(&["migrations", "--db", arg(db)], tmp.path()).stdout)
        .to_vec();
    assert_eq!(matrices[0], matrices[1]);
}

/// `stratum scheme`: a run keeps its scheme as version 1, `publish` keeps a draft with its
/// message and author, `log` lists both, `diff` shows the rule that changed (between versions,
/// or a version and a file); an unknown version and an empty message are errors.
#[test]
fn scheme_versions_are_published_listed_and_compared() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("orders.csv");
    std::fs::write(&input, ORDERS).expect("input");
    let scheme = tmp.path().join("scheme.toml");
    std::fs::write(&scheme, SCHEME).expect("scheme");
    let draft = tmp.path().join("draft.toml");
    std::fs::write(&draft, SCHEME.replace(">= 1000", ">= 1200")).expect("draft");
    let db = tmp.path().join("stratum.db");
    let run = segment(
        arg(&input),
        &tmp.path().join("out"),
        &["--scheme", arg(&scheme), "--no-xlsx", "--db", arg(&db)],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let publish = stratum(
        &[
            "scheme",
            "publish",
            arg(&draft),
            "-m",
            "big from 1,200",
            "--author",
            "ana",
            "--db",
            arg(&db),
        ],
        tmp.path(),
    );
    assert_eq!(publish.code, 0, "{}", publish.stderr);
    assert!(
        publish.stderr.contains("published scheme version 2"),
        "{}",
        publish.stderr
    );
    let again = stratum(
        &[
            "scheme",
            "publish",
            arg(&draft),
            "-m",
            "again",
            "--db",
            arg(&db),
        ],
        tmp.path(),
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again
            .stderr
            .contains("scheme version 2 has this text already")
    );

    let log = stratum(&["scheme", "log", "--db", arg(&db)], tmp.path());
    assert_eq!(log.code, 0, "{}", log.stderr);
    let lines: Vec<&str> = log.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", log.stdout);
    assert!(lines[2].contains("first used by run 1"), "{}", lines[2]);
    assert!(
        lines[3].contains("ana") && lines[3].contains("big from 1,200"),
        "{}",
        lines[3]
    );

    let diff = stratum(&["scheme", "diff", "1", "2", "--db", arg(&db)], tmp.path());
    assert_eq!(diff.code, 0, "{}", diff.stderr);
    assert_eq!(
        diff.stdout,
        "~ tier.big: monetary >= 1000 → monetary >= 1200\n"
    );
    // a version against a file on disk, and a version against itself
    let file = stratum(
        &["scheme", "diff", "2", arg(&scheme), "--db", arg(&db)],
        tmp.path(),
    );
    assert_eq!(
        file.stdout,
        "~ tier.big: monetary >= 1200 → monetary >= 1000\n"
    );
    let same = stratum(&["scheme", "diff", "1", "1", "--db", arg(&db)], tmp.path());
    assert_eq!(same.stdout, "no changes\n");

    // two files need no store: none is created
    let elsewhere = tmp.path().join("none.db");
    let files = stratum(
        &[
            "scheme",
            "diff",
            arg(&scheme),
            arg(&draft),
            "--db",
            arg(&elsewhere),
        ],
        tmp.path(),
    );
    assert_eq!(
        files.stdout,
        "~ tier.big: monetary >= 1000 → monetary >= 1200\n"
    );
    assert!(!elsewhere.exists());
    let missing = stratum(&["scheme", "diff", "1", "9", "--db", arg(&db)], tmp.path());
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("no scheme version 9"),
        "{}",
        missing.stderr
    );
    let empty = stratum(
        &[
            "scheme",
            "publish",
            arg(&draft),
            "-m",
            " ",
            "--db",
            arg(&db),
        ],
        tmp.path(),
    );
    assert_eq!(empty.code, 1);
    assert!(
        empty.stderr.contains("--message is empty"),
        "{}",
        empty.stderr
    );
}
