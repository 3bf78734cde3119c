//! `/admin/v1/users/{user}/sessions`: a user's live browser sessions, and ending one of them
//! (with the grants issued under it), through [`admin::list_sessions`] and
//! [`admin::end_session`]. A session is named by its stored digest, never its cookie.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};

use super::Deleted;
use super::auth::{Actor, Admin, UsersRead, UsersWrite};
use super::error::{ApiError, ErrorBody};
use super::users::{find, forget_cached, targets};
use crate::admin::{self, SessionInfo};
use crate::state::AppState;

/// Lists the user's live browser sessions, the newest first (at most 500).
#[utoipa::path(get, path = "/admin/v1/users/{user}/sessions", tag = "users",
    params(("user" = String, Path, description = "User id or username")),
    security(("bearer" = ["admin:users:read"])),
    responses((status = 200, body = Vec<SessionInfo>), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn list(
    _admin: Admin<UsersRead>,
    State(state): State<Arc<AppState>>,
    Path(user): Path<String>,
) -> Result<Json<Vec<SessionInfo>>, ApiError> {
    let found = find(&state, &user).await?;
    let sessions = admin::list_sessions(
        state.store.as_ref(),
        state.clock.as_ref(),
        found.id.as_str(),
    )
    .await?;
    Ok(Json(sessions))
}

/// Ends one browser session of the user: the browser is signed out, and the grants issued
/// under the session without `offline_access` are revoked with their tokens, as at logout.
/// 404 when the user has no such session.
#[utoipa::path(delete, path = "/admin/v1/users/{user}/sessions/{session_id}", tag = "users",
    params(
        ("user" = String, Path, description = "User id or username"),
        ("session_id" = String, Path, description = "A session id from the user's session list"),
    ),
    security(("bearer" = ["admin:users:write"])),
    responses((status = 200, body = Deleted), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn end(
    admin: Admin<UsersWrite>,
    State(state): State<Arc<AppState>>,
    Path((user, session_id)): Path<(String, String)>,
) -> Result<Json<Deleted>, ApiError> {
    Ok(Json(
        end_session_as(&state, &admin.actor, &user, session_id).await?,
    ))
}

/// Ends the session `session_id` of the user `user` (id or username), as `actor`.
pub(crate) async fn end_session_as(
    state: &AppState,
    actor: &Actor,
    user: &str,
    session_id: String,
) -> Result<Deleted, ApiError> {
    let found = find(state, user).await?;
    if !admin::end_session(targets(state), found.id.as_str(), &session_id).await? {
        return Err(ApiError::NotFound(format!(
            "user `{user}` has no session `{session_id}`"
        )));
    }
    actor.record("session_ended", &format!("{}/{session_id}", found.id));
    forget_cached(state);
    Ok(Deleted {
        deleted: session_id,
    })
}
