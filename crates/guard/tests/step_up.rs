//! Step-up requirements (RS-8, RFC 9470): a route demanding `acr`, `amr` or a recent `auth_time`
//! answers 401 `insufficient_user_authentication` naming what it wants, and lets a token through
//! once the user's authentication meets it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use axum::Router;
use axum::routing::get;
use common::*;
use http::StatusCode;
use portcullis_guard::jose::Algorithm;
use portcullis_guard::{
    INSUFFICIENT_USER_AUTHENTICATION_DESCRIPTION, StepUp, require_scope, require_step_up,
};
use serde_json::{Value, json};
use std::time::Duration;

/// `/mfa` wants `acr=mfa`; `/fresh` wants a sign-in at most 300 s old; `/both` wants both and
/// `orders:read`; `/otp` wants `amr` to contain `otp`.
fn step_up_app(issuer: &TestIssuer) -> Router {
    Router::new()
        .route(
            "/mfa",
            get(|| async { "mfa" }).route_layer(require_step_up(StepUp::new().acr_values(["mfa"]))),
        )
        .route(
            "/fresh",
            get(|| async { "fresh" }).route_layer(require_step_up(
                StepUp::new().max_age(Duration::from_secs(300)),
            )),
        )
        .route(
            "/both",
            get(|| async { "both" })
                .route_layer(require_step_up(
                    StepUp::new()
                        .acr_values(["mfa", "hwk"])
                        .max_age(Duration::from_secs(300)),
                ))
                .route_layer(require_scope("orders:read")),
        )
        .route(
            "/otp",
            get(|| async { "otp" }).route_layer(require_step_up(StepUp::new().amr(["otp"]))),
        )
        .layer(issuer.guard().layer())
}

/// The issuer's standard claims with `extra` merged in (a `null` removes a claim).
fn claims_with(issuer: &TestIssuer, extra: Value) -> Value {
    let mut claims = issuer.claims();
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

async fn call(issuer: &TestIssuer, path: &str, extra: Value) -> Reply {
    let token = issuer.sign(&claims_with(issuer, extra));
    send(step_up_app(issuer), get_with(path, Some(&bearer(&token)))).await
}

#[track_caller]
fn assert_step_up(reply: &Reply, challenge_params: &str) {
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "body: {}",
        reply.body
    );
    let expected = format!(
        "Bearer realm=\"orders-api\", error=\"insufficient_user_authentication\", error_description=\"{INSUFFICIENT_USER_AUTHENTICATION_DESCRIPTION}\"{challenge_params}"
    );
    assert_eq!(reply.challenge(), expected);
    assert_eq!(
        reply.json(),
        json!({
            "error": "insufficient_user_authentication",
            "error_description": INSUFFICIENT_USER_AUTHENTICATION_DESCRIPTION,
        })
    );
}

#[tokio::test]
async fn rs_8_acr_route_rejects_weaker_or_missing_acr() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    for extra in [json!({"acr": "pwd"}), json!({}), json!({"acr": "MFA"})] {
        let reply = call(&issuer, "/mfa", extra.clone()).await;
        assert_step_up(&reply, ", acr_values=\"mfa\"");
    }
    let reply = call(&issuer, "/mfa", json!({"acr": "mfa"})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body, "mfa");
}

#[tokio::test]
async fn rs_8_max_age_route_rejects_old_or_missing_auth_time() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    // `claims()` carries no auth_time.
    assert_step_up(
        &call(&issuer, "/fresh", json!({})).await,
        ", max_age=\"300\"",
    );
    assert_step_up(
        &call(&issuer, "/fresh", json!({"auth_time": NOW - 301})).await,
        ", max_age=\"300\"",
    );
    for at in [NOW - 300, NOW - 10, NOW] {
        let reply = call(&issuer, "/fresh", json!({"auth_time": at})).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "auth_time {at}: {}",
            reply.body
        );
    }
    // The guard's clock decides: the same token goes stale as time passes.
    let token = issuer.sign(&claims_with(&issuer, json!({"auth_time": NOW - 200})));
    let app = step_up_app(&issuer);
    let reply = send(app.clone(), get_with("/fresh", Some(&bearer(&token)))).await;
    assert_eq!(reply.status, StatusCode::OK);
    issuer.clock.advance(101);
    let reply = send(app, get_with("/fresh", Some(&bearer(&token)))).await;
    assert_step_up(&reply, ", max_age=\"300\"");
}

#[tokio::test]
async fn rs_8_combined_requirement_names_both_parameters() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let want = ", acr_values=\"mfa hwk\", max_age=\"300\"";
    for extra in [
        json!({"acr": "pwd", "auth_time": NOW}),
        json!({"acr": "hwk", "auth_time": NOW - 1000}),
        json!({"acr": "mfa"}),
    ] {
        assert_step_up(&call(&issuer, "/both", extra).await, want);
    }
    let reply = call(
        &issuer,
        "/both",
        json!({"acr": "hwk", "auth_time": NOW - 5}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    // The scope requirement still applies, with its own 403.
    let reply = call(
        &issuer,
        "/both",
        json!({"acr": "mfa", "auth_time": NOW, "scope": "orders:write"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn rs_8_amr_route_needs_every_method() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    for extra in [json!({}), json!({"amr": ["pwd"]}), json!({"amr": []})] {
        assert_step_up(&call(&issuer, "/otp", extra).await, "");
    }
    let reply = call(&issuer, "/otp", json!({"amr": ["pwd", "otp"]})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn rs_8_wrongly_typed_authentication_claims_are_invalid_tokens() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    for extra in [
        json!({"acr": ["mfa"]}),
        json!({"amr": "otp"}),
        json!({"auth_time": "1800000000"}),
    ] {
        let reply = call(&issuer, "/mfa", extra.clone()).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{extra}");
        assert!(
            reply.challenge().contains("error=\"invalid_token\""),
            "{extra}: {}",
            reply.challenge()
        );
    }
}

#[tokio::test]
async fn rs_8_step_up_without_a_token_is_the_bare_challenge() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let app = Router::new()
        .route(
            "/mfa",
            get(|| async { "mfa" }).route_layer(require_step_up(StepUp::new().acr_values(["mfa"]))),
        )
        .layer(issuer.guard().optional_layer());
    let reply = send(app, get_with("/mfa", None)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), "Bearer realm=\"orders-api\"");
}
