//! The browser-facing pages (checklist UI-*, RED-14, RT-8): security headers, CSRF, cookie
//! attributes and rotation, 303 after POST, consent and its withdrawal on the account page.

use crate::common::*;
use portcullis_testkit::{Browser, Consent, Form, Outcome, Page, TestServer, query_param};

/// Follows redirects that stay on the server; stops at the first page or off-site redirect.
pub(crate) async fn follow(server: &TestServer, browser: &Browser, mut page: Page) -> Page {
    for _ in 0..8 {
        if !page.status.is_redirection() {
            return page;
        }
        let next = page.location().expect("Location");
        if next.origin() != server.base_url().origin() {
            return page;
        }
        page = browser.get(&next).await.unwrap();
    }
    page
}

async fn login_page(
    env: &Env,
    browser: &Browser,
    request: &portcullis_testkit::CodeRequest,
) -> Page {
    let first = browser.get(&request.url(&env.server)).await.unwrap();
    let page = follow(&env.server, browser, first).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.login_form().is_some(), "no login form: {}", page.body);
    page
}

fn filled_login(page: &Page, user: &str, password: &str) -> Form {
    let mut form = page.login_form().unwrap();
    let u = form.username_field().unwrap().to_owned();
    let p = form.password_field().unwrap().to_owned();
    form.set(&u, user);
    form.set(&p, password);
    form
}

fn consent_form(page: &Page) -> (Form, Option<(String, String)>) {
    page.forms()
        .into_iter()
        .find_map(|f| {
            f.button_matching(&["allow", "approve", "accept", "grant", "yes", "authorize"])
                .map(|b| (f.clone(), Some(b)))
        })
        .or_else(|| {
            page.forms()
                .into_iter()
                .find(|f| f.method == "post")
                .map(|f| (f, None))
        })
        .expect("consent form")
}

#[track_caller]
pub(crate) fn assert_page_headers(page: &Page, what: &str) {
    let xfo = page.header("x-frame-options").unwrap_or_default();
    assert!(
        xfo.eq_ignore_ascii_case("deny"),
        "{what}: X-Frame-Options {xfo:?}"
    );
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("frame-ancestors 'none'"),
        "{what}: CSP {csp:?}"
    );
    assert!(
        !csp.contains("http:") && !csp.contains("https:"),
        "{what}: third-party sources in CSP {csp:?}"
    );
    assert_eq!(
        page.header("referrer-policy"),
        Some("no-referrer"),
        "{what}"
    );
    assert!(
        page.header("content-type")
            .unwrap_or_default()
            .starts_with("text/html"),
        "{what}: content type"
    );
    // No third-party resources.
    for marker in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
        assert!(
            !page.body.contains(marker),
            "{what}: external resource {marker}"
        );
    }
}

