//! Self-service accounts against a real SMTP server (aiosmtpd, see `smtp.rs`): sign-up, the
//! verification link and `email_verified` in tokens, the password reset by mail (single use,
//! expiry on the server's clock, no account enumeration), the password policy on every form,
//! account deletion, and registration being off unless a deployment turns it on. The pages
//! carry the security headers and refuse forms without their CSRF token (UI-1, UI-3) and
//! answer every POST with 303 (RED-14).

use crate::browser::{assert_page_headers, follow};
use crate::common::*;
use crate::smtp::{Mail, SmtpSink};
use portcullis_testkit::{Browser, Page, TestServer, Tokens};

const DORA: &str = "dora";
const DORA_EMAIL: &str = "dora@example.com";
const DORA_PASSWORD: &str = "a quiet orchard in winter";

/// The standard fixture with sign-up on (or off) and mail through `sink`.
async fn env_with_mail(sink: &SmtpSink, registration: bool) -> Env {
    let smtp = sink.settings();
    Env::start_with(TestServer::builder().configure(move |s| {
        s.self_service.registration = registration;
        s.self_service.smtp = Some(smtp);
    }))
    .await
}

fn url(env: &Env, path: &str) -> url::Url {
    env.server.url(path).unwrap()
}

/// The one form on `page` that posts to `action`, with `fields` set.
async fn post(browser: &Browser, page: &Page, action: &str, fields: &[(&str, &str)]) -> Page {
    let mut form = page
        .forms()
        .into_iter()
        .find(|f| f.action == action)
        .unwrap_or_else(|| panic!("no form posting to {action}: {}", page.body));
    for (name, value) in fields {
        form.set(name, value);
    }
    let posted = browser.submit(page, &form, None).await.unwrap();
    assert_eq!(posted.status, 303, "POST {action}: {}", posted.body);
    // The redirect carries the page security headers too (UI-1, UI-2).
    assert_eq!(posted.header("x-frame-options"), Some("DENY"), "{action}");
    assert_eq!(
        posted.header("referrer-policy"),
        Some("no-referrer"),
        "{action}"
    );
    assert_eq!(posted.header("cache-control"), Some("no-store"), "{action}");
    posted
}

/// Fills and sends the sign-up form in `browser`; returns the 303.
async fn sign_up(
    env: &Env,
    browser: &Browser,
    username: &str,
    email: &str,
    password: &str,
) -> Page {
    let page = browser.get(&url(env, "/register")).await.unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    post(
        browser,
        &page,
        "/register",
        &[
            ("username", username),
            ("email", email),
            ("password", password),
            ("password_repeat", password),
        ],
    )
    .await
}

/// Signs in on the bare login page (no pending request); returns the 303.
async fn sign_in_form(env: &Env, browser: &Browser, username: &str, password: &str) -> Page {
    let page = browser.get(&url(env, "/login")).await.unwrap();
    post(
        browser,
        &page,
        "/login",
        &[("username", username), ("password", password)],
    )
    .await
}

/// The whole code flow in a fresh browser; `None` when the sign-in does not get through.
async fn code_flow(env: &Env, username: &str, password: &str) -> Option<Tokens> {
    env.server
        .code_flow(
            &env.web_auth(),
            &env.web_request("openid email offline_access"),
            (username, password),
        )
        .await
        .ok()
}

/// Whether the store has a user named `username`.
async fn has_user(env: &Env, username: &str) -> bool {
    env.server
        .store()
        .get_user_by_username(username)
        .await
        .unwrap()
        .is_some()
}

/// The status of refreshing `tokens` now.
async fn refresh_status(env: &Env, tokens: &Tokens) -> u16 {
    let reply = env
        .server
        .refresh(
            &env.web_auth(),
            tokens.refresh_token.as_deref().unwrap(),
            None,
        )
        .await
        .unwrap();
    reply.status.as_u16()
}

fn location(page: &Page) -> String {
    let loc = page.location().unwrap();
    match loc.query() {
        Some(q) => format!("{}?{q}", loc.path()),
        None => loc.path().to_owned(),
    }
}

async fn reset_link(env: &Env, browser: &Browser, email: &str) -> Page {
    let page = browser.get(&url(env, "/password/forgot")).await.unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    assert_page_headers(&page, "forgot password");
    post(browser, &page, "/password/forgot", &[("email", email)]).await
}

fn link_of(env: &Env, mail: &Mail, path: &str) -> url::Url {
    mail.link(url(env, path).as_str())
}

