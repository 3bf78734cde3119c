//! Errors raised while building a guard. Request-time failures are in `rejection`; these are
//! configuration mistakes that must stop the service from starting.

/// A guard configuration that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The issuer is not an absolute URL.
    #[error("the issuer must be an absolute URL")]
    InvalidIssuer,
    /// A URL uses plain HTTP on a non-loopback host (see `insecure_allow_http`).
    #[error("{0} must use https (plain http is only allowed on loopback hosts)")]
    InsecureUrl(&'static str),
    /// A URL could not be parsed.
    #[error("{0} is not a valid URL")]
    InvalidUrl(&'static str),
    /// The leeway exceeds 60 seconds (RS-9).
    #[error("the leeway may be at most 60 seconds")]
    LeewayTooLarge,
    /// An audience, a cookie name, a query parameter name, or a segment of the roles, groups or
    /// name claim is empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// The HTTP client could not be created.
    #[error("cannot create the HTTP client: {0}")]
    HttpClient(String),
    /// The issuer's keys could not be loaded (from `Guard::warm_up`).
    #[error("cannot load the issuer's keys: {0}")]
    Keys(String),
    /// No static keys were given and this build cannot discover the issuer's keys (the
    /// `discovery` feature is off): call `GuardBuilder::static_keys`.
    #[error("no verification keys: give static keys or enable the `discovery` feature")]
    NoKeys,
    /// The Redis URL is not valid.
    #[error("invalid Redis URL: {0}")]
    Redis(String),
}
