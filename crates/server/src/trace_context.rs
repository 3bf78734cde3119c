//! W3C trace context at the server's edges: a request span joins the trace its caller names in
//! `traceparent` / `tracestate`, and calls out (token hooks, upstream providers) carry their own
//! span's context on. Both go through the process's OpenTelemetry propagator, which the binary
//! sets only when it exports traces; without one nothing is read or written.

use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Makes `span` a child of the caller's span named by the trace-context headers of `headers`
/// and returns the span's trace id (32 lower-case hex digits). Headers that are missing or
/// malformed are ignored: the span then starts a trace of its own. `None` when no
/// OpenTelemetry layer records `span`.
pub(crate) fn join(span: &Span, headers: &http::HeaderMap) -> Option<String> {
    let caller = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(headers))
    });
    // Fails only when no OpenTelemetry layer records the span: then there is nothing to join.
    span.set_parent(caller).ok()?;
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

/// Adds `span`'s trace context to the headers of a request about to be sent; nothing when the
/// span is off (no exporter).
pub(crate) fn inject(span: &Span, headers: &mut http::HeaderMap) {
    if span.is_disabled() {
        return;
    }
    let context = span.context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut HeaderInjector(headers));
    });
}

/// The span of one outgoing HTTP request (OpenTelemetry client-span conventions); its
/// `http.response.status_code` is recorded by [`record_status`]. At `debug` level, so the
/// process's log filter leaves it out by default while an exporter still sees it.
pub(crate) fn client_span(method: &http::Method, url: &url::Url) -> Span {
    tracing::debug_span!(
        "http_client",
        otel.name = method.as_str(),
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        http.request.method = method.as_str(),
        server.address = url.host_str().unwrap_or_default(),
        server.port = i64::from(url.port_or_known_default().unwrap_or_default()),
        url.path = url.path(),
        http.response.status_code = tracing::field::Empty,
    )
}

/// Records the status of the answer to a client span's request; a 4xx or 5xx marks the span
/// as failed, as the client-span conventions say.
pub(crate) fn record_status(span: &Span, status: http::StatusCode) {
    // As an i64: the exporter keeps unsigned values as text.
    span.record("http.response.status_code", i64::from(status.as_u16()));
    if status.is_client_error() || status.is_server_error() {
        span.record("otel.status_code", "error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_an_opentelemetry_layer_nothing_is_joined_or_written() {
        let span = tracing::info_span!("request");
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "traceparent",
            http::HeaderValue::from_static(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        );
        assert_eq!(join(&span, &headers), None);
        let mut out = http::HeaderMap::new();
        inject(&span, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn a_request_joins_the_callers_trace_and_a_call_out_carries_it_on() {
        use opentelemetry::trace::TracerProvider as _;
        use tracing_subscriber::layer::SubscriberExt as _;

        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let request = tracing::info_span!("request");
            let mut incoming = http::HeaderMap::new();
            incoming.insert(
                "traceparent",
                http::HeaderValue::from_static(
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                ),
            );
            assert_eq!(
                join(&request, &incoming).as_deref(),
                Some("4bf92f3577b34da6a3ce929d0e0e4736")
            );

            let url = url::Url::parse("https://hooks.example/claims").unwrap();
            let call = request.in_scope(|| client_span(&http::Method::POST, &url));
            let mut outgoing = http::HeaderMap::new();
            inject(&call, &mut outgoing);
            let sent = outgoing["traceparent"].to_str().unwrap().to_owned();
            let call_id = call.context().span().span_context().span_id().to_string();
            // The call's own span, in the caller's trace, sampled as the caller asked.
            assert_eq!(
                sent,
                format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{call_id}-01")
            );
            assert_ne!(call_id, "00f067aa0ba902b7");

            // A malformed header is ignored: a trace of its own.
            let fresh = tracing::info_span!("request");
            let mut bad = http::HeaderMap::new();
            bad.insert(
                "traceparent",
                http::HeaderValue::from_static("00-zz-not-hex-01"),
            );
            let trace_id = join(&fresh, &bad).unwrap();
            assert_eq!(trace_id.len(), 32);
            assert_ne!(trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        });
    }
}
