//! The store at a million customers on SQLite, and on PostgreSQL when
//! `STRATUM_TEST_DATABASE_URL` is set: recording a run with a scheme, the size after 24 runs,
//! one customer's history, the migration matrix of two runs, the report's history and the
//! preview of a draft scheme.
//! Run with `cargo bench -p stratum-store`.

#[path = "../tests/it/synthetic.rs"]
mod synthetic;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use stratum_core::Lang;
use stratum_core::run::RunResult;
use stratum_core::scheme::SchemeParams;
use stratum_store::overview::Current;
use stratum_store::{RunMeta, Store};

const CUSTOMERS: u64 = 1_000_000;

const SCHEME: &str = r#"
name = "bench"

[[dimensions]]
name = "value"
[[dimensions.tiers]]
name = "high"
rule = "monetary >= 5000 AND frequency >= 3"
[[dimensions.tiers]]
name = "mid"
rule = "monetary >= 1000"
[[dimensions.tiers]]
name = "low"

[[dimensions]]
name = "tier"
[[dimensions.tiers]]
name = "keep"
rule = "value = 'high' AND recency_days < 180"
[[dimensions.tiers]]
name = "rest"
"#;

/// A run of `CUSTOMERS` customers with one to five seeded orders each.
fn million() -> RunResult {
    synthetic::synthetic_run(CUSTOMERS, 42, SCHEME)
}

/// The first day of the `k`-th month from January 2024: the as-of dates of two years of
/// monthly runs.
fn month(k: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("date") + chrono::Months::new(k)
}

fn meta() -> RunMeta {
    RunMeta {
        started_at: "2026-12-04T00:00:00Z".into(),
        finished_at: "2026-12-04T00:00:01Z".into(),
        tool_version: "bench".into(),
        inputs: serde_json::json!([]),
        settings: serde_json::json!({}),
        scheme_text: Some(SCHEME.into()),
        alerts: true,
    }
}

