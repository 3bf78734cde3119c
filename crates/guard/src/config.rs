//! Guard configuration: a typestate builder that cannot finish without an issuer and an
//! audience, and the options it carries (token sources, keys, revocation, hooks, clock).

use crate::claims::AccessClaims;
use crate::error::ConfigError;
use crate::guard::Guard;
use crate::keys::KeyProvider;
use crate::rejection::AuthFailure;
use crate::revocation::RevocationProvider;
use portcullis_jose::KeySet;
use portcullis_jose::time::{Clock, SystemClock};
#[cfg(feature = "introspection")]
use portcullis_types::ClientSecret;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The largest clock-skew allowance the guard accepts (RS-9).
// The denylist keeps entries this long past `exp`; the value is non-negative, so the cast is exact.
#[allow(clippy::cast_sign_loss)]
pub const MAX_LEEWAY_SECS: u64 = portcullis_types::denylist::MAX_VALIDATOR_LEEWAY_SECS as u64;

/// Callback run after a token was verified (and passed the revocation check).
pub type ValidatedHook = Arc<dyn Fn(&AccessClaims) + Send + Sync>;
/// Callback run when a presented token, or the way it was presented, is refused.
pub type FailedHook = Arc<dyn Fn(&AuthFailure) + Send + Sync>;

/// Builder state: no issuer yet.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoIssuer;
/// Builder state: the issuer is set.
#[derive(Debug, Clone)]
pub struct HasIssuer(pub(crate) String);
/// Builder state: no audience yet.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAudience;
/// Builder state: at least one audience is set.
#[derive(Debug, Clone)]
pub struct HasAudience(pub(crate) Vec<String>);

/// How revoked tokens are detected.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum Revocation {
    /// No check: rely on short token lifetimes.
    #[default]
    None,
    /// Ask a check inside the process (an authorization server consulting its own store);
    /// see [`RevocationProvider`].
    Provided(Arc<dyn RevocationProvider>),
    /// Look the token's `(iss, jti)` up in the issuer's Redis denylist
    /// (`portcullis_types::denylist::revoked_jti_key`), and in the same round trip its
    /// subject's "not before" marker (`subject_not_before_key`, written on sign-out everywhere
    /// or when an account is disabled): a token whose `iat` is earlier than the marker, or that
    /// has no `iat` while a marker exists, is refused. Tokens without a `jti` are refused.
    /// Needs the `redis` feature.
    #[cfg(feature = "redis")]
    Redis {
        /// A `redis://` URL.
        url: String,
        /// The longest a lookup may take before the request fails closed.
        timeout: Duration,
    },
    /// Ask the issuer's RFC 7662 introspection endpoint. Opaque (non-JWT) tokens are accepted
    /// in this mode only, with the claims the endpoint returns. Needs the `introspection`
    /// feature.
    #[cfg(feature = "introspection")]
    Introspection(IntrospectionConfig),
}

#[cfg(feature = "redis")]
impl Revocation {
    /// The Redis denylist at `url`, with a one-second lookup timeout.
    pub fn redis(url: impl Into<String>) -> Self {
        Self::Redis {
            url: url.into(),
            timeout: Duration::from_secs(1),
        }
    }
}

/// Settings of the RFC 7662 introspection mode.
#[cfg(feature = "introspection")]
#[derive(Clone)]
pub struct IntrospectionConfig {
    pub(crate) endpoint: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: ClientSecret,
    pub(crate) cache_ttl: Duration,
    pub(crate) cache_size: usize,
    pub(crate) timeout: Duration,
}

#[cfg(feature = "introspection")]
impl IntrospectionConfig {
    /// Introspection at `endpoint`, authenticating with `client_secret_basic`. Defaults: active
    /// results cached for 30 s (never past the token's `exp`), 10,000 entries, 2 s timeout.
    pub fn new(
        endpoint: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: ClientSecret,
    ) -> Self {
        Self {
            endpoint: endpoint.into(),
            client_id: client_id.into(),
            client_secret,
            cache_ttl: Duration::from_secs(30),
            cache_size: 10_000,
            timeout: Duration::from_secs(2),
        }
    }

