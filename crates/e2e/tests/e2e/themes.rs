//! Themes and languages over HTTP: the theme assets (content types, cache headers, no path out
//! of the theme), the page CSP with a theme, a client's own theme, and the page language from
//! `ui_locales` and `Accept-Language` (checklist UI-1 for the headers).

use crate::common::*;
use portcullis_server::theme::{
    ColourManifest, LogoFormat, ThemeFiles, ThemeManifest, ThemeName, ThemeSet,
};
use portcullis_testkit::{ClientSpec, TestServerBuilder};
use portcullis_types::GrantType;

pub const PARTNER: &str = "partner-app";
pub const PARTNER_CB: &str = "https://partner.example/cb";
pub const ACME_ACCENT: &str = "#0b6e4f";
pub const PARTNER_ACCENT: &str = "#7a1fa2";
pub const ACME_LOGO: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"40\" height=\"40\">\
    <rect width=\"40\" height=\"40\" fill=\"#0b6e4f\"/></svg>";

/// The page CSP, unchanged by themes: styles and images from this origin only.
pub const PAGE_CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A deployment theme "Acme ID" (colours, `style.css`, an SVG logo) and a named theme
/// "partner" ("Partner Portal", other colours).
pub fn acme_themes() -> ThemeSet {
    let acme = ThemeFiles {
        manifest: ThemeManifest {
            product_name: Some("Acme ID".into()),
            colours: ColourManifest {
                accent: Some(ACME_ACCENT.into()),
                ..ColourManifest::default()
            },
        },
        stylesheet: Some("h1{letter-spacing:3px}".into()),
        logo: Some((LogoFormat::Svg, ACME_LOGO.as_bytes().to_vec())),
    };
    let partner = ThemeFiles {
        manifest: ThemeManifest {
            product_name: Some("Partner Portal".into()),
            colours: ColourManifest {
                accent: Some(PARTNER_ACCENT.into()),
                ..ColourManifest::default()
            },
        },
        ..ThemeFiles::default()
    };
    ThemeSet::new(acme, vec![(ThemeName::parse("partner").unwrap(), partner)]).unwrap()
}

/// The device flow's environment on a server with [`acme_themes`], plus a client using
/// "partner"; the device client wears "partner" too.
pub async fn themed_env(builder: TestServerBuilder) -> Env {
    let env = crate::device::env_with(builder.configure(|s| s.themes = acme_themes())).await;
    let mut tv = env
        .server
        .store()
        .get_client(crate::device::TV)
        .await
        .unwrap()
        .unwrap();
    tv.theme = Some("partner".to_owned());
    env.server.store().put_client(tv).await.unwrap();
    env.server
        .add_client(
            ClientSpec::public(PARTNER)
                .redirect_uri(PARTNER_CB)
                .grant_types(&[GrantType::AuthorizationCode])
                .scope("openid profile")
                .theme(ThemeName::parse("partner").unwrap()),
        )
        .await
        .unwrap();
    env
}

/// The `href`/`src` values in `body` starting with `prefix`.
fn links<'a>(body: &'a str, prefix: &str) -> Vec<&'a str> {
    body.match_indices(prefix)
        .filter_map(|(i, _)| body.get(i..)?.split('"').next())
        .collect()
}

#[tokio::test]
async fn ui_2_theme_assets_come_from_this_origin_typed_and_cached() {
    let env = themed_env(portcullis_testkit::TestServer::builder()).await;
    let page = env.server.get("/login").await.unwrap();
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-security-policy"), Some(PAGE_CSP));
    assert!(
        page.body
            .contains("<title>Sign in \u{2013} Acme ID</title>"),
        "{}",
        page.body
    );
    let css = links(&page.body, "/assets/theme/default/");
    assert_eq!(css.len(), 2, "{css:?}");
    for (path, content_type) in [
        (css[0], "text/css; charset=utf-8"),
        (css[1], "image/svg+xml"),
    ] {
        let r = env.server.get(path).await.unwrap();
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(content_type), "{path}");
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert!(
            r.header("content-security-policy")
                .unwrap()
                .contains("sandbox"),
            "an SVG opened as a document runs nothing"
        );
    }
    let stylesheet = env.server.get(css[0]).await.unwrap();
    assert!(
        stylesheet
            .body
            .contains(&format!("--pc-accent:{ACME_ACCENT}"))
    );
    assert!(stylesheet.body.ends_with("h1{letter-spacing:3px}"));
    let logo = env.server.get(css[1]).await.unwrap();
    assert_eq!(logo.body, ACME_LOGO);
}

