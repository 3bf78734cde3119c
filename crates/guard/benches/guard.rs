//! Per-request overhead of the guard on a cached key (ES256, HS256): a request through the
//! `GuardLayer` and the `Authenticated` extractor, against a hand-written jsonwebtoken extractor.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, FromRequestParts};
use axum::routing::get;
use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use http::request::Parts;
use http::{Request, StatusCode};
use jsonwebtoken::{DecodingKey, Validation};
use portcullis_guard::jose::time::{Clock, SystemClock};
use portcullis_guard::jose::{Algorithm, KeySet, SigningKey, Validator, jwt};
use portcullis_guard::{Authenticated, Guard};
use serde_json::json;
use std::hint::black_box;
use std::sync::Arc;
use tower::ServiceExt;

const ISS: &str = "https://as.example";
const AUD: &str = "orders-api";

/// What a typical hand-written extractor checks: Bearer header, `typ`, signature, exp/nbf with
/// leeway, issuer, audience; then it hands the claims to the handler.
#[derive(Clone)]
struct HandWritten {
    key: Arc<DecodingKey>,
    validation: Arc<Validation>,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Claims {
    sub: Option<String>,
    client_id: Option<String>,
    scope: Option<String>,
    jti: Option<String>,
}

struct JwtAuth(Claims);

impl<S> FromRequestParts<S> for JwtAuth
where
    HandWritten: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, StatusCode> {
        let config = HandWritten::from_ref(state);
        let value = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(StatusCode::UNAUTHORIZED)?;
        let (scheme, token) = value.split_once(' ').ok_or(StatusCode::BAD_REQUEST)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(StatusCode::UNAUTHORIZED);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| StatusCode::UNAUTHORIZED)?;
        if header.typ.as_deref() != Some("at+jwt") {
            return Err(StatusCode::UNAUTHORIZED);
        }
        let data = jsonwebtoken::decode::<Claims>(token, &config.key, &config.validation)
            .map_err(|_| StatusCode::UNAUTHORIZED)?;
        Ok(JwtAuth(data.claims))
    }
}

struct Case {
    name: &'static str,
    token: String,
    guard: Guard,
    keys: KeySet,
    hand_written: HandWritten,
    guard_router: Router,
    jwt_router: Router,
    bare_router: Router,
}

fn case(alg: Algorithm) -> Case {
    let key = SigningKey::generate(alg).unwrap().with_kid("bench");
    let now = SystemClock.now().as_secs();
    let claims = json!({
        "iss": ISS, "sub": "alice", "aud": AUD, "client_id": "spa", "scope": "orders:read",
        "exp": now + 3600, "iat": now, "jti": "bench-jti",
    });
    let token = jwt::encode(&key, "at+jwt", &claims).unwrap();

    let mut keys = KeySet::new();
    keys.insert(key.verifying_key()).unwrap();
    let guard = Guard::builder()
        .issuer(ISS)
        .audience(AUD)
        .static_keys(keys.clone())
        .build()
        .unwrap();
    let guard_router = Router::new()
        .route(
            "/r",
            get(|auth: Authenticated| async move { auth.subject().unwrap_or_default().to_owned() }),
        )
        .layer(guard.layer());

    let (decoding, jwt_alg) = match alg {
        Algorithm::ES256 => {
            let jwk = key.to_public_jwk().unwrap();
            let decoding = DecodingKey::from_ec_components(
                jwk.x.as_deref().unwrap(),
                jwk.y.as_deref().unwrap(),
            )
            .unwrap();
            (decoding, jsonwebtoken::Algorithm::ES256)
        }
        Algorithm::HS256 => {
            let jwk = key.to_private_jwk();
            let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(jwk.k.as_deref().unwrap())
                .unwrap();
            (
                DecodingKey::from_secret(&secret),
                jsonwebtoken::Algorithm::HS256,
            )
        }
        _ => unreachable!("only ES256 and HS256 are measured"),
    };
    let mut validation = Validation::new(jwt_alg);
    validation.set_issuer(&[ISS]);
    validation.set_audience(&[AUD]);
    validation.leeway = 30;
    validation.validate_nbf = true;
    let hand_written = HandWritten {
        key: Arc::new(decoding),
        validation: Arc::new(validation),
    };
    let jwt_router = Router::new()
        .route(
            "/r",
            get(|JwtAuth(claims): JwtAuth| async move { claims.sub.unwrap_or_default() }),
        )
        .with_state(hand_written.clone());
    let bare_router = Router::new().route("/r", get(|| async { "alice" }));
    Case {
        name: match alg {
            Algorithm::ES256 => "es256",
            _ => "hs256",
        },
        token,
        guard,
        keys,
        hand_written,
        guard_router,
        jwt_router,
        bare_router,
    }
}

fn request(token: &str) -> Request<Body> {
    Request::get("/r")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for alg in [Algorithm::ES256, Algorithm::HS256] {
        let case = case(alg);
        // Both must accept the token, or the comparison is meaningless.
        for router in [&case.guard_router, &case.jwt_router] {
            let status = runtime
                .block_on(router.clone().oneshot(request(&case.token)))
                .unwrap()
                .status();
            assert_eq!(status, StatusCode::OK);
        }
        let mut group = c.benchmark_group(format!("guard_{}", case.name));
        for (label, router) in [
            ("no_auth", &case.bare_router),
            ("portcullis_guard", &case.guard_router),
            ("jsonwebtoken_extractor", &case.jwt_router),
        ] {
            group.bench_function(label, |b| {
                b.iter(|| {
                    let response = runtime
                        .block_on(router.clone().oneshot(request(black_box(&case.token))))
                        .unwrap();
                    black_box(response.status())
                })
            });
        }
        group.finish();

        // The verification alone, without HTTP: where the per-request time goes.
        let mut group = c.benchmark_group(format!("verify_{}", case.name));
        let validator = Validator::builder()
            .issuer(ISS)
            .audience(AUD)
            .required_typ("at+jwt")
            .build();
        group.bench_function("portcullis_jose_validator", |b| {
            b.iter(|| {
                validator
                    .verify::<serde_json::Value>(
                        black_box(&case.token),
                        &case.keys,
                        SystemClock.now(),
                    )
                    .unwrap()
            })
        });
        group.bench_function("portcullis_guard_verify", |b| {
            b.iter(|| {
                runtime
                    .block_on(case.guard.verify(black_box(&case.token)))
                    .unwrap()
            })
        });
        group.bench_function("jsonwebtoken_decode", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<Claims>(
                    black_box(&case.token),
                    &case.hand_written.key,
                    &case.hand_written.validation,
                )
                .unwrap()
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
