//! A run's customers in chunks: the customers whose store id falls in one block of
//! [`CHUNK`] ids, each with every value the run gave it, written with postcard (varints) and
//! compressed with zstd. A run is one row per chunk; a customer's history reads its chunk of
//! every run, a comparison of two runs reads their chunks in order.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use stratum_core::Money;
use stratum_core::record::{CustomerRecord, ReasonCode, Value};
use stratum_core::scheme::ColumnData;

/// Customer ids per chunk.
pub const CHUNK: u64 = 1024;

/// The zstd level: fast to write, about as small as the higher levels on this data.
const LEVEL: i32 = 3;

/// One customer's values in a run, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stored {
    /// The customer's store id.
    pub id: u64,
    /// First purchase, days from 0001-01-01 (CE).
    pub first_purchase: i32,
    /// Last purchase, days from 0001-01-01 (CE).
    pub last_purchase: i32,
    /// Days from the last purchase to the analysis date.
    pub recency_days: i64,
    /// Purchases.
    pub frequency: u64,
    /// Net revenue in units of 1/10,000.
    pub monetary: i128,
    /// Days from the first purchase to the analysis date.
    pub tenure_days: i64,
    /// R, F and M scores.
    pub rfm_scores: [u8; 3],
    /// Index of the RFM class, the segment and the ABC class in the run's layout.
    pub codes: [u16; 3],
    /// Tier index per dimension of the run's layout.
    pub tiers: Vec<u16>,
    /// Why the final tier.
    pub reason: Option<StoredReason>,
    /// The scheme's cluster.
    pub cluster: Option<u32>,
    /// Lifetime value.
    pub clv: Option<StoredClv>,
    /// The value of every column the scheme's rules read (the column as an index into the
    /// run's layout): what explains the tiers, compared between runs.
    pub values: Vec<(u16, StoredValue)>,
}

/// A reason, with columns as indices into the run's layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StoredReason {
    /// The final tier's rule: the columns it read and their values.
    Rule(Vec<(u16, StoredValue)>),
    /// The default tier.
    Default,
    /// An override.
    Override {
        /// Who set it.
        set_by: String,
        /// When, days from CE.
        set_on: Option<i32>,
        /// Last day, days from CE.
        expires: Option<i32>,
        /// The note.
        note: String,
    },
}

/// A value in a reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StoredValue {
    /// A number.
    Number(f64),
    /// Text.
    Text(String),
    /// No value.
    Empty,
}

impl StoredValue {
    fn of(v: &Value<'_>) -> Self {
        match v {
            Value::Number(x) => StoredValue::Number(*x),
            Value::Text(t) => StoredValue::Text(t.to_string()),
            Value::Empty => StoredValue::Empty,
        }
    }
}

/// Lifetime value and churn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StoredClv {
    /// Predicted value.
    pub clv: f64,
    /// Probability of being alive.
    pub p_alive: f64,
    /// Churn band index in [`stratum_core::clv::ChurnBand::ALL`].
    pub churn_band: Option<u8>,
    /// Value tier code index in the run's layout.
    pub value_tier: u16,
}

/// The format of the chunks this build writes and reads: 1 since runs keep the values the
/// rules read; the runs of earlier development builds have none (0).
pub const FORMAT: u32 = 1;

/// The names a run's chunks refer to by index.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    /// The format of the run's chunks ([`FORMAT`] when written by this build).
    #[serde(default)]
    pub format: u32,
    /// Each dimension's name and its tiers' codes, in scheme order.
    pub dimensions: Vec<(String, Vec<String>)>,
    /// Each dimension's tier ranks (0 the best), by tier index.
    #[serde(default)]
    pub ranks: Vec<Vec<u16>>,
    /// The RFM class, segment, ABC class and value-tier codes used.
    pub codes: Vec<String>,
    /// The columns reasons name.
    pub columns: Vec<String>,
    /// The columns of the run's profile (every feature, built-in tier and attribute a rule
    /// could read), in order, kept beside the chunks for previews and alerts; empty for a run
    /// without a scheme and for the runs kept before profiles were.
    #[serde(default)]
    pub profile: Vec<(String, Kind)>,
}

/// The type of a kept profile column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// Numbers.
    Number,
    /// Text.
    Text,
}

