//! Checking presented client credentials against the registered client: keyed secret digests
//! compared in constant time (a legacy bare digest upgraded on success; the secret a rotation
//! replaced until its overlap ends), public clients by id, `private_key_jwt` assertions (RFC 7523, TOK-6) with a
//! `jti` replay cache; failures are counted per source address and client on this node (DOS-4).

use std::net::IpAddr;
use std::sync::Arc;

use portcullis_jose::{JwkSet, KeySet, jwt::Validator};

use super::audit;
use super::client_auth::{PresentedCredentials, method};
use super::denylist::retain_until;
use super::error::ProtocolError;
use crate::at_rest::SecretMatch;
use crate::state::{AppState, ThrottleKey};
use crate::store::{ClientRecord, namespace};

/// Longest accepted lifetime of a client assertion, in seconds.
const MAX_ASSERTION_LIFETIME: i64 = 600;

/// The client id a credential claims, without verifying anything.
fn claimed_client_id(creds: &PresentedCredentials) -> Option<String> {
    match creds {
        PresentedCredentials::Basic { client_id, .. }
        | PresentedCredentials::Post { client_id, .. }
        | PresentedCredentials::None { client_id } => Some(client_id.clone()),
        PresentedCredentials::Jwt {
            client_id,
            assertion,
        } => client_id.clone().or_else(|| {
            let (_, claims) = portcullis_jose::dangerous::decode_unverified(assertion).ok()?;
            claims.get("sub")?.as_str().map(str::to_owned)
        }),
    }
}

/// Whom a failure of these credentials counts against: never the client an assertion claims to
/// be, since nothing about it is verified yet.
fn throttle_key(creds: &PresentedCredentials, source: Option<IpAddr>) -> ThrottleKey {
    match creds {
        PresentedCredentials::Basic { client_id, .. }
        | PresentedCredentials::Post { client_id, .. }
        | PresentedCredentials::None { client_id } => ThrottleKey::client(source, client_id),
        PresentedCredentials::Jwt { .. } => ThrottleKey::assertion(source),
    }
}

/// Authenticates a client at a back-channel endpoint. Public clients (`none`) are accepted only
/// when `allow_public` is set. Failures are counted per source address and named client
/// ([`ThrottleKey`]), so one source's failures never refuse another source's valid credentials.
/// Its span is at debug level: it runs on every back-channel request, and an enabled span costs
/// a registry entry per request.
#[tracing::instrument(level = "debug", skip_all)]
pub(crate) async fn authenticate(
    state: &AppState,
    creds: &PresentedCredentials,
    allow_public: bool,
    source: Option<IpAddr>,
) -> Result<Arc<ClientRecord>, ProtocolError> {
    let header = creds.used_header();
    let fail =
        || ProtocolError::invalid_client("client authentication failed").with_header_auth(header);
    let Some(client_id) = claimed_client_id(creds) else {
        return Err(fail());
    };
    let now = state.now();
    let limits = state.config.client_auth_throttle;
    let key = throttle_key(creds, source);
    if state
        .client_throttle
        .is_blocked(&key, now, limits.max_failures, limits.window_secs)
    {
        audit::client_auth_failed(&client_id, creds.method());
        return Err(ProtocolError::invalid_client(
            "too many failed authentication attempts; try again later",
        )
        .with_header_auth(header));
    }
    let client = state.client(&client_id).await?;
    let ok = match &client {
        Some(client) => check(state, client, creds, allow_public, now).await?,
        None => false,
    };
    match client {
        Some(client) if ok => Ok(client),
        _ => {
            state
                .client_throttle
                .record_failure(&key, now, limits.window_secs);
            audit::client_auth_failed(&client_id, creds.method());
            Err(fail())
        }
    }
}

