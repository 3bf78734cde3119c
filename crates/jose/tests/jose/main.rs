//! The JOSE library's integration tests in one binary (one link of the crate graph): negative
//! tests, key handling, interoperability and the RFC 7520 and Wycheproof vectors.

mod common;
mod interop_jsonwebtoken;
mod keys;
mod negative_format;
mod negative_json;
mod negative_jws;
mod negative_jwt_claims;
mod negative_signatures;
mod rfc7520_cookbook;
mod wycheproof_jose;
mod wycheproof_signatures;
