//! A run's customers in chunks: the customers whose store id falls in one block of
//! [`CHUNK`] ids, each with every value the run gave it, written with postcard (varints) and
//! compressed with zstd. A run is one row per chunk; a comparison of two runs reads their
//! chunks in order. Since format 2 a chunk is compressed in frames of [`FRAME`] customers
//! behind a small index, so a customer's history decompresses one frame of its chunk in each
//! run instead of the whole chunk.

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

/// Customers per compressed frame of a chunk (format 2).
pub const FRAME: usize = 32;

/// The first bytes of a framed chunk (format 2); a format-1 chunk is one zstd frame and
/// starts with zstd's magic number instead.
const FRAMED: [u8; 4] = *b"stc2";

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

/// The format of the chunks this build writes: 2 since chunks are compressed in frames of
/// [`FRAME`] customers. Format 1 (one frame per chunk) is read as well; the runs of earlier
/// development builds (0) kept no values for the rules and are refused.
pub const FORMAT: u32 = 2;

/// The chunk formats this build reads.
pub const READS: [u32; 2] = [1, 2];

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
    /// The index of a framed chunk does not match its frames.
    #[error("a stored chunk's index does not match its frames")]
    Index,
}

/// Encodes and compresses one chunk's customers (ordered by store id), in frames of
/// [`FRAME`] customers behind an index: the tag, the number of frames (u16), and for each
/// frame the store id of its first customer (u64) and its compressed length (u32), little
/// endian.
pub fn encode(rows: &[Stored]) -> Result<Vec<u8>, ChunkError> {
    let frames = rows
        .chunks(FRAME)
        .map(|f| {
            let mut raw = Vec::new();
            for s in f {
                let record = postcard::to_allocvec(s)?;
                let len = u32::try_from(record.len()).map_err(|_| ChunkError::Index)?;
                raw.extend_from_slice(&s.id.to_le_bytes());
                raw.extend_from_slice(&len.to_le_bytes());
                raw.extend_from_slice(&record);
            }
            Ok((f[0].id, zstd::bulk::compress(&raw, LEVEL)?))
        })
        .collect::<Result<Vec<_>, ChunkError>>()?;
    let count = u16::try_from(frames.len()).map_err(|_| ChunkError::Index)?;
    let mut out = Vec::with_capacity(
        HEAD + ENTRY * frames.len() + frames.iter().map(|f| f.1.len()).sum::<usize>(),
    );
    out.extend_from_slice(&FRAMED);
    out.extend_from_slice(&count.to_le_bytes());
    for (first, bytes) in &frames {
        out.extend_from_slice(&first.to_le_bytes());
        let len = u32::try_from(bytes.len()).map_err(|_| ChunkError::Index)?;
        out.extend_from_slice(&len.to_le_bytes());
    }
    for (_, bytes) in &frames {
        out.extend_from_slice(bytes);
    }
    Ok(out)
}

/// What a store hands over of a customer's chunk in one run.
#[derive(Debug, Clone, Copy)]
pub enum Piece<'a> {
    /// The frame that would hold the customer (format 2).
    Frame(&'a [u8]),
    /// The whole chunk.
    Chunk(&'a [u8]),
}

impl Piece<'_> {
    /// The customer with store id `id` in this piece.
    pub fn customer(self, id: u64) -> Result<Option<Stored>, ChunkError> {
        match self {
            Piece::Frame(frame) => in_frame(frame, id),
            Piece::Chunk(chunk) => decode_one(chunk, id),
        }
    }
}

/// The bytes a framed chunk starts with before its index: the tag and the frame count.
pub const HEAD: usize = 6;

/// The bytes of one frame's entry in the index: its first store id and its length.
const ENTRY: usize = 12;

/// The longest head and index of a chunk of [`CHUNK`] customers in frames of [`FRAME`].
pub const MAX_INDEX: usize = HEAD + ENTRY * (CHUNK as usize).div_ceil(FRAME);

/// The length of a chunk's head and index, from its first [`HEAD`] bytes; `None` for a
/// format-1 chunk (or fewer bytes).
pub fn index_len(head: &[u8]) -> Option<usize> {
    let rest = head.strip_prefix(&FRAMED)?;
    let count = rest.first_chunk::<2>()?;
    Some(HEAD + ENTRY * usize::from(u16::from_le_bytes(*count)))
}

