//! The store's tables: one list of migrations for both databases, written once with the two
//! places their SQL differs (the binary type and the text type of long documents) filled in
//! per database.

/// The migrations, in order; the version of each is its position counting from 1.
const MIGRATIONS: [&str; 9] = [
    // 1: runs, the customers they scored (ids interned once), and each run's customers in
    // compressed chunks of store ids (see `chunk`)
    "CREATE TABLE runs (
        id BIGINT PRIMARY KEY,
        as_of TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        tool_version TEXT NOT NULL,
        scheme_name TEXT,
        scheme_hash TEXT,
        scheme_text TEXT,
        settings TEXT NOT NULL,
        inputs TEXT NOT NULL,
        summary TEXT NOT NULL,
        layout TEXT NOT NULL,
        customers BIGINT NOT NULL,
        revenue_units TEXT NOT NULL
    );
    CREATE TABLE customers (
        id BIGINT PRIMARY KEY,
        code TEXT NOT NULL UNIQUE
    );
    CREATE TABLE run_chunks (
        run BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        chunk BIGINT NOT NULL,
        customers BIGINT NOT NULL,
        data {blob} NOT NULL,
        PRIMARY KEY (run, chunk)
    );
    CREATE INDEX run_chunks_by_chunk ON run_chunks (chunk, run);",
    // 2: scheme versions: every scheme a run used, and those published on purpose, once per
    // text (by its sha256); the runs kept so far give the first versions
    "CREATE TABLE scheme_versions (
        id BIGINT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        name TEXT,
        text TEXT NOT NULL,
        message TEXT NOT NULL,
        author TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    INSERT INTO scheme_versions (id, hash, name, text, message, author, created_at)
        SELECT ROW_NUMBER() OVER (ORDER BY MIN(id)), scheme_hash, MIN(scheme_name),
            MIN(scheme_text), 'first used by run ' || CAST(MIN(id) AS TEXT), '',
            MIN(started_at)
        FROM runs
        WHERE scheme_hash IS NOT NULL AND scheme_text IS NOT NULL
        GROUP BY scheme_hash;",
    // 3: each run's customers and net revenue per tier of every dimension (the scheme's, and
    // rfm_class, rfm_segment, abc_class), exact, so the history's tier sizes need not decode
    // the run; runs kept before have none and are decoded
    "CREATE TABLE run_tiers (
        run BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        dimension TEXT NOT NULL,
        tier TEXT NOT NULL,
        customers BIGINT NOT NULL,
        revenue_units TEXT NOT NULL,
        PRIMARY KEY (run, dimension, tier)
    );",
    // 4: each run's customer profiles (every column a rule could read), in the chunks of
    // `run_chunks`, column by column: what a draft scheme is previewed on and alerts compare;
    // runs kept before have none
    "CREATE TABLE run_profiles (
        run BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        chunk BIGINT NOT NULL,
        data {blob} NOT NULL,
        PRIMARY KEY (run, chunk)
    );",
    // 5: the alerts' outbox: one message per digest and channel, written with its run, and
    // every attempt to deliver one
    "CREATE TABLE alert_outbox (
        id TEXT PRIMARY KEY,
        run BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        alert TEXT NOT NULL,
        recipient TEXT NOT NULL,
        channel TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts BIGINT NOT NULL,
        next_attempt_at TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_error TEXT,
        delivered_at TEXT
    );
    CREATE INDEX alert_outbox_due ON alert_outbox (status, next_attempt_at);
    CREATE TABLE alert_attempts (
        message TEXT NOT NULL REFERENCES alert_outbox (id) ON DELETE CASCADE,
        n BIGINT NOT NULL,
        at TEXT NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX alert_attempts_by_message ON alert_attempts (message, n);",
    // 6: the server's users (passwords as argon2 hashes), their browser sessions and API
    // tokens (kept as sha256 hashes of their secrets), and the audit log of who changed what
    "CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        manager TEXT,
        password_hash TEXT,
        created_at TEXT NOT NULL,
        disabled BIGINT NOT NULL
    );
    CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
        csrf TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
        label TEXT NOT NULL,
        secret_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE TABLE audit_log (
        seq {serial},
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX audit_log_by_time ON audit_log (at, seq);",
    // 7: tier review by sales: every agreement or dispute of a customer's final tier in a
    // run, with its decision; and the overrides approved disputes become (one in force per
    // customer), which the next runs apply
    "CREATE TABLE reviews (
        id {serial},
        run BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        customer TEXT NOT NULL,
        dimension TEXT NOT NULL,
        tier TEXT NOT NULL,
        verdict TEXT NOT NULL,
        proposed TEXT,
        reason TEXT NOT NULL,
        reviewer TEXT NOT NULL,
        manager TEXT NOT NULL,
        created_at TEXT NOT NULL,
        status TEXT NOT NULL,
        decided_by TEXT,
        decided_at TEXT,
        answer TEXT,
        expires TEXT
    );
    CREATE INDEX reviews_by_run ON reviews (run, customer);
    CREATE INDEX reviews_by_status ON reviews (status, created_at);
    CREATE TABLE tier_overrides (
        customer TEXT PRIMARY KEY,
        tier TEXT NOT NULL,
        reason TEXT NOT NULL,
        set_by TEXT NOT NULL,
        set_on TEXT NOT NULL,
        expires TEXT,
        review BIGINT
    );",
    // 8: follow-ups (visits, calls, messages) recorded on the dashboard or imported from an
    // interactions file (an import once per customer, day and kind)
    "CREATE TABLE follow_ups (
        id {serial},
        customer TEXT NOT NULL,
        manager TEXT NOT NULL,
        kind TEXT NOT NULL,
        day TEXT NOT NULL,
        note TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        source TEXT NOT NULL
    );
    CREATE INDEX follow_ups_by_customer ON follow_ups (customer, day);
    CREATE INDEX follow_ups_by_manager ON follow_ups (manager, day);
    CREATE UNIQUE INDEX follow_ups_imported ON follow_ups (customer, day, kind) WHERE source = 'import';",
    // 9: the public pool: the customers whose owner the pool changed (released: owner '',
    // claimed: the claimer) or locked, and the log of every release, claim and lock
    "CREATE TABLE pool_owners (
        customer TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        since TEXT NOT NULL,
        locked BIGINT NOT NULL
    );
    CREATE TABLE pool_log (
        seq {serial},
        at TEXT NOT NULL,
        day TEXT NOT NULL,
        customer TEXT NOT NULL,
        action TEXT NOT NULL,
        from_owner TEXT NOT NULL,
        to_owner TEXT NOT NULL,
        reason TEXT NOT NULL,
        actor TEXT NOT NULL
    );
    CREATE INDEX pool_log_by_customer ON pool_log (customer, seq);",
];

