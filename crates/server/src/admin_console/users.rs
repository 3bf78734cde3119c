//! The users screens: a searchable, paged list with the clearing of a client address's failed
//! sign-ins; creation with roles and groups; a user's page with its edit and password forms,
//! disable, enable, unlock, sign out everywhere and the grants to withdraw. Every action
//! is the admin API's ([`users`]), and the destructive ones ask first.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{Markup, html};
use portcullis_types::secret::Password;
use serde::Deserialize;

use super::access::{Console, ConsoleError, ConsoleForm};
use super::layout::{Confirm, confirm, csrf_field, optional, page, seg, words};
use super::{CONSOLE_PATH, ConsoleState};
use crate::admin;
use crate::admin_api::auth::{UsersRead, UsersWrite};
use crate::admin_api::error::ApiError;
use crate::admin_api::sessions;
use crate::admin_api::users::{self, NewUserRequest, Paging, UserUpdateRequest};

/// Users per console page.
const PAGE: usize = 25;

/// The list's search and position.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    q: String,
    after: Option<String>,
}

/// `GET /admin/console/users`: a page of the users matching the search.
pub(crate) async fn list(
    console: Console<UsersRead>,
    State(state): State<ConsoleState>,
    Query(query): Query<ListQuery>,
) -> Result<Response, ConsoleError> {
    let paging = Paging {
        limit: Some(PAGE),
        after: query.after.clone(),
        q: (!query.q.is_empty()).then(|| query.q.clone()),
    };
    let found = users::page_of(&state.app, &paging).await?;
    let next = found.next.as_ref().map(|after| {
        let mut url = format!("{CONSOLE_PATH}/users?after={}", seg(after));
        if !query.q.is_empty() {
            url.push_str(&format!("&q={}", seg(&query.q)));
        }
        url
    });
    Ok(page(
        "Users",
        &console.csrf,
        html! {
            form method="get" action=(format!("{CONSOLE_PATH}/users")) role="search" {
                label for="q" { "Search by username, e-mail or name" }
                input #q type="search" name="q" value=(query.q);
                button type="submit" { "Search" }
            }
            p { a href=(format!("{CONSOLE_PATH}/users/new")) { "Create a user" } }
            form method="post" action=(format!("{CONSOLE_PATH}/addresses/unlock")) {
                (csrf_field(&console.csrf))
                label for="address" { "Clear the failed sign-ins of a client address (IPv4 or IPv6)" }
                input #address type="text" name="address" required autocomplete="off";
                button type="submit" { "Clear" }
            }
            table {
                thead { tr {
                    th scope="col" { "Username" } th scope="col" { "E-mail" }
                    th scope="col" { "Roles" } th scope="col" { "Groups" } th scope="col" { "State" }
                } }
                tbody {
                    @for u in &found.users {
                        tr {
                            td { a href=(format!("{CONSOLE_PATH}/users/{}", seg(&u.sub))) { (u.username) } }
                            td { (u.email.as_deref().unwrap_or("")) }
                            td { (u.roles.join(", ")) }
                            td { (u.groups.join(", ")) }
                            td { @if u.disabled { "disabled" } @else { "active" } }
                        }
                    }
                }
            }
            @if query.after.is_some() {
                p { a href=(format!("{CONSOLE_PATH}/users")) { "First page" } }
            }
            @if let Some(next) = next {
                p { a href=(next) rel="next" { "Next page" } }
            }
        },
    ))
}

/// `GET /admin/console/users/new`: the creation form.
pub(crate) async fn new(console: Console<UsersWrite>) -> Response {
    page(
        "Create a user",
        &console.csrf,
        html! {
            form method="post" action=(format!("{CONSOLE_PATH}/users")) {
                (csrf_field(&console.csrf))
                label for="username" { "Username" }
                input #username type="text" name="username" required autocomplete="off";
                label for="password" { "Password" }
                input #password type="password" name="password" required autocomplete="new-password";
                label for="email" { "E-mail address" }
                input #email type="email" name="email";
                label for="name" { "Name" }
                input #name type="text" name="name";
                label for="roles" { "Roles (space-separated; each must exist)" }
                input #roles type="text" name="roles";
                label for="groups" { "Groups (space-separated; each must exist)" }
                input #groups type="text" name="groups";
                button type="submit" { "Create" }
            }
        },
    )
}

/// The creation form's fields.
#[derive(Debug, Deserialize)]
pub(crate) struct NewUser {
    username: String,
    password: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    roles: String,
    #[serde(default)]
    groups: String,
}