/// A framed chunk's frames from its head and index (its first [`index_len`] bytes): each
/// one's first store id and where its bytes are in the chunk.
fn index(head: &[u8]) -> Result<Vec<(u64, std::ops::Range<usize>)>, ChunkError> {
    let len = index_len(head).ok_or(ChunkError::Index)?;
    let mut entries = head.get(HEAD..len).ok_or(ChunkError::Index)?;
    let mut at = len;
    let mut out = Vec::with_capacity((len - HEAD) / ENTRY);
    while let Some((entry, tail)) = entries.split_first_chunk::<ENTRY>() {
        let (first, size) = entry.split_at(8);
        let first = u64::from_le_bytes(first.try_into().map_err(|_| ChunkError::Index)?);
        let size = u32::from_le_bytes(size.try_into().map_err(|_| ChunkError::Index)?) as usize;
        out.push((first, at..at + size));
        at += size;
        entries = tail;
    }
    Ok(out)
}

/// Where in a framed chunk the frame that would hold store id `id` is, from the chunk's head
/// and index; `None` when no frame can hold it.
pub fn frame_range(head: &[u8], id: u64) -> Result<Option<std::ops::Range<usize>>, ChunkError> {
    let frames = index(head)?;
    let at = frames.partition_point(|(first, _)| *first <= id);
    Ok(at.checked_sub(1).map(|i| frames[i].1.clone()))
}

/// A framed chunk's frames, compressed; `None` for a format-1 chunk.
fn frames(bytes: &[u8]) -> Result<Option<Vec<&[u8]>>, ChunkError> {
    if index_len(bytes).is_none() {
        return Ok(None);
    }
    let frames = index(bytes)?;
    if frames.last().map_or(index_len(bytes), |f| Some(f.1.end)) != Some(bytes.len()) {
        return Err(ChunkError::Index);
    }
    Ok(Some(frames.into_iter().map(|(_, r)| &bytes[r]).collect()))
}

/// The largest frame this build decompresses: far above a chunk of [`CHUNK`] customers.
const MAX_FRAME: usize = 1 << 28;

