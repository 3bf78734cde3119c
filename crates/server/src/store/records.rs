//! Plain records the store persists and returns, plus the outcome enums of its atomic primitives.
//! Secret-bearing values appear only as hashes; `Debug` redacts every hash-of-secret and key field.

use std::collections::BTreeMap;
use std::fmt;

use portcullis_jose::Algorithm;
use portcullis_types::{
    ClientId, CodeChallengeMethod, GrantType, GroupName, RedirectUri, RoleName, Scope, Subject,
    TokenEndpointAuthMethod,
};
use serde::{Deserialize, Serialize};

/// Whether a number is zero (left out of stored documents).
fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// Writes `<redacted>` for an optional secret-derived field, keeping whether it is present.
fn redact_opt(v: &Option<String>) -> &'static str {
    if v.is_some() {
        "Some(<redacted>)"
    } else {
        "None"
    }
}

/// A registered OAuth client. Stored as a JSON document keyed by `client_id`, so fields may be
/// added (with `#[serde(default)]`) without a migration.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRecord {
    /// The client identifier.
    pub client_id: ClientId,
    /// Base64url SHA-256 digest of a high-entropy client secret; `None` for public clients.
    #[serde(default)]
    pub secret_hash: Option<String>,
    /// How the client authenticates (stored by its registered name).
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// Registered redirect URIs, compared exactly.
    #[serde(default)]
    pub redirect_uris: Vec<RedirectUri>,
    /// Registered post-logout redirect URIs.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// Grant types the client may use (stored by their registered names).
    #[serde(default)]
    pub grant_types: Vec<GrantType>,
    /// Scopes the client may request (stored space separated).
    #[serde(default)]
    pub scope: Scope,
    /// Audiences (resource servers) of the client's access tokens.
    #[serde(default)]
    pub audience: Vec<String>,
    /// Access-token lifetime override in seconds.
    #[serde(default)]
    pub access_token_ttl: Option<i64>,
    /// Refresh-token lifetime override in seconds.
    #[serde(default)]
    pub refresh_token_ttl: Option<i64>,
    /// Requested ID-token signing algorithm.
    #[serde(default)]
    pub id_token_signed_response_alg: Option<Algorithm>,
    /// The client's JWK Set as JSON text (for `private_key_jwt`).
    #[serde(default)]
    pub jwks: Option<String>,
    /// Audiences this client may obtain through token exchange.
    #[serde(default)]
    pub exchange_audiences: Vec<String>,
    /// Whether the client may exchange a token without an `actor_token` (impersonation: the
    /// issued token carries no `act` for the client). Off by default: delegation only.
    #[serde(default)]
    pub exchange_impersonation: bool,
    /// Human-readable name shown on the consent page.
    #[serde(default)]
    pub name: Option<String>,
    /// Roles of the client itself as a service account: its client-credentials tokens carry
    /// them all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<RoleName>,
    /// Which of a user's roles this client's access tokens carry (none by default).
    #[serde(default, skip_serializing_if = "ReleaseFilter::is_none")]
    pub token_roles: ReleaseFilter,
    /// Which of a user's groups this client's access tokens carry (none by default).
    #[serde(default, skip_serializing_if = "ReleaseFilter::is_none")]
    pub token_groups: ReleaseFilter,
    /// Seconds after a rotation in which this client may present the rotated refresh token
    /// once more and get a working one (RT-5; 0, the default, is off; at most 60).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub refresh_grace_secs: i64,
    /// The named theme of its pages (a subdirectory of the theme directory); `None` for the
    /// deployment's theme. An unknown name falls back to the deployment's theme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
    /// The secret replaced by the last rotation, while it is still accepted (a rotation with an
    /// overlap); `None` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret: Option<PreviousSecret>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
}

/// A client secret replaced by a rotation that still authenticates the client until
/// `expires_at`, so deployments can move to the new secret without an outage.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousSecret {
    /// The replaced secret's digest, as [`ClientRecord::secret_hash`] held it.
    pub hash: String,
    /// From this time (Unix seconds) on the replaced secret is refused.
    pub expires_at: i64,
}

