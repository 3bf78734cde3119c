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
//! * `scope` must be within the subject token's scope (for an ID token: the scope the user
//!   consented to for the client the ID token was issued to), never wider (`invalid_scope`);
//! * `requested_token_type`, when sent, must be the access-token type;
//! * the account behind the subject is not locked by the login throttle (TOK-13);
//! * the new token expires no later than the subject token, and is recorded against the
//!   subject token's grant, so revoking that grant (consent withdrawal, refresh-token reuse,
//!   code replay) revokes every token exchanged from it, down the whole chain.

use portcullis_types::token::{grant_type, token_type_uri};
use portcullis_types::{Audience, ErrorCode, Scope, TokenResponse, TokenType};
use serde::Serialize;
use serde_json::{Map, Value};

use super::super::audit;
use super::super::error::ProtocolError;
use super::super::params::Params;
use super::super::secrets::random_id;
use super::super::tokens::{ACCESS_TOKEN_TYP, AccessTokenClaims};
use super::super::verify::{self, ExchangeTokenKind};
use super::device_code::refuse_locked_account;
use super::grant_store_error;
use crate::state::AppState;
use crate::store::ClientRecord;

/// Longest `act` chain accepted in a subject token; deeper chains are refused.
pub const MAX_ACT_DEPTH: usize = 8;

/// A parsed token-exchange request (RFC 8693 §2.1). `Debug` leaves the tokens out.
#[derive(Clone, PartialEq, Eq)]
pub struct ExchangeRequest {
    /// The token that represents the subject.
    pub subject_token: String,
    /// Its type identifier.
    pub subject_token_type: String,
    /// The token that represents the acting party, with its type.
    pub actor: Option<(String, String)>,
    /// `audience` (a logical name of the target service).
    pub audience: Option<String>,
    /// `resource` (an absolute URI of the target service).
    pub resource: Option<String>,
    /// Requested scope.
    pub scope: Option<String>,
    /// Requested token type.
    pub requested_token_type: Option<String>,
}

impl std::fmt::Debug for ExchangeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeRequest")
            .field("subject_token", &"<redacted>")
            .field("subject_token_type", &self.subject_token_type)
            .field(
                "actor",
                &self.actor.as_ref().map(|(_, kind)| ("<redacted>", kind)),
            )
            .field("audience", &self.audience)
            .field("resource", &self.resource)
            .field("scope", &self.scope)
            .field("requested_token_type", &self.requested_token_type)
            .finish()
    }
}

impl ExchangeRequest {
    /// Parses the request parameters; missing or inconsistent ones are `invalid_request`.
    pub fn parse(params: &Params) -> Result<Self, ProtocolError> {
        let get = |name: &str| params.get(name).map(str::to_owned);
        let subject_token = get("subject_token")
            .ok_or_else(|| ProtocolError::invalid_request("subject_token is required"))?;
        let subject_token_type = get("subject_token_type")
            .ok_or_else(|| ProtocolError::invalid_request("subject_token_type is required"))?;
        let actor = match (get("actor_token"), get("actor_token_type")) {
            (Some(token), Some(kind)) => Some((token, kind)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ProtocolError::invalid_request(
                    "actor_token_type is required with actor_token",
                ));
            }
            (None, Some(_)) => {
                return Err(ProtocolError::invalid_request(
                    "actor_token_type was sent without actor_token",
                ));
            }
        };
        Ok(Self {
            subject_token,
            subject_token_type,
            actor,
            audience: get("audience"),
            resource: get("resource"),
            scope: get("scope"),
            requested_token_type: get("requested_token_type"),
        })
    }
}

/// What a verified subject or actor token says.
#[derive(Debug, Clone)]
struct Presented {
    sub: String,
    /// Scope the token carries (ID tokens: the consented scope).
    scope: Scope,
    exp: i64,
    auth_time: Option<i64>,
    /// The `act` chain already in the token.
    act: Option<Value>,
    /// Whether the subject is a user (not a client's own token).
    is_user: bool,
    /// The grant the subject token is recorded against, if any.
    grant_id: Option<String>,
}

