//! `GET|POST /password/forgot`: asking for a reset link by e-mail address, and
//! `GET|POST /password/reset`: the new-password form a link opens. Both are routed only when
//! the reset is offered (an SMTP relay is configured).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use portcullis_types::secret::Password;

use super::account::failure_page;
use super::extract::form::SelfServiceForm;
use super::extract::{ClientAddr, SignInForm};
use super::signin::with_form_token;
use crate::domain::params::Params;
use crate::domain::self_service::reset::{self, Reset, ResetRequest};
use crate::state::AppState;
use crate::ui;
use crate::ui::error::PageError;
use crate::ui::login::LoginNotice;
use crate::ui::self_service::{DeadLink, FormNotice, dead_link_page, forgot_page, reset_page};

/// Where to ask for a new link.
const RETRY: DeadLink = DeadLink::Reset {
    retry: reset::REQUEST_PATH,
};

/// `GET /password/forgot`.
pub(crate) async fn forgot_get(
    State(state): State<Arc<AppState>>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let policy = state.config.self_service.password_policy;
    with_form_token(&state, jar, |csrf| {
        forgot_page(csrf, FormNotice::from_query(&params), &policy)
    })
}

/// `POST /password/forgot`: `email`. The same answer whether or not an account uses it.
pub(crate) async fn forgot_post(
    State(state): State<Arc<AppState>>,
    ClientAddr(addr): ClientAddr,
    SignInForm { params, .. }: SignInForm<SelfServiceForm>,
) -> Response {
    let email = params.get("email").unwrap_or_default();
    match reset::request(&state, email, addr, ui::PageContext::locale()).await {
        Ok(ResetRequest::Accepted) => ui::see_other(&LoginNotice::ResetSent.location()),
        Ok(ResetRequest::Throttled { retry_after_secs }) => {
            let mut q = form_urlencoded::Serializer::new(String::new());
            FormNotice::Throttled {
                wait_secs: retry_after_secs,
            }
            .append_to(&mut q);
            ui::see_other(&format!("{}?{}", reset::REQUEST_PATH, q.finish()))
        }
        Err(e) => failure_page(&e),
    }
}

/// `GET /password/reset?token=…`: the form, for a link that can still be used.
pub(crate) async fn reset_get(
    State(state): State<Arc<AppState>>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let token = params.get("token").unwrap_or_default();
    match reset::is_live(&state, token).await {
        Ok(true) => {}
        Ok(false) => return dead_link_page(RETRY),
        Err(e) => return failure_page(&e),
    }
    let policy = state.config.self_service.password_policy;
    with_form_token(&state, jar, |csrf| {
        reset_page(csrf, token, FormNotice::from_query(&params), &policy)
    })
}

/// `POST /password/reset`: `token`, `password`, `password_repeat`.
pub(crate) async fn reset_post(
    State(state): State<Arc<AppState>>,
    ClientAddr(addr): ClientAddr,
    SignInForm { params, .. }: SignInForm<SelfServiceForm>,
) -> Response {
    let (Some(token), Some(password), Some(repeated)) = (
        params.get("token"),
        params.get("password"),
        params.get("password_repeat"),
    ) else {
        return PageError::FormExpired.into_response();
    };
    let outcome = reset::reset(
        &state,
        token,
        Password::new(password),
        &Password::new(repeated),
        addr,
    )
    .await;
    let notice = match outcome {
        Ok(Reset::Done) => return ui::see_other(&LoginNotice::Reset.location()),
        Ok(Reset::Invalid) => return dead_link_page(RETRY),
        Ok(Reset::Mismatch) => FormNotice::Mismatch,
        Ok(Reset::Policy(refusal)) => refusal.into(),
        Err(e) => return failure_page(&e),
    };
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("token", token);
    notice.append_to(&mut q);
    ui::see_other(&format!("{}?{}", reset::PATH, q.finish()))
}
