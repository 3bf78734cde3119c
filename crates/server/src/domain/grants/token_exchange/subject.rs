//! Verifying the presented subject and actor tokens: our own access tokens (unrevoked, issued to
//! or addressed to the client) and ID tokens (issued to the client), and what they say.

use portcullis_types::Scope;
use portcullis_types::token::token_type_uri;
use serde_json::Value;

use super::super::super::error::ProtocolError;
use super::super::super::tokens::AccessTokenClaims;
use super::super::super::verify::{self, ExchangeTokenKind};
use super::{MAX_ACT_DEPTH, act_depth};
use crate::state::AppState;
use crate::store::ClientRecord;

/// What a verified subject or actor token says.
#[derive(Debug, Clone)]
pub(super) struct Presented {
    pub(super) sub: String,
    /// Scope the token carries (ID tokens: the scope of the grant they were issued under).
    pub(super) scope: Scope,
    pub(super) exp: i64,
    pub(super) auth_time: Option<i64>,
    /// The `act` chain already in the token.
    pub(super) act: Option<Value>,
    /// Whether the subject is a user (not a client's own token).
    pub(super) is_user: bool,
    /// The grant the subject token is recorded against, if any.
    pub(super) grant_id: Option<String>,
    /// How the user signed in (`amr`), as the token says.
    pub(super) amr: Option<Vec<String>>,
    /// The upstream the user signed in through (`idp`), as the token says.
    pub(super) idp: Option<String>,
}

fn bad_token(which: &'static str) -> ProtocolError {
    ProtocolError::invalid_request(match which {
        "actor" => "the actor_token is invalid, expired or revoked",
        _ => "the subject_token is invalid, expired or revoked",
    })
}

/// An access token of ours, unrevoked; the caller checks who may present it.
pub(super) async fn verify_access(
    state: &AppState,
    token: &str,
    which: &'static str,
) -> Result<(AccessTokenClaims, Option<Value>), ProtocolError> {
    let Some(verified) = verify::exchange_token(state, token, ExchangeTokenKind::AccessToken).await
    else {
        return Err(bad_token(which));
    };
    let mut claims = verified.claims;
    let act = claims.remove("act");
    if act.as_ref().is_some_and(|a| !a.is_object()) || act_depth(act.as_ref()) > MAX_ACT_DEPTH {
        return Err(bad_token(which));
    }
    let at: AccessTokenClaims =
        serde_json::from_value(Value::Object(claims)).map_err(|_| bad_token(which))?;
    if state.store.is_jti_revoked(&at.jti, state.now()).await?
        || super::super::super::lifecycle::refused_by_user_record(state, &at.sub, at.iat).await?
    {
        return Err(bad_token(which));
    }
    Ok((at, act))
}

pub(super) async fn verify_subject(
    state: &AppState,
    client: &ClientRecord,
    token: &str,
    kind: &str,
) -> Result<Presented, ProtocolError> {
    match kind {
        token_type_uri::ACCESS_TOKEN => {
            let (at, act) = verify_access(state, token, "subject").await?;
            if client.client_id != at.client_id.as_str()
                && !at.aud.contains(client.client_id.as_str())
            {
                return Err(ProtocolError::invalid_request(
                    "the subject_token was neither issued to nor addressed to this client",
                ));
            }
            let is_user = !(at.sub == at.client_id && at.auth_time.is_none());
            let grant_id = state.store.access_token_grant(&at.jti).await?;
            Ok(Presented {
                grant_id,
                scope: Scope::parse(&at.scope).map_err(|_| bad_token("subject"))?,
                is_user,
                sub: at.sub,
                exp: at.exp,
                auth_time: at.auth_time,
                act,
                amr: at.amr,
                idp: at.idp,
            })
        }
        token_type_uri::ID_TOKEN => {
            let Some(verified) =
                verify::exchange_token(state, token, ExchangeTokenKind::IdToken).await
            else {
                return Err(bad_token("subject"));
            };
            let claims = verified.claims;
            if !verified.aud.contains(client.client_id.as_str()) {
                return Err(ProtocolError::invalid_request(
                    "the subject_token was not issued to this client",
                ));
            }
            let (Some(sub), Some(exp), Some(jti)) = (
                claims.get("sub").and_then(Value::as_str),
                claims.get("exp").and_then(Value::as_i64),
                claims.get("jti").and_then(Value::as_str),
            ) else {
                return Err(bad_token("subject"));
            };
            // The ID token counts only through the grant it was issued under (recorded by its
            // `jti`): that grant must be live, for this client and user, and its scope is the
            // most the exchange can carry.
            if state.store.is_jti_revoked(jti, state.now()).await? {
                return Err(bad_token("subject"));
            }
            let Some(grant_id) = state.store.access_token_grant(jti).await? else {
                return Err(bad_token("subject"));
            };
            let grant = match state.store.get_grant(&grant_id).await? {
                Some(g)
                    if g.revoked_at.is_none()
                        && g.client_id == client.client_id
                        && g.user_id == sub =>
                {
                    g
                }
                _ => return Err(bad_token("subject")),
            };
            Ok(Presented {
                sub: sub.to_owned(),
                scope: grant.scope,
                exp,
                auth_time: claims.get("auth_time").and_then(Value::as_i64),
                act: None,
                is_user: true,
                grant_id: Some(grant_id),
                amr: claims
                    .get("amr")
                    .and_then(|v| serde_json::from_value(v.clone()).ok()),
                idp: claims.get("idp").and_then(Value::as_str).map(str::to_owned),
            })
        }
        _ => Err(ProtocolError::invalid_request(
            "subject_token_type must be the access-token or ID-token type",
        )),
    }
}
