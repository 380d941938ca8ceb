//! Customer master data: one row per customer with any attributes (name, industry, region,
//! account manager, …), joined to the computed features by customer id.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use csv::ByteRecord;
use rustc_hash::FxHashMap;

use crate::fields::record_hash;
use crate::ingest::{LoadError, RowCounts};
use crate::mapping::{CUSTOMER_ID, MappedColumn, resolve};
use crate::rejects::{Reject, RejectReason, RejectsWriter, file_label};
use crate::source::{self, ReadOptions, SourceInfo};

/// The customer master table.
#[derive(Debug, Clone, Default)]
pub struct CustomerTable {
    /// Attribute names (every header but the customer id), in file order.
    pub attributes: Vec<String>,
    /// Attribute values by customer id.
    pub rows: FxHashMap<String, Vec<String>>,
}

impl CustomerTable {
    /// The attribute values of `customer_id`, if it is in the table.
    pub fn get(&self, customer_id: &str) -> Option<&[String]> {
        self.rows.get(customer_id).map(Vec::as_slice)
    }
}

/// The quality of a customer master file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MasterQuality {
    /// The file and what was detected about it.
    pub source: SourceInfo,
    /// How the customer id was mapped.
    pub columns: Vec<MappedColumn>,
    /// Row accounting.
    #[serde(flatten)]
    pub counts: RowCounts,
}

/// Reads a customer master file. Exact duplicate rows are dropped; a row with an empty id, or
/// repeating an id with different attributes, is rejected (the first row of an id wins).
///
/// The id column is `id_header` when given; else `fallback_header` (the transaction file's
/// explicit customer id header) when the file has it; else the first known customer id name.
pub fn load_customers<W: Write>(
    path: &Path,
    read: &ReadOptions,
    id_header: Option<&str>,
    fallback_header: Option<&str>,
    rejects: &mut RejectsWriter<W>,
) -> Result<(CustomerTable, MasterQuality), LoadError> {
    let mut src = source::open(path, read)?;
    let headers = src.headers().to_vec();
    let fallback = fallback_header.filter(|h| headers.iter().any(|x| x == h));
    let explicit: BTreeMap<String, String> = id_header
        .or(fallback)
        .map(|h| (CUSTOMER_ID.name.to_string(), h.to_string()))
        .into_iter()
        .collect();
    let (found, columns) = resolve(path, &headers, &[CUSTOMER_ID], &explicit)?;
    let id_col = found[0].unwrap_or_default();
    src.check_mapped(&crate::mapping::mapped_fields(&[CUSTOMER_ID], &found))?;
    let file = file_label(path);
    let mut counts = RowCounts::default();
    let mut table = CustomerTable {
        attributes: headers
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != id_col)
            .map(|(_, h)| h.clone())
            .collect(),
        rows: FxHashMap::default(),
    };
    let mut seen = rustc_hash::FxHashSet::default();
    let mut record = ByteRecord::new();
    while let Some(line) = src.read(&mut record)? {
        counts.rows_read += 1;
        if !seen.insert(record_hash(&record)) {
            counts.duplicates += 1;
            continue;
        }
        let raw_id = record.get(id_col).unwrap_or(b"");
        let id = String::from_utf8_lossy(raw_id).trim().to_string();
        let problem = if src.unclosed_quote().is_some() {
            Some((
                RejectReason::UnclosedQuote,
                crate::quotes::unclosed_quote_message(),
            ))
        } else if id.contains('\u{FFFD}') {
            Some((
                RejectReason::InvalidEncoding,
                "customer id holds bytes that are not valid in the file's encoding".to_string(),
            ))
        } else if let Some(message) = crate::rejects::long_row(&record, headers.len()) {
            Some((RejectReason::LongRow, message))
        } else if id.is_empty() {
            Some((
                RejectReason::MissingCustomerId,
                "customer id is empty".to_string(),
            ))
        } else if table.rows.contains_key(&id) {
            Some((
                RejectReason::DuplicateCustomerId,
                format!(
                    "customer `{id}` already appears earlier in the file; the first row is used"
                ),
            ))
        } else {
            None
        };
        if let Some((reason, message)) = problem {
            *counts.rejected_by_reason.entry(reason).or_default() += 1;
            counts.rejected += 1;
            rejects.write(&Reject {
                file: &file,
                line,
                reason,
                column: &headers[id_col],
                value: raw_id,
                message: &message,
                row: &record,
            })?;
            continue;
        }
        counts.accepted += 1;
        let values = (0..headers.len())
            .filter(|i| *i != id_col)
            .map(|i| {
                String::from_utf8_lossy(record.get(i).unwrap_or(b""))
                    .trim()
                    .to_string()
            })
            .collect();
        table.rows.insert(id, values);
    }
    counts.blank_rows = src.blank_rows();
    let quality = MasterQuality {
        source: src.info().clone(),
        columns,
        counts,
    };
    Ok((table, quality))
}

