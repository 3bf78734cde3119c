//! The clients screen: a searchable list, the registration form (the API's request and
//! checks, [`clients::register`]), the edit form (the API's replacement,
//! [`clients::replace_as`]), the generated secret shown once, and deletion with a
//! confirmation step.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::access::{Console, ConsoleError, ConsoleForm};
use super::layout::{Confirm, confirm, csrf_field, optional, page, seg, words};
use super::{CONSOLE_PATH, ConsoleState};
use crate::admin;
use crate::admin_api::ClientRequest;
use crate::admin_api::auth::{ClientsRead, ClientsWrite};
use crate::admin_api::client_secret;
use crate::admin_api::clients::{self, ClientView, SavedClient};
use crate::admin_api::error::ApiError;
use crate::store::ClientRecord;

/// The list's search.
#[derive(Debug, Deserialize)]
pub(crate) struct Search {
    #[serde(default)]
    q: String,
}

/// `GET /admin/console/clients`: the clients whose id or name contains the search.
pub(crate) async fn list(
    console: Console<ClientsRead>,
    State(state): State<ConsoleState>,
    Query(search): Query<Search>,
) -> Result<Response, ConsoleError> {
    let mut all = admin::list_clients(state.app.store.as_ref())
        .await
        .map_err(ApiError::from)?;
    all.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    let needle = search.q.to_lowercase();
    let shown: Vec<ClientView> = all
        .iter()
        .map(ClientView::from)
        .filter(|c| {
            c.client_id.to_lowercase().contains(&needle)
                || c.name
                    .as_deref()
                    .is_some_and(|n| n.to_lowercase().contains(&needle))
        })
        .collect();
    Ok(page(
        "Clients",
        &console.csrf,
        html! {
            form method="get" action=(format!("{CONSOLE_PATH}/clients")) role="search" {
                label for="q" { "Search by id or name" }
                input #q type="search" name="q" value=(search.q);
                button type="submit" { "Search" }
            }
            p { a href=(format!("{CONSOLE_PATH}/clients/new")) { "Register a client" } }
            table {
                caption.muted { (shown.len()) " of " (all.len()) " clients" }
                thead { tr {
                    th scope="col" { "Client id" } th scope="col" { "Name" }
                    th scope="col" { "Type" } th scope="col" { "Grant types" }
                    th scope="col" { "Redirect URIs" } th scope="col" { "Actions" }
                } }
                tbody {
                    @for c in &shown {
                        tr {
                            td { code { (c.client_id) } }
                            td { (c.name.as_deref().unwrap_or("")) }
                            td { @if c.confidential { "confidential" } @else { "public" } }
                            td { (c.grant_types.join(", ")) }
                            td { (c.redirect_uris.join(" ")) }
                            td {
                                a href=(format!("{CONSOLE_PATH}/clients/{}/edit", seg(&c.client_id))) aria-label=(format!("Edit {}", c.client_id)) { "Edit" }
                                " "
                                @if c.confidential && c.token_endpoint_auth_method != "private_key_jwt" {
                                    form method="post" action=(format!("{CONSOLE_PATH}/clients/{}/secret", seg(&c.client_id))) {
                                        (csrf_field(&console.csrf))
                                        button type="submit" aria-label=(format!("Rotate the secret of {}", c.client_id)) { "Rotate secret" }
                                    }
                                    " "
                                }
                                form method="post" action=(format!("{CONSOLE_PATH}/clients/{}/delete", seg(&c.client_id))) {
                                    (csrf_field(&console.csrf))
                                    button type="submit" aria-label=(format!("Delete {}", c.client_id)) { "Delete" }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// `GET /admin/console/clients/new`: the registration form.
pub(crate) async fn new(console: Console<ClientsWrite>) -> Response {
    page(
        "Register a client",
        &console.csrf,
        html! {
            form method="post" action=(format!("{CONSOLE_PATH}/clients")) {
                (csrf_field(&console.csrf))
                label for="client_id" { "Client id" }
                input #client_id type="text" name="client_id" required;
                label for="kind" { "Type" }
                select #kind name="kind" {
                    option value="confidential" selected { "Confidential, with a generated secret" }
                    option value="public" { "Public (PKCE, no secret)" }
                }
                (Settings::default().fields())
                button type="submit" { "Register" }
            }
        },
    )
}

/// The settings both client forms fill in, as typed.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Settings {
    #[serde(default)]
    name: String,
    #[serde(default)]
    redirect_uris: String,
    #[serde(default)]
    grant_types: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    audience: String,
}

impl Settings {
    /// The settings of the client `c`, as its edit form shows them.
    fn of(c: &ClientView) -> Self {
        Self {
            name: c.name.clone().unwrap_or_default(),
            redirect_uris: c.redirect_uris.join(" "),
            grant_types: c.grant_types.join(" "),
            scope: c.scope.clone(),
            audience: c.audience.join(" "),
        }
    }

    /// The labelled inputs, filled with these settings.
    fn fields(&self) -> Markup {
        html! {
            label for="name" { "Display name (shown on the consent page)" }
            input #name type="text" name="name" value=(self.name);
            label for="redirect_uris" { "Redirect URIs (space-separated)" }
            input #redirect_uris type="text" name="redirect_uris" value=(self.redirect_uris);
            label for="grant_types" { "Grant types (space-separated; empty: authorization_code refresh_token)" }
            input #grant_types type="text" name="grant_types" value=(self.grant_types);
            label for="scope" { "Allowed scopes (space-separated; empty: openid profile email)" }
            input #scope type="text" name="scope" value=(self.scope);
            label for="audience" { "Access-token audiences (space-separated)" }
            input #audience type="text" name="audience" value=(self.audience);
        }
    }

    /// `request` with these settings.
    fn apply(self, request: ClientRequest) -> ClientRequest {
        ClientRequest {
            redirect_uris: words(&self.redirect_uris),
            grant_types: words(&self.grant_types),
            scope: optional(&self.scope),
            audience: words(&self.audience),
            name: optional(&self.name),
            ..request
        }
    }
}

/// The page after a client was saved: the generated secret, if any, shown this once.
fn saved_page(csrf: &str, title: &str, verb: &str, saved: &SavedClient) -> Response {
    page(
        title,
        csrf,
        html! {
            p.notice role="status" { (verb) " " code { (saved.client.client_id) } "." }
            @if let Some(secret) = &saved.client_secret {
                p { "Its secret, shown this once (only a keyed digest is stored):" }
                p.secret #client-secret { (secret) }
            }
            p { a href=(format!("{CONSOLE_PATH}/clients")) { "Back to the clients" } }
        },
    )
}

/// The registration form's fields.
#[derive(Debug, Deserialize)]
pub(crate) struct NewClient {
    client_id: String,
    kind: String,
    #[serde(flatten)]
    settings: Settings,
}

/// `POST /admin/console/clients`: registers the client as the API's `POST` does, and shows
/// the generated secret this once.
pub(crate) async fn create(
    console: Console<ClientsWrite>,
    State(state): State<ConsoleState>,
    ConsoleForm(form): ConsoleForm<NewClient>,
) -> Result<Response, ConsoleError> {
    let public = match form.kind.as_str() {
        "public" => true,
        "confidential" => false,
        other => {
            return Err(ConsoleError::BadRequest(format!(
                "unknown client type `{other}`"
            )));
        }
    };
    let request = form.settings.apply(ClientRequest {
        client_id: optional(&form.client_id),
        generate_secret: !public,
        token_endpoint_auth_method: public.then(|| "none".to_owned()),
        ..ClientRequest::default()
    });
    let saved = clients::register(&state.app, &console.actor, request).await?;
    Ok(saved_page(
        &console.csrf,
        "Client registered",
        "Registered",
        &saved,
    ))
}

/// The stored client `id`; not found when there is none.
async fn stored(state: &ConsoleState, id: &str) -> Result<ClientRecord, ApiError> {
    state
        .app
        .store
        .get_client(id)
        .await
        .map_err(|e| ApiError::from(admin::AdminError::from(e)))?
        .ok_or_else(|| ApiError::NotFound(format!("no client `{id}`")))
}

/// `GET /admin/console/clients/{id}/edit`: the edit form, filled from the stored client.
pub(crate) async fn edit_form(
    console: Console<ClientsWrite>,
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let record = stored(&state, &id).await?;
    let c = ClientView::from(&record);
    Ok(page(
        &format!("Edit client {}", c.client_id),
        &console.csrf,
        html! {
            form method="post" action=(format!("{CONSOLE_PATH}/clients/{}/edit", seg(&c.client_id))) {
                (csrf_field(&console.csrf))
                (Settings::of(&c).fields())
                @if record.secret_hash.is_some() {
                    p.muted { "Saving replaces the client, and only a digest of its secret is stored: give the secret it should have, or leave this empty to have a new one generated and shown once. The old secret then stops working." }
                    label for="secret" { "Secret (at least 16 characters; empty: generate a new one)" }
                    input #secret type="password" name="secret" autocomplete="new-password";
                }
                button type="submit" { "Save" }
            }
        },
    ))
}

/// The edit form's fields. No `Debug`: it holds a secret.
#[derive(Deserialize)]
pub(crate) struct EditedClient {
    #[serde(flatten)]
    settings: Settings,
    #[serde(default)]
    secret: String,
}

/// `POST /admin/console/clients/{id}/edit`: replaces the client as the API's `PUT` does, with
/// the form's settings and every other one as stored; a client with a secret gets the one
/// given or a generated one, shown this once.
pub(crate) async fn edit(
    console: Console<ClientsWrite>,
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    ConsoleForm(form): ConsoleForm<EditedClient>,
) -> Result<Response, ConsoleError> {
    let record = stored(&state, &id).await?;
    let c = ClientView::from(&record);
    let secret = record.secret_hash.is_some().then(|| optional(&form.secret));
    let jwks = record
        .jwks
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| ApiError::Internal(format!("stored keys of `{id}`: {e}")))?;
    let request = form.settings.apply(ClientRequest {
        client_id: Some(c.client_id.clone()),
        generate_secret: matches!(secret, Some(None)),
        secret: secret.flatten(),
        jwks,
        token_endpoint_auth_method: Some(c.token_endpoint_auth_method),
        post_logout_redirect_uris: c.post_logout_redirect_uris,
        access_token_ttl: c.access_token_ttl,
        refresh_token_ttl: c.refresh_token_ttl,
        id_token_signed_response_alg: c.id_token_signed_response_alg,
        exchange_audiences: c.exchange_audiences,
        exchange_impersonation: c.exchange_impersonation,
        roles: c.roles,
        token_roles: Some(c.token_roles),
        token_groups: Some(c.token_groups),
        refresh_grace_secs: Some(c.refresh_grace_secs),
        theme: c.theme,
        ..ClientRequest::default()
    });
    let saved = clients::replace_as(&state.app, &console.actor, c.client_id, request).await?;
    Ok(saved_page(&console.csrf, "Client saved", "Saved", &saved))
}

/// `POST /admin/console/clients/{id}/delete`: asks, then deletes as the API's `DELETE` does.
pub(crate) async fn delete(
    console: Console<ClientsWrite>,
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    ConsoleForm(form): ConsoleForm<Confirm>,
) -> Result<Response, ConsoleError> {
    let back = format!("{CONSOLE_PATH}/clients");
    if !form.confirmed() {
        return Ok(confirm(
            "Delete client",
            &console.csrf,
            html! { "Delete the client " code { (id) } "? Its tokens stop working." },
            &format!("{CONSOLE_PATH}/clients/{}/delete", seg(&id)),
            &[],
            &back,
        ));
    }
    let deleted = clients::remove(&state.app, &console.actor, id).await?;
    Ok(page(
        "Client deleted",
        &console.csrf,
        html! {
            p.notice role="status" { "Deleted " code { (deleted.deleted) } "." }
            p { a href=(back) { "Back to the clients" } }
        },
    ))
}

/// The secret rotation form's fields.
#[derive(Debug, Deserialize)]
pub(crate) struct RotateSecret {
    confirm: Option<String>,
    #[serde(default)]
    overlap_seconds: u64,
}

/// `POST /admin/console/clients/{id}/secret`: asks (with the overlap to keep the old secret
/// for), then rotates as the API does and shows the new secret this once.
pub(crate) async fn rotate_secret(
    console: Console<ClientsWrite>,
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    ConsoleForm(form): ConsoleForm<RotateSecret>,
) -> Result<Response, ConsoleError> {
    let back = format!("{CONSOLE_PATH}/clients");
    if form.confirm.as_deref() != Some("yes") {
        return Ok(page(
            "Rotate secret",
            &console.csrf,
            html! {
                p { "Give " code { (id) } " a new secret?" }
                form method="post" action=(format!("{CONSOLE_PATH}/clients/{}/secret", seg(&id))) {
                    (csrf_field(&console.csrf))
                    input type="hidden" name="confirm" value="yes";
                    label for="overlap_seconds" { "Keep accepting the current secret for (seconds, 0 for not at all)" }
                    input #overlap_seconds type="text" inputmode="numeric" name="overlap_seconds" value="0";
                    button.danger type="submit" { "Yes, rotate secret" }
                }
                p { a href=(back) { "No, go back" } }
            },
        ));
    }
    let rotated =
        client_secret::rotate_as(&state.app, &console.actor, id, form.overlap_seconds).await?;
    Ok(page(
        "Secret rotated",
        &console.csrf,
        html! {
            p.notice role="status" { "New secret for " code { (rotated.client_id) } ", shown this once:" }
            p.secret #client-secret { (rotated.client_secret) }
            @if let Some(until) = rotated.previous_secret_expires_at {
                p { "The previous secret is accepted until " (until) " (Unix time)." }
            }
            p { a href=(back) { "Back to the clients" } }
        },
    ))
}
