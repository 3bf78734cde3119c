//! Signing a user out everywhere, disabling and enabling an account, and changing its password:
//! from the command line's admin operations (another process sharing the store) and from the
//! account page. Earlier tokens are refused by introspection, userinfo and the refresh grant
//! right after the change; new sign-ins work.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use portcullis_jose::Clock;
use portcullis_server::admin::{self, AccountTargets};
use portcullis_server::store::UserRecord;
use portcullis_types::secret::Password;

use crate::common::*;

/// Tokens from a fresh code flow for alice.
struct Tokens {
    access: String,
    refresh: String,
    jar: Vec<(String, String)>,
}

async fn code_flow(h: &Harness) -> Tokens {
    let (location, jar) = sign_in_for_code(h).await;
    let code = param(&location, "code").unwrap();
    let tokens = body_json(redeem(h, &code, VERIFIER).await).await;
    Tokens {
        access: tokens["access_token"].as_str().unwrap().to_owned(),
        refresh: tokens["refresh_token"].as_str().unwrap().to_owned(),
        jar,
    }
}

/// Signs alice in for the web client: the first time through the consent page, later (the
/// consent is remembered) straight back to the client with a code.
async fn sign_in_for_code(h: &Harness) -> (String, Vec<(String, String)>) {
    if h.store
        .get_consent(alice(h).await.id.as_str(), "web")
        .await
        .unwrap()
        .is_none()
    {
        return login_and_consent(h, &authorize_url("")).await;
    }
    let (location, jar) = login(h, &authorize_url("")).await;
    let resp = send(
        &h.router,
        get(&location, &[("cookie", &cookie_header(&jar))]),
    )
    .await;
    assert_eq!(resp.status(), 303, "consent is remembered");
    (header_str(&resp, "location").unwrap().to_owned(), jar)
}

