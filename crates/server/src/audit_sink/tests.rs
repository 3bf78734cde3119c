use std::sync::Mutex;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use portcullis_jose::time::{FixedClock, UnixTime};
use portcullis_types::secret::AuditWebhookSecret;
use tracing_subscriber::prelude::*;

use super::*;
use crate::store::memory::MemoryStore;
use crate::store::{AuditFilter, AuditStore as _};

const T0: i64 = 1_800_000_000;

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock::new(UnixTime(T0)))
}

/// Runs `f` with `layer` as the thread's subscriber.
fn with_layer(layer: AuditLayer, f: impl FnOnce()) {
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, f);
}

#[test]
fn audit_events_become_records_with_json_fields() {
    let (layer, mut queue) = AuditLayer::new(clock()).queue("test", 16);
    with_layer(layer, || {
        crate::domain::audit::token_issued("authorization_code", "app", "u1", "j1", "openid");
        crate::domain::audit::login_failed("alice", None, true);
        // An event field on another target (named through a value: the audit schema's test
        // reads every literal event name in the sources).
        let name = "not_audit";
        tracing::info!(target: "other", event = name, "ignored");
    });
    let first = queue.rx.try_recv().unwrap();
    assert_eq!(first.at, T0);
    assert_eq!(first.event, "token_issued");
    assert_eq!(first.user.as_deref(), Some("u1"));
    assert_eq!(first.client_id.as_deref(), Some("app"));
    assert_eq!(first.fields["grant_type"], "authorization_code");
    assert_eq!(first.fields["jti"], "j1");
    assert!(!first.fields.contains_key("event"));
    let second = queue.rx.try_recv().unwrap();
    assert_eq!(second.event, "login_failure");
    assert_eq!(second.fields["throttled"], true);
    assert!(
        !second.fields.contains_key("addr"),
        "an absent optional field stays absent"
    );
    assert!(
        queue.rx.try_recv().is_err(),
        "other targets are not captured"
    );
}

#[test]
fn a_full_queue_drops_without_waiting_and_other_queues_still_get_the_event() {
    let (layer, mut small) = AuditLayer::new(clock()).queue("small", 1);
    let (layer, mut large) = layer.queue("large", 16);
    with_layer(layer, || {
        for _ in 0..3 {
            crate::domain::audit::logout("u1");
        }
    });
    assert!(small.rx.try_recv().is_ok());
    assert!(small.rx.try_recv().is_err(), "the two others were dropped");
    for _ in 0..3 {
        assert_eq!(large.rx.try_recv().unwrap().event, "logout");
    }
}

fn record(i: i64) -> AuditRecord {
    let fields = serde_json::json!({"user_id": format!("u{i}")});
    AuditRecord::new(T0 + i, "logout", fields.as_object().unwrap().clone())
}

#[tokio::test]
async fn the_store_writer_batches_and_flushes_at_shutdown() {
    let (layer, queue) = AuditLayer::new(clock()).queue("store", 1024);
    let store = Arc::new(MemoryStore::new());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let writer = tokio::spawn(store_events(
        queue,
        store.clone() as Arc<dyn Store>,
        async move {
            let _ = stopped.await;
        },
    ));
    let tx = &layer.sinks[0].tx;
    for i in 0..300 {
        tx.try_send(record(i)).unwrap();
    }
    // A full batch goes at once, the rest within the flush interval, without a shutdown.
    let page = AuditFilter {
        limit: 200,
        ..AuditFilter::default()
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let stored = store.audit_events(&page).await.unwrap();
        if stored.first().and_then(|e| e.record.user.as_deref()) == Some("u299") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not flushed");
        tokio::time::sleep(batch::FLUSH_EVERY).await;
    }
    // Queued right before shutdown: still written.
    for i in 300..310 {
        tx.try_send(record(i)).unwrap();
    }
    stop.send(()).unwrap();
    writer.await.unwrap();
    let newest = store.audit_events(&page).await.unwrap();
    assert_eq!(newest[0].record.user.as_deref(), Some("u309"));
    let mut all = 0;
    let mut filter = page.clone();
    loop {
        let got = store.audit_events(&filter).await.unwrap();
        let Some(last) = got.last() else { break };
        all += got.len();
        filter.before = Some(last.id);
    }
    assert_eq!(all, 310);
}