fn store(c: &mut Criterion) {
    let mut result = million();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut g = c.benchmark_group("store");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(30));
    // each sample records into a new file: the first run of a store (every customer new)
    g.bench_function("record a run of 1M customers, SQLite, new store", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let path = dir.path().join(format!("new-{i}.db"));
                let mut s = Store::open(&path.to_string_lossy()).expect("open");
                let t = Instant::now();
                black_box(s.record(&result, &meta()).expect("record"));
                total += t.elapsed();
                drop(s);
                let _ = std::fs::remove_file(&path);
            }
            total
        })
    });
    // two years of monthly runs: the file's size, then one customer's history over them
    let path = dir.path().join("kept.db");
    let mut kept = Store::open(&path.to_string_lossy()).expect("open");
    for k in 0..24 {
        result.as_of = month(k);
        kept.record(&result, &meta()).expect("record");
    }
    // the run being written: a month after the last
    result.as_of = month(24);
    drop(kept);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "SQLite file after 24 runs of 1M customers: {:.1} MB ({:.1} MB per run)",
        size as f64 / 1e6,
        size as f64 / 1e6 / 24.0
    );
    let mut kept = Store::open(&path.to_string_lossy()).expect("open");
    g.bench_function("one customer's history over 24 runs, SQLite", |b| {
        b.iter(|| black_box(kept.history("C0512345").expect("history")))
    });
    g.bench_function(
        "migration matrix between two runs of 1M customers, SQLite",
        |b| b.iter(|| black_box(kept.migrations(23, 24, None).expect("migrations").counts)),
    );
    // the report's history section: 23 kept runs and the run being written
    g.bench_function(
        "the report's history over 24 runs of 1M customers, SQLite",
        |b| {
            b.iter(|| {
                let current = Current {
                    run: &result,
                    scheme_text: Some(SCHEME),
                };
                black_box(
                    kept.overview(Some(current), None, 20, Lang::En)
                        .expect("overview"),
                )
            })
        },
    );
    // a draft scheme on the latest run's kept profiles: who would move
    let draft = SCHEME.replace("monetary >= 5000", "monetary >= 4000");
    g.bench_function(
        "preview a draft scheme on the latest run of 1M customers, SQLite",
        |b| {
            b.iter(|| {
                let params = SchemeParams::from_toml(&draft).expect("draft");
                black_box(
                    kept.preview(params, None, Lang::En)
                        .expect("preview")
                        .movers
                        .len(),
                )
            })
        },
    );
    // the same with an alert: the run before's profile read, the rule on every customer, the
    // digests written to the outbox in the run's transaction
    let alerting = format!(
        "{SCHEME}
[[alerts]]
name = \"big_mid\"
rule = \"previous.value = 'mid' AND value = 'mid' AND monetary >= 2200\"
recipients = [\"ops\"]
channels = [\"log\"]

[[channels]]
name = \"log\"
kind = \"file\"
path = \"alerts.jsonl\"
"
    );
    let with_alert = synthetic::synthetic_run(CUSTOMERS, 42, &alerting);
    let alert_meta = RunMeta {
        scheme_text: Some(alerting.clone()),
        ..meta()
    };
    g.bench_function(
        "record a run of 1M customers with an alert on the run before, SQLite",
        |b| b.iter(|| black_box(kept.record(&with_alert, &alert_meta).expect("record"))),
    );
    let fired = kept.messages().expect("messages");
    eprintln!(
        "the alert's digests: {} message(s), {} customers",
        fired.len(),
        fired.last().map_or(0, |m| m.digest.customers())
    );
    // the monthly re-tiering: a store that knows the customers already
    g.bench_function(
        "record a run of 1M customers, SQLite, known customers",
        |b| b.iter(|| black_box(kept.record(&result, &meta()).expect("record"))),
    );
    g.finish();
    if let Ok(server) = std::env::var("STRATUM_TEST_DATABASE_URL") {
        postgres_figures(c, &server, &mut result);
    }
}

/// The same figures on PostgreSQL, in a schema of their own (dropped after).
fn postgres_figures(c: &mut Criterion, server: &str, result: &mut RunResult) {
    let schema = "stratum_bench";
    let mut admin = postgres::Client::connect(server, postgres::NoTls).expect("postgres");
    let reset = format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}");
    admin.batch_execute(&reset).expect("schema");
    let sep = if server.contains('?') { '&' } else { '?' };
    let url = format!("{server}{sep}options=-c%20search_path%3D{schema}");
    let mut g = c.benchmark_group("store");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(40));
    g.bench_function("record a run of 1M customers, PostgreSQL, new store", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                admin.batch_execute(&reset).expect("schema");
                let mut s = Store::open(&url).expect("open");
                let t = Instant::now();
                black_box(s.record(result, &meta()).expect("record"));
                total += t.elapsed();
            }
            total
        })
    });
    admin.batch_execute(&reset).expect("schema");
    let mut kept = Store::open(&url).expect("open");
    for k in 0..24 {
        result.as_of = month(k);
        kept.record(result, &meta()).expect("record");
    }
    result.as_of = month(24);
    let size: i64 = admin
        .query_one(
            "SELECT SUM(pg_total_relation_size(c.oid))::BIGINT FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relkind = 'r'",
            &[&schema],
        )
        .expect("size")
        .get(0);
    eprintln!(
        "PostgreSQL tables after 24 runs of 1M customers: {:.1} MB",
        size as f64 / 1e6
    );
    g.bench_function("one customer's history over 24 runs, PostgreSQL", |b| {
        b.iter(|| black_box(kept.history("C0512345").expect("history")))
    });
    g.bench_function(
        "migration matrix between two runs of 1M customers, PostgreSQL",
        |b| b.iter(|| black_box(kept.migrations(23, 24, None).expect("migrations").counts)),
    );
    // the report's history section: 23 kept runs and the run being written
    g.bench_function(
        "the report's history over 24 runs of 1M customers, PostgreSQL",
        |b| {
            b.iter(|| {
                let current = Current {
                    run: result,
                    scheme_text: Some(SCHEME),
                };
                black_box(
                    kept.overview(Some(current), None, 20, Lang::En)
                        .expect("overview"),
                )
            })
        },
    );
    g.bench_function(
        "record a run of 1M customers, PostgreSQL, known customers",
        |b| b.iter(|| black_box(kept.record(result, &meta()).expect("record"))),
    );
    g.finish();
    drop(kept);
    let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
}

criterion_group!(benches, store);
criterion_main!(benches);
