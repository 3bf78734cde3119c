//! Token exchange (RFC 8693): a client trades a token this server issued (an access token or an
//! ID token) for a narrower access token meant for another audience, recording who acts.
//!
//! Policy, checked in this order:
//! * the client lists the grant type (else `unauthorized_client`, checked by the dispatcher);
//! * every requested target (`audience`, `resource`) is in the client's `exchange_audiences`
//!   (else `invalid_target`; a client with an empty list can exchange for nothing); at least
//!   one target is required;
//! * the subject token was signed by this server, is unexpired and not revoked, and was issued
//!   to the requesting client or names it in its audience (else `invalid_request`, RFC 8693
//!   §2.2.2);
//! * **delegation** when `actor_token` is sent: it must be an unexpired, unrevoked access token
//!   issued to the requesting client; the new token carries `act: {sub: <actor>}`, with the
//!   subject token's own `act` nested inside it (the chain of earlier actors);
//! * **impersonation** when no `actor_token` is sent: allowed only for clients whose
//!   `exchange_impersonation` flag is set; no new `act` is added (an `act` already in the subject
//!   token is kept, it describes the subject token itself);
//! * an ID token counts only through the grant it was issued under: its `jti` is recorded against
//!   that grant when it is issued, and the grant must be live (not revoked by refresh-token
//!   reuse, consent withdrawal, revocation or the end of its browser session);
//! * `scope` must be within the subject token's scope (for an ID token: the scope of its grant),
//!   never wider, and within the exchanging client's own registered scope (`invalid_scope`;
//!   without `scope`, the intersection of the two);
//! * `requested_token_type`, when sent, must be the access-token type;
//! * the account behind the subject is not locked by the login throttle (TOK-13);
//! * the new token expires no later than the subject token, and is recorded against the
//!   subject token's grant, so revoking that grant (consent withdrawal, refresh-token reuse,
//!   code replay) revokes every token exchanged from it, down the whole chain.

mod policy;
mod request;
mod subject;

use portcullis_types::token::{grant_type, token_type_uri};
use portcullis_types::{Audience, GrantType, Scope, TokenResponse, TokenType};
use serde::Serialize;
use serde_json::{Map, Value};

use super::super::audit;
use super::super::denylist::retain_until;
use super::super::error::ProtocolError;
use super::super::identity::Memberships;
use super::super::secrets::random_id;
use super::super::tokens::{ACCESS_TOKEN_TYP, AccessTokenClaims, user_amr};
use super::device_code::refuse_locked_account;
use super::grant_store_error;
use crate::config::TokenKind;
use crate::state::AppState;
use crate::store::ClientRecord;
use crate::token_hook::{self, HookContext};
use policy::targets;
pub(crate) use request::ExchangeRequest;
use subject::{verify_access, verify_subject};

/// Longest `act` chain accepted in a subject token; deeper chains are refused.
pub(crate) const MAX_ACT_DEPTH: usize = 8;

/// Claims of an exchanged access token: RFC 9068 plus RFC 8693 `act`.
#[derive(Debug, Serialize)]
struct ExchangedClaims {
    #[serde(flatten)]
    base: AccessTokenClaims,
    #[serde(skip_serializing_if = "Option::is_none")]
    act: Option<Value>,
}

pub(super) fn act_depth(act: Option<&Value>) -> usize {
    let mut depth = 0;
    let mut cur = act;
    while let Some(v) = cur {
        depth += 1;
        if depth > MAX_ACT_DEPTH {
            break;
        }
        cur = v.get("act");
    }
    depth
}

