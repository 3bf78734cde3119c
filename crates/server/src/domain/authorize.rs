//! The authorization endpoint's logic: parsing and validating the request (RED-*, PKCE-1/2),
//! deciding between login, consent and issuing a code, and building the redirect responses
//! (RFC 9207 `iss` on every one, `state` verbatim).

use std::sync::Arc;

use portcullis_types::{
    CodeChallengeMethod, ErrorCode, GrantType, RedirectUri, ResponseType, Scope,
};

use super::consent;
use super::error::ProtocolError;
use super::params::Params;
use super::pkce;
use super::secrets::{random_id, random_token, secret_hash};
use super::sessions::Session;
use super::verify;
use crate::config::redirect;
use crate::state::AppState;
use crate::store::{ClientRecord, CodeRecord, GrantRecord};

/// OpenID Connect `prompt` values understood here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Prompt {
    /// Never show UI.
    pub none: bool,
    /// Force re-authentication.
    pub login: bool,
    /// Force the consent page.
    pub consent: bool,
}

/// A validated authorization request.
#[derive(Debug, Clone)]
pub(crate) struct AuthorizeRequest {
    /// The client.
    pub client: Arc<ClientRecord>,
    /// The validated redirect URI.
    pub redirect_uri: RedirectUri,
    /// `state`, returned verbatim.
    pub state: Option<String>,
    /// Requested scope (the client's allowed scope when none was requested).
    pub scope: Scope,
    /// OIDC nonce.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// Prompt values.
    pub prompt: Prompt,
    /// OIDC max_age in seconds.
    pub max_age: Option<i64>,
    /// Username to prefill.
    pub login_hint: Option<String>,
    /// OIDC id_token_hint.
    pub id_token_hint: Option<String>,
    /// The original parameters, to resume the flow after login or consent.
    pub params: Params,
}

/// Why an authorization request cannot proceed.
#[derive(Debug, Clone)]
pub(crate) enum AuthorizeError {
    /// The client or redirect URI is not valid: show an error page, never redirect (RED-6).
    Page(Untrusted),
    /// An error sent to the validated redirect URI (RED-10).
    Redirect(String),
    /// An internal failure (shown as a generic error page).
    Internal(ProtocolError),
}

/// Why the client or the redirect URI of a request cannot be trusted, so that the browser is
/// shown an error page instead of being redirected (RED-6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Untrusted {
    /// `client_id` was sent more than once.
    DuplicateClientId,
    /// The request has no `client_id`.
    NoClientId,
    /// No client has that id.
    UnknownClient,
    /// `redirect_uri` was sent more than once.
    DuplicateRedirectUri,
    /// The `redirect_uri` is missing where one is required, or is not registered exactly.
    UnregisteredRedirectUri,
}

impl From<ProtocolError> for AuthorizeError {
    fn from(e: ProtocolError) -> Self {
        Self::Internal(e)
    }
}

/// The redirect carrying an error, `state` and `iss` (RFC 9207).
pub(crate) fn error_location(
    issuer: &str,
    redirect_uri: &str,
    state: Option<&str>,
    code: ErrorCode,
    description: &str,
) -> String {
    let description = portcullis_types::error::sanitize_description(description);
    let mut params = vec![
        ("error", code.as_str()),
        ("error_description", description.as_str()),
    ];
    if let Some(s) = state {
        params.push(("state", s));
    }
    params.push(("iss", issuer));
    redirect::append_params(redirect_uri, &params)
}

impl AuthorizeRequest {
    /// An error redirect for this request.
    pub(crate) fn error(&self, issuer: &str, code: ErrorCode, description: &str) -> AuthorizeError {
        AuthorizeError::Redirect(error_location(
            issuer,
            self.redirect_uri.as_str(),
            self.state.as_deref(),
            code,
            description,
        ))
    }
}

/// The query that resumes an authorization request at `/authorize` after a successful login:
/// a `prompt=login` has been honoured and is dropped, everything else is kept.
pub(crate) fn resume_query_after_login(params: &Params) -> String {
    let mut params = params.clone();
    if let Some(prompt) = params.get("prompt") {
        let rest: Vec<&str> = prompt
            .split(' ')
            .filter(|p| !p.is_empty() && *p != "login")
            .collect();
        let rest = rest.join(" ");
        params.set("prompt", Some(rest));
    }
    params.to_query()
}

