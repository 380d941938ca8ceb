//! Column mapping: which header holds which field.
//!
//! Exports name their columns in many ways (`customer_id`, `客户编号`, `会员ID`, …). Each field has
//! a list of known names; a header matches when it equals one of them after normalisation
//! (case, spaces, `_`, `-`, `.` and a trailing unit in brackets such as `金额(元)` are ignored).
//! The first name in a field's list that some header matches wins, so `实付金额` (amount paid)
//! is preferred to `订单金额` (order amount) when a file has both. An explicit mapping
//! (`--map amount=应收金额`, or `[columns]` in a config file) always wins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::source::MappedField;

/// A field Stratum reads from an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// The field's name, used in `--map` and in messages.
    pub name: &'static str,
    /// Known header names, most preferred first.
    pub aliases: &'static [&'static str],
    /// Whether the file is unusable without it.
    pub required: bool,
}

/// The customer id field (shared by every input).
pub const CUSTOMER_ID: FieldSpec = FieldSpec {
    name: "customer_id",
    aliases: &[
        "customer_id",
        "customerid",
        "customer_no",
        "customer_code",
        "customer",
        "cust_id",
        "client_id",
        "member_id",
        "user_id",
        "account_id",
        "客户编号",
        "客户id",
        "客户代码",
        "客户编码",
        "客户号",
        "会员id",
        "会员编号",
        "会员号",
        "用户id",
        "用户编号",
        "买家id",
    ],
    required: true,
};

/// The fields of a transaction file, in [`TransactionColumns`] order.
pub const TRANSACTION_FIELDS: [FieldSpec; 4] = [
    CUSTOMER_ID,
    FieldSpec {
        name: "order_id",
        aliases: &[
            "order_id",
            "orderid",
            "order_no",
            "order_number",
            "invoice_id",
            "invoice_no",
            "invoice",
            "transaction_id",
            "订单号",
            "订单编号",
            "订单id",
            "单号",
            "单据编号",
            "交易号",
            "交易编号",
            "发票号",
        ],
        required: false,
    },
    FieldSpec {
        name: "order_date",
        aliases: &[
            "order_date",
            "orderdate",
            "order_time",
            "purchase_date",
            "invoice_date",
            "transaction_date",
            "date",
            "下单时间",
            "订单日期",
            "下单日期",
            "交易日期",
            "交易时间",
            "成交日期",
            "成交时间",
            "付款时间",
            "支付时间",
            "购买日期",
            "日期",
        ],
        required: true,
    },
    FieldSpec {
        name: "amount",
        aliases: &[
            "amount",
            "net_amount",
            "order_amount",
            "sales",
            "revenue",
            "total",
            "value",
            "实付金额",
            "实收金额",
            "支付金额",
            "付款金额",
            "成交金额",
            "订单金额",
            "交易金额",
            "销售额",
            "销售金额",
            "金额",
        ],
        required: true,
    },
];

/// Where each transaction field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionColumns {
    /// The customer id column.
    pub customer_id: usize,
    /// The order id column, if the file has one.
    pub order_id: Option<usize>,
    /// The order date column.
    pub order_date: usize,
    /// The amount column; `None` when the amount is computed (`--amount EXPR`).
    pub amount: Option<usize>,
}

impl TransactionColumns {
    /// The mapped columns, for [`crate::source::RecordSource::check_mapped`].
    pub fn mapped_fields(&self) -> Vec<MappedField> {
        // in the order of `TRANSACTION_FIELDS`, as `transaction_columns` found them
        let found = [
            Some(self.customer_id),
            self.order_id,
            Some(self.order_date),
            self.amount,
        ];
        mapped_fields(&TRANSACTION_FIELDS, &found)
    }
}

/// The columns `found` for `fields` (as [`resolve`] returns them), for
/// [`crate::source::RecordSource::check_mapped`].
pub fn mapped_fields(fields: &[FieldSpec], found: &[Option<usize>]) -> Vec<MappedField> {
    fields
        .iter()
        .zip(found)
        .filter_map(|(f, c)| {
            c.map(|column| MappedField {
                field: f.name,
                column,
                required: f.required,
            })
        })
        .collect()
}

