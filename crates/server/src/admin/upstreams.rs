//! Upstream identity providers: the operations behind `portcullis upstreams` and the
//! `[[upstreams]]` tables of the configuration file. The client secret is sealed under the
//! key-encryption key (when one is configured) before it is stored, and never returned.

use std::collections::BTreeMap;

use portcullis_jose::Clock;
use portcullis_types::GroupName;
use portcullis_types::secret::ClientSecret;

use super::AdminError;
use crate::at_rest::KeyEncryption;
use crate::config::ConfigError;
use crate::store::{Store, UpstreamId, UpstreamKind, UpstreamRecord};
use crate::upstream::{fetch::allowed_url, seal_secret};

/// An upstream as the operator describes it.
#[derive(Debug, Clone)]
pub struct NewUpstream {
    /// The id (`github`, `corp`): in URLs, `idp_hint` and the `idp` claim.
    pub id: UpstreamId,
    /// Protocol and location.
    pub kind: UpstreamKind,
    /// The button label.
    pub display_name: Option<String>,
    /// This server's client id at the upstream.
    pub client_id: String,
    /// This server's client secret at the upstream.
    pub client_secret: ClientSecret,
    /// Scopes asked for besides the kind's own.
    pub scopes: Vec<String>,
    /// Link by verified e-mail address to an existing local user.
    pub trust_email: bool,
    /// The only way in: the login page goes straight to this upstream.
    pub only: bool,
    /// Upstream group → local group.
    pub groups: BTreeMap<String, GroupName>,
}

fn invalid(setting: &'static str, reason: impl Into<String>) -> AdminError {
    AdminError::Invalid(ConfigError {
        setting,
        reason: reason.into(),
    })
}

/// Adds the upstream, or replaces the one with the same id (its account links stay).
pub async fn put_upstream(
    store: &dyn Store,
    clock: &dyn Clock,
    enc: &KeyEncryption,
    new: NewUpstream,
) -> Result<UpstreamRecord, AdminError> {
    match &new.kind {
        UpstreamKind::Oidc { issuer, .. } => {
            allowed_url(issuer).map_err(|e| invalid("issuer", e.to_string()))?;
        }
        UpstreamKind::Github { base_url: Some(b) } => {
            allowed_url(b).map_err(|e| invalid("base_url", e.to_string()))?;
        }
        UpstreamKind::Github { base_url: None } => {}
    }
    if new.client_id.is_empty() {
        return Err(invalid("client_id", "is required"));
    }
    if new.client_secret.secret().is_empty() {
        return Err(invalid("client_secret", "is required"));
    }
    let client_secret = seal_secret(enc, new.id.as_str(), new.client_secret.secret())
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    let record = UpstreamRecord {
        id: new.id,
        kind: new.kind,
        display_name: new.display_name,
        client_id: new.client_id,
        client_secret,
        scopes: new.scopes,
        trust_email: new.trust_email,
        only: new.only,
        groups: new.groups,
        created_at: clock.now().as_secs(),
    };
    store.put_upstream(record.clone()).await?;
    Ok(record)
}

/// All upstreams, by id.
pub async fn list_upstreams(store: &dyn Store) -> Result<Vec<UpstreamRecord>, AdminError> {
    Ok(store.list_upstreams().await?)
}

/// Removes an upstream and its account links (the local users stay); `true` if it existed.
pub async fn remove_upstream(store: &dyn Store, id: &str) -> Result<bool, AdminError> {
    Ok(store.delete_upstream(id).await?)
}
