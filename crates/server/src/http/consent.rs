//! `POST /consent`: the user's decision on the consent page. Requires the session that saw the
//! page (CSRF token derived from the session id, UI-3, checked by [`CsrfForm`]); the request is
//! validated again before a code is issued or `access_denied` is sent to the validated redirect
//! URI.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use portcullis_types::ErrorCode;

use super::authorize::error_response;
use super::extract::CsrfForm;
use super::extract::form::ConsentForm;
use crate::domain::authorize;
use crate::domain::consent;
use crate::domain::params::Params;
use crate::state::AppState;
use crate::ui;

/// `POST /consent`.
pub(crate) async fn post(
    State(state): State<Arc<AppState>>,
    CsrfForm {
        session,
        params: form,
        ..
    }: CsrfForm<ConsentForm>,
) -> Response {
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
    if let Err(e) = consent::grant(
        &state,
        session.user_id.as_str(),
        req.client.client_id.as_str(),
        &req.scope,
    )
    .await
    {
        return error_response(e.into());
    }
    match authorize::issue_code(&state, &req, &session).await {
        Ok(location) => ui::see_other(&location),
        Err(e) => error_response(e.into()),
    }
}
