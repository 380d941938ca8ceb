//! `stratum segment --scheme`, `--overrides` and `stratum check` on the hand fixture (its
//! features are derived in `crates/stratum-io/tests/it/formats.rs`; as of 2025-07-01) and on
//! demo data with the shipped schemes.
//!
//! Hand-worked expectations for `hand_scheme.toml` (value: big ≥ 5,000 of 12-month revenue,
//! mid ≥ 1,000, else small; final tier: at_risk = big or mid with more than 180 days since
//! the last order, vip = big in 制造业, key = not small, else rest):
//! C01 4,000 → mid → key; C03 3,000 on 2024-07-01 (the first day of the 12 months) + 2,000 =
//! 5,000, 212 days → big → at_risk; C07 3,000 → key; C09 6,000 in 制造业 → vip; the others are
//! small → rest, except C02, placed in vip by an override. C10's override expired on
//! 2025-01-01, C05's names no tier, and two override rows are rejected (a bad date, no id).
//! Interactions: 9 rows, 1 duplicate, 4 rejected (satisfaction 6, a bad date, no id, NPS
//! 11); C01 answered satisfaction 5 and NPS 10 (key: NPS 100), C03 complained and answered 2
//! and 3 (at_risk: NPS −100); the other tiers have no answer.

use std::path::Path;