impl Layout {
    fn code(&mut self, code: &str) -> u16 {
        index_of(&mut self.codes, code)
    }

    fn column(&mut self, name: &str) -> u16 {
        index_of(&mut self.columns, name)
    }
}

fn index_of(list: &mut Vec<String>, name: &str) -> u16 {
    match list.iter().position(|n| n == name) {
        Some(i) => i as u16,
        None => {
            list.push(name.to_string());
            (list.len() - 1) as u16
        }
    }
}

/// Days from CE of `d`.
pub fn days(d: NaiveDate) -> i32 {
    chrono::Datelike::num_days_from_ce(&d)
}

/// The date `days` from CE.
pub fn date(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days)
}

impl Stored {
    /// The stored form of `r` for customer `id`, names added to `layout`.
    pub fn new(id: u64, r: &CustomerRecord<'_>, layout: &mut Layout) -> Self {
        let tiers = r
            .tiers
            .iter()
            .map(|t| {
                layout
                    .dimensions
                    .iter()
                    .find(|(d, _)| d == t.dimension)
                    .and_then(|(_, tiers)| tiers.iter().position(|x| x == t.tier))
                    .unwrap_or(0) as u16
            })
            .collect();
        let reason = r.reason.as_ref().map(|reason| match reason {
            ReasonCode::Rule { columns, .. } => StoredReason::Rule(
                columns
                    .iter()
                    .map(|c| (layout.column(c.column), StoredValue::of(&c.value)))
                    .collect(),
            ),
            ReasonCode::Default => StoredReason::Default,
            ReasonCode::Override {
                set_by,
                set_on,
                expires,
                note,
            } => StoredReason::Override {
                set_by: set_by.to_string(),
                set_on: set_on.map(days),
                expires: expires.map(days),
                note: note.to_string(),
            },
        });
        let clv = r.clv.map(|c| StoredClv {
            clv: c.clv,
            p_alive: c.p_alive,
            churn_band: c.churn_band.and_then(|b| {
                stratum_core::clv::ChurnBand::ALL
                    .iter()
                    .position(|x| x.code() == b)
                    .map(|i| i as u8)
            }),
            value_tier: layout.code(c.value_tier),
        });
        Stored {
            id,
            first_purchase: days(r.first_purchase),
            last_purchase: days(r.last_purchase),
            recency_days: r.recency_days,
            frequency: r.frequency,
            monetary: r.monetary.units(),
            tenure_days: r.tenure_days,
            rfm_scores: r.rfm_scores,
            codes: [
                layout.code(r.rfm_class),
                layout.code(r.rfm_segment),
                layout.code(r.abc_class),
            ],
            tiers,
            reason,
            cluster: r.cluster.map(|c| c as u32),
            clv,
            // recency, frequency and monetary value are kept above already
            values: r
                .values
                .iter()
                .filter(|c| !matches!(c.column, "recency_days" | "frequency" | "monetary"))
                .map(|c| (layout.column(c.column), StoredValue::of(&c.value)))
                .collect(),
        }
    }

    /// Net revenue.
    pub fn monetary(&self) -> Money {
        Money::from_units_i128(self.monetary)
    }
}

/// Why a chunk could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum ChunkError {
    /// The bytes do not decompress.
    #[error("a stored chunk does not decompress: {0}")]
    Compression(#[from] std::io::Error),
    /// The bytes do not decode.
    #[error("a stored chunk does not decode: {0}")]
    Encoding(#[from] postcard::Error),
}

/// Encodes and compresses one chunk's customers.
pub fn encode(rows: &[Stored]) -> Result<Vec<u8>, ChunkError> {
    let raw = postcard::to_allocvec(rows)?;
    Ok(zstd::bulk::compress(&raw, LEVEL)?)
}

/// Decompresses and decodes one chunk.
pub fn decode(bytes: &[u8]) -> Result<Vec<Stored>, ChunkError> {
    let raw = zstd::stream::decode_all(bytes)?;
    Ok(postcard::from_bytes(&raw)?)
}

/// One profile column of the customers of a chunk, in the smallest form that gives every
/// value back exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StoredColumn {
    /// Whole numbers (counts, days, scores).
    Whole(Vec<Option<i64>>),
    /// Numbers with at most four decimals that read back exactly as the amount in ten
    /// thousandths (money).
    Units(Vec<Option<i64>>),
    /// Any other numbers.
    Number(Vec<Option<f64>>),
    /// Text, as indices from 1 into the chunk's own list of the column's values (0: empty).
    Text {
        /// The distinct values.
        values: Vec<String>,
        /// Each customer's value.
        codes: Vec<u32>,
    },
}

