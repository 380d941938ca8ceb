//! Follow-ups on the fixture (big: follow up every 30 days, small every 90; run 2 as of
//! 2025-04-01), worked by hand. Without follow-ups A (big, last purchase 2025-01-10) was due
//! 2025-02-09 and D (big, 2025-02-10) 2025-03-12: both overdue at 2025-04-01; B (big,
//! 2025-03-05) is due 2025-04-04, C (small, 2025-02-01) 2025-05-02, E (small, 2025-01-12)
//! 2025-04-12. 张伟 records a call with A on 2025-03-20: A is then due 2025-04-19 (18 days
//! left), and his scorecard for 2025-03 counts one follow-up and no customer overdue; 李娜's
//! still has D overdue.

use super::fixture::fixtures;
use super::{Auth, call, get};

#[test]
fn a_follow_up_moves_the_due_date_and_counts_in_the_scorecard() {
    for f in fixtures("followups") {
        let [viewer, zhang, analyst, _admin] = &f.tokens;
        let card = |token: &str, m: &str| -> serde_json::Value {
            let body = get(&f, "/api/scorecards?period=2025-03", token).json();
            body["cards"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["manager"] == m).cloned())
                .expect(m)
        };
        assert_eq!(card(analyst, "张伟")["overdue_at_end"], 1);
        assert_eq!(card(analyst, "李娜")["overdue_at_end"], 1);
        let worklist = |token: &str| get(&f, "/api/worklist", token).json();
        let item = |w: &serde_json::Value, id: &str| -> serde_json::Value {
            w["items"]
                .as_array()
                .and_then(|i| i.iter().find(|x| x["customer"]["id"] == id).cloned())
                .expect(id)
        };
        let a = item(&worklist(zhang), "A");
        assert_eq!(
            (a["due"].as_str(), a["overdue_days"].as_i64()),
            (Some("2025-02-09"), Some(51))
        );
        let post = |token: &str, id: &str, body: &str| {
            call(
                &f,
                "POST",
                &format!("/api/customers/{id}/follow-ups"),
                Auth::Token(token),
                Some(("application/json", body)),
            )
        };
        let call_a = r#"{"kind":"call","date":"2025-03-20","note":"谈了下季度的采购计划"}"#;
        let r = post(zhang, "A", call_a);
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.json()["manager"], "张伟");
        // another manager's customer, a viewer, a kind that is none, a date that is none
        assert_eq!(post(zhang, "D", call_a).status, 404);
        assert_eq!(post(viewer, "A", call_a).status, 403);
        assert_eq!(post(zhang, "A", r#"{"kind":"fax"}"#).status, 400);
        assert_eq!(
            post(zhang, "A", r#"{"kind":"visit","date":"soon"}"#).status,
            400
        );
        // not yet happened, or out of any calendar a clock could run on
        for date in ["2999-01-01", "+262142-12-31", "1066-10-14"] {
            let body = format!(r#"{{"kind":"visit","date":"{date}"}}"#);
            assert_eq!(post(zhang, "A", &body).status, 400, "{date}");
        }
        let a = item(&worklist(zhang), "A");
        assert_eq!(a["due"], "2025-04-19");
        assert_eq!(a["overdue_days"], -18);
        assert_eq!(a["last_follow_up"], "2025-03-20");
        let list = get(&f, "/api/customers/A/follow-ups", zhang).json();
        assert_eq!(list[0]["note"], "谈了下季度的采购计划");
        assert_eq!(
            get(&f, "/api/customers/A/follow-ups", &f.other_manager).status,
            404
        );
        // a visit to C (small: every 90 days; last purchase 2025-02-01, due 2025-05-02) on
        // 2025-03-10 is on time; the call to A (due 2025-02-09 at the start) was late
        let visit_c = r#"{"kind":"visit","date":"2025-03-10"}"#;
        assert_eq!(post(zhang, "C", visit_c).status, 201);
        let z = card(analyst, "张伟");
        assert_eq!(
            (z["follow_ups"].as_u64(), z["overdue_at_end"].as_u64()),
            (Some(2), Some(0))
        );
        assert_eq!(
            (
                z["follow_ups_on_time"].as_u64(),
                z["follow_ups_late"].as_u64()
            ),
            (Some(1), Some(1))
        );
        assert_eq!(card(analyst, "李娜")["overdue_at_end"], 1);
        // the customer's page shows it
        assert!(
            get(&f, "/customers/A", zhang)
                .body
                .contains("谈了下季度的采购计划")
        );
    }
}
