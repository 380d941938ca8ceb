use std::collections::BTreeMap;

use chrono::NaiveDate;
use proptest::prelude::*;

use super::*;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn generate(params: &CheckedDemoParams) -> (Vec<DemoCustomer>, Vec<DemoLine>) {
    let customers = params.customers();
    let mut lines = Vec::new();
    params.for_each_line(&customers, |line| lines.push(*line));
    (customers, lines)
}

fn default_data() -> (CheckedDemoParams, Vec<DemoCustomer>, Vec<DemoLine>) {
    let params = DemoParams::new().check().expect("defaults are valid");
    let (customers, lines) = generate(&params);
    (params, customers, lines)
}

/// Lines with the byte-identical duplicate rows removed.
fn without_duplicates(lines: &[DemoLine]) -> Vec<DemoLine> {
    let mut out: Vec<DemoLine> = Vec::with_capacity(lines.len());
    for line in lines {
        if out.last() != Some(line) {
            out.push(*line);
        }
    }
    out
}

#[test]
fn defaults_are_the_documented_ones() {
    let params = DemoParams::default().check().expect("defaults are valid");
    assert_eq!(params.customer_count(), 2_000);
    assert_eq!(params.transaction_count(), 50_000);
    assert_eq!(params.seed(), 42);
    assert_eq!(params.end_date(), date(2025, 12, 31));
    assert_eq!(params.start_date(), date(2020, 12, 31));
    assert_eq!(params.history_years(), 5);
    assert_eq!(params.customer_id(0), "C0001");
    assert_eq!(params.order_id(42), "SO00042");
}

#[test]
fn invalid_params_are_rejected_with_messages_naming_the_value() {
    let err = |p: DemoParams| p.check().expect_err("invalid").to_string();
    assert_eq!(
        err(DemoParams::new().customers(0)),
        "customers must be at least 1, got 0"
    );
    assert_eq!(
        err(DemoParams::new().customers(MAX_CUSTOMERS + 1)),
        "customers must be at most 10000000, got 10000001"
    );
    assert_eq!(
        err(DemoParams::new().transactions(0)),
        "transactions must be at least 1, got 0"
    );
    assert_eq!(
        err(DemoParams::new().transactions(MAX_TRANSACTIONS + 1)),
        "transactions must be at most 1000000000, got 1000000001"
    );
    assert_eq!(
        err(DemoParams::new().history_years(0)),
        "history_years must be between 1 and 50, got 0"
    );
    assert_eq!(
        err(DemoParams::new().end_date(NaiveDate::MIN)),
        format!(
            "end_date {} is too early for a 5-year history",
            NaiveDate::MIN
        )
    );
}

#[test]
fn the_same_seed_gives_the_same_data_and_another_seed_different_data() {
    let params = DemoParams::new().customers(300).transactions(5_000);
    let a = generate(&params.check().expect("valid"));
    let b = generate(&params.check().expect("valid"));
    assert_eq!(a, b);
    let c = generate(&params.seed(43).check().expect("valid"));
    assert_ne!(a.0, c.0);
    assert_ne!(a.1, c.1);
}

#[test]
fn the_line_count_is_exactly_the_requested_transactions() {
    for (customers, transactions) in [
        (2_000, 50_000),
        (10, 1),
        (10, 5),
        (10, 10),
        (10, 11),
        (1, 1_000),
        (300, 20_000),
    ] {
        let params = DemoParams::new()
            .customers(customers)
            .transactions(transactions)
            .check()
            .expect("valid");
        let customers = params.customers();
        let mut count = 0_u64;
        params.for_each_line(&customers, |_| count += 1);
        assert_eq!(count, transactions, "{customers:?}");
    }
}