fn set_cookies(page: &Page) -> Vec<String> {
    page.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn ui_1_ui_2_security_headers_on_every_page() {
    let env = Env::start().await;
    let browser = env.server.browser().unwrap();
    let request = env.web_request(OIDC_SCOPE);
    let login = login_page(&env, &browser, &request).await;
    assert_page_headers(&login, "login page");
    let after = browser
        .submit(&login, &filled_login(&login, ALICE, ALICE_PASSWORD), None)
        .await
        .unwrap();
    let consent = follow(&env.server, &browser, after).await;
    assert_eq!(consent.status, 200, "expected the consent page");
    assert_page_headers(&consent, "consent page");
    // Error page (unknown client).
    let mut bad = env.server.endpoints().authorization.clone();
    bad.query_pairs_mut()
        .append_pair("client_id", "nobody")
        .append_pair("response_type", "code");
    let error = browser.get(&bad).await.unwrap();
    assert_eq!(error.status, 400);
    assert_page_headers(&error, "error page");
}

#[tokio::test]
async fn red_14_login_and_consent_posts_answer_303() {
    let env = Env::start().await;
    let browser = env.server.browser().unwrap();
    let request = env.web_request(OIDC_SCOPE);
    let login = login_page(&env, &browser, &request).await;
    let form = filled_login(&login, ALICE, ALICE_PASSWORD);
    let button = form.buttons.first().cloned();
    let after_login = browser.submit(&login, &form, button).await.unwrap();
    assert_eq!(
        after_login.status, 303,
        "login POST answered {}",
        after_login.status
    );
    let consent = follow(&env.server, &browser, after_login).await;
    let (form, button) = consent_form(&consent);
    let after_consent = browser.submit(&consent, &form, button).await.unwrap();
    assert_eq!(
        after_consent.status, 303,
        "consent POST answered {}",
        after_consent.status
    );
    let last = follow(&env.server, &browser, after_consent).await;
    let location = last.location().unwrap();
    assert!(location.as_str().starts_with(WEB_CB));
    assert!(query_param(&location, "code").is_some());
}

#[tokio::test]
async fn ui_3_login_without_csrf_token_is_refused() {
    let env = Env::start().await;
    let browser = env.server.browser().unwrap();
    let request = env.web_request("openid");
    let login = login_page(&env, &browser, &request).await;
    let mut form = filled_login(&login, ALICE, ALICE_PASSWORD);
    let hidden: Vec<String> = form
        .fields
        .iter()
        .zip(&form.field_types)
        .filter(|(_, t)| *t == "hidden")
        .map(|((n, _), _)| n.clone())
        .collect();
    assert!(
        !hidden.is_empty(),
        "the login form has no hidden CSRF field"
    );
    // Tamper with every hidden field that looks like a CSRF token.
    for name in hidden
        .iter()
        .filter(|n| n.to_ascii_lowercase().contains("csrf"))
    {
        form.set(name, "forged-csrf-value");
    }
    let reply = browser.submit(&login, &form, None).await.unwrap();
    assert!(
        reply.status.is_client_error() || (reply.status == 200 && reply.login_form().is_some()),
        "forged CSRF token accepted: {}",
        reply.status
    );
    if let Some(location) = reply.location() {
        assert!(!location.as_str().starts_with(WEB_CB), "a code was issued");
    }
}

#[tokio::test]
async fn ui_3_consent_cannot_be_submitted_from_another_browser() {
    let env = Env::start().await;
    let victim = env.server.browser().unwrap();
    let request = env.web_request("openid");
    let login = login_page(&env, &victim, &request).await;
    let after = victim
        .submit(&login, &filled_login(&login, ALICE, ALICE_PASSWORD), None)
        .await
        .unwrap();
    let consent = follow(&env.server, &victim, after).await;
    let (form, button) = consent_form(&consent);
    // The attacker replays the victim's consent form from their own cookie jar.
    let attacker = env.server.browser().unwrap();
    let replay = attacker
        .submit(&consent, &form, button.clone())
        .await
        .unwrap();
    if let Some(location) = replay.location() {
        assert!(
            !(location.as_str().starts_with(WEB_CB) && query_param(&location, "code").is_some()),
            "consent replayed from another browser issued a code"
        );
    }
    // The victim can still finish.
    let ok = victim.submit(&consent, &form, button).await.unwrap();
    let last = follow(&env.server, &victim, ok).await;
    assert!(query_param(&last.location().unwrap(), "code").is_some());
}

#[tokio::test]
async fn ui_4_session_cookie_attributes_and_rotation_on_login() {
    let env = Env::start().await;
    let browser = env.server.browser().unwrap();
    let request = env.web_request("openid");
    let first = browser.get(&request.url(&env.server)).await.unwrap();
    let before: Vec<String> = set_cookies(&first);
    let login = follow(&env.server, &browser, first).await;
    let mut pre_login_cookies = before;
    pre_login_cookies.extend(set_cookies(&login));
    let after = browser
        .submit(&login, &filled_login(&login, ALICE, ALICE_PASSWORD), None)
        .await
        .unwrap();
    let issued = set_cookies(&after);
    assert!(!issued.is_empty(), "login set no cookie");
    for cookie in &issued {
        let lower = cookie.to_ascii_lowercase();
        if lower.contains("max-age=0") || lower.contains("=;") {
            continue; // a deletion
        }
        assert!(
            lower.contains("httponly"),
            "cookie without HttpOnly: {cookie}"
        );
        assert!(
            lower.contains("samesite=lax") || lower.contains("samesite=strict"),
            "cookie without SameSite: {cookie}"
        );
        assert!(lower.contains("path=/"), "cookie without Path=/: {cookie}");
        // An http issuer cannot set Secure cookies; an https issuer must (checked in unit tests).
    }
    // Session fixation: no cookie value set before login is still the session after it.
    let value = |c: &String| c.split(';').next().unwrap_or_default().to_owned();
    for new in &issued {
        assert!(
            !pre_login_cookies.iter().any(|old| value(old) == value(new)),
            "cookie value kept across login: {new}"
        );
    }
}

#[tokio::test]
async fn ui_5_consent_page_names_client_and_scopes_and_deny_redirects() {
    let env = Env::start().await;
    let browser = env.server.browser().unwrap();
    let request = env.web_request(OIDC_SCOPE);
    let login = login_page(&env, &browser, &request).await;
    let after = browser
        .submit(&login, &filled_login(&login, ALICE, ALICE_PASSWORD), None)
        .await
        .unwrap();
    let consent = follow(&env.server, &browser, after).await;
    assert!(
        consent.body.contains(WEB),
        "consent page does not name the client"
    );
    let lower = consent.body.to_ascii_lowercase();
    assert!(
        lower.contains("email"),
        "consent page does not describe the email scope"
    );
    assert!(
        lower.contains("profile") || lower.contains("name"),
        "consent page misses profile"
    );
    // Deny.
    let mut page = consent.clone();
    let outcome = browser
        .walk_from(&mut page, None, Consent::Deny)
        .await
        .unwrap();
    let Outcome::Redirect(location) = outcome else {
        panic!("deny did not redirect: {outcome:?}");
    };
    assert!(location.as_str().starts_with(WEB_CB));
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(query_param(&location, "state"), request.state);
    assert_eq!(
        query_param(&location, "iss").as_deref(),
        Some(env.server.issuer())
    );
}

#[tokio::test]
async fn wrong_password_shows_the_login_page_again() {
    let env = Env::start().await;
    let browser = env.server.browser().unwrap();
    let request = env.web_request("openid");
    let login = login_page(&env, &browser, &request).await;
    let reply = browser
        .submit(
            &login,
            &filled_login(&login, ALICE, "not my password"),
            None,
        )
        .await
        .unwrap();
    let page = follow(&env.server, &browser, reply).await;
    assert!(page.status == 200 || page.status == 401, "{}", page.status);
    assert!(
        page.login_form().is_some(),
        "no login form after a failed login"
    );
    assert!(!page.body.contains("not my password"));
    // Unknown user: same answer.
    let login = login_page(&env, &browser, &request).await;
    let reply = browser
        .submit(&login, &filled_login(&login, "mallory", "whatever"), None)
        .await
        .unwrap();
    let unknown = follow(&env.server, &browser, reply).await;
    assert_eq!(unknown.status, page.status);
}

#[tokio::test]
async fn consent_is_remembered_for_the_same_scopes() {
    let env = Env::start().await;
    let browser = env.server.browser().unwrap();
    env.server
        .authorize(
            &browser,
            &env.web_request("openid email"),
            Some((ALICE, ALICE_PASSWORD)),
        )
        .await
        .unwrap();
    // Same scopes: straight back to the client, no page.
    let request = env.web_request("openid email");
    let page = follow(
        &env.server,
        &browser,
        browser.get(&request.url(&env.server)).await.unwrap(),
    )
    .await;
    let location = page.location().expect("no interaction needed");
    assert!(query_param(&location, "code").is_some());
    // More scopes: consent again.
    let request = env.web_request("openid email profile");
    let page = follow(
        &env.server,
        &browser,
        browser.get(&request.url(&env.server)).await.unwrap(),
    )
    .await;
    assert_eq!(page.status, 200, "new scopes need consent");
}

#[tokio::test]
async fn rt_8_account_page_lists_grants_and_withdrawal_revokes_refresh_tokens() {
    let env = Env::start().await;
    let browser = env.server.browser().unwrap();
    let request = env.web_request("openid offline_access");
    let response = env
        .server
        .authorize(&browser, &request, Some((ALICE, ALICE_PASSWORD)))
        .await
        .unwrap();
    let tokens = env
        .server
        .redeem(&env.web_auth(), &response.code, &request)
        .await
        .unwrap();
    let refresh = tokens.str("refresh_token").unwrap().to_owned();
    let access = tokens.str("access_token").unwrap().to_owned();

    let account = browser
        .get(&env.server.url("/account").unwrap())
        .await
        .unwrap();
    let account = follow(&env.server, &browser, account).await;
    assert_eq!(account.status, 200, "account page: {}", account.body);
    assert_page_headers(&account, "account page");
    assert!(
        account.body.contains(WEB),
        "the account page does not list the app"
    );
    let form = account
        .forms()
        .into_iter()
        .find(|f| {
            f.method == "post" && (f.fields.iter().any(|(_, v)| v == WEB) || f.action.contains(WEB))
        })
        .expect("a withdraw form for the app");
    let button = form.buttons.first().cloned();
    let after = browser.submit(&account, &form, button).await.unwrap();
    assert_eq!(after.status, 303, "withdraw POST answered {}", after.status);

    let reply = env
        .server
        .refresh(&env.web_auth(), &refresh, None)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
    assert!(
        !env.is_active(&access).await,
        "access token survived withdrawal"
    );
    // The app needs consent again.
    let request = env
        .web_request("openid offline_access")
        .param("prompt", "none");
    let outcome = env
        .server
        .authorize_outcome(&browser, &request, None, Consent::Approve)
        .await
        .unwrap();
    let Outcome::Redirect(location) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("consent_required")
    );
}

