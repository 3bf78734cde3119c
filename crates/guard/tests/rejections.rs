//! Every rejection path of the guard, through `Router::oneshot` with a static key set, named
//! after the RS-* rows of the security checklist.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use common::*;
use http::{Request, StatusCode};
use portcullis_guard::jose::Algorithm;
use portcullis_guard::{
    Authenticated, ConfigError, FailureReason, Guard, INVALID_TOKEN_DESCRIPTION,
    StandaloneAuthenticated, StandaloneMaybeAuthenticated,
};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const INVALID_TOKEN_CHALLENGE: &str = "Bearer realm=\"orders-api\", error=\"invalid_token\", error_description=\"The access token is not valid\"";

fn assert_invalid_token(reply: &Reply) {
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "body: {}",
        reply.body
    );
    assert_eq!(reply.challenge(), INVALID_TOKEN_CHALLENGE);
    assert_eq!(
        reply.json(),
        json!({"error": "invalid_token", "error_description": INVALID_TOKEN_DESCRIPTION})
    );
}

#[tokio::test]
async fn valid_token_reaches_the_handler_with_claims() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let reply = send(
        app(&issuer.guard()),
        get_with("/me", Some(&bearer(&issuer.token()))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["sub"], "alice");
    assert_eq!(body["user"], "alice");
    assert_eq!(body["client"], "spa");
    assert_eq!(body["scope"], "orders:read");
}

#[tokio::test]
async fn hs256_static_key_works() {
    let issuer = TestIssuer::new(Algorithm::HS256);
    let reply = send(
        app(&issuer.guard()),
        get_with("/me", Some(&bearer(&issuer.token()))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn rs_1_scheme_is_matched_case_insensitively() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let token = issuer.token();
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let reply = send(
            app(&issuer.guard()),
            get_with("/me", Some(&format!("{scheme} {token}"))),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{scheme}");
    }
}

#[tokio::test]
async fn rs_1_query_token_is_ignored_by_default() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let uri = format!("/me?access_token={}", issuer.token());
    let reply = send(app(&issuer.guard()), get_with(&uri, None)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), "Bearer realm=\"orders-api\"");
}

#[tokio::test]
async fn rs_1_query_and_cookie_only_when_configured() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let guard = issuer
        .builder()
        .insecure_query_parameter("access_token")
        .cookie("at")
        .build()
        .unwrap();
    let uri = format!("/me?access_token={}", issuer.token());
    assert_eq!(
        send(app(&guard), get_with(&uri, None)).await.status,
        StatusCode::OK
    );
    let request = Request::get("/me")
        .header("cookie", format!("theme=dark; at={}", issuer.token()))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(app(&guard), request).await.status, StatusCode::OK);
}

#[tokio::test]
async fn rs_2_two_transmission_methods_are_invalid_request() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let guard = issuer
        .builder()
        .insecure_query_parameter("access_token")
        .build()
        .unwrap();
    let token = issuer.token();
    let uri = format!("/me?access_token={token}");
    let reply = send(app(&guard), get_with(&uri, Some(&bearer(&token)))).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["error"], "invalid_request");
    assert!(reply.challenge().contains("error=\"invalid_request\""));

    let request = Request::get("/me")
        .header("authorization", bearer(&token))
        .header("authorization", bearer(&token))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(app(&issuer.guard()), request).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn rs_3_missing_token_gets_a_bare_challenge() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let reply = send(app(&issuer.guard()), get_with("/me", None)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), "Bearer realm=\"orders-api\"");
    assert!(reply.body.is_empty());
    // Another scheme is "no bearer token".
    let reply = send(app(&issuer.guard()), get_with("/me", Some("Basic YTpi"))).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), "Bearer realm=\"orders-api\"");
}

#[tokio::test]
async fn rs_3_malformed_header_is_invalid_request() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    for value in ["Bearer", "Bearer a b", "Bearer a\"b", "Bearer ==="] {
        let reply = send(app(&issuer.guard()), get_with("/me", Some(value))).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{value}");
        assert_eq!(reply.json()["error"], "invalid_request");
    }
}

#[tokio::test]
async fn rs_3_expired_and_forged_answers_are_identical() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let mut expired = issuer.claims();
    expired["exp"] = json!(NOW - 3600);
    let expired = issuer.sign(&expired);
    let forger = TestIssuer::new(Algorithm::ES256);
    let forged = forger.token();

    let a = send(
        app(&issuer.guard()),
        get_with("/me", Some(&bearer(&expired))),
    )
    .await;
    let b = send(
        app(&issuer.guard()),
        get_with("/me", Some(&bearer(&forged))),
    )
    .await;
    assert_invalid_token(&a);
    assert_invalid_token(&b);
    assert_eq!(a.body, b.body);
    assert_eq!(a.challenge(), b.challenge());
    assert!(!a.body.contains(&expired) && !a.challenge().contains(&expired));
}

