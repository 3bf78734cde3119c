//! The server's handler tests in one binary (one link of the crate graph): the router driven
//! with `oneshot` on the memory store, endpoint by endpoint, and the optional Redis denylist.

mod account_lifecycle;
mod audit_retention;
mod authorize_flow;
mod back_channel;
mod common;
mod device_exchange;
mod grants;
mod identity;
mod metadata;
mod pages;
#[cfg(feature = "redis")]
mod redis_denylist;
mod refresh_grace;
mod registration;
mod secret_rotation;
mod self_service;
mod token_endpoint;
