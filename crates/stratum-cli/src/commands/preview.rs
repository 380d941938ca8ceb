//! `stratum preview --scheme draft.toml`: a draft scheme applied to the latest kept run's
//! customer profiles, recording nothing: who would move, how much revenue moves with them, and
//! which tiers would be empty, before the scheme is published.

use std::path::Path;

use anyhow::{Context, Result};
use stratum_core::Lang;
use stratum_core::history::PreviewView;
use stratum_core::run::RunError;
use stratum_core::scheme::SchemeParams;
use stratum_io::format::thousands;
use stratum_io::output::{Cell, CsvOut, CsvText};
use stratum_store::StoreError;

use super::history::{open, shown};
use super::outputs::Outputs;
use super::scheme::{load_scheme, scheme_error};
use crate::BadInput;
use crate::cli::PreviewArgs;
use crate::terminal::table;

/// Runs `stratum preview`.
pub fn run(args: PreviewArgs) -> Result<()> {
    let lang: Lang = args
        .lang
        .parse()
        .map_err(|e| BadInput(format!("--lang: {e}")))?;
    let draft = load_scheme(&args.scheme)?;
    if !args.db.contains("://") && !Path::new(&args.db).exists() {
        return Err(BadInput(format!("no history store at `{}`", args.db)).into());
    }
    let mut store = open(&args.db)?;
    let labels = draft.clone();
    let p = store
        .preview(draft, args.dimension.as_deref(), lang)
        .map_err(|e| match e {
            StoreError::Draft(e) => draft_error(&args.scheme, *e),
            e
            @ (StoreError::NoRuns | StoreError::NoProfile(_) | StoreError::NoDimension { .. }) => {
                BadInput(format!("`{}`: {e}", shown(&args.db))).into()
            }
            e => anyhow::Error::new(e).context(format!(
                "failed to preview on the history store `{}`",
                shown(&args.db)
            )),
        })?;
    let old = store
        .scheme_text(p.run.id.unwrap_or_default())?
        .and_then(|t| SchemeParams::from_toml(&t).ok());
    let label = |tier: &str| -> String {
        let pick = |s: &SchemeParams, d: &str| {
            s.tier_label(d, tier)
                .map(|l| l.pick(lang, tier).to_string())
        };
        pick(&labels, &p.dimensions.1)
            .or_else(|| old.as_ref().and_then(|s| pick(s, &p.dimensions.0)))
            .unwrap_or_else(|| tier.to_string())
    };
    print!("{}", preview_text(&p, args.top));
    if let Some(out) = &args.out {
        let outputs = Outputs::begin(
            out,
            &[("scheme", Some(args.scheme.as_path()))],
            &["preview.csv", "preview.html"],
        )?;
        let dir = outputs.dir().to_path_buf();
        let written = write_csv(&dir.join("preview.csv"), &p).and_then(|()| {
            let path = dir.join("preview.html");
            let generator = format!("Stratum {}", env!("CARGO_PKG_VERSION"));
            stratum_io::report::write_preview(&path, &p, &label, lang, &args.currency, &generator)
                .with_context(|| format!("failed to write `{}`", path.display()))
        });
        outputs.finish(written)?;
        eprintln!("wrote {}: preview.csv, preview.html", out.display());
    }
    Ok(())
}

/// A draft that cannot be placed, as bad input naming the file.
fn draft_error(path: &Path, e: RunError) -> anyhow::Error {
    match e {
        RunError::Scheme {
            error, with_clv, ..
        } => scheme_error(path, &error, true, with_clv),
        e @ (RunError::Features(_) | RunError::Cluster(_)) => {
            BadInput(format!("scheme `{}`, [cluster]: {e}", path.display())).into()
        }
        e => anyhow::Error::new(e),
    }
}

