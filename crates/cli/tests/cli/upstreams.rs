//! `portcullis upstreams add|list|remove`: the client secret (a directory's bind password) is
//! read from standard input, sealed at rest and never printed; ids and kinds are checked before
//! anything is written.

use crate::common::*;
use serde_json::json;

const SECRET: &str = "gh-client-secret-0123456789abcdef0123";
const BIND_PASSWORD: &str = "ldap-service-password-fedcba9876543210";

/// `secret` appears nowhere in the SQLite database in `dir` (its WAL included).
fn assert_not_stored(dir: &std::path::Path, secret: &str) {
    let mut bytes = std::fs::read(dir.join("portcullis.db")).unwrap();
    if let Ok(wal) = std::fs::read(dir.join("portcullis.db-wal")) {
        bytes.extend_from_slice(&wal);
    }
    assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
}

#[test]
fn ldap_upstream_is_added_with_its_bind_password_from_stdin_and_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    let added = ok(&portcullis_stdin(
        &[
            "upstreams",
            "add",
            "--id",
            "corp",
            "--kind",
            "ldap",
            "--url",
            "ldap://ldap.corp.example:389",
            "--starttls",
            "--bind-dn",
            "cn=portcullis,ou=services,dc=corp",
            "--bind-password-stdin",
            "--user-base",
            "ou=people,dc=corp",
            "--group-base",
            "ou=groups,dc=corp",
            "--group",
            "Engineers=engineering",
            "--database",
            &db,
        ],
        &format!("{BIND_PASSWORD}\n"),
    ));
    assert!(added.contains("upstream corp saved (ldap)"), "{added}");
    assert!(added.contains("/upstream/corp/start"), "{added}");
    assert!(!added.contains(BIND_PASSWORD));
    let listed = list_json("upstreams", &db);
    let text = listed.to_string();
    assert!(
        !text.contains(BIND_PASSWORD) && !text.contains("client_secret"),
        "{text}"
    );
    assert_eq!(listed[0]["kind"], json!("ldap"));
    assert_eq!(
        listed[0]["client_id"],
        json!("cn=portcullis,ou=services,dc=corp")
    );
    assert_eq!(listed[0]["url"], json!("ldap://ldap.corp.example:389"));
    assert_eq!(listed[0]["starttls"], json!(true));
    assert_eq!(listed[0]["user_filter"], json!("(uid={username})"));
    assert_eq!(listed[0]["group_base"], json!("ou=groups,dc=corp"));
    assert_eq!(listed[0]["group_filter"], json!("(member={dn})"));
    assert_eq!(listed[0]["groups"], json!({"Engineers": "engineering"}));
    assert_not_stored(dir.path(), BIND_PASSWORD);

    let add = |extra: &[&str]| {
        let mut args = vec![
            "upstreams",
            "add",
            "--id",
            "d",
            "--kind",
            "ldap",
            "--database",
            &db,
        ];
        args.extend_from_slice(extra);
        portcullis_stdin(&args, "pw\n")
    };
    let base = ["--bind-dn", "cn=x", "--user-base", "dc=x"];
    // A password in clear over the network.
    fails_with(
        &add(&[
            &base[..],
            &["--bind-password-stdin", "--url", "ldap://ldap.corp.example"],
        ]
        .concat()),
        "in clear",
    );
    fails_with(
        &add(&[
            &base[..],
            &[
                "--client-secret-stdin",
                "--url",
                "ldaps://ldap.corp.example",
            ],
        ]
        .concat()),
        "not a client id or secret",
    );
    fails_with(
        &add(&[
            "--bind-password-stdin",
            "--url",
            "ldaps://ldap.corp.example",
            "--user-base",
            "dc=x",
        ]),
        "bind_dn",
    );
    fails_with(
        &add(&[
            &base[..],
            &[
                "--bind-password-stdin",
                "--url",
                "ldaps://h",
                "--user-filter",
                "(uid=x)",
            ],
        ]
        .concat()),
        "{username}",
    );
    assert_eq!(list_json("upstreams", &db).as_array().unwrap().len(), 1);
}

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
    assert_not_stored(dir.path(), SECRET);

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