#[test]
fn every_customer_buys_when_there_are_enough_lines_and_only_the_first_ones_otherwise() {
    let params = DemoParams::new().customers(500).transactions(2_000).check();
    let (customers, lines) = generate(&params.expect("valid"));
    let mut buys = vec![0_u32; customers.len()];
    for line in lines.iter().filter(|l| !l.amount.is_negative()) {
        buys[line.customer as usize] += 1;
    }
    assert!(buys.iter().all(|&b| b >= 1));

    let params = DemoParams::new().customers(500).transactions(120).check();
    let (_, lines) = generate(&params.expect("valid"));
    let mut buyers: Vec<u32> = lines.iter().map(|l| l.customer).collect();
    buyers.sort_unstable();
    buyers.dedup();
    assert_eq!(buyers, (0..120).collect::<Vec<u32>>());
    assert!(lines.iter().all(|l| !l.amount.is_negative()));
}

#[test]
fn the_top_fifth_of_customers_brings_most_of_the_revenue() {
    for seed in [42, 7, 2024] {
        let params = DemoParams::new().seed(seed).check().expect("valid");
        let (customers, lines) = generate(&params);
        let mut net = vec![0_i128; customers.len()];
        for line in &lines {
            net[line.customer as usize] += line.amount.units();
        }
        net.sort_unstable_by(|a, b| b.cmp(a));
        let total: i128 = net.iter().sum();
        let top: i128 = net[..net.len() / 5].iter().sum();
        let share = top as f64 / total as f64;
        assert!(
            (0.65..=0.90).contains(&share),
            "seed {seed}: top 20% = {share:.3}"
        );
    }
}

#[test]
fn amounts_are_b2b_sized_and_rounded_to_cents() {
    let (_, _, lines) = default_data();
    let mut purchases: Vec<i64> = lines
        .iter()
        .filter_map(|l| l.amount.units_i64())
        .filter(|&u| u > 0)
        .collect();
    assert!(lines.iter().all(|l| l.amount.units() % 100 == 0));
    assert!(lines.iter().all(|l| l.amount.units() != 0));
    purchases.sort_unstable();
    let median = Money::from_units(purchases[purchases.len() / 2]).to_f64();
    let p99 = Money::from_units(purchases[purchases.len() * 99 / 100]).to_f64();
    assert!((300.0..5_000.0).contains(&median), "median {median}");
    assert!((5_000.0..200_000.0).contains(&p99), "p99 {p99}");
    assert!(Money::from_units(purchases[0]).to_f64() >= 10.0);
}

#[test]
fn returns_are_rare_negative_and_dated_after_their_purchase() {
    let (params, _, lines) = default_data();
    let lines = without_duplicates(&lines);
    let mut purchase_of: BTreeMap<u64, (u32, NaiveDate, i128)> = BTreeMap::new();
    let mut purchases = 0;
    let mut returns = 0;
    for line in &lines {
        if line.amount.is_negative() {
            returns += 1;
            let (customer, bought, biggest) = purchase_of[&line.order_id];
            assert_eq!(customer, line.customer);
            assert!(line.order_date > bought);
            assert!(line.order_date <= params.end_date());
            assert!((line.order_date - bought).num_days() <= 30);
            assert!(-line.amount.units() <= biggest);
        } else {
            purchases += 1;
            let entry =
                purchase_of
                    .entry(line.order_id)
                    .or_insert((line.customer, line.order_date, 0));
            entry.2 = entry.2.max(line.amount.units());
        }
    }
    let rate = f64::from(returns) / f64::from(purchases);
    assert!((0.011..0.019).contains(&rate), "return rate {rate:.4}");
}

#[test]
fn duplicate_rows_are_rare_and_repeat_the_previous_line() {
    let (_, _, lines) = default_data();
    let duplicates = lines.windows(2).filter(|w| w[0] == w[1]).count();
    let rate = duplicates as f64 / lines.len() as f64;
    assert!((0.0015..0.0045).contains(&rate), "duplicate rate {rate:.4}");
    // Never three in a row.
    assert!(lines.windows(3).all(|w| !(w[0] == w[1] && w[1] == w[2])));
}

