//! `GET /account` lists the applications the user granted; `POST /account/withdraw` withdraws
//! one (its grants, refresh tokens and recorded access tokens are revoked) and 303s back.
//! `POST /account/password` changes the password (the browser stays signed in with a fresh
//! session, everything else is signed out); `POST /account/sign-out-everywhere` signs the user
//! out of every browser and application, this one included. `POST /account/upstreams/link`
//! and `/unlink` link an account of an upstream provider to the user (through a sign-in there)
//! and remove such a link. `POST /account/delete` deletes the account once the password (or,
//! without one, the username) is typed again.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use portcullis_types::ErrorCode;
use portcullis_types::secret::Password;

use super::extract::form::{
    DeleteAccountForm, LinkUpstreamForm, PasswordChangeForm, SignOutEverywhereForm,
    UnlinkUpstreamForm, WithdrawForm,
};
use super::extract::{ClientAddr, CsrfForm, SignedIn, cookie, removal, session_cookie_name};
use super::signin::csrf_cookie;
use crate::domain::account::{self, Deletion, PasswordChange};
use crate::domain::error::ProtocolError;
use crate::domain::params::Params;
use crate::domain::password::PolicyRefusal;
use crate::domain::{consent, sessions};
use crate::state::AppState;
use crate::store::{UpstreamKind, UserRecord};
use crate::ui;
use crate::ui::account::{
    AccountView, GrantedApp, LinkableUpstream, PasswordNotice, UpstreamNotice, account_page,
};
use crate::ui::error::PageError;
use crate::ui::login::LoginNotice;
use crate::upstream::{self, Purpose, accounts};

/// The signed-in user's record, or the answer to give when there is none.
async fn signed_in_user(state: &AppState, user_id: &str) -> Result<UserRecord, Response> {
    match state.store.get_user(user_id).await {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(ui::see_other("/login")),
        Err(e) => Err(PageError::internal(&e.into()).into_response()),
    }
}

/// `GET /account`.
pub(crate) async fn get(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    RawQuery(query): RawQuery,
) -> Response {
    let user = match signed_in_user(&state, session.user_id.as_str()).await {
        Ok(u) => u,
        Err(r) => return r,
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
    let upstreams = match linkable_upstreams(&state, &user).await {
        Ok(u) => u,
        Err(e) => return PageError::internal(&e.into()).into_response(),
    };
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    account_page(&AccountView {
        username: &user.username,
        apps: &apps,
        upstreams: &upstreams,
        csrf: &session.csrf,
        notice: PasswordNotice::from_query(&params),
        upstream_notice: UpstreamNotice::from_query(&params),
        policy: state.config.self_service.password_policy,
        has_password: !user.password_hash.is_empty(),
    })
}

/// The upstream providers a user may sign in with (those offering a browser sign-in), each
/// with whether the user has an account there linked. A directory (LDAP) has no browser
/// sign-in to link through (its accounts link by signing in with its form): it is listed only
/// when linked, to unlink it.
async fn linkable_upstreams(
    state: &AppState,
    user: &UserRecord,
) -> Result<Vec<LinkableUpstream>, crate::store::StoreError> {
    let links = state.store.list_upstream_links(user.id.as_str()).await?;
    Ok(state
        .store
        .list_upstreams()
        .await?
        .into_iter()
        .map(|u| {
            let linked = links.iter().any(|l| l.upstream_id == u.id);
            (u, linked)
        })
        .filter(|(u, linked)| *linked || !matches!(u.kind, UpstreamKind::Ldap(_)))
        .map(|(u, linked)| LinkableUpstream {
            linked,
            label: u.label().to_owned(),
            id: u.id.as_str().to_owned(),
        })
        .collect())
}

/// `POST /account/upstreams/link` (`upstream`): sends the browser to the upstream to sign in
/// there; its callback links that account to this user.
pub(crate) async fn link_upstream(
    State(state): State<Arc<AppState>>,
    jar: CookieJar,
    CsrfForm {
        session, params, ..
    }: CsrfForm<LinkUpstreamForm>,
) -> Response {
    let Some(id) = params.get("upstream") else {
        return PageError::FormExpired.into_response();
    };
    let upstream = match state.store.get_upstream(id).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            return PageError::Upstream(upstream::Refusal::Unknown).into_response();
        }
        Err(e) => return PageError::internal(&e.into()).into_response(),
    };
    let (jar, binding) = match csrf_cookie(&state, jar) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let purpose = Purpose::Link {
        user_id: session.user_id.as_str(),
    };
    match upstream::begin(&state, &upstream, &binding, purpose).await {
        Ok(url) => (jar, ui::see_other(&url)).into_response(),
        Err(e) => {
            tracing::warn!(upstream = id, error = %e, "link not started");
            PageError::Upstream(e.refusal()).into_response()
        }
    }
}

