//! Apache Parquet files, through the `parquet` crate's row reader.
//!
//! Values become text the value parsers understand: dates as `YYYY-MM-DD`, timestamps as ISO
//! datetimes in UTC, decimals and floats in plain notation. Line numbers are 1-based row
//! numbers plus one, so that row 1 of the data is "line 2" as in a CSV file with a header.
//!
//! The footer also says what no row can: which columns are nested (a struct, list or map has
//! no single value per row, and its text form would pass for an id) and, from the row
//! groups' statistics, which columns hold nothing but nulls. A mapped column of either kind
//! is refused by name before any row is read ([`RecordSource::check_mapped`]).

use std::fs::File;
use std::path::Path;

use csv::ByteRecord;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, reader::RowIter};

use parquet::basic::{ConvertedType, LogicalType, Repetition};
use parquet::file::metadata::ParquetMetaData;
use parquet::schema::types::Type;

use crate::record::{Format, MappedField, RecordSource, SourceError, SourceInfo};

/// A Parquet file read row by row.
pub struct ParquetSource {
    rows: RowIter<'static>,
    headers: Vec<String>,
    /// What the footer says of each top-level column.
    columns: Vec<ColumnFacts>,
    /// Rows the row groups announce.
    announced: u64,
    row: u64,
    total: u64,
    info: SourceInfo,
    blank: u64,
}

/// What a file's footer says of a top-level column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ColumnFacts {
    /// Its type, when it is nested (`struct<id: int64>`, `list<string>`).
    nested: Option<String>,
    /// Its nulls in all row groups, when every row group counts them.
    nulls: Option<u64>,
}

/// The facts of each top-level column of a file.
fn column_facts(meta: &ParquetMetaData) -> Vec<ColumnFacts> {
    let schema = meta.file_metadata().schema_descr();
    let fields = schema.root_schema().get_fields();
    let mut facts: Vec<ColumnFacts> = fields
        .iter()
        .map(|f| ColumnFacts {
            nested: nested(f).then(|| type_text(f, 0)),
            nulls: None,
        })
        .collect();
    for leaf in 0..schema.num_columns() {
        let root = schema.get_column_root_idx(leaf);
        let Some(f) = facts.get_mut(root) else {
            continue;
        };
        if f.nested.is_some() {
            continue;
        }
        f.nulls = meta.row_groups().iter().try_fold(0u64, |sum, g| {
            let nulls = g.columns().get(leaf)?.statistics()?.null_count_opt()?;
            sum.checked_add(nulls)
        });
    }
    facts
}

/// Whether a top-level field has more than one value per row (a group, or a repeated
/// primitive, which is a list).
fn nested(t: &Type) -> bool {
    t.is_group()
        || (t.get_basic_info().has_repetition()
            && t.get_basic_info().repetition() == Repetition::REPEATED)
}

/// A type as short text for messages: `string`, `list<int64>`, `struct<id: string, n: int32>`.
fn type_text(t: &Type, depth: usize) -> String {
    if depth > 3 {
        return "…".into();
    }
    let info = t.get_basic_info();
    let repeated = info.has_repetition() && info.repetition() == Repetition::REPEATED;
    let plain = if t.is_group() {
        let fields = t.get_fields();
        let is = |l: fn(&LogicalType) -> bool, c: &[ConvertedType]| {
            info.logical_type_ref().is_some_and(l) || c.contains(&info.converted_type())
        };
        let inner = |f: &Type| -> Vec<String> {
            f.get_fields()
                .iter()
                .map(|g| type_text(g, depth + 1))
                .collect()
        };
        if is(|l| matches!(l, LogicalType::List), &[ConvertedType::LIST]) {
            // a LIST group holds a repeated group of one element (or, in old files, the
            // repeated element itself)
            let element = match fields.first() {
                Some(r) if r.is_group() && r.get_fields().len() == 1 => inner(r).join(", "),
                Some(r) => type_text(r, depth + 1)
                    .trim_start_matches("list<")
                    .trim_end_matches('>')
                    .to_string(),
                None => "…".into(),
            };
            return format!("list<{element}>");
        }
        if is(
            |l| matches!(l, LogicalType::Map),
            &[ConvertedType::MAP, ConvertedType::MAP_KEY_VALUE],
        ) {
            let kv = fields
                .first()
                .map(|r| inner(r).join(", "))
                .unwrap_or_default();
            return format!("map<{kv}>");
        }
        let mut parts: Vec<String> = fields
            .iter()
            .take(4)
            .map(|f| format!("{}: {}", f.name(), type_text(f, depth + 1)))
            .collect();
        if fields.len() > 4 {
            parts.push("…".into());
        }
        format!("struct<{}>", parts.join(", "))
    } else {
        match info.logical_type_ref() {
            Some(LogicalType::String) => "string".into(),
            Some(LogicalType::Date) => "date".into(),
            Some(LogicalType::Timestamp { .. }) => "timestamp".into(),
            Some(LogicalType::Decimal(d)) => format!("decimal({}, {})", d.precision, d.scale),
            _ if info.converted_type() == ConvertedType::UTF8 => "string".into(),
            _ => t.get_physical_type().to_string().to_ascii_lowercase(),
        }
    };
    if repeated && depth == 0 {
        format!("list<{plain}>")
    } else {
        plain
    }
}

