//! Values from tokens and requests that the server looks things up by are attacker input
//! (JWT-20): a hostile `kid`, a `jku`/`x5u` pointing at a listener of the test's, or injection
//! text in `sub`/`iss`/`client_id` or a username finds nothing, fetches nothing and gets the
//! ordinary refusal. The store is SQLite, where injection text would matter.

use crate::common::*;
use portcullis_jose::{Algorithm, SigningKey};
use portcullis_testkit::Clock as _;
use portcullis_testkit::{
    AssertionClaims, ClientAuth, Reply, StoreKind, TestServer, Tripwire, sign_with_header,
};
use serde_json::{Value, json};

/// Injection and path text, as `kid`, `sub`, `client_id` or username.
const HOSTILE: [&str; 8] = [
    "' OR '1'='1",
    "client-key-1' --",
    "x'; DROP TABLE clients; --",
    "\" OR \"\"=\"",
    "%' OR 1=1 --",
    "../../etc/passwd",
    "/etc/passwd",
    "file:///etc/passwd",
];

/// JWS headers an attacker could send: odd `kid`s, and `jku`/`x5u` at the tripwire.
fn hostile_headers(alg: &str, typ: &str, wire: &Tripwire) -> Vec<Value> {
    let mut headers: Vec<Value> = HOSTILE
        .iter()
        .map(|kid| json!({"alg": alg, "typ": typ, "kid": kid}))
        .collect();
    for member in ["jku", "x5u"] {
        headers.push(json!({"alg": alg, "typ": typ, member: wire.url("/keys.json")}));
        headers.push(
            json!({"alg": alg, "typ": typ, "kid": "attacker", member: wire.url("/keys.json")}),
        );
    }
    headers
}

async fn start() -> (Env, SigningKey) {
    let env = Env::start_with(TestServer::builder().store(StoreKind::Sqlite)).await;
    let key = env.add_jwt_client().await;
    (env, key)
}

fn assertion_claims(env: &Env, client_id: &str) -> Value {
    let claims = AssertionClaims::new(client_id, env.server.issuer(), env.server.clock().now());
    json!({
        "iss": claims.iss, "sub": claims.sub, "aud": claims.aud,
        "exp": claims.exp, "iat": claims.iat, "jti": claims.jti,
    })
}

#[track_caller]
fn assert_same_refusal(reply: &Reply, baseline: &Reply, what: &str) {
    assert_eq!(reply.status, baseline.status, "{what}: {}", reply.body);
    assert_eq!(reply.json, baseline.json, "{what}");
    assert_eq!(
        reply.header("www-authenticate"),
        baseline.header("www-authenticate"),
        "{what}"
    );
}

#[tokio::test]
async fn jwt_20_hostile_client_assertion_headers_are_invalid_client_and_fetch_nothing() {
    let (env, key) = start().await;
    let wire = Tripwire::new().unwrap();
    let attacker = SigningKey::generate(Algorithm::ES256).unwrap();
    // The ordinary refusal: an assertion signed by a key the client never registered.
    let baseline = env
        .with_assertion(
            JWT_CLIENT,
            &sign_with_header(
                &attacker,
                &json!({"alg": "ES256", "typ": "JWT", "kid": "attacker"}),
                &assertion_claims(&env, JWT_CLIENT),
            )
            .unwrap(),
        )
        .await;
    assert_token_error(&baseline, 401, "invalid_client");
    for header in hostile_headers("ES256", "JWT", &wire) {
        let assertion =
            sign_with_header(&attacker, &header, &assertion_claims(&env, JWT_CLIENT)).unwrap();
        let reply = env.with_assertion(JWT_CLIENT, &assertion).await;
        assert_same_refusal(&reply, &baseline, &header.to_string());
        env.server.advance(61); // past the failure throttle's window
    }
    assert!(!wire.was_touched().unwrap(), "a jku or x5u was fetched");

    // Signed by the registered key, the assertion is good whatever jku/x5u say: the key comes
    // from the registration, and the URL is still not fetched.
    for member in ["jku", "x5u"] {
        let header =
            json!({"alg": "ES256", "typ": "JWT", "kid": JWT_CLIENT_KID, member: wire.url("/k")});
        let assertion =
            sign_with_header(&key, &header, &assertion_claims(&env, JWT_CLIENT)).unwrap();
        assert_token_ok(&env.with_assertion(JWT_CLIENT, &assertion).await);
    }
    assert!(!wire.was_touched().unwrap(), "a jku or x5u was fetched");
}

