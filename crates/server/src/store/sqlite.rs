//! SQLite backend: sqlx pool in WAL mode with embedded migrations; the queries are the shared
//! SQL implementation in `sql.rs`, write transactions start with `BEGIN IMMEDIATE`.

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::prelude::*;
use super::sql::atomic::impl_sql_atomic;
use super::sql::audit::impl_sql_audit;
use super::sql::upstreams::impl_sql_upstreams;
use super::sql::{
    consent_from_row, count_u32, db_err, from_doc, impl_sql_store, insert_err, to_doc,
};
use super::{
    AuditFilter, AuditRecord, CODE_RETENTION_SECS, ClientRecord, CodeRecord, ConnectOptions,
    ConsentRecord, ConsumeOutcome, GRANT_RETENTION_SECS, GcReport, GrantRecord, GroupRecord,
    LOGIN_FAILURE_RETENTION_SECS, MirrorEntry, RefreshRecord, RefreshStatus, RoleRecord,
    RotateOutcome, SessionRecord, SigningKeyRecord, StoreError, StoreResult, StoredAuditRecord,
    UpstreamLinkRecord, UpstreamRecord, UserRecord, union_scope,
};

/// Connections of a file database: readers run in parallel under WAL, writers serialise on the
/// database lock anyway, so a small pool suffices.
const FILE_POOL_SIZE: u32 = 8;

/// A store backed by one SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating when missing) the database at `url` — `sqlite://path.db`,
    /// `sqlite:path.db` or `sqlite::memory:` — and applies the embedded migrations.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, ConnectOptions::default()).await
    }

    /// [`SqliteStore::connect`] with the given timeouts: a writer waits up to the statement
    /// timeout for the database lock (concurrent writers queue), a request up to the acquire
    /// timeout for a connection.
    pub async fn connect_with(url: &str, timeouts: ConnectOptions) -> StoreResult<Self> {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let options = SqliteConnectOptions::from_str(url)
            .map_err(db_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL, not NORMAL: in WAL mode NORMAL may lose the last commits on power loss, and
            // every grant-state change (consumed code, rotation, revocation) must be durable
            // before the HTTP response leaves (DUR-1). FULL fsyncs the WAL at each commit.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(timeouts.statement_timeout);
        if !in_memory {
            create_private(options.get_filename())?;
        }
        let pool_options = if in_memory {
            // Each in-memory database lives as long as its connections: one connection, never
            // recycled, holds it. (Shared-cache table locks would not honour busy_timeout.)
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(FILE_POOL_SIZE)
        };
        let pool = pool_options
            .acquire_timeout(timeouts.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(db_err)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(format!("sqlite migration: {e}")))?;
        Ok(Self { pool })
    }

    /// Closes every connection, flushing the WAL; the store is unusable afterwards.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a write transaction holding the database write lock from its first statement, so
    /// no read-check-write inside it can interleave with another writer.
    ///
    /// The `BEGIN` runs as a task of its own: a caller that goes away while it waits for the
    /// lock (a request whose client disconnected) must not leave the pooled connection to take
    /// the lock afterwards and keep it, open, with nobody to end it, which would lock every
    /// other writer out. The task hands the transaction over or, if nobody waits any more,
    /// drops it, which rolls it back.
    async fn begin_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        let pool = self.pool.clone();
        tokio::spawn(async move { pool.begin_with("BEGIN IMMEDIATE").await })
            .await
            .map_err(|e| StoreError::Backend(format!("transaction start: {e}")))?
            .map_err(db_err)
    }

    /// Whether this transaction may collect garbage: always, `BEGIN IMMEDIATE` already keeps
    /// every other writer out.
    async fn gc_turn(_tx: &mut Transaction<'static, Sqlite>) -> StoreResult<bool> {
        Ok(true)
    }

    /// Serialises the transactions of one throttle key: nothing to do, the `BEGIN IMMEDIATE`
    /// write transaction already excludes every other writer.
    async fn lock_throttle_key(
        _tx: &mut Transaction<'static, Sqlite>,
        _key: &str,
    ) -> StoreResult<()> {
        Ok(())
    }

    /// Serialises the transactions that create signing keys: nothing to do, `BEGIN IMMEDIATE`
    /// already excludes every other writer.
    async fn lock_signing_keys(_tx: &mut Transaction<'static, Sqlite>) -> StoreResult<()> {
        Ok(())
    }
}

/// The directory a database file goes in (`.` for a bare file name).
fn parent_dir(path: &std::path::Path) -> &std::path::Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    }
}

/// Creates the database file readable and writable by its owner only (0600) when missing; it
/// holds password hashes and grant state. SQLite gives the `-wal`, `-shm` and `-journal` files it
/// creates beside it the database file's mode.
fn create_private(path: &std::path::Path) -> StoreResult<()> {
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    match open.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !parent_dir(path).is_dir() => {
            Err(StoreError::Backend(format!(
                "the directory {} does not exist: create it, or give the database a path in an \
                 existing directory",
                parent_dir(path).display()
            )))
        }
        Err(e) => Err(StoreError::Backend(format!(
            "creating {}: {e}",
            path.display()
        ))),
    }
}

impl_sql_atomic!(SqliteStore, Sqlite, "", "", "rowid");
impl_sql_store!(SqliteStore);
impl_sql_upstreams!(SqliteStore);
impl_sql_audit!(SqliteStore);

/// The SQLite schema's migrations, embedded at build time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl SqliteStore {
    /// The migrations this build expects to find applied.
    fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }
}

