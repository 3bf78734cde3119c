//! `/admin/v1/users`: list (paged), read, create, update, delete, disable, enable, unlock and
//! sign out everywhere, through the functions behind `portcullis users`. Password hashes are
//! never returned.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use portcullis_types::secret::Password;
use portcullis_types::{GroupName, RoleName};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{Actor, Admin, UsersRead, UsersWrite};
use super::error::{ApiError, ErrorBody};
use super::{Body, Deleted};
use crate::admin::{self, AccountTargets, NewUser, SignOutReport, UserUpdate};
use crate::state::AppState;
use crate::store::{ConsentRecord, UserRecord};

/// Users per page when the request names no `limit`.
const DEFAULT_PAGE: usize = 50;
/// The most users one page holds.
const MAX_PAGE: usize = 200;

/// A user as the API shows it: profile, memberships and state, never the password hash.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    /// The user id (`sub`).
    pub sub: String,
    /// The login name.
    pub username: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Whether the address is verified.
    pub email_verified: bool,
    /// Display name.
    pub name: Option<String>,
    /// Roles held directly.
    pub roles: Vec<String>,
    /// Groups.
    pub groups: Vec<String>,
    /// Every role held, directly and through groups (on a single user's answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_roles: Option<Vec<String>>,
    /// Attributes.
    pub attributes: BTreeMap<String, String>,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// Whether a sign-up still waits for its address to be verified.
    pub verification_pending: bool,
    /// Created at, Unix seconds.
    pub created_at: i64,
}

impl From<&UserRecord> for UserView {
    fn from(u: &UserRecord) -> Self {
        Self {
            sub: u.id.to_string(),
            username: u.username.clone(),
            email: u.email.clone(),
            email_verified: u.email_verified,
            name: u.name.clone(),
            roles: u.roles.iter().map(ToString::to_string).collect(),
            groups: u.groups.iter().map(ToString::to_string).collect(),
            effective_roles: None,
            attributes: u.attributes.clone(),
            disabled: u.disabled,
            verification_pending: u.verification_pending,
            created_at: u.created_at,
        }
    }
}

/// `user` with the roles it holds through its groups.
pub(crate) async fn detailed(state: &AppState, user: &UserRecord) -> Result<UserView, ApiError> {
    let effective = admin::effective_roles(state.store.as_ref(), user).await?;
    Ok(UserView {
        effective_roles: Some(effective.iter().map(ToString::to_string).collect()),
        ..UserView::from(user)
    })
}

/// One page of users, by id.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserPage {
    /// The users.
    pub users: Vec<UserView>,
    /// The `after` of the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Which page of users to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Users per page, 1 to 200 [default: 50].
    pub limit: Option<usize>,
    /// List the users whose id sorts after this one (the `next` of the previous page).
    pub after: Option<String>,
    /// Only the users whose username, e-mail address or name contains this text, ignoring
    /// case.
    pub q: Option<String>,
}

/// A user to create (`users add`). Its `Debug` leaves the password out.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    /// Unique login name.
    pub username: String,
    /// The password, held to the password policy.
    #[schema(format = Password)]
    pub password: String,
    /// E-mail address (taken as verified).
    #[serde(default)]
    pub email: Option<String>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Roles held directly (each must exist).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Groups (each must exist).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Attributes (`given_name`, `locale`, `department`, ...).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

impl std::fmt::Debug for NewUserRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUserRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("email", &self.email)
            .field("name", &self.name)
            .field("roles", &self.roles)
            .field("groups", &self.groups)
            .field("attributes", &self.attributes)
            .finish()
    }
}

/// Changes to a user (`users update`); what is left out stays as it is.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct UserUpdateRequest {
    /// A new e-mail address (taken as verified).
    pub email: Option<String>,
    /// A new display name.
    pub name: Option<String>,
    /// Roles to give (each must exist).
    pub add_roles: Vec<String>,
    /// Roles to take away.
    pub remove_roles: Vec<String>,
    /// Groups to join (each must exist).
    pub add_groups: Vec<String>,
    /// Groups to leave.
    pub remove_groups: Vec<String>,
    /// Attributes to set.
    pub set_attributes: BTreeMap<String, String>,
    /// Attributes to remove.
    pub unset_attributes: Vec<String>,
}

/// What signing a user out everywhere did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SignOutView {
    /// The user id.
    pub sub: String,
    /// Grants revoked (with their refresh, access and ID tokens).
    pub grants: usize,
    /// Browser sessions ended.
    pub sessions: u64,
    /// Access tokens issued before this time (Unix seconds) are refused.
    pub not_before: i64,
    /// Until when (Unix seconds) the Redis denylist keeps the user's marker, so resource
    /// servers checking it refuse those tokens too; absent without Redis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker_until: Option<i64>,
}

