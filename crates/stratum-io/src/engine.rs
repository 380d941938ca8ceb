//! The parallel cleaning and aggregation engine behind `transactions::load_transactions`.
//!
//! The input is processed in batches (about 32 MiB of a CSV file, the first ones smaller, or
//! 64k records of any other source), each in two parallel phases:
//!
//! 1. **parse and clean**: the batch is cut into pieces at record boundaries (quotes are
//!    tracked, so a newline inside a quoted field is never a cut); each piece is parsed,
//!    hashed and cleaned on its own thread. Every record is routed to a *shard* chosen by a
//!    hash of its customer id field (rows without one by their row hash).
//! 2. **deduplicate and aggregate**: each shard, on its own thread, takes its records in file
//!    order and drops exact duplicates, counts rejects and feeds an [`Aggregator`].
//!
//! Byte-identical rows have the same customer id field, so they land in the same shard, and a
//! shard sees its rows in file order: every decision (which copy of a duplicate is kept, which
//! rows are rejected, each customer's state) is exactly what a single thread reading the file
//! from top to bottom would make, whatever the number of threads. Rejected rows of a batch are
//! sorted by line before being written, so `rejects.csv` is identical too.
//!
//! Phase 2 is bound by memory latency, not arithmetic: each row looks up tables far larger than
//! the caches (the duplicate hashes, the orders). A shard prefetches the table slots and the
//! customer id of the row [`AHEAD`] rows on while it works on the current one, and the
//! customer's state half-way, so that the cache misses overlap (on 10M lines: wall 1.72 →
//! 1.33 s, user time 2.7 → 2.05 s); and the parsed row itself [`ROWS_AHEAD`] rows on.
//!
//! Memory: at most three batches of input (one being read, one being processed, one spare),
//! plus per shard the customers' state and, in [`KeySet`]s of 12-byte keys, about 17 bytes per
//! distinct row (the duplicate hashes) and 18 per distinct (customer, order). The sets are
//! sized for the whole file, 3/4 full, from its first batches: the duplicate sets from the
//! first batch (with 5% to spare), the order sets once the batches read reach three quarters
//! of a full one, 28 MiB (with 15% to spare). A set that outgrows its estimate doubles (then
//! up to 32 bytes a key). With `frequency = days`, about 12 bytes per distinct (customer,
//! day). 10M lines of 200,000 customers peak at about 0.5 GB.

use std::cell::{Cell, OnceCell};
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::mpsc;

use chrono::NaiveDate;
use csv::ByteRecord;
use rayon::prelude::*;
use stratum_core::features::{customer_key, order_key};
use stratum_core::keyset::{KeySet, RowKey, prefetch};
use stratum_core::{Aggregator, FrequencyBasis, Money};

use crate::clean::{Cleaned, DateCache, clean_row, readable_amount};
use crate::fields::{Fields, SplitLine};
use crate::hits::Hits;
use crate::ingest::{Duplicates, LineStats, RowCounts, TransactionOptions};
use crate::mapping::TransactionColumns;
use crate::parquet_columns::{Column, GroupReader, ParquetFile, ParquetRow, group_reader};
use crate::publish::DigestingReader;
use crate::quotes::{self, Runaway, Shape, unclosed_quote_message};
use crate::rejects::{Reject, RejectReason, RejectRow};
use crate::row_exprs::RowRules;
use crate::source::{BlanksToTabs, DataStart, RecordSource, SourceError, UnclosedQuote};

/// Number of shards: more than the threads, so that uneven shards still balance.
const SHARDS: usize = 32;
/// Bytes of CSV read per batch: 32 MiB measured faster than 16 (fewer barriers and fresh
/// allocations per file) for 75 MB more peak memory on 10M lines; 64 MiB gained 3% more for
/// another 160 MB.
const BATCH_BYTES: usize = 32 << 20;
/// The most one read asks for. The input's digest and the search for a quote then read bytes
/// the kernel's copy has just left in the core's cache: with the whole batch in one read, they
/// read 32 MiB back from memory (at 1M customers, 4% of the run's time).
const READ_CHUNK: usize = 128 << 10;
/// The first batch of CSV is this much smaller than a full one (4 MiB); each next one is twice
/// as large, up to a full one, in as many pieces of the same size as a full batch's (so that
/// the pieces' buffers fit every batch). The work starts as soon as the first is read,
/// instead of after a whole batch was read and hashed on one core while the others waited.
const FIRST_BATCH_SHARE: usize = 8;
/// Rows per batch of a Parquet file (at most a row group): on 10M demo rows, 1Mi took 1.65 s
/// and 720 MB, 256k 1.87 s and 600 MB, 64k 2.33 s (the shards' tables go cold between
/// small batches).
const PARQUET_BATCH_ROWS: usize = 1 << 20;
/// How many rows ahead a shard loads the table slots of the row it will take. Paired whole
/// runs of 10M lines, against 16: 8 took 0.975 of the time over 1M customers and 0.98 over
/// 200k; 4 measured as 8, 12 and 32 slower.
const AHEAD: usize = 8;
/// How many rows ahead a shard loads the parsed row it will take (ten million rows of 64
/// bytes, written by the parsing just before): paired whole runs at 1M customers, against not
/// loading them, wall 0.975; 16 and 64 rows ahead measured the same as 32 (1.005, 0.998).
const ROWS_AHEAD: usize = 32;
/// Records per batch for other sources.
const BATCH_RECORDS: usize = 1 << 16;

/// What every piece of work needs to know about the file.
pub(crate) struct Context<'a> {
    pub cols: TransactionColumns,
    pub headers: &'a [String],
    pub options: &'a TransactionOptions,
    pub file: &'a str,
    pub delimiter: u8,
    pub as_of: Option<NaiveDate>,
    /// `--amount`, `--where` and `--refund-when`, compiled for this file.
    pub rules: &'a RowRules,
}

impl Context<'_> {
    fn needed(&self) -> usize {
        let c = &self.cols;
        [c.customer_id, c.order_date]
            .into_iter()
            .chain(c.amount)
            .chain(c.order_id)
            .chain(self.rules.column_indexes())
            .max()
            .unwrap_or(0)
    }
}

enum Outcome {
    Accepted {
        /// The customer id's place in the piece's arena.
        id: (u32, u32),
        /// The customer id's [`customer_key`].
        key: u64,
        /// The order id's [`order_key`], when the line has one (`ordered`): apart from its
        /// flag, not an `Option`, so that a parsed row is 64 bytes, not 80 (ten million rows
        /// are written and read once each).
        order: u64,
        ordered: bool,
        date: NaiveDate,
        amount: Money,
    },
    /// A row without a customer id (a sale to a guest).
    Anonymous { amount: Money },
    /// A row `--where` leaves out, with its amount when it could be read.
    Filtered { amount: Option<Money> },
    /// A rejected row, with its place among the piece's rows (to write rejects in file order)
    /// and its amount when that could be read.
    Rejected(Box<(u32, RejectRow, Option<Money>)>),
}

