//! Request counts and latencies per route, method and status, recorded through the `metrics`
//! facade: nothing is kept unless the process installed a recorder (`portcullis serve
//! --admin-listen` installs the Prometheus one). The route is the matched path pattern, never the
//! request's own path, so label values stay bounded whatever clients send.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// Counter of answered requests: `method`, `route`, `status`.
pub(crate) const REQUESTS: &str = "portcullis_http_requests_total";
/// Histogram of request durations in seconds: `method`, `route`.
pub(crate) const DURATION: &str = "portcullis_http_request_duration_seconds";

/// Records one request.
pub(crate) async fn record(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(DURATION, "method" => method.clone(), "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!(REQUESTS, "method" => method, "route" => route, "status" => status)
        .increment(1);
    response
}
