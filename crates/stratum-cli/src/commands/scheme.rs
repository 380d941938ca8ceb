//! Helpers shared by `stratum segment --scheme` and `stratum check`: reading a scheme file
//! and turning its errors into messages that name the file and line.

use std::path::Path;

use anyhow::Result;
use stratum_core::scheme::{ColumnType, RuleErrorKind, SchemeError, SchemeParams};

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
    let unknown = match e {
        SchemeError::Rule { error, .. } => match &*error.kind {
            RuleErrorKind::UnknownColumn { name, suggestion } => Some((name, suggestion)),
            _ => None,
        },
        _ => None,
    };
    let is = |columns: &[(&str, ColumnType)], name: &str| {
        columns.iter().any(|(c, _)| c.eq_ignore_ascii_case(name))
    };
    match unknown {
        Some((name, _)) if is(&stratum_core::scheme::CLUSTER_COLUMNS, name) => message
            .push_str(" (the cluster columns exist only with a [cluster] section in the scheme)"),
        Some((name, _)) if !have_clv && is(&stratum_core::scheme::CLV_COLUMNS, name) => message
            .push_str(
                " (the lifetime-value columns exist only with --clv, when the model can be fitted)",
            ),
        Some((_, None)) if !have_master => message.push_str(
            " (master-data columns such as industry or region are known only with --customers FILE)",
        ),
        _ => {}
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