struct Parsed {
    row_hash: u128,
    outcome: Outcome,
}

/// Phase 1's output for one piece.
struct Piece {
    arena: String,
    dates: DateCache,
    by_shard: Vec<Vec<Parsed>>,
    blank: u64,
    /// Newlines in the piece (CSV): how far the next piece's line numbers start further on.
    newlines: u64,
    /// Where the rejected rows are (shard, index), to fix up their line numbers.
    rejected: Vec<(u32, u32)>,
    /// Rows pushed so far.
    rows: u32,
    /// A buffer for hashing rows.
    scratch: Vec<u8>,
}

/// The buffers of a piece already absorbed, for a piece of a later batch.
///
/// A batch's pieces hold 64 bytes a row and its customer id (about 40 MB for 32 MiB of CSV):
/// allocated afresh for every batch, their pages could be returned and then faulted in and
/// zeroed again. Reused, 10M lines over 1M customers took 0.98 of the time (paired whole
/// runs).
///
/// A list goes back to the shard it served, so that its capacity follows what that shard
/// needs: a shard holding a large customer keeps large lists, the others do not grow to its
/// size. At most one batch's buffers are kept.
#[derive(Default)]
struct Spares {
    /// Emptied lists, by shard.
    lists: Vec<Vec<Vec<Parsed>>>,
    arenas: Vec<String>,
}

/// The buffers for one piece, from [`Spares`] or empty.
#[derive(Default)]
struct Kit {
    lists: Vec<Vec<Parsed>>,
    arena: String,
}

impl Spares {
    /// Buffers for each of `n` pieces.
    fn kits(&mut self, n: usize) -> Vec<Kit> {
        self.lists.resize_with(SHARDS, Vec::new);
        (0..n)
            .map(|_| Kit {
                lists: self
                    .lists
                    .iter_mut()
                    .map(|spare| spare.pop().unwrap_or_default())
                    .collect(),
                arena: self.arenas.pop().unwrap_or_default(),
            })
            .collect()
    }

    /// Takes back the buffers of `pieces`, already absorbed, and the lists the shards emptied
    /// (`emptied[s]`: shard `s`'s).
    fn keep(&mut self, pieces: Vec<Piece>, emptied: Vec<Vec<Vec<Parsed>>>) {
        self.lists.resize_with(SHARDS, Vec::new);
        for (spare, lists) in self.lists.iter_mut().zip(emptied) {
            spare.extend(lists);
        }
        for mut piece in pieces {
            // the lists a piece had nothing for were not handed to the shards
            for (spare, list) in self.lists.iter_mut().zip(piece.by_shard) {
                if list.capacity() > 0 {
                    spare.push(list);
                }
            }
            piece.arena.clear();
            self.arenas.push(piece.arena);
        }
    }
}

impl Piece {
    /// A piece expected to hold about `rows` records, in the buffers of `kit`.
    fn new(rows: usize, kit: Kit) -> Self {
        let per_shard = rows / SHARDS + rows / (4 * SHARDS) + 16;
        let Kit {
            mut lists,
            mut arena,
        } = kit;
        lists.resize_with(SHARDS, Vec::new);
        for list in &mut lists {
            list.reserve(per_shard);
        }
        arena.reserve(rows * 8);
        Piece {
            arena,
            dates: DateCache::default(),
            by_shard: lists,
            blank: 0,
            newlines: 0,
            rejected: Vec::new(),
            rows: 0,
            scratch: Vec::new(),
        }
    }

    /// Adds `offset` to the line numbers of this piece's rejected rows.
    fn shift_lines(&mut self, offset: u64) {
        for &(shard, i) in &self.rejected {
            if let Some(Parsed {
                outcome: Outcome::Rejected(row),
                ..
            }) = self.by_shard[shard as usize].get_mut(i as usize)
            {
                row.1.line += offset;
            }
        }
    }

    /// The piece of one record whose quote runs away (`bytes`, which starts at `offset` of
    /// the batch): rejected as `unclosed_quote` on the line where the quote opened.
    fn runaway(bytes: &[u8], r: Runaway, offset: usize, kit: Kit, ctx: &Context<'_>) -> Self {
        let mut piece = Piece::new(1, kit);
        piece.newlines = memchr::memchr_iter(b'\n', bytes).count() as u64;
        let quote = r.quote - offset;
        let line = 1 + memchr::memchr_iter(b'\n', &bytes[..quote]).count() as u64;
        let raw = trim_newline(bytes);
        let row: ByteRecord = raw.split(|&b| b == ctx.delimiter).collect();
        let value = trim_newline(&bytes[quote..]);
        piece.push_unclosed(
            line,
            xxhash_rust::xxh3::xxh3_128(raw),
            &row,
            r.field,
            value,
            ctx,
        );
        piece
    }

    /// Rejects a record whose quote in `field` never closed, as `unclosed_quote`.
    fn push_unclosed(
        &mut self,
        line: u64,
        row_hash: u128,
        row: &ByteRecord,
        field: usize,
        value: &[u8],
        ctx: &Context<'_>,
    ) {
        let message = unclosed_quote_message();
        let reject = Reject {
            file: ctx.file,
            line,
            reason: RejectReason::UnclosedQuote,
            column: ctx.headers.get(field).map_or("", String::as_str),
            value,
            message: &message,
            row,
        };
        let shard = row_hash as usize % SHARDS;
        self.rejected
            .push((shard as u32, self.by_shard[shard].len() as u32));
        self.by_shard[shard].push(Parsed {
            row_hash,
            outcome: Outcome::Rejected(Box::new((self.rows, reject.to_row(ctx.delimiter), None))),
        });
        self.rows += 1;
    }

