//! `stratum review` and the overrides the store keeps, on the hand fixture (as of 2025-07-01;
//! see `scheme.rs`): C01 is `key`. 张伟 disputes it, proposing `vip`, and the dispute is
//! approved in the store (as the server does); the next `segment --db` run places C01 in
//! `vip`, with the reason, and `stratum review stats` gives agreement 0 of 1.

use stratum_store::Store;
use stratum_store::review::{Decision, NewReview, Verdict};

use crate::{arg, csv_columns, fixture, stratum, test_fixture};

#[test]
fn an_approved_dispute_in_the_store_is_applied_by_the_next_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("stratum.db");
    let paths = [
        fixture("hand.csv"),
        test_fixture("hand_master.csv"),
        test_fixture("hand_scheme.toml"),
    ];
    let segment = |out: &str, extra: &[&str]| {
        let out = tmp.path().join(out);
        let mut args = vec![
            "segment",
            "-t",
            arg(&paths[0]),
            "-c",
            arg(&paths[1]),
            "--scheme",
            arg(&paths[2]),
            "--db",
            arg(&db),
            "--no-xlsx",
            "-o",
            arg(&out),
        ];
        args.extend_from_slice(extra);
        let run = stratum(&args, tmp.path());
        assert_eq!(run.code, 0, "{}", run.stderr);
        out
    };
    segment("first", &[]);
    let mut store = Store::open(arg(&db)).expect("store");
    let review = store
        .add_review(&NewReview {
            run: 1,
            customer: "C01".into(),
            dimension: "tier".into(),
            tier: "key".into(),
            verdict: Verdict::Dispute,
            proposed: Some("vip".into()),
            reason: "framework contract signed".into(),
            reviewer: "zhangwei".into(),
            manager: "张伟".into(),
            created_at: "2026-12-05T09:00:00Z".into(),
        })
        .expect("review");
    store
        .decide(
            review,
            &Decision {
                approve: true,
                by: "director".into(),
                at: "2026-12-05T10:00:00Z".into(),
                answer: String::new(),
                expires: None,
            },
        )
        .expect("approve");
    drop(store);
    let out = segment("second", &["--report"]);
    // the report shows sales' agreement with the kept run's tiers beside the tests
    let html = std::fs::read_to_string(out.join("report.html")).expect("report");
    assert!(
        html.contains("Agreement of sales with the tiers (external validation): run #1"),
        "no agreement in the report"
    );
    let tiers = csv_columns(
        &out.join("tiers.csv"),
        &["customer_id", "final_tier", "overridden", "reason"],
    );
    let c01 = tiers.iter().find(|r| r[0] == "C01").expect("C01");
    assert_eq!(c01[1..3], ["vip", "yes"]);
    assert!(
        c01[3].contains("framework contract signed (dispute #1 approved by director)"),
        "{}",
        c01[3]
    );
    let stats = stratum(
        &["review", "stats", "--run", "1", "--db", arg(&db)],
        tmp.path(),
    );
    assert_eq!(stats.code, 0, "{}", stats.stderr);
    insta::assert_snapshot!(stats.stdout, @"
    run 1: agreement of sales with the tiers
    group         reviewed  agreed  disputed  approved  rejected  agreement
    ────────────  ────────  ──────  ────────  ────────  ────────  ─────────
    all                  1       0         1         1         0       0.0%
    tier key             1       0         1         1         0       0.0%
    manager 张伟         1       0         1         1         0       0.0%
    ");
    let kept = stratum(&["review", "overrides", "--db", arg(&db)], tmp.path());
    insta::assert_snapshot!(kept.stdout, @"
    customer  tier  set by        set on  expires  review  reason
    ────────  ────  ────────  ──────────  ───────  ──────  ───────────────────────────────────────────────────────────
    C01       vip   zhangwei  2026-12-05                1  framework contract signed (dispute #1 approved by director)
    ");
    let none = stratum(&["review", "stats", "--db", arg(&db)], tmp.path());
    assert_eq!(none.stdout, "run 2: no customer reviewed\n");
    // the interactions' visits and calls as follow-ups, once however often imported
    let interactions = test_fixture("hand_interactions.csv");
    for new in ["1 new", "0 new"] {
        let import = stratum(
            &["followups", "import", arg(&interactions), "--db", arg(&db)],
            tmp.path(),
        );
        assert_eq!(import.code, 0, "{}", import.stderr);
        assert!(
            import.stdout.starts_with(&format!(
                "9 rows read, 4 rejected; 1 visits and calls, {new} follow-ups"
            )),
            "{}",
            import.stdout
        );
        let rejected = import
            .stderr
            .lines()
            .filter(|l| l.starts_with("rejected: "));
        assert_eq!(rejected.count(), 4, "{}", import.stderr);
    }
    let list = stratum(&["followups", "list", "--db", arg(&db)], tmp.path());
    assert!(
        list.stdout.contains("C09") && list.stdout.contains("张伟"),
        "{}",
        list.stdout
    );
    let bad = stratum(
        &["review", "stats", "--run", "9", "--db", arg(&db)],
        tmp.path(),
    );
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("no run 9"), "{}", bad.stderr);
}

/// `stratum scorecards` on monthly runs of the hand fixture: the total counts the end run's
/// customers, the files are written, and a period the store cannot cover is refused by name.
#[test]
fn scorecards_of_a_quarter_are_printed_and_written() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("stratum.db");
    let data = fixture("hand.csv");
    let run = stratum(
        &[
            "backfill",
            "--every",
            "quarter",
            "--from",
            "2025-01-01",
            "-t",
            arg(&data),
            "--db",
            arg(&db),
            "--no-xlsx",
            "-o",
            arg(&tmp.path().join("bf")),
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = tmp.path().join("cards");
    let cards = stratum(
        &[
            "scorecards",
            "--period",
            "2025-Q2",
            "--db",
            arg(&db),
            "-o",
            arg(&out),
        ],
        tmp.path(),
    );
    assert_eq!(cards.code, 0, "{}", cards.stderr);
    let runs = stratum(&["runs", "--db", arg(&db)], tmp.path()).stdout;
    let end_customers = runs
        .lines()
        .find(|l| l.contains("2025-07-01"))
        .and_then(|l| l.split_whitespace().nth(2))
        .expect("the run as of 2025-07-01")
        .to_string();
    let total = csv_columns(&out.join("scorecards.csv"), &["manager", "customers"])
        .into_iter()
        .find(|r| r[0] == "total")
        .expect("total");
    assert_eq!(total[1], end_customers);
    assert!(out.join("scorecards.xlsx").is_file());
    // a run's report shows the last whole quarter's scorecards the store keeps
    let report = stratum(
        &[
            "segment",
            "-t",
            arg(&data),
            "--as-of",
            "2025-07-02",
            "--db",
            arg(&db),
            "--report",
            "--no-xlsx",
            "-o",
            arg(&tmp.path().join("report")),
        ],
        tmp.path(),
    );
    assert_eq!(report.code, 0, "{}", report.stderr);
    let html = std::fs::read_to_string(tmp.path().join("report/report.html")).expect("report");
    assert!(
        html.contains("Account managers&#39; scorecards 2025-Q2"),
        "no scorecards in the report"
    );
    let none = stratum(
        &["scorecards", "--period", "2024-Q1", "--db", arg(&db)],
        tmp.path(),
    );
    assert_ne!(none.code, 0);
    assert!(
        none.stderr.contains("no scorecards for 2024-Q1"),
        "{}",
        none.stderr
    );
    let bad = stratum(
        &["scorecards", "--period", "Q9", "--db", arg(&db)],
        tmp.path(),
    );
    assert!(bad.stderr.contains("--period Q9"), "{}", bad.stderr);
}

/// `segment --db` with a [pool] section releases the customers due at the run's date; `stratum
/// pool` lists, claims (refusing a second claim by name) and logs.
#[test]
fn a_run_applies_the_pool_and_customers_are_claimed_from_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("stratum.db");
    let config = tmp.path().join("stratum.toml");
    std::fs::write(
        &config,
        "[pool]\nno_follow_up_days = 30\nno_deal_days = 90\ndaily_claims = 5\n",
    )
    .expect("config");
    let run = stratum(
        &[
            "segment",
            "-t",
            arg(&fixture("hand.csv")),
            "-c",
            arg(&test_fixture("hand_master.csv")),
            "--scheme",
            arg(&test_fixture("hand_scheme.toml")),
            "--config",
            arg(&config),
            "--db",
            arg(&db),
            "--no-xlsx",
            "-o",
            arg(&tmp.path().join("out")),
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("released to the pool:"),
        "{}",
        run.stderr
    );
    let pool = |args: &[&str]| {
        let mut all = vec!["pool"];
        all.extend_from_slice(args);
        all.extend_from_slice(&[
            "--db",
            arg(&db),
            "--config",
            arg(&config),
            "--as-of",
            "2025-07-01",
        ]);
        stratum(&all, tmp.path())
    };
    let due = pool(&["list", "--status", "due"]);
    assert_eq!(due.code, 0, "{}", due.stderr);
    assert!(due.stdout.contains("0 due for release"), "{}", due.stdout);
    // C03 (李娜's, last purchase 2024-12-01) was released by the run
    let in_pool = pool(&["list", "--status", "in_pool"]).stdout;
    assert!(in_pool.contains("C03"), "{in_pool}");
    let claim = pool(&["claim", "C03", "--manager", "张伟"]);
    assert_eq!(claim.code, 0, "{}", claim.stderr);
    assert!(
        claim.stdout.starts_with("张伟 claimed C03"),
        "{}",
        claim.stdout
    );
    let again = pool(&["claim", "C03", "--manager", "王芳"]);
    assert_ne!(again.code, 0);
    assert!(
        again
            .stderr
            .contains("`C03` is not in the pool: 张伟 owns them"),
        "{}",
        again.stderr
    );
    let log = pool(&["log", "--customer", "C03"]).stdout;
    assert!(
        log.contains("claim") && log.contains("release") && log.contains("rules"),
        "{log}"
    );
}