/// A field that could not be mapped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MappingError {
    /// A required field matches no header.
    #[error(
        "column `{field}` not found in `{path}`; headers are: {headers}; names tried: {tried} (name the column with --map {field}=HEADER)",
        path = path.display()
    )]
    Missing {
        /// The file.
        path: PathBuf,
        /// The field.
        field: &'static str,
        /// The headers found, comma separated.
        headers: String,
        /// The names tried, comma separated.
        tried: String,
    },
    /// An explicit mapping names a header the file does not have.
    #[error(
        "mapping {field}={header} names a column that `{path}` does not have; headers are: {headers}",
        path = path.display()
    )]
    NoSuchHeader {
        /// The file.
        path: PathBuf,
        /// The field.
        field: String,
        /// The header named.
        header: String,
        /// The headers found, comma separated.
        headers: String,
    },
    /// The header a field is read from appears more than once, so which column holds the
    /// field is a guess.
    #[error(
        "{field} would be read from `{header}`, but `{path}` has {count} columns named so (columns {positions}); rename one in the file or map another with --map {field}=HEADER",
        path = path.display()
    )]
    DuplicateHeader {
        /// The file.
        path: PathBuf,
        /// The field.
        field: &'static str,
        /// The header.
        header: String,
        /// How many columns have it.
        count: usize,
        /// Their positions (1-based), comma separated.
        positions: String,
    },
    /// Two fields would be read from the same column.
    #[error(
        "column `{header}` of `{path}` is mapped to both {first} and {second}; map each field to its own column",
        path = path.display()
    )]
    SameColumn {
        /// The file.
        path: PathBuf,
        /// The column's header.
        header: String,
        /// The first field.
        first: &'static str,
        /// The second field.
        second: &'static str,
    },
    /// The amount is both computed by an expression and mapped to a column.
    #[error(
        "the amount is computed (--amount) and mapped to column `{header}` too; give one of them"
    )]
    AmountTwice {
        /// The column it is mapped to.
        header: String,
    },
    /// An explicit mapping names a field Stratum does not know.
    #[error("unknown field `{field}` in column mapping; fields are: {known}")]
    UnknownField {
        /// The field named.
        field: String,
        /// The known fields, comma separated.
        known: String,
    },
}

/// Normalises a header or alias for comparison.
pub fn normalize(header: &str) -> String {
    let mut h = header.trim();
    for open in ['(', '（', '[', '【'] {
        if let Some(p) = h.find(open)
            && p > 0
        {
            h = h[..p].trim_end();
        }
    }
    h.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '.' | '\u{3000}'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// How each field was mapped, for the report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MappedColumn {
    /// The field.
    pub field: &'static str,
    /// The header it was read from, if any.
    pub header: Option<String>,
    /// Whether the mapping was given explicitly.
    pub explicit: bool,
}

