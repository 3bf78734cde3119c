//! Revocation checking after signature verification: none, the issuer's Redis `jti` denylist,
//! or RFC 7662 introspection. Every path fails closed when its backend cannot answer.

pub(crate) mod introspection;
pub(crate) mod redis;

use crate::claims::AccessClaims;
use crate::rejection::FailureReason;
use introspection::{Introspector, Outcome};
use redis::RedisDenylist;

/// The configured revocation check.
#[derive(Debug)]
pub(crate) enum RevocationCheck {
    None,
    Redis(RedisDenylist),
    Introspection(Introspector),
}

impl RevocationCheck {
    /// Checks a locally verified JWT.
    pub(crate) async fn check_jwt(
        &self,
        token: &str,
        claims: &AccessClaims,
    ) -> Result<(), FailureReason> {
        match self {
            Self::None => Ok(()),
            Self::Redis(denylist) => {
                let jti = claims.jti().ok_or(FailureReason::MissingJti)?;
                match denylist.is_revoked(claims.issuer(), jti).await {
                    Ok(false) => Ok(()),
                    Ok(true) => Err(FailureReason::Revoked),
                    Err(error) => Err(FailureReason::RevocationUnavailable(error)),
                }
            }
            Self::Introspection(introspector) => {
                match introspector
                    .introspect(token, Some(claims.expires_at()))
                    .await
                {
                    Ok(Outcome::Active(_)) => Ok(()),
                    Ok(Outcome::Inactive) => Err(FailureReason::Inactive("active is false")),
                    Err(error) => Err(FailureReason::RevocationUnavailable(error)),
                }
            }
        }
    }
}
