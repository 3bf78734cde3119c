//! Shared set-up for the handler tests: a server on the memory store with a fixed clock, three
//! clients and one user, and small helpers to drive the router with `oneshot`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, header};
use base64::Engine;
use http_body_util::BodyExt;
use portcullis_jose::{FixedClock, UnixTime};
use portcullis_server::at_rest::{Kek, KeyEncryption};
use portcullis_server::config::{ClientConfig, ServerConfig, ServerSettings};
use portcullis_server::store::Store;
use portcullis_server::store::memory::MemoryStore;
use portcullis_server::{Server, admin};
use portcullis_types::secret::Password;
use portcullis_types::{ClientSecret, GrantType};
use tower::ServiceExt;

pub const ISSUER: &str = "https://as.example";
pub const WEB_SECRET: &str = "web-secret-0123456789";
pub const SVC_SECRET: &str = "svc-secret-0123456789";
pub const WEB_REDIRECT: &str = "https://app.example/cb";
pub const PASSWORD: &str = "correct horse battery";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const START: i64 = 1_800_000_000;

pub struct Harness {
    pub server: Server,
    pub router: Router,
    pub clock: Arc<FixedClock>,
    pub store: Arc<dyn Store>,
}

pub async fn harness() -> Harness {
    harness_with(|_| {}, true).await
}

pub async fn harness_with(adjust: impl FnOnce(&mut ServerSettings), with_user: bool) -> Harness {
    let clock = Arc::new(FixedClock::new(UnixTime(START)));
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let mut settings = ServerSettings::new(ISSUER);
    settings.key_encryption = KeyEncryption::sealed(Kek::generate().unwrap(), None);
    adjust(&mut settings);
    let config = ServerConfig::new(settings).unwrap();
    admin::add_client(
        store.as_ref(),
        clock.as_ref(),
        &config,
        ClientConfig {
            client_id: "web".into(),
            secret: Some(ClientSecret::new(WEB_SECRET)),
            redirect_uris: vec![WEB_REDIRECT.into()],
            post_logout_redirect_uris: vec!["https://app.example/bye".into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scope: Some("openid profile email orders:read".into()),
            name: Some("Web App".into()),
            ..ClientConfig::default()
        },
    )
    .await
    .unwrap();
    admin::add_client(
        store.as_ref(),
        clock.as_ref(),
        &config,
        ClientConfig {
            client_id: "svc".into(),
            secret: Some(ClientSecret::new(SVC_SECRET)),
            grant_types: vec![GrantType::ClientCredentials],
            scope: Some("orders:read orders:write".into()),
            audience: vec!["orders-api".into()],
            ..ClientConfig::default()
        },
    )
    .await
    .unwrap();
    admin::add_client(
        store.as_ref(),
        clock.as_ref(),
        &config,
        ClientConfig {
            client_id: "spa".into(),
            redirect_uris: vec!["http://127.0.0.1/cb".into(), "http://127.0.0.1/cb2".into()],
            scope: Some("openid profile".into()),
            ..ClientConfig::default()
        },
    )
    .await
    .unwrap();
    if with_user {
        admin::add_user(
            store.as_ref(),
            clock.as_ref(),
            &Default::default(),
            admin::NewUser {
                email: Some("alice@example.com".into()),
                name: Some("Alice".into()),
                ..admin::NewUser::new("alice", Password::new(PASSWORD))
            },
        )
        .await
        .unwrap();
    }
    let server = Server::new(config, Arc::clone(&store), clock.clone())
        .await
        .unwrap();
    let router = server.router();
    Harness {
        server,
        router,
        clock,
        store,
    }
}

/// Registers the `web` client anew (same secret and redirect URI, code and refresh grants) with
/// `adjust` applied.
pub async fn replace_web(
    h: &Harness,
    adjust: impl FnOnce(&mut ClientConfig),
) -> Result<(), admin::AdminError> {
    let mut client = ClientConfig {
        client_id: "web".into(),
        secret: Some(ClientSecret::new(WEB_SECRET)),
        redirect_uris: vec![WEB_REDIRECT.into()],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scope: Some("openid profile email".into()),
        ..ClientConfig::default()
    };
    adjust(&mut client);
    admin::replace_client(
        h.store.as_ref(),
        h.clock.as_ref(),
        h.server.config(),
        client,
    )
    .await
    .map(|_| ())
}

pub fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

pub fn form(uri: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

pub fn form_with(uri: &str, body: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut b =
        Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Body::from(body.to_owned())).unwrap()
}

pub fn get(uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut b = Request::get(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Body::empty()).unwrap()
}

pub async fn send(router: &Router, req: Request<Body>) -> Response<Body> {
    router.clone().oneshot(req).await.unwrap()
}

pub async fn body_text(resp: Response<Body>) -> String {
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

pub async fn body_json(resp: Response<Body>) -> serde_json::Value {
    serde_json::from_str(&body_text(resp).await).unwrap()
}

pub fn header_str<'a>(resp: &'a Response<Body>, name: &str) -> Option<&'a str> {
    resp.headers().get(name).map(|v| v.to_str().unwrap())
}

