//! The whole pipeline below the binary: demo files written, every input read in one call
//! (`load_inputs`: transactions through the engine, customer master, interactions), and one run with the B2B scheme and lifetime
//! value; its result is snapshot (the first draft of what the history store keeps).

use std::fmt::Write as _;
use std::path::Path;

use stratum_core::Lang;
use stratum_core::abc::AbcParams;
use stratum_core::clv::ClvParams;
use stratum_core::run::{RunInput, RunResult, run};
use stratum_core::scheme::{Attributes, SchemeParams};
use stratum_core::synth::DemoParams;
use stratum_core::{FrequencyBasis, Labelled, RfmParams};
use stratum_io::demo::write_demo;
use stratum_io::inputs::{InputFiles, load_inputs};
use stratum_io::master::MasterAttributes;
use stratum_io::rejects::RejectsWriter;
use stratum_io::source::ReadOptions;
use stratum_io::transactions::TransactionOptions;

/// Runs the pipeline on 300 demo customers with the shipped B2B scheme and CLV.
fn demo_run(dir: &Path) -> RunResult {
    let params = DemoParams::new()
        .customers(300)
        .transactions(12_000)
        .seed(42)
        .check()
        .expect("demo params");
    write_demo(&params, dir, |_| {}).expect("demo files");
    let mut rejects = RejectsWriter::new(Vec::new()).expect("rejects");
    let options = TransactionOptions {
        frequency: FrequencyBasis::Orders,
        history: true,
        ..TransactionOptions::default()
    };
    let transactions = [dir.join("transactions.csv")];
    let (customers, interactions) = (dir.join("customers.csv"), dir.join("interactions.csv"));
    let files = InputFiles {
        transactions: &transactions,
        options: &options,
        as_of: None,
        customers: Some(&customers),
        customers_read: &ReadOptions::default(),
        customers_id: None,
        interactions: Some(&interactions),
        overrides: None,
        opportunities: None,
    };
    let inputs = load_inputs(&files, &mut rejects, &mut |_, _| {}).expect("inputs");
    assert_eq!(inputs.transactions.counts.rejected, 0);
    let (aggregator, (master, _), (interactions, _)) = (
        inputs.aggregator,
        inputs.master.expect("master"),
        inputs.interactions.expect("interactions"),
    );
    let scheme_text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemes/b2b.toml"),
    )
    .expect("b2b.toml");
    let scheme = SchemeParams::from_toml(&scheme_text).expect("scheme");
    let as_of = aggregator.default_as_of().expect("as of");
    let attributes = MasterAttributes::new(&master);
    let (rfm, abc) = (
        RfmParams::new().check().expect("rfm"),
        AbcParams::new().check().expect("abc"),
    );
    let clv = ClvParams::new().check().expect("clv");
    let input = RunInput {
        clv: Some(&clv),
        scheme: Some(scheme),
        attributes: Some(&attributes as &dyn Attributes),
        interactions: Some(&interactions),
        ..RunInput::new(aggregator.finish(as_of), as_of, &rfm, &abc)
    };
    run(input).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_whole_pipeline_runs_below_the_binary_and_its_result_is_snapshot() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let result = demo_run(tmp.path());
    let t = &result.tiering;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "as of {:?}; {} customers; revenue {}",
        t.features.as_of,
        t.features.customers.len(),
        t.revenue
    );
    for g in &t.classes {
        let _ = writeln!(
            out,
            "class {:?}: {} customers, {}",
            g.key, g.customers, g.revenue
        );
    }
    let clv = result.clv().expect("the model fits the demo data");
    let fit = clv.model.transaction_report();
    let params: Vec<String> = fit
        .names
        .iter()
        .zip(&fit.values)
        .map(|(n, v)| format!("{n} {v:.4}"))
        .collect();
    let _ = writeln!(out, "{}: {}", fit.model, params.join(", "));
    for k in &clv.classes {
        let _ = writeln!(
            out,
            "clv {}: {} customers, total {:.2}, churn {:.4}, high risk {}",
            k.class.code(),
            k.clv.customers,
            k.clv.total_clv,
            k.clv.churn_risk / k.clv.customers as f64,
            k.clv.high_risk()
        );
    }
    let scheme = result.scheme.as_ref().expect("the scheme ran");
    // every dimension's tiers: customers, revenue and means, as the run computed them once
    for (dim, totals) in scheme.checked.dimensions.iter().zip(&scheme.tier_totals) {
        for (tier, t) in dim.tiers.iter().zip(totals) {
            let _ = writeln!(
                out,
                "{} {}: {} customers, {}, R {:.2} F {:.2} M {:.2} satisfaction {:?} nps {:?}",
                dim.name,
                tier.name,
                t.customers,
                t.revenue,
                t.mean_recency_days,
                t.mean_frequency,
                t.mean_monetary,
                t.mean_satisfaction.map(|x| format!("{x:.3}")),
                t.nps.map(|x| format!("{x:.1}")),
            );
        }
    }
    // each segmentation's validation: Kruskal–Wallis per feature and the warnings' count
    for (name, v) in &result.validations {
        let tests: Vec<String> = v
            .tests
            .iter()
            .map(|t| match &t.kruskal_wallis {
                Ok(kw) => format!("{} H {:.2}", t.feature, kw.h),
                Err(e) => format!("{} {e:?}", t.feature),
            })
            .collect();
        let _ = writeln!(
            out,
            "validation {name}: {} segments; {}; {} warnings",
            v.segments.len(),
            tests.join(", "),
            v.warnings.len()
        );
    }
    // the first customers: features, classes, every dimension's tier, the reason, CLV
    for (i, c) in t.features.customers.iter().take(6).enumerate() {
        let r = &t.rfm.customers()[i];
        let a = &scheme.result.assignments[i];
        let tiers: Vec<&str> = scheme
            .checked
            .dimensions
            .iter()
            .zip(&a.tiers)
            .map(|(d, &k)| d.tiers[usize::from(k)].name.as_str())
            .collect();
        let value = clv.per_customer[i]
            .as_ref()
            .map_or("-".to_string(), |(p, _)| format!("{:.2}", p.clv));
        let _ = writeln!(
            out,
            "{} R{} F{} M{} {} {} {:?} | {} | {} | clv {value}",
            c.customer_id,
            c.recency_days,
            c.frequency,
            c.monetary,
            r.score_code(),
            r.class.code(),
            t.abc.classes()[i],
            tiers.join("/"),
            a.reason.text(&scheme.checked, Lang::En),
        );
    }
    insta::assert_snapshot!(out);
}

