//! `POST /device_authorization` (RFC 8628 §3.1, client authentication as at `/token`) and the
//! user's pages: `GET /device` (sign in, enter the code, confirm), `POST /device` (the decision,
//! session CSRF, 303) and `POST /device/login` (sign-in with the double-submit CSRF cookie).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use portcullis_types::secret::{Password, constant_time_eq};

use super::authorize::current_session;
use super::error::json_no_store;
use super::extract::{
    ClientAddr, authorization as authorization_header, cookie, csrf_cookie_name, form_params,
    is_form, session_cookie_name,
};
use crate::domain::device::{self, Decision, UserCodeError};
use crate::domain::error::ProtocolError;
use crate::domain::params::Params;
use crate::domain::secrets::random_token;
use crate::domain::sessions::{self, Session, check_csrf, csrf_token};
use crate::domain::{client_auth, client_verify, login};
use crate::state::AppState;
use crate::ui;
use crate::ui::device::{DeviceConfirmView, confirm_page, done_page, enter_code_page, signin_page};
use crate::ui::error::error_page;

const UNKNOWN_CODE: &str =
    "That code is not valid, has expired or was already used. Check the code on your device.";
/// Longest typed code carried through the sign-in form.
const MAX_TYPED_CODE: usize = 32;
const TOO_MANY: &str = "Too many wrong codes. Wait a few minutes and try again.";

fn internal() -> Response {
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on our side.",
    )
}

/// `POST /device_authorization`.
pub async fn authorization(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match authorize(&state, &headers, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ProtocolError> {
    let params = form_params(headers, body)?;
    if params.first_duplicate().is_some() {
        return Err(ProtocolError::invalid_request(
            "a parameter was sent more than once",
        ));
    }
    let creds = client_auth::extract(authorization_header(headers), &params)?;
    let client = client_verify::authenticate(state, &creds, true).await?;
    let response = device::authorize(state, &client, params.get("scope")).await?;
    Ok(json_no_store(StatusCode::OK, &response))
}

/// What the user typed, carried through the sign-in form (bounded; checked later).
fn carried_code(params: &Params) -> Option<String> {
    params
        .get("user_code")
        .filter(|c| c.len() <= MAX_TYPED_CODE)
        .map(str::to_owned)
}

/// The sign-in form, setting the CSRF cookie when the browser has none.
fn signin(state: &AppState, jar: CookieJar, user_code: Option<&str>, failed: bool) -> Response {
    let name = csrf_cookie_name(&state.config);
    let (jar, secret) = match jar.get(name).map(|c| c.value().to_owned()) {
        Some(v) if v.len() == 43 => (jar, v),
        _ => match random_token() {
            Ok(v) => (jar.add(cookie(&state.config, name, v.clone())), v),
            Err(_) => return internal(),
        },
    };
    (jar, signin_page(&csrf_token(&secret), user_code, failed)).into_response()
}

async fn username(state: &AppState, session: &Session) -> Option<String> {
    state
        .store
        .get_user(&session.user_id)
        .await
        .ok()
        .flatten()
        .map(|u| u.username)
}

fn code_error(username: &str, error: &UserCodeError, prefill: Option<&str>) -> Response {
    match error {
        UserCodeError::Unknown => enter_code_page(
            StatusCode::BAD_REQUEST,
            username,
            Some(UNKNOWN_CODE),
            prefill,
        ),
        UserCodeError::Throttled => enter_code_page(
            StatusCode::TOO_MANY_REQUESTS,
            username,
            Some(TOO_MANY),
            None,
        ),
        UserCodeError::Internal(_) => internal(),
    }
}

/// `GET /device`.
pub async fn get(
    State(state): State<Arc<AppState>>,
    ClientAddr(addr): ClientAddr,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    match params.get("result") {
        Some("approved") => return done_page(true),
        Some("denied") => return done_page(false),
        _ => {}
    }
    let session = match current_session(&state, &jar).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            let code = carried_code(&params);
            return signin(&state, jar, code.as_deref(), params.get("failed").is_some());
        }
        Err(_) => return internal(),
    };
    let Some(username) = username(&state, &session).await else {
        return signin(&state, jar, None, false);
    };
    let Some(input) = params.get("user_code") else {
        return enter_code_page(StatusCode::OK, &username, None, None);
    };
    match device::lookup(&state, &session.user_id, addr, input).await {
        Ok(pending) => {
            let client_name = pending
                .client
                .name
                .as_deref()
                .unwrap_or(&pending.client.client_id);
            confirm_page(&DeviceConfirmView {
                client_name,
                client_id: &pending.client.client_id,
                scopes: pending.scope.iter().collect(),
                username: &username,
                user_code: &pending.user_code,
                csrf: &session.csrf,
            })
        }
        Err(e) => code_error(&username, &e, carried_code(&params).as_deref()),
    }
}

