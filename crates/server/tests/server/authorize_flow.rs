//! Handler tests of the authorization endpoint and the browser flow: error page without
//! redirect (RED-6), redirected errors with state and iss (RED-10, ISS-1), PKCE rules, the full
//! code flow through login and consent, code reuse (CODE-1, CODE-2), PKCE at the token endpoint,
//! refresh rotation and reuse (RT-3), page headers (UI-1, UI-2) and cookies (UI-4).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use common::*;

#[tokio::test]
async fn red_6_unknown_client_or_bad_redirect_is_an_error_page() {
    let h = harness_with(|_| {}, false).await;
    for url in [
        "/authorize?response_type=code&client_id=nobody&redirect_uri=https%3A%2F%2Fapp.example%2Fcb".to_owned(),
        format!(
            "/authorize?response_type=code&client_id=web&redirect_uri={}",
            enc("https://app.example/cb/")
        ),
        format!(
            "/authorize?response_type=code&client_id=web&redirect_uri={}",
            enc("https://evil.example/cb")
        ),
        // RED-5: several registered URIs and none requested.
        "/authorize?response_type=code&client_id=spa".to_owned(),
        // RED-11: duplicated client_id.
        "/authorize?response_type=code&client_id=web&client_id=spa".to_owned(),
    ] {
        let resp = send(&h.router, get(&url, &[])).await;
        assert_eq!(resp.status(), 400, "{url}");
        assert!(resp.headers().get("location").is_none(), "{url}");
        assert!(header_str(&resp, "content-type").unwrap().starts_with("text/html"));
    }
}

#[tokio::test]
async fn red_10_errors_redirect_with_state_and_iss() {
    let h = harness_with(|_| {}, false).await;
    // response_type=token → unsupported_response_type (RED-15).
    let url = format!(
        "/authorize?response_type=token&client_id=web&redirect_uri={}&state=abc&code_challenge={CHALLENGE}&code_challenge_method=S256",
        enc(WEB_REDIRECT)
    );
    let resp = send(&h.router, get(&url, &[])).await;
    assert_eq!(resp.status(), 303);
    let loc = header_str(&resp, "location").unwrap();
    assert!(loc.starts_with(WEB_REDIRECT));
    assert_eq!(
        param(loc, "error").as_deref(),
        Some("unsupported_response_type")
    );
    assert_eq!(param(loc, "state").as_deref(), Some("abc"));
    assert_eq!(param(loc, "iss").as_deref(), Some(ISSUER));

    let url = format!(
        "/authorize?response_type=code&client_id=web&redirect_uri={}&state=s%20p&scope=admin&code_challenge={CHALLENGE}&code_challenge_method=S256",
        enc(WEB_REDIRECT)
    );
    let resp = send(&h.router, get(&url, &[])).await;
    let loc = header_str(&resp, "location").unwrap();
    assert_eq!(param(loc, "error").as_deref(), Some("invalid_scope"));
    assert_eq!(param(loc, "state").as_deref(), Some("s p"));
    assert_eq!(param(loc, "iss").as_deref(), Some(ISSUER));
}

#[tokio::test]
async fn pkce_1_pkce_2_challenge_required_and_plain_refused() {
    let h = harness_with(|_| {}, false).await;
    let base = format!(
        "/authorize?response_type=code&client_id=web&redirect_uri={}&state=x",
        enc(WEB_REDIRECT)
    );
    for extra in [
        "".to_owned(),
        format!("&code_challenge={CHALLENGE}&code_challenge_method=plain"),
        format!("&code_challenge={CHALLENGE}"),
    ] {
        let resp = send(&h.router, get(&format!("{base}{extra}"), &[])).await;
        assert_eq!(resp.status(), 303, "{extra}");
        let loc = header_str(&resp, "location").unwrap();
        assert_eq!(
            param(loc, "error").as_deref(),
            Some("invalid_request"),
            "{extra}"
        );
        assert_eq!(param(loc, "iss").as_deref(), Some(ISSUER));
    }
}

#[tokio::test]
async fn red_11_duplicate_parameter_redirects_invalid_request() {
    let h = harness_with(|_| {}, false).await;
    let url = authorize_url("&scope=openid");
    let resp = send(&h.router, get(&url, &[])).await;
    let loc = header_str(&resp, "location").unwrap();
    assert_eq!(param(loc, "error").as_deref(), Some("invalid_request"));
}

