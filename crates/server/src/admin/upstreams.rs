//! Upstream identity providers: the operations behind `portcullis upstreams` and the
//! `[[upstreams]]` tables of the configuration file. The client secret (a directory's
//! service-account password) is sealed under the key-encryption key (when one is configured)
//! before it is stored, and never returned.

use std::collections::BTreeMap;

use portcullis_jose::Clock;
use portcullis_types::GroupName;
use portcullis_types::secret::ClientSecret;

use super::AdminError;
use crate::at_rest::KeyEncryption;
use crate::config::ConfigError;
use crate::store::{
    LDAP_DEFAULT_GROUP_FILTER, LdapGroups, LdapSettings, Store, UpstreamId, UpstreamKind,
    UpstreamRecord,
};
use crate::upstream::{fetch::allowed_url, ldap, seal_secret, secret_aad};

/// An upstream as the operator describes it.
#[derive(Debug, Clone)]
pub struct NewUpstream {
    /// The id (`github`, `corp`): in URLs, `idp_hint` and the `idp` claim.
    pub id: UpstreamId,
    /// Protocol and location.
    pub kind: UpstreamKind,
    /// The button label.
    pub display_name: Option<String>,
    /// This server's client id at the upstream (a directory: the service account's bind DN).
    pub client_id: String,
    /// This server's client secret at the upstream (a directory: the service account's
    /// password).
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

/// A directory's settings as an operator gives them (`upstreams add --kind ldap`, the
/// `[[upstreams]]` table, the admin API): what is left out gets the OpenLDAP defaults of
/// [`LdapSettings::new`].
#[derive(Debug, Clone, Default)]
pub struct LdapOptions {
    /// `ldap://host[:port]` or `ldaps://host[:port]` (required).
    pub url: Option<String>,
    /// Upgrade with StartTLS before binding.
    pub starttls: bool,
    /// A PEM file of the CAs the directory's certificate must chain to.
    pub ca_file: Option<String>,
    /// Where users are searched (required).
    pub user_base: Option<String>,
    /// The user filter with `{username}`.
    pub user_filter: Option<String>,
    /// The stable-id attribute.
    pub subject_attribute: Option<String>,
    /// The e-mail attribute.
    pub email_attribute: Option<String>,
    /// The display-name attribute.
    pub name_attribute: Option<String>,
    /// The user attribute listing group DNs (excludes `group_base`).
    pub group_attribute: Option<String>,
    /// Search groups under this DN instead.
    pub group_base: Option<String>,
    /// The group-search filter with `{dn}` (needs `group_base`).
    pub group_filter: Option<String>,
    /// Seconds allowed to connect and for each operation.
    pub timeout_secs: Option<u64>,
}

impl LdapOptions {
    /// The directory settings, defaults filled in; the combinations are checked here, the
    /// values by [`put_upstream`].
    pub fn settings(self) -> Result<LdapSettings, AdminError> {
        let url = self
            .url
            .ok_or_else(|| invalid("url", "an ldap upstream needs a url"))?;
        let user_base = self
            .user_base
            .ok_or_else(|| invalid("user_base", "an ldap upstream needs a user_base"))?;
        let mut s = LdapSettings::new(url, user_base);
        s.starttls = self.starttls;
        s.ca_file = self.ca_file;
        if let Some(v) = self.user_filter {
            s.user_filter = v;
        }
        if let Some(v) = self.subject_attribute {
            s.subject_attribute = v;
        }
        if let Some(v) = self.email_attribute {
            s.email_attribute = v;
        }
        if let Some(v) = self.name_attribute {
            s.name_attribute = v;
        }
        s.group_source = match (self.group_base, self.group_attribute) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "group_base",
                    "group_base and group_attribute exclude each other",
                ));
            }
            (Some(base), None) => LdapGroups::Search {
                base,
                filter: self
                    .group_filter
                    .unwrap_or_else(|| LDAP_DEFAULT_GROUP_FILTER.to_owned()),
            },
            (None, attribute) => {
                if self.group_filter.is_some() {
                    return Err(invalid("group_filter", "group_filter needs group_base"));
                }
                attribute.map_or(s.group_source, LdapGroups::Attribute)
            }
        };
        if let Some(v) = self.timeout_secs {
            s.timeout_secs = v;
        }
        Ok(s)
    }
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
        UpstreamKind::Github {
            base_url,
            allowed_orgs,
        } => {
            if let Some(b) = base_url {
                allowed_url(b).map_err(|e| invalid("base_url", e.to_string()))?;
            }
            if let Some(bad) = allowed_orgs
                .iter()
                .find(|o| o.is_empty() || !o.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
            {
                return Err(invalid(
                    "allowed_org",
                    format!("`{bad}` is not a GitHub organisation login"),
                ));
            }
        }
        UpstreamKind::Ldap(settings) => {
            ldap::check_settings(settings).map_err(|(setting, why)| invalid(setting, why))?;
        }
    }
    let directory = matches!(new.kind, UpstreamKind::Ldap(_));
    if new.client_id.is_empty() {
        return Err(invalid(
            if directory { "bind_dn" } else { "client_id" },
            "is required",
        ));
    }
    if new.client_secret.secret().is_empty() {
        return Err(invalid(
            if directory {
                "bind_password"
            } else {
                "client_secret"
            },
            "is required",
        ));
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

/// Seals the client secret of every upstream under the current key-encryption key of `enc`
/// (secrets under the previous KEK, and plaintext ones written without a KEK); returns the ids
/// of the upstreams rewritten. Secrets already under the current KEK are left alone.
pub(crate) async fn rewrap_secrets(
    store: &dyn Store,
    enc: &KeyEncryption,
) -> Result<Vec<String>, AdminError> {
    let mut done = Vec::new();
    for mut upstream in store.list_upstreams().await? {
        let aad = secret_aad(upstream.id.as_str());
        let opened = enc
            .open(&aad, &upstream.client_secret)
            .map_err(|e| AdminError::Internal(format!("upstream {}: {e}", upstream.id)))?;
        if !enc.needs_rewrap(opened.under) {
            continue;
        }
        upstream.client_secret = enc
            .seal(&aad, &opened.value)
            .map_err(|e| AdminError::Internal(e.to_string()))?;
        done.push(upstream.id.to_string());
        store.put_upstream(upstream).await?;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::at_rest::Kek;
    use crate::store::UpstreamStore as _;
    use crate::store::memory::MemoryStore;
    use portcullis_jose::{FixedClock, UnixTime};

    fn github(id: &str) -> NewUpstream {
        NewUpstream {
            id: UpstreamId::parse(id).unwrap(),
            kind: UpstreamKind::Github {
                base_url: None,
                allowed_orgs: Vec::new(),
            },
            display_name: None,
            client_id: "Iv1.abc".into(),
            client_secret: ClientSecret::new("the-upstream-secret"),
            scopes: Vec::new(),
            trust_email: false,
            only: false,
            groups: BTreeMap::new(),
        }
    }

    #[tokio::test]
    async fn key_4_upstream_secret_sealed_and_rewrapped_under_the_current_kek() {
        let store = MemoryStore::new();
        let clock = FixedClock::new(UnixTime(1_800_000_000));
        let old = KeyEncryption::sealed(Kek::from_bytes([1; 32]), None);
        let saved = put_upstream(&store, &clock, &old, github("gh"))
            .await
            .unwrap();
        assert!(saved.client_secret.starts_with("pcs1:"), "sealed");
        assert!(!saved.client_secret.contains("the-upstream-secret"));
        put_upstream(&store, &clock, &KeyEncryption::Plaintext, github("plain"))
            .await
            .unwrap();

        let new = KeyEncryption::sealed(Kek::from_bytes([2; 32]), Some(Kek::from_bytes([1; 32])));
        let mut done = rewrap_secrets(&store, &new).await.unwrap();
        done.sort();
        assert_eq!(done, ["gh", "plain"]);
        assert!(
            rewrap_secrets(&store, &new).await.unwrap().is_empty(),
            "re-runnable"
        );
        let only_new = KeyEncryption::sealed(Kek::from_bytes([2; 32]), None);
        for id in ["gh", "plain"] {
            let rec = store.get_upstream(id).await.unwrap().unwrap();
            let opened = only_new.open(&secret_aad(id), &rec.client_secret).unwrap();
            assert_eq!(opened.value.as_str(), "the-upstream-secret");
        }
        // Bound to its upstream: one upstream's sealed secret does not open as another's.
        let gh = store.get_upstream("gh").await.unwrap().unwrap();
        assert!(
            only_new
                .open(&secret_aad("plain"), &gh.client_secret)
                .is_err()
        );
    }

    #[tokio::test]
    async fn insecure_urls_and_empty_credentials_are_refused() {
        let store = MemoryStore::new();
        let clock = FixedClock::new(UnixTime(1_800_000_000));
        let enc = KeyEncryption::Plaintext;
        let mut bad = github("gh");
        bad.kind = UpstreamKind::Github {
            base_url: Some("http://ghe.example".into()),
            allowed_orgs: Vec::new(),
        };
        assert!(put_upstream(&store, &clock, &enc, bad).await.is_err());
        let mut bad = github("gh");
        bad.kind = UpstreamKind::Github {
            base_url: None,
            allowed_orgs: vec!["acme/payments".into()],
        };
        assert!(put_upstream(&store, &clock, &enc, bad).await.is_err());
        let mut bad = github("gh");
        bad.kind = UpstreamKind::Oidc {
            issuer: "not a url".into(),
            userinfo: false,
            groups_claim: None,
        };
        assert!(put_upstream(&store, &clock, &enc, bad).await.is_err());
        let mut bad = github("gh");
        bad.client_secret = ClientSecret::new("");
        assert!(put_upstream(&store, &clock, &enc, bad).await.is_err());
        assert!(store.list_upstreams().await.unwrap().is_empty());
    }
}