/// `POST /account/upstreams/unlink` (`upstream`): removes the link, unless it is the user's only
/// way to sign in.
pub(crate) async fn unlink_upstream(
    State(state): State<Arc<AppState>>,
    CsrfForm {
        session, params, ..
    }: CsrfForm<UnlinkUpstreamForm>,
) -> Response {
    let Some(id) = params.get("upstream") else {
        return PageError::FormExpired.into_response();
    };
    let user = match signed_in_user(&state, session.user_id.as_str()).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let notice = match accounts::unlink(&state, &user, id).await {
        Ok(accounts::Unlinked::Done) => {
            crate::domain::audit::upstream_unlinked(user.id.as_str(), id);
            UpstreamNotice::Unlinked
        }
        Ok(accounts::Unlinked::NotLinked) => UpstreamNotice::NotLinked,
        Ok(accounts::Unlinked::LastWayIn) => UpstreamNotice::LastWayIn,
        Err(e) => return PageError::internal(&e.into()).into_response(),
    };
    ui::see_other(&notice.location())
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

/// `POST /account/sign-out-everywhere`: every session (this one too), grant and token of the
/// user ends; the browser lands on the signed-out page.
pub(crate) async fn sign_out_everywhere(
    State(state): State<Arc<AppState>>,
    jar: CookieJar,
    CsrfForm { session, .. }: CsrfForm<SignOutEverywhereForm>,
) -> Response {
    let user = match signed_in_user(&state, session.user_id.as_str()).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    match account::sign_out_everywhere(&state, user).await {
        Ok(_) => {
            let jar = jar.add(removal(&state.config, session_cookie_name(&state.config)));
            (jar, ui::see_other("/logout/done")).into_response()
        }
        Err(e) => PageError::internal(&e).into_response(),
    }
}

/// The error page for a failure of the password check or the store.
pub(crate) fn failure_page(e: &ProtocolError) -> Response {
    match e.code() {
        ErrorCode::TemporarilyUnavailable => PageError::Busy.into_response(),
        _ => PageError::internal(e).into_response(),
    }
}

/// `POST /account/password`: `current_password`, `new_password`, `new_password_repeat`.
pub(crate) async fn change_password(
    State(state): State<Arc<AppState>>,
    ClientAddr(addr): ClientAddr,
    jar: CookieJar,
    CsrfForm {
        session, params, ..
    }: CsrfForm<PasswordChangeForm>,
) -> Response {
    let (Some(current), Some(new), Some(repeated)) = (
        params.get("current_password"),
        params.get("new_password"),
        params.get("new_password_repeat"),
    ) else {
        return PageError::FormExpired.into_response();
    };
    let user = match signed_in_user(&state, session.user_id.as_str()).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let outcome = account::change_password(
        &state,
        &user,
        Password::new(current),
        Password::new(new),
        &Password::new(repeated),
        addr,
    )
    .await;
    let notice = match outcome {
        Ok(PasswordChange::Changed(_)) => {
            // Every session of the user is gone; this browser, which just proved both
            // passwords, continues in a fresh one.
            return match sessions::create(&state, user.id.as_str(), None).await {
                Ok((id, _)) => {
                    let name = session_cookie_name(&state.config);
                    let jar = jar.add(cookie(&state.config, name, id));
                    (jar, ui::see_other(&PasswordNotice::Changed.location())).into_response()
                }
                Err(e) => failure_page(&e),
            };
        }
        Ok(PasswordChange::WrongCurrent) => PasswordNotice::WrongCurrent,
        Ok(PasswordChange::Mismatch) => PasswordNotice::Mismatch,
        Ok(PasswordChange::Refused(refusal)) => match refusal {
            PolicyRefusal::TooShort { .. } => PasswordNotice::TooShort,
            PolicyRefusal::TooLong { .. } => PasswordNotice::TooLong,
            PolicyRefusal::Common => PasswordNotice::Common,
        },
        Ok(PasswordChange::Throttled { retry_after_secs }) => PasswordNotice::Throttled {
            wait_secs: retry_after_secs,
        },
        Err(e) => return failure_page(&e),
    };
    ui::see_other(&notice.location())
}

/// `POST /account/delete`: `confirmation` (the current password, or the username of an account
/// without one). Deleted, the browser's session cookie goes and it lands on the login page.
pub(crate) async fn delete(
    State(state): State<Arc<AppState>>,
    ClientAddr(addr): ClientAddr,
    jar: CookieJar,
    CsrfForm {
        session, params, ..
    }: CsrfForm<DeleteAccountForm>,
) -> Response {
    let Some(confirmation) = params.get("confirmation") else {
        return PageError::FormExpired.into_response();
    };
    let user = match signed_in_user(&state, session.user_id.as_str()).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let notice =
        match account::delete_account(&state, user, Password::new(confirmation), addr).await {
            Ok(Deletion::Deleted(_)) => {
                let jar = jar.add(removal(&state.config, session_cookie_name(&state.config)));
                return (jar, ui::see_other(&LoginNotice::Deleted.location())).into_response();
            }
            Ok(Deletion::NotConfirmed) => PasswordNotice::DeleteNotConfirmed,
            Ok(Deletion::Throttled { retry_after_secs }) => PasswordNotice::DeleteThrottled {
                wait_secs: retry_after_secs,
            },
            Err(e) => return failure_page(&e),
        };
    ui::see_other(&notice.location())
}
