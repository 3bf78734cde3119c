//! Token-endpoint grants: raw form parameters parsed into one variant per grant type, the
//! per-client permission check, and the shared issuing of user tokens (device-code and token
//! exchange included).

use std::net::IpAddr;

use portcullis_types::secret::{DeviceCode, Password};
use portcullis_types::{
    AuthorizationCode, ErrorCode, GrantType, PkceVerifier, RefreshToken, Scope, TokenResponse,
    TokenType,
};

use super::audit;
use super::denylist::retain_until;
use super::error::ProtocolError;
use super::identity::Memberships;
use super::params::Params;
use super::secrets::{random_token, secret_hash};
use super::tokens::{self, IdTokenContext};
use crate::state::AppState;
use crate::store::{ClientRecord, RefreshRecord, RefreshStatus, StoreError, UserRecord};

pub(crate) mod authorization_code;
pub(crate) mod client_credentials;
pub(crate) mod device_code;
pub(crate) mod password;
pub(crate) mod refresh_token;
pub(crate) mod token_exchange;

/// A parsed token request. Codes, tokens, verifiers and passwords are secret newtypes, so the
/// `Debug` output never shows them.
#[derive(Debug, Clone)]
pub(crate) enum GrantRequest {
    /// RFC 6749 §4.1.3.
    AuthorizationCode {
        /// The code.
        code: AuthorizationCode,
        /// The redirect URI, if the client sent it.
        redirect_uri: Option<String>,
        /// The PKCE verifier.
        code_verifier: Option<PkceVerifier>,
    },
    /// RFC 6749 §4.4.
    ClientCredentials {
        /// Requested scope.
        scope: Option<String>,
    },
    /// RFC 6749 §6.
    RefreshToken {
        /// The refresh token.
        refresh_token: RefreshToken,
        /// Requested (narrower) scope.
        scope: Option<String>,
    },
    /// RFC 6749 §4.3, only for clients that opt in.
    Password {
        /// Username.
        username: String,
        /// Password.
        password: Password,
        /// Requested scope.
        scope: Option<String>,
    },
    /// RFC 8628 §3.4.
    DeviceCode {
        /// The device code.
        device_code: DeviceCode,
    },
    /// RFC 8693 §2.1.
    TokenExchange(token_exchange::ExchangeRequest),
}

fn required(params: &Params, name: &'static str) -> Result<String, ProtocolError> {
    params
        .get(name)
        .map(str::to_owned)
        .ok_or_else(|| ProtocolError::invalid_request(format!("{name} is required")))
}

impl GrantRequest {
    /// Parses the grant from the token request.
    pub(crate) fn parse(params: &Params) -> Result<Self, ProtocolError> {
        let scope = params.get("scope").map(str::to_owned);
        let Some(name) = params.get("grant_type") else {
            return Err(ProtocolError::invalid_request("grant_type is required"));
        };
        let Ok(grant_type) = name.parse::<GrantType>() else {
            return Err(ProtocolError::new(
                ErrorCode::UnsupportedGrantType,
                "unsupported grant_type",
            ));
        };
        Ok(match grant_type {
            GrantType::AuthorizationCode => Self::AuthorizationCode {
                code: AuthorizationCode::new(required(params, "code")?),
                redirect_uri: params.get("redirect_uri").map(str::to_owned),
                code_verifier: params.get("code_verifier").map(PkceVerifier::new),
            },
            GrantType::ClientCredentials => Self::ClientCredentials { scope },
            GrantType::RefreshToken => Self::RefreshToken {
                refresh_token: RefreshToken::new(required(params, "refresh_token")?),
                scope,
            },
            GrantType::Password => Self::Password {
                username: required(params, "username")?,
                password: Password::new(required(params, "password")?),
                scope,
            },
            GrantType::DeviceCode => Self::DeviceCode {
                device_code: DeviceCode::new(required(params, "device_code")?),
            },
            GrantType::TokenExchange => {
                Self::TokenExchange(token_exchange::ExchangeRequest::parse(params)?)
            }
        })
    }

    /// The grant type of the request.
    pub(crate) fn grant_type(&self) -> GrantType {
        match self {
            Self::AuthorizationCode { .. } => GrantType::AuthorizationCode,
            Self::ClientCredentials { .. } => GrantType::ClientCredentials,
            Self::RefreshToken { .. } => GrantType::RefreshToken,
            Self::Password { .. } => GrantType::Password,
            Self::DeviceCode { .. } => GrantType::DeviceCode,
            Self::TokenExchange(_) => GrantType::TokenExchange,
        }
    }
}