use crate::{stratum, test_fixture};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_scheme_places_every_customer_with_reasons_overrides_and_action_lists() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let run = stratum(
        &[
            "segment",
            "-t",
            crate::fixture("hand.csv").to_str().expect("path"),
            "-c",
            test_fixture("hand_master.csv").to_str().expect("path"),
            "--scheme",
            test_fixture("hand_scheme.toml").to_str().expect("path"),
            "--overrides",
            test_fixture("hand_overrides.csv").to_str().expect("path"),
            "--interactions",
            test_fixture("hand_interactions.csv")
                .to_str()
                .expect("path"),
            "-o",
            out.to_str().expect("path"),
            // the hand-made interactions hold four bad rows of nine, on purpose
            "--max-reject-rate",
            "50%",
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let table = run.stdout.split("\n\n").last().unwrap_or_default();
    insta::assert_snapshot!(table, @"
    Tier     customers  share  revenue     NPS  strategy
    ───────  ─────────  ─────  ───────  ──────  ─────────────────────────
    At risk          1  10.0%    16.9%  -100.0  sales director
    VIP              2  20.0%    21.9%          dedicated account manager
    Key              2  20.0%    23.6%   100.0  shared account manager
    Rest             5  50.0%    37.6%          automated
    ");
    let overrides: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| {
            ["override", "interaction", "NPS", "tier scheme"]
                .iter()
                .any(|w| l.contains(w))
        })
        .collect();
    insta::assert_snapshot!(overrides.join("\n"), @r#"
      tier scheme                                          [CLI_FIXTURES]/hand_scheme.toml (hand)
      interactions file                                    [CLI_FIXTURES]/hand_interactions.csv
      interaction rows (read/accepted/duplicate/rejected)  9 / 4 / 1 / 4
      interactions on or after as-of (not used)            0
      customers with interactions but not scored           0
      overrides file                                       [CLI_FIXTURES]/hand_overrides.csv
      override rows (read/accepted/duplicate/rejected)     5 / 3 / 0 / 2
      overrides (applied/ignored)                          1 / 2
      NPS (customers answering)                            0.0 (2)
    override ignored: C10 → key: expired on 2025-01-01
    override ignored: C05 → gold: no final tier named "gold"
    "#);
    insta::assert_snapshot!(read(&out.join("tiers.csv")), @r#"
    customer_id,value,tier,final_tier,final_tier_label,lifecycle,strategy,response_hours,next_action,next_action_due,marketing,discount,reason,overridden,account_manager
    C01,mid,key,key,Key,stable,shared account manager,,shared account manager,,,,value=mid ≠ 'small',no,张伟
    C02,small,vip,vip,VIP,new,dedicated account manager,,dedicated account manager,2025-07-30,,,override by 张伟 on 2025-06-20: key account in negotiation,yes,
    C03,big,at_risk,at_risk,At risk,churn_warning,sales director,4,visit within a week,2025-07-01,,,"value=big in ('big', 'mid'); days_since_last_order=212 > 180",no,李娜
    C04,small,rest,rest,Rest,new,automated,,automated,,,,default tier (no rule matched),no,
    C05,small,rest,rest,Rest,new,automated,,automated,,,,default tier (no rule matched),no,
    C06,small,rest,rest,Rest,churned,automated,,automated,,,,default tier (no rule matched),no,李娜
    C07,mid,key,key,Key,new,shared account manager,,shared account manager,,,,value=mid ≠ 'small',no,
    C08,small,rest,rest,Rest,new,automated,,automated,,,,default tier (no rule matched),no,
    C09,big,vip,vip,VIP,new,dedicated account manager,,dedicated account manager,2025-07-10,,,value=big; industry=制造业,no,张伟
    C10,small,rest,rest,Rest,churn_warning,automated,,automated,,,,default tier (no rule matched),no,
    "#);
    insta::assert_snapshot!(read(&out.join("tier_summary.csv")), @"
    dimension,tier,tier_label,customers,customer_share,revenue,revenue_share,mean_recency_days,mean_frequency,mean_monetary,mean_satisfaction,nps,strategy
    value,big,big,2,0.200000,11000.00,0.370995,116.5000,1.5000,5500.0000,2.0000,-100.0000,
    value,mid,mid,2,0.200000,7000.00,0.236088,33.5000,2.5000,3500.0000,5.0000,100.0000,
    value,small,small,6,0.600000,11650.00,0.392917,220.8333,1.5000,1941.6667,,,
    tier,at_risk,At risk,1,0.100000,5000.00,0.168634,212.0000,2.0000,5000.0000,2.0000,-100.0000,sales director
    tier,vip,VIP,2,0.200000,6500.00,0.219224,11.0000,1.0000,3250.0000,,,dedicated account manager
    tier,key,Key,2,0.200000,7000.00,0.236088,33.5000,2.5000,3500.0000,5.0000,100.0000,shared account manager
    tier,rest,Rest,5,0.500000,11150.00,0.376054,264.8000,1.6000,2230.0000,,,automated
    ");
    let mut lists = String::new();
    for name in ["张伟", "李娜", "unassigned"] {
        lists.push_str(&format!("== {name}\n"));
        lists.push_str(&read(&out.join("actions").join(format!("{name}.csv"))));
    }
    insta::assert_snapshot!(lists, @r#"
    == 张伟
    priority,customer_id,name,tier,strategy,next_action,next_action_due,reason,monetary,last_order_date,account_manager
    1,C09,丙公司,VIP,dedicated account manager,dedicated account manager,2025-07-10,value=big; industry=制造业,6000.00,2025-06-10,张伟
    2,C01,甲公司,Key,shared account manager,shared account manager,,value=mid ≠ 'small',4000.00,2025-06-25,张伟
    == 李娜
    priority,customer_id,name,tier,strategy,next_action,next_action_due,reason,monetary,last_order_date,account_manager
    1,C03,乙公司,At risk,sales director,visit within a week,2025-07-01,"value=big in ('big', 'mid'); days_since_last_order=212 > 180",5000.00,2024-12-01,李娜
    2,C06,丁公司,Rest,automated,automated,,default tier (no rule matched),10000.00,2023-07-01,李娜
    == unassigned
    priority,customer_id,name,tier,strategy,next_action,next_action_due,reason,monetary,last_order_date,account_manager
    1,C02,,VIP,dedicated account manager,dedicated account manager,2025-07-30,override by 张伟 on 2025-06-20: key account in negotiation,500.00,2025-06-30,
    2,C07,,Key,shared account manager,shared account manager,,value=mid ≠ 'small',3000.00,2025-05-01,
    3,C04,,Rest,automated,automated,,default tier (no rule matched),500.00,2025-01-15,
    4,C05,,Rest,automated,automated,,default tier (no rule matched),400.00,2025-06-28,
    5,C08,,Rest,automated,automated,,default tier (no rule matched),200.00,2025-02-01,
    6,C10,,Rest,automated,automated,,default tier (no rule matched),50.00,2024-10-01,
    "#);
    insta::assert_snapshot!(read(&out.join("rejects.csv")), @r#"
    file,line,reason,column,value,message,row
    hand_interactions.csv,7,bad_score,satisfaction,6,`6` is not a satisfaction answer; expected a whole number from 1 to 5,"C05,2025-06-10,survey,6,"
    hand_interactions.csv,8,bad_date,date,someday,"`someday` is not a date; expected YYYY-MM-DD, YYYY/M/D, YYYY年M月D日, an ISO datetime, YYYYMMDD or an Excel serial date, in the years 1900–2100","C07,someday,call,,"
    hand_interactions.csv,9,missing_customer_id,customer_id,,customer id is empty,",2025-06-01,call,,"
    hand_interactions.csv,10,bad_score,nps,11,`11` is not an NPS answer; expected a whole number from 0 to 10,"C02,2025-06-20,survey,4,11"
    hand_overrides.csv,5,bad_date,set_on,someday,"`someday` is not a date; expected YYYY-MM-DD, YYYY/M/D, YYYY年M月D日, an ISO datetime, YYYYMMDD or an Excel serial date, in the years 1900–2100","C04,key,bad date,张伟,someday,"
    hand_overrides.csv,6,missing_customer_id,customer_id,,customer id is empty,",key,no id,,,"
    "#);

    use calamine::{Data, Reader, open_workbook_auto};
    let mut book = open_workbook_auto(out.join("actions.xlsx")).expect("open workbook");
    assert_eq!(book.sheet_names(), ["unassigned", "张伟", "李娜"]);
    let sheet = book.worksheet_range("张伟").expect("sheet");
    let first = sheet.rows().nth(1).expect("first row");
    assert_eq!(first[0], Data::Float(1.0));
    assert_eq!(first[1], Data::String("C09".into()));
    assert_eq!(first[8], Data::Float(6000.0));
    let Data::DateTime(due) = &first[6] else {
        panic!("not a date cell: {:?}", first[6])
    };
    assert_eq!(due.to_ymd_hms_milli(), (2025, 7, 10, 0, 0, 0, 0));
}

#[test]
fn scheme_errors_name_the_file_line_rule_and_position() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let scheme = tmp.path().join("typo.toml");
    let text = read(&test_fixture("hand_scheme.toml")).replace(
        "rule = \"annual_revenue >= 5000\"",
        "rule = \"anual_revenue >= 5000\"",
    );
    std::fs::write(&scheme, text).expect("write");
    let check = stratum(&["check", scheme.to_str().expect("path")], tmp.path());
    assert_eq!(check.code, 1);
    insta::assert_snapshot!(check.stderr, @r#"error: scheme `[TMP]/typo.toml`, line 8: unknown column "anual_revenue" at rule big, position 1; did you mean "annual_revenue"?"#);
    // a master-data column is unknown until the master file is given
    let ok = stratum(
        &[
            "check",
            test_fixture("hand_scheme.toml").to_str().expect("path"),
        ],
        tmp.path(),
    );
    assert_eq!(ok.code, 1);
    insta::assert_snapshot!(ok.stderr, @r#"error: scheme `[CLI_FIXTURES]/hand_scheme.toml`, line 29: unknown column "industry" at rule vip, position 19; see `stratum check --columns` for the columns a rule can use (master-data columns such as industry or region are known only with --customers FILE)"#);
    let ok = stratum(
        &[
            "check",
            test_fixture("hand_scheme.toml").to_str().expect("path"),
            "-c",
            test_fixture("hand_master.csv").to_str().expect("path"),
        ],
        tmp.path(),
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    insta::assert_snapshot!(ok.stdout, @r#"scheme `[CLI_FIXTURES]/hand_scheme.toml` is valid: dimensions value (3 tiers), tier (4 tiers); final tier from "tier"; 4 strategies"#);
    // a scheme that is not valid TOML (or has a mistyped key) fails before any data is read
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "[[dimensions]]\nname = \"x\"\ntiers = 3\n").expect("write");
    let run = stratum(&["check", bad.to_str().expect("path")], tmp.path());
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.stderr, @"error: scheme `[TMP]/bad.toml`, line 3: invalid type: integer `3`, expected a sequence");
    let run = stratum(
        &[
            "segment",
            "-t",
            "no-such-file.csv",
            "--scheme",
            bad.to_str().expect("path"),
            "-o",
            tmp.path().join("out").to_str().expect("path"),
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.stderr, @"error: scheme `[TMP]/bad.toml`, line 3: invalid type: integer `3`, expected a sequence");
}

#[test]
fn the_shipped_schemes_run_on_demo_data() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let demo = tmp.path().join("demo");
    let schemes = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemes");
    for (scheme, tiers) in [("b2b.toml", 7), ("retail.toml", 8)] {
        let path = schemes.join(scheme);
        let run = stratum(
            &[
                "demo",
                "--out",
                demo.to_str().expect("path"),
                "--customers",
                "300",
                "--transactions",
                "8000",
                "--segment",
                "--scheme",
                path.to_str().expect("path"),
            ],
            tmp.path(),
        );
        assert_eq!(run.code, 0, "{scheme}: {}", run.stderr);
        let check = stratum(
            &[
                "check",
                path.to_str().expect("path"),
                "-c",
                demo.join("customers.csv").to_str().expect("path"),
            ],
            tmp.path(),
        );
        assert_eq!(check.code, 0, "{scheme}: {}", check.stderr);
        // every scored customer has exactly one final tier, with a strategy and a reason
        let customers = read(&demo.join("result/customers.csv")).lines().count();
        let tiers_csv = read(&demo.join("result/tiers.csv"));
        let mut reader = csv::Reader::from_reader(tiers_csv.as_bytes());
        let header = reader.headers().expect("header").clone();
        let col = |name: &str| header.iter().position(|h| h == name).expect(name);
        let (fin, strategy, reason) = (col("final_tier"), col("strategy"), col("reason"));
        let mut seen = std::collections::BTreeSet::new();
        let mut rows = 0;
        for r in reader.records() {
            let r = r.expect("row");
            rows += 1;
            assert!(!r[strategy].is_empty() && !r[reason].is_empty(), "{r:?}");
            seen.insert(r[fin].to_string());
        }
        assert_eq!(rows + 1, customers, "{scheme}");
        assert!(seen.len() > 1 && seen.len() <= tiers, "{scheme}: {seen:?}");
        let summary = read(&demo.join("result/tier_summary.csv"));
        let counted: i64 = summary
            .lines()
            .filter(|l| l.starts_with("tier,"))
            .filter_map(|l| l.split(',').nth(3)?.parse::<i64>().ok())
            .sum();
        assert_eq!(counted as usize, rows, "{scheme}");
    }
}
