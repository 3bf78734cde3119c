//! `/admin/v1/upstreams`: the upstream identity providers users sign in with (OpenID
//! providers, GitHub, LDAP directories), through the functions behind `portcullis upstreams`.
//! Client secrets (a directory's service password) are never returned.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use portcullis_types::GroupName;
use portcullis_types::secret::ClientSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Actor, Admin, UpstreamsRead, UpstreamsWrite};
use super::error::{ApiError, ErrorBody};
use super::{Body, Deleted};
use crate::admin::{self, LdapOptions, NewUpstream};
use crate::state::AppState;
use crate::store::{LdapGroups, UpstreamId, UpstreamKind, UpstreamRecord};

/// The protocol of an upstream and where it is.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum UpstreamKindView {
    /// An OpenID provider, found through discovery at `issuer`.
    Oidc {
        /// The provider's issuer identifier.
        issuer: String,
        /// Whether the userinfo endpoint is asked for claims.
        #[serde(default)]
        userinfo: bool,
        /// The claim carrying the user's groups [default: groups].
        #[serde(default)]
        groups_claim: Option<String>,
    },
    /// GitHub, or GitHub Enterprise Server at `base_url`.
    Github {
        /// The Enterprise Server's base URL.
        #[serde(default)]
        base_url: Option<String>,
        /// Organisations whose members may sign in; empty: everyone.
        #[serde(default)]
        allowed_orgs: Vec<String>,
    },
    /// An LDAP directory; `client_id` is the service account's bind DN and `client_secret`
    /// its password. What is left out gets the OpenLDAP defaults.
    Ldap(Box<LdapView>),
}

/// How to reach and read an LDAP directory.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LdapView {
    /// `ldap://host[:port]` or `ldaps://host[:port]`.
    pub url: String,
    /// Upgrade with StartTLS before binding.
    #[serde(default)]
    pub starttls: bool,
    /// A PEM file, on the server, of the CAs the directory's certificate chains to.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Where users are searched.
    pub user_base: String,
    /// The user filter with `{username}` [default: (uid={username})].
    #[serde(default)]
    pub user_filter: Option<String>,
    /// The stable-id attribute [default: entryUUID].
    #[serde(default)]
    pub subject_attribute: Option<String>,
    /// The e-mail attribute [default: mail].
    #[serde(default)]
    pub email_attribute: Option<String>,
    /// The display-name attribute [default: cn].
    #[serde(default)]
    pub name_attribute: Option<String>,
    /// The user attribute listing group DNs [default: memberOf].
    #[serde(default)]
    pub group_attribute: Option<String>,
    /// Search groups under this DN instead.
    #[serde(default)]
    pub group_base: Option<String>,
    /// The group-search filter with `{dn}` [default: (member={dn})].
    #[serde(default)]
    pub group_filter: Option<String>,
    /// Seconds allowed to connect and for each operation [default: 5].
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

impl UpstreamKindView {
    /// The kind's name: `oidc`, `github` or `ldap`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Oidc { .. } => "oidc",
            Self::Github { .. } => "github",
            Self::Ldap(_) => "ldap",
        }
    }
}

impl From<&UpstreamKind> for UpstreamKindView {
    fn from(kind: &UpstreamKind) -> Self {
        match kind {
            UpstreamKind::Oidc {
                issuer,
                userinfo,
                groups_claim,
            } => Self::Oidc {
                issuer: issuer.clone(),
                userinfo: *userinfo,
                groups_claim: groups_claim.clone(),
            },
            UpstreamKind::Github {
                base_url,
                allowed_orgs,
            } => Self::Github {
                base_url: base_url.clone(),
                allowed_orgs: allowed_orgs.clone(),
            },
            UpstreamKind::Ldap(settings) => {
                let (group_attribute, group_base, group_filter) = match &settings.group_source {
                    LdapGroups::Attribute(attribute) => (Some(attribute.clone()), None, None),
                    LdapGroups::Search { base, filter } => {
                        (None, Some(base.clone()), Some(filter.clone()))
                    }
                };
                Self::Ldap(Box::new(LdapView {
                    url: settings.url.clone(),
                    starttls: settings.starttls,
                    ca_file: settings.ca_file.clone(),
                    user_base: settings.user_base.clone(),
                    user_filter: Some(settings.user_filter.clone()),
                    subject_attribute: Some(settings.subject_attribute.clone()),
                    email_attribute: Some(settings.email_attribute.clone()),
                    name_attribute: Some(settings.name_attribute.clone()),
                    group_attribute,
                    group_base,
                    group_filter,
                    timeout_secs: Some(settings.timeout_secs),
                }))
            }
        }
    }
}

/// An upstream as listed: everything but the client secret.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UpstreamView {
    /// The id, in URLs and in the `idp` claim.
    pub id: String,
    /// Protocol and location.
    #[serde(flatten)]
    pub kind: UpstreamKindView,
    /// The sign-in button's label.
    pub display_name: Option<String>,
    /// This server's client id at the upstream.
    pub client_id: String,
    /// Scopes asked for besides the kind's own.
    pub scopes: Vec<String>,
    /// Whether a verified e-mail address links to an existing local user.
    pub trust_email: bool,
    /// Whether this is the only way in.
    pub only: bool,
    /// Upstream group → local group.
    pub groups: BTreeMap<String, String>,
    /// Created at, Unix seconds.
    pub created_at: i64,
}

impl From<&UpstreamRecord> for UpstreamView {
    fn from(u: &UpstreamRecord) -> Self {
        Self {
            id: u.id.to_string(),
            kind: UpstreamKindView::from(&u.kind),
            display_name: u.display_name.clone(),
            client_id: u.client_id.clone(),
            scopes: u.scopes.clone(),
            trust_email: u.trust_email,
            only: u.only,
            groups: u
                .groups
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
            created_at: u.created_at,
        }
    }
}

