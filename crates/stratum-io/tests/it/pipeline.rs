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
    let scheme = result.scheme.as_ref().expect("the scheme ran");
    let fin = scheme.checked.final_dimension;
    let dim = &scheme.checked.dimensions[fin];
    let mut counts = vec![0usize; dim.tiers.len()];
    for a in &scheme.result.assignments {
        counts[usize::from(a.tiers[fin])] += 1;
    }
    for (tier, n) in dim.tiers.iter().zip(&counts) {
        let _ = writeln!(out, "{} {}: {n}", dim.name, tier.name);
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
