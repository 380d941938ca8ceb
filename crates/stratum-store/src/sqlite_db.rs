//! The embedded store: one SQLite file in WAL mode (readers never wait for a writer), a run
//! written in one `BEGIN IMMEDIATE` transaction (writers queue, a killed writer leaves
//! nothing: SQLite rolls the journal back when the file is next opened).

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::access::Value;
use crate::chunk::{self, CHUNK, Piece};
use crate::schema::{SQLITE, VERSION_TABLE, latest, pending};
use crate::{
    Backend, BuildChunks, KnownCustomers, RunInfo, RunRow, SchemeVersion, StoreError, TierTotalRow,
    VersionRow, run_info,
};

/// A SQLite store.
pub(crate) struct SqliteDb {
    conn: Connection,
    known: KnownCustomers,
}

impl SqliteDb {
    /// Opens or creates the file.
    pub(crate) fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // pages read through a memory map instead of copied from the file: a customer's
        // history reads its chunk of every run (SQLite caps the map at 2 GiB)
        conn.pragma_update(None, "mmap_size", 1i64 << 31)?;
        Ok(SqliteDb {
            conn,
            known: KnownCustomers::default(),
        })
    }
}

impl Backend for SqliteDb {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        match stmt.execute(rusqlite::params_from_iter(params.iter().map(bound))) {
            Ok(n) => Ok(n as u64),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                Err(StoreError::Conflict)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn execute_all(&mut self, statements: &[crate::Statement<'_>]) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (sql, params, required) in statements {
            let mut stmt = tx.prepare_cached(sql)?;
            let n = stmt
                .execute(rusqlite::params_from_iter(params.iter().map(bound)))
                .map_err(|e| match e {
                    rusqlite::Error::SqliteFailure(f, _)
                        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
                    {
                        StoreError::Conflict
                    }
                    e => e.into(),
                })?;
            if *required && n == 0 {
                // dropping the transaction rolls it back
                return Err(StoreError::Conflict);
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>, StoreError> {
        use rusqlite::types::ValueRef;
        let mut stmt = self.conn.prepare_cached(sql)?;
        let n = stmt.column_count();
        let rows = stmt.query_map(rusqlite::params_from_iter(params.iter().map(bound)), |r| {
            (0..n)
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        ValueRef::Null => Value::Null,
                        ValueRef::Integer(x) => Value::Int(x),
                        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                        ValueRef::Real(x) => Value::Text(x.to_string()),
                        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
                    })
                })
                .collect()
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(VERSION_TABLE, [])?;
        let applied: i64 = tx.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM stratum_migrations",
            [],
            |r| r.get(0),
        )?;
        if applied > latest() {
            return Err(StoreError::TooNew {
                found: applied,
                known: latest(),
            });
        }
        for (version, sql) in pending(applied, SQLITE) {
            tx.execute_batch(&sql)?;
            tx.execute(
                "INSERT INTO stratum_migrations (version, applied_at) VALUES (?1, ?2)",
                params![version, now()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn record(
        &mut self,
        row: &RunRow<'_>,
        codes: &[&str],
        build: BuildChunks<'_>,
    ) -> Result<i64, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        refresh(&mut self.known, &tx)?;
        let (ids, added) = self.known.intern(codes);
        {
            let mut insert = tx.prepare("INSERT INTO customers (id, code) VALUES (?1, ?2)")?;
            for (id, code) in &added {
                insert.execute(params![*id as i64, code])?;
            }
        }
        let id: i64 = tx.query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM runs", [], |r| {
            r.get(0)
        })?;
        tx.execute(
            "INSERT INTO runs (id, as_of, started_at, finished_at, tool_version, scheme_name,
                scheme_hash, scheme_text, settings, inputs, summary, layout, customers,
                revenue_units)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                id,
                row.as_of,
                row.meta.started_at,
                row.meta.finished_at,
                row.meta.tool_version,
                row.scheme_name,
                row.scheme_hash,
                row.meta.scheme_text,
                row.meta.settings.to_string(),
                row.meta.inputs.to_string(),
                row.summary,
                row.layout,
                row.customers,
                row.revenue_units,
            ],
        )?;
        {
            let mut insert = tx.prepare(
                "INSERT INTO run_chunks (run, chunk, customers, data) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut profile =
                tx.prepare("INSERT INTO run_profiles (run, chunk, data) VALUES (?1, ?2, ?3)")?;
            for (chunk, customers, data, columns) in build(&ids)? {
                insert.execute(params![id, chunk, customers, data])?;
                if let Some(columns) = columns {
                    profile.execute(params![id, chunk, columns])?;
                }
            }
        }
        {
            let mut insert = tx.prepare(
                "INSERT INTO run_tiers (run, dimension, tier, customers, revenue_units)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (dimension, tier, customers, units) in &row.tiers {
                insert.execute(params![id, dimension, tier, customers, units])?;
            }
        }
        if let Some(v) = row.version(id) {
            add_version(&tx, &v.row())?;
        }
        {
            let mut insert = tx.prepare(
                "INSERT INTO alert_outbox (id, run, alert, recipient, channel, payload, status,
                    attempts, next_attempt_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7, ?7)",
            )?;
            let created = now();
            for m in &row.messages {
                insert.execute(params![
                    m.id(id),
                    id,
                    m.alert,
                    m.recipient,
                    m.channel,
                    m.payload,
                    created
                ])?;
            }
        }
        tx.commit()?;
        self.known.committed(added);
        Ok(id)
    }

