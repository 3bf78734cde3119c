//! Token exchange (RFC 8693) over HTTP: a service trades the user's token for a narrower one
//! meant for the next service, with `act` recording the chain; every refusal has its exact code.

use crate::common::*;
use portcullis_testkit::{ClientAuth, ClientSpec, Reply, decode_jwt_parts};
use portcullis_types::GrantType;
use serde_json::Value;

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const AT_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const ID_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";

const ORDERS_SECRET: &str = "orders-api-secret-00112233445566778899";
const PAYMENTS: &str = "payments-api";
const PAYMENTS_SECRET: &str = "payments-api-secret-99887766554433221100";
const LEDGER: &str = "ledger-api";
const NO_POLICY: &str = "no-policy-service";
const NO_POLICY_SECRET: &str = "no-policy-secret-0123456789abcdef0123";

/// Sets the exchange policy of a registered client directly in the store.
async fn policy(env: &Env, client_id: &str, audiences: &[&str], impersonation: bool) {
    let store = env.server.store();
    let mut rec = store.get_client(client_id).await.unwrap().unwrap();
    rec.exchange_audiences = audiences.iter().map(|s| (*s).to_owned()).collect();
    rec.exchange_impersonation = impersonation;
    store.put_client(rec).await.unwrap();
}

/// The standard environment plus orders-api (may exchange for payments-api), payments-api (may
/// exchange for ledger-api) and a service with the grant but no policy. The web client may
/// impersonate towards payments-api (used with ID tokens).
async fn env() -> Env {
    let env = Env::start().await;
    for (id, secret, audience) in [
        (API, ORDERS_SECRET, PAYMENTS),
        (PAYMENTS, PAYMENTS_SECRET, LEDGER),
        (NO_POLICY, NO_POLICY_SECRET, API),
    ] {
        env.server
            .add_client(
                ClientSpec::confidential(id, secret)
                    .grant_types(&[GrantType::ClientCredentials, GrantType::TokenExchange])
                    .scope("orders:read")
                    .audience(&[audience]),
            )
            .await
            .unwrap();
    }
    policy(&env, API, &[PAYMENTS], false).await;
    policy(&env, PAYMENTS, &[LEDGER], false).await;
    let mut web = env.server.store().get_client(WEB).await.unwrap().unwrap();
    web.grant_types.push(GrantType::TokenExchange);
    env.server.store().put_client(web).await.unwrap();
    policy(&env, WEB, &[PAYMENTS], true).await;
    env
}

fn orders() -> ClientAuth {
    ClientAuth::basic(API, ORDERS_SECRET)
}

fn payments() -> ClientAuth {
    ClientAuth::basic(PAYMENTS, PAYMENTS_SECRET)
}

async fn own_token(env: &Env, auth: &ClientAuth) -> String {
    let reply = env.server.client_credentials(auth, None).await.unwrap();
    assert_token_ok(&reply);
    reply.str("access_token").unwrap().to_owned()
}

async fn exchange(env: &Env, auth: &ClientAuth, fields: &[(&str, &str)]) -> Reply {
    let mut form = vec![("grant_type", EXCHANGE)];
    form.extend_from_slice(fields);
    env.server.token(auth, &form).await.unwrap()
}

/// orders-api exchanges `subject` for payments-api, acting as itself.
async fn delegate(env: &Env, subject: &str, scope: Option<&str>) -> Reply {
    let actor = own_token(env, &orders()).await;
    let mut fields = vec![
        ("subject_token", subject),
        ("subject_token_type", AT_TYPE),
        ("actor_token", actor.as_str()),
        ("actor_token_type", AT_TYPE),
        ("audience", PAYMENTS),
    ];
    if let Some(s) = scope {
        fields.push(("scope", s));
    }
    exchange(env, &orders(), &fields).await
}

fn claims(token: &str) -> Value {
    decode_jwt_parts(token).unwrap().1
}

