//! A user's browser sessions for operators: list the live ones and end one, with the grants
//! issued under it. `users sessions` / `users end-session` and the admin API call these.
//!
//! A session is named by the digest stored as its key (base64url SHA-256 of the cookie value),
//! never by the cookie value: the digest of a 256-bit random value cannot be turned back into
//! the cookie, and a request presenting the digest as a cookie finds no session (the server
//! hashes what it is given), so showing it to operators lets them point at a session without
//! being able to use it.

use portcullis_jose::Clock;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::grants::known_user;
use super::{AccountTargets, AdminError};
use crate::domain::lifecycle;
use crate::store::{SessionRecord, Store};

/// The most sessions [`list_sessions`] returns for one user.
pub const MAX_LISTED_SESSIONS: u32 = 500;

/// A live browser session as operators see it (and as the admin API shows it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The session's id: the stored SHA-256 digest of its cookie (base64url), which names the
    /// session but cannot be used as the cookie.
    pub id: String,
    /// When the user authenticated, Unix seconds.
    pub auth_time: i64,
    /// When the session began, Unix seconds.
    pub created_at: i64,
    /// When it ends unless ended earlier, Unix seconds.
    pub expires_at: i64,
    /// The upstream identity provider the user signed in through; absent for a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
}

impl From<SessionRecord> for SessionInfo {
    fn from(s: SessionRecord) -> Self {
        Self {
            id: s.id_hash,
            auth_time: s.auth_time,
            created_at: s.created_at,
            expires_at: s.expires_at,
            upstream: s.upstream.map(|u| u.idp.to_string()),
        }
    }
}

/// The live browser sessions of `user` (user id or username), the newest first, at most
/// [`MAX_LISTED_SESSIONS`]. [`AdminError::UnknownUser`] if there is no such user.
pub async fn list_sessions(
    store: &dyn Store,
    clock: &dyn Clock,
    user: &str,
) -> Result<Vec<SessionInfo>, AdminError> {
    let found = known_user(store, user).await?;
    let now = clock.now().as_secs();
    let sessions = store
        .list_user_sessions(found.id.as_str(), now, MAX_LISTED_SESSIONS)
        .await?;
    Ok(sessions.into_iter().map(SessionInfo::from).collect())
}

/// Ends the browser session `session_id` (an id from [`list_sessions`]) of `user` (user id or
/// username): the browser is signed out at its next request, and the grants issued under the
/// session without `offline_access` are revoked with their tokens, as when the user signs out
/// there (sessions stored before their `sid` was recorded end without that). `false` if the
/// user has no such session, including another user's session, which is left alone.
/// [`AdminError::UnknownUser`] if there is no such user.
pub async fn end_session(
    t: AccountTargets<'_>,
    user: &str,
    session_id: &str,
) -> Result<bool, AdminError> {
    let found = known_user(t.store, user).await?;
    let Some(ended) = t
        .store
        .delete_user_session(found.id.as_str(), session_id)
        .await?
    else {
        return Ok(false);
    };
    if let Some(sid) = ended.sid.as_deref() {
        let now = t.clock.now().as_secs();
        lifecycle::revoke_session_grants(t.lifecycle(), found.id.as_str(), sid, now).await?;
    }
    Ok(true)
}