#[tokio::test]
async fn account_page_requires_a_session() {
    let env = Env::start().await;
    let browser = env.server.browser().unwrap();
    let page = browser
        .get(&env.server.url("/account").unwrap())
        .await
        .unwrap();
    let page = follow(&env.server, &browser, page).await;
    assert!(
        page.login_form().is_some() || page.status == 401,
        "{}",
        page.status
    );
    assert!(!page.body.contains(WEB));
}

#[tokio::test]
async fn ui_4_https_issuer_cookies_are_secure_and_host_prefixed() {
    let server = TestServer::builder()
        .issuer("https://id.example")
        .start()
        .await
        .unwrap();
    server
        .add_client(
            portcullis_testkit::ClientSpec::confidential(WEB, WEB_SECRET)
                .redirect_uri(WEB_CB)
                .scope("openid"),
        )
        .await
        .unwrap();
    // The server is reached over plain HTTP here; only the Set-Cookie headers matter.
    let request = portcullis_testkit::CodeRequest::new(WEB, WEB_CB, "openid");
    let mut url = server.url("/authorize").unwrap();
    url.query_pairs_mut().extend_pairs(request.params());
    let browser = server.browser().unwrap();
    let mut page = browser.get(&url).await.unwrap();
    let mut cookies = set_cookies(&page);
    for _ in 0..4 {
        if !page.status.is_redirection() {
            break;
        }
        let next = page.location().unwrap();
        let local = server
            .url(&format!("{}?{}", next.path(), next.query().unwrap_or("")))
            .unwrap();
        page = browser.get(&local).await.unwrap();
        cookies.extend(set_cookies(&page));
    }
    assert!(!cookies.is_empty(), "no cookie set before login");
    for cookie in &cookies {
        let lower = cookie.to_ascii_lowercase();
        assert!(
            cookie.starts_with("__Host-"),
            "cookie without __Host- prefix: {cookie}"
        );
        assert!(
            lower.contains("; secure"),
            "cookie without Secure: {cookie}"
        );
        assert!(
            lower.contains("httponly"),
            "cookie without HttpOnly: {cookie}"
        );
        assert!(
            lower.contains("path=/"),
            "__Host- cookie needs Path=/: {cookie}"
        );
        assert!(
            !lower.contains("domain="),
            "__Host- cookie must not name a domain: {cookie}"
        );
    }
}