#[tokio::test]
async fn exchange_delegation_narrows_scope_and_records_actor() {
    let env = env().await;
    let user = env.web_tokens("openid orders:read").await;
    let reply = delegate(&env, &user.access_token, Some("orders:read")).await;
    assert_token_ok(&reply);
    assert_eq!(reply.str("issued_token_type"), Some(AT_TYPE));
    assert_eq!(reply.str("scope"), Some("orders:read"));
    assert!(reply.json.get("refresh_token").is_none());
    let token = reply.str("access_token").unwrap();
    let c = env
        .server
        .verify_access_token(token, PAYMENTS)
        .await
        .unwrap();
    assert_eq!(c["sub"], env.alice_sub.as_str());
    assert_eq!(c["client_id"], API);
    assert_eq!(c["scope"], "orders:read");
    assert_eq!(c["act"], serde_json::json!({"sub": API}));
    // Not usable at the original audience.
    assert!(env.server.verify_access_token(token, API).await.is_err());
    // The default scope is the subject token's scope, within the exchanging client's own
    // registered scope (orders-api is registered for orders:read only).
    let reply = delegate(&env, &user.access_token, None).await;
    assert_token_ok(&reply);
    assert_eq!(reply.str("scope"), Some("orders:read"));
}

#[tokio::test]
async fn exchange_never_widens_scope() {
    let env = env().await;
    let user = env.web_tokens("openid orders:read").await;
    let reply = delegate(&env, &user.access_token, Some("orders:read orders:write")).await;
    assert_token_error(&reply, 400, "invalid_scope");
    let reply = delegate(&env, &user.access_token, Some("email")).await;
    assert_token_error(&reply, 400, "invalid_scope");
}

#[tokio::test]
async fn exchange_audience_policy() {
    let env = env().await;
    let user = env.web_tokens("openid orders:read").await;
    let actor = own_token(&env, &orders()).await;
    let base = [
        ("subject_token", user.access_token.as_str()),
        ("subject_token_type", AT_TYPE),
        ("actor_token", actor.as_str()),
        ("actor_token_type", AT_TYPE),
    ];
    // An audience outside the client's policy.
    let mut fields = base.to_vec();
    fields.push(("audience", "admin-api"));
    assert_token_error(
        &exchange(&env, &orders(), &fields).await,
        400,
        "invalid_target",
    );
    // A resource outside it, even next to an allowed audience.
    let mut fields = base.to_vec();
    fields.push(("audience", PAYMENTS));
    fields.push(("resource", "https://admin.example/"));
    assert_token_error(
        &exchange(&env, &orders(), &fields).await,
        400,
        "invalid_target",
    );
    // No target at all.
    assert_token_error(
        &exchange(&env, &orders(), &base).await,
        400,
        "invalid_request",
    );
    // A client with the grant but without a policy can exchange for nothing.
    let no_policy = ClientAuth::basic(NO_POLICY, NO_POLICY_SECRET);
    let own = own_token(&env, &no_policy).await;
    let fields = [
        ("subject_token", user.access_token.as_str()),
        ("subject_token_type", AT_TYPE),
        ("actor_token", own.as_str()),
        ("actor_token_type", AT_TYPE),
        ("audience", API),
    ];
    assert_token_error(
        &exchange(&env, &no_policy, &fields).await,
        400,
        "invalid_target",
    );
    // TOK-8: a client without the grant type.
    let mut fields = base.to_vec();
    fields.push(("audience", PAYMENTS));
    assert_token_error(
        &exchange(&env, &env.service_auth(), &fields).await,
        400,
        "unauthorized_client",
    );
}

#[tokio::test]
async fn exchange_act_nests_for_chains() {
    let env = env().await;
    let user = env.web_tokens("openid orders:read").await;
    let first = delegate(&env, &user.access_token, Some("orders:read")).await;
    assert_token_ok(&first);
    let for_payments = first.str("access_token").unwrap();
    // payments-api passes it on to the ledger, acting as itself.
    let actor = own_token(&env, &payments()).await;
    let reply = exchange(
        &env,
        &payments(),
        &[
            ("subject_token", for_payments),
            ("subject_token_type", AT_TYPE),
            ("actor_token", actor.as_str()),
            ("actor_token_type", AT_TYPE),
            ("audience", LEDGER),
        ],
    )
    .await;
    assert_token_ok(&reply);
    let c = env
        .server
        .verify_access_token(reply.str("access_token").unwrap(), LEDGER)
        .await
        .unwrap();
    assert_eq!(c["sub"], env.alice_sub.as_str());
    assert_eq!(
        c["act"],
        serde_json::json!({"sub": PAYMENTS, "act": {"sub": API}})
    );
}

