//! Secrets at rest through the binary (KEY-4, TOK-10): the start-up rule without a
//! key-encryption key, nothing private in a real SQLite file, a wrong KEK stopping `serve` with
//! the key it cannot read, and a KEK rotation (previous KEK, then `keys rewrap`) including
//! records written in plaintext before.

use crate::common::*;
use std::path::Path;

const SECRET: &str = "svc-secret-0123456789abcdef";

/// The bytes of the SQLite database and its WAL.
fn database_bytes(dir: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(dir.join("portcullis.db")).unwrap();
    if let Ok(wal) = std::fs::read(dir.join("portcullis.db-wal")) {
        bytes.extend_from_slice(&wal);
    }
    bytes
}

fn contains(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Whether a private JWK's `d` member is anywhere in the file (as stored inside the JSON
/// document, its quotes escaped).
fn holds_private_d(bytes: &[u8]) -> bool {
    contains(bytes, r#"\"d\":\""#) || contains(bytes, r#""d":""#)
}

/// Creates the signing keys and a confidential client in `db` with these variables.
fn populate(db: &str, envs: &[(&str, Option<&str>)]) {
    ok(&portcullis_with(
        &["keys", "rotate", "--database", db],
        envs,
    ));
    ok(&portcullis_with(
        &[
            "clients",
            "add",
            "--id",
            "svc",
            "--secret",
            SECRET,
            "--grant-types",
            "client_credentials",
            "--scope",
            "orders:read",
            "--database",
            db,
        ],
        envs,
    ));
}

fn kids(db: &str) -> Vec<String> {
    list_json("keys", db)
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// Starts `serve` with these variables and checks the client authenticates.
async fn serve_and_authenticate(dir: &Path, envs: &[(&str, Option<&str>)]) {
    let served = serve_with(&[], dir, envs).await;
    let reply = reqwest::Client::new()
        .post(format!("{}/token", served.base))
        .basic_auth("svc", Some(SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200, "{:?}", reply.text().await);
}

/// Runs `serve` expecting it to refuse to start; returns its standard error.
fn serve_refused(db: &str, envs: &[(&str, Option<&str>)], extra: &[&str]) -> String {
    let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--database", db];
    args.extend_from_slice(extra);
    let out = portcullis_with(&args, envs);
    assert!(!out.status.success(), "serve started: {}", stdout(&out));
    stderr(&out)
}

#[tokio::test]
async fn key_4_production_start_refused_without_kek_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    let no_kek = [(KEK_ENV, None)];
    let err = serve_refused(&db, &no_kek, &[]);
    for needle in [
        "no key-encryption key",
        KEK_ENV,
        "encryption_key_file",
        "portcullis keys generate-kek",
        "allow_plaintext = true",
        ALLOW_PLAINTEXT_ENV,
    ] {
        assert!(err.contains(needle), "lacks {needle}: {err}");
    }
    // The administrative commands follow the same rule, and nothing was written.
    let out = portcullis_with(&["keys", "rotate", "--database", &db], &no_kek);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(KEK_ENV), "{}", stderr(&out));
    let out = portcullis_with(
        &["keys", "rotate", "--database", &db],
        &[(KEK_ENV, None), (ALLOW_PLAINTEXT_ENV, Some("0"))],
    );
    assert!(!out.status.success());

    // An explicit opt-out: from the environment, or from the config file.
    let allowed = [(KEK_ENV, None), (ALLOW_PLAINTEXT_ENV, Some("1"))];
    populate(&db, &allowed);
    serve_and_authenticate(dir.path(), &allowed).await;
    let config = dir.path().join("portcullis.toml");
    std::fs::write(&config, "version = 1\n[keys]\nallow_plaintext = true\n").unwrap();
    let config = config.display().to_string();
    ok(&portcullis_with(
        &["keys", "list", "--config", &config, "--database", &db],
        &no_kek,
    ));
    // The plaintext keys are in the file: the scan below does find key material.
    assert!(holds_private_d(&database_bytes(dir.path())));

    // Development mode starts without a KEK (with a warning).
    let dev = tempfile::tempdir().unwrap();
    drop(serve_with(&["--dev"], dev.path(), &no_kek).await);
}

#[tokio::test]
async fn key_4_sqlite_file_holds_no_private_key_or_bare_secret_digest() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    populate(&db, &[]);
    serve_and_authenticate(dir.path(), &[]).await;
    let bytes = database_bytes(dir.path());
    assert!(contains(&bytes, "pcs1:"), "sealed keys are stored");
    assert!(
        !holds_private_d(&bytes),
        "a private key member is in the file"
    );
    assert!(!contains(&bytes, SECRET));
    let bare = portcullis_server::store::secret_hash(SECRET);
    assert!(
        !contains(&bytes, &bare),
        "the bare SHA-256 of the secret is in the file"
    );
    assert!(contains(&bytes, "hmac-sha256:"));
}

#[tokio::test]
async fn key_4_wrong_kek_stops_serve_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    populate(&db, &[]);
    let before = kids(&db);
    let other = stdout(&portcullis(&["keys", "generate-kek"]));
    let other = other.trim();
    assert_eq!(other.len(), 43, "{other}");
    let err = serve_refused(&db, &[(KEK_ENV, Some(other))], &[]);
    assert!(
        before.iter().any(|kid| err.contains(kid.as_str())),
        "names no key of {before:?}: {err}"
    );
    assert!(err.contains("key-encryption key"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // Development mode without any KEK cannot read them either.
    let err = serve_refused(&db, &[(KEK_ENV, None)], &["--dev"]);
    assert!(before.iter().any(|kid| err.contains(kid.as_str())), "{err}");
    // A rotation under the wrong KEK is refused too: no key was generated over them.
    let out = portcullis_with(
        &["keys", "rotate", "--database", &db],
        &[(KEK_ENV, Some(other))],
    );
    assert!(!out.status.success());
    assert_eq!(kids(&db), before);
    // A malformed KEK is named, not used.
    let out = portcullis_with(
        &["keys", "list", "--database", &db],
        &[(KEK_ENV, Some("short"))],
    );
    assert!(stderr(&out).contains(KEK_ENV), "{}", stderr(&out));
}

#[tokio::test]
async fn key_4_kek_rotation_previous_accepted_then_rewrap_moves_all() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    populate(&db, &[]);
    let new = stdout(&portcullis(&["keys", "generate-kek"]));
    let new = new.trim();
    let rotating = [(KEK_ENV, Some(new)), (KEK_PREVIOUS_ENV, Some(TEST_KEK))];
    serve_and_authenticate(dir.path(), &rotating).await;

    let out = ok(&portcullis_with(
        &["keys", "rewrap", "--database", &db],
        &rotating,
    ));
    assert!(out.contains("4 signing key(s) re-encrypted"), "{out}");
    assert!(out.contains("client-secret pepper"), "{out}");
    let again = ok(&portcullis_with(
        &["keys", "rewrap", "--database", &db],
        &rotating,
    ));
    assert!(again.contains("0 signing key(s)"), "{again}");

    // The previous KEK is no longer needed, and no longer enough.
    serve_and_authenticate(dir.path(), &[(KEK_ENV, Some(new))]).await;
    let err = serve_refused(&db, &[], &[]);
    assert!(err.contains("neither the current"), "{err}");
}

#[tokio::test]
async fn key_4_legacy_plaintext_records_read_then_rewrapped() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    populate(&db, &[(KEK_ENV, None), (ALLOW_PLAINTEXT_ENV, Some("1"))]);
    assert!(holds_private_d(&database_bytes(dir.path())));
    // Plaintext records written before encryption are read under a KEK...
    serve_and_authenticate(dir.path(), &[]).await;
    // ...and `keys rewrap` seals them.
    let out = ok(&portcullis(&["keys", "rewrap", "--database", &db]));
    assert!(out.contains("4 signing key(s) re-encrypted"), "{out}");
    assert!(out.contains("client-secret pepper"), "{out}");
    serve_and_authenticate(dir.path(), &[]).await;
    // Without a KEK there is nothing to rewrap under.
    let out = portcullis_with(
        &["keys", "rewrap", "--database", &db],
        &[(KEK_ENV, None), (ALLOW_PLAINTEXT_ENV, Some("1"))],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("needs a current key-encryption key"),
        "{}",
        stderr(&out)
    );
}
