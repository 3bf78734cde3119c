//! The admin console under `/admin/console/`, on the admin listener: server-rendered pages over
//! the same operations, checks and audit events as the admin API ([`crate::admin_api`]).
//!
//! The console signs in through this server as the public client [`CONSOLE_CLIENT_ID`]
//! (authorization code with PKCE S256, `state` and `nonce`), for the admin audience and every
//! admin scope. Its access token lives only in an `HttpOnly; SameSite=Strict` cookie scoped to
//! the console's path and is checked on each request by the admin API's guard, role and scope
//! checks; every form carries a CSRF token derived from that cookie, and destructive actions
//! ask for confirmation first.

mod access;
mod audit;
mod clients;
mod keys;
mod layout;
mod roles;
mod signin;
mod upstreams;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};
use portcullis_guard::Guard;
use portcullis_types::{GrantType, TokenEndpointAuthMethod};

use crate::admin_api::auth::guard;
use crate::admin_api::{ADMIN_ROLE, ADMIN_SCOPES, admin_audience};
use crate::config::ClientConfig;
use crate::state::AppState;
use crate::store::ReleaseFilter;

/// Where the console lives on the admin listener.
pub const CONSOLE_PATH: &str = "/admin/console";

/// The client the console signs in as, registered by `portcullis serve` when the admin
/// listener is on.
pub const CONSOLE_CLIENT_ID: &str = "portcullis-admin-console";

/// The cookie holding the console's access token.
const TOKEN_COOKIE: &str = "portcullis_console";

/// Lifetime of the console's access tokens, in seconds: as short as the bootstrap admin
/// client's, since they are as strong.
const CONSOLE_TOKEN_TTL_SECS: i64 = 900;

/// The console's redirect URI under the admin listener's public base URL
/// (`http://127.0.0.1:9090` gives `http://127.0.0.1:9090/admin/console/callback`).
pub fn console_redirect_uri(admin_base_url: &str) -> String {
    format!(
        "{}{CONSOLE_PATH}/callback",
        admin_base_url.trim_end_matches('/')
    )
}

/// The registration of the console's client: public (PKCE, no secret), the code grant only,
/// the redirect URI under `admin_base_url`, `openid` and every admin scope, the admin audience
/// of `issuer`, short-lived tokens carrying the user's `admin` role.
pub fn console_client(issuer: &str, admin_base_url: &str) -> ClientConfig {
    ClientConfig {
        client_id: CONSOLE_CLIENT_ID.into(),
        auth_method: Some(TokenEndpointAuthMethod::None),
        redirect_uris: vec![console_redirect_uri(admin_base_url).into()],
        grant_types: vec![GrantType::AuthorizationCode],
        scope: Some(console_scope()),
        audience: vec![admin_audience(issuer)],
        access_token_ttl: Some(CONSOLE_TOKEN_TTL_SECS),
        token_roles: ReleaseFilter::Prefix(ADMIN_ROLE.to_owned()),
        name: Some("Portcullis admin console".to_owned()),
        ..ClientConfig::default()
    }
}

/// What the console asks for: an ID token (for the `nonce`) and every admin scope.
fn console_scope() -> String {
    format!("openid {}", ADMIN_SCOPES.join(" "))
}

/// What the console's handlers hold.
#[derive(Clone)]
pub(crate) struct ConsoleState {
    /// The server.
    app: Arc<AppState>,
    /// The admin API's guard, also reading the console's cookie.
    guard: Guard,
    /// The registered redirect URI.
    redirect_uri: Arc<str>,
    /// Whether the cookies are `Secure` (the console is reached over https).
    secure: bool,
}

impl FromRef<ConsoleState> for Guard {
    fn from_ref(state: &ConsoleState) -> Self {
        state.guard.clone()
    }
}

/// The console's routes, for the admin listener reached at `admin_base_url`.
pub(crate) fn router(
    app: &Arc<AppState>,
    admin_base_url: &str,
) -> Result<Router, portcullis_guard::ConfigError> {
    let state = ConsoleState {
        app: Arc::clone(app),
        guard: guard(app, Some(TOKEN_COOKIE))?,
        redirect_uri: console_redirect_uri(admin_base_url).into(),
        secure: admin_base_url.starts_with("https:"),
    };
    let at = |path: &str| format!("{CONSOLE_PATH}{path}");
    let routes = Router::new()
        .route(&at("/"), get(layout::home))
        .route(&at("/console.css"), get(layout::stylesheet))
        .route(&at("/login"), get(signin::login))
        .route(&at("/callback"), get(signin::callback))
        .route(&at("/logout"), post(signin::logout))
        .route(&at("/clients"), get(clients::list).post(clients::create))
        .route(&at("/clients/new"), get(clients::new))
        .route(
            &at("/clients/{id}/edit"),
            get(clients::edit_form).post(clients::edit),
        )
        .route(&at("/clients/{id}/delete"), post(clients::delete))
        .route(&at("/clients/{id}/secret"), post(clients::rotate_secret))
        .route(&at("/users"), get(users::list).post(users::create))
        .route(&at("/users/new"), get(users::new))
        .route(&at("/users/{id}"), get(users::show))
        .route(&at("/users/{id}/edit"), post(users::edit))
        .route(&at("/users/{id}/password"), post(users::set_password))
        .route(&at("/users/{id}/{action}"), post(users::act))
        .route(&at("/addresses/unlock"), post(users::unlock_address))
        .route(
            &at("/users/{id}/grants/{client_id}/withdraw"),
            post(users::withdraw_grant),
        )
        .route(
            &at("/users/{id}/sessions/{session_id}/end"),
            post(users::end_session),
        )
        .route(&at("/audit"), get(audit::list))
        .route(&at("/roles"), get(roles::list).post(roles::create_role))
        .route(&at("/roles/{name}/delete"), post(roles::delete_role))
        .route(&at("/groups"), post(roles::create_group))
        .route(&at("/groups/{name}/delete"), post(roles::delete_group))
        .route(&at("/keys"), get(keys::list))
        .route(&at("/keys/rotate"), post(keys::rotate))
        .route(
            &at("/upstreams"),
            get(upstreams::list).post(upstreams::create),
        )
        .route(&at("/upstreams/new"), get(upstreams::new))
        .route(&at("/upstreams/{id}/delete"), post(upstreams::delete))
        .with_state(state);
    Ok(crate::ui::with_security_headers(routes))
}
