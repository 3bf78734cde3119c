//! `/admin/v1/clients`: list, read, register, replace and delete OAuth clients with the checks
//! of `portcullis clients add` ([`admin::add_client`], [`admin::replace_client`]). A secret is
//! never returned but the one generated on request, once.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use portcullis_types::{ClientSecret, GrantType, RoleName, TokenEndpointAuthMethod};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Actor, Admin, ClientsRead, ClientsWrite};
use super::error::{ApiError, ErrorBody};
use super::{Body, Deleted};
use crate::admin;
use crate::config::ClientConfig;
use crate::domain::secrets;
use crate::state::AppState;
use crate::store::{ClientRecord, ReleaseFilter};
use crate::theme::ThemeName;

/// A client to register or the settings that replace one (`clients add`).
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ClientRequest {
    /// The client id (on `PUT`, the one in the path; a different one here is refused).
    pub client_id: Option<String>,
    /// The secret of a confidential client (at least 16 characters; stored as a keyed digest).
    #[schema(format = Password)]
    pub secret: Option<String>,
    /// Generate the secret (32 random bytes, base64url); it is in the answer, once.
    pub generate_secret: bool,
    /// The client's public keys as a JWK Set, for `private_key_jwt`.
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none` (default from
    /// the credentials: a secret gives `client_secret_basic`, keys `private_key_jwt`, neither
    /// `none`, a public client).
    pub token_endpoint_auth_method: Option<String>,
    /// Redirect URIs, compared exactly.
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Grant types by their registered names [default: authorization_code, refresh_token].
    pub grant_types: Vec<String>,
    /// Allowed scopes, space-separated [default: openid profile email].
    pub scope: Option<String>,
    /// Access-token audiences.
    pub audience: Vec<String>,
    /// Access-token lifetime in seconds.
    pub access_token_ttl: Option<i64>,
    /// Refresh-token lifetime in seconds.
    pub refresh_token_ttl: Option<i64>,
    /// ID-token signing algorithm (RS256, ES256, PS256, EdDSA).
    pub id_token_signed_response_alg: Option<String>,
    /// Display name shown on the consent page.
    pub name: Option<String>,
    /// Audiences the client may obtain by token exchange.
    pub exchange_audiences: Vec<String>,
    /// Token exchange without an actor token (impersonation).
    pub exchange_impersonation: bool,
    /// Roles of the client itself (each must exist); its client-credentials tokens carry them.
    pub roles: Vec<String>,
    /// Which of a user's roles its tokens carry: `all`, `none` (default) or `PREFIX*`.
    pub token_roles: Option<String>,
    /// Which of a user's groups its tokens carry: `all`, `none` (default) or `PREFIX*`.
    pub token_groups: Option<String>,
    /// Refresh-token rotation grace window, 0 to 60 seconds.
    pub refresh_grace_secs: Option<i64>,
    /// The named theme of its pages.
    pub theme: Option<String>,
}

impl ClientRequest {
    /// The client to register as `client_id`, and the secret generated for it, if asked.
    fn into_config(self, client_id: String) -> Result<(ClientConfig, Option<String>), ApiError> {
        if self.secret.is_some() && self.generate_secret {
            return Err(ApiError::invalid(
                "secret",
                "give a secret or ask for one to be generated, not both",
            ));
        }
        let generated = if self.generate_secret {
            Some(secrets::random_token().map_err(|e| ApiError::Internal(e.to_string()))?)
        } else {
            None
        };
        let jwks = self.jwks.map(|j| j.to_string());
        let auth_method = match (self.token_endpoint_auth_method, &jwks) {
            (Some(m), _) => Some(
                m.parse::<TokenEndpointAuthMethod>()
                    .map_err(|e| ApiError::invalid("token_endpoint_auth_method", e.to_string()))?,
            ),
            (None, Some(_)) => Some(TokenEndpointAuthMethod::PrivateKeyJwt),
            (None, None) => None,
        };
        let grant_types = self
            .grant_types
            .iter()
            .map(|g| g.parse::<GrantType>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::invalid("grant_types", e.to_string()))?;
        let roles = self
            .roles
            .into_iter()
            .map(RoleName::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::invalid("roles", e.to_string()))?;
        let filter = |field: &'static str, value: Option<String>| {
            value.map_or(Ok(ReleaseFilter::default()), |v| {
                ReleaseFilter::parse(&v).map_err(|e| ApiError::invalid(field, e))
            })
        };
        let theme = self
            .theme
            .map(|t| ThemeName::parse(&t).map_err(|e| ApiError::invalid("theme", e.reason)))
            .transpose()?;
        let config = ClientConfig {
            client_id: client_id.into(),
            secret: self
                .secret
                .or_else(|| generated.clone())
                .map(ClientSecret::new),
            auth_method,
            redirect_uris: self.redirect_uris.into_iter().map(Into::into).collect(),
            post_logout_redirect_uris: self
                .post_logout_redirect_uris
                .into_iter()
                .map(Into::into)
                .collect(),
            grant_types,
            scope: self.scope,
            audience: self.audience,
            access_token_ttl: self.access_token_ttl,
            refresh_token_ttl: self.refresh_token_ttl,
            id_token_signed_response_alg: self.id_token_signed_response_alg,
            jwks,
            name: self.name,
            exchange_audiences: self.exchange_audiences,
            exchange_impersonation: self.exchange_impersonation,
            roles,
            token_roles: filter("token_roles", self.token_roles)?,
            token_groups: filter("token_groups", self.token_groups)?,
            refresh_grace_secs: self.refresh_grace_secs,
            theme,
        };
        Ok((config, generated))
    }
}

/// A registered client as the API shows it: every setting, no secret and no secret digest.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClientView {
    /// The client id.
    pub client_id: String,
    /// Whether it authenticates with a secret or keys.
    pub confidential: bool,
    /// How it authenticates at the token endpoint.
    pub token_endpoint_auth_method: String,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Grant types.
    pub grant_types: Vec<String>,
    /// Allowed scopes, space-separated.
    pub scope: String,
    /// Access-token audiences.
    pub audience: Vec<String>,
    /// Audiences obtainable by token exchange.
    pub exchange_audiences: Vec<String>,
    /// Whether token exchange may impersonate.
    pub exchange_impersonation: bool,
    /// The client's own roles.
    pub roles: Vec<String>,
    /// Which of a user's roles its tokens carry.
    pub token_roles: String,
    /// Which of a user's groups its tokens carry.
    pub token_groups: String,
    /// Refresh-token rotation grace window in seconds.
    pub refresh_grace_secs: i64,
    /// The named theme of its pages.
    pub theme: Option<String>,
    /// Access-token lifetime override, seconds.
    pub access_token_ttl: Option<i64>,
    /// Refresh-token lifetime override, seconds.
    pub refresh_token_ttl: Option<i64>,
    /// ID-token signing algorithm.
    pub id_token_signed_response_alg: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Until when (Unix seconds) the secret replaced by the last rotation is still accepted;
    /// absent when only the current secret is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<i64>,
    /// Registered at, Unix seconds.
    pub created_at: i64,
}

impl From<&ClientRecord> for ClientView {
    fn from(c: &ClientRecord) -> Self {
        Self {
            client_id: c.client_id.to_string(),
            confidential: c.secret_hash.is_some() || c.jwks.is_some(),
            token_endpoint_auth_method: c.token_endpoint_auth_method.to_string(),
            redirect_uris: c.redirect_uris.iter().map(ToString::to_string).collect(),
            post_logout_redirect_uris: c
                .post_logout_redirect_uris
                .iter()
                .map(ToString::to_string)
                .collect(),
            grant_types: c
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            scope: c.scope.to_string(),
            audience: c.audience.clone(),
            exchange_audiences: c.exchange_audiences.clone(),
            exchange_impersonation: c.exchange_impersonation,
            roles: c.roles.iter().map(ToString::to_string).collect(),
            token_roles: c.token_roles.to_string(),
            token_groups: c.token_groups.to_string(),
            refresh_grace_secs: c.refresh_grace_secs,
            theme: c.theme.clone(),
            access_token_ttl: c.access_token_ttl,
            refresh_token_ttl: c.refresh_token_ttl,
            id_token_signed_response_alg: c.id_token_signed_response_alg.map(|a| a.to_string()),
            name: c.name.clone(),
            previous_secret_expires_at: c.previous_secret.as_ref().map(|p| p.expires_at),
            created_at: c.created_at,
        }
    }
}

/// A client just registered or replaced, with the secret generated for it (shown this once).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SavedClient {
    /// The client as stored.
    #[serde(flatten)]
    pub client: ClientView,
    /// The generated secret, when one was asked for; only its keyed digest is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// Lists the registered clients, by id.
#[utoipa::path(get, path = "/admin/v1/clients", tag = "clients",
    security(("bearer" = ["admin:clients:read"])),
    responses((status = 200, body = [ClientView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn list(
    _admin: Admin<ClientsRead>,
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<ClientView>>, ApiError> {
    let mut clients = admin::list_clients(state.store.as_ref()).await?;
    clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    Ok(Json(clients.iter().map(ClientView::from).collect()))
}

/// Shows one client.
#[utoipa::path(get, path = "/admin/v1/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path, description = "The client id")),
    security(("bearer" = ["admin:clients:read"])),
    responses((status = 200, body = ClientView), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn get(
    _admin: Admin<ClientsRead>,
    State(state): State<Arc<AppState>>,
    Path(client_id): Path<String>,
) -> Result<Json<ClientView>, ApiError> {
    match state.store.get_client(&client_id).await {
        Ok(Some(c)) => Ok(Json(ClientView::from(&c))),
        Ok(None) => Err(ApiError::NotFound(format!("no client `{client_id}`"))),
        Err(e) => Err(admin::AdminError::from(e).into()),
    }
}

/// Registers a client; 409 when the id is taken.
#[utoipa::path(post, path = "/admin/v1/clients", tag = "clients",
    request_body = ClientRequest,
    security(("bearer" = ["admin:clients:write"])),
    responses((status = 201, body = SavedClient), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn create(
    admin: Admin<ClientsWrite>,
    State(state): State<Arc<AppState>>,
    Body(request): Body<ClientRequest>,
) -> Result<(StatusCode, Json<SavedClient>), ApiError> {
    let saved = register(&state, &admin.actor, request).await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// Registers the client `request` describes, as `actor`, with the checks of `clients add`:
/// the API's `POST` and the console's form both come here.
pub(crate) async fn register(
    state: &AppState,
    actor: &Actor,
    request: ClientRequest,
) -> Result<SavedClient, ApiError> {
    let Some(client_id) = request.client_id.clone() else {
        return Err(ApiError::invalid("client_id", "is required"));
    };
    let (config, client_secret) = request.into_config(client_id)?;
    let record = admin::add_client(
        state.store.as_ref(),
        state.clock.as_ref(),
        &state.config,
        config,
    )
    .await?;
    actor.record("client_created", record.client_id.as_str());
    Ok(SavedClient {
        client: ClientView::from(&record),
        client_secret,
    })
}

/// Replaces every setting of a client (registering it when missing).
#[utoipa::path(put, path = "/admin/v1/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path, description = "The client id")),
    request_body = ClientRequest,
    security(("bearer" = ["admin:clients:write"])),
    responses((status = 200, body = SavedClient), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn replace(
    admin: Admin<ClientsWrite>,
    State(state): State<Arc<AppState>>,
    Path(client_id): Path<String>,
    Body(request): Body<ClientRequest>,
) -> Result<Json<SavedClient>, ApiError> {
    Ok(Json(
        replace_as(&state, &admin.actor, client_id, request).await?,
    ))
}

/// Replaces every setting of the client `client_id` with `request` (registering it when
/// missing), as `actor`: the API's `PUT` and the console's edit form both come here.
pub(crate) async fn replace_as(
    state: &AppState,
    actor: &Actor,
    client_id: String,
    request: ClientRequest,
) -> Result<SavedClient, ApiError> {
    if request
        .client_id
        .as_ref()
        .is_some_and(|id| *id != client_id)
    {
        return Err(ApiError::invalid(
            "client_id",
            "differs from the client id in the path",
        ));
    }
    let (config, client_secret) = request.into_config(client_id)?;
    let done = admin::replace_client(
        state.store.as_ref(),
        state.clock.as_ref(),
        &state.config,
        config,
    )
    .await?;
    let action = if done.existed {
        "client_replaced"
    } else {
        "client_created"
    };
    actor.record(action, done.record.client_id.as_str());
    state.clients.forget(done.record.client_id.as_str());
    Ok(SavedClient {
        client: ClientView::from(&done.record),
        client_secret,
    })
}

/// Deletes a client; 404 when there is none.
#[utoipa::path(delete, path = "/admin/v1/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path, description = "The client id")),
    security(("bearer" = ["admin:clients:write"])),
    responses((status = 200, body = Deleted), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn delete(
    admin: Admin<ClientsWrite>,
    State(state): State<Arc<AppState>>,
    Path(client_id): Path<String>,
) -> Result<Json<Deleted>, ApiError> {
    Ok(Json(remove(&state, &admin.actor, client_id).await?))
}

/// Deletes the client `client_id`, as `actor`; not found when there is none.
pub(crate) async fn remove(
    state: &AppState,
    actor: &Actor,
    client_id: String,
) -> Result<Deleted, ApiError> {
    if !admin::remove_client(state.store.as_ref(), &client_id).await? {
        return Err(ApiError::NotFound(format!("no client `{client_id}`")));
    }
    actor.record("client_deleted", &client_id);
    state.clients.forget(&client_id);
    Ok(Deleted { deleted: client_id })
}
