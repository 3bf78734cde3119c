//! The orders service of the example scenario: `GET /api/orders` needs `orders:read` and
//! answers who the caller is, their roles and their orders; `POST /api/orders` needs the
//! `orders:write` scope and the `orders:write` role, and charges the order through payments-api
//! with a token exchanged from the caller's (RFC 8693), so payments-api knows on whose behalf it
//! acts.

#![forbid(unsafe_code)]

pub mod payments;

use axum::extract::{FromRef, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::get;
use axum::{Json, Router};
use payments::{Payment, PaymentsClient};
use portcullis_guard::{AccessClaims, Authenticated, Guard, RequireRole, RoleName, require_scope};
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

/// The answer of `GET /api/orders`: who asks, with which roles, and their orders.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OrderList {
    /// The user the token acts for (`sub`); `None` for a client acting for itself (RS-7).
    pub user: Option<String>,
    /// The roles the token carries (RFC 9068 §2.2.3.1).
    pub roles: Vec<String>,
    /// The caller's orders.
    pub orders: Vec<Order>,
}

/// The role that may place orders, beside the `orders:write` scope: the scope says what the
/// client may do for the user, the role what the user may do at all.
#[derive(Debug, Clone, Copy)]
pub struct OrdersWriter;

impl RoleName for OrdersWriter {
    const NAME: &'static str = "orders:write";
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

fn owner(auth: &AccessClaims) -> String {
    match auth.user_id() {
        Some(user) => format!("user:{user}"),
        None => format!("client:{}", auth.client_id().unwrap_or("unknown")),
    }
}

async fn list(State(state): State<AppState>, auth: Authenticated) -> Json<OrderList> {
    let owner = owner(&auth);
    let orders = state.orders.lock().unwrap_or_else(PoisonError::into_inner);
    Json(OrderList {
        user: auth.user_id().map(str::to_owned),
        roles: auth.roles().to_vec(),
        orders: orders
            .iter()
            .filter(|o| o.owner == owner)
            .cloned()
            .collect(),
    })
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
    auth: RequireRole<OrdersWriter>,
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