/// What the test receiver got: each request's headers and body.
type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A local HTTP receiver answering `status`, recording each request.
async fn receiver(status: StatusCode) -> (url::Url, Received) {
    let got: Received = Arc::default();
    let record = Arc::clone(&got);
    let app = Router::new().route(
        "/audit",
        post(move |headers: HeaderMap, body: Bytes| {
            let record = Arc::clone(&record);
            async move {
                record.lock().unwrap().push((headers, body));
                status
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/audit").parse().unwrap(), got)
}

const SECRET: &str = "0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn the_webhook_receives_signed_batches() {
    let (url, got) = receiver(StatusCode::NO_CONTENT).await;
    let webhook = AuditWebhook::new(url, Some(AuditWebhookSecret::new(SECRET))).unwrap();
    let (layer, queue) = AuditLayer::new(clock()).queue("webhook", 64);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let sender = tokio::spawn(send_to_webhook(queue, webhook, clock(), async move {
        let _ = stopped.await;
    }));
    with_layer(layer, || {
        crate::domain::audit::admin_change("u1", "admin-cli", "user_disabled", "u2");
        crate::domain::audit::logout("u2");
    });
    stop.send(()).unwrap();
    sender.await.unwrap().unwrap();
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 1, "one batch");
    let (headers, body) = &got[0];
    assert_eq!(headers[CONTENT_TYPE_NAME], "application/json");
    assert_eq!(headers[webhook::TIMESTAMP_HEADER], T0.to_string());
    // Computed independently: HMAC-SHA256(secret, "<timestamp>.<body>").
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, SECRET.as_bytes());
    let mut signed = format!("{T0}.").into_bytes();
    signed.extend_from_slice(body);
    let tag = aws_lc_rs::hmac::sign(&key, &signed);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    let signature = headers[webhook::SIGNATURE_HEADER].to_str().unwrap();
    assert!(portcullis_types::secret::constant_time_eq(
        signature.as_bytes(),
        format!("sha256={hex}").as_bytes()
    ));
    let events: Vec<serde_json::Value> = serde_json::from_slice(body).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["event"], "admin_change");
    assert_eq!(events[0]["at"], T0);
    assert_eq!(events[0]["fields"]["action"], "user_disabled");
    assert_eq!(events[1]["event"], "logout");
    assert_eq!(events[1]["fields"]["user_id"], "u2");
}

const CONTENT_TYPE_NAME: &str = "content-type";

#[tokio::test]
async fn a_failing_webhook_is_retried_then_the_batch_is_dropped() {
    let (url, got) = receiver(StatusCode::INTERNAL_SERVER_ERROR).await;
    let webhook = AuditWebhook::new(url, None).unwrap();
    let (layer, queue) = AuditLayer::new(clock()).queue("webhook", 64);
    layer.sinks[0].tx.try_send(record(1)).unwrap();
    drop(layer);
    // Every sender gone: the task sends what is queued and ends.
    send_to_webhook(queue, webhook, clock(), std::future::pending())
        .await
        .unwrap();
    let got = got.lock().unwrap();
    assert_eq!(got.len(), usize::try_from(batch::ATTEMPTS).unwrap());
    assert!(
        !got[0].0.contains_key(webhook::SIGNATURE_HEADER),
        "no secret, no signature"
    );
}

#[test]
fn the_webhook_url_follows_the_token_hook_rules() {
    let ok = |u: &str| AuditWebhook::new(u.parse().unwrap(), None).is_ok();
    assert!(ok("https://siem.example/in"));
    assert!(ok("http://127.0.0.1:9000/in"));
    assert!(ok("http://localhost/in"));
    assert!(!ok("http://siem.example/in"));
    assert!(!ok("ftp://siem.example/in"));
    assert!(!ok("https://user:pw@siem.example/in"));
    let short = AuditWebhook::new(
        "https://siem.example/in".parse().unwrap(),
        Some(AuditWebhookSecret::new("short")),
    );
    assert_eq!(short.unwrap_err().setting, "audit_webhook_secret");
}
