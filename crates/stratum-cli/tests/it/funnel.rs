//! `stratum segment --opportunities` on the hand fixture (`hand_opportunities.csv`, as of
//! 2025-07-01, with the hand scheme), worked by hand with the definitions of
//! `stratum_core::funnel`:
//! - 18 rows: 1 duplicate (O1's lead row again), 4 rejected (stage 演示 is not configured,
//!   status `maybe`, no id, amount `abc`), 13 accepted; O7 was created after the analysis
//!   date. Six opportunities count: O1 won through every stage (C09, vip), O2 lost at the
//!   proposal (C03, at_risk), O3 open at qualified (C01, key), O4 lost at the lead (P01, a
//!   prospect: no tier), O5 won with no stage row (C07, key), O6 open at negotiation from its
//!   current stage only (C09, vip).
//! - reached 6, 5, 4, 3 then 2 won; lost 1, 0, 1, 0; open 0, 1, 0, 1.
//! - Days in stage: lead 10 + 10 + 7 + 10 = 37 over 4; qualified 10 + 20 over 2; proposal
//!   20 + 10 over 2; negotiation 20 (O1, 02-10 → 03-02). Cycle: O1 60, O5 90, mean 75.
//! - 张伟 4 opportunities, 2 won; 李娜 2, none won. Tiers in scheme order: at_risk 1, vip 2,
//!   key 2, then no tier 1. Months: 2025-01 3 (O1, O2, O5), 2025-02 2, 2025-03 1.
//! - High tiers (the config's `high_tiers = ["vip", "key"]`): O1, O3, O5, O6.

use std::path::Path;

use crate::{arg, csv_columns, fixture, quality_json, stratum, test_fixture};

fn run_funnel(out: &Path, tmp: &Path, extra: &[&str]) -> crate::Run {
    let config = tmp.join("stratum.toml");
    std::fs::write(
        &config,
        "[funnel]\nperiod = \"month\"\nhigh_tiers = [\"vip\", \"key\"]\n",
    )
    .expect("config");
    let paths = [
        fixture("hand.csv"),
        test_fixture("hand_master.csv"),
        test_fixture("hand_scheme.toml"),
        test_fixture("hand_opportunities.csv"),
        config,
        out.to_path_buf(),
    ];
    let mut args = vec![
        "segment",
        "-t",
        arg(&paths[0]),
        "-c",
        arg(&paths[1]),
        "--scheme",
        arg(&paths[2]),
        "--opportunities",
        arg(&paths[3]),
        "--config",
        arg(&paths[4]),
        "--max-reject-rate",
        "50%",
        "-o",
        arg(&paths[5]),
    ];
    args.extend_from_slice(extra);
    stratum(&args, tmp)
}

