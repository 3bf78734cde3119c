//! `GET|POST /login`: the sign-in form (double-submit CSRF cookie), throttled password check,
//! a fresh session id on success (UI-4) and a 303 back to `/authorize` or to the account page.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use portcullis_types::secret::Password;

use super::extract::{ClientAddr, cookie, csrf_cookie_name, is_form, session_cookie_name};
use crate::domain::authorize::resume_query_after_login;
use crate::domain::login;
use crate::domain::params::Params;
use crate::domain::secrets::random_token;
use crate::domain::sessions::{self, check_csrf, csrf_token};
use crate::state::AppState;
use crate::ui;
use crate::ui::error::error_page;
use crate::ui::login::{LoginView, login_page};

/// Renders the login page, setting the CSRF cookie when the browser has none.
pub fn render_login(
    state: &AppState,
    jar: CookieJar,
    request: &str,
    username: Option<&str>,
    failed: bool,
    client_name: Option<&str>,
) -> Response {
    let name = csrf_cookie_name(&state.config);
    let (jar, secret) = match jar.get(name).map(|c| c.value().to_owned()) {
        Some(v) if v.len() == 43 => (jar, v),
        _ => match random_token() {
            Ok(v) => (jar.add(cookie(&state.config, name, v.clone())), v),
            Err(_) => {
                return error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on our side.",
                );
            }
        },
    };
    let csrf = csrf_token(&secret);
    let view = LoginView {
        request,
        csrf: &csrf,
        username,
        failed,
        client_name,
    };
    (jar, login_page(&view)).into_response()
}

/// `GET /login`: shows the form (`request` carries a pending authorization request).
pub async fn get(
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
        .map(|c| c.name.as_deref().unwrap_or(&c.client_id));
    render_login(
        &state,
        jar,
        request,
        params.get("username"),
        params.get("failed").is_some(),
        client_name,
    )
}

/// `POST /login`.
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
            "The sign-in form was not submitted correctly.",
        );
    }
    let form = Params::parse(&body);
    let csrf_secret = jar
        .get(csrf_cookie_name(&state.config))
        .map(|c| c.value().to_owned());
    let csrf_ok = match (csrf_secret.as_deref(), form.get("csrf")) {
        (Some(secret), Some(token)) => check_csrf(secret, token),
        _ => false,
    };
    if !csrf_ok || form.first_duplicate().is_some() {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The sign-in form expired. Go back to the application and try again.",
        );
    }
    let request = form.get("request").unwrap_or_default().to_owned();
    let (Some(username), Some(password)) = (form.get("username"), form.get("password")) else {
        return retry(&request, None);
    };
    let user = match login::authenticate_user(&state, username, Password::new(password), addr).await
    {
        Ok(u) => u,
        Err(_) => {
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.",
            );
        }
    };
    let Some(user) = user else {
        return retry(&request, Some(username));
    };
    let session_name = session_cookie_name(&state.config);
    let previous = jar.get(session_name).map(|c| c.value().to_owned());
    let (id, _session) = match sessions::create(&state, &user.id, previous.as_deref()).await {
        Ok(s) => s,
        Err(_) => {
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.",
            );
        }
    };
    let jar = jar.add(cookie(&state.config, session_name, id));
    let location = if request.is_empty() {
        "/account".to_owned()
    } else {
        format!(
            "/authorize?{}",
            resume_query_after_login(&Params::parse(request.as_bytes()))
        )
    };
    (jar, ui::see_other(&location)).into_response()
}

fn retry(request: &str, username: Option<&str>) -> Response {
    let mut q = form_urlencoded::Serializer::new(String::new());
    if !request.is_empty() {
        q.append_pair("request", request);
    }
    if let Some(u) = username {
        q.append_pair("username", u);
    }
    q.append_pair("failed", "1");
    ui::see_other(&format!("/login?{}", q.finish()))
}