#[tokio::test]
async fn registration_is_off_by_default() {
    let env = Env::start().await;
    let browser = env.server.browser().unwrap();
    for path in [
        "/register",
        "/register/verify",
        "/password/forgot",
        "/password/reset",
    ] {
        let page = browser.get(&url(&env, path)).await.unwrap();
        assert_eq!(page.status, 404, "GET {path}");
        let posted = browser.post_form(&url(&env, path), &[]).await.unwrap();
        assert_eq!(posted.status, 404, "POST {path}");
    }
    let login = browser.get(&url(&env, "/login")).await.unwrap();
    assert!(!login.body.contains("/register"), "{}", login.body);
    assert!(!login.body.contains("/password/forgot"), "{}", login.body);
}

/// The mail is written in the language of the page that caused it: a sign-up in Korean gets its
/// verification link in Korean, a reset asked for in Traditional Chinese comes in Traditional
/// Chinese, and both links still work.
#[tokio::test]
async fn mail_is_written_in_the_language_of_the_page_that_asked() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let env = env_with_mail(&sink, true).await;
    let browser = env.server.browser().unwrap();
    let page = browser
        .get(&url(&env, "/register?ui_locales=ko"))
        .await
        .unwrap();
    assert!(page.body.contains("lang=\"ko\""), "{}", page.body);
    let done = post(
        &browser,
        &page,
        "/register",
        &[
            ("username", DORA),
            ("email", DORA_EMAIL),
            ("password", DORA_PASSWORD),
            ("password_repeat", DORA_PASSWORD),
            ("ui_locales", "ko"),
        ],
    )
    .await;
    assert_eq!(location(&done), "/login?notice=check-mail");
    let mails = sink.wait_for(1).await;
    let verify = &mails[0];
    assert_eq!(verify.subject, "이메일 주소를 확인하세요", "{verify:?}");
    assert!(
        verify.body.starts_with("dora님, 안녕하세요."),
        "{}",
        verify.body
    );
    assert!(verify.body.contains("24시간 안에"), "{}", verify.body);
    let link = link_of(&env, verify, "/register/verify?token=");

    let page = browser
        .get(&url(&env, "/password/forgot?ui_locales=zh-TW"))
        .await
        .unwrap();
    post(
        &browser,
        &page,
        "/password/forgot",
        &[("email", DORA_EMAIL), ("ui_locales", "zh-TW")],
    )
    .await;
    let mails = sink.wait_for(2).await;
    let reset = &mails[1];
    assert_eq!(reset.subject, "重設您的密碼", "{reset:?}");
    assert!(reset.body.starts_with("dora 您好："), "{}", reset.body);
    assert!(!reset.body.contains('{'), "{}", reset.body);
    link_of(&env, reset, "/password/reset?token=");

    // The Korean link confirms the address like any other.
    let page = browser.get(&link).await.unwrap();
    let verified = post(&browser, &page, "/register/verify", &[]).await;
    assert_eq!(location(&verified), "/login?notice=verified");
}

#[tokio::test]
async fn sign_up_mail_verify_then_sign_in_with_email_verified() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let env = env_with_mail(&sink, true).await;
    let browser = env.server.browser().unwrap();
    let login = browser.get(&url(&env, "/login")).await.unwrap();
    assert!(login.body.contains("href=\"/register\""), "{}", login.body);
    let form = browser.get(&url(&env, "/register")).await.unwrap();
    assert_page_headers(&form, "sign-up page");
    for label in [
        "for=\"username\"",
        "for=\"email\"",
        "for=\"password\"",
        "for=\"password_repeat\"",
    ] {
        assert!(form.body.contains(label), "label {label}: {}", form.body);
    }

    let done = sign_up(&env, &browser, DORA, DORA_EMAIL, DORA_PASSWORD).await;
    assert_eq!(location(&done), "/login?notice=check-mail");
    let user = env
        .server
        .store()
        .get_user_by_username(DORA)
        .await
        .unwrap()
        .unwrap();
    assert!(user.verification_pending && !user.email_verified);

    // Unverified: the right password does not sign in (as Keycloak with "verify email"); the
    // page says why and a fresh link is mailed.
    let refused = sign_in_form(&env, &browser, DORA, DORA_PASSWORD).await;
    assert!(
        location(&refused).contains("unverified=1"),
        "{}",
        location(&refused)
    );
    let shown = follow(&env.server, &browser, refused).await;
    assert!(
        shown.body.contains("Confirm your e-mail address first"),
        "{}",
        shown.body
    );
    assert!(code_flow(&env, DORA, DORA_PASSWORD).await.is_none());

    let mails = sink.wait_for(2).await;
    let first = &mails[0];
    assert_eq!(first.to, DORA_EMAIL);
    assert_eq!(first.subject, "Verify your e-mail address");
    let link = link_of(&env, first, "/register/verify?token=");
    // Opening the link (as a mail scanner would) uses nothing up.
    for _ in 0..2 {
        let page = browser.get(&link).await.unwrap();
        assert_eq!(page.status, 200, "{}", page.body);
        assert_page_headers(&page, "verification page");
    }
    let page = browser.get(&link).await.unwrap();
    let verified = post(&browser, &page, "/register/verify", &[]).await;
    assert_eq!(location(&verified), "/login?notice=verified");
    // Used once; the second mail's link still works once too.
    assert_eq!(browser.get(&link).await.unwrap().status, 400);

    let tokens = code_flow(&env, DORA, DORA_PASSWORD)
        .await
        .expect("signed in");
    let claims = env
        .server
        .verify_id_token(tokens.id_token.as_deref().unwrap(), WEB)
        .await
        .unwrap();
    assert_eq!(claims["email"], DORA_EMAIL);
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["sub"], user.id.as_str());
}

