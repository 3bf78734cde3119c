//! The device authorization grant (RFC 8628) over HTTP: the device asks for codes, the user
//! signs in on `/device`, checks the app and scopes and decides, the device polls; plus the
//! independent `oauth2` crate driving the same flow.

use crate::common::*;
use portcullis_testkit::oauth::post_form;
use portcullis_testkit::{Browser, ClientAuth, ClientSpec, Page, Reply};
use portcullis_types::GrantType;
use url::Url;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
pub const TV: &str = "living-room-tv";
const TV_NAME: &str = "Living-room TV";
const CLI: &str = "device-cli";
const CLI_SECRET: &str = "device-cli-secret-0a1b2c3d4e5f60718293";
const DEVICE_SCOPE: &str = "openid profile orders:read";

/// The standard environment plus a public TV client and a confidential CLI client that may use
/// the device grant.
pub async fn env() -> Env {
    env_with(portcullis_testkit::TestServer::builder()).await
}

pub(crate) async fn env_with(builder: portcullis_testkit::TestServerBuilder) -> Env {
    let env = Env::start_with(builder).await;
    env.server
        .add_client(
            ClientSpec::public(TV)
                .grant_types(&[GrantType::DeviceCode, GrantType::RefreshToken])
                .scope("openid profile email orders:read")
                .audience(&[API]),
        )
        .await
        .unwrap();
    let mut tv = env.server.store().get_client(TV).await.unwrap().unwrap();
    tv.name = Some(TV_NAME.to_owned());
    env.server.store().put_client(tv).await.unwrap();
    env.server
        .add_client(
            ClientSpec::confidential(CLI, CLI_SECRET)
                .grant_types(&[GrantType::DeviceCode])
                .scope("orders:read")
                .audience(&[API]),
        )
        .await
        .unwrap();
    env
}

pub(crate) fn tv() -> ClientAuth {
    ClientAuth::public(TV)
}

async fn device_authorization(env: &Env, auth: &ClientAuth, scope: Option<&str>) -> Reply {
    let url = env.server.url("/device_authorization").unwrap();
    let mut form = Vec::new();
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    post_form(env.server.http(), url.as_str(), auth, &form)
        .await
        .unwrap()
}

