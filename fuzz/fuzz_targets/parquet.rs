//! A Parquet file of any bytes through the reader and the parallel engine: no panic, no abort,
//! reservations bounded by the file's size, every row accounted for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratum_io::rejects::RejectsWriter;
use stratum_io::transactions::{TransactionOptions, load_transactions};

#[path = "common/guard.rs"]
mod guard;
use guard::abort_on_unguarded_panics;

fuzz_target!(|data: &[u8]| {
    abort_on_unguarded_panics();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("orders.parquet");
    std::fs::write(&path, data).expect("write");
    let mut rejects = RejectsWriter::new(Vec::new()).expect("header");
    let options = TransactionOptions::default();
    if let Ok((_, quality)) = load_transactions(&path, &options, None, &mut rejects, &mut |_, _| {})
    {
        let c = &quality.counts;
        assert_eq!(
            c.rows_read,
            c.accepted + c.anonymous + c.duplicates + c.rejected,
            "{c:?}"
        );
    }
});
