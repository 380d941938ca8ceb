//! Stratum's history: every run kept, in SQLite (one file, the embedded default) or
//! PostgreSQL (`postgres://…`), with one set of migrations for both.
//!
//! A run is recorded in one transaction: its row (as-of date, times, tool version, inputs,
//! settings, the scheme's text and hash, the summary) and its customers, in compressed chunks of
//! 1,024 store ids ([`chunk`]): a killed or failed recording leaves no run behind. Customer ids
//! are interned once per store, so a customer's chunk is the same in every run and its history
//! reads one chunk per run.
//!
//! ```
//! # fn main() -> Result<(), stratum_store::StoreError> {
//! let dir = tempfile::tempdir().map_err(stratum_store::StoreError::Io)?;
//! let mut store = stratum_store::Store::open(&dir.path().join("stratum.db").to_string_lossy())?;
//! assert!(store.runs()?.is_empty());
//! # Ok(())
//! # }
//! ```

pub mod access;
pub mod chunk;
pub mod followup;
pub mod migrate;
pub mod outbox;
pub mod overview;
pub mod pool;
mod postgres_db;
pub mod preview;
pub mod review;
mod schema;
pub mod scorecard;
mod sqlite_db;
pub mod why;

use std::collections::HashMap;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};
use stratum_core::Money;
use stratum_core::run::RunResult;
use stratum_core::scheme::SchemeParams;

use chunk::{CHUNK, Layout, Stored, StoredReason, StoredValue};

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed.
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] postgres::Error),
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A stored chunk cannot be read back.
    #[error(transparent)]
    Chunk(#[from] chunk::ChunkError),
    /// A stored document (summary, layout) cannot be read back.
    #[error("a stored document does not decode: {0}")]
    Json(#[from] serde_json::Error),
    /// The database was written by a newer Stratum.
    #[error(
        "the store is at version {found}, newer than this Stratum knows ({known}); use a newer Stratum"
    )]
    TooNew {
        /// The store's version.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
    /// A stored value is not what this version wrote.
    #[error("the store holds an unreadable {what}: `{value}`")]
    Corrupt {
        /// What.
        what: &'static str,
        /// The value.
        value: String,
    },
    /// A run id that is not in the store.
    #[error("no run {0} in the store")]
    NoRun(i64),
    /// A run whose customers were written in another chunk format (by a development build
    /// before the format was fixed, or by a newer Stratum).
    #[error(
        "run {run} was kept in chunk format {found}, this Stratum reads formats 1 to {known}: record it again, or read it with the Stratum that wrote it"
    )]
    ChunkFormat {
        /// The run.
        run: i64,
        /// Its format.
        found: u32,
        /// The format this build reads and writes.
        known: u32,
    },
    /// The store has no run.
    #[error("the store has no run yet")]
    NoRuns,
    /// A run kept without its customers' profile.
    #[error(
        "run {0} keeps no customer profile (it had no scheme, or an earlier Stratum kept it): record a run with a scheme first"
    )]
    NoProfile(i64),
    /// A draft scheme that cannot be placed on the kept profile.
    #[error("the draft scheme: {0}")]
    Draft(Box<stratum_core::run::RunError>),
    /// A scheme version id that is not in the store.
    #[error("no scheme version {0} in the store")]
    NoVersion(i64),
    /// A period without a kept run at its start and another at its end.
    #[error(
        "no scorecards for {period}: they need a kept run as of {start} or before and a later one as of {end} or before (`stratum backfill --every month` keeps both)"
    )]
    NoPeriodRuns {
        /// The period as given.
        period: String,
        /// Its first day.
        start: NaiveDate,
        /// The first day after it.
        end: NaiveDate,
    },
    /// A release or claim the pool's rules refuse.
    #[error(transparent)]
    Pool(#[from] pool::PoolRefusal),
    /// A review id that is not in the store.
    #[error("no review {0} in the store")]
    NoReview(i64),
    /// A row that would take a key another row has (a unique constraint).
    #[error("the store already has that key")]
    Conflict,
    /// A name that is taken.
    #[error("there is already a {what} `{name}`")]
    Exists {
        /// What kind of thing.
        what: &'static str,
        /// Its name.
        name: String,
    },
    /// A user name that is not in the store.
    #[error("no user `{0}` in the store")]
    NoUser(String),
    /// An API token id that is not in the store (or is revoked already).
    #[error("no API token `{0}` in force")]
    NoToken(String),
    /// A dimension that is not in both runs compared.
    #[error("`{dimension}` is not a dimension of both runs; they have: {known}")]
    NoDimension {
        /// The name given.
        dimension: String,
        /// The dimensions both runs have, comma separated.
        known: String,
    },
}

