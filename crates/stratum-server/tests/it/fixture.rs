//! A store with two runs of six customers, worked by hand, and a server on it with one user of
//! each role.
//!
//! Run 1 (as of 2025-03-01): A 1,500 (2025-01-10), B 200 (2025-01-20), C 50 (2025-02-01),
//! D 3,000 (2025-02-10), E 1,200 (2025-01-12). Run 2 (as of 2025-04-01) adds B 900
//! (2025-03-05), a refund of 500 for E (2025-03-10) and a new customer F 400 (2025-03-20).
//! Tier `big` is revenue ≥ 1,000, else `small`. So in run 2: D 3,000, A 1,500 and B 1,100 are
//! big; E 700, F 400 and C 50 small; B moved up, E down, F is new.
//! 张伟 manages A, B, C; 李娜 D and E; F has no manager.
//!
//! Both runs have four opportunities (the default stages): O1 of A (张伟) open at the proposal,
//! 800; O2 of D (李娜) open at the lead, 500; O3 of C (张伟) won 2025-02-04, 300; O4 of a
//! prospect P (李娜) lost at the lead. Big is the best tier, so O1 and O2 are the open
//! opportunities of high-tier customers: 张伟 sees O1, 李娜 O2, a viewer neither.

use std::collections::HashMap;

use chrono::NaiveDate;
use stratum_core::abc::AbcParams;
use stratum_core::funnel::{FunnelParams, OpportunityLog, OpportunityRow, Status};
use stratum_core::run::{RunInput, RunResult, run};
use stratum_core::scheme::{Attributes, Override, SchemeParams};
use stratum_core::{Aggregator, FrequencyBasis, Money, RfmParams};
use stratum_server::{Running, Server, ServerConfig};
use stratum_store::access::Role;
use stratum_store::{RunMeta, Store};

pub const SCHEME: &str = r#"
name = "value"

[[dimensions]]
name = "tier"
label = { zh = "等级", en = "Tier" }

[[dimensions.tiers]]
name = "big"
label = { zh = "大客户", en = "Big" }
rule = "monetary >= 1000"

[[dimensions.tiers]]
name = "small"
label = { zh = "小客户", en = "Small" }

[strategies.big]
follow_up_days = 30
cadence = { zh = "每月拜访", en = "visit monthly" }

[strategies.small]
follow_up_days = 90
cadence = { zh = "每季度电话", en = "call quarterly" }
"#;

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

/// The customer master: name, industry, account manager.
struct Master {
    names: Vec<String>,
    rows: HashMap<String, Vec<String>>,
}

impl Master {
    fn new() -> Master {
        let rows = [
            ("A", "华东机械", "制造业", "张伟"),
            ("B", "华南电子", "电子", "张伟"),
            ("C", "北方物流", "物流", "张伟"),
            ("D", "Acme Trading", "贸易", "李娜"),
            ("E", "西部能源", "能源", "李娜"),
            ("F", "Foxconn Parts", "电子", ""),
        ];
        Master {
            names: ["name", "industry", "account_manager"]
                .map(String::from)
                .to_vec(),
            rows: rows
                .iter()
                .map(|(id, n, i, m)| {
                    (
                        id.to_string(),
                        vec![n.to_string(), i.to_string(), m.to_string()],
                    )
                })
                .collect(),
        }
    }
}

impl Attributes for Master {
    fn names(&self) -> &[String] {
        &self.names
    }

    fn values(&self, customer_id: &str) -> Option<&[String]> {
        self.rows.get(customer_id).map(Vec::as_slice)
    }

    fn signup(&self, _: &str) -> Option<NaiveDate> {
        None
    }

    fn is_number(&self, _: usize) -> bool {
        false
    }
}

fn run_at(as_of: NaiveDate) -> RunResult {
    run_with(as_of, &[])
}

/// The fixture's run at `as_of` with `overrides` applied.
fn run_with(as_of: NaiveDate, overrides: &[Override]) -> RunResult {
    let lines = [
        ("A", "a1", day(2025, 1, 10), 1_500),
        ("B", "b1", day(2025, 1, 20), 200),
        ("C", "c1", day(2025, 2, 1), 50),
        ("D", "d1", day(2025, 2, 10), 3_000),
        ("E", "e1", day(2025, 1, 12), 1_200),
        ("B", "b2", day(2025, 3, 5), 900),
        ("E", "e2", day(2025, 3, 10), -500),
        ("F", "f1", day(2025, 3, 20), 400),
    ];
    let mut agg = Aggregator::new(None, FrequencyBasis::Orders);
    for (c, o, d, a) in lines.into_iter().filter(|l| l.2 < as_of) {
        agg.add(c, Some(o), d, Money::from_major(a));
    }
    let (rfm, abc) = (
        RfmParams::new().check().expect("rfm"),
        AbcParams::new().check().expect("abc"),
    );
    let master = Master::new();
    let funnel = FunnelParams::default().check().expect("stages");
    let opportunities = opportunities();
    let input = RunInput {
        scheme: Some(SchemeParams::from_toml(SCHEME).expect("scheme")),
        attributes: Some(&master),
        funnel: Some((&opportunities, &funnel)),
        overrides,
        ..RunInput::new(agg.finish(as_of), as_of, &rfm, &abc)
    };
    run(input).expect("run")
}