impl PreviousSecret {
    /// The replaced secret's digest if it is still accepted at `now` (`now < expires_at`).
    pub fn accepted_at(&self, now: i64) -> Option<&str> {
        (now < self.expires_at).then_some(self.hash.as_str())
    }
}

impl fmt::Debug for PreviousSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreviousSecret")
            .field("hash", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl ClientRecord {
    /// Whether the client registered `grant`.
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}

impl fmt::Debug for ClientRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRecord")
            .field("client_id", &self.client_id)
            .field("secret_hash", &redact_opt(&self.secret_hash))
            .field(
                "token_endpoint_auth_method",
                &self.token_endpoint_auth_method,
            )
            .field("redirect_uris", &self.redirect_uris)
            .field("post_logout_redirect_uris", &self.post_logout_redirect_uris)
            .field("grant_types", &self.grant_types)
            .field("scope", &self.scope)
            .field("audience", &self.audience)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("refresh_token_ttl", &self.refresh_token_ttl)
            .field(
                "id_token_signed_response_alg",
                &self.id_token_signed_response_alg,
            )
            .field("jwks", &self.jwks)
            .field("exchange_audiences", &self.exchange_audiences)
            .field("exchange_impersonation", &self.exchange_impersonation)
            .field("name", &self.name)
            .field("roles", &self.roles)
            .field("token_roles", &self.token_roles)
            .field("token_groups", &self.token_groups)
            .field("refresh_grace_secs", &self.refresh_grace_secs)
            .field("theme", &self.theme)
            .field("previous_secret", &self.previous_secret)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// Which names of a subject's roles or groups a client's access tokens carry, so that a token
/// for the orders API does not list the user's payroll roles. Written `none`, `all` or
/// `PREFIX*` (every name starting with `PREFIX`, e.g. `orders:*`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ReleaseFilter {
    /// Nothing (the default).
    #[default]
    None,
    /// Every name.
    All,
    /// The names that start with this prefix.
    Prefix(String),
}

impl ReleaseFilter {
    /// Parses `none`, `all` or `PREFIX*`; the prefix is held to the characters of a role name.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "none" => Ok(Self::None),
            "all" => Ok(Self::All),
            _ => {
                let prefix = value.strip_suffix('*').ok_or_else(|| {
                    format!("`{value}` is not `all`, `none` or a prefix ending in `*`")
                })?;
                RoleName::parse(prefix)
                    .map(|name| Self::Prefix(String::from(name)))
                    .map_err(|e| format!("the prefix of `{value}` {e}"))
            }
        }
    }

    /// Whether the filter lets nothing through (the default).
    pub fn is_none(&self) -> bool {
        *self == Self::None
    }

    /// Whether a name passes the filter.
    pub fn allows(&self, name: &str) -> bool {
        match self {
            Self::None => false,
            Self::All => true,
            Self::Prefix(prefix) => name.starts_with(prefix.as_str()),
        }
    }
}

impl TryFrom<String> for ReleaseFilter {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(&value)
    }
}

impl From<ReleaseFilter> for String {
    fn from(value: ReleaseFilter) -> String {
        value.to_string()
    }
}

impl fmt::Display for ReleaseFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("none"),
            Self::All => f.write_str("all"),
            Self::Prefix(prefix) => write!(f, "{prefix}*"),
        }
    }
}

/// A role: a named permission. Users hold roles directly or through their groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRecord {
    /// The role's name, as tokens carry it.
    pub name: RoleName,
    /// What the role allows, for operators.
    #[serde(default)]
    pub description: Option<String>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
}

/// A group of users that carries roles: each member holds the group's roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRecord {
    /// The group's name, as tokens carry it.
    pub name: GroupName,
    /// The roles every member holds.
    #[serde(default)]
    pub roles: Vec<RoleName>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
}

