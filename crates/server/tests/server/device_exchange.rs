//! Handler tests (router `oneshot`, no socket) of the device authorization endpoint, the device
//! pages and the token-exchange grant.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use common::*;
use portcullis_server::admin;
use portcullis_server::config::ClientConfig;
use portcullis_types::{ClientSecret, GrantType};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const AT_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

async fn with_tv(h: &Harness) {
    admin::add_client(
        h.store.as_ref(),
        h.clock.as_ref(),
        h.server.config(),
        ClientConfig {
            client_id: "tv".into(),
            grant_types: vec![GrantType::DeviceCode],
            scope: Some("openid orders:read".into()),
            name: Some("Kitchen TV".into()),
            ..ClientConfig::default()
        },
    )
    .await
    .unwrap();
}

fn poll_body(device_code: &str) -> String {
    format!(
        "grant_type={}&device_code={}&client_id=tv",
        enc(DEVICE_GRANT),
        enc(device_code)
    )
}

#[tokio::test]
async fn device_flow_through_the_router() {
    let h = harness().await;
    with_tv(&h).await;
    let resp = send(
        &h.router,
        form("/device_authorization", "client_id=tv&scope=openid"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header_str(&resp, "cache-control"), Some("no-store"));
    let json = body_json(resp).await;
    let device_code = json["device_code"].as_str().unwrap().to_owned();
    let user_code = json["user_code"].as_str().unwrap().to_owned();
    assert_eq!(json["verification_uri"], "https://as.example/device");

    let resp = send(&h.router, form("/token", &poll_body(&device_code))).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(body_json(resp).await["error"], "authorization_pending");

    // Not signed in: the device page asks to sign in and sets the CSRF cookie.
    let mut jar = Vec::new();
    let page = format!("/device?user_code={}", enc(&user_code));
    let resp = send(&h.router, get(&page, &[])).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header_str(&resp, "x-frame-options"), Some("DENY"));
    update_jar(&mut jar, &resp);
    let html = body_text(resp).await;
    let csrf = hidden(&html, "csrf");
    assert_eq!(hidden(&html, "user_code"), user_code);
    let body = format!(
        "csrf={}&user_code={}&username=alice&password={}",
        enc(&csrf),
        enc(&user_code),
        enc(PASSWORD)
    );
    let resp = send(
        &h.router,
        form_with("/device/login", &body, &[("cookie", &cookie_header(&jar))]),
    )
    .await;
    assert_eq!(resp.status(), 303);
    update_jar(&mut jar, &resp);
    let location = header_str(&resp, "location").unwrap().to_owned();
    assert_eq!(param(&location, "user_code").as_deref(), Some(&*user_code));

    let resp = send(
        &h.router,
        get(&location, &[("cookie", &cookie_header(&jar))]),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let html = body_text(resp).await;
    assert!(html.contains("Kitchen TV"));
    let body = format!(
        "csrf={}&user_code={}&decision=allow",
        enc(&hidden(&html, "csrf")),
        enc(&user_code)
    );
    let resp = send(
        &h.router,
        form_with("/device", &body, &[("cookie", &cookie_header(&jar))]),
    )
    .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        header_str(&resp, "location"),
        Some("/device?result=approved&client_id=tv")
    );

    h.clock.advance(5);
    let resp = send(&h.router, form("/token", &poll_body(&device_code))).await;
    assert_eq!(resp.status(), 200);
    let json = body_json(resp).await;
    assert!(json["access_token"].is_string());
    assert!(json["id_token"].is_string());
    assert!(json.get("refresh_token").is_none(), "tv may not refresh");
}

