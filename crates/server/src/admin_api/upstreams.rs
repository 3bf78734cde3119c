//! `/admin/v1/upstreams`: the upstream identity providers users sign in with, through the
//! functions behind `portcullis upstreams`. OpenID providers and GitHub are saved here; a
//! directory (LDAP), with its certificate files on the server's disk, is listed and deleted
//! but saved with the command line or the configuration file. Client secrets are never
//! returned.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use portcullis_types::GroupName;
use portcullis_types::secret::ClientSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Admin, UpstreamsRead, UpstreamsWrite};
use super::error::{ApiError, ErrorBody};
use super::{Body, Deleted};
use crate::admin::{self, NewUpstream};
use crate::state::AppState;
use crate::store::{UpstreamId, UpstreamKind, UpstreamRecord};

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
    /// An LDAP directory (listed only; saved with `portcullis upstreams add`).
    Ldap {
        /// The directory's URL.
        url: String,
    },
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
            UpstreamKind::Ldap(settings) => Self::Ldap {
                url: settings.url.clone(),
            },
        }
    }
}

/// An upstream as listed: everything but the client secret.
#[derive(Debug, Serialize, ToSchema)]
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
/// unknown fields in a flattened shape, so they are ignored here).
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpstreamRequest {
    /// Protocol and location (`oidc` or `github`).
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

/// Saves an OpenID or GitHub upstream under `id`, replacing one with that id.
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
        UpstreamKindView::Ldap { .. } => {
            return Err(ApiError::invalid(
                "kind",
                "a directory is saved with `portcullis upstreams add --kind ldap` or the \
                 configuration file",
            ));
        }
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
    admin.actor.record("upstream_saved", saved.id.as_str());
    Ok(Json(UpstreamView::from(&saved)))
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
    if !admin::remove_upstream(state.store.as_ref(), &id).await? {
        return Err(ApiError::NotFound(format!("no upstream `{id}`")));
    }
    admin.actor.record("upstream_deleted", &id);
    Ok(Json(Deleted { deleted: id }))
}
