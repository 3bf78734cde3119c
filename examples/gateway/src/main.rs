//! `gateway`: the entry point of the example scenario. It verifies the caller's token with
//! portcullis-guard, then forwards `/api/orders/*` to orders-api and `/api/payments/*` to payments-api.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use clap::Parser;
use portcullis_guard::{Authenticated, Guard};
use std::net::SocketAddr;
use std::time::Duration;

/// The largest request body forwarded.
const MAX_BODY: usize = 1024 * 1024;
/// Request headers passed on to the services; everything else (cookies, `X-Forwarded-*`
/// supplied by the caller, hop-by-hop headers) is dropped.
const FORWARDED: [HeaderName; 3] = [header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT];
/// Response headers passed back to the caller.
const RETURNED: [HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::WWW_AUTHENTICATE,
    header::RETRY_AFTER,
    header::CACHE_CONTROL,
];

#[derive(Parser, Debug)]
#[command(
    name = "gateway",
    about = "Example API gateway protected by portcullis-guard"
)]
struct Args {
    /// The issuer URL (discovery and keys are found from it).
    #[arg(
        long,
        env = "PORTCULLIS_ISSUER",
        default_value = "http://127.0.0.1:8080"
    )]
    issuer: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// An audience the gateway accepts; repeat to accept tokens for each service behind it.
    #[arg(long, default_value = "gateway")]
    audience: Vec<String>,
    /// Base URL of orders-api.
    #[arg(long, default_value = "http://127.0.0.1:8091")]
    orders_url: String,
    /// Base URL of payments-api.
    #[arg(long, default_value = "http://127.0.0.1:8092")]
    payments_url: String,
}

#[derive(Clone, Debug)]
struct Upstreams {
    http: reqwest::Client,
    orders: String,
    payments: String,
}

async fn proxy(State(up): State<Upstreams>, auth: Authenticated, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let base = if path.starts_with("/api/orders") {
        &up.orders
    } else {
        &up.payments
    };
    let query = request
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let url = format!("{}{path}{query}", base.trim_end_matches('/'));
    let method = request.method().clone();
    let mut headers = reqwest::header::HeaderMap::new();
    for name in FORWARDED {
        if let Some(value) = request.headers().get(&name) {
            headers.insert(name, value.clone());
        }
    }
    let Ok(body) = to_bytes(request.into_body(), MAX_BODY).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    tracing::info!(%method, %path, sub = ?auth.subject(), jti = ?auth.jti(), "forwarding");
    let upstream = match up
        .http
        .request(method, &url)
        .headers(headers)
        .body(body)
        .send()
        .await
    {
        Ok(response) => response,
        Err(error) => {
            tracing::warn!(%error, %url, "upstream unreachable");
            return StatusCode::BAD_GATEWAY.into_response();
        }
    };
    let mut response = Response::builder().status(upstream.status());
    for name in RETURNED {
        if let Some(value) = upstream.headers().get(&name) {
            response = response.header(name, value.clone());
        }
    }
    match upstream.bytes().await {
        Ok(bytes) => response
            .body(Body::from(bytes))
            .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response()),
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,portcullis_guard=debug".into()),
        )
        .init();
    let args = Args::parse();
    let mut audiences = args.audience.into_iter();
    let first = audiences.next().unwrap_or_else(|| "gateway".to_owned());
    let mut builder = Guard::builder().issuer(args.issuer).audience(first);
    for audience in audiences {
        builder = builder.audience(audience);
    }
    let guard = builder.realm("gateway").build()?;
    if let Err(error) = guard.warm_up().await {
        tracing::warn!(%error, "issuer keys not loaded yet; they will be fetched on the first request");
    }
    let upstreams = Upstreams {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .build()?,
        orders: args.orders_url,
        payments: args.payments_url,
    };
    let app = Router::new()
        .route("/api/orders", any(proxy))
        .route("/api/orders/{*rest}", any(proxy))
        .route("/api/payments", any(proxy))
        .route("/api/payments/{*rest}", any(proxy))
        .layer(guard.layer())
        .route("/healthz", get(|| async { "ok" }))
        .with_state(upstreams);
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    tracing::info!(listen = %args.listen, "gateway listening");
    axum::serve(listener, app).await?;
    Ok(())
}
