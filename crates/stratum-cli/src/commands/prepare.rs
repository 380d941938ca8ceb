//! The first steps `stratum cluster` and `stratum validate` share with `stratum segment`: read
//! the transactions (rejects written, reject rate checked) and the optional customer master,
//! tier the customers (default RFM and ABC settings) and build every customer's profile — the
//! columns a scheme's rules see, which are the features these commands can use.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use stratum_core::scheme::{Attributes, ColumnData, LifecycleParams, Profile, profile};
use stratum_core::{AbcParams, RfmParams, Tiering, tier};
use stratum_io::master::{MasterAttributes, load_customers};
use stratum_io::rejects::RejectsWriter;
use stratum_io::source::{Format, detect_format};
use stratum_io::transactions::{TransactionOptions, load_transactions};

use super::segment::{create, with_rejects_path};
use crate::BadInput;
use crate::progress;
use crate::settings::InputSettings;

/// The tiered customers and their profile.
pub struct Prepared {
    /// RFM and ABC tiers of every customer with a purchase.
    pub tiering: Tiering,
    /// Their profiles, in the same order.
    pub profile: Profile,
}

/// Reads, tiers and profiles the customers of `transactions`.
pub fn prepare(
    transactions: &Path,
    customers: Option<&Path>,
    input: &InputSettings,
    as_of: Option<NaiveDate>,
    out: &Path,
) -> Result<Prepared> {
    fs::create_dir_all(out)
        .with_context(|| format!("failed to create the output folder `{}`", out.display()))?;
    let rejects_path = out.join("rejects.csv");
    let mut rejects = RejectsWriter::new(create(&rejects_path)?)
        .with_context(|| format!("failed to write `{}`", rejects_path.display()))?;
    let options = TransactionOptions {
        read: input.read.clone(),
        columns: input.columns.clone(),
        frequency: stratum_core::FrequencyBasis::Orders,
        batch_bytes: None,
        history: true,
    };
    let total = fs::metadata(transactions).map(|m| m.len()).unwrap_or(0);
    let in_bytes = detect_format(transactions).is_ok_and(|f| f == Format::Csv);
    let bar = progress::bar(total, in_bytes, "reading");
    let (aggregator, txq) = load_transactions(
        transactions,
        &options,
        as_of,
        &mut rejects,
        &mut |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        },
    )
    .map_err(|e| with_rejects_path(e, &rejects_path))?;
    bar.finish_and_clear();
    let master = match customers {
        Some(path) => Some(
            load_customers(
                path,
                &input.read,
                None,
                input.columns.get("customer_id").map(String::as_str),
                &mut rejects,
            )
            .map_err(|e| with_rejects_path(e, &rejects_path))?
            .0,
        ),
        None => None,
    };
    rejects
        .finish()
        .and_then(|mut w| w.flush())
        .with_context(|| format!("failed to write `{}`", rejects_path.display()))?;
    let rate = txq.counts.reject_rate();
    if rate > input.max_reject_rate {
        return Err(BadInput(format!(
            "{:.1}% of the rows of `{}` were rejected ({} of {}), more than the allowed {:.1}% (--max-reject-rate); see `{}`",
            rate * 100.0,
            transactions.display(),
            txq.counts.rejected,
            txq.counts.rows_read,
            input.max_reject_rate * 100.0,
            rejects_path.display()
        ))
        .into());
    }
    let Some(as_of) = as_of.or_else(|| aggregator.default_as_of()) else {
        return Err(BadInput(format!(
            "no usable transactions in `{}`: {} rows read, {} rejected; see `{}`",
            transactions.display(),
            txq.counts.rows_read,
            txq.counts.rejected,
            rejects_path.display()
        ))
        .into());
    };
    let features = aggregator.finish(as_of);
    if features.customers.is_empty() {
        return Err(BadInput(format!(
            "no customer has a purchase before {as_of} in `{}`",
            transactions.display()
        ))
        .into());
    }
    let rfm = RfmParams::new()
        .check()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let abc = AbcParams::new()
        .check()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let tiering = tier(features, &rfm, &abc);
    let attributes = master.as_ref().map(MasterAttributes::new);
    let profile = profile(
        &tiering,
        attributes.as_ref().map(|a| a as &dyn Attributes),
        None,
        &LifecycleParams::default(),
    );
    Ok(Prepared { tiering, profile })
}

/// The number columns `names` (comma-separated) of the profile, or an error naming the
/// unknown or non-number one and listing the number columns.
pub fn number_columns(profile: &Profile, names: &str) -> Result<Vec<(String, Vec<Option<f64>>)>> {
    let numbers: Vec<&str> = profile
        .catalog()
        .names()
        .iter()
        .filter(|n| matches!(profile.column(n), Some(ColumnData::Number(_))))
        .map(String::as_str)
        .collect();
    let mut out = Vec::new();
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match profile.column(name) {
            Some(ColumnData::Number(v)) => out.push((name.to_string(), v.clone())),
            _ => {
                return Err(BadInput(format!(
                    "`{name}` is not a number column; the number columns are: {}",
                    numbers.join(", ")
                ))
                .into());
            }
        }
    }
    if out.is_empty() {
        return Err(BadInput("no features given (--features)".into()).into());
    }
    Ok(out)
}
