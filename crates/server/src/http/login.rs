//! `GET|POST /login`: the sign-in form (double-submit CSRF cookie), throttled password check,
//! a fresh session id on success (UI-4) and a 303 back to `/authorize` or to the account page.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;

use super::extract::ClientAddr;
use super::extract::SignInForm;
use super::extract::form::LoginForm;
use super::signin::{form_token, sign_in};
use super::upstream::start_path;
use crate::domain::authorize::resume_query_after_login;
use crate::domain::params::Params;
use crate::state::AppState;
use crate::ui;
use crate::ui::error::PageError;
use crate::ui::login::{LoginNotice, LoginView, SignInFailure, login_page};

/// Renders the login page, setting the CSRF cookie when the browser has none: a button per
/// upstream provider and the password form (unless `[login] password = false`). The request's
/// `idp_hint`, or an upstream marked `only`, skips the page and goes to that upstream.
pub(crate) async fn render_login(
    state: &AppState,
    jar: CookieJar,
    request: &str,
    username: Option<&str>,
    failure: Option<SignInFailure>,
    client_name: Option<&str>,
    notice: Option<LoginNotice>,
) -> Response {
    let upstreams = match state.store.list_upstreams().await {
        Ok(u) => u,
        Err(e) => return PageError::internal(&e.into()).into_response(),
    };
    let pending = Params::parse(request.as_bytes());
    let hinted = pending
        .get("idp_hint")
        .and_then(|hint| upstreams.iter().find(|u| u.id.as_str() == hint));
    if let Some(upstream) = hinted.or_else(|| upstreams.iter().find(|u| u.only)) {
        return ui::see_other(&start_path(upstream.id.as_str(), request));
    }
    let (jar, csrf) = match form_token(state, jar) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let buttons: Vec<(String, String)> = upstreams
        .iter()
        .map(|u| (start_path(u.id.as_str(), request), u.label().to_owned()))
        .collect();
    let view = LoginView {
        request,
        csrf: &csrf,
        username,
        failure,
        client_name,
        upstreams: &buttons,
        password: state.config.password_login,
        directory: None,
        sign_up: state.config.password_login && state.config.self_service.registration,
        forgot: state.config.password_login && state.config.self_service.reset_offered(),
        notice,
    };
    (jar, login_page(&view)).into_response()
}

/// `GET /login`: shows the form (`request` carries a pending authorization request).
pub(crate) async fn get(
    State(state): State<Arc<AppState>>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let request = params.get("request").unwrap_or_default();
    let pending = Params::parse(request.as_bytes());
    let client = match pending.get("client_id") {
        Some(id) => state.client(id).await.ok().flatten(),
        None => None,
    };
    let client_name = client
        .as_ref()
        .map(|c| c.name.as_deref().unwrap_or(c.client_id.as_str()));
    render_login(
        &state,
        jar,
        request,
        params.get("username"),
        SignInFailure::from_query(&params),
        client_name,
        LoginNotice::from_query(&params),
    )
    .await
}

/// `POST /login`.
pub(crate) async fn post(
    State(state): State<Arc<AppState>>,
    ClientAddr(addr): ClientAddr,
    jar: CookieJar,
    SignInForm { params: form, .. }: SignInForm<LoginForm>,
) -> Response {
    let request = form.get("request").unwrap_or_default().to_owned();
    if !state.config.password_login {
        return retry("/login", &request, None, SignInFailure::Wrong);
    }
    let (Some(username), Some(password)) = (form.get("username"), form.get("password")) else {
        return retry("/login", &request, None, SignInFailure::Wrong);
    };
    let jar = match sign_in(&state, jar, addr, username, password).await {
        Ok(Ok(jar)) => jar,
        Ok(Err(failure)) => return retry("/login", &request, Some(username), failure),
        Err(e) => return e.into_response(),
    };
    (jar, ui::see_other(&after_sign_in(&request))).into_response()
}

/// Where a browser goes once signed in: back to the pending authorization `request`, or to the
/// account page.
pub(crate) fn after_sign_in(request: &str) -> String {
    if request.is_empty() {
        "/account".to_owned()
    } else {
        format!(
            "/authorize?{}",
            resume_query_after_login(&Params::parse(request.as_bytes()))
        )
    }
}

/// Back to the sign-in form at `path` with the pending `request`, the typed `username` and
/// why.
pub(crate) fn retry(
    path: &str,
    request: &str,
    username: Option<&str>,
    failure: SignInFailure,
) -> Response {
    let mut q = form_urlencoded::Serializer::new(String::new());
    if !request.is_empty() {
        q.append_pair("request", request);
    }
    if let Some(u) = username {
        q.append_pair("username", u);
    }
    failure.append_to(&mut q);
    ui::see_other(&format!("{path}?{}", q.finish()))
}
