//! Manual tier overrides: an account manager's placement of a customer in a final tier, with
//! a reason, an author and an optional expiry date.
//!
//! Columns (English or Chinese headers): `customer_id`, `tier`, `reason`, and optionally
//! `set_by`, `set_on` and `expires` (the last day the override applies). Rows without a
//! customer id or a tier, or with a date that cannot be read, are rejected with the reason.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use csv::ByteRecord;
use stratum_core::scheme::Override;

use crate::mapping::{CUSTOMER_ID, FieldSpec, MappedColumn, resolve};
use crate::rejects::{MappedRow, RejectReason, RejectsWriter, file_label};
use crate::source::{self, ReadOptions};
use crate::transactions::{LoadError, RowCounts};
use crate::values::{DATE_FORMATS, parse_date};

/// The fields of an overrides file, in order.
pub const OVERRIDE_FIELDS: [FieldSpec; 6] = [
    CUSTOMER_ID,
    FieldSpec {
        name: "tier",
        aliases: &[
            "tier",
            "final_tier",
            "override_tier",
            "等级",
            "客户等级",
            "调整等级",
        ],
        required: true,
    },
    FieldSpec {
        name: "reason",
        aliases: &["reason", "note", "comment", "原因", "理由", "备注", "说明"],
        required: false,
    },
    FieldSpec {
        name: "set_by",
        aliases: &[
            "set_by",
            "by",
            "author",
            "manager",
            "操作人",
            "设置人",
            "客户经理",
        ],
        required: false,
    },
    FieldSpec {
        name: "set_on",
        aliases: &["set_on", "date", "set_date", "设置日期", "调整日期", "日期"],
        required: false,
    },
    FieldSpec {
        name: "expires",
        aliases: &[
            "expires",
            "expiry",
            "expires_on",
            "valid_until",
            "到期日",
            "有效期至",
            "失效日期",
        ],
        required: false,
    },
];

/// Reads an overrides file; bad rows go to `rejects`.
pub fn load_overrides<W: Write>(
    path: &Path,
    read: &ReadOptions,
    rejects: &mut RejectsWriter<W>,
) -> Result<(Vec<Override>, RowCounts, Vec<MappedColumn>), LoadError> {
    let mut src = source::open(path, read)?;
    let headers = src.headers().to_vec();
    let (found, mapped) = resolve(path, &headers, &OVERRIDE_FIELDS, &BTreeMap::new())?;
    let file = file_label(path);
    let mut counts = RowCounts::default();
    let mut out = Vec::new();
    let mut record = ByteRecord::new();
    while let Some(line) = src.read(&mut record)? {
        counts.rows_read += 1;
        let field = |k: usize| -> String {
            found[k]
                .and_then(|c| record.get(c))
                .map(|b| String::from_utf8_lossy(b).trim().to_string())
                .unwrap_or_default()
        };
        let date = |k: usize| -> Result<Option<chrono::NaiveDate>, (usize, String)> {
            let text = field(k);
            if text.is_empty() {
                return Ok(None);
            }
            parse_date(text.as_bytes()).map(Some).ok_or_else(|| {
                (
                    k,
                    format!("`{text}` is not a date; expected {DATE_FORMATS}"),
                )
            })
        };
        let problem = if field(0).is_empty() {
            Some((
                RejectReason::MissingCustomerId,
                0,
                "customer id is empty".to_string(),
            ))
        } else if field(1).is_empty() {
            Some((RejectReason::MissingTier, 1, "tier is empty".to_string()))
        } else {
            match (date(4), date(5)) {
                (Err((k, m)), _) | (_, Err((k, m))) => Some((RejectReason::BadDate, k, m)),
                (Ok(set_on), Ok(expires)) => {
                    out.push(Override {
                        customer_id: field(0),
                        tier: field(1),
                        reason: field(2),
                        set_by: field(3),
                        set_on,
                        expires,
                    });
                    None
                }
            }
        };
        match problem {
            None => counts.accepted += 1,
            Some((reason, k, message)) => {
                let row = MappedRow {
                    file: &file,
                    line,
                    headers: &headers,
                    fields: &OVERRIDE_FIELDS,
                    found: &found,
                    record: &record,
                };
                row.reject(rejects, &mut counts, reason, k, &message)?;
            }
        }
    }
    counts.blank_rows = src.blank_rows();
    Ok((out, counts, mapped))
}
