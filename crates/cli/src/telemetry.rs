//! OpenTelemetry traces of `portcullis serve`, off unless an OTLP endpoint is given
//! (`--otlp-endpoint`, or the standard `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` /
//! `OTEL_EXPORTER_OTLP_ENDPOINT`): the server's spans go over OTLP/HTTP (protobuf) through a
//! batch exporter on a thread of its own, and W3C trace context is read from requests and
//! written to calls out. Off, none of it is built: no layer, no exporter thread, no propagator.

use anyhow::{Context as _, anyhow};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::registry::LookupSpan;

/// The service name of the exported spans without `OTEL_SERVICE_NAME`.
const DEFAULT_SERVICE_NAME: &str = "portcullis";

/// The path OTLP/HTTP receives spans at, under a collector's base URL.
const TRACES_PATH: &str = "/v1/traces";

/// Where and under which name spans are exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceExport {
    /// The URL spans are posted to; `None` leaves it to the exporter's reading of the standard
    /// environment (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as it is, else
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`).
    endpoint: Option<String>,
    /// The `service.name` resource attribute.
    service_name: String,
}

impl TraceExport {
    /// The export `serve` asked for: `--otlp-endpoint` (a collector's base URL, `/v1/traces`
    /// appended, over the environment), else one of the standard endpoint variables; `None`
    /// when neither is set, and traces stay off.
    pub fn resolve(flag: Option<&url::Url>) -> anyhow::Result<Option<Self>> {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        let endpoint = match flag {
            Some(url) => Some(traces_url(url)?),
            None if set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
                || set("OTEL_EXPORTER_OTLP_ENDPOINT") =>
            {
                None
            }
            None => return Ok(None),
        };
        let service_name = std::env::var("OTEL_SERVICE_NAME")
            .ok()
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned());
        Ok(Some(Self {
            endpoint,
            service_name,
        }))
    }
}

/// The traces URL under the collector base URL `base` (`http` or `https`).
fn traces_url(base: &url::Url) -> anyhow::Result<String> {
    if !matches!(base.scheme(), "http" | "https") {
        return Err(anyhow!(
            "--otlp-endpoint must be an http or https URL, not {}",
            base.scheme()
        ));
    }
    Ok(format!(
        "{}{TRACES_PATH}",
        base.as_str().trim_end_matches('/')
    ))
}

/// Keeps the tracer provider; dropping it exports the spans still queued and stops the
/// exporter's thread.
#[must_use = "dropping the guard stops the exporter"]
pub struct TracesGuard {
    provider: SdkTracerProvider,
}

impl Drop for TracesGuard {
    fn drop(&mut self) {
        if let Err(err) = self.provider.shutdown() {
            eprintln!("warning: exporting the last spans failed: {err}");
        }
    }
}

/// Starts the exporter and installs the W3C trace-context propagator; returns the layer that
/// hands the spans of Portcullis's own crates (never log events, never other crates' spans,
/// the exporter's HTTP client among them) to the exporter.
pub fn start<S>(export: &TraceExport) -> anyhow::Result<(impl Layer<S> + use<S>, TracesGuard)>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    let builder = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary);
    let builder = match &export.endpoint {
        Some(url) => builder.with_endpoint(url.clone()),
        None => builder,
    };
    let exporter = builder
        .build()
        .context("cannot set up the OTLP span exporter")?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(export.service_name.clone())
                .build(),
        )
        .build();
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("portcullis"))
        .with_filter(filter_fn(|meta| {
            meta.is_span() && meta.target().starts_with("portcullis")
        }));
    Ok((layer, TracesGuard { provider }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_is_a_collector_base_url() {
        let url = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            traces_url(&url("http://127.0.0.1:4318")).unwrap(),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_url(&url("https://otel.example/prefix/")).unwrap(),
            "https://otel.example/prefix/v1/traces"
        );
        assert!(traces_url(&url("grpc://otel.example:4317")).is_err());
    }
}
