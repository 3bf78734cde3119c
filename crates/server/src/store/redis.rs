//! The Redis [`Denylist`]: revoked `jti`s under `portcullis_types::denylist::revoked_jti_key`,
//! with a TTL up to the keep-until time the caller gives (the token's `exp` plus the largest
//! validator leeway, `portcullis_types::denylist::retain_until`).

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
}