/// Runs a token exchange for an authenticated client that may use the grant.
pub(crate) async fn exchange(
    state: &AppState,
    client: &ClientRecord,
    req: ExchangeRequest,
) -> Result<TokenResponse, ProtocolError> {
    if client.secret_hash.is_none() && client.jwks.is_none() {
        return Err(ProtocolError::unauthorized_client(
            "token exchange needs a confidential client",
        ));
    }
    if req
        .requested_token_type
        .as_deref()
        .is_some_and(|t| t != token_type_uri::ACCESS_TOKEN)
    {
        return Err(ProtocolError::invalid_request(
            "only access tokens can be requested",
        ));
    }
    let audience = targets(client, &req)?;
    let subject =
        verify_subject(state, client, &req.subject_token, &req.subject_token_type).await?;
    let act = match &req.actor {
        Some((token, kind)) => {
            if kind != token_type_uri::ACCESS_TOKEN {
                return Err(ProtocolError::invalid_request(
                    "actor_token_type must be the access-token type",
                ));
            }
            let (actor, _) = verify_access(state, token, "actor").await?;
            if client.client_id != actor.client_id.as_str() {
                return Err(ProtocolError::invalid_request(
                    "the actor_token was not issued to this client",
                ));
            }
            let mut act = Map::new();
            act.insert("sub".to_owned(), Value::String(actor.sub));
            if let Some(prior) = subject.act.clone() {
                act.insert("act".to_owned(), prior);
            }
            Some(Value::Object(act))
        }
        None if client.exchange_impersonation => subject.act.clone(),
        None => {
            return Err(ProtocolError::invalid_request(
                "actor_token is required: this client may not impersonate",
            ));
        }
    };
    if act_depth(act.as_ref()) > MAX_ACT_DEPTH {
        return Err(ProtocolError::invalid_request(
            "the delegation chain is too long",
        ));
    }
    let allowed = subject.scope.intersection(&client.scope);
    let scope = match req.scope.as_deref() {
        Some(s) => {
            let s = Scope::parse(s).map_err(|_| ProtocolError::invalid_scope("malformed scope"))?;
            if !s.is_subset(&subject.scope) {
                return Err(ProtocolError::invalid_scope(
                    "the requested scope exceeds the subject token's scope",
                ));
            }
            if !s.is_subset(&client.scope) {
                return Err(ProtocolError::invalid_scope(
                    "the requested scope exceeds the client's registered scope",
                ));
            }
            s
        }
        None => allowed,
    };
    let memberships = if subject.is_user {
        let Some(user) = state.store.get_user(&subject.sub).await? else {
            return Err(ProtocolError::invalid_request(
                "the subject_token's user no longer exists",
            ));
        };
        refuse_locked_account(state, &user).await?;
        if user.disabled {
            return Err(ProtocolError::invalid_request(
                "the subject_token's user is disabled",
            ));
        }
        // The exchanged token carries what the exchanging client may see of the user.
        Memberships::of_user(state.store.as_ref(), client, &user).await?
    } else {
        Memberships::default()
    };
    let now = state.now();
    let ttl = client
        .access_token_ttl
        .unwrap_or(state.config.access_token_ttl);
    let exp = now.saturating_add(ttl).min(subject.exp);
    let mut claims = ExchangedClaims {
        base: AccessTokenClaims {
            iss: state.config.issuer.clone(),
            sub: subject.sub.clone(),
            aud: Audience::from(audience),
            exp,
            iat: now,
            jti: random_id()?,
            client_id: client.client_id.to_string(),
            scope: scope.to_string(),
            auth_time: subject.auth_time,
            amr: subject
                .amr
                .clone()
                .or_else(|| user_amr(subject.auth_time, None)),
            idp: subject.idp.clone(),
            roles: memberships.roles,
            groups: memberships.groups,
            extra: Map::new(),
        },
        act,
    };
    let hook = HookContext {
        grant_type: GrantType::TokenExchange,
        client,
        subject: &subject.sub,
        scope: &scope,
    };
    claims.base.extra = token_hook::extra_claims(state, TokenKind::Access, hook, &claims).await?;
    let key = state
        .keys
        .signing_key(state.config.access_token_alg)
        .await?;
    let token = portcullis_jose::jwt::encode(&key, ACCESS_TOKEN_TYP, &claims)?;
    if let Some(grant_id) = &subject.grant_id {
        // Revoking the subject's grant then revokes the exchanged token too.
        state
            .store
            .record_access_token(&claims.base.jti, grant_id, retain_until(exp))
            .await
            .map_err(grant_store_error)?;
    }
    let scope_text = scope.to_string();
    audit::token_issued(
        grant_type::TOKEN_EXCHANGE,
        client.client_id.as_str(),
        &subject.sub,
        &claims.base.jti,
        &scope_text,
    );
    Ok(TokenResponse {
        access_token: token,
        token_type: TokenType::Bearer,
        expires_in: u64::try_from(exp.saturating_sub(now)).ok(),
        refresh_token: None,
        scope: Some(scope_text),
        id_token: None,
        issued_token_type: Some(token_type_uri::ACCESS_TOKEN.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn act_chains_are_measured() {
        assert_eq!(act_depth(None), 0);
        assert_eq!(act_depth(Some(&json!({"sub": "a"}))), 1);
        assert_eq!(
            act_depth(Some(&json!({"sub": "a", "act": {"sub": "b"}}))),
            2
        );
    }

    #[test]
    fn exchanged_claims_carry_act() {
        let claims = ExchangedClaims {
            base: AccessTokenClaims {
                iss: "i".into(),
                sub: "u".into(),
                aud: Audience::from("payments-api"),
                exp: 2,
                iat: 1,
                jti: "j".into(),
                client_id: "orders-api".into(),
                scope: "payments:write".into(),
                auth_time: None,
                amr: None,
                idp: None,
                roles: Vec::new(),
                groups: Vec::new(),
                extra: Map::new(),
            },
            act: Some(json!({"sub": "orders-api", "act": {"sub": "gateway"}})),
        };
        let v = serde_json::to_value(&claims).unwrap();
        assert_eq!(v["act"]["act"]["sub"], "gateway");
        assert_eq!(v["sub"], "u");
        assert!(v.get("auth_time").is_none());
        assert!(v.get("amr").is_none());
    }
}
