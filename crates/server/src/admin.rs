//! Administrative operations the command line calls directly (no HTTP): clients, users, signing
//! keys and the re-encryption of secrets at rest. Each takes the store (and a clock and the
//! configuration where they matter) explicitly.

mod audit_trail;
mod bootstrap;
mod client_secret;
mod directory;
mod grants;
mod sessions;
mod upstreams;

use std::sync::Arc;

use portcullis_jose::Clock;
use portcullis_types::secret::Password;

use crate::at_rest::{PepperError, pepper};
use crate::config::{ClientConfig, ConfigError, PasswordPolicy, ServerConfig};
use crate::domain::error::ProtocolError;
pub use crate::domain::lifecycle::SignOutReport;
use crate::domain::lifecycle::{self, SignOutCause};
use crate::domain::{audit, login, password, secrets};
use crate::keys;
use crate::store::{ClientRecord, Denylist, SigningKeyRecord, Store, StoreError, UserRecord};

pub use audit_trail::{
    AuditEntry, AuditPage, AuditQuery, DEFAULT_AUDIT_PAGE, audit_events, collect_garbage,
};
pub use bootstrap::{ADMIN_TOKEN_TTL_SECS, Bootstrapped, bootstrap_admin, register_console_client};
pub use client_secret::{MAX_SECRET_OVERLAP, RotatedSecret, rotate_client_secret};
pub use directory::{
    NewUser, UserUpdate, add_group, add_role, effective_roles, find_user, list_groups, list_roles,
    remove_group, remove_role, update_user,
};
pub use grants::{list_grants, revoke_grant};
pub use sessions::{MAX_LISTED_SESSIONS, SessionInfo, end_session, list_sessions};
pub use upstreams::{LdapOptions, NewUpstream, list_upstreams, put_upstream, remove_upstream};

/// Errors of the admin operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The input is invalid (names the setting).
    #[error(transparent)]
    Invalid(#[from] ConfigError),
    /// The record exists already (e.g. duplicate username).
    #[error("already exists: {0}")]
    Conflict(String),
    /// [`add_client`] found a client with the same id; nothing was written.
    #[error("a client with id `{0}` is already registered")]
    ClientExists(String),
    /// A role named in the request does not exist; nothing was written.
    #[error("no role named `{0}` (add it first: portcullis roles add {0})")]
    UnknownRole(String),
    /// A group named in the request does not exist; nothing was written.
    #[error("no group named `{0}` (add it first: portcullis groups add {0})")]
    UnknownGroup(String),
    /// No user has that id or username.
    #[error("no user `{0}`")]
    UnknownUser(String),
    /// No client has that id.
    #[error("no client `{0}`")]
    UnknownClient(String),
    /// The store failed.
    #[error("storage error: {0}")]
    Store(String),
    /// An internal failure (key generation, hashing).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => Self::Conflict(what),
            other => Self::Store(other.to_string()),
        }
    }
}

