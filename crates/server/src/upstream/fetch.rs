//! The HTTP client of federation: timeouts, no redirects followed, response bodies read up to a
//! cap before any JSON is parsed, and only `https` (or `http` to a loopback host) allowed.

use std::time::Duration;

use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use super::UpstreamError;
use crate::trace_context;

/// Largest response body read from an upstream (discovery, keys, tokens, user data).
pub(crate) const MAX_BODY_BYTES: usize = 256 * 1024;

/// How long one upstream request may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The shared HTTP client of the upstream calls.
#[derive(Debug, Clone)]
pub(crate) struct Fetcher {
    client: reqwest::Client,
}

impl Fetcher {
    /// A client that follows no redirects and gives up after [`TIMEOUT`].
    pub(crate) fn new() -> Result<Self, UpstreamError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| UpstreamError::Unreachable(e.to_string()))?;
        Ok(Self { client })
    }

    /// A request builder for `method` on `url`, once `url` is an allowed upstream URL.
    pub(crate) fn request(
        &self,
        method: reqwest::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, UpstreamError> {
        let parsed = allowed_url(url)?;
        Ok(self.client.request(method, parsed))
    }

    /// Sends `request` and reads a JSON body of at most [`MAX_BODY_BYTES`] from a 2xx answer;
    /// any other status is [`UpstreamError::Status`] (its body is read, capped, and dropped).
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, UpstreamError> {
        let (status, body) = self.send(request).await?;
        if !status.is_success() {
            return Err(UpstreamError::Status(status.as_u16()));
        }
        serde_json::from_slice(&body).map_err(|e| UpstreamError::Malformed(e.to_string()))
    }

    /// Sends `request` and returns its status and body, read up to [`MAX_BODY_BYTES`]: within a
    /// client span whose trace context the request carries.
    pub(crate) async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(reqwest::StatusCode, Vec<u8>), UpstreamError> {
        let mut request = request
            .build()
            .map_err(|e| UpstreamError::Unreachable(e.to_string()))?;
        let span = trace_context::client_span(request.method(), request.url());
        trace_context::inject(&span, request.headers_mut());
        self.exchange(request, &span).instrument(span.clone()).await
    }

    /// Sends `request` and reads the answer for [`Fetcher::send`].
    async fn exchange(
        &self,
        request: reqwest::Request,
        span: &tracing::Span,
    ) -> Result<(reqwest::StatusCode, Vec<u8>), UpstreamError> {
        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(|e| UpstreamError::Unreachable(e.to_string()))?;
        let status = response.status();
        trace_context::record_status(span, status);
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(UpstreamError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| UpstreamError::Unreachable(e.to_string()))?
        {
            if body.len().saturating_add(chunk.len()) > MAX_BODY_BYTES {
                return Err(UpstreamError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
    }
}

/// Parses an upstream URL: `https`, or `http` only to a loopback host (a provider on the same
/// machine, as in development and tests).
pub(crate) fn allowed_url(url: &str) -> Result<url::Url, UpstreamError> {
    let parsed = url::Url::parse(url).map_err(|_| UpstreamError::InsecureUrl(url.to_owned()))?;
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        _ => Err(UpstreamError::InsecureUrl(url.to_owned())),
    }
}

/// Whether `url` names this machine (`localhost` or a loopback address), where a plaintext
/// connection never leaves the host. (An address in a URL of a scheme the URL standard does not
/// know, such as `ldap:`, arrives as a domain and is read here.)
pub(crate) fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            d == "localhost"
                || d.trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http() {
        assert!(allowed_url("https://idp.example/x").is_ok());
        assert!(allowed_url("http://127.0.0.1:8080/x").is_ok());
        assert!(allowed_url("http://localhost/x").is_ok());
        assert!(allowed_url("http://[::1]/x").is_ok());
        assert!(allowed_url("http://idp.example/x").is_err());
        assert!(allowed_url("ftp://idp.example/x").is_err());
        assert!(allowed_url("not a url").is_err());
    }
}
