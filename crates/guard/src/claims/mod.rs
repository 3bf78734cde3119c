//! The verified claims of an access token, with the common shapes mapped: `scope` strings and
//! `scp` arrays, configurable roles, groups and name claims, client tokens told apart from user
//! tokens (RS-7), and how the user authenticated (`acr`, `amr`, `auth_time`) for step-up
//! requirements (RS-8).

mod mapping;

pub(crate) use mapping::{ClaimMapping, ClaimPath};

use crate::rejection::FailureReason;
use portcullis_types::{Audience, Scope};
use serde_json::Value;

/// The claims of a verified access token. Only the guard creates it, after the signature,
/// issuer, audience, type, times and revocation status were checked.
#[derive(Debug, Clone)]
pub struct AccessClaims {
    pub(crate) iss: String,
    pub(crate) sub: Option<String>,
    pub(crate) aud: Audience,
    pub(crate) exp: i64,
    pub(crate) iat: Option<i64>,
    pub(crate) jti: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) scope: Scope,
    pub(crate) roles: Vec<String>,
    pub(crate) groups: Vec<String>,
    pub(crate) name: Option<String>,
    pub(crate) authentication: UserAuthentication,
    pub(crate) raw: Value,
}

/// How and when the user authenticated, as the token states it (RFC 9068 §2.2.1, OIDC Core §2).
#[derive(Debug, Clone, Default)]
pub(crate) struct UserAuthentication {
    /// `acr`: the authentication context class satisfied.
    pub(crate) acr: Option<String>,
    /// `amr`: the authentication methods used.
    pub(crate) amr: Vec<String>,
    /// `auth_time`: when the user authenticated, seconds since the epoch.
    pub(crate) auth_time: Option<i64>,
}

/// The registered claims already checked by the validator or the introspection endpoint.
pub(crate) struct Registered {
    pub(crate) iss: String,
    pub(crate) sub: Option<String>,
    pub(crate) aud: Audience,
    pub(crate) exp: i64,
    pub(crate) iat: Option<i64>,
    pub(crate) jti: Option<String>,
}

impl AccessClaims {
    /// Maps the whole claims object; a known claim of the wrong type is an error (RS-9).
    pub(crate) fn map(
        registered: Registered,
        raw: Value,
        mapping: &ClaimMapping,
    ) -> Result<Self, FailureReason> {
        let client_id = match raw.get("client_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(FailureReason::InvalidClaim("client_id")),
        };
        let scope = scopes(&raw)?;
        let membership = mapping.read(&raw)?;
        let authentication = authentication(&raw)?;
        Ok(Self {
            iss: registered.iss,
            sub: registered.sub,
            aud: registered.aud,
            exp: registered.exp,
            iat: registered.iat,
            jti: registered.jti,
            client_id,
            scope,
            roles: membership.roles,
            groups: membership.groups,
            name: membership.name,
            authentication,
            raw,
        })
    }

    /// The issuer (`iss`), already compared with the configured issuer.
    pub fn issuer(&self) -> &str {
        &self.iss
    }

    /// The subject (`sub`) exactly as issued. For a client-credentials token this names the
    /// client, not a user: use [`AccessClaims::user_id`] to act for a user.
    pub fn subject(&self) -> Option<&str> {
        self.sub.as_deref()
    }

    /// The user the token acts for: `sub`, unless this is a client token (RS-7).
    pub fn user_id(&self) -> Option<&str> {
        if self.is_client_token() {
            None
        } else {
            self.sub.as_deref()
        }
    }

    /// The client the token was issued to (`client_id`, RFC 9068).
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// Whether the token was issued to a client acting for itself (client credentials): it has
    /// no subject, or its subject is its `client_id` (RFC 9068 §2.2). Such a token must never
    /// be given a user's data, even if a user has the same identifier (RS-7).
    pub fn is_client_token(&self) -> bool {
        match (&self.sub, &self.client_id) {
            (None, _) => true,
            (Some(sub), Some(client)) => sub == client,
            (Some(_), None) => false,
        }
    }

    /// The audiences of the token.
    pub fn audience(&self) -> &[String] {
        self.aud.as_slice()
    }

    /// Expiry, seconds since the epoch.
    pub fn expires_at(&self) -> i64 {
        self.exp
    }

    /// Issued-at, seconds since the epoch, when present.
    pub fn issued_at(&self) -> Option<i64> {
        self.iat
    }

    /// The token identifier (`jti`), safe to log.
    pub fn jti(&self) -> Option<&str> {
        self.jti.as_deref()
    }

