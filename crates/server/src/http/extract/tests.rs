//! Each extractor behind a one-route router, driven with `oneshot`: what reaches the handler and
//! the exact refusals.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use base64::Engine;
use portcullis_jose::{FixedClock, UnixTime};
use portcullis_types::secret::Password;
use portcullis_types::{ClientSecret, GrantType};
use tower::ServiceExt;

use super::form::{ConsentForm, LoginForm};
use super::{
    AuthenticatedClient, ConfidentialClient, CsrfForm, MaybeSession, SignInForm, SignedIn,
    csrf_cookie_name, session_cookie_name,
};
use crate::config::{ClientConfig, ServerConfig, ServerSettings};
use crate::domain::sessions;
use crate::http::signin::form_token;
use crate::state::AppState;
use crate::store::Store;
use crate::store::memory::MemoryStore;
use crate::{Server, admin};

const SECRET: &str = "web-secret-0123456789";
const FORM: &str = "application/x-www-form-urlencoded";

struct Fixture {
    state: Arc<AppState>,
    user_id: String,
}

async fn fixture() -> Fixture {
    let clock = Arc::new(FixedClock::new(UnixTime(1_800_000_000)));
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let config = ServerConfig::new(ServerSettings::new("https://as.example")).unwrap();
    admin::add_client(
        store.as_ref(),
        clock.as_ref(),
        &config,
        ClientConfig {
            client_id: "web".into(),
            secret: Some(ClientSecret::new(SECRET)),
            redirect_uris: vec!["https://app.example/cb".into()],
            grant_types: vec![GrantType::AuthorizationCode],
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
            redirect_uris: vec!["http://127.0.0.1/cb".into()],
            ..ClientConfig::default()
        },
    )
    .await
    .unwrap();
    let user = admin::add_user(
        store.as_ref(),
        clock.as_ref(),
        &Default::default(),
        admin::NewUser::new("alice", Password::new("correct horse battery")),
    )
    .await
    .unwrap();
    let server = Server::new(config, store, clock).await.unwrap();
    Fixture {
        state: Arc::clone(&server.state),
        user_id: user.id.into_inner(),
    }
}

impl Fixture {
    fn router(&self) -> Router {
        Router::new()
            .route(
                "/any",
                post(|c: AuthenticatedClient| async move {
                    format!(
                        "{} {}",
                        c.client.client_id,
                        c.params.get("x").unwrap_or("-")
                    )
                }),
            )
            .route(
                "/confidential",
                post(|c: ConfidentialClient| async move { c.client.client_id.to_string() }),
            )
            .route(
                "/maybe",
                get(|MaybeSession(s): MaybeSession| async move {
                    s.map_or_else(|| "none".to_owned(), |s| s.user_id.into_inner())
                }),
            )
            .route(
                "/signed-in",
                get(|SignedIn(s): SignedIn| async move { s.user_id.into_inner() }),
            )
            .route(
                "/consent",
                post(|f: CsrfForm<ConsentForm>| async move {
                    format!("{} {}", f.session.user_id, f.params.get("x").unwrap_or("-"))
                }),
            )
            .route(
                "/login",
                post(|f: SignInForm<LoginForm>| async move {
                    f.params.get("x").unwrap_or("-").to_owned()
                }),
            )
            .with_state(Arc::clone(&self.state))
    }

    /// A session cookie header and the session's CSRF token.
    async fn session(&self) -> (String, String) {
        let (id, session) = sessions::create(&self.state, &self.user_id, None)
            .await
            .unwrap();
        let name = session_cookie_name(&self.state.config);
        (format!("{name}={id}"), session.csrf)
    }

    /// A sign-in CSRF cookie header and the token derived from it.
    fn signin_cookie(&self) -> (String, String) {
        let (jar, token) = form_token(&self.state, CookieJar::new()).unwrap();
        let name = csrf_cookie_name(&self.state.config);
        let value = jar.get(name).unwrap().value().to_owned();
        (format!("{name}={value}"), token)
    }

    async fn send(&self, req: Request<Body>) -> Response {
        self.router().oneshot(req).await.unwrap()
    }
}

fn basic(id: &str, secret: &str) -> String {
    let raw = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn post_req(
    uri: &str,
    content_type: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) -> Request<Body> {
    let mut b = Request::post(uri);
    if let Some(ct) = content_type {
        b = b.header(header::CONTENT_TYPE, ct);
    }
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Body::from(body.to_owned())).unwrap()
}

fn get_req(uri: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::get(uri);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::empty()).unwrap()
}

