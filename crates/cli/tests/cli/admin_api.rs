//! The admin API on `serve --admin-listen`: tokens from the client `admin bootstrap` registers,
//! 401 without a token, 403 without the admin role or the operation's scope on every route, and
//! each operation's effect read back through the API, the command line or the token endpoint.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::process::Stdio;

/// Every route of the admin API but the OpenAPI document, as the document names them.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/admin/v1/clients"),
    ("POST", "/admin/v1/clients"),
    ("GET", "/admin/v1/clients/{client_id}"),
    ("PUT", "/admin/v1/clients/{client_id}"),
    ("DELETE", "/admin/v1/clients/{client_id}"),
    ("POST", "/admin/v1/clients/{client_id}/secret"),
    ("GET", "/admin/v1/users"),
    ("POST", "/admin/v1/users"),
    ("GET", "/admin/v1/users/{user}"),
    ("PATCH", "/admin/v1/users/{user}"),
    ("DELETE", "/admin/v1/users/{user}"),
    ("POST", "/admin/v1/users/{user}/disable"),
    ("POST", "/admin/v1/users/{user}/enable"),
    ("POST", "/admin/v1/users/{user}/unlock"),
    ("POST", "/admin/v1/users/{user}/revoke-tokens"),
    ("PUT", "/admin/v1/users/{user}/password"),
    ("POST", "/admin/v1/addresses/{address}/unlock"),
    ("GET", "/admin/v1/users/{user}/grants"),
    ("DELETE", "/admin/v1/users/{user}/grants/{client_id}"),
    ("GET", "/admin/v1/users/{user}/sessions"),
    ("DELETE", "/admin/v1/users/{user}/sessions/{session_id}"),
    ("GET", "/admin/v1/roles"),
    ("POST", "/admin/v1/roles"),
    ("DELETE", "/admin/v1/roles/{name}"),
    ("GET", "/admin/v1/groups"),
    ("POST", "/admin/v1/groups"),
    ("DELETE", "/admin/v1/groups/{name}"),
    ("GET", "/admin/v1/keys"),
    ("POST", "/admin/v1/keys/rotate"),
    ("GET", "/admin/v1/upstreams"),
    ("PUT", "/admin/v1/upstreams/{id}"),
    ("DELETE", "/admin/v1/upstreams/{id}"),
    ("GET", "/admin/v1/audit"),
];

/// A server with the admin listener, an admin client made by `admin bootstrap`, and clients
/// for the admin audience with fewer rights.
pub(crate) struct Admin {
    pub(crate) served: Served,
    pub(crate) api: String,
    pub(crate) db: String,
    pub(crate) issuer: String,
    pub(crate) secret: String,
    _dir: tempfile::TempDir,
}

/// The client secret a command printed on its `client_secret:` line.
pub(crate) fn printed_secret(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .unwrap_or_else(|| panic!("no secret in {out}"))
        .to_owned()
}

impl Admin {
    /// The server on a SQLite database in a temporary directory.
    pub(crate) async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// [`Admin::start`], with more arguments for `serve`.
    pub(crate) async fn start_with(serve_args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = db_url(dir.path());
        Self::start_on_with(db, dir, Stdio::null, serve_args).await
    }

    /// Bootstraps the admin client in `db` and serves it with `--dev` and the admin listener;
    /// the server's output goes to `output`.
    async fn start_on(db: String, dir: tempfile::TempDir, output: fn() -> Stdio) -> Self {
        Self::start_on_with(db, dir, output, &[]).await
    }