impl From<keys::KeyError> for AdminError {
    fn from(e: keys::KeyError) -> Self {
        match e {
            keys::KeyError::Store(e) => e.into(),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<PepperError> for AdminError {
    fn from(e: PepperError) -> Self {
        match e {
            PepperError::Store(e) => e.into(),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<ProtocolError> for AdminError {
    fn from(e: ProtocolError) -> Self {
        Self::Internal(e.description().to_owned())
    }
}

/// Registers a new client. The secret is stored only as its HMAC-SHA-256 digest under the
/// server's pepper (made on first use, sealed under `config.key_encryption`). A client id
/// equal to an existing user id is refused (TOK-7); so is an id already registered
/// ([`AdminError::ClientExists`], decided and written in one step, nothing changed): replacing
/// a client is [`replace_client`].
pub async fn add_client(
    store: &dyn Store,
    clock: &dyn Clock,
    config: &ServerConfig,
    client: ClientConfig,
) -> Result<ClientRecord, AdminError> {
    let record = client_record(store, clock, config, client).await?;
    store
        .insert_client(record.clone())
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => AdminError::ClientExists(record.client_id.to_string()),
            other => other.into(),
        })?;
    Ok(record)
}

/// What [`replace_client`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Replaced {
    /// The client as now stored.
    pub record: ClientRecord,
    /// Whether a client with the same id was there before (and is now overwritten).
    pub existed: bool,
}

/// Registers a client, replacing every setting (audiences included) of one with the same id;
/// for declarative sources (the config file, `--dev`) and an explicit operator request. The
/// checks are those of [`add_client`] but the taken id.
pub async fn replace_client(
    store: &dyn Store,
    clock: &dyn Clock,
    config: &ServerConfig,
    client: ClientConfig,
) -> Result<Replaced, AdminError> {
    let record = client_record(store, clock, config, client).await?;
    // Only the report depends on this read; the write below is one upsert.
    let existed = store.get_client(record.client_id.as_str()).await?.is_some();
    store.put_client(record.clone()).await?;
    Ok(Replaced { record, existed })
}

/// Validates `client` into the record to store, with its secret digested.
async fn client_record(
    store: &dyn Store,
    clock: &dyn Clock,
    config: &ServerConfig,
    client: ClientConfig,
) -> Result<ClientRecord, AdminError> {
    let pepper = pepper::load_or_create(store, &config.key_encryption).await?;
    if let Some(theme) = client.theme.as_ref().filter(|t| !config.themes.contains(t)) {
        return Err(AdminError::Invalid(ConfigError::new(
            "theme",
            format!("no theme `{theme}` in the theme directory"),
        )));
    }
    let mut record = client.into_record(clock.now().as_secs(), &pepper)?;
    record.roles = directory::known_roles(
        store,
        std::mem::take(&mut record.roles),
        crate::domain::identity::MAX_HOLDER_ROLES,
    )
    .await?;
    if store.get_user(record.client_id.as_str()).await?.is_some() {
        return Err(AdminError::Conflict(
            "client_id equals an existing user identifier".to_owned(),
        ));
    }
    Ok(record)
}

/// All clients.
pub async fn list_clients(store: &dyn Store) -> Result<Vec<ClientRecord>, AdminError> {
    Ok(store.list_clients().await?)
}

/// Removes a client; `true` if it existed.
pub async fn remove_client(store: &dyn Store, client_id: &str) -> Result<bool, AdminError> {
    Ok(store.delete_client(client_id).await?)
}

/// Adds a user with an argon2id password hash (computed off the async runtime), holding the
/// roles, groups and attributes of `new` (each role and group must exist; nothing is written
/// otherwise). The user id (`sub`) is random and never reused.
pub async fn add_user(
    store: &dyn Store,
    clock: &dyn Clock,
    policy: &PasswordPolicy,
    new: NewUser,
) -> Result<UserRecord, AdminError> {
    let username = new.username.as_str();
    if username.is_empty() || username.len() > 128 || username.chars().any(char::is_control) {
        return Err(AdminError::Invalid(ConfigError {
            setting: "username",
            reason: "must be 1-128 characters without control characters".to_owned(),
        }));
    }
    check_password_policy(policy, &new.password, username)?;
    let (new, roles, groups) = new.checked(store).await?;
    let password_hash = password::hash(new.password).await?;
    let user = UserRecord {
        id: format!("u_{}", secrets::random_id()?).into(),
        username: new.username,
        email_verified: new.email.is_some(),
        email: new.email,
        name: new.name,
        password_hash,
        roles,
        groups,
        attributes: new.attributes,
        disabled: false,
        tokens_not_before: None,
        verification_pending: false,
        created_at: clock.now().as_secs(),
    };
    store.put_user(user.clone()).await?;
    Ok(user)
}

/// All users.
pub async fn list_users(store: &dyn Store) -> Result<Vec<UserRecord>, AdminError> {
    Ok(store.list_users().await?)
}

/// Removes a user by id or, failing that, by username; `true` if one was removed.
pub async fn remove_user(store: &dyn Store, id_or_username: &str) -> Result<bool, AdminError> {
    if store.delete_user(id_or_username).await? {
        return Ok(true);
    }
    match store.get_user_by_username(id_or_username).await? {
        Some(u) => Ok(store.delete_user(u.id.as_str()).await?),
        None => Ok(false),
    }
}

/// Clears the failed sign-ins of the account `username` (and, when given, of the client address
/// `addr`), so that the login throttle admits them again at once. Returns whether the user
/// exists; the counters are cleared either way (a throttle may hold a name that is not a user).
pub async fn unlock_user(
    store: &dyn Store,
    username: &str,
    addr: Option<std::net::IpAddr>,
) -> Result<bool, AdminError> {
    store
        .clear_login_failures(&login::account_throttle_key(username))
        .await?;
    if let Some(ip) = addr {
        unlock_address(store, ip).await?;
    }
    Ok(store.get_user_by_username(username).await?.is_some())
}

/// Clears the failed sign-ins counted against the client address `ip`.
pub async fn unlock_address(store: &dyn Store, ip: std::net::IpAddr) -> Result<(), AdminError> {
    store
        .clear_login_failures(&login::address_throttle_key(ip))
        .await?;
    Ok(())
}

/// A signing key as listed to an operator (no private material).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// Key id.
    pub kid: String,
    /// Algorithm.
    pub alg: String,
    /// Created.
    pub created_at: i64,
    /// Signs from.
    pub activate_at: i64,
    /// Stops signing at.
    pub retire_at: Option<i64>,
    /// Unpublished at.
    pub expire_at: Option<i64>,
    /// `next`, `active`, `retired` or `expired` at the time of listing.
    pub state: &'static str,
}

fn key_info(rec: &SigningKeyRecord, now: i64) -> KeyInfo {
    let state = if rec.expire_at.is_some_and(|e| now >= e) {
        "expired"
    } else if rec.retire_at.is_some_and(|r| now >= r) {
        "retired"
    } else if now < rec.activate_at {
        "next"
    } else {
        "active"
    };
    KeyInfo {
        kid: rec.kid.clone(),
        alg: rec.alg.clone(),
        created_at: rec.created_at,
        activate_at: rec.activate_at,
        retire_at: rec.retire_at,
        expire_at: rec.expire_at,
        state,
    }
}

/// Lists the signing keys.
pub async fn list_keys(store: &dyn Store, clock: &dyn Clock) -> Result<Vec<KeyInfo>, AdminError> {
    let now = clock.now().as_secs();
    Ok(store
        .list_signing_keys()
        .await?
        .iter()
        .map(|r| key_info(r, now))
        .collect())
}

/// How [`rotate_keys`] replaces the current signing keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeyRotation {
    /// Publish before use: the new keys are published now and sign after
    /// `key_rotation_delay`, when every node and every resource server has them; the old keys
    /// stay published until the tokens they signed expired.
    #[default]
    Scheduled,
    /// The new keys sign at once (each node from its next key reload; a resource server fetches
    /// an unknown `kid` on demand); the old keys stay published until their tokens expired.
    Now,
    /// As [`KeyRotation::Now`], and the old keys are unpublished at once, for a leaked key:
    /// every access and ID token they signed stops verifying as soon as resource servers
    /// refresh their key sets (refresh tokens, which are not signed, keep working, so clients
    /// get new access tokens by refreshing).
    NowRevokeOld,
}

/// Rotates the keys of every enabled algorithm as `how` says. Old keys stay published for the
/// longest token lifetime there is (the configured ones, and every client's own access-token
/// lifetime) plus the validators' leeway. Returns the new key ids. Running servers pick the
/// change up at their next key reload.
pub async fn rotate_keys(
    store: &dyn Store,
    clock: &dyn Clock,
    config: &ServerConfig,
    how: KeyRotation,
) -> Result<Vec<String>, AdminError> {
    let rotation = keys::Rotation {
        now: clock.now().as_secs(),
        delay: match how {
            KeyRotation::Scheduled => config.key_rotation_delay,
            KeyRotation::Now | KeyRotation::NowRevokeOld => 0,
        },
        max_token_ttl: keys::longest_token_ttl(store, config).await?,
        revoke_old: how == KeyRotation::NowRevokeOld,
    };
    Ok(keys::rotate(
        store,
        config.signing_algs(),
        rotation,
        &config.key_encryption,
    )
    .await?)
}

/// What [`rewrap`] rewrote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RewrapReport {
    /// Ids of the signing keys sealed anew under the current key-encryption key.
    pub keys: Vec<String>,
    /// Whether the client-secret pepper was sealed anew.
    pub pepper: bool,
    /// Ids of the upstreams whose client secret was sealed anew.
    pub upstreams: Vec<String>,
}

