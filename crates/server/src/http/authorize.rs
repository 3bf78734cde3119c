//! `GET|POST /authorize` (RED-12): validate, then show the login or consent page or redirect to
//! the client. Untrustworthy client or redirect URI → HTML error page with no `Location` (RED-6);
//! no CORS here (RED-13).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;

use super::extract::PageForm;
use super::extract::form::AuthorizeForm;
use super::extract::session::current_session;
use super::login::render_login;
use crate::domain::authorize::{self, AuthorizeError, AuthorizeRequest, Next};
use crate::domain::params::Params;
use crate::domain::sessions::Session;
use crate::state::AppState;
use crate::ui;
use crate::ui::consent::{ConsentView, consent_page};
use crate::ui::error::PageError;

/// `GET /authorize`.
pub(crate) async fn get(
    State(state): State<Arc<AppState>>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    handle(&state, jar, params).await
}

/// `POST /authorize` with a form body.
pub(crate) async fn post(
    State(state): State<Arc<AppState>>,
    jar: CookieJar,
    form: PageForm<AuthorizeForm>,
) -> Response {
    handle(&state, jar, form.params).await
}

/// The response for an authorization error.
pub(crate) fn error_response(e: AuthorizeError) -> Response {
    match e {
        AuthorizeError::Page(why) => PageError::Untrusted(why).into_response(),
        AuthorizeError::Redirect(location) => ui::see_other(&location),
        AuthorizeError::Internal(e) => {
            tracing::debug!(error = e.description(), "authorization request failed");
            PageError::internal(&e).into_response()
        }
    }
}

async fn handle(state: &AppState, jar: CookieJar, params: Params) -> Response {
    let req = match authorize::parse(state, params).await {
        Ok(r) => r,
        Err(e) => return error_response(e),
    };
    let session = match current_session(state, &jar).await {
        Ok(s) => s,
        Err(e) => return error_response(e.into()),
    };
    match authorize::decide(state, &req, session.as_ref()).await {
        Ok(Next::Redirect(location)) => ui::see_other(&location),
        Ok(Next::Login) => {
            render_login(
                state,
                jar,
                &req.params.to_query(),
                req.login_hint.as_deref(),
                None,
                Some(
                    req.client
                        .name
                        .as_deref()
                        .unwrap_or(req.client.client_id.as_str()),
                ),
                None,
            )
            .await
        }
        Ok(Next::Consent) => match session {
            Some(s) => render_consent(state, &req, &s).await,
            None => PageError::SessionGone.into_response(),
        },
        Err(e) => error_response(e),
    }
}

async fn render_consent(state: &AppState, req: &AuthorizeRequest, session: &Session) -> Response {
    let user = match state.store.get_user(session.user_id.as_str()).await {
        Ok(Some(u)) => u,
        Ok(None) => return PageError::UserGone.into_response(),
        Err(e) => return error_response(AuthorizeError::Internal(e.into())),
    };
    let request = req.params.to_query();
    let view = ConsentView {
        client_name: req
            .client
            .name
            .as_deref()
            .unwrap_or(req.client.client_id.as_str()),
        client_id: req.client.client_id.as_str(),
        scopes: req.scope.iter().collect(),
        username: &user.username,
        request: &request,
        csrf: &session.csrf,
        redirect_uri: req.redirect_uri.as_str(),
    };
    consent_page(&view).into_response()
}