    /// Cleans one record and routes it to its shard. `raw` is the record's line as it stands in
    /// the file (CSV), whose hash then identifies duplicates; otherwise its fields are hashed.
    fn push<F: Fields>(
        &mut self,
        line: u64,
        record: &F,
        raw: Option<&[u8]>,
        ctx: &Context<'_>,
        needed: usize,
    ) {
        if record.is_blank() {
            self.blank += 1;
            return;
        }
        let row_hash = match raw {
            Some(raw) => xxhash_rust::xxh3::xxh3_128(raw),
            None => record.row_hash(&mut self.scratch),
        };
        let width = ctx.headers.len();
        // Identical rows clean identically, so they reach the same shard either way.
        let cleaned = clean_row(
            record,
            &mut self.dates,
            &ctx.cols,
            needed,
            width,
            ctx.options,
            ctx.rules,
        );
        let (shard, outcome) = match cleaned {
            Ok(Cleaned::Filtered(amount)) => {
                (row_hash as usize % SHARDS, Outcome::Filtered { amount })
            }
            Ok(Cleaned::Row(row)) if row.customer_id.is_empty() => (
                row_hash as usize % SHARDS,
                Outcome::Anonymous { amount: row.amount },
            ),
            Ok(Cleaned::Row(row)) => {
                let start = self.arena.len() as u32;
                self.arena.push_str(row.customer_id);
                let key = customer_key(row.customer_id);
                let outcome = Outcome::Accepted {
                    id: (start, row.customer_id.len() as u32),
                    key,
                    order: row.order_id.map_or(0, order_key),
                    ordered: row.order_id.is_some(),
                    date: row.date,
                    amount: row.amount,
                };
                ((key >> 32) as usize % SHARDS, outcome)
            }
            Err(bad) => {
                let column = bad
                    .column
                    .map_or("", |c| ctx.headers.get(c).map_or("", String::as_str));
                let row = record.to_record();
                let reject = Reject {
                    file: ctx.file,
                    line,
                    reason: bad.reason,
                    column,
                    value: bad.column.and_then(|c| record.field(c)).unwrap_or(b""),
                    message: &bad.message,
                    row: &row,
                };
                let shard = row_hash as usize % SHARDS;
                let at = (shard as u32, self.by_shard[shard].len() as u32);
                self.rejected.push(at);
                let amount = match bad.reason {
                    // (a row of the wrong width has its fields shifted: no amount to trust)
                    RejectReason::MissingAmount
                    | RejectReason::BadAmount
                    | RejectReason::LongRow
                    | RejectReason::ShortRow => None,
                    _ => readable_amount(record, &ctx.cols, ctx.options, ctx.rules),
                };
                (
                    shard,
                    Outcome::Rejected(Box::new((self.rows, reject.to_row(ctx.delimiter), amount))),
                )
            }
        };
        self.by_shard[shard].push(Parsed { row_hash, outcome });
        self.rows += 1;
    }
}

/// One shard's running state.
pub(crate) struct Shard {
    pub agg: Aggregator,
    seen: KeySet<RowKey>,
    pub counts: RowCounts,
    pub lines: LineStats,
    /// Rejected rows with their place in the file: (piece, row within the piece).
    rejects: Vec<((u32, u32), RejectRow)>,
    /// Whether identical rows are all kept (`--duplicates keep`).
    keep_duplicates: bool,
}

impl Shard {
    fn new(
        as_of: Option<NaiveDate>,
        basis: FrequencyBasis,
        history: bool,
        keep_duplicates: bool,
        periods: Option<stratum_core::PeriodSchedule>,
    ) -> Self {
        let agg = Aggregator::new(as_of, basis);
        let agg = if history { agg.keep_history() } else { agg };
        Shard {
            keep_duplicates,
            agg: match periods {
                Some(schedule) => agg.in_periods(schedule),
                None => agg,
            },
            seen: KeySet::default(),
            counts: RowCounts::default(),
            lines: LineStats::default(),
            rejects: Vec::new(),
        }
    }

    /// The hashes of the rows taken (none with `--duplicates keep`), left empty here.
    pub fn take_seen(&mut self) -> KeySet<RowKey> {
        std::mem::take(&mut self.seen)
    }

    /// Takes a piece's rows of this shard, in file order, and leaves `items` empty.
    fn take(&mut self, piece: u32, arena: &str, items: &mut Vec<Parsed>) {
        for (i, p) in items.iter().enumerate() {
            // the rows themselves, written by the parsing just before on either core, are
            // too many to be in this one's cache: load them further ahead still
            if let Some(far) = items.get(i + ROWS_AHEAD) {
                prefetch(far);
            }
            // the tables are far larger than the caches: load the slots of a row a few ahead
            // while this one is worked on, so that the memory accesses overlap
            if let Some(next) = items.get(i + AHEAD) {
                self.seen.warm(RowKey::of(next.row_hash));
                if let Outcome::Accepted { key, id, .. } = next.outcome {
                    self.agg.warm(key);
                    if let Some(byte) = arena.as_bytes().get(id.0 as usize) {
                        prefetch(byte);
                    }
                }
            }
            // and, half-way, the customer's state, id and order slot, now that its index slot
            // is in cache
            if let Some(Parsed {
                outcome:
                    Outcome::Accepted {
                        key,
                        order,
                        ordered,
                        ..
                    },
                ..
            }) = items.get(i + AHEAD / 2)
            {
                self.agg.warm_customer(*key, ordered.then_some(*order));
            }
            self.counts.rows_read += 1;
            // rows left out by `--where` are not judged as duplicates
            if let Outcome::Filtered { amount } = p.outcome {
                self.counts.filtered += 1;
                self.counts.filtered_amount += amount.unwrap_or(Money::ZERO);
                self.counts.filtered_without_amount += u64::from(amount.is_none());
                continue;
            }
            if !self.keep_duplicates && !self.seen.insert(RowKey::of(p.row_hash)) {
                self.counts.duplicates += 1;
                match p.outcome {
                    Outcome::Accepted { amount, .. } | Outcome::Anonymous { amount } => {
                        self.counts.duplicate_amount += amount;
                    }
                    Outcome::Rejected(_) | Outcome::Filtered { .. } => {}
                }
                continue;
            }
            match &p.outcome {
                &Outcome::Accepted {
                    id,
                    key,
                    order,
                    ordered,
                    date,
                    amount,
                } => {
                    let order = ordered.then_some(order);
                    self.counts.accepted += 1;
                    self.lines.add(amount, order.is_some(), date);
                    let (start, len) = (id.0 as usize, id.1 as usize);
                    let customer = arena.get(start..start + len).unwrap_or_default();
                    self.agg.add_keyed(customer, key, order, date, amount);
                }
                &Outcome::Anonymous { amount } => {
                    self.counts.anonymous += 1;
                    self.counts.anonymous_amount += amount;
                }
                Outcome::Filtered { .. } => {}
                Outcome::Rejected(rejected) => {
                    let (row_in_piece, row, amount) = &**rejected;
                    self.counts.rejected += 1;
                    self.counts.rejected_amount += amount.unwrap_or(Money::ZERO);
                    *self
                        .counts
                        .rejected_by_reason
                        .entry(row.reason)
                        .or_default() += 1;
                    self.rejects.push(((piece, *row_in_piece), row.clone()));
                }
            }
        }
        items.clear();
    }
}

/// The engine's state across batches.
pub(crate) struct Engine<'a> {
    ctx: Context<'a>,
    needed: usize,
    pub shards: Vec<Shard>,
    pub blank: u64,
    spares: Spares,
}

impl<'a> Engine<'a> {
    /// An engine that goes on from the `shards` of an earlier file of the same input (its
    /// duplicates and customers carry over), or starts afresh when there are none.
    pub fn with_shards(ctx: Context<'a>, shards: Vec<Shard>, blank: u64) -> Self {
        if shards.is_empty() {
            return Engine::new(ctx);
        }
        Engine {
            needed: ctx.needed(),
            ctx,
            shards,
            blank,
            spares: Spares::default(),
        }
    }

