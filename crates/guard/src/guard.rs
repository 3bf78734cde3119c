//! The [`Guard`]: validated configuration plus the verification pipeline shared by the layer
//! and the extractors — find the token, verify it, map its claims, check revocation, report.

use crate::claims::{AccessClaims, ClaimMapping, ClaimPath, Registered};
use crate::config::{
    FailedHook, GuardBuilder, KeySource, NoAudience, NoIssuer, Options, Revocation, ValidatedHook,
};
use crate::error::ConfigError;
use crate::keys::KeyStore;
#[cfg(feature = "discovery")]
use crate::keys::RemoteKeys;
#[cfg(any(feature = "discovery", feature = "introspection"))]
use crate::keys::fetch::{Fetcher, acceptable_url};
use crate::layer::GuardLayer;
use crate::rejection::{AuthFailure, FailureReason, GuardRejection, RejectionKind};
use crate::revocation::RevocationCheck;
#[cfg(feature = "introspection")]
use crate::revocation::introspection::{Introspector, Outcome};
#[cfg(feature = "redis")]
use crate::revocation::redis::RedisDenylist;
use crate::source::TokenSources;
use http::{HeaderMap, Uri};
use portcullis_jose::Validator;
use portcullis_jose::time::Clock;
use portcullis_types::Audience;
#[cfg(feature = "introspection")]
use portcullis_types::introspection::IntrospectionResponse;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;

/// Verifies access tokens for one resource server. Cheap to clone (an `Arc` inside).
///
/// Build it with [`Guard::builder`], then mount [`Guard::layer`] on a router or put the guard
/// in the router state for the extractors.
#[derive(Clone)]
pub struct Guard {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    audiences: Vec<String>,
    validator: Validator,
    realm: Option<Arc<str>>,
    sources: TokenSources,
    claim_mapping: ClaimMapping,
    keys: KeyStore,
    revocation: RevocationCheck,
    on_validated: Option<ValidatedHook>,
    on_failed: Option<FailedHook>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("issuer", &self.inner.issuer)
            .field("audiences", &self.inner.audiences)
            .field("keys", &self.inner.keys)
            .field("revocation", &self.inner.revocation)
            .finish_non_exhaustive()
    }
}

fn non_empty(value: Option<&String>, what: &'static str) -> Result<(), ConfigError> {
    match value {
        Some(v) if v.is_empty() => Err(ConfigError::Empty(what)),
        _ => Ok(()),
    }
}

impl Guard {
    /// Starts a configuration; see [`GuardBuilder`].
    pub fn builder() -> GuardBuilder<NoIssuer, NoAudience> {
        GuardBuilder::new()
    }

    pub(crate) fn from_config(
        issuer: String,
        audiences: Vec<String>,
        opts: Options,
    ) -> Result<Self, ConfigError> {
        let parsed = url::Url::parse(&issuer).map_err(|_| ConfigError::InvalidIssuer)?;
        if parsed.cannot_be_a_base() || parsed.host().is_none() {
            return Err(ConfigError::InvalidIssuer);
        }
        if audiences.iter().any(String::is_empty) {
            return Err(ConfigError::Empty("an audience"));
        }
        non_empty(opts.cookie.as_ref(), "the cookie name")?;
        non_empty(opts.query_parameter.as_ref(), "the query parameter name")?;
        let claim_mapping = ClaimMapping {
            roles: ClaimPath::parse(&opts.roles_claim)
                .ok_or(ConfigError::Empty("a segment of the roles claim"))?,
            groups: ClaimPath::parse(&opts.groups_claim)
                .ok_or(ConfigError::Empty("a segment of the groups claim"))?,
            name: ClaimPath::parse(&opts.name_claim)
                .ok_or(ConfigError::Empty("a segment of the name claim"))?,
        };
        #[cfg(any(feature = "discovery", feature = "introspection"))]
        let allow_http = opts.fetch.allow_http;
        #[cfg(any(feature = "discovery", feature = "introspection"))]
        let fetcher = Fetcher::new(opts.fetch.timeout, opts.fetch.max_bytes)
            .map_err(|e| ConfigError::HttpClient(e.to_string()))?;

        let keys = match &opts.keys {
            KeySource::Static(keys) => KeyStore::Static(Arc::clone(keys)),
            KeySource::Provided(provider) => KeyStore::Provided(Arc::clone(provider)),
            #[cfg(feature = "discovery")]
            KeySource::Discovery => {
                if !acceptable_url(&issuer, allow_http) {
                    return Err(ConfigError::InsecureUrl("the issuer"));
                }
                KeyStore::Remote(Arc::new(RemoteKeys::new(
                    issuer.clone(),
                    fetcher.clone(),
                    opts.fetch.clone(),
                    Arc::clone(&opts.clock),
                )))
            }
            #[cfg(not(feature = "discovery"))]
            KeySource::Discovery => return Err(ConfigError::NoKeys),
        };

        let revocation = match &opts.revocation {
            Revocation::None => RevocationCheck::None,
            Revocation::Provided(provider) => RevocationCheck::Provided(Arc::clone(provider)),
            #[cfg(feature = "redis")]
            Revocation::Redis { url, timeout } => {
                RevocationCheck::Redis(RedisDenylist::new(url, *timeout)?)
            }
            #[cfg(feature = "introspection")]
            Revocation::Introspection(config) => {
                if url::Url::parse(&config.endpoint).is_err() {
                    return Err(ConfigError::InvalidUrl("the introspection endpoint"));
                }
                if !acceptable_url(&config.endpoint, allow_http) {
                    return Err(ConfigError::InsecureUrl("the introspection endpoint"));
                }
                let introspector = Introspector::new(
                    config.clone(),
                    fetcher.client().clone(),
                    Arc::clone(&opts.clock),
                )
                .ok_or(ConfigError::Empty(
                    "a valid introspection client id and secret",
                ))?;
                RevocationCheck::Introspection(introspector)
            }
        };

        let (first, rest) = audiences
            .split_first()
            .ok_or(ConfigError::Empty("the audience list"))?;
        let mut builder = Validator::builder()
            .issuer(issuer.as_str())
            .audience(first.as_str());
        for audience in rest {
            builder = builder.audience(audience.as_str());
        }
        let validator = builder
            .required_typ(opts.required_typ.as_str())
            .leeway(opts.leeway)
            .build();

        let realm = opts
            .realm
            .clone()
            .or_else(|| Some(first.clone()))
            .map(Arc::from);
        Ok(Self {
            inner: Arc::new(Inner {
                issuer,
                audiences,
                validator,
                realm,
                sources: TokenSources {
                    query_parameter: opts.query_parameter,
                    cookie: opts.cookie,
                },
                claim_mapping,
                keys,
                revocation,
                on_validated: opts.on_validated,
                on_failed: opts.on_failed,
                clock: opts.clock,
            }),
        })
    }