    /// The granted scopes, from `scope` (space-separated) and `scp` (array or string).
    pub fn scopes(&self) -> &Scope {
        &self.scope
    }

    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.contains(scope)
    }

    /// The roles found at the configured roles claim (default `roles`, RFC 9068 §2.2.3.1).
    pub fn roles(&self) -> &[String] {
        &self.roles
    }

    /// Whether the token carries `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// The groups found at the configured groups claim (default `groups`, RFC 9068 §2.2.3.1).
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// Whether the token names `group` among its groups.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    /// The name found at the configured name claim (default `name`, the End-User's display name
    /// of OpenID Connect Core §5.1), when the token states one. For greetings and logs only: it
    /// is not unique and may change, so decisions about who the caller is use
    /// [`AccessClaims::user_id`] (RS-7).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The authentication context class the user's sign-in satisfied (`acr`), when stated.
    pub fn acr(&self) -> Option<&str> {
        self.authentication.acr.as_deref()
    }

    /// The authentication methods of the user's sign-in (`amr`, RFC 8176), empty when unstated.
    pub fn amr(&self) -> &[String] {
        &self.authentication.amr
    }

    /// When the user authenticated (`auth_time`), seconds since the epoch, when stated.
    pub fn auth_time(&self) -> Option<i64> {
        self.authentication.auth_time
    }

    /// The whole claims object, for claims the guard does not map.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// A claim by name.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.raw.get(name)
    }

    /// A log-safe identifier of the token: its `jti` when present.
    pub(crate) fn token_id(&self) -> Option<String> {
        self.jti.as_ref().map(|j| format!("jti:{j}"))
    }
}

fn scopes(raw: &Value) -> Result<Scope, FailureReason> {
    let mut tokens: Vec<String> = Vec::new();
    match raw.get("scope") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            tokens.extend(s.split(' ').filter(|t| !t.is_empty()).map(str::to_owned))
        }
        Some(_) => return Err(FailureReason::InvalidClaim("scope")),
    }
    match raw.get("scp") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            tokens.extend(s.split(' ').filter(|t| !t.is_empty()).map(str::to_owned))
        }
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::String(s) => tokens.push(s.clone()),
                    _ => return Err(FailureReason::InvalidClaim("scp")),
                }
            }
        }
        Some(_) => return Err(FailureReason::InvalidClaim("scp")),
    }
    Scope::from_tokens(&tokens).map_err(|_| FailureReason::InvalidClaim("scope"))
}

fn authentication(raw: &Value) -> Result<UserAuthentication, FailureReason> {
    let acr = match raw.get("acr") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(FailureReason::InvalidClaim("acr")),
    };
    let amr = match raw.get("amr") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                _ => Err(FailureReason::InvalidClaim("amr")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(FailureReason::InvalidClaim("amr")),
    };
    let auth_time = match raw.get("auth_time") {
        None | Some(Value::Null) => None,
        Some(value) => Some(numeric_date(value, "auth_time")?),
    };
    Ok(UserAuthentication {
        acr,
        amr,
        auth_time,
    })
}

