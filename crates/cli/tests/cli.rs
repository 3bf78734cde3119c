//! Runs the built `portcullis` binary: client, user and key management on a temporary SQLite
//! database, token decode and verify, config file errors, and `serve` answering over HTTP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use portcullis_jose::{Algorithm, SigningKey};
use serde_json::{Value, json};
use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

fn portcullis(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("PORTCULLIS_DATABASE_URL")
        .env_remove("PORTCULLIS_CONFIG")
        .env_remove("PORTCULLIS_ISSUER")
        .env_remove("PORTCULLIS_LISTEN")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("run portcullis")
}

fn portcullis_stdin(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("PORTCULLIS_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn portcullis");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status,
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

fn db_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("portcullis.db").display())
}

#[test]
fn clients_add_list_remove() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    ok(&portcullis(&[
        "clients",
        "add",
        "--id",
        "web",
        "--secret",
        "web-secret-0123456789abcdef",
        "--redirect-uri",
        "https://web.example/cb",
        "--redirect-uri",
        "http://127.0.0.1/cb",
        "--grant-types",
        "authorization_code,refresh_token",
        "--scope",
        "openid profile",
        "--audience",
        "orders-api",
        "--access-token-ttl",
        "300",
        "--database",
        &db,
    ]));
    ok(&portcullis(&[
        "clients",
        "add",
        "--id",
        "spa",
        "--public",
        "--redirect-uri",
        "http://127.0.0.1/spa",
        "--database",
        &db,
    ]));
    let listed: Value = serde_json::from_str(&ok(&portcullis(&[
        "clients",
        "list",
        "--json",
        "--database",
        &db,
    ])))
    .unwrap();
    let clients = listed.as_array().unwrap();
    assert_eq!(clients.len(), 2);
    let web = clients.iter().find(|c| c["client_id"] == "web").unwrap();
    assert_eq!(web["confidential"], true);
    assert_eq!(web["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(
        web["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(
        web["redirect_uris"],
        json!(["https://web.example/cb", "http://127.0.0.1/cb"])
    );
    assert_eq!(web["scope"], "openid profile");
    assert_eq!(web["audience"], json!(["orders-api"]));
    assert_eq!(web["access_token_ttl"], 300);
    let text = ok(&portcullis(&["clients", "list", "--database", &db]));
    assert!(text.contains("web") && text.contains("spa"));
    assert!(!text.contains("web-secret"), "the secret is printed");
    let spa = clients.iter().find(|c| c["client_id"] == "spa").unwrap();
    assert_eq!(spa["token_endpoint_auth_method"], "none");

    ok(&portcullis(&[
        "clients",
        "remove",
        "--id",
        "web",
        "--database",
        &db,
    ]));
    let listed: Value = serde_json::from_str(&ok(&portcullis(&[
        "clients",
        "list",
        "--json",
        "--database",
        &db,
    ])))
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let again = portcullis(&["clients", "remove", "--id", "web", "--database", &db]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("web"));
}

#[test]
fn red_3_red_4_clients_add_refuses_bad_redirect_uris() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    for bad in [
        "http://c.example/cb",
        "https://c.example/cb#frag",
        "JavaScript:alert(1)",
        "data:text/html,x",
    ] {
        let out = portcullis(&[
            "clients",
            "add",
            "--id",
            "bad",
            "--public",
            "--redirect-uri",
            bad,
            "--database",
            &db,
        ]);
        assert!(!out.status.success(), "{bad} accepted");
        assert!(stderr(&out).contains("redirect"), "{bad}: {}", stderr(&out));
    }
    let out = portcullis(&["clients", "list", "--json", "--database", &db]);
    assert_eq!(serde_json::from_str::<Value>(&ok(&out)).unwrap(), json!([]));
}