    /// A layer that rejects requests without a valid token and hands the claims on.
    pub fn layer(&self) -> GuardLayer {
        GuardLayer::new(self.clone(), false)
    }

    /// A layer that lets requests without any token through (handlers see no claims), but
    /// still rejects a token that is invalid or sent in a malformed way.
    pub fn optional_layer(&self) -> GuardLayer {
        GuardLayer::new(self.clone(), true)
    }

    /// The configured issuer.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The audiences this resource server answers to.
    pub fn audiences(&self) -> &[String] {
        &self.inner.audiences
    }

    pub(crate) fn realm(&self) -> Option<Arc<str>> {
        self.inner.realm.clone()
    }

    /// The guard's current time, seconds since the epoch (step-up `max_age` checks).
    pub(crate) fn now(&self) -> i64 {
        self.inner.clock.now().as_secs()
    }

    /// Loads the issuer's keys now instead of on the first request, so a service can refuse
    /// to start when its issuer is unreachable or misconfigured.
    pub async fn warm_up(&self) -> Result<(), ConfigError> {
        self.inner
            .keys
            .current()
            .await
            .map(|_| ())
            .map_err(|e| ConfigError::Keys(e.to_string()))
    }

    /// The rejection for a request without a token.
    pub(crate) fn missing_token(&self) -> GuardRejection {
        GuardRejection::new(RejectionKind::MissingToken, self.realm())
    }

    /// Finds the request's token; `Ok(None)` when it carries none.
    pub(crate) fn extract(
        &self,
        headers: &HeaderMap,
        uri: &Uri,
    ) -> Result<Option<String>, GuardRejection> {
        self.inner.sources.extract(headers, uri).map_err(|what| {
            let failure = AuthFailure {
                reason: FailureReason::MalformedRequest(what),
                token_id: None,
            };
            self.report(&failure);
            GuardRejection::from_failure(&failure.reason, self.realm())
        })
    }

