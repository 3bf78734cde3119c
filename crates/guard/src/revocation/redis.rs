//! The issuer's revoked-`jti` denylist in Redis, read with the key layout shared with the server
//! (`portcullis_types::denylist`). Any error or timeout is reported so the request fails closed.

use crate::error::ConfigError;
use portcullis_types::denylist::revoked_jti_key;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::time::Duration;
use tokio::sync::OnceCell;

/// A lazily connected, self-reconnecting Redis denylist reader.
pub(crate) struct RedisDenylist {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    timeout: Duration,
}

impl std::fmt::Debug for RedisDenylist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDenylist")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisDenylist {
    pub(crate) fn new(url: &str, timeout: Duration) -> Result<Self, ConfigError> {
        let client = redis::Client::open(url).map_err(|e| ConfigError::Redis(e.to_string()))?;
        Ok(Self {
            client,
            connection: OnceCell::new(),
            timeout,
        })
    }

    /// Whether `(issuer, jti)` is on the denylist. `Err` when Redis cannot answer in time.
    pub(crate) async fn is_revoked(&self, issuer: &str, jti: &str) -> Result<bool, String> {
        let key = revoked_jti_key(issuer, jti);
        let lookup = async {
            let connection = self
                .connection
                .get_or_try_init(|| async {
                    let config = ConnectionManagerConfig::new()
                        .set_connection_timeout(Some(self.timeout))
                        .set_response_timeout(Some(self.timeout))
                        .set_number_of_retries(1);
                    ConnectionManager::new_lazy_with_config(self.client.clone(), config)
                })
                .await?;
            let mut connection = connection.clone();
            let count: i64 = redis::cmd("EXISTS")
                .arg(&key)
                .query_async(&mut connection)
                .await?;
            Ok::<bool, redis::RedisError>(count > 0)
        };
        match tokio::time::timeout(self.timeout, lookup).await {
            Ok(Ok(revoked)) => Ok(revoked),
            Ok(Err(error)) => Err(format!("redis: {}", error.category())),
            Err(_) => Err("redis: timed out".to_owned()),
        }
    }
}
