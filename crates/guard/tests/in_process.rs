//! Keys and revocations handed over in-process (`GuardBuilder::key_provider`,
//! `Revocation::Provided`): a key the provider starts to hold is trusted from its next
//! generation on, a key it drops is refused, and a revocation check refuses or fails closed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use futures_util::future::BoxFuture;
use http::StatusCode;
use portcullis_guard::jose::{Algorithm, KeySet, SigningKey, jwt};
use portcullis_guard::{
    AccessClaims, Guard, KeyProvider, ProvidedKeys, Revocation, RevocationProvider,
};
use std::sync::{Arc, Mutex};

/// A provider whose keys the test swaps, with a new generation each time.
struct Swappable(Mutex<ProvidedKeys>);

impl Swappable {
    fn new(keys: KeySet) -> Arc<Self> {
        Arc::new(Self(Mutex::new(ProvidedKeys {
            keys: Arc::new(keys),
            generation: 1,
        })))
    }

    fn replace(&self, keys: KeySet) {
        let mut current = self.0.lock().unwrap();
        current.generation += 1;
        current.keys = Arc::new(keys);
    }
}

impl KeyProvider for Swappable {
    fn keys(&self) -> BoxFuture<'_, ProvidedKeys> {
        let keys = self.0.lock().unwrap().clone();
        Box::pin(async move { keys })
    }
}

#[tokio::test]
async fn provided_keys_follow_the_providers_generations() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let provider = Swappable::new(issuer.keys());
    let guard = issuer
        .builder()
        .key_provider(provider.clone())
        .build()
        .unwrap();
    let status = |token: String| {
        let guard = guard.clone();
        async move {
            send(app(&guard), get_with("/me", Some(&bearer(&token))))
                .await
                .status
        }
    };
    assert_eq!(status(issuer.token()).await, StatusCode::OK);

    // A token of a key the provider does not hold yet is refused ...
    let next = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("k2");
    let by_next = jwt::encode(&next, "at+jwt", &issuer.claims()).unwrap();
    assert_eq!(status(by_next.clone()).await, StatusCode::UNAUTHORIZED);

    // ... and accepted once it does: the unknown kid asks the provider again.
    let mut both = issuer.keys();
    both.insert(next.verifying_key()).unwrap();
    provider.replace(both);
    assert_eq!(status(by_next.clone()).await, StatusCode::OK);

    // A key the provider drops is refused at once.
    let mut only_next = KeySet::new();
    only_next.insert(next.verifying_key()).unwrap();
    provider.replace(only_next);
    assert_eq!(status(issuer.token()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(by_next).await, StatusCode::OK);
}

/// A revocation check that refuses one `jti`, or cannot answer at all.
#[derive(Debug)]
struct Refuses(Option<&'static str>);

impl RevocationProvider for Refuses {
    fn is_revoked<'a>(&'a self, claims: &'a AccessClaims) -> BoxFuture<'a, Result<bool, String>> {
        let answer = match self.0 {
            Some(jti) => Ok(claims.jti() == Some(jti)),
            None => Err("store unreachable".to_owned()),
        };
        Box::pin(async move { answer })
    }
}

#[tokio::test]
async fn a_provided_revocation_check_refuses_and_fails_closed() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let guard = |check: Refuses| {
        issuer
            .builder()
            .revocation(Revocation::Provided(Arc::new(check)))
            .build()
            .unwrap()
    };
    let me = |guard: Guard, token: String| async move {
        send(app(&guard), get_with("/me", Some(&bearer(&token)))).await
    };
    let mut other = issuer.claims();
    other["jti"] = "jti-2".into();
    let refusing = guard(Refuses(Some("jti-1")));
    let reply = me(refusing.clone(), issuer.token()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.json()["error"], "invalid_token");
    assert_eq!(
        me(refusing, issuer.sign(&other)).await.status,
        StatusCode::OK
    );
    let unreachable = me(guard(Refuses(None)), issuer.token()).await;
    assert_eq!(unreachable.status, StatusCode::SERVICE_UNAVAILABLE);
}
