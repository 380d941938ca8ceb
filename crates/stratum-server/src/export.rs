//! A kept run's tiers written as a file (CSV, XLSX or Parquet), for one account manager's
//! customers or all: what `stratum export` writes and the API's export downloads.

use std::collections::HashSet;
use std::path::Path;

use stratum_core::Lang;
use stratum_core::scheme::ColumnData;
use stratum_io::export::{ExportError, ExportFormat, TierRow, cells, header, write};
use stratum_store::{RunInfo, Store, StoreError, why};

/// Why a run's tiers could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RunExportError {
    /// The store could not give the run.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The file could not be written.
    #[error(transparent)]
    Write(#[from] ExportError),
}

/// Writes run `run`'s tiers to `path` in `format`: every customer, or with `book` only those
/// whose `account_manager` in the run is `book` (none for a run kept without its profile).
/// Returns the run and the customers written.
pub fn write_run(
    store: &mut Store,
    run: i64,
    book: Option<&str>,
    format: ExportFormat,
    path: &Path,
) -> Result<(RunInfo, usize), RunExportError> {
    let (info, rows) = store.run_customers(run)?;
    let own: Option<HashSet<String>> = match book {
        None => None,
        Some(book) => {
            let kept = store.kept_columns(run, Some(&["account_manager".to_string()]))?;
            let managers = match kept.profile.column("account_manager") {
                Some(ColumnData::Text(t)) => Some(t),
                _ => None,
            };
            Some(
                kept.codes
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| managers.and_then(|m| m.get(*i)) == Some(book))
                    .map(|(_, c)| c.clone())
                    .collect(),
            )
        }
    };
    let rows: Vec<_> = rows
        .iter()
        .filter(|(code, _)| own.as_ref().is_none_or(|o| o.contains(code)))
        .collect();
    let dimensions: Vec<String> = rows
        .first()
        .map(|(_, e)| e.tiers.iter().map(|(d, _)| d.clone()).collect())
        .unwrap_or_default();
    let reasons: Vec<String> = rows
        .iter()
        .map(|(_, e)| why::reason_text(e.reason.as_ref(), Lang::En))
        .collect();
    let table: Vec<TierRow<'_>> = rows
        .iter()
        .zip(&reasons)
        .map(|((code, e), reason)| TierRow {
            customer_id: code,
            as_of: e.as_of,
            tiers: &e.tiers,
            final_tier: e.final_tier().unwrap_or_default(),
            codes: &e.codes,
            recency_days: e.recency_days,
            frequency: e.frequency,
            monetary: e.monetary,
            clv: e.clv,
            reason,
        })
        .collect();
    let cells: Vec<_> = table.iter().map(cells).collect();
    write(path, format, &header(&dimensions), &cells)?;
    Ok((info, table.len()))
}