thread_local! {
    /// A decompression context per thread: making one costs more than a small frame's
    /// decompression.
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

fn decompress(bytes: &[u8]) -> Result<Vec<u8>, ChunkError> {
    Ok(DECOMPRESSOR.with_borrow_mut(|d| {
        let d = match d {
            Some(d) => d,
            None => d.insert(zstd::bulk::Decompressor::new()?),
        };
        d.decompress(bytes, MAX_FRAME)
    })?)
}

/// The records of a decompressed frame (format 2): each customer's store id (u64) and the
/// length (u32) of its postcard bytes, little endian, then the bytes; a customer is decoded
/// without decoding the others.
fn records(mut raw: &[u8]) -> impl Iterator<Item = Result<(u64, &[u8]), ChunkError>> {
    std::iter::from_fn(move || {
        if raw.is_empty() {
            return None;
        }
        let record = || -> Option<(u64, &[u8], &[u8])> {
            let (id, rest) = raw.split_first_chunk::<8>()?;
            let (len, rest) = rest.split_first_chunk::<4>()?;
            let (bytes, rest) = rest.split_at_checked(u32::from_le_bytes(*len) as usize)?;
            Some((u64::from_le_bytes(*id), bytes, rest))
        };
        Some(match record() {
            Some((id, bytes, rest)) => {
                raw = rest;
                Ok((id, bytes))
            }
            None => {
                raw = &[];
                Err(ChunkError::Index)
            }
        })
    })
}

/// Every customer of a compressed frame (format 2).
fn decode_frame(bytes: &[u8]) -> Result<Vec<Stored>, ChunkError> {
    let raw = decompress(bytes)?;
    records(&raw)
        .map(|r| Ok(postcard::from_bytes(r?.1)?))
        .collect()
}

/// Decompresses and decodes one chunk (of format 1 or 2).
pub fn decode(bytes: &[u8]) -> Result<Vec<Stored>, ChunkError> {
    match frames(bytes)? {
        // format 1: one frame of every customer
        None => Ok(postcard::from_bytes(&decompress(bytes)?)?),
        Some(frames) => {
            let mut rows = Vec::with_capacity(frames.len() * FRAME);
            for frame in frames {
                rows.extend(decode_frame(frame)?);
            }
            Ok(rows)
        }
    }
}

/// The customer with store id `id` in one chunk, decompressing only its frame (format 2).
pub fn decode_one(bytes: &[u8], id: u64) -> Result<Option<Stored>, ChunkError> {
    if index_len(bytes).is_none() {
        return Ok(decode(bytes)?.into_iter().find(|s| s.id == id));
    }
    match frame_range(bytes, id)? {
        Some(r) => in_frame(bytes.get(r).ok_or(ChunkError::Index)?, id),
        None => Ok(None),
    }
}

/// Where store id `id` is among a chunk's customers (in store-id order), decoding no customer
/// of a framed chunk (every frame but the last holds [`FRAME`]); `None` when it holds no such
/// customer.
pub fn position(bytes: &[u8], id: u64) -> Result<Option<usize>, ChunkError> {
    if index_len(bytes).is_none() {
        return Ok(decode(bytes)?.iter().position(|s| s.id == id));
    }
    let frames = index(bytes)?;
    let Some(i) = frames
        .partition_point(|(first, _)| *first <= id)
        .checked_sub(1)
    else {
        return Ok(None);
    };
    let raw = decompress(bytes.get(frames[i].1.clone()).ok_or(ChunkError::Index)?)?;
    for (k, record) in records(&raw).enumerate() {
        if record?.0 == id {
            return Ok(Some(i * FRAME + k));
        }
    }
    Ok(None)
}

/// The customer with store id `id` in one compressed frame (format 2): only its record is
/// decoded.
pub fn in_frame(frame: &[u8], id: u64) -> Result<Option<Stored>, ChunkError> {
    let raw = decompress(frame)?;
    for record in records(&raw) {
        let (at, bytes) = record?;
        if at == id {
            return Ok(Some(postcard::from_bytes(bytes)?));
        }
    }
    Ok(None)
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

/// An amount kept in ten-thousandths.
fn from_units(k: i64) -> f64 {
    Money::from_units_i128(i128::from(k)).to_f64()
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
    (from_units(k).to_bits() == x.to_bits()).then_some(k)
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
            StoredColumn::Units(v) => out.extend(v.iter().map(|x| x.map(from_units))),
            StoredColumn::Number(v) => out.extend_from_slice(v),
            StoredColumn::Text { .. } => return None,
        }
        Some(())
    }

    /// The value of customer `i` (in the chunk's order): empty past the end.
    pub fn value(&self, i: usize) -> StoredValue {
        let number = |x: Option<f64>| x.map_or(StoredValue::Empty, StoredValue::Number);
        match self {
            StoredColumn::Whole(v) => number(v.get(i).copied().flatten().map(|k| k as f64)),
            StoredColumn::Units(v) => number(v.get(i).copied().flatten().map(from_units)),
            StoredColumn::Number(v) => number(v.get(i).copied().flatten()),
            StoredColumn::Text { values, codes } => codes
                .get(i)
                .and_then(|c| c.checked_sub(1))
                .and_then(|c| values.get(c as usize))
                .map_or(StoredValue::Empty, |t| StoredValue::Text(t.clone())),
        }
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
        assert_eq!(
            decode_one(&bytes, 4095).expect("one"),
            Some(rows[1].clone())
        );
        assert_eq!(decode_one(&bytes, 8).expect("one"), None);
        assert_eq!(decode_one(&bytes, 6).expect("one"), None);
        // a chunk of format 1: one zstd frame of every customer
        let old = zstd::bulk::compress(&postcard::to_allocvec(&rows).expect("postcard"), 3)
            .expect("zstd");
        assert_eq!(decode(&old).expect("decode"), rows);
        assert_eq!(decode_one(&old, 7).expect("one"), Some(rows[0].clone()));
        assert_eq!(position(&old, 4095).expect("position"), Some(1));
        assert_eq!(position(&bytes, 4095).expect("position"), Some(1));
    }

    #[test]
    fn a_framed_chunk_finds_each_customer_in_its_frame() {
        let one = |id: u64| Stored {
            id,
            first_purchase: 1,
            last_purchase: 2,
            recency_days: id as i64,
            frequency: 1,
            monetary: 100 * id as i128,
            tenure_days: 3,
            rfm_scores: [1, 2, 3],
            codes: [0, 0, 0],
            tiers: vec![0],
            reason: None,
            cluster: None,
            clv: None,
            values: Vec::new(),
        };
        // every other id of one chunk: 512 customers in 16 frames
        let rows: Vec<Stored> = (0..CHUNK).step_by(2).map(one).collect();
        let bytes = encode(&rows).expect("encode");
        let head = &bytes[..index_len(&bytes).expect("framed")];
        let frames = index(head).expect("index");
        assert_eq!(frames.len(), 512 / FRAME);
        assert_eq!(frames[1].0, 2 * FRAME as u64);
        assert_eq!(decode(&bytes).expect("decode"), rows);
        for id in 0..CHUNK {
            let want = (id % 2 == 0).then(|| one(id));
            assert_eq!(decode_one(&bytes, id).expect("one"), want, "{id}");
            let at = (id % 2 == 0).then_some(id as usize / 2);
            assert_eq!(position(&bytes, id).expect("position"), at, "{id}");
        }
        // a damaged index is an error, never a wrong customer
        let mut bad = bytes.clone();
        bad[4] = 200;
        assert!(matches!(decode(&bad), Err(ChunkError::Index)));
        assert!(matches!(
            decode_one(&bytes[..100], 3),
            Err(ChunkError::Index)
        ));
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
