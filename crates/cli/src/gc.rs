//! Removing expired state: `portcullis gc` once, and the periodic task of `portcullis serve`
//! (jittered so several nodes drift apart; on PostgreSQL only one node collects at a time).

use std::hash::{BuildHasher as _, RandomState};
use std::time::Duration;

use anyhow::anyhow;
use clap::Args;
use portcullis_jose::time::{Clock as _, SystemClock};
use portcullis_server::Server;

use crate::db::StoreArgs;

/// Arguments of `gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Runs one collection and prints what it removed.
pub async fn run(args: GcArgs) -> anyhow::Result<()> {
    let (store, resolved) = args.store.open().await?;
    let report = portcullis_server::admin::collect_garbage(
        store.as_ref(),
        SystemClock.now().as_secs(),
        resolved.server.audit_retention_secs,
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    println!("removed {} expired records", report.deleted);
    Ok(())
}

/// Collects every `interval` (jittered) for as long as the task runs, logging what went.
pub async fn periodically(server: Server, interval: Duration) {
    loop {
        // A fresh `RandomState` is randomly keyed: enough randomness for spreading timers.
        tokio::time::sleep(jittered(interval, RandomState::new().hash_one(0u8))).await;
        match server.gc().await {
            Ok(report) => tracing::info!(removed = report.deleted, "expired state removed"),
            Err(err) => tracing::warn!(%err, "removing expired state failed"),
        }
    }
}

/// `interval` moved by up to a fifth either way, chosen by `random`.
fn jittered(interval: Duration, random: u64) -> Duration {
    let spread = interval / 5;
    let span = u64::try_from(spread.as_millis().saturating_mul(2)).unwrap_or(u64::MAX);
    let offset = Duration::from_millis(random.checked_rem(span.saturating_add(1)).unwrap_or(0));
    interval.saturating_sub(spread).saturating_add(offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_a_fifth() {
        let base = Duration::from_secs(300);
        assert_eq!(jittered(base, 0), Duration::from_secs(240));
        assert_eq!(jittered(base, 120_000), Duration::from_secs(360));
        assert_eq!(jittered(base, 60_000), base);
        for random in [1, 7, 119_999, 120_001, u64::MAX] {
            let d = jittered(base, random);
            assert!(
                d >= Duration::from_secs(240) && d <= Duration::from_secs(360),
                "{d:?}"
            );
        }
        assert_eq!(jittered(Duration::ZERO, 5), Duration::ZERO);
    }
}