/// Seals every stored private signing key, the client-secret pepper and the upstreams' client
/// secrets under the current
/// key-encryption key of `config`: values under the previous KEK and plaintext ones written
/// without a KEK. Values already under the current KEK are left alone, so it can be re-run. Run
/// it after making a new KEK current (with the old one as previous); afterwards the previous
/// KEK is no longer needed. Refused without a KEK.
pub async fn rewrap(store: &dyn Store, config: &ServerConfig) -> Result<RewrapReport, AdminError> {
    let enc = &config.key_encryption;
    if !enc.is_sealed() {
        return Err(AdminError::Invalid(ConfigError {
            setting: "key_encryption",
            reason: "rewrapping needs a current key-encryption key".to_owned(),
        }));
    }
    let keys = keys::rewrap(store, enc).await?;
    let pepper = pepper::rewrap(store, enc).await?;
    let upstreams = upstreams::rewrap_secrets(store, enc).await?;
    Ok(RewrapReport {
        keys,
        pepper,
        upstreams,
    })
}

/// Ensures the signing keys exist (what [`crate::Server::new`] does on start).
pub async fn ensure_keys(
    store: Arc<dyn Store>,
    clock: &dyn Clock,
    config: &ServerConfig,
) -> Result<(), AdminError> {
    Ok(keys::ensure_keys(
        store.as_ref(),
        config.signing_algs(),
        clock.now().as_secs(),
        &config.key_encryption,
    )
    .await?)
}

