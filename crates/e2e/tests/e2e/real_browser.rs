//! The pages in a real browser (headless Chromium, see `chromium.rs`): the login, consent,
//! account and device pages in each shipped language, the themes as Chromium renders them
//! (computed styles, the logo loaded under the page CSP), and a whole code-flow sign-in whose
//! code is redeemed for tokens. Each screen is photographed; the pictures of a failed test are
//! kept (the path is printed).

use crate::chromium::{Chromium, Screens, click, eval, fill, text};
use crate::common::*;
use crate::themes::{ACME_ACCENT, PARTNER, PARTNER_ACCENT, themed_env};
use fantoccini::Client;
use portcullis_testkit::{ClientSpec, CodeRequest, TestServer, Tokens, query_param};
use portcullis_types::GrantType;
use serde_json::Value;
use url::Url;

/// What each page must say, per language: written here rather than read from the catalogues, so
/// that a lost or wrong translation fails.
struct Expected {
    accept_language: &'static str,
    lang: &'static str,
    sign_in: &'static str,
    username_label: &'static str,
    consent_heading: &'static str,
    scope_profile: &'static str,
    account_title: &'static str,
    device_title: &'static str,
    device_confirm: &'static str,
    device_connected: &'static str,
}

const LANGUAGES: [Expected; 3] = [
    Expected {
        accept_language: "en-US",
        lang: "en",
        sign_in: "Sign in",
        username_label: "Username",
        consent_heading: "wants to access your account",
        scope_profile: "See your name and username",
        account_title: "Your account",
        device_title: "Connect a device",
        device_confirm: "on a device wants to access your account",
        device_connected: "Device connected",
    },
    Expected {
        accept_language: "zh-TW",
        lang: "zh-TW",
        sign_in: "登入",
        username_label: "使用者名稱",
        consent_heading: "想要存取您的帳號",
        scope_profile: "查看您的姓名與使用者名稱",
        account_title: "您的帳號",
        device_title: "連接裝置",
        device_confirm: "想要存取您的帳號",
        device_connected: "裝置已連接",
    },
    Expected {
        accept_language: "ko-KR",
        lang: "ko",
        sign_in: "로그인",
        username_label: "사용자 이름",
        consent_heading: "계정에 접근하려고 합니다",
        scope_profile: "이름과 사용자 이름 보기",
        account_title: "내 계정",
        device_title: "기기 연결",
        device_confirm: "계정에 접근하려고 합니다",
        device_connected: "기기가 연결되었습니다",
    },
];

/// An application's redirect target on loopback, so that the browser lands on a real page.
async fn callback_server() -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::get(|| async { axum::response::Html("<p id=app>signed in</p>") }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Url::parse(&format!("http://127.0.0.1:{}/cb", addr.port())).unwrap()
}

/// A client redirecting to `callback`.
const BROWSER_APP: &str = "browser-app";
const BROWSER_APP_SECRET: &str = "browser-app-secret-7d1c9e0b2a4f6e8d0c2b4a6f";

async fn add_browser_app(server: &TestServer, callback: &Url) {
    server
        .add_client(
            ClientSpec::confidential(BROWSER_APP, BROWSER_APP_SECRET)
                .redirect_uri(callback.as_str())
                .grant_types(&[GrantType::AuthorizationCode])
                .scope("openid profile"),
        )
        .await
        .unwrap();
}

/// Photographs the screen as `name`, checks that it is in `lang` and that its heading holds
/// `heading`, and returns the heading.
async fn screen(
    browser: &Client,
    shots: &mut Screens,
    name: &str,
    lang_tag: &str,
    heading: &str,
) -> String {
    shots.take(browser, name).await;
    let shown = shots.dir().display();
    assert_eq!(
        lang(browser).await,
        lang_tag,
        "{name}: lang; screenshots: {shown}"
    );
    let h1 = text(browser, "h1").await;
    assert!(
        h1.contains(heading),
        "{name}: {h1:?} lacks {heading:?}; screenshots: {shown}"
    );
    h1
}

async fn lang(browser: &Client) -> Value {
    eval(browser, "return document.documentElement.lang").await
}

async fn current(browser: &Client) -> Url {
    browser.current_url().await.unwrap()
}

/// Signs alice in on the login page the browser shows.
async fn sign_in(browser: &Client) {
    fill(browser, "#username", ALICE).await;
    fill(browser, "#password", ALICE_PASSWORD).await;
    click(browser, "form[action='/login'] button[type=submit]").await;
}

/// Redeems the code the browser was sent back with and checks the ID token names alice.
async fn redeem(env: &Env, request: &CodeRequest, landed: &Url) -> Tokens {
    let code = query_param(landed, "code").unwrap_or_else(|| panic!("no code in {landed}"));
    let reply = env
        .server
        .redeem(
            &portcullis_testkit::ClientAuth::basic(BROWSER_APP, BROWSER_APP_SECRET),
            &code,
            request,
        )
        .await
        .unwrap();
    let tokens = Tokens::from_reply(reply).unwrap();
    let claims = env
        .server
        .verify_id_token(tokens.id_token.as_deref().unwrap(), BROWSER_APP)
        .await
        .unwrap();
    assert_eq!(claims["sub"], env.alice_sub.as_str());
    tokens
}

