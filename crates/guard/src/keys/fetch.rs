//! Bounded HTTP GETs for discovery and JWKS documents: no redirects, a timeout, a size cap
//! applied while streaming, and the `Cache-Control` lifetime of the answer (RS-11).

// With introspection alone only the HTTP client and `read_limited` are used; the document
// fetching is there for discovery.
#![cfg_attr(not(feature = "discovery"), allow(dead_code))]

use http::{HeaderMap, StatusCode, header};
use std::net::IpAddr;
use std::time::Duration;
use url::Url;

/// Why a document could not be fetched.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("unexpected status {0} (redirects are not followed)")]
    Status(StatusCode),
    #[error("document larger than {0} bytes")]
    TooLarge(usize),
    #[error("document is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("discovery document names issuer that differs from the configured one")]
    IssuerMismatch,
    #[error("discovery document has no jwks_uri")]
    NoJwksUri,
    #[error("{0} is not an acceptable URL (https required)")]
    BadUrl(&'static str),
    #[error("no keys loaded yet and the last attempt failed less than the refetch interval ago")]
    RateLimited,
    #[error("key set is not usable: {0}")]
    Keys(portcullis_jose::Error),
}

/// A fetched document and its cache lifetime in seconds, when the server gave one.
pub(crate) struct Fetched {
    pub(crate) body: Vec<u8>,
    pub(crate) max_age: Option<u64>,
}

/// An HTTP client that never follows redirects.
#[derive(Debug, Clone)]
pub(crate) struct Fetcher {
    client: reqwest::Client,
    max_bytes: usize,
}

impl Fetcher {
    pub(crate) fn new(timeout: Duration, max_bytes: usize) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("portcullis-guard/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client, max_bytes })
    }

    #[cfg(feature = "introspection")]
    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// GETs `url` and reads at most `max_bytes` of a 200 answer.
    pub(crate) async fn get(&self, url: &str) -> Result<Fetched, FetchError> {
        let mut response = self
            .client
            .get(url)
            .header(header::ACCEPT, "application/json")
            .send()
            .await?;
        if response.status() != StatusCode::OK {
            return Err(FetchError::Status(response.status()));
        }
        let max_age = max_age(response.headers());
        let body = read_limited(&mut response, self.max_bytes).await?;
        Ok(Fetched { body, max_age })
    }
}

/// Reads a response body, refusing it as soon as it exceeds `max` bytes.
pub(crate) async fn read_limited(
    response: &mut reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, FetchError> {
    if response
        .content_length()
        .is_some_and(|len| len > u64::try_from(max).unwrap_or(u64::MAX))
    {
        return Err(FetchError::TooLarge(max));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len().saturating_add(chunk.len()) > max {
            return Err(FetchError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `max-age` of a `Cache-Control` header; `no-store` and `no-cache` count as zero.
pub(crate) fn max_age(headers: &HeaderMap) -> Option<u64> {
    let mut result = None;
    for value in headers.get_all(header::CACHE_CONTROL) {
        let Ok(value) = value.to_str() else {
            continue;
        };
        for directive in value.split(',') {
            let directive = directive.trim();
            if directive.eq_ignore_ascii_case("no-store")
                || directive.eq_ignore_ascii_case("no-cache")
            {
                return Some(0);
            }
            if let Some((name, secs)) = directive.split_once('=')
                && name.trim().eq_ignore_ascii_case("max-age")
                && let Ok(secs) = secs.trim().trim_matches('"').parse::<u64>()
            {
                result = Some(secs);
            }
        }
    }
    result
}

/// Whether `url` may be used to fetch keys: https, or http on a loopback host, or any http
/// when explicitly allowed.
pub(crate) fn acceptable_url(url: &str, allow_http: bool) -> bool {
    let Ok(parsed) = Url::parse(url) else {
        return false;
    };
    match parsed.scheme() {
        "https" => parsed.host().is_some(),
        "http" => allow_http || is_loopback(&parsed),
        _ => false,
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn cache_control_max_age() {
        let mut h = HeaderMap::new();
        assert_eq!(max_age(&h), None);
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=600"),
        );
        assert_eq!(max_age(&h), Some(600));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        assert_eq!(max_age(&h), Some(0));
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("max-age=abc"),
        );
        assert_eq!(max_age(&h), None);
    }

    #[test]
    fn rs_11_only_https_or_loopback_http() {
        assert!(acceptable_url("https://as.example/jwks", false));
        assert!(acceptable_url("http://127.0.0.1:8080/jwks", false));
        assert!(acceptable_url("http://localhost/jwks", false));
        assert!(acceptable_url("http://[::1]:80/jwks", false));
        assert!(!acceptable_url("http://as.example/jwks", false));
        assert!(acceptable_url("http://as.example/jwks", true));
        assert!(!acceptable_url("file:///etc/passwd", true));
        assert!(!acceptable_url("not a url", true));
    }
}
