//! Runs the built `portcullis` binary: client, user and key management on a temporary SQLite
//! database, token decode and verify, config file errors, and `serve` answering over HTTP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod admin_api;
mod audit_file;
mod audit_trail;
mod clients;
mod common;
mod grants;
mod identity;
mod key_encryption;
mod keys;
mod limits;
mod metrics;
mod migrate;
mod remote;
mod serve;
mod token;
mod upstreams;
mod user_access;
mod users;
