//! `POST /consent`: the user's decision on the consent page. Requires the session that saw the
//! page (CSRF token derived from the session id, UI-3); the request is validated again before a
//! code is issued or `access_denied` is sent to the validated redirect URI.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use portcullis_types::ErrorCode;

use super::authorize::{current_session, error_response};
use super::extract::is_form;
use crate::domain::authorize;
use crate::domain::consent;
use crate::domain::params::Params;
use crate::domain::sessions::Session;
use crate::state::AppState;
use crate::ui;
use crate::ui::error::error_page;

/// `POST /consent`.
pub async fn post(
    State(state): State<Arc<AppState>>,
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
    let form = Params::parse(&body);
    let session: Session = match current_session(&state, &jar).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Your session has ended. Return to the application and try again.",
            );
        }
        Err(e) => return error_response(e.into()),
    };
    let csrf_ok = form.get("csrf").is_some_and(|t| {
        portcullis_types::secret::constant_time_eq(t.as_bytes(), session.csrf.as_bytes())
    });
    if !csrf_ok || form.first_duplicate().is_some() {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The consent form expired. Return to the application and try again.",
        );
    }
    let request = Params::parse(form.get("request").unwrap_or_default().as_bytes());
    let req = match authorize::parse(&state, request).await {
        Ok(r) => r,
        Err(e) => return error_response(e),
    };
    let issuer = state.config.issuer.as_str();
    if form.get("decision") != Some("allow") {
        return error_response(req.error(
            issuer,
            ErrorCode::AccessDenied,
            "the user denied the request",
        ));
    }
    if let Err(e) =
        consent::grant(&state, &session.user_id, &req.client.client_id, &req.scope).await
    {
        return error_response(e.into());
    }
    match authorize::issue_code(&state, &req, &session).await {
        Ok(location) => ui::see_other(&location),
        Err(e) => error_response(e.into()),
    }
}
