//! Handler tests of userinfo (RFC 6750 challenges), revocation (REV-1), introspection (INT-1),
//! logout (RED-9) and the account page.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use common::*;

async fn svc_token(h: &Harness) -> String {
    let resp = send(
        &h.router,
        form_with(
            "/token",
            "grant_type=client_credentials",
            &[("authorization", &basic("svc", SVC_SECRET))],
        ),
    )
    .await;
    body_json(resp).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn oidc_7_userinfo_challenges() {
    let h = harness_with(|_| {}, false).await;
    let resp = send(&h.router, get("/userinfo", &[])).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(
        header_str(&resp, "www-authenticate"),
        Some("Bearer realm=\"https://as.example\"")
    );
    let resp = send(
        &h.router,
        get("/userinfo", &[("authorization", "Bearer not-a-token")]),
    )
    .await;
    assert_eq!(resp.status(), 401);
    assert!(
        header_str(&resp, "www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    // A client-credentials token has no openid scope.
    let token = svc_token(&h).await;
    let resp = send(
        &h.router,
        get(
            "/userinfo",
            &[("authorization", &format!("Bearer {token}"))],
        ),
    )
    .await;
    assert_eq!(resp.status(), 403);
    assert!(
        header_str(&resp, "www-authenticate")
            .unwrap()
            .contains("insufficient_scope")
    );
    // Header and body at once.
    let resp = send(
        &h.router,
        form_with(
            "/userinfo",
            &format!("access_token={token}"),
            &[("authorization", &format!("Bearer {token}"))],
        ),
    )
    .await;
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn rev_1_int_1_revoked_access_token_is_inactive() {
    let h = harness_with(|_| {}, false).await;
    let token = svc_token(&h).await;
    let auth = basic("svc", SVC_SECRET);
    let resp = send(
        &h.router,
        form_with(
            "/introspect",
            &format!("token={token}"),
            &[("authorization", &auth)],
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header_str(&resp, "cache-control"), Some("no-store"));
    let body = body_json(resp).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], "svc");
    assert_eq!(body["aud"], "orders-api");

    // Another client cannot revoke it.
    let resp = send(
        &h.router,
        form_with(
            "/revoke",
            &format!("token={token}"),
            &[("authorization", &basic("web", WEB_SECRET))],
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body = body_json(
        send(
            &h.router,
            form_with(
                "/introspect",
                &format!("token={token}"),
                &[("authorization", &auth)],
            ),
        )
        .await,
    )
    .await;
    assert_eq!(body["active"], true);

    let resp = send(
        &h.router,
        form_with(
            "/revoke",
            &format!("token={token}"),
            &[("authorization", &auth)],
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header_str(&resp, "cache-control"), Some("no-store"));
    let resp = send(
        &h.router,
        form_with(
            "/introspect",
            &format!("token={token}"),
            &[("authorization", &auth)],
        ),
    )
    .await;
    assert_eq!(body_text(resp).await, r#"{"active":false}"#);

    // Unknown tokens: revocation succeeds, introspection says inactive.
    let resp = send(
        &h.router,
        form_with("/revoke", "token=garbage", &[("authorization", &auth)]),
    )
    .await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn tok_12_back_channel_endpoints_require_client_auth() {
    let h = harness_with(|_| {}, false).await;
    for path in ["/introspect", "/revoke", "/token"] {
        let resp = send(
            &h.router,
            form(path, "token=x&grant_type=client_credentials"),
        )
        .await;
        assert_eq!(resp.status(), 401, "{path}");
    }
    // Introspection needs a confidential client.
    let resp = send(&h.router, form("/introspect", "token=x&client_id=spa")).await;
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn rt_8_revoking_refresh_token_revokes_grant_and_account_withdraw() {
    let h = harness().await;
    let (location, jar) = login_and_consent(&h, &authorize_url("")).await;
    let code = param(&location, "code").unwrap();
    let tokens = body_json(redeem(&h, &code, VERIFIER).await).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let auth = basic("web", WEB_SECRET);

    // The account page lists the app.
    let resp = send(
        &h.router,
        get("/account", &[("cookie", &cookie_header(&jar))]),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let html = body_text(resp).await;
    assert!(html.contains("Web App"));
    let csrf = hidden(&html, "csrf");

    // Withdrawing revokes the grant: refresh and access tokens die.
    let resp = send(
        &h.router,
        form_with(
            "/account/withdraw",
            &format!("csrf={}&client_id=web", enc(&csrf)),
            &[("cookie", &cookie_header(&jar))],
        ),
    )
    .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(header_str(&resp, "location"), Some("/account"));
    let resp = send(
        &h.router,
        form_with(
            "/introspect",
            &format!("token={}", enc(&refresh)),
            &[("authorization", &auth)],
        ),
    )
    .await;
    assert_eq!(body_json(resp).await["active"], false);
    let resp = send(
        &h.router,
        get(
            "/userinfo",
            &[("authorization", &format!("Bearer {access}"))],
        ),
    )
    .await;
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn red_9_logout_redirects_only_with_valid_hint_and_registered_uri() {
    let h = harness().await;
    let (location, jar) = login_and_consent(&h, &authorize_url("")).await;
    let code = param(&location, "code").unwrap();
    let tokens = body_json(redeem(&h, &code, VERIFIER).await).await;
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let access = tokens["access_token"].as_str().unwrap().to_owned();

    // No hint: no redirect, a confirmation page instead.
    let url = format!(
        "/logout?post_logout_redirect_uri={}",
        enc("https://app.example/bye")
    );
    let resp = send(&h.router, get(&url, &[("cookie", &cookie_header(&jar))])).await;
    assert!(resp.headers().get("location").is_none());
    // Unregistered URI with a valid hint: error page.
    let url = format!(
        "/logout?id_token_hint={id_token}&post_logout_redirect_uri={}",
        enc("https://app.example/bye?x=1")
    );
    let resp = send(&h.router, get(&url, &[("cookie", &cookie_header(&jar))])).await;
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
    // An access token is not an ID token hint.
    let url = format!(
        "/logout?id_token_hint={access}&post_logout_redirect_uri={}",
        enc("https://app.example/bye")
    );
    let resp = send(&h.router, get(&url, &[("cookie", &cookie_header(&jar))])).await;
    assert!(resp.headers().get("location").is_none());
    // Valid hint (even after expiry) and registered URI: redirect with state, session ended.
    h.clock.advance(3600);
    let url = format!(
        "/logout?id_token_hint={id_token}&post_logout_redirect_uri={}&state=bye",
        enc("https://app.example/bye")
    );
    let resp = send(&h.router, get(&url, &[("cookie", &cookie_header(&jar))])).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        header_str(&resp, "location"),
        Some("https://app.example/bye?state=bye")
    );
    let resp = send(
        &h.router,
        get("/account", &[("cookie", &cookie_header(&jar))]),
    )
    .await;
    assert_eq!(header_str(&resp, "location"), Some("/login"));
}

/// Signs `username` in through the login page and returns the cookie jar.
async fn sign_in(h: &Harness, username: &str) -> Vec<(String, String)> {
    let mut jar = Vec::new();
    let resp = send(&h.router, get(&authorize_url(""), &[])).await;
    update_jar(&mut jar, &resp);
    let html = body_text(resp).await;
    let body = format!(
        "csrf={}&request={}&username={username}&password={}",
        enc(&hidden(&html, "csrf")),
        enc(&hidden(&html, "request")),
        enc(PASSWORD)
    );
    let resp = send(
        &h.router,
        form_with("/login", &body, &[("cookie", &cookie_header(&jar))]),
    )
    .await;
    assert_eq!(resp.status(), 303, "{username} signs in");
    update_jar(&mut jar, &resp);
    jar
}

#[tokio::test]
async fn red_9_logout_hint_for_another_user_asks_for_confirmation() {
    let h = harness().await;
    portcullis_server::admin::add_user(
        h.store.as_ref(),
        h.clock.as_ref(),
        &Default::default(),
        portcullis_server::admin::NewUser::new(
            "bob",
            portcullis_types::secret::Password::new(PASSWORD),
        ),
    )
    .await
    .unwrap();
    // Alice's own, valid ID token is the attacker's hint; Bob is the signed-in victim.
    let (location, _) = login_and_consent(&h, &authorize_url("")).await;
    let code = param(&location, "code").unwrap();
    let tokens = body_json(redeem(&h, &code, VERIFIER).await).await;
    let alice_token = tokens["id_token"].as_str().unwrap().to_owned();
    let bob = sign_in(&h, "bob").await;

    for url in [
        format!("/logout?id_token_hint={alice_token}"),
        format!(
            "/logout?id_token_hint={alice_token}&post_logout_redirect_uri={}",
            enc("https://app.example/bye")
        ),
    ] {
        let resp = send(&h.router, get(&url, &[("cookie", &cookie_header(&bob))])).await;
        assert_eq!(resp.status(), 200, "{url}");
        assert!(resp.headers().get("location").is_none(), "{url}");
        assert!(
            set_cookies(&resp).is_empty(),
            "the session cookie stays: {url}"
        );
        let html = body_text(resp).await;
        assert!(
            html.contains("name=\"csrf\""),
            "confirmation form expected: {url}"
        );
    }
    let resp = send(
        &h.router,
        get("/account", &[("cookie", &cookie_header(&bob))]),
    )
    .await;
    assert_eq!(resp.status(), 200, "bob is still signed in");

    // The same hint signs out its own user at once.
    let alice = sign_in(&h, "alice").await;
    let url = format!("/logout?id_token_hint={alice_token}");
    let resp = send(&h.router, get(&url, &[("cookie", &cookie_header(&alice))])).await;
    assert_eq!(resp.status(), 200);
    let resp = send(
        &h.router,
        get("/account", &[("cookie", &cookie_header(&alice))]),
    )
    .await;
    assert_eq!(header_str(&resp, "location"), Some("/login"));
}

#[tokio::test]
async fn rev_1_revoked_jti_outlives_the_validator_leeway() {
    let h = harness_with(|_| {}, false).await;
    let token = svc_token(&h).await;
    let (_, claims) = portcullis_jose::dangerous::decode_unverified(&token).unwrap();
    let jti = claims["jti"].as_str().unwrap();
    let exp = claims["exp"].as_i64().unwrap();
    h.clock.advance(exp - START - 1);
    let resp = send(
        &h.router,
        form_with(
            "/revoke",
            &format!("token={token}&token_type_hint=access_token"),
            &[("authorization", &basic("svc", SVC_SECRET))],
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    // A validator with the largest allowed leeway still accepts the token at exp + 59: the
    // denylist entry must still be there, garbage collection included.
    let late = exp + portcullis_types::denylist::MAX_VALIDATOR_LEEWAY_SECS - 1;
    h.store.gc(late).await.unwrap();
    assert!(h.store.is_jti_revoked(jti, late).await.unwrap());
    assert!(
        !h.store
            .is_jti_revoked(
                jti,
                exp + portcullis_types::denylist::MAX_VALIDATOR_LEEWAY_SECS
            )
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn rev_1_revocation_by_another_node_is_seen_within_one_second() {
    // A revocation written straight to the shared store (as another node would) is not seen
    // through this node's "not revoked" cache within the same clock second, but is the next.
    let h = harness_with(|_| {}, false).await;
    let token = svc_token(&h).await;
    let auth = basic("svc", SVC_SECRET);
    let introspect = || {
        send(
            &h.router,
            form_with(
                "/introspect",
                &format!("token={token}"),
                &[("authorization", &auth)],
            ),
        )
    };
    let body = body_json(introspect().await).await;
    assert_eq!(body["active"], true);
    let jti = body["jti"].as_str().unwrap().to_owned();
    let exp = body["exp"].as_i64().unwrap();
    h.store.revoke_jti(&jti, exp).await.unwrap();
    h.clock.advance(1);
    let body = body_json(introspect().await).await;
    assert_eq!(body["active"], false);
}
