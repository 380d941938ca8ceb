//! The value parsers on any bytes: no panic, and what they accept is within the documented
//! limits (years 1900–2100, amounts within ±100 billion).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratum_io::values::{DecimalMark, MAX_AMOUNT, parse_amount, parse_date};

fuzz_target!(|data: &[u8]| {
    if let Some(date) = parse_date(data) {
        use chrono::Datelike;
        assert!((1900..=2100).contains(&date.year()), "{date}");
    }
    for mark in [DecimalMark::Point, DecimalMark::Comma] {
        if let Ok(amount) = parse_amount(data, mark) {
            assert!(amount.to_f64().abs() <= MAX_AMOUNT as f64, "{amount}");
        }
    }
});