    /// How long an `active: true` answer is reused (bounded by the token's own `exp`). Zero
    /// disables the cache, so a revocation is seen on the very next request.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// The most answers kept at once.
    pub fn cache_size(mut self, entries: usize) -> Self {
        self.cache_size = entries;
        self
    }

    /// The longest a call may take before the request fails closed.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

#[cfg(feature = "introspection")]
impl fmt::Debug for IntrospectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionConfig")
            .field("endpoint", &self.endpoint)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("cache_ttl", &self.cache_ttl)
            .field("cache_size", &self.cache_size)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Where verification keys come from.
#[derive(Clone, Default)]
pub(crate) enum KeySource {
    /// OpenID / RFC 8414 discovery from the issuer, then its `jwks_uri`. Refused by `build`
    /// without the `discovery` feature.
    #[default]
    Discovery,
    /// A fixed key set (tests, air-gapped deployments).
    Static(Arc<KeySet>),
    /// Keys the service holds itself, asked for on every verification.
    Provided(Arc<dyn KeyProvider>),
}

/// Limits and timings of the discovery and JWKS fetches (RS-11).
#[derive(Debug, Clone)]
pub(crate) struct FetchPolicy {
    pub(crate) refetch_interval: Duration,
    pub(crate) ttl_min: Duration,
    pub(crate) ttl_max: Duration,
    pub(crate) ttl_default: Duration,
    pub(crate) timeout: Duration,
    pub(crate) max_bytes: usize,
    pub(crate) background_refresh: bool,
    pub(crate) allow_http: bool,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            refetch_interval: Duration::from_secs(30),
            ttl_min: Duration::from_secs(60),
            ttl_max: Duration::from_secs(24 * 3600),
            ttl_default: Duration::from_secs(300),
            timeout: Duration::from_secs(5),
            max_bytes: 256 * 1024,
            background_refresh: true,
            allow_http: false,
        }
    }
}

/// Every option of the guard; filled by [`GuardBuilder`].
#[derive(Clone)]
pub(crate) struct Options {
    pub(crate) required_typ: String,
    pub(crate) leeway: u64,
    pub(crate) realm: Option<String>,
    pub(crate) query_parameter: Option<String>,
    pub(crate) cookie: Option<String>,
    pub(crate) roles_claim: String,
    pub(crate) groups_claim: String,
    pub(crate) name_claim: String,
    pub(crate) revocation: Revocation,
    pub(crate) keys: KeySource,
    pub(crate) fetch: FetchPolicy,
    pub(crate) on_validated: Option<ValidatedHook>,
    pub(crate) on_failed: Option<FailedHook>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            required_typ: "at+jwt".to_owned(),
            leeway: 30,
            realm: None,
            query_parameter: None,
            cookie: None,
            roles_claim: "roles".to_owned(),
            groups_claim: "groups".to_owned(),
            name_claim: "name".to_owned(),
            revocation: Revocation::None,
            keys: KeySource::Discovery,
            fetch: FetchPolicy::default(),
            on_validated: None,
            on_failed: None,
            clock: Arc::new(SystemClock),
        }
    }
}

/// Builds a [`Guard`]. `build` exists only once an issuer and an audience are set.
///
/// ```
/// use portcullis_guard::Guard;
///
/// let guard = Guard::builder()
///     .issuer("https://as.example")
///     .audience("orders-api")
///     .build()
///     .unwrap();
/// # let _ = guard;
/// ```
///
/// Without an audience there is no `build`:
///
/// ```compile_fail
/// let guard = portcullis_guard::Guard::builder().issuer("https://as.example").build();
/// ```
#[must_use]
pub struct GuardBuilder<I, A> {
    issuer: I,
    audience: A,
    opts: Options,
}