/// Runs a grant for an authenticated client. `addr` feeds the login throttle of the password
/// grant.
pub(crate) async fn exchange(
    state: &AppState,
    client: &ClientRecord,
    request: GrantRequest,
    addr: Option<IpAddr>,
) -> Result<TokenResponse, ProtocolError> {
    let grant = request.grant_type();
    if !client.allows_grant(grant) {
        return Err(if grant == GrantType::Password {
            ProtocolError::new(
                ErrorCode::UnsupportedGrantType,
                "the password grant is not enabled for this client",
            )
        } else {
            ProtocolError::unauthorized_client("the client may not use this grant type")
        });
    }
    match request {
        GrantRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            authorization_code::exchange(
                state,
                client,
                code.secret(),
                redirect_uri.as_deref(),
                code_verifier.as_ref().map(PkceVerifier::secret),
            )
            .await
        }
        GrantRequest::ClientCredentials { scope } => {
            client_credentials::exchange(state, client, scope.as_deref()).await
        }
        GrantRequest::RefreshToken {
            refresh_token,
            scope,
        } => refresh_token::exchange(state, client, refresh_token.secret(), scope.as_deref()).await,
        GrantRequest::Password {
            username,
            password,
            scope,
        } => password::exchange(state, client, &username, password, scope.as_deref(), addr).await,
        GrantRequest::DeviceCode { device_code } => {
            device_code::exchange(state, client, device_code.secret()).await
        }
        GrantRequest::TokenExchange(req) => token_exchange::exchange(state, client, req).await,
    }
}

/// Maps store errors of token recording: a revoked or vanished grant means the grant is no
/// longer valid.
pub(crate) fn grant_store_error(e: StoreError) -> ProtocolError {
    match e {
        StoreError::GrantRevoked | StoreError::NotFound => {
            ProtocolError::invalid_grant("the grant has been revoked")
        }
        other => other.into(),
    }
}

/// What happens to refresh tokens when issuing user tokens.
#[derive(Debug, Clone)]
pub(crate) enum RefreshAction {
    /// No refresh token.
    None,
    /// Start a new family ending at `absolute_expires_at`.
    NewFamily {
        /// Absolute expiry of the family.
        absolute_expires_at: i64,
    },
    /// The successor was already stored by the rotation; hand it out.
    Rotated(RefreshToken),
}

impl RefreshAction {
    /// A new refresh family for a grant made at `now` when the client may use the refresh
    /// grant, none otherwise.
    pub(crate) fn for_new_grant(state: &AppState, client: &ClientRecord, now: i64) -> Self {
        if client.allows_grant(GrantType::RefreshToken) {
            Self::NewFamily {
                absolute_expires_at: now.saturating_add(state.config.refresh_token_absolute_ttl),
            }
        } else {
            Self::None
        }
    }
}

/// Everything needed to issue tokens for a user grant.
#[derive(Debug)]
pub(crate) struct UserIssue<'a> {
    pub client: &'a ClientRecord,
    pub user: &'a UserRecord,
    pub grant_id: &'a str,
    pub scope: &'a Scope,
    pub auth_time: i64,
    pub sid: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub refresh: RefreshAction,
    pub grant_type: GrantType,
    /// The upstream the user signed in through, if not with a password.
    pub upstream: Option<crate::store::FederatedSignIn>,
}

/// The inactivity expiry of a refresh token issued now: the client's (or default) lifetime,
/// capped by the family's absolute expiry (RT-7).
pub(crate) fn refresh_expiry(
    state: &AppState,
    client: &ClientRecord,
    absolute_expires_at: i64,
) -> i64 {
    let ttl = client
        .refresh_token_ttl
        .unwrap_or(state.config.refresh_token_ttl);
    state.now().saturating_add(ttl).min(absolute_expires_at)
}

/// Signs the access token and, for `openid` requests, an ID token, then records them against the
/// grant and stores a refresh token when asked. Everything is committed before returning.
pub(crate) async fn issue_user_tokens(
    state: &AppState,
    issue: UserIssue<'_>,
) -> Result<TokenResponse, ProtocolError> {
    let signed = sign_user_tokens(state, &issue).await?;
    record_user_tokens(state, issue, signed).await
}