#[tokio::test]
async fn every_page_speaks_each_shipped_language() {
    let Some(chromium) = Chromium::start().await else {
        return;
    };
    let env = crate::device::env_with(TestServer::builder()).await;
    let callback = callback_server().await;
    add_browser_app(&env.server, &callback).await;
    for want in &LANGUAGES {
        let mut shots = Screens::new(&format!("every_page_speaks_{}", want.lang));
        let browser = chromium.browser(want.accept_language).await;
        let shown = shots.dir().display().to_string();
        // Consent was given in the previous language: ask again.
        let request = CodeRequest::new(BROWSER_APP, callback.as_str(), "openid profile")
            .param("prompt", "consent");

        // Login.
        browser
            .goto(request.url(&env.server).as_str())
            .await
            .unwrap();
        screen(&browser, &mut shots, "login", want.lang, want.sign_in).await;
        assert_eq!(
            text(&browser, "label[for=username]").await,
            want.username_label,
            "screenshots: {shown}"
        );

        // Consent.
        sign_in(&browser).await;
        let heading = screen(
            &browser,
            &mut shots,
            "consent",
            want.lang,
            want.consent_heading,
        )
        .await;
        assert!(
            heading.contains(BROWSER_APP),
            "{heading}; screenshots: {shown}"
        );
        let scopes = text(&browser, "ul.scopes").await;
        assert!(
            scopes.contains(want.scope_profile),
            "{scopes}; screenshots: {shown}"
        );

        // The decision sends the browser back to the application with a code.
        click(&browser, "button[value=allow]").await;
        let landed = current(&browser).await;
        assert_eq!(landed.path(), "/cb", "{landed}; screenshots: {shown}");
        redeem(&env, &request, &landed).await;

        // Account.
        browser
            .goto(env.server.url("/account").unwrap().as_str())
            .await
            .unwrap();
        screen(
            &browser,
            &mut shots,
            "account",
            want.lang,
            want.account_title,
        )
        .await;
        let apps = text(&browser, "table").await;
        assert!(apps.contains(BROWSER_APP), "{apps}; screenshots: {shown}");

        // Device: the code form, the confirmation, the closing page.
        browser
            .goto(env.server.url("/device").unwrap().as_str())
            .await
            .unwrap();
        screen(
            &browser,
            &mut shots,
            "device-code",
            want.lang,
            want.device_title,
        )
        .await;
        let (_device_code, user_code) = crate::device::start(&env).await;
        fill(&browser, "#user_code", &user_code).await;
        click(&browser, "form[action='/device'] button[type=submit]").await;
        screen(
            &browser,
            &mut shots,
            "device-confirm",
            want.lang,
            want.device_confirm,
        )
        .await;
        click(&browser, "button[value=allow]").await;
        screen(
            &browser,
            &mut shots,
            "device-done",
            want.lang,
            want.device_connected,
        )
        .await;

        browser.close().await.unwrap();
    }
}

#[tokio::test]
async fn ui_locales_carries_the_language_through_a_real_sign_in() {
    let Some(chromium) = Chromium::start().await else {
        return;
    };
    let mut shots = Screens::new("ui_locales_carries_the_language");
    let shown = shots.dir().display().to_string();
    let env = Env::start().await;
    let callback = callback_server().await;
    add_browser_app(&env.server, &callback).await;
    // The browser prefers Traditional Chinese; the application asks for Korean.
    let browser = chromium.browser("zh-TW").await;
    let request = CodeRequest::new(BROWSER_APP, callback.as_str(), "openid profile")
        .param("ui_locales", "fr-CA ko");
    browser
        .goto(request.url(&env.server).as_str())
        .await
        .unwrap();
    screen(&browser, &mut shots, "login", "ko", "로그인").await;
    // A wrong password: the form comes back from a redirect, still in Korean.
    fill(&browser, "#username", ALICE).await;
    fill(&browser, "#password", "not the password").await;
    click(&browser, "form[action='/login'] button[type=submit]").await;
    screen(&browser, &mut shots, "login-failed", "ko", "로그인").await;
    assert!(
        text(&browser, "p.error").await.contains("로그인 실패"),
        "screenshots: {shown}"
    );
    sign_in(&browser).await;
    screen(
        &browser,
        &mut shots,
        "consent",
        "ko",
        "계정에 접근하려고 합니다",
    )
    .await;
    click(&browser, "button[value=allow]").await;
    shots.take(&browser, "application").await;
    let landed = current(&browser).await;
    assert_eq!(
        text(&browser, "#app").await,
        "signed in",
        "screenshots: {shown}"
    );
    assert_eq!(
        query_param(&landed, "state").as_deref(),
        request.state.as_deref(),
        "screenshots: {shown}"
    );
    let tokens = redeem(&env, &request, &landed).await;
    let userinfo = env.server.userinfo(&tokens.access_token).await.unwrap();
    assert_eq!(userinfo.status, 200, "{}", userinfo.body);
    browser.close().await.unwrap();
}

