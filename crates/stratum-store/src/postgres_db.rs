//! The team store: PostgreSQL, the same tables as SQLite. A run is written in one transaction
//! that first locks the runs table against other writers (readers go on), new customers and the
//! chunks loaded with binary `COPY`.

use std::collections::HashMap;

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::{Client, GenericClient, NoTls};

use crate::access::Value;
use crate::chunk::{self, CHUNK, Piece};
use crate::schema::{POSTGRES, VERSION_TABLE, latest, pending};
use crate::sqlite_db::now;
use crate::{
    Backend, BuildChunks, KnownCustomers, RunInfo, RunRow, SchemeVersion, StoreError, TierTotalRow,
    VersionRow, run_info,
};

/// A PostgreSQL store.
pub(crate) struct PostgresDb {
    client: Client,
    known: KnownCustomers,
    /// The statements a customer's history runs, prepared once per connection (a query by
    /// text is parsed and planned again each time, in a round trip of its own).
    prepared: HashMap<&'static str, postgres::Statement>,
}

impl PostgresDb {
    /// Connects to `url` (credentials from the URL).
    pub(crate) fn connect(url: &str) -> Result<Self, StoreError> {
        Ok(PostgresDb {
            client: Client::connect(url, NoTls)?,
            known: KnownCustomers::default(),
            prepared: HashMap::new(),
        })
    }

    /// `sql`, prepared on this connection once.
    fn prepared(&mut self, sql: &'static str) -> Result<postgres::Statement, StoreError> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.prepared.insert(sql, s.clone());
        Ok(s)
    }
}

