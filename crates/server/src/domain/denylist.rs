//! Revocation mirrored to the resource servers' denylist (`store::Denylist`, e.g. Redis read
//! through `portcullis_types::denylist`). The store stays the source of truth; the denylist is
//! a fast mirror. Every local revocation passes through here, which also clears this node's
//! cache of "not revoked" answers (`crate::validation_cache`).
//!
//! Every time handed to the access-token ledger, the denylist, the replay cache and the mirror
//! is a *keep-until* time, [`retain_until`]`(exp)`: validators may accept a token for up to
//! `MAX_VALIDATOR_LEEWAY_SECS` past its `exp`, so the records that refuse it live as long.
//!
//! The mirror being out of reach never fails a revocation: the store has committed it, so the
//! client gets the answer its request deserves, and the entries the mirror did not take are
//! queued in the store ([`MirrorStore::queue_mirror`]). Every node's [`sync`] pass delivers the
//! queue once the mirror answers again, and refills a mirror that lost its contents (a Redis
//! restarted empty) from everything the store holds.

use std::sync::atomic::{AtomicU8, Ordering};

pub(crate) use portcullis_types::denylist::retain_until;

use super::error::ProtocolError;
use crate::state::AppState;
use crate::store::prelude::*;
use crate::store::{Denylist, MirrorEntry, StoreResult};

/// Entries read or written per round trip when the mirror is refilled or its queue drained.
const SYNC_BATCH: u32 = 500;

/// Whether the mirror answered lately, for readiness and metrics (0 until the first write or
/// check).
#[derive(Debug, Default)]
pub(crate) struct MirrorHealth(AtomicU8);

const REACHABLE: u8 = 1;
const UNREACHABLE: u8 = 2;

impl MirrorHealth {
    fn set(&self, reachable: bool) {
        let value = if reachable { REACHABLE } else { UNREACHABLE };
        if self.0.swap(value, Ordering::Relaxed) != value {
            metrics::gauge!("portcullis_denylist_reachable").set(f64::from(u8::from(reachable)));
        }
    }

    /// Whether the last write or check failed.
    pub(crate) fn unreachable(&self) -> bool {
        self.0.load(Ordering::Relaxed) == UNREACHABLE
    }
}

/// Publishes `entries` to the mirror, if one is configured. When it cannot take them (out of
/// reach, too slow), they are queued in the store for [`sync`] to deliver, and the call still
/// succeeds: the revocations are committed in the store, which every node of this server
/// reads. `health`, when given, records whether the mirror answered.
pub(crate) async fn publish(
    store: &dyn Store,
    denylist: Option<&dyn Denylist>,
    health: Option<&MirrorHealth>,
    entries: Vec<MirrorEntry>,
    now: i64,
) -> Result<(), ProtocolError> {
    let Some(denylist) = denylist else {
        return Ok(());
    };
    let entries: Vec<MirrorEntry> = entries
        .into_iter()
        .filter(|e| e.keep_until() > now)
        .collect();
    if entries.is_empty() {
        return Ok(());
    }
    match denylist.publish(&entries, now).await {
        Ok(()) => {
            if let Some(h) = health {
                h.set(true);
            }
            Ok(())
        }
        Err(error) => {
            tracing::warn!(%error, entries = entries.len(), "denylist mirror out of reach; revocations queued for delivery");
            metrics::counter!("portcullis_denylist_queued_total")
                .increment(u64::try_from(entries.len()).unwrap_or(u64::MAX));
            if let Some(h) = health {
                h.set(false);
            }
            store.queue_mirror(&entries).await?;
            Ok(())
        }
    }
}

/// What one [`sync`] pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncReport {
    /// Whether the mirror answered.
    pub reachable: bool,
    /// Entries written by a refill of the whole mirror (it lacked its completeness mark).
    pub refilled: usize,
    /// Queued entries delivered.
    pub delivered: usize,
}

