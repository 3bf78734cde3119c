//! `GET|POST /register`: the sign-up form, and `GET|POST /register/verify`: the e-mail
//! verification link and its confirm button (routed only when offered, see `http::router`).

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
use crate::domain::self_service::registration::{self, Registration, SignUp};
use crate::domain::self_service::verification::{self, Verified};
use crate::state::AppState;
use crate::ui;
use crate::ui::error::PageError;
use crate::ui::login::LoginNotice;
use crate::ui::self_service::{
    DeadLink, FormNotice, SignUpView, dead_link_page, sign_up_page, verify_page,
};

/// `GET /register`.
pub(crate) async fn get(
    State(state): State<Arc<AppState>>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    with_form_token(&state, jar, |csrf| {
        sign_up_page(&SignUpView {
            csrf,
            username: params.get("username").unwrap_or_default(),
            email: params.get("email").unwrap_or_default(),
            notice: FormNotice::from_query(&params),
            policy: state.config.self_service.password_policy,
        })
    })
}

/// `POST /register`: `username`, `email`, `password`, `password_repeat`.
pub(crate) async fn post(
    State(state): State<Arc<AppState>>,
    ClientAddr(addr): ClientAddr,
    SignInForm { params, .. }: SignInForm<SelfServiceForm>,
) -> Response {
    let (Some(username), Some(email), Some(password), Some(repeated)) = (
        params.get("username"),
        params.get("email"),
        params.get("password"),
        params.get("password_repeat"),
    ) else {
        return PageError::FormExpired.into_response();
    };
    let form = SignUp {
        username,
        email,
        password: Password::new(password),
        repeated: Password::new(repeated),
    };
    let notice = match registration::register(&state, form, addr, ui::PageContext::locale()).await {
        Ok(Registration::CheckMail) => return ui::see_other(&LoginNotice::CheckMail.location()),
        Ok(Registration::SignedUp) => return ui::see_other(&LoginNotice::SignedUp.location()),
        Ok(Registration::InvalidUsername) => FormNotice::Username,
        Ok(Registration::InvalidEmail) => FormNotice::Email,
        Ok(Registration::UsernameTaken) => FormNotice::Taken,
        Ok(Registration::Mismatch) => FormNotice::Mismatch,
        Ok(Registration::Policy(refusal)) => refusal.into(),
        Ok(Registration::Throttled { retry_after_secs }) => FormNotice::Throttled {
            wait_secs: retry_after_secs,
        },
        Err(e) => return failure_page(&e),
    };
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("username", username);
    q.append_pair("email", email);
    notice.append_to(&mut q);
    ui::see_other(&format!("/register?{}", q.finish()))
}

/// `GET /register/verify?token=…`: a confirm button for a live link.
pub(crate) async fn verify_get(
    State(state): State<Arc<AppState>>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let token = params.get("token").unwrap_or_default();
    match verification::is_live(&state, token).await {
        Ok(true) => {}
        Ok(false) => return dead_link_page(DeadLink::Confirmation),
        Err(e) => return failure_page(&e),
    }
    with_form_token(&state, jar, |csrf| verify_page(csrf, token))
}

/// `POST /register/verify`: `token`.
pub(crate) async fn verify_post(
    State(state): State<Arc<AppState>>,
    SignInForm { params, .. }: SignInForm<SelfServiceForm>,
) -> Response {
    let token = params.get("token").unwrap_or_default();
    match verification::verify(&state, token).await {
        Ok(Verified::Done) => ui::see_other(&LoginNotice::Verified.location()),
        Ok(Verified::Invalid) => dead_link_page(DeadLink::Confirmation),
        Err(e) => failure_page(&e),
    }
}
