//! RP-initiated logout (RED-9): exact `post_logout_redirect_uri` matching, a valid
//! `id_token_hint` required before redirecting, and the session really ends.

use crate::common::*;
use portcullis_testkit::{Browser, Consent, Outcome, Page, Tokens, query_param};
use url::Url;

/// Calls the end-session endpoint in `browser` and confirms a confirmation page if one is
/// shown; returns the last page (a redirect or an HTML page).
pub(crate) async fn logout(env: &Env, browser: &Browser, params: &[(&str, &str)]) -> Page {
    let mut url = env.server.endpoints().end_session.clone();
    url.query_pairs_mut().extend_pairs(params.iter());
    let page = browser.get(&url).await.unwrap();
    if page.status != 200 {
        return page;
    }
    let forms = page.forms();
    let Some(form) = forms.iter().find(|f| f.method == "post") else {
        return page;
    };
    let button = form
        .button_matching(&["logout", "log out", "sign out", "signout", "yes", "confirm"])
        .or_else(|| form.buttons.first().cloned());
    browser.submit(&page, form, button).await.unwrap()
}

fn redirected_to(page: &Page) -> Option<Url> {
    page.status
        .is_redirection()
        .then(|| page.location())
        .flatten()
}

pub(crate) async fn signed_in(env: &Env) -> (Browser, String) {
    let browser = env.server.browser().unwrap();
    let request = env.web_request("openid");
    let response = env
        .server
        .authorize(&browser, &request, Some((ALICE, ALICE_PASSWORD)))
        .await
        .unwrap();
    let reply = env
        .server
        .redeem(&env.web_auth(), &response.code, &request)
        .await
        .unwrap();
    (browser, reply.str("id_token").unwrap().to_owned())
}

/// Whether `prompt=none` in `browser` is answered with `login_required`.
pub(crate) async fn session_is_gone(env: &Env, browser: &Browser) -> bool {
    let request = env.web_request("openid").param("prompt", "none");
    let outcome = env
        .server
        .authorize_outcome(browser, &request, None, Consent::Approve)
        .await
        .unwrap();
    match outcome {
        Outcome::Redirect(url) => query_param(&url, "error").as_deref() == Some("login_required"),
        Outcome::Page(_) => false,
    }
}

#[tokio::test]
async fn red_9_valid_hint_and_registered_uri_redirects_with_state() {
    let env = Env::start().await;
    let (browser, id_token) = signed_in(&env).await;
    let page = logout(
        &env,
        &browser,
        &[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", WEB_LOGOUT_CB),
            ("state", "bye-123"),
        ],
    )
    .await;
    let target = redirected_to(&page).expect("redirect to the registered post-logout URI");
    assert!(target.as_str().starts_with(WEB_LOGOUT_CB), "{target}");
    assert_eq!(query_param(&target, "state").as_deref(), Some("bye-123"));
    assert!(
        session_is_gone(&env, &browser).await,
        "the session survived logout"
    );
}

#[tokio::test]
async fn red_9_unregistered_or_modified_uri_does_not_redirect() {
    let env = Env::start().await;
    let (browser, id_token) = signed_in(&env).await;
    for bad in [
        "https://evil.example/logged-out",
        "https://web.example/logged-out/",
        "https://web.example/logged-out?x=1",
        WEB_CB,
    ] {
        let page = logout(
            &env,
            &browser,
            &[
                ("id_token_hint", &id_token),
                ("post_logout_redirect_uri", bad),
            ],
        )
        .await;
        if let Some(target) = redirected_to(&page) {
            assert_eq!(
                target.origin(),
                env.server.base_url().origin(),
                "{bad}: redirected off-site to {target}"
            );
        }
    }
}

#[tokio::test]
async fn red_9_no_or_bad_hint_does_not_redirect_to_the_client() {
    let env = Env::start().await;
    let (browser, id_token) = signed_in(&env).await;
    // alg:none copy of the hint's claims.
    let claims = id_token.split('.').nth(1).unwrap();
    let forged = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{claims}.");
    // Signature bytes altered.
    let mut tampered = id_token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for (what, hint) in [
        ("no hint", None),
        ("alg none", Some(forged)),
        ("tampered", Some(tampered)),
        ("garbage", Some("abc".to_owned())),
    ] {
        let mut params = vec![("post_logout_redirect_uri", WEB_LOGOUT_CB)];
        if let Some(h) = hint.as_deref() {
            params.push(("id_token_hint", h));
        }
        let page = logout(&env, &browser, &params).await;
        if let Some(target) = redirected_to(&page) {
            assert!(
                !target.as_str().starts_with(WEB_LOGOUT_CB),
                "{what}: redirected to the client without a valid hint"
            );
        }
    }
}

#[tokio::test]
async fn red_9_hint_of_another_client_does_not_unlock_its_uri() {
    let env = Env::start().await;
    let browser = env.server.browser().unwrap();
    let request = portcullis_testkit::CodeRequest::new(OTHER, OTHER_CB, "openid");
    let response = env
        .server
        .authorize(&browser, &request, Some((ALICE, ALICE_PASSWORD)))
        .await
        .unwrap();
    let reply = env
        .server
        .redeem(&env.other_auth(), &response.code, &request)
        .await
        .unwrap();
    let other_hint = reply.str("id_token").unwrap().to_owned();
    let page = logout(
        &env,
        &browser,
        &[
            ("id_token_hint", &other_hint),
            ("post_logout_redirect_uri", WEB_LOGOUT_CB),
        ],
    )
    .await;
    if let Some(target) = redirected_to(&page) {
        assert!(!target.as_str().starts_with(WEB_LOGOUT_CB), "{target}");
    }
}

#[tokio::test]
async fn logout_without_redirect_ends_the_session() {
    let env = Env::start().await;
    let (browser, id_token) = signed_in(&env).await;
    let page = logout(&env, &browser, &[("id_token_hint", &id_token)]).await;
    assert!(page.status.as_u16() < 500, "{}", page.status);
    assert!(session_is_gone(&env, &browser).await);
}

#[tokio::test]
async fn rt_9_logout_revokes_the_sessions_grants_except_offline_access() {
    let env = Env::start().await;
    let browser = env.server.browser().unwrap();
    let mut tokens = Vec::new();
    for (scope, login) in [
        ("openid orders:read", Some((ALICE, ALICE_PASSWORD))),
        ("openid offline_access orders:read", None),
    ] {
        let request = env.web_request(scope);
        let code = env
            .server
            .authorize(&browser, &request, login)
            .await
            .unwrap()
            .code;
        let reply = env
            .server
            .redeem(&env.web_auth(), &code, &request)
            .await
            .unwrap();
        tokens.push(Tokens::from_reply(reply).unwrap());
    }
    let [online, offline] = &tokens[..] else {
        unreachable!()
    };
    let page = logout(
        &env,
        &browser,
        &[("id_token_hint", online.id_token.as_deref().unwrap())],
    )
    .await;
    assert!(page.status.as_u16() < 500, "{}", page.status);
    assert!(session_is_gone(&env, &browser).await);

    // The session's own grant ends with it: refresh token and access token.
    let reply = env
        .server
        .refresh(
            &env.web_auth(),
            online.refresh_token.as_deref().unwrap(),
            None,
        )
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
    assert!(!env.is_active(&online.access_token).await);
    // offline_access outlives the session (OIDC Core §11).
    assert!(env.is_active(&offline.access_token).await);
    let reply = env
        .server
        .refresh(
            &env.web_auth(),
            offline.refresh_token.as_deref().unwrap(),
            None,
        )
        .await
        .unwrap();
    assert_token_ok(&reply);
}
