//! The authorization endpoint: parsing and validating the request (client, redirect URI,
//! response type and mode, PKCE, scope, prompt and the OpenID Connect parameters), as a GET with
//! a query or a form POST, with or without cookies, through a whole server.
//!
//! The input is a request written like HTTP/1.1 (see `portcullis_fuzz::server::parse_request`)
//! to `/authorize`, sent to a server on the memory store with one registered client. Any answer
//! is fine but a 5xx other than 503, or a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_fuzz::server::{parse_request, send};

fuzz_target!(|data: &[u8]| {
    let Some(request) = parse_request(data) else {
        return;
    };
    if request.uri().path() != "/authorize" {
        return;
    }
    send(request);
});
