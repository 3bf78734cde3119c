//! Records of federation: the upstream identity providers users may sign in with, the link
//! from an upstream account to a local user, and how a session was signed in through one.

use std::collections::BTreeMap;
use std::fmt;

use portcullis_types::{GroupName, Subject};
use serde::{Deserialize, Serialize};

/// Longest upstream id, in bytes.
pub const MAX_UPSTREAM_ID_LEN: usize = 64;

/// The id of an upstream provider: lowercase ASCII letters, digits, `-` and `_`, 1 to
/// [`MAX_UPSTREAM_ID_LEN`] bytes. It appears in URLs (`/upstream/{id}/callback`), in the
/// `idp_hint` parameter and in the `idp` claim, so nothing there needs escaping.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UpstreamId(String);

/// Why an upstream id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an upstream id must be 1-{MAX_UPSTREAM_ID_LEN} lowercase letters, digits, `-` or `_`")]
pub struct UpstreamIdError;

impl UpstreamId {
    /// Checks and wraps an id.
    pub fn parse(value: impl Into<String>) -> Result<Self, UpstreamIdError> {
        let value = value.into();
        let ok = !value.is_empty()
            && value.len() <= MAX_UPSTREAM_ID_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(value))
        } else {
            Err(UpstreamIdError)
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UpstreamId {
    type Error = UpstreamIdError;
    fn try_from(value: String) -> Result<Self, UpstreamIdError> {
        Self::parse(value)
    }
}

impl From<UpstreamId> for String {
    fn from(id: UpstreamId) -> Self {
        id.0
    }
}

impl fmt::Display for UpstreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for UpstreamId {
    type Err = UpstreamIdError;
    fn from_str(s: &str) -> Result<Self, UpstreamIdError> {
        Self::parse(s)
    }
}

/// What protocol an upstream speaks. The sign-in flow matches on this: the redirect-based
/// kinds (`oidc`, `github`) get a callback, a directory (`ldap`) gets a password form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[non_exhaustive]
pub enum UpstreamKind {
    /// Any OpenID provider, found through discovery at `issuer`.
    Oidc {
        /// The provider's issuer identifier; discovery is fetched from
        /// `{issuer}/.well-known/openid-configuration` and must name it exactly.
        issuer: String,
        /// Whether the userinfo endpoint is asked for claims after the ID token.
        #[serde(default)]
        userinfo: bool,
        /// The claim carrying the user's groups (default `groups`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        groups_claim: Option<String>,
    },
    /// GitHub (OAuth 2.0, REST API). `base_url` set: GitHub Enterprise Server laid out as
    /// `{base}/login/oauth/…` and `{base}/api/v3/…`; unset: github.com and api.github.com.
    Github {
        /// The Enterprise Server's base URL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        base_url: Option<String>,
        /// Organisations whose members may sign in (by login, compared without case); empty:
        /// every GitHub account. Asks for `read:org`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        allowed_orgs: Vec<String>,
    },
    /// An LDAP directory (OpenLDAP, Active Directory): the user's password is checked by a bind
    /// as the user's entry, found by a search as the service account (`client_id` is its bind
    /// DN, `client_secret` its password).
    Ldap(LdapSettings),
}

/// Where the user's directory groups are read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LdapGroups {
    /// An attribute of the user's entry listing the DNs of its groups (`memberOf`).
    Attribute(String),
    /// A search under `base` for the groups whose `filter` names the user (`{dn}`, the user's
    /// DN, escaped), e.g. `(member={dn})`.
    Search {
        /// Where the groups are.
        base: String,
        /// The filter, with `{dn}`.
        filter: String,
    },
}

/// Default user filter (OpenLDAP); Active Directory uses `(sAMAccountName={username})`.
pub const LDAP_DEFAULT_USER_FILTER: &str = "(uid={username})";
/// Default subject attribute (OpenLDAP, RFC 4530); Active Directory uses `objectGUID`.
pub const LDAP_DEFAULT_SUBJECT_ATTRIBUTE: &str = "entryUUID";
/// The subject "attribute" that stands for the entry's DN.
pub const LDAP_SUBJECT_DN: &str = "dn";
/// Default group-search filter.
pub const LDAP_DEFAULT_GROUP_FILTER: &str = "(member={dn})";
/// Default group attribute of a user entry.
pub const LDAP_DEFAULT_GROUP_ATTRIBUTE: &str = "memberOf";
/// Default time allowed for connecting and for each directory operation, in seconds.
pub const LDAP_DEFAULT_TIMEOUT_SECS: u64 = 5;

