//! Client secret rotation with an overlap: the new secret works at once, the replaced one only
//! until the overlap ends (checked against the clock at every authentication, never after),
//! and clients without a secret cannot rotate one.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use crate::common;

use common::*;
use portcullis_server::admin::{self, AdminError};

/// The status and `error` of a client-credentials request by `svc` with `secret`.
async fn svc_token(h: &Harness, secret: &str) -> (u16, Option<String>) {
    let resp = send(
        &h.router,
        form_with(
            "/token",
            "grant_type=client_credentials&scope=orders%3Aread",
            &[("authorization", &basic("svc", secret))],
        ),
    )
    .await;
    let status = resp.status().as_u16();
    let body = body_json(resp).await;
    (status, body["error"].as_str().map(str::to_owned))
}

async fn rotate(
    h: &Harness,
    client: &str,
    overlap_secs: u64,
) -> Result<admin::RotatedSecret, AdminError> {
    admin::rotate_client_secret(
        h.store.as_ref(),
        h.clock.as_ref(),
        h.server.config(),
        client,
        Duration::from_secs(overlap_secs),
    )
    .await
}

#[tokio::test]
async fn tok_5_a_rotated_secret_is_accepted_during_the_overlap_and_never_after() {
    let h = harness().await;
    let rotated = rotate(&h, "svc", 3_600).await.unwrap();
    let new = rotated.client_secret.secret().to_owned();
    assert_eq!(rotated.previous_secret_expires_at, Some(START + 3_600));
    assert_eq!(svc_token(&h, &new).await, (200, None));
    assert_eq!(svc_token(&h, SVC_SECRET).await, (200, None));
    h.clock.advance(3_599);
    assert_eq!(svc_token(&h, SVC_SECRET).await, (200, None));
    h.clock.advance(1);
    assert_eq!(
        svc_token(&h, SVC_SECRET).await,
        (401, Some("invalid_client".to_owned()))
    );
    assert_eq!(svc_token(&h, &new).await, (200, None));
    // The record keeps showing the past overlap, but its end is what counts.
    let stored = h.store.get_client("svc").await.unwrap().unwrap();
    assert_eq!(
        stored.previous_secret.as_ref().map(|p| p.expires_at),
        Some(START + 3_600)
    );
}

#[tokio::test]
async fn tok_5_without_an_overlap_the_old_secret_stops_at_once() {
    let h = harness().await;
    let first = rotate(&h, "svc", 600).await.unwrap();
    let first = first.client_secret.secret().to_owned();
    let second = rotate(&h, "svc", 0).await.unwrap();
    assert_eq!(second.previous_secret_expires_at, None);
    let second = second.client_secret.secret().to_owned();
    assert_eq!(svc_token(&h, &second).await, (200, None));
    // Neither the secret just replaced nor the one the first rotation kept is accepted.
    for old in [first.as_str(), SVC_SECRET] {
        assert_eq!(
            svc_token(&h, old).await,
            (401, Some("invalid_client".to_owned())),
            "{old}"
        );
    }
}

#[tokio::test]
async fn tok_10_a_rotated_secret_is_random_and_stored_only_as_a_digest() {
    let h = harness().await;
    let a = rotate(&h, "svc", 60).await.unwrap();
    let b = rotate(&h, "svc", 60).await.unwrap();
    let (a, b) = (a.client_secret.secret(), b.client_secret.secret());
    assert_ne!(a, b);
    // 256 bits, base64url without padding.
    assert_eq!(a.len(), 43);
    let stored = h.store.get_client("svc").await.unwrap().unwrap();
    let doc = serde_json::to_string(&stored).unwrap();
    assert!(!doc.contains(a) && !doc.contains(b), "{doc}");
    assert!(!format!("{stored:?}").contains(&stored.previous_secret.as_ref().unwrap().hash));
}

#[tokio::test]
async fn clients_without_a_secret_or_unknown_cannot_rotate_and_overlaps_are_bounded() {
    let h = harness().await;
    let err = rotate(&h, "spa", 0).await.unwrap_err();
    assert!(
        matches!(&err, AdminError::Invalid(e) if e.setting == "client"),
        "{err:?}"
    );
    assert!(err.to_string().contains("no secret to rotate"), "{err}");
    let err = rotate(&h, "nobody", 0).await.unwrap_err();
    assert!(matches!(err, AdminError::UnknownClient(_)), "{err:?}");
    let err = rotate(&h, "svc", 30 * 86_400 + 1).await.unwrap_err();
    assert!(
        matches!(&err, AdminError::Invalid(e) if e.setting == "overlap"),
        "{err:?}"
    );
    // Nothing changed: the registered secret still works.
    assert_eq!(svc_token(&h, SVC_SECRET).await, (200, None));
    assert!(rotate(&h, "svc", 30 * 86_400).await.is_ok());
}
