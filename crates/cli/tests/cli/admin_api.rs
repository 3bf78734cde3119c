//! The admin API on `serve --admin-listen`: tokens from the client `admin bootstrap` registers,
//! 401 without a token, 403 without the admin role or the operation's scope on every route, and
//! each operation's effect read back through the API, the command line or the token endpoint.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Every route of the admin API but the OpenAPI document, as the document names them.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/admin/v1/clients"),
    ("POST", "/admin/v1/clients"),
    ("GET", "/admin/v1/clients/{client_id}"),
    ("PUT", "/admin/v1/clients/{client_id}"),
    ("DELETE", "/admin/v1/clients/{client_id}"),
    ("GET", "/admin/v1/users"),
    ("POST", "/admin/v1/users"),
    ("GET", "/admin/v1/users/{user}"),
    ("PATCH", "/admin/v1/users/{user}"),
    ("DELETE", "/admin/v1/users/{user}"),
    ("POST", "/admin/v1/users/{user}/disable"),
    ("POST", "/admin/v1/users/{user}/enable"),
    ("POST", "/admin/v1/users/{user}/unlock"),
    ("POST", "/admin/v1/users/{user}/revoke-tokens"),
];

/// A server with the admin listener, an admin client made by `admin bootstrap`, and clients
/// for the admin audience with fewer rights.
struct Admin {
    served: Served,
    api: String,
    db: String,
    issuer: String,
    secret: String,
    _dir: tempfile::TempDir,
}

/// The client secret a command printed on its `client_secret:` line.
fn printed_secret(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .unwrap_or_else(|| panic!("no secret in {out}"))
        .to_owned()
}

impl Admin {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = db_url(dir.path());
        let listen = format!("127.0.0.1:{}", free_port());
        let admin = format!("127.0.0.1:{}", free_port());
        let issuer = format!("http://{listen}");
        let out = ok(&portcullis(&[
            "admin",
            "bootstrap",
            "--client-id",
            "ops",
            "--issuer",
            &issuer,
            "--database",
            &db,
        ]));
        assert!(out.contains("role admin created"), "{out}");
        assert!(out.contains(&format!("{issuer}/admin/v1")), "{out}");
        let secret = printed_secret(&out);
        let served = start(
            &[
                "serve",
                "--dev",
                "--listen",
                &listen,
                "--database",
                &db,
                "--admin-listen",
                &admin,
            ],
            &[],
            issuer.clone(),
        )
        .await;
        Self {
            served,
            api: format!("http://{admin}"),
            db,
            issuer,
            secret,
            _dir: dir,
        }
    }

    /// Registers a client-credentials client for the admin audience with `scope` (and the
    /// admin role when `admin`); returns its secret.
    fn add_client(&self, id: &str, scope: &str, admin: bool) -> String {
        let audience = format!("{}/admin/v1", self.issuer);
        let mut args = vec![
            "clients",
            "add",
            "--id",
            id,
            "--generate-secret",
            "--grant-types",
            "client_credentials",
            "--scope",
            scope,
            "--audience",
            &audience,
            "--database",
            &self.db,
        ];
        if admin {
            args.extend(["--role", "admin"]);
        }
        printed_secret(&ok(&portcullis(&args)))
    }

    /// An access token of `client` by the client-credentials grant.
    async fn token(&self, client: &str, secret: &str) -> String {
        token_of(&self.served.base, client, secret).await
    }

    /// The bootstrapped admin's token.
    async fn admin_token(&self) -> String {
        self.token("ops", &self.secret).await
    }

    /// Sends `method path` to the admin listener with `token` and `body`; status and JSON.
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = reqwest::Client::new().request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", self.api),
        );
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, headers, json)
    }
}

