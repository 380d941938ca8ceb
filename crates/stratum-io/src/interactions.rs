//! Reading an interactions file (visits, calls, tickets, complaints, surveys): one row per
//! interaction with the customer id, the date, the type and optional satisfaction (1–5) and
//! NPS (0–10) answers. Read through the same encoding detection, column mapping and cleaning
//! as the other inputs: exact duplicate rows are dropped and counted; rows without a customer
//! id or a readable date, or with an answer out of its scale, are rejected with the reason.

use std::io::Write;
use std::path::Path;

use stratum_core::interactions::{Interaction, InteractionKind, InteractionLog};

use crate::ingest::{LoadError, RowCounts};
use crate::mapped::{Bad, Row, read_mapped};
use crate::mapping::{CUSTOMER_ID, FieldSpec, MappedColumn};
use crate::rejects::{RejectReason, RejectsWriter};
use crate::source::ReadOptions;

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
    let (rows, counts, mapped) =
        read_mapped(path, read, &INTERACTION_FIELDS, true, rejects, interaction)?;
    let mut log = InteractionLog::new();
    for (id, i) in rows {
        log.add(&id, i);
    }
    Ok((log, counts, mapped))
}

/// One interactions row: the customer id and the interaction.
fn interaction(row: &Row<'_>) -> Result<(String, Interaction), Bad> {
    let score = |k: usize, lo: u8, max: u8| -> Result<Option<u8>, Bad> {
        let text = row.text(k);
        if text.is_empty() {
            return Ok(None);
        }
        match text.parse::<f64>() {
            Ok(v) if v.fract() == 0.0 && (f64::from(lo)..=f64::from(max)).contains(&v) => {
                Ok(Some(v as u8))
            }
            _ => Err((
                RejectReason::BadScore,
                k,
                format!(
                    "`{text}` is not {} answer; expected a whole number from {lo} to {max}",
                    if k == 3 { "a satisfaction" } else { "an NPS" }
                ),
            )),
        }
    };
    let id = row.text(0);
    if id.is_empty() {
        return Err((
            RejectReason::MissingCustomerId,
            0,
            "customer id is empty".to_string(),
        ));
    }
    if id.contains('\u{FFFD}') {
        return Err((
            RejectReason::InvalidEncoding,
            0,
            "customer id holds bytes that are not valid in the file's encoding".to_string(),
        ));
    }
    let Some(date) = row.date(1)? else {
        return Err((RejectReason::MissingDate, 1, "date is empty".to_string()));
    };
    let satisfaction = score(3, 1, 5)?;
    let nps = score(4, 0, 10)?;
    Ok((
        id,
        Interaction {
            date,
            kind: InteractionKind::from_text(&row.text(2)),
            satisfaction,
            nps,
        },
    ))
}