#[test]
fn clients_add_generates_a_32_byte_secret() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    let out = ok(&portcullis(&[
        "clients",
        "add",
        "--id",
        "svc",
        "--generate-secret",
        "--grant-types",
        "client_credentials",
        "--database",
        &db,
    ]));
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .expect("the generated secret is printed once");
    // 32 random bytes, base64url without padding.
    assert_eq!(secret.len(), 43, "{secret}");
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    // Exactly one kind: a generated secret and a given one conflict.
    let both = portcullis(&[
        "clients",
        "add",
        "--id",
        "svc2",
        "--generate-secret",
        "--secret",
        "svc2-secret-0123456789abcdef",
        "--database",
        &db,
    ]);
    assert!(!both.status.success());
}

#[test]
fn clients_add_needs_exactly_one_kind() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    let both = portcullis(&[
        "clients",
        "add",
        "--id",
        "x",
        "--public",
        "--secret",
        "0123456789abcdef01",
        "--database",
        &db,
    ]);
    assert_eq!(both.status.code(), Some(2), "{}", stderr(&both));
    let neither = portcullis(&["clients", "add", "--id", "x", "--database", &db]);
    assert_eq!(neither.status.code(), Some(2));
    let short = portcullis(&[
        "clients",
        "add",
        "--id",
        "x",
        "--secret",
        "short",
        "--grant-types",
        "client_credentials",
        "--database",
        &db,
    ]);
    assert!(!short.status.success());
    assert!(stderr(&short).contains("secret"));
}

#[test]
fn users_add_with_password_stdin_list_remove() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    let out = portcullis_stdin(
        &[
            "users",
            "add",
            "--username",
            "alice",
            "--email",
            "alice@example.com",
            "--name",
            "Alice",
            "--password-stdin",
            "--database",
            &db,
        ],
        "a long enough password\n",
    );
    let text = ok(&out);
    assert!(text.contains("alice"));
    assert!(!text.contains("a long enough password"));
    let listed: Value = serde_json::from_str(&ok(&portcullis(&[
        "users",
        "list",
        "--json",
        "--database",
        &db,
    ])))
    .unwrap();
    let users = listed.as_array().unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["username"], "alice");
    assert_eq!(users[0]["email"], "alice@example.com");
    assert_eq!(users[0]["name"], "Alice");
    assert!(users[0].get("password_hash").is_none());
    // Duplicate username.
    let dup = portcullis_stdin(
        &[
            "users",
            "add",
            "--username",
            "alice",
            "--password-stdin",
            "--database",
            &db,
        ],
        "another password\n",
    );
    assert!(!dup.status.success());
    // Empty password.
    let empty = portcullis_stdin(
        &[
            "users",
            "add",
            "--username",
            "bob",
            "--password-stdin",
            "--database",
            &db,
        ],
        "\n",
    );
    assert!(!empty.status.success());
    ok(&portcullis(&[
        "users",
        "remove",
        "--username",
        "alice",
        "--database",
        &db,
    ]));
    let listed: Value = serde_json::from_str(&ok(&portcullis(&[
        "users",
        "list",
        "--json",
        "--database",
        &db,
    ])))
    .unwrap();
    assert_eq!(listed, json!([]));
}

#[test]
fn keys_list_and_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    let listed: Value = serde_json::from_str(&ok(&portcullis(&[
        "keys",
        "list",
        "--json",
        "--database",
        &db,
    ])))
    .unwrap();
    assert_eq!(listed, json!([]), "listing must not create keys");
    assert!(ok(&portcullis(&["keys", "list", "--database", &db])).contains("no signing keys"));
    // The first rotation creates the current keys, then publishes their successors.
    let out = ok(&portcullis(&["keys", "rotate", "--database", &db]));
    assert_eq!(
        out.lines().filter(|l| l.starts_with("published ")).count(),
        2,
        "{out}"
    );
    let listed: Value = serde_json::from_str(&ok(&portcullis(&[
        "keys",
        "list",
        "--json",
        "--database",
        &db,
    ])))
    .unwrap();
    let keys = listed.as_array().unwrap();
    assert_eq!(keys.len(), 4);
    let algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert_eq!(
        algs.iter().filter(|a| **a == "ES256").count(),
        2,
        "{algs:?}"
    );
    assert_eq!(
        algs.iter().filter(|a| **a == "RS256").count(),
        2,
        "{algs:?}"
    );
    assert!(
        keys.iter()
            .all(|k| k.get("d").is_none() && k.get("private_jwk").is_none())
    );
    assert_eq!(keys.iter().filter(|k| k["state"] == "next").count(), 2);
    let active: Vec<&Value> = keys.iter().filter(|k| k["state"] == "active").collect();
    assert_eq!(active.len(), 2);
    assert!(
        active
            .iter()
            .all(|k| k["retire_at"].is_i64() && k["expire_at"].is_i64())
    );
    let table = ok(&portcullis(&["keys", "list", "--database", &db]));
    assert!(table.contains("next") && table.contains("ES256"));
}