/// How to reach and read an LDAP directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LdapSettings {
    /// `ldap://host[:port]` or `ldaps://host[:port]`. Plain `ldap://` without StartTLS only to a
    /// loopback host.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS before binding.
    #[serde(default)]
    pub starttls: bool,
    /// A PEM file of the CA certificates the directory's certificate must chain to (default:
    /// the system's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// Where users are searched (subtree).
    pub user_base: String,
    /// The user search filter, `{username}` replaced by the typed username escaped per RFC
    /// 4515.
    pub user_filter: String,
    /// The attribute whose value is the account's stable id at the directory (`entryUUID`,
    /// `objectGUID`; a binary value as lowercase hex), or `dn` for the DN.
    pub subject_attribute: String,
    /// The e-mail address attribute.
    pub email_attribute: String,
    /// The display-name attribute.
    pub name_attribute: String,
    /// Where the groups come from; their names are the group entries' `cn`. (Not `groups`:
    /// the record's group mapping sits beside these settings in the stored document.)
    pub group_source: LdapGroups,
    /// Seconds allowed to connect, and for each operation.
    pub timeout_secs: u64,
}

impl LdapSettings {
    /// Settings with the defaults for an OpenLDAP directory at `url` with users under
    /// `user_base`.
    pub fn new(url: impl Into<String>, user_base: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            starttls: false,
            ca_file: None,
            user_base: user_base.into(),
            user_filter: LDAP_DEFAULT_USER_FILTER.into(),
            subject_attribute: LDAP_DEFAULT_SUBJECT_ATTRIBUTE.into(),
            email_attribute: "mail".into(),
            name_attribute: "cn".into(),
            group_source: LdapGroups::Attribute(LDAP_DEFAULT_GROUP_ATTRIBUTE.into()),
            timeout_secs: LDAP_DEFAULT_TIMEOUT_SECS,
        }
    }
}

impl UpstreamKind {
    /// The kind's name, as `--kind` and `kind =` spell it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Oidc { .. } => "oidc",
            Self::Github { .. } => "github",
            Self::Ldap(_) => "ldap",
        }
    }
}

/// An upstream identity provider. Stored as a JSON document keyed by `id`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamRecord {
    /// The upstream's id.
    pub id: UpstreamId,
    /// Protocol and where to find the provider.
    #[serde(flatten)]
    pub kind: UpstreamKind,
    /// What the sign-in button says (default: the id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// This server's client id at the upstream; for a directory, the service account's bind
    /// DN.
    pub client_id: String,
    /// The stored form of the client secret at the upstream (for a directory, the service
    /// account's password): sealed under the key-encryption key when one is configured. Never
    /// printed.
    pub client_secret: String,
    /// Scopes asked for besides the kind's own (`openid email profile`; `read:user
    /// user:email`, plus `read:org` when teams are mapped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Whether a verified e-mail address from this upstream may link to the local user holding
    /// the same address. Off: every new upstream account gets a new local user.
    #[serde(default)]
    pub trust_email: bool,
    /// Whether this is the only way in: the login page skips the choice and the password form
    /// and goes straight to the upstream.
    #[serde(default)]
    pub only: bool,
    /// Upstream group (an OIDC `groups` value; a GitHub team as `org/team-slug`) → local
    /// group. Unlisted upstream groups are ignored.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub groups: BTreeMap<String, GroupName>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
}

impl UpstreamRecord {
    /// The label of the sign-in button.
    pub fn label(&self) -> &str {
        self.display_name.as_deref().unwrap_or(self.id.as_str())
    }
}

impl fmt::Debug for UpstreamRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamRecord")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("display_name", &self.display_name)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("trust_email", &self.trust_email)
            .field("only", &self.only)
            .field("groups", &self.groups)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// The link from an account at an upstream to a local user: `(upstream_id, subject)` is
/// unique, so one upstream account signs in as exactly one local user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamLinkRecord {
    /// The upstream.
    pub upstream_id: UpstreamId,
    /// The account's stable id at the upstream (OIDC `sub`, GitHub numeric user id, the
    /// directory's subject attribute).
    pub subject: String,
    /// The local user.
    pub user_id: Subject,
    /// Creation time, Unix seconds.
    pub created_at: i64,
}

/// How a session, and the tokens issued from it, was signed in through an upstream: the
/// upstream's id (the `idp` claim) and the methods it used (the `amr` claim).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FederatedSignIn {
    /// The upstream's id.
    pub idp: UpstreamId,
    /// The authentication methods, RFC 8176 values.
    pub amr: Vec<String>,
}
