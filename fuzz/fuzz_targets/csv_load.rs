//! A CSV file of any bytes through the whole parallel reader: no panic, every row accounted
//! for, and the same result whatever the batch size (records cut at other places) and the
//! number of threads.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use stratum_io::rejects::RejectsWriter;
use stratum_io::transactions::{TransactionOptions, load_transactions};

fn pools() -> &'static [rayon::ThreadPool; 2] {
    static POOLS: OnceLock<[rayon::ThreadPool; 2]> = OnceLock::new();
    POOLS.get_or_init(|| {
        let pool = |n| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .expect("thread pool")
        };
        [pool(1), pool(3)]
    })
}

/// What a load comes to: the row counts, each customer's id and net amount, the rejects file.
fn load(path: &std::path::Path, batch: Option<usize>, pool: &rayon::ThreadPool) -> Option<String> {
    let options = TransactionOptions {
        batch_bytes: batch,
        ..TransactionOptions::default()
    };
    let mut rejects = RejectsWriter::new(Vec::new()).expect("header");
    let loaded =
        pool.install(|| load_transactions(path, &options, None, &mut rejects, &mut |_, _| {}));
    let (aggregator, quality) = loaded.ok()?;
    let c = &quality.counts;
    assert_eq!(
        c.rows_read,
        c.accepted + c.anonymous + c.duplicates + c.rejected + c.filtered,
        "{c:?}"
    );
    let as_of = aggregator.default_as_of();
    let customers = match as_of {
        Some(as_of) => aggregator
            .finish(as_of)
            .customers
            .iter()
            .map(|f| format!("{}={}", f.customer_id, f.monetary))
            .collect::<Vec<_>>()
            .join(";"),
        None => String::new(),
    };
    let rejects = String::from_utf8_lossy(&rejects.finish().expect("rejects")).into_owned();
    Some(format!("{c:?}\n{customers}\n{rejects}"))
}

#[path = "common/guard.rs"]
mod guard;
use guard::abort_on_unguarded_panics;

fuzz_target!(|data: &[u8]| {
    abort_on_unguarded_panics();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, data).expect("write");
    let [one, three] = pools();
    let whole = load(&path, None, one);
    let cut = load(&path, Some(7), three);
    assert_eq!(
        whole, cut,
        "batches of 7 bytes on 3 threads differ from one batch"
    );
});
