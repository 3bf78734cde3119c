//! `GET|POST /userinfo` (OIDC Core §5.3): the Bearer token from the header or the form body
//! (RFC 6750 §2.1/2.2, never both); failures answer 401/403 with a `WWW-Authenticate: Bearer`
//! challenge (RFC 6750 §3).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_types::{BearerChallenge, ErrorCode};

use super::extract::{authorization, is_form};
use crate::domain::params::Params;
use crate::domain::userinfo::{self, UserinfoError};
use crate::state::AppState;

fn challenge(status: StatusCode, c: &BearerChallenge) -> Response {
    let mut r = status.into_response();
    if let Ok(v) = HeaderValue::from_str(&c.to_header_value()) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

/// The UserInfo endpoint.
pub(crate) async fn handler(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let realm = Some(state.config.issuer.clone());
    let from_header = authorization(&headers).and_then(|h| {
        let (scheme, token) = h.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned())
    });
    let body_params = (method == Method::POST && is_form(&headers)).then(|| Params::parse(&body));
    if body_params
        .as_ref()
        .is_some_and(|p| p.is_duplicated("access_token"))
    {
        return bad_request(realm, "access_token sent more than once");
    }
    let from_body = body_params
        .as_ref()
        .and_then(|p| p.get("access_token").map(str::to_owned));
    let token = match (from_header, from_body) {
        (Some(_), Some(_)) => {
            return bad_request(realm, "the token was sent in more than one way");
        }
        (Some(t), None) | (None, Some(t)) if !t.is_empty() => t,
        _ => return challenge(StatusCode::UNAUTHORIZED, &BearerChallenge::bare(realm)),
    };
    match userinfo::claims(&state, &token).await {
        Ok(claims) => Json(claims).into_response(),
        Err(UserinfoError::InvalidToken(description)) => challenge(
            StatusCode::UNAUTHORIZED,
            &BearerChallenge::error(realm, ErrorCode::InvalidToken, description),
        ),
        Err(UserinfoError::InsufficientScope) => {
            let mut c = BearerChallenge::error(
                realm,
                ErrorCode::InsufficientScope,
                "the openid scope is required",
            );
            c.scope = Some("openid".to_owned());
            challenge(StatusCode::FORBIDDEN, &c)
        }
        Err(UserinfoError::Internal) => {
            crate::domain::error::ProtocolError::server_error().into_response()
        }
    }
}

fn bad_request(realm: Option<String>, description: &str) -> Response {
    challenge(
        StatusCode::BAD_REQUEST,
        &BearerChallenge::error(realm, ErrorCode::InvalidRequest, description),
    )
}
