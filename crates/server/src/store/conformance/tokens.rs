//! Conformance cases for single-use and revocable token state: codes, grants, refresh-token
//! rotation, the jti denylist, the replay cache and garbage collection.

use std::sync::Arc;

use portcullis_types::Scope;
use tokio::sync::Barrier;

use super::{code, grant, refresh};
use crate::store::{
    CODE_RETENTION_SECS, ConsumeOutcome, GRANT_RETENTION_SECS, MirrorEntry, RefreshStatus,
    RotateOutcome, Store, StoreError, namespace,
};

const T0: i64 = 1_700_000_000;

pub async fn code_1_second_consume_is_already_consumed(s: Arc<dyn Store>) {
    s.insert_code(code("c1", "g1", T0 + 60)).await.unwrap();
    match s.consume_code("c1", T0).await.unwrap() {
        ConsumeOutcome::Consumed(rec) => {
            assert_eq!(rec.consumed_at, Some(T0));
            assert_eq!(rec.grant_id, "g1");
            assert_eq!(rec.redirect_uri, "https://app.example/cb");
            assert_eq!(rec.nonce.as_deref(), Some("n-0S6_WzA2Mj"));
            assert_eq!(rec.resource, vec!["https://api.example".to_owned()]);
            assert_eq!(rec.extra, serde_json::json!({"acr": "1"}));
        }
        other => panic!("first consume: {other:?}"),
    }
    // Immediately and 30 s later: still consumed, carrying the grant to revoke (CODE-2).
    for later in [T0 + 1, T0 + 30] {
        match s.consume_code("c1", later).await.unwrap() {
            ConsumeOutcome::AlreadyConsumed(rec) => {
                assert_eq!(rec.consumed_at, Some(T0));
                assert_eq!(rec.grant_id, "g1");
            }
            other => panic!("second consume: {other:?}"),
        }
    }
    // Still recognised as a replay after it expired.
    assert!(matches!(
        s.consume_code("c1", T0 + 600).await.unwrap(),
        ConsumeOutcome::AlreadyConsumed(_)
    ));
    assert_eq!(
        s.consume_code("unknown", T0).await.unwrap(),
        ConsumeOutcome::NotFound
    );
}

pub async fn code_6_expired_code_is_expired(s: Arc<dyn Store>) {
    s.insert_code(code("c-exp", "g1", T0 + 60)).await.unwrap();
    assert_eq!(
        s.consume_code("c-exp", T0 + 60).await.unwrap(),
        ConsumeOutcome::Expired
    );
    // An expired code is not consumed by the attempt: it stays expired, never redeemable.
    assert_eq!(
        s.consume_code("c-exp", T0 + 61).await.unwrap(),
        ConsumeOutcome::Expired
    );
    s.insert_code(code("c-edge", "g1", T0 + 60)).await.unwrap();
    assert!(matches!(
        s.consume_code("c-edge", T0 + 59).await.unwrap(),
        ConsumeOutcome::Consumed(_)
    ));
}

