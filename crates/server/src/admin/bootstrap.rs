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

/// The role `admin`, created when missing; says whether it was.
async fn ensure_admin_role(
    store: &dyn Store,
    clock: &dyn Clock,
) -> Result<(RoleName, bool), AdminError> {
    let role = RoleName::parse(ADMIN_ROLE).map_err(|e| {
        AdminError::Invalid(ConfigError {
            setting: "role",
            reason: e.to_string(),
        })
    })?;
    if list_roles(store).await?.iter().any(|r| r.name == role) {
        return Ok((role, false));
    }
    add_role(
        store,
        clock,
        role.clone(),
        Some("May use the admin API".to_owned()),
    )
    .await?;
    Ok((role, true))
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
    let (role, role_created) = ensure_admin_role(store, clock).await?;
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

/// Registers (or brings up to date) the admin console's public client
/// [`crate::admin_console::CONSOLE_CLIENT_ID`] for the admin listener reached at
/// `admin_base_url`, and creates the role `admin` when missing, so that a user holding it can
/// sign in to the console. Run at each start with the admin listener on: the redirect URI
/// follows the listener's address.
pub async fn register_console_client(
    store: &dyn Store,
    clock: &dyn Clock,
    config: &ServerConfig,
    admin_base_url: &str,
) -> Result<ClientRecord, AdminError> {
    ensure_admin_role(store, clock).await?;
    let client = crate::admin_console::console_client(&config.issuer, admin_base_url);
    Ok(super::replace_client(store, clock, config, client)
        .await?
        .record)
}