impl<I: fmt::Debug, A: fmt::Debug> fmt::Debug for GuardBuilder<I, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardBuilder")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl GuardBuilder<NoIssuer, NoAudience> {
    pub(crate) fn new() -> Self {
        Self {
            issuer: NoIssuer,
            audience: NoAudience,
            opts: Options::default(),
        }
    }
}

impl<A> GuardBuilder<NoIssuer, A> {
    /// The issuer identifier, compared byte for byte with `iss` and with the `issuer` of the
    /// discovery document (RS-5). Keys are fetched from this issuer only.
    pub fn issuer(self, issuer: impl Into<String>) -> GuardBuilder<HasIssuer, A> {
        GuardBuilder {
            issuer: HasIssuer(issuer.into()),
            audience: self.audience,
            opts: self.opts,
        }
    }
}

impl<I> GuardBuilder<I, NoAudience> {
    /// This resource server's identifier; the token's `aud` must contain it (RS-4).
    pub fn audience(self, audience: impl Into<String>) -> GuardBuilder<I, HasAudience> {
        GuardBuilder {
            issuer: self.issuer,
            audience: HasAudience(vec![audience.into()]),
            opts: self.opts,
        }
    }
}

impl<I> GuardBuilder<I, HasAudience> {
    /// Accepts one more audience (a token naming any of them is accepted).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience.0.push(audience.into());
        self
    }
}

impl<I, A> GuardBuilder<I, A> {
    /// The `typ` header access tokens must carry (default `at+jwt`, RFC 9068; RS-6).
    pub fn required_typ(mut self, typ: impl Into<String>) -> Self {
        self.opts.required_typ = typ.into();
        self
    }

