//! One hook call over HTTP: a signed JSON POST on the server's one connection pool, no
//! redirects, the whole exchange within the hook's timeout, the answer read in chunks and
//! dropped as soon as it outgrows the limit.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use tracing::Instrument as _;

use super::HookFailure;
use super::signature::{SIGNATURE_HEADER, header};
use crate::config::TokenHookSettings;
use crate::trace_context;

/// The HTTP client every hook call of a server shares (connections are reused): redirects are
/// not followed (a hook that moved is a failing hook) and proxy variables are ignored, so the
/// claims go where the configuration says and nowhere else.
pub(crate) fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// POSTs `body` to the hook, signed at `now`, and returns the answer's body.
pub(crate) async fn call(
    client: &reqwest::Client,
    hook: &TokenHookSettings,
    body: Vec<u8>,
    now: i64,
) -> Result<Vec<u8>, HookFailure> {
    let signature = header(&hook.secret, now, &body);
    let limit = Duration::from_millis(hook.timeout_ms);
    let span = trace_context::client_span(&reqwest::Method::POST, &hook.url);
    let exchange = exchange(client, hook, signature, body, &span);
    tokio::time::timeout(limit, exchange.instrument(span.clone()))
        .await
        .unwrap_or(Err(HookFailure::Timeout))
}

async fn exchange(
    client: &reqwest::Client,
    hook: &TokenHookSettings,
    signature: String,
    body: Vec<u8>,
    span: &tracing::Span,
) -> Result<Vec<u8>, HookFailure> {
    let mut headers = HeaderMap::new();
    trace_context::inject(span, &mut headers);
    let mut response = client
        .post(hook.url.clone())
        .headers(headers)
        .header(CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await
        .map_err(transport)?;
    let status = response.status();
    trace_context::record_status(span, status);
    if status == StatusCode::FORBIDDEN {
        return Err(HookFailure::Refused);
    }
    if !status.is_success() {
        return Err(HookFailure::Status(status.as_u16()));
    }
    if !is_json(response.headers()) {
        return Err(HookFailure::ContentType);
    }
    let max = hook.max_response_bytes;
    if response
        .content_length()
        .is_some_and(|n| n > u64::try_from(max).unwrap_or(u64::MAX))
    {
        return Err(HookFailure::TooLarge);
    }
    let mut answer = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if answer.len().saturating_add(chunk.len()) > max {
            return Err(HookFailure::TooLarge);
        }
        answer.extend_from_slice(&chunk);
    }
    Ok(answer)
}

/// Whether the answer says it is `application/json` (parameters such as `charset` allowed).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

fn transport(e: reqwest::Error) -> HookFailure {
    if e.is_timeout() {
        HookFailure::Timeout
    } else if e.is_connect() {
        HookFailure::Connect
    } else {
        HookFailure::Transport
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn only_json_answers_are_read() {
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(CONTENT_TYPE, HeaderValue::from_static(v));
            is_json(&h)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(!with("text/plain"));
        assert!(!with("application/jsonx"));
        assert!(!with("text/html; a=application/json"));
        assert!(!is_json(&HeaderMap::new()));
    }
}