pub async fn code_3_concurrent_consume_exactly_one(s: Arc<dyn Store>) {
    s.insert_code(code("c-race", "g1", T0 + 60)).await.unwrap();
    let barrier = Arc::new(Barrier::new(32));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (s, barrier) = (s.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            s.consume_code("c-race", T0).await
        }));
    }
    let (mut consumed, mut already) = (0, 0);
    for t in tasks {
        match t.await.unwrap().unwrap() {
            ConsumeOutcome::Consumed(_) => consumed += 1,
            ConsumeOutcome::AlreadyConsumed(_) => already += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(consumed, 1, "exactly one redemption wins");
    assert_eq!(already, 31);
}

pub async fn code_insert_duplicate_is_conflict(s: Arc<dyn Store>) {
    s.insert_code(code("c-dup", "g1", T0 + 60)).await.unwrap();
    let err = s
        .insert_code(code("c-dup", "g2", T0 + 60))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}

pub async fn rt_3_reuse_after_rotation_is_reused(s: Arc<dyn Store>) {
    s.insert_grant(grant("g1", "user-1", "client-a", T0))
        .await
        .unwrap();
    s.insert_refresh(refresh("rt-a", "g1", T0)).await.unwrap();
    match s
        .rotate_refresh("rt-a", refresh("rt-b", "g1", T0 + 10), T0 + 10)
        .await
        .unwrap()
    {
        RotateOutcome::Rotated(old) => {
            assert_eq!(old.token_hash, "rt-a");
            assert_eq!(old.status, RefreshStatus::Active);
            assert_eq!(old.scope, Scope::parse("openid offline_access").unwrap());
        }
        other => panic!("rotation: {other:?}"),
    }
    assert_eq!(
        s.find_refresh("rt-a").await.unwrap().unwrap().status,
        RefreshStatus::Rotated
    );
    assert_eq!(
        s.find_refresh("rt-b").await.unwrap().unwrap().status,
        RefreshStatus::Active
    );
    match s
        .rotate_refresh("rt-a", refresh("rt-c", "g1", T0 + 20), T0 + 20)
        .await
        .unwrap()
    {
        RotateOutcome::Reused(old) => {
            assert_eq!(old.grant_id, "g1");
            assert_eq!(old.status, RefreshStatus::Rotated);
        }
        other => panic!("reuse: {other:?}"),
    }
    assert!(
        s.find_refresh("rt-c").await.unwrap().is_none(),
        "no successor on reuse"
    );
    assert_eq!(
        s.rotate_refresh("nope", refresh("rt-d", "g1", T0), T0)
            .await
            .unwrap(),
        RotateOutcome::NotFound
    );
    // A successor must stay in the family.
    s.insert_grant(grant("g-other", "user-1", "client-a", T0))
        .await
        .unwrap();
    let err = s
        .rotate_refresh("rt-b", refresh("rt-x", "g-other", T0 + 30), T0 + 30)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        s.find_refresh("rt-b").await.unwrap().unwrap().status,
        RefreshStatus::Active,
        "a failed rotation changes nothing"
    );
}

pub async fn rt_4_concurrent_rotation_exactly_one(s: Arc<dyn Store>) {
    s.insert_grant(grant("g1", "user-1", "client-a", T0))
        .await
        .unwrap();
    s.insert_refresh(refresh("rt-race", "g1", T0))
        .await
        .unwrap();
    let barrier = Arc::new(Barrier::new(32));
    let mut tasks = Vec::new();
    for i in 0..32 {
        let (s, barrier) = (s.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let new = refresh(&format!("rt-next-{i}"), "g1", T0 + 5);
            (i, s.rotate_refresh("rt-race", new, T0 + 5).await)
        }));
    }
    let (mut winners, mut reused) = (Vec::new(), 0);
    for t in tasks {
        let (i, outcome) = t.await.unwrap();
        match outcome.unwrap() {
            RotateOutcome::Rotated(_) => winners.push(i),
            RotateOutcome::Reused(_) => reused += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one rotation wins");
    assert_eq!(reused, 31);
    for i in 0..32 {
        let exists = s
            .find_refresh(&format!("rt-next-{i}"))
            .await
            .unwrap()
            .is_some();
        assert_eq!(
            exists,
            winners.contains(&i),
            "only the winner's successor exists"
        );
    }
}

/// The grace retry (RT-5): of concurrent retries of a just-rotated token exactly one gets a
/// sibling successor; a retry of a token rotated before `rotated_after`, of an active token or
/// of one whose grant is revoked inserts nothing.
pub async fn rt_5_grace_retry_exactly_once_within_the_window(s: Arc<dyn Store>) {
    s.insert_grant(grant("g1", "user-1", "client-a", T0))
        .await
        .unwrap();
    s.insert_refresh(refresh("rt-a", "g1", T0)).await.unwrap();
    let active = s
        .retry_rotated_refresh("rt-a", refresh("rt-early", "g1", T0), T0 - 30)
        .await
        .unwrap();
    assert!(matches!(active, RotateOutcome::Reused(_)), "{active:?}");
    assert!(s.find_refresh("rt-early").await.unwrap().is_none());
    assert!(matches!(
        s.rotate_refresh("rt-a", refresh("rt-b", "g1", T0 + 10), T0 + 10)
            .await
            .unwrap(),
        RotateOutcome::Rotated(_)
    ));
    // Rotated at T0 + 10: not within a window that starts at T0 + 10.
    let late = s
        .retry_rotated_refresh("rt-a", refresh("rt-late", "g1", T0 + 40), T0 + 10)
        .await
        .unwrap();
    assert!(matches!(late, RotateOutcome::Reused(_)), "{late:?}");
    let barrier = Arc::new(Barrier::new(16));
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (s, barrier) = (s.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let new = refresh(&format!("rt-sib-{i}"), "g1", T0 + 15);
            s.retry_rotated_refresh("rt-a", new, T0 - 20).await.unwrap()
        }));
    }
    let mut won = 0;
    for t in tasks {
        if matches!(t.await.unwrap(), RotateOutcome::Rotated(_)) {
            won += 1;
        }
    }
    assert_eq!(won, 1, "one grace retry per rotated token");
    let mut active = 0;
    for i in 0..16 {
        if s.find_refresh(&format!("rt-sib-{i}"))
            .await
            .unwrap()
            .is_some()
        {
            active += 1;
        }
    }
    assert_eq!(active, 1);
    assert_eq!(
        s.find_refresh("rt-b").await.unwrap().unwrap().status,
        RefreshStatus::Active,
        "the first successor stays"
    );
    s.revoke_grant("g1", T0 + 20).await.unwrap();
    s.insert_grant(grant("g2", "user-1", "client-a", T0))
        .await
        .unwrap();
    let revoked = s
        .retry_rotated_refresh("rt-a", refresh("rt-after-revoke", "g1", T0 + 20), T0 - 20)
        .await
        .unwrap();
    assert!(matches!(revoked, RotateOutcome::Reused(_)), "{revoked:?}");
    assert!(s.find_refresh("rt-after-revoke").await.unwrap().is_none());
}

