//! axum extractors: [`Authenticated`] (a token is required) and [`MaybeAuthenticated`] (optional)
//! read what the layer verified; the `Standalone*` variants verify with the guard in the state.

use crate::claims::AccessClaims;
use crate::guard::Guard;
use crate::rejection::{GuardRejection, RejectionKind};
use crate::require::missing_role;
use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::ops::Deref;
use std::sync::Arc;

/// Claims verified for this request (request extension; only this crate can create it).
#[derive(Debug, Clone)]
pub(crate) struct VerifiedClaims(pub(crate) Arc<AccessClaims>);

/// The guard that handled this request (request extension).
#[derive(Debug, Clone)]
pub(crate) struct GuardHandle(pub(crate) Guard);

/// What the layer left for this request: claims when a token was verified, and the realm.
/// `None` when no layer ran at all.
fn from_layer(parts: &Parts) -> Option<Found> {
    let handle = parts.extensions.get::<GuardHandle>()?;
    let claims = parts
        .extensions
        .get::<VerifiedClaims>()
        .map(|c| Arc::clone(&c.0));
    Some((claims, handle.0.realm()))
}

/// Claims (if a token was verified) and the realm of the guard.
pub(crate) type Found = (Option<Arc<AccessClaims>>, Option<Arc<str>>);

/// The layer's result, or a fail-closed 401 when the layer is missing.
pub(crate) fn resolve_layer(parts: &Parts) -> Result<Found, GuardRejection> {
    from_layer(parts).ok_or_else(|| {
        tracing::error!(
            "an authentication extractor ran without the GuardLayer; refusing the request"
        );
        GuardRejection::new(RejectionKind::MissingToken, None)
    })
}

/// The layer's result if it ran, else the result of verifying with `guard`.
async fn resolve_with(parts: &mut Parts, guard: Guard) -> Result<Found, GuardRejection> {
    if let Some(found) = from_layer(parts) {
        return Ok(found);
    }
    let claims = guard.authenticate(&parts.headers, &parts.uri).await?;
    if let Some(claims) = &claims {
        parts.extensions.insert(VerifiedClaims(Arc::clone(claims)));
    }
    let realm = guard.realm();
    parts.extensions.insert(GuardHandle(guard));
    Ok((claims, realm))
}

fn required<C: DeserializeOwned>(found: Found) -> Result<Authenticated<C>, GuardRejection> {
    match found {
        (Some(claims), realm) => Authenticated::new(claims, realm),
        (None, realm) => Err(GuardRejection::new(RejectionKind::MissingToken, realm)),
    }
}

fn optional<C: DeserializeOwned>(found: Found) -> Result<Option<Authenticated<C>>, GuardRejection> {
    match found {
        (Some(claims), realm) => Authenticated::new(claims, realm).map(Some),
        (None, _) => Ok(None),
    }
}

