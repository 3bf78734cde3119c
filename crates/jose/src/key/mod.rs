//! Keys bound to exactly one algorithm: signing keys, verification keys and the key set a
//! verifier trusts. A token can only select among these by `kid`, never supply its own.

mod der;
mod import;
mod roca;
mod set;
mod signing;
mod verifying;

pub use set::KeySet;
pub use signing::SigningKey;
pub use verifying::VerifyingKey;
