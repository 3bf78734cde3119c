//! The upstream identity providers screen: the list, and removal after a confirmation step.
//! (Saving an upstream needs its secrets and options: the CLI and the API do that.)

use axum::extract::{Path, State};
use axum::response::Response;
use maud::html;

use super::access::{Console, ConsoleError, ConsoleForm};
use super::layout::{Confirm, confirm, csrf_field, page, seg};
use super::{CONSOLE_PATH, ConsoleState};
use crate::admin;
use crate::admin_api::auth::{UpstreamsRead, UpstreamsWrite};
use crate::admin_api::error::ApiError;
use crate::admin_api::upstreams::{self, UpstreamKindView, UpstreamView};

/// `GET /admin/console/upstreams`: the upstreams.
pub(crate) async fn list(
    console: Console<UpstreamsRead>,
    State(state): State<ConsoleState>,
) -> Result<Response, ConsoleError> {
    let all: Vec<UpstreamView> = admin::list_upstreams(state.app.store.as_ref())
        .await
        .map_err(ApiError::from)?
        .iter()
        .map(UpstreamView::from)
        .collect();
    Ok(page(
        "Upstream identity providers",
        &console.csrf,
        html! {
            @if all.is_empty() { p.muted { "No upstream is configured." } }
            table {
                thead { tr {
                    th scope="col" { "Id" } th scope="col" { "Kind" } th scope="col" { "Name" }
                    th scope="col" { "Client id" } th scope="col" { "Actions" }
                } }
                tbody {
                    @for u in &all {
                        tr {
                            td { code { (u.id) } }
                            td { (match &u.kind {
                                UpstreamKindView::Oidc { .. } => "OpenID Connect",
                                UpstreamKindView::Github { .. } => "GitHub",
                                UpstreamKindView::Ldap(_) => "LDAP",
                            }) }
                            td { (u.display_name.as_deref().unwrap_or("")) }
                            td { (u.client_id) }
                            td {
                                form method="post" action=(format!("{CONSOLE_PATH}/upstreams/{}/delete", seg(&u.id))) {
                                    (csrf_field(&console.csrf))
                                    button type="submit" aria-label=(format!("Remove {}", u.id)) { "Remove" }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// `POST /admin/console/upstreams/{id}/delete`: asks, then removes the upstream.
pub(crate) async fn delete(
    console: Console<UpstreamsWrite>,
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    ConsoleForm(form): ConsoleForm<Confirm>,
) -> Result<Response, ConsoleError> {
    let back = format!("{CONSOLE_PATH}/upstreams");
    if !form.confirmed() {
        return Ok(confirm(
            "Remove upstream",
            &console.csrf,
            html! { "Remove the upstream " code { (id) } "? Its account links go with it." },
            &format!("{CONSOLE_PATH}/upstreams/{}/delete", seg(&id)),
            &[],
            &back,
        ));
    }
    let deleted = upstreams::remove(&state.app, &console.actor, id).await?;
    Ok(page(
        "Upstream removed",
        &console.csrf,
        html! {
            p.notice role="status" { "Removed " code { (deleted.deleted) } "." }
            p { a href=(back) { "Back to the upstreams" } }
        },
    ))
}
