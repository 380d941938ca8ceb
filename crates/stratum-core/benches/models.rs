//! The model fits on 1,000,000 simulated customers: the lifetime-value models (the size
//! `bench/clv/run.sh` compares with `lifetimes`) and k-means clustering with K chosen
//! automatically. Run with `cargo bench -p stratum-core --bench models`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use stratum_core::clv::simulate::simulate;
use stratum_core::clv::{BgNbd, ClvParams, GammaGamma, ModelKind};

/// 1,000,000 customers simulated from BG/NBD and Gamma-Gamma (seed 3).
fn simulated() -> Vec<stratum_core::clv::Summary> {
    let truth = BgNbd {
        r: 0.8,
        alpha: 20.0,
        a: 0.6,
        b: 2.5,
    };
    let spend = GammaGamma {
        p: 4.0,
        q: 5.0,
        gamma: 60.0,
    };
    simulate(&truth, &spend, 1_000_000, 1095, 7.0, 3)
}

fn fits(c: &mut Criterion) {
    let data = simulated();
    let mut g = c.benchmark_group("clv fit, 1M customers");
    g.sample_size(10);
    let bgnbd = ClvParams::new()
        .model(ModelKind::BgNbd)
        .check()
        .expect("params");
    // a fit that fails would time the failure: fail the benchmark instead
    bgnbd
        .fit(&data)
        .expect("BG/NBD + Gamma-Gamma fits the simulated data");
    g.bench_function("BG/NBD + Gamma-Gamma", |b| {
        b.iter(|| {
            black_box(
                bgnbd
                    .fit(&data)
                    .map(|m| m.transaction_report().log_likelihood),
            )
        })
    });
    let mbgnbd = ClvParams::new()
        .model(ModelKind::MbgNbd)
        .check()
        .expect("params");
    mbgnbd
        .fit_transactions(&data)
        .expect("MBG/NBD fits the simulated data");
    g.bench_function("MBG/NBD", |b| {
        b.iter(|| black_box(mbgnbd.fit_transactions(&data).map(|m| m.1.log_likelihood)))
    });
    let pnbd = ClvParams::new()
        .model(ModelKind::ParetoNbd)
        .check()
        .expect("params");
    let small = &data[..100_000];
    pnbd.fit_transactions(small)
        .expect("Pareto/NBD fits the simulated data");
    g.bench_function("Pareto/NBD, 100k customers", |b| {
        b.iter(|| black_box(pnbd.fit_transactions(small).map(|m| m.1.log_likelihood)))
    });
    g.finish();
}

fn clustering(c: &mut Criterion) {
    use stratum_core::cluster::ClusterParams;
    let data = simulated();
    let features: Vec<(String, Vec<Option<f64>>)> = vec![
        (
            "recency".into(),
            data.iter().map(|s| Some(s.t - s.recency)).collect(),
        ),
        (
            "frequency".into(),
            data.iter().map(|s| Some(f64::from(s.frequency))).collect(),
        ),
        (
            "monetary".into(),
            data.iter()
                .map(|s| Some(s.monetary * f64::from(s.frequency + 1)))
                .collect(),
        ),
    ];
    let params = ClusterParams::new().check().expect("params");
    let mut g = c.benchmark_group("k-means, 1M customers");
    g.sample_size(10);
    g.bench_function("K auto 2-8, 10 restarts", |b| {
        b.iter(|| black_box(params.fit(&features, 2).map(|c| c.k)))
    });
    g.finish();
}

criterion_group!(benches, fits, clustering);
criterion_main!(benches);
