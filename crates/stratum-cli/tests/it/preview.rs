//! `stratum preview`: a draft scheme placed on the latest kept run's profiles gives every
//! customer the tier a run of the draft on the same data gives, customer by customer.

use std::collections::HashMap;
use std::path::Path;

use super::{arg, stratum};

/// The demo data's b2b scheme changed every way a preview must follow: a threshold, the
/// lifecycle stages, a new dimension on a clustering, rules on lifetime value and on an
/// attribute, and a final tier that reads them.
fn draft(b2b: &str) -> String {
    let changed = b2b
        .replace(
            "annual_revenue >= 1000000 AND tenure_months >= 24",
            "annual_revenue >= 700000 AND tenure_months >= 24",
        )
        .replace("churned_days = 365", "churned_days = 300")
        .replace("final = \"tier\"", "final = \"tier\"\n");
    format!(
        "{changed}
[cluster]
k = 4
features = [\"recency_days\", \"frequency\", \"monetary\"]

[[dimensions]]
name = \"watch\"

[[dimensions.tiers]]
name = \"lapsing\"
rule = \"churn_band = 'high' AND industry = '制造业'\"

[[dimensions.tiers]]
name = \"cluster_top\"
rule = \"cluster = 1\"

[[dimensions.tiers]]
name = \"other\"
"
    )
}

/// Every customer's column `column` in a CSV of tiers.
fn tiers(path: &Path, column: &str) -> HashMap<String, String> {
    let mut r = csv::Reader::from_path(path).expect("tiers.csv");
    let at = r
        .headers()
        .expect("header")
        .iter()
        .position(|h| h == column)
        .expect("column");
    r.records()
        .map(|row| {
            let row = row.expect("row");
            (row[0].to_string(), row[at].to_string())
        })
        .collect()
}

#[test]
fn a_preview_places_every_customer_as_a_run_of_the_draft_does() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let demo = dir.join("demo");
    let made = stratum(&["demo", "--out", arg(&demo)], dir);
    assert_eq!(made.code, 0, "{}", made.stderr);
    let b2b = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemes/b2b.toml");
    let draft_path = dir.join("draft.toml");
    std::fs::write(
        &draft_path,
        draft(&std::fs::read_to_string(&b2b).expect("b2b")),
    )
    .expect("draft");
    let overrides = dir.join("overrides.csv");
    std::fs::write(
        &overrides,
        "customer_id,tier,reason,set_by,set_on,expires\n\
         C0005,strategic,board decision,张伟,2025-10-01,\n\
         C0006,vip_at_risk,watch closely,李娜,2025-11-01,2027-01-01\n",
    )
    .expect("overrides");
    let db = dir.join("stratum.db");
    let transactions = demo.join("transactions.csv");
    let customers = demo.join("customers.csv");
    let interactions = demo.join("interactions.csv");
    let run = |scheme: &Path, out: &Path, extra: &[&str]| {
        let mut args = vec![
            "segment",
            "-t",
            arg(&transactions),
            "-c",
            arg(&customers),
            "--interactions",
            arg(&interactions),
            "--overrides",
            arg(&overrides),
            "--scheme",
            arg(scheme),
            "--clv",
            "--no-xlsx",
            "-o",
            arg(out),
        ];
        args.extend_from_slice(extra);
        let r = stratum(&args, dir);
        assert_eq!(r.code, 0, "{}", r.stderr);
    };
    // an earlier run of the second thousand customers first: the latest run's customers are
    // then not in the order of their store ids, and the preview must give them back in the
    // run's order (the draft's clustering starts from it)
    let text = std::fs::read_to_string(&transactions).expect("transactions");
    let mut lines = text.lines();
    let mut later: Vec<&str> = lines.next().into_iter().collect();
    later.extend(lines.filter(|l| l.starts_with("C1") || l.starts_with("C2")));
    let later_path = dir.join("later.csv");
    std::fs::write(&later_path, later.join("\n")).expect("later");
    let mut args = vec!["segment", "-t", arg(&later_path), "-o"];
    let early = dir.join("early");
    args.extend([arg(&early), "--no-xlsx", "--db", arg(&db)]);
    let r = stratum(&args, dir);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // a store whose latest run had no scheme keeps no profile to preview on
    let early_only = stratum(
        &["preview", "--scheme", arg(&draft_path), "--db", arg(&db)],
        dir,
    );
    assert_eq!(early_only.code, 1, "{}", early_only.stderr);
    assert!(
        early_only
            .stderr
            .contains("run 1 keeps no customer profile"),
        "{}",
        early_only.stderr
    );
    run(&b2b, &dir.join("now"), &["--db", arg(&db)]);
    run(&draft_path, &dir.join("drafted"), &[]);

    let out = dir.join("preview");
    let p = stratum(
        &[
            "preview",
            "--scheme",
            arg(&draft_path),
            "--db",
            arg(&db),
            "-o",
            arg(&out),
        ],
        dir,
    );
    assert_eq!(p.code, 0, "{}", p.stderr);
    let now = tiers(&dir.join("now/tiers.csv"), "tier");
    let drafted = tiers(&dir.join("drafted/tiers.csv"), "tier");
    let mut moved = HashMap::new();
    let mut r = csv::Reader::from_path(out.join("preview.csv")).expect("preview.csv");
    for row in r.records() {
        let row = row.expect("row");
        assert_eq!(now[&row[0]], row[1], "{:?}", row);
        assert_ne!(&row[1], &row[2], "{:?}", row);
        moved.insert(row[0].to_string(), row[2].to_string());
    }
    assert!(moved.len() > 10, "the draft moves customers: {moved:?}");
    assert_eq!(now.len(), drafted.len());
    for (customer, tier) in &drafted {
        let previewed = moved.get(customer).unwrap_or(&now[customer]);
        assert_eq!(previewed, tier, "customer {customer}");
    }
    // the new dimension on the clustering and the lifetime value, customer by customer
    let watch = tiers(&dir.join("drafted/tiers.csv"), "watch");
    assert!(watch.values().any(|t| t == "lapsing") && watch.values().any(|t| t == "cluster_top"));
    let by_watch = dir.join("by-watch");
    let p = stratum(
        &[
            "preview",
            "--scheme",
            arg(&draft_path),
            "--db",
            arg(&db),
            "--dimension",
            "watch",
            "-o",
            arg(&by_watch),
        ],
        dir,
    );
    assert_eq!(p.code, 0, "{}", p.stderr);
    // the run has no `watch`: its final tiers are compared, and every customer moves
    let watched = tiers(&by_watch.join("preview.csv"), "to_tier");
    assert_eq!(watched, watch);
    let html = std::fs::read_to_string(out.join("preview.html")).expect("preview.html");
    assert!(html.contains("<svg") && html.contains("Customers who would move"));
    // the stored run is not touched: still two runs
    let runs = stratum(&["runs", "--db", arg(&db)], dir);
    assert_eq!(runs.stdout.lines().count(), 4, "{}", runs.stdout);
}

