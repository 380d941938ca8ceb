//! Micro-benchmarks of parsing: dates, amounts, and reading + cleaning a whole CSV file.
//! Seeded inputs, fixed sizes; run with `cargo bench -p stratum-io`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stratum_core::synth::DemoParams;
use stratum_io::demo::write_demo;
use stratum_io::rejects::RejectsWriter;
use stratum_io::transactions::{TransactionOptions, load_transactions};
use stratum_io::values::{DecimalMark, parse_amount, parse_date};

fn values(c: &mut Criterion) {
    let dates = ["2025-03-07", "2025/3/7 14:23", "2025年3月7日", "45723"];
    let amounts = ["1234.50", "¥1,234.50", "-200.00", "(1,000.00)"];
    let mut g = c.benchmark_group("values");
    g.throughput(Throughput::Elements(4));
    g.bench_function("parse_date ×4 forms", |b| {
        b.iter(|| {
            for d in dates {
                black_box(parse_date(black_box(d.as_bytes())));
            }
        })
    });
    g.bench_function("parse_amount ×4 forms", |b| {
        b.iter(|| {
            for a in amounts {
                black_box(parse_amount(black_box(a.as_bytes()), DecimalMark::Point).ok());
            }
        })
    });
    g.finish();
}

fn load(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let params = DemoParams::new()
        .customers(10_000)
        .transactions(500_000)
        .seed(3)
        .check()
        .expect("params");
    let summary = write_demo(&params, dir.path(), |_| {}).expect("demo");
    let mut g = c.benchmark_group("load");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(summary.transactions_bytes));
    g.bench_function("read + clean + aggregate 500k-line CSV", |b| {
        b.iter(|| {
            let mut rejects = RejectsWriter::new(Vec::new()).expect("header");
            let (agg, q) = load_transactions(
                &summary.path_transactions,
                &TransactionOptions::default(),
                None,
                &mut rejects,
                &mut |_, _| {},
            )
            .expect("load");
            black_box((agg.date_range(), q.counts.accepted))
        })
    });
    g.finish();
}

criterion_group!(benches, values, load);
criterion_main!(benches);
