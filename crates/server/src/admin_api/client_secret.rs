//! `POST /admin/v1/clients/{client_id}/secret`: a confidential client's new secret, shown once,
//! with the old one accepted for an overlap, through [`admin::rotate_client_secret`].

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Body;
use super::auth::{Actor, Admin, ClientsWrite};
use super::error::{ApiError, ErrorBody};
use crate::admin::{self, RotatedSecret};
use crate::state::AppState;

/// How to rotate a client's secret.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SecretRotation {
    /// How long the current secret stays accepted beside the new one, in seconds, at most
    /// 2592000 (30 days); 0, the default, refuses it at once.
    pub overlap_seconds: u64,
}

/// A client's new secret, shown this once (only its keyed digest is stored).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RotatedSecretView {
    /// The client.
    pub client_id: String,
    /// The new secret.
    pub client_secret: String,
    /// Until when (Unix seconds) the previous secret is still accepted; absent (null) when it
    /// stopped at once.
    pub previous_secret_expires_at: Option<i64>,
}

impl From<RotatedSecret> for RotatedSecretView {
    fn from(r: RotatedSecret) -> Self {
        Self {
            client_id: r.client_id,
            client_secret: r.client_secret.secret().to_owned(),
            previous_secret_expires_at: r.previous_secret_expires_at,
        }
    }
}

/// Gives a confidential client a new random secret; the current one stays accepted for
/// `overlap_seconds`. 400 for a public or `private_key_jwt` client or too long an overlap, 404
/// for an unknown client.
#[utoipa::path(post, path = "/admin/v1/clients/{client_id}/secret", tag = "clients",
    params(("client_id" = String, Path, description = "The client id")),
    request_body = SecretRotation,
    security(("bearer" = ["admin:clients:write"])),
    responses((status = 200, body = RotatedSecretView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn rotate(
    admin: Admin<ClientsWrite>,
    State(state): State<Arc<AppState>>,
    Path(client_id): Path<String>,
    Body(request): Body<SecretRotation>,
) -> Result<Json<RotatedSecretView>, ApiError> {
    Ok(Json(
        rotate_as(&state, &admin.actor, client_id, request.overlap_seconds).await?,
    ))
}

/// Gives the client `client_id` a new secret as `actor`, the current one accepted for
/// `overlap_seconds` more.
pub(crate) async fn rotate_as(
    state: &AppState,
    actor: &Actor,
    client_id: String,
    overlap_seconds: u64,
) -> Result<RotatedSecretView, ApiError> {
    let rotated = admin::rotate_client_secret(
        state.store.as_ref(),
        state.clock.as_ref(),
        &state.config,
        &client_id,
        Duration::from_secs(overlap_seconds),
    )
    .await?;
    actor.record("client_secret_rotated", &client_id);
    state.clients.forget(&client_id);
    Ok(RotatedSecretView::from(rotated))
}