    pub fn new(ctx: Context<'a>) -> Self {
        let needed = ctx.needed();
        let basis = ctx.options.frequency;
        let history = ctx.options.history;
        let keep = ctx.options.duplicates == Duplicates::Keep;
        let shards = (0..SHARDS)
            .map(|_| Shard::new(ctx.as_of, basis, history, keep, ctx.options.periods))
            .collect();
        Engine {
            ctx,
            needed,
            shards,
            blank: 0,
            spares: Spares::default(),
        }
    }

    /// What the order sets are sized for beyond the share of the file read when they are sized:
    /// growing a set means doubling it and placing its keys again.
    const ORDER_MARGIN: f64 = 1.15;

    /// Makes room for about `rows` rows in the duplicate sets (capped at 2^28 rows: a wrong
    /// estimate costs memory, not results).
    fn reserve_rows(&mut self, rows: usize) {
        let per_shard = rows.min(1 << 28) / SHARDS;
        self.shards
            .par_iter_mut()
            .for_each(|s| s.seen.reserve(per_shard.saturating_sub(s.seen.len())));
    }

    /// Once part of the file is read, makes room for the whole file, `scale` times that part:
    /// in each shard's order set (with [`Engine::ORDER_MARGIN`] to spare) and, with `seen`,
    /// its duplicate set (5% to spare: a file's rows are as many per byte throughout), capped
    /// like [`Engine::reserve_rows`] at 2^28 keys a kind in all.
    fn reserve_scaled(&mut self, scale: f64, seen: bool) {
        let room = |held: usize, scale: f64| {
            let expected = (held as f64 * scale).min(((1u64 << 28) / SHARDS as u64) as f64);
            (expected as usize).saturating_sub(held)
        };
        self.shards.par_iter_mut().for_each(|s| {
            if seen {
                s.seen.reserve(room(s.seen.len(), scale * 1.05));
            }
            s.agg
                .reserve_orders(room(s.agg.order_count(), scale * Self::ORDER_MARGIN));
        });
    }

    /// Phase 2 over the pieces of one batch; returns the batch's rejects in line order.
    fn absorb(&mut self, mut pieces: Vec<Piece>) -> Vec<RejectRow> {
        let mut work: Vec<Vec<(usize, Vec<Parsed>)>> = (0..SHARDS).map(|_| Vec::new()).collect();
        for (pi, piece) in pieces.iter_mut().enumerate() {
            self.blank += piece.blank;
            for (s, items) in piece.by_shard.iter_mut().enumerate() {
                if !items.is_empty() {
                    work[s].push((pi, std::mem::take(items)));
                }
            }
        }
        let arenas: Vec<&str> = pieces.iter().map(|p| p.arena.as_str()).collect();
        let emptied: Vec<Vec<Vec<Parsed>>> = self
            .shards
            .par_iter_mut()
            .zip(work.into_par_iter())
            .map(|(shard, work)| {
                work.into_iter()
                    .map(|(pi, mut items)| {
                        shard.take(pi as u32, arenas[pi], &mut items);
                        items
                    })
                    .collect()
            })
            .collect();
        self.spares.keep(pieces, emptied);
        let mut rejects: Vec<((u32, u32), RejectRow)> = self
            .shards
            .iter_mut()
            .flat_map(|s| std::mem::take(&mut s.rejects))
            .collect();
        // file order (pieces are in file order, rows within them too), whatever the lines say
        rejects.sort_unstable_by_key(|(at, _)| *at);
        rejects.into_iter().map(|(_, r)| r).collect()
    }

    /// Runs a whole CSV file from `start` (where its first data record is), decoding it to
    /// UTF-8 first when it is in another encoding. `sink` receives each batch's rejects; `progress` the bytes done.
    pub fn run_csv(
        &mut self,
        path: &Path,
        start: DataStart,
        sink: &mut dyn FnMut(Vec<RejectRow>) -> Result<(), csv::Error>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), RunError> {
        let io = |source| {
            RunError::Source(SourceError::Io {
                path: path.to_path_buf(),
                source,
            })
        };
        let file = File::open(path).map_err(io)?;
        let total = file.metadata().map(|m| m.len()).unwrap_or(0);
        // The file is read from its first byte, once: what comes before the data is read and
        // passed over (not sought past), so that its digest covers the whole file.
        let mut file = DigestingReader::new(file, path, self.ctx.options.digests.as_ref());
        let skip = |file: &mut DigestingReader<File>, bytes: u64| {
            std::io::copy(&mut file.take(bytes), &mut std::io::sink()).map_err(io)
        };
        // UTF-8 is read as it is; any other encoding through a decoder to UTF-8, so that the
        // cutting, splitting and line numbers work on the same text in every case.
        let input: Box<dyn Read + Send> = if start.encoding == encoding_rs::UTF_8
            && !start.whitespace
        {
            skip(&mut file, start.bom + start.offset)?;
            Box::new(file)
        } else {
            // the offset is in the text as the streaming reader saw it: decoded, with runs
            // of blanks made tabs
            let mut text: Box<dyn Read + Send> = if start.encoding == encoding_rs::UTF_8 {
                skip(&mut file, start.bom)?;
                Box::new(std::io::BufReader::with_capacity(1 << 20, file))
            } else {
                Box::new(
                    encoding_rs_io::DecodeReaderBytesBuilder::new()
                        .encoding(Some(start.encoding))
                        .bom_override(true)
                        .build(file),
                )
            };
            if start.whitespace {
                text = Box::new(BlanksToTabs::new(text));
            }
            std::io::copy(&mut (&mut text).take(start.offset), &mut std::io::sink()).map_err(io)?;
            text
        };
        let batch_bytes = self.ctx.options.batch_bytes.unwrap_or(BATCH_BYTES).max(1);
        // eight pieces a thread in a full batch: small enough that an uneven piece does not
        // leave a core idle
        let parts = rayon::current_num_threads().max(1) * 8;
        let shape = Shape {
            delimiter: self.ctx.delimiter,
            width: self.ctx.headers.len(),
        };
        // A reader thread reads and cuts the next batch while this one is processed; used
        // buffers go back to it, so at most three batches of memory are in use.
        let (batches, batches_rx) = mpsc::sync_channel::<std::io::Result<Batch>>(1);
        let (spare, spare_rx) = mpsc::channel::<Vec<u8>>();
        std::thread::scope(|scope| {
            scope.spawn(move || {
                scope.spawn(move || {
                    read_batches(input, batch_bytes, parts, shape, &batches, &spare_rx)
                });
            });
            let mut line = start.line;
            // decoded text can be longer than the file: progress stops at the file's size
            let mut done = start.bom + start.offset;
            // whether the duplicate sets, then the order sets, are sized for the whole file
            let (mut rows_sized, mut orders_sized) = (false, false);
            // bytes of the batches so far, until the order sets are sized
            let mut sampled = 0u64;
            for batch in batches_rx {
                let batch = batch.map_err(io)?;
                let bounds: Vec<(usize, usize)> = std::iter::once(0)
                    .chain(batch.cuts.iter().copied())
                    .zip(batch.cuts.iter().copied())
                    .collect();
                let needed = self.needed;
                let data = &batch.buf;
                // Pieces number their lines from 1; the offsets are added once all are parsed.
                let runaways = &batch.runaways;
                let quoted = batch.quoted;
                let kits = self.spares.kits(bounds.len());
                let ctx = &self.ctx;
                let results: Vec<Result<Piece, (u64, String)>> = bounds
                    .into_par_iter()
                    .zip(kits)
                    .map(|((from, to), kit)| {
                        match runaways.binary_search_by_key(&from, |r| r.start) {
                            Ok(i) => {
                                Ok(Piece::runaway(&data[from..to], runaways[i], from, kit, ctx))
                            }
                            Err(_) => parse_piece(&data[from..to], quoted, kit, ctx, needed),
                        }
                    })
                    .collect();
                let mut pieces = Vec::with_capacity(results.len());
                for result in results {
                    match result {
                        Ok(mut piece) => {
                            piece.shift_lines(line - 1);
                            line += piece.newlines;
                            pieces.push(piece);
                        }
                        Err((local, message)) => {
                            return Err(RunError::Source(SourceError::Csv {
                                path: path.to_path_buf(),
                                line: line + local - 1,
                                message,
                            }));
                        }
                    }
                }
                // The tables are sized for the whole file from the first batches, so that
                // millions of keys are not placed again as the tables grow. The duplicate sets
                // from the first batch's rows per byte: a file has as many throughout, and
                // every shard its share.
                if !rows_sized && batch.end > 0 {
                    rows_sized = true;
                    let rows: u64 = pieces.iter().map(|p| u64::from(p.rows)).sum();
                    let scale = total as f64 / batch.end as f64;
                    self.reserve_rows((rows as f64 * scale * 1.05) as usize);
                }
                // The order sets from about a full batch's worth of the file (the first
                // batches are smaller), each shard from its own orders: a smaller sample
                // leaves too few orders a shard to go by.
                if !orders_sized {
                    sampled += batch.end as u64;
                }
                let scale = (!orders_sized && sampled >= (batch_bytes as u64 * 3).div_ceil(4))
                    .then(|| total as f64 / sampled as f64);
                orders_sized |= scale.is_some();
                let rejects = self.absorb(pieces);
                // (none once the whole file is read: a file of less than a batch)
                if let Some(scale) = scale.filter(|&scale| scale > 1.0) {
                    // with more to spare than the duplicate sets (a file's later lines may
                    // hold more orders per line: at 1M customers a third of the sets doubled
                    // at 1.05)
                    self.reserve_scaled(scale, false);
                }
                sink(rejects).map_err(RunError::Rejects)?;
                done += batch.end as u64;
                progress(done.min(total));
                // the reader may have finished; a buffer it does not take back is just freed
                let _ = spare.send(batch.buf);
            }
            Ok(())
        })
    }