/// An access token of `client` at `base` by the client-credentials grant.
async fn token_of(base: &str, client: &str, secret: &str) -> String {
    let resp = reqwest::Client::new()
        .post(format!("{base}/token"))
        .basic_auth(client, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "token for {client}");
    let body: Value = resp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// `path` with its `{parameter}` filled in.
fn concrete(path: &str) -> String {
    path.replace("{client_id}", "some-client")
        .replace("{user}", "demo")
}

#[tokio::test]
async fn every_route_refuses_a_missing_token_and_a_token_without_the_admin_role() {
    let admin = Admin::start().await;
    let all_scopes = [
        "admin:clients:read",
        "admin:clients:write",
        "admin:users:read",
        "admin:users:write",
        "admin:roles:read",
        "admin:roles:write",
        "admin:keys:read",
        "admin:keys:write",
        "admin:upstreams:read",
        "admin:upstreams:write",
    ]
    .join(" ");
    // Every admin scope and the admin audience, but not the role.
    let secret = admin.add_client("no-role", &all_scopes, false);
    let no_role = admin.token("no-role", &secret).await;
    // A token of the demo client, for the demo API's audience.
    let other_audience = admin.token("demo-app", "demo-app-secret-change-me").await;
    for (method, path) in ROUTES {
        let path = concrete(path);
        let body = matches!(*method, "POST" | "PUT" | "PATCH").then(|| json!({}));
        let (status, headers, _) = admin.call(method, &path, None, body.clone()).await;
        assert_eq!(status, 401, "{method} {path} without a token");
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer"),
            "{method} {path}"
        );
        let (status, _, _) = admin
            .call(method, &path, Some(&other_audience), body.clone())
            .await;
        assert_eq!(status, 401, "{method} {path} with another audience's token");
        let (status, _, error) = admin.call(method, &path, Some(&no_role), body).await;
        assert_eq!(status, 403, "{method} {path} without the admin role");
        assert_eq!(error["error"], "insufficient_scope", "{method} {path}");
    }
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_served_routes() {
    let admin = Admin::start().await;
    let (status, _, doc) = admin
        .call("GET", "/admin/v1/openapi.json", None, None)
        .await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(|m| (m.to_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let routes: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(documented, routes);
    // Each documented operation names its scope.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let scopes = &op["security"][0]["bearer"];
            assert!(
                scopes[0].as_str().unwrap().starts_with("admin:"),
                "{method} {path}: {op}"
            );
        }
    }
    // And the served routes are those: every one answers (401 without a token), not 404.
    for (method, path) in ROUTES {
        let (status, _, _) = admin.call(method, &concrete(path), None, None).await;
        assert_eq!(status, 401, "{method} {path}");
    }
    let (status, _, _) = admin
        .call("GET", "/admin/v1/no-such-thing", None, None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_token_without_the_operations_scope_is_forbidden() {
    let admin = Admin::start().await;
    let secret = admin.add_client("reader", "admin:clients:read", true);
    let reader = admin.token("reader", &secret).await;
    let (status, _, list) = admin
        .call("GET", "/admin/v1/clients", Some(&reader), None)
        .await;
    assert_eq!(status, 200);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|c| c["client_id"] == "ops")
    );
    let (status, headers, error) = admin
        .call(
            "POST",
            "/admin/v1/clients",
            Some(&reader),
            Some(json!({"client_id": "x", "generate_secret": true})),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(error["error"], "insufficient_scope");
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("scope=\"admin:clients:write\""),
        "{headers:?}"
    );
    assert!(
        admin::clients(&admin.db)
            .iter()
            .all(|c| c["client_id"] != "x")
    );
}

/// Helpers reading the database through the command line.
mod admin {
    use super::*;

    /// `clients list --json`.
    pub fn clients(db: &str) -> Vec<Value> {
        list_json("clients", db).as_array().unwrap().clone()
    }

    /// `users show --json` of `user`.
    pub fn user(db: &str, user: &str) -> Value {
        serde_json::from_str(&ok(&portcullis(&[
            "users",
            "show",
            "--username",
            user,
            "--json",
            "--database",
            db,
        ])))
        .unwrap()
    }
}

#[tokio::test]
async fn clients_are_registered_replaced_and_deleted_through_the_api() {
    let admin = Admin::start().await;
    let token = admin.admin_token().await;
    let (status, _, created) = admin
        .call(
            "POST",
            "/admin/v1/clients",
            Some(&token),
            Some(json!({
                "client_id": "reports",
                "generate_secret": true,
                "grant_types": ["client_credentials"],
                "scope": "reports:read",
                "audience": ["reports-api"],
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["client_id"], "reports");
    assert_eq!(created["confidential"], true);
    assert!(created.get("secret_hash").is_none(), "{created}");
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    // The generated secret works at the token endpoint, and the command line sees the client.
    token_of(&admin.served.base, "reports", &secret).await;
    let listed = admin::clients(&admin.db);
    let row = listed.iter().find(|c| c["client_id"] == "reports").unwrap();
    assert_eq!(row["scope"], "reports:read");

    // The same id again: 409, and nothing changed.
    let (status, _, error) = admin
        .call(
            "POST",
            "/admin/v1/clients",
            Some(&token),
            Some(json!({
                "client_id": "reports",
                "generate_secret": true,
                "grant_types": ["client_credentials"],
            })),
        )
        .await;
    assert_eq!(status, 409, "{error}");
    assert_eq!(error["error"], "conflict");

    // Validation is the command line's, naming the field.
    let (status, _, error) = admin
        .call(
            "POST",
            "/admin/v1/clients",
            Some(&token),
            Some(json!({"client_id": "bad", "grant_types": ["magic"]})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(error["error"], "invalid_request");
    assert_eq!(error["field"], "grant_types");
    let (status, _, error) = admin
        .call(
            "POST",
            "/admin/v1/clients",
            Some(&token),
            Some(json!({"client_id": "bad", "secret": "short"})),
        )
        .await;
    assert_eq!(status, 400, "{error}");
    assert!(error["field"].is_string(), "{error}");
    let (status, _, error) = admin
        .call(
            "POST",
            "/admin/v1/clients",
            Some(&token),
            Some(json!({"client_id": "bad", "no_such_setting": 1})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(error["error"], "invalid_request");

    // Replace: every setting is the request's.
    let (status, _, replaced) = admin
        .call(
            "PUT",
            "/admin/v1/clients/reports",
            Some(&token),
            Some(json!({
                "secret": "a-new-secret-long-enough",
                "grant_types": ["client_credentials"],
                "scope": "reports:read reports:write",
            })),
        )
        .await;
    assert_eq!(status, 200, "{replaced}");
    assert!(replaced.get("client_secret").is_none());
    let (status, _, shown) = admin
        .call("GET", "/admin/v1/clients/reports", Some(&token), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(shown["scope"], "reports:read reports:write");
    assert_eq!(shown["audience"], json!([]));

    // Delete, then it is gone.
    let (status, _, _) = admin
        .call("DELETE", "/admin/v1/clients/reports", Some(&token), None)
        .await;
    assert_eq!(status, 200);
    let (status, _, error) = admin
        .call("DELETE", "/admin/v1/clients/reports", Some(&token), None)
        .await;
    assert_eq!(status, 404);
    assert_eq!(error["error"], "not_found");
    let (status, _, _) = admin
        .call("GET", "/admin/v1/clients/reports", Some(&token), None)
        .await;
    assert_eq!(status, 404);
    assert!(
        admin::clients(&admin.db)
            .iter()
            .all(|c| c["client_id"] != "reports")
    );
}

#[test]
fn bootstrap_refuses_a_taken_client_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    let args = [
        "admin",
        "bootstrap",
        "--client-id",
        "ops",
        "--database",
        &db,
    ];
    ok(&portcullis(&args));
    fails_with(&portcullis(&args), "already registered");
}

#[tokio::test]
async fn users_are_created_changed_disabled_and_deleted_through_the_api() {
    let admin = Admin::start().await;
    let token = admin.admin_token().await;
    ok(&portcullis(&[
        "roles",
        "add",
        "reports:run",
        "--database",
        &admin.db,
    ]));
    ok(&portcullis(&[
        "groups",
        "add",
        "analysts",
        "--role",
        "reports:run",
        "--database",
        &admin.db,
    ]));
    let (status, _, created) = admin
        .call(
            "POST",
            "/admin/v1/users",
            Some(&token),
            Some(json!({
                "username": "alice",
                "password": "correct-horse-battery-staple",
                "email": "alice@example.com",
                "attributes": {"department": "finance"},
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert!(created.get("password_hash").is_none(), "{created}");
    let sub = created["sub"].as_str().unwrap().to_owned();
    assert_eq!(admin::user(&admin.db, "alice")["sub"], sub.as_str());

    // Taken username: 409; an unknown role: 400 naming it; a weak password: 400.
    let (status, _, _) = admin
        .call(
            "POST",
            "/admin/v1/users",
            Some(&token),
            Some(json!({"username": "alice", "password": "correct-horse-battery-staple"})),
        )
        .await;
    assert_eq!(status, 409);
    let (status, _, error) = admin
        .call(
            "POST",
            "/admin/v1/users",
            Some(&token),
            Some(json!({"username": "bob", "password": "correct-horse-battery-staple", "roles": ["nope"]})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(error["field"], "roles");
    let (status, _, error) = admin
        .call(
            "POST",
            "/admin/v1/users",
            Some(&token),
            Some(json!({"username": "bob", "password": "x"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(error["field"], "password");

    // Update by username: the group's role shows among the effective roles.
    let (status, _, updated) = admin
        .call(
            "PATCH",
            "/admin/v1/users/alice",
            Some(&token),
            Some(json!({"add_groups": ["analysts"], "name": "Alice A.", "unset_attributes": ["department"]})),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["effective_roles"], json!(["reports:run"]));
    let shown = admin::user(&admin.db, &sub);
    assert_eq!(shown["groups"], json!(["analysts"]));
    assert_eq!(shown["name"], "Alice A.");
    assert_eq!(shown["attributes"], json!({}));

    // Disable, then enable again; the command line sees each.
    let (status, _, report) = admin
        .call(
            "POST",
            &format!("/admin/v1/users/{sub}/disable"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["sub"], sub.as_str());
    assert_eq!(admin::user(&admin.db, "alice")["disabled"], true);
    let (status, _, _) = admin
        .call("POST", "/admin/v1/users/alice/enable", Some(&token), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(admin::user(&admin.db, "alice")["disabled"], false);
    let (status, _, report) = admin
        .call(
            "POST",
            "/admin/v1/users/alice/revoke-tokens",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert!(report["not_before"].as_i64().unwrap() > 0);
    let (status, _, _) = admin
        .call("POST", "/admin/v1/users/alice/unlock", Some(&token), None)
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = admin
        .call("POST", "/admin/v1/users/nobody/disable", Some(&token), None)
        .await;
    assert_eq!(status, 404);

    // Delete, then it is gone.
    let (status, _, _) = admin
        .call("DELETE", "/admin/v1/users/alice", Some(&token), None)
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = admin
        .call("GET", &format!("/admin/v1/users/{sub}"), Some(&token), None)
        .await;
    assert_eq!(status, 404);
    fails_with(
        &portcullis(&[
            "users",
            "show",
            "--username",
            "alice",
            "--database",
            &admin.db,
        ]),
        "no user",
    );
}

#[tokio::test]
async fn users_are_listed_a_bounded_page_at_a_time() {
    let admin = Admin::start().await;
    let token = admin.admin_token().await;
    for name in ["u1", "u2", "u3"] {
        let (status, _, _) = admin
            .call(
                "POST",
                "/admin/v1/users",
                Some(&token),
                Some(json!({"username": name, "password": "correct-horse-battery-staple"})),
            )
            .await;
        assert_eq!(status, 201);
    }
    // With the demo user there are four.
    let mut seen = Vec::new();
    let mut path = "/admin/v1/users?limit=3".to_owned();
    loop {
        let (status, _, page) = admin.call("GET", &path, Some(&token), None).await;
        assert_eq!(status, 200, "{page}");
        let users = page["users"].as_array().unwrap();
        assert!(users.len() <= 3);
        seen.extend(
            users
                .iter()
                .map(|u| u["username"].as_str().unwrap().to_owned()),
        );
        match page["next"].as_str() {
            Some(next) => path = format!("/admin/v1/users?limit=3&after={next}"),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, ["demo", "u1", "u2", "u3"]);
    for bad in ["limit=0", "limit=201", "limit=many"] {
        let (status, _, error) = admin
            .call("GET", &format!("/admin/v1/users?{bad}"), Some(&token), None)
            .await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(error["error"], "invalid_request", "{bad}");
    }
}
