//! Handler tests of the token endpoint: transport rules (TOK-1, TOK-2, TOK-3), client
//! authentication (TOK-4, TOK-5), grant permissions (TOK-7, TOK-8, RED-15) and the
//! client-credentials token shape (RFC 9068).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use axum::body::Body;
use axum::http::Request;
use common::*;
use portcullis_jose::{KeySet, UnixTime, Validator};

fn svc_auth() -> (&'static str, String) {
    ("authorization", basic("svc", SVC_SECRET))
}

#[tokio::test]
async fn tok_1_get_and_json_refused() {
    let h = harness_with(|_| {}, false).await;
    let resp = send(&h.router, get("/token?grant_type=client_credentials", &[])).await;
    assert_eq!(resp.status(), 405);
    let req = Request::post("/token")
        .header("content-type", "application/json")
        .header("authorization", basic("svc", SVC_SECRET))
        .body(Body::from(r#"{"grant_type":"client_credentials"}"#))
        .unwrap();
    let resp = send(&h.router, req).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(header_str(&resp, "cache-control"), Some("no-store"));
    assert_eq!(body_json(resp).await["error"], "invalid_request");
}

#[tokio::test]
async fn tok_2_client_credentials_success_is_no_store_and_rfc9068() {
    let h = harness_with(|_| {}, false).await;
    let (k, v) = svc_auth();
    let resp = send(
        &h.router,
        form_with(
            "/token",
            "grant_type=client_credentials&scope=orders%3Aread",
            &[(k, &v)],
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header_str(&resp, "cache-control"), Some("no-store"));
    assert_eq!(header_str(&resp, "pragma"), Some("no-cache"));
    let body = body_json(resp).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "orders:read");
    assert!(body.get("refresh_token").is_none());
    let token = body["access_token"].as_str().unwrap();

    let jwks = body_json(send(&h.router, get("/.well-known/jwks.json", &[])).await).await;
    let jwks: portcullis_jose::JwkSet = serde_json::from_value(jwks).unwrap();
    let keys = KeySet::from_jwks(&jwks).unwrap();
    let validator = Validator::builder()
        .issuer(ISSUER)
        .audience("orders-api")
        .required_typ("at+jwt")
        .build();
    let verified = validator
        .verify::<serde_json::Value>(token, &keys, UnixTime(START))
        .unwrap();
    assert_eq!(verified.header().alg, portcullis_jose::Algorithm::ES256);
    let claims = verified.custom();
    assert_eq!(claims["sub"], "svc");
    assert_eq!(claims["client_id"], "svc");
    assert_eq!(claims["scope"], "orders:read");
    assert_eq!(claims["exp"], START + 900);
    assert_eq!(claims["iat"], START);
    assert!(claims["jti"].is_string());
}

#[tokio::test]
async fn tok_2_errors_are_no_store_too() {
    let h = harness_with(|_| {}, false).await;
    let resp = send(
        &h.router,
        form_with(
            "/token",
            "grant_type=client_credentials",
            &[("authorization", &basic("svc", "wrong-secret-000000"))],
        ),
    )
    .await;
    assert_eq!(resp.status(), 401);
    assert_eq!(header_str(&resp, "cache-control"), Some("no-store"));
    assert_eq!(header_str(&resp, "pragma"), Some("no-cache"));
    assert!(
        header_str(&resp, "www-authenticate")
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(body_json(resp).await["error"], "invalid_client");
}

#[tokio::test]
async fn tok_3_duplicate_parameters_rejected() {
    let h = harness_with(|_| {}, false).await;
    let (k, v) = svc_auth();
    let resp = send(
        &h.router,
        form_with(
            "/token",
            "grant_type=client_credentials&grant_type=client_credentials",
            &[(k, &v)],
        ),
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(body_json(resp).await["error"], "invalid_request");
    // Unknown parameters are ignored.
    let resp = send(
        &h.router,
        form_with(
            "/token",
            "grant_type=client_credentials&foo=bar",
            &[(k, &v)],
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn tok_4_two_authentication_methods_rejected() {
    let h = harness_with(|_| {}, false).await;
    let (k, v) = svc_auth();
    let body = format!(
        "grant_type=client_credentials&client_id=svc&client_secret={}",
        enc(SVC_SECRET)
    );
    let resp = send(&h.router, form_with("/token", &body, &[(k, &v)])).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(body_json(resp).await["error"], "invalid_request");
}

#[tokio::test]
async fn tok_5_client_secret_post_and_missing_auth() {
    let h = harness_with(|_| {}, false).await;
    let body = format!(
        "grant_type=client_credentials&client_id=svc&client_secret={}",
        enc(SVC_SECRET)
    );
    let resp = send(&h.router, form("/token", &body)).await;
    assert_eq!(resp.status(), 200);
    // Wrong secret in the body: 401 without a Basic challenge.
    let resp = send(
        &h.router,
        form(
            "/token",
            "grant_type=client_credentials&client_id=svc&client_secret=nope",
        ),
    )
    .await;
    assert_eq!(resp.status(), 401);
    assert!(header_str(&resp, "www-authenticate").is_none());
    // No authentication at all.
    let resp = send(&h.router, form("/token", "grant_type=client_credentials")).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(body_json(resp).await["error"], "invalid_client");
}

#[tokio::test]
async fn tok_7_public_client_cannot_use_client_credentials() {
    let h = harness_with(|_| {}, false).await;
    let resp = send(
        &h.router,
        form("/token", "grant_type=client_credentials&client_id=spa"),
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(body_json(resp).await["error"], "unauthorized_client");
}

#[tokio::test]
async fn tok_8_grant_types_per_client_and_red_15_password_disabled() {
    let h = harness_with(|_| {}, false).await;
    let (k, v) = svc_auth();
    let resp = send(
        &h.router,
        form_with(
            "/token",
            "grant_type=refresh_token&refresh_token=abc",
            &[(k, &v)],
        ),
    )
    .await;
    assert_eq!(body_json(resp).await["error"], "unauthorized_client");
    let resp = send(
        &h.router,
        form_with(
            "/token",
            "grant_type=password&username=alice&password=x",
            &[(k, &v)],
        ),
    )
    .await;
    assert_eq!(body_json(resp).await["error"], "unsupported_grant_type");
    let resp = send(
        &h.router,
        form_with("/token", "grant_type=implicit", &[(k, &v)]),
    )
    .await;
    assert_eq!(body_json(resp).await["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn tok_9_scope_beyond_client_allowance() {
    let h = harness_with(|_| {}, false).await;
    let (k, v) = svc_auth();
    let resp = send(
        &h.router,
        form_with(
            "/token",
            "grant_type=client_credentials&scope=admin",
            &[(k, &v)],
        ),
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(body_json(resp).await["error"], "invalid_scope");
    let resp = send(
        &h.router,
        form_with(
            "/token",
            "grant_type=client_credentials&scope=openid",
            &[(k, &v)],
        ),
    )
    .await;
    assert_eq!(body_json(resp).await["error"], "invalid_scope");
}

#[tokio::test]
async fn dos_5_large_body_refused() {
    let h = harness_with(|_| {}, false).await;
    let body = format!(
        "grant_type=client_credentials&pad={}",
        "a".repeat(70 * 1024)
    );
    let resp = send(&h.router, form("/token", &body)).await;
    assert_eq!(resp.status(), 413);
}

/// A request from the peer `ip`, as the server sees it with connect info.
fn from_source(mut req: Request<Body>, ip: [u8; 4]) -> Request<Body> {
    let addr = std::net::SocketAddr::from((ip, 40000));
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    req
}

const ATTACKER: [u8; 4] = [198, 51, 100, 7];
const CLIENT_HOST: [u8; 4] = [192, 0, 2, 10];
const PROXY: [u8; 4] = [10, 0, 0, 5];

/// A client-credentials request from `peer` authenticated with `auth`.
fn client_credentials_from(auth: (&str, &str), peer: [u8; 4]) -> Request<Body> {
    from_source(
        form_with("/token", "grant_type=client_credentials", &[auth]),
        peer,
    )
}

/// A client-credentials request from `peer` carrying `X-Forwarded-For: forwarded`.
fn forwarded_cc(auth: (&str, &str), peer: [u8; 4], forwarded: &str) -> Request<Body> {
    from_source(
        form_with(
            "/token",
            "grant_type=client_credentials",
            &[auth, ("x-forwarded-for", forwarded)],
        ),
        peer,
    )
}

#[tokio::test]
async fn rs_14_forwarded_for_from_an_untrusted_peer_is_ignored() {
    // No trusted proxies: a client that varies X-Forwarded-For does not get a fresh throttle
    // key with each request.
    let h = harness_with(|s| s.client_auth_throttle.max_failures = 3, false).await;
    let (k, v) = svc_auth();
    let bad = basic("svc", "bad-secret");
    for spoofed in ["203.0.113.1", "203.0.113.2", "192.0.2.10"] {
        let resp = send(
            &h.router,
            forwarded_cc(("authorization", &bad), ATTACKER, spoofed),
        )
        .await;
        assert_eq!(resp.status(), 401);
    }
    let resp = send(&h.router, forwarded_cc((k, &v), ATTACKER, "203.0.113.3")).await;
    assert_eq!(
        resp.status(),
        401,
        "the spoofed header moved the throttle key"
    );
    // The address the attacker named is not throttled either.
    let resp = send(&h.router, client_credentials_from((k, &v), CLIENT_HOST)).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn rs_14_forwarded_for_from_a_trusted_proxy_names_the_client() {
    let h = harness_with(
        |s| {
            s.client_auth_throttle.max_failures = 3;
            s.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
        },
        false,
    )
    .await;
    let (k, v) = svc_auth();
    let bad = basic("svc", "bad-secret");
    // The attacker writes its own X-Forwarded-For naming the real client's host; the proxy
    // appends the attacker's address. Only the rightmost untrusted entry counts.
    for _ in 0..3 {
        let resp = send(
            &h.router,
            forwarded_cc(("authorization", &bad), PROXY, "192.0.2.10, 198.51.100.7"),
        )
        .await;
        assert_eq!(resp.status(), 401);
    }
    // The attacker is throttled, whatever it puts in front, behind one proxy or two.
    for chain in [
        "198.51.100.7",
        "192.0.2.10, 198.51.100.7",
        "198.51.100.7, 10.1.2.3",
        "not-an-ip, 198.51.100.7",
    ] {
        let resp = send(&h.router, forwarded_cc((k, &v), PROXY, chain)).await;
        assert_eq!(resp.status(), 401, "{chain}");
    }
    // The real client behind the same proxy is not: the proxy's own address is not the key.
    let resp = send(&h.router, forwarded_cc((k, &v), PROXY, "192.0.2.10")).await;
    assert_eq!(resp.status(), 200);
    // An entry the trusted proxy itself wrote that does not parse leaves the proxy's
    // address, which has no failures.
    let resp = send(
        &h.router,
        forwarded_cc((k, &v), PROXY, "198.51.100.7, not-an-ip"),
    )
    .await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn dos_4_client_auth_failures_throttled() {
    let h = harness_with(|s| s.client_auth_throttle.max_failures = 3, false).await;
    let (k, v) = svc_auth();
    let cc = |headers: &[(&str, &str)], ip| {
        from_source(
            form_with("/token", "grant_type=client_credentials", headers),
            ip,
        )
    };
    for _ in 0..3 {
        let resp = send(
            &h.router,
            cc(&[("authorization", &basic("svc", "bad-secret"))], ATTACKER),
        )
        .await;
        assert_eq!(resp.status(), 401);
    }
    // Another source's failures never refuse the client's correct secret.
    let resp = send(&h.router, cc(&[(k, &v)], CLIENT_HOST)).await;
    assert_eq!(resp.status(), 200);
    // The failing source is throttled, even when it now guesses right.
    let resp = send(&h.router, cc(&[(k, &v)], ATTACKER)).await;
    assert_eq!(resp.status(), 401);
    assert!(
        body_json(resp).await["error_description"]
            .as_str()
            .unwrap()
            .contains("too many")
    );
    h.clock.advance(61);
    let resp = send(&h.router, cc(&[(k, &v)], ATTACKER)).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn dos_4_garbage_assertions_do_not_count_against_the_named_client() {
    let h = harness_with(|s| s.client_auth_throttle.max_failures = 3, false).await;
    // An unsigned assertion that claims to be `svc`, from the client's own host.
    let garbage = format!(
        "eyJhbGciOiJSUzI1NiJ9.{}.c2ln",
        base64_url(r#"{"iss":"svc","sub":"svc","aud":"x","exp":9999999999,"jti":"j"}"#)
    );
    for with_id in [false, true, false, true, false] {
        let body = format!(
            "grant_type=client_credentials&client_assertion_type={}&client_assertion={garbage}{}",
            enc("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            if with_id { "&client_id=svc" } else { "" }
        );
        let resp = send(&h.router, from_source(form("/token", &body), CLIENT_HOST)).await;
        assert_eq!(resp.status(), 401);
    }
    let (k, v) = svc_auth();
    let resp = send(&h.router, client_credentials_from((k, &v), CLIENT_HOST)).await;
    assert_eq!(
        resp.status(),
        200,
        "garbage assertions locked the client out"
    );
}

fn base64_url(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

#[tokio::test]
async fn red_13_cors_on_token_but_not_authorize() {
    let h = harness_with(|_| {}, false).await;
    let preflight = |path: &str| {
        Request::options(path)
            .header("origin", "https://spa.example")
            .header("access-control-request-method", "POST")
            .body(Body::empty())
            .unwrap()
    };
    let resp = send(&h.router, preflight("/token")).await;
    assert!(header_str(&resp, "access-control-allow-origin").is_some());
    let resp = send(&h.router, preflight("/authorize")).await;
    assert!(header_str(&resp, "access-control-allow-origin").is_none());
}

/// A client secret stored as the bare SHA-256 digest of earlier releases still authenticates, and
/// the first success replaces it by the keyed digest; a failure changes nothing.
#[tokio::test]
async fn tok_10_legacy_secret_digest_upgraded_on_success() {
    let h = harness_with(|_| {}, false).await;
    let bare = portcullis_server::store::secret_hash(SVC_SECRET);
    let mut legacy = h.store.get_client("svc").await.unwrap().unwrap();
    assert!(
        legacy
            .secret_hash
            .as_deref()
            .is_some_and(|d| d.starts_with("hmac-sha256:") && !d.contains(&bare)),
        "new secrets get the keyed digest"
    );
    legacy.secret_hash = Some(bare.clone());
    h.store.put_client(legacy).await.unwrap();
    let token = |secret: &str| {
        form_with(
            "/token",
            "grant_type=client_credentials",
            &[("authorization", &basic("svc", secret))],
        )
    };

    let resp = send(&h.router, token("wrong-secret-0123456789")).await;
    assert_eq!(resp.status(), 401);
    let stored = h
        .store
        .get_client("svc")
        .await
        .unwrap()
        .unwrap()
        .secret_hash;
    assert_eq!(
        stored.as_deref(),
        Some(bare.as_str()),
        "no upgrade on failure"
    );

    let resp = send(&h.router, token(SVC_SECRET)).await;
    assert_eq!(resp.status(), 200);
    let upgraded = h
        .store
        .get_client("svc")
        .await
        .unwrap()
        .unwrap()
        .secret_hash
        .unwrap();
    assert!(upgraded.starts_with("hmac-sha256:"), "{upgraded}");
    assert_ne!(upgraded, bare);

    // The upgraded record keeps working once the cached legacy copy has expired.
    h.clock.advance(60);
    assert_eq!(send(&h.router, token(SVC_SECRET)).await.status(), 200);
    assert_eq!(
        send(&h.router, token("wrong-secret-0123456789"))
            .await
            .status(),
        401
    );
}