#[test]
fn the_funnel_of_the_hand_opportunities_matches_the_hand_count() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let run = run_funnel(&out, tmp.path(), &["--no-xlsx"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let all: Vec<Vec<String>> = csv_columns(
        &out.join("funnel.csv"),
        &[
            "dimension",
            "stage",
            "reached",
            "moved_on",
            "next_rate",
            "cumulative_rate",
            "lost",
            "open",
            "mean_days_in_stage",
            "days_known",
            "won_after",
        ],
    )
    .into_iter()
    .filter(|r| r[0] == "all")
    .collect();
    let text: Vec<String> = all.iter().map(|r| r[1..].join(",")).collect();
    insta::assert_snapshot!(text.join("\n"), @"
    lead,6,5,0.833333,1.000000,1,0,9.2500,4,
    qualified,5,4,0.800000,0.833333,0,1,15.0000,2,
    proposal,4,3,0.750000,0.666667,1,0,15.0000,2,
    negotiation,3,2,0.666667,0.500000,0,1,20.0000,1,2
    ");
    let summary = std::fs::read_to_string(out.join("funnel_summary.csv")).expect("summary");
    insta::assert_snapshot!(summary, @"
    dimension,group,group_name,opportunities,open,won,lost,win_rate,overall_conversion,amount,won_amount,open_amount,mean_cycle_days,cycles_known
    all,,all opportunities,6,2,2,2,0.500000,0.333333,2400.00,1300.00,600.00,75.0000,2
    owner,张伟,张伟,4,2,2,0,1.000000,0.500000,1900.00,1300.00,600.00,75.0000,2
    owner,李娜,李娜,2,0,0,2,0.000000,0.000000,500.00,0.00,0.00,,0
    tier,at_risk,At risk,1,0,0,1,0.000000,0.000000,500.00,0.00,0.00,,0
    tier,vip,VIP,2,1,1,0,1.000000,0.500000,1400.00,1000.00,400.00,60.0000,1
    tier,key,Key,2,1,1,0,1.000000,0.500000,500.00,300.00,200.00,90.0000,1
    tier,,no tier (not a scored customer),1,0,0,1,0.000000,0.000000,0.00,0.00,0.00,,0
    period,2025-01,2025-01,3,0,2,1,0.666667,0.666667,1800.00,1300.00,0.00,75.0000,2
    period,2025-02,2025-02,2,1,0,1,0.000000,0.000000,200.00,0.00,200.00,,0
    period,2025-03,2025-03,1,1,0,0,,0.000000,400.00,0.00,400.00,,0
    ");
    let flags = csv_columns(
        &out.join("opportunities.csv"),
        &[
            "opportunity_id",
            "tier",
            "high_tier",
            "status",
            "stage",
            "furthest_stage",
            "days_in_stage",
        ],
    );
    let text: Vec<String> = flags.iter().map(|r| r.join(",")).collect();
    insta::assert_snapshot!(text.join("\n"), @"
    O1,vip,yes,won,negotiation,negotiation,
    O2,at_risk,no,lost,proposal,proposal,
    O3,key,yes,open,qualified,qualified,143
    O4,,no,lost,lead,lead,
    O5,key,yes,won,negotiation,negotiation,
    O6,vip,yes,open,negotiation,negotiation,
    ");
    let q = quality_json(&out);
    let o = &q["opportunities"];
    assert_eq!(o["opportunities"], 6);
    assert_eq!(o["created_after_as_of"], 1);
    assert_eq!(o["customers_not_scored"], 1);
    assert_eq!(o["input"]["rows_read"], 18);
    assert_eq!(o["input"]["duplicates"], 1);
    assert_eq!(o["input"]["rejected"], 4);
    let rejects = csv_columns(
        &out.join("rejects.csv"),
        &["file", "reason", "column", "value"],
    );
    let text: Vec<String> = rejects
        .iter()
        .filter(|r| r[0].contains("opportunities"))
        .map(|r| r[1..].join(","))
        .collect();
    insta::assert_snapshot!(text.join("\n"), @"
    unknown_stage,阶段,演示
    bad_status,状态,maybe
    missing_id,商机编号,
    bad_amount,金额,abc
    ");
}

#[test]
fn the_report_has_the_funnel_in_chinese() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let run = run_funnel(&out, tmp.path(), &["--report", "--lang", "zh", "--no-xlsx"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let html = std::fs::read_to_string(out.join("report.html")).expect("report");
    for text in [
        "销售漏斗",
        "按负责人",
        "按客户等级",
        "高等级客户的进行中商机",
        "张伟",
        "重点客户",
    ] {
        assert!(html.contains(text), "{text}");
    }
}

#[test]
fn two_stages_of_one_name_in_the_config_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = tmp.path().join("bad.toml");
    std::fs::write(
        &config,
        "[[funnel.stages]]\nkey = \"a\"\n[[funnel.stages]]\nkey = \"A\"\n",
    )
    .expect("config");
    let run = stratum(
        &[
            "segment",
            "-t",
            arg(&fixture("hand.csv")),
            "--opportunities",
            arg(&test_fixture("hand_opportunities.csv")),
            "--config",
            arg(&config),
            "-o",
            arg(&tmp.path().join("out")),
        ],
        tmp.path(),
    );
    assert_ne!(run.code, 0);
    insta::assert_snapshot!(run.stderr.trim(), @"error: [funnel]: two stages are both named `A`");
}