/// `[[alerts]]` of the b2b scheme on two runs of the demo data: the run kept second sends its
/// digests (one per account manager) to a file channel, `alerts list` shows them delivered,
/// and a backfilled history alerts no one.
#[test]
fn segment_with_db_sends_the_alerts_of_its_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let demo = dir.join("demo");
    let made = stratum(&["demo", "--out", arg(&demo)], dir);
    assert_eq!(made.code, 0, "{}", made.stderr);
    let b2b = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemes/b2b.toml");
    let jsonl = dir.join("alerts.jsonl");
    let scheme = format!(
        "{}
[[alerts]]
name = \"value_down\"
label = {{ zh = \"价值等级下降\", en = \"Value tier down\" }}
rule = \"previous.value IN ('strategic', 'key', 'growth') AND value IN ('standard', 'churn_risk')\"
owner = \"account_manager\"
channels = [\"log\"]
lang = \"zh\"

[[channels]]
name = \"log\"
kind = \"file\"
path = \"{}\"
",
        std::fs::read_to_string(&b2b).expect("b2b"),
        jsonl.display()
    );
    let scheme_path = dir.join("alerting.toml");
    std::fs::write(&scheme_path, scheme).expect("scheme");
    let customers = demo.join("customers.csv");
    let check = stratum(
        &["check", arg(&scheme_path), "--customers", arg(&customers)],
        dir,
    );
    assert_eq!(check.code, 0, "{}", check.stderr);
    let db = dir.join("stratum.db");
    let run = |out: &str, extra: &[&str]| {
        let (t, c) = (demo.join("transactions.csv"), demo.join("customers.csv"));
        let o = dir.join(out);
        let mut args: Vec<String> = [
            "segment",
            "-t",
            arg(&t),
            "-c",
            arg(&c),
            "--scheme",
            arg(&scheme_path),
            "--no-xlsx",
            "--db",
            arg(&db),
            "-o",
            arg(&o),
        ]
        .map(String::from)
        .to_vec();
        args.extend(extra.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        stratum(&args, dir)
    };
    let first = run("r1", &["--as-of", "2025-07-01"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(!first.stderr.contains("alerts:"), "{}", first.stderr);
    let second = run("r2", &[]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(second.stderr.contains("alerts: "), "{}", second.stderr);
    let lines = std::fs::read_to_string(&jsonl).expect("alerts.jsonl");
    let events: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert!(!events.is_empty());
    // one digest per account manager, each customer once, every one moved down
    let mut managers: Vec<&str> = events
        .iter()
        .map(|e| e["data"]["recipient"].as_str().expect("recipient"))
        .collect();
    let n = managers.len();
    managers.sort_unstable();
    managers.dedup();
    assert_eq!(managers.len(), n);
    let r1 = tiers(&dir.join("r1/tiers.csv"), "value");
    let r2 = tiers(&dir.join("r2/tiers.csv"), "value");
    let mut moved = 0;
    for e in &events {
        let sections = e["data"]["alerts"].as_array().expect("alerts");
        for c in sections
            .iter()
            .flat_map(|s| s["customers"].as_array().expect("customers"))
        {
            let id = c["customer_id"].as_str().expect("id");
            assert!(matches!(r1[id].as_str(), "strategic" | "key" | "growth"));
            assert!(matches!(r2[id].as_str(), "standard" | "churn_risk"));
            moved += 1;
        }
    }
    let expected = r2
        .iter()
        .filter(|(id, t)| {
            matches!(t.as_str(), "standard" | "churn_risk")
                && r1
                    .get(*id)
                    .is_some_and(|t| matches!(t.as_str(), "strategic" | "key" | "growth"))
        })
        .count();
    assert_eq!(moved, expected);
    let list = stratum(&["alerts", "list", "--db", arg(&db)], dir);
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert_eq!(
        list.stdout.matches("delivered").count(),
        n,
        "{}",
        list.stdout
    );
    let send = stratum(&["alerts", "send", "--db", arg(&db)], dir);
    assert_eq!(send.code, 0, "{}", send.stderr);
    assert!(
        send.stderr.contains("alerts: 0 delivered"),
        "{}",
        send.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&jsonl)
            .expect("again")
            .lines()
            .count(),
        n
    );
    // a backfilled history alerts no one
    let quiet = dir.join("backfilled.db");
    let (t, backfill_out) = (demo.join("transactions.csv"), dir.join("backfill"));
    let backfill = stratum(
        &[
            "backfill",
            "-t",
            arg(&t),
            "-c",
            arg(&customers),
            "--scheme",
            arg(&scheme_path),
            "--every",
            "quarter",
            "--from",
            "2025-01-01",
            "--db",
            arg(&quiet),
            "--out",
            arg(&backfill_out),
        ],
        dir,
    );
    assert_eq!(backfill.code, 0, "{}", backfill.stderr);
    let none = stratum(&["alerts", "list", "--db", arg(&quiet)], dir);
    assert!(none.stderr.contains("no alert messages"), "{}", none.stderr);
    assert_eq!(
        std::fs::read_to_string(&jsonl)
            .expect("again")
            .lines()
            .count(),
        n
    );
}
