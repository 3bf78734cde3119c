//! Browser sessions: a 256-bit random id in a cookie, stored only as its SHA-256 digest; a new id
//! on every login (UI-4); the CSRF token of session forms is derived from the id (UI-3).

use super::error::ProtocolError;
use super::secrets::{derived, random_token, secret_hash};
use crate::state::AppState;
use crate::store::{FederatedSignIn, SessionRecord};

/// A signed-in browser session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    /// Digest of the cookie value (the store key).
    pub id_hash: String,
    /// The user.
    pub user_id: portcullis_types::Subject,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The `sid` claim: derived from the id, reveals nothing about it.
    pub sid: String,
    /// The CSRF token of forms in this session.
    pub csrf: String,
    /// The upstream the user signed in through, if not with a password.
    pub upstream: Option<FederatedSignIn>,
}

impl Session {
    fn from_record(id: &str, rec: SessionRecord) -> Self {
        Self {
            id_hash: rec.id_hash,
            user_id: rec.user_id,
            auth_time: rec.auth_time,
            sid: derived("sid", id),
            csrf: csrf_token(id),
            upstream: rec.upstream,
        }
    }
}

/// The CSRF token bound to a secret cookie value.
pub(crate) fn csrf_token(cookie_value: &str) -> String {
    derived("csrf", cookie_value)
}

/// Whether `presented` is the CSRF token of `cookie_value` (constant time).
pub(crate) fn check_csrf(cookie_value: &str, presented: &str) -> bool {
    portcullis_types::secret::constant_time_eq(
        csrf_token(cookie_value).as_bytes(),
        presented.as_bytes(),
    )
}

/// Loads the session of a cookie value, if it exists and has not expired.
pub(crate) async fn load(
    state: &AppState,
    cookie: Option<&str>,
) -> Result<Option<Session>, ProtocolError> {
    let Some(id) = cookie else {
        return Ok(None);
    };
    if id.len() != 43 {
        return Ok(None);
    }
    let Some(rec) = state
        .store
        .get_session(&secret_hash(id), state.now())
        .await?
    else {
        return Ok(None);
    };
    // A session of a disabled user, or from before a sign-out everywhere, is over even if a
    // copy of the cookie outlived its deletion.
    let user = state.user(rec.user_id.as_str()).await?;
    if !user.is_some_and(|u| super::lifecycle::honours(&u, rec.auth_time)) {
        return Ok(None);
    }
    Ok(Some(Session::from_record(id, rec)))
}

/// Starts a new session for `user_id` (authenticated now), ending `previous` if any. Returns the
/// cookie value and the session.
pub(crate) async fn create(
    state: &AppState,
    user_id: &str,
    previous: Option<&str>,
) -> Result<(String, Session), ProtocolError> {
    create_with(state, user_id, previous, None).await
}

/// [`create`] for a user who signed in through `upstream` (`None`: with a password).
pub(crate) async fn create_with(
    state: &AppState,
    user_id: &str,
    previous: Option<&str>,
    upstream: Option<FederatedSignIn>,
) -> Result<(String, Session), ProtocolError> {
    if let Some(old) = previous {
        state.store.delete_session(&secret_hash(old)).await?;
    }
    let now = state.now();
    let id = random_token()?;
    let rec = SessionRecord {
        id_hash: secret_hash(&id),
        user_id: user_id.into(),
        auth_time: now,
        created_at: now,
        expires_at: now.saturating_add(state.config.session_ttl),
        upstream,
        sid: Some(derived("sid", &id)),
    };
    state.store.insert_session(rec.clone()).await?;
    let session = Session::from_record(&id, rec);
    Ok((id, session))
}

/// Ends the session of a cookie value.
pub(crate) async fn destroy(state: &AppState, cookie: &str) -> Result<(), ProtocolError> {
    state.store.delete_session(&secret_hash(cookie)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_3_csrf_bound_to_cookie() {
        let a = "a".repeat(43);
        let b = "b".repeat(43);
        let token = csrf_token(&a);
        assert!(check_csrf(&a, &token));
        assert!(!check_csrf(&b, &token));
        assert!(!check_csrf(&a, ""));
    }
}