    /// Runs a flat Parquet file: a row group at a time, its columns decoded in parallel, then
    /// its rows cleaned in parallel pieces. Line numbers are row numbers plus one, as if the
    /// file had a header line.
    pub fn run_parquet(
        &mut self,
        path: &Path,
        file: &ParquetFile,
        sink: &mut dyn FnMut(Vec<RejectRow>) -> Result<(), csv::Error>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<(), RunError> {
        let threads = rayon::current_num_threads().max(1);
        let mut base = 0u64;
        let batch_rows = match self.ctx.options.batch_bytes {
            Some(b) => (b / 64).max(1),
            None => PARQUET_BATCH_ROWS,
        };
        // The footer's row count sizes the tables, so it is believed only as far as the
        // file's size allows (a row takes a byte at least, in all but freakishly repetitive
        // files, which then grow their tables as they go): a footer that lies cannot reserve
        // gigabytes for a file of kilobytes.
        let file_bytes = std::fs::metadata(path).map_or(0, |m| m.len());
        let believed_rows = file.total_rows.min(file_bytes);
        // nulls in the required columns, to name a column with nothing else (the footer's
        // statistics, when present, have said so before the run)
        let required = [
            ("customer_id", Some(self.ctx.cols.customer_id)),
            ("order_date", Some(self.ctx.cols.order_date)),
            ("amount", self.ctx.cols.amount),
        ];
        let mut nulls = [0u64; 3];
        // the batches of every row group in turn
        let mut group = 0;
        let mut reader: Option<GroupReader> = None;
        let mut fetch =
            |reader: &mut Option<GroupReader>| -> Result<Option<Vec<Column>>, RunError> {
                loop {
                    if let Some(r) = reader.as_mut() {
                        match r.next_batch(path).map_err(RunError::Source)? {
                            Some(columns) => return Ok(Some(columns)),
                            None => *reader = None,
                        }
                    }
                    if group >= file.row_groups.len() {
                        return Ok(None);
                    }
                    *reader = Some(
                        group_reader(path, file, group, batch_rows).map_err(RunError::Source)?,
                    );
                    group += 1;
                }
            };
        let mut sized = false;
        let mut next = fetch(&mut reader)?;
        while let Some(columns) = next {
            let rows = columns.first().map_or(0, |c| c.len());
            for (n, (_, col)) in nulls.iter_mut().zip(required) {
                *n += col
                    .and_then(|col| columns.get(col))
                    .map_or(0, |c| c.null_count() as u64);
            }
            let size = rows.div_ceil(threads * 2).max(1);
            let starts: Vec<usize> = (0..rows).step_by(size).collect();
            let kits = self.spares.kits(starts.len());
            let ctx = &self.ctx;
            let needed = self.needed;
            let pieces: Vec<Piece> = starts
                .into_par_iter()
                .zip(kits)
                .map(|(from, kit)| {
                    let to = (from + size).min(rows);
                    let mut piece = Piece::new(to - from, kit);
                    let mut text: Vec<OnceCell<Vec<u8>>> =
                        columns.iter().map(|_| OnceCell::new()).collect();
                    let last_day = Cell::new(None);
                    for row in from..to {
                        text.iter_mut().for_each(|t| drop(t.take()));
                        let record = ParquetRow {
                            columns: &columns,
                            row,
                            text: &text,
                            last_day: &last_day,
                        };
                        piece.push(base + row as u64 + 2, &record, None, ctx, needed);
                    }
                    piece
                })
                .collect();
            drop(columns);
            // the next batch decodes while this one is deduplicated and aggregated (phase 2
            // runs on 32 shards, the decoding on one thread per column: together they keep
            // both cores busy)
            let (fetched, rejects) = rayon::join(|| fetch(&mut reader), || self.absorb(pieces));
            next = fetched?;
            if !sized && rows > 0 {
                // sized once the first batch is read (not from the footer alone): each set for
                // what it holds times the file's rows over the batch's
                sized = true;
                self.reserve_scaled(believed_rows as f64 / rows as f64, true);
            }
            sink(rejects).map_err(RunError::Rejects)?;
            base += rows as u64;
            progress(base, file.total_rows.max(base));
        }
        if let Some((field, Some(col))) = required
            .iter()
            .zip(nulls)
            .find(|&(r, n)| r.1.is_some() && base > 0 && n == base)
            .map(|(r, _)| *r)
        {
            return Err(RunError::Source(SourceError::AllNull {
                path: path.to_path_buf(),
                column: self.ctx.headers.get(col).cloned().unwrap_or_default(),
                field,
                rows: base,
            }));
        }
        Ok(())
    }

    /// Runs any record source, a batch of records at a time.
    pub fn run_source(
        &mut self,
        src: &mut dyn RecordSource,
        sink: &mut dyn FnMut(Vec<RejectRow>) -> Result<(), csv::Error>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<(), RunError> {
        let threads = rayon::current_num_threads().max(1);
        let batch_records = match self.ctx.options.batch_bytes {
            Some(b) => (b / 256).max(1),
            None => BATCH_RECORDS,
        };
        type Row = (u64, ByteRecord, Option<UnclosedQuote>);
        // a record read past the end of its part (a worksheet), held for the next batch with
        // the name of its part
        let mut held: Option<(Row, Option<String>)> = None;
        loop {
            let mut batch: Vec<Row> = Vec::with_capacity(batch_records);
            // every batch is of one part, whose name its rejects carry
            let mut part: Option<String> = None;
            if let Some((row, its_part)) = held.take() {
                batch.push(row);
                part = its_part;
            }
            let mut record = ByteRecord::new();
            while batch.len() < batch_records {
                match src.read(&mut record).map_err(RunError::Source)? {
                    Some(line) => {
                        let row = (line, std::mem::take(&mut record), src.unclosed_quote());
                        let now = src.part();
                        if batch.is_empty() {
                            part = now.map(str::to_string);
                        } else if now != part.as_deref() {
                            held = Some((row, now.map(str::to_string)));
                            break;
                        }
                        batch.push(row);
                    }
                    None => break,
                }
            }
            if batch.is_empty() {
                self.blank += src.blank_rows();
                return Ok(());
            }
            let size = batch.len().div_ceil(threads * 2);
            let label = match &part {
                Some(p) => format!("{}[{p}]", self.ctx.file),
                None => self.ctx.file.to_string(),
            };
            let ctx = &Context {
                cols: self.ctx.cols,
                headers: self.ctx.headers,
                options: self.ctx.options,
                file: &label,
                delimiter: self.ctx.delimiter,
                as_of: self.ctx.as_of,
                rules: self.ctx.rules,
            };
            let needed = self.needed;
            let kits = self.spares.kits(batch.len().div_ceil(size.max(1)));
            let pieces: Vec<Piece> = batch
                .par_chunks(size.max(1))
                .zip(kits)
                .map(|(chunk, kit)| {
                    let mut piece = Piece::new(chunk.len(), kit);
                    for (line, record, unclosed) in chunk {
                        match unclosed {
                            Some(u) => {
                                let value = record.get(u.field).unwrap_or(b"");
                                let hash = xxhash_rust::xxh3::xxh3_128(record.as_slice());
                                piece.push_unclosed(*line, hash, record, u.field, value, ctx);
                            }
                            None => piece.push(*line, record, None, ctx, needed),
                        }
                    }
                    piece
                })
                .collect();
            let rejects = self.absorb(pieces);
            sink(rejects).map_err(RunError::Rejects)?;
            let (done, total) = src.progress();
            progress(done, total);
        }
    }
}

/// A batch of CSV cut at record boundaries: `buf[..end]` holds whole records, split at `cuts`;
/// each record with a runaway quote is a piece of its own.
struct Batch {
    buf: Vec<u8>,
    cuts: Vec<usize>,
    runaways: Vec<Runaway>,
    end: usize,
    /// Whether the batch has a quote anywhere (else no piece needs looking for one).
    quoted: bool,
}

/// The reader thread: fills buffers from `file` (taking used ones back from `spare`), cuts each
/// after its last complete record, carries the rest over to the next, and sends the batches:
/// the first of an eighth of `batch_bytes` ([`FIRST_BATCH_SHARE`]), each next twice as large,
/// up to `batch_bytes`. A batch is cut into pieces of a full batch's pieces' size (the last
/// batch into `parts`).
fn read_batches(
    mut file: Box<dyn Read + Send>,
    batch_bytes: usize,
    parts: usize,
    shape: Shape,
    out: &mpsc::SyncSender<std::io::Result<Batch>>,
    spare: &mpsc::Receiver<Vec<u8>>,
) {
    let mut carry: Vec<u8> = Vec::new();
    // the batches grow from the first's size to the full one's, doubling
    let mut size = (batch_bytes / FIRST_BATCH_SHARE).max(1);
    let mut want = size;
    loop {
        // room for a full batch at once: a buffer grows to it without being moved (its pages
        // are touched as it grows)
        let mut buf = spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(batch_bytes));
        // a recycled buffer is already initialised: only growth is zero-filled (and one
        // grown for a long record is cut back to the batch's size)
        buf.resize(want.max(carry.len() + 1), 0);
        buf[..carry.len()].copy_from_slice(&carry);
        let mut filled = carry.len();
        // whether the batch holds a quote, looked for in each read as it comes in
        let mut quoted = memchr::memchr(b'"', &carry).is_some();
        let mut eof = false;
        while filled < buf.len() {
            let upto = (filled + READ_CHUNK).min(buf.len());
            match file.read(&mut buf[filled..upto]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => {
                    quoted = quoted || memchr::memchr(b'"', &buf[filled..filled + n]).is_some();
                    filled += n;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = out.send(Err(e));
                    return;
                }
            }
        }
        let Cuts { cuts, runaways } = record_cuts(
            &buf[..filled],
            quoted,
            if eof {
                parts
            } else {
                pieces_of(parts, filled, batch_bytes)
            },
            eof,
            shape,
        );
        let end = cuts.last().copied().unwrap_or(0);
        if end == 0 && !eof {
            // one record longer than the buffer: read on with a bigger one
            carry.clear();
            carry.extend_from_slice(&buf[..filled]);
            want = filled * 2;
            continue;
        }
        size = size.saturating_mul(2).min(batch_bytes);
        want = size;
        carry.clear();
        carry.extend_from_slice(&buf[end..filled]);
        let batch = Batch {
            buf,
            cuts,
            runaways,
            end,
            quoted,
        };
        if out.send(Ok(batch)).is_err() || eof {
            return;
        }
    }
}

/// How many pieces a batch of `size` bytes is cut into: `parts` for a full batch of
/// `batch_bytes`, as many of the same size for a smaller one (one at least).
fn pieces_of(parts: usize, size: usize, batch_bytes: usize) -> usize {
    let pieces = parts as u128 * size as u128 / batch_bytes.max(1) as u128;
    pieces.clamp(1, parts.max(1) as u128) as usize
}

/// A failure while running the engine.
#[derive(Debug)]
pub(crate) enum RunError {
    Source(SourceError),
    Rejects(csv::Error),
}

/// Parses one piece of CSV that starts at a record boundary, numbering its lines from 1.
/// `quoted` is whether its batch has a quote anywhere.
fn parse_piece(
    bytes: &[u8],
    quoted: bool,
    kit: Kit,
    ctx: &Context<'_>,
    needed: usize,
) -> Result<Piece, (u64, String)> {
    if is_plain(bytes, quoted) {
        return Ok(split_piece(bytes, kit, ctx, needed));
    }
    parse_piece_csv(bytes, kit, ctx, needed)
}

/// Whether a piece can be split at its newlines and delimiters without a CSV parser: no quote
/// anywhere (none in its batch, `quoted` false, or none found), and no carriage return but
/// before a newline. Exports of machine data usually are.
fn is_plain(bytes: &[u8], quoted: bool) -> bool {
    (!quoted || memchr::memchr(b'"', bytes).is_none())
        && memchr::memchr_iter(b'\r', bytes).all(|i| bytes.get(i + 1) == Some(&b'\n'))
}

/// The quote-free fast path: each line split in place, the same records as the CSV reader
/// makes (empty lines skipped, a trailing carriage return dropped).
fn split_piece(bytes: &[u8], kit: Kit, ctx: &Context<'_>, needed: usize) -> Piece {
    let mut piece = Piece::new(bytes.len() / 60, kit);
    // checked once here, the fields need no check of their own; simdutf8 takes 1% of the CPU
    // on 10M lines where std took 5% (their category column is Chinese, which takes std off
    // its ASCII fast path)
    let text = simdutf8::basic::from_utf8(bytes).ok();
    let replacement_free = memchr::memmem::find(bytes, "\u{FFFD}".as_bytes()).is_none();
    let mut bounds: Vec<(u32, u32)> = Vec::with_capacity(16);
    let mut line_no = 0u64;
    let mut line_start = 0usize;
    let mut field_start = 0usize;
    // One pass over the piece for delimiters and newlines together.
    let ends = Hits::new(ctx.delimiter, b'\n', bytes).chain(std::iter::once(bytes.len()));
    for i in ends {
        if i < bytes.len() && bytes[i] == ctx.delimiter {
            bounds.push(((field_start - line_start) as u32, (i - line_start) as u32));
            field_start = i + 1;
            continue;
        }
        // end of a line (or of the piece)
        if i == bytes.len() && line_start >= bytes.len() {
            break;
        }
        line_no += 1;
        let mut last = i;
        if last > field_start && bytes[last - 1] == b'\r' {
            last -= 1;
        }
        let line = &bytes[line_start..last];
        if !(line.is_empty() && bounds.is_empty()) {
            bounds.push((
                (field_start - line_start) as u32,
                (last - line_start) as u32,
            ));
            let fields = SplitLine {
                line,
                text: text.and_then(|t| t.get(line_start..last)),
                bounds: &bounds,
                replacement_free,
            };
            piece.push(line_no, &fields, Some(line), ctx, needed);
        }
        bounds.clear();
        line_start = i + 1;
        field_start = i + 1;
    }
    // every line ended by a newline, and a last one without (a newline as the delimiter, as
    // odd as it is, ends no line here: counted apart)
    piece.newlines = if ctx.delimiter == b'\n' {
        memchr::memchr_iter(b'\n', bytes).count() as u64
    } else {
        line_no - u64::from(bytes.last().is_some_and(|&b| b != b'\n'))
    };
    piece
}

/// Parses one piece with the CSV reader (quotes, embedded newlines).
fn parse_piece_csv(
    bytes: &[u8],
    kit: Kit,
    ctx: &Context<'_>,
    needed: usize,
) -> Result<Piece, (u64, String)> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(ctx.delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut record = ByteRecord::new();
    // about 60 bytes a record in typical exports
    let mut piece = Piece::new(bytes.len() / 60, kit);
    piece.newlines = memchr::memchr_iter(b'\n', bytes).count() as u64;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {
                let (mut line, mut start) = record
                    .position()
                    .map_or((1, 0), |p| (p.line(), p.byte() as usize));
                let end = (reader.position().byte() as usize).min(bytes.len());
                // The reader stamps a record with where its call began: after a CRLF record
                // that is the `\n` it left, and blank lines are skipped inside the call. A
                // record never begins with either, so step over them to its real start.
                while start < end && matches!(bytes[start], b'\r' | b'\n') {
                    if bytes[start] == b'\n' {
                        line += 1;
                    }
                    start += 1;
                }
                let raw = bytes.get(start..end).map(trim_newline);
                piece.push(line, &record, raw, ctx, needed);
            }
            Ok(false) => return Ok(piece),
            Err(e) => return Err((e.position().map_or(1, |p| p.line()), e.to_string())),
        }
    }
}