/// Device codes for the TV: `(device_code, user_code)`.
pub(crate) async fn start(env: &Env) -> (String, String) {
    let reply = device_authorization(env, &tv(), Some(DEVICE_SCOPE)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    (
        reply.str("device_code").unwrap().to_owned(),
        reply.str("user_code").unwrap().to_owned(),
    )
}

pub(crate) async fn poll(env: &Env, auth: &ClientAuth, device_code: &str) -> Reply {
    env.server
        .token(
            auth,
            &[("grant_type", DEVICE_GRANT), ("device_code", device_code)],
        )
        .await
        .unwrap()
}

fn device_url(env: &Env, user_code: Option<&str>) -> Url {
    let mut url = env.server.url("/device").unwrap();
    if let Some(code) = user_code {
        url.query_pairs_mut().append_pair("user_code", code);
    }
    url
}

/// Follows same-server 303s from `page`.
async fn follow(browser: &Browser, mut page: Page) -> Page {
    for _ in 0..5 {
        if !page.status.is_redirection() {
            break;
        }
        let next = page.location().expect("Location");
        page = browser.get(&next).await.unwrap();
    }
    page
}

/// A browser signed in as alice through the device page's own sign-in form; returns the page
/// reached for `user_code` (typed as given).
async fn signed_in(env: &Env, user_code: &str) -> (Browser, Page) {
    let browser = env.server.browser().unwrap();
    let page = browser
        .get(&device_url(env, Some(user_code)))
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    let mut form = page.login_form().expect("the device page asks to sign in");
    form.set("username", ALICE);
    form.set("password", ALICE_PASSWORD);
    let after = browser.submit(&page, &form, None).await.unwrap();
    assert_eq!(after.status, 303, "sign-in answers 303 (RED-14)");
    let page = follow(&browser, after).await;
    (browser, page)
}

/// Presses Allow or Deny on a confirmation page and returns the final page.
async fn decide(browser: &Browser, page: &Page, allow: bool) -> Page {
    let form = page
        .forms()
        .into_iter()
        .find(|f| f.action.contains("/device") && f.method == "post")
        .expect("decision form");
    let words: &[&str] = if allow { &["allow"] } else { &["deny"] };
    let button = form.button_matching(words).expect("decision button");
    let reply = browser.submit(page, &form, Some(button)).await.unwrap();
    assert_eq!(reply.status, 303, "decision answers 303 (RED-14)");
    follow(browser, reply).await
}

async fn approve(env: &Env, user_code: &str) {
    let (browser, page) = signed_in(env, user_code).await;
    let done = decide(&browser, &page, true).await;
    assert!(done.body.contains("Device connected"), "{}", done.body);
}

#[tokio::test]
async fn device_flow_end_to_end() {
    let env = env().await;
    let doc = env.server.discovery().await.unwrap();
    assert_eq!(
        doc["device_authorization_endpoint"].as_str(),
        Some(format!("{}/device_authorization", env.server.issuer()).as_str())
    );
    assert!(
        doc["grant_types_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g == DEVICE_GRANT)
    );

    let reply = device_authorization(&env, &tv(), Some(DEVICE_SCOPE)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.header("cache-control").unwrap().contains("no-store"));
    let device_code = reply.str("device_code").unwrap().to_owned();
    let user_code = reply.str("user_code").unwrap().to_owned();
    assert!(device_code.len() >= 43, "device codes carry 256 bits");
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(
        user_code
            .chars()
            .all(|c| c == '-' || "23456789ABCDEFGHJKLMNPQRSTUVWXYZ".contains(c)),
        "{user_code}"
    );
    let verification_uri = reply.str("verification_uri").unwrap();
    assert_eq!(verification_uri, format!("{}/device", env.server.issuer()));
    let complete = Url::parse(reply.str("verification_uri_complete").unwrap()).unwrap();
    assert_eq!(
        complete
            .query_pairs()
            .find(|(k, _)| k == "user_code")
            .unwrap()
            .1,
        user_code
    );
    assert_eq!(reply.json["expires_in"], 600);
    assert_eq!(reply.json["interval"], 5);

    let pending = poll(&env, &tv(), &device_code).await;
    assert_token_error(&pending, 400, "authorization_pending");

    // The user types the code in lower case without the dash.
    let typed = user_code.replace('-', "").to_lowercase();
    let (browser, page) = signed_in(&env, &typed).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert!(page.body.contains(TV_NAME), "the page names the app");
    assert!(page.body.contains(&user_code), "the page shows the code");
    assert!(
        page.body.contains("orders:read"),
        "the page lists the scopes"
    );
    assert!(page.body.contains("See your name and username"));
    let done = decide(&browser, &page, true).await;
    assert!(done.body.contains("Device connected"));

    env.server.advance(5);
    let tokens = poll(&env, &tv(), &device_code).await;
    assert_token_ok(&tokens);
    assert_eq!(tokens.str("scope"), Some("openid orders:read profile"));
    let access = tokens.str("access_token").unwrap();
    let claims = env.server.verify_access_token(access, API).await.unwrap();
    assert_eq!(claims["sub"], env.alice_sub.as_str());
    assert_eq!(claims["client_id"], TV);
    let id_token = tokens.str("id_token").expect("openid gives an ID token");
    let id = env.server.verify_id_token(id_token, TV).await.unwrap();
    assert_eq!(id["sub"], env.alice_sub.as_str());
    let refresh = tokens.str("refresh_token").expect("the TV may refresh");
    let refreshed = env.server.refresh(&tv(), refresh, None).await.unwrap();
    assert_token_ok(&refreshed);
}

#[tokio::test]
async fn device_slow_down_adds_five_seconds() {
    let env = env().await;
    let (device_code, _) = start(&env).await;
    assert_token_error(
        &poll(&env, &tv(), &device_code).await,
        400,
        "authorization_pending",
    );
    // Polled again at once: slow down, and the interval becomes 10 s.
    assert_token_error(&poll(&env, &tv(), &device_code).await, 400, "slow_down");
    env.server.advance(5);
    // 5 s is no longer enough: slow down again (interval now 15 s).
    assert_token_error(&poll(&env, &tv(), &device_code).await, 400, "slow_down");
    env.server.advance(15);
    assert_token_error(
        &poll(&env, &tv(), &device_code).await,
        400,
        "authorization_pending",
    );
}

#[tokio::test]
async fn device_access_denied() {
    let env = env().await;
    let (device_code, user_code) = start(&env).await;
    let (browser, page) = signed_in(&env, &user_code).await;
    let done = decide(&browser, &page, false).await;
    assert!(done.body.contains("Access denied"));
    assert_token_error(&poll(&env, &tv(), &device_code).await, 400, "access_denied");
    // The user code was decided once; it cannot be approved afterwards.
    let again = browser
        .get(&device_url(&env, Some(&user_code)))
        .await
        .unwrap();
    assert_eq!(again.status, 400);
    env.server.advance(5);
    assert_token_error(&poll(&env, &tv(), &device_code).await, 400, "access_denied");
}

#[tokio::test]
async fn device_expired_token() {
    let env = env().await;
    let (device_code, user_code) = start(&env).await;
    env.server.advance(601);
    assert_token_error(&poll(&env, &tv(), &device_code).await, 400, "expired_token");
    let (_, page) = signed_in(&env, &user_code).await;
    assert_eq!(page.status, 400, "an expired user code is not accepted");
    assert!(page.body.contains("not valid"));
}

#[tokio::test]
async fn device_code_redeemed_once() {
    let env = env().await;
    let (device_code, user_code) = start(&env).await;
    approve(&env, &user_code).await;
    let tv = tv();
    let replies = join_all((0..8).map(|_| poll(&env, &tv, &device_code)).collect()).await;
    let ok = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 1, "exactly one concurrent poll redeems the code");
    for r in replies.iter().filter(|r| r.status != 200) {
        assert_token_error(r, 400, "invalid_grant");
    }
    assert_token_error(&poll(&env, &tv, &device_code).await, 400, "invalid_grant");
}

/// Runs the futures concurrently on this task.
pub async fn join_all<F: std::future::Future<Output = Reply>>(futures: Vec<F>) -> Vec<Reply> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<Reply>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if results[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(r) => results[i] = Some(r),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    results.into_iter().map(Option::unwrap).collect()
}

#[tokio::test]
async fn device_user_code_guessing_is_throttled() {
    // A throttle window shorter than the code lifetime, to see the code work again after it.
    let env = env_with(portcullis_testkit::TestServer::builder().configure(|s| {
        s.login_throttle.window_secs = 120;
    }))
    .await;
    let (device_code, user_code) = start(&env).await;
    let (browser, first) = signed_in(&env, "BCDF-GHJK").await;
    assert_eq!(first.status, 400, "unknown user code");
    for guess in ["BCDF-GHJL", "BCDF-GHJM", "BCDF-GHJN", "BCDF-GHJP"] {
        let page = browser.get(&device_url(&env, Some(guess))).await.unwrap();
        assert_eq!(page.status, 400, "{guess}");
    }
    // Five failures: even the right code is no longer looked up.
    let page = browser
        .get(&device_url(&env, Some(&user_code)))
        .await
        .unwrap();
    assert_eq!(page.status, 429);
    assert!(page.body.contains("Too many wrong codes"));
    assert_token_error(
        &poll(&env, &tv(), &device_code).await,
        400,
        "authorization_pending",
    );
    // After the throttle window the right code works again.
    env.server.advance(121);
    let page = browser
        .get(&device_url(&env, Some(&user_code)))
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains(TV_NAME));
}

