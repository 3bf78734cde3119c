//! `orders-api`: the orders service of the example scenario, verifying tokens locally with
//! portcullis-guard given only the issuer URL and its audience.

use clap::Parser;
use orders_api::payments::PaymentsClient;
use orders_api::{AppState, app};
use portcullis_guard::{Guard, Revocation};
use portcullis_types::ClientSecret;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

#[derive(Parser, Debug)]
#[command(
    name = "orders-api",
    about = "Example orders service protected by portcullis-guard"
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
    #[arg(long, default_value = "127.0.0.1:8091")]
    listen: SocketAddr,
    /// The audience tokens must name.
    #[arg(long, default_value = "orders-api")]
    audience: String,
    /// The audience of the tokens obtained by exchange for payments-api.
    #[arg(long, default_value = orders_api::payments::PAYMENTS_AUDIENCE)]
    payments_audience: String,
    /// Base URL of payments-api.
    #[arg(long, default_value = "http://127.0.0.1:8092")]
    payments_url: String,
    /// This service's own client id: it authenticates the token exchange for payments-api and
    /// its client-credentials token is the exchange's actor token.
    #[arg(long, env = "ORDERS_API_CLIENT_ID", default_value = "orders-api")]
    client_id: String,
    /// This service's own client secret.
    #[arg(long, env = "ORDERS_API_CLIENT_SECRET")]
    client_secret: String,
    /// The issuer's Redis (e.g. redis://127.0.0.1:6379): refuses revoked tokens and every token
    /// of a user issued before they signed out everywhere. Without it, tokens are good until
    /// they expire.
    #[arg(long, env = "ORDERS_API_REDIS_URL")]
    redis_url: Option<String>,
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
    let mut guard = Guard::builder()
        .issuer(args.issuer.clone())
        .audience(args.audience);
    if let Some(url) = args.redis_url {
        guard = guard.revocation(Revocation::redis(url));
    }
    let guard = guard.build()?;
    if let Err(error) = guard.warm_up().await {
        tracing::warn!(%error, "issuer keys not loaded yet; they will be fetched on the first request");
    }
    let payments = PaymentsClient::new(
        args.payments_url,
        args.issuer,
        args.client_id,
        ClientSecret::new(args.client_secret),
    )?
    .with_audience(args.payments_audience);
    let state = AppState {
        guard,
        payments: Arc::new(payments),
        orders: Arc::new(Mutex::new(Vec::new())),
    };
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    tracing::info!(listen = %args.listen, "orders-api listening");
    axum::serve(listener, app(state)).await?;
    Ok(())
}