/// Claims of an exchanged access token: RFC 9068 plus RFC 8693 `act`.
#[derive(Debug, Serialize)]
struct ExchangedClaims {
    #[serde(flatten)]
    base: AccessTokenClaims,
    #[serde(skip_serializing_if = "Option::is_none")]
    act: Option<Value>,
}

fn bad_token(which: &'static str) -> ProtocolError {
    ProtocolError::invalid_request(match which {
        "actor" => "the actor_token is invalid, expired or revoked",
        _ => "the subject_token is invalid, expired or revoked",
    })
}

fn act_depth(act: Option<&Value>) -> usize {
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

/// An access token of ours, unrevoked; the caller checks who may present it.
async fn verify_access(
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
    if state.store.is_jti_revoked(&at.jti, state.now()).await? {
        return Err(bad_token(which));
    }
    Ok((at, act))
}

async fn verify_subject(
    state: &AppState,
    client: &ClientRecord,
    token: &str,
    kind: &str,
) -> Result<Presented, ProtocolError> {
    match kind {
        token_type_uri::ACCESS_TOKEN => {
            let (at, act) = verify_access(state, token, "subject").await?;
            if at.client_id != client.client_id && !at.aud.contains(&client.client_id) {
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
            })
        }
        token_type_uri::ID_TOKEN => {
            let Some(verified) =
                verify::exchange_token(state, token, ExchangeTokenKind::IdToken).await
            else {
                return Err(bad_token("subject"));
            };
            let claims = verified.claims;
            if !verified.aud.contains(&client.client_id) {
                return Err(ProtocolError::invalid_request(
                    "the subject_token was not issued to this client",
                ));
            }
            let (Some(sub), Some(exp)) = (
                claims.get("sub").and_then(Value::as_str),
                claims.get("exp").and_then(Value::as_i64),
            ) else {
                return Err(bad_token("subject"));
            };
            let consented = state
                .store
                .get_consent(sub, &client.client_id)
                .await?
                .map(|c| c.scope_set())
                .transpose()?
                .unwrap_or_default();
            Ok(Presented {
                sub: sub.to_owned(),
                scope: consented,
                exp,
                auth_time: claims.get("auth_time").and_then(Value::as_i64),
                act: None,
                is_user: true,
                grant_id: None,
            })
        }
        _ => Err(ProtocolError::invalid_request(
            "subject_token_type must be the access-token or ID-token type",
        )),
    }
}

/// The requested targets, each checked against the client's `exchange_audiences`.
fn targets(client: &ClientRecord, req: &ExchangeRequest) -> Result<Vec<String>, ProtocolError> {
    let requested: Vec<String> = req
        .audience
        .iter()
        .chain(req.resource.iter())
        .cloned()
        .collect();
    if requested.is_empty() {
        return Err(ProtocolError::invalid_request(
            "audience or resource is required",
        ));
    }
    for target in &requested {
        if !client.exchange_audiences.iter().any(|a| a == target) {
            return Err(ProtocolError::new(
                ErrorCode::InvalidTarget,
                "the client may not obtain tokens for this audience",
            ));
        }
    }
    let mut unique = Vec::with_capacity(requested.len());
    for t in requested {
        if !unique.contains(&t) {
            unique.push(t);
        }
    }
    Ok(unique)
}

