//! Protocol logic with no HTTP in it: parsing, validation, grants, token minting, sessions,
//! consent and the audit trail. Handlers in `crate::http` call into these modules.

pub(crate) mod account;
pub(crate) mod audit;
pub(crate) mod authorize;
pub(crate) mod client_auth;
pub(crate) mod client_verify;
pub(crate) mod consent;
pub(crate) mod denylist;
pub(crate) mod device;
pub(crate) mod error;
pub(crate) mod grants;
pub(crate) mod identity;
pub(crate) mod introspection;
pub(crate) mod lifecycle;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod params;
pub(crate) mod password;
pub(crate) mod pkce;
pub(crate) mod revocation;
pub(crate) mod secrets;
pub(crate) mod self_service;
pub(crate) mod sessions;
pub(crate) mod tokens;
pub(crate) mod userinfo;
pub(crate) mod verify;

pub use error::ProtocolError;
pub(crate) use error::UNAVAILABLE_RETRY_AFTER_SECS;
