//! Token minting: RFC 9068 JWT access tokens and OpenID Connect ID tokens (nonce, at_hash,
//! auth_time, sid). Tokens this server signed are verified in [`super::verify`].

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_jose::{Algorithm, jwt};
use portcullis_types::{Audience, GrantType, Scope};
use serde::{Deserialize, Serialize};

use super::error::ProtocolError;
use super::identity::{Memberships, user_claims};
use super::secrets::random_id;
use crate::config::TokenKind;
use crate::state::AppState;
use crate::store::{ClientRecord, FederatedSignIn, UserRecord};
use crate::token_hook::{self, HookContext};

/// `typ` of access tokens (RFC 9068 §2.1).
pub(crate) const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The `amr` of a password sign-in (RFC 8176 `pwd`). The server has no authentication levels,
/// so it states no `acr`.
pub(crate) const PASSWORD_AMR: &str = "pwd";

/// The `amr` claim of a token for a user who signed in at `auth_time`; none for client tokens.
/// A sign-in through an upstream carries the methods the upstream reported (RFC 8176 values
/// from its ID token), or `fed` when it reported none; otherwise `pwd`.
pub(crate) fn user_amr(
    auth_time: Option<i64>,
    upstream: Option<&FederatedSignIn>,
) -> Option<Vec<String>> {
    auth_time.map(|_| match upstream {
        Some(up) => up.amr.clone(),
        None => vec![PASSWORD_AMR.to_owned()],
    })
}

/// Claims of an access token this server issues.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AccessTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Subject: the user, or the client for client_credentials.
    pub sub: String,
    /// Audience: a string or an array.
    pub aud: Audience,
    /// Expiry.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Token id (denylist key).
    pub jti: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// Space-separated scope.
    #[serde(default)]
    pub scope: String,
    /// When the user authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// How the user authenticated (RFC 8176; RFC 9068 §2.2.1), for step-up checks (RS-8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// The upstream identity provider the user signed in through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    /// The subject's roles the client may see (RFC 9068 §2.2.3.1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// The subject's groups the client may see (RFC 9068 §2.2.3.1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Claims the token hooks added, none of them one of the above (see `crate::token_hook`).
    /// Not read back: verifying a token needs none of them.
    #[serde(flatten, skip_deserializing)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A freshly signed access token. `Debug` leaves the token itself out.
#[derive(Clone)]
pub(crate) struct IssuedAccessToken {
    /// The compact JWT.
    pub token: String,
    /// Its `jti`.
    pub jti: String,
    /// Its `exp`.
    pub exp: i64,
    /// Lifetime in seconds.
    pub expires_in: i64,
}

impl std::fmt::Debug for IssuedAccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedAccessToken")
            .field("token", &"<redacted>")
            .field("jti", &self.jti)
            .field("exp", &self.exp)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Whom an access token is for and what it carries besides the client's settings.
#[derive(Debug)]
pub(crate) struct AccessFor<'a> {
    /// The user, or the client itself for client credentials.
    pub sub: &'a str,
    /// The granted scope.
    pub scope: &'a Scope,
    /// When the user signed in (none for a client's own token).
    pub auth_time: Option<i64>,
    /// The upstream provider the user signed in through, if any.
    pub upstream: Option<&'a FederatedSignIn>,
    /// The roles and groups the client may see.
    pub memberships: Memberships,
    /// The grant it is issued under (for the token hooks).
    pub grant_type: GrantType,
}

/// Signs an access token (RFC 9068) for `who`, with the claims the token hooks add. Nothing is
/// written to the store here.
pub(crate) async fn issue_access_token(
    state: &AppState,
    client: &ClientRecord,
    who: AccessFor<'_>,
) -> Result<IssuedAccessToken, ProtocolError> {
    let AccessFor {
        sub,
        scope,
        auth_time,
        upstream,
        memberships,
        grant_type,
    } = who;
    let now = state.now();
    let ttl = client
        .access_token_ttl
        .unwrap_or(state.config.access_token_ttl);
    let audience = if client.audience.is_empty() {
        Audience::from(state.config.default_audience())
    } else {
        Audience::from(client.audience.as_slice())
    };
    let mut claims = AccessTokenClaims {
        iss: state.config.issuer.clone(),
        sub: sub.to_owned(),
        aud: audience,
        exp: now.saturating_add(ttl),
        iat: now,
        jti: random_id()?,
        client_id: client.client_id.to_string(),
        scope: scope.to_string(),
        auth_time,
        amr: user_amr(auth_time, upstream),
        idp: upstream.map(|u| u.idp.to_string()),
        roles: memberships.roles,
        groups: memberships.groups,
        extra: serde_json::Map::new(),
    };
    let hook = HookContext {
        grant_type,
        client,
        subject: sub,
        scope,
    };
    claims.extra = token_hook::extra_claims(state, TokenKind::Access, hook, &claims).await?;
    let key = state
        .keys
        .signing_key(state.config.access_token_alg)
        .await?;
    let token = jwt::encode(&key, ACCESS_TOKEN_TYP, &claims)?;
    Ok(IssuedAccessToken {
        token,
        jti: claims.jti,
        exp: claims.exp,
        expires_in: ttl,
    })
}