async fn introspect_active(h: &Harness, token: &str) -> bool {
    let resp = send(
        &h.router,
        form_with(
            "/introspect",
            &format!("token={}", enc(token)),
            &[("authorization", &basic("web", WEB_SECRET))],
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    body_json(resp).await["active"].as_bool().unwrap()
}

async fn userinfo_status(h: &Harness, token: &str) -> u16 {
    let auth = format!("Bearer {token}");
    send(&h.router, get("/userinfo", &[("authorization", &auth)]))
        .await
        .status()
        .as_u16()
}

/// The `error` of a refresh-token request, `None` when it succeeded.
async fn refresh_error(h: &Harness, refresh: &str) -> Option<String> {
    let resp = send(
        &h.router,
        form_with(
            "/token",
            &format!("grant_type=refresh_token&refresh_token={}", enc(refresh)),
            &[("authorization", &basic("web", WEB_SECRET))],
        ),
    )
    .await;
    let ok = resp.status() == 200;
    let body = body_json(resp).await;
    if ok {
        None
    } else {
        Some(body["error"].as_str().unwrap().to_owned())
    }
}

/// Signs in on the plain login page; returns the redirect and the cookie jar.
async fn sign_in(h: &Harness, username: &str, password: &str) -> (String, Vec<(String, String)>) {
    let mut jar = Vec::new();
    let resp = send(&h.router, get("/login", &[])).await;
    update_jar(&mut jar, &resp);
    let csrf = hidden(&body_text(resp).await, "csrf");
    let body = format!(
        "csrf={}&request=&username={}&password={}",
        enc(&csrf),
        enc(username),
        enc(password)
    );
    let resp = send(
        &h.router,
        form_with("/login", &body, &[("cookie", &cookie_header(&jar))]),
    )
    .await;
    assert_eq!(resp.status(), 303);
    update_jar(&mut jar, &resp);
    (header_str(&resp, "location").unwrap().to_owned(), jar)
}

/// The account page's CSRF token, or `None` when the browser is sent to sign in.
async fn account_csrf(h: &Harness, jar: &[(String, String)]) -> Option<String> {
    let resp = send(
        &h.router,
        get("/account", &[("cookie", &cookie_header(jar))]),
    )
    .await;
    if resp.status() == 303 {
        assert_eq!(header_str(&resp, "location"), Some("/login"));
        return None;
    }
    assert_eq!(resp.status(), 200);
    Some(hidden(&body_text(resp).await, "csrf"))
}

async fn alice(h: &Harness) -> UserRecord {
    h.store
        .get_user_by_username("alice")
        .await
        .unwrap()
        .unwrap()
}

fn targets(h: &Harness) -> AccountTargets<'_> {
    AccountTargets {
        store: h.store.as_ref(),
        denylist: None,
        clock: h.clock.as_ref(),
        config: h.server.config(),
    }
}

#[tokio::test]
async fn rt_8_revoke_tokens_refuses_every_earlier_token_and_new_logins_work() {
    let h = harness().await;
    let old = code_flow(&h).await;
    assert!(introspect_active(&h, &old.access).await);
    assert_eq!(userinfo_status(&h, &old.access).await, 200);

    // `users revoke-tokens`: another process, writing the shared store, in the same second.
    let report = admin::revoke_user_tokens(targets(&h), "alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.grants, 1);
    assert_eq!(report.sessions, 1);
    assert_eq!(report.not_before, START);
    assert_eq!(alice(&h).await.tokens_not_before, Some(START));
    // This node reused "not revoked" answers only within the clock second they were read in.
    h.clock.advance(1);
    assert!(!introspect_active(&h, &old.access).await);
    assert_eq!(userinfo_status(&h, &old.access).await, 401);
    assert_eq!(
        refresh_error(&h, &old.refresh).await.as_deref(),
        Some("invalid_grant")
    );
    // The browser session is over.
    assert_eq!(account_csrf(&h, &old.jar).await, None);

    // A new sign-in works and its tokens are accepted.
    let new = code_flow(&h).await;
    assert!(introspect_active(&h, &new.access).await);
    assert_eq!(userinfo_status(&h, &new.access).await, 200);
    assert_eq!(refresh_error(&h, &new.refresh).await, None);
    // Revoking an unknown user reports it.
    assert!(
        admin::revoke_user_tokens(targets(&h), "nobody")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn rt_8_tokens_older_than_the_marker_are_refused_without_their_grant() {
    let h = harness().await;
    let old = code_flow(&h).await;
    h.clock.advance(10);
    // The marker alone (as another node's sign-out would leave it before its grants are
    // revoked) refuses the earlier token; the cache of user records is the only delay, and this
    // test reads the user afresh.
    let mut user = alice(&h).await;
    user.tokens_not_before = Some(h.clock.now().as_secs());
    h.store.put_user(user).await.unwrap();
    h.clock.advance(5);
    assert!(!introspect_active(&h, &old.access).await);
    assert_eq!(userinfo_status(&h, &old.access).await, 401);
    assert_eq!(
        refresh_error(&h, &old.refresh).await.as_deref(),
        Some("invalid_grant")
    );
}

#[tokio::test]
async fn tok_13_disabled_user_cannot_sign_in_refresh_or_use_tokens_until_enabled() {
    let h = harness().await;
    let old = code_flow(&h).await;
    let report = admin::disable_user(targets(&h), "alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.grants, 1);
    assert!(alice(&h).await.disabled);
    h.clock.advance(1);
    assert!(!introspect_active(&h, &old.access).await);
    assert_eq!(userinfo_status(&h, &old.access).await, 401);
    assert_eq!(
        refresh_error(&h, &old.refresh).await.as_deref(),
        Some("invalid_grant")
    );
    assert_eq!(account_csrf(&h, &old.jar).await, None);

    // The right password is told the account is disabled; a wrong one learns nothing more.
    let (location, jar) = sign_in(&h, "alice", PASSWORD).await;
    assert!(location.starts_with("/login?"), "{location}");
    assert_eq!(param(&location, "disabled").as_deref(), Some("1"));
    let page = body_text(send(&h.router, get(&location, &[])).await).await;
    assert!(page.contains("This account is disabled"), "{page}");
    assert_eq!(account_csrf(&h, &jar).await, None);
    let (wrong, _) = sign_in(&h, "alice", "not the password").await;
    assert_eq!(param(&wrong, "disabled"), None);
    assert_eq!(param(&wrong, "failed").as_deref(), Some("1"));

    assert_eq!(
        admin::enable_user(targets(&h), "alice").await.unwrap(),
        Some(true)
    );
    assert_eq!(
        admin::enable_user(targets(&h), "alice").await.unwrap(),
        Some(false)
    );
    // The cache of user records on the token paths holds them up to `user_cache_ttl`.
    h.clock.advance(5);
    let new = code_flow(&h).await;
    assert!(introspect_active(&h, &new.access).await);
    // What was revoked stays revoked.
    assert!(!introspect_active(&h, &old.access).await);
}

#[tokio::test]
async fn tok_13_tokens_of_a_disabled_user_are_refused_even_when_unrecorded() {
    let h = harness().await;
    let old = code_flow(&h).await;
    assert!(introspect_active(&h, &old.refresh).await);
    // The flag alone, as a store edit would leave it: the grant is still live.
    let mut user = alice(&h).await;
    user.disabled = true;
    h.store.put_user(user).await.unwrap();
    h.clock.advance(5);
    assert!(!introspect_active(&h, &old.access).await);
    assert!(!introspect_active(&h, &old.refresh).await);
    assert_eq!(userinfo_status(&h, &old.access).await, 401);
    assert_eq!(
        refresh_error(&h, &old.refresh).await.as_deref(),
        Some("invalid_grant")
    );
    assert_eq!(account_csrf(&h, &old.jar).await, None);
    // The refusal did not use the refresh token up: enabled again, it works.
    let mut user = alice(&h).await;
    user.disabled = false;
    h.store.put_user(user).await.unwrap();
    h.clock.advance(5);
    assert_eq!(refresh_error(&h, &old.refresh).await, None);
}

/// Posts the password change form; returns the response's location and Set-Cookie pairs
/// merged into `jar`.
async fn change_password(
    h: &Harness,
    jar: &mut Vec<(String, String)>,
    current: &str,
    new: &str,
    repeated: &str,
) -> String {
    let csrf = account_csrf(h, jar).await.unwrap();
    let body = format!(
        "csrf={}&current_password={}&new_password={}&new_password_repeat={}",
        enc(&csrf),
        enc(current),
        enc(new),
        enc(repeated)
    );
    let resp = send(
        &h.router,
        form_with(
            "/account/password",
            &body,
            &[("cookie", &cookie_header(jar))],
        ),
    )
    .await;
    assert_eq!(resp.status(), 303);
    update_jar(jar, &resp);
    header_str(&resp, "location").unwrap().to_owned()
}

#[tokio::test]
async fn rt_9_password_change_needs_the_current_password_and_revokes_everything_else() {
    let h = harness().await;
    let old = code_flow(&h).await;
    let (_, mut browser) = sign_in(&h, "alice", PASSWORD).await;
    let hash_before = alice(&h).await.password_hash;

    // A wrong current password is refused and counts as a failed sign-in of the account.
    let location = change_password(
        &h,
        &mut browser,
        "wrong",
        "new password 1",
        "new password 1",
    )
    .await;
    assert_eq!(location, "/account?password=wrong");
    let failures = h
        .store
        .login_failures("user:alice", h.clock.now().as_secs(), 900)
        .await
        .unwrap();
    assert_eq!(failures, 1);
    let location = change_password(
        &h,
        &mut browser,
        PASSWORD,
        "new password 1",
        "new password 2",
    )
    .await;
    assert_eq!(location, "/account?password=mismatch");
    let location = change_password(&h, &mut browser, PASSWORD, "short", "short").await;
    assert_eq!(location, "/account?password=short");
    assert_eq!(alice(&h).await.password_hash, hash_before);
    assert!(introspect_active(&h, &old.access).await);

    let old_browser = browser.clone();
    let location = change_password(
        &h,
        &mut browser,
        PASSWORD,
        "new password 1",
        "new password 1",
    )
    .await;
    assert_eq!(location, "/account?password=changed");
    assert_ne!(alice(&h).await.password_hash, hash_before);
    // Changed on this node: refused in the same second.
    assert!(!introspect_active(&h, &old.access).await);
    assert_eq!(
        refresh_error(&h, &old.refresh).await.as_deref(),
        Some("invalid_grant")
    );
    // The changing browser continues in a fresh session; the old session and others are over.
    assert_ne!(browser, old_browser);
    let page = send(
        &h.router,
        get(&location, &[("cookie", &cookie_header(&browser))]),
    )
    .await;
    assert_eq!(page.status(), 200);
    assert!(body_text(page).await.contains("Your password was changed"));
    assert_eq!(account_csrf(&h, &old_browser).await, None);
    assert_eq!(account_csrf(&h, &old.jar).await, None);

    // Only the new password signs in.
    let (location, _) = sign_in(&h, "alice", PASSWORD).await;
    assert!(location.starts_with("/login?"), "{location}");
    let (location, jar) = sign_in(&h, "alice", "new password 1").await;
    assert_eq!(location, "/account");
    assert!(account_csrf(&h, &jar).await.is_some());
}

#[tokio::test]
async fn dos_4_password_change_is_throttled_like_sign_in() {
    let h = harness().await;
    let (_, mut browser) = sign_in(&h, "alice", PASSWORD).await;
    let limit = h.server.config().login_throttle.max_failures;
    for _ in 0..limit {
        let location = change_password(
            &h,
            &mut browser,
            "wrong",
            "new password 1",
            "new password 1",
        )
        .await;
        assert_eq!(location, "/account?password=wrong");
    }
    // Locked: even the right current password is not checked.
    let location = change_password(
        &h,
        &mut browser,
        PASSWORD,
        "new password 1",
        "new password 1",
    )
    .await;
    assert!(
        location.starts_with("/account?password=throttled&wait="),
        "{location}"
    );
    let page = send(
        &h.router,
        get(&location, &[("cookie", &cookie_header(&browser))]),
    )
    .await;
    assert!(body_text(page).await.contains("Too many failed attempts"));
}

#[tokio::test]
async fn rt_8_sign_out_everywhere_button_ends_this_and_every_other_sign_in() {
    let h = harness().await;
    let old = code_flow(&h).await;
    let (_, browser) = sign_in(&h, "alice", PASSWORD).await;
    let csrf = account_csrf(&h, &browser).await.unwrap();
    // Without the CSRF token nothing happens.
    let resp = send(
        &h.router,
        form_with(
            "/account/sign-out-everywhere",
            "csrf=forged",
            &[("cookie", &cookie_header(&browser))],
        ),
    )
    .await;
    assert_ne!(resp.status(), 303);
    assert!(introspect_active(&h, &old.access).await);

    let resp = send(
        &h.router,
        form_with(
            "/account/sign-out-everywhere",
            &format!("csrf={}", enc(&csrf)),
            &[("cookie", &cookie_header(&browser))],
        ),
    )
    .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(header_str(&resp, "location"), Some("/logout/done"));
    let mut after = browser.clone();
    update_jar(&mut after, &resp);
    assert!(after.len() < browser.len(), "the session cookie is removed");
    // Same second, same node: refused at once.
    assert!(!introspect_active(&h, &old.access).await);
    assert_eq!(userinfo_status(&h, &old.access).await, 401);
    assert_eq!(
        refresh_error(&h, &old.refresh).await.as_deref(),
        Some("invalid_grant")
    );
    assert_eq!(account_csrf(&h, &browser).await, None);
    assert_eq!(account_csrf(&h, &old.jar).await, None);
    assert_eq!(alice(&h).await.tokens_not_before, Some(START));
    // Signing in again works at once.
    let new = code_flow(&h).await;
    assert!(introspect_active(&h, &new.access).await);
}

#[tokio::test]
async fn admin_set_password_enforces_the_policy_and_signs_out() {
    let h = harness().await;
    let old = code_flow(&h).await;
    let short = admin::set_user_password(targets(&h), "alice", Password::new("short")).await;
    assert!(short.is_err());
    let report = admin::set_user_password(targets(&h), "alice", Password::new("a new password"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.grants, 1);
    h.clock.advance(1);
    assert!(!introspect_active(&h, &old.access).await);
    let (location, _) = sign_in(&h, "alice", "a new password").await;
    assert_eq!(location, "/account");
}

async fn register(h: &Harness, client: portcullis_server::config::ClientConfig) {
    admin::add_client(
        h.store.as_ref(),
        h.clock.as_ref(),
        h.server.config(),
        client,
    )
    .await
    .unwrap();
}

/// Marks alice disabled in the store only (no revocation), so what refuses her tokens is the
/// check of the user record, not their grant.
async fn flag_disabled(h: &Harness) {
    let mut user = alice(h).await;
    user.disabled = true;
    h.store.put_user(user).await.unwrap();
    // Past the cache of user records on the token paths.
    h.clock.advance(5);
}

#[tokio::test]
async fn tok_13_device_code_approved_before_disabling_is_refused() {
    let h = harness().await;
    register(
        &h,
        portcullis_server::config::ClientConfig {
            client_id: "tv".into(),
            grant_types: vec![portcullis_types::GrantType::DeviceCode],
            scope: Some("openid".into()),
            ..Default::default()
        },
    )
    .await;
    let resp = send(
        &h.router,
        form("/device_authorization", "client_id=tv&scope=openid"),
    )
    .await;
    let json = body_json(resp).await;
    let device_code = json["device_code"].as_str().unwrap().to_owned();
    let user_code = json["user_code"].as_str().unwrap().to_owned();
    // Alice approves on the device page while still enabled.
    let (_, jar) = sign_in(&h, "alice", PASSWORD).await;
    let page = format!("/device?user_code={}", enc(&user_code));
    let resp = send(&h.router, get(&page, &[("cookie", &cookie_header(&jar))])).await;
    let csrf = hidden(&body_text(resp).await, "csrf");
    let body = format!(
        "csrf={}&user_code={}&decision=allow",
        enc(&csrf),
        enc(&user_code)
    );
    let resp = send(
        &h.router,
        form_with("/device", &body, &[("cookie", &cookie_header(&jar))]),
    )
    .await;
    assert_eq!(
        header_str(&resp, "location"),
        Some("/device?result=approved&client_id=tv")
    );
    flag_disabled(&h).await;
    let poll = format!(
        "grant_type={}&device_code={}&client_id=tv",
        enc("urn:ietf:params:oauth:grant-type:device_code"),
        enc(&device_code)
    );
    let resp = send(&h.router, form("/token", &poll)).await;
    assert_eq!(resp.status(), 400);
    let json = body_json(resp).await;
    assert_eq!(json["error"], "invalid_grant");
    assert_eq!(json["error_description"], "the account is disabled");
}

#[tokio::test]
async fn tok_13_password_grant_refuses_a_disabled_user_with_the_right_password() {
    let h = harness().await;
    register(
        &h,
        portcullis_server::config::ClientConfig {
            client_id: "legacy".into(),
            secret: Some(portcullis_types::ClientSecret::new(
                "legacy-secret-0123456789",
            )),
            grant_types: vec![portcullis_types::GrantType::Password],
            scope: Some("openid".into()),
            ..Default::default()
        },
    )
    .await;
    flag_disabled(&h).await;
    let auth = basic("legacy", "legacy-secret-0123456789");
    let attempt = |password: &str| {
        form_with(
            "/token",
            &format!(
                "grant_type=password&username=alice&password={}",
                enc(password)
            ),
            &[("authorization", &auth)],
        )
    };
    let json = body_json(send(&h.router, attempt(PASSWORD)).await).await;
    assert_eq!(json["error"], "invalid_grant");
    assert_eq!(json["error_description"], "the account is disabled");
    // A wrong password learns nothing about the account.
    let json = body_json(send(&h.router, attempt("wrong password")).await).await;
    assert_eq!(json["error"], "invalid_grant");
    assert_eq!(json["error_description"], "invalid credentials");
}

#[tokio::test]
async fn tok_13_token_exchange_refuses_subject_tokens_of_a_disabled_or_signed_out_user() {
    let h = harness().await;
    // The web client may also exchange its users' tokens for the payments API.
    let mut web = h.store.get_client("web").await.unwrap().unwrap();
    web.grant_types
        .push(portcullis_types::GrantType::TokenExchange);
    web.exchange_audiences = vec!["payments-api".into()];
    web.exchange_impersonation = true;
    h.store.put_client(web).await.unwrap();
    let exchange = |subject: &str| {
        form_with(
            "/token",
            &format!(
                "grant_type={}&subject_token={}&subject_token_type={}&audience=payments-api",
                enc("urn:ietf:params:oauth:grant-type:token-exchange"),
                enc(subject),
                enc("urn:ietf:params:oauth:token-type:access_token")
            ),
            &[("authorization", &basic("web", WEB_SECRET))],
        )
    };
    let old = code_flow(&h).await;
    assert_eq!(send(&h.router, exchange(&old.access)).await.status(), 200);

    // Earlier than the user's "not before": refused, though its grant is live.
    h.clock.advance(1);
    let mut user = alice(&h).await;
    user.tokens_not_before = Some(h.clock.now().as_secs());
    h.store.put_user(user).await.unwrap();
    // Past the cache of user records on the token paths.
    h.clock.advance(5);
    let resp = send(&h.router, exchange(&old.access)).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(body_json(resp).await["error"], "invalid_request");

    // A fresh token works until the account is disabled.
    let new = code_flow(&h).await;
    assert_eq!(send(&h.router, exchange(&new.access)).await.status(), 200);
    flag_disabled(&h).await;
    let resp = send(&h.router, exchange(&new.access)).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(body_json(resp).await["error"], "invalid_request");
}
