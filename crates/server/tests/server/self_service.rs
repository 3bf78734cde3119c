//! Self-service accounts at the handler level: an account waiting for its address to be
//! verified gets no tokens through the password grant while the server requires verification,
//! and does once its address is verified; the sign-up page exists only when turned on.
#![allow(clippy::unwrap_used)]

use axum::http::StatusCode;
use portcullis_server::admin;
use portcullis_server::config::{ClientConfig, SmtpSettings, SmtpTls};
use portcullis_types::{ClientSecret, GrantType};

use crate::common::*;

/// A relay nothing is sent to in these tests (the discard port on loopback).
fn relay() -> SmtpSettings {
    let mut smtp = SmtpSettings::new("127.0.0.1", "no-reply@as.example");
    smtp.tls = SmtpTls::InsecurePlaintext;
    smtp.port = 9;
    smtp
}

#[tokio::test]
async fn the_password_grant_refuses_an_account_until_its_address_is_verified() {
    let h = harness_with(
        |s| {
            s.self_service.registration = true;
            s.self_service.smtp = Some(relay());
        },
        true,
    )
    .await;
    admin::add_client(
        h.store.as_ref(),
        h.clock.as_ref(),
        h.server.config(),
        ClientConfig {
            client_id: "legacy".into(),
            secret: Some(ClientSecret::new("legacy-secret-0123456789")),
            grant_types: vec![GrantType::Password],
            scope: Some("openid email".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut alice = h
        .store
        .get_user_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    alice.verification_pending = true;
    alice.email_verified = false;
    h.store.put_user(alice.clone()).await.unwrap();
    let auth = basic("legacy", "legacy-secret-0123456789");
    let attempt = || {
        form_with(
            "/token",
            &format!(
                "grant_type=password&username=alice&password={}&scope=openid%20email",
                enc(PASSWORD)
            ),
            &[("authorization", &auth)],
        )
    };
    let json = body_json(send(&h.router, attempt()).await).await;
    assert_eq!(json["error"], "invalid_grant");
    assert_eq!(
        json["error_description"],
        "the account's e-mail address is not verified yet"
    );
    // A wrong password learns nothing about the account.
    let wrong = form_with(
        "/token",
        "grant_type=password&username=alice&password=wrong-password",
        &[("authorization", &auth)],
    );
    let json = body_json(send(&h.router, wrong).await).await;
    assert_eq!(json["error_description"], "invalid credentials");

    alice.verification_pending = false;
    alice.email_verified = true;
    h.store.put_user(alice).await.unwrap();
    let resp = send(&h.router, attempt()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let json = body_json(resp).await;
    assert!(json["access_token"].is_string(), "{json}");
}

#[tokio::test]
async fn ui_1_the_sign_up_page_exists_only_when_turned_on_and_carries_the_page_headers() {
    let off = harness().await;
    let resp = send(&off.router, get("/register", &[])).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    let on = harness_with(
        |s| {
            s.self_service.registration = true;
            s.self_service.verify_email = false;
        },
        true,
    )
    .await;
    let resp = send(&on.router, get("/register", &[])).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header_str(&resp, "x-frame-options"), Some("DENY"));
    assert!(
        header_str(&resp, "content-security-policy")
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(header_str(&resp, "cache-control"), Some("no-store"));
    assert!(!set_cookies(&resp).is_empty(), "the CSRF cookie is set");
    let html = body_text(resp).await;
    assert!(html.contains("name=\"csrf\""), "{html}");
    // Without a relay there is no reset, so the login page offers sign-up only.
    let login = body_text(send(&on.router, get("/login", &[])).await).await;
    assert!(login.contains("href=\"/register\""), "{login}");
    assert!(!login.contains("/password/forgot"), "{login}");
    assert_eq!(
        send(&on.router, get("/password/forgot", &[]))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}
