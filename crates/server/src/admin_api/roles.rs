//! `/admin/v1/roles` and `/admin/v1/groups`: list, create and delete roles and groups through
//! the functions behind `portcullis roles` and `portcullis groups`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use portcullis_types::{GroupName, RoleName};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Actor, Admin, RolesRead, RolesWrite};
use super::error::{ApiError, ErrorBody};
use super::{Body, Deleted};
use crate::admin;
use crate::state::AppState;
use crate::store::{GroupRecord, RoleRecord};

/// A role.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RoleView {
    /// The name, e.g. `orders:read`.
    pub name: String,
    /// What it allows, for operators.
    pub description: Option<String>,
    /// Created at, Unix seconds.
    pub created_at: i64,
}

impl From<&RoleRecord> for RoleView {
    fn from(r: &RoleRecord) -> Self {
        Self {
            name: r.name.to_string(),
            description: r.description.clone(),
            created_at: r.created_at,
        }
    }
}

/// A role to create.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRole {
    /// The name: letters, digits and `. _ : / @ -`.
    pub name: String,
    /// What it allows, for operators.
    #[serde(default)]
    pub description: Option<String>,
}

/// A group.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GroupView {
    /// The name.
    pub name: String,
    /// The roles every member holds.
    pub roles: Vec<String>,
    /// Created at, Unix seconds.
    pub created_at: i64,
}

impl From<&GroupRecord> for GroupView {
    fn from(g: &GroupRecord) -> Self {
        Self {
            name: g.name.to_string(),
            roles: g.roles.iter().map(ToString::to_string).collect(),
            created_at: g.created_at,
        }
    }
}

/// A group to create.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroup {
    /// The name.
    pub name: String,
    /// The roles every member holds (each must exist).
    #[serde(default)]
    pub roles: Vec<String>,
}

/// Lists the roles, by name.
#[utoipa::path(get, path = "/admin/v1/roles", tag = "roles",
    security(("bearer" = ["admin:roles:read"])),
    responses((status = 200, body = [RoleView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn list_roles(
    _admin: Admin<RolesRead>,
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<RoleView>>, ApiError> {
    let roles = admin::list_roles(state.store.as_ref()).await?;
    Ok(Json(roles.iter().map(RoleView::from).collect()))
}

/// Creates a role; 409 when the name is taken.
#[utoipa::path(post, path = "/admin/v1/roles", tag = "roles",
    request_body = NewRole,
    security(("bearer" = ["admin:roles:write"])),
    responses((status = 201, body = RoleView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn create_role(
    admin: Admin<RolesWrite>,
    State(state): State<Arc<AppState>>,
    Body(request): Body<NewRole>,
) -> Result<(StatusCode, Json<RoleView>), ApiError> {
    let role = new_role(&state, &admin.actor, request).await?;
    Ok((StatusCode::CREATED, Json(role)))
}

/// Creates the role `request` names, as `actor`.
pub(crate) async fn new_role(
    state: &AppState,
    actor: &Actor,
    request: NewRole,
) -> Result<RoleView, ApiError> {
    let name =
        RoleName::parse(request.name).map_err(|e| ApiError::invalid("name", e.to_string()))?;
    let role = admin::add_role(
        state.store.as_ref(),
        state.clock.as_ref(),
        name,
        request.description,
    )
    .await?;
    actor.record("role_created", role.name.as_str());
    Ok(RoleView::from(&role))
}

/// Deletes a role, taking it from every group, user and client holding it; 404 when missing.
#[utoipa::path(delete, path = "/admin/v1/roles/{name}", tag = "roles",
    params(("name" = String, Path, description = "The role's name")),
    security(("bearer" = ["admin:roles:write"])),
    responses((status = 200, body = Deleted), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn delete_role(
    admin: Admin<RolesWrite>,
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<Deleted>, ApiError> {
    Ok(Json(remove_role(&state, &admin.actor, name).await?))
}

/// Deletes the role `name`, as `actor`; not found when there is none.
pub(crate) async fn remove_role(
    state: &AppState,
    actor: &Actor,
    name: String,
) -> Result<Deleted, ApiError> {
    if !admin::remove_role(state.store.as_ref(), &name).await? {
        return Err(ApiError::NotFound(format!("no role `{name}`")));
    }
    actor.record("role_deleted", &name);
    Ok(Deleted { deleted: name })
}

/// Lists the groups, by name.
#[utoipa::path(get, path = "/admin/v1/groups", tag = "roles",
    security(("bearer" = ["admin:roles:read"])),
    responses((status = 200, body = [GroupView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn list_groups(
    _admin: Admin<RolesRead>,
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<GroupView>>, ApiError> {
    let groups = admin::list_groups(state.store.as_ref()).await?;
    Ok(Json(groups.iter().map(GroupView::from).collect()))
}

/// Creates a group; 409 when the name is taken, 400 for a role that does not exist.
#[utoipa::path(post, path = "/admin/v1/groups", tag = "roles",
    request_body = NewGroup,
    security(("bearer" = ["admin:roles:write"])),
    responses((status = 201, body = GroupView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn create_group(
    admin: Admin<RolesWrite>,
    State(state): State<Arc<AppState>>,
    Body(request): Body<NewGroup>,
) -> Result<(StatusCode, Json<GroupView>), ApiError> {
    let group = new_group(&state, &admin.actor, request).await?;
    Ok((StatusCode::CREATED, Json(group)))
}

/// Creates the group `request` describes, as `actor`.
pub(crate) async fn new_group(
    state: &AppState,
    actor: &Actor,
    request: NewGroup,
) -> Result<GroupView, ApiError> {
    let name =
        GroupName::parse(request.name).map_err(|e| ApiError::invalid("name", e.to_string()))?;
    let roles = request
        .roles
        .into_iter()
        .map(RoleName::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::invalid("roles", e.to_string()))?;
    let group = admin::add_group(state.store.as_ref(), state.clock.as_ref(), name, roles).await?;
    actor.record("group_created", group.name.as_str());
    Ok(GroupView::from(&group))
}

/// Deletes a group, taking it from every user in it; 404 when missing.
#[utoipa::path(delete, path = "/admin/v1/groups/{name}", tag = "roles",
    params(("name" = String, Path, description = "The group's name")),
    security(("bearer" = ["admin:roles:write"])),
    responses((status = 200, body = Deleted), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn delete_group(
    admin: Admin<RolesWrite>,
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<Deleted>, ApiError> {
    Ok(Json(remove_group(&state, &admin.actor, name).await?))
}

/// Deletes the group `name`, as `actor`; not found when there is none.
pub(crate) async fn remove_group(
    state: &AppState,
    actor: &Actor,
    name: String,
) -> Result<Deleted, ApiError> {
    if !admin::remove_group(state.store.as_ref(), &name).await? {
        return Err(ApiError::NotFound(format!("no group `{name}`")));
    }
    actor.record("group_deleted", &name);
    Ok(Deleted { deleted: name })
}
