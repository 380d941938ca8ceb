//! Reading an opportunities file (商机) for the sales funnel: one row per opportunity at its
//! current stage, or one row per stage it entered (a stage history), with the id, customer,
//! owner, stage, the day the stage was entered, created, amount, status (open/won/lost), lost
//! reason and close day. Read through the same encoding detection, column mapping and cleaning
//! as the other inputs: exact duplicate rows are dropped and counted; a row without an
//! opportunity id, with a stage that is not configured, a status that is not open, won or lost,
//! an unreadable date or amount, or no date at all, is rejected with the reason.

use std::io::Write;
use std::path::Path;

use stratum_core::funnel::{CheckedFunnelParams, OpportunityLog, OpportunityRow, Status};

use crate::ingest::{LoadError, RowCounts};
use crate::mapped::{Bad, Row, read_mapped};
use crate::mapping::{CUSTOMER_ID, FieldSpec, MappedColumn};
use crate::rejects::{RejectReason, RejectsWriter};
use crate::source::ReadOptions;
use crate::values::{AmountError, parse_amount};

/// The fields of an opportunities file, in order.
pub const OPPORTUNITY_FIELDS: [FieldSpec; 10] = [
    FieldSpec {
        name: "opportunity_id",
        aliases: &[
            "opportunity_id",
            "opportunity",
            "deal_id",
            "deal",
            "opp_id",
            "商机编号",
            "商机id",
            "商机",
            "机会编号",
            "项目编号",
        ],
        required: true,
    },
    CUSTOMER_ID,
    FieldSpec {
        name: "owner",
        aliases: &[
            "owner",
            "account_manager",
            "sales_rep",
            "rep",
            "负责人",
            "销售",
            "客户经理",
            "归属人",
        ],
        required: false,
    },
    FieldSpec {
        name: "stage",
        aliases: &["stage", "deal_stage", "阶段", "销售阶段", "商机阶段"],
        required: false,
    },
    FieldSpec {
        name: "stage_date",
        aliases: &[
            "stage_date",
            "entered",
            "entered_at",
            "stage_entered",
            "进入日期",
            "阶段日期",
            "进入阶段日期",
        ],
        required: false,
    },
    FieldSpec {
        name: "created",
        aliases: &[
            "created",
            "created_at",
            "create_date",
            "created_date",
            "创建日期",
            "创建时间",
        ],
        required: false,
    },
    FieldSpec {
        name: "amount",
        aliases: &[
            "amount",
            "value",
            "deal_amount",
            "金额",
            "商机金额",
            "预计金额",
        ],
        required: false,
    },
    FieldSpec {
        name: "status",
        aliases: &["status", "state", "outcome", "状态", "商机状态", "结果"],
        required: false,
    },
    FieldSpec {
        name: "lost_reason",
        aliases: &[
            "lost_reason",
            "loss_reason",
            "输单原因",
            "丢单原因",
            "失败原因",
        ],
        required: false,
    },
    FieldSpec {
        name: "closed",
        aliases: &[
            "closed",
            "closed_at",
            "close_date",
            "closed_date",
            "关闭日期",
            "成交日期",
            "结束日期",
        ],
        required: false,
    },
];

/// Reads an opportunities file with the funnel's stages; bad rows go to `rejects`.
pub fn load_opportunities<W: Write>(
    path: &Path,
    read: &ReadOptions,
    params: &CheckedFunnelParams,
    rejects: &mut RejectsWriter<W>,
) -> Result<(OpportunityLog, RowCounts, Vec<MappedColumn>), LoadError> {
    let (rows, counts, mapped) =
        read_mapped(path, read, &OPPORTUNITY_FIELDS, true, rejects, |row| {
            opportunity(row, params, read)
        })?;
    let mut log = OpportunityLog::new();
    for r in rows {
        log.add(r);
    }
    Ok((log, counts, mapped))
}

/// One opportunities row.
fn opportunity(
    row: &Row<'_>,
    params: &CheckedFunnelParams,
    read: &ReadOptions,
) -> Result<OpportunityRow, Bad> {
    let id = row.text(0);
    if id.is_empty() {
        return Err((
            RejectReason::MissingId,
            0,
            "opportunity id is empty".to_string(),
        ));
    }
    for k in [0, 1, 2] {
        if row.text(k).contains('\u{FFFD}') {
            return Err((
                RejectReason::InvalidEncoding,
                k,
                "the field holds bytes that are not valid in the file's encoding".to_string(),
            ));
        }
    }
    let stage_text = row.text(3);
    let mut status_text = row.text(7);
    let stage = if stage_text.is_empty() {
        None
    } else if let Some(s) = params.stage_of(&stage_text) {
        Some(s)
    } else if Status::from_text(&stage_text).is_some() && status_text.is_empty() {
        // a CRM that writes won/lost as the stage
        status_text = stage_text.clone();
        None
    } else {
        let names: Vec<&str> = params.stages().iter().map(|s| s.key.as_str()).collect();
        return Err((
            RejectReason::UnknownStage,
            3,
            format!(
                "`{stage_text}` is not a stage of the funnel; the stages are {} (by key or name, [funnel] in the config), or won/lost",
                names.join(", ")
            ),
        ));
    };
    let status = if status_text.is_empty() {
        None
    } else {
        Some(Status::from_text(&status_text).ok_or_else(|| {
            (
                RejectReason::BadStatus,
                7,
                format!("`{status_text}` is not a status; expected open, won or lost (进行中、赢单、输单)"),
            )
        })?)
    };
    let entered = row.date(4)?;
    let created = row.date(5)?;
    let closed = row.date(9)?;
    if entered.is_none() && created.is_none() {
        return Err((
            RejectReason::MissingDate,
            5,
            "the row has neither a created day nor a stage day".to_string(),
        ));
    }
    let amount_text = row.text(6);
    let amount = if amount_text.is_empty() {
        None
    } else {
        Some(
            parse_amount(amount_text.as_bytes(), read.decimal).map_err(|e| {
                (
                    RejectReason::BadAmount,
                    6,
                    match e {
                        AmountError::Malformed => format!("`{amount_text}` is not an amount"),
                        AmountError::OutOfRange => {
                            format!("`{amount_text}` is beyond the largest amount read")
                        }
                    },
                )
            })?,
        )
    };
    Ok(OpportunityRow {
        id,
        customer_id: row.text(1),
        owner: row.text(2),
        stage,
        entered,
        created,
        amount,
        status,
        lost_reason: row.text(8),
        closed,
    })
}