#[tokio::test]
async fn device_unknown_codes() {
    let env = env().await;
    let (_, page) = signed_in(&env, "WDJB-MJHT").await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("not valid"));
    let (_, page) = signed_in(&env, "not-a-code-0").await;
    assert_eq!(page.status, 400);
    assert_token_error(
        &poll(&env, &tv(), "no-such-device-code").await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn device_code_bound_to_its_client() {
    let env = env().await;
    let (device_code, user_code) = start(&env).await;
    approve(&env, &user_code).await;
    let cli = ClientAuth::basic(CLI, CLI_SECRET);
    assert_token_error(&poll(&env, &cli, &device_code).await, 400, "invalid_grant");
    assert_token_ok(&poll(&env, &tv(), &device_code).await);
}

#[tokio::test]
async fn device_authorization_request_errors() {
    let env = env().await;
    // TOK-8: a client not registered for the grant.
    let reply = device_authorization(&env, &env.web_auth(), Some("openid")).await;
    assert_token_error(&reply, 400, "unauthorized_client");
    // TOK-9: a scope beyond the client's.
    let reply = device_authorization(&env, &tv(), Some("openid orders:write")).await;
    assert_token_error(&reply, 400, "invalid_scope");
    // TOK-12: the confidential client must authenticate.
    let reply = device_authorization(
        &env,
        &ClientAuth::basic(CLI, "wrong-secret-000000000"),
        None,
    )
    .await;
    assert_token_error(&reply, 401, "invalid_client");
    let reply = device_authorization(&env, &ClientAuth::basic(CLI, CLI_SECRET), None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    // TOK-8 at the token endpoint too.
    let reply = poll(&env, &env.web_auth(), "whatever").await;
    assert_token_error(&reply, 400, "unauthorized_client");
}

#[tokio::test]
async fn ui_3_device_decision_needs_the_session_csrf_token() {
    let env = env().await;
    let (device_code, user_code) = start(&env).await;
    let (browser, page) = signed_in(&env, &user_code).await;
    let form = page
        .forms()
        .into_iter()
        .find(|f| f.method == "post")
        .unwrap();
    let mut fields: Vec<(String, String)> = form
        .fields
        .iter()
        .filter(|(k, _)| k != "csrf")
        .cloned()
        .collect();
    fields.push(("csrf".into(), "forged".into()));
    fields.push(("decision".into(), "allow".into()));
    let reply = browser
        .post_form(&device_url(&env, None), &fields)
        .await
        .unwrap();
    assert_eq!(reply.status, 400);
    // Another browser (no session) posting the real form is sent to sign in.
    let other = env.server.browser().unwrap();
    let mut fields = form.fields.clone();
    fields.push(("decision".into(), "allow".into()));
    let reply = other
        .post_form(&device_url(&env, None), &fields)
        .await
        .unwrap();
    assert_eq!(reply.status, 303);
    assert_token_error(
        &poll(&env, &tv(), &device_code).await,
        400,
        "authorization_pending",
    );
}

#[tokio::test]
async fn tok_13_locked_account_cannot_redeem_device_code() {
    let env = env().await;
    let (device_code, user_code) = start(&env).await;
    approve(&env, &user_code).await;
    // The account gets locked by failed sign-ins after the approval.
    let browser = env.server.browser().unwrap();
    for _ in 0..5 {
        let page = browser.get(&device_url(&env, None)).await.unwrap();
        let mut form = page.login_form().unwrap();
        form.set("username", ALICE);
        form.set("password", "wrong password");
        let reply = browser.submit(&page, &form, None).await.unwrap();
        assert_eq!(reply.status, 303);
    }
    assert_token_error(&poll(&env, &tv(), &device_code).await, 400, "invalid_grant");
}

/// The independent `oauth2` crate asks for codes and polls with `exchange_device_access_token`
/// while the user approves in a browser. Its sleep function moves the server's clock instead of
/// waiting.
#[tokio::test]
async fn interop_oauth2_crate_device_flow() {
    use oauth2::basic::BasicClient;
    use oauth2::{
        ClientId, DeviceAuthorizationUrl, Scope, StandardDeviceAuthorizationResponse,
        TokenResponse, TokenUrl,
    };

    let env = env().await;
    let client = BasicClient::new(ClientId::new(TV.to_owned()))
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(format!("{}/device_authorization", env.server.issuer()))
                .unwrap(),
        )
        .set_token_uri(TokenUrl::new(env.server.endpoints().token.to_string()).unwrap());
    let http = oauth2::reqwest::ClientBuilder::new()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("openid".to_owned()))
        .add_scope(Scope::new("orders:read".to_owned()))
        .request_async(&http)
        .await
        .expect("the oauth2 crate accepts the device authorization response");
    let user_code = details.user_code().secret().clone();
    assert_eq!(
        details.verification_uri().as_str(),
        format!("{}/device", env.server.issuer())
    );

    let polls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let approved = std::sync::Arc::new(tokio::sync::Notify::new());
    let clock = env.server.clock().clone();
    let sleep = {
        let polls = polls.clone();
        let approved = approved.clone();
        move |d: std::time::Duration| {
            let polls = polls.clone();
            let approved = approved.clone();
            let clock = clock.clone();
            async move {
                // The first wait lasts until the user has approved.
                if polls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                    approved.notified().await;
                }
                clock.advance(i64::try_from(d.as_secs()).unwrap());
            }
        }
    };
    let device = client.exchange_device_access_token(&details).request_async(
        &http,
        sleep,
        Some(std::time::Duration::from_secs(300)),
    );
    let user = async {
        approve(&env, &user_code).await;
        approved.notify_one();
    };
    let (token, ()) = tokio::join!(device, user);
    let token = token.expect("the oauth2 crate obtains the token by polling");
    assert!(polls.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    let claims = env
        .server
        .verify_access_token(token.access_token().secret(), API)
        .await
        .unwrap();
    assert_eq!(claims["sub"], env.alice_sub.as_str());
    assert_eq!(claims["scope"], "openid orders:read");
    assert!(token.refresh_token().is_some());
}

