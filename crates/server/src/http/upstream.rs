//! `GET /upstream/{id}/start` and `GET /upstream/{id}/callback`: signing in through an upstream
//! identity provider. The start binds a fresh `state` to the browser's CSRF cookie and sends the
//! browser to the upstream; the callback spends that state once, signs the linked (or new)
//! local user in with a fresh session (UI-4) and resumes the authorization request, or, when
//! the sign-in was started from the account page to link an account, links it to the user.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;

use super::directory;
use super::extract::session::current_session;
use super::extract::{cookie, csrf_cookie_name, session_cookie_name};
use super::login::after_sign_in;
use super::signin::csrf_cookie;
use crate::domain::audit;
use crate::domain::params::Params;
use crate::domain::sessions;
use crate::state::AppState;
use crate::store::{StoreError, UpstreamKind, UpstreamRecord};
use crate::ui;
use crate::ui::account::UpstreamNotice;
use crate::ui::error::PageError;
use crate::upstream::{self, UpstreamError, accounts};

/// The path that starts a sign-in at upstream `id`, resuming `request` afterwards.
pub(crate) fn start_path(id: &str, request: &str) -> String {
    if request.is_empty() {
        return format!("/upstream/{id}/start");
    }
    let q: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("request", request)
        .finish();
    format!("/upstream/{id}/start?{q}")
}

/// The page for a failed upstream sign-in: a fixed text; the detail is logged.
pub(crate) fn failure(id: &str, e: &UpstreamError) -> Response {
    audit::upstream_login_failed(id, &e.to_string());
    match e {
        UpstreamError::Store(StoreError::Unavailable(_)) => PageError::Unavailable,
        UpstreamError::Store(_) | UpstreamError::Internal(_) => PageError::Internal,
        other => PageError::Upstream(other.refusal()),
    }
    .into_response()
}

/// The query and the upstream of a request to `/upstream/{id}/…`, or the failure page.
pub(crate) async fn find(
    state: &AppState,
    id: &str,
    query: Option<String>,
) -> Result<(Params, UpstreamRecord), Response> {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    match state.store.get_upstream(id).await {
        Ok(Some(u)) => Ok((params, u)),
        Ok(None) => Err(failure(id, &UpstreamError::Unknown)),
        Err(e) => Err(failure(id, &e.into())),
    }
}

/// `GET /upstream/{id}/start?request=…`.
pub(crate) async fn start(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let (params, upstream) = match find(&state, &id, query).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let request = params.get("request").unwrap_or_default();
    if matches!(upstream.kind, UpstreamKind::Ldap(_)) {
        return directory::form(&state, jar, &upstream, &params).await;
    }
    let (jar, binding) = match csrf_cookie(&state, jar) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let purpose = upstream::Purpose::SignIn { request };
    match upstream::begin(&state, &upstream, &binding, purpose).await {
        Ok(url) => (jar, ui::see_other(&url)).into_response(),
        Err(e) => failure(&id, &e),
    }
}

/// `GET /upstream/{id}/callback?code=…&state=…[&iss=…]`.
pub(crate) async fn callback(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let (params, upstream) = match find(&state, &id, query).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let binding = jar
        .get(csrf_cookie_name(&state.config))
        .map(|c| c.value().to_owned());
    let completed = match upstream::complete(&state, &upstream, binding.as_deref(), &params).await {
        Ok(c) => c,
        Err(e) => return failure(&id, &e),
    };
    if let Some(user_id) = &completed.link_user {
        return link(&state, &jar, &upstream, &completed, user_id).await;
    }
    let (user, signed_in) = match accounts::sign_in(&state, &upstream, &completed.identity).await {
        Ok(u) => u,
        Err(e) => return failure(&id, &e),
    };
    audit::upstream_login_succeeded(user.id.as_str(), &user.username, upstream.id.as_str());
    let name = session_cookie_name(&state.config);
    let previous = jar.get(name).map(|c| c.value().to_owned());
    let session_id = match sessions::create_with(
        &state,
        user.id.as_str(),
        previous.as_deref(),
        Some(signed_in),
    )
    .await
    {
        Ok((session_id, _)) => session_id,
        Err(e) => return PageError::internal(&e).into_response(),
    };
    let jar = jar.add(cookie(&state.config, name, session_id));
    (jar, ui::see_other(&after_sign_in(&completed.request))).into_response()
}

/// The end of a link asked for on the account page: the browser must still be signed in as the
/// user who asked; the account is linked to that user, who lands back on the account page.
async fn link(
    state: &AppState,
    jar: &CookieJar,
    upstream: &UpstreamRecord,
    completed: &upstream::Completed,
    user_id: &str,
) -> Response {
    let id = upstream.id.as_str();
    match current_session(state, jar).await {
        Ok(Some(session)) if session.user_id.as_str() == user_id => {}
        Ok(_) => return failure(id, &UpstreamError::LinkSession),
        Err(e) => return PageError::internal(&e).into_response(),
    }
    match accounts::link(state, upstream, &completed.identity, user_id).await {
        Ok(()) => {
            audit::upstream_linked(user_id, id);
            ui::see_other(&UpstreamNotice::Linked.location())
        }
        Err(e) => failure(id, &e),
    }
}