#[tokio::test]
async fn oidc_4_prompt_none_without_session_is_login_required() {
    let h = harness_with(|_| {}, false).await;
    let resp = send(&h.router, get(&authorize_url("&prompt=none"), &[])).await;
    assert_eq!(resp.status(), 303);
    let loc = header_str(&resp, "location").unwrap();
    assert_eq!(param(loc, "error").as_deref(), Some("login_required"));
    assert_eq!(param(loc, "state").as_deref(), Some("st-1"));
}

#[tokio::test]
async fn ui_1_ui_2_login_page_headers_and_ui_4_cookie_attributes() {
    let h = harness_with(|_| {}, false).await;
    let resp = send(&h.router, get(&authorize_url(""), &[])).await;
    assert_eq!(resp.status(), 200);
    let csp = header_str(&resp, "content-security-policy").unwrap();
    assert!(csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("http"));
    assert_eq!(header_str(&resp, "x-frame-options"), Some("DENY"));
    assert_eq!(header_str(&resp, "referrer-policy"), Some("no-referrer"));
    assert_eq!(header_str(&resp, "cache-control"), Some("no-store"));
    let cookies = set_cookies(&resp);
    let csrf = cookies.iter().find(|c| c.starts_with("__Host-")).unwrap();
    assert!(csrf.contains("HttpOnly"));
    assert!(csrf.contains("Secure"));
    assert!(csrf.contains("SameSite=Lax"));
    assert!(csrf.contains("Path=/"));
    assert!(!csrf.contains("Domain"));
}

