//! Who may see what, route by route and role by role, and that nothing leaks.

use super::fixture::fixtures;
use super::{Auth, call, get};

/// Route, then the status for viewer, account manager (张伟), analyst and admin.
const MATRIX: &[(&str, &str, [u16; 4])] = &[
    ("GET", "/api/me", [200, 200, 200, 200]),
    ("GET", "/api/runs", [200, 200, 200, 200]),
    ("GET", "/api/runs/2", [200, 200, 200, 200]),
    ("GET", "/api/runs/99", [404, 404, 404, 404]),
    ("GET", "/api/funnel", [200, 200, 200, 200]),
    ("GET", "/api/funnel?run=1&lang=en", [200, 200, 200, 200]),
    ("GET", "/api/funnel?run=99", [404, 404, 404, 404]),
    ("GET", "/api/reviews", [403, 200, 200, 200]),
    ("GET", "/api/reviews?status=pending", [403, 200, 200, 200]),
    ("GET", "/api/reviews?status=maybe", [400, 400, 400, 400]),
    ("GET", "/api/reviews/stats", [200, 200, 200, 200]),
    ("GET", "/api/reviews/stats?run=99", [404, 404, 404, 404]),
    (
        "GET",
        "/api/scorecards?period=2025-03",
        [200, 200, 200, 200],
    ),
    ("GET", "/api/scorecards?period=2020", [400, 400, 400, 400]),
    ("GET", "/api/pool", [403, 200, 200, 200]),
    ("GET", "/api/pool?status=due", [403, 200, 200, 200]),
    ("GET", "/api/pool?status=soon", [403, 400, 400, 400]),
    ("GET", "/api/customers", [403, 200, 200, 200]),
    (
        "GET",
        "/api/customers?tier=big&sort=recency&order=asc",
        [403, 200, 200, 200],
    ),
    ("GET", "/api/customers?per_page=0", [403, 400, 400, 400]),
    ("GET", "/api/customers/A", [403, 200, 200, 200]),
    // another manager's customer, and no such customer: the same answer
    ("GET", "/api/customers/D", [403, 404, 200, 200]),
    ("GET", "/api/customers/ZZZ", [403, 404, 404, 404]),
    ("GET", "/api/customers/A/profile", [403, 200, 200, 200]),
    ("GET", "/api/customers/D/profile", [403, 404, 200, 200]),
    ("GET", "/api/customers/A/follow-ups", [403, 200, 200, 200]),
    ("GET", "/api/customers/D/follow-ups", [403, 404, 200, 200]),
    ("GET", "/api/migrations", [200, 200, 200, 200]),
    (
        "GET",
        "/api/migrations?from=1&to=2&dimension=abc_class",
        [200, 200, 200, 200],
    ),
    (
        "GET",
        "/api/migrations?dimension=nope",
        [400, 400, 400, 400],
    ),
    ("GET", "/api/worklist", [403, 200, 400, 400]),
    (
        "GET",
        "/api/worklist?manager=%E6%9D%8E%E5%A8%9C",
        [403, 200, 200, 200],
    ),
    ("GET", "/api/runs/2/export", [403, 200, 200, 200]),
    (
        "GET",
        "/api/runs/1/export?format=xlsx",
        [403, 200, 200, 200],
    ),
    (
        "GET",
        "/api/runs/2/export?format=parquet",
        [403, 200, 200, 200],
    ),
    (
        "GET",
        "/api/runs/2/export?format=json",
        [403, 400, 400, 400],
    ),
    ("GET", "/api/runs/9/export", [403, 404, 404, 404]),
    ("GET", "/api/alerts", [403, 403, 200, 200]),
    ("GET", "/api/schemes", [200, 200, 200, 200]),
    ("GET", "/api/schemes/1", [200, 200, 200, 200]),
    ("GET", "/api/schemes/diff", [400, 400, 400, 400]),
    ("GET", "/api/schemes/diff?from=1&to=1", [200, 200, 200, 200]),
    ("GET", "/api/schemes/diff?to=99", [404, 404, 404, 404]),
    ("GET", "/api/users", [403, 403, 403, 200]),
    ("GET", "/api/tokens", [403, 403, 403, 200]),
    ("GET", "/api/audit", [403, 403, 403, 200]),
    ("DELETE", "/api/tokens/st_none", [403, 403, 403, 404]),
    ("GET", "/", [200, 200, 200, 200]),
    ("GET", "/customers", [403, 200, 200, 200]),
    ("GET", "/customers?q=acme", [403, 200, 200, 200]),
    ("GET", "/customers/A", [403, 200, 200, 200]),
    ("GET", "/customers/D", [403, 404, 200, 200]),
    ("GET", "/my", [403, 200, 200, 200]),
    ("GET", "/migrations", [200, 200, 200, 200]),
    ("GET", "/funnel", [200, 200, 200, 200]),
    ("GET", "/reviews", [200, 200, 200, 200]),
    ("GET", "/scorecards", [200, 200, 200, 200]),
    ("GET", "/pool", [403, 200, 200, 200]),
    ("GET", "/scorecards?period=2025-03", [200, 200, 200, 200]),
    (
        "GET",
        "/scorecards/export?period=2025-03&format=xlsx",
        [200, 200, 200, 200],
    ),
    ("GET", "/at-risk", [403, 200, 200, 200]),
    ("GET", "/runs", [200, 200, 200, 200]),
    ("GET", "/schemes", [200, 200, 200, 200]),
    ("GET", "/schemes/1", [200, 200, 200, 200]),
    ("GET", "/schemes/99", [404, 404, 404, 404]),
    ("GET", "/schemes/diff?from=1&to=1", [200, 200, 200, 200]),
    ("GET", "/alerts", [403, 403, 200, 200]),
    ("GET", "/healthz", [200, 200, 200, 200]),
    ("GET", "/readyz", [200, 200, 200, 200]),
];

