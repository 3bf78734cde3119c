//! Test support for Portcullis: a real authorization server on a random port with a movable
//! clock ([`TestServer`]), a scripted browser for the login and consent pages, and helpers for
//! PKCE, token requests and token inspection.
//!
//! Typical use from another crate's integration tests:
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use portcullis_testkit::{ClientAuth, ClientSpec, CodeRequest, TestServer};
//! use portcullis_types::GrantType;
//!
//! let server = TestServer::start().await?;
//! server
//!     .add_client(
//!         ClientSpec::confidential("svc", "svc-secret-0123456789abcdef")
//!             .grant_types(&[GrantType::ClientCredentials])
//!             .scope("orders:read")
//!             .audience(&["orders-api"]),
//!     )
//!     .await?;
//! let reply = server
//!     .client_credentials(&ClientAuth::basic("svc", "svc-secret-0123456789abcdef"), Some("orders:read"))
//!     .await?;
//! let token = reply.str("access_token").unwrap_or_default();
//! let claims = server.verify_access_token(token, "orders-api").await?;
//! server.advance(3600); // travel in time instead of sleeping
//! # let _ = claims; Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub mod browser;
pub mod fixtures;
pub mod flow;
pub mod hostile;
pub mod html;
pub mod oauth;
pub mod pkce;
pub mod server;

pub use browser::{Browser, Consent, Hop, Outcome, Page};
pub use fixtures::{
    AssertionClaims, ClientSpec, cheap_password_hash, client_key, decode_jwt_parts, user_record,
};
pub use flow::{CodeRequest, CodeResponse, Tokens, access_token_validator, fetch_key_set};
pub use hostile::{Tripwire, sign_with_header};
pub use html::Form;
pub use oauth::{AuthorizeUrl, ClientAuth, Reply, basic_header, query_pairs, query_param};
pub use pkce::{Pkce, random_token, s256_challenge};
pub use server::{Endpoints, StoreKind, TEST_KEK, TestServer, TestServerBuilder};

pub use portcullis_jose::time::{Clock, FixedClock, UnixTime};