/// The same flow on SQLite: the artifacts' compare-and-swap and take work there too.
#[tokio::test]
async fn device_flow_on_sqlite() {
    let env = env_with(
        portcullis_testkit::TestServer::builder().store(portcullis_testkit::StoreKind::Sqlite),
    )
    .await;
    let (device_code, user_code) = start(&env).await;
    assert_token_error(
        &poll(&env, &tv(), &device_code).await,
        400,
        "authorization_pending",
    );
    assert_token_error(&poll(&env, &tv(), &device_code).await, 400, "slow_down");
    approve(&env, &user_code).await;
    env.server.advance(10);
    assert_token_ok(&poll(&env, &tv(), &device_code).await);
    assert_token_error(&poll(&env, &tv(), &device_code).await, 400, "invalid_grant");
}

/// Two browsers answer the same code at once: exactly one decision is recorded.
#[tokio::test]
async fn device_user_code_decided_once_under_concurrency() {
    let env = env().await;
    let (device_code, user_code) = start(&env).await;
    let (yes_browser, yes_page) = signed_in(&env, &user_code).await;
    let (no_browser, no_page) = signed_in(&env, &user_code).await;
    let submit = |browser: Browser, page: Page, word: &'static str| async move {
        let form = page
            .forms()
            .into_iter()
            .find(|f| f.method == "post")
            .unwrap();
        let button = form.button_matching(&[word]).unwrap();
        browser.submit(&page, &form, Some(button)).await.unwrap()
    };
    let (yes, no) = tokio::join!(
        submit(yes_browser, yes_page, "allow"),
        submit(no_browser, no_page, "deny")
    );
    let mut statuses = [yes.status.as_u16(), no.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [303, 400],
        "one decision wins, the other is refused"
    );
    env.server.advance(5);
    let reply = poll(&env, &tv(), &device_code).await;
    if yes.status == 303 {
        assert_token_ok(&reply);
    } else {
        assert_token_error(&reply, 400, "access_denied");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dos_4_concurrent_user_code_guesses_check_at_most_the_limit() {
    // A store with real I/O between counting and looking up, where interleaving is likely.
    let env = env_with(
        portcullis_testkit::TestServer::builder().store(portcullis_testkit::StoreKind::Sqlite),
    )
    .await;
    let (_, user_code) = start(&env).await;
    // Signing in with the right code: finding a code is no failure.
    let (browser, first) = signed_in(&env, &user_code).await;
    assert_eq!(first.status, 200);
    let max = env.server.config().login_throttle.max_failures;
    let url = device_url(&env, Some("BCDF-GHJK"));
    let pages = join_concurrently((0..40).map(|_| browser.get(&url)).collect()).await;
    let statuses: Vec<u16> = pages
        .iter()
        .map(|p| p.as_ref().unwrap().status.as_u16())
        .collect();
    let checked = statuses.iter().filter(|s| **s == 400).count();
    assert_eq!(
        checked, max as usize,
        "exactly the limit of 40 concurrent guesses were looked up: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 400 || *s == 429),
        "{statuses:?}"
    );
    // Now even the right code is refused unchecked.
    let page = browser
        .get(&device_url(&env, Some(&user_code)))
        .await
        .unwrap();
    assert_eq!(page.status, 429);
}