pub async fn rt_7_expired_refresh_is_expired(s: Arc<dyn Store>) {
    s.insert_grant(grant("g1", "user-1", "client-a", T0))
        .await
        .unwrap();
    s.insert_refresh(refresh("rt-idle", "g1", T0))
        .await
        .unwrap();
    assert_eq!(
        s.rotate_refresh("rt-idle", refresh("n1", "g1", T0), T0 + 3_600)
            .await
            .unwrap(),
        RotateOutcome::Expired
    );
    let mut abs = refresh("rt-abs", "g1", T0);
    abs.expires_at = T0 + 10_000;
    abs.absolute_expires_at = T0 + 100;
    s.insert_refresh(abs).await.unwrap();
    assert_eq!(
        s.rotate_refresh("rt-abs", refresh("n2", "g1", T0), T0 + 100)
            .await
            .unwrap(),
        RotateOutcome::Expired
    );
    assert!(s.find_refresh("n1").await.unwrap().is_none());
    assert!(s.find_refresh("n2").await.unwrap().is_none());
}

pub async fn refresh_requires_live_grant(s: Arc<dyn Store>) {
    let err = s
        .insert_refresh(refresh("rt", "missing", T0))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    s.insert_grant(grant("g1", "user-1", "client-a", T0))
        .await
        .unwrap();
    let dup = s
        .insert_grant(grant("g1", "user-1", "client-a", T0))
        .await
        .unwrap_err();
    assert!(matches!(dup, StoreError::Conflict(_)), "{dup:?}");
    s.insert_refresh(refresh("rt", "g1", T0)).await.unwrap();
    let dup = s.insert_refresh(refresh("rt", "g1", T0)).await.unwrap_err();
    assert!(matches!(dup, StoreError::Conflict(_)), "{dup:?}");
    assert!(s.revoke_grant("g1", T0 + 1).await.unwrap());
    let err = s
        .insert_refresh(refresh("rt2", "g1", T0))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::GrantRevoked), "{err:?}");
    let err = s
        .record_access_token("late-jti", "missing", T0 + 60)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

pub async fn rotate_after_grant_revocation_is_reused(s: Arc<dyn Store>) {
    s.insert_grant(grant("g1", "user-1", "client-a", T0))
        .await
        .unwrap();
    s.insert_refresh(refresh("rt", "g1", T0)).await.unwrap();
    s.revoke_grant("g1", T0 + 1).await.unwrap();
    assert!(matches!(
        s.rotate_refresh("rt", refresh("rt2", "g1", T0 + 2), T0 + 2)
            .await
            .unwrap(),
        RotateOutcome::Reused(_)
    ));
    assert!(s.find_refresh("rt2").await.unwrap().is_none());
}