/// The tokens of a user grant, signed (their hooks asked) and not yet recorded anywhere.
#[derive(Debug)]
pub(crate) struct SignedTokens {
    at: tokens::IssuedAccessToken,
    id: Option<tokens::IssuedIdToken>,
}

/// The first half of [`issue_user_tokens`]: signs the tokens, asking the token hooks, and
/// writes nothing, so a grant may sign before it commits (the refresh grant signs before it
/// rotates: a hook that fails then leaves the refresh token unused).
pub(crate) async fn sign_user_tokens(
    state: &AppState,
    issue: &UserIssue<'_>,
) -> Result<SignedTokens, ProtocolError> {
    // Every grant that mints user tokens passes here: a disabled account, or a sign-in older
    // than the user's last sign-out everywhere, gets nothing (TOK-13).
    super::lifecycle::refuse_inactive_account(issue.user, issue.auth_time)?;
    let memberships = Memberships::of_user(state.store.as_ref(), issue.client, issue.user).await?;
    let at = tokens::issue_access_token(
        state,
        issue.client,
        tokens::AccessFor {
            sub: issue.user.id.as_str(),
            scope: issue.scope,
            auth_time: Some(issue.auth_time),
            upstream: issue.upstream.as_ref(),
            memberships,
            grant_type: issue.grant_type,
        },
    )
    .await?;
    // Both tokens are signed, and their hooks asked, before anything is written: a hook that
    // refuses leaves no token recorded and no refresh token stored.
    let id = if issue.scope.contains("openid") {
        Some(
            tokens::issue_id_token(
                state,
                issue.client,
                issue.user,
                issue.scope,
                IdTokenContext {
                    nonce: issue.nonce,
                    auth_time: Some(issue.auth_time),
                    sid: issue.sid,
                    access_token: Some(&at.token),
                    upstream: issue.upstream.as_ref(),
                },
                issue.grant_type,
            )
            .await?,
        )
    } else {
        None
    };
    Ok(SignedTokens { at, id })
}

/// The second half of [`issue_user_tokens`]: records the signed tokens against the grant and
/// stores a refresh token when asked.
pub(crate) async fn record_user_tokens(
    state: &AppState,
    issue: UserIssue<'_>,
    signed: SignedTokens,
) -> Result<TokenResponse, ProtocolError> {
    let SignedTokens { at, id } = signed;
    // A replay of the code racing this very redemption revokes the grant between the consume
    // and the recording (CODE-2). This request still consumed the code first and gets its one
    // answer (CODE-3), but what it carries is already dead: the store denylisted the jti, the
    // mirror is told, and no refresh token is handed out.
    let revoked_by_replay = match state
        .store
        .record_access_token(&at.jti, issue.grant_id, retain_until(at.exp))
        .await
    {
        Ok(()) => false,
        Err(StoreError::GrantRevoked) if issue.grant_type == GrantType::AuthorizationCode => {
            super::denylist::mirror_jti(state, &at.jti, retain_until(at.exp)).await?;
            true
        }
        Err(e) => return Err(grant_store_error(e)),
    };
    let refresh_token = match issue.refresh {
        _ if revoked_by_replay => None,
        RefreshAction::None => None,
        RefreshAction::Rotated(token) => Some(token.secret().to_owned()),
        RefreshAction::NewFamily {
            absolute_expires_at,
        } => {
            let token = random_token()?;
            let rec = RefreshRecord {
                token_hash: secret_hash(&token),
                grant_id: issue.grant_id.to_owned(),
                client_id: issue.client.client_id.clone(),
                user_id: issue.user.id.clone(),
                scope: issue.scope.clone(),
                issued_at: state.now(),
                expires_at: refresh_expiry(state, issue.client, absolute_expires_at),
                absolute_expires_at,
                auth_time: issue.auth_time,
                sid: issue.sid.map(str::to_owned),
                status: RefreshStatus::Active,
                upstream: issue.upstream.clone(),
            };
            match state.store.insert_refresh(rec).await {
                Ok(()) => Some(token),
                // The same race as above, lost a moment later: the refresh token was never
                // stored, so it is not handed out.
                Err(StoreError::GrantRevoked)
                    if issue.grant_type == GrantType::AuthorizationCode =>
                {
                    None
                }
                Err(e) => return Err(grant_store_error(e)),
            }
        }
    };
    let id_token = if let Some(id) = id {
        // Token exchange finds the ID token's grant through this record (and refuses it once
        // the grant is revoked); like the access token, it is dead if a replay won the race.
        if !revoked_by_replay {
            match state
                .store
                .record_access_token(&id.jti, issue.grant_id, retain_until(id.exp))
                .await
            {
                Ok(()) => {}
                Err(StoreError::GrantRevoked)
                    if issue.grant_type == GrantType::AuthorizationCode => {}
                Err(e) => return Err(grant_store_error(e)),
            }
        }
        Some(id.token)
    } else {
        None
    };
    let scope_text = issue.scope.to_string();
    audit::token_issued(
        issue.grant_type.as_str(),
        issue.client.client_id.as_str(),
        issue.user.id.as_str(),
        &at.jti,
        &scope_text,
    );
    Ok(TokenResponse {
        access_token: at.token,
        token_type: TokenType::Bearer,
        expires_in: u64::try_from(at.expires_in).ok(),
        refresh_token,
        scope: Some(scope_text),
        id_token,
        issued_token_type: None,
    })
}

