//! Registration fixtures: a client description builder, users with cheap password hashes, and
//! RFC 7523 client assertions for `private_key_jwt` tests.

use anyhow::anyhow;
use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use portcullis_jose::{SigningKey, UnixTime};
use portcullis_server::config::ClientConfig;
use portcullis_server::store::UserRecord;
use portcullis_types::{ClientId, ClientSecret, GrantType, RedirectUri, TokenEndpointAuthMethod};
use serde_json::json;

/// A client to register with [`crate::TestServer::add_client`].
#[derive(Debug, Clone, Default)]
pub struct ClientSpec {
    config: ClientConfig,
}

impl ClientSpec {
    /// A confidential client authenticating with `client_secret_basic` (or another secret
    /// method set with [`ClientSpec::auth_method`]).
    pub fn confidential(id: &str, secret: &str) -> Self {
        Self {
            config: ClientConfig {
                client_id: ClientId::new(id),
                secret: Some(ClientSecret::new(secret)),
                ..ClientConfig::default()
            },
        }
    }

    /// A public client (`token_endpoint_auth_method=none`).
    pub fn public(id: &str) -> Self {
        Self {
            config: ClientConfig {
                client_id: ClientId::new(id),
                ..ClientConfig::default()
            },
        }
    }

    /// A `private_key_jwt` client with a public JWK Set (JSON text).
    pub fn private_key_jwt(id: &str, jwks_json: &str) -> Self {
        Self {
            config: ClientConfig {
                client_id: ClientId::new(id),
                auth_method: Some(TokenEndpointAuthMethod::PrivateKeyJwt),
                jwks: Some(jwks_json.to_owned()),
                ..ClientConfig::default()
            },
        }
    }

    /// Adds a redirect URI.
    pub fn redirect_uri(mut self, uri: &str) -> Self {
        self.config.redirect_uris.push(RedirectUri::new(uri));
        self
    }

    /// Adds a post-logout redirect URI.
    pub fn post_logout_redirect_uri(mut self, uri: &str) -> Self {
        self.config
            .post_logout_redirect_uris
            .push(RedirectUri::new(uri));
        self
    }

    /// Sets the grant types.
    pub fn grant_types(mut self, grants: &[GrantType]) -> Self {
        self.config.grant_types = grants.to_vec();
        self
    }

    /// Sets the allowed scopes (space-separated).
    pub fn scope(mut self, scope: &str) -> Self {
        self.config.scope = Some(scope.to_owned());
        self
    }

    /// Sets the token endpoint authentication method.
    pub fn auth_method(mut self, method: TokenEndpointAuthMethod) -> Self {
        self.config.auth_method = Some(method);
        self
    }

    /// Sets the access-token audiences.
    pub fn audience(mut self, audience: &[&str]) -> Self {
        self.config.audience = audience.iter().map(|a| (*a).to_owned()).collect();
        self
    }

    /// Overrides the access-token lifetime.
    pub fn access_token_ttl(mut self, secs: i64) -> Self {
        self.config.access_token_ttl = Some(secs);
        self
    }

    /// Overrides the refresh-token lifetime.
    pub fn refresh_token_ttl(mut self, secs: i64) -> Self {
        self.config.refresh_token_ttl = Some(secs);
        self
    }

    /// Sets the ID-token signing algorithm.
    pub fn id_token_alg(mut self, alg: &str) -> Self {
        self.config.id_token_signed_response_alg = Some(alg.to_owned());
        self
    }

    /// Selects the named theme of its pages.
    pub fn theme(mut self, name: portcullis_server::theme::ThemeName) -> Self {
        self.config.theme = Some(name);
        self
    }

    /// The server's description of the client.
    pub fn into_config(self) -> ClientConfig {
        self.config
    }
}

/// An argon2id PHC string with the cheapest parameters the algorithm allows, so that test
/// logins are fast even in debug builds. The server reads the parameters from the string.
pub fn cheap_password_hash(password: &str) -> anyhow::Result<String> {
    let params = Params::new(8, 1, 1, None).map_err(|e| anyhow!("argon2 params: {e}"))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt_bytes = crate::pkce::random_bytes(16);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| anyhow!("salt: {e}"))?;
    argon
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow!("argon2: {e}"))
}

