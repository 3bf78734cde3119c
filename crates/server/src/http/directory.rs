//! `GET /upstream/{id}/start` and `POST /upstream/{id}/login` for a directory (LDAP) upstream:
//! the login page with the directory's own username and password form, and its check. The user
//! picks the directory like any upstream (its button on the login page, `idp_hint={id}`, or
//! `only`); the local password form never asks the directory, so a username always means one
//! account. A right password starts a fresh session (UI-4) marked with the directory (`idp`)
//! and `amr` = `pwd`, and the authorization request resumes.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use portcullis_types::secret::Password;

use super::extract::form::LoginForm;
use super::extract::{ClientAddr, SignInForm};
use super::login::{after_sign_in, retry};
use super::signin::{form_token, outcome, start_session};
use super::upstream::{failure, find};
use crate::domain::audit;
use crate::domain::params::Params;
use crate::state::AppState;
use crate::store::{StoreError, UpstreamRecord};
use crate::ui;
use crate::ui::error::PageError;
use crate::ui::login::{LoginView, SignInFailure, login_page};
use crate::upstream::{self, UpstreamError};

/// Where the form of directory `id` posts, and where a failed attempt shows it again.
fn paths(id: &str) -> (String, String) {
    (
        format!("/upstream/{id}/login"),
        format!("/upstream/{id}/start"),
    )
}

/// The login page with the directory's form (`params`: `request`, and after a failure the
/// typed `username` and why).
pub(crate) async fn form(
    state: &AppState,
    jar: CookieJar,
    upstream: &UpstreamRecord,
    params: &Params,
) -> Response {
    let (jar, csrf) = match form_token(state, jar) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let request = params.get("request").unwrap_or_default();
    let pending = Params::parse(request.as_bytes());
    let client = match pending.get("client_id") {
        Some(id) => state.client(id).await.ok().flatten(),
        None => None,
    };
    let (action, _) = paths(upstream.id.as_str());
    let view = LoginView {
        request,
        csrf: &csrf,
        username: params.get("username"),
        failure: SignInFailure::from_query(params),
        client_name: client
            .as_ref()
            .map(|c| c.name.as_deref().unwrap_or(c.client_id.as_str())),
        upstreams: &[],
        password: true,
        directory: Some((&action, upstream.label())),
        // Accounts of the directory are created and reset there, not here.
        sign_up: false,
        forgot: false,
        notice: None,
    };
    (jar, login_page(&view)).into_response()
}

/// `POST /upstream/{id}/login`.
pub(crate) async fn post(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    ClientAddr(addr): ClientAddr,
    jar: CookieJar,
    SignInForm { params: form, .. }: SignInForm<LoginForm>,
) -> Response {
    let (_, upstream) = match find(&state, &id, None).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let (_, again) = paths(upstream.id.as_str());
    let request = form.get("request").unwrap_or_default().to_owned();
    let (Some(username), Some(password)) = (form.get("username"), form.get("password")) else {
        return retry(&again, &request, None, SignInFailure::Wrong);
    };
    let password = Password::new(password);
    let checked =
        match upstream::directory_sign_in(&state, &upstream, username, &password, addr).await {
            Ok(checked) => checked,
            Err(e @ UpstreamError::Unreachable(_)) => {
                audit::upstream_login_failed(&id, &e.to_string());
                return retry(&again, &request, Some(username), SignInFailure::Unreachable);
            }
            Err(UpstreamError::Busy) => return PageError::Busy.into_response(),
            Err(UpstreamError::Store(StoreError::Unavailable(_))) => {
                return PageError::Unavailable.into_response();
            }
            Err(e) => return failure(&id, &e),
        };
    let user = match outcome(checked) {
        Ok(user) => user,
        Err(why) => return retry(&again, &request, Some(username), why),
    };
    audit::upstream_login_succeeded(user.id.as_str(), &user.username, upstream.id.as_str());
    let signed_in = upstream::directory_sign_in_method(&upstream);
    match start_session(&state, jar, &user, Some(signed_in)).await {
        Ok(jar) => (jar, ui::see_other(&after_sign_in(&request))).into_response(),
        Err(e) => e.into_response(),
    }
}
