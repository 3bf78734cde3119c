//! Audit events out of the process's `tracing` stream and into the stored audit trail and the
//! audit webhook: [`AuditLayer`] turns each event of target `audit` into an
//! [`AuditRecord`] and offers it to bounded queues without ever waiting; [`store_events`] and
//! [`send_to_webhook`] drain their queue in batches.
//!
//! The layer is installed with the subscriber, before the store is open; each consumer gets its
//! [`AuditQueue`] from [`AuditLayer::queue`] then and is spawned once its destination is ready.
//! A full queue drops the event, counted in `portcullis_audit_dropped_total{sink, reason}`
//! and warned about at most every ten seconds: the request that caused the event never waits.

mod batch;
mod webhook;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use portcullis_jose::Clock;
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use crate::store::{AuditRecord, Store};

pub use webhook::{
    AuditWebhook, REQUEST_TIMEOUT, SIGNATURE_HEADER, TIMESTAMP_HEADER, send_to_webhook,
};

/// The target of every audit event.
pub const AUDIT_TARGET: &str = "audit";

/// Events a queue holds before further ones are dropped.
pub const QUEUE_CAPACITY: usize = 8192;

/// Seconds between two warnings about dropped events of one queue.
const WARN_EVERY_SECS: i64 = 10;

/// The events issued once per token: many per second on a busy token endpoint. The stored
/// trail leaves them out unless asked ([`AuditLayer::queue_without`]); the logs, the audit file
/// and the webhook always have them.
pub const TOKEN_EVENTS: &[&str] = &["token_issued", "refresh"];

/// One consumer's queue as the layer sees it.
#[derive(Debug)]
struct Sink {
    name: &'static str,
    tx: mpsc::Sender<AuditRecord>,
    /// Events this queue does not take.
    without: &'static [&'static str],
    /// When a drop was last warned about, Unix seconds.
    last_warning: AtomicI64,
}

impl Sink {
    /// Offers `record` without waiting; counts and (rate-limited) warns when it cannot be taken.
    fn offer(&self, record: AuditRecord, now: i64) {
        let reason = match self.tx.try_send(record) {
            Ok(()) => return,
            Err(mpsc::error::TrySendError::Full(_)) => "queue_full",
            Err(mpsc::error::TrySendError::Closed(_)) => "closed",
        };
        metrics::counter!("portcullis_audit_dropped_total", "sink" => self.name, "reason" => reason)
            .increment(1);
        let last = self.last_warning.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= WARN_EVERY_SECS
            && self
                .last_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                sink = self.name,
                reason,
                "audit events dropped (see portcullis_audit_dropped_total)"
            );
        }
    }
}

/// The receiving end of one queue of captured audit events.
#[derive(Debug)]
pub struct AuditQueue {
    rx: mpsc::Receiver<AuditRecord>,
    name: &'static str,
}

/// A `tracing` layer that captures the events of target [`AUDIT_TARGET`] into bounded queues.
/// Give it a per-layer filter for that target (e.g. `Targets::new().with_target("audit",
/// Level::INFO)`) so that `RUST_LOG` does not decide what is captured.
#[derive(Debug, Clone)]
pub struct AuditLayer {
    clock: Arc<dyn Clock>,
    sinks: Vec<Arc<Sink>>,
}

impl AuditLayer {
    /// A layer with no queue yet, timing events with `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            sinks: Vec::new(),
        }
    }

    /// Adds a queue named `name` (the `sink` label of the drop metric) holding at most
    /// `capacity` events, and returns its receiving end. Call before installing the layer.
    #[must_use]
    pub fn queue(self, name: &'static str, capacity: usize) -> (Self, AuditQueue) {
        self.queue_without(name, capacity, &[])
    }

    /// [`AuditLayer::queue`] for a consumer that does not take the events named in `without`
    /// (such as [`TOKEN_EVENTS`]).
    #[must_use]
    pub fn queue_without(
        mut self,
        name: &'static str,
        capacity: usize,
        without: &'static [&'static str],
    ) -> (Self, AuditQueue) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        self.sinks.push(Arc::new(Sink {
            name,
            tx,
            without,
            last_warning: AtomicI64::new(i64::MIN),
        }));
        (self, AuditQueue { rx, name })
    }
}

/// Only the `event` field of an event: enough to decide whether any queue takes it before
/// the other fields are turned into JSON.
#[derive(Default)]
struct EventName(Option<String>);

impl Visit for EventName {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "event" {
            self.0 = Some(value.to_owned());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "event" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

impl<S: Subscriber> Layer<S> for AuditLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != AUDIT_TARGET || self.sinks.is_empty() {
            return;
        }
        let mut name = EventName::default();
        event.record(&mut name);
        let Some(name) = name.0 else {
            return;
        };
        let takers: Vec<&Arc<Sink>> = self
            .sinks
            .iter()
            .filter(|sink| !sink.without.contains(&name.as_str()))
            .collect();
        let Some((last, others)) = takers.split_last() else {
            return;
        };
        let mut fields = Fields::default();
        event.record(&mut fields);
        let now = self.clock.now().as_secs();
        let record = AuditRecord::new(now, name, fields.map);
        for sink in others {
            sink.offer(record.clone(), now);
        }
        last.offer(record, now);
    }
}

/// An event's fields as JSON: `event` apart, the log message left out.
#[derive(Default)]
struct Fields {
    event: Option<String>,
    map: Map<String, Value>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        match field.name() {
            "message" => {}
            "event" => {
                self.event = Some(match value {
                    Value::String(s) => s,
                    other => other.to_string(),
                });
            }
            name => {
                self.map.insert(name.to_owned(), value);
            }
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::from(format!("{value:?}")));
    }
}

/// Writes the events of `queue` to `store` in batches until `shutdown` completes, then writes
/// what is still queued and returns. A batch the store refuses is retried with backoff, then
/// dropped (counted in `portcullis_audit_dropped_total{reason="delivery_failed"}`).
pub async fn store_events(
    queue: AuditQueue,
    store: Arc<dyn Store>,
    shutdown: impl Future<Output = ()> + Send,
) {
    let deliver = move |batch: Arc<Vec<AuditRecord>>| {
        let store = Arc::clone(&store);
        async move { store.append_audit(&batch).await.map_err(|e| e.to_string()) }
    };
    batch::deliver_batches(queue, shutdown, deliver).await;
}

#[cfg(test)]
mod tests;
