//! Micro-benchmarks of the per-customer phases of a run at 200,000 customers (2M seeded demo
//! lines, 10 a customer): the features from the sharded aggregation, the tiers (RFM, ABC and
//! the group summaries), their validation, and `customers.csv` (in memory, and to a file with
//! its digest worked out as it is written). Run with
//! `cargo bench -p stratum-io --bench customers`; `bench/run.sh` times whole runs.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use stratum_core::synth::DemoParams;
use stratum_core::{AbcParams, Lang, RfmParams, ShardedAggregator, tier};
use stratum_io::demo::write_demo;
use stratum_io::output::{CsvText, write_customers_csv};
use stratum_io::publish::DescribedFile;
use stratum_io::rejects::RejectsWriter;
use stratum_io::transactions::{TransactionOptions, load_transactions};

const CUSTOMERS: usize = 200_000;

fn phases(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let params = DemoParams::new()
        .customers(CUSTOMERS)
        .transactions(2_000_000)
        .seed(11)
        .check()
        .expect("params");
    let summary = write_demo(&params, dir.path(), |_| {}).expect("demo");
    let load = || -> ShardedAggregator {
        let mut rejects = RejectsWriter::new(Vec::new()).expect("header");
        let options = TransactionOptions::default();
        let path = &summary.path_transactions;
        let (agg, _) =
            load_transactions(path, &options, None, &mut rejects, &mut |_, _| {}).expect("load");
        agg
    };
    let as_of = load().default_as_of().expect("as of");
    let rfm = RfmParams::new().check().expect("rfm");
    let abc = AbcParams::new().check().expect("abc");
    let features = load().finish(as_of);
    let n = features.customers.len() as u64;
    let t = tier(features.clone(), &rfm, &abc);

    let mut g = c.benchmark_group("customers");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n));
    g.bench_function("features: 32 shards in id order, 200k customers", |b| {
        b.iter_batched(
            load,
            |agg| black_box(agg.finish(as_of)),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("tiers: RFM, ABC and summaries, 200k customers", |b| {
        b.iter_batched(
            || features.clone(),
            |f| black_box(tier(f, &rfm, &abc)),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("validation: classes, segments, ABC, 200k customers", |b| {
        b.iter(|| black_box(stratum_core::run::validations(&t, None, None).expect("validate")))
    });
    g.bench_function("customers.csv, 200k customers", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(32 << 20);
            write_customers_csv(&mut out, &t, None, Lang::En, CsvText::Safe).expect("write");
            black_box(out.len())
        })
    });
    g.bench_function("customers.csv to a file, described, 200k customers", |b| {
        let out = tempfile::tempdir().expect("tempdir");
        let path = out.path().join("customers.csv");
        b.iter(|| {
            let file = DescribedFile::create(&path).expect("create");
            let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
            write_customers_csv(&mut w, &t, None, Lang::En, CsvText::Safe).expect("write");
            w.into_inner().expect("flush").finish().expect("finish");
        })
    });
    g.finish();
}

criterion_group!(benches, phases);
criterion_main!(benches);