/// One pass of keeping the mirror whole: if it lacks its completeness mark (new, or emptied by
/// a restart), refill it with every revocation the store holds and set the mark; then deliver
/// the queue. Stops at the first failure (the mirror is out of reach again) and reports it as
/// unreachable; the next pass carries on.
pub(crate) async fn sync(state: &AppState) -> StoreResult<SyncReport> {
    let Some(denylist) = state.denylist.as_deref() else {
        return Ok(SyncReport::default());
    };
    let outcome = sync_with(state.store.as_ref(), denylist, state.now()).await;
    state.mirror_health.set(outcome.is_ok());
    match outcome {
        Ok(report) => Ok(report),
        Err(crate::store::StoreError::Unavailable(reason)) => {
            tracing::debug!(%reason, "denylist mirror still out of reach");
            Ok(SyncReport::default())
        }
        Err(other) => Err(other),
    }
}

async fn sync_with(
    store: &dyn Store,
    denylist: &dyn Denylist,
    now: i64,
) -> StoreResult<SyncReport> {
    let mut report = SyncReport {
        reachable: true,
        ..SyncReport::default()
    };
    if !denylist.is_complete().await? {
        let mut after: Option<MirrorEntry> = None;
        loop {
            let page = store
                .live_mirror_entries(now, after.as_ref(), SYNC_BATCH)
                .await?;
            let Some(last) = page.last().cloned() else {
                break;
            };
            denylist.publish(&page, now).await?;
            report.refilled += page.len();
            after = Some(last);
        }
        denylist.mark_complete().await?;
        tracing::info!(
            entries = report.refilled,
            "denylist mirror refilled from the store"
        );
    }
    loop {
        let queued = store.queued_mirror(SYNC_BATCH).await?;
        if queued.is_empty() {
            break;
        }
        let (ids, entries): (Vec<i64>, Vec<MirrorEntry>) = queued.into_iter().unzip();
        denylist.publish(&entries, now).await?;
        store.dequeue_mirror(&ids).await?;
        report.delivered += entries.len();
    }
    if report.delivered > 0 {
        tracing::info!(
            entries = report.delivered,
            "queued revocations delivered to the denylist mirror"
        );
    }
    Ok(report)
}

/// Revokes a grant in the store (its refresh tokens and recorded access tokens) and mirrors
/// the access tokens' `jti`s to the denylist when configured, so resource servers that check
/// it refuse them too. `true` if the grant was newly revoked.
pub(crate) async fn revoke_grant(state: &AppState, grant_id: &str) -> Result<bool, ProtocolError> {
    let now = state.now();
    let revoked = state.store.revoke_grant(grant_id, now).await?;
    mirror_grant(state, grant_id).await?;
    Ok(revoked)
}

/// Publishes every recorded access token of an (already revoked) grant to the denylist.
pub(crate) async fn mirror_grant(state: &AppState, grant_id: &str) -> Result<(), ProtocolError> {
    state.forget_unrevoked();
    super::lifecycle::publish_grant_jtis(
        state.store.as_ref(),
        state.denylist.as_deref(),
        Some(&state.mirror_health),
        grant_id,
        state.now(),
    )
    .await
}

/// Publishes one revoked access token until `keep_until` (nothing to do without a denylist or
/// once that time passed).
pub(crate) async fn mirror_jti(
    state: &AppState,
    jti: &str,
    keep_until: i64,
) -> Result<(), ProtocolError> {
    state.forget_unrevoked();
    publish(
        state.store.as_ref(),
        state.denylist.as_deref(),
        Some(&state.mirror_health),
        vec![MirrorEntry::Jti {
            jti: jti.to_owned(),
            keep_until,
        }],
        state.now(),
    )
    .await
}

/// Revokes the grants a browser session left behind when it ends (logout), as
/// [`lifecycle::revoke_session_grants`](super::lifecycle::revoke_session_grants) does, and
/// drops this node's "not revoked" answers. Returns how many grants were revoked.
pub(crate) async fn revoke_session_grants(
    state: &AppState,
    user_id: &str,
    sid: &str,
) -> Result<usize, ProtocolError> {
    let revoked = super::lifecycle::revoke_session_grants(
        super::lifecycle::Targets::of(state),
        user_id,
        sid,
        state.now(),
    )
    .await;
    state.forget_unrevoked();
    revoked
}
