//! Tier review over the API on both stores, worked on the fixture: in run 2, A and B are big,
//! C small (张伟's), D big (李娜's). 张伟 agrees with A and disputes B (proposing small); he may
//! not review D; a viewer may not review; the analyst approves B's dispute until 2026-06-30;
//! a second decision is a conflict. Agreement of run 2: 1 of 2 (big: 1 of 2; 张伟: 1 of 2).
//! The next run applies the override: B is small, with the reason.

use super::fixture::{fixtures, record_next_run};
use super::{Auth, call, get};

fn post(f: &super::fixture::Fixture, path: &str, token: &str, body: &str) -> super::Answer {
    call(
        f,
        "POST",
        path,
        Auth::Token(token),
        Some(("application/json", body)),
    )
}

#[test]
fn a_dispute_approved_becomes_the_override_of_the_next_run() {
    for f in fixtures("review") {
        let [viewer, zhang, analyst, _admin] = &f.tokens;
        let agree = r#"{"verdict":"agree"}"#;
        let dispute = r#"{"verdict":"dispute","proposed_tier":"small","reason":"只下了一次大单"}"#;
        let a = post(&f, "/api/customers/A/review", zhang, agree);
        assert_eq!(a.status, 201, "{}", a.body);
        assert_eq!(a.json()["status"], "agreed");
        let b = post(&f, "/api/customers/B/review", zhang, dispute);
        assert_eq!(b.status, 201, "{}", b.body);
        assert_eq!(b.json()["status"], "pending");
        assert_eq!(b.json()["tier"], "big");
        let id = b.json()["id"].as_i64().expect("id");
        // another manager's customer, a viewer, bad disputes
        assert_eq!(
            post(&f, "/api/customers/D/review", zhang, agree).status,
            404
        );
        assert_eq!(
            post(&f, "/api/customers/A/review", viewer, agree).status,
            403
        );
        for bad in [
            r#"{"verdict":"dispute","proposed_tier":"small"}"#,
            r#"{"verdict":"dispute","proposed_tier":"big","reason":"x"}"#,
            r#"{"verdict":"dispute","proposed_tier":"gold","reason":"x"}"#,
            r#"{"verdict":"maybe"}"#,
        ] {
            let r = post(&f, "/api/customers/A/review", zhang, bad);
            assert_eq!(r.status, 400, "{bad}: {}", r.body);
        }
        // the queue: the analyst sees it, 李娜 does not, 张伟 sees his own
        let pending = |token: &str| -> Vec<i64> {
            get(&f, "/api/reviews?status=pending", token)
                .json()
                .as_array()
                .expect("list")
                .iter()
                .filter_map(|r| r["id"].as_i64())
                .collect()
        };
        assert_eq!(pending(analyst), [id]);
        assert_eq!(pending(zhang), [id]);
        assert!(pending(&f.other_manager).is_empty());
        assert_eq!(get(&f, "/api/reviews", viewer).status, 403);
        // only approvers decide, once
        let approve = r#"{"approve":true,"answer":"同意","expires":"2026-06-30"}"#;
        let path = format!("/api/reviews/{id}/decision");
        assert_eq!(post(&f, &path, zhang, approve).status, 403);
        let d = post(&f, &path, analyst, approve);
        assert_eq!(d.status, 200, "{}", d.body);
        assert_eq!(d.json()["status"], "approved");
        assert_eq!(post(&f, &path, analyst, approve).status, 409);
        assert_eq!(
            post(&f, "/api/reviews/99/decision", analyst, approve).status,
            404
        );
        // agreement: every role sees the rates
        let s = get(&f, "/api/reviews/stats?lang=en", viewer).json();
        assert_eq!(s["run"], 2);
        assert_eq!(s["all"]["reviewed"], 2);
        assert_eq!(s["all"]["agreement"], 0.5);
        assert_eq!(s["by_tier"][0]["label"], "Big");
        assert_eq!(s["by_manager"][0]["group"], "张伟");
        // the audit log names both
        let log = get(&f, "/api/audit", &f.tokens[3]).body;
        assert!(log.contains("review.dispute") && log.contains("review.approve"));
        // the next run applies the override, with the reason
        record_next_run(&f.url, super::fixture::day(2025, 5, 1));
        let start = std::time::Instant::now();
        let detail = loop {
            let d = get(&f, "/api/customers/B?lang=en", zhang).json();
            let runs = d["history"].as_array().map_or(0, Vec::len);
            // the latest run is read in the background
            let read = runs == 3 && d["customer"]["tier"] == "small";
            if read || start.elapsed().as_secs() > 20 {
                break d;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        assert_eq!(detail["customer"]["tier"], "small", "{detail}");
        // the history, oldest first: run 3's tier is the override, with its reason
        let reason = detail["history"][2]["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("只下了一次大单"), "{reason}");
        assert!(
            reason.contains("张伟") || reason.contains("zhang"),
            "{reason}"
        );
    }
}
