//! The device authorization grant (RFC 8628) without HTTP: device and user codes, the state a
//! device code moves through (pending, then approved or denied), and the user's decision.
//!
//! Both codes live in the store's single-use artifacts, keyed by their SHA-256 digest:
//! * `device_code` → [`DeviceGrant`] (JSON), kept [`EXPIRED_RETENTION_FACTOR`] lifetimes so a late
//!   poll is told `expired_token` rather than "unknown";
//! * `user_code` → [`UserCodeEntry`] (JSON), until the codes expire; taken (deleted) by the
//!   user's decision so a user code is decided once.
//!
//! Every state change is a compare-and-swap on the stored text ([`Store::swap_artifact`]) or a
//! take ([`Store::take_artifact`]), never a read-check-write.
//!
//! [`Store::swap_artifact`]: crate::store::ArtifactStore::swap_artifact
//! [`Store::take_artifact`]: crate::store::ArtifactStore::take_artifact

mod authorization;
mod user_code;
mod verification;

pub(crate) use authorization::authorize;
pub(crate) use verification::{Decision, UserCodeError, decide, lookup};

use portcullis_types::Scope;
use serde::{Deserialize, Serialize};

use super::error::ProtocolError;
use crate::state::AppState;
use crate::store::namespace;

/// Seconds added to the polling interval on every `slow_down` (RFC 8628 §3.5).
pub(crate) const SLOW_DOWN_STEP: i64 = 5;

/// A device code is remembered this many lifetimes in total so late polls get `expired_token`.
pub(crate) const EXPIRED_RETENTION_FACTOR: i64 = 2;

/// Attempts of a compare-and-swap loop before giving up (only concurrent writers make it retry).
const CAS_ATTEMPTS: usize = 4;

/// Where the device code stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub(crate) enum DeviceStatus {
    /// Waiting for the user.
    Pending,
    /// The user approved; the next poll redeems the code.
    Approved {
        /// The user who approved.
        user_id: String,
        /// When that user authenticated.
        auth_time: i64,
    },
    /// The user denied.
    Denied,
}

/// The stored state of one device code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeviceGrant {
    /// The client that asked.
    pub client_id: portcullis_types::ClientId,
    /// The scope it asked for (already within the client's allowed scope).
    pub scope: Scope,
    /// When both codes expire, Unix seconds.
    pub expires_at: i64,
    /// Current minimum seconds between polls (grows with `slow_down`).
    pub interval: i64,
    /// Time of the last poll.
    #[serde(default)]
    pub last_poll: Option<i64>,
    /// Where it stands.
    pub status: DeviceStatus,
}

/// The stored entry of one user code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UserCodeEntry {
    /// Digest of the device code it belongs to.
    pub device_code_hash: String,
    /// The client that asked.
    pub client_id: portcullis_types::ClientId,
    /// The scope it asked for.
    pub scope: Scope,
    /// When it expires, Unix seconds.
    pub expires_at: i64,
}

fn to_json<T: Serialize>(value: &T) -> Result<String, ProtocolError> {
    serde_json::to_string(value).map_err(|e| ProtocolError::internal("device json", &e))
}

fn from_json<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, ProtocolError> {
    serde_json::from_str(text).map_err(|e| ProtocolError::internal("device json", &e))
}

/// Reads the device state stored under `device_code_hash` together with its exact stored text
/// (the compare value of a later swap).
pub(crate) async fn load_grant(
    state: &AppState,
    device_code_hash: &str,
    now: i64,
) -> Result<Option<(String, DeviceGrant)>, ProtocolError> {
    match state
        .store
        .get_artifact(namespace::DEVICE_CODE, device_code_hash, now)
        .await?
    {
        Some(text) => {
            let grant = from_json(&text)?;
            Ok(Some((text, grant)))
        }
        None => Ok(None),
    }
}

/// Replaces the stored state `expected_text` with `next`; `false` if someone changed it first.
pub(crate) async fn swap_grant(
    state: &AppState,
    device_code_hash: &str,
    expected_text: &str,
    next: &DeviceGrant,
    now: i64,
) -> Result<bool, ProtocolError> {
    Ok(state
        .store
        .swap_artifact(
            namespace::DEVICE_CODE,
            device_code_hash,
            expected_text,
            &to_json(next)?,
            now,
        )
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_state_round_trips_as_json() {
        let grant = DeviceGrant {
            client_id: "tv".into(),
            scope: Scope::parse("openid").unwrap(),
            expires_at: 10,
            interval: 5,
            last_poll: Some(3),
            status: DeviceStatus::Approved {
                user_id: "u".into(),
                auth_time: 2,
            },
        };
        let text = to_json(&grant).unwrap();
        assert!(text.contains("\"status\":\"approved\""));
        assert_eq!(from_json::<DeviceGrant>(&text).unwrap(), grant);
    }
}