/// `x` as a whole number, when it is one exactly.
fn whole(x: f64) -> Option<i64> {
    let k = x as i64;
    ((k as f64).to_bits() == x.to_bits() && k.unsigned_abs() < 1 << 53).then_some(k)
}

/// `x` in ten thousandths, when it reads back exactly as [`Money::to_f64`] gives it.
fn units(x: f64) -> Option<i64> {
    let k = (x * 10_000.0).round();
    let k = (k.abs() < 9e15).then_some(k as i64)?;
    (Money::from_units_i128(i128::from(k)).to_f64().to_bits() == x.to_bits()).then_some(k)
}

impl StoredColumn {
    /// Customers `rows` of `data`.
    pub fn of(data: &ColumnData, rows: &[usize]) -> StoredColumn {
        match data {
            ColumnData::Number(v) => {
                let taken: Vec<Option<f64>> = rows.iter().map(|&i| v[i]).collect();
                let all = |f: fn(f64) -> Option<i64>| -> Option<Vec<Option<i64>>> {
                    taken
                        .iter()
                        .map(|x| match x {
                            Some(x) => f(*x).map(Some),
                            None => Some(None),
                        })
                        .collect()
                };
                if let Some(w) = all(whole) {
                    StoredColumn::Whole(w)
                } else if let Some(u) = all(units) {
                    StoredColumn::Units(u)
                } else {
                    StoredColumn::Number(taken)
                }
            }
            ColumnData::Text(t) => {
                let mut values: Vec<String> = Vec::new();
                let mut seen: HashMap<usize, u32> = HashMap::new();
                let codes = rows
                    .iter()
                    .map(|&i| match t.code(i) {
                        None => 0,
                        Some(c) => *seen.entry(c).or_insert_with(|| {
                            values.push(t.values()[c].clone());
                            values.len() as u32
                        }),
                    })
                    .collect();
                StoredColumn::Text { values, codes }
            }
        }
    }

    /// The number of customers.
    pub fn len(&self) -> usize {
        match self {
            StoredColumn::Whole(v) | StoredColumn::Units(v) => v.len(),
            StoredColumn::Number(v) => v.len(),
            StoredColumn::Text { codes, .. } => codes.len(),
        }
    }

    /// Whether there are no customers.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds the numbers to `out` (`None` for a text column).
    pub fn numbers_into(&self, out: &mut Vec<Option<f64>>) -> Option<()> {
        match self {
            StoredColumn::Whole(v) => out.extend(v.iter().map(|x| x.map(|k| k as f64))),
            StoredColumn::Units(v) => out.extend(
                v.iter()
                    .map(|x| x.map(|k| Money::from_units_i128(i128::from(k)).to_f64())),
            ),
            StoredColumn::Number(v) => out.extend_from_slice(v),
            StoredColumn::Text { .. } => return None,
        }
        Some(())
    }

    /// The texts (`None` for a number column).
    pub fn texts(&self) -> Option<impl Iterator<Item = Option<&str>>> {
        match self {
            StoredColumn::Text { values, codes } => Some(codes.iter().map(|&c| {
                c.checked_sub(1)
                    .and_then(|c| values.get(c as usize))
                    .map(String::as_str)
            })),
            _ => None,
        }
    }
}

/// The profile of one chunk's customers (in the chunk's order, by store id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileChunk {
    /// Each customer's place in the run's order: a draft placed on the profile sees the
    /// customers in the order the run did (a clustering's seeded start depends on it).
    pub positions: Vec<u64>,
    /// The columns, in the order of the run's [`Layout::profile`].
    pub columns: Vec<StoredColumn>,
}

/// Encodes and compresses the profile of one chunk's customers.
pub fn encode_profile(chunk: &ProfileChunk) -> Result<Vec<u8>, ChunkError> {
    let raw = postcard::to_allocvec(chunk)?;
    Ok(zstd::bulk::compress(&raw, LEVEL)?)
}

