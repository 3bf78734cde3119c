//! Handler tests of the HTML pages: the consent page shows who asks and what for, in words
//! (UI-5), carries the anti-framing headers (UI-1), a login rotates the session id (UI-4), and
//! the landing page at `/` links the server's parts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use common::*;

const SESSION: &str = "__Host-portcullis-session";

async fn sign_in(h: &Harness, jar: &mut Vec<(String, String)>) {
    let resp = send(&h.router, get("/login", &[("cookie", &cookie_header(jar))])).await;
    update_jar(jar, &resp);
    let html = body_text(resp).await;
    let body = format!(
        "csrf={}&request=&username=alice&password={}",
        enc(&hidden(&html, "csrf")),
        enc(PASSWORD)
    );
    let resp = send(
        &h.router,
        form_with("/login", &body, &[("cookie", &cookie_header(jar))]),
    )
    .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(header_str(&resp, "location"), Some("/account"));
    update_jar(jar, &resp);
}

#[tokio::test]
async fn ui_4_session_id_rotated_on_login() {
    let h = harness().await;
    let mut jar = Vec::new();
    sign_in(&h, &mut jar).await;
    let first = jar.iter().find(|(n, _)| n == SESSION).unwrap().1.clone();
    sign_in(&h, &mut jar).await;
    let second = jar.iter().find(|(n, _)| n == SESSION).unwrap().1.clone();
    assert_ne!(first, second);
    // The old id no longer opens the account page.
    let old = format!("{SESSION}={first}");
    let resp = send(&h.router, get("/account", &[("cookie", &old)])).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(header_str(&resp, "location"), Some("/login"));
    let resp = send(
        &h.router,
        get("/account", &[("cookie", &cookie_header(&jar))]),
    )
    .await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn ui_5_consent_page_names_client_and_scopes_in_words() {
    let h = harness().await;
    let mut jar = Vec::new();
    sign_in(&h, &mut jar).await;
    let resp = send(
        &h.router,
        get(&authorize_url(""), &[("cookie", &cookie_header(&jar))]),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header_str(&resp, "x-frame-options"), Some("DENY"));
    assert!(
        header_str(&resp, "content-security-policy")
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let html = body_text(resp).await;
    assert!(html.contains("Web App"));
    assert!(html.contains("<code>web</code>"));
    assert!(html.contains("See your email address"));
    assert!(html.contains("See your name and username"));
    assert!(html.contains("value=\"deny\""));

    // Deny still redirects only to the validated redirect URI, with access_denied.
    let body = format!(
        "csrf={}&request={}&decision=deny",
        enc(&hidden(&html, "csrf")),
        enc(&hidden(&html, "request"))
    );
    let resp = send(
        &h.router,
        form_with("/consent", &body, &[("cookie", &cookie_header(&jar))]),
    )
    .await;
    assert_eq!(resp.status(), 303);
    let loc = header_str(&resp, "location").unwrap();
    assert!(loc.starts_with(WEB_REDIRECT));
    assert_eq!(param(loc, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(loc, "iss").as_deref(), Some(ISSUER));
    assert_eq!(param(loc, "state").as_deref(), Some("st-1"));
}

#[tokio::test]
async fn oidc_4_prompt_none_with_session_but_no_consent() {
    let h = harness().await;
    let mut jar = Vec::new();
    sign_in(&h, &mut jar).await;
    let resp = send(
        &h.router,
        get(
            &authorize_url("&prompt=none"),
            &[("cookie", &cookie_header(&jar))],
        ),
    )
    .await;
    assert_eq!(resp.status(), 303);
    let loc = header_str(&resp, "location").unwrap();
    assert_eq!(param(loc, "error").as_deref(), Some("consent_required"));
}

/// Log output collected in memory.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn key_4_debug_logs_redact_secret_query_parameters() {
    let h = harness().await;
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let secrets = [
        "state-Zq81",
        "hint-Kx92",
        "login-Mv37",
        "code-Pw55",
        "user-Lt40",
        "verifier-Rb63",
    ];
    for url in [
        authorize_url("&state=state-Zq81&login_hint=login-Mv37&id_token_hint=hint-Kx92"),
        "/logout?id_token_hint=hint-Kx92&state=state-Zq81".to_owned(),
        "/device?user_code=user-Lt40".to_owned(),
        "/healthz?code=code-Pw55&code_verifier=verifier-Rb63".to_owned(),
    ] {
        send(&h.router, get(&url, &[])).await;
    }
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("uri=/device?user_code=[redacted]"), "{logs}");
    assert!(
        logs.contains("client_id=web"),
        "other parameters stay: {logs}"
    );
    for secret in secrets {
        assert!(!logs.contains(secret), "{secret} logged: {logs}");
    }
}

#[tokio::test]
async fn dos_4_saturated_password_checks_answer_503_with_retry_after() {
    // One hashing worker and a queue of one: of many simultaneous sign-ins, those that find
    // the queue full are answered at once with 503 and Retry-After; the others sign in.
    let h = harness_with(
        |s| {
            s.password_hash_memory_bytes = 1;
            s.password_hash_queue = 1;
            // The account's own throttle would refuse the later ones of these simultaneous
            // sign-ins before they reach the workers; this case is about the workers.
            s.login_throttle.max_failures = 100;
        },
        true,
    )
    .await;
    let mut jar = Vec::new();
    let resp = send(
        &h.router,
        get("/login", &[("cookie", &cookie_header(&jar))]),
    )
    .await;
    update_jar(&mut jar, &resp);
    let html = body_text(resp).await;
    let body = format!(
        "csrf={}&request=&username=alice&password={}",
        enc(&hidden(&html, "csrf")),
        enc(PASSWORD)
    );
    let cookies = cookie_header(&jar);
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let router = h.router.clone();
        let req = form_with("/login", &body, &[("cookie", &cookies)]);
        tasks.push(tokio::spawn(async move { send(&router, req).await }));
    }
    let (mut busy, mut signed_in) = (0, 0);
    for t in tasks {
        let resp = t.await.unwrap();
        match resp.status().as_u16() {
            503 => {
                assert_eq!(header_str(&resp, "retry-after"), Some("1"));
                busy += 1;
            }
            303 => {
                assert_eq!(header_str(&resp, "location"), Some("/account"));
                signed_in += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(busy > 0, "no sign-in was refused");
    assert!(signed_in > 0, "no sign-in went through");
}

#[tokio::test]
async fn landing_page_links_the_servers_parts() {
    let h = harness().await;
    let resp = send(&h.router, get("/", &[])).await;
    assert_eq!(resp.status(), 200);
    assert!(
        header_str(&resp, "content-security-policy")
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let html = body_text(resp).await;
    for link in [
        format!("{ISSUER}/.well-known/openid-configuration"),
        format!("{ISSUER}/.well-known/jwks.json"),
        "/account".to_owned(),
        "/device".to_owned(),
    ] {
        assert!(
            html.contains(&format!("href=\"{link}\"")),
            "no link to {link}: {html}"
        );
    }
    // Only GET: other methods get the router's answer, not the page.
    assert_eq!(send(&h.router, form("/", "x=1")).await.status(), 405);
}