/// `rgb(r, g, b)` as Chromium computes `#rrggbb`.
fn rgb(hex: &str) -> String {
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap();
    format!("rgb({}, {}, {})", channel(1), channel(3), channel(5))
}

#[tokio::test]
async fn themes_are_applied_by_the_browser() {
    let Some(chromium) = Chromium::start().await else {
        return;
    };
    let mut shots = Screens::new("themes_are_applied");
    let shown = shots.dir().display().to_string();
    let env = themed_env(TestServer::builder()).await;
    let browser = chromium.browser("en").await;

    // The deployment theme on the login page of the web client.
    browser
        .goto(env.web_request("openid").url(&env.server).as_str())
        .await
        .unwrap();
    shots.take(&browser, "acme-login").await;
    assert_eq!(
        eval(&browser, "return document.title").await,
        "Sign in \u{2013} Acme ID",
        "screenshots: {shown}"
    );
    assert_eq!(
        text(&browser, ".brand span").await,
        "Acme ID",
        "screenshots: {shown}"
    );
    let style = eval(
        &browser,
        "const b = getComputedStyle(document.querySelector('button[type=submit]'));\
         const h = getComputedStyle(document.querySelector('h1'));\
         const logo = document.querySelector('.brand img');\
         return [b.backgroundColor, h.letterSpacing, logo.complete && logo.naturalWidth,\
                 document.styleSheets.length];",
    )
    .await;
    assert_eq!(
        style[0],
        rgb(ACME_ACCENT).as_str(),
        "button colour; screenshots: {shown}"
    );
    assert_eq!(style[1], "3px", "style.css applied; screenshots: {shown}");
    assert_eq!(
        style[2], 40,
        "the logo loaded under the CSP; screenshots: {shown}"
    );
    assert_eq!(
        style[3], 2,
        "built-in and theme stylesheets; screenshots: {shown}"
    );

    // The partner client's own theme.
    let partner = CodeRequest::new(PARTNER, crate::themes::PARTNER_CB, "openid");
    browser
        .goto(partner.url(&env.server).as_str())
        .await
        .unwrap();
    shots.take(&browser, "partner-login").await;
    assert_eq!(
        text(&browser, ".brand span").await,
        "Partner Portal",
        "screenshots: {shown}"
    );
    let colour = eval(
        &browser,
        "return getComputedStyle(document.querySelector('button[type=submit]')).backgroundColor",
    )
    .await;
    assert_eq!(colour, rgb(PARTNER_ACCENT).as_str(), "screenshots: {shown}");

    // Consent and account pages wear the deployment theme.
    let brand = async |browser: &Client, shot: &str, shots: &mut Screens| {
        shots.take(browser, shot).await;
        text(browser, ".brand span").await
    };
    let consent = env.web_request("openid profile").param("prompt", "consent");
    browser
        .goto(consent.url(&env.server).as_str())
        .await
        .unwrap();
    sign_in(&browser).await;
    assert_eq!(
        brand(&browser, "acme-consent", &mut shots).await,
        "Acme ID",
        "screenshots: {shown}"
    );
    assert!(
        text(&browser, "h1").await.contains(WEB),
        "screenshots: {shown}"
    );
    browser
        .goto(env.server.url("/account").unwrap().as_str())
        .await
        .unwrap();
    assert_eq!(
        brand(&browser, "acme-account", &mut shots).await,
        "Acme ID",
        "screenshots: {shown}"
    );

    // The device code form knows no client yet: the deployment theme. Once the code is checked,
    // the confirmation and the closing page wear the theme of the device's client.
    browser
        .goto(env.server.url("/device").unwrap().as_str())
        .await
        .unwrap();
    assert_eq!(
        brand(&browser, "acme-device-code", &mut shots).await,
        "Acme ID",
        "screenshots: {shown}"
    );
    let (_device_code, user_code) = crate::device::start(&env).await;
    fill(&browser, "#user_code", &user_code).await;
    click(&browser, "form[action='/device'] button[type=submit]").await;
    assert_eq!(
        brand(&browser, "partner-device-confirm", &mut shots).await,
        "Partner Portal",
        "screenshots: {shown}"
    );
    let colour = eval(
        &browser,
        "return getComputedStyle(document.querySelector('button[value=allow]')).backgroundColor",
    )
    .await;
    assert_eq!(colour, rgb(PARTNER_ACCENT).as_str(), "screenshots: {shown}");
    click(&browser, "button[value=allow]").await;
    assert_eq!(
        brand(&browser, "partner-device-done", &mut shots).await,
        "Partner Portal",
        "screenshots: {shown}"
    );
    browser.close().await.unwrap();
}
