//! A seeded run of many customers (one to five orders each, over two years), for the store's
//! crash test and its benchmark (which includes this file).

use chrono::NaiveDate;
use stratum_core::abc::AbcParams;
use stratum_core::run::{RunInput, RunResult, run};
use stratum_core::scheme::SchemeParams;
use stratum_core::{Aggregator, FrequencyBasis, Money, RfmParams};

/// A run of `customers` customers (`C0000000`, …) at 2026-01-01 with `scheme`, seeded by `seed`.
pub fn synthetic_run(customers: u64, seed: u64, scheme: &str) -> RunResult {
    let start = NaiveDate::from_ymd_opt(2024, 1, 1).expect("date");
    let mut agg = Aggregator::new(None, FrequencyBasis::Orders);
    let mut x: u64 = seed.max(1);
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for c in 0..customers {
        let id = format!("C{c:07}");
        for o in 0..(1 + next() % 5) {
            let day = start + chrono::Days::new(next() % 700);
            let amount = Money::from_units((next() % 5_000_000) as i64);
            agg.add(&id, Some(&format!("{c}-{o}")), day, amount);
        }
    }
    let as_of = NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
    let (rfm, abc) = (
        RfmParams::new().check().expect("rfm"),
        AbcParams::new().check().expect("abc"),
    );
    let input = RunInput {
        scheme: Some(SchemeParams::from_toml(scheme).expect("scheme")),
        validate: false,
        ..RunInput::new(agg.finish(as_of), as_of, &rfm, &abc)
    };
    run(input).expect("run")
}
