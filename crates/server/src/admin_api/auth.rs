//! Who may call the admin API: a Portcullis access token verified by `portcullis-guard` with
//! this server's own keys (handed over in-process), for the admin audience, carrying the role
//! `admin` and, per operation, its scope (`admin:clients:write`, ...).

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use futures_util::future::BoxFuture;
use portcullis_guard::{
    AccessClaims, Authenticated, ConfigError, Guard, GuardRejection, KeyProvider, ProvidedKeys,
    Revocation, RevocationProvider,
};

use crate::domain::{audit, lifecycle};
use crate::state::AppState;

/// The role every admin token carries.
pub const ADMIN_ROLE: &str = "admin";

/// Where the admin API lives, on the admin listener.
pub const ADMIN_API_PATH: &str = "/admin/v1";

/// The audience an admin token must be issued for: the issuer followed by `/admin/v1`
/// (`https://id.example/admin/v1`). Tokens for any other audience are refused, so a token a
/// client holds for an API of its own never opens the admin API.
pub fn admin_audience(issuer: &str) -> String {
    format!("{}{ADMIN_API_PATH}", issuer.trim_end_matches('/'))
}

/// The server's published verification keys, read from its key cache on each request.
struct OwnKeys(Arc<AppState>);

impl KeyProvider for OwnKeys {
    fn keys(&self) -> BoxFuture<'_, ProvidedKeys> {
        Box::pin(async move {
            let snapshot = self.0.keys.snapshot().await;
            ProvidedKeys {
                keys: Arc::new(snapshot.verification_keys().clone()),
                generation: snapshot.generation(),
            }
        })
    }
}

/// The server's own answer to "is this token still good": its `jti` not revoked, its user
/// neither disabled nor signed out everywhere since, its client still registered. So revoking
/// an admin token, disabling its user or deleting its client shuts it out of the admin API at
/// once (within the caches' lifetimes), not only when it expires.
#[derive(Debug)]
struct OwnRevocations(Arc<AppState>);

impl OwnRevocations {
    async fn refused(&self, claims: &AccessClaims) -> Result<bool, String> {
        let state = &self.0;
        let (Some(jti), Some(sub), Some(client_id), Some(iat)) = (
            claims.jti(),
            claims.subject(),
            claims.client_id(),
            claims.issued_at(),
        ) else {
            // Every access token this server issues carries all four.
            return Ok(true);
        };
        if state.is_jti_revoked(jti).await.map_err(|e| e.to_string())? {
            return Ok(true);
        }
        if lifecycle::refused_by_user_record(state, sub, iat)
            .await
            .map_err(|e| e.description().to_owned())?
        {
            return Ok(true);
        }
        Ok(state
            .client(client_id)
            .await
            .map_err(|e| e.to_string())?
            .is_none())
    }
}

impl RevocationProvider for OwnRevocations {
    fn is_revoked<'a>(&'a self, claims: &'a AccessClaims) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(self.refused(claims))
    }
}

/// The guard of the admin API: this server's issuer, the admin audience, the server's own keys,
/// revocations and clock. With `cookie`, it also takes the token from that cookie (the admin
/// console's), and checks it the same way.
pub(crate) fn guard(state: &Arc<AppState>, cookie: Option<&str>) -> Result<Guard, ConfigError> {
    let builder = Guard::builder()
        .issuer(state.config.issuer.clone())
        .audience(admin_audience(&state.config.issuer))
        .key_provider(Arc::new(OwnKeys(Arc::clone(state))))
        .revocation(Revocation::Provided(Arc::new(OwnRevocations(Arc::clone(
            state,
        )))))
        .clock(Arc::clone(&state.clock));
    match cookie {
        Some(name) => builder.cookie(name).build(),
        None => builder.build(),
    }
}

/// A permission of the admin API, named by its scope.
pub(crate) trait AdminScope {
    /// The scope a token needs for the operation.
    const SCOPE: &'static str;
}

macro_rules! scopes {
    ($($(#[$doc:meta])* $name:ident = $scope:literal;)*) => {
        $(
            $(#[$doc])*
            #[derive(Debug)]
            pub(crate) struct $name;

            impl AdminScope for $name {
                const SCOPE: &'static str = $scope;
            }
        )*

        /// Every scope of the admin API.
        pub const ADMIN_SCOPES: &[&str] = &[$($scope),*];
    };
}

scopes! {
    /// Read clients.
    ClientsRead = "admin:clients:read";
    /// Create, replace and delete clients.
    ClientsWrite = "admin:clients:write";
    /// Read users.
    UsersRead = "admin:users:read";
    /// Create, change, disable and delete users.
    UsersWrite = "admin:users:write";
    /// Read roles and groups.
    RolesRead = "admin:roles:read";
    /// Create and delete roles and groups.
    RolesWrite = "admin:roles:write";
    /// Read the signing keys.
    KeysRead = "admin:keys:read";
    /// Rotate the signing keys.
    KeysWrite = "admin:keys:write";
    /// Read the upstream identity providers.
    UpstreamsRead = "admin:upstreams:read";
    /// Save and delete upstream identity providers.
    UpstreamsWrite = "admin:upstreams:write";
    /// Read the stored audit trail.
    AuditRead = "admin:audit:read";
}

/// Who made an admin request: the token's subject and client, recorded with every change.
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    /// The token's `sub` (a user id, or the client id of a client-credentials token).
    pub(crate) sub: String,
    /// The token's `client_id`.
    pub(crate) client_id: String,
}

impl Actor {
    /// Records a change this actor made: `action` (`client_created`, ...) on `resource`.
    pub(crate) fn record(&self, action: &'static str, resource: &str) {
        audit::admin_change(&self.sub, &self.client_id, action, resource);
    }
}

/// A request whose token holds the admin role and the scope `S`; gives the acting [`Actor`].
/// Without a valid token: 401; with one that lacks the role or the scope: 403.
#[derive(Debug)]
pub(crate) struct Admin<S> {
    /// Who is acting.
    pub(crate) actor: Actor,
    scope: PhantomData<S>,
}

impl<S: AdminScope, St: Send + Sync> FromRequestParts<St> for Admin<S> {
    type Rejection = GuardRejection;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, GuardRejection> {
        let auth: Authenticated = Authenticated::from_request_parts(parts, state).await?;
        Ok(Self {
            actor: admit::<S>(&auth)?,
            scope: PhantomData,
        })
    }
}

/// The one check of every admin request, from the API or the console: a verified token with
/// the role [`ADMIN_ROLE`] and the scope of `S`. Gives who is acting.
pub(crate) fn admit<S: AdminScope>(auth: &Authenticated) -> Result<Actor, GuardRejection> {
    auth.require_role(ADMIN_ROLE)?;
    auth.require_scope(S::SCOPE)?;
    Ok(Actor {
        sub: auth.subject().unwrap_or_default().to_owned(),
        client_id: auth.client_id().unwrap_or_default().to_owned(),
    })
}