async fn check(
    state: &AppState,
    client: &ClientRecord,
    creds: &PresentedCredentials,
    allow_public: bool,
    now: i64,
) -> Result<bool, ProtocolError> {
    let registered = client.token_endpoint_auth_method.as_str();
    Ok(match creds {
        PresentedCredentials::Basic { secret, .. } | PresentedCredentials::Post { secret, .. } => {
            let Some(stored) = client.secret_hash.as_deref() else {
                return Ok(false);
            };
            if !matches!(registered, method::SECRET_BASIC | method::SECRET_POST) {
                return Ok(false);
            }
            // The secret a rotation replaced is compared too while its overlap lasts (and only
            // then), whether or not the current one matches, so the time taken does not tell
            // which secret was presented.
            let previous = client
                .previous_secret
                .as_ref()
                .and_then(|p| p.accepted_at(now))
                .map(|hash| state.pepper.verify(secret.secret(), hash));
            match state.pepper.verify(secret.secret(), stored) {
                SecretMatch::Keyed => true,
                SecretMatch::Legacy => {
                    upgrade_secret_digest(state, client, stored, secret.secret()).await;
                    true
                }
                SecretMatch::Mismatch => {
                    previous.is_some_and(|p| !matches!(p, SecretMatch::Mismatch))
                }
            }
        }
        PresentedCredentials::None { .. } => {
            allow_public && registered == method::NONE && client.secret_hash.is_none()
        }
        PresentedCredentials::Jwt { assertion, .. } => {
            registered == method::PRIVATE_KEY_JWT
                && verify_assertion(state, client, assertion, now).await?
        }
    })
}

/// Replaces a client's bare SHA-256 secret digest, just verified against `presented`, by the keyed
/// digest. Reads the record afresh and writes only if it still holds that legacy digest, so a
/// secret changed meanwhile is kept. A failure is logged: the authentication stands, and the next
/// one tries again.
async fn upgrade_secret_digest(
    state: &AppState,
    client: &ClientRecord,
    legacy: &str,
    presented: &str,
) {
    let result = async {
        let Some(mut current) = state.store.get_client(client.client_id.as_str()).await? else {
            return Ok(false);
        };
        if current.secret_hash.as_deref() != Some(legacy) {
            return Ok(false);
        }
        current.secret_hash = Some(state.pepper.digest(presented));
        state.store.put_client(current).await.map(|()| true)
    }
    .await;
    match result {
        Ok(true) => tracing::info!(
            target: "audit",
            event = "client_secret_digest_upgraded",
            client_id = %client.client_id
        ),
        Ok(false) => {}
        Err(e) => tracing::warn!(
            client_id = %client.client_id,
            error = %e,
            "could not store the keyed client-secret digest; retried at the next authentication"
        ),
    }
}

/// Verifies a `private_key_jwt` assertion: signed by one of the client's registered keys with an
/// asymmetric algorithm, `typ` absent or `JWT`, `iss` = `sub` = client id, every `aud` value
/// the issuer or the token endpoint, `exp` soon, `jti` never seen before.
async fn verify_assertion(
    state: &AppState,
    client: &ClientRecord,
    assertion: &str,
    now: i64,
) -> Result<bool, ProtocolError> {
    let Some(jwks) = client.jwks.as_deref() else {
        return Ok(false);
    };
    let Ok(set) = serde_json::from_str::<JwkSet>(jwks) else {
        return Ok(false);
    };
    let Ok(keys) = KeySet::from_jwks(&set) else {
        return Ok(false);
    };
    let validator = Validator::builder()
        .issuer(client.client_id.as_str())
        .audience(state.config.issuer.as_str())
        .audience(state.config.endpoint("/token").as_str())
        .build();
    let Ok(verified) =
        validator.verify::<serde_json::Value>(assertion, &keys, portcullis_jose::UnixTime(now))
    else {
        return Ok(false);
    };
    if verified.header().alg.is_symmetric() {
        return Ok(false);
    }
    // Only a plain JWT (or no `typ`): a token of another kind (`at+jwt`, `logout+jwt`, …) is
    // never a client assertion.
    if verified
        .header()
        .typ
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("JWT"))
    {
        return Ok(false);
    }
    let claims = verified.claims();
    // Every audience must be this server: an assertion also addressed elsewhere could be
    // replayed by that other party.
    let token_endpoint = state.config.endpoint("/token");
    let ours = [state.config.issuer.as_str(), token_endpoint.as_str()];
    if claims.aud.0.iter().any(|a| !ours.contains(&a.as_str())) {
        return Ok(false);
    }
    if claims.sub.as_deref() != Some(client.client_id.as_str()) {
        return Ok(false);
    }
    if claims.exp.saturating_sub(now) > MAX_ASSERTION_LIFETIME {
        return Ok(false);
    }
    let Some(jti) = claims.jti.as_deref() else {
        return Ok(false);
    };
    let key = format!("{}:{jti}", client.client_id);
    Ok(state
        .store
        .insert_jti_if_absent(
            namespace::CLIENT_ASSERTION,
            &key,
            retain_until(claims.exp.max(now)),
        )
        .await?)
}