async fn text(r: Response) -> String {
    String::from_utf8(to_bytes(r.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap()
}

async fn json(r: Response) -> serde_json::Value {
    serde_json::from_str(&text(r).await).unwrap()
}

/// Asserts a protocol error: status, `error`, `no-store`.
async fn assert_protocol_error(r: Response, status: StatusCode, error: &str) -> serde_json::Value {
    assert_eq!(r.status(), status);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(r.headers()[header::PRAGMA], "no-cache");
    let body = json(r).await;
    assert_eq!(body["error"], error);
    body
}

#[tokio::test]
async fn client_secret_basic_reaches_the_handler_with_its_params() {
    let f = fixture().await;
    let auth = basic("web", SECRET);
    let r = f
        .send(post_req(
            "/any",
            Some(FORM),
            &[("authorization", &auth)],
            "x=1",
        ))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(text(r).await, "web 1");
}

#[tokio::test]
async fn client_without_body_or_form_type_is_invalid_request() {
    let f = fixture().await;
    let auth = basic("web", SECRET);
    let r = f
        .send(post_req("/any", None, &[("authorization", &auth)], ""))
        .await;
    let body = assert_protocol_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert_eq!(
        body["error_description"],
        "the body must be application/x-www-form-urlencoded"
    );
    let r = f
        .send(post_req(
            "/any",
            Some("application/json"),
            &[("authorization", &auth)],
            "{\"x\":1}",
        ))
        .await;
    assert_protocol_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn client_duplicate_parameter_is_invalid_request() {
    let f = fixture().await;
    let auth = basic("web", SECRET);
    let r = f
        .send(post_req(
            "/any",
            Some(FORM),
            &[("authorization", &auth)],
            "x=1&x=2",
        ))
        .await;
    let body = assert_protocol_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert_eq!(
        body["error_description"],
        "a parameter was sent more than once"
    );
}

#[tokio::test]
async fn client_with_two_authentication_methods_is_refused() {
    let f = fixture().await;
    let auth = basic("web", SECRET);
    let body = format!("client_id=web&client_secret={SECRET}");
    let r = f
        .send(post_req(
            "/any",
            Some(FORM),
            &[("authorization", &auth)],
            &body,
        ))
        .await;
    assert_protocol_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn client_bad_secret_is_invalid_client_with_challenge_only_for_the_header() {
    let f = fixture().await;
    let auth = basic("web", "wrong-secret");
    let r = f
        .send(post_req(
            "/any",
            Some(FORM),
            &[("authorization", &auth)],
            "",
        ))
        .await;
    assert_eq!(
        r.headers()[header::WWW_AUTHENTICATE],
        "Basic realm=\"portcullis\", charset=\"UTF-8\""
    );
    assert_protocol_error(r, StatusCode::UNAUTHORIZED, "invalid_client").await;

    let r = f
        .send(post_req(
            "/any",
            Some(FORM),
            &[],
            "client_id=web&client_secret=wrong-secret",
        ))
        .await;
    assert!(r.headers().get(header::WWW_AUTHENTICATE).is_none());
    assert_protocol_error(r, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn public_client_is_accepted_by_any_but_not_by_confidential() {
    let f = fixture().await;
    let r = f
        .send(post_req("/any", Some(FORM), &[], "client_id=spa"))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(text(r).await, "spa -");

    let r = f
        .send(post_req("/confidential", Some(FORM), &[], "client_id=spa"))
        .await;
    assert_protocol_error(r, StatusCode::UNAUTHORIZED, "invalid_client").await;

    let auth = basic("web", SECRET);
    let r = f
        .send(post_req(
            "/confidential",
            Some(FORM),
            &[("authorization", &auth)],
            "",
        ))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(text(r).await, "web");
}

#[tokio::test]
async fn maybe_session_is_none_without_a_cookie_and_the_user_with_one() {
    let f = fixture().await;
    let r = f.send(get_req("/maybe", None)).await;
    assert_eq!(text(r).await, "none");
    let name = session_cookie_name(&f.state.config);
    let r = f
        .send(get_req("/maybe", Some(&format!("{name}=unknown"))))
        .await;
    assert_eq!(text(r).await, "none");
    let (cookie, _) = f.session().await;
    let r = f.send(get_req("/maybe", Some(&cookie))).await;
    assert_eq!(text(r).await, f.user_id);
}

#[tokio::test]
async fn signed_in_without_session_goes_to_login() {
    let f = fixture().await;
    let r = f.send(get_req("/signed-in", None)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], "/login");
    let (cookie, _) = f.session().await;
    let r = f.send(get_req("/signed-in", Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(text(r).await, f.user_id);
}

async fn assert_page(r: Response, status: StatusCode, message: &str) {
    assert_eq!(r.status(), status);
    let html = text(r).await;
    assert!(html.contains(message), "{html}");
}

#[tokio::test]
async fn csrf_form_accepts_the_session_token() {
    let f = fixture().await;
    let (cookie, csrf) = f.session().await;
    let r = f
        .send(post_req(
            "/consent",
            Some(FORM),
            &[("cookie", &cookie)],
            &format!("csrf={csrf}&x=1"),
        ))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(text(r).await, format!("{} 1", f.user_id));
}

#[tokio::test]
async fn csrf_form_missing_or_mismatched_token_or_repeat_is_expired() {
    let f = fixture().await;
    let (cookie, csrf) = f.session().await;
    let expired = "The consent form expired. Return to the application and try again.";
    for body in [
        "x=1".to_owned(),
        "csrf=not-the-token&x=1".to_owned(),
        format!("csrf={csrf}&x=1&x=2"),
    ] {
        let r = f
            .send(post_req(
                "/consent",
                Some(FORM),
                &[("cookie", &cookie)],
                &body,
            ))
            .await;
        assert_page(r, StatusCode::BAD_REQUEST, expired).await;
    }
}

#[tokio::test]
async fn csrf_form_without_session_or_form_body_is_refused() {
    let f = fixture().await;
    let r = f
        .send(post_req("/consent", Some(FORM), &[], "csrf=anything"))
        .await;
    assert_page(
        r,
        StatusCode::BAD_REQUEST,
        "Your session has ended. Return to the application and try again.",
    )
    .await;
    let (cookie, csrf) = f.session().await;
    let r = f
        .send(post_req(
            "/consent",
            Some("text/plain"),
            &[("cookie", &cookie)],
            &format!("csrf={csrf}"),
        ))
        .await;
    assert_page(
        r,
        StatusCode::BAD_REQUEST,
        "The form was not submitted correctly.",
    )
    .await;
}

#[tokio::test]
async fn sign_in_form_checks_the_double_submit_cookie() {
    let f = fixture().await;
    let (cookie, token) = f.signin_cookie();
    let r = f
        .send(post_req(
            "/login",
            Some(FORM),
            &[("cookie", &cookie)],
            &format!("csrf={token}&x=1"),
        ))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(text(r).await, "1");

    let expired = "The sign-in form expired. Go back to the application and try again.";
    let cases = [
        (None, format!("csrf={token}")),
        (Some(cookie.as_str()), "x=1".to_owned()),
        (Some(cookie.as_str()), "csrf=mismatched".to_owned()),
        (Some(cookie.as_str()), format!("csrf={token}&x=1&x=2")),
    ];
    for (cookie, body) in cases {
        let headers: Vec<(&str, &str)> = cookie.map(|c| ("cookie", c)).into_iter().collect();
        let r = f
            .send(post_req("/login", Some(FORM), &headers, &body))
            .await;
        assert_page(r, StatusCode::BAD_REQUEST, expired).await;
    }
    let r = f
        .send(post_req(
            "/login",
            None,
            &[("cookie", &cookie)],
            &format!("csrf={token}"),
        ))
        .await;
    assert_page(
        r,
        StatusCode::BAD_REQUEST,
        "The sign-in form was not submitted correctly.",
    )
    .await;
}

#[tokio::test]
async fn router_layers_set_page_and_no_store_headers_where_they_belong() {
    let f = fixture().await;
    let router = crate::http::router(Arc::clone(&f.state));
    let send = |req: Request<Body>| router.clone().oneshot(req);

    // A page refusal produced by an extractor carries every page header.
    let r = send(post_req("/consent", Some(FORM), &[], "csrf=x"))
        .await
        .unwrap();
    for (name, value) in crate::ui::SECURITY_HEADERS {
        assert_eq!(r.headers()[&name], value, "{name}");
    }
    // So does a redirect.
    let r = send(get_req("/account", None)).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::X_FRAME_OPTIONS], "DENY");
    // Back-channel answers are no-store, successes included, but not page-framed.
    let r = send(post_req(
        "/revoke",
        Some(FORM),
        &[],
        "client_id=spa&token=x",
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(r.headers()[header::PRAGMA], "no-cache");
    assert!(r.headers().get(header::CONTENT_SECURITY_POLICY).is_none());
    // Metadata and assets keep their own cache lifetimes.
    let r = send(get_req("/.well-known/openid-configuration", None))
        .await
        .unwrap();
    assert_eq!(r.headers()[header::CACHE_CONTROL], "public, max-age=300");
    let r = send(get_req(crate::ui::STYLESHEET_PATH, None))
        .await
        .unwrap();
    assert_eq!(r.headers()[header::CACHE_CONTROL], "public, max-age=86400");
    let r = send(get_req("/healthz", None)).await.unwrap();
    assert!(r.headers().get(header::CACHE_CONTROL).is_none());
}

#[test]
fn request_timeout_defaults_to_thirty_seconds() {
    assert_eq!(
        ServerSettings::new("https://as.example").request_timeout_secs,
        30
    );
}