pub async fn revoke_refresh_only_that_token(s: Arc<dyn Store>) {
    s.insert_grant(grant("g1", "user-1", "client-a", T0))
        .await
        .unwrap();
    s.insert_refresh(refresh("rt1", "g1", T0)).await.unwrap();
    s.insert_refresh(refresh("rt2", "g1", T0)).await.unwrap();
    assert!(s.revoke_refresh("rt1").await.unwrap());
    assert!(!s.revoke_refresh("rt1").await.unwrap(), "already revoked");
    assert!(!s.revoke_refresh("missing").await.unwrap());
    assert_eq!(
        s.find_refresh("rt1").await.unwrap().unwrap().status,
        RefreshStatus::Revoked
    );
    assert_eq!(
        s.find_refresh("rt2").await.unwrap().unwrap().status,
        RefreshStatus::Active
    );
    assert!(matches!(
        s.rotate_refresh("rt1", refresh("rt3", "g1", T0 + 1), T0 + 1)
            .await
            .unwrap(),
        RotateOutcome::Reused(_)
    ));
    assert!(
        s.get_grant("g1")
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );
}

pub async fn code_2_revoke_grant_cascades(s: Arc<dyn Store>) {
    s.insert_grant(grant("g1", "user-1", "client-a", T0))
        .await
        .unwrap();
    s.insert_grant(grant("g2", "user-1", "client-a", T0))
        .await
        .unwrap();
    s.insert_refresh(refresh("rt1", "g1", T0)).await.unwrap();
    s.insert_refresh(refresh("rt-other", "g2", T0))
        .await
        .unwrap();
    s.record_access_token("jti-1", "g1", T0 + 300)
        .await
        .unwrap();
    s.record_access_token("jti-2", "g1", T0 + 900)
        .await
        .unwrap();
    s.record_access_token("jti-other", "g2", T0 + 300)
        .await
        .unwrap();
    assert!(!s.is_jti_revoked("jti-1", T0).await.unwrap());
    assert_eq!(
        s.list_grant_access_tokens("g1").await.unwrap(),
        vec![
            ("jti-1".to_owned(), T0 + 300),
            ("jti-2".to_owned(), T0 + 900)
        ]
    );
    assert!(
        s.list_grant_access_tokens("missing")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.access_token_grant("jti-2").await.unwrap().as_deref(),
        Some("g1")
    );
    assert_eq!(
        s.access_token_grant("jti-other").await.unwrap().as_deref(),
        Some("g2")
    );
    assert_eq!(s.access_token_grant("jti-unknown").await.unwrap(), None);

    assert!(s.revoke_grant("g1", T0 + 10).await.unwrap());
    assert!(!s.revoke_grant("g1", T0 + 20).await.unwrap(), "idempotent");
    assert!(!s.revoke_grant("missing", T0).await.unwrap());

    assert_eq!(
        s.get_grant("g1").await.unwrap().unwrap().revoked_at,
        Some(T0 + 10)
    );
    assert_eq!(
        s.find_refresh("rt1").await.unwrap().unwrap().status,
        RefreshStatus::Revoked
    );
    assert!(s.is_jti_revoked("jti-1", T0 + 299).await.unwrap());
    assert!(
        !s.is_jti_revoked("jti-1", T0 + 300).await.unwrap(),
        "denylisted until its exp"
    );
    assert!(s.is_jti_revoked("jti-2", T0 + 899).await.unwrap());
    // The other grant is untouched.
    assert!(
        s.get_grant("g2")
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );
    assert_eq!(
        s.find_refresh("rt-other").await.unwrap().unwrap().status,
        RefreshStatus::Active
    );
    assert!(!s.is_jti_revoked("jti-other", T0).await.unwrap());
    // A token minted from the revoked grant afterwards is refused and denylisted.
    let err = s
        .record_access_token("jti-late", "g1", T0 + 500)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::GrantRevoked), "{err:?}");
    assert!(s.is_jti_revoked("jti-late", T0 + 20).await.unwrap());
    let grants = s.list_grants("user-1").await.unwrap();
    assert_eq!(grants.len(), 2);
    assert!(s.list_grants("nobody").await.unwrap().is_empty());
}