/// An end user. `username` is unique across the store.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Stable identifier, used as the `sub` claim.
    pub id: Subject,
    /// Unique login name.
    pub username: String,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the e-mail address was verified.
    #[serde(default)]
    pub email_verified: bool,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Roles held directly (more come from the groups).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<RoleName>,
    /// Groups the user belongs to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupName>,
    /// Further claims about the user (`given_name`, `locale`, `department`, `address.country`,
    /// ...), released by scope into ID tokens and userinfo.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// A disabled user cannot sign in or obtain tokens, and their access tokens are refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Access tokens of the user issued before this time (Unix seconds) are refused: set when
    /// the user is signed out everywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_not_before: Option<i64>,
    /// The account was made on the sign-up page and its address is not verified yet: while the
    /// server requires verification (`[registration] verify_email`), it cannot sign in.
    /// Verifying the address, or resetting the password through a mailed link, clears it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verification_pending: bool,
    /// Creation time, Unix seconds.
    pub created_at: i64,
}

impl fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("email", &self.email)
            .field("email_verified", &self.email_verified)
            .field("name", &self.name)
            .field("password_hash", &"<redacted>")
            .field("roles", &self.roles)
            .field("groups", &self.groups)
            .field("attributes", &self.attributes)
            .field("disabled", &self.disabled)
            .field("tokens_not_before", &self.tokens_not_before)
            .field("verification_pending", &self.verification_pending)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// An authorization code, keyed by the hash of the code value (CODE-7, TOK-10).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CodeRecord {
    /// Base64url SHA-256 of the code value; the raw code never reaches the store.
    pub code_hash: String,
    /// Client the code was issued to (CODE-4).
    pub client_id: ClientId,
    /// The user (`sub`).
    pub user_id: Subject,
    /// Grant revoked when the code is replayed (CODE-2).
    pub grant_id: String,
    /// Redirect URI of the authorization request (CODE-5).
    pub redirect_uri: RedirectUri,
    /// Granted scope (stored space separated).
    pub scope: Scope,
    /// OpenID Connect nonce.
    #[serde(default)]
    pub nonce: Option<String>,
    /// PKCE challenge.
    #[serde(default)]
    pub code_challenge: Option<String>,
    /// PKCE challenge method (`S256`).
    #[serde(default)]
    pub code_challenge_method: Option<CodeChallengeMethod>,
    /// Time the user authenticated, Unix seconds.
    pub auth_time: i64,
    /// Browser session id (for front/back-channel logout), not the session secret.
    #[serde(default)]
    pub sid: Option<String>,
    /// Resource indicators (RFC 8707) requested with the code.
    #[serde(default)]
    pub resource: Vec<String>,
    /// Free-form extra data (e.g. the `claims` request parameter, `acr`, `amr`).
    #[serde(default)]
    pub extra: serde_json::Value,
    /// Expiry, Unix seconds; a code is expired when `now >= expires_at`.
    pub expires_at: i64,
    /// When the code was consumed; set only by [`crate::store::CodeStore::consume_code`].
    #[serde(default)]
    pub consumed_at: Option<i64>,
}

impl CodeRecord {
    /// The upstream the user signed in through, kept in `extra` as `{"upstream": …}`.
    pub fn upstream(&self) -> Option<crate::store::FederatedSignIn> {
        self.extra
            .get("upstream")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }
}

/// One authorization of a client by a user (or one code redemption). Refresh-token families and
/// recorded access tokens hang off it and die with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRecord {
    /// Grant identifier.
    pub id: String,
    /// The client.
    pub client_id: ClientId,
    /// The user (`sub`).
    pub user_id: Subject,
    /// Granted scope (stored space separated).
    pub scope: Scope,
    /// Time the user authenticated, Unix seconds.
    pub auth_time: i64,
    /// Browser session id, if any.
    #[serde(default)]
    pub sid: Option<String>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Revocation time; set only by `revoke_grant` / `withdraw_consent`.
    #[serde(default)]
    pub revoked_at: Option<i64>,
}