#[tokio::test]
async fn exchange_lifetime_bounded_by_subject_token() {
    let env = env().await;
    let user = env.web_tokens("openid orders:read").await;
    let subject_exp = claims(&user.access_token)["exp"].as_i64().unwrap();
    env.server.advance(600);
    let reply = delegate(&env, &user.access_token, None).await;
    assert_token_ok(&reply);
    let c = claims(reply.str("access_token").unwrap());
    assert_eq!(c["exp"].as_i64().unwrap(), subject_exp);
    assert_eq!(
        reply.json["expires_in"].as_i64().unwrap(),
        subject_exp - env.server.now()
    );
    // An expired subject token is refused.
    env.server.advance(301);
    let reply = delegate(&env, &user.access_token, None).await;
    assert_token_error(&reply, 400, "invalid_request");
}

#[tokio::test]
async fn exchange_refuses_revoked_subject_token() {
    let env = env().await;
    let user = env.web_tokens("openid orders:read").await;
    let revoked = env
        .server
        .revoke(&env.web_auth(), &user.access_token, Some("access_token"))
        .await
        .unwrap();
    assert_eq!(revoked.status, 200);
    let reply = delegate(&env, &user.access_token, None).await;
    assert_token_error(&reply, 400, "invalid_request");
}

#[tokio::test]
async fn exchange_id_token_as_subject_with_impersonation() {
    let env = env().await;
    let user = env.web_tokens("openid orders:read").await;
    let id_token = user.id_token.clone().expect("ID token");
    let reply = exchange(
        &env,
        &env.web_auth(),
        &[
            ("subject_token", id_token.as_str()),
            ("subject_token_type", ID_TYPE),
            ("audience", PAYMENTS),
            ("scope", "orders:read"),
            ("requested_token_type", AT_TYPE),
        ],
    )
    .await;
    assert_token_ok(&reply);
    let c = env
        .server
        .verify_access_token(reply.str("access_token").unwrap(), PAYMENTS)
        .await
        .unwrap();
    assert_eq!(c["sub"], env.alice_sub.as_str());
    assert!(c.get("act").is_none(), "impersonation adds no actor");
    // Beyond what alice consented to for the web client.
    let reply = exchange(
        &env,
        &env.web_auth(),
        &[
            ("subject_token", id_token.as_str()),
            ("subject_token_type", ID_TYPE),
            ("audience", PAYMENTS),
            ("scope", "orders:write"),
        ],
    )
    .await;
    assert_token_error(&reply, 400, "invalid_scope");
    // An ID token is not an access token.
    let reply = exchange(
        &env,
        &env.web_auth(),
        &[
            ("subject_token", id_token.as_str()),
            ("subject_token_type", AT_TYPE),
            ("audience", PAYMENTS),
        ],
    )
    .await;
    assert_token_error(&reply, 400, "invalid_request");
}

#[tokio::test]
async fn exchange_request_errors() {
    let env = env().await;
    let user = env.web_tokens("openid orders:read").await;
    let subject = user.access_token.as_str();
    // Impersonation needs the client's explicit permission.
    let reply = exchange(
        &env,
        &orders(),
        &[
            ("subject_token", subject),
            ("subject_token_type", AT_TYPE),
            ("audience", PAYMENTS),
        ],
    )
    .await;
    assert_token_error(&reply, 400, "invalid_request");
    // Only access tokens can be requested.
    let actor = own_token(&env, &orders()).await;
    let mut fields = vec![
        ("subject_token", subject),
        ("subject_token_type", AT_TYPE),
        ("actor_token", actor.as_str()),
        ("actor_token_type", AT_TYPE),
        ("audience", PAYMENTS),
    ];
    fields.push((
        "requested_token_type",
        "urn:ietf:params:oauth:token-type:refresh_token",
    ));
    assert_token_error(
        &exchange(&env, &orders(), &fields).await,
        400,
        "invalid_request",
    );
    // The actor token must belong to the requesting client.
    let someone_else = own_token(&env, &payments()).await;
    let reply = exchange(
        &env,
        &orders(),
        &[
            ("subject_token", subject),
            ("subject_token_type", AT_TYPE),
            ("actor_token", someone_else.as_str()),
            ("actor_token_type", AT_TYPE),
            ("audience", PAYMENTS),
        ],
    )
    .await;
    assert_token_error(&reply, 400, "invalid_request");
    // A token neither issued to nor addressed to the requesting client.
    let payments_actor = own_token(&env, &payments()).await;
    let reply = exchange(
        &env,
        &payments(),
        &[
            ("subject_token", subject),
            ("subject_token_type", AT_TYPE),
            ("actor_token", payments_actor.as_str()),
            ("actor_token_type", AT_TYPE),
            ("audience", LEDGER),
        ],
    )
    .await;
    assert_token_error(&reply, 400, "invalid_request");
    // Garbage and missing parameters.
    let reply = exchange(
        &env,
        &orders(),
        &[
            ("subject_token", "not-a-token"),
            ("subject_token_type", AT_TYPE),
            ("audience", PAYMENTS),
        ],
    )
    .await;
    assert_token_error(&reply, 400, "invalid_request");
    let reply = exchange(&env, &orders(), &[("audience", PAYMENTS)]).await;
    assert_token_error(&reply, 400, "invalid_request");
}