    fn ids(&mut self, codes: &[&str]) -> Result<(Vec<u64>, u64), StoreError> {
        let next = refresh(&mut self.known, &self.conn)?;
        Ok((self.known.intern(codes).0, next))
    }

    fn add_version(&mut self, v: &VersionRow<'_>) -> Result<(i64, bool), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = add_version(&tx, v)?;
        tx.commit()?;
        Ok(out)
    }

    fn versions(&mut self) -> Result<Vec<SchemeVersion>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, hash, name, text, message, author, created_at
             FROM scheme_versions ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SchemeVersion {
                id: r.get(0)?,
                hash: r.get(1)?,
                name: r.get(2)?,
                text: r.get(3)?,
                message: r.get(4)?,
                author: r.get(5)?,
                created_at: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn tier_totals(&mut self, run: i64) -> Result<Vec<TierTotalRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT dimension, tier, customers, revenue_units FROM run_tiers WHERE run = ?1",
        )?;
        let rows = stmt.query_map([run], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn scheme_text(&mut self, run: i64) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT scheme_text FROM runs WHERE id = ?1", [run], |r| {
                r.get::<_, Option<String>>(0)
            })
            .optional()?
            .ok_or(StoreError::NoRun(run))
    }

    fn runs(&mut self) -> Result<Vec<(RunInfo, String)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, as_of, started_at, finished_at, tool_version, scheme_name, scheme_hash,
                customers, revenue_units, layout
             FROM runs ORDER BY id",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let as_of: String = r.get(1)?;
            let revenue: String = r.get(8)?;
            let info = run_info(
                r.get(0)?,
                &as_of,
                (r.get(2)?, r.get(3)?),
                r.get(4)?,
                (r.get(5)?, r.get(6)?),
                r.get(7)?,
                &revenue,
            )?;
            out.push((info, r.get(9)?));
        }
        Ok(out)
    }

    fn customer(&mut self, code: &str) -> Result<Option<u64>, StoreError> {
        let id: Option<i64> = self
            .conn
            .query_row("SELECT id FROM customers WHERE code = ?1", [code], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(id.map(|i| i as u64))
    }

    fn customer_chunks(
        &mut self,
        code: &str,
        each: &mut dyn FnMut(u64, i64, Piece<'_>) -> Result<(), StoreError>,
    ) -> Result<bool, StoreError> {
        let Some(id) = self.customer(code)? else {
            return Ok(false);
        };
        // the chunks' rows from the index alone, then of each chunk its index and the one
        // frame, read in place (a chunk spans about ten overflow pages)
        let mut stmt = self
            .conn
            .prepare_cached("SELECT rowid, run FROM run_chunks WHERE chunk = ?1 ORDER BY run")?;
        let rows = stmt
            .query_map([(id / CHUNK) as i64], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let Some(&(first, _)) = rows.first() else {
            return Ok(true);
        };
        let mut blob = self
            .conn
            .blob_open(rusqlite::MAIN_DB, "run_chunks", "data", first, true)?;
        let (mut index, mut frame) = (Vec::new(), Vec::new());
        for (row, run) in rows {
            blob.reopen(row)?;
            let mut head = [0u8; chunk::HEAD];
            let read = blob.read_at(&mut head, 0)?;
            match chunk::index_len(&head[..read]) {
                Some(len) => {
                    index.resize(len, 0);
                    blob.read_at_exact(&mut index, 0)?;
                    if let Some(r) = chunk::frame_range(&index, id)? {
                        frame.resize(r.len(), 0);
                        blob.read_at_exact(&mut frame, r.start)?;
                        each(id, run, Piece::Frame(&frame))?;
                    }
                }
                None => {
                    frame.resize(blob.len(), 0);
                    blob.read_at_exact(&mut frame, 0)?;
                    each(id, run, Piece::Chunk(&frame))?;
                }
            }
        }
        Ok(true)
    }

    fn run_chunks(&mut self, run: i64) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT data FROM run_chunks WHERE run = ?1 ORDER BY chunk")?;
        let rows = stmt.query_map([run], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn messages(&mut self, due: Option<&str>) -> Result<Vec<crate::outbox::Message>, StoreError> {
        let sql = "SELECT o.id, o.run, r.as_of, o.channel, o.payload, o.status, o.attempts,
                o.next_attempt_at, o.created_at, o.last_error, o.delivered_at
             FROM alert_outbox o JOIN runs r ON r.id = o.run
             WHERE ?1 IS NULL OR (o.status = 'pending' AND o.next_attempt_at <= ?1)
             ORDER BY o.created_at, o.run, o.id";
        let mut stmt = self.conn.prepare(sql)?;
        let mut rows = stmt.query([due])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let (channel, payload, status): (String, String, String) =
                (r.get(3)?, r.get(4)?, r.get(5)?);
            out.push(crate::outbox::message(
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                &channel,
                &payload,
                &status,
                r.get(6)?,
                (r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?),
            )?);
        }
        Ok(out)
    }

    fn attempted(
        &mut self,
        id: &str,
        at: &str,
        outcome: &crate::outbox::Outcome,
    ) -> Result<(), StoreError> {
        let (status, code, error) = outcome.parts();
        let next = match outcome {
            crate::outbox::Outcome::Retry { next, .. } => Some(next.as_str()),
            _ => None,
        };
        let delivered = (status == crate::outbox::Status::Delivered).then_some(at);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE alert_outbox SET status = ?2, attempts = attempts + 1,
                next_attempt_at = COALESCE(?3, next_attempt_at), last_error = ?4,
                delivered_at = COALESCE(?5, delivered_at)
             WHERE id = ?1 AND status = 'pending'",
            params![id, status.code(), next, error, delivered],
        )?;
        tx.execute(
            "INSERT INTO alert_attempts (message, n, at, outcome, detail)
             VALUES (?1, (SELECT attempts FROM alert_outbox WHERE id = ?1), ?2, ?3, ?4)",
            params![id, at, code, error.unwrap_or("")],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn claim(&mut self, id: &str, now: &str, until: &str) -> Result<bool, StoreError> {
        let changed = self.conn.execute(
            "UPDATE alert_outbox SET next_attempt_at = ?3
             WHERE id = ?1 AND status = 'pending' AND next_attempt_at <= ?2",
            params![id, now, until],
        )?;
        Ok(changed == 1)
    }

    fn attempts(&mut self, id: &str) -> Result<Vec<(String, String, String)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT at, outcome, detail FROM alert_attempts WHERE message = ?1 ORDER BY n",
        )?;
        let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn run_profiles(&mut self, run: i64) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT data FROM run_profiles WHERE run = ?1 ORDER BY chunk")?;
        let rows = stmt.query_map([run], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn codes(&mut self, ids: &[u64]) -> Result<HashMap<u64, String>, StoreError> {
        // many ids: one pass over the table beats a lookup each
        if ids.len() > 10_000 {
            let wanted: std::collections::HashSet<u64> = ids.iter().copied().collect();
            let mut stmt = self.conn.prepare("SELECT id, code FROM customers")?;
            let mut rows = stmt.query([])?;
            let mut out = HashMap::with_capacity(wanted.len());
            while let Some(r) = rows.next()? {
                let id = r.get::<_, i64>(0)? as u64;
                if wanted.contains(&id) {
                    out.insert(id, r.get(1)?);
                }
            }
            return Ok(out);
        }
        let mut stmt = self
            .conn
            .prepare_cached("SELECT code FROM customers WHERE id = ?1")?;
        let mut out = HashMap::with_capacity(ids.len());
        for &id in ids {
            if let Some(code) = stmt
                .query_row([id as i64], |r| r.get::<_, String>(0))
                .optional()?
            {
                out.insert(id, code);
            }
        }
        Ok(out)
    }

    fn prune(&mut self, keep: usize) -> Result<usize, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let cutoff: Option<i64> = if keep == 0 {
            Some(i64::MAX)
        } else {
            tx.query_row(
                "SELECT id FROM runs ORDER BY id DESC LIMIT 1 OFFSET ?1",
                [keep - 1],
                |r| r.get(0),
            )
            .optional()?
        };
        let deleted = match cutoff {
            Some(oldest_kept) => {
                tx.execute("DELETE FROM run_chunks WHERE run < ?1", [oldest_kept])?;
                tx.execute("DELETE FROM run_profiles WHERE run < ?1", [oldest_kept])?;
                tx.execute("DELETE FROM runs WHERE id < ?1", [oldest_kept])?
            }
            None => 0,
        };
        tx.commit()?;
        Ok(deleted)
    }
}

/// Adds `v` unless a version has its text; returns its id and whether it is new.
fn add_version(conn: &Connection, v: &VersionRow<'_>) -> Result<(i64, bool), StoreError> {
    let known: Option<i64> = conn
        .query_row(
            "SELECT id FROM scheme_versions WHERE hash = ?1",
            [v.hash],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = known {
        return Ok((id, false));
    }
    let id: i64 = conn.query_row(
        "SELECT COALESCE(MAX(id), 0) + 1 FROM scheme_versions",
        [],
        |r| r.get(0),
    )?;
    conn.execute(
        "INSERT INTO scheme_versions (id, hash, name, text, message, author, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            id,
            v.hash,
            v.name,
            v.text,
            v.message,
            v.author,
            v.created_at
        ],
    )?;
    Ok((id, true))
}

/// Reads the customers table into `known` unless it holds the table already; returns the
/// table's next id.
fn refresh(known: &mut KnownCustomers, conn: &Connection) -> Result<u64, StoreError> {
    let next: i64 = conn.query_row("SELECT COALESCE(MAX(id) + 1, 0) FROM customers", [], |r| {
        r.get(0)
    })?;
    if !known.is_current(next as u64) {
        let mut stmt = conn.prepare("SELECT id, code FROM customers")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?;
        known.reload(rows.map(|r| r.map_err(StoreError::from)))?;
    }
    Ok(next as u64)
}

/// The time now, RFC 3339 in UTC.
/// A value as SQLite binds it.
fn bound(v: &Value) -> rusqlite::types::Value {
    match v {
        Value::Null => rusqlite::types::Value::Null,
        Value::Int(n) => rusqlite::types::Value::Integer(*n),
        Value::Text(s) => rusqlite::types::Value::Text(s.clone()),
        Value::Bytes(b) => rusqlite::types::Value::Blob(b.clone()),
    }
}

pub(crate) fn now() -> String {
    chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
