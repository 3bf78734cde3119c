//! Shared test fixtures: an issuer key, a fixed clock, token minting and a small router
//! that exercises the layer, the extractors and the per-route requirements.
#![allow(dead_code)]

use axum::body::Body;
use axum::routing::{get, post};
use axum::{Json, Router};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use portcullis_guard::jose::time::{Clock, FixedClock, UnixTime};
use portcullis_guard::jose::{Algorithm, KeySet, SigningKey, jwt};
use portcullis_guard::{
    Authenticated, Guard, GuardBuilder, HasAudience, HasIssuer, MaybeAuthenticated, require_role,
    require_scope,
};
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

pub const ISS: &str = "https://as.example";
pub const AUD: &str = "orders-api";
pub const NOW: i64 = 1_800_000_000;

/// An issuer: a signing key and the clock shared with the guard.
pub struct TestIssuer {
    pub key: SigningKey,
    pub clock: Arc<FixedClock>,
}

impl TestIssuer {
    pub fn new(alg: Algorithm) -> Self {
        Self {
            key: SigningKey::generate(alg).unwrap().with_kid("k1"),
            clock: Arc::new(FixedClock::new(UnixTime(NOW))),
        }
    }

    pub fn keys(&self) -> KeySet {
        let mut keys = KeySet::new();
        keys.insert(self.key.verifying_key()).unwrap();
        keys
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// Claims of a valid user token for `orders-api` with `orders:read`.
    pub fn claims(&self) -> Value {
        json!({
            "iss": ISS,
            "sub": "alice",
            "aud": AUD,
            "client_id": "spa",
            "exp": NOW + 300,
            "iat": NOW,
            "jti": "jti-1",
            "scope": "orders:read",
        })
    }

    pub fn token(&self) -> String {
        self.sign(&self.claims())
    }

    pub fn sign(&self, claims: &Value) -> String {
        jwt::encode(&self.key, "at+jwt", claims).unwrap()
    }

    pub fn sign_typ(&self, typ: &str, claims: &Value) -> String {
        jwt::encode(&self.key, typ, claims).unwrap()
    }

    /// A guard with this issuer's keys as a static set.
    pub fn builder(&self) -> GuardBuilder<HasIssuer, HasAudience> {
        Guard::builder()
            .issuer(ISS)
            .audience(AUD)
            .static_keys(self.keys())
            .clock(self.clock())
    }

    pub fn guard(&self) -> Guard {
        self.builder().build().unwrap()
    }
}

/// Routes: `/me` (any token), `/orders` POST (orders:write), `/admin` (role admin).
pub fn routes() -> Router {
    Router::new()
        .route("/me", get(me))
        .route(
            "/orders",
            post(|| async { "created" }).route_layer(require_scope("orders:write")),
        )
        .route(
            "/admin",
            get(|| async { "admin" }).route_layer(require_role("admin")),
        )
}

pub async fn me(auth: Authenticated) -> Json<Value> {
    Json(json!({
        "sub": auth.subject(),
        "user": auth.user_id(),
        "client": auth.client_id(),
        "client_token": auth.is_client_token(),
        "scope": auth.scopes().to_string(),
        "roles": auth.roles(),
    }))
}

pub async fn maybe(auth: MaybeAuthenticated) -> String {
    match auth.0 {
        Some(auth) => format!("hello {}", auth.subject().unwrap_or("?")),
        None => "hello anonymous".to_owned(),
    }
}

/// The routes behind the guard layer.
pub fn app(guard: &Guard) -> Router {
    routes().layer(guard.layer())
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn challenge(&self) -> &str {
        self.headers
            .get(http::header::WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

pub async fn send(app: Router, request: Request<Body>) -> Reply {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

pub fn get_with(uri: &str, authorization: Option<&str>) -> Request<Body> {
    let mut builder = Request::get(uri);
    if let Some(value) = authorization {
        builder = builder.header("authorization", value);
    }
    builder.body(Body::empty()).unwrap()
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}
