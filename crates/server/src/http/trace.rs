//! The request span of the tracing layer: method, path and a query whose secret-bearing
//! parameters (codes, hints, `state`, credentials) read `[redacted]`, at every level (KEY-4).
//! When traces are exported, the span follows the OpenTelemetry HTTP server conventions instead
//! ([`ServerSpan`]), joins the caller's trace and carries its trace id into every log line.

use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{Request, Response, Uri};
use tower_http::trace::{DefaultOnResponse, MakeSpan, OnResponse};
use tracing::Span;
use tracing::field::Empty;

/// Query parameters whose values never reach a log.
const SECRET_PARAMS: &[&str] = &[
    "access_token",
    "actor_token",
    "assertion",
    "client_assertion",
    "client_secret",
    "code",
    "code_verifier",
    "device_code",
    "email",
    "id_token",
    "id_token_hint",
    "login_hint",
    "password",
    "refresh_token",
    "request",
    "state",
    "subject_token",
    "token",
    "user_code",
];

/// Makes the `request` span with the redacted URI.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RedactedSpan;

impl<B> MakeSpan<B> for RedactedSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        tracing::debug_span!(
            "request",
            method = %request.method(),
            uri = %redacted_uri(request.uri()),
            version = ?request.version(),
        )
    }
}

/// Makes the `request` span of a server that exports traces: an HTTP server span named
/// `METHOD route` with the semantic-convention attributes (`http.request.method`, `http.route`,
/// `url.path`, and `http.response.status_code` once answered), a child of the caller's span
/// when the request carries a valid `traceparent`, and its `trace_id` as a field, so the log
/// lines of the request name the trace. At `info` level, so those log lines carry it under the
/// default filter. The query string is left out: it may hold credentials.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ServerSpan;

impl<B> MakeSpan<B> for ServerSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        let method = request.method().as_str();
        // The matched pattern, never the request's own path: span names stay bounded.
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str);
        let span = tracing::info_span!(
            "request",
            otel.name = %format_args!("{method} {}", route.unwrap_or("unmatched")),
            otel.kind = "server",
            otel.status_code = Empty,
            http.request.method = method,
            http.route = route,
            url.path = request.uri().path(),
            http.response.status_code = Empty,
            trace_id = Empty,
        );
        if let Some(trace_id) = crate::trace_context::join(&span, request.headers()) {
            span.record("trace_id", tracing::field::display(trace_id));
        }
        span
    }
}

/// Records the status of the answer on a [`ServerSpan`] (a 5xx marks it failed, as the server
/// conventions say), then logs the response as the default does.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RecordStatus;

impl<B> OnResponse<B> for RecordStatus {
    fn on_response(self, response: &Response<B>, latency: Duration, span: &Span) {
        let status = response.status();
        // As an i64: the exporter keeps unsigned values as text.
        span.record("http.response.status_code", i64::from(status.as_u16()));
        if status.is_server_error() {
            span.record("otel.status_code", "error");
        }
        DefaultOnResponse::default().on_response(response, latency, span);
    }
}

/// The path and query of `uri`, each secret parameter's value replaced by `[redacted]`; the
/// other parameters are kept as sent.
pub(crate) fn redacted_uri(uri: &Uri) -> String {
    let Some(query) = uri.query() else {
        return uri.path().to_owned();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| {
            let raw_name = pair.split('=').next().unwrap_or_default();
            let secret = form_urlencoded::parse(raw_name.as_bytes())
                .next()
                .is_some_and(|(name, _)| SECRET_PARAMS.contains(&name.as_ref()));
            if secret {
                format!("{raw_name}=[redacted]")
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!("{}?{}", uri.path(), pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_4_secret_query_values_are_redacted() {
        let uri: Uri =
            "/authorize?client_id=web&state=s3cr3t&co%64e=abc&login_hint=a%40b&scope=openid"
                .parse()
                .unwrap();
        assert_eq!(
            redacted_uri(&uri),
            "/authorize?client_id=web&state=[redacted]&co%64e=[redacted]&login_hint=[redacted]&scope=openid"
        );
        assert_eq!(redacted_uri(&"/token".parse().unwrap()), "/token");
        let reset: Uri = "/password/reset?token=t0k3n&error=short".parse().unwrap();
        assert_eq!(
            redacted_uri(&reset),
            "/password/reset?token=[redacted]&error=short"
        );
        let sign_up: Uri = "/register?username=ada&email=ada%40example.com&error=taken"
            .parse()
            .unwrap();
        assert_eq!(
            redacted_uri(&sign_up),
            "/register?username=ada&email=[redacted]&error=taken"
        );
    }
}