#[tokio::test]
async fn sign_up_answers_alike_for_a_taken_address_and_mails_its_owner() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let env = env_with_mail(&sink, true).await;
    let browser = env.server.browser().unwrap();
    // alice@example.com belongs to alice: the same answer as a fresh sign-up, no account.
    let taken = sign_up(
        &env,
        &browser,
        "not-alice",
        "Alice@Example.com",
        DORA_PASSWORD,
    )
    .await;
    let fresh = sign_up(&env, &browser, DORA, DORA_EMAIL, DORA_PASSWORD).await;
    assert_eq!(location(&taken), location(&fresh));
    assert!(!has_user(&env, "not-alice").await);
    let mails = sink.wait_for(2).await;
    assert_eq!(mails[0].to, "Alice@Example.com");
    assert_eq!(mails[0].subject, "Sign-up with your e-mail address");
    assert!(!mails[0].body.contains("token="), "{}", mails[0].body);
    assert_eq!(mails[1].to, DORA_EMAIL);

    // A taken username is said so, the form keeps what was typed but never the password.
    let again = sign_up(&env, &browser, DORA, "other@example.com", DORA_PASSWORD).await;
    let loc = location(&again);
    assert!(
        loc.starts_with("/register?") && loc.contains("error=taken"),
        "{loc}"
    );
    assert!(!loc.contains("orchard"), "{loc}");
}

#[tokio::test]
async fn the_password_policy_refuses_short_and_common_passwords_on_sign_up() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let env = env_with_mail(&sink, true).await;
    let browser = env.server.browser().unwrap();
    for (password, error) in [
        ("short", "short"),
        ("sevenCh", "short"),
        ("password123", "common"),
        ("Iloveyou1", "common"),
        ("Dora-Long", "mismatch"),
        (DORA, "short"),
        ("dorothea-of-oz", "common"),
    ] {
        let page = browser.get(&url(&env, "/register")).await.unwrap();
        let username = if error == "common" && password.starts_with("dorothea") {
            "dorothea-of-oz"
        } else {
            DORA
        };
        let repeat = if error == "mismatch" {
            "something else"
        } else {
            password
        };
        let refused = post(
            &browser,
            &page,
            "/register",
            &[
                ("username", username),
                ("email", DORA_EMAIL),
                ("password", password),
                ("password_repeat", repeat),
            ],
        )
        .await;
        let loc = location(&refused);
        assert!(loc.contains(&format!("error={error}")), "{password}: {loc}");
        let shown = follow(&env.server, &browser, refused).await;
        assert!(shown.body.contains("role=\"alert\""), "{}", shown.body);
        assert!(!has_user(&env, username).await);
    }
    // Nothing was mailed for the refusals: the first mail is the one of this sign-up.
    sign_up(&env, &browser, DORA, DORA_EMAIL, DORA_PASSWORD).await;
    let mails = sink.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, DORA_EMAIL);
}

