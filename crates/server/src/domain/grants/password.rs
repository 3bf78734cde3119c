//! The resource-owner password grant, only for clients that list it. The login throttle applies
//! exactly as on the login page (TOK-13).

use std::net::IpAddr;

use portcullis_types::GrantType;
use portcullis_types::TokenResponse;
use portcullis_types::secret::Password;

use super::super::error::ProtocolError;
use super::super::login::{self, SignInCheck, wait_text};
use super::super::secrets::random_id;
use super::{RefreshAction, UserIssue, issue_user_tokens, requested_scope};
use crate::state::AppState;
use crate::store::{ClientRecord, GrantRecord};

/// Exchanges a username and password for tokens.
pub(crate) async fn exchange(
    state: &AppState,
    client: &ClientRecord,
    username: &str,
    password: Password,
    requested: Option<&str>,
    addr: Option<IpAddr>,
) -> Result<TokenResponse, ProtocolError> {
    let scope = requested_scope(requested, &client.scope)?;
    let user = match login::authenticate_user(state, username, password, addr).await? {
        SignInCheck::SignedIn(user) => user,
        SignInCheck::Wrong => return Err(ProtocolError::invalid_grant("invalid credentials")),
        SignInCheck::Disabled => {
            return Err(ProtocolError::invalid_grant("the account is disabled"));
        }
        SignInCheck::Unverified(_) => {
            return Err(ProtocolError::invalid_grant(
                "the account's e-mail address is not verified yet",
            ));
        }
        SignInCheck::Throttled { retry_after_secs } => {
            return Err(ProtocolError::invalid_grant(format!(
                "too many failed sign-in attempts; try again in {}",
                wait_text(retry_after_secs)
            )));
        }
    };
    let now = state.now();
    let grant_id = random_id()?;
    state
        .store
        .insert_grant(GrantRecord {
            id: grant_id.clone(),
            client_id: client.client_id.clone(),
            user_id: user.id.clone(),
            scope: scope.clone(),
            auth_time: now,
            sid: None,
            created_at: now,
            revoked_at: None,
        })
        .await?;
    let refresh = RefreshAction::for_new_grant(state, client, now);
    issue_user_tokens(
        state,
        UserIssue {
            client,
            user: &user,
            grant_id: &grant_id,
            scope: &scope,
            auth_time: now,
            sid: None,
            nonce: None,
            refresh,
            grant_type: GrantType::Password,
            upstream: None,
        },
    )
    .await
}
