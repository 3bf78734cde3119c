//! The admin console on the admin listener: signing in through the server's own login and
//! consent pages in a real browser (headless Chromium, see `chromium.rs`), then registering a
//! client, creating a user with a role, ending a user's browser session and rotating the keys,
//! each read back through the admin API with the console's own token and, against the real
//! binary (which stores the audit trail), on the console's audit trail page; and, over plain HTTP,
//! the refusals: no token, a user without the `admin` role, a form without its CSRF token, a
//! sign-in response that does not belong to the browser's sign-in, a token lacking a scope.

use crate::chromium::{Chromium, Screens, click, fill, text};
use crate::common::*;
use crate::process::Served;
use fantoccini::Client;
use portcullis_jose::Clock as _;
use portcullis_jose::time::SystemClock;
use portcullis_server::admin::{self, UserUpdate};
use portcullis_testkit::{Browser, Consent, Page, TestServer, user_record};
use portcullis_types::{GroupName, RoleName};
use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

/// The console's token cookie (`HttpOnly`: read here through the WebDriver, never by script).
const TOKEN_COOKIE: &str = "portcullis_console";

/// A server with an admin listener, alice holding the role `admin` and bob none.
async fn console_env() -> Env {
    let env = Env::start_with(TestServer::builder().admin_listener()).await;
    admin::update_user(
        env.server.store().as_ref(),
        ALICE,
        UserUpdate {
            add_roles: vec![RoleName::parse("admin").unwrap()],
            ..UserUpdate::default()
        },
    )
    .await
    .unwrap();
    env
}

fn console(env: &Env, path: &str) -> Url {
    env.server
        .admin_url(&format!("/admin/console{path}"))
        .unwrap()
}

