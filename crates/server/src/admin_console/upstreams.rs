//! The upstream identity providers screen: the list, adding an OpenID provider or GitHub (the
//! API's `PUT`, [`upstreams::save`]), and removal after a confirmation step. (LDAP directories
//! and the finer options are saved with the CLI or the API.)

use axum::extract::{Path, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::access::{Console, ConsoleError, ConsoleForm};
use super::layout::{Confirm, confirm, csrf_field, optional, page, seg, words};
use super::{CONSOLE_PATH, ConsoleState};
use crate::admin;
use crate::admin_api::auth::{UpstreamsRead, UpstreamsWrite};
use crate::admin_api::error::ApiError;
use crate::admin_api::upstreams::{self, UpstreamKindView, UpstreamRequest, UpstreamView};

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
            p { a href=(format!("{CONSOLE_PATH}/upstreams/new")) { "Add an upstream" } }
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

/// `GET /admin/console/upstreams/new`: the form adding an OpenID provider or GitHub.
pub(crate) async fn new(console: Console<UpstreamsWrite>) -> Response {
    page(
        "Add an upstream",
        &console.csrf,
        html! {
            form method="post" action=(format!("{CONSOLE_PATH}/upstreams")) {
                (csrf_field(&console.csrf))
                p.muted { "Saving under the id of an existing upstream replaces it (its account links stay)." }
                label for="id" { "Id (in the callback URL)" }
                input #id type="text" name="id" required autocomplete="off";
                label for="kind" { "Kind" }
                select #kind name="kind" {
                    option value="oidc" selected { "OpenID Connect provider" }
                    option value="github" { "GitHub" }
                }
                label for="display_name" { "Name on the login page" }
                input #display_name type="text" name="display_name";
                label for="issuer" { "Issuer URL (OpenID Connect)" }
                input #issuer type="url" name="issuer";
                label for="base_url" { "Base URL (GitHub Enterprise; empty: github.com)" }
                input #base_url type="url" name="base_url";
                label for="client_id" { "This server's client id at the upstream" }
                input #client_id type="text" name="client_id" required autocomplete="off";
                label for="client_secret" { "This server's client secret at the upstream (sealed before it is stored)" }
                input #client_secret type="password" name="client_secret" required autocomplete="new-password";
                label for="scopes" { "Scopes besides the kind's own (space-separated)" }
                input #scopes type="text" name="scopes";
                label for="trust_email" {
                    input #trust_email type="checkbox" name="trust_email" value="yes";
                    " Link by verified e-mail address to an existing local user"
                }
                button type="submit" { "Save" }
            }
        },
    )
}

/// The form's fields. No `Debug`: it holds a secret.
#[derive(Deserialize)]
pub(crate) struct NewUpstream {
    id: String,
    kind: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    base_url: String,
    client_id: String,
    client_secret: String,
    #[serde(default)]
    scopes: String,
    trust_email: Option<String>,
}

/// `POST /admin/console/upstreams`: saves the upstream as the API's `PUT` does.
pub(crate) async fn create(
    console: Console<UpstreamsWrite>,
    State(state): State<ConsoleState>,
    ConsoleForm(form): ConsoleForm<NewUpstream>,
) -> Result<Response, ConsoleError> {
    let kind = match form.kind.as_str() {
        "oidc" => UpstreamKindView::Oidc {
            issuer: form.issuer.trim().to_owned(),
            userinfo: false,
            groups_claim: None,
        },
        "github" => UpstreamKindView::Github {
            base_url: optional(&form.base_url),
            allowed_orgs: Vec::new(),
        },
        other => {
            return Err(ConsoleError::BadRequest(format!(
                "unknown upstream kind `{other}`"
            )));
        }
    };
    let request = UpstreamRequest {
        kind,
        display_name: optional(&form.display_name),
        client_id: form.client_id.trim().to_owned(),
        client_secret: form.client_secret,
        scopes: words(&form.scopes),
        trust_email: form.trust_email.as_deref() == Some("yes"),
        only: false,
        groups: Default::default(),
    };
    let saved = upstreams::save(&state.app, &console.actor, form.id, request).await?;
    Ok(page(
        "Upstream saved",
        &console.csrf,
        html! {
            p.notice role="status" { "Saved " code { (saved.id) } "." }
            p { a href=(format!("{CONSOLE_PATH}/upstreams")) { "Back to the upstreams" } }
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
