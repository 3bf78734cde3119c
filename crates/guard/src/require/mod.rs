//! Per-route requirements (scopes, roles, step-up) as a tower middleware for `route_layer`, with
//! the tower-http anatomy. It runs after the [`GuardLayer`](crate::GuardLayer) and answers 403
//! (scope, role) or 401 `insufficient_user_authentication` (step-up, RFC 9470).

mod future;
#[allow(clippy::module_inception)] // tower-http anatomy: `require/layer.rs` holds the Layer.
mod layer;
mod service;
mod step_up;

pub use future::ResponseFuture;
pub use layer::{
    RequireLayer, require_any_scope, require_role, require_scope, require_scopes, require_step_up,
};
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
    /// This strength and freshness of the user's authentication.
    StepUp(StepUp),
}
