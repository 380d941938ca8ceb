//! The public pool over the API on the fixture, with the default rules applied today: every
//! fixture customer's last purchase is in 2025, so every owned one is due for release; F has
//! no account manager, so F is in the pool.

use super::fixture::fixtures;
use super::{Auth, call, get};

#[test]
fn managers_claim_from_the_pool_and_release_their_own() {
    for f in fixtures("pool") {
        let [viewer, zhang, analyst, _admin] = &f.tokens;
        let ids = |token: &str| -> Vec<(String, String)> {
            get(&f, "/api/pool", token)
                .json()
                .as_array()
                .expect("list")
                .iter()
                .map(|e| {
                    (
                        e["customer"].as_str().unwrap_or("").to_string(),
                        e["status"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        };
        let pair = |c: &str, s: &str| (c.to_string(), s.to_string());
        assert_eq!(
            ids(zhang),
            [
                pair("A", "due"),
                pair("B", "due"),
                pair("C", "due"),
                pair("F", "in_pool")
            ]
        );
        assert_eq!(ids(analyst).len(), 6);
        assert_eq!(get(&f, "/api/pool", viewer).status, 403);
        let post = |token: &str, path: &str, body: &str| {
            call(
                &f,
                "POST",
                path,
                Auth::Token(token),
                Some(("application/json", body)),
            )
        };
        let r = post(zhang, "/api/pool/F/claim", "{}");
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["owner"], "张伟");
        let r = post(&f.other_manager, "/api/pool/F/claim", "{}");
        assert_eq!(r.status, 409, "{}", r.body);
        assert!(r.body.contains("张伟 owns them"), "{}", r.body);
        // a hand release by the owner; another manager takes the customer; the owner may not
        // take them back (not in the pool, and in the cool-down)
        let r = post(
            zhang,
            "/api/pool/A/release",
            r#"{"reason":"moved to Shenzhen"}"#,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["status"], "in_pool");
        assert_eq!(
            post(&f.other_manager, "/api/pool/A/claim", "{}").status,
            200
        );
        assert_eq!(post(zhang, "/api/pool/A/claim", "{}").status, 409);
        // the claim moves the customer at once: 李娜 sees A and has it on her worklist, 张伟
        // neither
        assert_eq!(get(&f, "/api/customers/A", &f.other_manager).status, 200);
        assert_eq!(get(&f, "/api/customers/A", zhang).status, 404);
        let on_list = |token: &str| {
            get(&f, "/api/worklist?per_page=100", token).json()["items"]
                .as_array()
                .is_some_and(|i| i.iter().any(|x| x["customer"]["id"] == "A"))
        };
        assert!(on_list(&f.other_manager));
        assert!(!on_list(zhang));
        // not their customer; a claim for nobody; a customer that is none
        assert_eq!(post(zhang, "/api/pool/D/release", "{}").status, 404);
        assert_eq!(post(analyst, "/api/pool/B/release", "{}").status, 200);
        assert_eq!(post(analyst, "/api/pool/B/claim", "{}").status, 400);
        let r = post(analyst, "/api/pool/B/claim", r#"{"manager":"张伟"}"#);
        assert_eq!(r.status, 409, "cool-down: {}", r.body);
        assert_eq!(
            post(analyst, "/api/pool/ZZZ/claim", r#"{"manager":"x"}"#).status,
            404
        );
        // every release and claim is logged, with who and why
        let mut store = stratum_store::Store::open(&f.url).expect("store");
        let log = store.pool_log(Some("A"), None).expect("log");
        let actions: Vec<(&str, &str, &str)> = log
            .iter()
            .map(|e| (e.action.as_str(), e.to.as_str(), e.reason.as_str()))
            .collect();
        assert_eq!(
            actions,
            [
                ("claim", "李娜", "claimed from the pool"),
                ("release", "", "moved to Shenzhen")
            ]
        );
        drop(store);
        assert!(get(&f, "/pool", zhang).body.contains("id=\"in-pool\""));
    }
}
