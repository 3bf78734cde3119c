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

use std::net::IpAddr;

use portcullis_types::token::DeviceAuthorizationResponse;
use portcullis_types::{ErrorCode, GrantType, Scope};
use serde::{Deserialize, Serialize};

use super::consent;
use super::error::ProtocolError;
use super::grants::requested_scope;
use super::secrets::{random_token, secret_hash};
use crate::state::AppState;
use crate::store::{ClientRecord, StoreError, namespace};

/// Characters of a user code: digits and capital letters without the look-alikes `0`/`O` and
/// `1`/`I` (32 symbols, so one random byte maps to one symbol without bias).
pub const USER_CODE_ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// Symbols in a user code (40 bits), shown as two groups of four: `WDJB-MJHT`.
pub const USER_CODE_LEN: usize = 8;

/// Seconds added to the polling interval on every `slow_down` (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: i64 = 5;

/// A device code is remembered this many lifetimes in total so late polls get `expired_token`.
pub const EXPIRED_RETENTION_FACTOR: i64 = 2;

/// Attempts of a compare-and-swap loop before giving up (only concurrent writers make it retry).
const CAS_ATTEMPTS: usize = 4;

/// Where the device code stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum DeviceStatus {
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
pub struct DeviceGrant {
    /// The client that asked.
    pub client_id: String,
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
pub struct UserCodeEntry {
    /// Digest of the device code it belongs to.
    pub device_code_hash: String,
    /// The client that asked.
    pub client_id: String,
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

/// A fresh user code in its display form, `XXXX-XXXX`.
pub fn generate_user_code() -> Result<String, ProtocolError> {
    let mut bytes = [0u8; USER_CODE_LEN];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| ProtocolError::internal("rng", &"random generator failed"))?;
    let mut out = String::with_capacity(USER_CODE_LEN + 1);
    for (i, b) in bytes.iter().enumerate() {
        if i == USER_CODE_LEN / 2 {
            out.push('-');
        }
        let symbol = USER_CODE_ALPHABET
            .get(usize::from(*b) % USER_CODE_ALPHABET.len())
            .copied()
            .unwrap_or(b'X');
        out.push(char::from(symbol));
    }
    Ok(out)
}

/// The canonical form of what a user typed: case-insensitive, dashes and spaces ignored.
/// `None` when it cannot be a user code (wrong length or a symbol outside the alphabet).
pub fn normalize_user_code(input: &str) -> Option<String> {
    let mut out = String::with_capacity(USER_CODE_LEN);
    for c in input.chars() {
        if c == '-' || c.is_whitespace() {
            continue;
        }
        let upper = c.to_ascii_uppercase();
        if !upper.is_ascii() || !USER_CODE_ALPHABET.contains(&(upper as u8)) {
            return None;
        }
        if out.len() == USER_CODE_LEN {
            return None;
        }
        out.push(upper);
    }
    (out.len() == USER_CODE_LEN).then_some(out)
}

/// The display form `XXXX-XXXX` of a canonical code.
pub fn display_user_code(canonical: &str) -> String {
    match (canonical.get(..4), canonical.get(4..)) {
        (Some(a), Some(b)) => format!("{a}-{b}"),
        _ => canonical.to_owned(),
    }
}

/// The store key of a user code (digest of its canonical form).
fn user_code_key(canonical: &str) -> String {
    secret_hash(canonical)
}

/// RFC 8628 §3.1–3.2: registers a device authorization request of an authenticated client.
pub async fn authorize(
    state: &AppState,
    client: &ClientRecord,
    requested: Option<&str>,
) -> Result<DeviceAuthorizationResponse, ProtocolError> {
    if !client.allows_grant(GrantType::DeviceCode) {
        return Err(ProtocolError::unauthorized_client(
            "the client may not use the device authorization grant",
        ));
    }
    let scope = requested_scope(requested, &client.scope)?;
    let now = state.now();
    let ttl = state.config.device_code_ttl;
    let expires_at = now.saturating_add(ttl);
    let device_code = random_token()?;
    let device_code_hash = secret_hash(&device_code);
    let entry = UserCodeEntry {
        device_code_hash: device_code_hash.clone(),
        client_id: client.client_id.clone(),
        scope: scope.clone(),
        expires_at,
    };
    let entry_text = to_json(&entry)?;
    let mut user_code = None;
    for _ in 0..CAS_ATTEMPTS {
        let candidate = generate_user_code()?;
        let key = user_code_key(&candidate.replace('-', ""));
        match state
            .store
            .put_artifact(namespace::USER_CODE, &key, &entry_text, expires_at, now)
            .await
        {
            Ok(()) => {
                user_code = Some(candidate);
                break;
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    let Some(user_code) = user_code else {
        return Err(ProtocolError::internal(
            "device",
            &"no free user code after several attempts",
        ));
    };
    let grant = DeviceGrant {
        client_id: client.client_id.clone(),
        scope: scope.clone(),
        expires_at,
        interval: state.config.device_poll_interval,
        last_poll: None,
        status: DeviceStatus::Pending,
    };
    state
        .store
        .put_artifact(
            namespace::DEVICE_CODE,
            &device_code_hash,
            &to_json(&grant)?,
            now.saturating_add(ttl.saturating_mul(EXPIRED_RETENTION_FACTOR)),
            now,
        )
        .await?;
    let verification_uri = state.config.endpoint("/device");
    let complete = format!(
        "{verification_uri}?{}",
        form_urlencoded::Serializer::new(String::new())
            .append_pair("user_code", &user_code)
            .finish()
    );
    tracing::info!(
        target: "audit",
        event = "device_authorization",
        client_id = %client.client_id,
        scope = %grant.scope
    );
    Ok(DeviceAuthorizationResponse {
        device_code,
        user_code,
        verification_uri,
        verification_uri_complete: Some(complete),
        expires_in: u64::try_from(ttl).unwrap_or(0),
        interval: u64::try_from(state.config.device_poll_interval).ok(),
    })
}

/// Reads the device state stored under `device_code_hash` together with its exact stored text
/// (the compare value of a later swap).
pub async fn load_grant(
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
pub async fn swap_grant(
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

/// Why a user code cannot be acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCodeError {
    /// Too many wrong codes from this user or address recently; nothing was looked up.
    Throttled,
    /// Not a live user code (mistyped, expired or already decided).
    Unknown,
    /// An internal failure (already logged).
    Internal(ProtocolError),
}

impl From<ProtocolError> for UserCodeError {
    fn from(e: ProtocolError) -> Self {
        Self::Internal(e)
    }
}

impl From<StoreError> for UserCodeError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

/// A pending request as the approval page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRequest {
    /// The code in display form.
    pub user_code: String,
    /// The client asking.
    pub client: ClientRecord,
    /// The scope it asks for.
    pub scope: Scope,
}

/// The throttle keys of user-code guesses: per user and per client address.
fn guess_keys(user_id: &str, addr: Option<IpAddr>) -> Vec<String> {
    let mut keys = vec![format!("device_user_code:user:{user_id}")];
    if let Some(ip) = addr {
        keys.push(format!("device_user_code:addr:{ip}"));
    }
    keys
}

/// Counts this guess against every key before the code is looked up, each count one atomic
/// store step (DOS-4), so concurrent guesses cannot all pass the limit; past it the guess is
/// withdrawn again and refused unchecked.
async fn check_guess_throttle(
    state: &AppState,
    keys: &[String],
    now: i64,
) -> Result<(), UserCodeError> {
    let limits = state.config.login_throttle;
    for (counted, key) in keys.iter().enumerate() {
        let attempts = state
            .store
            .register_attempt(key, now, limits.window_secs)
            .await?;
        if attempts > limits.max_failures {
            release_guess(state, keys.get(..=counted).unwrap_or(keys), now).await?;
            return Err(UserCodeError::Throttled);
        }
    }
    Ok(())
}

/// Withdraws a guess counted by [`check_guess_throttle`] that named a real code.
async fn release_guess(state: &AppState, keys: &[String], now: i64) -> Result<(), UserCodeError> {
    for key in keys {
        state.store.release_attempt(key, now).await?;
    }
    Ok(())
}

/// A wrong guess: [`check_guess_throttle`] already counted it against the keys.
fn guess_failed<T>() -> Result<T, UserCodeError> {
    tracing::warn!(target: "audit", event = "device_user_code_unknown");
    Err(UserCodeError::Unknown)
}

/// Looks up what a user typed for the approval page. Unknown codes count against the user and
/// the address; past the login-throttle limit nothing is looked up (RFC 8628 §5.1).
pub async fn lookup(
    state: &AppState,
    user_id: &str,
    addr: Option<IpAddr>,
    input: &str,
) -> Result<PendingRequest, UserCodeError> {
    let now = state.now();
    let keys = guess_keys(user_id, addr);
    check_guess_throttle(state, &keys, now).await?;
    let Some(canonical) = normalize_user_code(input) else {
        return guess_failed();
    };
    let Some(text) = state
        .store
        .get_artifact(namespace::USER_CODE, &user_code_key(&canonical), now)
        .await?
    else {
        return guess_failed();
    };
    release_guess(state, &keys, now).await?;
    let entry: UserCodeEntry = from_json(&text)?;
    let Some(client) = state.client(&entry.client_id).await? else {
        return Err(UserCodeError::Unknown);
    };
    Ok(PendingRequest {
        user_code: display_user_code(&canonical),
        client: (*client).clone(),
        scope: entry.scope,
    })
}

/// The user's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Let the device in.
    Approve,
    /// Refuse.
    Deny,
}

/// Records the signed-in user's decision on a user code. The user code is taken first, so one
/// decision wins; the device code then moves from pending to approved or denied. Approval also
/// records the user's consent for the client.
pub async fn decide(
    state: &AppState,
    user_id: &str,
    auth_time: i64,
    addr: Option<IpAddr>,
    input: &str,
    decision: Decision,
) -> Result<(), UserCodeError> {
    let now = state.now();
    let keys = guess_keys(user_id, addr);
    check_guess_throttle(state, &keys, now).await?;
    let Some(canonical) = normalize_user_code(input) else {
        return guess_failed();
    };
    let Some(text) = state
        .store
        .take_artifact(namespace::USER_CODE, &user_code_key(&canonical), now)
        .await?
    else {
        return guess_failed();
    };
    release_guess(state, &keys, now).await?;
    let entry: UserCodeEntry = from_json(&text)?;
    let status = match decision {
        Decision::Approve => DeviceStatus::Approved {
            user_id: user_id.to_owned(),
            auth_time,
        },
        Decision::Deny => DeviceStatus::Denied,
    };
    for _ in 0..CAS_ATTEMPTS {
        let Some((current_text, current)) = load_grant(state, &entry.device_code_hash, now).await?
        else {
            return Err(UserCodeError::Unknown);
        };
        if current.status != DeviceStatus::Pending || now >= current.expires_at {
            return Err(UserCodeError::Unknown);
        }
        let next = DeviceGrant {
            status: status.clone(),
            ..current.clone()
        };
        if swap_grant(state, &entry.device_code_hash, &current_text, &next, now).await? {
            if decision == Decision::Approve {
                consent::grant(state, user_id, &entry.client_id, &entry.scope).await?;
            }
            tracing::info!(
                target: "audit",
                event = "device_decision",
                user_id,
                client_id = %entry.client_id,
                approved = decision == Decision::Approve
            );
            return Ok(());
        }
    }
    Err(UserCodeError::Internal(ProtocolError::new(
        ErrorCode::TemporarilyUnavailable,
        "the device code is busy; try again",
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_use_the_unambiguous_alphabet() {
        for _ in 0..200 {
            let code = generate_user_code().unwrap();
            assert_eq!(code.len(), USER_CODE_LEN + 1);
            assert_eq!(code.as_bytes()[4], b'-');
            for c in code.chars().filter(|c| *c != '-') {
                assert!(!"01OI".contains(c), "{code}");
                assert!(USER_CODE_ALPHABET.contains(&(c as u8)));
            }
        }
        assert_ne!(generate_user_code().unwrap(), generate_user_code().unwrap());
    }

    #[test]
    fn user_code_entry_ignores_case_dashes_and_spaces() {
        assert_eq!(
            normalize_user_code("wdjb-mjht").as_deref(),
            Some("WDJBMJHT")
        );
        assert_eq!(
            normalize_user_code(" WdJb MjHt ").as_deref(),
            Some("WDJBMJHT")
        );
        assert_eq!(
            normalize_user_code("WD-JB-MJ-HT").as_deref(),
            Some("WDJBMJHT")
        );
        assert_eq!(display_user_code("WDJBMJHT"), "WDJB-MJHT");
    }

    #[test]
    fn malformed_user_codes_are_refused() {
        for bad in [
            "",
            "WDJB-MJH",
            "WDJB-MJHTX",
            "WDJB-MJH0",
            "WDJB-MJHO",
            "WDJB-MJH1",
            "WDJB-MJHI",
            "WDJB_MJHT",
            "WDJB-MJHÉ",
        ] {
            assert_eq!(normalize_user_code(bad), None, "{bad}");
        }
    }

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
