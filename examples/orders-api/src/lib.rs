//! The orders service of the example scenario: `GET /api/orders` needs `orders:read`,
//! `POST /api/orders` needs `orders:write` and charges the order through payments-api with a
//! token exchanged from the caller's (RFC 8693), so payments-api knows on whose behalf it acts.

#![forbid(unsafe_code)]

pub mod payments;

use axum::extract::{FromRef, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::get;
use axum::{Json, Router};
use payments::{Payment, PaymentsClient};
use portcullis_guard::{Authenticated, Guard, require_scope};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, PoisonError};

/// An order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Order {
    /// Sequential identifier.
    pub id: u64,
    /// Who placed it: `user:<sub>` or `client:<client_id>` (never mixed up, RS-7).
    pub owner: String,
    /// What was ordered.
    pub item: String,
    /// Price in cents.
    pub amount_cents: u64,
    /// The payment made for it.
    pub payment: Option<Payment>,
}

/// The body of `POST /api/orders`.
#[derive(Debug, Deserialize)]
pub struct NewOrder {
    /// What to order.
    pub item: String,
    /// Price in cents.
    pub amount_cents: u64,
}

/// Shared state of the service.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Verifies incoming tokens.
    pub guard: Guard,
    /// Calls payments-api.
    pub payments: Arc<PaymentsClient>,
    /// The orders, in memory.
    pub orders: Arc<Mutex<Vec<Order>>>,
}

impl FromRef<AppState> for Guard {
    fn from_ref(state: &AppState) -> Guard {
        state.guard.clone()
    }
}

/// The router, guarded by `state.guard`.
pub fn app(state: AppState) -> Router {
    let guard = state.guard.clone();
    Router::new()
        .route(
            "/api/orders",
            get(list.layer(require_scope("orders:read")))
                .post(create.layer(require_scope("orders:write"))),
        )
        .layer(guard.layer())
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

fn owner(auth: &Authenticated) -> String {
    match auth.user_id() {
        Some(user) => format!("user:{user}"),
        None => format!("client:{}", auth.client_id().unwrap_or("unknown")),
    }
}

async fn list(State(state): State<AppState>, auth: Authenticated) -> Json<Vec<Order>> {
    let owner = owner(&auth);
    let orders = state.orders.lock().unwrap_or_else(PoisonError::into_inner);
    Json(
        orders
            .iter()
            .filter(|o| o.owner == owner)
            .cloned()
            .collect(),
    )
}

/// The bearer token of the request (the guard has already verified it).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    headers: HeaderMap,
    Json(new): Json<NewOrder>,
) -> Result<(StatusCode, Json<Order>), (StatusCode, Json<serde_json::Value>)> {
    let Some(caller_token) = bearer(&headers) else {
        return Err((
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"error": "invalid_token"})),
        ));
    };
    let id = {
        let orders = state.orders.lock().unwrap_or_else(PoisonError::into_inner);
        u64::try_from(orders.len())
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    };
    let payment = state
        .payments
        .charge(caller_token, id, new.amount_cents)
        .await
        .map_err(|error| {
            tracing::warn!(%error, order = id, "payment failed");
            (
                StatusCode::BAD_GATEWAY,
                Json(serde_json::json!({"error": "payment_failed"})),
            )
        })?;
    let order = Order {
        id,
        owner: owner(&auth),
        item: new.item,
        amount_cents: new.amount_cents,
        payment: Some(payment),
    };
    tracing::info!(order = id, jti = ?auth.jti(), "order created");
    state
        .orders
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(order.clone());
    Ok((StatusCode::CREATED, Json(order)))
}
