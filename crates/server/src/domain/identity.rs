//! Who the user is inside a token: the roles and groups an access token carries (RFC 9068
//! §2.2.3.1), limited to what the client may see, and the claims each granted scope releases
//! into ID tokens and userinfo (OIDC Core §5.4), taken from the user's attributes.

use std::collections::{BTreeMap, BTreeSet};

use portcullis_types::{GroupName, RoleName, Scope};
use serde_json::Value;

use crate::store::prelude::*;
use crate::store::{ClientRecord, StoreResult, UserRecord};

/// Most roles one user may hold directly.
pub(crate) const MAX_USER_ROLES: usize = 256;
/// Most groups one user may belong to.
pub(crate) const MAX_USER_GROUPS: usize = 64;
/// Most roles one group or one client may hold.
pub(crate) const MAX_HOLDER_ROLES: usize = 256;
/// Most attributes one user may have.
pub(crate) const MAX_ATTRIBUTES: usize = 64;
/// Longest attribute value, in bytes.
pub(crate) const MAX_ATTRIBUTE_VALUE_LEN: usize = 1024;
/// Longest attribute name, in bytes.
pub(crate) const MAX_ATTRIBUTE_NAME_LEN: usize = 64;

/// The roles and groups an access token carries, sorted and without repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Memberships {
    /// `roles`.
    pub roles: Vec<String>,
    /// `groups`.
    pub groups: Vec<String>,
}

impl Memberships {
    /// Those of a user's access tokens for `client`: the user's own roles and those of each of
    /// their groups, then both lists passed through the client's release filters. A group that
    /// no longer exists adds nothing. Nothing is read when the client releases neither.
    pub(crate) async fn of_user(
        store: &dyn Store,
        client: &ClientRecord,
        user: &UserRecord,
    ) -> StoreResult<Self> {
        let wants_roles = !client.token_roles.is_none();
        if !wants_roles && client.token_groups.is_none() {
            return Ok(Self::default());
        }
        let groups: BTreeSet<&str> = user
            .groups
            .iter()
            .map(GroupName::as_str)
            .filter(|g| client.token_groups.allows(g))
            .collect();
        let roles = if wants_roles {
            effective_roles(store, user)
                .await?
                .into_iter()
                .map(String::from)
                .filter(|r| client.token_roles.allows(r))
                .collect()
        } else {
            Vec::new()
        };
        Ok(Self {
            roles,
            groups: groups.into_iter().map(str::to_owned).collect(),
        })
    }

    /// Those of a client's own (client-credentials) tokens: every role given to it as a
    /// service account. Its release filter is about users' roles and does not apply: the
    /// operator gave these roles to this very client.
    pub(crate) fn of_client(client: &ClientRecord) -> Self {
        let roles: BTreeSet<&str> = client.roles.iter().map(RoleName::as_str).collect();
        Self {
            roles: roles.into_iter().map(str::to_owned).collect(),
            groups: Vec::new(),
        }
    }
}

/// Every role a user holds: directly and through each group (groups that no longer exist add
/// nothing), sorted.
pub(crate) async fn effective_roles(
    store: &dyn Store,
    user: &UserRecord,
) -> StoreResult<Vec<RoleName>> {
    let mut roles: BTreeSet<RoleName> = user.roles.iter().cloned().collect();
    for group in &user.groups {
        if let Some(g) = store.get_group(group.as_str()).await? {
            roles.extend(g.roles);
        }
    }
    Ok(roles.into_iter().collect())
}

/// The claims of the `profile` scope (OIDC Core §5.4) an attribute may hold; `name` and
/// `preferred_username` come from the user record itself.
const PROFILE_ATTRIBUTES: [&str; 12] = [
    "family_name",
    "given_name",
    "middle_name",
    "nickname",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "updated_at",
];

/// The members of the `address` claim (OIDC Core §5.1.1), held as `address.<member>`.
const ADDRESS_MEMBERS: [&str; 6] = [
    "formatted",
    "street_address",
    "locality",
    "region",
    "postal_code",
    "country",
];

