//! The Redis [`Denylist`]: revoked `jti`s under `portcullis_types::denylist::revoked_jti_key`,
//! with a TTL up to the keep-until time the caller gives (the token's `exp` plus the largest
//! validator leeway, `portcullis_types::denylist::retain_until`); per-subject "not before"
//! markers under `portcullis_types::denylist::subject_not_before_key`.

use async_trait::async_trait;
use redis::aio::ConnectionManager;

use super::{Denylist, StoreError, StoreResult};

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
    /// Connects to `url` (e.g. `redis://127.0.0.1:6379`); keys are namespaced by `issuer`.
    pub async fn connect(url: &str, issuer: &str) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let conn = ConnectionManager::new(client).await?;
        Ok(Self {
            conn,
            issuer: issuer.to_owned(),
        })
    }
}

#[async_trait]
impl Denylist for RedisDenylist {
    async fn revoke_jtis(&self, jtis: &[(String, i64)], now: i64) -> StoreResult<()> {
        for (jti, exp) in jtis {
            let ttl = exp.saturating_sub(now);
            if ttl <= 0 {
                continue;
            }
            let key = portcullis_types::denylist::revoked_jti_key(&self.issuer, jti);
            let mut conn = self.conn.clone();
            redis::cmd("SET")
                .arg(&key)
                .arg("1")
                .arg("EX")
                .arg(ttl)
                .query_async::<()>(&mut conn)
                .await
                .map_err(|e| StoreError::Backend(format!("redis denylist: {e}")))?;
        }
        Ok(())
    }

    async fn revoke_subject(
        &self,
        sub: &str,
        not_before: i64,
        keep_until: i64,
        now: i64,
    ) -> StoreResult<()> {
        let ttl = keep_until.saturating_sub(now);
        if ttl <= 0 {
            return Ok(());
        }
        let key = portcullis_types::denylist::subject_not_before_key(&self.issuer, sub);
        let mut conn = self.conn.clone();
        redis::cmd("EVAL")
            .arg(RAISE_NOT_BEFORE)
            .arg(1)
            .arg(&key)
            .arg(not_before)
            .arg(ttl)
            .query_async::<i64>(&mut conn)
            .await
            .map_err(|e| StoreError::Backend(format!("redis denylist: {e}")))?;
        Ok(())
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