#[tokio::test]
async fn rs_3_insufficient_scope_is_403_with_scope() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let request = Request::post("/orders")
        .header("authorization", bearer(&issuer.token()))
        .body(Body::empty())
        .unwrap();
    let reply = send(app(&issuer.guard()), request).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.challenge(),
        "Bearer realm=\"orders-api\", error=\"insufficient_scope\", error_description=\"The access token does not grant the scope this resource requires\", scope=\"orders:write\""
    );
    assert_eq!(reply.json()["error"], "insufficient_scope");

    let mut claims = issuer.claims();
    claims["scp"] = json!(["orders:write"]);
    let request = Request::post("/orders")
        .header("authorization", bearer(&issuer.sign(&claims)))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(app(&issuer.guard()), request).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn rs_3_in_handler_scope_check() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let router = Router::new()
        .route(
            "/pay",
            get(|auth: Authenticated| async move {
                auth.require_scope("payments:write")?;
                Ok::<_, portcullis_guard::GuardRejection>("paid")
            }),
        )
        .layer(issuer.guard().layer());
    let reply = send(router, get_with("/pay", Some(&bearer(&issuer.token())))).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.challenge().contains("scope=\"payments:write\""));
}

#[tokio::test]
async fn rs_4_audience_must_name_this_resource() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    for aud in [
        json!("other"),
        json!([]),
        json!("api.evil"),
        json!(["x", "orders-api.evil"]),
        json!(null),
    ] {
        let mut claims = issuer.claims();
        if aud.is_null() {
            claims.as_object_mut().unwrap().remove("aud");
        } else {
            claims["aud"] = aud.clone();
        }
        let reply = send(
            app(&issuer.guard()),
            get_with("/me", Some(&bearer(&issuer.sign(&claims)))),
        )
        .await;
        assert_invalid_token(&reply);
    }
    let mut claims = issuer.claims();
    claims["aud"] = json!(["payments-api", AUD]);
    let reply = send(
        app(&issuer.guard()),
        get_with("/me", Some(&bearer(&issuer.sign(&claims)))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn rs_5_issuer_must_match_exactly() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    for iss in [
        "https://as.example/",
        "https://AS.example",
        "https://evil.example",
    ] {
        let mut claims = issuer.claims();
        claims["iss"] = json!(iss);
        let reply = send(
            app(&issuer.guard()),
            get_with("/me", Some(&bearer(&issuer.sign(&claims)))),
        )
        .await;
        assert_invalid_token(&reply);
    }
}

#[tokio::test]
async fn rs_6_only_access_token_types_are_accepted() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    for typ in ["JWT", "id_token+jwt", "logout+jwt", "dpop+jwt"] {
        let token = issuer.sign_typ(typ, &issuer.claims());
        let reply = send(app(&issuer.guard()), get_with("/me", Some(&bearer(&token)))).await;
        assert_invalid_token(&reply);
    }
    let token = issuer.sign_typ("application/at+jwt", &issuer.claims());
    let reply = send(app(&issuer.guard()), get_with("/me", Some(&bearer(&token)))).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn rs_7_client_credentials_token_is_not_a_user() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let mut claims = issuer.claims();
    claims["sub"] = json!("alice");
    claims["client_id"] = json!("alice");
    let reply = send(
        app(&issuer.guard()),
        get_with("/me", Some(&bearer(&issuer.sign(&claims)))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body["client_token"], true);
    assert_eq!(body["user"], json!(null));
}

#[tokio::test]
async fn rs_9_leeway_is_bounded_and_time_claims_typed() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let err = issuer
        .builder()
        .leeway(Duration::from_secs(61))
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::LeewayTooLarge));

    let mut claims = issuer.claims();
    claims["exp"] = json!(NOW - 20);
    let reply = send(
        app(&issuer.guard()),
        get_with("/me", Some(&bearer(&issuer.sign(&claims)))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "within the 30 s leeway");

    for (name, value) in [
        ("exp", json!(NOW - 31)),
        ("exp", json!("1900000000")),
        ("nbf", json!(NOW + 120)),
        ("iat", json!(true)),
    ] {
        let mut claims = issuer.claims();
        claims[name] = value;
        let reply = send(
            app(&issuer.guard()),
            get_with("/me", Some(&bearer(&issuer.sign(&claims)))),
        )
        .await;
        assert_invalid_token(&reply);
    }
    let mut claims = issuer.claims();
    claims.as_object_mut().unwrap().remove("exp");
    let reply = send(
        app(&issuer.guard()),
        get_with("/me", Some(&bearer(&issuer.sign(&claims)))),
    )
    .await;
    assert_invalid_token(&reply);
}

