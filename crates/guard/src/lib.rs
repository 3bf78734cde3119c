//! Resource-server protection for axum and tower services: verifies OAuth 2.1 JWT access tokens
//! (RFC 9068) from one issuer, discovered from its URL, and answers failures per RFC 6750.
//!
//! Give the guard an issuer and an audience; it finds the issuer's keys through discovery,
//! caches them for their HTTP lifetime, refreshes them in the background and refetches them when
//! a token names an unknown `kid` (at most once per interval, so forged `kid`s cannot cause a
//! fetch storm). Tokens come from the `Authorization: Bearer` header (a cookie or query
//! parameter only when configured). Revocation can be checked in the issuer's Redis `jti`
//! denylist (with its per-subject "not before" markers, so "sign out everywhere" reaches every
//! token of the user) or through RFC 7662 introspection.
//!
//! ```
//! use axum::{Router, routing::get};
//! use portcullis_guard::{Authenticated, Guard, require_scope};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let guard = Guard::builder()
//!     .issuer("https://as.example")
//!     .audience("orders-api")
//!     .build()?;
//!
//! let app: Router = Router::new()
//!     .route(
//!         "/api/orders",
//!         get(|auth: Authenticated| async move {
//!             format!("orders of {}", auth.user_id().unwrap_or("a client"))
//!         })
//!         .route_layer(require_scope("orders:read")),
//!     )
//!     .layer(guard.layer());
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! Answers: no token → 401 `WWW-Authenticate: Bearer realm="orders-api"`; a bad, expired or
//! revoked token → 401 with `error="invalid_token"` and one fixed description (the caller is
//! never told which check failed); a malformed header or two tokens → 400 `invalid_request`;
//! a missing scope → 403 `insufficient_scope` with `scope="orders:read"`; a missing role → 403
//! `insufficient_scope` with a fixed description (no role is named); a route mounted with
//! [`require_step_up`] whose [`StepUp`] the token does not meet (its `acr` is not one of the
//! demanded values, its `amr` lacks a demanded method, or its `auth_time` is missing or older
//! than the `max_age`) → 401 `insufficient_user_authentication` with `acr_values` and `max_age`
//! (RFC 9470), so the client sends the user back to sign in again. When the keys or the
//! revocation backend cannot be reached the request fails closed with 503 and `Retry-After`:
//! a 401 would tell the client to throw away a token that may well be valid.
//!
//! # Cargo features
//!
//! All on by default:
//! * `discovery`: the issuer's keys are found through OpenID / RFC 8414 discovery and fetched
//!   from its `jwks_uri` over HTTPS (reqwest). Without it nothing is fetched: give the keys with
//!   [`GuardBuilder::static_keys`] (e.g. `KeySet::from_jwks` of a JWKS the service ships or
//!   loads itself from [`jose`]) or [`GuardBuilder::key_provider`] (keys the service holds
//!   itself, such as an authorization server's own); `build` fails with
//!   [`ConfigError::NoKeys`] otherwise.
//! * `introspection`: [`Revocation::Introspection`] and opaque tokens (RFC 7662, reqwest).
//! * `redis`: [`Revocation::Redis`], the issuer's `jti` denylist and subject markers.
//!
//! `default-features = false` gives a guard with neither reqwest nor redis in its dependency
//! tree, verifying JWTs with static keys.
//!
//! [`Authenticated`] and [`MaybeAuthenticated`] read what the layer verified and work with any
//! router state. Without the layer, put the guard in the state (`Guard: FromRef<S>`) and use
//! [`StandaloneAuthenticated`] / [`StandaloneMaybeAuthenticated`], which verify the token themselves.
//!
//! # Roles, groups and the name
//!
//! [`AccessClaims`] reads the `roles` and `groups` of RFC 9068 §2.2.3.1 (arrays of strings) and
//! a display name (`name` of OpenID Connect Core §5.1). Each claim can be moved with
//! [`GuardBuilder::roles_claim`], [`GuardBuilder::groups_claim`] and
//! [`GuardBuilder::name_claim`] (a dotted path such as `realm_access.roles` walks nested
//! objects); a claim of the wrong type makes the token invalid. The name is a label for
//! greetings and logs; the caller is identified by [`AccessClaims::user_id`] only.
//!
//! A role is demanded per route with [`require_role`] / [`require_any_role`], or in the
//! handler's signature with [`RequireRole`], naming the role once as a type:
//!
//! ```
//! use axum::{Json, Router, routing::{get, post}};
//! use portcullis_guard::{Authenticated, Guard, RequireRole, RoleName, require_scope};
//! use serde_json::{Value, json};
//!
//! struct OrdersWriter;
//!
//! impl RoleName for OrdersWriter {
//!     const NAME: &'static str = "orders:write";
//! }
//!
//! async fn me(auth: Authenticated) -> Json<Value> {
//!     Json(json!({"user": auth.user_id(), "name": auth.name(), "groups": auth.groups()}))
//! }
//!
//! async fn create(writer: RequireRole<OrdersWriter>) -> String {
//!     format!("created by {}", writer.user_id().unwrap_or("a client"))
//! }
//!
//! # fn app(guard: Guard) -> Router {
//! Router::new()
//!     .route("/me", get(me))
//!     .route("/orders", post(create).route_layer(require_scope("orders:write")))
//!     .layer(guard.layer())
//! # }
//! ```

#![forbid(unsafe_code)]

mod claims;
mod config;
mod error;
mod extract;
#[doc(hidden)]
pub mod fuzzing;
mod guard;
mod keys;
pub mod layer;
mod rejection;
pub mod require;
mod revocation;
mod source;

pub use claims::AccessClaims;
#[cfg(feature = "introspection")]
pub use config::IntrospectionConfig;
pub use config::{
    GuardBuilder, HasAudience, HasIssuer, MAX_LEEWAY_SECS, NoAudience, NoIssuer, Revocation,
};
pub use error::ConfigError;
pub use extract::{
    Authenticated, MaybeAuthenticated, StandaloneAuthenticated, StandaloneMaybeAuthenticated,
};
pub use guard::Guard;
pub use keys::{KeyProvider, ProvidedKeys};
pub use layer::GuardLayer;
pub use rejection::{
    AuthFailure, FailureReason, GuardRejection, INSUFFICIENT_SCOPE_DESCRIPTION,
    INSUFFICIENT_USER_AUTHENTICATION_DESCRIPTION, INVALID_TOKEN_DESCRIPTION, RejectionKind,
};
pub use require::{
    RequireLayer, RequireRole, RoleName, StepUp, require_any_role, require_any_scope, require_role,
    require_scope, require_scopes, require_step_up,
};
pub use revocation::RevocationProvider;

/// The JOSE library the guard verifies with (keys, clocks), for static-key and test setups.
pub use portcullis_jose as jose;
