//! The stored audit trail of `serve`: admin changes and token issuance read back through
//! `GET /admin/v1/audit` (paged, filtered, guarded by `admin:audit:read`) and `portcullis audit
//! list` on the database and with `--server`; and the audit webhook, received by a local HTTP
//! server that checks the signature.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::admin_api::Admin;
use crate::common::*;

/// Polls the audit API until the page at `path` satisfies `done` (the trail is written in
/// batches a moment after the events); the answer.
async fn wait_until(
    admin: &Admin,
    token: &str,
    path: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = admin.expect(200, "GET", path, Some(token), None).await;
        if done(&page) {
            return page;
        }
        assert!(Instant::now() < deadline, "{path}: {page}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// [`wait_until`] the page holds at least `n` events.
async fn wait_for(admin: &Admin, token: &str, path: &str, n: usize) -> Value {
    wait_until(admin, token, path, |page| {
        page["events"].as_array().unwrap().len() >= n
    })
    .await
}

/// The events' names.
fn names(page: &Value) -> Vec<String> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect()
}

/// Makes three roles (admin changes) and two demo-app tokens (tokens issued), then reads them
/// back through the API, paged and filtered, and through `audit list`.
pub(crate) async fn audit_flow(admin: &Admin) {
    let token = admin.admin_token().await;
    for name in ["audit-a", "audit-b", "audit-c"] {
        admin
            .expect(
                201,
                "POST",
                "/admin/v1/roles",
                Some(&token),
                Some(json!({"name": name})),
            )
            .await;
    }
    for _ in 0..2 {
        admin.token("demo-app", "demo-app-secret-change-me").await;
    }

    // (Earlier admin changes may precede these: the flow also runs after others.)
    let changes = wait_until(
        admin,
        &token,
        "/admin/v1/audit?event=admin_change",
        |page| page["events"][0]["fields"]["resource"] == "audit-c",
    )
    .await;
    let events = changes["events"].as_array().unwrap();
    // Newest first, each with the acting client and the resource.
    let resources: Vec<&str> = events
        .iter()
        .take(3)
        .map(|e| e["fields"]["resource"].as_str().unwrap())
        .collect();
    assert_eq!(resources, ["audit-c", "audit-b", "audit-a"]);
    assert_eq!(events[0]["fields"]["action"], "role_created");
    assert_eq!(events[0]["fields"]["actor"], "ops");
    assert!(events[0]["id"].as_i64().unwrap() > events[1]["id"].as_i64().unwrap());
    assert!(events[0]["at"].as_i64().unwrap() > 1_700_000_000);
    let earlier = events.len() - 3;

    // Paging: two, then the rest from the cursor.
    let first = admin
        .expect(
            200,
            "GET",
            "/admin/v1/audit?event=admin_change&limit=2",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(first["events"].as_array().unwrap().len(), 2);
    let next = first["next"].as_i64().unwrap();
    assert_eq!(next, first["events"][1]["id"].as_i64().unwrap());
    let second = admin
        .expect(
            200,
            "GET",
            &format!("/admin/v1/audit?event=admin_change&limit=2&before={next}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(second["events"][0]["fields"]["resource"], "audit-a");
    if earlier == 0 {
        assert_eq!(second["events"].as_array().unwrap().len(), 1);
        assert_eq!(second["next"], Value::Null);
    }

    // By client: the demo-app's tokens only; by user: the `sub` of those tokens.
    let demo = wait_for(admin, &token, "/admin/v1/audit?client_id=demo-app", 2).await;
    assert_eq!(names(&demo), ["token_issued", "token_issued"]);
    assert_eq!(
        demo["events"][0]["fields"]["grant_type"],
        "client_credentials"
    );
    let by_user = admin
        .expect(
            200,
            "GET",
            "/admin/v1/audit?user=demo-app&event=token_issued",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(by_user["events"], demo["events"]);
    let none = admin
        .expect(
            200,
            "GET",
            "/admin/v1/audit?event=no_such_event",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(none, json!({"events": [], "next": null}));

    // Bad input: 400 naming the parameter.
    for bad in ["limit=0", "limit=201", "before=abc", "unknown=1"] {
        let error = admin
            .expect(
                400,
                "GET",
                &format!("/admin/v1/audit?{bad}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(error["error"], "invalid_request", "{bad}: {error}");
    }
    // No token: 401; an admin token without `admin:audit:read`: 403.
    admin
        .expect(401, "GET", "/admin/v1/audit", None, None)
        .await;
    let secret = admin.add_client("no-audit", "admin:users:read", true);
    let no_audit = admin.token("no-audit", &secret).await;
    let refused = admin
        .expect(403, "GET", "/admin/v1/audit", Some(&no_audit), None)
        .await;
    assert_eq!(refused["error"], "insufficient_scope", "{refused}");

    // `audit list` prints the same page from the database and through the API.
    let args = [
        "audit",
        "list",
        "--event",
        "admin_change",
        "--limit",
        "2",
        "--json",
    ];
    let mut on_db = args.to_vec();
    on_db.extend(["--database", &admin.db]);
    let from_db: Value = serde_json::from_str(&ok(&portcullis(&on_db))).unwrap();
    assert_eq!(from_db, first);
    let mut remote = args.to_vec();
    remote.extend(["--server", &admin.api]);
    let from_api: Value = serde_json::from_str(&ok(&portcullis_with(
        &remote,
        &[("PORTCULLIS_ADMIN_TOKEN", Some(&token))],
    )))
    .unwrap();
    assert_eq!(from_api, first);
    let table = ok(&portcullis(&[
        "audit",
        "list",
        "--client",
        "demo-app",
        "--limit",
        "1",
        "--database",
        &admin.db,
    ]));
    assert!(table.contains("token_issued"), "{table}");
    assert!(table.contains("client_id=demo-app"), "{table}");
    assert!(table.contains("more: --before "), "{table}");
}

#[tokio::test]
async fn admin_changes_and_tokens_are_stored_and_read_back() {
    audit_flow(&Admin::start_with(&["--audit-trail-tokens"]).await).await;
}

/// By default the trail leaves out the events issued once per token, which a busy token
/// endpoint would otherwise pay a row each for; the admin's changes are stored.
#[tokio::test]
async fn token_events_are_stored_only_when_asked() {
    let admin = Admin::start().await;
    let token = admin.admin_token().await;
    admin.token("demo-app", "demo-app-secret-change-me").await;
    admin
        .expect(
            201,
            "POST",
            "/admin/v1/roles",
            Some(&token),
            Some(json!({"name": "after-the-tokens"})),
        )
        .await;
    // The role was created after both tokens, and the queue keeps order: once its event is
    // stored, the tokens' would be too.
    wait_for(&admin, &token, "/admin/v1/audit?event=admin_change", 1).await;
    let tokens = admin
        .expect(
            200,
            "GET",
            "/admin/v1/audit?event=token_issued",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(tokens["events"], json!([]), "{tokens}");
}

/// What the receiver got: each request's headers and body.
type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

const WEBHOOK_SECRET: &str = "audit-webhook-secret-0123456789abcdef";

#[tokio::test]
async fn the_audit_webhook_receives_signed_events() {
    let got: Received = Arc::default();
    let record = Arc::clone(&got);
    let app = axum::Router::new().route(
        "/audit",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let record = Arc::clone(&record);
            async move {
                record.lock().unwrap().push((headers, body));
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/audit", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("webhook-secret");
    std::fs::write(&secret_file, format!("{WEBHOOK_SECRET}\n")).unwrap();
    let secret_path = secret_file.to_str().unwrap();
    let admin = Admin::start_with(&[
        "--audit-webhook",
        &url,
        "--audit-webhook-secret-file",
        secret_path,
    ])
    .await;
    admin.token("demo-app", "demo-app-secret-change-me").await;

    let deadline = Instant::now() + Duration::from_secs(20);
    let issued = loop {
        let found = got.lock().unwrap().iter().find_map(|(headers, body)| {
            let events: Vec<Value> = serde_json::from_slice(body).unwrap();
            events
                .iter()
                .any(|e| e["event"] == "token_issued" && e["fields"]["client_id"] == "demo-app")
                .then(|| (headers.clone(), body.clone(), events))
        });
        if let Some(found) = found {
            break found;
        }
        assert!(Instant::now() < deadline, "no token_issued event received");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (headers, body, events) = issued;
    let timestamp = headers["x-portcullis-timestamp"].to_str().unwrap();
    let at: i64 = timestamp.parse().unwrap();
    assert!(at > 1_700_000_000);
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, WEBHOOK_SECRET.as_bytes());
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(&body);
    let hex: String = aws_lc_rs::hmac::sign(&key, &signed)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        headers["x-portcullis-signature"].to_str().unwrap(),
        format!("sha256={hex}")
    );
    let event = events
        .iter()
        .find(|e| e["event"] == "token_issued")
        .unwrap();
    assert_eq!(event["fields"]["grant_type"], "client_credentials");
    assert!(event.get("id").is_none(), "{event}");
    // The webhook gets the token events, which the stored trail leaves out by default (see
    // `token_events_are_stored_only_when_asked`).
}

#[test]
fn an_insecure_webhook_url_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = portcullis(&[
        "serve",
        "--listen",
        &format!("127.0.0.1:{}", free_port()),
        "--database",
        &db_url(dir.path()),
        "--audit-webhook",
        "http://siem.example/in",
    ]);
    fails_with(&out, "loopback");
}
