//! Self-service accounts: sign-up ([`registration`]), e-mail verification ([`verification`])
//! and the password reset by mail ([`reset`]).
//!
//! The mailed links carry a single-use token: 256 random bits, kept in the store only as its
//! SHA-256 digest, in a namespace of its own, until its short lifetime ends; redeeming it is
//! one atomic take ([`crate::store::ArtifactStore::take_artifact`]), so a link works once.
//! Mail is queued for the background sender and never waited for. No answer tells whether an
//! address has an account: requests about an address do the same work (the same store writes,
//! the same throttle counts) whether or not it has one, and mail is sent off the request path.
//! Sign-ups and reset requests are throttled per client address, and mail per recipient.

use std::net::IpAddr;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::ProtocolError;
use super::secrets::{random_token, secret_hash};
use crate::state::AppState;

mod letters;
pub(crate) mod registration;
pub(crate) mod reset;
pub(crate) mod verification;

/// Length of a link token (32 random bytes, base64url without padding).
const TOKEN_LEN: usize = 43;

/// Whether `token` has the shape of a link token; anything else is refused before the store.
fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Stores `payload` under a fresh token in `namespace` for `ttl` seconds and returns the token.
async fn issue<T: Serialize>(
    state: &AppState,
    namespace: &str,
    payload: &T,
    ttl: i64,
) -> Result<String, ProtocolError> {
    let token = random_token()?;
    let text =
        serde_json::to_string(payload).map_err(|e| ProtocolError::internal("link payload", &e))?;
    let now = state.now();
    state
        .store
        .put_artifact(
            namespace,
            &secret_hash(&token),
            &text,
            now.saturating_add(ttl),
            now,
        )
        .await?;
    Ok(token)
}

/// The payload of an unexpired token, without using it up.
async fn peek<T: DeserializeOwned>(
    state: &AppState,
    namespace: &str,
    token: &str,
) -> Result<Option<T>, ProtocolError> {
    read(state, namespace, token, false).await
}

/// Uses up an unexpired token: of concurrent callers exactly one gets its payload.
async fn redeem<T: DeserializeOwned>(
    state: &AppState,
    namespace: &str,
    token: &str,
) -> Result<Option<T>, ProtocolError> {
    read(state, namespace, token, true).await
}

/// Reads a token's payload, using the token up when `take`.
async fn read<T: DeserializeOwned>(
    state: &AppState,
    namespace: &str,
    token: &str,
    take: bool,
) -> Result<Option<T>, ProtocolError> {
    if !well_formed(token) {
        return Ok(None);
    }
    let (key, now) = (secret_hash(token), state.now());
    let text = if take {
        state.store.take_artifact(namespace, &key, now).await?
    } else {
        state.store.get_artifact(namespace, &key, now).await?
    };
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

/// The throttle key of sign-ups and reset requests from a client address.
fn address_key(addr: IpAddr) -> String {
    format!("self-service:addr:{addr}")
}

/// The throttle key of mail to an address.
fn recipient_key(email: &str) -> String {
    format!("self-service:mail:{}", email.to_ascii_lowercase())
}

/// Counts one request against `key`; `Some(seconds to wait)` when it is over the limit.
async fn over_limit(state: &AppState, key: &str) -> Result<Option<i64>, ProtocolError> {
    let limits = state.config.self_service.throttle;
    let count = state
        .store
        .register_attempt(key, state.now(), limits.window_secs)
        .await?;
    Ok((count > limits.max_failures).then_some(limits.window_secs))
}

/// Counts one request from `addr` (when known); `Some(seconds to wait)` when over the limit.
async fn address_over_limit(
    state: &AppState,
    addr: Option<IpAddr>,
) -> Result<Option<i64>, ProtocolError> {
    match addr {
        Some(a) => over_limit(state, &address_key(a)).await,
        None => Ok(None),
    }
}

/// Whether `email` looks like an address mail can be sent to (the relay decides the rest).
pub(crate) fn plausible_email(email: &str) -> bool {
    email.len() <= 254 && email.parse::<lettre::Address>().is_ok()
}

/// The absolute URL of one of the server's pages with a link token in its query.
fn link(state: &AppState, path: &str, token: &str) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("token", token);
    format!("{}?{}", state.config.endpoint(path), q.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_token_shaped_input_reaches_the_store() {
        let token = random_token().unwrap();
        assert!(well_formed(&token));
        assert!(!well_formed(&token[1..]));
        assert!(!well_formed(&format!("{}=", &token[1..])));
        assert!(!well_formed(""));
        assert!(!well_formed(&"a".repeat(10_000)));
    }

    #[test]
    fn recipient_keys_ignore_case() {
        assert_eq!(
            recipient_key("Ada@Example.com"),
            recipient_key("ada@example.COM")
        );
    }
}