    /// Clock-skew allowance for `exp`, `nbf` and `iat`; default 30 s, at most 60 s (RS-9).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.opts.leeway = leeway.as_secs();
        self
    }

    /// The `realm` of the `WWW-Authenticate` challenge (default: the first audience).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.opts.realm = Some(realm.into());
        self
    }

    /// Also accepts the token from the named cookie (for browser-facing APIs).
    pub fn cookie(mut self, name: impl Into<String>) -> Self {
        self.opts.cookie = Some(name.into());
        self
    }

    /// Also accepts the token from the named URI query parameter.
    ///
    /// # Security Warning
    ///
    /// OAuth 2.1 §5.1 tells resource servers to ignore tokens in the query (RS-1): URLs end up
    /// in logs, proxies and `Referer` headers. Only enable this for a client that cannot send
    /// headers (an `EventSource`, a download link), with short-lived tokens.
    pub fn insecure_query_parameter(mut self, name: impl Into<String>) -> Self {
        self.opts.query_parameter = Some(name.into());
        self
    }

    /// The claim holding roles (default `roles`, RFC 9068 §2.2.3.1); a dotted path such as
    /// `realm_access.roles` walks nested objects. The claim is an array of strings (one string
    /// counts as a list of one); any other type makes the token invalid (RS-9).
    pub fn roles_claim(mut self, path: impl Into<String>) -> Self {
        self.opts.roles_claim = path.into();
        self
    }

    /// The claim holding groups (default `groups`, RFC 9068 §2.2.3.1), read like
    /// [`roles_claim`](Self::roles_claim): a dotted path, an array of strings.
    pub fn groups_claim(mut self, path: impl Into<String>) -> Self {
        self.opts.groups_claim = path.into();
        self
    }

    /// The claim [`AccessClaims::name`] reads (default `name`, the display name of OpenID
    /// Connect Core §5.1); a dotted path like [`roles_claim`](Self::roles_claim). It must be a
    /// string; any other type makes the token invalid (RS-9). Set it to `preferred_username`,
    /// `email` or `sub` for whatever label the service greets and logs its users with; it never
    /// identifies the caller (that is [`AccessClaims::user_id`], RS-7).
    pub fn name_claim(mut self, path: impl Into<String>) -> Self {
        self.opts.name_claim = path.into();
        self
    }

    /// How revoked tokens are detected (default: not at all).
    pub fn revocation(mut self, revocation: Revocation) -> Self {
        self.opts.revocation = revocation;
        self
    }

    /// Uses a fixed key set instead of discovery (for example
    /// `KeySet::from_jwks(&jwks)` of a JWKS the service ships or loads itself). Required when
    /// the `discovery` feature is off.
    pub fn static_keys(mut self, keys: KeySet) -> Self {
        self.opts.keys = KeySource::Static(Arc::new(keys));
        self
    }

    /// Takes the keys from `provider`, inside the process, instead of discovery: for a service
    /// that signs the tokens itself (an authorization server guarding an API of its own), so
    /// that a key it rotates in is trusted as soon as it signs, with no fetch of its own JWKS.
    pub fn key_provider(mut self, provider: Arc<dyn KeyProvider>) -> Self {
        self.opts.keys = KeySource::Provided(provider);
        self
    }

    /// The least time between two key fetches caused by requests (an unknown `kid`, or a failed
    /// load). Default 30 s. However many unknown `kid`s arrive, the issuer sees at most one
    /// fetch per interval (RS-11).
    pub fn refetch_interval(mut self, interval: Duration) -> Self {
        self.opts.fetch.refetch_interval = interval;
        self
    }

    /// Bounds applied to the JWKS `Cache-Control: max-age` (defaults 60 s and 24 h).
    pub fn cache_ttl_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.opts.fetch.ttl_min = min;
        self.opts.fetch.ttl_max = max.max(min);
        self
    }

    /// The key cache lifetime when the JWKS response has no `max-age` (default 5 min).
    pub fn default_cache_ttl(mut self, ttl: Duration) -> Self {
        self.opts.fetch.ttl_default = ttl;
        self
    }

    /// Whether a background task refreshes keys before they expire (default on).
    pub fn background_refresh(mut self, enabled: bool) -> Self {
        self.opts.fetch.background_refresh = enabled;
        self
    }

    /// Timeout of each discovery and JWKS request (default 5 s).
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.opts.fetch.timeout = timeout;
        self
    }

    /// The largest discovery or JWKS document accepted (default 256 KiB).
    pub fn max_document_size(mut self, bytes: usize) -> Self {
        self.opts.fetch.max_bytes = bytes;
        self
    }

    /// Allows `http://` issuer and `jwks_uri` URLs on non-loopback hosts.
    ///
    /// # Security Warning
    ///
    /// Keys fetched over plain HTTP can be replaced by anyone on the path, who can then mint
    /// tokens. Loopback addresses are always allowed for development; use this only inside a
    /// network you trust completely.
    pub fn insecure_allow_http(mut self) -> Self {
        self.opts.fetch.allow_http = true;
        self
    }

    /// Runs `hook` after each successful verification, e.g. to log the `jti` or the subject.
    pub fn on_token_validated(
        mut self,
        hook: impl Fn(&AccessClaims) + Send + Sync + 'static,
    ) -> Self {
        self.opts.on_validated = Some(Arc::new(hook));
        self
    }

    /// Runs `hook` when a presented token is refused or the request is malformed.
    pub fn on_authentication_failed(
        mut self,
        hook: impl Fn(&AuthFailure) + Send + Sync + 'static,
    ) -> Self {
        self.opts.on_failed = Some(Arc::new(hook));
        self
    }

    /// The clock used for token times and cache lifetimes (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.opts.clock = clock;
        self
    }
}

impl GuardBuilder<HasIssuer, HasAudience> {
    /// Checks the settings and builds the guard. No network I/O happens here: keys are fetched
    /// on the first request (or by [`Guard::warm_up`]).
    pub fn build(self) -> Result<Guard, ConfigError> {
        if self.opts.leeway > MAX_LEEWAY_SECS {
            return Err(ConfigError::LeewayTooLarge);
        }
        Guard::from_config(self.issuer.0, self.audience.0, self.opts)
    }
}