/// The opportunities of both runs (see the module's comment).
fn opportunities() -> OpportunityLog {
    let row = |id: &str, customer: &str, owner: &str, stage: usize| OpportunityRow {
        id: id.into(),
        customer_id: customer.into(),
        owner: owner.into(),
        stage: Some(stage),
        created: Some(day(2025, 1, 5)),
        ..OpportunityRow::default()
    };
    let mut log = OpportunityLog::new();
    for r in [
        OpportunityRow {
            amount: Some(Money::from_major(800)),
            ..row("O1", "A", "张伟", 2)
        },
        OpportunityRow {
            amount: Some(Money::from_major(500)),
            ..row("O2", "D", "李娜", 0)
        },
        OpportunityRow {
            amount: Some(Money::from_major(300)),
            status: Some(Status::Won),
            closed: Some(day(2025, 2, 4)),
            ..row("O3", "C", "张伟", 3)
        },
        OpportunityRow {
            status: Some(Status::Lost),
            closed: Some(day(2025, 1, 20)),
            ..row("O4", "P", "李娜", 0)
        },
    ] {
        log.add(r);
    }
    log
}

fn meta() -> RunMeta {
    RunMeta {
        started_at: "2026-12-05T10:00:00Z".into(),
        finished_at: "2026-12-05T10:00:01Z".into(),
        tool_version: "Stratum test".into(),
        inputs: serde_json::json!([{ "role": "transactions", "path": "t.csv", "rows_read": 9, "rows_accepted": 8 }]),
        settings: serde_json::json!({}),
        scheme_text: Some(SCHEME.into()),
        alerts: true,
    }
}

/// A running server and one API token per role.
#[derive(Debug)]
pub struct Fixture {
    pub server: Running,
    /// The store's location.
    pub url: String,
    /// Tokens of the viewer, the account manager 张伟, the analyst and the admin.
    pub tokens: [String; 4],
    /// Token of the account manager 李娜.
    pub other_manager: String,
    _dir: Option<tempfile::TempDir>,
    schema: Option<(String, String)>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some((server, schema)) = &self.schema
            && let Ok(mut client) = postgres::Client::connect(server, postgres::NoTls)
        {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

impl Fixture {
    /// A fixture of a server started by the test itself (no users or tokens of the fixture's).
    pub fn around(server: Running, schema: Option<(String, String)>) -> Fixture {
        Fixture {
            server,
            url: String::new(),
            tokens: Default::default(),
            other_manager: String::new(),
            _dir: None,
            schema,
        }
    }
}

/// Where a test's store is: its URL, and what to remove after (a temporary folder for
/// SQLite, a schema for PostgreSQL).
#[derive(Debug)]
pub struct Location {
    pub url: String,
    pub dir: Option<tempfile::TempDir>,
    pub schema: Option<(String, String)>,
}

/// The store locations a test runs on: SQLite, and PostgreSQL when given.
pub fn locations(name: &str) -> Vec<Location> {
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = dir.path().join("stratum.db").to_string_lossy().into_owned();
    let mut out = vec![Location {
        url: sqlite,
        dir: Some(dir),
        schema: None,
    }];
    if let Ok(server) = std::env::var("STRATUM_TEST_DATABASE_URL") {
        let schema = format!("srv_{name}_{}", std::process::id());
        let mut client = postgres::Client::connect(&server, postgres::NoTls).expect("postgres");
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .expect("schema");
        let sep = if server.contains('?') { '&' } else { '?' };
        out.push(Location {
            url: format!("{server}{sep}options=-c%20search_path%3D{schema}"),
            dir: None,
            schema: Some((server, schema)),
        });
    }
    out
}

/// Records the fixture's run at `as_of` in the store at `url`, as another process would.
pub fn record_run(url: &str, as_of: NaiveDate) {
    Store::open(url)
        .expect("open")
        .record(&run_at(as_of), &meta())
        .expect("record");
}

/// Records the fixture's run at `as_of` in the store at `url` with the overrides the store
/// keeps, as `stratum segment --db` does.
pub fn record_next_run(url: &str, as_of: NaiveDate) {
    let mut store = Store::open(url).expect("open");
    let overrides: Vec<Override> = store
        .overrides()
        .expect("overrides")
        .into_iter()
        .map(|k| k.item)
        .collect();
    store
        .record(&run_with(as_of, &overrides), &meta())
        .expect("record");
}

/// The fixture on every store location.
pub fn fixtures(name: &str) -> Vec<Fixture> {
    locations(name)
        .into_iter()
        .map(|Location { url, dir, schema }| {
            let mut store = Store::open(&url).expect("open");
            store
                .record(&run_at(day(2025, 3, 1)), &meta())
                .expect("run 1");
            store
                .record(&run_at(day(2025, 4, 1)), &meta())
                .expect("run 2");
            let mut token = |name: &str, role: Role, book: Option<&str>| {
                let user =
                    stratum_server::api::make_user(name, role.code(), book, None).expect("user");
                store.add_user(&user).expect("add");
                stratum_server::api::create_token(&mut store, name, "test", "test")
                    .expect("token")
                    .token
            };
            let tokens = [
                token("vera", Role::Viewer, None),
                token("zhang", Role::Manager, Some("张伟")),
                token("ann", Role::Analyst, None),
                token("ada", Role::Admin, None),
            ];
            let other_manager = token("李娜", Role::Manager, None);
            drop(store);
            let mut config = ServerConfig::new(&url, "127.0.0.1:0".parse().expect("addr"));
            config.pool = Some(stratum_store::pool::PoolRules::default());
            let server = Server::bind(config).expect("bind").spawn();
            Fixture {
                server,
                url,
                tokens,
                other_manager,
                _dir: dir,
                schema,
            }
        })
        .collect()
}