/// Lifecycle state of a refresh token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshStatus {
    /// May be presented once more.
    Active,
    /// Already exchanged for a successor; presenting it again is reuse (RT-3).
    Rotated,
    /// Revoked explicitly or with its grant.
    Revoked,
}

impl RefreshStatus {
    /// The value stored in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Rotated => "rotated",
            Self::Revoked => "revoked",
        }
    }

    /// Parses a stored `status` value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "rotated" => Some(Self::Rotated),
            "revoked" => Some(Self::Revoked),
            _ => None,
        }
    }
}

/// A refresh token, keyed by the hash of its value (TOK-10).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshRecord {
    /// Base64url SHA-256 of the token value.
    pub token_hash: String,
    /// Owning grant (the family); must exist and not be revoked when inserted.
    pub grant_id: String,
    /// Client the token was issued to (RT-1).
    pub client_id: ClientId,
    /// The user (`sub`).
    pub user_id: Subject,
    /// Scope, identical across rotations (RT-6; stored space separated).
    pub scope: Scope,
    /// Issue time, Unix seconds.
    pub issued_at: i64,
    /// Inactivity expiry of this token, Unix seconds (`now >= expires_at` is expired).
    pub expires_at: i64,
    /// Absolute expiry of the family, Unix seconds (RT-7); rows are kept until then (DUR-4).
    pub absolute_expires_at: i64,
    /// Time the user authenticated, Unix seconds.
    pub auth_time: i64,
    /// Browser session id, if any.
    #[serde(default)]
    pub sid: Option<String>,
    /// Lifecycle state; the store forces `Active` on insertion.
    pub status: RefreshStatus,
    /// The upstream the user signed in through, if not with a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<crate::store::FederatedSignIn>,
}

/// A user's standing consent for a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    /// The user.
    pub user_id: Subject,
    /// The client.
    pub client_id: ClientId,
    /// Consented scopes, space separated, in first-consented order without duplicates. Kept as
    /// text rather than a [`Scope`] (a sorted set) because the order is part of the record;
    /// [`ConsentRecord::scope_set`] parses it.
    pub scope: String,
    /// First consent, Unix seconds.
    pub created_at: i64,
    /// Last change, Unix seconds.
    pub updated_at: i64,
}

impl ConsentRecord {
    /// The consented scopes as a set; [`StoreError::Corrupt`](crate::store::StoreError::Corrupt)
    /// if the stored text is not a valid scope.
    pub fn scope_set(&self) -> Result<Scope, crate::store::StoreError> {
        Scope::parse(&self.scope).map_err(|e| {
            crate::store::StoreError::Corrupt(format!(
                "consent of {} for {}: {e}",
                self.user_id, self.client_id
            ))
        })
    }
}

/// A browser login session, keyed by the hash of the session cookie value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Base64url SHA-256 of the session id held in the cookie.
    pub id_hash: String,
    /// The user.
    pub user_id: Subject,
    /// Time the user authenticated, Unix seconds.
    pub auth_time: i64,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Expiry, Unix seconds; `get_session` returns `None` once `now >= expires_at`.
    pub expires_at: i64,
    /// The upstream the user signed in through, if not with a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<crate::store::FederatedSignIn>,
    /// The `sid` claim of tokens issued in this session (derived from the cookie value, so it
    /// cannot be recomputed from `id_hash`): lets an operator ending the session revoke the
    /// grants issued under it. `None` for sessions stored before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// A signing key with its rotation schedule. `private_jwk` is secret key material.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKeyRecord {
    /// Key id.
    pub kid: String,
    /// The one JWS algorithm this key is bound to.
    pub alg: String,
    /// Private JWK as JSON text.
    pub private_jwk: String,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Time from which the key signs, Unix seconds.
    pub activate_at: i64,
    /// Time from which the key no longer signs (still published).
    #[serde(default)]
    pub retire_at: Option<i64>,
    /// Time from which the key is no longer published.
    #[serde(default)]
    pub expire_at: Option<i64>,
}