/// A record's raw bytes without its line ending.
fn trim_newline(raw: &[u8]) -> &[u8] {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    raw.strip_suffix(b"\r").unwrap_or(raw)
}

/// Cut points (exclusive ends) that split `buf` into about `parts` pieces, each ending just
/// after a record's newline, and the records with a runaway quote, each a piece of its own.
/// The last cut is the end of the last complete record, or the end of `buf` at end of file.
/// `quoted` says whether `buf` holds a quote anywhere (the reader looks as it reads).
pub(crate) fn record_cuts(buf: &[u8], quoted: bool, parts: usize, eof: bool, shape: Shape) -> Cuts {
    debug_assert_eq!(quoted, memchr::memchr(b'"', buf).is_some());
    let target = (buf.len() / parts.max(1)).max(1);
    let mut c = Cutter {
        target,
        next_target: target,
        last_boundary: 0,
        cuts: Vec::with_capacity(parts + 1),
    };
    let mut runaways = Vec::new();
    if !quoted {
        // No quotes: every newline ends a record; jump to the first one past each target.
        while c.next_target < buf.len() {
            // a newline at next_target − 1 already makes a cut at next_target
            let from = c.next_target - 1;
            match memchr::memchr(b'\n', &buf[from..]) {
                Some(i) => c.boundary(from + i + 1),
                None => break,
            }
        }
        // the last newline of the buffer ends the last complete record
        if let Some(i) = memchr::memrchr(b'\n', buf) {
            c.last_boundary = i + 1;
        }
    } else {
        quotes::scan(buf, shape, eof, &mut |at| c.boundary(at), &mut |r| {
            runaways.push(r)
        });
    }
    let end = if eof { buf.len() } else { c.last_boundary };
    let mut cuts = c.cuts;
    // a runaway record is a piece of its own
    for r in &runaways {
        cuts.push(r.start);
        cuts.push(r.end);
    }
    cuts.sort_unstable();
    cuts.dedup();
    cuts.retain(|&x| x > 0 && x < end);
    if end > 0 {
        cuts.push(end);
    }
    runaways.retain(|r| r.end <= end);
    Cuts { cuts, runaways }
}

