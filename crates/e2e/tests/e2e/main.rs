//! The end-to-end test binary: each module drives one flow of the authorization server over a
//! real socket, with redirects off, and asserts exact statuses, headers and `error` codes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod chromium;
mod common;
mod github_standin;
mod process;
mod smtp;

mod admin_console;
mod backends;
mod browser;
mod client_auth;
mod clock;
mod code_flow;
mod crash;
mod database_down;
mod device;
mod discovery;
mod interop_openid_client;
mod interop_openidconnect;
mod introspection;
mod keys;
mod logout;
mod lookups;
mod nodes;
mod oidc;
mod pkce;
mod real_browser;
mod redirect;
mod redis_outage;
mod refresh;
mod revocation;
mod roles;
mod self_service;
mod sign_out_everywhere;
mod step_up;
mod themes;
mod three_nodes;
mod throttle;
mod timezone;
mod token_endpoint;
mod token_exchange;
mod token_hook;
mod upstream_github;
mod upstream_ldap;
mod upstream_node;
mod upstream_oidc;