#[tokio::test]
async fn device_authorization_request_shape() {
    let h = harness().await;
    with_tv(&h).await;
    let resp = send(
        &h.router,
        form(
            "/device_authorization",
            "client_id=tv&scope=openid&scope=openid",
        ),
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(body_json(resp).await["error"], "invalid_request");
    let req = axum::http::Request::post("/device_authorization")
        .header("content-type", "application/json")
        .body(axum::body::Body::from("{\"client_id\":\"tv\"}"))
        .unwrap();
    let resp = send(&h.router, req).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(body_json(resp).await["error"], "invalid_request");
    let resp = send(&h.router, form("/device_authorization", "client_id=nobody")).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(body_json(resp).await["error"], "invalid_client");
}

#[tokio::test]
async fn client_token_exchanged_by_impersonation() {
    let h = harness().await;
    admin::add_client(
        h.store.as_ref(),
        h.clock.as_ref(),
        h.server.config(),
        ClientConfig {
            client_id: "batch".into(),
            secret: Some(ClientSecret::new("batch-secret-0123456789")),
            grant_types: vec![GrantType::ClientCredentials, GrantType::TokenExchange],
            scope: Some("orders:read orders:write".into()),
            ..ClientConfig::default()
        },
    )
    .await
    .unwrap();
    let mut rec = h.store.get_client("batch").await.unwrap().unwrap();
    rec.exchange_audiences = vec!["payments-api".into()];
    rec.exchange_impersonation = true;
    h.store.put_client(rec).await.unwrap();
    let auth = basic("batch", "batch-secret-0123456789");
    let resp = send(
        &h.router,
        form_with(
            "/token",
            "grant_type=client_credentials",
            &[("authorization", &auth)],
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let own = body_json(resp).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = format!(
        "grant_type={}&subject_token={}&subject_token_type={}&audience=payments-api&scope=orders%3Aread",
        enc(EXCHANGE),
        enc(&own),
        enc(AT_TYPE)
    );
    let resp = send(
        &h.router,
        form_with("/token", &body, &[("authorization", &auth)]),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header_str(&resp, "cache-control"), Some("no-store"));
    let json = body_json(resp).await;
    assert_eq!(json["issued_token_type"], AT_TYPE);
    assert_eq!(json["scope"], "orders:read");
    let token = json["access_token"].as_str().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["sub"], "batch");
    assert_eq!(claims["aud"], "payments-api");
    assert!(claims.get("act").is_none());
}

/// A device authorization request from `ip`.
fn device_request_from(ip: [u8; 4]) -> axum::http::Request<axum::body::Body> {
    let mut req = form("/device_authorization", "client_id=tv&scope=openid");
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            ip, 40_000,
        ))));
    req
}

#[tokio::test]
async fn dos_4_device_authorization_is_limited_per_address_and_client() {
    let h = harness_with(
        |s| {
            s.device_limits.per_address_per_minute = 3;
            s.device_limits.max_pending_per_address = 4;
            s.device_limits.max_pending_per_client = 6;
        },
        false,
    )
    .await;
    with_tv(&h).await;
    let refused = |resp: axum::http::Response<axum::body::Body>| async move {
        assert_eq!(resp.status(), 503);
        let wait: i64 = header_str(&resp, "retry-after").unwrap().parse().unwrap();
        assert!(wait >= 1, "{wait}");
        assert_eq!(body_json(resp).await["error"], "temporarily_unavailable");
        wait
    };
    // Three a minute from one address.
    for _ in 0..3 {
        let resp = send(&h.router, device_request_from([192, 0, 2, 1])).await;
        assert_eq!(resp.status(), 200);
    }
    let wait = refused(send(&h.router, device_request_from([192, 0, 2, 1])).await).await;
    assert!(wait <= 60, "{wait}");
    // Another address is not held back by the first one's rate.
    assert_eq!(
        send(&h.router, device_request_from([192, 0, 2, 2]))
            .await
            .status(),
        200
    );
    // A minute later the rate allows one more, then the four pending codes are the cap.
    h.clock.advance(61);
    assert_eq!(
        send(&h.router, device_request_from([192, 0, 2, 1]))
            .await
            .status(),
        200
    );
    h.clock.advance(61);
    refused(send(&h.router, device_request_from([192, 0, 2, 1])).await).await;
    // The client as a whole: six pending codes, whichever the address.
    assert_eq!(
        send(&h.router, device_request_from([192, 0, 2, 3]))
            .await
            .status(),
        200
    );
    refused(send(&h.router, device_request_from([192, 0, 2, 4])).await).await;
    // Once the codes expire (600 s), requests are admitted again.
    h.clock.advance(600);
    assert_eq!(
        send(&h.router, device_request_from([192, 0, 2, 1]))
            .await
            .status(),
        200
    );
}
