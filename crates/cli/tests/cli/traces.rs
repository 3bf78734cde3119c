//! `serve --otlp-endpoint`: spans exported over OTLP/HTTP to a receiver in the test (decoded
//! with the OTLP protobuf types), joined to the caller's W3C trace, named in the log lines; and
//! without an endpoint, nothing exported and `traceparent` harmless.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message as _;
use serde_json::Value;

use crate::common::*;

/// The caller's trace and span in the `traceparent` the tests send.
const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// Every standard variable that could turn traces on or name the service, removed so the
/// tests see only what they set.
const OTEL_ENV: &[&str] = &[
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
];

/// A span as exported, with the `service.name` of its resource.
#[derive(Debug, Clone)]
struct Exported {
    service: Option<String>,
    span: Span,
}

impl Exported {
    fn attr(&self, key: &str) -> Option<&any_value::Value> {
        attr(&self.span.attributes, key)
    }

    fn str_attr(&self, key: &str) -> Option<&str> {
        match self.attr(key) {
            Some(any_value::Value::StringValue(s)) => Some(s),
            _ => None,
        }
    }
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v: &AnyValue| v.value.as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An OTLP/HTTP receiver on a loopback port: every `POST /v1/traces` body decoded and kept.
struct Receiver {
    endpoint: String,
    spans: Arc<Mutex<Vec<Exported>>>,
}

async fn receive(State(spans): State<Arc<Mutex<Vec<Exported>>>>, body: Bytes) -> Vec<u8> {
    let request = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf body");
    let mut kept = spans.lock().unwrap();
    for resource in request.resource_spans {
        let service =
            resource
                .resource
                .as_ref()
                .and_then(|r| match attr(&r.attributes, "service.name") {
                    Some(any_value::Value::StringValue(s)) => Some(s.clone()),
                    _ => None,
                });
        for scope in resource.scope_spans {
            for span in scope.spans {
                kept.push(Exported {
                    service: service.clone(),
                    span,
                });
            }
        }
    }
    // An empty ExportTraceServiceResponse: everything accepted.
    Vec::new()
}

async fn receiver() -> Receiver {
    let spans = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new()
        .route("/v1/traces", post(receive))
        .with_state(Arc::clone(&spans));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { endpoint, spans }
}

/// A client-credentials token request of the demo client carrying `traceparent` if given.
async fn token_request(base: &str, traceparent: Option<&str>) -> reqwest::StatusCode {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/token"))
        .basic_auth("demo-app", Some("demo-app-secret-change-me"))
        .form(&[("grant_type", "client_credentials"), ("scope", "demo:read")]);
    if let Some(value) = traceparent {
        request = request.header("traceparent", value);
    }
    request.send().await.unwrap().status()
}

/// Stops the server gracefully (which exports the spans still queued) off the runtime, so the
/// receiver keeps answering meanwhile; returns standard error.
async fn stop(served: Served) -> String {
    let mut served = served;
    let output = tokio::task::spawn_blocking(move || served.kill_and_collect())
        .await
        .unwrap();
    stderr(&output)
}

/// The JSON log lines of standard error.
fn json_lines(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The exported HTTP server span of `POST /token`; exactly one.
fn token_span(spans: &[Exported]) -> Exported {
    let found: Vec<&Exported> = spans
        .iter()
        .filter(|s| s.span.kind == SpanKind::Server as i32 && s.span.name == "POST /token")
        .collect();
    assert_eq!(found.len(), 1, "one POST /token server span in {spans:#?}");
    found[0].clone()
}

/// Whether `span` descends from `ancestor` among `spans`.
fn descends_from(spans: &[Exported], span: &Span, ancestor: &Span) -> bool {
    let mut parent = span.parent_span_id.clone();
    while !parent.is_empty() {
        if parent == ancestor.span_id {
            return true;
        }
        parent = spans
            .iter()
            .find(|s| s.span.span_id == parent)
            .map(|s| s.span.parent_span_id.clone())
            .unwrap_or_default();
    }
    false
}

#[tokio::test]
async fn otlp_exports_the_request_span_in_the_callers_trace() {
    let otlp = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let envs: Vec<(&str, Option<&str>)> = OTEL_ENV.iter().map(|k| (*k, None)).collect();
    let served = serve_with(
        &[
            "--dev",
            "--log-format",
            "json",
            "--otlp-endpoint",
            &otlp.endpoint,
        ],
        dir.path(),
        &envs,
    )
    .await;
    let traceparent = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    assert_eq!(token_request(&served.base, Some(&traceparent)).await, 200);
    let stderr = stop(served).await;
    let spans = otlp.spans.lock().unwrap().clone();

    let http = token_span(&spans);
    assert_eq!(hex(&http.span.trace_id), CALLER_TRACE);
    assert_eq!(hex(&http.span.parent_span_id), CALLER_SPAN);
    assert_eq!(http.service.as_deref(), Some("portcullis"));
    assert_eq!(http.str_attr("http.request.method"), Some("POST"));
    assert_eq!(http.str_attr("http.route"), Some("/token"));
    assert_eq!(http.str_attr("url.path"), Some("/token"));
    assert_eq!(
        http.attr("http.response.status_code"),
        Some(&any_value::Value::IntValue(200))
    );

    // The client lookup of the token request, a store span within the request's span (the
    // start-up's lookups are traces of their own).
    let store = spans
        .iter()
        .find(|s| s.span.name == "get_client" && s.span.trace_id == http.span.trace_id)
        .unwrap_or_else(|| panic!("no get_client store span in the request's trace: {spans:#?}"));
    assert_eq!(store.span.kind, SpanKind::Client as i32);
    assert!(descends_from(&spans, &store.span, &http.span));
    assert_eq!(store.str_attr("db.system"), Some("sqlite"));
    assert_eq!(store.str_attr("db.operation.name"), Some("get_client"));

    // The request's log lines name the trace: the audit record of the token, for one.
    let lines = json_lines(&stderr);
    let issued = lines
        .iter()
        .find(|l| l["event"] == "token_issued")
        .unwrap_or_else(|| panic!("no token_issued line in\n{stderr}"));
    let spans_of_line = issued["spans"].as_array().unwrap();
    assert!(
        spans_of_line
            .iter()
            .any(|s| s["name"] == "request" && s["trace_id"] == CALLER_TRACE),
        "{issued}"
    );
}

#[tokio::test]
async fn otlp_from_the_environment_ignores_a_malformed_traceparent() {
    let otlp = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let mut envs: Vec<(&str, Option<&str>)> = OTEL_ENV.iter().map(|k| (*k, None)).collect();
    envs.push(("OTEL_EXPORTER_OTLP_ENDPOINT", Some(&otlp.endpoint)));
    envs.push(("OTEL_SERVICE_NAME", Some("portcullis-edge")));
    let served = serve_with(&["--dev"], dir.path(), &envs).await;
    assert_eq!(
        token_request(&served.base, Some("00-not-a-trace-context")).await,
        200
    );
    let stderr = stop(served).await;
    let spans = otlp.spans.lock().unwrap().clone();

    // A trace of its own: a valid id, no parent.
    let http = token_span(&spans);
    assert_eq!(http.service.as_deref(), Some("portcullis-edge"));
    assert_eq!(http.span.trace_id.len(), 16);
    assert!(http.span.trace_id.iter().any(|b| *b != 0));
    assert!(http.span.parent_span_id.is_empty());
    // Human-readable lines carry the new trace's id too.
    let trace_id = hex(&http.span.trace_id);
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("token_issued") && l.contains(&format!("trace_id={trace_id}"))),
        "{stderr}"
    );
}

#[tokio::test]
async fn without_an_endpoint_nothing_is_exported_and_traceparent_is_harmless() {
    let otlp = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let envs: Vec<(&str, Option<&str>)> = OTEL_ENV.iter().map(|k| (*k, None)).collect();
    let served = serve_with(&["--dev", "--log-format", "json"], dir.path(), &envs).await;
    let traceparent = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    assert_eq!(token_request(&served.base, Some(&traceparent)).await, 200);
    assert_eq!(
        token_request(&served.base, Some("00-not-a-trace-context")).await,
        200
    );
    let stderr = stop(served).await;
    assert!(otlp.spans.lock().unwrap().is_empty());
    let lines = json_lines(&stderr);
    assert!(
        lines.iter().any(|l| l["event"] == "token_issued"),
        "{stderr}"
    );
    assert!(!stderr.contains("trace_id"), "{stderr}");
    assert!(!stderr.contains(CALLER_TRACE), "{stderr}");
}
