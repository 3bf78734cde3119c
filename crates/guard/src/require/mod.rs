//! Per-route requirements (scopes, roles, step-up) as a tower middleware for `route_layer`, with
//! the tower-http anatomy, and as the typed [`RequireRole`] extractor. Both run after the
//! [`GuardLayer`](crate::GuardLayer) and answer 403 (scope, role) or 401
//! `insufficient_user_authentication` (step-up, RFC 9470).

mod future;
#[allow(clippy::module_inception)] // tower-http anatomy: `require/layer.rs` holds the Layer.
mod layer;
mod role;
mod service;
mod step_up;

use crate::claims::AccessClaims;
use crate::rejection::RejectionKind;

pub use future::ResponseFuture;
pub use layer::{
    RequireLayer, require_any_role, require_any_scope, require_role, require_scope, require_scopes,
    require_step_up,
};
pub use role::{RequireRole, RoleName};
pub use service::RequireService;
pub use step_up::StepUp;

/// What a route demands of the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Requirement {
    /// Every one of these scopes.
    AllScopes(Vec<String>),
    /// At least one of these scopes.
    AnyScope(Vec<String>),
    /// This role.
    Role(String),
    /// At least one of these roles.
    AnyRole(Vec<String>),
    /// This strength and freshness of the user's authentication.
    StepUp(StepUp),
}

impl Requirement {
    /// What the caller is told when `claims` fall short of the requirement at `now` (seconds
    /// since the epoch); `None` when they meet it.
    pub(crate) fn unmet(&self, claims: &AccessClaims, now: i64) -> Option<RejectionKind> {
        match self {
            Self::AllScopes(scopes) => (!scopes.iter().all(|s| claims.has_scope(s)))
                .then(|| RejectionKind::InsufficientScope(scopes.join(" "))),
            Self::AnyScope(scopes) => (!scopes.iter().any(|s| claims.has_scope(s)))
                .then(|| RejectionKind::InsufficientScope(scopes.join(" "))),
            Self::Role(role) => missing_role(claims, std::slice::from_ref(role)),
            Self::AnyRole(roles) => missing_role(claims, roles),
            Self::StepUp(step_up) => (!step_up.is_met(claims, now)).then(|| step_up.rejection()),
        }
    }
}

/// The 403 answer for a token that carries none of `roles`; `None` when it carries one. Every
/// role check (the layers, [`RequireRole`], `Authenticated::require_role`) answers through it.
pub(crate) fn missing_role<T: AsRef<str>>(
    claims: &AccessClaims,
    roles: &[T],
) -> Option<RejectionKind> {
    (!roles.iter().any(|role| claims.has_role(role.as_ref())))
        .then_some(RejectionKind::InsufficientRole)
}