impl Backend for PostgresDb {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
        match self.client.execute(sql, &params) {
            Ok(n) => Ok(n),
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => Err(StoreError::Conflict),
            Err(e) => Err(e.into()),
        }
    }

    fn execute_all(&mut self, statements: &[crate::Statement<'_>]) -> Result<(), StoreError> {
        let mut tx = self.client.transaction()?;
        for (sql, params, required) in statements {
            let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
            let n = match tx.execute(*sql, &params) {
                Ok(n) => n,
                Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                    return Err(StoreError::Conflict);
                }
                Err(e) => return Err(e.into()),
            };
            if *required && n == 0 {
                // dropping the transaction rolls it back
                return Err(StoreError::Conflict);
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>, StoreError> {
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
        let rows = self.client.query(sql, &params)?;
        rows.iter()
            .map(|r| {
                r.columns()
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let ty = c.type_();
                        Ok(if *ty == Type::INT8 {
                            r.get::<_, Option<i64>>(i).map_or(Value::Null, Value::Int)
                        } else if *ty == Type::INT4 {
                            r.get::<_, Option<i32>>(i)
                                .map_or(Value::Null, |n| Value::Int(i64::from(n)))
                        } else if *ty == Type::TEXT || *ty == Type::VARCHAR {
                            r.get::<_, Option<String>>(i)
                                .map_or(Value::Null, Value::Text)
                        } else if *ty == Type::BYTEA {
                            r.get::<_, Option<Vec<u8>>>(i)
                                .map_or(Value::Null, Value::Bytes)
                        } else {
                            return Err(StoreError::Corrupt {
                                what: "column type",
                                value: ty.to_string(),
                            });
                        })
                    })
                    .collect()
            })
            .collect()
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let mut tx = self.client.transaction()?;
        tx.batch_execute(VERSION_TABLE)?;
        // one migrating process at a time
        tx.batch_execute("LOCK TABLE stratum_migrations IN EXCLUSIVE MODE")?;
        let applied: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM stratum_migrations",
                &[],
            )?
            .get(0);
        if applied > latest() {
            return Err(StoreError::TooNew {
                found: applied,
                known: latest(),
            });
        }
        for (version, sql) in pending(applied, POSTGRES) {
            tx.batch_execute(&sql)?;
            tx.execute(
                "INSERT INTO stratum_migrations (version, applied_at) VALUES ($1, $2)",
                &[&version, &now()],
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
        let mut tx = self.client.transaction()?;
        // writers one at a time; readers are not blocked
        tx.batch_execute("LOCK TABLE runs IN EXCLUSIVE MODE")?;
        refresh(&mut self.known, &mut tx)?;
        let (ids, added) = self.known.intern(codes);
        if !added.is_empty() {
            let sink = tx.copy_in("COPY customers (id, code) FROM STDIN (FORMAT binary)")?;
            let mut writer = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::TEXT]);
            for (id, code) in &added {
                writer.write(&[&(*id as i64), code])?;
            }
            writer.finish()?;
        }
        let id: i64 = tx
            .query_one("SELECT (COALESCE(MAX(id), 0) + 1)::BIGINT FROM runs", &[])?
            .get(0);
        let settings = row.meta.settings.to_string();
        let inputs = row.meta.inputs.to_string();
        tx.execute(
            "INSERT INTO runs (id, as_of, started_at, finished_at, tool_version, scheme_name,
                scheme_hash, scheme_text, settings, inputs, summary, layout, customers,
                revenue_units)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            &[
                &id,
                &row.as_of,
                &row.meta.started_at,
                &row.meta.finished_at,
                &row.meta.tool_version,
                &row.scheme_name,
                &row.scheme_hash,
                &row.meta.scheme_text,
                &settings,
                &inputs,
                &row.summary,
                &row.layout,
                &row.customers,
                &row.revenue_units,
            ],
        )?;
        let chunks = build(&ids)?;
        let sink =
            tx.copy_in("COPY run_chunks (run, chunk, customers, data) FROM STDIN (FORMAT binary)")?;
        let mut writer =
            BinaryCopyInWriter::new(sink, &[Type::INT8, Type::INT8, Type::INT8, Type::BYTEA]);
        for (chunk, customers, data, _) in &chunks {
            writer.write(&[&id, chunk, customers, data])?;
        }
        writer.finish()?;
        let sink = tx.copy_in("COPY run_profiles (run, chunk, data) FROM STDIN (FORMAT binary)")?;
        let mut writer = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::INT8, Type::BYTEA]);
        for (chunk, _, _, columns) in &chunks {
            if let Some(columns) = columns {
                writer.write(&[&id, chunk, columns])?;
            }
        }
        writer.finish()?;
        for (dimension, tier, customers, units) in &row.tiers {
            tx.execute(
                "INSERT INTO run_tiers (run, dimension, tier, customers, revenue_units)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&id, dimension, tier, customers, units],
            )?;
        }
        let created = crate::sqlite_db::now();
        for m in &row.messages {
            tx.execute(
                "INSERT INTO alert_outbox (id, run, alert, recipient, channel, payload, status,
                    attempts, next_attempt_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7)",
                &[
                    &m.id(id),
                    &id,
                    &m.alert,
                    &m.recipient,
                    &m.channel,
                    &m.payload,
                    &created,
                ],
            )?;
        }
        if let Some(v) = row.version(id) {
            tx.batch_execute("LOCK TABLE scheme_versions IN EXCLUSIVE MODE")?;
            add_version(&mut tx, &v.row())?;
        }
        tx.commit()?;
        self.known.committed(added);
        Ok(id)
    }

    fn ids(&mut self, codes: &[&str]) -> Result<(Vec<u64>, u64), StoreError> {
        let next = refresh(&mut self.known, &mut self.client)?;
        Ok((self.known.intern(codes).0, next))
    }

    fn add_version(&mut self, v: &VersionRow<'_>) -> Result<(i64, bool), StoreError> {
        let mut tx = self.client.transaction()?;
        // publishers one at a time (ids are the next number)
        tx.batch_execute("LOCK TABLE scheme_versions IN EXCLUSIVE MODE")?;
        let out = add_version(&mut tx, v)?;
        tx.commit()?;
        Ok(out)
    }

    fn versions(&mut self) -> Result<Vec<SchemeVersion>, StoreError> {
        let rows = self.client.query(
            "SELECT id, hash, name, text, message, author, created_at
             FROM scheme_versions ORDER BY id",
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|r| SchemeVersion {
                id: r.get(0),
                hash: r.get(1),
                name: r.get(2),
                text: r.get(3),
                message: r.get(4),
                author: r.get(5),
                created_at: r.get(6),
            })
            .collect())
    }

    fn tier_totals(&mut self, run: i64) -> Result<Vec<TierTotalRow>, StoreError> {
        let rows = self.client.query(
            "SELECT dimension, tier, customers, revenue_units FROM run_tiers WHERE run = $1",
            &[&run],
        )?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect())
    }

    fn scheme_text(&mut self, run: i64) -> Result<Option<String>, StoreError> {
        let row = self
            .client
            .query_opt("SELECT scheme_text FROM runs WHERE id = $1", &[&run])?
            .ok_or(StoreError::NoRun(run))?;
        Ok(row.get(0))
    }

    fn runs(&mut self) -> Result<Vec<(RunInfo, String)>, StoreError> {
        let rows = self.client.query(
            "SELECT id, as_of, started_at, finished_at, tool_version, scheme_name, scheme_hash,
                customers, revenue_units, layout
             FROM runs ORDER BY id",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                let as_of: String = r.get(1);
                let revenue: String = r.get(8);
                Ok((
                    run_info(
                        r.get(0),
                        &as_of,
                        (r.get(2), r.get(3)),
                        r.get(4),
                        (r.get(5), r.get(6)),
                        r.get(7),
                        &revenue,
                    )?,
                    r.get(9),
                ))
            })
            .collect()
    }

    fn customer(&mut self, code: &str) -> Result<Option<u64>, StoreError> {
        let statement = self.prepared("SELECT id FROM customers WHERE code = $1")?;
        let row = self.client.query_opt(&statement, &[&code])?;
        Ok(row.map(|r| r.get::<_, i64>(0) as u64))
    }

    fn customer_chunks(
        &mut self,
        code: &str,
        each: &mut dyn FnMut(u64, i64, Piece<'_>) -> Result<(), StoreError>,
    ) -> Result<bool, StoreError> {
        // each chunk's head and index first, then only the customer's frame of each: a chunk's
        // bytes do not compress, so PostgreSQL keeps them out of line uncompressed and a slice
        // reads only the pages it asks for
        // (the customer looked up in the same query)
        let most = chunk::MAX_INDEX as i32;
        let statement = self.prepared(
            "SELECT k.id, c.run, substring(c.data FROM 1 FOR $2) FROM customers k
             LEFT JOIN run_chunks c ON c.chunk = k.id / $3 WHERE k.code = $1",
        )?;
        let heads = self
            .client
            .query(&statement, &[&code, &most, &(CHUNK as i64)])?;
        let Some(id) = heads.first().map(|r| r.get::<_, i64>(0) as u64) else {
            return Ok(false);
        };
        let chunk = (id / CHUNK) as i64;
        let (mut runs, mut starts, mut lens, mut whole) = (vec![], vec![], vec![], vec![]);
        for r in &heads {
            let (Some(run), Some(head)): (Option<i64>, Option<&[u8]>) = (r.get(1), r.get(2)) else {
                continue;
            };
            match chunk::index_len(head) {
                Some(len) if len <= head.len() => {
                    if let Some(range) = chunk::frame_range(&head[..len], id)? {
                        let corrupt = || StoreError::Corrupt {
                            what: "chunk index",
                            value: format!("{range:?}"),
                        };
                        runs.push(run);
                        starts.push(i32::try_from(range.start + 1).map_err(|_| corrupt())?);
                        lens.push(i32::try_from(range.len()).map_err(|_| corrupt())?);
                    }
                }
                // format 1, or more frames than this build writes: the whole chunk
                _ => whole.push(run),
            }
        }
        if !runs.is_empty() {
            let statement = self.prepared(
                "SELECT f.run, substring(c.data FROM f.start FOR f.len)
                 FROM unnest($2::BIGINT[], $3::INT[], $4::INT[]) AS f (run, start, len)
                 JOIN run_chunks c ON c.run = f.run AND c.chunk = $1",
            )?;
            let frames = self
                .client
                .query(&statement, &[&chunk, &runs, &starts, &lens])?;
            for r in &frames {
                each(id, r.get(0), Piece::Frame(r.get(1)))?;
            }
        }
        if !whole.is_empty() {
            let rows = self.client.query(
                "SELECT run, data FROM run_chunks WHERE chunk = $1 AND run = ANY($2)",
                &[&chunk, &whole],
            )?;
            for r in &rows {
                each(id, r.get(0), Piece::Chunk(r.get(1)))?;
            }
        }
        Ok(true)
    }

    fn run_chunks(&mut self, run: i64) -> Result<Vec<Vec<u8>>, StoreError> {
        let rows = self.client.query(
            "SELECT data FROM run_chunks WHERE run = $1 ORDER BY chunk",
            &[&run],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn messages(&mut self, due: Option<&str>) -> Result<Vec<crate::outbox::Message>, StoreError> {
        let rows = self.client.query(
            "SELECT o.id, o.run, r.as_of, o.channel, o.payload, o.status, o.attempts,
                o.next_attempt_at, o.created_at, o.last_error, o.delivered_at
             FROM alert_outbox o JOIN runs r ON r.id = o.run
             WHERE $1::TEXT IS NULL OR (o.status = 'pending' AND o.next_attempt_at <= $1)
             ORDER BY o.created_at, o.run, o.id",
            &[&due],
        )?;
        rows.iter()
            .map(|r| {
                crate::outbox::message(
                    r.get(0),
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    r.get(4),
                    r.get(5),
                    r.get(6),
                    (r.get(7), r.get(8), r.get(9), r.get(10)),
                )
            })
            .collect()
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
        let mut tx = self.client.transaction()?;
        tx.execute(
            "UPDATE alert_outbox SET status = $2, attempts = attempts + 1,
                next_attempt_at = COALESCE($3, next_attempt_at), last_error = $4,
                delivered_at = COALESCE($5, delivered_at)
             WHERE id = $1 AND status = 'pending'",
            &[&id, &status.code(), &next, &error, &delivered],
        )?;
        tx.execute(
            "INSERT INTO alert_attempts (message, n, at, outcome, detail)
             VALUES ($1, (SELECT attempts FROM alert_outbox WHERE id = $1), $2, $3, $4)",
            &[&id, &at, &code, &error.unwrap_or("")],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn claim(&mut self, id: &str, now: &str, until: &str) -> Result<bool, StoreError> {
        let changed = self.client.execute(
            "UPDATE alert_outbox SET next_attempt_at = $3
             WHERE id = $1 AND status = 'pending' AND next_attempt_at <= $2",
            &[&id, &now, &until],
        )?;
        Ok(changed == 1)
    }

    fn attempts(&mut self, id: &str) -> Result<Vec<(String, String, String)>, StoreError> {
        let rows = self.client.query(
            "SELECT at, outcome, detail FROM alert_attempts WHERE message = $1 ORDER BY n",
            &[&id],
        )?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    fn run_profiles(&mut self, run: i64) -> Result<Vec<Vec<u8>>, StoreError> {
        let rows = self.client.query(
            "SELECT data FROM run_profiles WHERE run = $1 ORDER BY chunk",
            &[&run],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn codes(&mut self, ids: &[u64]) -> Result<HashMap<u64, String>, StoreError> {
        let ids: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
        let rows = self
            .client
            .query("SELECT id, code FROM customers WHERE id = ANY($1)", &[&ids])?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, i64>(0) as u64, r.get(1)))
            .collect())
    }

    fn prune(&mut self, keep: usize) -> Result<usize, StoreError> {
        let mut tx = self.client.transaction()?;
        tx.batch_execute("LOCK TABLE runs IN EXCLUSIVE MODE")?;
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let cutoff: Option<i64> = if keep == 0 {
            Some(i64::MAX)
        } else {
            tx.query_opt(
                "SELECT id FROM runs ORDER BY id DESC LIMIT 1 OFFSET $1",
                &[&(keep - 1)],
            )?
            .map(|r| r.get(0))
        };
        let deleted = match cutoff {
            Some(oldest_kept) => {
                tx.execute("DELETE FROM run_chunks WHERE run < $1", &[&oldest_kept])?;
                tx.execute("DELETE FROM run_profiles WHERE run < $1", &[&oldest_kept])?;
                tx.execute("DELETE FROM runs WHERE id < $1", &[&oldest_kept])?
            }
            None => 0,
        };
        tx.commit()?;
        Ok(deleted as usize)
    }
}

/// Reads the customers table into `known` unless it holds the table already; returns the
/// table's next id.
impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(postgres::types::IsNull::Yes),
            Value::Int(n) => n.to_sql(ty, out),
            Value::Text(s) => s.to_sql(ty, out),
            Value::Bytes(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        <i64 as ToSql>::accepts(ty)
            || <String as ToSql>::accepts(ty)
            || <Vec<u8> as ToSql>::accepts(ty)
    }

    postgres::types::to_sql_checked!();
}

fn refresh(known: &mut KnownCustomers, db: &mut impl GenericClient) -> Result<u64, StoreError> {
    let next: i64 = db
        .query_one(
            "SELECT (COALESCE(MAX(id) + 1, 0))::BIGINT FROM customers",
            &[],
        )?
        .get(0);
    if !known.is_current(next as u64) {
        let rows = db.query("SELECT id, code FROM customers", &[])?;
        known.reload(
            rows.iter()
                .map(|r| Ok((r.get::<_, i64>(0) as u64, r.get(1)))),
        )?;
    }
    Ok(next as u64)
}

/// Adds `v` unless a version has its text; returns its id and whether it is new.
fn add_version(db: &mut impl GenericClient, v: &VersionRow<'_>) -> Result<(i64, bool), StoreError> {
    if let Some(row) = db.query_opt("SELECT id FROM scheme_versions WHERE hash = $1", &[&v.hash])? {
        return Ok((row.get(0), false));
    }
    let id: i64 = db
        .query_one(
            "SELECT (COALESCE(MAX(id), 0) + 1)::BIGINT FROM scheme_versions",
            &[],
        )?
        .get(0);
    db.execute(
        "INSERT INTO scheme_versions (id, hash, name, text, message, author, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &id,
            &v.hash,
            &v.name,
            &v.text,
            &v.message,
            &v.author,
            &v.created_at,
        ],
    )?;
    Ok((id, true))
}