#[tokio::test]
async fn rs_9_expiry_follows_the_injected_clock() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let guard = issuer.guard();
    let token = issuer.token();
    assert_eq!(
        send(app(&guard), get_with("/me", Some(&bearer(&token))))
            .await
            .status,
        StatusCode::OK
    );
    issuer.clock.advance(300 + 31);
    assert_invalid_token(&send(app(&guard), get_with("/me", Some(&bearer(&token)))).await);
}

#[tokio::test]
async fn rs_10_expired_token_with_bad_signature_is_a_signature_failure() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&reasons);
    let guard = issuer
        .builder()
        .on_authentication_failed(move |failure| {
            seen.lock().unwrap().push(format!("{:?}", failure.reason))
        })
        .build()
        .unwrap();
    let forger = TestIssuer::new(Algorithm::ES256);
    let mut claims = forger.claims();
    claims["exp"] = json!(NOW - 3600);
    let reply = send(
        app(&guard),
        get_with("/me", Some(&bearer(&forger.sign(&claims)))),
    )
    .await;
    assert_invalid_token(&reply);
    let reasons = reasons.lock().unwrap();
    assert_eq!(reasons.len(), 1);
    assert!(reasons[0].contains("InvalidSignature"), "{}", reasons[0]);
}

#[tokio::test]
async fn rs_11_unknown_kid_with_static_keys_is_refused() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let other = portcullis_guard::jose::SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("k2");
    let token = portcullis_guard::jose::jwt::encode(&other, "at+jwt", &issuer.claims()).unwrap();
    assert_invalid_token(&send(app(&issuer.guard()), get_with("/me", Some(&bearer(&token)))).await);
}

#[tokio::test]
async fn alg_confusion_and_unsigned_tokens_are_refused() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    // An HS256 token under the same kid as the ES256 key.
    let hs = portcullis_guard::jose::SigningKey::generate(Algorithm::HS256)
        .unwrap()
        .with_kid("k1");
    let token = portcullis_guard::jose::jwt::encode(&hs, "at+jwt", &issuer.claims()).unwrap();
    assert_invalid_token(&send(app(&issuer.guard()), get_with("/me", Some(&bearer(&token)))).await);
    // alg none.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"none","typ":"at+jwt"}"#);
    let payload = b64.encode(serde_json::to_vec(&issuer.claims()).unwrap());
    for token in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}.AAAA"),
    ] {
        assert_invalid_token(
            &send(app(&issuer.guard()), get_with("/me", Some(&bearer(&token)))).await,
        );
    }
}

#[tokio::test]
async fn garbage_and_oversized_tokens_are_invalid_not_panics() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let huge = "a".repeat(20_000);
    let huge_jwt = format!("{huge}.{huge}.{huge}");
    for token in [
        "abc",
        "a.b.c",
        "a.b",
        "....",
        huge.as_str(),
        huge_jwt.as_str(),
    ] {
        assert_invalid_token(
            &send(app(&issuer.guard()), get_with("/me", Some(&bearer(token)))).await,
        );
    }
}

#[tokio::test]
async fn roles_claim_and_role_requirement() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let guard = issuer
        .builder()
        .roles_claim("realm_access.roles")
        .build()
        .unwrap();
    let reply = send(
        app(&guard),
        get_with("/admin", Some(&bearer(&issuer.token()))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.json()["error"], "insufficient_scope");
    let mut claims = issuer.claims();
    claims["realm_access"] = json!({"roles": ["admin"]});
    let reply = send(
        app(&guard),
        get_with("/admin", Some(&bearer(&issuer.sign(&claims)))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    claims["realm_access"] = json!({"roles": "admin,root"});
    let reply = send(
        app(&guard),
        get_with("/admin", Some(&bearer(&issuer.sign(&claims)))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn wrongly_typed_scope_claim_is_invalid_token() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let mut claims = issuer.claims();
    claims["scope"] = json!(["orders:read"]);
    assert_invalid_token(
        &send(
            app(&issuer.guard()),
            get_with("/me", Some(&bearer(&issuer.sign(&claims)))),
        )
        .await,
    );
}

#[tokio::test]
async fn optional_layer_passes_anonymous_but_not_invalid() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let guard = issuer.guard();
    let router = || {
        Router::new()
            .route("/maybe", get(maybe))
            .layer(guard.optional_layer())
    };
    let reply = send(router(), get_with("/maybe", None)).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "hello anonymous")
    );
    let reply = send(router(), get_with("/maybe", Some(&bearer(&issuer.token())))).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "hello alice")
    );
    let forged = TestIssuer::new(Algorithm::ES256).token();
    assert_invalid_token(&send(router(), get_with("/maybe", Some(&bearer(&forged)))).await);
    // A handler that requires a token behind the optional layer still answers 401.
    let router = Router::new()
        .route("/me", get(me))
        .layer(guard.optional_layer());
    let reply = send(router, get_with("/me", None)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), "Bearer realm=\"orders-api\"");
}