#[test]
fn every_route_answers_each_role_exactly_as_it_may() {
    for f in fixtures("matrix") {
        let mut wrong = Vec::new();
        for (method, path, want) in MATRIX {
            for (token, want) in f.tokens.iter().zip(want) {
                let a = call(&f, method, path, Auth::Token(token), None);
                if a.status != *want {
                    wrong.push(format!(
                        "{method} {path} as {token:.12}…: {} (want {want}) {}",
                        a.status,
                        a.body.chars().take(120).collect::<String>()
                    ));
                }
            }
            // without credentials: the API answers 401, pages send to the sign-in page
            let a = call(&f, method, path, Auth::None, None);
            let open = matches!(*path, "/healthz" | "/readyz");
            let want = if open {
                200
            } else if path.starts_with("/api") {
                401
            } else {
                303
            };
            if a.status != want {
                wrong.push(format!(
                    "{method} {path} signed out: {} (want {want})",
                    a.status
                ));
            }
        }
        // adding a user: admins only
        let body = r#"{"name":"new-analyst","role":"analyst","password":"long enough"}"#;
        for (token, want) in f.tokens.iter().zip([403, 403, 403, 201]) {
            let a = call(
                &f,
                "POST",
                "/api/users",
                Auth::Token(token),
                Some(("application/json", body)),
            );
            if a.status != want {
                wrong.push(format!(
                    "POST /api/users: {} (want {want}) {}",
                    a.status, a.body
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}

/// A run recorded by another process is served once read in the background; until then,
/// requests are answered from the run before, never refused or kept waiting.
#[test]
fn a_run_recorded_elsewhere_is_served_once_read() {
    use std::time::{Duration, Instant};
    for f in fixtures("newer") {
        let analyst = &f.tokens[2];
        assert_eq!(get(&f, "/api/customers", analyst).json()["run"], 2);
        super::fixture::record_run(&f.url, super::fixture::day(2025, 5, 1));
        let started = Instant::now();
        loop {
            let run = get(&f, "/api/customers", analyst).json()["run"].clone();
            if run == 3 {
                break;
            }
            assert_eq!(run, 2);
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "run 3 not served after 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn the_funnel_shows_every_role_its_figures_and_only_the_opportunities_it_may_see() {
    for f in fixtures("funnel") {
        let ids = |token: &str, path: &str| -> Vec<String> {
            let body = get(&f, path, token).json();
            let funnel = if path.starts_with("/api/runs/") {
                body["summary"]["funnel"].clone()
            } else {
                body["funnel"].clone()
            };
            funnel["flagged"]
                .as_array()
                .expect("flagged")
                .iter()
                .map(|o| o["id"].as_str().unwrap_or_default().to_string())
                .collect()
        };
        let [viewer, zhang, analyst, admin] = &f.tokens;
        for path in ["/api/funnel", "/api/runs/2"] {
            assert!(ids(viewer, path).is_empty(), "{path}");
            assert_eq!(ids(zhang, path), ["O1"], "{path}");
            assert_eq!(ids(&f.other_manager, path), ["O2"], "{path}");
            assert_eq!(ids(analyst, path), ["O1", "O2"], "{path}");
            assert_eq!(ids(admin, path), ["O1", "O2"], "{path}");
        }
        // the figures are the same for everyone: reached 4, 2, 2, 1 then 1 won
        let body = get(&f, "/api/funnel?lang=zh", viewer).json();
        let reached: Vec<u64> = body["funnel"]["all"]["stages"]
            .as_array()
            .expect("stages")
            .iter()
            .map(|s| s["reached"].as_u64().unwrap_or(0))
            .collect();
        assert_eq!(reached, [4, 2, 2, 1]);
        assert_eq!(body["funnel"]["all"]["won"], 1);
        assert_eq!(body["run"]["id"], 2);
        assert_eq!(body["tier_labels"]["big"], "大客户");
        // the page lists the same opportunities as the API
        let page = get(&f, "/funnel", zhang).body;
        assert!(page.contains("O1") && !page.contains("O2"), "{page:.200}");
        let page = get(&f, "/funnel", viewer).body;
        assert!(page.contains("<svg") && !page.contains("O1"));
    }
}

#[test]
fn an_account_manager_sees_only_their_own_customers_everywhere() {
    for f in fixtures("leak") {
        let zhang = &f.tokens[1];
        let list = get(&f, "/api/customers?per_page=500", zhang).json();
        let ids: Vec<&str> = list["customers"]
            .as_array()
            .expect("customers")
            .iter()
            .map(|c| c["id"].as_str().expect("id"))
            .collect();
        assert_eq!(ids, ["A", "B", "C"], "by revenue: 1,500, 1,100, 50");
        assert_eq!(list["total"], 3);
        // asking for another manager's book, or searching for their customer, finds nothing
        for path in [
            "/api/customers?manager=%E6%9D%8E%E5%A8%9C",
            "/api/customers?q=acme",
            "/api/customers?q=D",
        ] {
            assert_eq!(get(&f, path, zhang).json()["total"], 0, "{path}");
        }
        // migrations: the matrix is for all (aggregates), the movers only theirs
        let m = get(&f, "/api/migrations", zhang).json();
        let movers: Vec<&str> = m["movers"]
            .as_array()
            .expect("movers")
            .iter()
            .map(|x| x["id"].as_str().expect("id"))
            .collect();
        assert_eq!(movers, ["B"]);
        assert_eq!(
            (m["up"].as_u64(), m["down"].as_u64(), m["new"].as_u64()),
            (Some(1), Some(1), Some(1))
        );
        // an export of a run has their customers only
        let csv = get(&f, "/api/runs/2/export", zhang).body;
        let ids: Vec<&str> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap_or(""))
            .collect();
        assert_eq!(ids.len(), 3, "{csv}");
        assert!(ids.iter().all(|id| ["A", "B", "C"].contains(id)), "{csv}");
        let all = get(&f, "/api/runs/2/export", &f.tokens[2]).body;
        assert_eq!(all.lines().count(), 7, "a header and six customers");
        assert!(
            all.starts_with("customer_id,as_of,tier,final_tier,"),
            "{all}"
        );
        // the worklist is always their own, whatever is asked
        let w = get(&f, "/api/worklist?manager=%E6%9D%8E%E5%A8%9C", zhang).json();
        assert_eq!(w["manager"], "张伟");
        // the other manager sees D and E only
        let other = get(&f, "/api/customers", &f.other_manager).json();
        assert_eq!(other["total"], 2);
        assert_eq!(get(&f, "/api/customers/A", &f.other_manager).status, 404);
        // pages: no other manager's customer in any list
        for path in [
            "/customers",
            "/customers?q=acme",
            "/migrations",
            "/my",
            "/",
            "/at-risk",
        ] {
            let page = get(&f, path, zhang);
            assert_eq!(page.status, 200, "{path}");
            for foreign in [
                "/customers/D",
                "/customers/E",
                "/customers/F",
                "Acme",
                "西部能源",
            ] {
                assert!(!page.body.contains(foreign), "{path} shows {foreign}");
            }
        }
        // a viewer sees no customer rows at all: no movers, no links to customers
        let viewer = &f.tokens[0];
        let m = get(&f, "/api/migrations", viewer).json();
        assert_eq!(m["movers"].as_array().map(Vec::len), Some(0));
        assert_eq!(m["movers_total"], 0);
        for path in ["/", "/migrations"] {
            let page = get(&f, path, viewer);
            assert!(
                !page.body.contains("/customers/"),
                "{path} links a customer for a viewer"
            );
            for name in ["华东机械", "Acme"] {
                assert!(
                    !page.body.contains(name),
                    "{path} names a customer for a viewer"
                );
            }
        }
    }
}

#[test]
fn lists_migrations_and_worklists_match_the_figures_worked_by_hand() {
    for f in fixtures("figures") {
        let analyst = &f.tokens[2];
        let list = get(&f, "/api/customers", analyst).json();
        let ids: Vec<&str> = list["customers"]
            .as_array()
            .expect("customers")
            .iter()
            .map(|c| c["id"].as_str().expect("id"))
            .collect();
        assert_eq!(ids, ["D", "A", "B", "E", "F", "C"]);
        assert_eq!(list["run"], 2);
        let d = &list["customers"][0];
        assert_eq!(d["revenue"], 3000.0);
        assert_eq!(d["tier"], "big");
        assert_eq!(d["account_manager"], "李娜");
        assert_eq!(d["name"], "Acme Trading");
        // D's profile in run 2, as kept: its revenue and master data, labelled in Chinese
        let p = get(&f, "/api/customers/D/profile?lang=zh", analyst).json();
        assert_eq!(p["run"], 2);
        let value = |column: &str| {
            p["values"]
                .as_array()
                .expect("values")
                .iter()
                .find(|v| v["column"] == column)
                .map(|v| (v["label"].clone(), v["value"].clone()))
        };
        assert_eq!(
            value("monetary"),
            Some((serde_json::json!("消费金额"), serde_json::json!(3000.0)))
        );
        assert_eq!(
            value("name"),
            Some((
                serde_json::json!("客户名称"),
                serde_json::json!("Acme Trading")
            ))
        );
        let page = call(&f, "GET", "/customers/D", Auth::Token(analyst), None);
        assert!(page.body.contains("Acme Trading") && page.body.contains(">消费金额</th>"));
        // filters, search (any case), sort and pages
        let ids_of = |path: &str| -> Vec<String> {
            get(&f, path, analyst).json()["customers"]
                .as_array()
                .expect("customers")
                .iter()
                .map(|c| c["id"].as_str().expect("id").to_string())
                .collect()
        };
        assert_eq!(
            ids_of("/api/customers?tier=small&order=asc"),
            ["C", "F", "E"]
        );
        assert_eq!(ids_of("/api/customers?q=ACME"), ["D"]);
        assert_eq!(ids_of("/api/customers?q=%E5%8D%8E"), ["A", "B"], "华");
        assert_eq!(
            ids_of("/api/customers?industry=%E7%94%B5%E5%AD%90"),
            ["B", "F"],
            "电子"
        );
        assert_eq!(
            ids_of("/api/customers?sort=id&order=asc&per_page=2&page=2"),
            ["C", "D"]
        );
        assert_eq!(
            ids_of("/api/customers?sort=recency&order=asc&per_page=1"),
            ["F"],
            "bought 12 days before"
        );
        assert!(ids_of("/api/customers?tier=nope").is_empty());
        // migrations between the two runs: B up, E down, F new, A C D stable
        let m = get(&f, "/api/migrations?lang=en", analyst).json();
        assert_eq!(
            (m["from"]["id"].as_i64(), m["to"]["id"].as_i64()),
            (Some(1), Some(2))
        );
        assert_eq!(
            [&m["up"], &m["stable"], &m["down"], &m["new"], &m["lost"]].map(|v| v.as_u64()),
            [Some(1), Some(3), Some(1), Some(1), Some(0)]
        );
        let movers: Vec<(&str, &str)> = m["movers"]
            .as_array()
            .expect("movers")
            .iter()
            .map(|x| {
                (
                    x["id"].as_str().expect("id"),
                    x["direction"].as_str().expect("dir"),
                )
            })
            .collect();
        // by the larger of each mover's two revenues: E 1,200 (before), B 1,100 (after), F 400
        assert_eq!(movers, [("E", "down"), ("B", "up"), ("F", "new")]);
        // 张伟's worklist at 2025-04-01: A (big, last 2025-01-10, due +30 = 2025-02-09: 51 days
        // overdue), B (big, last 2025-03-05, due 2025-04-04: 3 days left), C (small, last
        // 2025-02-01, due +90 = 2025-05-02: 31 days left)
        let w = get(
            &f,
            "/api/worklist?manager=%E5%BC%A0%E4%BC%9F&lang=en",
            analyst,
        )
        .json();
        let items: Vec<(&str, &str, i64, &str)> = w["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| {
                (
                    i["customer"]["id"].as_str().expect("id"),
                    i["due"].as_str().expect("due"),
                    i["overdue_days"].as_i64().expect("overdue"),
                    i["next_step"].as_str().expect("step"),
                )
            })
            .collect();
        assert_eq!(
            items,
            [
                ("A", "2025-02-09", 51, "visit monthly"),
                ("B", "2025-04-04", -3, "visit monthly"),
                ("C", "2025-05-02", -31, "call quarterly"),
            ]
        );
        assert_eq!(w["as_of"], "2025-04-01");
        assert_eq!(
            (w["total"].as_u64(), w["overdue"].as_u64()),
            (Some(3), Some(1))
        );
        let second = get(
            &f,
            "/api/worklist?manager=%E5%BC%A0%E4%BC%9F&per_page=2&page=2",
            analyst,
        )
        .json();
        assert_eq!(
            second["items"][0]["customer"]["id"], "C",
            "the third most urgent"
        );
        // a customer's history: small then big for B, with the rule's reason
        let b = get(&f, "/api/customers/B?lang=en", analyst).json();
        let tiers: Vec<&str> = b["history"]
            .as_array()
            .expect("history")
            .iter()
            .map(|h| h["tiers"][0]["tier"].as_str().expect("tier"))
            .collect();
        assert_eq!(tiers, ["small", "big"]);
        assert_eq!(b["in_tier_since"], "2025-04-01");
        assert_eq!(b["runs_in_tier"], 1);
        assert!(
            b["history"][1]["reason"]
                .as_str()
                .expect("reason")
                .contains("monetary=1100"),
            "{}",
            b["history"][1]["reason"]
        );
        assert_eq!(b["customer"]["tier_label"], "Big");
        // tier totals of run 2: big 3 customers 5,600; small 3 customers 1,150
        let run = get(&f, "/api/runs/2", &f.tokens[0]).json();
        let tier = |code: &str| {
            run["tiers"]
                .as_array()
                .expect("tiers")
                .iter()
                .find(|t| t["dimension"] == "tier" && t["tier"] == code)
                .map(|t| (t["customers"].as_u64(), t["revenue"].as_f64()))
        };
        assert_eq!(tier("big"), Some((Some(3), Some(5600.0))));
        assert_eq!(tier("small"), Some((Some(3), Some(1150.0))));
        assert_eq!(run["inputs"][0]["rows_read"], 9);
    }
}

#[test]
fn a_draft_is_previewed_and_a_scheme_published_only_by_who_may() {
    use super::fixture::SCHEME;
    for f in fixtures("preview") {
        // the draft raises big to 1,200: B (1,100) would move down, no one else
        let draft = SCHEME.replace("monetary >= 1000", "monetary >= 1200");
        let body = serde_json::json!({ "text": draft, "lang": "en" }).to_string();
        let json = Some(("application/json", body.as_str()));
        let statuses: Vec<u16> = f
            .tokens
            .iter()
            .map(|t| call(&f, "POST", "/api/preview", Auth::Token(t), json).status)
            .collect();
        assert_eq!(statuses, [403, 403, 200, 200]);
        let p = call(&f, "POST", "/api/preview", Auth::Token(&f.tokens[2]), json).json();
        assert_eq!(
            (
                p["run"].as_i64(),
                p["customers"].as_u64(),
                p["moved"].as_u64()
            ),
            (Some(2), Some(6), Some(1))
        );
        assert_eq!(p["movers"][0]["id"], "B");
        assert_eq!(p["movers"][0]["direction"], "down");
        assert_eq!(p["revenue_moved"], 1100.0);
        let size = |tier: &str| {
            p["sizes"]
                .as_array()
                .expect("sizes")
                .iter()
                .find(|s| s["tier"] == tier)
                .map(|s| (s["customers_now"].as_u64(), s["customers_draft"].as_u64()))
        };
        assert_eq!(size("big"), Some((Some(3), Some(2))));
        assert_eq!(size("small"), Some((Some(3), Some(4))));
        // a draft that does not parse says where
        let bad = serde_json::json!({ "text": "[[dimensions]\nname = 1" }).to_string();
        let a = call(
            &f,
            "POST",
            "/api/preview",
            Auth::Token(&f.tokens[2]),
            Some(("application/json", &bad)),
        );
        assert_eq!(a.status, 400);
        assert!(
            a.json()["message"]
                .as_str()
                .is_some_and(|m| m.contains("line")),
            "{}",
            a.body
        );
        // publishing: admins only, audited, a new version
        let body = serde_json::json!({ "text": draft, "message": "big from 1,200" }).to_string();
        let json = Some(("application/json", body.as_str()));
        let statuses: Vec<u16> = f
            .tokens
            .iter()
            .map(|t| call(&f, "POST", "/api/schemes", Auth::Token(t), json).status)
            .collect();
        assert_eq!(statuses, [403, 403, 403, 201]);
        let versions = get(&f, "/api/schemes", &f.tokens[0]).json();
        assert_eq!(versions[0]["message"], "big from 1,200");
        assert_eq!(versions[0]["author"], "ada");
        let audit = get(&f, "/api/audit", &f.tokens[3]).json();
        assert_eq!(audit[0]["action"], "scheme.publish");
        // what changed, for every role, from the version before (the runs' scheme)
        let latest = versions[0]["id"].as_i64().expect("id");
        let first = versions[1]["id"].as_i64().expect("id");
        for t in &f.tokens {
            let d = get(&f, "/api/schemes/diff", t).json();
            assert_eq!(
                (d["from"].as_i64(), d["to"].as_i64()),
                (Some(first), Some(latest))
            );
            assert_eq!(
                d["changes"],
                serde_json::json!([{
                    "mark": "~",
                    "text": "~ tier.big: monetary >= 1000 → monetary >= 1200"
                }])
            );
        }
        let path = format!("/api/schemes/diff?from={latest}&to={first}&lang=zh");
        let back = get(&f, &path, &f.tokens[0]).json();
        assert_eq!(
            back["changes"][0]["text"],
            "~ tier.big: monetary >= 1200 → monetary >= 1000"
        );
        let same = format!("/api/schemes/diff?from={first}&to={first}");
        assert_eq!(
            get(&f, &same, &f.tokens[0]).json()["changes"],
            serde_json::json!([])
        );
        let page = call(&f, "GET", "/schemes/diff", Auth::Token(&f.tokens[0]), None);
        assert_eq!(page.status, 200);
        assert!(
            page.body
                .contains("monetary &#62;= 1000 → monetary &#62;= 1200"),
            "{}",
            page.body
        );
        let schemes = call(&f, "GET", "/schemes", Auth::Token(&f.tokens[0]), None);
        assert!(schemes.body.contains(&format!("/schemes/diff?to={latest}")));
        assert!(
            !schemes
                .body
                .contains(&format!("/schemes/diff?to={first}\""))
        );
    }
}
