//! Draining a queue of audit events in batches: up to [`BATCH`] events at once, sent when the
//! batch is full or [`FLUSH_EVERY`] after its first event; a failed batch retried with backoff
//! [`ATTEMPTS`] times, then dropped and counted.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::AuditQueue;
use crate::store::AuditRecord;

/// Most events delivered at once.
pub(crate) const BATCH: usize = 256;
/// Longest an event waits for its batch to fill.
pub(crate) const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// Tries per batch before it is dropped.
pub(crate) const ATTEMPTS: u32 = 5;
/// The wait after the first failed try, doubled after each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// Delivers the events of `queue` with `deliver` until `shutdown` completes (or every sender is
/// gone), then delivers what is still queued and returns.
pub(crate) async fn deliver_batches<D, F>(
    mut queue: AuditQueue,
    shutdown: impl Future<Output = ()> + Send,
    deliver: D,
) where
    D: Fn(Arc<Vec<AuditRecord>>) -> F + Send,
    F: Future<Output = Result<(), String>> + Send,
{
    tokio::pin!(shutdown);
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let received = tokio::select! {
            biased;
            () = &mut shutdown => 0,
            n = queue.rx.recv_many(&mut batch, BATCH) => n,
        };
        if received == 0 {
            break;
        }
        let deadline = Instant::now() + FLUSH_EVERY;
        while batch.len() < BATCH {
            let room = BATCH - batch.len();
            match tokio::time::timeout_at(deadline, queue.rx.recv_many(&mut batch, room)).await {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
        send(queue.name, &deliver, std::mem::take(&mut batch)).await;
    }
    // Shutting down: what is queued now goes out too.
    while let Ok(first) = queue.rx.try_recv() {
        batch.push(first);
        while batch.len() < BATCH {
            match queue.rx.try_recv() {
                Ok(record) => batch.push(record),
                Err(_) => break,
            }
        }
        send(queue.name, &deliver, std::mem::take(&mut batch)).await;
    }
}

/// Delivers one batch, retrying with backoff; drops it (counted, warned) when every try failed.
async fn send<D, F>(sink: &'static str, deliver: &D, batch: Vec<AuditRecord>)
where
    D: Fn(Arc<Vec<AuditRecord>>) -> F,
    F: Future<Output = Result<(), String>>,
{
    if batch.is_empty() {
        return;
    }
    let batch = Arc::new(batch);
    let mut backoff = FIRST_BACKOFF;
    let mut last_error = String::new();
    for attempt in 1..=ATTEMPTS {
        match deliver(Arc::clone(&batch)).await {
            Ok(()) => return,
            Err(error) => last_error = error,
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
    }
    let lost = u64::try_from(batch.len()).unwrap_or(u64::MAX);
    metrics::counter!("portcullis_audit_dropped_total", "sink" => sink, "reason" => "delivery_failed")
        .increment(lost);
    tracing::warn!(sink, lost, error = %last_error, "audit events dropped after {ATTEMPTS} failed deliveries");
}