    /// [`Admin::start_on`], with more arguments for `serve`.
    async fn start_on_with(
        db: String,
        dir: tempfile::TempDir,
        output: fn() -> Stdio,
        serve_args: &[&str],
    ) -> Self {
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
        let child = command(&[])
            .args([
                "serve",
                "--dev",
                "--listen",
                &listen,
                "--database",
                &db,
                "--admin-listen",
                &admin,
            ])
            .args(serve_args)
            .env_remove("PORTCULLIS_ISSUER")
            .env_remove("PORTCULLIS_DATABASE_URL")
            .env("RUST_LOG", "info")
            .stdout(output())
            .stderr(output())
            .spawn()
            .unwrap();
        let served = Served {
            child: Some(child),
            base: issuer.clone(),
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while reqwest::get(format!("http://{admin}/admin/v1/openapi.json"))
            .await
            .is_err()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "no admin listener at {admin}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
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
    pub(crate) fn add_client(&self, id: &str, scope: &str, admin: bool) -> String {
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
    pub(crate) async fn token(&self, client: &str, secret: &str) -> String {
        token_of(&self.served.base, client, secret).await
    }

    /// The bootstrapped admin's token.
    pub(crate) async fn admin_token(&self) -> String {
        self.token("ops", &self.secret).await
    }

    /// Sends `method path` to the admin listener with `token` and `body`; status and JSON.
    pub(crate) async fn call(
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

impl Admin {
    /// [`Admin::call`], asserting the answer's status; its JSON.
    pub(crate) async fn expect(
        &self,
        status: u16,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        let (got, _, json) = self.call(method, path, token, body).await;
        assert_eq!(got, status, "{method} {path}: {json}");
        json
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
        .replace("{name}", "some-name")
        .replace("{id}", "some-id")
        .replace("{address}", "192.0.2.1")
        .replace("{session_id}", "some-session")
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
        "admin:audit:read",
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
        admin
            .expect(401, method, &path, Some(&other_audience), body.clone())
            .await;
        let error = admin.expect(403, method, &path, Some(&no_role), body).await;
        assert_eq!(error["error"], "insufficient_scope", "{method} {path}");
    }
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_served_routes() {
    let admin = Admin::start().await;
    let doc = admin
        .expect(200, "GET", "/admin/v1/openapi.json", None, None)
        .await;
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
        admin.expect(401, method, &concrete(path), None, None).await;
    }
    admin
        .expect(404, "GET", "/admin/v1/no-such-thing", None, None)
        .await;
}

#[tokio::test]
async fn a_token_without_the_operations_scope_is_forbidden() {
    let admin = Admin::start().await;
    let secret = admin.add_client("reader", "admin:clients:read", true);
    let reader = admin.token("reader", &secret).await;
    let list = admin
        .expect(200, "GET", "/admin/v1/clients", Some(&reader), None)
        .await;
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

/// The access a user gave clients is listed and withdrawn through the API, as on the user's
/// account page: the consent goes, and a second withdrawal finds nothing.
#[tokio::test]
async fn a_users_grants_are_listed_and_withdrawn_through_the_api() {
    use portcullis_server::store::ConsentStore as _;
    let admin = Admin::start().await;
    let token = admin.admin_token().await;
    let created = admin
        .expect(
            201,
            "POST",
            "/admin/v1/users",
            Some(&token),
            Some(json!({"username": "gia", "password": "correct-horse-battery-staple"})),
        )
        .await;
    let sub = created["sub"].as_str().unwrap().to_owned();
    // The consent a sign-in at demo-app would have recorded.
    let store = portcullis_server::store::sqlite::SqliteStore::connect(&admin.db)
        .await
        .unwrap();
    store
        .put_consent(&sub, "demo-app", "openid profile", 1_700_000_000)
        .await
        .unwrap();

    let grants = "/admin/v1/users/gia/grants".to_owned();
    let listed = admin.expect(200, "GET", &grants, Some(&token), None).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["client_id"], "demo-app");
    assert_eq!(listed[0]["scope"], "openid profile");
    assert_eq!(listed[0]["granted_at"], 1_700_000_000);

    let one = format!("{grants}/demo-app");
    let withdrawn = admin.expect(200, "DELETE", &one, Some(&token), None).await;
    assert_eq!(withdrawn["deleted"], "demo-app");
    assert!(store.get_consent(&sub, "demo-app").await.unwrap().is_none());
    let listed = admin.expect(200, "GET", &grants, Some(&token), None).await;
    assert_eq!(listed, json!([]));
    admin.expect(404, "DELETE", &one, Some(&token), None).await;
    admin
        .expect(
            404,
            "GET",
            "/admin/v1/users/nobody/grants",
            Some(&token),
            None,
        )
        .await;
}

#[tokio::test]
async fn clients_are_registered_replaced_and_deleted_through_the_api() {
    clients_flow(&Admin::start().await).await;
}

#[tokio::test]
async fn the_admin_api_works_on_postgres() {
    let url = std::env::var("PORTCULLIS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("pcs_cli_admin_api_{}", std::process::id());
    let store =
        match portcullis_server::store::postgres::PostgresStore::connect_in_schema(&url, &schema)
            .await
        {
            Ok(store) => store,
            Err(err) if std::env::var_os("CI").is_none() => {
                eprintln!("skipping PostgreSQL test: {url} unreachable ({err})");
                return;
            }
            Err(err) => panic!("PostgreSQL required in CI: {err}"),
        };
    let sep = if url.contains('?') { '&' } else { '?' };
    let db = format!("{url}{sep}options=-c%20search_path%3D{schema}");
    let outcome = tokio::spawn(async move {
        let admin = Admin::start_on_with(
            db,
            tempfile::tempdir().unwrap(),
            Stdio::null,
            &["--audit-trail-tokens"],
        )
        .await;
        clients_flow(&admin).await;
        crate::audit_trail::audit_flow(&admin).await;
        let token = admin.admin_token().await;
        let created = admin
            .expect(
                201,
                "POST",
                "/admin/v1/users",
                Some(&token),
                Some(json!({"username": "pg-user", "password": "correct-horse-battery-staple"})),
            )
            .await;
        let sub = created["sub"].as_str().unwrap().to_owned();
        admin
            .expect(
                200,
                "POST",
                &format!("/admin/v1/users/{sub}/disable"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(admin::user(&admin.db, "pg-user")["disabled"], true);
    })
    .await;
    // The schema goes even when the case failed.
    store.drop_schema().await.unwrap();
    if let Err(failed) = outcome {
        std::panic::resume_unwind(failed.into_panic());
    }
}

#[tokio::test]
async fn every_change_is_audited_with_the_acting_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    let mut admin = Admin::start_on(db, dir, Stdio::piped).await;
    let token = admin.admin_token().await;
    admin
        .expect(
            201,
            "POST",
            "/admin/v1/roles",
            Some(&token),
            Some(json!({"name": "audited:role"})),
        )
        .await;
    admin
        .expect(
            200,
            "DELETE",
            "/admin/v1/roles/audited:role",
            Some(&token),
            None,
        )
        .await;
    // A refused request changes nothing and records no change.
    admin
        .expect(
            409,
            "POST",
            "/admin/v1/roles",
            Some(&token),
            Some(json!({"name": "admin"})),
        )
        .await;
    let out = admin.served.kill_and_collect();
    let text = format!("{}{}", stdout(&out), stderr(&out));
    let changes: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("admin_change"))
        .collect();
    assert_eq!(changes.len(), 2, "{text}");
    for (line, action) in changes.iter().zip(["role_created", "role_deleted"]) {
        assert!(line.contains(action), "{line}");
        assert!(line.contains("audited:role"), "{line}");
        assert!(line.contains("actor") && line.contains("ops"), "{line}");
        assert!(line.contains("client_id"), "{line}");
    }
}

/// The admin console of `serve --admin-listen` signs in through the server (its client is
/// registered at start, with the listener's address as redirect URI) and records each change
/// as the API does: an `admin_change` naming the signed-in user and the console's client.
#[tokio::test]
async fn a_change_made_in_the_console_is_audited_with_the_signed_in_user() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    let mut admin = Admin::start_on(db, dir, Stdio::piped).await;
    ok(&portcullis(&[
        "users",
        "update",
        "--username",
        "demo",
        "--add-role",
        "admin",
        "--database",
        &admin.db,
    ]));
    let demo = list_json("users", &admin.db);
    let demo_sub = demo
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "demo")
        .map(|u| u["sub"].as_str().unwrap().to_owned())
        .unwrap();
    let browser =
        portcullis_testkit::Browser::new(url::Url::parse(&admin.issuer).unwrap()).unwrap();
    let console =
        |path: &str| url::Url::parse(&format!("{}/admin/console{path}", admin.api)).unwrap();
    let start = browser.get(&console("/login")).await.unwrap();
    let callback = browser
        .walk(
            &start.location().unwrap(),
            Some(("demo", "demo-password")),
            portcullis_testkit::Consent::Approve,
        )
        .await
        .unwrap()
        .redirect()
        .unwrap();
    // The redirect URI registered at start: the admin listener's own address.
    assert_eq!(callback.path(), "/admin/console/callback");
    assert_eq!(callback.port(), console("/").port());
    let landed = browser.get(&callback).await.unwrap();
    assert_eq!(landed.status, StatusCode::OK, "{}", landed.body);
    let roles = browser.get(&console("/roles")).await.unwrap();
    let csrf = roles.form_field("csrf").unwrap();
    let created = browser
        .post_form(
            &console("/roles"),
            &[
                ("csrf".into(), csrf),
                ("name".into(), "console:role".into()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let out = admin.served.kill_and_collect();
    let text = format!("{}{}", stdout(&out), stderr(&out));
    let change = text
        .lines()
        .find(|l| l.contains("admin_change") && l.contains("console:role"))
        .unwrap_or_else(|| panic!("no change recorded: {text}"));
    assert!(change.contains("role_created"), "{change}");
    assert!(change.contains(&demo_sub), "{change}");
    assert!(change.contains("portcullis-admin-console"), "{change}");
}

/// Registers, replaces and deletes a client through the API, reading each change back.
async fn clients_flow(admin: &Admin) {
    let token = admin.admin_token().await;
    let created = admin
        .expect(
            201,
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
    let error = admin
        .expect(
            409,
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
    assert_eq!(error["error"], "conflict");

    // Validation is the command line's, naming the field.
    let error = admin
        .expect(
            400,
            "POST",
            "/admin/v1/clients",
            Some(&token),
            Some(json!({"client_id": "bad", "grant_types": ["magic"]})),
        )
        .await;
    assert_eq!(error["error"], "invalid_request");
    assert_eq!(error["field"], "grant_types");
    let error = admin
        .expect(
            400,
            "POST",
            "/admin/v1/clients",
            Some(&token),
            Some(json!({"client_id": "bad", "secret": "short"})),
        )
        .await;
    assert!(error["field"].is_string(), "{error}");
    let error = admin
        .expect(
            400,
            "POST",
            "/admin/v1/clients",
            Some(&token),
            Some(json!({"client_id": "bad", "no_such_setting": 1})),
        )
        .await;
    assert_eq!(error["error"], "invalid_request");

    // Replace: every setting is the request's.
    let replaced = admin
        .expect(
            200,
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
    assert!(replaced.get("client_secret").is_none());
    let shown = admin
        .expect(200, "GET", "/admin/v1/clients/reports", Some(&token), None)
        .await;
    assert_eq!(shown["scope"], "reports:read reports:write");
    assert_eq!(shown["audience"], json!([]));

    // Delete, then it is gone.
    admin
        .expect(
            200,
            "DELETE",
            "/admin/v1/clients/reports",
            Some(&token),
            None,
        )
        .await;
    let error = admin
        .expect(
            404,
            "DELETE",
            "/admin/v1/clients/reports",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(error["error"], "not_found");
    admin
        .expect(404, "GET", "/admin/v1/clients/reports", Some(&token), None)
        .await;
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
    let created = admin
        .expect(
            201,
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
    assert!(created.get("password_hash").is_none(), "{created}");
    let sub = created["sub"].as_str().unwrap().to_owned();
    assert_eq!(admin::user(&admin.db, "alice")["sub"], sub.as_str());

    // Taken username: 409; an unknown role: 400 naming it; a weak password: 400.
    admin
        .expect(
            409,
            "POST",
            "/admin/v1/users",
            Some(&token),
            Some(json!({"username": "alice", "password": "correct-horse-battery-staple"})),
        )
        .await;
    let error = admin.expect(400, "POST",
            "/admin/v1/users",
            Some(&token),
            Some(json!({"username": "bob", "password": "correct-horse-battery-staple", "roles": ["nope"]}))).await;
    assert_eq!(error["field"], "roles");
    let error = admin
        .expect(
            400,
            "POST",
            "/admin/v1/users",
            Some(&token),
            Some(json!({"username": "bob", "password": "x"})),
        )
        .await;
    assert_eq!(error["field"], "password");

    // Update by username: the group's role shows among the effective roles.
    let updated = admin.expect(200, "PATCH",
            "/admin/v1/users/alice",
            Some(&token),
            Some(json!({"add_groups": ["analysts"], "name": "Alice A.", "unset_attributes": ["department"]}))).await;
    assert_eq!(updated["effective_roles"], json!(["reports:run"]));
    let shown = admin::user(&admin.db, &sub);
    assert_eq!(shown["groups"], json!(["analysts"]));
    assert_eq!(shown["name"], "Alice A.");
    assert_eq!(shown["attributes"], json!({}));

    // Disable, then enable again; the command line sees each.
    let report = admin
        .expect(
            200,
            "POST",
            &format!("/admin/v1/users/{sub}/disable"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(report["sub"], sub.as_str());
    assert_eq!(admin::user(&admin.db, "alice")["disabled"], true);
    admin
        .expect(
            200,
            "POST",
            "/admin/v1/users/alice/enable",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(admin::user(&admin.db, "alice")["disabled"], false);
    let report = admin
        .expect(
            200,
            "POST",
            "/admin/v1/users/alice/revoke-tokens",
            Some(&token),
            None,
        )
        .await;
    assert!(report["not_before"].as_i64().unwrap() > 0);
    admin
        .expect(
            200,
            "POST",
            "/admin/v1/users/alice/unlock",
            Some(&token),
            None,
        )
        .await;
    admin
        .expect(
            404,
            "POST",
            "/admin/v1/users/nobody/disable",
            Some(&token),
            None,
        )
        .await;

    // A new password: a weak one is 400 naming the field, a good one signs the user out;
    // unknown fields and users are refused.
    let weak = admin
        .expect(
            400,
            "PUT",
            "/admin/v1/users/alice/password",
            Some(&token),
            Some(json!({"password": "short"})),
        )
        .await;
    assert_eq!(weak["error"], "invalid_request", "{weak}");
    let changed = admin
        .expect(
            200,
            "PUT",
            &format!("/admin/v1/users/{sub}/password"),
            Some(&token),
            Some(json!({"password": "a different long passphrase"})),
        )
        .await;
    assert_eq!(changed["sub"], sub.as_str(), "{changed}");
    assert!(changed["not_before"].as_i64().unwrap() > 0, "{changed}");
    admin
        .expect(
            400,
            "PUT",
            "/admin/v1/users/alice/password",
            Some(&token),
            Some(json!({"password": "a different long passphrase", "hash": "x"})),
        )
        .await;
    admin
        .expect(
            404,
            "PUT",
            "/admin/v1/users/nobody/password",
            Some(&token),
            Some(json!({"password": "a different long passphrase"})),
        )
        .await;

    // An address is unlocked by its canonical form; anything else is 400.
    let unlocked = admin
        .expect(
            200,
            "POST",
            "/admin/v1/addresses/2001:DB8::0:1/unlock",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(unlocked["address"], "2001:db8::1");
    let bad = admin
        .expect(
            400,
            "POST",
            "/admin/v1/addresses/not-an-ip/unlock",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(bad["field"], "address", "{bad}");

    // Delete, then it is gone.
    admin
        .expect(200, "DELETE", "/admin/v1/users/alice", Some(&token), None)
        .await;
    admin
        .expect(
            404,
            "GET",
            &format!("/admin/v1/users/{sub}"),
            Some(&token),
            None,
        )
        .await;
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
        admin
            .expect(
                201,
                "POST",
                "/admin/v1/users",
                Some(&token),
                Some(json!({"username": name, "password": "correct-horse-battery-staple"})),
            )
            .await;
    }
    // With the demo user there are four.
    let mut seen = Vec::new();
    let mut path = "/admin/v1/users?limit=3".to_owned();
    loop {
        let page = admin.expect(200, "GET", &path, Some(&token), None).await;
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
        let error = admin
            .expect(
                400,
                "GET",
                &format!("/admin/v1/users?{bad}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(error["error"], "invalid_request", "{bad}");
    }
}

#[tokio::test]
async fn roles_and_groups_are_created_and_deleted_through_the_api() {
    let admin = Admin::start().await;
    let token = admin.admin_token().await;
    let role = admin
        .expect(
            201,
            "POST",
            "/admin/v1/roles",
            Some(&token),
            Some(json!({"name": "orders:read", "description": "Read orders"})),
        )
        .await;
    assert_eq!(role["description"], "Read orders");
    admin
        .expect(
            409,
            "POST",
            "/admin/v1/roles",
            Some(&token),
            Some(json!({"name": "orders:read"})),
        )
        .await;
    let error = admin
        .expect(
            400,
            "POST",
            "/admin/v1/roles",
            Some(&token),
            Some(json!({"name": "orders:*"})),
        )
        .await;
    assert_eq!(error["field"], "name");
    let group = admin
        .expect(
            201,
            "POST",
            "/admin/v1/groups",
            Some(&token),
            Some(json!({"name": "sales", "roles": ["orders:read"]})),
        )
        .await;
    assert_eq!(group["roles"], json!(["orders:read"]));
    let error = admin
        .expect(
            400,
            "POST",
            "/admin/v1/groups",
            Some(&token),
            Some(json!({"name": "ops", "roles": ["missing"]})),
        )
        .await;
    assert_eq!(error["field"], "roles");
    let groups = list_json("groups", &admin.db);
    let sales = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "sales")
        .unwrap();
    assert_eq!(sales["roles"], json!(["orders:read"]));
    let roles = admin
        .expect(200, "GET", "/admin/v1/roles", Some(&token), None)
        .await;
    assert!(
        roles
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "orders:read")
    );

    // Deleting the role takes it from the group.
    admin
        .expect(
            200,
            "DELETE",
            "/admin/v1/roles/orders:read",
            Some(&token),
            None,
        )
        .await;
    let (_, _, groups) = admin
        .call("GET", "/admin/v1/groups", Some(&token), None)
        .await;
    let sales = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "sales")
        .unwrap();
    assert_eq!(sales["roles"], json!([]));
    admin
        .expect(200, "DELETE", "/admin/v1/groups/sales", Some(&token), None)
        .await;
    admin
        .expect(404, "DELETE", "/admin/v1/groups/sales", Some(&token), None)
        .await;
    assert!(
        list_json("groups", &admin.db)
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["name"] != "sales")
    );
}

/// The key ids of the JWK Set at `base`.
pub(crate) async fn published_kids(base: &str) -> BTreeSet<String> {
    let jwks: Value = reqwest::get(format!("{base}/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_rotation_through_the_api_publishes_new_keys() {
    let admin = Admin::start().await;
    let token = admin.admin_token().await;
    let keys = admin
        .expect(200, "GET", "/admin/v1/keys", Some(&token), None)
        .await;
    assert!(
        keys.as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("private_jwk").is_none() && k.get("d").is_none())
    );
    let before = published_kids(&admin.served.base).await;
    let error = admin
        .expect(
            400,
            "POST",
            "/admin/v1/keys/rotate",
            Some(&token),
            Some(json!({"mode": "sideways"})),
        )
        .await;
    assert_eq!(error["error"], "invalid_request");
    let rotated = admin
        .expect(
            200,
            "POST",
            "/admin/v1/keys/rotate",
            Some(&token),
            Some(json!({"mode": "now"})),
        )
        .await;
    let kids: BTreeSet<String> = rotated["kids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    assert!(!kids.is_empty());
    let after = published_kids(&admin.served.base).await;
    assert!(kids.is_subset(&after), "{kids:?} not in {after:?}");
    assert!(kids.is_disjoint(&before));
    // Tokens signed with the new keys open the admin API at once.
    let fresh = admin.admin_token().await;
    let listed = admin
        .expect(200, "GET", "/admin/v1/keys", Some(&fresh), None)
        .await;
    let active: BTreeSet<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["state"] == "active")
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert!(kids.is_subset(&active), "{listed}");
    assert_ne!(token, fresh);
}

#[tokio::test]
async fn upstreams_are_saved_listed_and_deleted_through_the_api() {
    let admin = Admin::start().await;
    let token = admin.admin_token().await;
    let saved = admin
        .expect(
            200,
            "PUT",
            "/admin/v1/upstreams/corp",
            Some(&token),
            Some(json!({
                "kind": "oidc",
                "issuer": "https://login.corp.example",
                "client_id": "portcullis",
                "client_secret": "upstream-secret-value",
                "display_name": "Corp SSO",
            })),
        )
        .await;
    assert!(saved.get("client_secret").is_none(), "{saved}");
    let listed = list_json("upstreams", &admin.db);
    let corp = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == "corp")
        .unwrap();
    assert_eq!(corp["issuer"], "https://login.corp.example");
    let error = admin
        .expect(
            400,
            "PUT",
            "/admin/v1/upstreams/corp",
            Some(&token),
            Some(json!({
                "kind": "oidc",
                "issuer": "http://login.corp.example",
                "client_id": "portcullis",
                "client_secret": "upstream-secret-value",
            })),
        )
        .await;
    assert_eq!(error["field"], "issuer");
    let all = admin
        .expect(200, "GET", "/admin/v1/upstreams", Some(&token), None)
        .await;
    assert_eq!(all[0]["display_name"], "Corp SSO");
    assert_eq!(all[0]["kind"], "oidc");
    // A directory, with its settings' defaults filled in as by `upstreams add --kind ldap`.
    let directory = json!({
        "kind": "ldap",
        "url": "ldaps://ldap.corp.example",
        "user_base": "ou=people,dc=corp,dc=example",
        "group_base": "ou=groups,dc=corp,dc=example",
        "client_id": "cn=portcullis,dc=corp,dc=example",
        "client_secret": "service-account-password",
    });
    let saved = admin
        .expect(
            200,
            "PUT",
            "/admin/v1/upstreams/dir",
            Some(&token),
            Some(directory.clone()),
        )
        .await;
    assert_eq!(saved["kind"], "ldap", "{saved}");
    assert_eq!(saved["group_filter"], "(member={dn})");
    assert_eq!(saved["subject_attribute"], "entryUUID");
    assert!(saved.get("client_secret").is_none(), "{saved}");
    let listed = list_json("upstreams", &admin.db);
    assert!(
        listed.as_array().unwrap().iter().any(|u| u["id"] == "dir"),
        "{listed}"
    );
    // Both group sources, or plain LDAP to a remote host: refused, naming the setting.
    for (setting, value, field) in [
        ("group_attribute", "memberOf", "group_base"),
        ("url", "ldap://ldap.corp.example", "url"),
    ] {
        let mut bad = directory.clone();
        bad[setting] = value.into();
        let error = admin
            .expect(
                400,
                "PUT",
                "/admin/v1/upstreams/dir",
                Some(&token),
                Some(bad),
            )
            .await;
        assert_eq!(error["error"], "invalid_request", "{error}");
        assert_eq!(error["field"], field, "{error}");
    }
    admin
        .expect(200, "DELETE", "/admin/v1/upstreams/dir", Some(&token), None)
        .await;
    admin
        .expect(
            200,
            "DELETE",
            "/admin/v1/upstreams/corp",
            Some(&token),
            None,
        )
        .await;
    admin
        .expect(
            404,
            "DELETE",
            "/admin/v1/upstreams/corp",
            Some(&token),
            None,
        )
        .await;
    assert!(
        list_json("upstreams", &admin.db)
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_revoked_token_or_a_deleted_clients_token_is_refused_at_once() {
    let admin = Admin::start().await;
    let token = admin.admin_token().await;
    admin
        .expect(200, "GET", "/admin/v1/clients", Some(&token), None)
        .await;
    // RFC 7009 revocation at the public listener shuts the token out of the admin API.
    let revoked = reqwest::Client::new()
        .post(format!("{}/revoke", admin.served.base))
        .basic_auth("ops", Some(&admin.secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let error = admin
        .expect(401, "GET", "/admin/v1/clients", Some(&token), None)
        .await;
    assert_eq!(error["error"], "invalid_token");
    let fresh = admin.admin_token().await;
    admin
        .expect(200, "GET", "/admin/v1/clients", Some(&fresh), None)
        .await;

    // A second admin's tokens stop working when the first deletes its client.
    let secret = admin.add_client("second", "admin:clients:read", true);
    let second = admin.token("second", &secret).await;
    admin
        .expect(200, "GET", "/admin/v1/clients", Some(&second), None)
        .await;
    admin
        .expect(
            200,
            "DELETE",
            "/admin/v1/clients/second",
            Some(&fresh),
            None,
        )
        .await;
    admin
        .expect(401, "GET", "/admin/v1/clients", Some(&second), None)
        .await;
}