#[tokio::test]
async fn extractors_work_standalone_with_the_guard_in_state() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let router = || {
        Router::new()
            .route(
                "/me",
                get(|auth: StandaloneAuthenticated| async move {
                    auth.subject().unwrap_or("-").to_owned()
                }),
            )
            .route(
                "/maybe",
                get(|auth: StandaloneMaybeAuthenticated| async move {
                    match auth.0 {
                        Some(auth) => format!("hello {}", auth.subject().unwrap_or("?")),
                        None => "hello anonymous".to_owned(),
                    }
                }),
            )
            .with_state(issuer.guard())
    };
    let reply = send(router(), get_with("/me", Some(&bearer(&issuer.token())))).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "alice")
    );
    let reply = send(router(), get_with("/me", None)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), "Bearer realm=\"orders-api\"");
    assert_eq!(
        send(router(), get_with("/maybe", None)).await.body,
        "hello anonymous"
    );
    assert_eq!(
        send(router(), get_with("/maybe", Some(&bearer(&issuer.token()))))
            .await
            .body,
        "hello alice"
    );
    let forged = TestIssuer::new(Algorithm::ES256).token();
    assert_invalid_token(&send(router(), get_with("/me", Some(&bearer(&forged)))).await);
    assert_invalid_token(&send(router(), get_with("/maybe", Some(&bearer(&forged)))).await);
    assert_eq!(
        send(router(), get_with("/me", Some("Bearer a b")))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn extractor_without_guard_fails_closed() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let router = Router::new().route("/me", get(me));
    let reply = send(router, get_with("/me", Some(&bearer(&issuer.token())))).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[derive(serde::Deserialize)]
struct Tenant {
    tenant: String,
}

#[tokio::test]
async fn typed_custom_claims() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let router = || {
        Router::new()
            .route(
                "/t",
                get(|auth: Authenticated<Tenant>| async move { auth.custom().tenant.clone() }),
            )
            .layer(issuer.guard().layer())
    };
    let mut claims = issuer.claims();
    claims["tenant"] = json!("acme");
    let reply = send(
        router(),
        get_with("/t", Some(&bearer(&issuer.sign(&claims)))),
    )
    .await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "acme")
    );
    assert_invalid_token(&send(router(), get_with("/t", Some(&bearer(&issuer.token())))).await);
}

#[tokio::test]
async fn hooks_see_claims_and_failures() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let validated = Arc::new(Mutex::new(Vec::new()));
    let failed = Arc::new(Mutex::new(Vec::new()));
    let (v, f) = (Arc::clone(&validated), Arc::clone(&failed));
    let guard = issuer
        .builder()
        .on_token_validated(move |claims| v.lock().unwrap().push(claims.jti().map(str::to_owned)))
        .on_authentication_failed(move |failure| {
            f.lock().unwrap().push((
                matches!(failure.reason, FailureReason::MalformedRequest(_)),
                failure.token_id.clone(),
            ))
        })
        .build()
        .unwrap();
    send(app(&guard), get_with("/me", Some(&bearer(&issuer.token())))).await;
    send(app(&guard), get_with("/me", Some("Bearer a b"))).await;
    send(
        app(&guard),
        get_with(
            "/me",
            Some(&bearer(&TestIssuer::new(Algorithm::ES256).token())),
        ),
    )
    .await;
    assert_eq!(*validated.lock().unwrap(), vec![Some("jti-1".to_owned())]);
    let failed = failed.lock().unwrap();
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0], (true, None));
    assert!(!failed[1].0);
    assert!(failed[1].1.as_deref().unwrap().starts_with("sha256:"));
}

#[test]
fn configuration_errors() {
    let build = |issuer: &str| Guard::builder().issuer(issuer).audience("a").build();
    assert!(matches!(
        build("not a url"),
        Err(ConfigError::InvalidIssuer)
    ));
    assert!(matches!(
        build("http://as.example"),
        Err(ConfigError::InsecureUrl(_))
    ));
    assert!(build("http://127.0.0.1:8080").is_ok());
    assert!(
        Guard::builder()
            .issuer("http://as.example")
            .audience("a")
            .insecure_allow_http()
            .build()
            .is_ok()
    );
    assert!(matches!(
        Guard::builder().issuer("https://as").audience("").build(),
        Err(ConfigError::Empty(_))
    ));
    assert!(matches!(
        Guard::builder()
            .issuer("https://as")
            .audience("a")
            .roles_claim("a..b")
            .build(),
        Err(ConfigError::Empty(_))
    ));
}
