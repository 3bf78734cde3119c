//! `serve --dev`: creates (idempotently) a demo user, a confidential demo client and a public
//! SPA client, and prints their credentials with a ready authorize URL and curl commands.

use anyhow::anyhow;
use axum::Router;
use axum::extract::Query;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, html};
use portcullis_jose::time::Clock;
use portcullis_server::admin;
use portcullis_server::config::{ClientConfig, ServerConfig};
use portcullis_server::store::{ReleaseFilter, Store};
use portcullis_server::{pkce, secrets};
use portcullis_types::secret::Password;
use portcullis_types::{ClientSecret, GrantType, RoleName};
use std::collections::HashMap;
use std::sync::Arc;

/// Demo user name.
pub const DEMO_USER: &str = "demo";
/// Demo user password (development only).
pub const DEMO_PASSWORD: &str = "demo-password";
/// Confidential demo client.
pub const DEMO_CLIENT: &str = "demo-app";
/// Its secret (development only).
pub const DEMO_SECRET: &str = "demo-app-secret-change-me";
/// The path of its redirect URI on the server itself: in development the server answers there
/// with a page that shows the code and the exact command that exchanges it.
pub const DEMO_CALLBACK_PATH: &str = "/dev/callback";
/// Public SPA client.
pub const DEMO_SPA: &str = "demo-spa";
/// Its redirect URI.
pub const DEMO_SPA_REDIRECT: &str = "http://127.0.0.1:3000/callback";
/// The demo API audience.
pub const DEMO_AUDIENCE: &str = "demo-api";
const DEMO_SCOPE: &str = "openid profile email offline_access demo:read";

/// The demo client's redirect URI for a server at `issuer`: on the issuer itself, unless that is
/// plain `http` on a host other than loopback, which no redirect URI may be; then on loopback at
/// the issuer's port (the browser on this machine still reaches the server there).
fn demo_redirect(issuer: &str) -> String {
    match url::Url::parse(issuer) {
        Ok(url) if url.scheme() == "http" && !crate::config::is_loopback_url(&url) => format!(
            "http://127.0.0.1:{}{DEMO_CALLBACK_PATH}",
            url.port_or_known_default().unwrap_or(80)
        ),
        _ => format!("{issuer}{DEMO_CALLBACK_PATH}"),
    }
}

/// What `--dev` created, ready to print.
#[derive(Debug)]
pub struct Demo {
    issuer: String,
    verifier: String,
    challenge: String,
    state: String,
    user_existed: bool,
}

/// The roles of the demo user.
fn demo_roles() -> Vec<RoleName> {
    ["demo:viewer", "demo:editor"]
        .into_iter()
        .filter_map(|r| RoleName::parse(r).ok())
        .collect()
}

/// The demo clients' tokens carry the user's `demo:` roles.
fn demo_release() -> ReleaseFilter {
    ReleaseFilter::Prefix("demo:".to_owned())
}

