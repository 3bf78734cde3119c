//! `GET /account` lists the applications the user granted; `POST /account/withdraw` withdraws
//! one (its grants, refresh tokens and recorded access tokens are revoked) and 303s back.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::extract::form::WithdrawForm;
use super::extract::{CsrfForm, SignedIn};
use crate::domain::consent;
use crate::state::AppState;
use crate::ui;
use crate::ui::account::{GrantedApp, account_page};
use crate::ui::error::PageError;

/// `GET /account`.
pub(crate) async fn get(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
) -> Response {
    let user = match state.store.get_user(session.user_id.as_str()).await {
        Ok(Some(u)) => u,
        Ok(None) => return ui::see_other("/login"),
        Err(e) => return PageError::internal(&e.into()).into_response(),
    };
    let consents = match state.store.list_consents(user.id.as_str()).await {
        Ok(c) => c,
        Err(e) => return PageError::internal(&e.into()).into_response(),
    };
    let mut apps = Vec::with_capacity(consents.len());
    for c in consents {
        let name = match state.client(c.client_id.as_str()).await {
            Ok(Some(client)) => client
                .name
                .clone()
                .unwrap_or_else(|| c.client_id.to_string()),
            _ => c.client_id.to_string(),
        };
        apps.push(GrantedApp {
            client_id: c.client_id.into_inner(),
            name,
            scope: c.scope,
        });
    }
    account_page(&user.username, &apps, &session.csrf)
}

/// `POST /account/withdraw`.
pub(crate) async fn withdraw(
    State(state): State<Arc<AppState>>,
    CsrfForm {
        session, params, ..
    }: CsrfForm<WithdrawForm>,
) -> Response {
    let Some(client_id) = params.get("client_id") else {
        return PageError::FormExpired.into_response();
    };
    match consent::withdraw(&state, session.user_id.as_str(), client_id).await {
        Ok(_) => ui::see_other("/account"),
        Err(e) => PageError::internal(&e).into_response(),
    }
}
