//! Signing in to the console through this server, as its client [`CONSOLE_CLIENT_ID`]: the
//! authorization code flow with PKCE S256, `state` and `nonce`, all three derived from one
//! random value kept in a short-lived `HttpOnly` cookie, so nothing is stored server-side. The
//! code is redeemed in-process; the access token is kept only if the admin API's guard accepts
//! it and it carries the `admin` role. Signing out revokes the token and clears the cookie.

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use maud::html;
use portcullis_types::secret::constant_time_eq;
use portcullis_types::{AuthorizationCode, PkceVerifier};
use serde::Deserialize;

use super::access::{ConsoleError, ConsoleForm};
use super::layout::{bare_page, see_other};
use super::{CONSOLE_CLIENT_ID, CONSOLE_PATH, ConsoleState, TOKEN_COOKIE, console_scope};
use crate::admin_api::ADMIN_ROLE;
use crate::domain::grants::{self, GrantRequest};
use crate::domain::secrets::{derived, random_token};
use crate::domain::{pkce, revocation, verify};

/// The cookie holding the random value of a sign-in under way.
const FLOW_COOKIE: &str = "portcullis_console_flow";

/// The `state`, `nonce` and PKCE verifier of the sign-in whose cookie holds `flow`.
struct Flow {
    state: String,
    nonce: String,
    verifier: String,
}

impl Flow {
    fn of(flow: &str) -> Self {
        Self {
            state: derived("console-state", flow),
            nonce: derived("console-nonce", flow),
            verifier: derived("console-pkce", flow),
        }
    }
}

