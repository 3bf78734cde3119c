//! The first admin of the admin API: the role `admin` and a confidential client that gets
//! admin tokens by the client-credentials grant, behind `portcullis admin bootstrap`.

use portcullis_jose::Clock;
use portcullis_types::{ClientSecret, GrantType, RoleName};

use super::{AdminError, add_client, add_role, list_roles};
use crate::admin_api::{ADMIN_ROLE, ADMIN_SCOPES, admin_audience};
use crate::config::{ClientConfig, ConfigError, ServerConfig};
use crate::domain::secrets;
use crate::store::{ClientRecord, Store};

/// Lifetime of the admin client's access tokens, in seconds: an admin token is a strong
/// credential, so it is short-lived.
pub const ADMIN_TOKEN_TTL_SECS: i64 = 300;

/// What [`bootstrap_admin`] made.
#[derive(Debug)]
#[non_exhaustive]
pub struct Bootstrapped {
    /// The admin client as stored.
    pub client: ClientRecord,
    /// Its secret, generated here and stored only as a keyed digest: shown once.
    pub secret: ClientSecret,
    /// Whether the role `admin` was created (it may have existed).
    pub role_created: bool,
}

/// Creates the role `admin` when missing and registers `client_id` as a confidential client
/// for the client-credentials grant holding that role, every admin scope, the admin audience
/// of `config`'s issuer and short-lived tokens, with a generated secret. An id already
/// registered is refused ([`AdminError::ClientExists`]) and nothing about the client changes.
pub async fn bootstrap_admin(
    store: &dyn Store,
    clock: &dyn Clock,
    config: &ServerConfig,
    client_id: &str,
) -> Result<Bootstrapped, AdminError> {
    let role = RoleName::parse(ADMIN_ROLE).map_err(|e| {
        AdminError::Invalid(ConfigError {
            setting: "role",
            reason: e.to_string(),
        })
    })?;
    let role_created = if list_roles(store).await?.iter().any(|r| r.name == role) {
        false
    } else {
        add_role(
            store,
            clock,
            role.clone(),
            Some("May use the admin API".to_owned()),
        )
        .await?;
        true
    };
    let secret =
        secrets::random_token().map_err(|e| AdminError::Internal(e.description().to_owned()))?;
    let client = add_client(
        store,
        clock,
        config,
        ClientConfig {
            client_id: client_id.into(),
            secret: Some(ClientSecret::new(secret.clone())),
            grant_types: vec![GrantType::ClientCredentials],
            scope: Some(ADMIN_SCOPES.join(" ")),
            audience: vec![admin_audience(&config.issuer)],
            access_token_ttl: Some(ADMIN_TOKEN_TTL_SECS),
            roles: vec![role],
            name: Some("Portcullis administration".to_owned()),
            ..ClientConfig::default()
        },
    )
    .await?;
    Ok(Bootstrapped {
        client,
        secret: ClientSecret::new(secret),
        role_created,
    })
}
