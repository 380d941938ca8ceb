//! The duplicate-row set at the size where it outgrows the caches: 4M row keys (96 bits of a
//! row hash, 12 bytes) into one table (64 MB, allocated in each iteration), inserted with and
//! without the look-ahead prefetch the engine uses. A regression in `KeySet` or in the
//! prefetch shows up as the two converging (2026-11-24, this 2-core machine, with the 16-byte
//! keys of then: 108 ms prefetched, 210 ms without).
//! Seeded inputs, fixed sizes; run with `cargo bench -p stratum-core --bench keyset`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stratum_core::keyset::{KeySet, RowKey};

const KEYS: usize = 4_000_000;
/// As far ahead as the engine prefetches.
const AHEAD: usize = 16;

/// Seeded, well-mixed keys of 128-bit hashes (splitmix64 twice), one in twenty repeated as
/// duplicates are.
fn keys() -> Vec<RowKey> {
    let mut state = 0x5EED_u64;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut out: Vec<RowKey> = Vec::with_capacity(KEYS);
    for i in 0..KEYS {
        let key = if i % 20 == 19 {
            out[i / 2]
        } else {
            RowKey::of((u128::from(next()) << 64) | u128::from(next()))
        };
        out.push(key);
    }
    out
}

fn dedupe(c: &mut Criterion) {
    let keys = keys();
    let mut g = c.benchmark_group("keyset");
    g.sample_size(10);
    g.throughput(Throughput::Elements(KEYS as u64));
    g.bench_function("insert 4M row hashes, prefetched 16 ahead", |b| {
        b.iter(|| {
            let mut set = KeySet::with_capacity(KEYS);
            let mut new = 0usize;
            for (i, &key) in keys.iter().enumerate() {
                if let Some(&ahead) = keys.get(i + AHEAD) {
                    set.warm(ahead);
                }
                new += usize::from(set.insert(key));
            }
            black_box(new)
        })
    });
    g.bench_function("insert 4M row hashes, no prefetch", |b| {
        b.iter(|| {
            let mut set = KeySet::with_capacity(KEYS);
            let new = keys.iter().filter(|&&key| set.insert(key)).count();
            black_box(new)
        })
    });
    g.finish();
}

criterion_group!(benches, dedupe);
criterion_main!(benches);