/// A request with a verified access token. `C` is the application's view of the claims
/// (any `serde` type, read from the whole claims object); the mapped claims are reachable
/// through `Deref` to [`AccessClaims`].
///
/// ```
/// use portcullis_guard::Authenticated;
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Tenant {
///     tenant: String,
/// }
///
/// async fn handler(auth: Authenticated<Tenant>) -> String {
///     format!("{} of {}", auth.subject().unwrap_or("-"), auth.custom().tenant)
/// }
/// # let _ = handler;
/// ```
#[derive(Debug, Clone)]
pub struct Authenticated<C = Value> {
    claims: Arc<AccessClaims>,
    custom: C,
    realm: Option<Arc<str>>,
}

impl<C> Authenticated<C> {
    fn new(claims: Arc<AccessClaims>, realm: Option<Arc<str>>) -> Result<Self, GuardRejection>
    where
        C: DeserializeOwned,
    {
        match C::deserialize(claims.raw()) {
            Ok(custom) => Ok(Self {
                claims,
                custom,
                realm,
            }),
            Err(error) => {
                tracing::info!(token_id = ?claims.token_id(), %error, "access token lacks the claims the handler needs");
                Err(GuardRejection::new(RejectionKind::InvalidToken, realm))
            }
        }
    }

    /// The mapped claims.
    pub fn claims(&self) -> &AccessClaims {
        &self.claims
    }

    /// The application's claims.
    pub fn custom(&self) -> &C {
        &self.custom
    }

    /// The application's claims, by value.
    pub fn into_custom(self) -> C {
        self.custom
    }

    /// `Ok` when the token grants `scope`, else the 403 `insufficient_scope` answer.
    pub fn require_scope(&self, scope: &str) -> Result<(), GuardRejection> {
        if self.claims.has_scope(scope) {
            Ok(())
        } else {
            Err(GuardRejection::new(
                RejectionKind::InsufficientScope(scope.to_owned()),
                self.realm.clone(),
            ))
        }
    }

    /// `Ok` when the token carries `role`, else a 403 `insufficient_scope` answer.
    pub fn require_role(&self, role: &str) -> Result<(), GuardRejection> {
        match missing_role(&self.claims, &[role]) {
            None => Ok(()),
            Some(kind) => Err(GuardRejection::new(kind, self.realm.clone())),
        }
    }
}

impl<C> Deref for Authenticated<C> {
    type Target = AccessClaims;

    fn deref(&self) -> &AccessClaims {
        &self.claims
    }
}

impl<S, C> FromRequestParts<S> for Authenticated<C>
where
    S: Send + Sync,
    C: DeserializeOwned + Send,
{
    type Rejection = GuardRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        required(resolve_layer(parts)?)
    }
}

impl<S, C> OptionalFromRequestParts<S> for Authenticated<C>
where
    S: Send + Sync,
    C: DeserializeOwned + Send,
{
    type Rejection = GuardRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        optional(resolve_layer(parts)?)
    }
}

/// A request that may carry a token: `None` without one (behind `Guard::optional_layer`). A
/// token that is present but invalid, or sent in a malformed way, is still rejected.
#[derive(Debug, Clone)]
pub struct MaybeAuthenticated<C = Value>(pub Option<Authenticated<C>>);

impl<S, C> FromRequestParts<S> for MaybeAuthenticated<C>
where
    S: Send + Sync,
    C: DeserializeOwned + Send,
{
    type Rejection = GuardRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        optional(resolve_layer(parts)?).map(MaybeAuthenticated)
    }
}

/// [`Authenticated`] without the layer: the [`Guard`] is taken from the router state
/// (`Guard: FromRef<S>`) and verifies the token here. If the layer did run, its result is used.
///
/// ```
/// use axum::{Router, routing::get};
/// use portcullis_guard::{Guard, StandaloneAuthenticated};
///
/// # fn app(guard: Guard) -> Router {
/// Router::new()
///     .route("/me", get(|auth: StandaloneAuthenticated| async move {
///         auth.subject().unwrap_or("client").to_owned()
///     }))
///     .with_state(guard)
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct StandaloneAuthenticated<C = Value>(pub Authenticated<C>);

impl<C> Deref for StandaloneAuthenticated<C> {
    type Target = Authenticated<C>;

    fn deref(&self) -> &Authenticated<C> {
        &self.0
    }
}

impl<S, C> FromRequestParts<S> for StandaloneAuthenticated<C>
where
    Guard: FromRef<S>,
    S: Send + Sync,
    C: DeserializeOwned + Send,
{
    type Rejection = GuardRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        required(resolve_with(parts, Guard::from_ref(state)).await?).map(StandaloneAuthenticated)
    }
}

/// [`MaybeAuthenticated`] without the layer, with the [`Guard`] in the router state.
#[derive(Debug, Clone)]
pub struct StandaloneMaybeAuthenticated<C = Value>(pub Option<Authenticated<C>>);

impl<S, C> FromRequestParts<S> for StandaloneMaybeAuthenticated<C>
where
    Guard: FromRef<S>,
    S: Send + Sync,
    C: DeserializeOwned + Send,
{
    type Rejection = GuardRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        optional(resolve_with(parts, Guard::from_ref(state)).await?)
            .map(StandaloneMaybeAuthenticated)
    }
}