#[tokio::test]
async fn forgot_password_mails_a_single_use_link_that_expires() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let env = env_with_mail(&sink, false).await;
    let browser = env.server.browser().unwrap();
    let login = browser.get(&url(&env, "/login")).await.unwrap();
    assert!(
        login.body.contains("href=\"/password/forgot\""),
        "{}",
        login.body
    );
    assert!(
        !login.body.contains("href=\"/register\""),
        "sign-up stays off"
    );
    let before = code_flow(&env, ALICE, ALICE_PASSWORD)
        .await
        .expect("signed in");

    // An unknown address gets the same answer, and no mail: the mail for alice, asked after
    // it, is the first the SMTP server receives.
    let unknown = reset_link(&env, &browser, "nobody@example.com").await;
    let known = reset_link(&env, &browser, "alice@example.com").await;
    assert_eq!(location(&unknown), "/login?notice=reset-sent");
    assert_eq!(location(&known), location(&unknown));
    let unknown_page = follow(&env.server, &browser, unknown).await;
    let known_page = follow(&env.server, &browser, known).await;
    assert_eq!(unknown_page.body, known_page.body);
    let mails = sink.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "alice@example.com");
    assert_eq!(mails[0].subject, "Reset your password");
    let link = link_of(&env, &mails[0], "/password/reset?token=");

    // The policy applies; a refused password leaves the link usable.
    let new_password = "a brand new passphrase";
    for (password, repeat, error) in [
        ("short", "short", "short"),
        ("password1234", "password1234", "common"),
        (new_password, "different", "mismatch"),
    ] {
        let page = browser.get(&link).await.unwrap();
        assert_eq!(page.status, 200, "{}", page.body);
        let refused = post(
            &browser,
            &page,
            "/password/reset",
            &[("password", password), ("password_repeat", repeat)],
        )
        .await;
        assert!(location(&refused).contains(&format!("error={error}")));
    }
    let page = browser.get(&link).await.unwrap();
    assert_page_headers(&page, "reset page");
    let done = post(
        &browser,
        &page,
        "/password/reset",
        &[
            ("password", new_password),
            ("password_repeat", new_password),
        ],
    )
    .await;
    assert_eq!(location(&done), "/login?notice=reset");

    // Used once.
    assert_eq!(browser.get(&link).await.unwrap().status, 400);
    let replay = browser
        .post_form(
            &url(&env, "/password/reset"),
            &[
                ("csrf".into(), page.forms()[0].field("csrf").unwrap().into()),
                ("token".into(), query_token(&link)),
                ("password".into(), "yet another passphrase".into()),
                ("password_repeat".into(), "yet another passphrase".into()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(replay.status, 400, "{}", replay.body);

    // The old password is refused, the new one works; what was issued before is revoked.
    assert!(
        location(&sign_in_form(&env, &browser, ALICE, ALICE_PASSWORD).await).contains("failed=1")
    );
    code_flow(&env, ALICE, new_password)
        .await
        .expect("signed in");
    assert_eq!(refresh_status(&env, &before).await, 400);

    // A link expires after reset_ttl_secs on the server's clock.
    reset_link(&env, &browser, "alice@example.com").await;
    let mails = sink.wait_for(2).await;
    let second = link_of(&env, &mails[1], "/password/reset?token=");
    env.server
        .advance(env.server.config().self_service.reset_ttl_secs);
    assert_eq!(browser.get(&second).await.unwrap().status, 400);
}

fn query_token(link: &url::Url) -> String {
    link.query_pairs()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

#[tokio::test]
async fn ui_3_self_service_forms_refuse_a_missing_or_foreign_csrf_token() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let env = env_with_mail(&sink, true).await;
    let mine = env.server.browser().unwrap();
    let theirs = env.server.browser().unwrap();
    let page = theirs.get(&url(&env, "/register")).await.unwrap();
    let foreign = page.forms()[0].field("csrf").unwrap().to_owned();
    for csrf in [None, Some(foreign)] {
        let mut fields: Vec<(String, String)> = vec![
            ("username".into(), DORA.into()),
            ("email".into(), DORA_EMAIL.into()),
            ("password".into(), DORA_PASSWORD.into()),
            ("password_repeat".into(), DORA_PASSWORD.into()),
        ];
        fields.extend(csrf.map(|c| ("csrf".to_owned(), c)));
        mine.get(&url(&env, "/register")).await.unwrap();
        let refused = mine
            .post_form(&url(&env, "/register"), &fields)
            .await
            .unwrap();
        assert_eq!(refused.status, 400, "{}", refused.body);
        let forgot = mine
            .post_form(
                &url(&env, "/password/forgot"),
                &[("email".into(), "alice@example.com".into())],
            )
            .await
            .unwrap();
        assert_eq!(forgot.status, 400);
    }
    assert!(!has_user(&env, DORA).await);
    // Nothing was mailed: the mail of this sign-up is the first one.
    sign_up(&env, &mine, DORA, DORA_EMAIL, DORA_PASSWORD).await;
    assert_eq!(sink.wait_for(1).await[0].to, DORA_EMAIL);
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn deleting_the_account_needs_the_password_and_revokes_everything() {
    let env = Env::start().await;
    let tokens = code_flow(&env, ALICE, ALICE_PASSWORD)
        .await
        .expect("signed in");
    let browser = env.server.browser().unwrap();
    sign_in_form(&env, &browser, ALICE, ALICE_PASSWORD).await;
    let account = browser.get(&url(&env, "/account")).await.unwrap();
    assert_eq!(account.status, 200, "{}", account.body);
    assert!(
        account.body.contains("for=\"delete_confirmation\""),
        "{}",
        account.body
    );

    // Without the session's CSRF token: refused.
    let forged = browser
        .post_form(
            &url(&env, "/account/delete"),
            &[("confirmation".into(), ALICE_PASSWORD.into())],
        )
        .await
        .unwrap();
    assert_eq!(forged.status, 400);
    // The wrong password: not deleted.
    let wrong = post(
        &browser,
        &account,
        "/account/delete",
        &[("confirmation", "not the password")],
    )
    .await;
    assert_eq!(location(&wrong), "/account?delete=wrong");
    assert!(has_user(&env, ALICE).await);

    let account = browser.get(&url(&env, "/account")).await.unwrap();
    let deleted = post(
        &browser,
        &account,
        "/account/delete",
        &[("confirmation", ALICE_PASSWORD)],
    )
    .await;
    assert_eq!(location(&deleted), "/login?notice=deleted");
    assert!(!has_user(&env, ALICE).await);
    assert!(
        env.server
            .store()
            .list_consents(&env.alice_sub)
            .await
            .unwrap()
            .is_empty()
    );
    // The browser is signed out, the tokens are dead, the password signs no one in.
    let after = browser.get(&url(&env, "/account")).await.unwrap();
    assert_eq!(after.status, 303);
    env.server.advance(1);
    assert_eq!(refresh_status(&env, &tokens).await, 400);
    let introspected = env
        .server
        .introspect(&env.web_auth(), &tokens.access_token)
        .await
        .unwrap();
    assert_eq!(introspected.json["active"], false);
    assert!(code_flow(&env, ALICE, ALICE_PASSWORD).await.is_none());
}

#[tokio::test]
async fn verification_links_expire_on_the_servers_clock() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let env = env_with_mail(&sink, true).await;
    let browser = env.server.browser().unwrap();
    sign_up(&env, &browser, DORA, DORA_EMAIL, DORA_PASSWORD).await;
    let link = link_of(&env, &sink.wait_for(1).await[0], "/register/verify?token=");
    let ttl = env.server.config().self_service.verification_ttl_secs;
    env.server.advance(ttl - 1);
    assert_eq!(browser.get(&link).await.unwrap().status, 200);
    env.server.advance(1);
    assert_eq!(browser.get(&link).await.unwrap().status, 400);
    assert!(code_flow(&env, DORA, DORA_PASSWORD).await.is_none());
}

#[tokio::test]
async fn dos_4_reset_requests_and_sign_ups_are_throttled_per_address() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let smtp = sink.settings();
    let env = Env::start_with(TestServer::builder().configure(move |s| {
        s.self_service.registration = true;
        s.self_service.smtp = Some(smtp);
        s.self_service.throttle.max_failures = 2;
    }))
    .await;
    let browser = env.server.browser().unwrap();
    for _ in 0..2 {
        let sent = reset_link(&env, &browser, "nobody@example.com").await;
        assert_eq!(location(&sent), "/login?notice=reset-sent");
    }
    // The third from this address within the window is refused, whatever the address asked
    // about, and says how long to wait.
    let refused = reset_link(&env, &browser, "alice@example.com").await;
    let loc = location(&refused);
    assert!(
        loc.starts_with("/password/forgot?") && loc.contains("error=throttled"),
        "{loc}"
    );
    let shown = follow(&env.server, &browser, refused).await;
    assert!(shown.body.contains("Too many requests"), "{}", shown.body);
    // Sign-ups count against the same limit.
    let signed_up = sign_up(&env, &browser, DORA, DORA_EMAIL, DORA_PASSWORD).await;
    assert!(location(&signed_up).contains("error=throttled"));
    assert!(!has_user(&env, DORA).await);
    // After the window, the address may ask again.
    env.server
        .advance(env.server.config().self_service.throttle.window_secs);
    let sent = reset_link(&env, &browser, "alice@example.com").await;
    assert_eq!(location(&sent), "/login?notice=reset-sent");
    assert_eq!(sink.wait_for(1).await[0].to, "alice@example.com");
}
