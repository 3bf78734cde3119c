//! Redirect URI handling and the authorization endpoint (checklist section RED, and ISS-1):
//! exact matching, loopback ports, error pages instead of redirects, errors with state and iss.

use crate::common::*;
use portcullis_testkit::{
    Browser, ClientSpec, CodeRequest, Consent, Outcome, Page, Pkce, TestServer, Tripwire,
    query_param,
};
use url::Url;

/// GET the authorize endpoint with exactly these parameters, in a fresh browser.
async fn authorize_raw(server: &TestServer, params: &[(&str, &str)]) -> Page {
    let mut url = server.endpoints().authorization.clone();
    url.query_pairs_mut().extend_pairs(params.iter());
    server.browser().unwrap().get(&url).await.unwrap()
}

/// RED-6: an error page, not a redirect.
#[track_caller]
fn assert_error_page(page: &Page, what: &str) {
    assert_eq!(
        page.status, 400,
        "{what}: status {} body {}",
        page.status, page.body
    );
    assert!(
        page.header("location").is_none(),
        "{what}: redirected to {:?}",
        page.header("location")
    );
    assert!(
        page.header("content-type")
            .unwrap_or_default()
            .starts_with("text/html"),
        "{what}: error page is not HTML"
    );
}

/// A redirect to `prefix` carrying `error`, the request's `state` and the issuer (RED-10, ISS-1).
#[track_caller]
fn assert_error_redirect(page: &Page, prefix: &str, error: &str, state: &str, issuer: &str) -> Url {
    assert!(
        page.status.is_redirection(),
        "expected a redirect, got {} {}",
        page.status,
        page.body
    );
    let location = page.location().expect("Location");
    assert!(
        location.as_str().starts_with(prefix),
        "redirected to {location}"
    );
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some(error),
        "{location}"
    );
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some(state),
        "{location}"
    );
    assert_eq!(
        query_param(&location, "iss").as_deref(),
        Some(issuer),
        "{location}"
    );
    assert!(location.fragment().is_none());
    location
}

fn base_params<'a>(client: &'a str, redirect: &'a str, pkce: &'a Pkce) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", redirect),
        ("scope", "openid"),
        ("state", "st-123"),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]
}

#[tokio::test]
async fn red_1_redirect_uri_exact_match() {
    let env = Env::start().await;
    let pkce = Pkce::new();
    for bad in [
        "https://web.example/cb/",
        "https://web.example/CB",
        "https://WEB.example/cb",
        "https://web.example/cb?x=1",
        "https://web.example/cb#f",
        "https://web.example/cb/../cb",
        "https://web.example/%63b",
        "https://web.example.evil/cb",
        "https://web.example@evil/cb",
        "https://evil@web.example/cb",
        "https://web.example/cb;x",
        "https://web.example/..;/cb",
        "https://web.example:443/cb",
        "http://web.example/cb",
        "https://web.example/c",
    ] {
        let page = authorize_raw(&env.server, &base_params(WEB, bad, &pkce)).await;
        assert_error_page(&page, bad);
    }
    // The registered value itself works (continues to the login page).
    let page = authorize_raw(&env.server, &base_params(WEB, WEB_CB, &pkce)).await;
    assert!(
        page.status.is_success() || page.status.is_redirection(),
        "registered URI refused: {}",
        page.status
    );
    if let Some(location) = page.location() {
        assert!(
            !location.as_str().starts_with(WEB_CB) || query_param(&location, "error").is_none()
        );
    }
}

#[tokio::test]
async fn red_2_loopback_port_may_vary_nothing_else() {
    let env = Env::start().await;
    // Registered http://127.0.0.1/callback: any port, same path, no query.
    let ok = "http://127.0.0.1:51234/callback";
    let request = CodeRequest::new(SPA, ok, "openid");
    let browser = env.server.browser().unwrap();
    let response = env
        .server
        .authorize(&browser, &request, Some((ALICE, ALICE_PASSWORD)))
        .await
        .expect("loopback with a port is accepted");
    assert!(
        response
            .redirect
            .as_str()
            .starts_with("http://127.0.0.1:51234/callback?")
    );
    let tokens = env
        .server
        .redeem(&env.spa_auth(), &response.code, &request)
        .await
        .unwrap();
    assert_token_ok(&tokens);

    let pkce = Pkce::new();
    for bad in [
        "http://127.0.0.1:51234/callback?bar=foo",
        "http://127.0.0.1:5/other",
        "http://127.1/callback",
        "http://localhost.evil/callback",
        "http://localhost/callback",
        "https://127.0.0.1/callback",
        "http://127.0.0.2/callback",
    ] {
        let page = authorize_raw(&env.server, &base_params(SPA, bad, &pkce)).await;
        assert_error_page(&page, bad);
    }
}

