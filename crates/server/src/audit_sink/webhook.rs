//! The audit webhook: batches of audit events POSTed as a JSON array to an operator's URL,
//! signed like the token hooks' calls. The body is `[{"at", "event", "fields"}, ...]` (the
//! admin API's entries without the store's `id`); with a secret, the request carries
//! `X-Portcullis-Timestamp: <unix seconds>` and `X-Portcullis-Signature: sha256=<hex>`, the
//! HMAC-SHA-256 of the timestamp, a dot and the exact body.

use std::sync::Arc;
use std::time::Duration;

use portcullis_jose::Clock;
use portcullis_types::secret::AuditWebhookSecret;
use reqwest::header::CONTENT_TYPE;
use serde::Serialize;
use serde_json::{Map, Value};

use super::AuditQueue;
use crate::config::ConfigError;
use crate::config::token_hook::{MIN_SECRET_LEN, check_callback_url};
use crate::store::AuditRecord;
use crate::token_hook::call::http_client;
use crate::token_hook::signature::timestamped_hmac;

/// The header with the time the request was signed, Unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-portcullis-timestamp";
/// The header with `sha256=<hex HMAC-SHA-256 of "<timestamp>.<body>">`.
pub const SIGNATURE_HEADER: &str = "x-portcullis-signature";
/// Longest one POST may take, connecting included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Where audit events are POSTed and the key they are signed with.
#[derive(Debug, Clone)]
pub struct AuditWebhook {
    url: url::Url,
    secret: Option<AuditWebhookSecret>,
}

impl AuditWebhook {
    /// A webhook at `url` (`https`, or `http` on a loopback host, as for token hooks), signing
    /// with `secret` (at least 32 bytes) when one is given.
    pub fn new(url: url::Url, secret: Option<AuditWebhookSecret>) -> Result<Self, ConfigError> {
        check_callback_url(&url).map_err(|reason| ConfigError::new("audit_webhook", reason))?;
        if secret
            .as_ref()
            .is_some_and(|s| s.secret().len() < MIN_SECRET_LEN)
        {
            return Err(ConfigError::new(
                "audit_webhook_secret",
                "must be at least 32 bytes (e.g. `openssl rand -hex 32`)",
            ));
        }
        Ok(Self { url, secret })
    }

    /// The URL events go to.
    pub fn url(&self) -> &url::Url {
        &self.url
    }
}

/// One event as the webhook receives it.
#[derive(Serialize)]
struct Sent<'a> {
    at: i64,
    event: &'a str,
    fields: &'a Map<String, Value>,
}

/// POSTs the events of `queue` to `webhook` in batches until `shutdown` completes, then sends
/// what is still queued and returns. A batch that is not answered `2xx` within
/// [`REQUEST_TIMEOUT`] is retried with backoff, then dropped (counted in
/// `portcullis_audit_dropped_total{sink, reason="delivery_failed"}`).
pub async fn send_to_webhook(
    queue: AuditQueue,
    webhook: AuditWebhook,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), reqwest::Error> {
    let client = http_client()?;
    let webhook = Arc::new(webhook);
    let deliver = move |batch: Arc<Vec<AuditRecord>>| {
        let client = client.clone();
        let webhook = Arc::clone(&webhook);
        let now = clock.now().as_secs();
        async move { post(&client, &webhook, &batch, now).await }
    };
    super::batch::deliver_batches(queue, shutdown, deliver).await;
    Ok(())
}

/// One signed POST of `batch`.
async fn post(
    client: &reqwest::Client,
    webhook: &AuditWebhook,
    batch: &[AuditRecord],
    now: i64,
) -> Result<(), String> {
    let sent: Vec<Sent<'_>> = batch
        .iter()
        .map(|r| Sent {
            at: r.at,
            event: &r.event,
            fields: &r.fields,
        })
        .collect();
    let body = serde_json::to_vec(&sent).map_err(|e| e.to_string())?;
    let mut request = client
        .post(webhook.url.clone())
        .timeout(REQUEST_TIMEOUT)
        .header(CONTENT_TYPE, "application/json");
    if let Some(secret) = &webhook.secret {
        let tag = timestamped_hmac(secret.secret().as_bytes(), now, &body);
        request = request
            .header(TIMESTAMP_HEADER, now.to_string())
            .header(SIGNATURE_HEADER, format!("sha256={tag}"));
    }
    let response = request
        .body(body)
        .send()
        .await
        .map_err(|e| format!("audit webhook: {e}"))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("audit webhook answered {status}"))
    }
}