/// A version of a scheme: its full text, once per text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemeVersion {
    /// The version number, from 1.
    pub id: i64,
    /// The sha256 of the text, in hex.
    pub hash: String,
    /// The scheme's `name`, if it gives one.
    pub name: Option<String>,
    /// The scheme file's text.
    pub text: String,
    /// Why it was published (`first used by run N` for a scheme a run brought).
    pub message: String,
    /// Who published it (empty for a scheme a run brought).
    pub author: String,
    /// When, RFC 3339.
    pub created_at: String,
}

/// A scheme version as the backends insert it.
pub(crate) struct VersionRow<'a> {
    pub(crate) hash: &'a str,
    pub(crate) name: Option<&'a str>,
    pub(crate) text: &'a str,
    pub(crate) message: &'a str,
    pub(crate) author: &'a str,
    pub(crate) created_at: &'a str,
}

/// What the store keeps about a run besides its result.
#[derive(Debug, Clone, PartialEq)]
pub struct RunMeta {
    /// When the run started (RFC 3339).
    pub started_at: String,
    /// When it finished (RFC 3339).
    pub finished_at: String,
    /// The program and version, e.g. `Stratum 0.1.0`.
    pub tool_version: String,
    /// The inputs: role, path, size, digest and row counts, as the manifest lists them.
    pub inputs: serde_json::Value,
    /// The settings the run used.
    pub settings: serde_json::Value,
    /// The scheme's file text, when the run had a scheme.
    pub scheme_text: Option<String>,
    /// Whether the scheme's alerts go to the outbox (history backfilled from an export does
    /// not alert anyone).
    pub alerts: bool,
}

/// A stored run, as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// The run's id (1, 2, … in the order recorded).
    pub id: i64,
    /// The analysis date.
    pub as_of: NaiveDate,
    /// When it started.
    pub started_at: String,
    /// When it finished.
    pub finished_at: String,
    /// The program and version.
    pub tool_version: String,
    /// The scheme's name, when it had a scheme.
    pub scheme_name: Option<String>,
    /// The sha256 of the scheme's text (hex), when it had a scheme.
    pub scheme_hash: Option<String>,
    /// Scored customers.
    pub customers: u64,
    /// Their net revenue.
    pub revenue: Money,
}

/// A run's documents, as kept with it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunDocuments {
    /// The run's summary (counts, totals, validations).
    pub summary: serde_json::Value,
    /// Its inputs: role, path, size, digest and row counts.
    pub inputs: serde_json::Value,
    /// The settings it ran with.
    pub settings: serde_json::Value,
}

/// Customers and net revenue in one tier of one dimension of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct TierTotal {
    /// The dimension.
    pub dimension: String,
    /// The tier's code.
    pub tier: String,
    /// Its customers.
    pub customers: u64,
    /// Their net revenue.
    pub revenue: Money,
}

/// A customer in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// The run.
    pub run: i64,
    /// Its analysis date.
    pub as_of: NaiveDate,
    /// The tier in each dimension (dimension, tier code), in scheme order.
    pub tiers: Vec<(String, String)>,
    /// Why the final tier.
    pub reason: Option<StoredReasonText>,
    /// RFM class, segment and ABC class codes.
    pub codes: [String; 3],
    /// Days since the last purchase.
    pub recency_days: i64,
    /// Purchases.
    pub frequency: u64,
    /// Net revenue.
    pub monetary: Money,
    /// Predicted lifetime value and P(alive), with a fitted model.
    pub clv: Option<(f64, f64)>,
    /// The value of every column the scheme's rules read, in catalog order.
    pub values: Vec<(String, StoredValue)>,
}

impl HistoryEntry {
    /// The final tier (the last dimension's), with a scheme.
    pub fn final_tier(&self) -> Option<&str> {
        self.tiers.last().map(|(_, t)| t.as_str())
    }
}

/// A reason as stored, with its columns named.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredReasonText {
    /// The rule of the final tier: the columns it read and their values.
    Rule(Vec<(String, StoredValue)>),
    /// The default tier.
    Default,
    /// An override by `set_by`, with its note.
    Override {
        /// Who set it.
        set_by: String,
        /// The note.
        note: String,
    },
}

/// A customer's runs, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerHistory {
    /// The customer.
    pub customer_id: String,
    /// One entry per run the customer was scored in.
    pub entries: Vec<HistoryEntry>,
}

impl CustomerHistory {
    /// The first and last analysis dates the customer was scored at.
    pub fn seen(&self) -> Option<(NaiveDate, NaiveDate)> {
        Some((self.entries.first()?.as_of, self.entries.last()?.as_of))
    }