    /// Finds and verifies the request's token: `Ok(None)` when there is none.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        uri: &Uri,
    ) -> Result<Option<Arc<AccessClaims>>, GuardRejection> {
        match self.extract(headers, uri)? {
            None => Ok(None),
            Some(token) => self.check(&token).await.map(Some),
        }
    }

    /// Verifies a token and turns a failure into the caller's answer.
    pub(crate) async fn check(&self, token: &str) -> Result<Arc<AccessClaims>, GuardRejection> {
        self.verify(token)
            .await
            .map_err(|failure| GuardRejection::from_failure(&failure.reason, self.realm()))
    }

    /// Verifies a token found elsewhere than in an HTTP request (a WebSocket message, a queue).
    /// Hooks run as for requests.
    pub async fn verify(&self, token: &str) -> Result<Arc<AccessClaims>, AuthFailure> {
        match self.verify_inner(token).await {
            Ok(claims) => {
                tracing::debug!(token_id = ?claims.token_id(), "access token accepted");
                if let Some(hook) = &self.inner.on_validated {
                    hook(&claims);
                }
                Ok(claims)
            }
            Err(reason) => {
                let failure = AuthFailure {
                    reason,
                    token_id: Some(hashed_token_id(token)),
                };
                self.report(&failure);
                Err(failure)
            }
        }
    }

    fn report(&self, failure: &AuthFailure) {
        match &failure.reason {
            FailureReason::KeysUnavailable(_) | FailureReason::RevocationUnavailable(_) => {
                tracing::warn!(token_id = ?failure.token_id, reason = %failure.reason, "access token could not be checked");
            }
            _ => {
                tracing::info!(token_id = ?failure.token_id, reason = %failure.reason, "access token refused");
            }
        }
        if let Some(hook) = &self.inner.on_failed {
            hook(failure);
        }
    }

    async fn verify_inner(&self, token: &str) -> Result<Arc<AccessClaims>, FailureReason> {
        if !is_jwt_shaped(token) {
            return match &self.inner.revocation {
                #[cfg(feature = "introspection")]
                RevocationCheck::Introspection(introspector) => {
                    self.verify_opaque(introspector, token).await
                }
                _ => Err(FailureReason::NotJwt),
            };
        }
        let claims = self.verify_jwt(token).await?;
        self.inner.revocation.check_jwt(token, &claims).await?;
        Ok(Arc::new(claims))
    }

    async fn verify_jwt(&self, token: &str) -> Result<AccessClaims, FailureReason> {
        let inner = &self.inner;
        let snapshot = inner
            .keys
            .current()
            .await
            .map_err(|e| FailureReason::KeysUnavailable(e.to_string()))?;
        let verified =
            match inner
                .validator
                .verify::<Value>(token, &snapshot.keys, inner.clock.now())
            {
                Err(portcullis_jose::Error::KeyNotFound) => {
                    match inner.keys.refetch_for_unknown_kid(&snapshot).await {
                        Some(fresh) => inner.validator.verify::<Value>(
                            token,
                            &fresh.keys,
                            inner.clock.now(),
                        )?,
                        None => {
                            return Err(FailureReason::Token(portcullis_jose::Error::KeyNotFound));
                        }
                    }
                }
                other => other?,
            };
        let (_header, registered, raw) = verified.into_parts();
        let registered = Registered {
            iss: registered.iss,
            sub: registered.sub,
            aud: Audience::from(registered.aud.0),
            exp: registered.exp,
            iat: registered.iat,
            jti: registered.jti,
        };
        AccessClaims::map(registered, raw, &inner.claim_mapping)
    }

    /// An opaque token: the introspection answer is the only source of truth.
    #[cfg(feature = "introspection")]
    async fn verify_opaque(
        &self,
        introspector: &Introspector,
        token: &str,
    ) -> Result<Arc<AccessClaims>, FailureReason> {
        let inner = &self.inner;
        let value = match introspector.introspect(token, None).await {
            Ok(Outcome::Active(value)) => value,
            Ok(Outcome::Inactive) => return Err(FailureReason::Inactive("active is false")),
            Err(error) => return Err(FailureReason::RevocationUnavailable(error)),
        };
        let response: IntrospectionResponse = serde::Deserialize::deserialize(&*value)
            .map_err(|_| FailureReason::Inactive("invalid response"))?;
        if response
            .iss
            .as_deref()
            .is_some_and(|iss| iss != inner.issuer)
        {
            return Err(FailureReason::Inactive("issuer mismatch"));
        }
        let aud = response.aud.unwrap_or_default();
        if !inner.audiences.iter().any(|a| aud.contains(a)) {
            return Err(FailureReason::Inactive("audience mismatch"));
        }
        let exp = response.exp.ok_or(FailureReason::Inactive("no exp"))?;
        if inner.clock.now().as_secs() >= exp {
            return Err(FailureReason::Inactive("expired"));
        }
        if response
            .token_type
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("bearer") && t != "access_token")
        {
            return Err(FailureReason::Inactive("not an access token"));
        }
        let registered = Registered {
            iss: response.iss.unwrap_or_else(|| inner.issuer.clone()),
            sub: response.sub,
            aud,
            exp,
            iat: response.iat,
            jti: response.jti,
        };
        AccessClaims::map(registered, (*value).clone(), &inner.claim_mapping).map(Arc::new)
    }
}

/// Compact JWS: three base64url segments.
fn is_jwt_shaped(token: &str) -> bool {
    token.split('.').count() == 3
}

/// `sha256:` and the first 8 bytes of the token's digest in hex: enough to correlate log lines,
/// useless to replay (RS-13).
pub(crate) fn hashed_token_id(token: &str) -> String {
    let digest = token_digest(token);
    let mut out = String::from("sha256:");
    for byte in digest.iter().take(8) {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// The SHA-256 of a token: log identifiers and cache keys derive from it, so the raw token
/// is never kept (RS-13).
pub(crate) fn token_digest(token: &str) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}
