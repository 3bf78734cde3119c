//! The tower middleware that authenticates every request (tower-http anatomy: `layer`,
//! `service`, `future`). Verified claims go into the request extensions for the extractors.

mod future;
#[allow(clippy::module_inception)] // tower-http anatomy: `layer/layer.rs` holds the Layer.
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::GuardLayer;
pub use service::GuardService;