fn sign(key: &SigningKey, claims: &Value) -> String {
    portcullis_jose::jwt::encode(key, "at+jwt", claims).unwrap()
}

fn now() -> i64 {
    use portcullis_jose::time::Clock as _;
    portcullis_jose::SystemClock.now().as_secs()
}

#[test]
fn token_decode_marks_output_unverified() {
    let key = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("k1");
    let token = sign(
        &key,
        &json!({"iss": "https://as.example", "sub": "alice", "aud": "api", "exp": now() + 60}),
    );
    let out = ok(&portcullis(&["token", "decode", &token]));
    assert!(out.starts_with("UNVERIFIED"), "{out}");
    let json_start = out.find('{').unwrap();
    let doc: Value = serde_json::from_str(&out[json_start..]).unwrap();
    assert_eq!(doc["header"]["alg"], "ES256");
    assert_eq!(doc["header"]["kid"], "k1");
    assert_eq!(doc["header"]["typ"], "at+jwt");
    assert_eq!(doc["claims"]["sub"], "alice");
    let bad = portcullis(&["token", "decode", "not-a-jwt"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("error"));
}

#[test]
fn token_verify_against_jwks_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("k1");
    let jwks_path = dir.path().join("jwks.json");
    std::fs::write(
        &jwks_path,
        json!({"keys": [key.to_public_jwk().unwrap()]}).to_string(),
    )
    .unwrap();
    let jwks = jwks_path.to_str().unwrap();
    let claims = json!({"iss": "https://as.example", "sub": "alice", "aud": ["api", "other"], "exp": now() + 300, "iat": now()});
    let token = sign(&key, &claims);

    let out = ok(&portcullis(&[
        "token",
        "verify",
        &token,
        "--jwks",
        jwks,
        "--iss",
        "https://as.example",
        "--aud",
        "api",
        "--typ",
        "at+jwt",
    ]));
    assert!(out.starts_with("VERIFIED"), "{out}");
    let doc: Value = serde_json::from_str(&out[out.find('{').unwrap()..]).unwrap();
    assert_eq!(doc["claims"]["sub"], "alice");

    // Forged: same kid, another key.
    let forger = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("k1");
    let forged = sign(&forger, &claims);
    let out = portcullis(&[
        "token",
        "verify",
        &forged,
        "--jwks",
        jwks,
        "--iss",
        "https://as.example",
        "--aud",
        "api",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).to_lowercase().contains("signature"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());

    // Wrong audience, issuer, type; expired.
    let out = portcullis(&[
        "token",
        "verify",
        &token,
        "--jwks",
        jwks,
        "--iss",
        "https://as.example",
        "--aud",
        "nope",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).to_lowercase().contains("audience"),
        "{}",
        stderr(&out)
    );
    let out = portcullis(&[
        "token",
        "verify",
        &token,
        "--jwks",
        jwks,
        "--iss",
        "https://as.example/",
        "--aud",
        "api",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).to_lowercase().contains("issuer"),
        "{}",
        stderr(&out)
    );
    let out = portcullis(&[
        "token",
        "verify",
        &token,
        "--jwks",
        jwks,
        "--iss",
        "https://as.example",
        "--aud",
        "api",
        "--typ",
        "logout+jwt",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let expired = sign(
        &key,
        &json!({"iss": "https://as.example", "aud": "api", "exp": now() - 3600}),
    );
    let out = portcullis(&[
        "token",
        "verify",
        &expired,
        "--jwks",
        jwks,
        "--iss",
        "https://as.example",
        "--aud",
        "api",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).to_lowercase().contains("expired"),
        "{}",
        stderr(&out)
    );
    // A JWKS that is not one.
    let bad_path = dir.path().join("bad.json");
    std::fs::write(&bad_path, "{\"nope\": 1}").unwrap();
    let out = portcullis(&[
        "token",
        "verify",
        &token,
        "--jwks",
        bad_path.to_str().unwrap(),
        "--iss",
        "https://as.example",
        "--aud",
        "api",
    ]);
    assert!(!out.status.success());
}

#[test]
fn config_file_unknown_key_is_named_with_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("portcullis.toml");
    std::fs::write(
        &path,
        "version = 1\nissuer = \"http://127.0.0.1:8080\"\nlisten_adress = \"127.0.0.1:1\"\n",
    )
    .unwrap();
    let file = path.to_str().unwrap();
    for args in [
        vec!["serve", "--config", file],
        vec!["clients", "list", "--config", file],
    ] {
        let out = portcullis(&args);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(err.contains("listen_adress"), "{err}");
        assert!(err.contains("portcullis.toml"), "{err}");
    }
    std::fs::write(
        &path,
        "version = 1\n[[clients]]\nid = \"a\"\npublic = true\nredirect_uri = [\"x\"]\n",
    )
    .unwrap();
    let err = stderr(&portcullis(&["serve", "--config", file]));
    assert!(err.contains("redirect_uri"), "{err}");
    std::fs::write(&path, "version = 7\n").unwrap();
    let err = stderr(&portcullis(&["serve", "--config", file]));
    assert!(err.contains("version"), "{err}");
}

/// A `serve` child process that is killed when dropped.
struct Served {
    child: Option<Child>,
    base: String,
}

impl Served {
    fn child(&mut self) -> &mut Child {
        self.child.as_mut().unwrap()
    }

    /// Kills the process and returns what it printed.
    fn kill_and_collect(&mut self) -> Output {
        let mut child = self.child.take().unwrap();
        let _ = child.kill();
        child.wait_with_output().unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn serve(extra: &[&str], dir: &Path) -> Served {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let db = db_url(dir);
    let mut args = vec!["serve", "--listen", &listen, "--database", &db];
    args.extend_from_slice(extra);
    let child = Command::new(BIN)
        .args(&args)
        .env_remove("PORTCULLIS_ISSUER")
        .env("RUST_LOG", "info,portcullis_server=debug,tower_http=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let served = Served {
        child: Some(child),
        base: format!("http://{listen}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(resp) = reqwest::get(format!("{}/healthz", served.base)).await
            && resp.status() == 200
        {
            return served;
        }
        assert!(
            Instant::now() < deadline,
            "serve did not answer /healthz within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn serve_answers_healthz_and_discovery_then_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut served = serve(&[], dir.path()).await;
    let doc: Value = reqwest::get(format!("{}/.well-known/openid-configuration", served.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The issuer follows the loopback listen address when none is given.
    assert_eq!(doc["issuer"], served.base.as_str());
    assert!(
        dir.path().join("portcullis.db").exists(),
        "the SQLite file was not created"
    );
    // Graceful shutdown on SIGTERM.
    let status = Command::new("kill")
        .args(["-TERM", &served.child().id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = served.child().try_wait().unwrap() {
            assert!(status.success(), "serve exited with {status:?} on SIGTERM");
            break;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn serve_dev_prints_working_credentials_and_logs_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mut served = serve(&["--dev"], dir.path()).await;
    let http = reqwest::Client::new();
    let reply = http
        .post(format!("{}/token", served.base))
        .basic_auth("demo-app", Some("demo-app-secret-change-me"))
        .form(&[("grant_type", "client_credentials"), ("scope", "demo:read")])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let body: Value = reply.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap().to_owned();
    let token_for_logs = token.clone();

    // `token verify` with the JWKS fetched from the running server.
    let jwks_url = format!("{}/.well-known/jwks.json", served.base);
    let out = tokio::task::spawn_blocking({
        let base = served.base.clone();
        move || {
            portcullis(&[
                "token", "verify", &token, "--jwks", &jwks_url, "--iss", &base, "--aud",
                "demo-api", "--typ", "at+jwt",
            ])
        }
    })
    .await
    .unwrap();
    let text = ok(&out);
    assert!(text.contains("demo-app"), "{text}");

    // Stop and read what --dev printed.
    let output = served.kill_and_collect();
    let printed = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "demo-app-secret-change-me",
        "demo-password",
        "/authorize?",
        "code_challenge=",
        "code_challenge_method=S256",
        "curl",
        "grant_type=client_credentials",
        "code_verifier=",
    ] {
        assert!(
            printed.contains(needle),
            "--dev output lacks {needle}:\n{printed}"
        );
    }
    // The printed challenge is the S256 of the printed verifier.
    let verifier = printed
        .split("code_verifier=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    let challenge = printed
        .split("code_challenge=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert_eq!(
        challenge,
        portcullis_server::domain::pkce::s256_challenge(verifier)
    );
    // KEY-4: the log never carries the client secret, its Basic encoding, or the token.
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(logs.contains("portcullis listening"), "{logs}");
    assert!(!logs.contains("demo-app-secret-change-me"));
    assert!(!logs.contains("ZGVtby1hcHA6ZGVtby1hcHAtc2VjcmV0LWNoYW5nZS1tZQ"));
    assert!(!logs.contains(&token_for_logs[..40]));
}

#[tokio::test]
async fn serve_registers_clients_from_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("portcullis.toml");
    std::fs::write(
        &path,
        r#"
version = 1
[tokens]
access_token_ttl = 120
[[clients]]
id = "svc"
secret_env = "SVC_SECRET_FOR_TEST"
grant_types = ["client_credentials"]
scope = "orders:read"
audience = ["orders-api"]
"#,
    )
    .unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let db = db_url(dir.path());
    let child = Command::new(BIN)
        .args([
            "serve",
            "--config",
            path.to_str().unwrap(),
            "--listen",
            &listen,
            "--database",
            &db,
        ])
        .env("SVC_SECRET_FOR_TEST", "svc-secret-0123456789abcdef")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let served = Served {
        child: Some(child),
        base: format!("http://{listen}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while reqwest::get(format!("{}/healthz", served.base))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reply = reqwest::Client::new()
        .post(format!("{}/token", served.base))
        .basic_auth("svc", Some("svc-secret-0123456789abcdef"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let body: Value = reply.json().await.unwrap();
    assert_eq!(body["expires_in"], 120);
}

/// Starts `portcullis` with exactly these arguments and environment, and waits until
/// `base/healthz` answers.
async fn start(args: &[&str], envs: &[(&str, &str)], base: String) -> Served {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("PORTCULLIS_ISSUER")
        .env_remove("PORTCULLIS_LISTEN")
        .env_remove("PORTCULLIS_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let served = Served {
        child: Some(cmd.spawn().unwrap()),
        base,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while reqwest::get(format!("{}/healthz", served.base))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "no answer at {}", served.base);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    served
}

async fn issuer_of(served: &Served) -> String {
    let doc: Value = reqwest::get(format!("{}/.well-known/openid-configuration", served.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    doc["issuer"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn serve_layers_defaults_file_env_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    let file_port = free_port();
    let path = dir.path().join("portcullis.toml");
    std::fs::write(
        &path,
        format!(
            "version = 1\nissuer = \"http://file.example\"\nlisten = \"127.0.0.1:{file_port}\"\ndatabase = \"{db}\"\n"
        ),
    )
    .unwrap();
    let file = path.to_str().unwrap();

    // File only.
    let served = start(
        &["serve", "--config", file],
        &[],
        format!("http://127.0.0.1:{file_port}"),
    )
    .await;
    assert_eq!(issuer_of(&served).await, "http://file.example");
    drop(served);

    // Environment over the file.
    let env_port = free_port();
    let env_listen = format!("127.0.0.1:{env_port}");
    let served = start(
        &["serve", "--config", file],
        &[
            ("PORTCULLIS_ISSUER", "http://env.example"),
            ("PORTCULLIS_LISTEN", &env_listen),
        ],
        format!("http://{env_listen}"),
    )
    .await;
    assert_eq!(issuer_of(&served).await, "http://env.example");
    drop(served);

    // Flags over the environment.
    let flag_port = free_port();
    let flag_listen = format!("127.0.0.1:{flag_port}");
    let served = start(
        &[
            "serve",
            "--config",
            file,
            "--issuer",
            "http://flag.example",
            "--listen",
            &flag_listen,
        ],
        &[
            ("PORTCULLIS_ISSUER", "http://env.example"),
            ("PORTCULLIS_LISTEN", &env_listen),
        ],
        format!("http://{flag_listen}"),
    )
    .await;
    assert_eq!(issuer_of(&served).await, "http://flag.example");
}

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const AT_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Device authorization, then one poll that must answer `authorization_pending`.
async fn device_starts(base: &str, client_id: &str) -> Value {
    let http = reqwest::Client::new();
    let reply = http
        .post(format!("{base}/device_authorization"))
        .form(&[("client_id", client_id), ("scope", "orders:read")])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let body: Value = reply.json().await.unwrap();
    let device_code = body["device_code"].as_str().unwrap();
    let poll = http
        .post(format!("{base}/token"))
        .form(&[
            ("grant_type", DEVICE_GRANT),
            ("device_code", device_code),
            ("client_id", client_id),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(poll.status(), 400);
    let err: Value = poll.json().await.unwrap();
    assert_eq!(err["error"], "authorization_pending");
    body
}

/// A client-credentials token of `id`, exchanged (without actor) for `audience`.
async fn exchange_own_token(base: &str, id: &str, secret: &str, audience: &str) -> (u16, Value) {
    let http = reqwest::Client::new();
    let own: Value = http
        .post(format!("{base}/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let subject = own["access_token"].as_str().unwrap();
    let reply = http
        .post(format!("{base}/token"))
        .basic_auth(id, Some(secret))
        .form(&[
            ("grant_type", EXCHANGE_GRANT),
            ("subject_token", subject),
            ("subject_token_type", AT_TYPE),
            ("audience", audience),
        ])
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap())
}

#[tokio::test]
async fn clients_add_enables_device_and_token_exchange() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    ok(&portcullis(&[
        "clients",
        "add",
        "--id",
        "tv",
        "--public",
        "--grant-types",
        DEVICE_GRANT,
        "--scope",
        "orders:read",
        "--database",
        &db,
    ]));
    let grants = format!("client_credentials,{EXCHANGE_GRANT}");
    ok(&portcullis(&[
        "clients",
        "add",
        "--id",
        "orders-api",
        "--secret",
        "orders-api-secret-0123456789",
        "--grant-types",
        &grants,
        "--scope",
        "orders:read",
        "--audience",
        "orders-api",
        "--exchange-audience",
        "payments-api",
        "--exchange-audience",
        "ledger-api",
        "--exchange-impersonation",
        "--database",
        &db,
    ]));
    let listed: Value = serde_json::from_str(&ok(&portcullis(&[
        "clients",
        "list",
        "--json",
        "--database",
        &db,
    ])))
    .unwrap();
    let orders = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == "orders-api")
        .unwrap();
    assert_eq!(
        orders["exchange_audiences"],
        json!(["payments-api", "ledger-api"])
    );
    assert_eq!(orders["exchange_impersonation"], true);
    assert_eq!(
        orders["grant_types"],
        json!(["client_credentials", EXCHANGE_GRANT])
    );
    // A public client cannot exchange tokens.
    let refused = portcullis(&[
        "clients",
        "add",
        "--id",
        "spa",
        "--public",
        "--grant-types",
        EXCHANGE_GRANT,
        "--database",
        &db,
    ]);
    assert!(!refused.status.success());

    let served = serve(&[], dir.path()).await;
    let device = device_starts(&served.base, "tv").await;
    assert_eq!(
        device["verification_uri"],
        format!("{}/device", served.base)
    );
    let (status, body) = exchange_own_token(
        &served.base,
        "orders-api",
        "orders-api-secret-0123456789",
        "payments-api",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["issued_token_type"], AT_TYPE);
    let (status, body) = exchange_own_token(
        &served.base,
        "orders-api",
        "orders-api-secret-0123456789",
        "admin-api",
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_target");
}

#[tokio::test]
async fn config_file_enables_device_and_token_exchange() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("portcullis.toml");
    std::fs::write(
        &path,
        format!(
            r#"
version = 1
[tokens]
device_code_ttl = 300
device_poll_interval = 7
[[clients]]
id = "tv"
public = true
grant_types = ["{DEVICE_GRANT}"]
scope = "orders:read"
[[clients]]
id = "orders-api"
secret_env = "ORDERS_SECRET_FOR_TEST"
grant_types = ["client_credentials", "{EXCHANGE_GRANT}"]
scope = "orders:read"
audience = ["orders-api"]
exchange_audiences = ["payments-api"]
exchange_impersonation = true
"#
        ),
    )
    .unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let listen = format!("127.0.0.1:{port}");
    let db = db_url(dir.path());
    let served = start(
        &[
            "serve",
            "--config",
            path.to_str().unwrap(),
            "--listen",
            &listen,
            "--database",
            &db,
        ],
        &[("ORDERS_SECRET_FOR_TEST", "orders-api-secret-0123456789")],
        base,
    )
    .await;
    let device = device_starts(&served.base, "tv").await;
    assert_eq!(device["expires_in"], 300);
    assert_eq!(device["interval"], 7);
    let (status, body) = exchange_own_token(
        &served.base,
        "orders-api",
        "orders-api-secret-0123456789",
        "payments-api",
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// A raw connection to a served instance.
fn connect(served: &Served) -> std::net::TcpStream {
    let addr = served.base.trim_start_matches("http://");
    let stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Reads until the server closes the connection; what it sent and how long that took.
fn read_until_closed(stream: &mut std::net::TcpStream) -> (String, Duration) {
    use std::io::Read as _;
    let start = Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the server kept the connection open ({e})"),
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        start.elapsed(),
    )
}

#[tokio::test]
async fn dos_1_slowloris_and_idle_keep_alive_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(&["--header-read-timeout", "1"], dir.path()).await;
    tokio::task::spawn_blocking(move || {
        // Half a request head, never finished.
        let mut slow = connect(&served);
        slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .unwrap();
        let (_, took) = read_until_closed(&mut slow);
        assert!(took < Duration::from_secs(4), "closed after {took:?}");

        // A kept-alive connection that goes idle after its response.
        let mut idle = connect(&served);
        idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let (received, took) = read_until_closed(&mut idle);
        assert!(received.starts_with("HTTP/1.1 200"), "{received}");
        assert!(took < Duration::from_secs(4), "closed after {took:?}");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn dos_1_connections_beyond_the_cap_are_refused_until_idle_ones_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(
        &["--header-read-timeout", "2", "--max-connections", "4"],
        dir.path(),
    )
    .await;
    // Let the readiness probe's connection close.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base = served.base.clone();
    let idle: Vec<_> = (0..4).map(|_| connect(&served)).collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut refused = connect(&served);
    let (received, took) = tokio::task::spawn_blocking(move || read_until_closed(&mut refused))
        .await
        .unwrap();
    assert!(received.is_empty(), "{received}");
    assert!(took < Duration::from_secs(1), "refused after {took:?}");
    // Once the idle connections time out, real requests are served again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let resp = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(resp.status(), 200);
    drop(idle);
}

#[tokio::test]
async fn dos_5_huge_content_length_is_refused_before_the_body() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(&[], dir.path()).await;
    tokio::task::spawn_blocking(move || {
        let mut stream = connect(&served);
        stream
            .write_all(
                b"POST /token HTTP/1.1\r\nHost: x\r\n\
                  Content-Type: application/x-www-form-urlencoded\r\n\
                  Content-Length: 10000000000\r\n\r\n",
            )
            .unwrap();
        let (received, took) = read_until_closed(&mut stream);
        assert!(received.starts_with("HTTP/1.1 413"), "{received}");
        assert!(took < Duration::from_secs(3), "answered after {took:?}");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn dos_5_slow_body_is_cut_off_by_the_request_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("portcullis.toml");
    std::fs::write(&path, "version = 1\n[http]\nrequest_timeout_secs = 1\n").unwrap();
    let served = serve(&["--config", path.to_str().unwrap()], dir.path()).await;
    tokio::task::spawn_blocking(move || {
        let mut stream = connect(&served);
        stream
            .write_all(
                b"POST /token HTTP/1.1\r\nHost: x\r\n\
                  Content-Type: application/x-www-form-urlencoded\r\n\
                  Content-Length: 100\r\n\r\ngrant_type",
            )
            .unwrap();
        let (received, took) = read_until_closed(&mut stream);
        assert!(received.starts_with("HTTP/1.1 408"), "{received}");
        assert!(took < Duration::from_secs(4), "answered after {took:?}");
    })
    .await
    .unwrap();
}

/// Stores an authorization code that expired long ago in the database at `url`.
async fn store_expired_code(url: &str, hash: &str) {
    let store = portcullis_server::store::connect(url).await.unwrap();
    store
        .insert_code(portcullis_server::store::CodeRecord {
            code_hash: hash.into(),
            client_id: "c1".into(),
            user_id: "u1".into(),
            grant_id: "g1".into(),
            redirect_uri: "https://app.example/cb".into(),
            scope: portcullis_types::Scope::parse("openid").unwrap(),
            nonce: None,
            code_challenge: None,
            code_challenge_method: None,
            auth_time: 1,
            sid: None,
            resource: vec![],
            extra: Value::Null,
            expires_at: 10,
            consumed_at: None,
        })
        .await
        .unwrap();
}

/// Whether the code is still stored.
async fn code_exists(url: &str, hash: &str) -> bool {
    let store = portcullis_server::store::connect(url).await.unwrap();
    !matches!(
        store.consume_code(hash, 20).await.unwrap(),
        portcullis_server::store::ConsumeOutcome::NotFound
    )
}

#[tokio::test]
async fn dur_4_gc_command_removes_expired_state_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    store_expired_code(&url, "h-gc-cmd").await;
    let out = tokio::task::spawn_blocking({
        let url = url.clone();
        move || portcullis(&["gc", "--database", &url])
    })
    .await
    .unwrap();
    assert_eq!(ok(&out).trim(), "removed 1 expired records");
    assert!(!code_exists(&url, "h-gc-cmd").await);
}

#[tokio::test]
async fn dur_4_serve_removes_expired_state_periodically() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    store_expired_code(&url, "h-gc-serve").await;
    let mut served = serve(&["--gc-interval", "1"], dir.path()).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while code_exists(&url, "h-gc-serve").await {
        assert!(
            Instant::now() < deadline,
            "the expired code was never removed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let output = served.kill_and_collect();
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(logs.contains("expired state removed"), "{logs}");
}
