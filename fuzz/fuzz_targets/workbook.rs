//! A workbook of any bytes (named .xlsx, .xls and .ods in turn): no panic, no abort, and memory
//! bounded by what the file holds (libFuzzer's -rss_limit_mb catches a blow-up).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratum_io::source::{ReadOptions, open};

#[path = "common/guard.rs"]
mod guard;
use guard::abort_on_unguarded_panics;

fuzz_target!(|data: &[u8]| {
    abort_on_unguarded_panics();
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["book.xlsx", "book.xls", "book.ods"] {
        let path = dir.path().join(name);
        std::fs::write(&path, data).expect("write");
        if let Ok(mut source) = open(&path, &ReadOptions::default()) {
            let mut record = csv::ByteRecord::new();
            let mut rows = 0u32;
            while let Ok(Some(_)) = source.read(&mut record) {
                rows += 1;
                if rows > 100_000 {
                    break;
                }
            }
        }
    }
});
