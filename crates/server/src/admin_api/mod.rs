//! The admin REST API under `/admin/v1`, mounted on the admin listener: the operations of
//! [`crate::admin`] over HTTP, so that a remote operator or automation manages the server.
//!
//! Every route but the OpenAPI document needs an access token of this server, issued for the
//! audience [`admin_audience`] (the issuer followed by `/admin/v1`), carrying the role
//! [`ADMIN_ROLE`] and the operation's scope (one of [`ADMIN_SCOPES`]); the token is checked by
//! `portcullis-guard` with the server's own keys and revocations. No token or a bad one: 401
//! with a Bearer challenge; a token without the role or the scope: 403 `insufficient_scope`.
//! Every change is an `admin_change` audit event naming the acting token's subject and client.
//!
//! `GET /admin/v1/openapi.json` serves the OpenAPI 3.1 description of these routes, generated
//! from the handlers, without a token: it says what exists, never what is stored.

pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod client_secret;
pub(crate) mod clients;
pub(crate) mod error;
pub(crate) mod keys;
pub(crate) mod roles;
pub(crate) mod sessions;
pub(crate) mod upstreams;
pub(crate) mod users;

use std::sync::Arc;

use axum::extract::{FromRequest, Request};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi as _, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use audit::AuditParams;
pub use auth::{ADMIN_API_PATH, ADMIN_ROLE, ADMIN_SCOPES, admin_audience};
pub use client_secret::{RotatedSecretView, SecretRotation};
pub use clients::{ClientRequest, ClientView, SavedClient};
pub use error::ErrorBody;
pub use keys::{KeyView, RotateRequest, Rotated, RotationMode};
pub use roles::{GroupView, NewGroup, NewRole, RoleView};
pub use upstreams::{LdapView, UpstreamKindView, UpstreamRequest, UpstreamView};
pub use users::{
    AccountState, GrantView, NewUserRequest, Paging, PasswordRequest, SignOutView, UnlockedAddress,
    UserPage, UserUpdateRequest, UserView,
};

use crate::state::AppState;
use error::ApiError;

/// A JSON request body; a body that is not JSON of the expected shape is a 400 with a JSON
/// error, like every other bad input.
#[derive(Debug)]
pub(crate) struct Body<T>(pub(crate) T);

impl<T, S> FromRequest<S> for Body<T>
where
    Json<T>: FromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<T>::from_request(req, state).await?;
        Ok(Self(value))
    }
}

/// What a `DELETE` answers.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Deleted {
    /// The id or name of what was deleted.
    pub deleted: String,
}

/// The document's fixed parts: title, version and the bearer security scheme.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Portcullis admin API",
        description = "Manage clients, users, roles and groups, signing keys and upstream \
                       identity providers; read the audit trail. Tokens need the audience ISSUER/admin/v1, the role \
                       `admin` and each operation's scope."
    ),
    modifiers(&BearerScheme),
    components(schemas(ErrorBody, Deleted))
)]
struct Document;

/// Adds the `bearer` security scheme the operations name.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The protected routes and their description, from the same handler annotations.
fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(Document::openapi())
        .routes(routes!(clients::list, clients::create))
        .routes(routes!(clients::get, clients::replace, clients::delete))
        .routes(routes!(client_secret::rotate))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::get, users::update, users::delete))
        .routes(routes!(users::disable))
        .routes(routes!(users::enable))
        .routes(routes!(users::unlock))
        .routes(routes!(users::revoke_tokens))
        .routes(routes!(users::set_password))
        .routes(routes!(users::unlock_address))
        .routes(routes!(users::list_grants))
        .routes(routes!(users::revoke_grant))
        .routes(routes!(sessions::list))
        .routes(routes!(sessions::end))
        .routes(routes!(roles::list_roles, roles::create_role))
        .routes(routes!(roles::delete_role))
        .routes(routes!(roles::list_groups, roles::create_group))
        .routes(routes!(roles::delete_group))
        .routes(routes!(keys::list))
        .routes(routes!(keys::rotate))
        .routes(routes!(upstreams::list))
        .routes(routes!(upstreams::put, upstreams::delete))
        .routes(routes!(audit::list))
}

/// The OpenAPI description of the admin API.
pub fn openapi() -> OpenApi {
    routes().into_openapi()
}

/// The admin API router: the protected routes behind the guard, and the OpenAPI document.
pub(crate) fn router(state: &Arc<AppState>) -> Result<Router, portcullis_guard::ConfigError> {
    let guard = auth::guard(state, None)?;
    let (protected, document) = routes().split_for_parts();
    let document = Arc::new(document);
    let protected = protected
        .route_layer(portcullis_guard::require_role(ADMIN_ROLE))
        .route_layer(guard.layer())
        .with_state(Arc::clone(state));
    Ok(protected.route(
        "/admin/v1/openapi.json",
        get(move || {
            let document = Arc::clone(&document);
            async move { Json(document.as_ref().clone()) }
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every operation names exactly one admin scope, and every admin scope guards some
    /// operation: the document and [`ADMIN_SCOPES`] (which `admin bootstrap` grants) agree.
    #[test]
    fn each_operation_names_one_admin_scope_and_each_scope_is_used() {
        let doc = serde_json::to_value(openapi()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let mut used = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            assert!(path.starts_with(ADMIN_API_PATH), "{path}");
            for (method, op) in item.as_object().unwrap() {
                let scopes = op["security"][0]["bearer"].as_array().unwrap();
                assert_eq!(scopes.len(), 1, "{method} {path}");
                let scope = scopes[0].as_str().unwrap();
                assert!(ADMIN_SCOPES.contains(&scope), "{method} {path}: {scope}");
                let write = !method.eq_ignore_ascii_case("get");
                assert_eq!(scope.ends_with(":write"), write, "{method} {path}");
                used.insert(scope.to_owned());
            }
        }
        let all: BTreeSet<String> = ADMIN_SCOPES.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(used, all);
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
    }

    /// The requests that carry a password or a client secret never show it when debugged, so
    /// a log line of one cannot leak it.
    #[test]
    fn requests_with_secrets_leave_them_out_of_debug_output() {
        let new_user: NewUserRequest = serde_json::from_value(serde_json::json!({
            "username": "ada", "password": "first-secret-value"
        }))
        .unwrap();
        let password: PasswordRequest =
            serde_json::from_value(serde_json::json!({"password": "second-secret-value"})).unwrap();
        let upstream: UpstreamRequest = serde_json::from_value(serde_json::json!({
            "kind": "github", "client_id": "Iv1.x", "client_secret": "third-secret-value"
        }))
        .unwrap();
        let shown = format!("{new_user:?} {password:?} {upstream:?}");
        assert!(shown.contains("ada") && shown.contains("Iv1.x"), "{shown}");
        assert!(!shown.contains("secret-value"), "{shown}");
    }

    #[test]
    fn the_admin_audience_is_the_issuer_and_the_api_path() {
        assert_eq!(
            admin_audience("https://id.example/"),
            "https://id.example/admin/v1"
        );
        assert_eq!(
            admin_audience("https://id.example/tenant"),
            "https://id.example/tenant/admin/v1"
        );
    }
}