/// Runs a token exchange for an authenticated client that may use the grant.
pub async fn exchange(
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
            if actor.client_id != client.client_id {
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
    let scope = match req.scope.as_deref() {
        Some(s) => {
            let s = Scope::parse(s).map_err(|_| ProtocolError::invalid_scope("malformed scope"))?;
            if !s.is_subset(&subject.scope) {
                return Err(ProtocolError::invalid_scope(
                    "the requested scope exceeds the subject token's scope",
                ));
            }
            s
        }
        None => subject.scope.clone(),
    };
    if subject.is_user {
        let Some(user) = state.store.get_user(&subject.sub).await? else {
            return Err(ProtocolError::invalid_request(
                "the subject_token's user no longer exists",
            ));
        };
        refuse_locked_account(state, &user).await?;
    }
    let now = state.now();
    let ttl = client
        .access_token_ttl
        .unwrap_or(state.config.access_token_ttl);
    let exp = now.saturating_add(ttl).min(subject.exp);
    let claims = ExchangedClaims {
        base: AccessTokenClaims {
            iss: state.config.issuer.clone(),
            sub: subject.sub.clone(),
            aud: Audience::from(audience),
            exp,
            iat: now,
            jti: random_id()?,
            client_id: client.client_id.clone(),
            scope: scope.to_string(),
            auth_time: subject.auth_time,
        },
        act,
    };
    let key = state
        .keys
        .signing_key(state.config.access_token_alg)
        .await?;
    let token = portcullis_jose::jwt::encode(&key, ACCESS_TOKEN_TYP, &claims)?;
    if let Some(grant_id) = &subject.grant_id {
        // Revoking the subject's grant then revokes the exchanged token too.
        state
            .store
            .record_access_token(&claims.base.jti, grant_id, exp)
            .await
            .map_err(grant_store_error)?;
    }
    let scope_text = scope.to_string();
    audit::token_issued(
        grant_type::TOKEN_EXCHANGE,
        &client.client_id,
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
    fn parse_requires_subject_and_consistent_actor() {
        let ok = Params::parse(
            b"subject_token=t&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token&audience=payments-api",
        );
        let req = ExchangeRequest::parse(&ok).unwrap();
        assert_eq!(req.audience.as_deref(), Some("payments-api"));
        assert_eq!(req.actor, None);
        for bad in [
            &b"subject_token_type=x"[..],
            b"subject_token=t",
            b"subject_token=t&subject_token_type=x&actor_token=a",
            b"subject_token=t&subject_token_type=x&actor_token_type=y",
        ] {
            assert_eq!(
                ExchangeRequest::parse(&Params::parse(bad))
                    .unwrap_err()
                    .code(),
                ErrorCode::InvalidRequest
            );
        }
    }

    fn client(audiences: &[&str]) -> ClientRecord {
        ClientRecord {
            client_id: "orders-api".into(),
            secret_hash: None,
            token_endpoint_auth_method:
                portcullis_types::TokenEndpointAuthMethod::ClientSecretBasic,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![portcullis_types::GrantType::TokenExchange],
            scope: Scope::default(),
            audience: vec![],
            access_token_ttl: None,
            refresh_token_ttl: None,
            id_token_signed_response_alg: None,
            jwks: None,
            exchange_audiences: audiences.iter().map(|s| (*s).to_owned()).collect(),
            exchange_impersonation: false,
            name: None,
            created_at: 0,
        }
    }

    fn request(audience: Option<&str>, resource: Option<&str>) -> ExchangeRequest {
        ExchangeRequest {
            subject_token: "t".into(),
            subject_token_type: token_type_uri::ACCESS_TOKEN.into(),
            actor: None,
            audience: audience.map(str::to_owned),
            resource: resource.map(str::to_owned),
            scope: None,
            requested_token_type: None,
        }
    }

    #[test]
    fn targets_follow_the_client_policy() {
        let c = client(&["payments-api", "https://ledger.example"]);
        assert_eq!(
            targets(&c, &request(Some("payments-api"), None)).unwrap(),
            vec!["payments-api".to_owned()]
        );
        assert_eq!(
            targets(
                &c,
                &request(Some("payments-api"), Some("https://ledger.example"))
            )
            .unwrap()
            .len(),
            2
        );
        assert_eq!(
            targets(&c, &request(Some("admin-api"), None))
                .unwrap_err()
                .code(),
            ErrorCode::InvalidTarget
        );
        assert_eq!(
            targets(&client(&[]), &request(Some("payments-api"), None))
                .unwrap_err()
                .code(),
            ErrorCode::InvalidTarget
        );
        assert_eq!(
            targets(&c, &request(None, None)).unwrap_err().code(),
            ErrorCode::InvalidRequest
        );
    }

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
            },
            act: Some(json!({"sub": "orders-api", "act": {"sub": "gateway"}})),
        };
        let v = serde_json::to_value(&claims).unwrap();
        assert_eq!(v["act"]["act"]["sub"], "gateway");
        assert_eq!(v["sub"], "u");
        assert!(v.get("auth_time").is_none());
    }
}
