//! The Redis [`Denylist`]: revoked `jti`s under `portcullis_types::denylist::revoked_jti_key`,
//! with a TTL up to the keep-until time the caller gives (the token's `exp` plus the largest
//! validator leeway, `portcullis_types::denylist::retain_until`); per-subject "not before"
//! markers under `portcullis_types::denylist::subject_not_before_key`.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Denylist, MirrorEntry, StoreError, StoreResult};

/// The longest a connection attempt or a reply may take: a Redis out of reach must cost a
/// request at most this, not the client library's default retries.
const TIMEOUT: Duration = Duration::from_millis(1000);

/// A Redis error as a store error: the mirror is out of reach or failing, a passing condition.
fn unavailable(e: &redis::RedisError) -> StoreError {
    StoreError::Unavailable(format!("redis denylist: {e}"))
}

/// Writes revoked `jti`s to Redis.
#[derive(Clone)]
pub struct RedisDenylist {
    conn: ConnectionManager,
    issuer: String,
}

impl std::fmt::Debug for RedisDenylist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDenylist")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl RedisDenylist {
    /// Prepares the connection to `url` (e.g. `redis://127.0.0.1:6379`); keys are namespaced
    /// by `issuer`. Nothing is connected yet, so a Redis that is down does not stop a server
    /// from starting: only a malformed URL is an error. Each command waits at most a second
    /// for a connection and for its reply, and the connection is re-established when lost.
    pub async fn connect(url: &str, issuer: &str) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(Self {
            conn,
            issuer: issuer.to_owned(),
        })
    }
}

// Each call is a client span (`debug`, so only an exporter sees it by default): a pipeline of
// SETs and EVALs is named `publish`.
#[async_trait]
impl Denylist for RedisDenylist {
    #[tracing::instrument(level = "debug", name = "redis", skip_all, fields(
        otel.name = "publish", otel.kind = "client", db.system = "redis", db.operation.name = "publish"
    ))]
    async fn publish(&self, entries: &[MirrorEntry], now: i64) -> StoreResult<()> {
        let mut pipe = redis::pipe();
        let mut any = false;
        for entry in entries {
            let ttl = entry.keep_until().saturating_sub(now);
            if ttl <= 0 {
                continue;
            }
            any = true;
            match entry {
                MirrorEntry::Jti { jti, .. } => {
                    let key = portcullis_types::denylist::revoked_jti_key(&self.issuer, jti);
                    pipe.cmd("SET")
                        .arg(key)
                        .arg("1")
                        .arg("EX")
                        .arg(ttl)
                        .ignore();
                }
                MirrorEntry::Subject {
                    sub, not_before, ..
                } => {
                    let key = portcullis_types::denylist::subject_not_before_key(&self.issuer, sub);
                    pipe.cmd("EVAL")
                        .arg(RAISE_NOT_BEFORE)
                        .arg(1)
                        .arg(key)
                        .arg(*not_before)
                        .arg(ttl)
                        .ignore();
                }
            }
        }
        if !any {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(|e| unavailable(&e))
    }

    #[tracing::instrument(level = "debug", name = "redis", skip_all, fields(
        otel.name = "EXISTS", otel.kind = "client", db.system = "redis", db.operation.name = "EXISTS"
    ))]
    async fn is_complete(&self) -> StoreResult<bool> {
        let mut conn = self.conn.clone();
        let n: i64 = redis::cmd("EXISTS")
            .arg(portcullis_types::denylist::mirror_complete_key(
                &self.issuer,
            ))
            .query_async(&mut conn)
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(n > 0)
    }

    #[tracing::instrument(level = "debug", name = "redis", skip_all, fields(
        otel.name = "SET", otel.kind = "client", db.system = "redis", db.operation.name = "SET"
    ))]
    async fn mark_complete(&self) -> StoreResult<()> {
        let mut conn = self.conn.clone();
        redis::cmd("SET")
            .arg(portcullis_types::denylist::mirror_complete_key(
                &self.issuer,
            ))
            .arg("1")
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| unavailable(&e))
    }
}

/// Sets the marker `KEYS[1]` to `ARGV[1]` with a TTL of `ARGV[2]` seconds unless it already
/// holds a later time (two sign-outs on nodes with slightly different clocks must not move it
/// back). One script, so no other writer interleaves between the read and the write.
const RAISE_NOT_BEFORE: &str = r"
local current = tonumber(redis.call('GET', KEYS[1]))
if current and current > tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
";
