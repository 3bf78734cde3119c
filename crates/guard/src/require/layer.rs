//! [`RequireLayer`] and the functions that build it: `require_scope("orders:write")`,
//! `require_scopes([..])` (all), `require_any_scope([..])`, `require_role("admin")`,
//! `require_any_role([..])` and `require_step_up(StepUp::new()..)`.

use super::{RequireService, Requirement, StepUp};
use tower::Layer;

/// Demands scopes, a role or a step-up of the verified token. Mount it with `route_layer` under a
/// router that has the guard layer:
///
/// ```
/// use axum::{Router, routing::{get, post}};
/// use portcullis_guard::{Authenticated, Guard, require_scope};
///
/// # fn app(guard: Guard) -> Router {
/// Router::new()
///     .route("/api/orders", post(|| async { "created" }).route_layer(require_scope("orders:write")))
///     .route("/api/orders/{id}", get(|auth: Authenticated| async move {
///         format!("hello {}", auth.subject().unwrap_or("client"))
///     }))
///     .layer(guard.layer())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RequireLayer {
    requirement: Requirement,
}

/// The token must grant `scope`; otherwise 403 `insufficient_scope` with `scope="..."`.
pub fn require_scope(scope: impl Into<String>) -> RequireLayer {
    RequireLayer {
        requirement: Requirement::AllScopes(vec![scope.into()]),
    }
}

/// The token must grant every one of `scopes`.
pub fn require_scopes<I, T>(scopes: I) -> RequireLayer
where
    I: IntoIterator<Item = T>,
    T: Into<String>,
{
    RequireLayer {
        requirement: Requirement::AllScopes(scopes.into_iter().map(Into::into).collect()),
    }
}

/// The token must grant at least one of `scopes`.
pub fn require_any_scope<I, T>(scopes: I) -> RequireLayer
where
    I: IntoIterator<Item = T>,
    T: Into<String>,
{
    RequireLayer {
        requirement: Requirement::AnyScope(scopes.into_iter().map(Into::into).collect()),
    }
}

/// The token must carry `role` (in the configured roles claim); otherwise 403
/// `insufficient_scope` with the fixed role description. [`RequireRole`](super::RequireRole) is
/// the same check as an extractor.
pub fn require_role(role: impl Into<String>) -> RequireLayer {
    RequireLayer {
        requirement: Requirement::Role(role.into()),
    }
}

/// The token must carry at least one of `roles`; an empty list admits no token.
///
/// ```
/// use axum::{Router, routing::delete};
/// use portcullis_guard::{Guard, require_any_role};
///
/// # fn app(guard: Guard) -> Router {
/// Router::new()
///     .route(
///         "/api/orders/{id}",
///         delete(|| async { "cancelled" }).route_layer(require_any_role(["support", "admin"])),
///     )
///     .layer(guard.layer())
/// # }
/// ```
pub fn require_any_role<I, T>(roles: I) -> RequireLayer
where
    I: IntoIterator<Item = T>,
    T: Into<String>,
{
    RequireLayer {
        requirement: Requirement::AnyRole(roles.into_iter().map(Into::into).collect()),
    }
}

/// The user's authentication behind the token must meet `step_up` (RS-8); otherwise 401
/// `insufficient_user_authentication` with `acr_values` / `max_age` (RFC 9470 §3), which tells
/// the client to send the user back to the authorization server for a stronger or fresher
/// sign-in. Stack it with a scope requirement when both apply.
///
/// ```
/// use std::time::Duration;
/// use axum::{Router, routing::post};
/// use portcullis_guard::{Guard, StepUp, require_scope, require_step_up};
///
/// # fn app(guard: Guard) -> Router {
/// Router::new()
///     .route(
///         "/api/payouts",
///         post(|| async { "sent" })
///             .route_layer(require_step_up(
///                 StepUp::new().acr_values(["mfa"]).max_age(Duration::from_secs(300)),
///             ))
///             .route_layer(require_scope("payouts:write")),
///     )
///     .layer(guard.layer())
/// # }
/// ```
pub fn require_step_up(step_up: StepUp) -> RequireLayer {
    RequireLayer {
        requirement: Requirement::StepUp(step_up),
    }
}

impl<S> Layer<S> for RequireLayer {
    type Service = RequireService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireService::new(inner, self.requirement.clone())
    }
}