/// Opens the console and signs in as `user` on the server's login and consent pages.
async fn browser_sign_in(browser: &Client, env: &Env, shots: &mut Screens, user: &str, pw: &str) {
    browser.goto(console(env, "/").as_str()).await.unwrap();
    // Not signed in: the console sent the browser to the server's login page.
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(env.server.issuer()),
        "not at the login page"
    );
    shots.take(browser, "login").await;
    fill(browser, "#username", user).await;
    fill(browser, "#password", pw).await;
    click(browser, "form[action='/login'] button[type=submit]").await;
    shots.take(browser, "consent").await;
    click(browser, "button[value=allow]").await;
    // The callback page moves on to the console by itself.
    for _ in 0..100 {
        let at = browser.current_url().await.unwrap();
        if at.path() != "/admin/console/callback" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The console's access token, from the browser's cookie jar.
async fn console_token(browser: &Client) -> String {
    browser
        .get_named_cookie(TOKEN_COOKIE)
        .await
        .expect("the console's cookie")
        .value()
        .to_owned()
}

/// `GET` on the admin API with `token`.
async fn api_get(env: &Env, token: &str, path: &str) -> (StatusCode, Value) {
    let response = env
        .server
        .http()
        .get(env.server.admin_url(path).unwrap())
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Goes to a console page and photographs it.
async fn visit(browser: &Client, env: &Env, shots: &mut Screens, path: &str, name: &str) {
    browser.goto(console(env, path).as_str()).await.unwrap();
    shots.take(browser, name).await;
}

#[tokio::test]
async fn an_admin_manages_the_server_from_the_console() {
    let Some(chromium) = Chromium::start().await else {
        return;
    };
    let env = console_env().await;
    let browser = chromium.browser("en-US").await;
    let mut shots = Screens::new("admin_console");
    let shown = shots.dir().display().to_string();

    browser_sign_in(&browser, &env, &mut shots, ALICE, ALICE_PASSWORD).await;
    assert_eq!(
        text(&browser, "h1").await,
        "Administration",
        "screenshots: {shown}"
    );
    shots.take(&browser, "home").await;
    let cookie = browser.get_named_cookie(TOKEN_COOKIE).await.unwrap();
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.path(), Some("/admin/console"));
    let from_script = browser
        .execute("return document.cookie", Vec::new())
        .await
        .unwrap();
    assert!(
        !from_script
            .as_str()
            .unwrap_or_default()
            .contains(TOKEN_COOKIE),
        "the token cookie is readable by script"
    );
    let token = console_token(&browser).await;

    // Register a confidential client: its secret is shown once.
    visit(&browser, &env, &mut shots, "/clients", "clients").await;
    click(&browser, "a[href='/admin/console/clients/new']").await;
    shots.take(&browser, "client-form").await;
    fill(&browser, "#client_id", "console-made").await;
    fill(&browser, "#name", "Made in the console").await;
    fill(&browser, "#redirect_uris", "https://made.example/cb").await;
    click(
        &browser,
        "form[action='/admin/console/clients'] button[type=submit]",
    )
    .await;
    shots.take(&browser, "client-registered").await;
    let secret = text(&browser, "#client-secret").await;
    assert!(
        secret.len() >= 32,
        "secret {secret:?}; screenshots: {shown}"
    );
    let (status, client) = api_get(&env, &token, "/admin/v1/clients/console-made").await;
    assert_eq!(status, StatusCode::OK, "{client}");
    assert_eq!(client["name"], "Made in the console");
    assert_eq!(client["confidential"], true);
    assert_eq!(client["redirect_uris"][0], "https://made.example/cb");

    // Rotate its secret, confirming first: a new one is shown once.
    visit(
        &browser,
        &env,
        &mut shots,
        "/clients?q=console-made",
        "clients-search",
    )
    .await;
    click(
        &browser,
        "form[action='/admin/console/clients/console-made/secret'] button",
    )
    .await;
    shots.take(&browser, "confirm-rotate-secret").await;
    click(&browser, "button.danger").await;
    shots.take(&browser, "secret-rotated").await;
    let rotated = text(&browser, "#client-secret").await;
    assert!(
        rotated.len() >= 32 && rotated != secret,
        "screenshots: {shown}"
    );

    // Create a user holding a role.
    visit(&browser, &env, &mut shots, "/users/new", "user-form").await;
    fill(&browser, "#username", "carol").await;
    fill(&browser, "#password", "a long enough passphrase for carol").await;
    fill(&browser, "#email", "carol@example.com").await;
    fill(&browser, "#roles", "admin").await;
    click(
        &browser,
        "form[action='/admin/console/users'] button[type=submit]",
    )
    .await;
    shots.take(&browser, "user-created").await;
    let (status, carol) = api_get(&env, &token, "/admin/v1/users/carol").await;
    assert_eq!(status, StatusCode::OK, "{carol}");
    assert_eq!(carol["roles"], serde_json::json!(["admin"]));
    assert_eq!(carol["email"], "carol@example.com");

    // Bob signs in to the server (a browser session of his own), then is signed out
    // everywhere from the console, after a confirmation step.
    let bob = Browser::new(env.server.base_url().clone()).unwrap();
    let request = env.web_request("openid profile");
    bob.walk(
        &request.url(&env.server),
        Some((BOB, BOB_PASSWORD)),
        Consent::Approve,
    )
    .await
    .unwrap()
    .redirect()
    .unwrap();
    let account = env.server.url("/account").unwrap();
    assert_eq!(bob.get(&account).await.unwrap().status, StatusCode::OK);
    visit(&browser, &env, &mut shots, "/users?q=bo", "users-search").await;
    click(&browser, "td a").await;
    shots.take(&browser, "user-detail").await;
    assert_eq!(text(&browser, "#state").await, "active");
    click(&browser, "#sessions form[action$='/end'] button").await;
    shots.take(&browser, "confirm-end-session").await;
    assert_eq!(text(&browser, "h1").await, "End session");
    click(&browser, "button.danger").await;
    shots.take(&browser, "session-ended").await;
    let notice = text(&browser, "p.notice").await;
    assert!(
        notice.contains("Ended the session"),
        "{notice}; screenshots: {shown}"
    );
    let after = bob.get(&account).await.unwrap();
    assert_ne!(after.status, StatusCode::OK, "bob's session survived");

    // Rotate the keys, confirming first.
    let (_, before) = api_get(&env, &token, "/admin/v1/keys").await;
    visit(&browser, &env, &mut shots, "/keys", "keys").await;
    click(&browser, "form[action='/admin/console/keys/rotate'] button").await;
    shots.take(&browser, "confirm-rotate").await;
    click(&browser, "button.danger").await;
    shots.take(&browser, "keys-rotated").await;
    let (_, keys) = api_get(&env, &token, "/admin/v1/keys").await;
    assert!(
        keys.as_array().unwrap().len() > before.as_array().unwrap().len(),
        "before {before}, after {keys}"
    );

    // The other screens render for the admin.
    visit(&browser, &env, &mut shots, "/roles", "roles").await;
    assert_eq!(text(&browser, "h1").await, "Roles and groups");
    visit(&browser, &env, &mut shots, "/upstreams", "upstreams").await;
    assert_eq!(text(&browser, "h1").await, "Upstream identity providers");
    visit(
        &browser,
        &env,
        &mut shots,
        "/audit?event=admin_change",
        "audit",
    )
    .await;
    assert_eq!(text(&browser, "h1").await, "Audit trail");

    // Signing out revokes the token: the API refuses it from then on.
    click(&browser, "form[action='/admin/console/logout'] button").await;
    shots.take(&browser, "signed-out-of-console").await;
    let (status, _) = api_get(&env, &token, "/admin/v1/clients").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    browser.close().await.unwrap();
}

#[tokio::test]
async fn a_user_without_the_admin_role_is_refused_in_the_browser() {
    let Some(chromium) = Chromium::start().await else {
        return;
    };
    let env = console_env().await;
    let browser = chromium.browser("en-US").await;
    let mut shots = Screens::new("admin_console_refused");
    browser_sign_in(&browser, &env, &mut shots, BOB, BOB_PASSWORD).await;
    shots.take(&browser, "refused").await;
    assert_eq!(text(&browser, "h1").await, "Not allowed");
    assert!(text(&browser, "p.error").await.contains("admin role"));
    assert!(browser.get_named_cookie(TOKEN_COOKIE).await.is_err());
    browser.close().await.unwrap();
}

/// The `Set-Cookie` header of `page` that sets the cookie `name`.
fn set_cookie(page: &Page, name: &str) -> Option<String> {
    page.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// Signs `user` in to the console over HTTP; gives the browser and the callback's answer.
async fn http_sign_in(env: &Env, user: &str, password: &str) -> (Browser, Page) {
    let browser = Browser::new(env.server.base_url().clone()).unwrap();
    let start = browser.get(&console(env, "/login")).await.unwrap();
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    let authorize = start.location().unwrap();
    let callback = browser
        .walk(&authorize, Some((user, password)), Consent::Approve)
        .await
        .unwrap()
        .redirect()
        .unwrap();
    assert_eq!(callback.path(), "/admin/console/callback");
    let landed = browser.get(&callback).await.unwrap();
    (browser, landed)
}

#[tokio::test]
async fn the_console_refuses_what_the_api_would() {
    let env = console_env().await;

    // No token: to the sign-in.
    let anonymous = Browser::new(env.server.base_url().clone()).unwrap();
    let page = anonymous.get(&console(&env, "/clients")).await.unwrap();
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.header("location"), Some("/admin/console/login"));

    // A user without the role gets a 403 page and no token cookie.
    let (bob, refused) = http_sign_in(&env, BOB, BOB_PASSWORD).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(set_cookie(&refused, TOKEN_COOKIE), None);
    let page = bob.get(&console(&env, "/users")).await.unwrap();
    assert_eq!(page.status, StatusCode::SEE_OTHER);

    // The admin is let in, with the page headers of the server's own pages.
    let (alice, landed) = http_sign_in(&env, ALICE, ALICE_PASSWORD).await;
    assert_eq!(landed.status, StatusCode::OK, "{}", landed.body);
    let cookie = set_cookie(&landed, TOKEN_COOKIE).expect("the token cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin/console"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let users = alice.get(&console(&env, "/users")).await.unwrap();
    assert_eq!(users.status, StatusCode::OK);
    let csp = users.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );

    // A form without the CSRF token, or with another, changes nothing.
    let create = console(&env, "/roles");
    let no_token = alice
        .post_form(&create, &[("name".into(), "csrf-less".into())])
        .await
        .unwrap();
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let forged = alice
        .post_form(
            &create,
            &[
                ("name".into(), "csrf-less".into()),
                ("csrf".into(), "forged".into()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let roles = admin::list_roles(env.server.store().as_ref())
        .await
        .unwrap();
    assert!(roles.iter().all(|r| r.name.as_str() != "csrf-less"));

    // A destructive action with the token but without confirmation only asks.
    let csrf = users.form_field("csrf").unwrap();
    let asked = alice
        .post_form(
            &console(&env, &format!("/users/{BOB}/disable")),
            &[("csrf".into(), csrf.clone())],
        )
        .await
        .unwrap();
    assert_eq!(asked.status, StatusCode::OK);
    assert!(asked.body.contains("name=\"confirm\""), "{}", asked.body);
    let bob_record = admin::find_user(env.server.store().as_ref(), BOB)
        .await
        .unwrap()
        .unwrap();
    assert!(!bob_record.disabled);
    let done = alice
        .post_form(
            &console(&env, &format!("/users/{BOB}/disable")),
            &[("csrf".into(), csrf), ("confirm".into(), "yes".into())],
        )
        .await
        .unwrap();
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let bob_record = admin::find_user(env.server.store().as_ref(), BOB)
        .await
        .unwrap()
        .unwrap();
    assert!(bob_record.disabled);

    // A sign-in answer that does not carry the state of the browser's sign-in is refused.
    alice.get(&console(&env, "/login")).await.unwrap();
    let stray = alice
        .get(&console(&env, "/callback?code=abc&state=not-mine"))
        .await
        .unwrap();
    assert_eq!(stray.status, StatusCode::BAD_REQUEST);
}

/// Registers `client` straight in the store.
async fn register(env: &Env, client: portcullis_server::config::ClientConfig) {
    admin::add_client(
        env.server.store().as_ref(),
        env.server.clock().as_ref(),
        env.server.config(),
        client,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn each_console_page_needs_the_scope_the_api_needs() {
    let env = console_env().await;
    register(
        &env,
        portcullis_server::config::ClientConfig {
            client_id: "clients-reader".into(),
            secret: Some(portcullis_types::ClientSecret::new(
                "clients-reader-secret-0123456789abcdef",
            )),
            grant_types: vec![portcullis_types::GrantType::ClientCredentials],
            scope: Some("admin:clients:read".to_owned()),
            audience: vec![portcullis_server::admin_api::admin_audience(
                env.server.issuer(),
            )],
            roles: vec![RoleName::parse("admin").unwrap()],
            ..Default::default()
        },
    )
    .await;
    let reply = env
        .server
        .client_credentials(
            &portcullis_testkit::ClientAuth::basic(
                "clients-reader",
                "clients-reader-secret-0123456789abcdef",
            ),
            None,
        )
        .await
        .unwrap();
    let token = reply.json["access_token"].as_str().unwrap();
    let get = |path: &str| {
        env.server
            .http()
            .get(console(&env, path))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(get("/clients").await.unwrap().status(), StatusCode::OK);
    let users = get("/users").await.unwrap();
    assert_eq!(users.status(), StatusCode::FORBIDDEN);
    assert!(users.text().await.unwrap().contains("admin:users:read"));
    assert_eq!(get("/keys").await.unwrap().status(), StatusCode::FORBIDDEN);
}

/// The audit trail page after each change, reloaded until the event written in the
/// background shows (a bound, not a timing assertion), as the table's text.
async fn audit_trail_showing(browser: &Client, at: &str, wanted: &[&str]) -> String {
    let mut shown = String::new();
    for _ in 0..100 {
        browser.goto(at).await.unwrap();
        shown = text(browser, "#audit").await;
        if wanted.iter().all(|w| shown.contains(w)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    shown
}

/// Through the real binary, whose `serve` stores the audit trail: an admin registers a client,
/// adds a user with a role, ends that user's browser session and rotates the keys in the
/// console, and reads each change back on the console's audit trail page, naming the admin.
#[tokio::test]
async fn each_console_change_is_read_back_on_the_audit_trail() {
    let Some(chromium) = Chromium::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("portcullis.db").display());
    let store = portcullis_server::store::connect(&database).await.unwrap();
    let now = SystemClock.now().as_secs();
    let admin_role = RoleName::parse("admin").unwrap();
    admin::add_role(store.as_ref(), &SystemClock, admin_role.clone(), None)
        .await
        .unwrap();
    let mut alice = user_record(ALICE, ALICE_PASSWORD, now).unwrap();
    alice.roles = vec![admin_role];
    store.put_user(alice.clone()).await.unwrap();
    drop(store);
    let admin_addr = format!(
        "127.0.0.1:{}",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    let served = Served::start(
        &database,
        &[("PORTCULLIS_ADMIN_LISTEN", &admin_addr)],
        &dir.path().join("serve.log"),
    )
    .await;
    let console = |path: &str| format!("http://{admin_addr}/admin/console{path}");
    let browser = chromium.browser("en-US").await;
    let mut shots = Screens::new("admin_console_audit_trail");
    let shown = shots.dir().display().to_string();

    // Sign in through the server's own pages.
    browser.goto(&console("/")).await.unwrap();
    fill(&browser, "#username", ALICE).await;
    fill(&browser, "#password", ALICE_PASSWORD).await;
    click(&browser, "form[action='/login'] button[type=submit]").await;
    click(&browser, "button[value=allow]").await;
    for _ in 0..100 {
        if browser.current_url().await.unwrap().path() != "/admin/console/callback" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        text(&browser, "h1").await,
        "Administration",
        "screenshots: {shown}"
    );
    let actor = alice.id.as_str();
    let audit = console("/audit?event=admin_change");

    // A client.
    browser.goto(&console("/clients/new")).await.unwrap();
    fill(&browser, "#client_id", "audited-client").await;
    fill(&browser, "#redirect_uris", "https://audited.example/cb").await;
    click(
        &browser,
        "form[action='/admin/console/clients'] button[type=submit]",
    )
    .await;
    shots.take(&browser, "client-registered").await;
    let trail = audit_trail_showing(&browser, &audit, &["client_created", "audited-client"]).await;
    shots.take(&browser, "audit-client").await;
    assert!(
        trail.contains("client_created") && trail.contains("audited-client"),
        "{trail}; screenshots: {shown}"
    );
    assert!(
        trail.contains(actor) && trail.contains("portcullis-admin-console"),
        "{trail}"
    );

    // A user holding a role.
    browser.goto(&console("/users/new")).await.unwrap();
    fill(&browser, "#username", "carol").await;
    fill(&browser, "#password", "a long enough passphrase for carol").await;
    fill(&browser, "#roles", "admin").await;
    click(
        &browser,
        "form[action='/admin/console/users'] button[type=submit]",
    )
    .await;
    shots.take(&browser, "user-created").await;
    let trail = audit_trail_showing(&browser, &audit, &["user_created"]).await;
    shots.take(&browser, "audit-user").await;
    assert!(
        trail.contains("user_created"),
        "{trail}; screenshots: {shown}"
    );

    // Carol signs in to the server (a browser session of her own); the admin ends it.
    let carol = Browser::new(served.base().clone()).unwrap();
    let start = carol
        .get(&Url::parse(&console("/login")).unwrap())
        .await
        .unwrap();
    carol
        .walk(
            &start.location().unwrap(),
            Some(("carol", "a long enough passphrase for carol")),
            Consent::Approve,
        )
        .await
        .unwrap()
        .redirect()
        .unwrap();
    browser.goto(&console("/users?q=carol")).await.unwrap();
    click(&browser, "td a").await;
    click(&browser, "#sessions form[action$='/end'] button").await;
    click(&browser, "button.danger").await;
    shots.take(&browser, "session-ended").await;
    let trail = audit_trail_showing(&browser, &audit, &["session_ended"]).await;
    shots.take(&browser, "audit-session").await;
    assert!(
        trail.contains("session_ended"),
        "{trail}; screenshots: {shown}"
    );

    // The signing keys.
    browser.goto(&console("/keys")).await.unwrap();
    click(&browser, "form[action='/admin/console/keys/rotate'] button").await;
    click(&browser, "button.danger").await;
    shots.take(&browser, "keys-rotated").await;
    let trail = audit_trail_showing(&browser, &audit, &["keys_rotated"]).await;
    shots.take(&browser, "audit-keys").await;
    assert!(
        trail.contains("keys_rotated"),
        "{trail}; screenshots: {shown}"
    );
}

#[tokio::test]
async fn the_console_edits_a_user_and_sets_its_password() {
    let env = console_env().await;
    let store = env.server.store().as_ref();
    let clock = env.server.clock().as_ref();
    admin::add_role(store, clock, RoleName::parse("auditor").unwrap(), None)
        .await
        .unwrap();
    admin::add_group(store, clock, GroupName::parse("staff").unwrap(), vec![])
        .await
        .unwrap();
    let (alice, _) = http_sign_in(&env, ALICE, ALICE_PASSWORD).await;
    let page = alice
        .get(&console(&env, &format!("/users/{BOB}")))
        .await
        .unwrap();
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for label in [
        "for=\"email\"",
        "for=\"add_roles\"",
        "for=\"password\"",
        "signs the user out everywhere",
    ] {
        assert!(page.body.contains(label), "{label}: {}", page.body);
    }
    let csrf = page.form_field("csrf").unwrap();
    let post = |path: String, fields: Vec<(&str, &str)>| {
        let mut form: Vec<(String, String)> = vec![("csrf".into(), csrf.clone())];
        form.extend(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        let at = console(&env, &path);
        let alice = &alice;
        async move { alice.post_form(&at, &form).await.unwrap() }
    };

    // The edit form changes the profile, roles and groups as the API's PATCH does.
    let saved = post(
        format!("/users/{BOB}/edit"),
        vec![
            ("email", "bob@example.org"),
            ("name", "Robert"),
            ("add_roles", "auditor"),
            ("add_groups", "staff"),
        ],
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let bob = admin::find_user(store, BOB).await.unwrap().unwrap();
    assert_eq!(bob.email.as_deref(), Some("bob@example.org"));
    assert_eq!(bob.name.as_deref(), Some("Robert"));
    assert_eq!(bob.roles, vec![RoleName::parse("auditor").unwrap()]);
    assert_eq!(bob.groups, vec![GroupName::parse("staff").unwrap()]);
    let removed = post(
        format!("/users/{BOB}/edit"),
        vec![("remove_roles", "auditor"), ("remove_groups", "staff")],
    )
    .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    let bob = admin::find_user(store, BOB).await.unwrap().unwrap();
    assert!(
        bob.roles.is_empty() && bob.groups.is_empty(),
        "{:?}",
        bob.roles
    );
    assert_eq!(bob.email.as_deref(), Some("bob@example.org"));
    // A role that does not exist is the API's 400, on a page.
    let unknown = post(
        format!("/users/{BOB}/edit"),
        vec![("add_roles", "no-such-role")],
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.body);
    assert!(unknown.body.contains("no-such-role"), "{}", unknown.body);

    // A password below the policy is refused on the page and changes nothing.
    let weak = post(
        format!("/users/{BOB}/password"),
        vec![("password", "short")],
    )
    .await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST, "{}", weak.body);
    assert!(weak.body.contains("password"), "{}", weak.body);
    let before = admin::find_user(store, BOB).await.unwrap().unwrap();
    assert_eq!(before.password_hash, bob.password_hash);
    // A good one is set, and bob signs in with it.
    let new_password = "a long and fresh passphrase 4 bob";
    let set = post(
        format!("/users/{BOB}/password"),
        vec![("password", new_password)],
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert!(set.body.contains("signed the user out"), "{}", set.body);
    let after = admin::find_user(store, BOB).await.unwrap().unwrap();
    assert_ne!(after.password_hash, bob.password_hash);
    assert!(after.tokens_not_before.is_some());
    // bob holds no admin role: the console refuses him, after his sign-in with the new password.
    let (_, refused) = http_sign_in(&env, BOB, new_password).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_console_clears_an_addresss_failed_sign_ins() {
    let env = console_env().await;
    let store = env.server.store();
    let window = env.server.config().login_throttle.window_secs;
    let key = "addr:203.0.113.7";
    for _ in 0..3 {
        store
            .record_login_failure(key, env.server.now(), window)
            .await
            .unwrap();
    }
    let (alice, _) = http_sign_in(&env, ALICE, ALICE_PASSWORD).await;
    let users = alice.get(&console(&env, "/users")).await.unwrap();
    assert!(users.body.contains("for=\"address\""), "{}", users.body);
    let csrf = users.form_field("csrf").unwrap();
    let unlock = console(&env, "/addresses/unlock");
    let malformed = alice
        .post_form(
            &unlock,
            &[
                ("csrf".into(), csrf.clone()),
                ("address".into(), "not-an-address".into()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(
        malformed.body.contains("not an IPv4 or IPv6 address"),
        "{}",
        malformed.body
    );
    let failures = store
        .login_failures(key, env.server.now(), window)
        .await
        .unwrap();
    assert_eq!(failures, 3);
    let cleared = alice
        .post_form(
            &unlock,
            &[
                ("csrf".into(), csrf),
                ("address".into(), "203.0.113.7".into()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    assert!(cleared.body.contains("203.0.113.7"), "{}", cleared.body);
    let failures = store
        .login_failures(key, env.server.now(), window)
        .await
        .unwrap();
    assert_eq!(failures, 0);
}

/// The text of the element with `id` in `body` (a page's generated secret).
fn element_text<'a>(body: &'a str, id: &str) -> &'a str {
    let start = body.find(&format!("id=\"{id}\"")).expect("the element");
    let text = &body[start..];
    let text = &text[text.find('>').unwrap() + 1..];
    &text[..text.find('<').unwrap()]
}

#[tokio::test]
async fn the_console_edits_a_client_through_the_apis_replacement() {
    let env = console_env().await;
    let store = env.server.store().as_ref();
    register(
        &env,
        portcullis_server::config::ClientConfig {
            client_id: "billing".into(),
            secret: Some(portcullis_types::ClientSecret::new(
                "billing-secret-0123456789abcdef",
            )),
            grant_types: vec![portcullis_types::GrantType::ClientCredentials],
            scope: Some("openid".to_owned()),
            roles: vec![RoleName::parse("admin").unwrap()],
            name: Some("Billing".to_owned()),
            ..Default::default()
        },
    )
    .await;
    let (alice, _) = http_sign_in(&env, ALICE, ALICE_PASSWORD).await;
    let listed = alice.get(&console(&env, "/clients")).await.unwrap();
    assert!(
        listed.body.contains("/admin/console/clients/billing/edit"),
        "{}",
        listed.body
    );
    let form = alice
        .get(&console(&env, "/clients/billing/edit"))
        .await
        .unwrap();
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert_eq!(form.form_field("name").as_deref(), Some("Billing"));
    assert_eq!(
        form.form_field("grant_types").as_deref(),
        Some("client_credentials")
    );
    assert!(form.body.contains("for=\"secret\""), "{}", form.body);
    let csrf = form.form_field("csrf").unwrap();
    let edit = console(&env, "/clients/billing/edit");
    let fields = |redirect: &str, secret: &str| -> Vec<(String, String)> {
        [
            ("csrf", csrf.as_str()),
            ("name", "Billing service"),
            ("redirect_uris", redirect),
            ("grant_types", "authorization_code client_credentials"),
            ("scope", "openid profile"),
            ("audience", "https://billing.example"),
            ("secret", secret),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    };

    // A redirect URI the API refuses is refused on the page, and the client stays as it was.
    let refused = alice
        .post_form(&edit, &fields("not a uri", ""))
        .await
        .unwrap();
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    let unchanged = store.get_client("billing").await.unwrap().unwrap();
    assert_eq!(unchanged.name.as_deref(), Some("Billing"));

    // Saved with the secret left empty: a new one is generated and shown once.
    let saved = alice
        .post_form(&edit, &fields("https://billing.example/cb", ""))
        .await
        .unwrap();
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let secret = element_text(&saved.body, "client-secret").to_owned();
    let client = store.get_client("billing").await.unwrap().unwrap();
    assert_eq!(client.name.as_deref(), Some("Billing service"));
    assert_eq!(
        client
            .redirect_uris
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        vec!["https://billing.example/cb".to_owned()]
    );
    assert_eq!(client.scope.to_string(), "openid profile");
    assert_eq!(client.audience, vec!["https://billing.example".to_owned()]);
    assert_eq!(client.grant_types.len(), 2);
    // What the form does not show is kept.
    assert_eq!(client.roles, vec![RoleName::parse("admin").unwrap()]);
    let auth = |secret: &str| portcullis_testkit::ClientAuth::basic("billing", secret);
    let with_new = env
        .server
        .client_credentials(&auth(&secret), None)
        .await
        .unwrap();
    assert_eq!(with_new.status, 200, "{}", with_new.json);
    let with_old = env
        .server
        .client_credentials(&auth("billing-secret-0123456789abcdef"), None)
        .await
        .unwrap();
    assert_eq!(with_old.status, 401, "{}", with_old.json);

    // Saved with a secret given: that one is set, and none is shown.
    let chosen = "billing-chosen-secret-0123456789";
    let saved = alice
        .post_form(&edit, &fields("https://billing.example/cb", chosen))
        .await
        .unwrap();
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(!saved.body.contains("client-secret"), "{}", saved.body);
    let with_chosen = env
        .server
        .client_credentials(&auth(chosen), None)
        .await
        .unwrap();
    assert_eq!(with_chosen.status, 200, "{}", with_chosen.json);
}

#[tokio::test]
async fn the_console_adds_an_upstream_through_the_apis_operation() {
    let env = console_env().await;
    let (alice, _) = http_sign_in(&env, ALICE, ALICE_PASSWORD).await;
    let form = alice.get(&console(&env, "/upstreams/new")).await.unwrap();
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    for label in [
        "for=\"issuer\"",
        "for=\"client_secret\"",
        "for=\"trust_email\"",
    ] {
        assert!(form.body.contains(label), "{label}: {}", form.body);
    }
    assert!(
        form.body
            .contains("type=\"password\" name=\"client_secret\""),
        "{}",
        form.body
    );
    let csrf = form.form_field("csrf").unwrap();
    let save = |fields: &[(&str, &str)]| {
        let mut all: Vec<(String, String)> = vec![("csrf".into(), csrf.clone())];
        all.extend(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let at = console(&env, "/upstreams");
        let alice = &alice;
        async move { alice.post_form(&at, &all).await.unwrap() }
    };
    let upstreams = || admin::list_upstreams(env.server.store().as_ref());

    // An issuer the API refuses is refused on the page; nothing is saved.
    let refused = save(&[
        ("id", "corp"),
        ("kind", "oidc"),
        ("issuer", "not a url"),
        ("client_id", "portcullis"),
        ("client_secret", "corp-secret-0123456789"),
    ])
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.body.contains("issuer"), "{}", refused.body);
    assert!(upstreams().await.unwrap().is_empty());

    let saved = save(&[
        ("id", "corp"),
        ("kind", "oidc"),
        ("display_name", "Corp SSO"),
        ("issuer", "https://sso.corp.example"),
        ("client_id", "portcullis"),
        ("client_secret", "corp-secret-0123456789"),
        ("scopes", "groups"),
        ("trust_email", "yes"),
    ])
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(!saved.body.contains("corp-secret"), "{}", saved.body);
    let github = save(&[
        ("id", "gh"),
        ("kind", "github"),
        ("client_id", "gh-client"),
        ("client_secret", "gh-secret-0123456789"),
    ])
    .await;
    assert_eq!(github.status, StatusCode::OK, "{}", github.body);

    let all = upstreams().await.unwrap();
    let corp = all.iter().find(|u| u.id.as_str() == "corp").unwrap();
    assert!(matches!(
        &corp.kind,
        portcullis_server::store::UpstreamKind::Oidc { issuer, .. } if issuer == "https://sso.corp.example"
    ));
    assert_eq!(corp.display_name.as_deref(), Some("Corp SSO"));
    assert_eq!(corp.client_id, "portcullis");
    assert_eq!(corp.scopes, vec!["groups".to_owned()]);
    assert!(corp.trust_email);
    let gh = all.iter().find(|u| u.id.as_str() == "gh").unwrap();
    assert!(matches!(
        &gh.kind,
        portcullis_server::store::UpstreamKind::Github { base_url: None, .. }
    ));
    assert!(!gh.trust_email);
}