#[tokio::test]
async fn tok_13_locked_account_cannot_exchange() {
    let env = env().await;
    let user = env.web_tokens("openid orders:read").await;
    let browser = env.server.browser().unwrap();
    let login = env.server.url("/login").unwrap();
    for _ in 0..5 {
        let page = browser.get(&login).await.unwrap();
        let mut form = page.login_form().unwrap();
        let user_field = form.username_field().unwrap().to_owned();
        let pass_field = form.password_field().unwrap().to_owned();
        form.set(&user_field, ALICE);
        form.set(&pass_field, "wrong");
        browser.submit(&page, &form, None).await.unwrap();
    }
    let reply = delegate(&env, &user.access_token, None).await;
    assert_token_error(&reply, 400, "invalid_grant");
}

#[tokio::test]
async fn exchanged_tokens_die_with_the_subject_grant() {
    let env = env().await;
    let user = env.web_tokens("openid orders:read offline_access").await;
    let first = delegate(&env, &user.access_token, Some("orders:read")).await;
    assert_token_ok(&first);
    let for_payments = first.str("access_token").unwrap().to_owned();
    let actor = own_token(&env, &payments()).await;
    let second = exchange(
        &env,
        &payments(),
        &[
            ("subject_token", for_payments.as_str()),
            ("subject_token_type", AT_TYPE),
            ("actor_token", actor.as_str()),
            ("actor_token_type", AT_TYPE),
            ("audience", LEDGER),
        ],
    )
    .await;
    assert_token_ok(&second);
    let for_ledger = second.str("access_token").unwrap().to_owned();
    let active = |auth: ClientAuth, token: String| {
        let env = &env;
        async move {
            let r = env.server.introspect(&auth, &token).await.unwrap();
            assert_eq!(r.status, 200, "{}", r.body);
            r.json["active"] == Value::Bool(true)
        }
    };
    assert!(active(orders(), for_payments.clone()).await);
    assert!(active(payments(), for_ledger.clone()).await);
    // The web client revokes its refresh token: the whole grant goes, exchanged tokens too.
    let refresh = user.refresh_token.clone().expect("refresh token");
    let revoked = env
        .server
        .revoke(&env.web_auth(), &refresh, Some("refresh_token"))
        .await
        .unwrap();
    assert_eq!(revoked.status, 200);
    assert!(!active(orders(), for_payments.clone()).await);
    assert!(!active(payments(), for_ledger.clone()).await);
    // And they can no longer be exchanged.
    let reply = exchange(
        &env,
        &payments(),
        &[
            ("subject_token", for_payments.as_str()),
            ("subject_token_type", AT_TYPE),
            ("actor_token", actor.as_str()),
            ("actor_token_type", AT_TYPE),
            ("audience", LEDGER),
        ],
    )
    .await;
    assert_token_error(&reply, 400, "invalid_request");
}

/// The web client signs alice in with `browser` and redeems the code: (access, refresh, ID token).
async fn web_sign_in(env: &Env, browser: &portcullis_testkit::Browser, scope: &str) -> Reply {
    let request = env.web_request(scope);
    let response = env
        .server
        .authorize(browser, &request, Some((ALICE, ALICE_PASSWORD)))
        .await
        .unwrap();
    let reply = env
        .server
        .redeem(&env.web_auth(), &response.code, &request)
        .await
        .unwrap();
    assert_token_ok(&reply);
    reply
}