/// A cookie of the console: `HttpOnly`, on the console's path only, `Secure` over https.
fn cookie(state: &ConsoleState, name: &'static str, value: String) -> Cookie<'static> {
    let mut c = Cookie::new(name, value);
    c.set_http_only(true);
    c.set_path(CONSOLE_PATH);
    c.set_secure(state.secure);
    // The flow cookie comes back on the redirect from the sign-in pages, a top-level
    // navigation that may cross sites; the token cookie never leaves the console's own pages.
    c.set_same_site(if name == FLOW_COOKIE {
        SameSite::Lax
    } else {
        SameSite::Strict
    });
    c
}

/// What removes the cookie `name`.
fn removal(name: &'static str) -> Cookie<'static> {
    let mut c = Cookie::from(name);
    c.set_path(CONSOLE_PATH);
    c
}

/// `GET /admin/console/login`: starts a sign-in at this server's authorization endpoint.
pub(crate) async fn login(State(state): State<ConsoleState>, jar: CookieJar) -> Response {
    let Ok(flow) = random_token() else {
        return ConsoleError::Unavailable.into_response();
    };
    let Flow {
        state: csrf_state,
        nonce,
        verifier,
    } = Flow::of(&flow);
    let mut url = match url::Url::parse(&format!(
        "{}/authorize",
        state.app.config.issuer.trim_end_matches('/')
    )) {
        Ok(url) => url,
        Err(e) => return ConsoleError::BadRequest(e.to_string()).into_response(),
    };
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CONSOLE_CLIENT_ID)
        .append_pair("redirect_uri", &state.redirect_uri)
        .append_pair("scope", &console_scope())
        .append_pair("state", &csrf_state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &pkce::s256_challenge(&verifier))
        .append_pair("code_challenge_method", "S256");
    let jar = jar.add(cookie(&state, FLOW_COOKIE, flow));
    (jar, see_other(url.as_str())).into_response()
}

/// What the authorization endpoint sends back.
#[derive(Debug, Deserialize)]
pub(crate) struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /admin/console/callback`: checks `state`, redeems the code with the PKCE verifier,
/// checks the ID token's `nonce` and the access token's role, then keeps the access token.
pub(crate) async fn callback(
    State(state): State<ConsoleState>,
    jar: CookieJar,
    Query(callback): Query<Callback>,
) -> Response {
    let Some(flow) = jar.get(FLOW_COOKIE).map(|c| Flow::of(c.value())) else {
        return failed("No sign-in is under way in this browser (or it took too long).");
    };
    let jar = jar.remove(removal(FLOW_COOKIE));
    let state_ok = callback
        .state
        .as_deref()
        .is_some_and(|s| constant_time_eq(s.as_bytes(), flow.state.as_bytes()));
    if !state_ok {
        return (
            jar,
            failed("The sign-in response does not belong to this sign-in."),
        )
            .into_response();
    }
    if let Some(error) = callback.error {
        let text = callback.error_description.unwrap_or(error);
        return (
            jar,
            failed(&format!("The sign-in was not completed: {text}")),
        )
            .into_response();
    }
    let Some(code) = callback.code else {
        return (jar, failed("The sign-in response carries no code.")).into_response();
    };
    match redeem(&state, &code, &flow).await {
        Ok(token) => {
            let jar = jar.add(cookie(&state, TOKEN_COOKIE, token));
            (jar, signed_in()).into_response()
        }
        Err(e) => (jar, e.into_response()).into_response(),
    }
}

/// Redeems `code` and checks what comes back; gives the access token.
async fn redeem(state: &ConsoleState, code: &str, flow: &Flow) -> Result<String, ConsoleError> {
    let app = &state.app;
    let client = app
        .client(CONSOLE_CLIENT_ID)
        .await
        .map_err(|e| ConsoleError::Api(crate::admin::AdminError::from(e).into()))?
        .ok_or_else(|| {
            ConsoleError::BadRequest("the console's client is not registered".to_owned())
        })?;
    let request = GrantRequest::AuthorizationCode {
        code: AuthorizationCode::new(code.to_owned()),
        redirect_uri: Some(state.redirect_uri.to_string()),
        code_verifier: Some(PkceVerifier::new(flow.verifier.clone())),
    };
    let tokens = grants::exchange(app, &client, request, None)
        .await
        .map_err(|e| ConsoleError::BadRequest(e.description().to_owned()))?;
    let nonce_ok = match &tokens.id_token {
        Some(id_token) => verify::id_token_hint(app, id_token).await.is_some_and(|t| {
            t.aud.contains(CONSOLE_CLIENT_ID)
                && t.nonce
                    .is_some_and(|n| constant_time_eq(n.as_bytes(), flow.nonce.as_bytes()))
        }),
        None => false,
    };
    if !nonce_ok {
        return Err(ConsoleError::BadRequest(
            "the ID token does not answer this sign-in".to_owned(),
        ));
    }
    let claims = state
        .guard
        .verify(&tokens.access_token)
        .await
        .map_err(|_| ConsoleError::SignIn)?;
    if !claims.has_role(ADMIN_ROLE) {
        return Err(ConsoleError::Forbidden(
            "Your account does not hold the admin role, so it cannot use the admin console."
                .to_owned(),
        ));
    }
    Ok(tokens.access_token)
}

/// The page after a sign-in: it moves on to the console by itself. A page rather than a
/// redirect, so that the next request starts from the console's own site and carries the
/// `SameSite=Strict` cookie even when the sign-in pages live on another site.
fn signed_in() -> Response {
    let home = format!("{CONSOLE_PATH}/");
    bare_page(
        StatusCode::OK,
        "Signed in",
        html! { meta http-equiv="refresh" content=(format!("0;url={home}")); },
        html! { p { a href=(home) { "Continue to the console" } } },
    )
}

fn failed(text: &str) -> Response {
    bare_page(
        StatusCode::BAD_REQUEST,
        "Sign-in failed",
        html! {},
        html! {
            p.error role="alert" { (text) }
            p { a href=(format!("{CONSOLE_PATH}/login")) { "Sign in again" } }
        },
    )
}

/// The sign-out form carries only its CSRF token.
#[derive(Debug, Deserialize)]
pub(crate) struct SignOut {}

/// `POST /admin/console/logout`: revokes the console's access token and clears its cookie.
pub(crate) async fn logout(
    State(state): State<ConsoleState>,
    jar: CookieJar,
    ConsoleForm(SignOut {}): ConsoleForm<SignOut>,
) -> Response {
    if let Some(token) = jar.get(TOKEN_COOKIE).map(|c| c.value().to_owned()) {
        match state.app.client(CONSOLE_CLIENT_ID).await {
            Ok(Some(client)) => {
                if let Err(e) =
                    revocation::revoke(&state.app, &client, &token, Some("access_token")).await
                {
                    tracing::warn!(error = %e.description(), "revoking the console's token failed");
                }
                state.app.forget_unrevoked();
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "revoking the console's token failed"),
        }
    }
    let jar = jar.remove(removal(TOKEN_COOKIE));
    let mut response = bare_page(
        StatusCode::OK,
        "Signed out",
        html! {},
        html! { p { a href=(format!("{CONSOLE_PATH}/login")) { "Sign in again" } } },
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    (jar, response).into_response()
}
