//! The first steps `stratum cluster` and `stratum validate` share with `stratum segment`: read
//! the transactions (rejects written, reject rate checked) and the optional customer master,
//! tier the customers (with the config file's `[rfm]`, `[abc]` and `[customers]` settings, as
//! `segment` does) and build every customer's profile — the columns a scheme's rules see, which
//! are the features these commands can use.

use std::path::{Path, PathBuf};

use anyhow::Result;
use stratum_core::cluster::Clustering;
use stratum_core::run::RunInput;
use stratum_core::scheme::{Attributes, LifecycleParams, Profile, profile};
use stratum_core::validate::{CheckedValidateParams, Validation};
use stratum_core::{Lang, Tiering};
use stratum_io::master::MasterAttributes;

use super::ingest::{check_reject_rate, load};
use super::outputs::Outputs;
use super::scheme::warn_shadowed;
use crate::BadInput;
use crate::settings::{SegmentSettings, segment_settings};

/// The tiered customers and their profile.
pub struct Prepared {
    /// RFM and ABC tiers of every customer with a purchase.
    pub tiering: Tiering,
    /// Their profiles, in the same order.
    pub profile: Profile,
}

/// The settings `segment` would use for these flags (its config sections included).
pub fn settings(
    transactions: Vec<PathBuf>,
    customers: Option<PathBuf>,
    as_of: Option<String>,
    out: PathBuf,
    input: crate::cli::InputArgs,
) -> Result<SegmentSettings> {
    segment_settings(crate::cli::SegmentArgs {
        transactions,
        customers,
        as_of,
        out: Some(out),
        input,
        no_xlsx: true,
        ..Default::default()
    })
}

/// The inputs these commands read, for [`Outputs::begin`].
pub fn inputs(s: &SegmentSettings) -> Vec<(&'static str, Option<&Path>)> {
    s.transactions
        .inputs()
        .chain([
            ("customers", s.customers.as_deref()),
            ("config", s.config.as_deref()),
        ])
        .collect()
}

/// Prints what the analyst should know about the RFM scores (e.g. quantiles over too few
/// customers) on stderr.
pub fn warn_rfm(tiering: &stratum_core::Tiering, lang: stratum_core::Lang) {
    for w in tiering.rfm.warnings() {
        eprintln!("{} {}", lang.pick("警告：", "warning:"), w.text(lang));
    }
}

/// Reads, tiers and profiles the customers of `s.transactions`, its rejects written into the
/// output folder being staged.
pub fn prepare(s: &SegmentSettings, outputs: &mut Outputs) -> Result<Prepared> {
    let mut loaded = load(s, outputs, (true, false), None)?;
    let txq = &loaded.transactions;
    outputs.rows("transactions", &txq.counts);
    let shown = PathBuf::from(s.transactions.shown());
    check_reject_rate(
        &txq.counts,
        s.max_reject_rate,
        &shown,
        &loaded.shown_rejects,
    )?;
    if let (Some((_, quality)), Some(path)) = (&loaded.master, &s.customers) {
        outputs.rows("customers", &quality.counts);
        check_reject_rate(
            &quality.counts,
            s.max_reject_rate,
            path,
            &loaded.shown_rejects,
        )?;
    }
    let (features, as_of, _) = loaded.features(s)?;
    let master = loaded.master.map(|(table, _)| table);
    if features.customers.is_empty() {
        return Err(BadInput(format!(
            "no customer has a purchase before {as_of} in `{}`",
            shown.display()
        ))
        .into());
    }
    // the library's run, without a scheme or lifetime value: its tiers
    let input = RunInput {
        validate: false,
        ..RunInput::new(features, as_of, &s.rfm, &s.abc)
    };
    let tiering = stratum_core::run::run(input)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .tiering;
    warn_rfm(&tiering, s.lang);
    let attributes = master.as_ref().map(MasterAttributes::new);
    if let Some(a) = &attributes {
        warn_shadowed(a);
    }
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
    stratum_core::run::number_columns(profile, names).map_err(|e| BadInput(e.to_string()).into())
}

/// The index of feature `order_by` among `columns` (default: monetary if clustered on, else the
/// first), or an error naming it.
pub fn order_index(
    columns: &[(String, Vec<Option<f64>>)],
    order_by: Option<&str>,
) -> Result<usize> {
    stratum_core::run::order_index(columns, order_by).map_err(|e| BadInput(e.to_string()).into())
}

/// The validation of a clustering on `features` (one value per clustered row's customer),
/// over the customers that have a cluster.
pub fn validate_clusters(
    params: &CheckedValidateParams,
    c: &Clustering,
    features: &[(String, Vec<Option<f64>>)],
) -> Result<Validation> {
    stratum_core::run::validate_clusters(params, c, features).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The per-feature tests of a validation as a terminal table (the segmentation column left
/// out).
pub fn tests_table(v: &Validation, lang: Lang) -> String {
    use stratum_core::labels::column_label;
    use stratum_io::output::Cell;
    use stratum_io::validation::{TEST_COLUMNS, test_rows};
    let rows: Vec<Vec<String>> = test_rows("", v)
        .iter()
        .map(|r| {
            let mut cells: Vec<String> = r[1..].iter().map(Cell::display).collect();
            // the feature in the table's language
            if let Some(feature) = cells.first_mut() {
                *feature = column_label(feature, lang).to_string();
            }
            cells
        })
        .collect();
    let header: Vec<String> = TEST_COLUMNS[1..]
        .iter()
        .map(|s| column_label(s, lang).to_string())
        .collect();
    crate::terminal::table(&header, &rows)
}