#[tokio::test]
async fn red_3_http_only_for_loopback_at_registration() {
    let env = Env::start().await;
    let err = env
        .server
        .add_client(ClientSpec::public("plain-http").redirect_uri("http://c.example/cb"))
        .await;
    assert!(
        err.is_err(),
        "http redirect URI for a non-loopback host was accepted"
    );
    env.server
        .add_client(ClientSpec::public("v6-loopback").redirect_uri("http://[::1]/cb"))
        .await
        .expect("http://[::1]/cb is a loopback URI");
    env.server
        .add_client(ClientSpec::public("v4-loopback").redirect_uri("http://127.0.0.1/cb"))
        .await
        .expect("http://127.0.0.1/cb is a loopback URI");
}

#[tokio::test]
async fn red_4_fragment_and_script_schemes_refused_at_registration() {
    let env = Env::start().await;
    for (n, bad) in [
        "https://c.example/cb#x",
        "JavaScript:alert(1)",
        "javascript:alert(1)",
        "data:text/html,hi",
        "DATA:text/html,hi",
        "vbscript:msgbox(1)",
        "VBScript:msgbox(1)",
    ]
    .iter()
    .enumerate()
    {
        let result = env
            .server
            .add_client(ClientSpec::public(&format!("bad-{n}")).redirect_uri(bad))
            .await;
        assert!(result.is_err(), "{bad} was accepted at registration");
    }
}