#[test]
fn orders_have_one_to_three_lines_of_one_customer_and_one_date() {
    let (_, _, lines) = default_data();
    let lines = without_duplicates(&lines);
    let mut orders: BTreeMap<u64, (u32, NaiveDate, &str, u32)> = BTreeMap::new();
    for line in lines.iter().filter(|l| !l.amount.is_negative()) {
        let entry = orders.entry(line.order_id).or_insert((
            line.customer,
            line.order_date,
            line.channel,
            0,
        ));
        assert_eq!(
            (entry.0, entry.1, entry.2),
            (line.customer, line.order_date, line.channel)
        );
        entry.3 += 1;
    }
    assert!(orders.values().all(|o| (1..=3).contains(&o.3)));
    let multi = orders.values().filter(|o| o.3 > 1).count();
    assert!(
        multi * 3 > orders.len(),
        "multi-line orders {multi}/{}",
        orders.len()
    );
    // Order numbers are 1..=n and increase with the date.
    let ids: Vec<u64> = orders.keys().copied().collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
    assert!(
        orders
            .values()
            .zip(orders.values().skip(1))
            .all(|(a, b)| a.1 <= b.1)
    );
}

#[test]
fn lines_come_in_date_order_within_each_customers_window() {
    let (params, customers, lines) = default_data();
    assert!(lines.windows(2).all(|w| w[0].order_date <= w[1].order_date));
    for line in &lines {
        let c = &customers[line.customer as usize];
        assert!(line.order_date >= c.signup_date);
        assert!(line.order_date <= params.end_date());
        if !line.amount.is_negative() {
            assert!(line.order_date <= c.active_until, "{c:?} {line:?}");
        }
    }
    assert!(lines[0].order_date < date(2021, 12, 31));
}

#[test]
fn orders_mostly_fall_on_weekdays() {
    use chrono::Datelike;
    let (_, _, lines) = default_data();
    let weekend = lines
        .iter()
        .filter(|l| l.order_date.weekday().number_from_monday() >= 6)
        .count();
    let share = weekend as f64 / lines.len() as f64;
    assert!((0.02..0.12).contains(&share), "weekend share {share:.3}");
}

#[test]
fn some_customers_are_new_and_some_stopped_buying_half_a_year_ago() {
    let (params, customers, lines) = default_data();
    let end = params.end_date();
    let six_months_ago = date(2025, 6, 30);
    let new = customers
        .iter()
        .filter(|c| c.signup_date > six_months_ago)
        .count();
    let new_share = new as f64 / customers.len() as f64;
    assert!(
        (0.06..0.25).contains(&new_share),
        "new share {new_share:.3}"
    );
    assert!(
        customers
            .iter()
            .all(|c| (c.lifecycle == Lifecycle::New) == (c.signup_date > six_months_ago))
    );

    let mut last = vec![NaiveDate::MIN; customers.len()];
    for line in lines.iter().filter(|l| !l.amount.is_negative()) {
        let slot = &mut last[line.customer as usize];
        *slot = (*slot).max(line.order_date);
    }
    let lapsed = last.iter().filter(|&&d| (end - d).num_days() > 180).count();
    let lapsed_share = lapsed as f64 / customers.len() as f64;
    assert!(
        (0.2..0.6).contains(&lapsed_share),
        "lapsed share {lapsed_share:.3}"
    );
    let long_gone = last.iter().filter(|&&d| (end - d).num_days() > 548).count();
    assert!(long_gone * 10 > customers.len(), "churned {long_gone}");

    let count = |l: Lifecycle| customers.iter().filter(|c| c.lifecycle == l).count();
    assert!(count(Lifecycle::Churned) * 10 > customers.len());
    assert!(count(Lifecycle::Dormant) * 10 > customers.len());
    assert!(count(Lifecycle::Active) * 3 > customers.len());
    for c in &customers {
        let stopped = (end - c.active_until).num_days();
        match c.lifecycle {
            Lifecycle::New | Lifecycle::Active => assert_eq!(c.active_until, end),
            Lifecycle::Dormant => assert!((182..=549).contains(&stopped), "{c:?}"),
            Lifecycle::Churned => assert!(stopped > 540, "{c:?}"),
        }
    }
}

