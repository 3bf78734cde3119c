//! The device authorization request (RFC 8628 §3.1–3.2): a device code and a unique user code
//! stored for an authenticated client, and the verification URI the device shows its user.

use portcullis_types::GrantType;
use portcullis_types::token::DeviceAuthorizationResponse;

use super::user_code::{generate_user_code, user_code_key};
use super::{
    CAS_ATTEMPTS, DeviceGrant, DeviceStatus, EXPIRED_RETENTION_FACTOR, UserCodeEntry, to_json,
};
use crate::domain::error::ProtocolError;
use crate::domain::grants::requested_scope;
use crate::domain::secrets::{random_token, secret_hash};
use crate::state::AppState;
use crate::store::{ClientRecord, StoreError, namespace};

/// RFC 8628 §3.1–3.2: registers a device authorization request of an authenticated client.
pub(crate) async fn authorize(
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