/// Validates an authorization request (GET query or POST form).
pub(crate) async fn parse(
    state: &AppState,
    params: Params,
) -> Result<AuthorizeRequest, AuthorizeError> {
    if params.is_duplicated("client_id") {
        return Err(AuthorizeError::Page(Untrusted::DuplicateClientId));
    }
    let Some(client_id) = params.get("client_id") else {
        return Err(AuthorizeError::Page(Untrusted::NoClientId));
    };
    let Some(client) = state.client(client_id).await.map_err(ProtocolError::from)? else {
        return Err(AuthorizeError::Page(Untrusted::UnknownClient));
    };
    if params.is_duplicated("redirect_uri") {
        return Err(AuthorizeError::Page(Untrusted::DuplicateRedirectUri));
    }
    let Some(redirect_uri) =
        redirect::resolve(&client.redirect_uris, params.get("redirect_uri")).map(RedirectUri::new)
    else {
        return Err(AuthorizeError::Page(Untrusted::UnregisteredRedirectUri));
    };
    let issuer = state.config.issuer.as_str();
    let state_param = if params.is_duplicated("state") {
        None
    } else {
        params.get("state").map(str::to_owned)
    };
    let fail = |code: ErrorCode, description: &str| {
        AuthorizeError::Redirect(error_location(
            issuer,
            redirect_uri.as_str(),
            state_param.as_deref(),
            code,
            description,
        ))
    };

    if params.first_duplicate().is_some() {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "a parameter was sent more than once",
        ));
    }
    if params.contains("request") {
        return Err(fail(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.contains("request_uri") {
        return Err(fail(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match params.get("response_type").map(str::parse::<ResponseType>) {
        None => return Err(fail(ErrorCode::InvalidRequest, "response_type is required")),
        Some(Ok(ResponseType::Code)) => {}
        Some(Err(_)) => {
            return Err(fail(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(fail(
            ErrorCode::UnauthorizedClient,
            "the client may not use the authorization code flow",
        ));
    }
    if !matches!(params.get("response_mode"), None | Some("query")) {
        return Err(fail(ErrorCode::InvalidRequest, "unsupported response_mode"));
    }
    let allowed = client.scope.clone();
    let scope = match params.get("scope") {
        Some(s) => Scope::parse(s).map_err(|_| fail(ErrorCode::InvalidScope, "malformed scope"))?,
        None => allowed.clone(),
    };
    if !scope.is_subset(&allowed) {
        return Err(fail(
            ErrorCode::InvalidScope,
            "scope not allowed for this client",
        ));
    }

    let method = params
        .get("code_challenge_method")
        .map(str::parse::<CodeChallengeMethod>);
    let code_challenge = match (params.get("code_challenge"), method) {
        (Some(c), Some(Ok(CodeChallengeMethod::S256))) => {
            if !pkce::is_valid_s256_challenge(c) {
                return Err(fail(ErrorCode::InvalidRequest, "malformed code_challenge"));
            }
            Some(c.to_owned())
        }
        (Some(_), _) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method must be S256",
            ));
        }
        (None, Some(_)) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "code_challenge is required",
            ));
        }
        (None, None) => None,
    };
    let public = client.secret_hash.is_none() && client.jwks.is_none();
    if code_challenge.is_none() && (state.config.require_pkce || public) {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "code_challenge (PKCE S256) is required",
        ));
    }

    let mut prompt = Prompt::default();
    for value in params.get("prompt").unwrap_or_default().split(' ') {
        match value {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            _ => {}
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "prompt=none cannot be combined with other values",
        ));
    }
    let max_age = match params.get("max_age") {
        Some(v) => Some(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            fail(
                ErrorCode::InvalidRequest,
                "max_age must be a non-negative integer",
            )
        })?),
        None => None,
    };
    Ok(AuthorizeRequest {
        redirect_uri: redirect_uri.clone(),
        state: state_param.clone(),
        scope,
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge,
        prompt,
        max_age,
        login_hint: params.get("login_hint").map(str::to_owned),
        id_token_hint: params.get("id_token_hint").map(str::to_owned),
        client,
        params,
    })
}

