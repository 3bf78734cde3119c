//! The HTTP/1.1 listener of `portcullis serve`: hyper's connection builder with a header-read
//! timeout (which is also the keep-alive idle timeout) and a cap on open connections, so idle
//! or half-open connections can neither pile up nor exhaust the file descriptors.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

/// Descriptors kept back from the connection cap for the database pool, files and logs.
const RESERVED_DESCRIPTORS: u64 = 64;
/// The cap when the descriptor limit is unknown or unlimited.
const FALLBACK_MAX_CONNECTIONS: usize = 1024;
/// The smallest derived cap.
const MIN_MAX_CONNECTIONS: usize = 16;
/// Pause after a failed `accept` (e.g. descriptors exhausted) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Connection limits of the listener.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time allowed for a request's headers, from connection start or the previous response.
    pub header_read_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
}

/// The default connection cap: three quarters of what the soft file-descriptor limit leaves
/// after [`RESERVED_DESCRIPTORS`], at least [`MIN_MAX_CONNECTIONS`].
pub fn default_max_connections() -> usize {
    let Some(soft) = descriptor_limit() else {
        return FALLBACK_MAX_CONNECTIONS;
    };
    let usable = soft.saturating_sub(RESERVED_DESCRIPTORS).saturating_mul(3) / 4;
    usize::try_from(usable)
        .unwrap_or(usize::MAX)
        .max(MIN_MAX_CONNECTIONS)
}

#[cfg(unix)]
fn descriptor_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(not(unix))]
fn descriptor_limit() -> Option<u64> {
    None
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(%err, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            tracing::debug!(%remote, max = limits.max_connections, "too many connections, closing");
            drop(stream);
            continue;
        };
        let service = router
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(remote));
                request.map(Body::new)
            });
        let conn = builder.serve_connection(
            TokioIo::new(stream),
            TowerToHyperService::new(service.map_err(|e: Infallible| match e {})),
        );
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(err) = conn.await {
                tracing::debug!(%remote, %err, "connection closed");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
