//! `portcullis upstreams add|list|remove`: the client secret is read from standard input,
//! sealed at rest and never printed; ids and kinds are checked before anything is written.

use crate::common::*;
use serde_json::json;

const SECRET: &str = "gh-client-secret-0123456789abcdef0123";

#[test]
fn upstreams_are_added_listed_and_removed_without_showing_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    let added = ok(&portcullis_stdin(
        &[
            "upstreams",
            "add",
            "--id",
            "github",
            "--kind",
            "github",
            "--client-id",
            "Iv1.abc",
            "--client-secret-stdin",
            "--base-url",
            "https://ghe.example",
            "--group",
            "acme/payments=payments",
            "--database",
            &db,
        ],
        &format!("{SECRET}\n"),
    ));
    assert!(added.contains("/upstream/github/callback"), "{added}");
    assert!(!added.contains(SECRET));
    ok(&portcullis_stdin(
        &[
            "upstreams",
            "add",
            "--id",
            "corp",
            "--kind",
            "oidc",
            "--issuer",
            "https://idp.example",
            "--client-id",
            "portcullis",
            "--client-secret-stdin",
            "--trust-email",
            "--userinfo",
            "--database",
            &db,
        ],
        "another-secret-value\n",
    ));
    let listed = list_json("upstreams", &db);
    let text = listed.to_string();
    assert!(!text.contains(SECRET) && !text.contains("another-secret-value"));
    assert!(!text.contains("client_secret"), "{text}");
    assert_eq!(listed[0]["id"], json!("corp"));
    assert_eq!(listed[0]["kind"], json!("oidc"));
    assert_eq!(listed[0]["issuer"], json!("https://idp.example"));
    assert_eq!(listed[0]["trust_email"], json!(true));
    assert_eq!(listed[1]["id"], json!("github"));
    assert_eq!(listed[1]["base_url"], json!("https://ghe.example"));
    assert_eq!(listed[1]["groups"], json!({"acme/payments": "payments"}));
    let table = ok(&portcullis(&["upstreams", "list", "--database", &db]));
    assert!(
        table.contains("github") && !table.contains(SECRET),
        "{table}"
    );

    // Sealed at rest under the key-encryption key.
    let mut bytes = std::fs::read(dir.path().join("portcullis.db")).unwrap();
    if let Ok(wal) = std::fs::read(dir.path().join("portcullis.db-wal")) {
        bytes.extend_from_slice(&wal);
    }
    assert!(!bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()));

    ok(&portcullis(&[
        "upstreams",
        "remove",
        "github",
        "--database",
        &db,
    ]));
    fails_with(
        &portcullis(&["upstreams", "remove", "github", "--database", &db]),
        "no upstream github",
    );
    assert_eq!(list_json("upstreams", &db).as_array().unwrap().len(), 1);
}

#[test]
fn upstreams_add_refuses_bad_ids_kinds_and_urls() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    let add = |extra: &[&str]| {
        let mut args = vec![
            "upstreams",
            "add",
            "--client-id",
            "x",
            "--client-secret-stdin",
            "--database",
            &db,
        ];
        args.extend_from_slice(extra);
        portcullis_stdin(&args, "a-secret\n")
    };
    fails_with(
        &add(&["--id", "Git Hub", "--kind", "github"]),
        "upstream id",
    );
    fails_with(&add(&["--id", "corp", "--kind", "oidc"]), "--issuer");
    fails_with(
        &add(&[
            "--id",
            "corp",
            "--kind",
            "oidc",
            "--issuer",
            "http://idp.example",
        ]),
        "non-https",
    );
    fails_with(
        &add(&["--id", "gh", "--kind", "github", "--userinfo"]),
        "settings of oidc upstreams",
    );
    fails_with(
        &add(&[
            "--id",
            "gh",
            "--kind",
            "github",
            "--group",
            "no-equals-sign",
        ]),
        "UPSTREAM=LOCAL",
    );
    assert_eq!(list_json("upstreams", &db), json!([]));
}