/// Creates the demo roles, user and clients (replacing the clients, keeping an existing user).
pub async fn bootstrap(
    store: &Arc<dyn Store>,
    clock: &dyn Clock,
    config: &ServerConfig,
) -> anyhow::Result<Demo> {
    admin::replace_client(
        store.as_ref(),
        clock,
        config,
        ClientConfig {
            client_id: DEMO_CLIENT.into(),
            secret: Some(ClientSecret::new(DEMO_SECRET)),
            redirect_uris: vec![demo_redirect(&config.issuer).into()],
            grant_types: vec![
                GrantType::AuthorizationCode,
                GrantType::RefreshToken,
                GrantType::ClientCredentials,
            ],
            scope: Some(DEMO_SCOPE.to_owned()),
            audience: vec![DEMO_AUDIENCE.to_owned()],
            name: Some("Demo web app".to_owned()),
            token_roles: demo_release(),
            ..ClientConfig::default()
        },
    )
    .await
    .map_err(|e| anyhow!("demo client: {e}"))?;
    admin::replace_client(
        store.as_ref(),
        clock,
        config,
        ClientConfig {
            client_id: DEMO_SPA.into(),
            redirect_uris: vec![DEMO_SPA_REDIRECT.into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scope: Some(DEMO_SCOPE.to_owned()),
            audience: vec![DEMO_AUDIENCE.to_owned()],
            name: Some("Demo single-page app".to_owned()),
            token_roles: demo_release(),
            ..ClientConfig::default()
        },
    )
    .await
    .map_err(|e| anyhow!("demo SPA client: {e}"))?;
    let user_existed = store
        .get_user_by_username(DEMO_USER)
        .await
        .map_err(|e| anyhow!("{e}"))?
        .is_some();
    let roles = demo_roles();
    let existing = admin::list_roles(store.as_ref())
        .await
        .map_err(|e| anyhow!("{e}"))?;
    for role in &roles {
        if existing.iter().all(|r| &r.name != role) {
            admin::add_role(store.as_ref(), clock, role.clone(), None)
                .await
                .map_err(|e| anyhow!("demo role {role}: {e}"))?;
        }
    }
    if !user_existed {
        admin::add_user(
            store.as_ref(),
            clock,
            &config.self_service.password_policy,
            admin::NewUser {
                email: Some("demo@example.com".to_owned()),
                name: Some("Demo User".to_owned()),
                roles,
                ..admin::NewUser::new(DEMO_USER, Password::new(DEMO_PASSWORD))
            },
        )
        .await
        .map_err(|e| anyhow!("demo user: {e}"))?;
    }
    let verifier = secrets::random_token().map_err(|e| anyhow!("{}", e.description()))?;
    let state = secrets::random_id().map_err(|e| anyhow!("{}", e.description()))?;
    Ok(Demo {
        issuer: config.issuer.clone(),
        challenge: pkce::s256_challenge(&verifier),
        verifier,
        state,
        user_existed,
    })
}

impl Demo {
    /// The authorize URL for the confidential demo client.
    pub fn authorize_url(&self) -> String {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", DEMO_CLIENT)
            .append_pair("redirect_uri", &demo_redirect(&self.issuer))
            .append_pair("scope", "openid profile email offline_access")
            .append_pair("state", &self.state)
            .append_pair("code_challenge", &self.challenge)
            .append_pair("code_challenge_method", "S256")
            .finish();
        format!("{}/authorize?{query}", self.issuer)
    }

    /// Prints the credentials and the commands to try (standard output, not the log).
    pub fn print(&self) {
        let i = &self.issuer;
        let redirect = demo_redirect(i);
        // The binary as it was started (`cargo run` leaves it under target/), not a `portcullis`
        // that may not be on PATH.
        let bin = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "portcullis".to_owned());
        let user_note = if self.user_existed {
            " (existing user kept; its password may differ)"
        } else {
            ""
        };
        println!(
            r#"
==> Portcullis is running in DEVELOPMENT mode. Do not use these credentials in production.

Demo user:            {DEMO_USER} / {DEMO_PASSWORD}{user_note}
Confidential client:  {DEMO_CLIENT} / {DEMO_SECRET}   redirect {redirect}
Public SPA client:    {DEMO_SPA} (no secret, PKCE)   redirect {DEMO_SPA_REDIRECT}

Discovery and keys:
  curl {i}/.well-known/openid-configuration
  curl {i}/.well-known/jwks.json

A service token (client_credentials):
  curl -u {DEMO_CLIENT}:{DEMO_SECRET} -d grant_type=client_credentials -d scope=demo:read {i}/token

The code flow with PKCE:
  1. Open this URL in a browser and sign in as {DEMO_USER}:
     {url}
  2. The browser lands on {redirect}, which shows the code and this command with it filled in
  3. Exchange it within 60 seconds (PKCE verifier: {verifier}):
     curl -u {DEMO_CLIENT}:{DEMO_SECRET} -d grant_type=authorization_code -d code=PASTE_CODE \
       -d redirect_uri={redirect} -d code_verifier={verifier} {i}/token
  4. Call userinfo with the access token:
     curl -H "Authorization: Bearer PASTE_ACCESS_TOKEN" {i}/userinfo
  5. Inspect or verify a token:
     {bin} token decode PASTE_ACCESS_TOKEN
     {bin} token verify PASTE_ACCESS_TOKEN --jwks {i}/.well-known/jwks.json --iss {i} --aud {DEMO_AUDIENCE} --typ at+jwt
"#,
            url = self.authorize_url(),
            verifier = self.verifier,
        );
    }

    /// The exchange command for `code`, as the banner prints it.
    fn exchange_command(&self, code: &str) -> String {
        let i = &self.issuer;
        format!(
            "curl -u {DEMO_CLIENT}:{DEMO_SECRET} -d grant_type=authorization_code -d code={code} \\\n  -d redirect_uri={redirect} -d code_verifier={verifier} {i}/token",
            redirect = demo_redirect(i),
            verifier = self.verifier,
        )
    }

    /// The demo client's redirect target, served by the development server itself: a page with
    /// the code (or the error) and the exact command that exchanges it. Nothing is exchanged by
    /// the page; the code stays single-use and short-lived as always.
    pub fn callback_router(self: Arc<Self>) -> Router {
        Router::new().route(
            DEMO_CALLBACK_PATH,
            get(move |Query(q): Query<HashMap<String, String>>| {
                let demo = Arc::clone(&self);
                async move { demo.callback_page(&q) }
            }),
        )
    }

    fn callback_page(&self, q: &HashMap<String, String>) -> Response {
        let body = match (q.get("code"), q.get("error")) {
            (Some(code), _) => html! {
                h1 { "Signed in: here is the code" }
                p { "Authorization code (single use, valid for 60 seconds):" }
                pre { code { (code) } }
                @if let Some(state) = q.get("state") {
                    p { "state: " code { (state) } @if *state == self.state { " (matches the one the banner's URL sent)" } }
                }
                p { "Exchange it for tokens:" }
                pre { code { (self.exchange_command(code)) } }
            },
            (None, Some(error)) => html! {
                h1 { "The authorization request failed" }
                p { "error: " code { (error) } }
                @if let Some(d) = q.get("error_description") {
                    p { (d) }
                }
            },
            (None, None) => html! {
                h1 { "Nothing to show" }
                p { "This page shows the code after signing in through the banner's authorization URL." }
            },
        };
        let markup = html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    title { "Portcullis development callback" }
                    link rel="stylesheet" href="/assets/portcullis.css";
                }
                body { main { (body) } }
            }
        };
        (
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::REFERRER_POLICY, "no-referrer"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'",
                ),
            ],
            Html(markup.into_string()),
        )
            .into_response()
    }
}
