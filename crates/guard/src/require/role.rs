//! [`RequireRole`]: a role demanded in the handler's signature, named by a type ([`RoleName`]),
//! answered like [`require_role`](super::require_role) when the token lacks it.

use super::missing_role;
use crate::claims::AccessClaims;
use crate::extract::resolve_layer;
use crate::rejection::{GuardRejection, RejectionKind};
use axum::extract::FromRequestParts;
use http::request::Parts;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

/// A role, named once as a type so handlers can demand it with [`RequireRole`].
///
/// ```
/// use portcullis_guard::RoleName;
///
/// /// May create and change orders.
/// pub struct OrdersWriter;
///
/// impl RoleName for OrdersWriter {
///     const NAME: &'static str = "orders:write";
/// }
/// ```
pub trait RoleName {
    /// The role as it appears in the token's roles claim.
    const NAME: &'static str;
}

/// An axum extractor for a request whose verified token carries the role `R::NAME` (in the
/// configured roles claim). Without a token the answer is the 401 challenge; without the role,
/// 403 `insufficient_scope` with the fixed role description, exactly as from
/// [`require_role`](super::require_role). It reads what the [`GuardLayer`](crate::GuardLayer)
/// verified (without the layer it refuses, like [`Authenticated`](crate::Authenticated)), and
/// dereferences to the [`AccessClaims`].
///
/// ```
/// use axum::{Router, routing::post};
/// use portcullis_guard::{Guard, RequireRole, RoleName};
///
/// struct OrdersWriter;
///
/// impl RoleName for OrdersWriter {
///     const NAME: &'static str = "orders:write";
/// }
///
/// async fn create(auth: RequireRole<OrdersWriter>) -> String {
///     format!("created for {}", auth.user_id().unwrap_or("a client"))
/// }
///
/// # fn app(guard: Guard) -> Router {
/// Router::new()
///     .route("/api/orders", post(create))
///     .layer(guard.layer())
/// # }
/// ```
pub struct RequireRole<R> {
    claims: Arc<AccessClaims>,
    // `fn() -> R`: the extractor is Send, Sync and Clone whatever `R` is.
    role: PhantomData<fn() -> R>,
}

impl<R> RequireRole<R> {
    /// The verified claims.
    pub fn claims(&self) -> &AccessClaims {
        &self.claims
    }
}

impl<R> Clone for RequireRole<R> {
    fn clone(&self) -> Self {
        Self {
            claims: Arc::clone(&self.claims),
            role: PhantomData,
        }
    }
}

impl<R> fmt::Debug for RequireRole<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireRole")
            .field("role", &std::any::type_name::<R>())
            .field("jti", &self.claims.jti())
            .finish_non_exhaustive()
    }
}

impl<R> Deref for RequireRole<R> {
    type Target = AccessClaims;

    fn deref(&self) -> &AccessClaims {
        &self.claims
    }
}

impl<S, R> FromRequestParts<S> for RequireRole<R>
where
    S: Send + Sync,
    R: RoleName,
{
    type Rejection = GuardRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let (claims, realm) = resolve_layer(parts)?;
        let Some(claims) = claims else {
            return Err(GuardRejection::new(RejectionKind::MissingToken, realm));
        };
        if let Some(kind) = missing_role(&claims, &[R::NAME]) {
            return Err(GuardRejection::new(kind, realm));
        }
        Ok(Self {
            claims,
            role: PhantomData,
        })
    }
}