pub async fn tok_10_jti_denylist_honours_expiry(s: Arc<dyn Store>) {
    assert!(!s.is_jti_revoked("j", T0).await.unwrap());
    s.revoke_jti("j", T0 + 100).await.unwrap();
    assert!(s.is_jti_revoked("j", T0 + 99).await.unwrap());
    assert!(!s.is_jti_revoked("j", T0 + 100).await.unwrap());
    // The later expiry wins; an earlier one never shortens the entry.
    s.revoke_jti("j", T0 + 200).await.unwrap();
    s.revoke_jti("j", T0 + 50).await.unwrap();
    assert!(s.is_jti_revoked("j", T0 + 150).await.unwrap());
}

pub async fn code_8_replay_namespaces_are_separate(s: Arc<dyn Store>) {
    let ns = namespace::CLIENT_ASSERTION;
    assert!(s.insert_jti_if_absent(ns, "k1", T0 + 60).await.unwrap());
    assert!(
        !s.insert_jti_if_absent(ns, "k1", T0 + 60).await.unwrap(),
        "replay"
    );
    assert!(
        s.insert_jti_if_absent(namespace::DPOP_PROOF, "k1", T0 + 60)
            .await
            .unwrap()
    );
    assert!(s.insert_jti_if_absent(ns, "k2", T0 + 60).await.unwrap());
}

pub async fn dur_3_concurrent_replay_insert_exactly_one(s: Arc<dyn Store>) {
    let barrier = Arc::new(Barrier::new(32));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (s, barrier) = (s.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            s.insert_jti_if_absent(namespace::CLIENT_ASSERTION, "same", T0 + 60)
                .await
        }));
    }
    let mut firsts = 0;
    for t in tasks {
        if t.await.unwrap().unwrap() {
            firsts += 1;
        }
    }
    assert_eq!(firsts, 1);
}

pub async fn dur_4_gc_keeps_rotated_tokens_of_live_family(s: Arc<dyn Store>) {
    const DAY: i64 = 86_400;
    let long = |hash: &str, at: i64| {
        let mut r = refresh(hash, "g1", at);
        r.absolute_expires_at = T0 + 3 * DAY;
        r
    };
    s.insert_grant(grant("g1", "user-1", "client-a", T0))
        .await
        .unwrap();
    s.insert_refresh(long("rt-a", T0)).await.unwrap();
    assert!(matches!(
        s.rotate_refresh("rt-a", long("rt-b", T0 + 10), T0 + 10)
            .await
            .unwrap(),
        RotateOutcome::Rotated(_)
    ));
    // Past rt-a's own expiry and past the grant retention, but inside the family's absolute
    // lifetime: GC must keep rt-a (and the grant) so its replay is still detected.
    let later = T0 + 2 * DAY;
    assert!(later > T0 + GRANT_RETENTION_SECS);
    s.gc(later).await.unwrap();
    assert!(matches!(
        s.rotate_refresh("rt-a", refresh("rt-c", "g1", later), later)
            .await
            .unwrap(),
        RotateOutcome::Reused(_)
    ));
    assert!(s.get_grant("g1").await.unwrap().is_some());
    // After the family's absolute expiry everything of it may go.
    let end = T0 + 3 * DAY;
    assert!(s.gc(end).await.unwrap().deleted >= 2);
    assert!(s.find_refresh("rt-a").await.unwrap().is_none());
    assert!(s.find_refresh("rt-b").await.unwrap().is_none());
    assert!(s.get_grant("g1").await.unwrap().is_none());
}