/// A user record named `username` (`<name>@example.com`, display name = username) with a fresh
/// id and a [`cheap_password_hash`] of `password`, created at `now` (Unix seconds).
pub fn user_record(username: &str, password: &str, now: i64) -> anyhow::Result<UserRecord> {
    Ok(UserRecord {
        id: format!("user-{}", crate::pkce::random_token(12)).into(),
        username: username.to_owned(),
        email: Some(format!("{username}@example.com")),
        email_verified: true,
        name: Some(username.to_owned()),
        password_hash: cheap_password_hash(password)?,
        roles: Vec::new(),
        groups: Vec::new(),
        attributes: Default::default(),
        disabled: false,
        tokens_not_before: None,
        verification_pending: false,
        created_at: now,
    })
}

/// A key pair for a `private_key_jwt` client: the signing key and its public JWK Set (JSON).
pub fn client_key(
    alg: portcullis_jose::Algorithm,
    kid: &str,
) -> anyhow::Result<(SigningKey, String)> {
    let key = SigningKey::generate(alg)
        .map_err(|e| anyhow!("generate: {e}"))?
        .with_kid(kid);
    let public = key
        .to_public_jwk()
        .ok_or_else(|| anyhow!("symmetric keys have no public JWK"))?;
    let jwks = json!({ "keys": [public] });
    Ok((key, jwks.to_string()))
}

/// Claims of an RFC 7523 client assertion; adjust fields to build negative cases.
#[derive(Debug, Clone)]
pub struct AssertionClaims {
    /// `iss`.
    pub iss: Option<String>,
    /// `sub`.
    pub sub: Option<String>,
    /// `aud` (a JSON value: string or array).
    pub aud: Option<serde_json::Value>,
    /// `exp`.
    pub exp: Option<i64>,
    /// `iat`.
    pub iat: Option<i64>,
    /// `jti`.
    pub jti: Option<String>,
}

impl AssertionClaims {
    /// Valid claims for `client_id` and `issuer` at `now`: 60-second lifetime, fresh `jti`.
    pub fn new(client_id: &str, issuer: &str, now: UnixTime) -> Self {
        Self {
            iss: Some(client_id.to_owned()),
            sub: Some(client_id.to_owned()),
            aud: Some(json!(issuer)),
            exp: Some(now.as_secs() + 60),
            iat: Some(now.as_secs()),
            jti: Some(crate::pkce::random_token(16)),
        }
    }

    /// Signs the assertion (typ `JWT`).
    pub fn sign(&self, key: &SigningKey) -> anyhow::Result<String> {
        let mut claims = serde_json::Map::new();
        let mut put = |name: &str, value: Option<serde_json::Value>| {
            if let Some(v) = value {
                claims.insert(name.to_owned(), v);
            }
        };
        put("iss", self.iss.clone().map(Into::into));
        put("sub", self.sub.clone().map(Into::into));
        put("aud", self.aud.clone());
        put("exp", self.exp.map(Into::into));
        put("iat", self.iat.map(Into::into));
        put("jti", self.jti.clone().map(Into::into));
        portcullis_jose::jwt::encode(key, "JWT", &serde_json::Value::Object(claims))
            .map_err(|e| anyhow!("sign: {e}"))
    }

    /// The form fields that carry the assertion.
    pub fn form_fields(assertion: &str) -> Vec<(String, String)> {
        vec![
            (
                "client_assertion_type".to_owned(),
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
            ),
            ("client_assertion".to_owned(), assertion.to_owned()),
        ]
    }
}

/// Decodes a JWT's header and claims WITHOUT verifying it (for asserting on token shape).
pub fn decode_jwt_parts(token: &str) -> anyhow::Result<(serde_json::Value, serde_json::Value)> {
    portcullis_jose::dangerous::decode_unverified(token).map_err(|e| anyhow!("decode: {e}"))
}
