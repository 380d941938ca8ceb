//! Manual tier overrides: an account manager's placement of a customer in a final tier, with
//! a reason, an author and an optional expiry date.
//!
//! Columns (English or Chinese headers): `customer_id`, `tier`, `reason`, and optionally
//! `set_by`, `set_on` and `expires` (the last day the override applies). Rows without a
//! customer id or a tier, or with a date that cannot be read, are rejected with the reason.

use std::io::Write;
use std::path::Path;

use stratum_core::scheme::Override;

use crate::ingest::{LoadError, RowCounts};
use crate::mapped::read_mapped;
use crate::mapping::{CUSTOMER_ID, FieldSpec, MappedColumn};
use crate::rejects::{RejectReason, RejectsWriter};
use crate::source::ReadOptions;

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
    read_mapped(path, read, &OVERRIDE_FIELDS, false, rejects, |row| {
        if row.text(0).is_empty() {
            return Err((
                RejectReason::MissingCustomerId,
                0,
                "customer id is empty".to_string(),
            ));
        }
        if row.text(1).is_empty() {
            return Err((RejectReason::MissingTier, 1, "tier is empty".to_string()));
        }
        let set_on = row.date(4)?;
        let expires = row.date(5)?;
        Ok(Override {
            customer_id: row.text(0),
            tier: row.text(1),
            reason: row.text(2),
            set_by: row.text(3),
            set_on,
            expires,
        })
    })
}
