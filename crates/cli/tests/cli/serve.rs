//! `portcullis serve`: config file errors name the file and key, the server answers and stops on
//! SIGTERM, `--dev` prints working credentials, defaults, file, env and flags layer, and the
//! theme directory is worn or, when bad, stops the start.

use crate::common::*;
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

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

    // The demo client's redirect target is served here: the code, escaped, and the command.
    let page = http
        .get(format!(
            "{}/dev/callback?code=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state=s",
            served.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let page = page.text().await.unwrap();
    assert!(!page.contains("<script>"), "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    let error_page = http
        .get(format!("{}/dev/callback?error=access_denied", served.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(error_page.contains("access_denied"), "{error_page}");

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
    assert_eq!(challenge, portcullis_server::pkce::s256_challenge(verifier));
    // The callback page's command is the banner's, with the code filled in.
    assert!(
        page.contains(&format!("code_verifier={verifier}")),
        "{page}"
    );
    let redirect = format!("{}/dev/callback", served.base);
    assert!(page.contains(&format!("redirect_uri={redirect}")), "{page}");
    assert!(
        printed.contains(&format!("redirect {redirect}")),
        "{printed}"
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
    let (served, _db) = serve_config_file(
        dir.path(),
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
        &[("SVC_SECRET_FOR_TEST", "svc-secret-0123456789abcdef")],
    )
    .await;
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

#[tokio::test]
async fn serve_saves_upstreams_from_the_config_file_and_offers_them_at_login() {
    let dir = tempfile::tempdir().unwrap();
    let (served, db) = serve_config_file(
        dir.path(),
        r#"
version = 1
[login]
password = false
[[upstreams]]
id = "github"
kind = "github"
name = "GitHub"
client_id = "Iv1.abc"
client_secret_env = "GITHUB_SECRET_FOR_TEST"
groups = { "acme/payments" = "payments" }
"#,
        &[("GITHUB_SECRET_FOR_TEST", "gh-secret-from-the-environment")],
    )
    .await;
    let page = reqwest::get(format!("{}/login", served.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Sign in with GitHub"), "{page}");
    assert!(
        !page.contains("type=\"password\""),
        "the password form is off"
    );
    let start = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/upstream/github/start", served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 303);
    let to = start.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        to.starts_with("https://github.com/login/oauth/authorize?client_id=Iv1.abc"),
        "{to}"
    );
    let callback = format!("{}/upstream/github/callback", served.base);
    let encoded: String = form_urlencoded::byte_serialize(callback.as_bytes()).collect();
    assert!(to.contains(&format!("redirect_uri={encoded}")), "{to}");
    drop(served);
    let listed = list_json("upstreams", &db);
    assert_eq!(listed[0]["id"], json!("github"));
    assert!(
        !listed
            .to_string()
            .contains("gh-secret-from-the-environment")
    );
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

#[tokio::test]
async fn serve_wears_the_theme_directory_and_refuses_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let themes = dir.path().join("themes");
    std::fs::create_dir_all(themes.join("partner")).unwrap();
    std::fs::write(themes.join("theme.toml"), "product_name = \"Acme ID\"\n").unwrap();
    std::fs::write(
        themes.join("partner/theme.toml"),
        "product_name = \"Partner Portal\"\n",
    )
    .unwrap();
    let client = r#"
[[clients]]
id = "spa"
public = true
redirect_uris = ["http://127.0.0.1:3000/cb"]
scope = "openid"
theme = "partner"
"#;
    // `[theme] dir` is relative to the config file.
    let (served, _db) = serve_config_file(
        dir.path(),
        &format!("version = 1\n[theme]\ndir = \"themes\"\n{client}"),
        &[],
    )
    .await;
    let page = |path: &str| {
        let url = format!("{}{path}", served.base);
        async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
    };
    let login = page("/login").await;
    assert!(
        login.contains("<title>Sign in \u{2013} Acme ID</title>"),
        "{login}"
    );
    let authorize = page(
        "/authorize?client_id=spa&response_type=code&scope=openid\
         &redirect_uri=http%3A%2F%2F127.0.0.1%3A3000%2Fcb&code_challenge_method=S256\
         &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&ui_locales=ko",
    )
    .await;
    assert!(
        authorize.contains("Partner Portal") && authorize.contains("lang=\"ko\""),
        "{authorize}"
    );

    // A bad theme stops the start, naming the file and the fault.
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(
        bad.path().join("theme.toml"),
        "[colours]\ntext = \"#dddddd\"\n",
    )
    .unwrap();
    let db = db_url(bad.path());
    let out = portcullis(&[
        "serve",
        "--theme-dir",
        bad.path().to_str().unwrap(),
        "--database",
        &db,
        "--listen",
        "127.0.0.1:0",
    ]);
    fails_with(&out, "contrast");
    // So does a client naming a theme the directory lacks.
    std::fs::remove_dir_all(themes.join("partner")).unwrap();
    let config = dir.path().join("portcullis.toml");
    let out = portcullis(&[
        "serve",
        "--config",
        config.to_str().unwrap(),
        "--database",
        &db_url(bad.path()),
        "--listen",
        "127.0.0.1:0",
    ]);
    fails_with(&out, "no theme `partner`");
}