/// `POST /device`: the decision on the confirmation page.
pub async fn post(
    State(state): State<Arc<AppState>>,
    ClientAddr(addr): ClientAddr,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_form(&headers) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The form was not submitted correctly.",
        );
    }
    let session = match current_session(&state, &jar).await {
        Ok(Some(s)) => s,
        Ok(None) => return ui::see_other("/device"),
        Err(_) => return internal(),
    };
    let form = Params::parse(&body);
    let csrf_ok = form
        .get("csrf")
        .is_some_and(|t| constant_time_eq(t.as_bytes(), session.csrf.as_bytes()));
    if !csrf_ok || form.first_duplicate().is_some() {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The form expired. Reload the page and try again.",
        );
    }
    let decision = match form.get("decision") {
        Some("allow") => Decision::Approve,
        Some("deny") => Decision::Deny,
        _ => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "The form was not submitted correctly.",
            );
        }
    };
    let input = form.get("user_code").unwrap_or_default();
    match device::decide(
        &state,
        &session.user_id,
        session.auth_time,
        addr,
        input,
        decision,
    )
    .await
    {
        Ok(()) => ui::see_other(match decision {
            Decision::Approve => "/device?result=approved",
            Decision::Deny => "/device?result=denied",
        }),
        Err(e) => {
            let name = username(&state, &session).await.unwrap_or_default();
            code_error(&name, &e, None)
        }
    }
}

/// `POST /device/login`: signs in (throttled like `/login`), starts a fresh session and goes
/// back to the device page with the code the user had.
pub async fn login(
    State(state): State<Arc<AppState>>,
    ClientAddr(addr): ClientAddr,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_form(&headers) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The sign-in form was not submitted correctly.",
        );
    }
    let form = Params::parse(&body);
    let csrf_ok = match (
        jar.get(csrf_cookie_name(&state.config)).map(|c| c.value()),
        form.get("csrf"),
    ) {
        (Some(secret), Some(token)) => check_csrf(secret, token),
        _ => false,
    };
    if !csrf_ok || form.first_duplicate().is_some() {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The sign-in form expired. Reload the page and try again.",
        );
    }
    let code = carried_code(&form);
    let back = |failed: bool| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(c) = &code {
            q.append_pair("user_code", c);
        }
        if failed {
            q.append_pair("failed", "1");
        }
        let q = q.finish();
        if q.is_empty() {
            "/device".to_owned()
        } else {
            format!("/device?{q}")
        }
    };
    let (Some(user), Some(password)) = (form.get("username"), form.get("password")) else {
        return ui::see_other(&back(true));
    };
    let user = match login::authenticate_user(&state, user, Password::new(password), addr).await {
        Ok(Some(u)) => u,
        Ok(None) => return ui::see_other(&back(true)),
        Err(_) => return internal(),
    };
    let session_name = session_cookie_name(&state.config);
    let previous = jar.get(session_name).map(|c| c.value().to_owned());
    let (id, _) = match sessions::create(&state, &user.id, previous.as_deref()).await {
        Ok(s) => s,
        Err(_) => return internal(),
    };
    let jar = jar.add(cookie(&state.config, session_name, id));
    (jar, ui::see_other(&back(false))).into_response()
}