#[tokio::test]
async fn red_5_several_registered_uris_require_redirect_uri() {
    let env = Env::start().await;
    env.server
        .add_client(
            ClientSpec::public("multi")
                .redirect_uri("https://multi.example/a")
                .redirect_uri("https://multi.example/b")
                .scope("openid"),
        )
        .await
        .unwrap();
    let pkce = Pkce::new();
    let page = authorize_raw(
        &env.server,
        &[
            ("response_type", "code"),
            ("client_id", "multi"),
            ("scope", "openid"),
            ("state", "s"),
            ("code_challenge", &pkce.challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    assert_error_page(&page, "no redirect_uri with two registered");
}

#[tokio::test]
async fn red_5_single_registered_uri_may_be_omitted() {
    let env = Env::start().await;
    let request = env.web_request("openid").without_redirect_uri();
    let browser = env.server.browser().unwrap();
    let response = env
        .server
        .authorize(&browser, &request, Some((ALICE, ALICE_PASSWORD)))
        .await
        .expect("the only registered URI is used");
    assert!(response.redirect.as_str().starts_with(WEB_CB));
    let reply = env
        .server
        .redeem(&env.web_auth(), &response.code, &request)
        .await
        .unwrap();
    assert_token_ok(&reply);
}

#[tokio::test]
async fn red_6_unknown_client_or_bad_redirect_gives_error_page() {
    let env = Env::start().await;
    let pkce = Pkce::new();
    let page = authorize_raw(&env.server, &base_params("nobody", WEB_CB, &pkce)).await;
    assert_error_page(&page, "unknown client");
    let page = authorize_raw(
        &env.server,
        &base_params(WEB, "https://evil.example/cb", &pkce),
    )
    .await;
    assert_error_page(&page, "unregistered redirect");
    let page = authorize_raw(
        &env.server,
        &[("response_type", "code"), ("redirect_uri", WEB_CB)],
    )
    .await;
    assert_error_page(&page, "missing client_id");
    // Even an error that would otherwise be redirected (bad response_type) stays on the page
    // when the redirect URI is not valid.
    let page = authorize_raw(
        &env.server,
        &[
            ("response_type", "token"),
            ("client_id", WEB),
            ("redirect_uri", "https://evil.example/cb"),
            ("state", "s"),
        ],
    )
    .await;
    assert_error_page(&page, "bad response_type and bad redirect");
}

#[tokio::test]
async fn red_7_registered_query_is_preserved() {
    let env = Env::start().await;
    let registered = "https://q.example/cb?tenant=a%20b&x=1";
    env.server
        .add_client(
            ClientSpec::confidential("q-client", "q-secret-000000000000000000000000000000")
                .redirect_uri(registered)
                .scope("openid"),
        )
        .await
        .unwrap();
    let request = CodeRequest::new("q-client", registered, "openid");
    let browser = env.server.browser().unwrap();
    let redirect = env
        .server
        .authorize_redirect(&browser, &request, Some((ALICE, ALICE_PASSWORD)))
        .await
        .unwrap();
    assert!(
        redirect
            .as_str()
            .starts_with("https://q.example/cb?tenant=a%20b&x=1&"),
        "{redirect}"
    );
    assert!(query_param(&redirect, "code").is_some());
    // A different query is a different URI.
    let pkce = Pkce::new();
    let page = authorize_raw(
        &env.server,
        &base_params("q-client", "https://q.example/cb?x=1&tenant=a%20b", &pkce),
    )
    .await;
    assert_error_page(&page, "query reordered");
}

#[tokio::test]
async fn red_10_iss_1_errors_redirect_with_state_and_iss() {
    let env = Env::start().await;
    let request = env.web_request("openid no-such-scope");
    let browser = env.server.browser().unwrap();
    let outcome = env
        .server
        .authorize_outcome(
            &browser,
            &request,
            Some((ALICE, ALICE_PASSWORD)),
            Consent::Approve,
        )
        .await
        .unwrap();
    let Outcome::Redirect(location) = outcome else {
        panic!("invalid scope must be redirected to the client: {outcome:?}");
    };
    assert!(location.as_str().starts_with(WEB_CB));
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("invalid_scope")
    );
    assert_eq!(query_param(&location, "state"), request.state);
    assert_eq!(
        query_param(&location, "iss").as_deref(),
        Some(env.server.issuer())
    );
}

#[tokio::test]
async fn iss_1_success_response_carries_iss_and_state() {
    let env = Env::start().await;
    let request = env.web_request("openid");
    let browser = env.server.browser().unwrap();
    let response = env
        .server
        .authorize(&browser, &request, Some((ALICE, ALICE_PASSWORD)))
        .await
        .unwrap();
    assert_eq!(response.iss.as_deref(), Some(env.server.issuer()));
    assert_eq!(response.state, request.state);
    assert!(
        response
            .redirect
            .as_str()
            .starts_with(&format!("{WEB_CB}?"))
    );
}

#[tokio::test]
async fn red_11_duplicate_parameters_are_invalid_request() {
    let env = Env::start().await;
    let pkce = Pkce::new();
    let mut params = base_params(WEB, WEB_CB, &pkce);
    params.push(("client_id", OTHER));
    let page = authorize_raw(&env.server, &params).await;
    assert_error_page(&page, "client_id twice");

    let mut params = base_params(WEB, WEB_CB, &pkce);
    params.push(("state", "second"));
    let page = authorize_raw(&env.server, &params).await;
    if page.status.is_redirection() {
        let location = page.location().unwrap();
        assert!(location.as_str().starts_with(WEB_CB));
        assert_eq!(
            query_param(&location, "error").as_deref(),
            Some("invalid_request")
        );
        assert_eq!(
            query_param(&location, "iss").as_deref(),
            Some(env.server.issuer())
        );
    } else {
        assert_error_page(&page, "state twice");
    }

    let mut params = base_params(WEB, WEB_CB, &pkce);
    params.push(("redirect_uri", WEB_CB));
    let page = authorize_raw(&env.server, &params).await;
    assert_error_page(&page, "redirect_uri twice");
}

#[tokio::test]
async fn red_11_unknown_and_empty_parameters() {
    let env = Env::start().await;
    // Unknown parameters are ignored; empty ones count as absent.
    let request = env
        .web_request("openid")
        .param("foo", "bar")
        .param("prompt", "")
        .param("login_hint", "");
    let browser = env.server.browser().unwrap();
    let response = env
        .server
        .authorize(&browser, &request, Some((ALICE, ALICE_PASSWORD)))
        .await
        .expect("unknown and empty parameters do not fail the request");
    let reply = env
        .server
        .redeem(&env.web_auth(), &response.code, &request)
        .await
        .unwrap();
    assert_token_ok(&reply);
}

#[tokio::test]
async fn red_12_post_to_authorize_works() {
    let env = Env::start().await;
    let request = env.web_request("openid");
    let browser = env.server.browser().unwrap();
    let mut page = browser
        .post_form(&env.server.endpoints().authorization, &request.params())
        .await
        .unwrap();
    assert!(
        page.status.is_success() || page.status.is_redirection(),
        "POST /authorize: {} {}",
        page.status,
        page.body
    );
    let redirect = browser
        .walk_from(&mut page, Some((ALICE, ALICE_PASSWORD)), Consent::Approve)
        .await
        .unwrap()
        .redirect()
        .unwrap();
    let code = query_param(&redirect, "code").expect("code");
    let reply = env
        .server
        .redeem(&env.web_auth(), &code, &request)
        .await
        .unwrap();
    assert_token_ok(&reply);
}

#[tokio::test]
async fn red_15_response_type_must_be_code() {
    let env = Env::start().await;
    let pkce = Pkce::new();
    let issuer = env.server.issuer().to_owned();
    let mut params = base_params(WEB, WEB_CB, &pkce);
    params.retain(|(k, _)| *k != "response_type");
    let page = authorize_raw(&env.server, &params).await;
    assert_error_redirect(&page, WEB_CB, "invalid_request", "st-123", &issuer);

    for rt in ["token", "id_token", "code token", "code id_token", "none"] {
        let mut params = base_params(WEB, WEB_CB, &pkce);
        params.retain(|(k, _)| *k != "response_type");
        params.push(("response_type", rt));
        let page = authorize_raw(&env.server, &params).await;
        assert_error_redirect(
            &page,
            WEB_CB,
            "unsupported_response_type",
            "st-123",
            &issuer,
        );
    }
}

#[tokio::test]
async fn red_16_red_17_no_fragment_or_implicit_responses() {
    let env = Env::start().await;
    let request = env.web_request("openid").param("response_mode", "fragment");
    let browser = env.server.browser().unwrap();
    let outcome = env
        .server
        .authorize_outcome(
            &browser,
            &request,
            Some((ALICE, ALICE_PASSWORD)),
            Consent::Approve,
        )
        .await
        .unwrap();
    match outcome {
        Outcome::Redirect(url) => {
            assert!(url.fragment().is_none(), "fragment response: {url}");
            assert!(query_param(&url, "access_token").is_none());
            assert!(query_param(&url, "id_token").is_none());
        }
        Outcome::Page(page) => assert_error_page(&page, "response_mode=fragment"),
    }
}

/// The fixture's registered redirect and post-logout URIs: the only places off the server a
/// browser may ever be sent.
const REGISTERED: [&str; 4] = [WEB_CB, OTHER_CB, SPA_CB, WEB_LOGOUT_CB];

/// Every `Location` the browser was given, resolved as a browser would, stays on the server or
/// is a registered URI (with only a query added) (RED-8).
#[track_caller]
fn assert_never_sent_off_host(server: &TestServer, browser: &Browser, what: &str) {
    let home = server.base_url().origin();
    for hop in browser.hops() {
        let Some(location) = hop.location else {
            continue;
        };
        let target = hop
            .url
            .join(&location)
            .expect("a Location a browser can follow");
        if target.origin() == home {
            continue;
        }
        let registered = REGISTERED
            .iter()
            .any(|r| target.as_str() == *r || target.as_str().starts_with(&format!("{r}?")));
        assert!(
            registered,
            "{what}: {} {} sent the browser to {target}",
            hop.method, hop.url
        );
    }
}

/// Values for the login form's `request` field, which carries the pending authorization
/// request back to `/authorize` after sign-in.
fn tampered_login_requests(pkce: &Pkce) -> Vec<String> {
    let pending = |client: &str, redirect: &str| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.extend_pairs(base_params(client, redirect, pkce));
        q.finish()
    };
    vec![
        "https://evil.example/".to_owned(),
        "//evil.example/".to_owned(),
        "/\\evil.example/".to_owned(),
        "%2F%2Fevil.example%2F".to_owned(),
        "https%3A%2F%2Fevil.example%2F".to_owned(),
        "\r\nLocation: https://evil.example/".to_owned(),
        pending(WEB, "https://evil.example/cb"),
        pending(WEB, "//evil.example/cb"),
        pending(WEB, "https%3A%2F%2Fevil.example%2Fcb"),
        // Double encoded: decoded once it still names evil.example.
        pending(WEB, "https%253A%252F%252Fevil.example%252Fcb"),
        // Another client's redirect URI under this client.
        pending(WEB, OTHER_CB),
        // Another client's whole (valid) request: it may end only at that client's URI.
        pending(OTHER, OTHER_CB),
        format!(
            "{}&redirect_uri=https://evil.example/cb",
            pending(WEB, WEB_CB)
        ),
    ]
}

#[tokio::test]
async fn red_8_login_return_path_never_leaves_the_registered_uris() {
    let env = Env::start().await;
    let pkce = Pkce::new();
    for value in tampered_login_requests(&pkce) {
        // Past the login throttle's window, so earlier wrong passwords do not count.
        env.server.advance(15 * 60 + 1);
        // The hidden field of a real login page, rewritten before signing in.
        let browser = env.server.browser().unwrap();
        let mut page = browser
            .get(&env.web_request("openid").url(&env.server))
            .await
            .unwrap();
        let mut form = page.forms().into_iter().find(|f| f.has_password()).unwrap();
        assert!(
            form.field("request").is_some(),
            "the login form carries the request"
        );
        form.set("request", &value);
        // A wrong password first: the retry carries the value back into the form.
        form.set("username", BOB);
        form.set("password", "wrong");
        let retry = browser.submit(&page, &form, None).await.unwrap();
        assert_eq!(retry.status, 303, "{value}");
        let retry = browser
            .get(&retry.url.join(retry.header("location").unwrap()).unwrap())
            .await
            .unwrap();
        let mut again = retry
            .forms()
            .into_iter()
            .find(|f| f.has_password())
            .unwrap();
        assert_eq!(
            again.field("request"),
            Some(value.as_str()),
            "retry keeps the value"
        );
        again.set("username", ALICE);
        again.set("password", ALICE_PASSWORD);
        page = browser.submit(&retry, &again, None).await.unwrap();
        let outcome = browser
            .walk_from(&mut page, Some((ALICE, ALICE_PASSWORD)), Consent::Approve)
            .await
            .unwrap();
        assert_never_sent_off_host(&env.server, &browser, &value);
        if let Outcome::Page(page) = outcome {
            assert!(
                !page.body.contains("evil.example"),
                "{value}: page echoes it: {} {} {}",
                page.url,
                page.status,
                page.body
            );
        }

        // The same value given to GET /login directly.
        let browser = env.server.browser().unwrap();
        let mut login = env.server.url("/login").unwrap();
        login.query_pairs_mut().append_pair("request", &value);
        let outcome = browser
            .walk(&login, Some((ALICE, ALICE_PASSWORD)), Consent::Approve)
            .await
            .unwrap();
        assert_never_sent_off_host(&env.server, &browser, &value);
        if let Outcome::Redirect(url) = outcome {
            assert!(
                url.as_str().starts_with(OTHER_CB),
                "{value}: ended at {url}"
            );
        }
    }
}

#[tokio::test]
async fn red_8_consent_return_path_never_leaves_the_registered_uris() {
    let env = Env::start().await;
    let pkce = Pkce::new();
    for value in tampered_login_requests(&pkce) {
        // Signed in for the web client; the other client's consent page carries the request.
        let browser = env.signed_in_browser().await;
        let consent = browser
            .get(
                &CodeRequest::new(OTHER, OTHER_CB, "openid")
                    .param("prompt", "consent")
                    .url(&env.server),
            )
            .await
            .unwrap();
        let mut form = consent
            .forms()
            .into_iter()
            .find(|f| f.field("request").is_some())
            .expect("the consent form carries the request");
        form.set("request", &value);
        let button = form.button_matching(&["allow", "approve"]);
        let mut page = browser.submit(&consent, &form, button).await.unwrap();
        let _ = browser
            .walk_from(&mut page, None, Consent::Approve)
            .await
            .unwrap();
        assert_never_sent_off_host(&env.server, &browser, &value);
    }
}

#[tokio::test]
async fn red_8_logout_and_error_pages_do_not_redirect_off_host() {
    let env = Env::start().await;
    let home = env.server.base_url().origin();
    for bad in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "https%3A%2F%2Fevil.example%2F",
        "https://web.example/logged-out/../../evil.example",
        "https://web.example/logged-out@evil.example",
        WEB_CB,
    ] {
        let (browser, id_token) = crate::logout::signed_in(&env).await;
        for params in [
            vec![("post_logout_redirect_uri", bad)],
            vec![
                ("post_logout_redirect_uri", bad),
                ("id_token_hint", id_token.as_str()),
            ],
            vec![
                ("post_logout_redirect_uri", bad),
                ("id_token_hint", id_token.as_str()),
                ("client_id", WEB),
            ],
        ] {
            let page = crate::logout::logout(&env, &browser, &params).await;
            if let Some(location) = page.location() {
                assert_eq!(location.origin(), home, "{bad}: redirected to {location}");
            }
            assert!(!page.body.contains("evil.example"), "{bad}: page echoes it");
        }
        // The confirmation form ignores a return address slipped into it.
        let browser = env.signed_in_browser().await;
        let confirm = browser
            .get(&env.server.url("/logout").unwrap())
            .await
            .unwrap();
        let mut form = confirm
            .forms()
            .into_iter()
            .find(|f| f.method == "post")
            .unwrap();
        form.fields
            .push(("post_logout_redirect_uri".to_owned(), bad.to_owned()));
        let page = browser.submit(&confirm, &form, None).await.unwrap();
        assert_eq!(page.header("location"), Some("/logout/done"), "{bad}");
        assert_never_sent_off_host(&env.server, &browser, bad);
    }
    // Error pages: an unusable authorization request shows a page with no way off the server.
    for bad in ["https://evil.example/cb", "//evil.example/cb"] {
        let page = authorize_raw(
            &env.server,
            &[
                ("client_id", WEB),
                ("redirect_uri", bad),
                ("response_type", "code"),
            ],
        )
        .await;
        assert_error_page(&page, bad);
        assert!(
            !page.body.contains("evil.example"),
            "{bad}: error page echoes it"
        );
        let page = authorize_raw(
            &env.server,
            &[("client_id", "no-such-client"), ("redirect_uri", bad)],
        )
        .await;
        assert_error_page(&page, bad);
        assert!(
            !page.body.contains("evil.example"),
            "{bad}: error page echoes it"
        );
    }
}

