//! Token hooks against a real hook server on a random port: claims added to access and ID
//! tokens, the signature header, every way a hook fails under `deny` and `allow`, explicit
//! refusal, and answers that try to change a protected claim.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::hmac;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_server::config::{OnFailure, TokenHookSettings};
use portcullis_testkit::{
    ClientAuth, ClientSpec, CodeRequest, Reply, TestServer, Tokens, decode_jwt_parts,
};
use portcullis_types::GrantType;
use portcullis_types::secret::TokenHookSecret;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;

const HOOK_SECRET: &str = "hook-secret-5c1f0e9d8b7a69584736251403f2e1d0";
/// Client-credentials client whose hook fails open (`on_failure = "allow"`).
const LENIENT: &str = "lenient-service";
const LENIENT_SECRET: &str = "lenient-secret-00112233445566778899aabb";
/// Timeout of the hooks in [`hooked_env`], milliseconds.
const TIMEOUT_MS: u64 = 300;

/// What the hook server answers.
#[derive(Debug, Clone)]
enum Answer {
    /// `200 {"claims": …}`.
    Claims(Value),
    /// Any status, content type and body.
    Raw(u16, &'static str, Vec<u8>),
    /// `{"claims": {"late": true}}` after this long.
    Slow(Duration),
}

/// One call the hook server received.
#[derive(Debug, Clone)]
struct Call {
    signature: String,
    content_type: String,
    body: Vec<u8>,
}

impl Call {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Clone)]
struct Hook {
    answer: Arc<Mutex<Answer>>,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Hook {
    fn answer(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
        self.calls.lock().unwrap().clear();
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

async fn handle(State(hook): State<Hook>, headers: HeaderMap, body: Bytes) -> Response {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    hook.calls.lock().unwrap().push(Call {
        signature: text(header::HeaderName::from_static("portcullis-signature")),
        content_type: text(header::CONTENT_TYPE),
        body: body.to_vec(),
    });
    let answer = hook.answer.lock().unwrap().clone();
    match answer {
        Answer::Claims(claims) => axum::Json(json!({ "claims": claims })).into_response(),
        Answer::Raw(status, content_type, body) => (
            StatusCode::from_u16(status).unwrap(),
            [
                (header::CONTENT_TYPE, content_type),
                (header::LOCATION, "/hook"),
            ],
            body,
        )
            .into_response(),
        Answer::Slow(wait) => {
            tokio::time::sleep(wait).await;
            axum::Json(json!({"claims": {"late": true}})).into_response()
        }
    }
}

/// Starts a hook server on `127.0.0.1:0`; returns it and its URL.
async fn hook_server() -> (Hook, url::Url) {
    let hook = Hook {
        answer: Arc::new(Mutex::new(Answer::Claims(json!({})))),
        calls: Arc::new(Mutex::new(Vec::new())),
    };
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(handle))
        .with_state(hook.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (hook, format!("http://{addr}/hook").parse().unwrap())
}

fn hook_at(url: &url::Url, on_failure: OnFailure, clients: &[&str]) -> TokenHookSettings {
    let mut hook = TokenHookSettings::new(url.clone(), TokenHookSecret::new(HOOK_SECRET));
    hook.timeout_ms = TIMEOUT_MS;
    hook.on_failure = on_failure;
    hook.clients = clients.iter().map(|c| (*c).into()).collect();
    hook
}

/// The standard environment with `hooks` and [`LENIENT`] registered.
async fn env_with_hooks(hooks: Vec<TokenHookSettings>) -> Env {
    let env =
        Env::start_with(TestServer::builder().configure(move |s| s.token_hooks = hooks)).await;
    env.server
        .add_client(
            ClientSpec::confidential(LENIENT, LENIENT_SECRET)
                .grant_types(&[GrantType::ClientCredentials])
                .scope("orders:read")
                .audience(&[API]),
        )
        .await
        .unwrap();
    env
}

/// One hook server behind two hooks: `deny` for the service and web clients, `allow` for
/// [`LENIENT`] and the other web client. The SPA has no hook.
async fn hooked_env() -> (Env, Hook) {
    let (hook, url) = hook_server().await;
    let env = env_with_hooks(vec![
        hook_at(&url, OnFailure::Deny, &[SERVICE, WEB]),
        hook_at(&url, OnFailure::Allow, &[LENIENT, OTHER]),
    ])
    .await;
    (env, hook)
}

fn lenient() -> ClientAuth {
    ClientAuth::basic(LENIENT, LENIENT_SECRET)
}

fn claims_of(token: &str) -> Value {
    decode_jwt_parts(token).unwrap().1
}

fn assert_unavailable(reply: &Reply) {
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(
        reply.error(),
        Some("temporarily_unavailable"),
        "{}",
        reply.body
    );
    assert!(reply.header("retry-after").is_some());
    assert!(reply.str("access_token").is_none());
}

/// A client-credentials request of the service client, whose hook fails closed.
async fn service_token(env: &Env) -> Reply {
    env.server
        .client_credentials(&env.service_auth(), None)
        .await
        .unwrap()
}

/// Issues a client-credentials token to the lenient client and returns its claims.
async fn lenient_claims(env: &Env) -> Value {
    let reply = env
        .server
        .client_credentials(&lenient(), None)
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let token = reply.str("access_token").unwrap();
    env.server.verify_access_token(token, API).await.unwrap()
}

/// The code flow of the other web client, whose hook fails open.
async fn other_tokens(env: &Env, scope: &str) -> (CodeRequest, Tokens) {
    let request = CodeRequest::new(OTHER, OTHER_CB, scope);
    let tokens = env
        .server
        .code_flow(&env.other_auth(), &request, (ALICE, ALICE_PASSWORD))
        .await
        .unwrap();
    (request, tokens)
}

#[tokio::test]
async fn hook_claims_reach_access_and_id_tokens() {
    let (env, hook) = hooked_env().await;
    hook.answer(Answer::Claims(
        json!({"tenant": "acme", "plan": {"tier": "gold", "seats": [1, 2]}}),
    ));
    let request = env.web_request("openid profile orders:read");
    let tokens = env
        .server
        .code_flow(&env.web_auth(), &request, (ALICE, ALICE_PASSWORD))
        .await
        .unwrap();
    let at = env
        .server
        .verify_access_token(&tokens.access_token, API)
        .await
        .unwrap();
    assert_eq!(at["tenant"], "acme");
    assert_eq!(at["plan"], json!({"tier": "gold", "seats": [1, 2]}));
    assert_eq!(at["sub"], env.alice_sub.as_str());
    assert_eq!(at["client_id"], WEB);
    let id = env
        .server
        .verify_id_token(tokens.id_token.as_deref().unwrap(), WEB)
        .await
        .unwrap();
    assert_eq!(id["tenant"], "acme");
    assert_eq!(id["plan"]["tier"], "gold");
    assert_eq!(id["sub"], env.alice_sub.as_str());
    assert_eq!(id["nonce"], request.nonce.as_deref().unwrap());

    // One call per token, each told what it is about.
    let calls = hook.calls();
    assert_eq!(calls.len(), 2);
    let (access, id_call) = (calls[0].json(), calls[1].json());
    assert_eq!(access["token_kind"], "access");
    assert_eq!(id_call["token_kind"], "id");
    for call in [&access, &id_call] {
        assert_eq!(call["subject"], env.alice_sub.as_str());
        assert_eq!(call["client_id"], WEB);
        assert_eq!(call["grant_type"], "authorization_code");
        assert_eq!(call["scope"], json!(["openid", "orders:read", "profile"]));
        assert_eq!(call["claims"]["sub"], env.alice_sub.as_str());
    }
    assert_eq!(access["claims"]["jti"], at["jti"]);
    assert_eq!(id_call["claims"]["nonce"], id["nonce"]);
    assert_eq!(id_call["claims"]["at_hash"], id["at_hash"]);
    assert_eq!(id_call["claims"]["preferred_username"], ALICE);
    assert!(calls.iter().all(|c| c.content_type == "application/json"));

    // A refresh asks again, naming its grant.
    hook.answer(Answer::Claims(json!({"tenant": "acme-2"})));
    let reply = env
        .server
        .refresh(
            &env.web_auth(),
            tokens.refresh_token.as_deref().unwrap(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        claims_of(reply.str("access_token").unwrap())["tenant"],
        "acme-2"
    );
    assert_eq!(
        claims_of(reply.str("id_token").unwrap())["tenant"],
        "acme-2"
    );
    assert!(
        hook.calls()
            .iter()
            .all(|c| c.json()["grant_type"] == "refresh_token")
    );
}

#[tokio::test]
async fn hook_claims_reach_client_credentials_tokens_and_only_listed_clients() {
    let (env, hook) = hooked_env().await;
    hook.answer(Answer::Claims(json!({"tenant": "acme"})));
    let reply = env
        .server
        .client_credentials(&env.service_auth(), Some("orders:read"))
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let at = env
        .server
        .verify_access_token(reply.str("access_token").unwrap(), API)
        .await
        .unwrap();
    assert_eq!(at["tenant"], "acme");
    assert_eq!(at["sub"], SERVICE);
    let calls = hook.calls();
    assert_eq!(calls.len(), 1);
    let call = calls[0].json();
    assert_eq!(call["grant_type"], "client_credentials");
    assert_eq!(call["subject"], SERVICE);
    assert_eq!(call["scope"], json!(["orders:read"]));

    // The SPA is in no hook's client list: no call, no claim.
    hook.answer(Answer::Claims(json!({"tenant": "acme"})));
    let tokens = env.spa_tokens("openid").await;
    assert!(claims_of(&tokens.access_token).get("tenant").is_none());
    assert!(
        claims_of(tokens.id_token.as_deref().unwrap())
            .get("tenant")
            .is_none()
    );
    assert!(hook.calls().is_empty());
}

#[tokio::test]
async fn hook_request_signature_covers_timestamp_and_body() {
    let (env, hook) = hooked_env().await;
    hook.answer(Answer::Claims(json!({})));
    let reply = service_token(&env).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let call = hook.calls().remove(0);
    let (t, v1) = call
        .signature
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .unwrap_or_else(|| panic!("signature header {:?}", call.signature));
    assert_eq!(t.parse::<i64>().unwrap(), env.server.now());
    assert_eq!(v1.len(), 64);
    let key = hmac::Key::new(hmac::HMAC_SHA256, HOOK_SECRET.as_bytes());
    let tag = |body: &[u8]| {
        let signed = [t.as_bytes(), b".", body].concat();
        hmac::sign(&key, &signed)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(tag(&call.body), v1, "the hook can verify the call");
    let mut altered = call.body.clone();
    altered.push(b' ');
    assert_ne!(tag(&altered), v1, "a changed body does not verify");
    let wrong_key = hmac::Key::new(hmac::HMAC_SHA256, b"another-secret-another-secret-xx");
    let signed = [t.as_bytes(), b".", call.body.as_slice()].concat();
    assert_ne!(
        hmac::sign(&wrong_key, &signed).as_ref(),
        tag(&call.body).as_bytes()
    );
    // No secret travels with the call.
    assert!(!String::from_utf8_lossy(&call.body).contains(HOOK_SECRET));
    assert!(!call.signature.contains(HOOK_SECRET));
}

#[tokio::test]
async fn slow_hook_times_out_deny_refuses_and_allow_issues_without_claims() {
    let (env, hook) = hooked_env().await;
    hook.answer(Answer::Slow(Duration::from_secs(3)));
    let started = Instant::now();
    let reply = service_token(&env).await;
    assert_unavailable(&reply);
    assert!(
        started.elapsed() < Duration::from_millis(2_000),
        "the hook's timeout, not its answer, ended the wait: {:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let claims = lenient_claims(&env).await;
    assert!(started.elapsed() < Duration::from_millis(2_000));
    assert!(claims.get("late").is_none());
    assert_eq!(claims["sub"], LENIENT);
}

#[tokio::test]
async fn failing_answers_deny_or_allow_per_hook() {
    let (env, hook) = hooked_env().await;
    let deep = format!(
        r#"{{"claims": {{"tenant": {}1{}}}}}"#,
        "[".repeat(20),
        "]".repeat(20)
    );
    let cases = [
        (
            "server error",
            Answer::Raw(500, "application/json", br#"{"claims":{}}"#.to_vec()),
        ),
        (
            "unavailable",
            Answer::Raw(503, "text/plain", b"down".to_vec()),
        ),
        ("redirect", Answer::Raw(307, "application/json", Vec::new())),
        (
            "not found",
            Answer::Raw(404, "application/json", b"{}".to_vec()),
        ),
        (
            "text answer",
            Answer::Raw(200, "text/plain", br#"{"claims":{"tenant":"x"}}"#.to_vec()),
        ),
        (
            "invalid json",
            Answer::Raw(
                200,
                "application/json",
                br#"{"claims": {"tenant": "#.to_vec(),
            ),
        ),
        (
            "empty body",
            Answer::Raw(200, "application/json", Vec::new()),
        ),
        (
            "array",
            Answer::Raw(200, "application/json", br#"[{"tenant":"x"}]"#.to_vec()),
        ),
        (
            "claims not an object",
            Answer::Raw(
                200,
                "application/json",
                br#"{"claims":["tenant"]}"#.to_vec(),
            ),
        ),
        (
            "bare claims",
            Answer::Raw(200, "application/json", br#"{"tenant":"x"}"#.to_vec()),
        ),
        (
            "too deep",
            Answer::Raw(200, "application/json", deep.into_bytes()),
        ),
        (
            "oversized",
            Answer::Raw(
                200,
                "application/json",
                format!(r#"{{"claims": {{"tenant": "{}"}}}}"#, "x".repeat(20 * 1024)).into_bytes(),
            ),
        ),
    ];
    for (name, answer) in cases {
        hook.answer(answer);
        let reply = service_token(&env).await;
        assert_eq!(reply.status, 503, "{name}: {}", reply.body);
        assert_eq!(reply.error(), Some("temporarily_unavailable"), "{name}");
        let claims = lenient_claims(&env).await;
        assert!(claims.get("tenant").is_none(), "{name}: {claims}");
        assert_eq!(claims["scope"], "orders:read", "{name}");
        assert_eq!(hook.calls().len(), 2, "{name}: no redirect was followed");
    }
}

#[tokio::test]
async fn hook_refusal_is_invalid_grant_even_when_failures_are_allowed() {
    let (env, hook) = hooked_env().await;
    hook.answer(Answer::Raw(403, "application/json", b"{}".to_vec()));
    for auth in [env.service_auth(), lenient()] {
        let reply = env.server.client_credentials(&auth, None).await.unwrap();
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert_eq!(reply.error(), Some("invalid_grant"));
        assert!(reply.str("access_token").is_none());
    }
    // A refused code exchange hands out nothing: no ID token, no refresh token.
    let (request, code) = env.web_code("openid offline_access").await;
    let reply = env
        .server
        .redeem(&env.web_auth(), &code, &request)
        .await
        .unwrap();
    assert_eq!(reply.error(), Some("invalid_grant"), "{}", reply.body);
    assert!(reply.str("refresh_token").is_none());
}

/// Every protected claim the access token carries, and one it does not (`act`, `roles`): the
/// deny hook's client is refused, the allow hook's client gets the token as the server made
/// it, without any of the answer's claims.
#[tokio::test]
async fn hook_cannot_change_protected_access_token_claims() {
    let (env, hook) = hooked_env().await;
    let honest = lenient_claims(&env).await;
    for name in [
        "sub",
        "aud",
        "exp",
        "scope",
        "client_id",
        "iss",
        "iat",
        "jti",
        "nbf",
        "act",
        "roles",
        "groups",
        "cnf",
    ] {
        hook.answer(Answer::Claims(json!({ name: "mallory", "tenant": "acme" })));
        let reply = service_token(&env).await;
        assert_unavailable(&reply);
        let claims = lenient_claims(&env).await;
        assert!(claims.get("tenant").is_none(), "{name}: {claims}");
        assert_ne!(claims.get(name), Some(&json!("mallory")), "{name}");
        for kept in ["sub", "aud", "scope", "client_id", "iss"] {
            assert_eq!(claims[kept], honest[kept], "{name} changed {kept}");
        }
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            900,
            "{name}"
        );
    }
}

#[tokio::test]
async fn iss_2_hook_cannot_change_the_issuer() {
    let (env, hook) = hooked_env().await;
    hook.answer(Answer::Claims(json!({"iss": "https://evil.example"})));
    let claims = lenient_claims(&env).await;
    assert_eq!(claims["iss"], env.server.issuer());
}

/// ID-token claims: the OpenID Connect ones (`nonce`, `auth_time`, `sid`, `at_hash`, `azp`),
/// and `email`, protected because the token already carries it. The access token has no
/// `email`, so there it is an ordinary addition.
#[tokio::test]
async fn hook_cannot_change_protected_id_token_claims() {
    let (env, hook) = hooked_env().await;
    let scope = "openid email";
    for name in ["nonce", "auth_time", "sid", "at_hash", "azp", "sub", "aud"] {
        hook.answer(Answer::Claims(json!({ name: "mallory" })));
        let (request, code) = env.web_code(scope).await;
        let reply = env
            .server
            .redeem(&env.web_auth(), &code, &request)
            .await
            .unwrap();
        assert_unavailable(&reply);

        let (request, tokens) = other_tokens(&env, scope).await;
        let id = env
            .server
            .verify_id_token(tokens.id_token.as_deref().unwrap(), OTHER)
            .await
            .unwrap();
        assert_ne!(id.get(name), Some(&json!("mallory")), "{name}: {id}");
        assert_eq!(id["nonce"], request.nonce.as_deref().unwrap(), "{name}");
        assert_eq!(id["sub"], env.alice_sub.as_str(), "{name}");
        assert_eq!(id["aud"], OTHER, "{name}");
    }
    hook.answer(Answer::Claims(json!({"email": "mallory@evil.example"})));
    let (_, tokens) = other_tokens(&env, scope).await;
    let id = claims_of(tokens.id_token.as_deref().unwrap());
    assert_ne!(id["email"], "mallory@evil.example");
    assert_eq!(
        claims_of(&tokens.access_token)["email"],
        "mallory@evil.example"
    );
}

/// A hook that cannot be reached, and one whose answer never ends: both fail, the endless one
/// as soon as it passes the size limit rather than at the timeout.
#[tokio::test]
async fn unreachable_and_endless_hooks_fail() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let closed_url: url::Url = format!("http://{closed}/hook").parse().unwrap();
    let endless = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endless_url: url::Url = format!("http://{}/hook", endless.local_addr().unwrap())
        .parse()
        .unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = endless.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                            transfer-encoding: chunked\r\n\r\n1\r\n{\r\n";
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("1000\r\n{}\r\n", " ".repeat(0x1000));
                while stream.write_all(chunk.as_bytes()).await.is_ok() {}
            });
        }
    });
    let mut endless_hook = hook_at(&endless_url, OnFailure::Deny, &[WEB]);
    endless_hook.timeout_ms = 5_000;
    endless_hook.tokens = vec![portcullis_server::config::TokenKind::Access];
    let env = env_with_hooks(vec![
        hook_at(&closed_url, OnFailure::Deny, &[SERVICE]),
        hook_at(&closed_url, OnFailure::Allow, &[LENIENT]),
        endless_hook,
    ])
    .await;
    let reply = service_token(&env).await;
    assert_unavailable(&reply);
    assert_eq!(lenient_claims(&env).await["sub"], LENIENT);

    let (request, code) = env.web_code("orders:read").await;
    let started = Instant::now();
    let reply = env
        .server
        .redeem(&env.web_auth(), &code, &request)
        .await
        .unwrap();
    assert_unavailable(&reply);
    assert!(
        started.elapsed() < Duration::from_millis(2_500),
        "the size limit, not the 5 s timeout, ended the endless answer: {:?}",
        started.elapsed()
    );
}

/// A token exchanged by orders-api (RFC 8693) gets the hook's claims too; an answer that tries
/// to name another actor is refused.
#[tokio::test]
async fn exchanged_tokens_are_hooked_and_act_is_protected() {
    const ORDERS_SECRET: &str = "orders-api-secret-00112233445566778899";
    const PAYMENTS: &str = "payments-api";
    const AT_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
    let (hook, url) = hook_server().await;
    let env = env_with_hooks(vec![hook_at(&url, OnFailure::Deny, &[API])]).await;
    env.server
        .add_client(
            ClientSpec::confidential(API, ORDERS_SECRET)
                .grant_types(&[GrantType::ClientCredentials, GrantType::TokenExchange])
                .scope("orders:read")
                .audience(&[PAYMENTS]),
        )
        .await
        .unwrap();
    let mut rec = env.server.store().get_client(API).await.unwrap().unwrap();
    rec.exchange_audiences = vec![PAYMENTS.to_owned()];
    env.server.store().put_client(rec).await.unwrap();
    let orders = ClientAuth::basic(API, ORDERS_SECRET);

    hook.answer(Answer::Claims(json!({"tenant": "acme"})));
    let user = env.web_tokens("openid orders:read").await;
    let actor = env.server.client_credentials(&orders, None).await.unwrap();
    let actor = actor.str("access_token").unwrap().to_owned();
    let form = [
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        ("subject_token", user.access_token.as_str()),
        ("subject_token_type", AT_TYPE),
        ("actor_token", actor.as_str()),
        ("actor_token_type", AT_TYPE),
        ("audience", PAYMENTS),
    ];
    hook.answer(Answer::Claims(json!({"tenant": "acme"})));
    let reply = env.server.token(&orders, &form).await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let exchanged = env
        .server
        .verify_access_token(reply.str("access_token").unwrap(), PAYMENTS)
        .await
        .unwrap();
    assert_eq!(exchanged["tenant"], "acme");
    assert_eq!(exchanged["act"], json!({"sub": API}));
    let call = hook.calls().remove(0).json();
    assert_eq!(
        call["grant_type"],
        "urn:ietf:params:oauth:grant-type:token-exchange"
    );
    assert_eq!(call["subject"], env.alice_sub.as_str());
    assert_eq!(call["claims"]["act"], json!({"sub": API}));

    hook.answer(Answer::Claims(json!({"act": {"sub": "mallory"}})));
    let reply = env.server.token(&orders, &form).await.unwrap();
    assert_unavailable(&reply);
}

/// The log of this test's thread (the server runs on it: `#[tokio::test]` is single-threaded).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs the three failing hook answers of the log test and returns what this thread logged
/// meanwhile.
async fn log_of_three_hook_failures() -> String {
    let (env, hook) = hooked_env().await;
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();
    hook.answer(Answer::Claims(
        json!({"sub": "mallory-value-1", "tenant": "acme-value-2"}),
    ));
    assert_unavailable(&service_token(&env).await);
    assert!(lenient_claims(&env).await.get("tenant").is_none());
    hook.answer(Answer::Raw(
        500,
        "application/json",
        br#"{"claims": {"tenant": "body-value-3"}}"#.to_vec(),
    ));
    assert_unavailable(&service_token(&env).await);
    String::from_utf8(log.0.lock().unwrap().clone()).unwrap()
}

#[tokio::test]
async fn hook_failures_are_logged_without_claim_values_or_secret() {
    // A thread-local subscriber sees an event only if its call site's cached interest counts
    // it, and another test's thread registering the same call site at the same moment can
    // leave it cached as "nobody listens" for a while (tracing's callsite registry is
    // process-wide). When nothing of the hook's was captured, the scenario runs again, at
    // most three times; what is captured is then held to every assertion below.
    let mut text = String::new();
    for _ in 0..3 {
        text = log_of_three_hook_failures().await;
        if text.contains("token_hook_failure") {
            break;
        }
    }
    let failures: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("token_hook_failure"))
        .collect();
    assert_eq!(failures.len(), 3, "{text}");
    assert!(failures[0].contains("protected_claim") && failures[0].contains("denied"));
    assert!(failures[0].contains(SERVICE) && failures[0].contains("sub"));
    assert!(failures[1].contains("protected_claim") && failures[1].contains("allowed"));
    assert!(failures[2].contains("status") && failures[2].contains("500"));
    for secret in [
        "mallory-value-1",
        "acme-value-2",
        "body-value-3",
        HOOK_SECRET,
        SERVICE_SECRET,
    ] {
        assert!(!text.contains(secret), "{secret} logged: {text}");
    }
}

/// The hooks are asked before a refresh token is rotated: when a `deny` hook fails the client
/// gets 503 and its refresh token is not used up, so the retry once the hook is back works
/// instead of counting as reuse and revoking the family (RT-3).
#[tokio::test]
async fn a_failing_hook_on_refresh_leaves_the_refresh_token_usable() {
    let (env, hook) = hooked_env().await;
    let tokens = env.web_tokens("openid profile orders:read").await;
    let refresh = tokens.refresh_token.as_deref().unwrap();
    hook.answer(Answer::Raw(500, "text/plain", b"down".to_vec()));
    let failed = env
        .server
        .refresh(&env.web_auth(), refresh, None)
        .await
        .unwrap();
    assert_eq!(failed.status, 503, "{}", failed.body);
    hook.answer(Answer::Claims(json!({"tenant": "back"})));
    let retried = env
        .server
        .refresh(&env.web_auth(), refresh, None)
        .await
        .unwrap();
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert_eq!(
        claims_of(retried.str("access_token").unwrap())["tenant"],
        "back"
    );
}
