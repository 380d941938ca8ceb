//! `stratum check SCHEME`: a scheme checked against the columns its rules can use, without
//! running it.

use std::io::Write;

use anyhow::Result;
use stratum_core::scheme::{catalog, cluster_codes};
use stratum_io::master::{MasterAttributes, load_customers};
use stratum_io::rejects::RejectsWriter;
use stratum_io::source::ReadOptions;

use super::scheme::{load_scheme, scheme_error, warn_shadowed};
use crate::cli::CheckArgs;
use crate::terminal::table;

/// Runs `stratum check`.
pub fn run(args: CheckArgs) -> Result<()> {
    let CheckArgs {
        scheme,
        customers,
        columns,
    } = args;
    let params = load_scheme(&scheme)?;
    let master = match &customers {
        Some(path) => {
            // rejected master rows do not matter here: only the columns and their values do
            let mut rejects = RejectsWriter::new(std::io::sink())?;
            Some(load_customers(path, &ReadOptions::default(), None, None, &mut rejects)?.0)
        }
        None => None,
    };
    let attributes = master.as_ref().map(MasterAttributes::new);
    let dyn_attributes = attributes
        .as_ref()
        .map(|a| a as &dyn stratum_core::scheme::Attributes);
    if let Some(a) = dyn_attributes {
        warn_shadowed(a);
    }
    let mut cat = catalog(dyn_attributes);
    let mut out = std::io::stdout().lock();
    if columns {
        let rows: Vec<Vec<String>> = cat
            .names()
            .iter()
            .enumerate()
            .map(|(i, n)| vec![n.clone(), cat.column_type(i).name().to_string()])
            .collect();
        let _ = write!(
            out,
            "{}",
            table(&["column".to_string(), "type".to_string()], &rows)
        );
    }
    // the [cluster] section: its settings, and features that are number columns
    if let Some(spec) = params
        .cluster()
        .map_err(|e| scheme_error(&scheme, &e, master.is_some(), true))?
    {
        for f in &spec.features {
            let number = cat
                .find(f)
                .is_some_and(|i| cat.column_type(i) == stratum_core::scheme::ColumnType::Number);
            if !number {
                return Err(crate::BadInput(format!(
                    "scheme `{}`, [cluster]: feature \"{f}\" is not a number column (see --columns)",
                    scheme.display()
                ))
                .into());
            }
        }
    }
    if let Some(spec) = params
        .cluster()
        .map_err(|e| scheme_error(&scheme, &e, master.is_some(), true))?
        && let Some(i) = cat.find("cluster_label")
    {
        // the codes a cluster of these features can have
        cat.set_known(i, Some(cluster_codes(&spec.features)));
    }
    let checked = params
        .check(&cat)
        .map_err(|e| scheme_error(&scheme, &e, master.is_some(), true))?;
    let dims: Vec<String> = checked
        .dimensions
        .iter()
        .map(|d| format!("{} ({} tiers)", d.name, d.tiers.len()))
        .collect();
    let _ = writeln!(
        out,
        "scheme `{}` is valid: dimensions {}; final tier from \"{}\"; {} strategies",
        scheme.display(),
        dims.join(", "),
        checked.dimensions[checked.final_dimension].name,
        checked.strategies.len()
    );
    Ok(())
}
