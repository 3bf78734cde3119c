//! PostgreSQL backend: sqlx pool with embedded migrations; the queries are the shared SQL
//! implementation in `sql.rs`, with `FOR UPDATE` / `FOR SHARE` row locks in write transactions.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool, Postgres, Transaction};

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

/// Connections per node.
const POOL_SIZE: u32 = 16;

/// A store backed by a PostgreSQL database (optionally confined to one schema).
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    schema: Option<String>,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://` or `postgresql://`) and applies the embedded migrations
    /// to the default `search_path`.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, ConnectOptions::default()).await
    }

    /// [`PostgresStore::connect`] with the given timeouts.
    pub async fn connect_with(url: &str, timeouts: ConnectOptions) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url).map_err(db_err)?;
        Self::open(options, None, timeouts).await
    }

    /// Connects with every table inside `schema` (created when missing; `[a-z0-9_]` only), so
    /// several independent stores can share one database (used by the test suites).
    pub async fn connect_in_schema(url: &str, schema: &str) -> StoreResult<Self> {
        if schema.is_empty()
            || !schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(StoreError::Backend(format!(
                "invalid schema name `{schema}`"
            )));
        }
        let base = PgConnectOptions::from_str(url).map_err(db_err)?;
        let mut conn = sqlx::PgConnection::connect_with(&base)
            .await
            .map_err(db_err)?;
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .execute(&mut conn)
            .await
            .map_err(db_err)?;
        conn.close().await.map_err(db_err)?;
        let options = base.options([("search_path", schema)]);
        Self::open(options, Some(schema.to_owned()), ConnectOptions::default()).await
    }

    /// Drops the schema given to [`PostgresStore::connect_in_schema`] with everything in it,
    /// then closes the pool. Does nothing but close for a store opened with `connect`.
    pub async fn drop_schema(&self) -> StoreResult<()> {
        if let Some(schema) = &self.schema {
            sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
        }
        self.pool.close().await;
        Ok(())
    }

    /// The schema given to [`PostgresStore::connect_in_schema`], if any.
    pub fn schema_name(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn open(
        options: PgConnectOptions,
        schema: Option<String>,
        timeouts: ConnectOptions,
    ) -> StoreResult<Self> {
        let options = options.options([(
            "statement_timeout",
            format!("{}ms", timeouts.statement_timeout.as_millis()),
        )]);
        probe(&options, timeouts.acquire_timeout).await?;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(timeouts.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(db_err)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(format!("postgres migration: {e}")))?;
        Ok(Self { pool, schema })
    }

    /// Starts a READ COMMITTED transaction; primitives take row locks explicitly. As on SQLite,
    /// the `BEGIN` runs as a task of its own, so a caller going away half-way through it cannot
    /// leave a pooled connection inside a transaction nobody ends.
    async fn begin_write(&self) -> StoreResult<Transaction<'static, Postgres>> {
        let pool = self.pool.clone();
        tokio::spawn(async move { pool.begin().await })
            .await
            .map_err(|e| StoreError::Backend(format!("transaction start: {e}")))?
            .map_err(db_err)
    }

    /// Whether this transaction may collect garbage: only one node at a time per schema holds
    /// the advisory lock, until its transaction ends; the others skip their run.
    async fn gc_turn(tx: &mut Transaction<'static, Postgres>) -> StoreResult<bool> {
        let (got,): (bool,) = sqlx::query_as(GC_LOCK)
            .fetch_one(&mut **tx)
            .await
            .map_err(db_err)?;
        Ok(got)
    }

    /// Serialises the transactions of one throttle key with a transaction-scoped advisory lock
    /// (the two-key form, in a space of its own), released at commit or rollback.
    async fn lock_throttle_key(
        tx: &mut Transaction<'static, Postgres>,
        key: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "SELECT pg_advisory_xact_lock(hashtext('portcullis.login_throttle'), hashtext($1))",
        )
        .bind(key)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Serialises the transactions that create signing keys with a transaction-scoped advisory
    /// lock per schema, released at commit or rollback: nodes starting together on an empty
    /// database create one key per algorithm, not one each.
    async fn lock_signing_keys(tx: &mut Transaction<'static, Postgres>) -> StoreResult<()> {
        sqlx::query(SIGNING_KEYS_LOCK)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

/// Opens and closes one connection, so that a database out of reach stops the start with the
/// cause (refused, unknown host, no answer) and the address rather than only a pool timeout.
async fn probe(options: &PgConnectOptions, timeout: Duration) -> StoreResult<()> {
    let target = match options.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    };
    let conn = match tokio::time::timeout(timeout, sqlx::PgConnection::connect_with(options)).await
    {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => {
            return Err(match db_err(e) {
                StoreError::Unavailable(cause) => {
                    StoreError::Unavailable(format!("cannot connect to {target}: {cause}"))
                }
                StoreError::Backend(cause) => {
                    StoreError::Backend(format!("connecting to {target}: {cause}"))
                }
                other => other,
            });
        }
        Err(_) => {
            return Err(StoreError::Unavailable(format!(
                "no answer from {target} within {} s",
                timeout.as_secs()
            )));
        }
    };
    conn.close().await.map_err(db_err)
}