/// An upstream to save under the id in the path (replacing one with that id; its account
/// links stay). The kind's settings sit beside the others, as listed (serde cannot refuse
/// unknown fields in a flattened shape, so they are ignored here). Its `Debug` leaves the
/// client secret out.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct UpstreamRequest {
    /// Protocol and location (`oidc`, `github` or `ldap`).
    #[serde(flatten)]
    pub kind: UpstreamKindView,
    /// The sign-in button's label.
    #[serde(default)]
    pub display_name: Option<String>,
    /// This server's client id at the upstream.
    pub client_id: String,
    /// This server's client secret at the upstream (sealed before it is stored).
    #[schema(format = Password)]
    pub client_secret: String,
    /// Scopes asked for besides the kind's own.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Link by verified e-mail address to an existing local user.
    #[serde(default)]
    pub trust_email: bool,
    /// The only way in.
    #[serde(default)]
    pub only: bool,
    /// Upstream group → local group (each must exist).
    #[serde(default)]
    pub groups: BTreeMap<String, String>,
}

impl std::fmt::Debug for UpstreamRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamRequest")
            .field("kind", &self.kind)
            .field("display_name", &self.display_name)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("trust_email", &self.trust_email)
            .field("only", &self.only)
            .field("groups", &self.groups)
            .finish()
    }
}

/// Lists the upstreams.
#[utoipa::path(get, path = "/admin/v1/upstreams", tag = "upstreams",
    security(("bearer" = ["admin:upstreams:read"])),
    responses((status = 200, body = [UpstreamView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn list(
    _admin: Admin<UpstreamsRead>,
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<UpstreamView>>, ApiError> {
    let upstreams = admin::list_upstreams(state.store.as_ref()).await?;
    Ok(Json(upstreams.iter().map(UpstreamView::from).collect()))
}

/// Saves an upstream under `id`, replacing one with that id (its account links stay).
#[utoipa::path(put, path = "/admin/v1/upstreams/{id}", tag = "upstreams",
    params(("id" = String, Path, description = "The upstream's id")),
    request_body = UpstreamRequest,
    security(("bearer" = ["admin:upstreams:write"])),
    responses((status = 200, body = UpstreamView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn put(
    admin: Admin<UpstreamsWrite>,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Body(request): Body<UpstreamRequest>,
) -> Result<Json<UpstreamView>, ApiError> {
    Ok(Json(save(&state, &admin.actor, id, request).await?))
}

/// Saves the upstream `request` describes under `id`, replacing one with that id, as `actor`:
/// the API's `PUT` and the console's form both come here.
pub(crate) async fn save(
    state: &AppState,
    actor: &Actor,
    id: String,
    request: UpstreamRequest,
) -> Result<UpstreamView, ApiError> {
    let id = UpstreamId::parse(id).map_err(|e| ApiError::invalid("id", e.to_string()))?;
    let kind = match request.kind {
        UpstreamKindView::Oidc {
            issuer,
            userinfo,
            groups_claim,
        } => UpstreamKind::Oidc {
            issuer,
            userinfo,
            groups_claim,
        },
        UpstreamKindView::Github {
            base_url,
            allowed_orgs,
        } => UpstreamKind::Github {
            base_url,
            allowed_orgs,
        },
        UpstreamKindView::Ldap(ldap) => UpstreamKind::Ldap(
            LdapOptions {
                url: Some(ldap.url),
                starttls: ldap.starttls,
                ca_file: ldap.ca_file,
                user_base: Some(ldap.user_base),
                user_filter: ldap.user_filter,
                subject_attribute: ldap.subject_attribute,
                email_attribute: ldap.email_attribute,
                name_attribute: ldap.name_attribute,
                group_attribute: ldap.group_attribute,
                group_base: ldap.group_base,
                group_filter: ldap.group_filter,
                timeout_secs: ldap.timeout_secs,
            }
            .settings()?,
        ),
    };
    let groups = request
        .groups
        .into_iter()
        .map(|(from, to)| GroupName::parse(to).map(|to| (from, to)))
        .collect::<Result<BTreeMap<_, _>, _>>()
        .map_err(|e| ApiError::invalid("groups", e.to_string()))?;
    let saved = admin::put_upstream(
        state.store.as_ref(),
        state.clock.as_ref(),
        &state.config.key_encryption,
        NewUpstream {
            id,
            kind,
            display_name: request.display_name,
            client_id: request.client_id,
            client_secret: ClientSecret::new(request.client_secret),
            scopes: request.scopes,
            trust_email: request.trust_email,
            only: request.only,
            groups,
        },
    )
    .await?;
    actor.record("upstream_saved", saved.id.as_str());
    Ok(UpstreamView::from(&saved))
}

/// Deletes an upstream (its account links go with it); 404 when missing.
#[utoipa::path(delete, path = "/admin/v1/upstreams/{id}", tag = "upstreams",
    params(("id" = String, Path, description = "The upstream's id")),
    security(("bearer" = ["admin:upstreams:write"])),
    responses((status = 200, body = Deleted), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn delete(
    admin: Admin<UpstreamsWrite>,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Deleted>, ApiError> {
    Ok(Json(remove(&state, &admin.actor, id).await?))
}

/// Deletes the upstream `id` (and its account links), as `actor`; not found when missing.
pub(crate) async fn remove(
    state: &AppState,
    actor: &Actor,
    id: String,
) -> Result<Deleted, ApiError> {
    if !admin::remove_upstream(state.store.as_ref(), &id).await? {
        return Err(ApiError::NotFound(format!("no upstream `{id}`")));
    }
    actor.record("upstream_deleted", &id);
    Ok(Deleted { deleted: id })
}
