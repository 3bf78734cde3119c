//! The token endpoint and the endpoints that authenticate clients the same way (revocation,
//! introspection, device authorization): form parsing with repeated parameters, Basic header
//! decoding, client assertions and `GrantRequest::parse`, through a whole server.
//!
//! The input is a request written like HTTP/1.1 (`METHOD target`, header lines, an empty line,
//! the body; see `portcullis_fuzz::server::parse_request`), sent to a server on the memory store
//! with one registered client. Any answer is fine but a 5xx other than 503, or a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_fuzz::server::{parse_request, send};

const PATHS: [&str; 4] = ["/token", "/revoke", "/introspect", "/device_authorization"];

fuzz_target!(|data: &[u8]| {
    let Some(request) = parse_request(data) else {
        return;
    };
    if !PATHS.contains(&request.uri().path()) {
        return;
    }
    send(request);
});
