//! `/admin/v1/audit`: the stored audit trail, newest first, a page at a time, filtered by event,
//! user and client, through [`admin::audit_events`], the function behind `portcullis audit list`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::{Admin, AuditRead};
use super::error::{ApiError, ErrorBody};
use crate::admin::{self, AuditPage, AuditQuery, DEFAULT_AUDIT_PAGE};
use crate::state::AppState;

/// Which audit events to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Only this event name (`login_success`, `token_issued`, `admin_change`, ...).
    pub event: Option<String>,
    /// Only events about this user: their `user_id`, `sub` or `actor`.
    pub user: Option<String>,
    /// Only events naming this client.
    pub client_id: Option<String>,
    /// Only events older than this id (the `next` of the previous page).
    pub before: Option<i64>,
    /// Events per page, 1 to 200 [default: 50].
    pub limit: Option<usize>,
}

impl From<AuditParams> for AuditQuery {
    fn from(p: AuditParams) -> Self {
        Self {
            event: p.event,
            user: p.user,
            client_id: p.client_id,
            before: p.before,
            limit: p.limit.unwrap_or(DEFAULT_AUDIT_PAGE),
        }
    }
}

/// Lists stored audit events, newest first, a page at a time.
#[utoipa::path(get, path = "/admin/v1/audit", tag = "audit",
    params(AuditParams),
    security(("bearer" = ["admin:audit:read"])),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn list(
    _admin: Admin<AuditRead>,
    State(state): State<Arc<AppState>>,
    params: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    let Query(params) = params?;
    let page = admin::audit_events(state.store.as_ref(), &params.into()).await?;
    Ok(Json(page))
}