impl SignOutView {
    /// What signing out the user `sub` did, from its report.
    pub fn new(sub: &str, report: &SignOutReport) -> Self {
        Self {
            sub: sub.to_owned(),
            grants: report.grants,
            sessions: report.sessions,
            not_before: report.not_before,
            marker_until: report.marker_until,
        }
    }
}

/// The outcome of enabling or unlocking: the user as it now is.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountState {
    /// The user id.
    pub sub: String,
    /// Whether the account is disabled.
    pub disabled: bool,
}

fn names<T, E: std::fmt::Display>(
    field: &'static str,
    values: Vec<String>,
    parse: impl Fn(String) -> Result<T, E>,
) -> Result<Vec<T>, ApiError> {
    values
        .into_iter()
        .map(parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::invalid(field, e.to_string()))
}

fn roles(field: &'static str, values: Vec<String>) -> Result<Vec<RoleName>, ApiError> {
    names(field, values, RoleName::parse)
}

fn groups(field: &'static str, values: Vec<String>) -> Result<Vec<GroupName>, ApiError> {
    names(field, values, GroupName::parse)
}

/// The user `id` (a user id or a username), or 404.
pub(crate) async fn find(state: &AppState, id: &str) -> Result<UserRecord, ApiError> {
    admin::find_user(state.store.as_ref(), id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user `{id}`")))
}

/// Drops this node's cached user records and "not revoked" answers after a change here, so
/// that its token checks see the change at once (other nodes within their cache lifetimes).
pub(super) fn forget_cached(state: &AppState) {
    state.forget_users();
    state.forget_unrevoked();
}

pub(super) fn targets(state: &AppState) -> AccountTargets<'_> {
    AccountTargets {
        store: state.store.as_ref(),
        denylist: state.denylist.as_deref(),
        clock: state.clock.as_ref(),
        config: &state.config,
    }
}

/// Lists users by id, a page at a time.
#[utoipa::path(get, path = "/admin/v1/users", tag = "users",
    params(Paging),
    security(("bearer" = ["admin:users:read"])),
    responses((status = 200, body = UserPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn list(
    _admin: Admin<UsersRead>,
    State(state): State<Arc<AppState>>,
    paging: Result<Query<Paging>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<UserPage>, ApiError> {
    let Query(paging) = paging?;
    Ok(Json(page_of(&state, &paging).await?))
}

/// The page of users `paging` asks for.
pub(crate) async fn page_of(state: &AppState, paging: &Paging) -> Result<UserPage, ApiError> {
    let limit = paging.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("must be 1 to {MAX_PAGE}"),
        ));
    }
    let needle = paging.q.as_deref().map(str::to_lowercase);
    let matches = |u: &UserRecord| {
        needle.as_deref().is_none_or(|n| {
            [
                Some(u.username.as_str()),
                u.email.as_deref(),
                u.name.as_deref(),
            ]
            .into_iter()
            .flatten()
            .any(|field| field.to_lowercase().contains(n))
        })
    };
    let mut users = admin::list_users(state.store.as_ref()).await?;
    users.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    let rest: Vec<&UserRecord> = users
        .iter()
        .filter(|u| paging.after.as_deref().is_none_or(|a| u.id.as_str() > a))
        .filter(|u| matches(u))
        .collect();
    let page: Vec<UserView> = rest
        .iter()
        .take(limit)
        .map(|u| UserView::from(*u))
        .collect();
    let next = (rest.len() > limit)
        .then(|| page.last().map(|u| u.sub.clone()))
        .flatten();
    Ok(UserPage { users: page, next })
}

/// Shows one user, by id or username, with the roles it holds through groups.
#[utoipa::path(get, path = "/admin/v1/users/{user}", tag = "users",
    params(("user" = String, Path, description = "User id or username")),
    security(("bearer" = ["admin:users:read"])),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn get(
    _admin: Admin<UsersRead>,
    State(state): State<Arc<AppState>>,
    Path(user): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    let user = find(&state, &user).await?;
    Ok(Json(detailed(&state, &user).await?))
}

