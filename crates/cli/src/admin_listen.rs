//! The admin listener of `serve --admin-listen ADDR`: Prometheus metrics at `/metrics` and the
//! admin REST API under `/admin/v1` (token-protected, see `portcullis_server::admin_api`), on an
//! address of its own so that they are not public. Without it no recorder is installed and the
//! server's metrics cost nothing.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

/// Upper bounds, in seconds, of the request-duration histogram's buckets.
const DURATION_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often histograms are compacted.
const UPKEEP: Duration = Duration::from_secs(5);

/// A bound admin listener with the Prometheus recorder installed.
#[derive(Debug)]
pub struct AdminListener {
    listener: TcpListener,
    handle: PrometheusHandle,
}

/// Installs the Prometheus recorder (before anything records) and binds `addr`.
pub async fn bind(addr: &str) -> anyhow::Result<AdminListener> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("portcullis_http_request_duration_seconds".to_owned()),
            DURATION_BUCKETS,
        )
        .map_err(|e| anyhow!("metrics buckets: {e}"))?
        .install_recorder()
        .map_err(|e| anyhow!("installing the metrics recorder: {e}"))?;
    metrics::gauge!("portcullis_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the admin listener {addr}"))?;
    Ok(AdminListener { listener, handle })
}

impl AdminListener {
    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves `/metrics` and the routes of `api` (the admin API) until the process ends.
    pub fn spawn(self, api: Router) {
        let upkeep = self.handle.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(UPKEEP);
            loop {
                tick.tick().await;
                upkeep.run_upkeep();
            }
        });
        let handle = self.handle;
        let app = Router::new()
            .route(
                "/metrics",
                get(move || {
                    let body = handle.render();
                    async move {
                        (
                            [(
                                header::CONTENT_TYPE,
                                "text/plain; version=0.0.4; charset=utf-8",
                            )],
                            body,
                        )
                            .into_response()
                    }
                }),
            )
            .merge(api);
        tokio::spawn(async move {
            if let Err(err) = axum::serve(self.listener, app).await {
                tracing::error!(%err, "admin listener stopped");
            }
        });
    }
}
