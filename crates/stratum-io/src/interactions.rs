//! Reading an interactions file (visits, calls, tickets, complaints, surveys): one row per
//! interaction with the customer id, the date, the type and optional satisfaction (1–5) and
//! NPS (0–10) answers. Read through the same encoding detection, column mapping and cleaning
//! as the other inputs: exact duplicate rows are dropped and counted; rows without a customer
//! id or a readable date, or with an answer out of its scale, are rejected with the reason.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use csv::ByteRecord;
use stratum_core::interactions::{Interaction, InteractionKind, InteractionLog};

use crate::mapping::{CUSTOMER_ID, FieldSpec, MappedColumn, resolve};
use crate::rejects::{MappedRow, RejectReason, RejectsWriter, file_label};
use crate::source::{self, ReadOptions};
use crate::transactions::{LoadError, RowCounts, record_hash};
use crate::values::{DATE_FORMATS, parse_date};

/// The fields of an interactions file, in order.
pub const INTERACTION_FIELDS: [FieldSpec; 5] = [
    CUSTOMER_ID,
    FieldSpec {
        name: "date",
        aliases: &[
            "date",
            "interaction_date",
            "contact_date",
            "created_at",
            "time",
            "日期",
            "互动日期",
            "联系日期",
            "时间",
            "创建时间",
        ],
        required: true,
    },
    FieldSpec {
        name: "type",
        aliases: &[
            "type",
            "interaction_type",
            "kind",
            "event",
            "类型",
            "互动类型",
            "事件类型",
            "联系方式",
        ],
        required: false,
    },
    FieldSpec {
        name: "satisfaction",
        aliases: &["satisfaction", "csat", "满意度", "满意度评分", "评分"],
        required: false,
    },
    FieldSpec {
        name: "nps",
        aliases: &[
            "nps",
            "nps_score",
            "recommend",
            "推荐度",
            "推荐意愿",
            "净推荐值",
        ],
        required: false,
    },
];

/// Reads an interactions file; bad rows go to `rejects`.
pub fn load_interactions<W: Write>(
    path: &Path,
    read: &ReadOptions,
    rejects: &mut RejectsWriter<W>,
) -> Result<(InteractionLog, RowCounts, Vec<MappedColumn>), LoadError> {
    let mut src = source::open(path, read)?;
    let headers = src.headers().to_vec();
    let (found, mapped) = resolve(path, &headers, &INTERACTION_FIELDS, &BTreeMap::new())?;
    let file = file_label(path);
    let mut counts = RowCounts::default();
    let mut log = InteractionLog::new();
    let mut seen = rustc_hash::FxHashSet::default();
    let mut record = ByteRecord::new();
    while let Some(line) = src.read(&mut record)? {
        counts.rows_read += 1;
        if !seen.insert(record_hash(&record)) {
            counts.duplicates += 1;
            continue;
        }
        let field = |k: usize| -> String {
            found[k]
                .and_then(|c| record.get(c))
                .map(|b| String::from_utf8_lossy(b).trim().to_string())
                .unwrap_or_default()
        };
        let score = |k: usize, max: u8| -> Result<Option<u8>, (usize, String)> {
            let text = field(k);
            if text.is_empty() {
                return Ok(None);
            }
            let lo = if k == 3 { 1 } else { 0 };
            match text.parse::<f64>() {
                Ok(v) if v.fract() == 0.0 && (f64::from(lo)..=f64::from(max)).contains(&v) => {
                    Ok(Some(v as u8))
                }
                _ => Err((
                    k,
                    format!(
                        "`{text}` is not {} answer; expected a whole number from {lo} to {max}",
                        if k == 3 { "a satisfaction" } else { "an NPS" }
                    ),
                )),
            }
        };
        let id = field(0);
        let date_text = field(1);
        let problem = if id.is_empty() {
            Some((
                RejectReason::MissingCustomerId,
                0,
                "customer id is empty".to_string(),
            ))
        } else if id.contains('\u{FFFD}') {
            Some((
                RejectReason::BadEncoding,
                0,
                "customer id holds bytes that are not valid in the file's encoding".to_string(),
            ))
        } else if date_text.is_empty() {
            Some((RejectReason::MissingDate, 1, "date is empty".to_string()))
        } else {
            match (parse_date(date_text.as_bytes()), score(3, 5), score(4, 10)) {
                (None, _, _) => Some((
                    RejectReason::BadDate,
                    1,
                    format!("`{date_text}` is not a date; expected {DATE_FORMATS}"),
                )),
                (_, Err((k, m)), _) | (_, _, Err((k, m))) => Some((RejectReason::BadScore, k, m)),
                (Some(date), Ok(satisfaction), Ok(nps)) => {
                    log.add(
                        &id,
                        Interaction {
                            date,
                            kind: InteractionKind::from_text(&field(2)),
                            satisfaction,
                            nps,
                        },
                    );
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
                    fields: &INTERACTION_FIELDS,
                    found: &found,
                    record: &record,
                };
                row.reject(rejects, &mut counts, reason, k, &message)?;
            }
        }
    }
    counts.blank_rows = src.blank_rows();
    Ok((log, counts, mapped))
}