#[cfg(test)]
impl SqliteStore {
    /// The connection pool, to read what was stored as the database has it.
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Writes a client document as given, bypassing the record type (to store damaged data).
    pub(crate) async fn put_raw_client_doc(&self, client_id: &str, doc: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO clients (client_id, doc) VALUES ($1, $2)")
            .bind(client_id)
            .bind(doc)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(super::sql::db_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{CodeRecord, ConsumeOutcome};
    use portcullis_types::{CodeChallengeMethod, Scope};

    fn code(hash: &str) -> CodeRecord {
        CodeRecord {
            code_hash: hash.into(),
            client_id: "c1".into(),
            user_id: "u1".into(),
            grant_id: "g1".into(),
            redirect_uri: "https://app.example/cb".into(),
            scope: Scope::parse("openid").unwrap(),
            nonce: None,
            code_challenge: Some("ch".into()),
            code_challenge_method: Some(CodeChallengeMethod::S256),
            auth_time: 100,
            sid: None,
            resource: vec![],
            extra: serde_json::Value::Null,
            expires_at: 1_000,
            consumed_at: None,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_abandoned_at_any_point_leave_every_connection_usable() {
        use std::time::Duration;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("c.db").display());
        let store = std::sync::Arc::new(SqliteStore::connect(&url).await.unwrap());
        // Many writers at once, each given up after a different short while: some before their
        // transaction starts, some inside it, some while it commits.
        let mut tasks = Vec::new();
        for i in 0..400u64 {
            let store = std::sync::Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                let budget = Duration::from_micros((i * 37) % 3000);
                let _ = tokio::time::timeout(
                    budget,
                    store.register_attempt(&format!("k{}", i % 7), 100, 60),
                )
                .await;
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        for i in 0..FILE_POOL_SIZE * 3 {
            tokio::time::timeout(
                Duration::from_secs(2),
                store.register_attempt(&format!("after{i}"), 100, 60),
            )
            .await
            .expect("a write waited for a lock nobody releases")
            .expect("a connection was left inside a transaction");
        }
    }

    #[tokio::test]
    async fn readiness_needs_the_schema_at_this_builds_migration() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("r.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        store.health().await.unwrap();
        // A newer build migrated the database further: still ready (rolling upgrades).
        sqlx::query(
            "UPDATE _sqlx_migrations SET version = version + 1000 \
             WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        store.health().await.unwrap();
        // Restored from before this build's newest migration: not ready.
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)")
            .execute(&store.pool)
            .await
            .unwrap();
        let err = store.health().await.unwrap_err().to_string();
        assert!(err.contains("this build expects"), "{err}");
        // The database was emptied under the running server.
        sqlx::query("DROP TABLE _sqlx_migrations")
            .execute(&store.pool)
            .await
            .unwrap();
        let err = store.health().await.unwrap_err().to_string();
        assert!(err.contains("schema version unreadable"), "{err}");
    }

    #[tokio::test]
    async fn pragmas_are_applied() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("p.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(mode.to_lowercase(), "wal");
        let (fk,): (i64,) = sqlx::query_as("PRAGMA foreign_keys")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(fk, 1);
        let (sync,): (i64,) = sqlx::query_as("PRAGMA synchronous")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(sync, 2, "synchronous=FULL");
        let (busy,): (i64,) = sqlx::query_as("PRAGMA busy_timeout")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert!(busy >= 1_000);
        store.close().await;
    }

    #[tokio::test]
    async fn dur_2_consumed_code_stays_consumed_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("dur2.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        store.insert_code(code("h-dur2")).await.unwrap();
        assert!(matches!(
            store.consume_code("h-dur2", 10).await.unwrap(),
            ConsumeOutcome::Consumed(_)
        ));
        store.close().await;
        drop(store);

        let reopened = SqliteStore::connect(&url).await.unwrap();
        match reopened.consume_code("h-dur2", 11).await.unwrap() {
            ConsumeOutcome::AlreadyConsumed(rec) => assert_eq!(rec.consumed_at, Some(10)),
            other => panic!("expected AlreadyConsumed, got {other:?}"),
        }
        reopened.close().await;
    }

    #[tokio::test]
    async fn tok_10_database_files_hold_hashes_not_raw_secrets() {
        use base64::Engine as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tok10.db");
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let raw = "raw-authorization-code-value-7f3a9c";
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, raw.as_bytes());
        let hash = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref());
        store.insert_code(code(&hash)).await.unwrap();
        store.close().await;

        let mut bytes = std::fs::read(&path).unwrap();
        if let Ok(wal) = std::fs::read(dir.path().join("tok10.db-wal")) {
            bytes.extend_from_slice(&wal);
        }
        let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(
            contains(&hash),
            "the hash must be persisted (scan sanity check)"
        );
        assert!(!contains(raw), "the raw code must never be persisted");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn key_4_database_files_are_private_to_their_owner() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("private.db");
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        store.insert_code(code("h-private")).await.unwrap();
        let mut seen = 0;
        for name in ["private.db", "private.db-wal", "private.db-shm"] {
            let Ok(meta) = std::fs::metadata(dir.path().join(name)) else {
                continue;
            };
            seen += 1;
            assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{name}");
        }
        assert_eq!(seen, 3, "the database and its WAL files exist while open");
        store.close().await;
    }

    #[tokio::test]
    async fn memory_url_shares_one_database_across_calls() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        store.insert_code(code("h-mem")).await.unwrap();
        assert!(matches!(
            store.consume_code("h-mem", 1).await.unwrap(),
            ConsumeOutcome::Consumed(_)
        ));
        assert!(matches!(
            store.consume_code("h-mem", 2).await.unwrap(),
            ConsumeOutcome::AlreadyConsumed(_)
        ));
    }
}
