//! Scorecards of 2025-03 on the fixture, worked by hand: the start run is run 1 (as of
//! 2025-03-01), the end run run 2 (as of 2025-04-01); big (rank 0) is the top tier.
//! - 张伟 (A, B, C): at the end A and B big, C small; B moved up, A and C stayed; A was top
//!   tier at the start and still is (retention 1); revenue before 1,500 + 200 + 50 = 1,750,
//!   in the period 900 (B's second order): growth 900 / 1,750.
//! - 李娜 (D, E): D big, E small; E moved down (1,200 − 500 = 700); D and E were top tier,
//!   D kept it (retention 0.5); before 4,200, in the period −500.
//! - no manager (F): new, 400 in the period, nothing before (no growth).
//!
//! A dispute raised in 2025-03 by 张伟's reviewer counts for him; one raised now does not.

use super::fixture::fixtures;
use super::{Auth, call, get};

#[test]
fn scorecards_of_a_month_match_the_hand_count_and_a_manager_sees_their_own() {
    for f in fixtures("scorecards") {
        let [viewer, zhang, analyst, _admin] = &f.tokens;
        let body = get(&f, "/api/scorecards?period=2025-03&lang=en", analyst).json();
        assert_eq!(body["from"]["id"], 1);
        assert_eq!(body["to"]["id"], 2);
        assert_eq!(body["tiers"][0]["tier"], "big");
        assert_eq!(body["tiers"][0]["label"], "Big");
        let cards = body["cards"].as_array().expect("cards");
        let card = |m: &str| cards.iter().find(|c| c["manager"] == m).expect(m).clone();
        let z = card("张伟");
        assert_eq!(z["customers"], 3);
        assert_eq!(z["by_tier"], serde_json::json!([2, 1]));
        assert_eq!(
            (
                z["upgrades"].as_u64(),
                z["downgrades"].as_u64(),
                z["stable"].as_u64()
            ),
            (Some(1), Some(0), Some(2))
        );
        assert_eq!(z["top_tier_retention"], 1.0);
        assert_eq!(z["revenue_before"], 1750.0);
        assert_eq!(z["revenue_in_period"], 900.0);
        assert_eq!(z["growth"], 900.0 / 1750.0);
        let l = card("李娜");
        assert_eq!(l["by_tier"], serde_json::json!([1, 1]));
        assert_eq!(l["downgrades"], 1);
        assert_eq!(
            (l["top_tier_at_start"].as_u64(), l["top_tier_kept"].as_u64()),
            (Some(2), Some(1))
        );
        assert_eq!(l["revenue_in_period"], -500.0);
        let none = card("");
        assert_eq!(
            (none["new_customers"].as_u64(), none["growth"].is_null()),
            (Some(1), true)
        );
        let total = &body["total"];
        assert_eq!(total["customers"], 6);
        assert_eq!(total["revenue_in_period"], 800.0);
        assert_eq!(total["top_tier_retention"], 2.0 / 3.0);
        // an account manager sees their own card, without the total; a viewer every card
        let own = get(&f, "/api/scorecards?period=2025-03", zhang).json();
        assert_eq!(own["cards"].as_array().map(Vec::len), Some(1));
        assert_eq!(own["cards"][0]["manager"], "张伟");
        assert!(own["total"].is_null());
        let all = get(&f, "/api/scorecards?period=2025-03", viewer).json();
        assert_eq!(all["cards"].as_array().map(Vec::len), Some(3));
        // a dispute raised in the period counts, one raised now does not
        let mut store = stratum_store::Store::open(&f.url).expect("store");
        for (customer, at) in [("B", "2025-03-15T09:00:00Z"), ("C", "2026-12-05T09:00:00Z")] {
            store
                .add_review(&stratum_store::review::NewReview {
                    run: 1,
                    customer: customer.into(),
                    dimension: "tier".into(),
                    tier: "small".into(),
                    verdict: stratum_store::review::Verdict::Dispute,
                    proposed: Some("big".into()),
                    reason: "bigger than it looks".into(),
                    reviewer: "zhang".into(),
                    manager: "张伟".into(),
                    created_at: at.into(),
                })
                .expect("review");
        }
        drop(store);
        let own = get(&f, "/api/scorecards?period=2025-03", zhang).json();
        assert_eq!(own["cards"][0]["disputes_raised"], 1);
        assert_eq!(own["cards"][0]["disputes_approved"], 0);
        // a period without runs at both ends, a period that is no period
        let a = get(&f, "/api/scorecards?period=2024-Q1", analyst);
        assert_eq!(a.status, 400);
        assert!(a.body.contains("2024-Q1"), "{}", a.body);
        assert_eq!(get(&f, "/api/scorecards?period=soon", analyst).status, 400);
        // the page and its downloads
        let page = call(
            &f,
            "GET",
            "/scorecards/export?period=2025-03&format=csv",
            Auth::Token(analyst),
            None,
        );
        assert_eq!(page.status, 200);
        assert!(page.body.starts_with('\u{feff}'));
        assert!(
            page.body
                .contains("张伟,3,2,1,1,0,2,0,0,1,1,1.000000,1750.00,900.00"),
            "{}",
            page.body
        );
        let x = call(
            &f,
            "GET",
            "/scorecards/export?period=2025-03&format=xlsx",
            Auth::Token(analyst),
            None,
        );
        assert_eq!(x.status, 200);
        assert!(
            get(&f, "/scorecards?period=2025-03", zhang)
                .body
                .contains("张伟")
        );
    }
}
