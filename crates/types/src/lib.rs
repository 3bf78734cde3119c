//! Wire types shared by the Portcullis authorization server, the resource-server guard and
//! clients: RFC error codes, token and metadata documents, secret and identifier newtypes.
//!
//! This crate only knows serde. It holds no protocol logic: it names and shapes what
//! crosses the wire so that every other crate agrees on it.

#![forbid(unsafe_code)]

pub mod audience;
pub mod challenge;
pub mod denylist;
pub mod error;
pub mod id;
pub mod introspection;
pub mod metadata;
pub mod registry;
pub mod role;
pub mod scope;
pub mod secret;
pub mod token;

pub use audience::Audience;
pub use challenge::BearerChallenge;
pub use error::{ErrorCode, ErrorResponse};
pub use id::{ClientId, Issuer, RedirectUri, Subject};
pub use registry::{
    CodeChallengeMethod, GrantType, ResponseType, TokenEndpointAuthMethod, UnknownValue,
};
pub use role::{GroupName, RoleName};
pub use scope::{Scope, ScopeError};
pub use secret::{AccessToken, AuthorizationCode, ClientSecret, PkceVerifier, RefreshToken};
pub use token::{TokenResponse, TokenType};