/// What the endpoint does next.
#[derive(Debug, Clone)]
pub(crate) enum Next {
    /// Show the login page.
    Login,
    /// Show the consent page.
    Consent,
    /// Redirect to the client with a code (or an error).
    Redirect(String),
}

/// Decides the next step for a validated request and the browser's session.
pub(crate) async fn decide(
    state: &AppState,
    req: &AuthorizeRequest,
    session: Option<&Session>,
) -> Result<Next, AuthorizeError> {
    let issuer = state.config.issuer.as_str();
    let now = state.now();
    let mut needs_login = match session {
        None => true,
        Some(s) => {
            req.prompt.login
                || req
                    .max_age
                    .is_some_and(|max| now.saturating_sub(s.auth_time) > max)
        }
    };
    if let (Some(hint), Some(s)) = (&req.id_token_hint, session) {
        // OIDC-6: a hint for another user means the current session is not the right one.
        if let Some(claims) = verify::id_token_hint(state, hint).await
            && s.user_id != claims.sub.as_str()
        {
            needs_login = true;
        }
    }
    let user_exists = match session {
        Some(s) if !needs_login => state
            .store
            .get_user(s.user_id.as_str())
            .await
            .map_err(ProtocolError::from)?
            .is_some(),
        _ => false,
    };
    let session = match session {
        Some(s) if !needs_login && user_exists => s,
        _ => {
            if req.prompt.none {
                return Err(req.error(
                    issuer,
                    ErrorCode::LoginRequired,
                    "the user is not signed in",
                ));
            }
            return Ok(Next::Login);
        }
    };
    let covered = consent::is_covered(
        state,
        session.user_id.as_str(),
        req.client.client_id.as_str(),
        &req.scope,
    )
    .await?;
    if req.prompt.consent || !covered {
        if req.prompt.none {
            return Err(req.error(issuer, ErrorCode::ConsentRequired, "consent is required"));
        }
        return Ok(Next::Consent);
    }
    Ok(Next::Redirect(issue_code(state, req, session).await?))
}

/// Creates the grant and a single-use code for it, and returns the success redirect.
pub(crate) async fn issue_code(
    state: &AppState,
    req: &AuthorizeRequest,
    session: &Session,
) -> Result<String, ProtocolError> {
    let now = state.now();
    let grant_id = random_id()?;
    let scope = req.scope.clone();
    state
        .store
        .insert_grant(GrantRecord {
            id: grant_id.clone(),
            client_id: req.client.client_id.clone(),
            user_id: session.user_id.clone(),
            scope: scope.clone(),
            auth_time: session.auth_time,
            sid: Some(session.sid.clone()),
            created_at: now,
            revoked_at: None,
        })
        .await?;
    let code = random_token()?;
    state
        .store
        .insert_code(CodeRecord {
            code_hash: secret_hash(&code),
            client_id: req.client.client_id.clone(),
            user_id: session.user_id.clone(),
            grant_id,
            redirect_uri: req.redirect_uri.clone(),
            scope,
            nonce: req.nonce.clone(),
            code_challenge: req.code_challenge.clone(),
            code_challenge_method: req
                .code_challenge
                .as_ref()
                .map(|_| CodeChallengeMethod::S256),
            auth_time: session.auth_time,
            sid: Some(session.sid.clone()),
            resource: Vec::new(),
            extra: match &session.upstream {
                Some(up) => serde_json::json!({ "upstream": up }),
                None => serde_json::Value::Null,
            },
            expires_at: now.saturating_add(state.config.code_ttl),
            consumed_at: None,
        })
        .await?;
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = &req.state {
        params.push(("state", s.as_str()));
    }
    params.push(("iss", state.config.issuer.as_str()));
    Ok(redirect::append_params(req.redirect_uri.as_str(), &params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iss_1_error_location_carries_state_and_iss() {
        let loc = error_location(
            "https://as.example",
            "https://c.example/cb?x=1",
            Some("s t"),
            ErrorCode::InvalidScope,
            "bad",
        );
        assert_eq!(
            loc,
            "https://c.example/cb?x=1&error=invalid_scope&error_description=bad&state=s+t&iss=https%3A%2F%2Fas.example"
        );
    }
}