impl std::fmt::Debug for ParquetSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetSource")
            .field("info", &self.info)
            .finish()
    }
}

impl ParquetSource {
    /// Opens a Parquet file.
    pub fn open(path: &Path) -> Result<Self, SourceError> {
        let err = |e: parquet::errors::ParquetError| SourceError::Parquet {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let file = File::open(path).map_err(|source| SourceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let reader = SerializedFileReader::new(file).map_err(err)?;
        let columns = column_facts(reader.metadata());
        let announced = reader
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows().max(0) as u64)
            .fold(0u64, u64::saturating_add);
        let meta = reader.metadata().file_metadata();
        let total = meta.num_rows().max(0) as u64;
        let headers = meta
            .schema_descr()
            .root_schema()
            .get_fields()
            .iter()
            .map(|f| f.name().to_string())
            .collect();
        Ok(ParquetSource {
            rows: reader.into_iter(),
            headers,
            columns,
            announced,
            row: 0,
            total,
            info: SourceInfo {
                path: path.to_path_buf(),
                format: Format::Parquet,
                encoding: None,
                encoding_evidence: None,
                delimiter: None,
                delimiter_byte: None,
                sheet: None,
                title_rows: Vec::new(),
                database: None,
            },
            blank: 0,
        })
    }
}

fn field_text(field: &Field, out: &mut String) {
    use std::fmt::Write;
    out.clear();
    let _ = match field {
        Field::Null => Ok(()),
        Field::Str(s) => {
            out.push_str(s);
            Ok(())
        }
        Field::Bytes(b) => {
            out.push_str(&String::from_utf8_lossy(b.data()));
            Ok(())
        }
        Field::Double(v) => write!(out, "{v}"),
        Field::Float(v) => write!(out, "{v}"),
        other => write!(out, "{other}"),
    };
}

impl RecordSource for ParquetSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn read(&mut self, record: &mut ByteRecord) -> Result<Option<u64>, SourceError> {
        let mut text = String::new();
        for next in self.rows.by_ref() {
            self.row += 1;
            let row = next.map_err(|e| SourceError::Parquet {
                path: self.info.path.clone(),
                message: format!("row {}: {e}", self.row),
            })?;
            record.clear();
            let mut blank = true;
            for (_, field) in row.get_column_iter() {
                field_text(field, &mut text);
                blank &= text.trim().is_empty();
                record.push_field(text.as_bytes());
            }
            if blank {
                self.blank += 1;
                continue;
            }
            return Ok(Some(self.row + 1));
        }
        Ok(None)
    }

    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn progress(&self) -> (u64, u64) {
        (self.row, self.total)
    }

    fn blank_rows(&self) -> u64 {
        self.blank
    }

    fn check_mapped(&self, fields: &[MappedField]) -> Result<(), SourceError> {
        for f in fields {
            let Some(facts) = self.columns.get(f.column) else {
                continue;
            };
            let column = || self.headers.get(f.column).cloned().unwrap_or_default();
            if let Some(kind) = &facts.nested {
                return Err(SourceError::NestedColumn {
                    path: self.info.path.clone(),
                    column: column(),
                    field: f.field,
                    kind: kind.clone(),
                });
            }
            if f.required && self.announced > 0 && facts.nulls == Some(self.announced) {
                return Err(SourceError::AllNull {
                    path: self.info.path.clone(),
                    column: column(),
                    field: f.field,
                    rows: self.announced,
                });
            }
        }
        Ok(())
    }
}
