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
    let segment = |out: &str| {
        let out = tmp.path().join(out);
        let run = stratum(
            &[
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
            ],
            tmp.path(),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        out
    };
    segment("first");
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
    let out = segment("second");
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
    let bad = stratum(
        &["review", "stats", "--run", "9", "--db", arg(&db)],
        tmp.path(),
    );
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("no run 9"), "{}", bad.stderr);
}