/// An unsigned request object (JAR, RFC 9101) whose claims try to take the request elsewhere.
fn hostile_request_object() -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
    let claims = serde_json::json!({
        "client_id": OTHER,
        "redirect_uri": "https://evil.example/cb",
        "response_type": "code",
        "scope": "openid offline_access",
        "state": "from-the-object",
        "prompt": "none",
    });
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.")
}

#[tokio::test]
async fn oidc_9_request_and_request_uri_are_refused_at_the_redirect_uri() {
    let env = Env::start().await;
    let issuer = env.server.issuer().to_owned();
    let pkce = Pkce::new();
    let object = hostile_request_object();
    let wire = Tripwire::new().unwrap();
    let object_url = wire.url("/request.jwt");
    for (name, value, error) in [
        ("request", object.as_str(), "request_not_supported"),
        (
            "request_uri",
            object_url.as_str(),
            "request_uri_not_supported",
        ),
    ] {
        let mut params = base_params(WEB, WEB_CB, &pkce);
        params.push((name, value));
        let page = authorize_raw(&env.server, &params).await;
        // The query's client, redirect URI and state answer; nothing in the object is used.
        let location = assert_error_redirect(&page, WEB_CB, error, "st-123", &issuer);
        assert!(query_param(&location, "code").is_none(), "{location}");
        // A signed-in user who already consented gets the same refusal, not a code.
        let browser = env.signed_in_browser().await;
        let mut request = env.web_request("openid").param(name, value);
        request.state = Some("st-signed-in".to_owned());
        let outcome = env
            .server
            .authorize_outcome(&browser, &request, None, Consent::Approve)
            .await
            .unwrap();
        let Outcome::Redirect(url) = outcome else {
            panic!("{name}: expected an error redirect");
        };
        assert!(url.as_str().starts_with(WEB_CB), "{url}");
        assert_eq!(query_param(&url, "error").as_deref(), Some(error));
        assert_eq!(query_param(&url, "state").as_deref(), Some("st-signed-in"));
        assert!(query_param(&url, "code").is_none());
    }
    assert!(!wire.was_touched().unwrap(), "the request_uri was fetched");

    // Without a valid client and redirect URI the refusal is an error page (RED-6), even when
    // the object names a registered pair.
    let page = authorize_raw(&env.server, &[("request", object.as_str())]).await;
    assert_error_page(&page, "request without client_id");
    let page = authorize_raw(
        &env.server,
        &[
            ("client_id", WEB),
            ("redirect_uri", "https://evil.example/cb"),
            ("request", object.as_str()),
        ],
    )
    .await;
    assert_error_page(&page, "request with an unregistered redirect_uri");

    // Discovery says so.
    let metadata = env.server.discovery().await.unwrap();
    assert_eq!(metadata["request_parameter_supported"], false);
    assert_eq!(metadata["request_uri_parameter_supported"], false);
}
