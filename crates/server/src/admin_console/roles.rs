//! The roles and groups screen: both lists, their creation forms and deletion with a
//! confirmation step, through the admin API's functions ([`roles`]).

use axum::extract::{Path, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::access::{Console, ConsoleError, ConsoleForm};
use super::layout::{Confirm, confirm, csrf_field, optional, page, seg, words};
use super::{CONSOLE_PATH, ConsoleState};
use crate::admin;
use crate::admin_api::auth::{RolesRead, RolesWrite};
use crate::admin_api::error::ApiError;
use crate::admin_api::roles::{self, GroupView, NewGroup, NewRole, RoleView};

/// `GET /admin/console/roles`: the roles and the groups, with their creation forms.
pub(crate) async fn list(
    console: Console<RolesRead>,
    State(state): State<ConsoleState>,
) -> Result<Response, ConsoleError> {
    let store = state.app.store.as_ref();
    let role_list: Vec<RoleView> = admin::list_roles(store)
        .await
        .map_err(ApiError::from)?
        .iter()
        .map(RoleView::from)
        .collect();
    let group_list: Vec<GroupView> = admin::list_groups(store)
        .await
        .map_err(ApiError::from)?
        .iter()
        .map(GroupView::from)
        .collect();
    let csrf = &console.csrf;
    Ok(page(
        "Roles and groups",
        csrf,
        html! {
            h2 { "Roles" }
            table {
                thead { tr { th scope="col" { "Role" } th scope="col" { "Description" } th scope="col" { "Actions" } } }
                tbody {
                    @for r in &role_list {
                        tr {
                            td { code { (r.name) } }
                            td { (r.description.as_deref().unwrap_or("")) }
                            td {
                                form method="post" action=(format!("{CONSOLE_PATH}/roles/{}/delete", seg(&r.name))) {
                                    (csrf_field(csrf))
                                    button type="submit" aria-label=(format!("Delete role {}", r.name)) { "Delete" }
                                }
                            }
                        }
                    }
                }
            }
            form method="post" action=(format!("{CONSOLE_PATH}/roles")) {
                (csrf_field(csrf))
                label for="role-name" { "New role name" }
                input #role-name type="text" name="name" required;
                label for="role-description" { "Description" }
                input #role-description type="text" name="description";
                button type="submit" { "Create role" }
            }
            h2 { "Groups" }
            table {
                thead { tr { th scope="col" { "Group" } th scope="col" { "Roles" } th scope="col" { "Actions" } } }
                tbody {
                    @for g in &group_list {
                        tr {
                            td { code { (g.name) } }
                            td { (g.roles.join(", ")) }
                            td {
                                form method="post" action=(format!("{CONSOLE_PATH}/groups/{}/delete", seg(&g.name))) {
                                    (csrf_field(csrf))
                                    button type="submit" aria-label=(format!("Delete group {}", g.name)) { "Delete" }
                                }
                            }
                        }
                    }
                }
            }
            form method="post" action=(format!("{CONSOLE_PATH}/groups")) {
                (csrf_field(csrf))
                label for="group-name" { "New group name" }
                input #group-name type="text" name="name" required;
                label for="group-roles" { "Its roles (space-separated; each must exist)" }
                input #group-roles type="text" name="roles";
                button type="submit" { "Create group" }
            }
        },
    ))
}

/// A role or group form's fields.
#[derive(Debug, Deserialize)]
pub(crate) struct Named {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    roles: String,
}

fn back_to_list(csrf: &str, text: maud::Markup) -> Response {
    page(
        "Done",
        csrf,
        html! {
            p.notice role="status" { (text) }
            p { a href=(format!("{CONSOLE_PATH}/roles")) { "Back to the roles and groups" } }
        },
    )
}

/// `POST /admin/console/roles`: creates a role as the API's `POST` does.
pub(crate) async fn create_role(
    console: Console<RolesWrite>,
    State(state): State<ConsoleState>,
    ConsoleForm(form): ConsoleForm<Named>,
) -> Result<Response, ConsoleError> {
    let request = NewRole {
        description: optional(&form.description),
        name: form.name,
    };
    let role = roles::new_role(&state.app, &console.actor, request).await?;
    Ok(back_to_list(
        &console.csrf,
        html! { "Created the role " code { (role.name) } "." },
    ))
}

/// `POST /admin/console/groups`: creates a group as the API's `POST` does.
pub(crate) async fn create_group(
    console: Console<RolesWrite>,
    State(state): State<ConsoleState>,
    ConsoleForm(form): ConsoleForm<Named>,
) -> Result<Response, ConsoleError> {
    let request = NewGroup {
        name: form.name,
        roles: words(&form.roles),
    };
    let group = roles::new_group(&state.app, &console.actor, request).await?;
    Ok(back_to_list(
        &console.csrf,
        html! { "Created the group " code { (group.name) } "." },
    ))
}

/// Roles or groups, for the deletion step they share.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Role,
    Group,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Self::Role => "role",
            Self::Group => "group",
        }
    }

    fn consequence(self) -> &'static str {
        match self {
            Self::Role => "Every group, user and client loses it.",
            Self::Group => "Its members lose the roles it gives.",
        }
    }
}

/// Asks, then deletes the role or group `name`.
async fn delete_named(
    console: Console<RolesWrite>,
    state: &ConsoleState,
    kind: Kind,
    name: String,
    form: &Confirm,
) -> Result<Response, ConsoleError> {
    let word = kind.word();
    if !form.confirmed() {
        return Ok(confirm(
            &format!("Delete {word}"),
            &console.csrf,
            html! { "Delete the " (word) " " code { (name) } "? " (kind.consequence()) },
            &format!("{CONSOLE_PATH}/{word}s/{}/delete", seg(&name)),
            &[],
            &format!("{CONSOLE_PATH}/roles"),
        ));
    }
    let deleted = match kind {
        Kind::Role => roles::remove_role(&state.app, &console.actor, name).await?,
        Kind::Group => roles::remove_group(&state.app, &console.actor, name).await?,
    };
    Ok(back_to_list(
        &console.csrf,
        html! { "Deleted the " (word) " " code { (deleted.deleted) } "." },
    ))
}

/// `POST /admin/console/roles/{name}/delete`: asks, then deletes the role.
pub(crate) async fn delete_role(
    console: Console<RolesWrite>,
    State(state): State<ConsoleState>,
    Path(name): Path<String>,
    ConsoleForm(form): ConsoleForm<Confirm>,
) -> Result<Response, ConsoleError> {
    delete_named(console, &state, Kind::Role, name, &form).await
}

/// `POST /admin/console/groups/{name}/delete`: asks, then deletes the group.
pub(crate) async fn delete_group(
    console: Console<RolesWrite>,
    State(state): State<ConsoleState>,
    Path(name): Path<String>,
    ConsoleForm(form): ConsoleForm<Confirm>,
) -> Result<Response, ConsoleError> {
    delete_named(console, &state, Kind::Group, name, &form).await
}