/// The web client exchanges alice's ID token for a payments-api token (impersonation).
async fn exchange_id_token(env: &Env, id_token: &str) -> Reply {
    exchange(
        env,
        &env.web_auth(),
        &[
            ("subject_token", id_token),
            ("subject_token_type", ID_TYPE),
            ("audience", PAYMENTS),
        ],
    )
    .await
}

/// Exchanges the ID token once (fine), returns the exchanged access token after checking it
/// carries the grant's whole scope.
async fn exchange_while_live(env: &Env, id_token: &str, scope: &str) -> String {
    let first = exchange_id_token(env, id_token).await;
    assert_token_ok(&first);
    assert_eq!(first.str("scope").unwrap(), scope);
    first.str("access_token").unwrap().to_owned()
}

/// After the grant is gone: the ID token no longer exchanges, the token exchanged from it is
/// dead, and that one cannot be exchanged again either.
async fn assert_exchange_refused(env: &Env, id_token: &str, exchanged: &str) {
    let reply = exchange_id_token(env, id_token).await;
    assert_token_error(&reply, 400, "invalid_request");
    let r = env.server.introspect(&payments(), exchanged).await.unwrap();
    assert_eq!(r.json["active"], Value::Bool(false), "{}", r.body);
    let actor = own_token(env, &payments()).await;
    let again = exchange(
        env,
        &payments(),
        &[
            ("subject_token", exchanged),
            ("subject_token_type", AT_TYPE),
            ("actor_token", actor.as_str()),
            ("actor_token_type", AT_TYPE),
            ("audience", LEDGER),
        ],
    )
    .await;
    assert_token_error(&again, 400, "invalid_request");
}

#[tokio::test]
async fn rt_3_refresh_reuse_stops_id_token_exchange() {
    let env = env().await;
    let browser = env.server.browser().unwrap();
    let tokens = web_sign_in(&env, &browser, "openid orders:read offline_access").await;
    let id_token = tokens.str("id_token").unwrap().to_owned();
    let exchanged = exchange_while_live(&env, &id_token, "offline_access openid orders:read").await;
    let refresh = tokens.str("refresh_token").unwrap().to_owned();
    let rotated = env
        .server
        .refresh(&env.web_auth(), &refresh, None)
        .await
        .unwrap();
    assert_token_ok(&rotated);
    let reuse = env
        .server
        .refresh(&env.web_auth(), &refresh, None)
        .await
        .unwrap();
    assert_token_error(&reuse, 400, "invalid_grant");
    assert_exchange_refused(&env, &id_token, &exchanged).await;
}

#[tokio::test]
async fn rt_8_consent_withdrawal_stops_id_token_exchange() {
    let env = env().await;
    let browser = env.server.browser().unwrap();
    let tokens = web_sign_in(&env, &browser, "openid orders:read offline_access").await;
    let id_token = tokens.str("id_token").unwrap().to_owned();
    let exchanged = exchange_while_live(&env, &id_token, "offline_access openid orders:read").await;
    let account = browser
        .get(&env.server.url("/account").unwrap())
        .await
        .unwrap();
    let account = crate::browser::follow(&env.server, &browser, account).await;
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
    assert_exchange_refused(&env, &id_token, &exchanged).await;
}

#[tokio::test]
async fn logout_stops_id_token_exchange() {
    let env = env().await;
    let browser = env.server.browser().unwrap();
    let tokens = web_sign_in(&env, &browser, "openid orders:read").await;
    let id_token = tokens.str("id_token").unwrap().to_owned();
    let exchanged = exchange_while_live(&env, &id_token, "openid orders:read").await;
    crate::logout::logout(&env, &browser, &[("id_token_hint", id_token.as_str())]).await;
    assert_exchange_refused(&env, &id_token, &exchanged).await;
}

#[tokio::test]
async fn exchange_limited_by_the_exchanging_clients_scope() {
    let env = env().await;
    // alice's token carries openid, which orders-api itself is not registered for.
    let user = env.web_tokens("openid orders:read offline_access").await;
    let reply = delegate(&env, &user.access_token, Some("openid orders:read")).await;
    assert_token_error(&reply, 400, "invalid_scope");
    let reply = delegate(&env, &user.access_token, None).await;
    assert_token_ok(&reply);
    assert_eq!(reply.str("scope").unwrap(), "orders:read");
}
