//! Properties of cleaning: money is conserved and every row is accounted for.

use std::io::Write;

use proptest::prelude::*;
use stratum_core::Money;
use stratum_io::transactions::TransactionOptions;

use crate::common::run;

#[derive(Debug, Clone)]
enum Line {
    Good {
        customer: u8,
        order: u8,
        day: u8,
        cents: i64,
    },
    BadDate {
        customer: u8,
    },
    NoCustomer,
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        8 => (0u8..6, 0u8..10, 1u8..28, -50_000i64..500_000).prop_map(|(customer, order, day, cents)| Line::Good { customer, order, day, cents }),
        1 => (0u8..6).prop_map(|customer| Line::BadDate { customer }),
        1 => Just(Line::NoCustomer),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn money_is_conserved_and_rows_add_up(lines in proptest::collection::vec(line(), 1..60), dup_every in 2usize..6) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.csv");
        let mut f = std::fs::File::create(&path).expect("create");
        writeln!(f, "customer_id,order_id,order_date,amount").expect("write");
        let mut written = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            let text = match l {
                Line::Good { customer, order, day, cents } => format!(
                    "K{customer},o{order},2025-02-{day:02},{}.{:02}",
                    if *cents < 0 { format!("-{}", -cents / 100) } else { (cents / 100).to_string() },
                    cents.abs() % 100
                ),
                Line::BadDate { customer } => format!("K{customer},x,not-a-date,1"),
                Line::NoCustomer => ",x,2025-02-01,1".to_string(),
            };
            writeln!(f, "{text}").expect("write");
            written.push(text.clone());
            if i % dup_every == 0 {
                writeln!(f, "{text}").expect("write");
                written.push(text);
            }
        }
        drop(f);
        let (t, q, _) = run_or_skip(&path);
        let c = &q.counts;
        prop_assert_eq!(c.rows_read, written.len() as u64);
        prop_assert_eq!(c.rows_read, c.accepted + c.anonymous + c.duplicates + c.rejected);
        // distinct good lines, summed independently
        let mut seen = std::collections::HashSet::new();
        let mut expected = 0i64;
        for text in &written {
            if seen.insert(text.clone()) {
                let fields: Vec<&str> = text.split(',').collect();
                if !fields[0].is_empty() && fields[2] != "not-a-date" {
                    let v: f64 = fields[3].parse().expect("number");
                    expected += (v * 100.0).round() as i64;
                }
            }
        }
        prop_assert_eq!(q.accepted_amount(), Money::from_units(expected * 100));
        if let Some(t) = t {
            let scored: Money = t.features.customers.iter().map(|c| c.monetary).sum();
            let unscored: Money = t.features.no_purchase.iter().map(|c| c.refunds).sum();
            prop_assert_eq!(scored + unscored, q.accepted_amount());
        }
    }
}

/// Like `run`, but a file whose rows were all rejected has no tiers.
fn run_or_skip(
    path: &std::path::Path,
) -> (
    Option<stratum_core::Tiering>,
    stratum_io::transactions::TransactionQuality,
    String,
) {
    let mut rejects = stratum_io::rejects::RejectsWriter::new(Vec::new()).expect("header");
    let (agg, q) = stratum_io::transactions::load_transactions(
        path,
        &TransactionOptions::default(),
        None,
        &mut rejects,
        &mut |_, _| {},
    )
    .expect("load");
    if agg.default_as_of().is_none() {
        return (None, q, String::new());
    }
    let (t, q2, r) = run(path, &TransactionOptions::default());
    assert_eq!(q, q2);
    (Some(t), q2, r)
}