/// The `name=value` pairs of every Set-Cookie header.
pub fn set_cookies(resp: &Response<Body>) -> Vec<String> {
    resp.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// Merges Set-Cookie headers into a cookie jar string.
pub fn update_jar(jar: &mut Vec<(String, String)>, resp: &Response<Body>) {
    for c in set_cookies(resp) {
        let pair = c.split(';').next().unwrap();
        let (name, value) = pair.split_once('=').unwrap();
        jar.retain(|(n, _)| n != name);
        if !value.is_empty() {
            jar.push((name.to_owned(), value.to_owned()));
        }
    }
}

pub fn cookie_header(jar: &[(String, String)]) -> String {
    jar.iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The value of a hidden input in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in page"))
        + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Query parameters of a URL.
pub fn query_of(url: &str) -> Vec<(String, String)> {
    let q = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

pub fn param(url: &str, name: &str) -> Option<String> {
    query_of(url)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

pub fn authorize_url(extra: &str) -> String {
    format!(
        "/authorize?response_type=code&client_id=web&redirect_uri={}&scope=openid%20profile%20email&state=st-1&nonce=n-1&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        enc(WEB_REDIRECT)
    )
}

/// Runs login and consent for alice and returns (code redirect URL, cookie jar).
pub async fn login_and_consent(h: &Harness, authorize: &str) -> (String, Vec<(String, String)>) {
    let (location, jar) = login(h, authorize).await;
    let resp = send(
        &h.router,
        get(&location, &[("cookie", &cookie_header(&jar))]),
    )
    .await;
    assert_eq!(resp.status(), 200, "consent page expected");
    let html = body_text(resp).await;
    let csrf = hidden(&html, "csrf");
    let request = hidden(&html, "request");
    let body = format!(
        "csrf={}&request={}&decision=allow",
        enc(&csrf),
        enc(&request)
    );
    let resp = send(
        &h.router,
        form_with("/consent", &body, &[("cookie", &cookie_header(&jar))]),
    )
    .await;
    assert_eq!(resp.status(), 303);
    let location = header_str(&resp, "location").unwrap().to_owned();
    (location, jar)
}

/// Signs alice in on the login page `authorize` leads to; returns (the `/authorize` URL to
/// resume, cookie jar).
pub async fn login(h: &Harness, authorize: &str) -> (String, Vec<(String, String)>) {
    let mut jar = Vec::new();
    let resp = send(&h.router, get(authorize, &[])).await;
    assert_eq!(resp.status(), 200, "login page expected");
    update_jar(&mut jar, &resp);
    let html = body_text(resp).await;
    let csrf = hidden(&html, "csrf");
    let request = hidden(&html, "request");
    let body = format!(
        "csrf={}&request={}&username=alice&password={}",
        enc(&csrf),
        enc(&request),
        enc(PASSWORD)
    );
    let resp = send(
        &h.router,
        form_with("/login", &body, &[("cookie", &cookie_header(&jar))]),
    )
    .await;
    assert_eq!(resp.status(), 303);
    update_jar(&mut jar, &resp);
    let location = header_str(&resp, "location").unwrap().to_owned();
    assert!(location.starts_with("/authorize?"));
    (location, jar)
}

pub async fn redeem(h: &Harness, code: &str, verifier: &str) -> Response<Body> {
    let body = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}",
        enc(code),
        enc(WEB_REDIRECT),
        enc(verifier)
    );
    send(
        &h.router,
        form_with(
            "/token",
            &body,
            &[("authorization", &basic("web", WEB_SECRET))],
        ),
    )
    .await
}