/// A database's spelling of the types that differ.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dialect {
    /// Binary data.
    pub(crate) blob: &'static str,
    /// A key numbered by the database, in insertion order.
    pub(crate) serial: &'static str,
}

/// SQLite's spelling.
pub(crate) const SQLITE: Dialect = Dialect {
    blob: "BLOB",
    serial: "INTEGER PRIMARY KEY",
};

/// PostgreSQL's spelling.
pub(crate) const POSTGRES: Dialect = Dialect {
    blob: "BYTEA",
    serial: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
};

/// The table that records the migrations applied.
pub(crate) const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS stratum_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)";

/// The migrations after `applied`, as (version, SQL in `dialect`).
pub(crate) fn pending(applied: i64, dialect: Dialect) -> Vec<(i64, String)> {
    MIGRATIONS
        .iter()
        .enumerate()
        .map(|(i, sql)| {
            let sql = sql
                .replace("{blob}", dialect.blob)
                .replace("{serial}", dialect.serial);
            (i as i64 + 1, sql)
        })
        .filter(|(v, _)| *v > applied)
        .collect()
}

/// The newest version this build knows.
pub(crate) fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_is_pending_on_an_empty_database_and_none_after_the_last() {
        assert_eq!(pending(0, SQLITE).len(), MIGRATIONS.len());
        assert!(pending(latest(), POSTGRES).is_empty());
        assert!(pending(0, POSTGRES)[0].1.contains("BYTEA"));
        assert!(!pending(0, SQLITE)[0].1.contains('{'));
    }
}
