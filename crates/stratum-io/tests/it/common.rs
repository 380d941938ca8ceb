//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use stratum_core::{AbcParams, RfmParams, Tiering, tier};
use stratum_io::rejects::RejectsWriter;
use stratum_io::transactions::{TransactionOptions, TransactionQuality, load_transactions};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Loads a file and tiers it with default parameters; returns the tiers, the quality and the
/// rejects file's text.
pub fn run(path: &Path, options: &TransactionOptions) -> (Tiering, TransactionQuality, String) {
    let mut rejects = RejectsWriter::new(Vec::new()).expect("rejects header");
    let (agg, quality) = load_transactions(path, options, None, &mut rejects, &mut |_, _| {})
        .unwrap_or_else(|e| panic!("{e}"));
    let as_of = agg.default_as_of().expect("some transactions");
    let features = agg.finish(as_of);
    let rfm = RfmParams::new().check().expect("default rfm params");
    let abc = AbcParams::new().check().expect("default abc params");
    let text = String::from_utf8(rejects.finish().expect("flush")).expect("utf-8 rejects");
    (tier(features, &rfm, &abc), quality, text)
}