#[tokio::test]
async fn theme_paths_cannot_leave_the_theme() {
    let env = themed_env(portcullis_testkit::TestServer::builder()).await;
    let page = env.server.get("/login").await.unwrap();
    let css = links(&page.body, "/assets/theme/default/")[0].to_owned();
    let version = css.split('/').nth(4).unwrap().to_owned();
    for path in [
        format!("/assets/theme/default/{version}/theme.toml"),
        format!("/assets/theme/default/{version}/style.css"),
        format!("/assets/theme/default/{version}/..%2ftheme.toml"),
        format!("/assets/theme/default/{version}/%2e%2e%2f%2e%2e%2fCargo.toml"),
        format!("/assets/theme/..%2f..%2f/{version}/theme.css"),
        format!("/assets/theme/default/{version}/logo.png"),
        format!("/assets/theme/nosuch/{version}/theme.css"),
        "/assets/theme/default/stale/theme.css".to_owned(),
        "/assets/theme/default/../../../etc/passwd".to_owned(),
        "/assets/theme/partner/x/logo.svg".to_owned(),
    ] {
        let r = env.server.get(&path).await.unwrap();
        assert_eq!(r.status, 404, "{path}: {}", r.body);
    }
}

#[tokio::test]
async fn a_client_selects_its_named_theme() {
    let env = themed_env(portcullis_testkit::TestServer::builder()).await;
    let partner = portcullis_testkit::CodeRequest::new(PARTNER, PARTNER_CB, "openid");
    let page = env
        .server
        .http()
        .get(partner.url(&env.server))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(body.contains("Partner Portal"), "{body}");
    assert!(body.contains("/assets/theme/partner/"), "{body}");
    assert!(!body.contains("Acme ID"));
    // Another client's pages keep the deployment theme.
    let web = env.web_request("openid");
    let body = env
        .server
        .http()
        .get(web.url(&env.server))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("Acme ID") && !body.contains("Partner Portal"));
}

#[tokio::test]
async fn without_a_theme_the_pages_keep_the_built_in_look() {
    let env = Env::start().await;
    let page = env.server.get("/login").await.unwrap();
    assert_eq!(page.header("content-security-policy"), Some(PAGE_CSP));
    assert!(
        page.body
            .contains("<title>Sign in \u{2013} Portcullis</title>")
    );
    assert!(!page.body.contains("/assets/theme/"), "{}", page.body);
}