/// Serialises the creation of signing keys in the current schema for the transaction.
const SIGNING_KEYS_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtext('portcullis.signing_keys.' || current_schema()))";

/// Takes the garbage-collection lock of the current schema for the transaction, if free.
const GC_LOCK: &str =
    "SELECT pg_try_advisory_xact_lock(hashtext('portcullis.gc.' || current_schema()))";

impl_sql_atomic!(PostgresStore, Postgres, " FOR UPDATE", " FOR SHARE", "ctid");
impl_sql_store!(PostgresStore);
impl_sql_upstreams!(PostgresStore);
impl_sql_audit!(PostgresStore);

/// The PostgreSQL schema's migrations, embedded at build time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl PostgresStore {
    /// The migrations this build expects to find applied.
    fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }
}

#[cfg(test)]
impl PostgresStore {
    /// The connection pool, to read what was stored as the database has it.
    pub(crate) fn pool(&self) -> &PgPool {
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
    use crate::store::CodeRecord;
    use portcullis_types::Scope;

    #[tokio::test]
    async fn unreachable_database_names_the_address_and_the_cause() {
        // Nothing listens on port 1: the connection is refused at once.
        let err = PostgresStore::connect("postgres://postgres@127.0.0.1:1/test")
            .await
            .unwrap_err();
        let shown = err.to_string();
        assert!(matches!(err, StoreError::Unavailable(_)), "{shown}");
        assert!(shown.contains("127.0.0.1:1"), "{shown}");
        assert!(shown.to_lowercase().contains("refused"), "{shown}");
    }

    /// A store in a fresh schema named after `prefix` and this process; `None` (skip) when
    /// PostgreSQL is unreachable outside CI.
    async fn test_store(prefix: &str) -> Option<PostgresStore> {
        let url = std::env::var("PORTCULLIS_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let schema = format!("{prefix}_{}", std::process::id());
        match PostgresStore::connect_in_schema(&url, &schema).await {
            Ok(store) => Some(store),
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!("skipping: PostgreSQL unreachable at {url}: {e}");
                None
            }
            Err(e) => panic!("PostgreSQL required in CI: {e}"),
        }
    }

    #[tokio::test]
    async fn readiness_needs_the_schema_at_this_builds_migration() {
        let Some(store) = test_store("pcs_ready").await else {
            return;
        };
        store.health().await.unwrap();
        // Emptied under the running server: nothing there is this build's schema.
        sqlx::query("DELETE FROM _sqlx_migrations")
            .execute(&store.pool)
            .await
            .unwrap();
        let err = store.health().await.unwrap_err().to_string();
        assert!(err.contains("this build expects"), "{err}");
        sqlx::query("DROP TABLE _sqlx_migrations")
            .execute(&store.pool)
            .await
            .unwrap();
        let err = store.health().await.unwrap_err().to_string();
        assert!(err.contains("schema version unreadable"), "{err}");
        store.drop_schema().await.unwrap();
    }

    #[tokio::test]
    async fn dur_4_one_node_collects_at_a_time() {
        let Some(store) = test_store("pcs_gc_lock").await else {
            return;
        };
        store
            .insert_code(CodeRecord {
                code_hash: "h-gc".into(),
                client_id: "c1".into(),
                user_id: "u1".into(),
                grant_id: "g1".into(),
                redirect_uri: "https://app.example/cb".into(),
                scope: Scope::parse("openid").unwrap(),
                nonce: None,
                code_challenge: None,
                code_challenge_method: None,
                auth_time: 1,
                sid: None,
                resource: vec![],
                extra: serde_json::Value::Null,
                expires_at: 10,
                consumed_at: None,
            })
            .await
            .unwrap();
        let now = 1_000_000;
        // Another node holds the lock: this one removes nothing.
        let mut other = store.pool.begin().await.unwrap();
        let (got,): (bool,) = sqlx::query_as(GC_LOCK)
            .fetch_one(&mut *other)
            .await
            .unwrap();
        assert!(got);
        assert_eq!(store.gc(now).await.unwrap().deleted, 0);
        other.rollback().await.unwrap();
        // Once it is released, the expired code goes.
        assert_eq!(store.gc(now).await.unwrap().deleted, 1);
        store.drop_schema().await.unwrap();
    }
}
