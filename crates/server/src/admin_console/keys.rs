//! The signing keys screen: the keys and their states, and rotation (in one of the API's
//! modes) after a confirmation step.

use axum::extract::State;
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::access::{Console, ConsoleError, ConsoleForm};
use super::layout::{confirm, csrf_field, page};
use super::{CONSOLE_PATH, ConsoleState};
use crate::admin;
use crate::admin_api::auth::{KeysRead, KeysWrite};
use crate::admin_api::error::ApiError;
use crate::admin_api::keys::{self, KeyView, RotationMode};

/// `GET /admin/console/keys`: the signing keys, and the rotation form.
pub(crate) async fn list(
    console: Console<KeysRead>,
    State(state): State<ConsoleState>,
) -> Result<Response, ConsoleError> {
    let app = &state.app;
    let all: Vec<KeyView> = admin::list_keys(app.store.as_ref(), app.clock.as_ref())
        .await
        .map_err(ApiError::from)?
        .iter()
        .map(KeyView::from)
        .collect();
    Ok(page(
        "Signing keys",
        &console.csrf,
        html! {
            table {
                thead { tr {
                    th scope="col" { "Key id" } th scope="col" { "Algorithm" } th scope="col" { "State" }
                    th scope="col" { "Created (Unix time)" } th scope="col" { "Signs from" }
                } }
                tbody {
                    @for k in &all {
                        tr {
                            td { code { (k.kid) } }
                            td { (k.alg) }
                            td { (k.state) }
                            td { (k.created_at) }
                            td { (k.activate_at) }
                        }
                    }
                }
            }
            h2 { "Rotate" }
            form method="post" action=(format!("{CONSOLE_PATH}/keys/rotate")) {
                (csrf_field(&console.csrf))
                label for="mode" { "How" }
                select #mode name="mode" {
                    option value="scheduled" selected { "Scheduled: publish now, sign after the rotation delay" }
                    option value="now" { "Now: sign with the new keys at once" }
                    option value="now_revoke_old" { "Now, and unpublish the old keys (a leaked key)" }
                }
                button type="submit" { "Rotate the keys" }
            }
        },
    ))
}

/// The rotation form's fields.
#[derive(Debug, Deserialize)]
pub(crate) struct Rotate {
    mode: RotationMode,
    confirm: Option<String>,
}

/// `POST /admin/console/keys/rotate`: asks, then rotates as the API does.
pub(crate) async fn rotate(
    console: Console<KeysWrite>,
    State(state): State<ConsoleState>,
    ConsoleForm(form): ConsoleForm<Rotate>,
) -> Result<Response, ConsoleError> {
    let mode_name = match form.mode {
        RotationMode::Scheduled => "scheduled",
        RotationMode::Now => "now",
        RotationMode::NowRevokeOld => "now_revoke_old",
    };
    if form.confirm.as_deref() != Some("yes") {
        return Ok(confirm(
            "Rotate keys",
            &console.csrf,
            html! { "Rotate the signing keys of every algorithm (" (mode_name) ")?" },
            &format!("{CONSOLE_PATH}/keys/rotate"),
            &[("mode", mode_name)],
            &format!("{CONSOLE_PATH}/keys"),
        ));
    }
    let rotated = keys::rotate_as(&state.app, &console.actor, form.mode).await?;
    Ok(page(
        "Keys rotated",
        &console.csrf,
        html! {
            p.notice role="status" { "New keys: " code { (rotated.kids.join(" ")) } "; they sign from " (rotated.signs_from) "." }
            p { a href=(format!("{CONSOLE_PATH}/keys")) { "Back to the keys" } }
        },
    ))
}