/// Claims an attribute can never be: the registered and protocol claims the server sets itself,
/// the claims it takes from the user record (`name`, `email`, ... are set with their own
/// options), and `address` (set through its members).
const RESERVED_ATTRIBUTES: [&str; 28] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "sid",
    "at_hash",
    "c_hash",
    "s_hash",
    "scope",
    "client_id",
    "cnf",
    "act",
    "may_act",
    "roles",
    "groups",
    "entitlements",
    "idp",
    "address",
    "email_verified",
    "preferred_username",
];

/// The scopes whose claims OpenID Connect defines; a custom scope may not reuse their names.
pub(crate) const STANDARD_SCOPES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
];

/// Why an attribute was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("attribute `{name}` {reason}")]
pub(crate) struct AttributeError {
    /// The attribute's name.
    pub(crate) name: String,
    /// What is wrong.
    pub(crate) reason: String,
}

fn attribute_error(name: &str, reason: impl Into<String>) -> AttributeError {
    AttributeError {
        name: name.to_owned(),
        reason: reason.into(),
    }
}

/// Checks an attribute name: 1-64 ASCII letters, digits, `_ - : .`, not a reserved claim;
/// `address.<member>` only for the members OIDC Core §5.1.1 defines.
pub(crate) fn check_attribute_name(name: &str) -> Result<(), AttributeError> {
    if name.is_empty() || name.len() > MAX_ATTRIBUTE_NAME_LEN {
        return Err(attribute_error(
            name,
            format!("needs a name of 1-{MAX_ATTRIBUTE_NAME_LEN} characters"),
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.'))
    {
        return Err(attribute_error(
            name,
            "may hold only letters, digits and _ - : .",
        ));
    }
    if matches!(name, "email" | "name") {
        return Err(attribute_error(
            name,
            format!("is set with --{name}, not as an attribute"),
        ));
    }
    if RESERVED_ATTRIBUTES.contains(&name) {
        return Err(attribute_error(
            name,
            "is a claim the server sets itself (use address.<member> for the address)",
        ));
    }
    if let Some(member) = name.strip_prefix("address.")
        && !ADDRESS_MEMBERS.contains(&member)
    {
        return Err(attribute_error(
            name,
            format!("is not an address member ({})", ADDRESS_MEMBERS.join(", ")),
        ));
    }
    Ok(())
}

/// Checks an attribute's name and value: the value at most 1 KiB without control characters
/// (line breaks allowed in the address), `phone_number_verified` `true` or `false`,
/// `updated_at` a Unix time.
pub(crate) fn check_attribute(name: &str, value: &str) -> Result<(), AttributeError> {
    check_attribute_name(name)?;
    if value.len() > MAX_ATTRIBUTE_VALUE_LEN {
        return Err(attribute_error(
            name,
            format!("is longer than {MAX_ATTRIBUTE_VALUE_LEN} bytes"),
        ));
    }
    let multiline = matches!(name, "address.formatted" | "address.street_address");
    if value
        .chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r')))
    {
        return Err(attribute_error(name, "contains a control character"));
    }
    match name {
        "phone_number_verified" if !matches!(value, "true" | "false") => {
            Err(attribute_error(name, "must be true or false"))
        }
        "updated_at" if value.parse::<u64>().is_err() => {
            Err(attribute_error(name, "must be a Unix time in seconds"))
        }
        _ => Ok(()),
    }
}

/// Checks a whole set of attributes (count and each one).
pub(crate) fn check_attributes(
    attributes: &BTreeMap<String, String>,
) -> Result<(), AttributeError> {
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(attribute_error(
            "*",
            format!("count exceeds {MAX_ATTRIBUTES}"),
        ));
    }
    attributes
        .iter()
        .try_for_each(|(name, value)| check_attribute(name, value))
}

/// An attribute as its claim value: booleans and times typed as OIDC Core §5.1 defines them,
/// everything else a string.
fn claim_value(name: &str, value: &str) -> Value {
    match name {
        "phone_number_verified" => Value::Bool(value == "true"),
        "updated_at" => value
            .parse::<u64>()
            .map_or_else(|_| Value::from(value), Value::from),
        _ => Value::from(value),
    }
}

/// The user claims a scope releases (OIDC Core §5.4), without `sub`: `profile` (the username,
/// the name and the profile attributes), `email`, `address` (an object of the `address.*`
/// attributes), `phone`, and each custom scope of `scope_claims` granted (the attributes it
/// names). Claims the user has no value for are left out.
pub(crate) fn user_claims(
    user: &UserRecord,
    scope: &Scope,
    scope_claims: &BTreeMap<String, Vec<String>>,
) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = Vec::new();
    let attr = |name: &str| user.attributes.get(name).map(|v| claim_value(name, v));
    if scope.contains("profile") {
        out.push(("preferred_username".into(), user.username.clone().into()));
        if let Some(name) = &user.name {
            out.push(("name".into(), name.clone().into()));
        }
        for claim in PROFILE_ATTRIBUTES {
            if let Some(v) = attr(claim) {
                out.push((claim.into(), v));
            }
        }
    }
    if let Some(email) = user.email.as_ref().filter(|_| scope.contains("email")) {
        out.push(("email".into(), email.clone().into()));
        out.push(("email_verified".into(), user.email_verified.into()));
    }
    if scope.contains("address") {
        let address: serde_json::Map<String, Value> = ADDRESS_MEMBERS
            .iter()
            .filter_map(|m| {
                user.attributes
                    .get(&format!("address.{m}"))
                    .map(|v| ((*m).to_owned(), Value::from(v.as_str())))
            })
            .collect();
        if !address.is_empty() {
            out.push(("address".into(), Value::Object(address)));
        }
    }
    if scope.contains("phone") {
        for claim in ["phone_number", "phone_number_verified"] {
            if let Some(v) = attr(claim) {
                out.push((claim.into(), v));
            }
        }
    }
    for (custom, claims) in scope_claims {
        if scope.contains(custom) {
            for claim in claims {
                if out.iter().any(|(k, _)| k == claim) {
                    continue;
                }
                if let Some(v) = attr(claim) {
                    out.push((claim.clone(), v));
                }
            }
        }
    }
    out
}

/// The scopes discovery advertises: the standard ones and every custom scope configured.
pub(crate) fn scopes_supported(config: &crate::config::ServerConfig) -> Vec<String> {
    STANDARD_SCOPES
        .iter()
        .map(|s| (*s).to_owned())
        .chain(config.scope_claims.keys().cloned())
        .collect()
}

/// The claims discovery advertises: those of ID tokens, the standard user claims, and those of
/// the custom scopes, without repeats.
pub(crate) fn claims_supported(config: &crate::config::ServerConfig) -> Vec<String> {
    let mut claims: Vec<String> = [
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "sid",
        "at_hash",
        "name",
        "preferred_username",
        "email",
        "email_verified",
        "address",
        "phone_number",
        "phone_number_verified",
    ]
    .iter()
    .chain(PROFILE_ATTRIBUTES.iter())
    .map(|c| (*c).to_owned())
    .chain(config.scope_claims.values().flatten().cloned())
    .collect();
    let mut seen = BTreeSet::new();
    claims.retain(|c| seen.insert(c.clone()));
    claims
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;
    use crate::store::{GroupRecord, ReleaseFilter, RoleRecord};

    fn user() -> UserRecord {
        let mut attributes = BTreeMap::new();
        for (k, v) in [
            ("given_name", "Ada"),
            ("locale", "en-GB"),
            ("updated_at", "1700000000"),
            ("address.country", "UK"),
            ("address.locality", "London"),
            ("phone_number", "+44 20 7946 0000"),
            ("phone_number_verified", "true"),
            ("department", "engines"),
        ] {
            attributes.insert(k.to_owned(), v.to_owned());
        }
        UserRecord {
            id: "u-ada".into(),
            username: "ada".into(),
            email: Some("ada@example.com".into()),
            email_verified: true,
            name: Some("Ada Lovelace".into()),
            password_hash: String::new(),
            roles: vec![
                RoleName::parse("orders:read").unwrap(),
                RoleName::parse("payroll:view").unwrap(),
            ],
            groups: vec![
                GroupName::parse("ops").unwrap(),
                GroupName::parse("gone").unwrap(),
            ],
            attributes,
            disabled: false,
            tokens_not_before: None,
            verification_pending: false,
            created_at: 0,
        }
    }

    fn client(roles: ReleaseFilter, groups: ReleaseFilter) -> ClientRecord {
        let mut c: ClientRecord = serde_json::from_value(serde_json::json!({
            "client_id": "app",
            "token_endpoint_auth_method": "none",
            "created_at": 0,
        }))
        .unwrap();
        c.token_roles = roles;
        c.token_groups = groups;
        c
    }

    async fn store() -> MemoryStore {
        let s = MemoryStore::new();
        s.insert_group(GroupRecord {
            name: GroupName::parse("ops").unwrap(),
            roles: vec![
                RoleName::parse("orders:write").unwrap(),
                RoleName::parse("admin").unwrap(),
            ],
            created_at: 0,
        })
        .await
        .unwrap();
        s.insert_role(RoleRecord {
            name: RoleName::parse("orders:read").unwrap(),
            description: None,
            created_at: 0,
        })
        .await
        .unwrap();
        s
    }

    #[tokio::test]
    async fn roles_come_from_the_user_and_groups_through_the_filter() {
        let s = store().await;
        let all =
            Memberships::of_user(&s, &client(ReleaseFilter::All, ReleaseFilter::All), &user())
                .await
                .unwrap();
        assert_eq!(
            all.roles,
            ["admin", "orders:read", "orders:write", "payroll:view"]
        );
        assert_eq!(all.groups, ["gone", "ops"]);
        let orders = Memberships::of_user(
            &s,
            &client(ReleaseFilter::Prefix("orders:".into()), ReleaseFilter::None),
            &user(),
        )
        .await
        .unwrap();
        assert_eq!(orders.roles, ["orders:read", "orders:write"]);
        assert!(orders.groups.is_empty());
        let none = Memberships::of_user(
            &s,
            &client(ReleaseFilter::None, ReleaseFilter::None),
            &user(),
        )
        .await
        .unwrap();
        assert_eq!(none, Memberships::default());
        let effective = effective_roles(&s, &user()).await.unwrap();
        assert_eq!(effective.len(), 4);
    }

    #[test]
    fn a_service_account_carries_its_own_roles() {
        let mut c = client(ReleaseFilter::None, ReleaseFilter::None);
        c.roles = vec![
            RoleName::parse("reports:run").unwrap(),
            RoleName::parse("reports:run").unwrap(),
        ];
        assert_eq!(Memberships::of_client(&c).roles, ["reports:run"]);
    }

    #[test]
    fn each_scope_releases_its_claims() {
        let u = user();
        let none = BTreeMap::new();
        let claims = |scope: &str, custom: &BTreeMap<String, Vec<String>>| {
            serde_json::Value::Object(
                user_claims(&u, &Scope::parse(scope).unwrap(), custom)
                    .into_iter()
                    .collect(),
            )
        };
        assert_eq!(claims("openid", &none), serde_json::json!({}));
        assert_eq!(
            claims("openid profile", &none),
            serde_json::json!({
                "preferred_username": "ada", "name": "Ada Lovelace", "given_name": "Ada",
                "locale": "en-GB", "updated_at": 1_700_000_000
            })
        );
        assert_eq!(
            claims("openid address phone", &none),
            serde_json::json!({
                "address": {"country": "UK", "locality": "London"},
                "phone_number": "+44 20 7946 0000", "phone_number_verified": true
            })
        );
        assert_eq!(
            claims("openid email", &none),
            serde_json::json!({"email": "ada@example.com", "email_verified": true})
        );
        let mut custom = BTreeMap::new();
        custom.insert(
            "hr".to_owned(),
            vec!["department".to_owned(), "cost_center".to_owned()],
        );
        assert_eq!(
            claims("openid hr", &custom),
            serde_json::json!({"department": "engines"})
        );
        assert_eq!(claims("openid", &custom), serde_json::json!({}));
    }

    #[test]
    fn attributes_are_checked() {
        assert!(check_attribute("given_name", "Ada").is_ok());
        assert!(check_attribute("address.country", "UK").is_ok());
        assert!(check_attribute("address.street_address", "1 Main St\nFlat 2").is_ok());
        for (name, value) in [
            ("sub", "x"),
            ("roles", "admin"),
            ("email", "a@b"),
            ("address", "x"),
            ("address.planet", "Mars"),
            ("", "x"),
            ("a b", "x"),
            ("given_name", "A\u{0}"),
            ("given_name", "line\nbreak"),
            ("phone_number_verified", "yes"),
            ("updated_at", "yesterday"),
        ] {
            assert!(check_attribute(name, value).is_err(), "{name}={value:?}");
        }
        assert!(check_attribute("department", &"x".repeat(1025)).is_err());
    }
}