/// Refuses a password the policy does not allow (`users add`, `users set-password`), saying why.
fn check_password_policy(
    policy: &PasswordPolicy,
    new: &Password,
    username: &str,
) -> Result<(), AdminError> {
    password::check(policy, new, username).map_err(|refusal| {
        AdminError::Invalid(ConfigError {
            setting: "password",
            reason: refusal.to_string(),
        })
    })
}

/// Connects the resource servers' denylist mirror (Redis) named by `config.redis_url`; `None`
/// when none is configured. The account commands below publish their revocations through it.
pub async fn connect_denylist(
    config: &ServerConfig,
) -> Result<Option<Arc<dyn Denylist>>, AdminError> {
    crate::connect_denylist(config)
        .await
        .map_err(|e| AdminError::Store(e.to_string()))
}

/// Where the account commands write: the store, the denylist mirror if any, the clock and the
/// configuration (the access-token lifetime sets how long the mirror keeps its marker).
#[derive(Debug, Clone, Copy)]
pub struct AccountTargets<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// The resource servers' denylist, if configured.
    pub denylist: Option<&'a dyn Denylist>,
    /// The clock.
    pub clock: &'a dyn Clock,
    /// The configuration.
    pub config: &'a ServerConfig,
}

impl AccountTargets<'_> {
    fn lifecycle(&self) -> lifecycle::Targets<'_> {
        lifecycle::Targets {
            store: self.store,
            denylist: self.denylist,
            health: None,
            config: self.config,
        }
    }

    /// A user by id or username.
    async fn find_user(&self, username: &str) -> Result<Option<UserRecord>, AdminError> {
        find_user(self.store, username).await
    }

    async fn sign_out(
        &self,
        user: UserRecord,
        cause: SignOutCause,
    ) -> Result<SignOutReport, AdminError> {
        let now = self.clock.now().as_secs();
        let (_, report) =
            lifecycle::sign_out_everywhere(self.lifecycle(), user, now, cause).await?;
        Ok(report)
    }
}

/// Signs the user `username` (or user id) out everywhere: every grant revoked (refresh, access
/// and ID tokens), every browser session ended, access tokens issued before now refused by this
/// server and, through the denylist marker, by resource servers. `None` for an unknown user.
/// Running servers see the change at once for recorded tokens and sessions, and within their
/// `user_cache_ttl` for anything else.
pub async fn revoke_user_tokens(
    t: AccountTargets<'_>,
    username: &str,
) -> Result<Option<SignOutReport>, AdminError> {
    let Some(user) = t.find_user(username).await? else {
        return Ok(None);
    };
    Ok(Some(
        t.sign_out(user, SignOutCause::SignOutEverywhere).await?,
    ))
}

/// Disables the user `username` (or user id): they can no longer sign in or obtain tokens, and
/// everything they hold is revoked as by [`revoke_user_tokens`]. Disabling a disabled user
/// revokes again. `None` for an unknown user.
pub async fn disable_user(
    t: AccountTargets<'_>,
    username: &str,
) -> Result<Option<SignOutReport>, AdminError> {
    let Some(mut user) = t.find_user(username).await? else {
        return Ok(None);
    };
    user.disabled = true;
    let report = t.sign_out(user.clone(), SignOutCause::Disabled).await?;
    audit::account_status(user.id.as_str(), true);
    Ok(Some(report))
}

/// Enables the user `username` (or user id) again: they can sign in anew. What was revoked
/// stays revoked. `Some(false)` if the user was not disabled, `None` for an unknown user.
pub async fn enable_user(
    t: AccountTargets<'_>,
    username: &str,
) -> Result<Option<bool>, AdminError> {
    let Some(mut user) = t.find_user(username).await? else {
        return Ok(None);
    };
    if !user.disabled {
        return Ok(Some(false));
    }
    user.disabled = false;
    t.store.put_user(user.clone()).await?;
    audit::account_status(user.id.as_str(), false);
    Ok(Some(true))
}

/// Sets the password of `username` (or user id), held to the policy of [`add_user`] and hashed
/// off the async runtime, and signs the user out everywhere: whoever knew the old password keeps
/// nothing. `None` for an unknown user.
pub async fn set_user_password(
    t: AccountTargets<'_>,
    username: &str,
    new_password: Password,
) -> Result<Option<SignOutReport>, AdminError> {
    let Some(mut user) = t.find_user(username).await? else {
        return Ok(None);
    };
    check_password_policy(
        &t.config.self_service.password_policy,
        &new_password,
        &user.username,
    )?;
    user.password_hash = password::hash(new_password).await?;
    Ok(Some(t.sign_out(user, SignOutCause::PasswordChanged).await?))
}
