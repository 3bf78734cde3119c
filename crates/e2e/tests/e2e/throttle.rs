//! Failed-login throttling (DOS-4, TOK-13): per account and per client address, and client
//! authentication failures at the token endpoint.

use crate::common::*;
use portcullis_testkit::{Browser, ClientAuth, Outcome};
use portcullis_types::GrantType;

/// Tries one login through the whole flow; returns whether a code came back.
async fn try_login(env: &Env, browser: &Browser, user: &str, password: &str) -> bool {
    let request = env.web_request("openid");
    let outcome = env
        .server
        .authorize_outcome(
            browser,
            &request,
            Some((user, password)),
            portcullis_testkit::Consent::Approve,
        )
        .await
        .unwrap();
    match outcome {
        Outcome::Redirect(url) => portcullis_testkit::query_param(&url, "code").is_some(),
        Outcome::Page(_) => false,
    }
}

#[tokio::test]
async fn dos_4_failed_logins_are_throttled_per_account() {
    let env = Env::start().await;
    let max = env.server.config().login_throttle.max_failures;
    for _ in 0..max {
        let browser = env.server.browser().unwrap();
        assert!(!try_login(&env, &browser, ALICE, "wrong password").await);
    }
    // Even the right password is refused now.
    let browser = env.server.browser().unwrap();
    assert!(
        !try_login(&env, &browser, ALICE, ALICE_PASSWORD).await,
        "login allowed after {max} failures"
    );
    // Another account is not locked by alice's failures (only the address counter grew).
    // After the window, alice can sign in again.
    env.server
        .advance(env.server.config().login_throttle.window_secs + 1);
    let browser = env.server.browser().unwrap();
    assert!(try_login(&env, &browser, ALICE, ALICE_PASSWORD).await);
}

#[tokio::test]
async fn dos_4_failed_logins_are_throttled_per_address() {
    let env = Env::start().await;
    let max = env.server.config().login_address_throttle.max_failures;
    // Spray different (unknown) usernames from one address.
    for i in 0..max {
        let browser = env.server.browser().unwrap();
        assert!(!try_login(&env, &browser, &format!("nobody-{i}"), "guess").await);
    }
    let browser = env.server.browser().unwrap();
    assert!(
        !try_login(&env, &browser, BOB, BOB_PASSWORD).await,
        "the address was not throttled after {max} failures"
    );
}

#[tokio::test]
async fn dos_4_client_authentication_failures_are_throttled() {
    let env = Env::start().await;
    let max = env.server.config().client_auth_throttle.max_failures;
    for _ in 0..max {
        let reply = env
            .server
            .client_credentials(
                &ClientAuth::basic(SERVICE, "wrong-secret-0000000000000000"),
                None,
            )
            .await
            .unwrap();
        assert_eq!(reply.status, 401);
    }
    let reply = env
        .server
        .client_credentials(&env.service_auth(), None)
        .await
        .unwrap();
    assert_ne!(
        reply.status, 200,
        "client authentication not throttled after {max} failures"
    );
    env.server
        .advance(env.server.config().client_auth_throttle.window_secs + 1);
    let reply = env
        .server
        .client_credentials(&env.service_auth(), None)
        .await
        .unwrap();
    assert_token_ok(&reply);
}

#[tokio::test]
async fn tok_13_password_grant_honours_the_login_throttle() {
    let env = Env::start().await;
    env.server
        .add_client(
            portcullis_testkit::ClientSpec::confidential(
                "legacy",
                "legacy-secret-0123456789abcdef",
            )
            .grant_types(&[GrantType::Password])
            .scope("orders:read")
            .audience(&[API]),
        )
        .await
        .unwrap();
    let auth = ClientAuth::basic("legacy", "legacy-secret-0123456789abcdef");
    let max = env.server.config().login_throttle.max_failures;
    for _ in 0..max {
        let reply = env
            .server
            .token(
                &auth,
                &[
                    ("grant_type", "password"),
                    ("username", ALICE),
                    ("password", "wrong"),
                ],
            )
            .await
            .unwrap();
        assert_eq!(reply.error(), Some("invalid_grant"));
    }
    let reply = env
        .server
        .token(
            &auth,
            &[
                ("grant_type", "password"),
                ("username", ALICE),
                ("password", ALICE_PASSWORD),
            ],
        )
        .await
        .unwrap();
    assert_ne!(
        reply.status, 200,
        "password grant bypassed the login throttle"
    );
    // The interactive login is locked by the same counter.
    let browser = env.server.browser().unwrap();
    assert!(!try_login(&env, &browser, ALICE, ALICE_PASSWORD).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dos_4_concurrent_wrong_passwords_verify_at_most_the_limit() {
    let env = Env::start().await;
    let limits = env.server.config().login_throttle;
    let browsers: Vec<Browser> = (0..40).map(|_| env.server.browser().unwrap()).collect();
    let outcomes = join_concurrently(
        browsers
            .iter()
            .map(|b| try_login(&env, b, ALICE, "wrong password"))
            .collect(),
    )
    .await;
    assert!(outcomes.iter().all(|ok| !ok), "a wrong password signed in");
    // Every verified guess is a recorded failure; refused ones are not checked and not kept.
    let verified = env
        .server
        .store()
        .login_failures("user:alice", env.server.now(), limits.window_secs)
        .await
        .unwrap();
    assert!(
        verified <= limits.max_failures,
        "{verified} of 40 concurrent guesses were verified against a limit of {}",
        limits.max_failures
    );
    assert_eq!(
        verified, limits.max_failures,
        "the first guesses are verified"
    );
    // The account is locked: the right password is refused too, until the window has passed.
    let browser = env.server.browser().unwrap();
    assert!(!try_login(&env, &browser, ALICE, ALICE_PASSWORD).await);
    env.server.advance(limits.window_secs + 1);
    let browser = env.server.browser().unwrap();
    assert!(try_login(&env, &browser, ALICE, ALICE_PASSWORD).await);
}
