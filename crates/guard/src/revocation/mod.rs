//! Revocation checking after signature verification: none, the issuer's Redis `jti` denylist
//! and per-subject "not before" markers, or RFC 7662 introspection. Every path fails closed when
//! its backend cannot answer.

#[cfg(feature = "introspection")]
pub(crate) mod introspection;
mod provided;
#[cfg(feature = "redis")]
pub(crate) mod redis;

use crate::claims::AccessClaims;
use crate::rejection::FailureReason;
#[cfg(feature = "introspection")]
use introspection::{Introspector, Outcome};
pub use provided::RevocationProvider;
#[cfg(feature = "redis")]
use redis::RedisDenylist;
use std::sync::Arc;

/// The configured revocation check.
#[derive(Debug)]
pub(crate) enum RevocationCheck {
    None,
    Provided(Arc<dyn RevocationProvider>),
    #[cfg(feature = "redis")]
    Redis(RedisDenylist),
    #[cfg(feature = "introspection")]
    Introspection(Introspector),
}

impl RevocationCheck {
    /// Checks a locally verified JWT.
    pub(crate) async fn check_jwt(
        &self,
        token: &str,
        claims: &AccessClaims,
    ) -> Result<(), FailureReason> {
        #[cfg(not(feature = "introspection"))]
        let _ = token;
        #[cfg(not(feature = "redis"))]
        let _ = claims;
        match self {
            Self::None => Ok(()),
            Self::Provided(provider) => match provider.is_revoked(claims).await {
                Ok(false) => Ok(()),
                Ok(true) => Err(FailureReason::Revoked),
                Err(error) => Err(FailureReason::RevocationUnavailable(error)),
            },
            #[cfg(feature = "redis")]
            Self::Redis(denylist) => {
                let jti = claims.jti().ok_or(FailureReason::MissingJti)?;
                denylist
                    .lookup(claims.issuer(), jti, claims.subject())
                    .await
                    .map_err(FailureReason::RevocationUnavailable)?
                    .verdict(claims.issued_at())
            }
            #[cfg(feature = "introspection")]
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