/// Decompresses and decodes one chunk's profile.
pub fn decode_profile(bytes: &[u8]) -> Result<ProfileChunk, ChunkError> {
    let raw = zstd::stream::decode_all(bytes)?;
    Ok(postcard::from_bytes(&raw)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_reads_back_as_written() {
        let rows = vec![
            Stored {
                id: 7,
                first_purchase: 738_000,
                last_purchase: 739_000,
                recency_days: 12,
                frequency: 3,
                monetary: -1_234_567,
                tenure_days: 400,
                rfm_scores: [5, 3, 1],
                codes: [0, 1, 2],
                tiers: vec![2, 0],
                reason: Some(StoredReason::Rule(vec![
                    (0, StoredValue::Number(1.5)),
                    (1, StoredValue::Text("华东".into())),
                    (2, StoredValue::Empty),
                ])),
                cluster: Some(2),
                clv: Some(StoredClv {
                    clv: 12.5,
                    p_alive: 0.25,
                    churn_band: Some(2),
                    value_tier: 3,
                }),
                values: vec![(0, StoredValue::Number(1.5)), (3, StoredValue::Empty)],
            },
            Stored {
                id: 4095,
                first_purchase: 1,
                last_purchase: 1,
                recency_days: 0,
                frequency: 1,
                monetary: 0,
                tenure_days: 0,
                rfm_scores: [1, 1, 1],
                codes: [0, 0, 0],
                tiers: Vec::new(),
                reason: Some(StoredReason::Override {
                    set_by: "张伟".into(),
                    set_on: Some(739_100),
                    expires: None,
                    note: "key account".into(),
                }),
                cluster: None,
                clv: None,
                values: Vec::new(),
            },
        ];
        let bytes = encode(&rows).expect("encode");
        assert_eq!(decode(&bytes).expect("decode"), rows);
        assert!(decode(&bytes[..bytes.len() / 2]).is_err());
    }

    #[test]
    fn a_profile_chunk_gives_every_value_back_exactly_in_the_smallest_form() {
        use stratum_core::scheme::TextColumn;
        let counts = ColumnData::Number(vec![Some(3.0), None, Some(-0.0), Some(12.0)]);
        let money = ColumnData::Number(vec![Some(1234.5678), Some(0.1), None, Some(-7.0)]);
        let rates = ColumnData::Number(vec![Some(1.0 / 3.0), Some(0.5), None, Some(1e300)]);
        let texts = ColumnData::Text(
            [Some("华东"), None, Some("华北"), Some("华东")]
                .into_iter()
                .collect::<TextColumn>(),
        );
        let rows = [3, 0, 2];
        let columns: Vec<StoredColumn> = [&counts, &money, &rates, &texts]
            .iter()
            .map(|c| StoredColumn::of(c, &rows))
            .collect();
        // -0.0 is not a whole number that reads back bit for bit
        assert!(matches!(columns[0], StoredColumn::Number(_)));
        assert!(matches!(columns[1], StoredColumn::Units(_)));
        assert!(matches!(columns[2], StoredColumn::Number(_)));
        let whole = StoredColumn::of(&counts, &[0, 1, 3]);
        assert_eq!(whole, StoredColumn::Whole(vec![Some(3), None, Some(12)]));
        let chunk = ProfileChunk {
            positions: vec![3, 0, 2],
            columns,
        };
        let back = decode_profile(&encode_profile(&chunk).expect("encode")).expect("decode");
        assert_eq!(back, chunk);
        for (column, data) in back.columns.iter().zip([&counts, &money, &rates]) {
            let mut out = Vec::new();
            column.numbers_into(&mut out).expect("numbers");
            let ColumnData::Number(v) = data else {
                panic!("numbers")
            };
            let want: Vec<Option<u64>> = rows.iter().map(|&i| v[i].map(f64::to_bits)).collect();
            let got: Vec<Option<u64>> = out.iter().map(|x| x.map(f64::to_bits)).collect();
            assert_eq!(got, want);
        }
        let texts: Vec<Option<&str>> = back.columns[3].texts().expect("texts").collect();
        assert_eq!(texts, [Some("华东"), Some("华东"), Some("华北")]);
        assert!(back.columns[0].texts().is_none());
    }
}
