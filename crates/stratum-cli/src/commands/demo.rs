//! `stratum demo`: a seeded synthetic data set, optionally tiered at once.

use anyhow::{Context, Result};
use stratum_core::synth::DemoParams;
use stratum_io::demo::{write_demo, write_demo_parquet};

use super::outputs::Outputs;
use crate::BadInput;
use crate::cli::{DemoArgs, InputArgs, SegmentArgs};
use crate::progress;
use crate::settings::{parse_cli_date, segment_settings};

/// Runs `stratum demo`.
pub fn run(args: DemoArgs) -> Result<()> {
    let DemoArgs {
        out,
        customer_count: customers,
        line_count: transactions,
        seed,
        end_date,
        parquet,
        segment,
        scheme,
        lang,
    } = args;
    let end = parse_cli_date("--end-date", &end_date)?;
    let params = DemoParams::new()
        .customers(customers)
        .transactions(transactions)
        .seed(seed)
        .end_date(end)
        .check()
        .map_err(|e| BadInput(e.to_string()))?;
    let outputs = Outputs::begin(
        &out,
        &[],
        &[
            "transactions.csv",
            "customers.csv",
            "interactions.csv",
            "opportunities.csv",
            "transactions.parquet",
        ],
    )?;
    let result = (|| -> Result<_> {
        let dir = outputs.dir();
        let bar = progress::bar(transactions, false, "writing");
        let summary = write_demo(&params, dir, |n| bar.set_position(n))
            .with_context(|| format!("failed to write the demo data to `{}`", out.display()))?;
        bar.finish_and_clear();
        if parquet {
            let bar = progress::bar(transactions, false, "writing parquet");
            write_demo_parquet(&params, dir, |n| bar.set_position(n)).with_context(|| {
                format!(
                    "failed to write the demo Parquet file to `{}`",
                    out.display()
                )
            })?;
            bar.finish_and_clear();
        }
        Ok(summary)
    })();
    let summary = outputs.finish(result)?;
    let path_transactions = out.join("transactions.csv");
    let path_customers = out.join("customers.csv");
    let path_interactions = out.join("interactions.csv");
    eprintln!(
        "wrote {} customers to {} and {} transaction lines ({} orders) to {}",
        summary.customers,
        path_customers.display(),
        summary.lines,
        summary.orders,
        path_transactions.display()
    );
    let path_opportunities = out.join("opportunities.csv");
    eprintln!(
        "wrote {} interactions to {}",
        summary.interactions,
        path_interactions.display()
    );
    eprintln!(
        "wrote {} opportunities to {}",
        summary.opportunities,
        path_opportunities.display()
    );
    if parquet {
        eprintln!(
            "wrote the same lines to {}",
            out.join("transactions.parquet").display()
        );
    }
    if !segment {
        eprintln!(
            "next: stratum segment --transactions {} --customers {} --out {}\n  (with a tier scheme: add --scheme schemes/b2b.toml --interactions {}; the sales funnel: --opportunities {})",
            path_transactions.display(),
            path_customers.display(),
            out.join("result").display(),
            path_interactions.display(),
            path_opportunities.display()
        );
        return Ok(());
    }
    let args = SegmentArgs {
        transactions: vec![path_transactions],
        customers: Some(path_customers),
        as_of: None,
        out: Some(out.join("result")),
        input: InputArgs {
            lang: Some(lang),
            ..InputArgs::default()
        },
        interactions: scheme.is_some().then_some(path_interactions),
        opportunities: Some(path_opportunities),
        scheme,
        clv: true,
        report: true,
        ..Default::default()
    };
    super::segment::run_with(segment_settings(args)?)
}
