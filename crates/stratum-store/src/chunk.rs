//! A run's customers in chunks: the customers whose store id falls in one block of
//! [`CHUNK`] ids, each with every value the run gave it, written with postcard (varints) and
//! compressed with zstd. A run is one row per chunk; a customer's history reads its chunk of
//! every run, a comparison of two runs reads their chunks in order.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use stratum_core::Money;
use stratum_core::record::{CustomerRecord, ReasonCode, Value};

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
}
