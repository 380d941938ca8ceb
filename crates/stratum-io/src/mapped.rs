//! The reading loop shared by the small mapped inputs (interactions, overrides): open the
//! file through format and encoding detection, map its fields by header, optionally drop
//! exact duplicate rows, reject rows with more non-empty fields than the header, and keep the
//! rows a parser accepts; the others are counted and
//! written to the rejects file with the field and the reason.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;
use csv::ByteRecord;

use crate::fields::record_hash;
use crate::ingest::{LoadError, RowCounts};
use crate::mapping::{FieldSpec, MappedColumn, resolve};
use crate::rejects::{Reject, RejectReason, RejectsWriter, file_label, long_row};
use crate::source::{self, ReadOptions};
use crate::values::{DATE_FORMATS, parse_date};

/// Why a row is rejected: the reason, the index of the field at fault, the message.
pub(crate) type Bad = (RejectReason, usize, String);

/// One row's fields, by index into the file's [`FieldSpec`] list.
pub(crate) struct Row<'a> {
    record: &'a ByteRecord,
    found: &'a [Option<usize>],
}

impl Row<'_> {
    /// Field `k`, trimmed (empty when the file has no such column).
    pub fn text(&self, k: usize) -> String {
        self.found
            .get(k)
            .copied()
            .flatten()
            .and_then(|c| self.record.get(c))
            .map(|b| String::from_utf8_lossy(b).trim().to_string())
            .unwrap_or_default()
    }

    /// Field `k` as a date; `None` when empty.
    pub fn date(&self, k: usize) -> Result<Option<NaiveDate>, Bad> {
        let text = self.text(k);
        if text.is_empty() {
            return Ok(None);
        }
        parse_date(text.as_bytes()).map(Some).ok_or_else(|| {
            (
                RejectReason::BadDate,
                k,
                format!("`{text}` is not a date; expected {DATE_FORMATS}"),
            )
        })
    }
}

/// Reads every row of `path` with `fields` mapped, keeping what `parse` accepts.
pub(crate) fn read_mapped<W: Write, T>(
    path: &Path,
    read: &ReadOptions,
    fields: &[FieldSpec],
    drop_duplicates: bool,
    rejects: &mut RejectsWriter<W>,
    mut parse: impl FnMut(&Row<'_>) -> Result<T, Bad>,
) -> Result<(Vec<T>, RowCounts, Vec<MappedColumn>), LoadError> {
    let mut src = source::open(path, read)?;
    let headers = src.headers().to_vec();
    let (found, mapped) = resolve(path, &headers, fields, &BTreeMap::new())?;
    src.check_mapped(&crate::mapping::mapped_fields(fields, &found))?;
    let file = file_label(path);
    let mut counts = RowCounts::default();
    let mut out = Vec::new();
    let mut seen = rustc_hash::FxHashSet::default();
    let mut record = ByteRecord::new();
    while let Some(line) = src.read(&mut record)? {
        counts.rows_read += 1;
        if drop_duplicates && !seen.insert(record_hash(&record)) {
            counts.duplicates += 1;
            continue;
        }
        if let Some(u) = src.unclosed_quote() {
            counts.rejected += 1;
            *counts
                .rejected_by_reason
                .entry(RejectReason::UnclosedQuote)
                .or_default() += 1;
            rejects.write(&Reject {
                file: &file,
                line,
                reason: RejectReason::UnclosedQuote,
                column: headers.get(u.field).map_or("", String::as_str),
                value: record.get(u.field).unwrap_or(b""),
                message: &crate::quotes::unclosed_quote_message(),
                row: &record,
            })?;
            continue;
        }
        let parsed = if let Some(message) = long_row(&record, headers.len()) {
            Err((RejectReason::LongRow, usize::MAX, message))
        } else {
            parse(&Row {
                record: &record,
                found: &found,
            })
        };
        match parsed {
            Ok(item) => {
                counts.accepted += 1;
                out.push(item);
            }
            Err((reason, k, message)) => {
                counts.rejected += 1;
                *counts.rejected_by_reason.entry(reason).or_default() += 1;
                let col = found.get(k).copied().flatten();
                rejects.write(&Reject {
                    file: &file,
                    line,
                    reason,
                    column: col.map_or(fields.get(k).map_or("", |f| f.name), |c| {
                        headers[c].as_str()
                    }),
                    value: col.and_then(|c| record.get(c)).unwrap_or(b""),
                    message: &message,
                    row: &record,
                })?;
            }
        }
    }
    counts.blank_rows = src.blank_rows();
    Ok((out, counts, mapped))
}
