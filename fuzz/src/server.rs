//! A Portcullis authorization server on the memory store with one registered client, and the
//! parsing of the server targets' input into an HTTP request for its router.

use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::body::Body;
use http::{HeaderName, HeaderValue, Method, Request, header};
use portcullis_jose::{FixedClock, UnixTime};
use portcullis_server::config::{ClientConfig, ServerConfig, ServerSettings, ThrottleSettings};
use portcullis_server::{Server, admin, store};
use portcullis_types::{ClientSecret, GrantType};
use tokio::runtime::Runtime;
use tower::ServiceExt as _;

/// The issuer of the fuzzed server.
pub const ISSUER: &str = "https://as.example";
/// The one registered client: confidential, with a redirect URI and three grants.
pub const CLIENT_ID: &str = "web";
/// Its secret.
pub const SECRET: &str = "web-secret-0123456789";
/// Its redirect URI.
pub const REDIRECT: &str = "https://app.example/cb";
/// RFC 7636 appendix B verifier and challenge.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// The S256 challenge of [`VERIFIER`].
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A single-threaded runtime and the router of a server built in it, once per process.
pub static SERVER: LazyLock<(Runtime, Router)> = LazyLock::new(build);

// The fixed set-up is a constant of this crate: failing to build it is a broken target, not a
// finding.
#[allow(clippy::expect_used)]
fn build() -> (Runtime, Router) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let router = rt.block_on(async {
        let clock = Arc::new(FixedClock::new(UnixTime(1_800_000_000)));
        let store = store::connect("memory:").await.expect("memory store");
        let mut settings = ServerSettings::new(ISSUER);
        // Failed client authentication is the common case here; without this the client would
        // be locked out after a handful of inputs and every later one would stop at the throttle.
        settings.client_auth_throttle = ThrottleSettings {
            max_failures: u32::MAX,
            window_secs: 1,
        };
        let config = ServerConfig::new(settings).expect("server settings");
        admin::add_client(
            store.as_ref(),
            clock.as_ref(),
            &config,
            ClientConfig {
                client_id: CLIENT_ID.into(),
                secret: Some(ClientSecret::new(SECRET)),
                redirect_uris: vec![REDIRECT.into()],
                grant_types: vec![
                    GrantType::AuthorizationCode,
                    GrantType::RefreshToken,
                    GrantType::ClientCredentials,
                ],
                scope: Some("openid profile email orders:read".into()),
                ..ClientConfig::default()
            },
        )
        .await
        .expect("client");
        Server::new(config, store, clock)
            .await
            .expect("server")
            .router()
    });
    (rt, router)
}

/// Sends `request` to the server and checks the answer: no 5xx other than 503, no panic, and a
/// body that can be read to its end.
#[allow(clippy::expect_used)]
pub fn send(request: Request<Body>) {
    let (rt, router) = &*SERVER;
    rt.block_on(async {
        let response = router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status();
        assert!(
            !status.is_server_error() || status == http::StatusCode::SERVICE_UNAVAILABLE,
            "server error {status}"
        );
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("response body");
    });
}

/// Reads a request written like HTTP/1.1: `METHOD target` on the first line, then `Name: value`
/// header lines, an empty line, and the body (every byte after it). Lines end in `\n` or `\r\n`.
/// `None` when the bytes make no request the server could receive (an invalid method, target,
/// header name or value); a `Content-Length` matching the body is added unless one is given.
pub fn parse_request(data: &[u8]) -> Option<Request<Body>> {
    let (head, body) = match find(data, b"\n\n")
        .map(|i| (i, 2))
        .or_else(|| find(data, b"\r\n\r\n").map(|i| (i, 4)))
    {
        Some((i, sep)) => (data.get(..i)?, data.get(i + sep..)?),
        None => (data, &[][..]),
    };
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let first = lines.next()?;
    let space = first.iter().position(|&b| b == b' ')?;
    let method = Method::from_bytes(first.get(..space)?).ok()?;
    let target = std::str::from_utf8(first.get(space + 1..)?).ok()?;
    let mut req = Request::builder().method(method).uri(target);
    let mut has_length = false;
    for line in lines {
        let colon = line.iter().position(|&b| b == b':')?;
        let name = HeaderName::from_bytes(line.get(..colon)?).ok()?;
        let value = line.get(colon + 1..)?;
        let value = HeaderValue::from_bytes(value.strip_prefix(b" ").unwrap_or(value)).ok()?;
        has_length |= name == header::CONTENT_LENGTH;
        req = req.header(name, value);
    }
    if !has_length && !body.is_empty() {
        req = req.header(header::CONTENT_LENGTH, body.len());
    }
    req.body(Body::from(body.to_vec())).ok()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