#[test]
fn tiers_and_reasons_do_not_depend_on_the_language() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let result = demo_run(tmp.path());
    let scheme = result.scheme.as_ref().expect("the scheme ran");
    // reasons are data; only the words of the default and override reasons follow the language
    for a in &scheme.result.assignments {
        if let stratum_core::scheme::Reason::Rule(_) = a.reason {
            assert_eq!(
                a.reason.text(&scheme.checked, Lang::En),
                a.reason.text(&scheme.checked, Lang::Zh)
            );
        }
    }
    assert!(
        scheme
            .result
            .assignments
            .iter()
            .any(|a| matches!(a.reason, stratum_core::scheme::Reason::Rule(_)))
    );
}

/// The run as records, the first draft of what the history store keeps: the summary (every
/// grouping once) and the first customers' rows, all codes and values, as JSON.
#[test]
fn the_run_as_records_is_snapshot_as_json() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let result = demo_run(tmp.path());
    let mut summary = serde_json::to_value(result.summary()).expect("summary");
    // the validations are in the text snapshot; here their names
    if let Some(v) = summary.get_mut("validations") {
        let names: Vec<serde_json::Value> = v
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|pair| pair.get(0).cloned())
            .collect();
        *v = serde_json::Value::Array(names);
    }
    let records: Vec<_> = result.records().take(4).collect();
    assert_eq!(result.records().len(), 300);
    // every record names every dimension's tier, and a rule's reason the columns it read
    for r in result.records() {
        assert_eq!(r.tiers.len(), 3);
        assert_eq!(r.final_tier, r.tiers.last().map(|t| t.tier));
        if let Some(stratum_core::record::ReasonCode::Rule { tier, columns }) = &r.reason {
            assert_eq!(Some(*tier), r.final_tier);
            assert!(!columns.is_empty(), "{}", r.customer_id);
        }
    }
    let json = serde_json::json!({ "summary": summary, "first_customers": records });
    insta::assert_snapshot!(serde_json::to_string_pretty(&json).expect("json"));
}
