//! `POST /device_authorization` (RFC 8628 §3.1, client authentication as at `/token`) and the
//! user's pages: `GET /device` (sign in, enter the code, confirm), `POST /device` (the decision,
//! session CSRF, 303) and `POST /device/login` (sign-in with the double-submit CSRF cookie).

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;

use super::extract::form::{DeviceDecisionForm, DeviceLoginForm};
use super::extract::session::SessionUnavailable;
use super::extract::{AuthenticatedClient, ClientAddr, CsrfForm, MaybeSession, SignInForm};
use super::signin::{form_token, sign_in};
use crate::domain::device::{self, Decision, UserCodeError};
use crate::domain::error::ProtocolError;
use crate::domain::params::Params;
use crate::domain::sessions::Session;
use crate::state::AppState;
use crate::ui;
use crate::ui::PageContext;
use crate::ui::device::{DeviceConfirmView, confirm_page, done_page, enter_code_page, signin_page};
use crate::ui::error::PageError;
use crate::ui::login::SignInFailure;

/// Longest typed code carried through the sign-in form.
const MAX_TYPED_CODE: usize = 32;

/// `POST /device_authorization` (RFC 8628 §3.1). Every call writes state, so calls are
/// limited per client address and per client (`DeviceLimits`): beyond them the answer is
/// `503 temporarily_unavailable` with `Retry-After` (RFC 6749 §4.1.2.1's code for an overloaded
/// server; RFC 8628's `slow_down` belongs to polling the token endpoint).
pub(crate) async fn authorization(
    State(state): State<Arc<AppState>>,
    ClientAddr(addr): ClientAddr,
    AuthenticatedClient { client, params, .. }: AuthenticatedClient,
) -> Result<Response, ProtocolError> {
    let now = state.now();
    let expires_at = now.saturating_add(state.config.device_code_ttl);
    if let Err(wait) = state.device_throttle.admit(
        client.client_id.as_str(),
        addr,
        now,
        expires_at,
        &state.config.device_limits,
    ) {
        return Err(ProtocolError::temporarily_unavailable(
            "too many device authorization requests; try again later",
            wait,
        ));
    }
    let response = device::authorize(&state, &client, params.get("scope")).await?;
    Ok(Json(response).into_response())
}

/// What the user typed, carried through the sign-in form (bounded; checked later).
fn carried_code(params: &Params) -> Option<String> {
    params
        .get("user_code")
        .filter(|c| c.len() <= MAX_TYPED_CODE)
        .map(str::to_owned)
}

/// The sign-in form, setting the CSRF cookie when the browser has none.
fn signin(
    state: &AppState,
    jar: CookieJar,
    user_code: Option<&str>,
    failure: Option<SignInFailure>,
) -> Response {
    match form_token(state, jar) {
        Ok((jar, csrf)) => (jar, signin_page(&csrf, user_code, failure)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn username(state: &AppState, session: &Session) -> Option<String> {
    state
        .store
        .get_user(session.user_id.as_str())
        .await
        .ok()
        .flatten()
        .map(|u| u.username)
}

fn code_error(username: &str, error: &UserCodeError, prefill: Option<&str>) -> Response {
    let (shown, prefill) = match error {
        UserCodeError::Unknown => (PageError::UnknownUserCode, prefill),
        UserCodeError::Throttled => (PageError::TooManyUserCodes, None),
        UserCodeError::Internal(e) => return PageError::internal(e).into_response(),
    };
    enter_code_page(shown.status(), username, Some(shown.text()), prefill)
}

/// `GET /device`.
pub(crate) async fn get(
    State(state): State<Arc<AppState>>,
    ClientAddr(addr): ClientAddr,
    jar: CookieJar,
    RawQuery(query): RawQuery,
    session: Result<MaybeSession, SessionUnavailable>,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    match params.get("result") {
        Some("approved") => return done_page(true),
        Some("denied") => return done_page(false),
        _ => {}
    }
    let session = match session {
        Ok(MaybeSession(Some(s))) => s,
        Ok(MaybeSession(None)) => {
            let code = carried_code(&params);
            return signin(
                &state,
                jar,
                code.as_deref(),
                SignInFailure::from_query(&params),
            );
        }
        Err(e) => return e.into_response(),
    };
    let Some(username) = username(&state, &session).await else {
        return signin(&state, jar, None, None);
    };
    let Some(input) = params.get("user_code") else {
        return enter_code_page(StatusCode::OK, &username, None, None);
    };
    match device::lookup(&state, session.user_id.as_str(), addr, input).await {
        Ok(pending) => {
            let client_name = pending
                .client
                .name
                .as_deref()
                .unwrap_or(pending.client.client_id.as_str());
            // The code is checked: the page can wear the theme of the client that asked.
            PageContext::current()
                .with_client_theme(&state, pending.client.theme.as_deref())
                .render(|| {
                    confirm_page(&DeviceConfirmView {
                        client_name,
                        client_id: pending.client.client_id.as_str(),
                        scopes: pending.scope.iter().collect(),
                        username: &username,
                        user_code: &pending.user_code,
                        csrf: &session.csrf,
                    })
                })
        }
        Err(e) => code_error(&username, &e, carried_code(&params).as_deref()),
    }
}

/// `POST /device`: the decision on the confirmation page.
pub(crate) async fn post(
    State(state): State<Arc<AppState>>,
    ClientAddr(addr): ClientAddr,
    CsrfForm {
        session,
        params: form,
        ..
    }: CsrfForm<DeviceDecisionForm>,
) -> Response {
    let decision = match form.get("decision") {
        Some("allow") => Decision::Approve,
        Some("deny") => Decision::Deny,
        _ => return PageError::NotSubmitted.into_response(),
    };
    let input = form.get("user_code").unwrap_or_default();
    match device::decide(
        &state,
        session.user_id.as_str(),
        session.auth_time,
        addr,
        input,
        decision,
    )
    .await
    {
        // The client's id goes along so that the result page wears the client's theme.
        Ok(client_id) => ui::see_other(&format!(
            "/device?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair(
                    "result",
                    match decision {
                        Decision::Approve => "approved",
                        Decision::Deny => "denied",
                    },
                )
                .append_pair("client_id", client_id.as_str())
                .finish()
        )),
        Err(e) => {
            let name = username(&state, &session).await.unwrap_or_default();
            code_error(&name, &e, None)
        }
    }
}

/// `POST /device/login`: signs in (throttled like `/login`), starts a fresh session and goes
/// back to the device page with the code the user had.
pub(crate) async fn login(
    State(state): State<Arc<AppState>>,
    ClientAddr(addr): ClientAddr,
    jar: CookieJar,
    SignInForm { params: form, .. }: SignInForm<DeviceLoginForm>,
) -> Response {
    let code = carried_code(&form);
    let back = |failure: Option<SignInFailure>| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(c) = &code {
            q.append_pair("user_code", c);
        }
        if let Some(failure) = failure {
            failure.append_to(&mut q);
        }
        let q = q.finish();
        if q.is_empty() {
            "/device".to_owned()
        } else {
            format!("/device?{q}")
        }
    };
    let (Some(user), Some(password)) = (form.get("username"), form.get("password")) else {
        return ui::see_other(&back(Some(SignInFailure::Wrong)));
    };
    let jar = match sign_in(&state, jar, addr, user, password).await {
        Ok(Ok(jar)) => jar,
        Ok(Err(failure)) => return ui::see_other(&back(Some(failure))),
        Err(e) => return e.into_response(),
    };
    (jar, ui::see_other(&back(None))).into_response()
}
