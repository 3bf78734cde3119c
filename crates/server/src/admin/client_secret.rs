//! Rotating a confidential client's secret: a new high-entropy secret, shown once, and the old
//! one still accepted for an overlap of at most [`MAX_SECRET_OVERLAP`] so that a deployment can
//! move to the new secret without an outage. `clients rotate-secret` and the admin API call it.

use std::time::Duration;

use portcullis_jose::Clock;
use portcullis_types::ClientSecret;
use portcullis_types::TokenEndpointAuthMethod;

use super::AdminError;
use crate::at_rest::pepper;
use crate::config::{ConfigError, ServerConfig};
use crate::domain::secrets;
use crate::store::{PreviousSecret, Store};

/// The longest time a replaced client secret stays accepted: 30 days.
pub const MAX_SECRET_OVERLAP: Duration = Duration::from_secs(30 * 86_400);

/// What [`rotate_client_secret`] made: the new secret, which is stored only as its digest and
/// so can be shown this once.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RotatedSecret {
    /// The client.
    pub client_id: String,
    /// The new secret.
    pub client_secret: ClientSecret,
    /// Until when (Unix seconds) the replaced secret is still accepted; `None` when it stopped
    /// at once (no overlap).
    pub previous_secret_expires_at: Option<i64>,
}

/// Gives the confidential client `client_id` a new random 256-bit secret (as `clients add
/// --generate-secret` does) and keeps accepting its current one for `overlap` (zero: not at
/// all), at most [`MAX_SECRET_OVERLAP`]. A secret replaced by an earlier rotation stops at once.
/// Public clients and `private_key_jwt` clients have no secret to rotate (an
/// [`AdminError::Invalid`] naming `client`); an unknown client is [`AdminError::UnknownClient`].
///
/// Running servers see the new secret at once on the node that rotated it and within their
/// `client_cache_ttl` elsewhere; the replaced secret never outlives its overlap on any node,
/// since its end is checked at every authentication.
pub async fn rotate_client_secret(
    store: &dyn Store,
    clock: &dyn Clock,
    config: &ServerConfig,
    client_id: &str,
    overlap: Duration,
) -> Result<RotatedSecret, AdminError> {
    if overlap > MAX_SECRET_OVERLAP {
        return Err(AdminError::Invalid(ConfigError::new(
            "overlap",
            format!(
                "at most {} days",
                MAX_SECRET_OVERLAP.as_secs().div_euclid(86_400)
            ),
        )));
    }
    let mut client = store
        .get_client(client_id)
        .await?
        .ok_or_else(|| AdminError::UnknownClient(client_id.to_owned()))?;
    let secret_method = matches!(
        client.token_endpoint_auth_method,
        TokenEndpointAuthMethod::ClientSecretBasic | TokenEndpointAuthMethod::ClientSecretPost
    );
    let Some(current) = client.secret_hash.take().filter(|_| secret_method) else {
        return Err(AdminError::Invalid(ConfigError::new(
            "client",
            format!(
                "`{client_id}` authenticates with {} and has no secret to rotate",
                client.token_endpoint_auth_method.as_str()
            ),
        )));
    };
    let pepper = pepper::load_or_create(store, &config.key_encryption).await?;
    let secret = secrets::random_token()?;
    let now = clock.now().as_secs();
    let overlap_secs = i64::try_from(overlap.as_secs()).unwrap_or(i64::MAX);
    client.previous_secret = (overlap_secs > 0).then(|| PreviousSecret {
        hash: current,
        expires_at: now.saturating_add(overlap_secs),
    });
    client.secret_hash = Some(pepper.digest(&secret));
    let previous_secret_expires_at = client.previous_secret.as_ref().map(|p| p.expires_at);
    store.put_client(client).await?;
    Ok(RotatedSecret {
        client_id: client_id.to_owned(),
        client_secret: ClientSecret::new(secret),
        previous_secret_expires_at,
    })
}