pub async fn gc_removes_only_dead_state(s: Arc<dyn Store>) {
    s.insert_code(code("c-old", "g1", T0 + 60)).await.unwrap();
    s.insert_grant(grant("g-live", "user-1", "client-a", T0))
        .await
        .unwrap();
    let mut live = refresh("rt-live", "g-live", T0);
    live.absolute_expires_at = T0 + 10 * 86_400;
    s.insert_refresh(live).await.unwrap();
    s.insert_grant(grant("g-dead", "user-1", "client-a", T0))
        .await
        .unwrap();
    s.record_access_token("jti-dead", "g-dead", T0 + 300)
        .await
        .unwrap();
    s.revoke_jti("jti-x", T0 + 300).await.unwrap();
    assert!(s.insert_jti_if_absent("ns", "k", T0 + 300).await.unwrap());

    s.gc(T0 + 400).await.unwrap();
    // A consumed-or-not code is kept for its retention window after expiry.
    assert_eq!(
        s.consume_code("c-old", T0 + 400).await.unwrap(),
        ConsumeOutcome::Expired
    );
    // Expired replay entries are gone, so the key may be recorded again.
    assert!(s.insert_jti_if_absent("ns", "k", T0 + 900).await.unwrap());
    assert!(!s.is_jti_revoked("jti-x", T0 + 400).await.unwrap());

    let late = T0 + 60 + CODE_RETENTION_SECS;
    s.gc(late).await.unwrap();
    assert_eq!(
        s.consume_code("c-old", late).await.unwrap(),
        ConsumeOutcome::NotFound
    );
    assert!(
        s.get_grant("g-dead").await.unwrap().is_none(),
        "nothing hangs off it"
    );
    assert!(
        s.get_grant("g-live").await.unwrap().is_some(),
        "its family is still live"
    );
    assert!(s.find_refresh("rt-live").await.unwrap().is_some());
}

pub async fn rt_3_revocation_racing_rotation_leaves_nothing_active(s: Arc<dyn Store>) {
    s.insert_grant(grant("g1", "user-1", "client-a", T0))
        .await
        .unwrap();
    s.insert_refresh(refresh("rt0", "g1", T0)).await.unwrap();
    let barrier = Arc::new(Barrier::new(17));
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (s, barrier) = (s.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let new = refresh(&format!("rt-succ-{i}"), "g1", T0 + 1);
            s.rotate_refresh("rt0", new, T0 + 1).await.map(|_| ())
        }));
    }
    let (s2, b2) = (s.clone(), barrier.clone());
    tasks.push(tokio::spawn(async move {
        b2.wait().await;
        s2.revoke_grant("g1", T0 + 1).await.map(|_| ())
    }));
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert!(
        s.get_grant("g1")
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    for hash in std::iter::once("rt0".to_owned()).chain((0..16).map(|i| format!("rt-succ-{i}"))) {
        if let Some(rt) = s.find_refresh(&hash).await.unwrap() {
            assert_ne!(
                rt.status,
                RefreshStatus::Active,
                "{hash} survived revocation"
            );
        }
    }
}

pub async fn code_2_revocation_racing_token_recording_denylists_all(s: Arc<dyn Store>) {
    s.insert_grant(grant("g1", "user-1", "client-a", T0))
        .await
        .unwrap();
    let barrier = Arc::new(Barrier::new(17));
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (s, barrier) = (s.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            match s
                .record_access_token(&format!("jti-{i}"), "g1", T0 + 600)
                .await
            {
                Ok(()) | Err(StoreError::GrantRevoked) => Ok(()),
                Err(e) => Err(e),
            }
        }));
    }
    let (s2, b2) = (s.clone(), barrier.clone());
    tasks.push(tokio::spawn(async move {
        b2.wait().await;
        s2.revoke_grant("g1", T0 + 1).await.map(|_| ())
    }));
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    for i in 0..16 {
        assert!(
            s.is_jti_revoked(&format!("jti-{i}"), T0 + 2).await.unwrap(),
            "jti-{i} of the revoked grant is not denylisted"
        );
    }
}

