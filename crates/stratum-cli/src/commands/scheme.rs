//! Helpers shared by `stratum segment --scheme` and `stratum check`: reading a scheme file
//! and turning its errors into messages that name the file and line.

use std::path::Path;

use anyhow::Result;
use stratum_core::scheme::{SchemeError, SchemeParams};

use crate::BadInput;

/// Reads and parses a scheme file.
pub fn load_scheme(path: &Path) -> Result<SchemeParams> {
    let text = crate::settings::read_text_file(path, "scheme")?;
    SchemeParams::from_toml(&text).map_err(|e| scheme_error(path, &e, true, true))
}

/// A scheme error as bad input, naming the file: `` scheme `b2b.toml`, line 12: … ``. Without
/// master data, an unknown column may be one of its attributes: the message says so.
pub fn scheme_error(
    path: &Path,
    e: &SchemeError,
    have_master: bool,
    have_clv: bool,
) -> anyhow::Error {
    let mut message = format!("scheme `{}`, {e}", path.display());
    if let SchemeError::Rule { error, .. } = e
        && stratum_core::scheme::CLUSTER_COLUMNS
            .iter()
            .any(|(name, _)| error.message == format!("unknown column \"{name}\""))
    {
        message
            .push_str(" (the cluster columns exist only with a [cluster] section in the scheme)");
        return BadInput(message).into();
    }
    if !have_clv
        && let SchemeError::Rule { error, .. } = e
        && stratum_core::scheme::CLV_COLUMNS
            .iter()
            .any(|(name, _)| error.message == format!("unknown column \"{name}\""))
    {
        message.push_str(
            " (the lifetime-value columns exist only with --clv, when the model can be fitted)",
        );
        return BadInput(message).into();
    }
    if !have_master
        && let SchemeError::Rule { error, .. } = e
        && error.message.starts_with("unknown column")
        && !error
            .hint
            .as_deref()
            .is_some_and(|h| h.starts_with("did you mean"))
    {
        message.push_str(
            " (master-data columns such as industry or region are known only with --customers FILE)",
        );
    }
    BadInput(message).into()
}

/// Warns about master columns that rules cannot reach (named like a built-in column or an
/// earlier column).
pub fn warn_shadowed(attributes: &dyn stratum_core::scheme::Attributes) {
    for name in stratum_core::scheme::shadowed(attributes) {
        eprintln!(
            "warning: the master column `{name}` has the name of a built-in column or an earlier column; rules see the first, so rename it to use it"
        );
    }
}
