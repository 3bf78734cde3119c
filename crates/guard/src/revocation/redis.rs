//! The issuer's revoked-`jti` denylist and per-subject "not before" markers in Redis, read with
//! the key layout shared with the server (`portcullis_types::denylist`) in one round trip. Any
//! error or timeout is reported so the request fails closed.

use crate::error::ConfigError;
use crate::rejection::FailureReason;
use portcullis_types::denylist::{revoked_jti_key, subject_not_before_key};
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

    /// What the denylist says of the token `(issuer, jti)` of `sub`: whether its `jti` is
    /// revoked (`EXISTS`) and the subject's "not before" marker (`GET`), sent as one pipeline,
    /// so one round trip. `Err` when Redis cannot answer in time, or holds a marker that is not
    /// a decimal string (a value of another type makes `GET` fail).
    pub(crate) async fn lookup(
        &self,
        issuer: &str,
        jti: &str,
        sub: Option<&str>,
    ) -> Result<Lookup, String> {
        let jti_key = revoked_jti_key(issuer, jti);
        let marker_key = sub.map(|sub| subject_not_before_key(issuer, sub));
        let read = async {
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
            match &marker_key {
                Some(marker_key) => {
                    redis::pipe()
                        .cmd("EXISTS")
                        .arg(&jti_key)
                        .cmd("GET")
                        .arg(marker_key)
                        .query_async::<(i64, Option<String>)>(&mut connection)
                        .await
                }
                // A token without a subject has no marker to read.
                None => redis::cmd("EXISTS")
                    .arg(&jti_key)
                    .query_async::<i64>(&mut connection)
                    .await
                    .map(|count| (count, None)),
            }
        };
        let (count, marker) = match tokio::time::timeout(self.timeout, read).await {
            Ok(Ok(found)) => found,
            Ok(Err(error)) => return Err(format!("redis: {}", error.category())),
            Err(_) => return Err("redis: timed out".to_owned()),
        };
        let subject_not_before = match marker {
            None => None,
            Some(marker) => Some(
                marker
                    .parse::<i64>()
                    .map_err(|_| "redis: the subject marker is not a number".to_owned())?,
            ),
        };
        Ok(Lookup {
            revoked_jti: count > 0,
            subject_not_before,
        })
    }
}

/// What the denylist holds about one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lookup {
    /// The token's `(iss, jti)` is on the denylist.
    revoked_jti: bool,
    /// Tokens of the subject issued before this time (Unix seconds) are refused.
    subject_not_before: Option<i64>,
}

impl Lookup {
    /// Refuses a revoked `jti`, and a token issued (`iat`) before its subject's marker. A token
    /// that states no `iat` while a marker exists cannot show it is newer: refused too. A token
    /// issued in the marker's very second is accepted (the server revokes those by `jti`).
    pub(crate) fn verdict(self, iat: Option<i64>) -> Result<(), FailureReason> {
        if self.revoked_jti {
            return Err(FailureReason::Revoked);
        }
        match (self.subject_not_before, iat) {
            (None, _) => Ok(()),
            (Some(not_before), Some(iat)) if iat >= not_before => Ok(()),
            (Some(_), _) => Err(FailureReason::SubjectRevoked),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(revoked_jti: bool, subject_not_before: Option<i64>) -> Lookup {
        Lookup {
            revoked_jti,
            subject_not_before,
        }
    }

    #[test]
    fn rs_12_subject_marker_refuses_earlier_tokens_only() {
        let marker = lookup(false, Some(1_000));
        assert!(matches!(
            marker.verdict(Some(999)),
            Err(FailureReason::SubjectRevoked)
        ));
        assert!(marker.verdict(Some(1_000)).is_ok());
        assert!(marker.verdict(Some(1_001)).is_ok());
        assert!(matches!(
            marker.verdict(None),
            Err(FailureReason::SubjectRevoked)
        ));
        assert!(lookup(false, None).verdict(None).is_ok());
        assert!(lookup(false, None).verdict(Some(i64::MIN)).is_ok());
    }

    #[test]
    fn rs_12_revoked_jti_wins_over_a_passed_marker() {
        assert!(matches!(
            lookup(true, Some(1_000)).verdict(Some(2_000)),
            Err(FailureReason::Revoked)
        ));
        assert!(matches!(
            lookup(true, None).verdict(Some(2_000)),
            Err(FailureReason::Revoked)
        ));
    }
}