pub async fn code_8_codes_and_refresh_tokens_never_cross(s: Arc<dyn Store>) {
    s.insert_grant(grant("g1", "user-1", "client-a", T0))
        .await
        .unwrap();
    s.insert_refresh(refresh("shared-hash-rt", "g1", T0))
        .await
        .unwrap();
    s.insert_code(code("shared-hash-code", "g1", T0 + 60))
        .await
        .unwrap();
    s.put_artifact(
        namespace::PAR_REQUEST_URI,
        "shared-hash-par",
        "{}",
        T0 + 60,
        T0,
    )
    .await
    .unwrap();
    for not_a_code in ["shared-hash-rt", "shared-hash-par"] {
        assert_eq!(
            s.consume_code(not_a_code, T0).await.unwrap(),
            ConsumeOutcome::NotFound
        );
    }
    for not_a_refresh in ["shared-hash-code", "shared-hash-par"] {
        assert_eq!(
            s.rotate_refresh(not_a_refresh, refresh("n", "g1", T0), T0)
                .await
                .unwrap(),
            RotateOutcome::NotFound
        );
    }
    assert!(matches!(
        s.consume_code("shared-hash-code", T0).await.unwrap(),
        ConsumeOutcome::Consumed(_)
    ));
}

fn jti_entry(jti: &str, keep_until: i64) -> MirrorEntry {
    MirrorEntry::Jti {
        jti: jti.into(),
        keep_until,
    }
}

fn subject_entry(sub: &str, not_before: i64, keep_until: i64) -> MirrorEntry {
    MirrorEntry::Subject {
        sub: sub.into(),
        not_before,
        keep_until,
    }
}

/// What the denylist mirror must hold is every unexpired revoked `jti` and subject marker, read
/// in pages in order (jtis first, then subjects); a marker never moves back; gc drops the
/// expired ones.
pub async fn mirror_live_entries_page_in_order_and_markers_only_move_forward(s: Arc<dyn Store>) {
    for (jti, exp) in [("j-b", T0 + 100), ("j-a", T0 + 100), ("j-old", T0 - 1)] {
        s.revoke_jti(jti, exp).await.unwrap();
    }
    s.record_subject_marker("u-2", T0, T0 + 500).await.unwrap();
    s.record_subject_marker("u-1", T0 + 10, T0 + 500)
        .await
        .unwrap();
    s.record_subject_marker("u-1", T0 + 5, T0 + 400)
        .await
        .unwrap();
    s.record_subject_marker("u-gone", T0 - 100, T0 - 1)
        .await
        .unwrap();

    let first = s.live_mirror_entries(T0, None, 3).await.unwrap();
    assert_eq!(
        first,
        [
            jti_entry("j-a", T0 + 100),
            jti_entry("j-b", T0 + 100),
            subject_entry("u-1", T0 + 10, T0 + 500),
        ]
    );
    let rest = s.live_mirror_entries(T0, first.last(), 3).await.unwrap();
    assert_eq!(rest, [subject_entry("u-2", T0, T0 + 500)]);
    assert!(
        s.live_mirror_entries(T0, rest.last(), 3)
            .await
            .unwrap()
            .is_empty()
    );
    let after_first_jti = s.live_mirror_entries(T0, first.first(), 1).await.unwrap();
    assert_eq!(after_first_jti, [jti_entry("j-b", T0 + 100)]);

    s.gc(T0).await.unwrap();
    let all = s.live_mirror_entries(T0 - 1_000, None, 100).await.unwrap();
    assert!(all.iter().all(|e| e.keep_until() > T0), "{all:?}");
}

/// Entries queued for the mirror come back oldest first, in bounded pages, until delivered.
pub async fn mirror_queue_is_first_in_first_out_until_delivered(s: Arc<dyn Store>) {
    assert!(s.queued_mirror(10).await.unwrap().is_empty());
    s.queue_mirror(&[jti_entry("j-1", T0 + 60), subject_entry("u-1", T0, T0 + 60)])
        .await
        .unwrap();
    s.queue_mirror(&[jti_entry("j-2", T0 + 60)]).await.unwrap();
    let page = s.queued_mirror(2).await.unwrap();
    assert_eq!(
        page.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>(),
        [jti_entry("j-1", T0 + 60), subject_entry("u-1", T0, T0 + 60)]
    );
    let ids: Vec<i64> = page.iter().map(|(id, _)| *id).collect();
    s.dequeue_mirror(&ids).await.unwrap();
    let rest = s.queued_mirror(10).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].1, jti_entry("j-2", T0 + 60));
    s.gc(T0 + 61).await.unwrap();
    assert!(
        s.queued_mirror(10).await.unwrap().is_empty(),
        "expired entries are dropped"
    );
}
