//! `portcullis clients`: adding confidential and public clients, listing them without their
//! secret, removing them, and the checks on redirect URIs (RED-3, RED-4) and client kinds.

use crate::common::*;
use serde_json::{Value, json};

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
    let listed: Value = list_json("clients", &db);
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
    let listed: Value = list_json("clients", &db);
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
        "localhost:3000/callback",
        "myapp:/callback",
        "https://*.example.com/cb",
        "https://user@c.example/cb",
        "/callback",
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
        let err = stderr(&out);
        assert!(err.contains("redirect"), "{bad}: {err}");
        assert!(err.contains(bad), "{bad} is not named: {err}");
        assert!(err.contains("e.g. "), "{bad}: no valid example: {err}");
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
fn red_3_clients_add_accepts_loopback_https_and_private_schemes() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    let uris = [
        "https://app.example.com/callback",
        "http://localhost:3000/callback",
        "http://127.0.0.1:8080/callback",
        "http://[::1]/callback",
        "com.example.app:/callback",
    ];
    let mut args = vec!["clients", "add", "--id", "native", "--public"];
    for uri in &uris {
        args.extend(["--redirect-uri", uri]);
    }
    args.extend(["--database", &db]);
    ok(&portcullis(&args));
    let listed = list_json("clients", &db);
    assert_eq!(listed[0]["redirect_uris"], json!(uris));
}

fn add_web(db: &str, audience: &str, replace: bool) -> std::process::Output {
    let mut args = vec![
        "clients",
        "add",
        "--id",
        "web",
        "--secret",
        "web-secret-0123456789abcdef",
        "--redirect-uri",
        "https://web.example/cb",
        "--audience",
        audience,
        "--database",
        db,
    ];
    if replace {
        args.push("--replace");
    }
    portcullis(&args)
}

#[test]
fn clients_add_refuses_a_registered_id_without_replace() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    assert!(ok(&add_web(&db, "orders-api", false)).contains("client web registered"));
    let again = add_web(&db, "billing-api", false);
    assert!(!again.status.success(), "a registered id was replaced");
    let err = stderr(&again);
    assert!(
        err.contains("`web` is already registered") && err.contains("--replace"),
        "{err}"
    );
    assert!(!stdout(&again).contains("registered"), "{}", stdout(&again));
    let listed = list_json("clients", &db);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["audience"], json!(["orders-api"]));
}

#[test]
fn clients_add_replace_overwrites_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    // With nothing to replace, --replace registers.
    assert!(ok(&add_web(&db, "orders-api", true)).contains("client web registered"));
    let out = ok(&add_web(&db, "billing-api", true));
    assert!(out.contains("client web replaced"), "{out}");
    let listed = list_json("clients", &db);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["audience"], json!(["billing-api"]));
}

#[test]
fn a_database_in_a_missing_directory_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir");
    let db = format!("sqlite://{}/portcullis.db", missing.display());
    let out = portcullis(&["clients", "list", "--database", &db]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "the directory {} does not exist",
            missing.display()
        )),
        "{err}"
    );
    assert!(!err.contains("code: 14"), "{err}");
    assert!(!missing.exists());
}

#[tokio::test]
async fn clients_add_reads_the_secret_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    let secret = "stdin-secret-0123456789abcdef";
    let args = [
        "clients",
        "add",
        "--id",
        "svc",
        "--secret-stdin",
        "--grant-types",
        "client_credentials",
        "--database",
        &db,
    ];
    let out = portcullis_stdin(&args, &format!("{secret}\n"));
    let text = ok(&out);
    assert!(!text.contains(secret), "the secret was echoed: {text}");
    // An empty line registers nothing.
    let empty = portcullis_stdin(
        &[
            "clients",
            "add",
            "--id",
            "svc2",
            "--secret-stdin",
            "--grant-types",
            "client_credentials",
            "--database",
            &db,
        ],
        "\n",
    );
    assert!(!empty.status.success());
    assert!(
        stderr(&empty).contains("no client secret on standard input"),
        "{}",
        stderr(&empty)
    );
    // It is one kind among the others.
    let both = portcullis_stdin(
        &[
            "clients",
            "add",
            "--id",
            "svc3",
            "--secret-stdin",
            "--public",
            "--database",
            &db,
        ],
        "x\n",
    );
    assert_eq!(both.status.code(), Some(2), "{}", stderr(&both));

    // The secret read from stdin is the one the server accepts.
    let served = serve(&[], dir.path()).await;
    let token = |secret| client_credentials_status(&served.base, "svc", secret, None);
    assert_eq!(token(secret).await, 200);
    assert_eq!(token("some-other-secret-0123456789").await, 401);
}