/// Creates a user; 409 when the username is taken.
#[utoipa::path(post, path = "/admin/v1/users", tag = "users",
    request_body = NewUserRequest,
    security(("bearer" = ["admin:users:write"])),
    responses((status = 201, body = UserView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn create(
    admin: Admin<UsersWrite>,
    State(state): State<Arc<AppState>>,
    Body(request): Body<NewUserRequest>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let user = new_user(&state, &admin.actor, request).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// Creates the user `request` describes, as `actor`, held to the password policy.
pub(crate) async fn new_user(
    state: &AppState,
    actor: &Actor,
    request: NewUserRequest,
) -> Result<UserView, ApiError> {
    let new = NewUser {
        email: request.email,
        name: request.name,
        roles: roles("roles", request.roles)?,
        groups: groups("groups", request.groups)?,
        attributes: request.attributes,
        ..NewUser::new(request.username, Password::new(request.password))
    };
    let user = admin::add_user(
        state.store.as_ref(),
        state.clock.as_ref(),
        &state.config.self_service.password_policy,
        new,
    )
    .await?;
    actor.record("user_created", user.id.as_str());
    detailed(state, &user).await
}

/// Changes a user's profile, roles, groups and attributes in one write.
#[utoipa::path(patch, path = "/admin/v1/users/{user}", tag = "users",
    params(("user" = String, Path, description = "User id or username")),
    request_body = UserUpdateRequest,
    security(("bearer" = ["admin:users:write"])),
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn update(
    admin: Admin<UsersWrite>,
    State(state): State<Arc<AppState>>,
    Path(user): Path<String>,
    Body(request): Body<UserUpdateRequest>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(update_as(&state, &admin.actor, &user, request).await?))
}

/// Applies `request` to the user `user` (id or username), as `actor`.
pub(crate) async fn update_as(
    state: &AppState,
    actor: &Actor,
    user: &str,
    request: UserUpdateRequest,
) -> Result<UserView, ApiError> {
    let update = UserUpdate {
        email: request.email,
        name: request.name,
        add_roles: roles("add_roles", request.add_roles)?,
        remove_roles: roles("remove_roles", request.remove_roles)?,
        add_groups: groups("add_groups", request.add_groups)?,
        remove_groups: groups("remove_groups", request.remove_groups)?,
        set_attributes: request.set_attributes,
        unset_attributes: request.unset_attributes,
    };
    let user = admin::update_user(state.store.as_ref(), user, update).await?;
    actor.record("user_updated", user.id.as_str());
    forget_cached(state);
    detailed(state, &user).await
}

/// Deletes a user; 404 when there is none.
#[utoipa::path(delete, path = "/admin/v1/users/{user}", tag = "users",
    params(("user" = String, Path, description = "User id or username")),
    security(("bearer" = ["admin:users:write"])),
    responses((status = 200, body = Deleted), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn delete(
    admin: Admin<UsersWrite>,
    State(state): State<Arc<AppState>>,
    Path(user): Path<String>,
) -> Result<Json<Deleted>, ApiError> {
    let found = find(&state, &user).await?;
    if !admin::remove_user(state.store.as_ref(), found.id.as_str()).await? {
        return Err(ApiError::NotFound(format!("no user `{user}`")));
    }
    admin.actor.record("user_deleted", found.id.as_str());
    forget_cached(&state);
    Ok(Json(Deleted {
        deleted: found.id.to_string(),
    }))
}

/// Disables a user: no more sign-ins or tokens, and everything it holds is revoked.
#[utoipa::path(post, path = "/admin/v1/users/{user}/disable", tag = "users",
    params(("user" = String, Path, description = "User id or username")),
    security(("bearer" = ["admin:users:write"])),
    responses((status = 200, body = SignOutView), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn disable(
    admin: Admin<UsersWrite>,
    State(state): State<Arc<AppState>>,
    Path(user): Path<String>,
) -> Result<Json<SignOutView>, ApiError> {
    Ok(Json(disable_as(&state, &admin.actor, &user).await?))
}

/// Disables the user `user` (id or username), as `actor`.
pub(crate) async fn disable_as(
    state: &AppState,
    actor: &Actor,
    user: &str,
) -> Result<SignOutView, ApiError> {
    let found = find(state, user).await?;
    let report = admin::disable_user(targets(state), found.id.as_str())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user `{user}`")))?;
    actor.record("user_disabled", found.id.as_str());
    forget_cached(state);
    Ok(SignOutView::new(found.id.as_str(), &report))
}

/// Enables a disabled user again (what was revoked stays revoked).
#[utoipa::path(post, path = "/admin/v1/users/{user}/enable", tag = "users",
    params(("user" = String, Path, description = "User id or username")),
    security(("bearer" = ["admin:users:write"])),
    responses((status = 200, body = AccountState), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn enable(
    admin: Admin<UsersWrite>,
    State(state): State<Arc<AppState>>,
    Path(user): Path<String>,
) -> Result<Json<AccountState>, ApiError> {
    Ok(Json(enable_as(&state, &admin.actor, &user).await?))
}

/// Enables the user `user` (id or username) again, as `actor`.
pub(crate) async fn enable_as(
    state: &AppState,
    actor: &Actor,
    user: &str,
) -> Result<AccountState, ApiError> {
    let found = find(state, user).await?;
    admin::enable_user(targets(state), found.id.as_str())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user `{user}`")))?;
    actor.record("user_enabled", found.id.as_str());
    forget_cached(state);
    Ok(AccountState {
        sub: found.id.to_string(),
        disabled: false,
    })
}

/// Clears the user's failed sign-ins so the login throttle admits it again at once.
#[utoipa::path(post, path = "/admin/v1/users/{user}/unlock", tag = "users",
    params(("user" = String, Path, description = "User id or username")),
    security(("bearer" = ["admin:users:write"])),
    responses((status = 200, body = AccountState), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn unlock(
    admin: Admin<UsersWrite>,
    State(state): State<Arc<AppState>>,
    Path(user): Path<String>,
) -> Result<Json<AccountState>, ApiError> {
    Ok(Json(unlock_as(&state, &admin.actor, &user).await?))
}

/// Clears the failed sign-ins of the user `user` (id or username), as `actor`.
pub(crate) async fn unlock_as(
    state: &AppState,
    actor: &Actor,
    user: &str,
) -> Result<AccountState, ApiError> {
    let found = find(state, user).await?;
    admin::unlock_user(state.store.as_ref(), &found.username, None).await?;
    actor.record("user_unlocked", found.id.as_str());
    Ok(AccountState {
        sub: found.id.to_string(),
        disabled: found.disabled,
    })
}

/// Signs the user out everywhere: every grant, token and browser session revoked.
#[utoipa::path(post, path = "/admin/v1/users/{user}/revoke-tokens", tag = "users",
    params(("user" = String, Path, description = "User id or username")),
    security(("bearer" = ["admin:users:write"])),
    responses((status = 200, body = SignOutView), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn revoke_tokens(
    admin: Admin<UsersWrite>,
    State(state): State<Arc<AppState>>,
    Path(user): Path<String>,
) -> Result<Json<SignOutView>, ApiError> {
    Ok(Json(revoke_tokens_as(&state, &admin.actor, &user).await?))
}

/// Signs the user `user` (id or username) out everywhere, as `actor`.
pub(crate) async fn revoke_tokens_as(
    state: &AppState,
    actor: &Actor,
    user: &str,
) -> Result<SignOutView, ApiError> {
    let found = find(state, user).await?;
    let report = admin::revoke_user_tokens(targets(state), found.id.as_str())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user `{user}`")))?;
    actor.record("user_tokens_revoked", found.id.as_str());
    forget_cached(state);
    Ok(SignOutView::new(found.id.as_str(), &report))
}

/// A new password (`users set-password`). Its `Debug` leaves the password out.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    /// The new password, held to the password policy.
    #[schema(format = Password)]
    pub password: String,
}

impl std::fmt::Debug for PasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordRequest")
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Sets the user's password. As any password change does, it signs the user out everywhere:
/// whoever knew the old password loses what it won.
#[utoipa::path(put, path = "/admin/v1/users/{user}/password", tag = "users",
    params(("user" = String, Path, description = "User id or username")),
    request_body = PasswordRequest,
    security(("bearer" = ["admin:users:write"])),
    responses((status = 200, body = SignOutView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn set_password(
    admin: Admin<UsersWrite>,
    State(state): State<Arc<AppState>>,
    Path(user): Path<String>,
    Body(request): Body<PasswordRequest>,
) -> Result<Json<SignOutView>, ApiError> {
    Ok(Json(
        set_password_as(&state, &admin.actor, &user, Password::new(request.password)).await?,
    ))
}

/// Sets the password of the user `user` (id or username), held to the password policy, as
/// `actor`; signs the user out everywhere.
pub(crate) async fn set_password_as(
    state: &AppState,
    actor: &Actor,
    user: &str,
    password: Password,
) -> Result<SignOutView, ApiError> {
    let found = find(state, user).await?;
    let report = admin::set_user_password(targets(state), found.id.as_str(), password)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user `{user}`")))?;
    actor.record("user_password_set", found.id.as_str());
    forget_cached(state);
    Ok(SignOutView::new(found.id.as_str(), &report))
}

/// A client address whose failed sign-ins were cleared.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UnlockedAddress {
    /// The address, as the server writes it.
    pub address: String,
}

/// Clears a client address's failed sign-ins (`users unlock --address`), so the login
/// throttle admits that address again at once: an office behind one address where several
/// people typed wrong passwords.
#[utoipa::path(post, path = "/admin/v1/addresses/{address}/unlock", tag = "users",
    params(("address" = String, Path, description = "An IPv4 or IPv6 address")),
    security(("bearer" = ["admin:users:write"])),
    responses((status = 200, body = UnlockedAddress), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn unlock_address(
    admin: Admin<UsersWrite>,
    State(state): State<Arc<AppState>>,
    Path(address): Path<String>,
) -> Result<Json<UnlockedAddress>, ApiError> {
    Ok(Json(
        unlock_address_as(&state, &admin.actor, &address).await?,
    ))
}

/// Clears the failed sign-ins of the client address `address`, as `actor`; 400 when it is
/// not an IPv4 or IPv6 address.
pub(crate) async fn unlock_address_as(
    state: &AppState,
    actor: &Actor,
    address: &str,
) -> Result<UnlockedAddress, ApiError> {
    let ip: std::net::IpAddr = address
        .parse()
        .map_err(|_| ApiError::invalid("address", "not an IPv4 or IPv6 address"))?;
    admin::unlock_address(state.store.as_ref(), ip).await?;
    let address = ip.to_string();
    actor.record("address_unlocked", &address);
    Ok(UnlockedAddress { address })
}

/// A client's access that a user granted: the scope consented to.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GrantView {
    /// The client given access.
    pub client_id: String,
    /// The consented scope, space separated.
    pub scope: String,
    /// First consent, Unix seconds.
    pub granted_at: i64,
    /// Last change, Unix seconds.
    pub updated_at: i64,
}

impl From<&ConsentRecord> for GrantView {
    fn from(c: &ConsentRecord) -> Self {
        Self {
            client_id: c.client_id.to_string(),
            scope: c.scope.clone(),
            granted_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// Lists the clients the user has given access to, as the user's account page does.
#[utoipa::path(get, path = "/admin/v1/users/{user}/grants", tag = "users",
    params(("user" = String, Path, description = "User id or username")),
    security(("bearer" = ["admin:users:read"])),
    responses((status = 200, body = Vec<GrantView>), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn list_grants(
    _admin: Admin<UsersRead>,
    State(state): State<Arc<AppState>>,
    Path(user): Path<String>,
) -> Result<Json<Vec<GrantView>>, ApiError> {
    Ok(Json(grants_of(&state, &user).await?))
}

/// The clients the user `user` (id or username) has given access to.
pub(crate) async fn grants_of(state: &AppState, user: &str) -> Result<Vec<GrantView>, ApiError> {
    let found = find(state, user).await?;
    let consents = admin::list_grants(state.store.as_ref(), found.id.as_str()).await?;
    Ok(consents.iter().map(GrantView::from).collect())
}

/// Withdraws a client's access for the user, as the account page's Withdraw button does: the
/// consent goes, and with it every grant, refresh token and recorded access token of that
/// client for the user. 404 when the user gave that client no access.
#[utoipa::path(delete, path = "/admin/v1/users/{user}/grants/{client_id}", tag = "users",
    params(
        ("user" = String, Path, description = "User id or username"),
        ("client_id" = String, Path, description = "The client whose access ends"),
    ),
    security(("bearer" = ["admin:users:write"])),
    responses((status = 200, body = Deleted), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn revoke_grant(
    admin: Admin<UsersWrite>,
    State(state): State<Arc<AppState>>,
    Path((user, client_id)): Path<(String, String)>,
) -> Result<Json<Deleted>, ApiError> {
    Ok(Json(
        withdraw_grant_as(&state, &admin.actor, &user, client_id).await?,
    ))
}

/// Withdraws the access the user `user` (id or username) gave `client_id`, as `actor`.
pub(crate) async fn withdraw_grant_as(
    state: &AppState,
    actor: &Actor,
    user: &str,
    client_id: String,
) -> Result<Deleted, ApiError> {
    let found = find(state, user).await?;
    let withdrawn = admin::revoke_grant(targets(state), found.id.as_str(), &client_id).await?;
    if !withdrawn {
        return Err(ApiError::NotFound(format!(
            "user `{user}` has given `{client_id}` no access"
        )));
    }
    actor.record("grant_revoked", &format!("{}/{client_id}", found.id));
    forget_cached(state);
    Ok(Deleted { deleted: client_id })
}