/// Header names of a signup or contract start date, most preferred first (matched after
/// [`crate::mapping::normalize`]).
pub const SIGNUP_ALIASES: &[&str] = &[
    "signup_date",
    "signup",
    "registration_date",
    "register_date",
    "contract_date",
    "contract_start",
    "first_contract_date",
    "customer_since",
    "created_at",
    "注册日期",
    "注册时间",
    "签约日期",
    "合作开始日期",
    "开户日期",
    "建档日期",
];

/// Header names of the account manager.
pub const MANAGER_ALIASES: &[&str] = &[
    "account_manager",
    "manager",
    "owner",
    "sales_rep",
    "salesperson",
    "客户经理",
    "负责人",
    "销售代表",
    "业务员",
    "销售",
];

/// Header names of the customer's name.
pub const NAME_ALIASES: &[&str] = &[
    "name",
    "customer_name",
    "company",
    "company_name",
    "客户名称",
    "客户名",
    "公司名称",
    "名称",
];

impl CustomerTable {
    /// The attribute that is the first of `aliases` found among the attribute names.
    pub fn role(&self, aliases: &[&str]) -> Option<usize> {
        let names: Vec<String> = self
            .attributes
            .iter()
            .map(|a| crate::mapping::normalize(a))
            .collect();
        aliases.iter().find_map(|alias| {
            let alias = crate::mapping::normalize(alias);
            names.iter().position(|n| *n == alias)
        })
    }

    /// The value of attribute `k` for `customer_id`, if present and not blank.
    pub fn attribute(&self, customer_id: &str, k: usize) -> Option<&str> {
        self.get(customer_id)
            .and_then(|v| v.get(k))
            .map(|s| s.as_str())
            .filter(|s| !s.is_empty())
    }
}

/// The master table as the attributes of a scheme's profile; the signup date is the first
/// column named like one ([`SIGNUP_ALIASES`]).
#[derive(Debug)]
pub struct MasterAttributes<'a> {
    table: &'a CustomerTable,
    signup: Option<usize>,
    numeric: Vec<bool>,
}

impl<'a> MasterAttributes<'a> {
    /// Wraps `table`.
    pub fn new(table: &'a CustomerTable) -> Self {
        // a number column: every non-empty value over all rows is a number, and one is there
        let numeric = (0..table.attributes.len())
            .map(|k| {
                let mut any = false;
                let all = table.rows.values().all(|row| {
                    match row.get(k).map(|v| v.trim()).filter(|v| !v.is_empty()) {
                        None => true,
                        Some(v) => {
                            any = true;
                            stratum_core::scheme::attribute_number(v).is_some()
                        }
                    }
                });
                all && any
            })
            .collect();
        MasterAttributes {
            signup: table.role(SIGNUP_ALIASES),
            table,
            numeric,
        }
    }

    /// Customers whose signup date is filled in but cannot be read (their tenure counts from
    /// the first order).
    pub fn unreadable_signups(&self) -> usize {
        let Some(k) = self.signup else { return 0 };
        self.table
            .rows
            .values()
            .filter_map(|row| row.get(k).map(|v| v.trim()).filter(|v| !v.is_empty()))
            .filter(|v| crate::values::parse_date(v.as_bytes()).is_none())
            .count()
    }
}

impl stratum_core::scheme::Attributes for MasterAttributes<'_> {
    fn names(&self) -> &[String] {
        &self.table.attributes
    }

    fn values(&self, customer_id: &str) -> Option<&[String]> {
        self.table.get(customer_id)
    }

    fn signup(&self, customer_id: &str) -> Option<chrono::NaiveDate> {
        let k = self.signup?;
        crate::values::parse_date(self.table.attribute(customer_id, k)?.as_bytes())
    }

    fn is_number(&self, k: usize) -> bool {
        self.numeric.get(k).copied().unwrap_or(false)
    }
}
