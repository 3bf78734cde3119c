//! Consent remembered per (user, client, scopes): whether a request is covered, recording a new
//! consent, withdrawing one (which revokes the client's grants), and scopes described in words.

use portcullis_types::Scope;

use super::audit;
use super::error::ProtocolError;
use super::lifecycle::{Targets, publish_grant_jtis};
use crate::state::AppState;

/// Whether the user already consented to every scope of `scope` for the client.
pub(crate) async fn is_covered(
    state: &AppState,
    user_id: &str,
    client_id: &str,
    scope: &Scope,
) -> Result<bool, ProtocolError> {
    let Some(consent) = state.store.get_consent(user_id, client_id).await? else {
        return Ok(false);
    };
    Ok(scope.is_subset(&consent.scope_set()?))
}

/// Records the user's consent to `scope` for the client.
pub(crate) async fn grant(
    state: &AppState,
    user_id: &str,
    client_id: &str,
    scope: &Scope,
) -> Result<(), ProtocolError> {
    let scope_text = scope.to_string();
    state
        .store
        .put_consent(user_id, client_id, &scope_text, state.now())
        .await?;
    audit::consent_granted(user_id, client_id, &scope_text);
    Ok(())
}

/// Withdraws the consent and revokes the client's grants for the user (refresh tokens and
/// recorded access tokens included), on a running server: [`withdraw_from`] with this node's
/// "not revoked" answers dropped.
pub(crate) async fn withdraw(
    state: &AppState,
    user_id: &str,
    client_id: &str,
) -> Result<bool, ProtocolError> {
    let withdrawn = withdraw_from(Targets::of(state), user_id, client_id, state.now()).await;
    state.forget_unrevoked();
    withdrawn
}

/// Withdraws the consent of `user_id` for `client_id` at `now` and revokes the client's grants
/// for the user, their access tokens' `jti`s mirrored to the denylist if any. `true` if there
/// was a consent.
pub(crate) async fn withdraw_from(
    t: Targets<'_>,
    user_id: &str,
    client_id: &str,
    now: i64,
) -> Result<bool, ProtocolError> {
    let grants = t.store.list_grants(user_id).await?;
    let existed = t.store.withdraw_consent(user_id, client_id, now).await?;
    for grant in grants.iter().filter(|g| g.client_id == client_id) {
        publish_grant_jtis(t.store, t.denylist, t.health, &grant.id, now).await?;
    }
    audit::consent_withdrawn(user_id, client_id);
    Ok(existed)
}