/// A NumericDate (RFC 7519 §2): a finite JSON number, floored, within `i64`, read the way the
/// validator reads `exp`.
fn numeric_date(value: &Value, name: &'static str) -> Result<i64, FailureReason> {
    // i64::MIN is exactly representable; i64::MAX rounds up to 2^63, which is out of range.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    let number = value.as_number().ok_or(FailureReason::InvalidClaim(name))?;
    if let Some(i) = number.as_i64() {
        return Ok(i);
    }
    let floored = number
        .as_f64()
        .map(f64::floor)
        .filter(|f| f.is_finite() && (-LIMIT..LIMIT).contains(f))
        .ok_or(FailureReason::InvalidClaim(name))?;
    // The range check above keeps this conversion exact and in bounds.
    #[allow(clippy::cast_possible_truncation)]
    Ok(floored as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn registered(sub: Option<&str>) -> Registered {
        Registered {
            iss: "https://as".into(),
            sub: sub.map(str::to_owned),
            aud: Audience::from("api"),
            exp: 10,
            iat: None,
            jti: Some("j1".into()),
        }
    }

    /// The default mapping, with the roles read from `p`.
    fn path(p: &str) -> ClaimMapping {
        ClaimMapping {
            roles: ClaimPath::parse(p).unwrap(),
            groups: ClaimPath::parse("groups").unwrap(),
            name: ClaimPath::parse("name").unwrap(),
        }
    }

    #[test]
    fn scope_string_and_scp_array_are_merged() {
        let raw = json!({"scope": "a b", "scp": ["c"]});
        let claims = AccessClaims::map(registered(Some("u")), raw, &path("roles")).unwrap();
        assert!(claims.has_scope("a") && claims.has_scope("b") && claims.has_scope("c"));
        assert!(!claims.has_scope("d"));
    }

    #[test]
    fn rs_9_wrongly_typed_scope_is_an_error() {
        for raw in [
            json!({"scope": 3}),
            json!({"scp": [1]}),
            json!({"scp": {"a": 1}}),
        ] {
            assert!(AccessClaims::map(registered(None), raw, &path("roles")).is_err());
        }
        assert!(
            AccessClaims::map(registered(None), json!({"client_id": 5}), &path("roles")).is_err()
        );
    }

    #[test]
    fn rs_8_authentication_claims_are_mapped_and_typed() {
        let raw = json!({"acr": "mfa", "amr": ["pwd", "otp"], "auth_time": 7});
        let claims = AccessClaims::map(registered(Some("u")), raw, &path("roles")).unwrap();
        assert_eq!(claims.acr(), Some("mfa"));
        assert_eq!(claims.amr(), ["pwd", "otp"]);
        assert_eq!(claims.auth_time(), Some(7));
        for raw in [
            json!({"acr": 1}),
            json!({"amr": "pwd"}),
            json!({"amr": [1]}),
            json!({"auth_time": "7"}),
            json!({"auth_time": 1e300}),
            json!({"auth_time": u64::MAX}),
        ] {
            assert!(AccessClaims::map(registered(Some("u")), raw, &path("roles")).is_err());
        }
        // A NumericDate may have a fraction; it is floored like `exp`.
        let claims = AccessClaims::map(
            registered(Some("u")),
            json!({"auth_time": 7.9}),
            &path("roles"),
        )
        .unwrap();
        assert_eq!(claims.auth_time(), Some(7));
    }

    #[test]
    fn nested_roles_path() {
        let raw = json!({"realm_access": {"roles": ["admin", "viewer"]}});
        let claims =
            AccessClaims::map(registered(Some("u")), raw, &path("realm_access.roles")).unwrap();
        assert!(claims.has_role("admin"));
        assert!(!claims.has_role("root"));
        let raw = json!({"realm_access": {"roles": [true]}});
        assert!(
            AccessClaims::map(registered(Some("u")), raw, &path("realm_access.roles")).is_err()
        );
    }

    #[test]
    fn rs_7_client_tokens_are_distinguishable() {
        let client = AccessClaims::map(
            registered(Some("svc")),
            json!({"client_id": "svc"}),
            &path("roles"),
        )
        .unwrap();
        assert!(client.is_client_token());
        assert_eq!(client.user_id(), None);
        let user = AccessClaims::map(
            registered(Some("alice")),
            json!({"client_id": "spa"}),
            &path("roles"),
        )
        .unwrap();
        assert!(!user.is_client_token());
        assert_eq!(user.user_id(), Some("alice"));
        let no_sub = AccessClaims::map(
            registered(None),
            json!({"client_id": "svc"}),
            &path("roles"),
        )
        .unwrap();
        assert!(no_sub.is_client_token());
    }

    #[test]
    fn groups_and_name_are_mapped_and_typed() {
        let raw = json!({"roles": ["orders:write"], "groups": ["staff"], "name": "Alice"});
        let claims = AccessClaims::map(registered(Some("alice")), raw, &path("roles")).unwrap();
        assert_eq!(claims.roles(), ["orders:write"]);
        assert_eq!(claims.groups(), ["staff"]);
        assert!(claims.in_group("staff") && !claims.in_group("orders:write"));
        assert_eq!(claims.name(), Some("Alice"));
        // The name is a label, never the identity.
        assert_eq!(claims.user_id(), Some("alice"));

        let bare = AccessClaims::map(registered(Some("alice")), json!({}), &path("roles")).unwrap();
        assert!(bare.groups().is_empty());
        assert_eq!(bare.name(), None);

        for (raw, claim) in [
            (json!({"groups": [1]}), "groups"),
            (json!({"groups": {"staff": true}}), "groups"),
            (json!({"name": ["Alice"]}), "name"),
        ] {
            match AccessClaims::map(registered(Some("alice")), raw, &path("roles")) {
                Err(FailureReason::InvalidClaim(found)) => assert_eq!(found, claim),
                other => panic!("{claim}: expected an invalid claim, got {other:?}"),
            }
        }
    }
}