/// Where a batch is cut, and its records with a runaway quote.
#[derive(Debug, Default)]
pub(crate) struct Cuts {
    pub cuts: Vec<usize>,
    pub runaways: Vec<Runaway>,
}

struct Cutter {
    target: usize,
    next_target: usize,
    last_boundary: usize,
    cuts: Vec<usize>,
}

impl Cutter {
    /// A record ends just before `at`.
    fn boundary(&mut self, at: usize) {
        self.last_boundary = at;
        if at >= self.next_target {
            self.cuts.push(at);
            self.next_target = at + self.target;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_parsed_row_is_64_bytes() {
        // ten million of them are written and read once each
        assert_eq!(std::mem::size_of::<Parsed>(), 64);
    }

    #[test]
    fn batches_double_from_the_first_size_to_the_full_one_and_hold_the_whole_input() {
        let text: String = (0..200).map(|i| format!("c{i},{}\n", i * 7)).collect();
        let input: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(text.clone()));
        let (tx, rx) = mpsc::sync_channel(1);
        let (spare_tx, spare_rx) = mpsc::channel();
        let shape = Shape {
            delimiter: b',',
            width: 2,
        };
        std::thread::scope(|scope| {
            scope.spawn(move || read_batches(input, 64, 16, shape, &tx, &spare_rx));
            let (mut sizes, mut read) = (Vec::new(), Vec::new());
            for batch in rx {
                let batch = batch.expect("read");
                sizes.push(batch.buf.len());
                read.extend_from_slice(&batch.buf[..batch.end]);
                // a full batch in 16 pieces, the smaller ones in as many of the same size
                assert!(
                    batch.cuts.len() <= 16 * batch.buf.len() / 64 + 1,
                    "{:?}",
                    batch.cuts
                );
                let _ = spare_tx.send(batch.buf);
            }
            assert_eq!(read, text.as_bytes());
            assert_eq!(sizes[..4], [8, 16, 32, 64]);
            assert!(sizes[4..].iter().all(|&s| s == 64), "{sizes:?}");
        });
    }

    #[test]
    fn a_quote_past_the_first_read_of_a_batch_still_keeps_its_newline_uncut() {
        // `text` read as one batch in 4096 pieces: no cut may fall inside quotes (after `a\n`)
        fn first_batch_without_a_cut_inside_quotes(text: &str) -> Batch {
            let input: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(text.to_string()));
            let (tx, rx) = mpsc::sync_channel(1);
            let (_spare_tx, spare_rx) = mpsc::channel();
            let shape = Shape {
                delimiter: b',',
                width: 2,
            };
            let batch_bytes = FIRST_BATCH_SHARE * 2 * text.len();
            std::thread::scope(|scope| {
                scope.spawn(move || read_batches(input, batch_bytes, 4096, shape, &tx, &spare_rx));
                let batch = rx.recv().expect("a batch").expect("read");
                assert_eq!(&batch.buf[..batch.end], text.as_bytes());
                for &cut in &batch.cuts {
                    assert_ne!(
                        &batch.buf[cut - 2..cut],
                        b"a\n",
                        "a cut inside quotes at {cut}"
                    );
                }
                batch
            })
        }
        // plain records for more than one read, then records with a newline inside quotes:
        // cut as plain text, many of those newlines would be cuts
        let plain: String = (0..READ_CHUNK / 8)
            .map(|i| format!("c{i},{}\n", i % 10))
            .collect();
        let quoted = "q,\"a\nb\"\n".repeat(4096);
        assert!(plain.len() > READ_CHUNK);
        let batch = first_batch_without_a_cut_inside_quotes(&format!("{plain}{quoted}"));
        assert!(batch.quoted);
        assert!(batch.cuts.len() > 1000, "{}", batch.cuts.len());
        // and the other way round: the quotes in the first read only, none in the last
        let batch = first_batch_without_a_cut_inside_quotes(&format!("{quoted}{plain}"));
        assert!(batch.quoted);
    }