#[tokio::test]
async fn full_code_flow_with_pkce_refresh_and_reuse_detection() {
    let h = harness().await;
    let (location, jar) = login_and_consent(&h, &authorize_url("")).await;
    assert!(location.starts_with(WEB_REDIRECT));
    assert_eq!(param(&location, "state").as_deref(), Some("st-1"));
    assert_eq!(param(&location, "iss").as_deref(), Some(ISSUER));
    let code = param(&location, "code").unwrap();
    assert_eq!(code.len(), 43);
    let session_cookie = jar.iter().find(|(n, _)| n == "__Host-portcullis-session");
    assert!(session_cookie.is_some());

    // PKCE-3: a wrong verifier fails (and burns the code).
    let (second, _) = {
        let resp = send(
            &h.router,
            get(&authorize_url(""), &[("cookie", &cookie_header(&jar))]),
        )
        .await;
        assert_eq!(
            resp.status(),
            303,
            "consent remembered, straight to the client"
        );
        (header_str(&resp, "location").unwrap().to_owned(), ())
    };
    let code2 = param(&second, "code").unwrap();
    let resp = redeem(&h, &code2, &"x".repeat(43)).await;
    assert_eq!(body_json(resp).await["error"], "invalid_grant");

    // The first code works.
    let resp = redeem(&h, &code, VERIFIER).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header_str(&resp, "cache-control"), Some("no-store"));
    let tokens = body_json(resp).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let (header, claims) = portcullis_jose::dangerous::decode_unverified(&id_token).unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], "web");
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["auth_time"], START);
    assert!(claims["at_hash"].is_string());
    assert!(claims["sid"].is_string());
    assert_eq!(claims["email"], "alice@example.com");

    // Userinfo works with the access token.
    let resp = send(
        &h.router,
        get(
            "/userinfo",
            &[("authorization", &format!("Bearer {access}"))],
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let info = body_json(resp).await;
    assert_eq!(info["sub"], claims["sub"]);
    assert_eq!(info["preferred_username"], "alice");

    // RT: rotation, then reuse of the old token revokes the family.
    let body = format!("grant_type=refresh_token&refresh_token={}", enc(&refresh));
    let resp = send(
        &h.router,
        form_with(
            "/token",
            &body,
            &[("authorization", &basic("web", WEB_SECRET))],
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let rotated = body_json(resp).await;
    let refresh2 = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(refresh2, refresh);
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
    let body2 = format!("grant_type=refresh_token&refresh_token={}", enc(&refresh2));
    let resp = send(
        &h.router,
        form_with(
            "/token",
            &body2,
            &[("authorization", &basic("web", WEB_SECRET))],
        ),
    )
    .await;
    assert_eq!(body_json(resp).await["error"], "invalid_grant");
    // RT-3: the access tokens of the family are rejected too.
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
async fn code_1_code_2_second_redemption_fails_and_revokes() {
    let h = harness().await;
    let (location, _) = login_and_consent(&h, &authorize_url("")).await;
    let code = param(&location, "code").unwrap();
    let resp = redeem(&h, &code, VERIFIER).await;
    assert_eq!(resp.status(), 200);
    let tokens = body_json(resp).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let resp = redeem(&h, &code, VERIFIER).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(body_json(resp).await["error"], "invalid_grant");

    let resp = send(
        &h.router,
        get(
            "/userinfo",
            &[("authorization", &format!("Bearer {access}"))],
        ),
    )
    .await;
    assert_eq!(resp.status(), 401);
    let body = format!("grant_type=refresh_token&refresh_token={}", enc(&refresh));
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
async fn code_6_expired_code_fails() {
    let h = harness().await;
    let (location, _) = login_and_consent(&h, &authorize_url("")).await;
    let code = param(&location, "code").unwrap();
    h.clock.advance(61);
    let resp = redeem(&h, &code, VERIFIER).await;
    assert_eq!(body_json(resp).await["error"], "invalid_grant");
}

#[tokio::test]
async fn ui_3_consent_post_from_another_browser_is_refused() {
    let h = harness().await;
    let mut jar = Vec::new();
    let resp = send(&h.router, get(&authorize_url(""), &[])).await;
    update_jar(&mut jar, &resp);
    let html = body_text(resp).await;
    let body = format!(
        "csrf={}&request={}&username=alice&password={}",
        enc(&hidden(&html, "csrf")),
        enc(&hidden(&html, "request")),
        enc(PASSWORD)
    );
    // Without the CSRF cookie the login form is refused.
    let resp = send(&h.router, form("/login", &body)).await;
    assert_eq!(resp.status(), 400);
    let resp = send(
        &h.router,
        form_with("/login", &body, &[("cookie", &cookie_header(&jar))]),
    )
    .await;
    assert_eq!(resp.status(), 303);
    update_jar(&mut jar, &resp);
    let loc = header_str(&resp, "location").unwrap().to_owned();
    let resp = send(&h.router, get(&loc, &[("cookie", &cookie_header(&jar))])).await;
    let html = body_text(resp).await;
    let consent_body = format!(
        "csrf={}&request={}&decision=allow",
        enc(&hidden(&html, "csrf")),
        enc(&hidden(&html, "request"))
    );
    // Another browser (no cookies) posting the same form is refused.
    let resp = send(&h.router, form("/consent", &consent_body)).await;
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
}

/// A browser at the sign-in form: its cookies and the form's CSRF token.
struct SignInForm {
    jar: Vec<(String, String)>,
    csrf: String,
}

impl SignInForm {
    async fn open(h: &Harness) -> Self {
        let mut jar = Vec::new();
        let resp = send(&h.router, get("/login", &[])).await;
        update_jar(&mut jar, &resp);
        let csrf = hidden(&body_text(resp).await, "csrf");
        Self { jar, csrf }
    }

    /// Posts the form from `ip` (none: no connect info) and returns the redirect target.
    async fn post(&self, h: &Harness, user: &str, password: &str, ip: Option<[u8; 4]>) -> String {
        let resp = self.post_response(h, user, password, ip).await;
        assert_eq!(resp.status(), 303);
        header_str(&resp, "location").unwrap().to_owned()
    }

    async fn post_response(
        &self,
        h: &Harness,
        user: &str,
        password: &str,
        ip: Option<[u8; 4]>,
    ) -> axum::http::Response<axum::body::Body> {
        let body = format!(
            "csrf={}&request=&username={}&password={}",
            enc(&self.csrf),
            enc(user),
            enc(password)
        );
        let mut req = form_with("/login", &body, &[("cookie", &cookie_header(&self.jar))]);
        if let Some(ip) = ip {
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                    ip, 40_000,
                ))));
        }
        send(&h.router, req).await
    }

    /// The text of the page a failed attempt was sent back to.
    async fn page(&self, h: &Harness, location: &str) -> String {
        body_text(
            send(
                &h.router,
                get(location, &[("cookie", &cookie_header(&self.jar))]),
            )
            .await,
        )
        .await
    }
}

#[tokio::test]
async fn ui_4_wrong_password_and_throttling_have_their_own_messages() {
    let h = harness_with(|s| s.login_throttle.max_failures = 2, true).await;
    let browser = SignInForm::open(&h).await;
    for _ in 0..2 {
        let location = browser.post(&h, "alice", "wrong", None).await;
        assert!(location.contains("failed=1"), "{location}");
        assert!(!location.contains("wait="), "{location}");
        let page = browser.page(&h, &location).await;
        assert!(page.contains("the username or password is wrong"), "{page}");
        assert!(!page.contains("Too many"), "{page}");
    }
    // Throttled: even the right password is refused within the window, and the page says to
    // wait rather than to retype.
    let location = browser.post(&h, "alice", PASSWORD, None).await;
    assert!(location.contains("wait=900"), "{location}");
    let page = browser.page(&h, &location).await;
    assert!(
        page.contains("Too many failed sign-in attempts. Try again in 15 minutes."),
        "{page}"
    );
    assert!(!page.contains("password is wrong"), "{page}");
    // A forged wait is bounded when shown back.
    let page = browser.page(&h, "/login?failed=1&wait=99999999999").await;
    assert!(page.contains("Try again in 1440 minutes."), "{page}");
    h.clock.advance(901);
    let resp = browser.post_response(&h, "alice", PASSWORD, None).await;
    assert_eq!(header_str(&resp, "location"), Some("/account"));
    assert!(
        set_cookies(&resp)
            .iter()
            .any(|c| c.starts_with("__Host-portcullis-session="))
    );
}

#[tokio::test]
async fn dos_4_typos_from_a_shared_address_do_not_lock_out_the_right_password() {
    // Everyone in development, or in one office, signs in from the same address: a few typos
    // on several accounts must not lock out the next person who types their password right.
    let h = harness().await;
    let browser = SignInForm::open(&h).await;
    let office = Some([192, 0, 2, 44]);
    for user in ["alice", "alice", "bob", "bob", "carol", "nobody"] {
        let location = browser.post(&h, user, "typo", office).await;
        assert!(!location.contains("wait="), "{user}: {location}");
    }
    assert_eq!(
        browser.post(&h, "alice", PASSWORD, office).await,
        "/account"
    );
}

#[tokio::test]
async fn dos_4_an_address_spraying_many_accounts_is_throttled_by_its_own_limit() {
    let h = harness_with(
        |s| {
            s.login_address_throttle.max_failures = 6;
            s.login_address_throttle.window_secs = 300;
        },
        true,
    )
    .await;
    let browser = SignInForm::open(&h).await;
    let sprayer = Some([198, 51, 100, 9]);
    for i in 0..6 {
        let location = browser
            .post(&h, &format!("user-{i}"), "guess", sprayer)
            .await;
        assert!(!location.contains("wait="), "{location}");
    }
    // The address is locked, whichever account it tries, for its own (shorter) window...
    let location = browser.post(&h, "alice", PASSWORD, sprayer).await;
    assert!(location.contains("wait=300"), "{location}");
    // ...while another address signs alice in.
    assert_eq!(
        browser
            .post(&h, "alice", PASSWORD, Some([192, 0, 2, 1]))
            .await,
        "/account"
    );
    // An operator can lift the address's lock at once.
    let ip = std::net::IpAddr::from([198, 51, 100, 9]);
    assert!(
        portcullis_server::admin::unlock_user(h.store.as_ref(), "alice", Some(ip))
            .await
            .unwrap()
    );
    assert_eq!(
        browser.post(&h, "alice", PASSWORD, sprayer).await,
        "/account"
    );
}

#[tokio::test]
async fn dos_4_unlock_clears_an_account_lock() {
    let h = harness_with(|s| s.login_throttle.max_failures = 2, true).await;
    let browser = SignInForm::open(&h).await;
    for _ in 0..2 {
        browser.post(&h, "alice", "wrong", None).await;
    }
    assert!(
        browser
            .post(&h, "alice", PASSWORD, None)
            .await
            .contains("wait=")
    );
    // An unknown name is reported as such.
    assert!(
        !portcullis_server::admin::unlock_user(h.store.as_ref(), "nobody", None)
            .await
            .unwrap()
    );
    assert!(
        portcullis_server::admin::unlock_user(h.store.as_ref(), "alice", None)
            .await
            .unwrap()
    );
    assert_eq!(browser.post(&h, "alice", PASSWORD, None).await, "/account");
}
