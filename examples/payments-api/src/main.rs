//! `payments-api`: the payments service of the example scenario. `POST /api/payments` needs
//! `payments:write`; tokens are verified locally with portcullis-guard from the issuer URL.

use axum::routing::{get, post};
use axum::{Json, Router};
use clap::Parser;
use portcullis_guard::{Authenticated, Guard, require_scope};
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Parser, Debug)]
#[command(
    name = "payments-api",
    about = "Example payments service protected by portcullis-guard"
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
    #[arg(long, default_value = "127.0.0.1:8092")]
    listen: SocketAddr,
    /// The audience tokens must name.
    #[arg(long, default_value = "payments-api")]
    audience: String,
}

#[derive(Debug, Deserialize)]
struct Charge {
    order_id: u64,
    amount_cents: u64,
}

async fn pay(
    axum::extract::State(counter): axum::extract::State<Arc<AtomicU64>>,
    auth: Authenticated,
    Json(charge): Json<Charge>,
) -> Json<serde_json::Value> {
    let id = counter.fetch_add(1, Ordering::Relaxed) + 1;
    tracing::info!(
        payment = id,
        order = charge.order_id,
        amount_cents = charge.amount_cents,
        caller = auth.client_id().unwrap_or("-"),
        client_token = auth.is_client_token(),
        on_behalf_of = auth.claims().raw().get("sub").and_then(|v| v.as_str()).unwrap_or("-"),
        act = %auth.claims().raw().get("act").map(ToString::to_string).unwrap_or_default(),
        "payment captured"
    );
    Json(serde_json::json!({"payment_id": format!("pay-{id}"), "status": "captured"}))
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
    let guard = Guard::builder()
        .issuer(args.issuer)
        .audience(args.audience)
        .build()?;
    if let Err(error) = guard.warm_up().await {
        tracing::warn!(%error, "issuer keys not loaded yet; they will be fetched on the first request");
    }
    let app = Router::new()
        .route(
            "/api/payments",
            post(pay).route_layer(require_scope("payments:write")),
        )
        .layer(guard.layer())
        .route("/healthz", get(|| async { "ok" }))
        .with_state(Arc::new(AtomicU64::new(0)));
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    tracing::info!(listen = %args.listen, "payments-api listening");
    axum::serve(listener, app).await?;
    Ok(())
}
