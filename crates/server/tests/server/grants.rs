//! Handler tests of grant edge cases: concurrent code redemption (CODE-3), code bound to the
//! client (CODE-4), PKCE downgrade (PKCE-4), refresh absolute lifetime (RT-7), forced login
//! (OIDC-5), `private_key_jwt` with replay protection (TOK-6) and the opt-in password grant.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use common::*;
use portcullis_jose::{Algorithm, JwkSet, SigningKey, jwt};
use portcullis_server::admin;
use portcullis_server::config::ClientConfig;
use portcullis_types::{ClientSecret, GrantType};

#[tokio::test]
async fn code_3_concurrent_redemptions_have_one_winner() {
    let h = harness().await;
    let (location, _) = login_and_consent(&h, &authorize_url("")).await;
    let code = param(&location, "code").unwrap();
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let router = h.router.clone();
        let body = format!(
            "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}",
            enc(&code),
            enc(WEB_REDIRECT),
            enc(VERIFIER)
        );
        tasks.push(tokio::spawn(async move {
            send(
                &router,
                form_with(
                    "/token",
                    &body,
                    &[("authorization", &basic("web", WEB_SECRET))],
                ),
            )
            .await
            .status()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() == 200 {
            ok += 1;
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn code_4_code_bound_to_client_and_code_5_redirect_uri() {
    let h = harness().await;
    admin::add_client(
        h.store.as_ref(),
        h.clock.as_ref(),
        h.server.config(),
        ClientConfig {
            client_id: "other".into(),
            secret: Some(ClientSecret::new("other-secret-0123456789")),
            redirect_uris: vec![WEB_REDIRECT.into()],
            ..ClientConfig::default()
        },
    )
    .await
    .unwrap();
    let (location, jar) = login_and_consent(&h, &authorize_url("")).await;
    let code = param(&location, "code").unwrap();
    let body = format!(
        "grant_type=authorization_code&code={}&code_verifier={}",
        enc(&code),
        enc(VERIFIER)
    );
    let resp = send(
        &h.router,
        form_with(
            "/token",
            &body,
            &[("authorization", &basic("other", "other-secret-0123456789"))],
        ),
    )
    .await;
    assert_eq!(body_json(resp).await["error"], "invalid_grant");

    let resp = send(
        &h.router,
        get(&authorize_url(""), &[("cookie", &cookie_header(&jar))]),
    )
    .await;
    let code = param(header_str(&resp, "location").unwrap(), "code").unwrap();
    let body = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}",
        enc(&code),
        enc("https://app.example/other"),
        enc(VERIFIER)
    );
    let resp = send(
        &h.router,
        form_with(
            "/token",
            &body,
            &[("authorization", &basic("web", WEB_SECRET))],
        ),
    )
    .await;
    assert_eq!(body_json(resp).await["error"], "invalid_grant");
}

#[tokio::test]
async fn pkce_4_verifier_for_code_without_challenge_rejected() {
    let h = harness_with(|s| s.require_pkce = false, true).await;
    let url = format!(
        "/authorize?response_type=code&client_id=web&redirect_uri={}&scope=openid",
        enc(WEB_REDIRECT)
    );
    let (location, _) = login_and_consent(&h, &url).await;
    let code = param(&location, "code").unwrap();
    let resp = redeem(&h, &code, VERIFIER).await;
    assert_eq!(body_json(resp).await["error"], "invalid_grant");
}

#[tokio::test]
async fn pkce_3_missing_verifier_rejected() {
    let h = harness().await;
    let (location, _) = login_and_consent(&h, &authorize_url("")).await;
    let code = param(&location, "code").unwrap();
    let body = format!("grant_type=authorization_code&code={}", enc(&code));
    let resp = send(
        &h.router,
        form_with(
            "/token",
            &body,
            &[("authorization", &basic("web", WEB_SECRET))],
        ),
    )
    .await;
    // A missing required parameter is `invalid_request` (RFC 6749 §5.2); the checklist's
    // `invalid_grant` for this case predates that reading.
    let body = body_json(resp).await;
    assert_eq!(body["error"], "invalid_request");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("code_verifier is required"),
        "{body}"
    );
    // The code was spent by the attempt: redeeming it now with the verifier is refused.
    let again = redeem(&h, &code, VERIFIER).await;
    assert_eq!(body_json(again).await["error"], "invalid_grant");
}

#[tokio::test]
async fn rt_7_absolute_lifetime_and_rt_6_scope() {
    let h = harness_with(
        |s| {
            s.refresh_token_ttl = 1000;
            s.refresh_token_absolute_ttl = 1500;
        },
        true,
    )
    .await;
    let (location, _) = login_and_consent(&h, &authorize_url("")).await;
    let code = param(&location, "code").unwrap();
    let tokens = body_json(redeem(&h, &code, VERIFIER).await).await;
    let mut refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let auth = basic("web", WEB_SECRET);

    // RT-6: a broader scope is refused (without consuming the token).
    let body = format!(
        "grant_type=refresh_token&refresh_token={}&scope=openid%20orders%3Aread",
        enc(&refresh)
    );
    let resp = send(
        &h.router,
        form_with("/token", &body, &[("authorization", &auth)]),
    )
    .await;
    assert_eq!(body_json(resp).await["error"], "invalid_scope");

    // Refreshes at +700 and +1400 succeed; at +2100 the family's absolute lifetime (1500) is over.
    for (elapsed, should_work) in [(700, true), (1400, true), (2100, false)] {
        h.clock.advance(700);
        let body = format!("grant_type=refresh_token&refresh_token={}", enc(&refresh));
        let resp = send(
            &h.router,
            form_with("/token", &body, &[("authorization", &auth)]),
        )
        .await;
        let status = resp.status();
        let json = body_json(resp).await;
        if should_work {
            assert_eq!(status, 200, "at +{elapsed}: {json}");
            refresh = json["refresh_token"].as_str().unwrap().to_owned();
        } else {
            assert_eq!(json["error"], "invalid_grant", "at +{elapsed}");
        }
    }
}

#[tokio::test]
async fn oidc_5_prompt_login_forces_reauthentication() {
    let h = harness().await;
    let (_, jar) = login_and_consent(&h, &authorize_url("")).await;
    let resp = send(
        &h.router,
        get(
            &authorize_url("&prompt=login"),
            &[("cookie", &cookie_header(&jar))],
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let html = body_text(resp).await;
    assert!(html.contains("name=\"password\""));
    // max_age=0 after some time also forces the login page.
    h.clock.advance(5);
    let resp = send(
        &h.router,
        get(
            &authorize_url("&max_age=0"),
            &[("cookie", &cookie_header(&jar))],
        ),
    )
    .await;
    assert!(body_text(resp).await.contains("name=\"password\""));
}

#[tokio::test]
async fn tok_6_private_key_jwt_with_replay_protection() {
    let h = harness_with(|_| {}, false).await;
    let key = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("k1");
    let jwks = JwkSet {
        keys: vec![key.to_public_jwk().unwrap()],
    };
    admin::add_client(
        h.store.as_ref(),
        h.clock.as_ref(),
        h.server.config(),
        ClientConfig {
            client_id: "jwt-client".into(),
            auth_method: Some(portcullis_types::TokenEndpointAuthMethod::PrivateKeyJwt),
            jwks: Some(serde_json::to_string(&jwks).unwrap()),
            grant_types: vec![GrantType::ClientCredentials],
            scope: Some("orders:read".into()),
            ..ClientConfig::default()
        },
    )
    .await
    .unwrap();
    let assertion = |aud: &str, jti: &str| {
        jwt::encode(
            &key,
            "JWT",
            &serde_json::json!({
                "iss": "jwt-client", "sub": "jwt-client", "aud": aud,
                "exp": START + 60, "iat": START, "jti": jti,
            }),
        )
        .unwrap()
    };
    let body = |a: &str| {
        format!(
            "grant_type=client_credentials&client_assertion_type={}&client_assertion={a}",
            enc("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        )
    };
    let a1 = assertion(ISSUER, "j1");
    let resp = send(&h.router, form("/token", &body(&a1))).await;
    assert_eq!(resp.status(), 200);
    // Replay of the same assertion.
    let resp = send(&h.router, form("/token", &body(&a1))).await;
    assert_eq!(resp.status(), 401);
    // Wrong audience.
    let resp = send(
        &h.router,
        form("/token", &body(&assertion("https://evil", "j2"))),
    )
    .await;
    assert_eq!(resp.status(), 401);
    // Token endpoint URL as audience is accepted.
    let resp = send(
        &h.router,
        form(
            "/token",
            &body(&assertion("https://as.example/token", "j3")),
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    // Signed by another key.
    let other = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("k1");
    let forged = jwt::encode(
        &other,
        "JWT",
        &serde_json::json!({"iss": "jwt-client", "sub": "jwt-client", "aud": ISSUER,
            "exp": START + 60, "jti": "j4"}),
    )
    .unwrap();
    let resp = send(&h.router, form("/token", &body(&forged))).await;
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn password_grant_only_for_opted_in_client() {
    let h = harness().await;
    admin::add_client(
        h.store.as_ref(),
        h.clock.as_ref(),
        h.server.config(),
        ClientConfig {
            client_id: "legacy".into(),
            secret: Some(ClientSecret::new("legacy-secret-0123456789")),
            grant_types: vec![GrantType::Password, GrantType::RefreshToken],
            scope: Some("openid profile".into()),
            ..ClientConfig::default()
        },
    )
    .await
    .unwrap();
    let auth = basic("legacy", "legacy-secret-0123456789");
    let body = format!(
        "grant_type=password&username=alice&password={}&scope=openid",
        enc(PASSWORD)
    );
    let resp = send(
        &h.router,
        form_with("/token", &body, &[("authorization", &auth)]),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let json = body_json(resp).await;
    assert!(json["id_token"].is_string());
    assert!(json["refresh_token"].is_string());
    let resp = send(
        &h.router,
        form_with(
            "/token",
            "grant_type=password&username=alice&password=wrong",
            &[("authorization", &auth)],
        ),
    )
    .await;
    assert_eq!(body_json(resp).await["error"], "invalid_grant");
}