/// The matrix, the tier sizes, the empty tiers and the biggest movers as terminal text.
fn preview_text(p: &PreviewView, top: usize) -> String {
    let m = &p.matrix;
    let name = |t: &Option<String>| t.clone().unwrap_or_else(|| "-".into());
    let mut header = vec![format!("run {} → draft", p.run.id.unwrap_or_default())];
    header.extend(m.columns.iter().map(name));
    let rows: Vec<Vec<String>> = m
        .rows
        .iter()
        .zip(&m.cells)
        .map(|(r, cells)| {
            let mut row = vec![name(r)];
            row.extend(cells.iter().map(|c| thousands(c.customers)));
            row
        })
        .collect();
    let share = |part: f64, whole: f64| {
        if whole > 0.0 {
            part * 100.0 / whole
        } else {
            0.0
        }
    };
    let mut out = format!(
        "{}: run {} ({}) → draft{}\n{}",
        if p.dimensions.0 == p.dimensions.1 {
            p.dimensions.1.clone()
        } else {
            format!("{} → {}", p.dimensions.0, p.dimensions.1)
        },
        p.run.id.unwrap_or_default(),
        p.run.as_of,
        p.draft_name
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default(),
        table(&header, &rows)
    );
    let [up, stable, down] = m.shares();
    out.push_str(&format!(
        "would move {} of {} customers ({:.1}%) with {:.2} of {:.2} revenue ({:.1}%); up {} ({:.1}%), stable {} ({:.1}%), down {} ({:.1}%)\n",
        thousands(p.movers.len() as u64),
        thousands(p.customers),
        share(p.movers.len() as f64, p.customers as f64),
        p.revenue_moved.to_f64(),
        p.revenue.to_f64(),
        share(p.revenue_moved.to_f64(), p.revenue.to_f64()),
        thousands(m.counts[0]),
        up * 100.0,
        thousands(m.counts[1]),
        stable * 100.0,
        thousands(m.counts[2]),
        down * 100.0,
    ));
    let sizes: Vec<Vec<String>> = p
        .sizes
        .iter()
        .map(|(tier, c0, r0, c1, r1)| {
            vec![
                tier.clone(),
                thousands(*c0),
                thousands(*c1),
                format!("{:.2}", r0.to_f64()),
                format!("{:.2}", r1.to_f64()),
            ]
        })
        .collect();
    out.push('\n');
    out.push_str(&table(
        &[
            "tier",
            "customers now",
            "with the draft",
            "revenue now",
            "with the draft",
        ]
        .map(String::from),
        &sizes,
    ));
    if !p.empty.is_empty() {
        out.push_str(&format!(
            "tiers the draft would leave empty: {}\n",
            p.empty.join(", ")
        ));
    }
    for w in &p.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    let movers: Vec<Vec<String>> = p
        .movers
        .iter()
        .take(top)
        .map(|x| {
            vec![
                x.customer_id.clone(),
                x.from.clone(),
                x.to.clone(),
                x.direction.code().to_string(),
                format!("{:.2}", x.monetary.to_f64()),
                x.reason_to.clone(),
            ]
        })
        .collect();
    if !movers.is_empty() {
        out.push_str("\nbiggest movers by revenue\n");
        out.push_str(&table(
            &[
                "customer",
                "now",
                "draft",
                "move",
                "revenue",
                "why with the draft",
            ]
            .map(String::from),
            &movers,
        ));
    }
    out
}

/// Writes `preview.csv`: every customer who would move.
fn write_csv(path: &Path, p: &PreviewView) -> Result<()> {
    let mut w = CsvOut::new(super::ingest::create(path)?, CsvText::Safe);
    let write = |w: &mut CsvOut<_>| -> csv::Result<()> {
        w.texts([
            "customer_id",
            "from_tier",
            "to_tier",
            "move",
            "revenue",
            "reason_from",
            "reason_to",
        ])?;
        for x in &p.movers {
            w.cells(&[
                Cell::Text(&x.customer_id),
                Cell::Text(&x.from),
                Cell::Text(&x.to),
                Cell::Text(x.direction.code()),
                Cell::Money(x.monetary),
                Cell::Text(&x.reason_from),
                Cell::Text(&x.reason_to),
            ])?;
        }
        Ok(())
    };
    write(&mut w)
        .and_then(|()| w.into_inner().map(|_| ()))
        .with_context(|| format!("failed to write `{}`", path.display()))
}