/// `POST /admin/console/users`: creates the user as the API's `POST` does.
pub(crate) async fn create(
    console: Console<UsersWrite>,
    State(state): State<ConsoleState>,
    ConsoleForm(form): ConsoleForm<NewUser>,
) -> Result<Response, ConsoleError> {
    let request = NewUserRequest {
        username: form.username,
        password: form.password,
        email: optional(&form.email),
        name: optional(&form.name),
        roles: words(&form.roles),
        groups: words(&form.groups),
        attributes: Default::default(),
    };
    let user = users::new_user(&state.app, &console.actor, request).await?;
    Ok(page(
        "User created",
        &console.csrf,
        html! {
            p.notice role="status" {
                "Created " a href=(format!("{CONSOLE_PATH}/users/{}", seg(&user.sub))) { (user.username) } "."
            }
        },
    ))
}

/// A button posting to `action` on the user's page.
fn action_button(csrf: &str, user: &str, action: &str, label: &str) -> Markup {
    html! {
        form method="post" action=(format!("{CONSOLE_PATH}/users/{}/{action}", seg(user))) {
            (csrf_field(csrf))
            button type="submit" { (label) }
        }
    }
}

/// `GET /admin/console/users/{id}`: the user, its actions and its grants.
pub(crate) async fn show(
    console: Console<UsersRead>,
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let record = users::find(&state.app, &id).await?;
    let user = users::detailed(&state.app, &record).await?;
    let grants = users::grants_of(&state.app, &id).await?;
    let app = &state.app;
    let live = admin::list_sessions(app.store.as_ref(), app.clock.as_ref(), record.id.as_str())
        .await
        .map_err(ApiError::from)?;
    let csrf = &console.csrf;
    Ok(page(
        &format!("User {}", user.username),
        csrf,
        html! {
            table {
                caption.muted { "Profile" }
                tbody {
                    tr { th scope="row" { "User id" } td { code { (user.sub) } } }
                    tr { th scope="row" { "E-mail" } td { (user.email.as_deref().unwrap_or("")) } }
                    tr { th scope="row" { "Name" } td { (user.name.as_deref().unwrap_or("")) } }
                    tr { th scope="row" { "Roles" } td { (user.roles.join(", ")) } }
                    tr { th scope="row" { "Groups" } td { (user.groups.join(", ")) } }
                    tr { th scope="row" { "State" } td #state { @if user.disabled { "disabled" } @else { "active" } } }
                }
            }
            h2 { "Actions" }
            div.row {
                @if user.disabled {
                    (action_button(csrf, &user.sub, "enable", "Enable"))
                } @else {
                    (action_button(csrf, &user.sub, "disable", "Disable"))
                }
                (action_button(csrf, &user.sub, "unlock", "Unlock sign-in"))
                (action_button(csrf, &user.sub, "revoke-tokens", "Sign out everywhere"))
            }
            h2 { "Edit" }
            form method="post" action=(format!("{CONSOLE_PATH}/users/{}/edit", seg(&user.sub))) {
                (csrf_field(csrf))
                label for="email" { "E-mail address (taken as verified)" }
                input #email type="email" name="email" value=(user.email.as_deref().unwrap_or(""));
                label for="name" { "Name" }
                input #name type="text" name="name" value=(user.name.as_deref().unwrap_or(""));
                label for="add_roles" { "Roles to give (space-separated; each must exist)" }
                input #add_roles type="text" name="add_roles";
                label for="remove_roles" { "Roles to take away (space-separated)" }
                input #remove_roles type="text" name="remove_roles";
                label for="add_groups" { "Groups to join (space-separated; each must exist)" }
                input #add_groups type="text" name="add_groups";
                label for="remove_groups" { "Groups to leave (space-separated)" }
                input #remove_groups type="text" name="remove_groups";
                button type="submit" { "Save" }
            }
            h2 { "Password" }
            form method="post" action=(format!("{CONSOLE_PATH}/users/{}/password", seg(&user.sub))) {
                (csrf_field(csrf))
                p.muted { "Setting a password signs the user out everywhere: every grant, token and session it holds is revoked." }
                label for="password" { "New password (held to the password policy)" }
                input #password type="password" name="password" required autocomplete="new-password";
                button type="submit" { "Set password" }
            }
            h2 { "Sessions" }
            @if live.is_empty() {
                p.muted { "This user has no browser session." }
            } @else {
                table #sessions {
                    thead { tr {
                        th scope="col" { "Session" } th scope="col" { "Signed in (Unix time)" }
                        th scope="col" { "Through" } th scope="col" { "Actions" }
                    } }
                    tbody {
                        @for session in &live {
                            tr {
                                td { code { (session.id.get(..12).unwrap_or(&session.id)) "…" } }
                                td { (session.auth_time) }
                                td { (session.upstream.as_deref().unwrap_or("password")) }
                                td {
                                    form method="post" action=(format!("{CONSOLE_PATH}/users/{}/sessions/{}/end", seg(&user.sub), seg(&session.id))) {
                                        (csrf_field(csrf))
                                        button type="submit" aria-label="End this session" { "End" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Grants" }
            @if grants.is_empty() {
                p.muted { "This user has given no client access." }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { "Client" } th scope="col" { "Scope" } th scope="col" { "Actions" }
                    } }
                    tbody {
                        @for g in &grants {
                            tr {
                                td { code { (g.client_id) } }
                                td { (g.scope) }
                                td {
                                    form method="post" action=(format!("{CONSOLE_PATH}/users/{}/grants/{}/withdraw", seg(&user.sub), seg(&g.client_id))) {
                                        (csrf_field(csrf))
                                        button type="submit" aria-label=(format!("Withdraw {}", g.client_id)) { "Withdraw" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// What a user action did, as a page with a way back to the user.
fn done(csrf: &str, user: &str, text: Markup) -> Response {
    page(
        "Done",
        csrf,
        html! {
            p.notice role="status" { (text) }
            p { a href=(format!("{CONSOLE_PATH}/users/{}", seg(user))) { "Back to the user" } }
        },
    )
}

/// The edit form's fields: the e-mail address and name as they should be, and the roles and
/// groups to give and take away.
#[derive(Debug, Deserialize)]
pub(crate) struct Edit {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    add_roles: String,
    #[serde(default)]
    remove_roles: String,
    #[serde(default)]
    add_groups: String,
    #[serde(default)]
    remove_groups: String,
}

/// `POST /admin/console/users/{id}/edit`: changes the user as the API's `PATCH` does; the
/// e-mail address and name are written only when they changed.
pub(crate) async fn edit(
    console: Console<UsersWrite>,
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    ConsoleForm(form): ConsoleForm<Edit>,
) -> Result<Response, ConsoleError> {
    let record = users::find(&state.app, &id).await?;
    let changed = |new: &str, old: Option<&str>| optional(new).filter(|v| Some(v.as_str()) != old);
    let request = UserUpdateRequest {
        email: changed(&form.email, record.email.as_deref()),
        name: changed(&form.name, record.name.as_deref()),
        add_roles: words(&form.add_roles),
        remove_roles: words(&form.remove_roles),
        add_groups: words(&form.add_groups),
        remove_groups: words(&form.remove_groups),
        ..UserUpdateRequest::default()
    };
    users::update_as(&state.app, &console.actor, &id, request).await?;
    Ok(done(&console.csrf, &id, html! { "Saved the user." }))
}

/// The password form's field. Its `Debug` leaves the password out.
#[derive(Deserialize)]
pub(crate) struct NewPassword {
    password: String,
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewPassword")
            .field("password", &"<redacted>")
            .finish()
    }
}

/// `POST /admin/console/users/{id}/password`: sets the password as the API's `PUT` does, held
/// to the policy, which signs the user out everywhere.
pub(crate) async fn set_password(
    console: Console<UsersWrite>,
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    ConsoleForm(form): ConsoleForm<NewPassword>,
) -> Result<Response, ConsoleError> {
    let report = users::set_password_as(
        &state.app,
        &console.actor,
        &id,
        Password::new(form.password),
    )
    .await?;
    Ok(done(
        &console.csrf,
        &id,
        html! { "Set the password and signed the user out: " (report.grants) " grants revoked, " (report.sessions) " sessions ended." },
    ))
}

/// The address form's field.
#[derive(Debug, Deserialize)]
pub(crate) struct Address {
    address: String,
}

/// `POST /admin/console/addresses/unlock`: clears a client address's failed sign-ins as the
/// API's `POST` does.
pub(crate) async fn unlock_address(
    console: Console<UsersWrite>,
    State(state): State<ConsoleState>,
    ConsoleForm(form): ConsoleForm<Address>,
) -> Result<Response, ConsoleError> {
    let unlocked =
        users::unlock_address_as(&state.app, &console.actor, form.address.trim()).await?;
    Ok(page(
        "Done",
        &console.csrf,
        html! {
            p.notice role="status" { "Cleared the failed sign-ins of " code { (unlocked.address) } "." }
            p { a href=(format!("{CONSOLE_PATH}/users")) { "Back to the users" } }
        },
    ))
}

/// `POST /admin/console/users/{id}/{action}`: `enable` and `unlock` at once; `disable` and
/// `revoke-tokens` after a confirmation.
pub(crate) async fn act(
    console: Console<UsersWrite>,
    State(state): State<ConsoleState>,
    Path((id, action)): Path<(String, String)>,
    ConsoleForm(form): ConsoleForm<Confirm>,
) -> Result<Response, ConsoleError> {
    let app = &state.app;
    let actor = &console.actor;
    let csrf = &console.csrf;
    let ask = |title: &str, question: Markup| {
        confirm(
            title,
            csrf,
            question,
            &format!("{CONSOLE_PATH}/users/{}/{action}", seg(&id)),
            &[],
            &format!("{CONSOLE_PATH}/users/{}", seg(&id)),
        )
    };
    Ok(match action.as_str() {
        "enable" => {
            users::enable_as(app, actor, &id).await?;
            done(csrf, &id, html! { "Enabled the user." })
        }
        "unlock" => {
            users::unlock_as(app, actor, &id).await?;
            done(csrf, &id, html! { "Cleared the user's failed sign-ins." })
        }
        "disable" if !form.confirmed() => ask(
            "Disable user",
            html! { "Disable this user? Every grant, token and session it holds is revoked." },
        ),
        "disable" => {
            let report = users::disable_as(app, actor, &id).await?;
            done(
                csrf,
                &id,
                html! { "Disabled the user: " (report.grants) " grants revoked, " (report.sessions) " sessions ended." },
            )
        }
        "revoke-tokens" if !form.confirmed() => ask(
            "Sign out everywhere",
            html! { "Sign this user out everywhere? Every grant, token and session it holds is revoked." },
        ),
        "revoke-tokens" => {
            let report = users::revoke_tokens_as(app, actor, &id).await?;
            done(
                csrf,
                &id,
                html! { "Signed the user out: " (report.grants) " grants revoked, " (report.sessions) " sessions ended." },
            )
        }
        other => {
            return Err(ConsoleError::BadRequest(format!(
                "no user action `{other}`"
            )));
        }
    })
}

/// `POST /admin/console/users/{id}/grants/{client_id}/withdraw`: asks, then withdraws the
/// client's access as the API's `DELETE` does.
pub(crate) async fn withdraw_grant(
    console: Console<UsersWrite>,
    State(state): State<ConsoleState>,
    Path((id, client_id)): Path<(String, String)>,
    ConsoleForm(form): ConsoleForm<Confirm>,
) -> Result<Response, ConsoleError> {
    if !form.confirmed() {
        return Ok(confirm(
            "Withdraw access",
            &console.csrf,
            html! { "Withdraw the access this user gave " code { (client_id) } "? Its tokens for the user are revoked." },
            &format!(
                "{CONSOLE_PATH}/users/{}/grants/{}/withdraw",
                seg(&id),
                seg(&client_id)
            ),
            &[],
            &format!("{CONSOLE_PATH}/users/{}", seg(&id)),
        ));
    }
    users::withdraw_grant_as(&state.app, &console.actor, &id, client_id.clone()).await?;
    Ok(done(
        &console.csrf,
        &id,
        html! { "Withdrew the access given to " code { (client_id) } "." },
    ))
}

/// `POST /admin/console/users/{id}/sessions/{session_id}/end`: asks, then ends that one
/// browser session as the API's `DELETE` does.
pub(crate) async fn end_session(
    console: Console<UsersWrite>,
    State(state): State<ConsoleState>,
    Path((id, session_id)): Path<(String, String)>,
    ConsoleForm(form): ConsoleForm<Confirm>,
) -> Result<Response, ConsoleError> {
    if !form.confirmed() {
        return Ok(confirm(
            "End session",
            &console.csrf,
            html! { "End this browser session? That browser is signed out, and the grants issued in it are revoked." },
            &format!(
                "{CONSOLE_PATH}/users/{}/sessions/{}/end",
                seg(&id),
                seg(&session_id)
            ),
            &[],
            &format!("{CONSOLE_PATH}/users/{}", seg(&id)),
        ));
    }
    sessions::end_session_as(&state.app, &console.actor, &id, session_id).await?;
    Ok(done(&console.csrf, &id, html! { "Ended the session." }))
}
