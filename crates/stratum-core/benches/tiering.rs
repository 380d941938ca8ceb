//! Micro-benchmarks of the engine's hot parts: per-line aggregation, scoring, the
//! segmentations' validation, and a tier scheme's profile and rules.
//! Seeded inputs, fixed sizes; run with `cargo bench -p stratum-core`.

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stratum_core::synth::DemoParams;
use stratum_core::{AbcParams, Aggregator, FrequencyBasis, Money, RfmParams, tier};

struct Line {
    customer: String,
    order: String,
    date: NaiveDate,
    amount: Money,
}

fn lines(n: u64, customers: usize) -> Vec<Line> {
    let params = DemoParams::new()
        .customers(customers)
        .transactions(n)
        .seed(7)
        .check()
        .expect("params");
    let list = params.customers();
    let mut out = Vec::with_capacity(n as usize);
    params.for_each_line(&list, |l| {
        out.push(Line {
            customer: list[l.customer as usize].id.clone(),
            order: params.order_id(l.order_id),
            date: l.order_date,
            amount: l.amount,
        })
    });
    out
}

fn aggregation(c: &mut Criterion) {
    let data = lines(200_000, 5_000);
    let mut g = c.benchmark_group("aggregate");
    g.throughput(Throughput::Elements(data.len() as u64));
    g.bench_function("200k lines, 5k customers", |b| {
        b.iter(|| {
            let mut agg = Aggregator::new(None, FrequencyBasis::Orders);
            for l in &data {
                agg.add(&l.customer, Some(&l.order), l.date, l.amount);
            }
            black_box(agg.date_range())
        })
    });
    g.finish();
}

/// The features of 400k seeded lines of ~100k customers, with daily history if asked.
fn features(history: bool) -> stratum_core::Features {
    let data = lines(400_000, 100_000);
    let agg = Aggregator::new(None, FrequencyBasis::Orders);
    let mut agg = if history { agg.keep_history() } else { agg };
    for l in &data {
        agg.add(&l.customer, Some(&l.order), l.date, l.amount);
    }
    let as_of = agg.default_as_of().expect("data");
    agg.finish(as_of)
}

fn scoring(c: &mut Criterion) {
    let features = features(false);
    let rfm = RfmParams::new().check().expect("rfm");
    let abc = AbcParams::new().check().expect("abc");
    let mut g = c.benchmark_group("score");
    g.throughput(Throughput::Elements(features.customers.len() as u64));
    g.bench_function("rfm + abc + summaries, ~100k customers", |b| {
        b.iter(|| black_box(tier(features.clone(), &rfm, &abc).classes.len()))
    });
    g.finish();
}

/// The run's validation of the RFM classes, the named segments and the ABC classes.
fn validation(c: &mut Criterion) {
    let rfm = RfmParams::new().check().expect("rfm");
    let abc = AbcParams::new().check().expect("abc");
    let t = tier(features(false), &rfm, &abc);
    let mut g = c.benchmark_group("validate");
    g.throughput(Throughput::Elements(t.features.customers.len() as u64));
    g.bench_function("classes, segments and ABC, ~100k customers", |b| {
        b.iter(|| {
            black_box(
                stratum_core::run::validations(&t, None, None)
                    .expect("validations")
                    .len(),
            )
        })
    });
    g.finish();
}

const SCHEME: &str = r#"
[[dimensions]]
name = "value"
[[dimensions.tiers]]
name = "high"
rule = "annual_revenue >= 20000 AND tenure_months >= 24"
[[dimensions.tiers]]
name = "mid"
rule = "annual_revenue >= 5000 OR rfm_class IN ('important_value', 'important_retention')"
[[dimensions.tiers]]
name = "low"

[[dimensions]]
name = "tier"
[[dimensions.tiers]]
name = "at_risk"
rule = "value <> 'low' AND lifecycle IN ('churn_warning', 'churned')"
[[dimensions.tiers]]
name = "keep"
rule = "value = 'high'"
[[dimensions.tiers]]
name = "rest"
"#;

fn scheme(c: &mut Criterion) {
    use stratum_core::scheme::{SchemeParams, profile};
    let rfm = RfmParams::new().check().expect("rfm");
    let abc = AbcParams::new().check().expect("abc");
    let t = tier(features(true), &rfm, &abc);
    let as_of = t.features.as_of.expect("as of");
    let ids = t.features.customer_ids();
    let params = SchemeParams::from_toml(SCHEME).expect("scheme");
    let lifecycle = *params.lifecycle();
    let p = profile(&t, None, None, &lifecycle);
    let checked = params.check(p.catalog()).expect("check");
    let mut g = c.benchmark_group("scheme");
    g.throughput(Throughput::Elements(ids.len() as u64));
    g.bench_function("profile, ~100k customers", |b| {
        b.iter(|| black_box(profile(&t, None, None, &lifecycle).rows()))
    });
    g.bench_function("two dimensions with reasons, ~100k customers", |b| {
        b.iter(|| black_box(checked.apply(&p, &ids, &[], as_of).assignments.len()))
    });
    g.finish();
}

criterion_group!(benches, aggregation, scoring, validation, scheme);
criterion_main!(benches);