    /// Since when (the analysis date of the first run of the unbroken streak up to the
    /// latest run) the customer has had its current final tier, and in how many runs.
    pub fn in_current_tier(&self) -> Option<(NaiveDate, usize)> {
        let last = self.entries.last()?.final_tier()?;
        let streak: Vec<&HistoryEntry> = self
            .entries
            .iter()
            .rev()
            .take_while(|e| e.final_tier() == Some(last))
            .collect();
        Some((streak.last()?.as_of, streak.len()))
    }
}

/// A run's row, as the backends insert it.
pub(crate) struct RunRow<'a> {
    pub(crate) as_of: String,
    pub(crate) meta: &'a RunMeta,
    pub(crate) scheme_name: Option<&'a str>,
    pub(crate) scheme_hash: Option<String>,
    pub(crate) summary: String,
    pub(crate) layout: String,
    pub(crate) customers: i64,
    pub(crate) revenue_units: String,
    /// Customers and net revenue (units) per (dimension, tier).
    pub(crate) tiers: Vec<TierTotalRow>,
    /// The alerts' messages.
    pub(crate) messages: Vec<outbox::NewMessage>,
}

/// One run's customers and net revenue (in units of `Money`) in one tier of one dimension.
pub(crate) type TierTotalRow = (String, String, i64, String);

impl RunRow<'_> {
    /// The version the run's scheme becomes when no version has its text yet (run `id`).
    pub(crate) fn version(&self, id: i64) -> Option<OwnedVersion<'_>> {
        Some(OwnedVersion {
            hash: self.scheme_hash.as_deref()?,
            name: self.scheme_name,
            text: self.meta.scheme_text.as_deref()?,
            message: format!("first used by run {id}"),
            created_at: &self.meta.started_at,
        })
    }
}

/// A run's scheme as a version, its message made for the run.
pub(crate) struct OwnedVersion<'a> {
    hash: &'a str,
    name: Option<&'a str>,
    text: &'a str,
    message: String,
    created_at: &'a str,
}

impl OwnedVersion<'_> {
    pub(crate) fn row(&self) -> VersionRow<'_> {
        VersionRow {
            hash: self.hash,
            name: self.name,
            text: self.text,
            message: &self.message,
            author: "",
            created_at: self.created_at,
        }
    }
}

/// A chunk as the backends insert it: its number, customers, bytes and profile's bytes.
pub(crate) type ChunkRow = (i64, i64, Vec<u8>, Option<Vec<u8>>);

/// Builds the chunks from the store ids of the run's customers (in the run's order), once.
pub(crate) type BuildChunks<'a> = Box<dyn FnOnce(&[u64]) -> Result<Vec<ChunkRow>, StoreError> + 'a>;

/// What a database does for the store.
/// A statement of [`Backend::execute_all`]: its SQL, its parameters, and whether it must
/// change a row.
pub(crate) type Statement<'a> = (&'a str, Vec<access::Value>, bool);