    #[test]
    fn smaller_batches_are_cut_into_pieces_of_a_full_batchs_size() {
        let full = 32 << 20;
        assert_eq!(pieces_of(16, full, full), 16);
        assert_eq!(pieces_of(16, full / 8, full), 2);
        assert_eq!(pieces_of(16, full / 4, full), 4);
        // never none, and never more than a full batch's (a batch grown for one long record)
        assert_eq!(pieces_of(16, 1, full), 1);
        assert_eq!(pieces_of(16, 3 * full, full), 16);
        assert_eq!(pieces_of(0, full, full), 1);
        assert_eq!(pieces_of(16, usize::MAX, 1), 16);
    }

    fn pieces(buf: &[u8], parts: usize, eof: bool) -> Vec<String> {
        let mut from = 0;
        let shape = Shape {
            delimiter: b',',
            width: 2,
        };
        record_cuts(buf, memchr::memchr(b'"', buf).is_some(), parts, eof, shape)
            .cuts
            .into_iter()
            .map(|to| {
                let s = String::from_utf8_lossy(&buf[from..to]).into_owned();
                from = to;
                s
            })
            .collect()
    }

    #[test]
    fn cuts_fall_after_newlines_and_keep_the_incomplete_tail() {
        assert_eq!(
            pieces(b"a,1\nb,2\nc,3\nd,", 3, false),
            ["a,1\n", "b,2\n", "c,3\n"]
        );
        assert_eq!(
            pieces(b"a,1\nb,2\nc,3\nd,", 3, true),
            ["a,1\n", "b,2\n", "c,3\n", "d,"]
        );
        assert_eq!(pieces(b"abc", 2, false), Vec::<String>::new());
    }

    #[test]
    fn a_newline_inside_quotes_is_never_a_cut() {
        let buf = b"a,\"x\ny\"\nb,\"\"\"q\"\"\n\"\nc,3\n";
        let got = pieces(buf, 8, false);
        assert_eq!(got, ["a,\"x\ny\"\n", "b,\"\"\"q\"\"\n\"\n", "c,3\n"]);
        // a quote inside an unquoted field is a literal character, as for the CSV reader
        let buf = b"a,5\" screen\nb,\"x\ny\"\nc,3\n";
        assert_eq!(
            pieces(buf, 8, false),
            ["a,5\" screen\n", "b,\"x\ny\"\n", "c,3\n"]
        );
    }
}
