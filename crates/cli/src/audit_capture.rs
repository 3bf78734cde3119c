//! The stored audit trail and the audit webhook of `portcullis serve`: the capturing layer is
//! made with the subscriber (before anything logs), its queues are drained once the store is
//! open and the webhook checked, and on a graceful shutdown what is still queued goes out.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use clap::Args;
use portcullis_jose::time::{Clock, SystemClock};
use portcullis_server::audit_sink::{
    AuditLayer, AuditQueue, AuditWebhook, QUEUE_CAPACITY, TOKEN_EVENTS, send_to_webhook,
    store_events,
};
use portcullis_server::store::Store;
use portcullis_types::secret::AuditWebhookSecret;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Longest a shutdown waits for the queued audit events to be written and sent.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// The audit options of `serve`.
#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    /// POST every audit event, in batches as a JSON array, to this URL (https, or http on a
    /// loopback host) [default: off].
    #[arg(long, env = "PORTCULLIS_AUDIT_WEBHOOK", value_name = "URL")]
    pub audit_webhook: Option<url::Url>,
    /// A file holding the webhook's shared secret (at least 32 bytes; surrounding whitespace
    /// ignored): each POST is then signed, `X-Portcullis-Signature: sha256=<hex HMAC-SHA256 of
    /// "<X-Portcullis-Timestamp>.<body>">`.
    #[arg(
        long,
        env = "PORTCULLIS_AUDIT_WEBHOOK_SECRET_FILE",
        value_name = "PATH"
    )]
    pub audit_webhook_secret_file: Option<PathBuf>,
    /// Also store the events issued once per token (`token_issued`, `refresh`) in the audit
    /// trail: a row per token, which a busy token endpoint pays for [default: off; they are in
    /// the logs, `--audit-file` and the webhook either way].
    #[arg(long, env = "PORTCULLIS_AUDIT_TRAIL_TOKENS")]
    pub audit_trail_tokens: bool,
}

/// The queues of captured audit events, waiting for their consumers.
#[derive(Debug)]
pub struct AuditQueues {
    store: AuditQueue,
    webhook: Option<AuditQueue>,
}

/// The layer that captures audit events for `serve`, and its queues: the store's always, the
/// webhook's when one is configured.
pub fn capture(args: &AuditArgs) -> (AuditLayer, AuditQueues) {
    let without = if args.audit_trail_tokens {
        &[][..]
    } else {
        TOKEN_EVENTS
    };
    let (layer, store) =
        AuditLayer::new(Arc::new(SystemClock)).queue_without("store", QUEUE_CAPACITY, without);
    let (layer, webhook) = match args.audit_webhook {
        Some(_) => {
            let (layer, queue) = layer.queue("webhook", QUEUE_CAPACITY);
            (layer, Some(queue))
        }
        None => (layer, None),
    };
    (layer, AuditQueues { store, webhook })
}

/// The running consumers; [`Consumers::flush`] stops them after writing what is queued.
#[derive(Debug)]
pub struct Consumers {
    stop: watch::Sender<()>,
    tasks: Vec<JoinHandle<()>>,
}

/// Checks the webhook settings and starts the consumers of `queues`.
pub fn start(
    args: &AuditArgs,
    queues: AuditQueues,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Consumers> {
    let (stop, stopped) = watch::channel(());
    let until_stopped = |mut rx: watch::Receiver<()>| async move {
        // Resolves when the sender is dropped or sends.
        let _ = rx.changed().await;
    };
    let mut tasks = vec![tokio::spawn(store_events(
        queues.store,
        store,
        until_stopped(stopped.clone()),
    ))];
    if let (Some(url), Some(queue)) = (&args.audit_webhook, queues.webhook) {
        let secret = match &args.audit_webhook_secret_file {
            Some(path) => Some(AuditWebhookSecret::new(
                std::fs::read_to_string(path)
                    .with_context(|| {
                        format!("reading the audit webhook secret {}", path.display())
                    })?
                    .trim(),
            )),
            None => None,
        };
        let webhook = AuditWebhook::new(url.clone(), secret)
            .map_err(|e| anyhow!("--{}: {}", e.setting.replace('_', "-"), e.reason))?;
        tracing::info!(
            host = url.host_str().unwrap_or("?"),
            "audit events sent to the webhook"
        );
        let shutdown = until_stopped(stopped);
        tasks.push(tokio::spawn(async move {
            if let Err(error) = send_to_webhook(queue, webhook, clock, shutdown).await {
                tracing::error!(%error, "the audit webhook's HTTP client did not start");
            }
        }));
    }
    Ok(Consumers { stop, tasks })
}

impl Consumers {
    /// Writes and sends what is still queued (waiting at most ten seconds), then stops.
    pub async fn flush(self) {
        drop(self.stop);
        let all = async {
            for task in self.tasks {
                let _ = task.await;
            }
        };
        if tokio::time::timeout(FLUSH_TIMEOUT, all).await.is_err() {
            tracing::warn!("audit events still queued at shutdown were not all delivered");
        }
    }
}
