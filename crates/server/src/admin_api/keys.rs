//! `/admin/v1/keys`: the signing keys (never private material) and their rotation, through the
//! functions behind `portcullis keys`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Body;
use super::auth::{Actor, Admin, KeysRead, KeysWrite};
use super::error::{ApiError, ErrorBody};
use crate::admin::{self, KeyInfo, KeyRotation};
use crate::config::ServerConfig;
use crate::state::AppState;

/// A signing key as listed: its public facts and lifecycle.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeyView {
    /// Key id.
    pub kid: String,
    /// Algorithm.
    pub alg: String,
    /// `next`, `active`, `retired` or `expired`.
    pub state: String,
    /// Created at, Unix seconds.
    pub created_at: i64,
    /// Signs from, Unix seconds.
    pub activate_at: i64,
    /// Stops signing at, Unix seconds.
    pub retire_at: Option<i64>,
    /// Unpublished at, Unix seconds.
    pub expire_at: Option<i64>,
}

impl From<&KeyInfo> for KeyView {
    fn from(k: &KeyInfo) -> Self {
        Self {
            kid: k.kid.clone(),
            alg: k.alg.clone(),
            state: k.state.to_owned(),
            created_at: k.created_at,
            activate_at: k.activate_at,
            retire_at: k.retire_at,
            expire_at: k.expire_at,
        }
    }
}

/// How to rotate.
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RotationMode {
    /// Publish the new keys now, sign with them after the rotation delay (default).
    #[default]
    Scheduled,
    /// Sign with the new keys at once; the old ones stay published until their tokens expired.
    Now,
    /// As `now`, and unpublish the old keys at once (a leaked key).
    NowRevokeOld,
}

/// A rotation request.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RotateRequest {
    /// How to rotate [default: scheduled].
    pub mode: RotationMode,
}

/// The keys a rotation made.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Rotated {
    /// The new key ids, one per enabled algorithm.
    pub kids: Vec<String>,
    /// When the new keys sign, Unix seconds: after the rotation delay, or now.
    pub signs_from: i64,
    /// The rotation delay of a scheduled rotation, seconds.
    pub rotation_delay_secs: i64,
    /// Within how many seconds every node reloads its keys.
    pub reload_interval_secs: i64,
}

impl Rotated {
    /// What rotating `how` at `now` under `config` made: the keys `kids`.
    pub fn new(kids: Vec<String>, how: KeyRotation, now: i64, config: &ServerConfig) -> Self {
        let signs_from = match how {
            KeyRotation::Scheduled => now.saturating_add(config.key_rotation_delay),
            _ => now,
        };
        Self {
            kids,
            signs_from,
            rotation_delay_secs: config.key_rotation_delay,
            reload_interval_secs: config.key_reload_interval,
        }
    }
}

/// Lists the signing keys.
#[utoipa::path(get, path = "/admin/v1/keys", tag = "keys",
    security(("bearer" = ["admin:keys:read"])),
    responses((status = 200, body = [KeyView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn list(
    _admin: Admin<KeysRead>,
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<KeyView>>, ApiError> {
    let keys = admin::list_keys(state.store.as_ref(), state.clock.as_ref()).await?;
    Ok(Json(keys.iter().map(KeyView::from).collect()))
}

/// Rotates the keys of every enabled algorithm; this node publishes the new keys at once,
/// others at their next key reload.
#[utoipa::path(post, path = "/admin/v1/keys/rotate", tag = "keys",
    request_body = RotateRequest,
    security(("bearer" = ["admin:keys:write"])),
    responses((status = 200, body = Rotated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn rotate(
    admin: Admin<KeysWrite>,
    State(state): State<Arc<AppState>>,
    Body(request): Body<RotateRequest>,
) -> Result<Json<Rotated>, ApiError> {
    Ok(Json(rotate_as(&state, &admin.actor, request.mode).await?))
}

/// Rotates the keys `mode` says, as `actor`, and publishes the new ones on this node.
pub(crate) async fn rotate_as(
    state: &AppState,
    actor: &Actor,
    mode: RotationMode,
) -> Result<Rotated, ApiError> {
    let how = match mode {
        RotationMode::Scheduled => KeyRotation::Scheduled,
        RotationMode::Now => KeyRotation::Now,
        RotationMode::NowRevokeOld => KeyRotation::NowRevokeOld,
    };
    let kids = admin::rotate_keys(
        state.store.as_ref(),
        state.clock.as_ref(),
        &state.config,
        how,
    )
    .await?;
    actor.record("keys_rotated", &kids.join(" "));
    if let Err(error) = state.keys.reload_now().await {
        tracing::warn!(%error, "reloading the keys after a rotation failed; the next reload retries");
    }
    let now = state.clock.now().as_secs();
    Ok(Rotated::new(kids, how, now, &state.config))
}