pub(crate) trait Backend: Send {
    /// Applies the migrations not yet applied.
    fn migrate(&mut self) -> Result<(), StoreError>;
    /// Records a run in one transaction: interns `codes`, inserts the row, then the chunks
    /// `build` makes from the store ids; returns the run's id.
    fn record(
        &mut self,
        row: &RunRow<'_>,
        codes: &[&str],
        build: BuildChunks<'_>,
    ) -> Result<i64, StoreError>;
    /// Every run, oldest first.
    fn runs(&mut self) -> Result<Vec<(RunInfo, String)>, StoreError>;
    /// A customer's store id.
    fn customer(&mut self, code: &str) -> Result<Option<u64>, StoreError>;
    /// Store ids for `codes` without keeping any: the known customers' ids, ids from the
    /// table's next id on for the others; and that next id.
    fn ids(&mut self, codes: &[&str]) -> Result<(Vec<u64>, u64), StoreError>;
    /// The text of a run's scheme; `Err(NoRun)` for a run the store does not have.
    fn scheme_text(&mut self, run: i64) -> Result<Option<String>, StoreError>;
    /// The chunk of customer `code` in every run that has it: `each` is given the customer's
    /// store id, the run and the part of the chunk read (the customer's frame where the
    /// backend can read one without the rest, else the whole chunk). `false` when the store
    /// has no such customer.
    fn customer_chunks(
        &mut self,
        code: &str,
        each: &mut dyn FnMut(u64, i64, chunk::Piece<'_>) -> Result<(), StoreError>,
    ) -> Result<bool, StoreError>;
    /// Deletes all runs but the newest `keep`; returns how many were deleted.
    fn prune(&mut self, keep: usize) -> Result<usize, StoreError>;
    /// Every chunk of `run`, in chunk order.
    fn run_chunks(&mut self, run: i64) -> Result<Vec<Vec<u8>>, StoreError>;
    /// Every profile chunk of `run`, in chunk order (none for a run kept without).
    fn run_profiles(&mut self, run: i64) -> Result<Vec<Vec<u8>>, StoreError>;
    /// The customer ids of store ids `ids`.
    fn codes(&mut self, ids: &[u64]) -> Result<HashMap<u64, String>, StoreError>;
    /// Adds scheme version `v` unless its text is kept already; returns its id and whether
    /// it is new.
    fn add_version(&mut self, v: &VersionRow<'_>) -> Result<(i64, bool), StoreError>;
    /// Every scheme version, oldest first.
    fn versions(&mut self) -> Result<Vec<SchemeVersion>, StoreError>;
    /// The outbox's messages, oldest first: all, or the pending ones due at `due`.
    fn messages(&mut self, due: Option<&str>) -> Result<Vec<outbox::Message>, StoreError>;
    /// Records an attempt at message `id` and its outcome.
    fn attempted(
        &mut self,
        id: &str,
        at: &str,
        outcome: &outbox::Outcome,
    ) -> Result<(), StoreError>;
    /// Claims pending message `id`, due at `now`, until `until` (its next attempt is moved
    /// there); `false` when it is not pending and due (another send has it).
    fn claim(&mut self, id: &str, now: &str, until: &str) -> Result<bool, StoreError>;
    /// The attempts at message `id`, oldest first.
    fn attempts(&mut self, id: &str) -> Result<Vec<(String, String, String)>, StoreError>;
    /// Run `run`'s tier totals (none for a run kept before they were).
    fn tier_totals(&mut self, run: i64) -> Result<Vec<TierTotalRow>, StoreError>;
    /// Runs one statement written for both databases (`$1`, `$2`, … in order of first
    /// appearance); returns the rows it changed. A unique key taken is [`StoreError::Conflict`].
    fn execute(&mut self, sql: &str, params: &[access::Value]) -> Result<u64, StoreError>;
    /// Runs statements as [`Backend::execute`] does, in one transaction: all of them or, when
    /// one fails or one marked as required changes no row ([`StoreError::Conflict`]), none.
    fn execute_all(&mut self, statements: &[Statement<'_>]) -> Result<(), StoreError>;
    /// Runs one query written for both databases; its rows, each column an integer, a text or
    /// null.
    fn query(
        &mut self,
        sql: &str,
        params: &[access::Value],
    ) -> Result<Vec<Vec<access::Value>>, StoreError>;
}

/// A store of runs.
pub struct Store {
    db: Box<dyn Backend>,
    /// The runs' layouts read so far, by run id (a kept run never changes).
    layouts: HashMap<i64, (RunInfo, Layout)>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating it if needed) the store at `location`: a `postgres://` or
    /// `postgresql://` URL, else the path of a SQLite file. Applies pending migrations.
    pub fn open(location: &str) -> Result<Store, StoreError> {
        let mut db: Box<dyn Backend> =
            if location.starts_with("postgres://") || location.starts_with("postgresql://") {
                Box::new(postgres_db::PostgresDb::connect(location)?)
            } else {
                Box::new(sqlite_db::SqliteDb::open(std::path::Path::new(location))?)
            };
        db.migrate()?;
        Ok(Store {
            db,
            layouts: HashMap::new(),
        })
    }

    /// Records `run` with `meta`; returns its id. Atomic: on any failure no part of it is kept.
    pub fn record(&mut self, run: &RunResult, meta: &RunMeta) -> Result<i64, StoreError> {
        let (codes, stored_layout, probe) = stored_run(run, |_| 0);
        let layout_json = serde_json::to_string(&stored_layout)?;
        let tiers = overview::tier_totals(&stored_layout, &probe);
        let profile = run.scheme.as_ref().map(|s| &s.profile);
        let build = move |ids: &[u64]| -> Result<Vec<ChunkRow>, StoreError> {
            use rayon::prelude::*;
            // the run's customers in store-id order, each with its place in the run's order
            // (where its profile values are)
            let mut rows: Vec<(usize, Stored)> = probe.into_iter().enumerate().collect();
            for (s, &id) in rows.iter_mut().zip(ids) {
                s.1.id = id;
            }
            rows.sort_unstable_by_key(|s| s.1.id);
            rows.par_chunk_by(|a, b| a.1.id / CHUNK == b.1.id / CHUNK)
                .map(|group| {
                    let chunk = (group[0].1.id / CHUNK) as i64;
                    let stored: Vec<Stored> = group.iter().map(|(_, s)| s.clone()).collect();
                    let columns = match profile {
                        Some(p) => {
                            let at: Vec<usize> = group.iter().map(|(i, _)| *i).collect();
                            let columns = p
                                .columns()
                                .map(|(_, data)| chunk::StoredColumn::of(data, &at))
                                .collect();
                            let positions = at.iter().map(|&i| i as u64).collect();
                            Some(chunk::encode_profile(&chunk::ProfileChunk {
                                positions,
                                columns,
                            })?)
                        }
                        None => None,
                    };
                    Ok((chunk, group.len() as i64, chunk::encode(&stored)?, columns))
                })
                .collect()
        };
        let summary = serde_json::to_string(&run.summary())?;
        let messages = outbox::messages(self, run, meta)?;
        let scheme = run.scheme.as_ref();
        let row = RunRow {
            as_of: run.as_of.to_string(),
            meta,
            scheme_name: scheme.and_then(|s| s.checked.name.as_deref()),
            scheme_hash: meta.scheme_text.as_deref().map(sha256_hex),
            summary,
            layout: layout_json,
            customers: codes.len() as i64,
            revenue_units: run.tiering.revenue.units().to_string(),
            tiers,
            messages,
        };
        self.db.record(&row, &codes, Box::new(build))
    }

    /// Keeps `text` (a scheme file) as a version with `message` and `author`; returns the
    /// version and whether it is new (a text kept already keeps its first version).
    pub fn publish(
        &mut self,
        text: &str,
        name: Option<&str>,
        message: &str,
        author: &str,
    ) -> Result<(SchemeVersion, bool), StoreError> {
        let hash = sha256_hex(text);
        let (id, new) = self.db.add_version(&VersionRow {
            hash: &hash,
            name,
            text,
            message,
            author,
            created_at: &sqlite_db::now(),
        })?;
        Ok((self.version(id)?, new))
    }

    /// Every scheme version, oldest first.
    pub fn versions(&mut self) -> Result<Vec<SchemeVersion>, StoreError> {
        self.db.versions()
    }

    /// Scheme version `id`.
    pub fn version(&mut self, id: i64) -> Result<SchemeVersion, StoreError> {
        self.db
            .versions()?
            .into_iter()
            .find(|v| v.id == id)
            .ok_or(StoreError::NoVersion(id))
    }

    /// The text of the scheme run `run` used (`None` for a run without a scheme).
    pub fn scheme_text(&mut self, run: i64) -> Result<Option<String>, StoreError> {
        self.db.scheme_text(run)
    }

    /// The id of the latest run (`None` without runs): one cheap query.
    pub fn latest_run_id(&mut self) -> Result<Option<i64>, StoreError> {
        use access::Value;
        let rows = self.db.query("SELECT MAX(id) FROM runs", &[])?;
        Ok(match rows.first().and_then(|r| r.first()) {
            Some(Value::Int(id)) => Some(*id),
            _ => None,
        })
    }

    /// Every run, oldest first.
    pub fn runs(&mut self) -> Result<Vec<RunInfo>, StoreError> {
        Ok(self.db.runs()?.into_iter().map(|(info, _)| info).collect())
    }

    /// `customer_id`'s history, or `None` when no run scored it.
    pub fn history(&mut self, customer_id: &str) -> Result<Option<CustomerHistory>, StoreError> {
        let mut found: Vec<(i64, Stored)> = Vec::new();
        let known = self
            .db
            .customer_chunks(customer_id, &mut |id, run, piece| {
                if let Some(s) = piece.customer(id)? {
                    found.push((run, s));
                }
                Ok(())
            })?;
        if !known {
            return Ok(None);
        }
        if found.iter().any(|(run, _)| !self.layouts.contains_key(run)) {
            self.read_layouts()?;
        }
        let mut entries = Vec::new();
        for (run, s) in found {
            if let Some((info, layout)) = self.layouts.get(&run) {
                entries.push(entry(info, layout, &s)?);
            }
        }
        entries.sort_by_key(|e| e.run);
        Ok(Some(CustomerHistory {
            customer_id: customer_id.to_string(),
            entries,
        }))
    }

    /// `customer_id`'s profile in run `run`: every column the run kept for its rules (features,
    /// interactions, master-data attributes), in the run's order; `None` when the run did not
    /// score the customer or kept no profile.
    pub fn profile(
        &mut self,
        run: i64,
        customer_id: &str,
    ) -> Result<Option<Vec<(String, StoredValue)>>, StoreError> {
        let Some(id) = self.db.customer(customer_id)? else {
            return Ok(None);
        };
        use access::Value;
        let rows = self.db.query(
            "SELECT c.data, p.data FROM run_chunks c
             LEFT JOIN run_profiles p ON p.run = c.run AND p.chunk = c.chunk
             WHERE c.run = $1 AND c.chunk = $2",
            &[Value::Int(run), Value::Int((id / CHUNK) as i64)],
        )?;
        let Some([Value::Bytes(bytes), Value::Bytes(profile)]) = rows.first().map(Vec::as_slice)
        else {
            return Ok(None);
        };
        // the profile's rows are the chunk's customers in store-id order
        let Some(at) = chunk::position(bytes, id)? else {
            return Ok(None);
        };
        if !self.layouts.contains_key(&run) {
            self.read_layouts()?;
        }
        let (_, layout) = self.layouts.get(&run).ok_or(StoreError::NoRun(run))?;
        let profile = chunk::decode_profile(profile)?;
        Ok(Some(
            layout
                .profile
                .iter()
                .zip(&profile.columns)
                .map(|((name, _), column)| (name.clone(), column.value(at)))
                .collect(),
        ))
    }

    /// Reads every run's info and layout into the connection's cache.
    fn read_layouts(&mut self) -> Result<(), StoreError> {
        self.layouts = self
            .db
            .runs()?
            .into_iter()
            .map(|(info, layout)| {
                let layout = layout_of(info.id, &layout)?;
                Ok((info.id, (info, layout)))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(())
    }

    /// Run `run`'s documents: its summary, inputs (as the manifest lists them, with their
    /// row counts) and settings, as kept.
    pub fn run_documents(&mut self, run: i64) -> Result<RunDocuments, StoreError> {
        use access::Value;
        let rows = self.db.query(
            "SELECT summary, inputs, settings FROM runs WHERE id = $1",
            &[Value::Int(run)],
        )?;
        let row = rows.first().ok_or(StoreError::NoRun(run))?;
        let doc = |i: usize| -> Result<serde_json::Value, StoreError> {
            match row.get(i) {
                Some(Value::Text(t)) => Ok(serde_json::from_str(t)?),
                _ => Ok(serde_json::Value::Null),
            }
        };
        Ok(RunDocuments {
            summary: doc(0)?,
            inputs: doc(1)?,
            settings: doc(2)?,
        })
    }

    /// Run `run`'s customers and net revenue per tier of every dimension (the scheme's, and
    /// `rfm_class`, `rfm_segment`, `abc_class`), as kept with it; empty for a run kept before
    /// the totals were.
    pub fn tier_totals(&mut self, run: i64) -> Result<Vec<TierTotal>, StoreError> {
        self.db
            .tier_totals(run)?
            .into_iter()
            .map(|(dimension, tier, customers, units)| {
                let units: i128 = units.parse().map_err(|_| StoreError::Corrupt {
                    what: "revenue",
                    value: units.clone(),
                })?;
                Ok(TierTotal {
                    dimension,
                    tier,
                    customers: customers.max(0) as u64,
                    revenue: Money::from_units_i128(units),
                })
            })
            .collect()
    }

    /// Deletes all runs but the newest `keep`; returns how many were deleted.
    pub fn prune(&mut self, keep: usize) -> Result<usize, StoreError> {
        self.db.prune(keep)
    }

    /// Every customer of run `run` (by store id), with the run's values for it.
    pub fn run_customers(
        &mut self,
        run: i64,
    ) -> Result<(RunInfo, Vec<(String, HistoryEntry)>), StoreError> {
        let (info, layout) = self
            .db
            .runs()?
            .into_iter()
            .find(|(r, _)| r.id == run)
            .ok_or(StoreError::NoRun(run))?;
        let layout = layout_of(run, &layout)?;
        let stored = self.decoded(run)?;
        let ids: Vec<u64> = stored.iter().map(|s| s.id).collect();
        let mut codes = self.db.codes(&ids)?;
        let rows = stored
            .iter()
            .map(|s| {
                let code = codes.remove(&s.id).ok_or_else(|| StoreError::Corrupt {
                    what: "customer id",
                    value: s.id.to_string(),
                })?;
                Ok((code, entry(&info, &layout, s)?))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok((info, rows))
    }

    /// Who moved between runs `from` and `to` in `dimension` (a scheme dimension, or
    /// `rfm_class`, `rfm_segment`, `abc_class`; default: the final dimension of `to`'s scheme,
    /// else `rfm_class`).
    pub fn migrations(
        &mut self,
        from: i64,
        to: i64,
        dimension: Option<&str>,
    ) -> Result<migrate::Migrations, StoreError> {
        let runs = self.db.runs()?;
        let find = |id: i64| -> Result<(RunInfo, Layout), StoreError> {
            let (info, layout) = runs
                .iter()
                .find(|(r, _)| r.id == id)
                .ok_or(StoreError::NoRun(id))?;
            Ok((info.clone(), layout_of(id, layout)?))
        };
        let (from_info, from_layout) = find(from)?;
        let (to_info, to_layout) = find(to)?;
        let dimension = match dimension {
            Some(d) => d.to_string(),
            None => {
                let text = self.db.scheme_text(to)?;
                let scheme = text.and_then(|t| SchemeParams::from_toml(&t).ok());
                overview::final_dimension(scheme.as_ref(), &to_layout)
            }
        };
        let a = self.decoded(from)?;
        let b = self.decoded(to)?;
        let mut m = migrate::compare(
            (&from_info, &from_layout, &a),
            (&to_info, &to_layout, &b),
            &dimension,
        )?;
        let ids: Vec<u64> = m.movers.iter().map(|x| x.id).collect();
        let codes = self.db.codes(&ids)?;
        for mover in &mut m.movers {
            mover.customer_id = codes.get(&mover.id).cloned().unwrap_or_default();
        }
        Ok(m)
    }
}

/// A run's customer ids, layout and customers in stored form (unsorted), the store id of each
/// given by `id` from its position in the run's order.
pub(crate) fn stored_run(
    run: &RunResult,
    id: impl Fn(usize) -> u64,
) -> (Vec<&str>, Layout, Vec<Stored>) {
    let mut layout = Layout {
        format: chunk::FORMAT,
        ..Layout::default()
    };
    if let Some(s) = &run.scheme {
        layout.dimensions = s
            .checked
            .dimensions
            .iter()
            .map(|d| {
                (
                    d.name.clone(),
                    d.tiers.iter().map(|t| t.name.clone()).collect(),
                )
            })
            .collect();
        layout.ranks = s
            .checked
            .dimensions
            .iter()
            .map(|d| d.rank.clone())
            .collect();
    }
    if let Some(s) = &run.scheme {
        layout.profile = s
            .profile
            .columns()
            .map(|(name, data)| {
                let kind = match data {
                    stratum_core::scheme::ColumnData::Number(_) => chunk::Kind::Number,
                    stratum_core::scheme::ColumnData::Text(_) => chunk::Kind::Text,
                };
                (name.to_string(), kind)
            })
            .collect();
    }
    let records: Vec<_> = run.records().collect();
    let codes: Vec<&str> = records.iter().map(|r| r.customer_id).collect();
    // the names every chunk refers to, collected before any chunk is written
    let rows = records
        .iter()
        .enumerate()
        .map(|(i, r)| Stored::new(id(i), r, &mut layout))
        .collect();
    (codes, layout, rows)
}

impl Store {
    /// Every customer of kept run `run`, by store id: its chunks read, then decoded on all
    /// cores (decoding is most of the time of reading a run).
    pub(crate) fn decoded(&mut self, run: i64) -> Result<Vec<Stored>, StoreError> {
        use rayon::prelude::*;
        let chunks = self.db.run_chunks(run)?;
        let parts = chunks
            .par_iter()
            .map(|bytes| chunk::decode(bytes))
            .collect::<Result<Vec<Vec<Stored>>, _>>()?;
        Ok(parts.concat())
    }
}

/// The sha256 of `text`, in hex.
fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A stored customer as a history entry, its indices named by the run's layout.
fn entry(info: &RunInfo, layout: &Layout, s: &Stored) -> Result<HistoryEntry, StoreError> {
    let corrupt = |what: &'static str, value: usize| StoreError::Corrupt {
        what,
        value: value.to_string(),
    };
    let code = |i: u16| {
        layout
            .codes
            .get(usize::from(i))
            .cloned()
            .ok_or_else(|| corrupt("code index", usize::from(i)))
    };
    let tiers = layout
        .dimensions
        .iter()
        .zip(&s.tiers)
        .map(|((d, tiers), &t)| {
            tiers
                .get(usize::from(t))
                .map(|t| (d.clone(), t.clone()))
                .ok_or_else(|| corrupt("tier index", usize::from(t)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let reason = reason_of(layout, s)?;
    let values = named(layout, &s.values)?;
    Ok(HistoryEntry {
        run: info.id,
        as_of: info.as_of,
        tiers,
        reason,
        codes: [code(s.codes[0])?, code(s.codes[1])?, code(s.codes[2])?],
        recency_days: s.recency_days,
        frequency: s.frequency,
        monetary: s.monetary(),
        clv: s.clv.map(|c| (c.clv, c.p_alive)),
        values,
    })
}

/// Run `run`'s layout from its stored text, refused when its chunks are in a format this
/// build does not read.
fn layout_of(run: i64, text: &str) -> Result<Layout, StoreError> {
    let layout: Layout = serde_json::from_str(text)?;
    if !chunk::READS.contains(&layout.format) {
        return Err(StoreError::ChunkFormat {
            run,
            found: layout.format,
            known: chunk::FORMAT,
        });
    }
    Ok(layout)
}

/// A stored customer's reason, its columns named by the run's layout.
pub(crate) fn reason_of(
    layout: &Layout,
    s: &Stored,
) -> Result<Option<StoredReasonText>, StoreError> {
    Ok(match &s.reason {
        None => None,
        Some(StoredReason::Default) => Some(StoredReasonText::Default),
        Some(StoredReason::Override { set_by, note, .. }) => Some(StoredReasonText::Override {
            set_by: set_by.clone(),
            note: note.clone(),
        }),
        Some(StoredReason::Rule(columns)) => Some(StoredReasonText::Rule(named(layout, columns)?)),
    })
}

/// A stored customer's recency, frequency and monetary value, then the value of every column
/// the scheme's rules read, named.
pub(crate) fn explaining(
    layout: &Layout,
    s: &Stored,
) -> Result<Vec<(String, StoredValue)>, StoreError> {
    let mut out = vec![
        (
            "recency_days".to_string(),
            StoredValue::Number(s.recency_days as f64),
        ),
        (
            "frequency".to_string(),
            StoredValue::Number(s.frequency as f64),
        ),
        (
            "monetary".to_string(),
            StoredValue::Number(s.monetary().to_f64()),
        ),
    ];
    out.extend(named(layout, &s.values)?);
    Ok(out)
}

/// Stored values with their columns named by the run's layout.
fn named(
    layout: &Layout,
    values: &[(u16, StoredValue)],
) -> Result<Vec<(String, StoredValue)>, StoreError> {
    values
        .iter()
        .map(|(c, v)| {
            layout
                .columns
                .get(usize::from(*c))
                .map(|name| (name.clone(), v.clone()))
                .ok_or_else(|| StoreError::Corrupt {
                    what: "column index",
                    value: c.to_string(),
                })
        })
        .collect()
}

/// Parses a stored run row's text fields.
pub(crate) fn run_info(
    id: i64,
    as_of: &str,
    times: (String, String),
    tool_version: String,
    scheme: (Option<String>, Option<String>),
    customers: i64,
    revenue_units: &str,
) -> Result<RunInfo, StoreError> {
    let corrupt = |what: &'static str, value: &str| StoreError::Corrupt {
        what,
        value: value.to_string(),
    };
    Ok(RunInfo {
        id,
        as_of: as_of.parse().map_err(|_| corrupt("as-of date", as_of))?,
        started_at: times.0,
        finished_at: times.1,
        tool_version,
        scheme_name: scheme.0,
        scheme_hash: scheme.1,
        customers: u64::try_from(customers).map_err(|_| corrupt("customer count", ""))?,
        revenue: Money::from_units_i128(
            revenue_units
                .parse()
                .map_err(|_| corrupt("revenue", revenue_units))?,
        ),
    })
}

/// The store ids of the customers table, kept between the runs one open store records (a
/// backfill records many, and reading the table for each cost a tenth of its time). Ids are
/// given densely from 0 and never taken back, so the copy is the table exactly when the
/// table's next id is the copy's: another writer's customers make it read again.
#[derive(Debug, Default)]
pub(crate) struct KnownCustomers {
    ids: HashMap<String, u64>,
    next: u64,
}

impl KnownCustomers {
    /// Whether the copy is the table whose next id is `next`.
    pub(crate) fn is_current(&self, next: u64) -> bool {
        self.next == next
    }

    /// Replaces the copy with the table's rows (id, code).
    pub(crate) fn reload(
        &mut self,
        rows: impl Iterator<Item = Result<(u64, String), StoreError>>,
    ) -> Result<(), StoreError> {
        self.ids.clear();
        self.next = 0;
        for row in rows {
            let (id, code) = row?;
            self.next = self.next.max(id + 1);
            self.ids.insert(code, id);
        }
        Ok(())
    }

    /// Store ids for `codes`: the known ones, new ones from the next id on (returned, in
    /// order, for the backend to insert).
    pub(crate) fn intern(&self, codes: &[&str]) -> (Vec<u64>, Vec<(u64, String)>) {
        intern(codes, &self.ids, self.next)
    }

    /// Adds the customers a committed run inserted.
    pub(crate) fn committed(&mut self, added: Vec<(u64, String)>) {
        for (id, code) in added {
            self.next = self.next.max(id + 1);
            self.ids.insert(code, id);
        }
    }
}

/// Store ids for `codes`: the known ones from `known`, new ones from `next` on (returned, in
/// order, for the backend to insert).
fn intern(
    codes: &[&str],
    known: &HashMap<String, u64>,
    mut next: u64,
) -> (Vec<u64>, Vec<(u64, String)>) {
    let mut new: HashMap<&str, u64> = HashMap::new();
    let mut added = Vec::new();
    let ids = codes
        .iter()
        .map(|&c| match known.get(c).or_else(|| new.get(c)) {
            Some(&id) => id,
            None => {
                let id = next;
                next += 1;
                new.insert(c, id);
                added.push((id, c.to_string()));
                id
            }
        })
        .collect();
    (ids, added)
}