#[test]
fn customers_have_padded_ids_chinese_names_and_known_attributes() {
    let (params, customers, _) = default_data();
    assert_eq!(customers.len(), 2_000);
    assert_eq!(customers[0].id, "C0001");
    assert_eq!(customers[1_999].id, "C2000");
    for (i, c) in customers.iter().enumerate() {
        assert_eq!(c.id, params.customer_id(i));
        assert!(
            c.name.ends_with("有限公司") && !c.name.is_ascii(),
            "{}",
            c.name
        );
        assert!(INDUSTRIES.contains(&c.industry));
        assert!(REGIONS.contains(&c.region));
        assert!(SIZES.contains(&c.size));
        assert!(ACCOUNT_MANAGERS.contains(&c.account_manager));
        assert!(c.signup_date >= params.start_date() && c.signup_date <= params.end_date());
    }
    assert!(
        customers
            .windows(2)
            .all(|w| w[0].signup_date <= w[1].signup_date)
    );
    let mut names: Vec<&str> = customers.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert!(names.len() * 10 > customers.len() * 9);
    // Every size, region and channel appears.
    for size in SIZES {
        assert!(customers.iter().any(|c| c.size == size));
    }
    for region in REGIONS {
        assert!(customers.iter().any(|c| c.region == region));
    }
}

#[test]
fn channels_and_categories_follow_customer_preferences() {
    let (_, customers, lines) = default_data();
    let mut per_customer: Vec<[u32; 4]> = vec![[0; 4]; customers.len()];
    for line in &lines {
        let channel = CHANNELS
            .iter()
            .position(|&c| c == line.channel)
            .expect("known");
        per_customer[line.customer as usize][channel] += 1;
        assert!(CATEGORIES.contains(&line.category));
    }
    for channel in CHANNELS {
        assert!(lines.iter().any(|l| l.channel == channel));
    }
    // Customers with many lines buy mostly through one channel.
    let (mut dominant, mut busy) = (0, 0);
    for counts in per_customer.iter().filter(|c| c.iter().sum::<u32>() >= 50) {
        busy += 1;
        let max = counts.iter().max().copied().unwrap_or(0);
        if f64::from(max) > 0.6 * f64::from(counts.iter().sum::<u32>()) {
            dominant += 1;
        }
    }
    assert!(busy > 0 && dominant * 10 >= busy * 9, "{dominant}/{busy}");
}

#[test]
fn a_single_day_history_edge_still_emits_every_line() {
    // Customers signing up on the end date can only buy on it; returns need a later day.
    let params = DemoParams::new()
        .customers(3)
        .transactions(500)
        .history_years(1)
        .end_date(date(2024, 2, 29))
        .check()
        .expect("valid");
    let (_, lines) = generate(&params);
    assert_eq!(lines.len(), 500);
    assert!(lines.iter().all(|l| l.order_date <= date(2024, 2, 29)));
}

#[test]
fn a_sink_error_stops_the_stream() {
    let params = DemoParams::new().customers(10).transactions(100).check();
    let params = params.expect("valid");
    let customers = params.customers();
    let mut seen = 0;
    let result = params.try_for_each_line(&customers, |_| {
        seen += 1;
        if seen == 7 { Err("full") } else { Ok(()) }
    });
    assert_eq!(result, Err("full"));
    assert_eq!(seen, 7);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn any_valid_params_give_exactly_the_requested_lines(
        customers in 1_usize..200,
        transactions in 1_u64..3_000,
        seed in any::<u64>(),
        years in 1_u32..8,
    ) {
        let params = DemoParams::new()
            .customers(customers)
            .transactions(transactions)
            .seed(seed)
            .history_years(years)
            .check()
            .expect("valid");
        let (list, lines) = generate(&params);
        prop_assert_eq!(lines.len() as u64, transactions);
        let buyers = (customers as u64).min(transactions) as u32;
        prop_assert!(lines.iter().all(|l| l.customer < buyers));
        prop_assert!(lines.iter().all(|l| l.order_date <= params.end_date()));
        prop_assert!(lines.iter().all(|l| l.order_date >= list[l.customer as usize].signup_date));
    }
}
