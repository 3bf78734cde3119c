//! Optional Redis writer of revoked access-token `jti`s, read by resource servers through
//! `portcullis_types::denylist`. The store stays the source of truth; Redis is a fast mirror.

use redis::aio::ConnectionManager;

use super::error::ProtocolError;
use crate::state::AppState;

/// Writes revoked `jti`s to Redis with a TTL equal to the token's remaining lifetime.
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

/// Revokes a grant in the store (its refresh tokens and recorded access tokens) and mirrors
/// the access tokens' `jti`s to Redis when configured, so resource servers that check the
/// denylist refuse them too. `true` if the grant was newly revoked.
pub async fn revoke_grant(state: &AppState, grant_id: &str) -> Result<bool, ProtocolError> {
    let now = state.now();
    let revoked = state.store.revoke_grant(grant_id, now).await?;
    mirror_grant(state, grant_id).await?;
    Ok(revoked)
}

/// Publishes every recorded access token of an (already revoked) grant to Redis.
pub async fn mirror_grant(state: &AppState, grant_id: &str) -> Result<(), ProtocolError> {
    let Some(redis) = &state.denylist else {
        return Ok(());
    };
    let now = state.now();
    for (jti, exp) in state.store.list_grant_access_tokens(grant_id).await? {
        redis.publish(&jti, exp, now).await?;
    }
    Ok(())
}

impl RedisDenylist {
    /// Connects to `url` (e.g. `redis://127.0.0.1:6379`).
    pub async fn connect(url: &str, issuer: &str) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let conn = ConnectionManager::new(client).await?;
        Ok(Self {
            conn,
            issuer: issuer.to_owned(),
        })
    }

    /// Publishes a revoked `jti` that expires at `exp` (nothing to do if already expired).
    pub async fn publish(&self, jti: &str, exp: i64, now: i64) -> Result<(), ProtocolError> {
        let ttl = exp.saturating_sub(now);
        if ttl <= 0 {
            return Ok(());
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
            .map_err(|e| ProtocolError::internal("redis denylist", &e))
    }
}