/// A page's `lang` attribute and `Content-Language`.
async fn language_of(env: &Env, path: &str, accept_language: Option<&str>) -> (String, String) {
    let mut request = env.server.http().get(env.server.url(path).unwrap());
    if let Some(a) = accept_language {
        request = request.header("accept-language", a);
    }
    let r = request.send().await.unwrap();
    let content_language = r.headers()["content-language"].to_str().unwrap().to_owned();
    let body = r.text().await.unwrap();
    let lang = body
        .split("<html lang=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    assert_eq!(lang, content_language, "{path}");
    (lang, body)
}

#[tokio::test]
async fn the_page_language_follows_accept_language_and_its_q_values() {
    let env = Env::start().await;
    for (header, lang, sign_in) in [
        (None, "en", "Sign in"),
        (Some("ko-KR,ko;q=0.9,en;q=0.8"), "ko", "로그인"),
        (Some("en;q=0.3, zh-TW;q=0.8, ko;q=0.5"), "zh-TW", "登入"),
        (Some("fr, zh-TW;q=0, ko;q=0.1"), "ko", "로그인"),
        (Some("fr-CA, de"), "en", "Sign in"),
    ] {
        let (got, body) = language_of(&env, "/login", header).await;
        assert_eq!(got, lang, "{header:?}");
        assert!(
            body.contains(&format!("<h1>{sign_in}</h1>")),
            "{header:?}: {body}"
        );
    }
}

#[tokio::test]
async fn ui_locales_wins_and_travels_with_the_pending_request() {
    let env = Env::start().await;
    let request = env.web_request("openid").param("ui_locales", "de ko");
    let mut url = request.url(&env.server);
    url.set_path("/authorize");
    let path = format!("/authorize?{}", url.query().unwrap());
    let (lang, body) = language_of(&env, &path, Some("zh-TW")).await;
    assert_eq!(lang, "ko");
    assert!(body.contains("name=\"request\""), "{body}");
    // The failed sign-in comes back to /login with the pending request: still Korean.
    let browser = env.server.browser().unwrap();
    let page = browser.get(&url).await.unwrap();
    let mut form = page.login_form().unwrap();
    form.set("username", ALICE);
    form.set("password", "wrong");
    let back = browser.submit(&page, &form, None).await.unwrap();
    let retry = back.location().unwrap();
    let retry_path = format!("{}?{}", retry.path(), retry.query().unwrap());
    let (lang, body) = language_of(&env, &retry_path, Some("zh-TW")).await;
    assert_eq!(lang, "ko");
    assert!(body.contains("로그인 실패"), "{body}");
}

#[tokio::test]
async fn a_posted_authorization_request_chooses_language_and_theme_too() {
    let env = themed_env(portcullis_testkit::TestServer::builder()).await;
    let request = portcullis_testkit::CodeRequest::new(PARTNER, PARTNER_CB, "openid")
        .param("ui_locales", "zh-TW");
    let r = env
        .server
        .http()
        .post(env.server.url("/authorize").unwrap())
        .header("accept-language", "ko")
        .form(&request.params())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-language"], "zh-TW");
    let body = r.text().await.unwrap();
    assert!(body.contains("<html lang=\"zh-TW\">"), "{body}");
    assert!(
        body.contains("Partner Portal") && body.contains("<h1>登入</h1>"),
        "{body}"
    );
    // The form is still read by the handler after the language was looked for in it: the
    // pending request reaches the page intact.
    assert!(body.contains("ui_locales=zh-TW"), "{body}");
}

/// The refusals of the protocol pages are in the page's language too: an untrusted client or
/// redirect URI at `/authorize` (RED-6), an invalid logout request and an unknown upstream.
#[tokio::test]
async fn protocol_refusals_speak_the_page_language() {
    let env = Env::start().await;
    let cases = [
        (
            "/authorize?client_id=nobody",
            "ko",
            "등록되지 않은 클라이언트입니다.",
        ),
        ("/authorize?client_id=nobody", "zh-TW", "此用戶端未註冊。"),
        (
            "/authorize?client_id=web-app&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
            "zh-TW",
            "缺少 redirect_uri，或它未替此用戶端註冊。",
        ),
        (
            "/logout?id_token_hint=not-a-token",
            "ko",
            "id_token_hint가 유효하지 않습니다.",
        ),
        ("/upstream/nowhere/start", "zh-TW", "沒有這個登入提供者。"),
        (
            "/authorize?client_id=nobody",
            "en",
            "The client is not registered.",
        ),
    ];
    for (path, accept, text) in cases {
        let (lang, body) = language_of(&env, path, Some(accept)).await;
        assert_eq!(lang, accept, "{path}");
        assert!(body.contains(text), "{path} in {accept}: {body}");
    }
}
