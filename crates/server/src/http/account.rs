//! `GET /account` lists the applications the user granted; `POST /account/withdraw` withdraws
//! one (its grants, refresh tokens and recorded access tokens are revoked) and 303s back.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;

use super::authorize::current_session;
use super::extract::is_form;
use crate::domain::consent;
use crate::domain::params::Params;
use crate::state::AppState;
use crate::ui;
use crate::ui::account::{GrantedApp, account_page};
use crate::ui::error::error_page;

fn internal() -> Response {
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on our side.",
    )
}

/// `GET /account`.
pub async fn get(State(state): State<Arc<AppState>>, jar: CookieJar) -> Response {
    let session = match current_session(&state, &jar).await {
        Ok(Some(s)) => s,
        Ok(None) => return ui::see_other("/login"),
        Err(_) => return internal(),
    };
    let user = match state.store.get_user(&session.user_id).await {
        Ok(Some(u)) => u,
        Ok(None) => return ui::see_other("/login"),
        Err(_) => return internal(),
    };
    let consents = match state.store.list_consents(&user.id).await {
        Ok(c) => c,
        Err(_) => return internal(),
    };
    let mut apps = Vec::with_capacity(consents.len());
    for c in consents {
        let name = match state.client(&c.client_id).await {
            Ok(Some(client)) => client.name.clone().unwrap_or_else(|| c.client_id.clone()),
            _ => c.client_id.clone(),
        };
        apps.push(GrantedApp {
            client_id: c.client_id,
            name,
            scope: c.scope,
        });
    }
    account_page(&user.username, &apps, &session.csrf)
}

/// `POST /account/withdraw`.
pub async fn withdraw(
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
    let session = match current_session(&state, &jar).await {
        Ok(Some(s)) => s,
        Ok(None) => return ui::see_other("/login"),
        Err(_) => return internal(),
    };
    let form = Params::parse(&body);
    let csrf_ok = form.get("csrf").is_some_and(|t| {
        portcullis_types::secret::constant_time_eq(t.as_bytes(), session.csrf.as_bytes())
    });
    let Some(client_id) = form.get("client_id").filter(|_| csrf_ok) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The form expired. Reload the page and try again.",
        );
    };
    match consent::withdraw(&state, &session.user_id, client_id).await {
        Ok(_) => ui::see_other("/account"),
        Err(_) => internal(),
    }
}