/// Parses a requested scope and checks it is within `allowed` (TOK-9).
pub(crate) fn requested_scope(
    requested: Option<&str>,
    allowed: &Scope,
) -> Result<Scope, ProtocolError> {
    let scope = match requested {
        Some(s) => Scope::parse(s).map_err(|_| ProtocolError::invalid_scope("malformed scope"))?,
        None => return Ok(allowed.clone()),
    };
    if !scope.is_subset(allowed) {
        return Err(ProtocolError::invalid_scope(
            "the requested scope exceeds what is allowed",
        ));
    }
    Ok(scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tok_9_scope_must_be_within_allowed() {
        let allowed = Scope::parse("a b").unwrap();
        assert_eq!(requested_scope(None, &allowed).unwrap(), allowed);
        assert_eq!(
            requested_scope(Some("a"), &allowed).unwrap().to_string(),
            "a"
        );
        assert_eq!(
            requested_scope(Some("a c"), &allowed).unwrap_err().code(),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            requested_scope(Some("a\""), &allowed).unwrap_err().code(),
            ErrorCode::InvalidScope
        );
    }

    #[test]
    fn grant_parsing() {
        let p = Params::parse(b"grant_type=client_credentials&scope=x");
        assert!(matches!(
            GrantRequest::parse(&p).unwrap(),
            GrantRequest::ClientCredentials { scope: Some(_) }
        ));
        let p = Params::parse(b"grant_type=implicit");
        assert_eq!(
            GrantRequest::parse(&p).unwrap_err().code(),
            ErrorCode::UnsupportedGrantType
        );
        let p = Params::parse(b"scope=x");
        assert_eq!(
            GrantRequest::parse(&p).unwrap_err().code(),
            ErrorCode::InvalidRequest
        );
        let p = Params::parse(b"grant_type=authorization_code");
        assert_eq!(
            GrantRequest::parse(&p).unwrap_err().code(),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let requests: [&[u8]; 6] = [
            b"grant_type=authorization_code&code=SECRET-code-1&code_verifier=SECRET-verifier-2\
              &redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
            b"grant_type=refresh_token&refresh_token=SECRET-refresh-3&scope=openid",
            b"grant_type=password&username=alice&password=SECRET-password-4",
            b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code\
              &device_code=SECRET-device-5",
            b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange\
              &subject_token=SECRET-subject-6\
              &subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token\
              &actor_token=SECRET-actor-7\
              &actor_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token",
            b"grant_type=client_credentials&scope=orders%3Aread",
        ];
        let mut kinds = Vec::new();
        for body in requests {
            let request = GrantRequest::parse(&Params::parse(body)).unwrap();
            kinds.push(request.grant_type());
            let shown = format!("{request:?}");
            assert!(!shown.contains("SECRET"), "{shown}");
        }
        kinds.sort();
        assert_eq!(kinds, GrantType::ALL, "every grant type is covered");
        let rotated = RefreshAction::Rotated(RefreshToken::new("SECRET-successor-8"));
        let shown = format!("{rotated:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
    }
}