/// The mapping as a line: `customer_id←客户编号, amount←金额` (`-` for a field not found).
pub fn shown_mapping(columns: &[MappedColumn]) -> String {
    columns
        .iter()
        .map(|m| format!("{}←{}", m.field, m.header.as_deref().unwrap_or("-")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Finds each of `fields` among `headers`. `explicit` maps field names to header names.
pub fn resolve(
    path: &Path,
    headers: &[String],
    fields: &[FieldSpec],
    explicit: &BTreeMap<String, String>,
) -> Result<(Vec<Option<usize>>, Vec<MappedColumn>), MappingError> {
    let joined = || headers.join(", ");
    for key in explicit.keys() {
        if !fields.iter().any(|f| f.name == key) {
            return Err(MappingError::UnknownField {
                field: key.clone(),
                known: fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", "),
            });
        }
    }
    let normalized: Vec<String> = headers.iter().map(|h| normalize(h)).collect();
    let mut found = Vec::with_capacity(fields.len());
    let mut report = Vec::with_capacity(fields.len());
    for spec in fields {
        let index = if let Some(want) = explicit.get(spec.name) {
            let exact = headers.iter().position(|h| h == want.trim());
            let loose = || normalized.iter().position(|h| *h == normalize(want));
            Some(
                exact
                    .or_else(loose)
                    .ok_or_else(|| MappingError::NoSuchHeader {
                        path: path.to_path_buf(),
                        field: spec.name.to_string(),
                        header: want.clone(),
                        headers: joined(),
                    })?,
            )
        } else {
            spec.aliases.iter().find_map(|alias| {
                let a = normalize(alias);
                normalized.iter().position(|h| *h == a)
            })
        };
        if index.is_none() && spec.required {
            return Err(MappingError::Missing {
                path: path.to_path_buf(),
                field: spec.name,
                headers: joined(),
                tried: spec.aliases.join(", "),
            });
        }
        if let Some(i) = index {
            // an exact mapping is ambiguous only with an identical header; a matched alias
            // with any header that reads the same
            let same: Vec<usize> = if explicit.contains_key(spec.name) {
                (0..headers.len())
                    .filter(|&j| headers[j] == headers[i])
                    .collect()
            } else {
                (0..headers.len())
                    .filter(|&j| normalized[j] == normalized[i])
                    .collect()
            };
            if same.len() > 1 {
                return Err(MappingError::DuplicateHeader {
                    path: path.to_path_buf(),
                    field: spec.name,
                    header: headers[i].clone(),
                    count: same.len(),
                    positions: same
                        .iter()
                        .map(|j| (j + 1).to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            if let Some(k) = found.iter().position(|f| *f == Some(i)) {
                return Err(MappingError::SameColumn {
                    path: path.to_path_buf(),
                    header: headers[i].clone(),
                    first: fields[k].name,
                    second: spec.name,
                });
            }
        }
        report.push(MappedColumn {
            field: spec.name,
            header: index.map(|i| headers[i].clone()),
            explicit: explicit.contains_key(spec.name),
        });
        found.push(index);
    }
    Ok((found, report))
}

/// Maps the transaction fields; with `computed_amount` (`--amount EXPR`), the amount is not
/// read from a column.
pub fn transaction_columns(
    path: &Path,
    headers: &[String],
    explicit: &BTreeMap<String, String>,
    computed_amount: bool,
) -> Result<(TransactionColumns, Vec<MappedColumn>), MappingError> {
    let fields = if computed_amount {
        if let Some(header) = explicit.get("amount") {
            return Err(MappingError::AmountTwice {
                header: header.clone(),
            });
        }
        &TRANSACTION_FIELDS[..3]
    } else {
        &TRANSACTION_FIELDS[..]
    };
    let (found, report) = resolve(path, headers, fields, explicit)?;
    // `resolve` has checked the required fields.
    let columns = TransactionColumns {
        customer_id: found[0].unwrap_or_default(),
        order_id: found[1],
        order_date: found[2].unwrap_or_default(),
        amount: found.get(3).copied().flatten(),
    };
    Ok((columns, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn chinese_and_english_headers_are_recognised() {
        let (c, _) = transaction_columns(
            Path::new("x.csv"),
            &headers(&["订单号", "客户编号", "下单时间", "实付金额(元)"]),
            &BTreeMap::new(),
            false,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c,
            TransactionColumns {
                customer_id: 1,
                order_id: Some(0),
                order_date: 2,
                amount: Some(3)
            }
        );
        let (c, _) = transaction_columns(
            Path::new("x.csv"),
            &headers(&["Customer ID", "Order Date", "Amount"]),
            &BTreeMap::new(),
            false,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.order_id, None);
        assert_eq!(c.amount, Some(2));
    }

    #[test]
    fn the_preferred_alias_wins_over_a_later_one() {
        let (c, _) = transaction_columns(
            Path::new("x.csv"),
            &headers(&["会员ID", "日期", "订单金额", "实付金额"]),
            &BTreeMap::new(),
            false,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.amount, Some(3));
    }

    #[test]
    fn a_duplicated_header_or_a_column_mapped_twice_is_an_error() {
        let none = BTreeMap::new();
        let h = headers(&["客户编号", "日期", "金额", "金额"]);
        let err = transaction_columns(Path::new("x.csv"), &h, &none, false).map(|_| ());
        assert!(
            matches!(&err, Err(MappingError::DuplicateHeader { field: "amount", count: 2, positions, .. }) if positions == "3, 4"),
            "{err:?}"
        );
        // headers that read the same to the alias matcher are as ambiguous
        let h = headers(&["客户编号", "日期", "金额", "金额（元）"]);
        let err = transaction_columns(Path::new("x.csv"), &h, &none, false).map(|_| ());
        assert!(
            matches!(err, Err(MappingError::DuplicateHeader { .. })),
            "{err:?}"
        );
        // an exact mapping picks one of them
        let mut map = BTreeMap::new();
        map.insert("amount".to_string(), "金额（元）".to_string());
        let (c, _) = transaction_columns(Path::new("x.csv"), &h, &map, false)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.amount, Some(3));
        // an unused duplicate does not matter
        let h = headers(&["客户编号", "日期", "金额", "备注", "备注"]);
        assert!(transaction_columns(Path::new("x.csv"), &h, &none, false).is_ok());
        let mut map = BTreeMap::new();
        map.insert("order_id".to_string(), "客户编号".to_string());
        let err = transaction_columns(Path::new("x.csv"), &h, &map, false).map(|_| ());
        assert!(
            matches!(
                err,
                Err(MappingError::SameColumn {
                    first: "customer_id",
                    second: "order_id",
                    ..
                })
            ),
            "{err:?}"
        );
    }

    #[test]
    fn an_explicit_mapping_wins_and_is_checked() {
        let mut map = BTreeMap::new();
        map.insert("amount".to_string(), "应收".to_string());
        let h = headers(&["客户编号", "日期", "金额", "应收"]);
        let (c, report) = transaction_columns(Path::new("x.csv"), &h, &map, false)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.amount, Some(3));
        assert!(report[3].explicit);
        map.insert("amount".to_string(), "不存在".to_string());
        let err = transaction_columns(Path::new("x.csv"), &h, &map, false).map(|_| ());
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("mapping amount=不存在 names a column that `x.csv` does not have; headers are: 客户编号, 日期, 金额, 应收".to_string())
        );
    }
}
