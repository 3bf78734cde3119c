//! A revocation check the service answers itself: an authorization server guarding an API of
//! its own asks its own store, which knows every revocation at once.

use crate::claims::AccessClaims;
use futures_util::future::BoxFuture;
use std::fmt;

/// A revocation check inside the process, for [`Revocation::Provided`].
///
/// [`Revocation::Provided`]: crate::Revocation::Provided
pub trait RevocationProvider: Send + Sync + fmt::Debug {
    /// Whether the verified token must be refused (revoked, its subject signed out or gone):
    /// `Ok(true)` answers 401 `invalid_token`. `Err` (the reason, for logs) when no answer can
    /// be had; the request then fails closed with 503.
    fn is_revoked<'a>(&'a self, claims: &'a AccessClaims) -> BoxFuture<'a, Result<bool, String>>;
}