#[tokio::test]
async fn jwt_20_injection_in_client_id_and_sub_matches_nothing() {
    let (env, key) = start().await;
    for text in HOSTILE {
        // Alone and after a registered id: a lookup that read the text as SQL, a pattern or a
        // path would find that client, and its own key or secret would then be accepted.
        for suffix in [String::new(), text.to_owned()] {
            let jwt_client = if suffix.is_empty() {
                text.to_owned()
            } else {
                format!("{JWT_CLIENT}{suffix}")
            };
            // iss/sub/client_id of an assertion signed by the registered key.
            let assertion = sign_with_header(
                &key,
                &json!({"alg": "ES256", "typ": "JWT", "kid": JWT_CLIENT_KID}),
                &assertion_claims(&env, &jwt_client),
            )
            .unwrap();
            let reply = env.with_assertion(&jwt_client, &assertion).await;
            assert_token_error(&reply, 401, "invalid_client");
            // A client id with the service client's secret.
            let service = if suffix.is_empty() {
                text.to_owned()
            } else {
                format!("{SERVICE}{suffix}")
            };
            for auth in [
                ClientAuth::basic(&service, SERVICE_SECRET),
                ClientAuth::post(&service, SERVICE_SECRET),
            ] {
                let reply = env.server.client_credentials(&auth, None).await.unwrap();
                assert_token_error(&reply, 401, "invalid_client");
            }
            env.server.advance(61); // past the failure throttle's window
        }
        // An authorization request for such a client is an error page.
        for client_id in [text.to_owned(), format!("{WEB}{text}")] {
            let mut url = env.server.endpoints().authorization.clone();
            url.query_pairs_mut()
                .append_pair("client_id", &client_id)
                .append_pair("redirect_uri", WEB_CB)
                .append_pair("response_type", "code");
            let page = env.server.browser().unwrap().get(&url).await.unwrap();
            assert_eq!(page.status, 400, "{client_id}");
            assert!(page.header("location").is_none(), "{client_id}");
        }
        // A username with the text, and alice's password, signs nobody in.
        let mut username = ALICE.to_owned();
        username.push_str(text);
        for name in [text, username.as_str()] {
            let tokens = env
                .server
                .code_flow(
                    &env.web_auth(),
                    &env.web_request("openid"),
                    (name, ALICE_PASSWORD),
                )
                .await;
            assert!(tokens.is_err(), "{name} signed in");
        }
        env.server.advance(15 * 60 + 1); // past the login throttle's window
    }
    // The registrations are intact.
    assert_token_ok(
        &env.server
            .client_credentials(&env.service_auth(), None)
            .await
            .unwrap(),
    );
}

#[tokio::test]
async fn jwt_20_hostile_access_tokens_at_userinfo_and_introspection() {
    let (env, _key) = start().await;
    let wire = Tripwire::new().unwrap();
    let attacker = SigningKey::generate(Algorithm::ES256).unwrap();
    let now = env.server.now();
    let claims = |sub: &str| {
        json!({
            "iss": env.server.issuer(), "aud": API, "sub": sub, "client_id": WEB,
            "scope": "openid", "iat": now, "exp": now + 300, "jti": "forged-jti",
        })
    };
    let forged =
        |header: &Value, sub: &str| sign_with_header(&attacker, header, &claims(sub)).unwrap();
    let plain = forged(
        &json!({"alg": "ES256", "typ": "at+jwt", "kid": "attacker"}),
        &env.alice_sub,
    );
    let baseline = env.server.userinfo(&plain).await.unwrap();
    assert_eq!(baseline.status, 401, "{}", baseline.body);
    assert!(
        baseline
            .header("www-authenticate")
            .unwrap_or_default()
            .contains("invalid_token")
    );

    let mut tokens: Vec<(String, String)> = hostile_headers("ES256", "at+jwt", &wire)
        .into_iter()
        .map(|h| (h.to_string(), forged(&h, &env.alice_sub)))
        .collect();
    for text in HOSTILE {
        let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": "attacker"});
        tokens.push((format!("sub {text}"), forged(&header, text)));
    }
    for (what, token) in &tokens {
        let reply = env.server.userinfo(token).await.unwrap();
        assert_same_refusal(&reply, &baseline, what);
        let reply = env.server.introspect(&env.web_auth(), token).await.unwrap();
        assert_eq!(reply.status, 200, "{what}: {}", reply.body);
        assert_eq!(reply.json, json!({"active": false}), "{what}");
    }
    assert!(!wire.was_touched().unwrap(), "a jku or x5u was fetched");
    // The real user's token still works: nothing was changed by the attempts.
    let tokens = env.web_tokens("openid").await;
    assert_eq!(
        env.server
            .userinfo(&tokens.access_token)
            .await
            .unwrap()
            .status,
        200
    );
}
