//! The audit trail screen: stored audit events, newest first, filtered by event, user and
//! client, a page at a time, through [`admin::audit_events`] (as `GET /admin/v1/audit`).

use axum::extract::{Query, State};
use axum::response::Response;
use maud::html;

use super::access::{Console, ConsoleError};
use super::layout::{page, seg};
use super::{CONSOLE_PATH, ConsoleState};
use crate::admin;
use crate::admin_api::AuditParams;
use crate::admin_api::auth::AuditRead;
use crate::admin_api::error::ApiError;

/// `GET /admin/console/audit`: a page of the audit trail.
pub(crate) async fn list(
    console: Console<AuditRead>,
    State(state): State<ConsoleState>,
    Query(params): Query<AuditParams>,
) -> Result<Response, ConsoleError> {
    let blank = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let event = blank(&params.event);
    let user = blank(&params.user);
    let client_id = blank(&params.client_id);
    let query = AuditParams {
        event: event.clone(),
        user: user.clone(),
        client_id: client_id.clone(),
        before: params.before,
        limit: params.limit,
    };
    let found = admin::audit_events(state.app.store.as_ref(), &query.into())
        .await
        .map_err(ApiError::from)?;
    let filters: String = [
        ("event", &event),
        ("user", &user),
        ("client_id", &client_id),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.as_ref().map(|v| format!("&{name}={}", seg(v))))
    .collect();
    let next = found
        .next
        .map(|before| format!("{CONSOLE_PATH}/audit?before={before}{filters}"));
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    Ok(page(
        "Audit trail",
        &console.csrf,
        html! {
            form method="get" action=(format!("{CONSOLE_PATH}/audit")) role="search" {
                div.row {
                    div { label for="event" { "Event" } input #event type="text" name="event" value=(text(&event)); }
                    div { label for="user" { "User" } input #user type="text" name="user" value=(text(&user)); }
                    div { label for="client_id" { "Client" } input #client_id type="text" name="client_id" value=(text(&client_id)); }
                }
                button type="submit" { "Filter" }
            }
            table #audit {
                caption.muted { "Newest first" }
                thead { tr {
                    th scope="col" { "Time (Unix)" } th scope="col" { "Event" } th scope="col" { "Details" }
                } }
                tbody {
                    @for entry in &found.events {
                        tr {
                            td { (entry.at) }
                            td { (entry.event) }
                            td {
                                @for (name, value) in &entry.fields {
                                    span.field { code { (name) } "=" (value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string())) " " }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(next) = next {
                p { a href=(next) rel="next" { "Older events" } }
            }
        },
    ))
}