/// The hash used for `at_hash` with a given signing algorithm (OIDC Core §3.1.3.6).
fn half_hash(alg: Algorithm, value: &str) -> String {
    // Exhaustive on purpose: a new algorithm must state its hash here. EdDSA with Ed25519 uses
    // SHA-512 (OpenID Connect Core errata; the curve's own hash).
    let algorithm = match alg {
        Algorithm::RS256 | Algorithm::PS256 | Algorithm::ES256 | Algorithm::HS256 => {
            &digest::SHA256
        }
        Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 | Algorithm::HS384 => {
            &digest::SHA384
        }
        Algorithm::RS512 | Algorithm::PS512 | Algorithm::HS512 | Algorithm::EdDSA => {
            &digest::SHA512
        }
    };
    let d = digest::digest(algorithm, value.as_bytes());
    let bytes = d.as_ref();
    let half = bytes.get(..bytes.len() / 2).unwrap_or(bytes);
    URL_SAFE_NO_PAD.encode(half)
}

/// What goes into an ID token besides the user.
#[derive(Debug, Clone, Default)]
pub(crate) struct IdTokenContext<'a> {
    /// The request's nonce.
    pub nonce: Option<&'a str>,
    /// When the user authenticated.
    pub auth_time: Option<i64>,
    /// Session id.
    pub sid: Option<&'a str>,
    /// The access token issued alongside (for `at_hash`).
    pub access_token: Option<&'a str>,
    /// The upstream the user signed in through (`idp`, `amr`).
    pub upstream: Option<&'a FederatedSignIn>,
}

/// A signed ID token with its `jti` and expiry, for recording against its grant.
#[derive(Clone)]
pub(crate) struct IssuedIdToken {
    /// The compact JWS.
    pub token: String,
    /// Its `jti`.
    pub jti: String,
    /// Its `exp`.
    pub exp: i64,
}

impl std::fmt::Debug for IssuedIdToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedIdToken")
            .field("token", &"<redacted>")
            .field("jti", &self.jti)
            .field("exp", &self.exp)
            .finish()
    }
}

/// Signs an ID token for `user` and `client` with the client's registered algorithm (RS256 by
/// default). The user's claims follow the granted scope ([`user_claims`]). It carries a `jti`, which the caller
/// records against the grant in the access-token ledger: token exchange accepts an ID token as
/// subject only through that record, so revoking the grant reaches it. The token hooks add
/// their claims last.
pub(crate) async fn issue_id_token(
    state: &AppState,
    client: &ClientRecord,
    user: &UserRecord,
    scope: &Scope,
    ctx: IdTokenContext<'_>,
    grant_type: GrantType,
) -> Result<IssuedIdToken, ProtocolError> {
    let alg = client
        .id_token_signed_response_alg
        .unwrap_or(state.config.id_token_alg);
    let now = state.now();
    let mut claims = serde_json::Map::new();
    let mut put = |k: &str, v: serde_json::Value| {
        claims.insert(k.to_owned(), v);
    };
    put("iss", state.config.issuer.clone().into());
    put("sub", user.id.as_str().into());
    put("aud", Audience::from(client.client_id.as_str()).into());
    let exp = now.saturating_add(state.config.id_token_ttl);
    let jti = random_id()?;
    put("exp", exp.into());
    put("iat", now.into());
    put("jti", jti.clone().into());
    if let Some(t) = ctx.auth_time {
        put("auth_time", t.into());
    }
    if let Some(amr) = user_amr(ctx.auth_time, ctx.upstream) {
        put("amr", amr.into());
    }
    if let Some(up) = ctx.upstream {
        put("idp", up.idp.as_str().into());
    }
    if let Some(n) = ctx.nonce {
        put("nonce", n.into());
    }
    if let Some(s) = ctx.sid {
        put("sid", s.into());
    }
    if let Some(at) = ctx.access_token {
        put("at_hash", half_hash(alg, at).into());
    }
    for (k, v) in user_claims(user, scope, &state.config.scope_claims) {
        put(&k, v);
    }
    let hook = HookContext {
        grant_type,
        client,
        subject: user.id.as_str(),
        scope,
    };
    let added = token_hook::extra_claims(state, TokenKind::Id, hook, &claims).await?;
    claims.extend(added);
    let key = state.keys.signing_key(alg).await?;
    Ok(IssuedIdToken {
        token: jwt::encode(&key, "JWT", &claims)?,
        jti,
        exp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_uses_left_half() {
        // OIDC Core example style: left-most 128 bits of SHA-256, base64url.
        let h = half_hash(Algorithm::RS256, "abc");
        assert_eq!(h.len(), 22);
        assert_eq!(h, "ungWv48Bz-pBQUDeXa4iIw");
        assert_eq!(half_hash(Algorithm::EdDSA, "abc").len(), 43);
    }

    #[test]
    fn audience_shapes() {
        let one = Audience::from(["a".to_owned()].as_slice());
        assert_eq!(serde_json::Value::from(one), serde_json::json!("a"));
        let two = Audience::from(["a".to_owned(), "b".to_owned()].as_slice());
        assert_eq!(serde_json::Value::from(two), serde_json::json!(["a", "b"]));
    }
}
