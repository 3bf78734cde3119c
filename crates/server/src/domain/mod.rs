//! Protocol logic with no HTTP in it: parsing, validation, grants, token minting, sessions,
//! consent and the audit trail. Handlers in `crate::http` call into these modules.

pub mod audit;
pub mod authorize;
pub mod client_auth;
pub mod client_verify;
pub mod consent;
pub mod denylist;
pub mod device;
pub mod error;
pub mod grants;
pub mod introspection;
pub mod login;
pub mod logout;
pub mod params;
pub mod password;
pub mod pkce;
pub mod revocation;
pub mod secrets;
pub mod sessions;
pub mod tokens;
pub mod userinfo;
pub mod verify;

pub use error::ProtocolError;
pub use secrets::secret_hash;