impl SigningKeyRecord {
    /// Whether the key is in the published JWKS at `now` (until `expire_at`).
    pub fn is_published(&self, now: i64) -> bool {
        self.expire_at.is_none_or(|e| now < e)
    }

    /// Whether the key signs at `now`: from `activate_at` until `retire_at`, while published.
    pub fn signs_at(&self, now: i64) -> bool {
        self.activate_at <= now && self.retire_at.is_none_or(|r| now < r) && self.is_published(now)
    }
}

impl fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private_jwk", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("activate_at", &self.activate_at)
            .field("retire_at", &self.retire_at)
            .field("expire_at", &self.expire_at)
            .finish()
    }
}

/// Result of [`crate::store::CodeStore::consume_code`].
#[derive(Clone, Debug, PartialEq)]
pub enum ConsumeOutcome<T> {
    /// First redemption of an unexpired code; the record has `consumed_at` set.
    Consumed(T),
    /// The code was already consumed (even if it has since expired): the caller revokes the
    /// grant (CODE-2). The record carries the first `consumed_at`.
    AlreadyConsumed(T),
    /// Unconsumed but expired (CODE-6).
    Expired,
    /// Unknown (or garbage-collected) code.
    NotFound,
}

/// Result of [`crate::store::RefreshStore::rotate_refresh`].
#[derive(Clone, Debug, PartialEq)]
pub enum RotateOutcome {
    /// The old token was active and unexpired; it is now `Rotated` and the successor is stored.
    /// Carries the old record as it was before rotation.
    Rotated(RefreshRecord),
    /// The old token was already rotated or revoked: reuse (RT-3). The caller revokes the grant.
    Reused(RefreshRecord),
    /// The old token is active but past `expires_at` or `absolute_expires_at`.
    Expired,
    /// Unknown (or garbage-collected) token.
    NotFound,
}

/// Counts of rows removed by [`crate::store::Maintenance::gc`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Rows deleted across all tables.
    pub deleted: u64,
}

/// One entry of the resource servers' denylist.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum MirrorEntry {
    /// A revoked access token, refused until `keep_until`.
    Jti {
        /// The token's `jti`.
        jti: String,
        /// Until when it is refused (its `exp` plus the validators' leeway).
        keep_until: i64,
    },
    /// Every access token of `sub` issued before `not_before` is refused, until `keep_until`.
    Subject {
        /// The subject.
        sub: String,
        /// Tokens issued earlier are refused.
        not_before: i64,
        /// Until when the marker is kept.
        keep_until: i64,
    },
}

impl MirrorEntry {
    /// Until when the entry must be kept.
    pub fn keep_until(&self) -> i64 {
        match self {
            Self::Jti { keep_until, .. } | Self::Subject { keep_until, .. } => *keep_until,
        }
    }

    /// The kind as stored (`jti` or `subject`) and the name (the `jti` or the subject).
    pub(crate) fn kind_and_name(&self) -> (&'static str, &str) {
        match self {
            Self::Jti { jti, .. } => ("jti", jti),
            Self::Subject { sub, .. } => ("subject", sub),
        }
    }

    /// Rebuilds an entry from its stored columns.
    pub(crate) fn from_parts(
        kind: &str,
        name: String,
        not_before: i64,
        keep_until: i64,
    ) -> Result<Self, super::StoreError> {
        match kind {
            "jti" => Ok(Self::Jti {
                jti: name,
                keep_until,
            }),
            "subject" => Ok(Self::Subject {
                sub: name,
                not_before,
                keep_until,
            }),
            other => Err(super::StoreError::Corrupt(format!(
                "denylist queue entry of kind `{other}`"
            ))),
        }
    }

    /// The `not_before` of a subject marker, 0 for a `jti`.
    pub(crate) fn not_before(&self) -> i64 {
        match self {
            Self::Jti { .. } => 0,
            Self::Subject { not_before, .. } => *not_before,
        }
    }
}
