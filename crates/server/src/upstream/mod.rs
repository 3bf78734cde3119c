//! Signing in through an upstream identity provider: this server is the relying party (an
//! OpenID provider found by discovery, or GitHub), links the upstream account to a local user
//! and then carries on as after a password sign-in. Apps only ever talk to this server.
//!
//! The flow: [`begin`] stores a single-use pending record under the hash of a fresh `state`
//! (bound to the upstream, the browser, a `nonce` and a PKCE verifier) and returns the
//! upstream's authorization URL; [`complete`] takes that record back exactly once, checks the
//! callback against it (ISS-4: the upstream of the path, RFC 9207 `iss`), redeems the code and
//! returns the upstream account as an [`Identity`], which [`accounts`] turns into a local user.
//! A directory (LDAP) has no redirects: [`directory_sign_in`] checks the password form's
//! username and password by binding (see [`ldap`]) and hands the account to [`accounts`] too.

pub(crate) mod accounts;
mod cache;
pub(crate) mod fetch;
mod github;
pub(crate) mod ldap;
mod oidc;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::at_rest::KeyEncryption;
use crate::domain::login::{SignInCheck, Verdict, throttled};
use crate::domain::pkce::s256_challenge;
use crate::domain::secrets::{random_token, secret_hash};
use crate::domain::sessions::check_csrf;
use crate::state::AppState;
use crate::store::{FederatedSignIn, StoreError, UpstreamKind, UpstreamRecord};

pub(crate) use cache::ProviderDocs;
pub(crate) use fetch::Fetcher;

/// Artifact namespace of pending upstream sign-ins (hashed `state` values).
pub(crate) const PENDING_NAMESPACE: &str = "upstream_state";

/// How long a browser may spend at the upstream before the pending sign-in expires.
const PENDING_TTL_SECS: i64 = 600;

/// Why an upstream sign-in failed. Logged in full; the browser sees a fixed text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum UpstreamError {
    /// No upstream with that id.
    #[error("unknown upstream")]
    Unknown,
    /// The callback's `state` is unknown, used, expired or belongs to another upstream or
    /// browser.
    #[error("invalid or used state")]
    State,
    /// The callback's `iss` is missing where the upstream promised it, or names another issuer
    /// (RFC 9207).
    #[error("authorization response issuer mismatch")]
    Issuer,
    /// The upstream answered the authorization request with an error.
    #[error("upstream refused: {0}")]
    Refused(String),
    /// The upstream's token endpoint refused the code.
    #[error("token endpoint error: {0}")]
    TokenEndpoint(String),
    /// The ID token failed validation.
    #[error("id token: {0}")]
    IdToken(String),
    /// An answer of the upstream does not parse or contradicts another (userinfo `sub`).
    #[error("malformed upstream answer: {0}")]
    Malformed(String),
    /// An upstream answer exceeded [`fetch::MAX_BODY_BYTES`].
    #[error("upstream answer too large")]
    TooLarge,
    /// The upstream answered with an unexpected HTTP status.
    #[error("upstream answered HTTP {0}")]
    Status(u16),
    /// The upstream could not be reached in time.
    #[error("upstream unreachable: {0}")]
    Unreachable(String),
    /// The directory refused the service account, a search, or answered something unexpected.
    #[error("directory: {0}")]
    Directory(String),
    /// Too many directory sign-ins are in flight.
    #[error("too many directory sign-ins at once")]
    Busy,
    /// The upstream signs in with a password form, not by redirection (a directory), or the
    /// other way round.
    #[error("this upstream does not sign in that way")]
    WrongFlow,
    /// An upstream URL that is neither `https` nor `http` to a loopback host.
    #[error("refusing non-https upstream URL {0}")]
    InsecureUrl(String),
    /// The local user the account is linked to is disabled.
    #[error("the local account is disabled")]
    Disabled,
    /// The account is in none of the organisations allowed to sign in.
    #[error("the account is in no allowed organisation")]
    NotAllowed,
    /// The upstream account is linked to another local user, or the user has an account of
    /// this upstream linked already.
    #[error("the upstream account is linked already")]
    AlreadyLinked,
    /// A link was asked for by a browser no longer signed in as the user who asked.
    #[error("the link was asked for by another session")]
    LinkSession,
    /// The stored client secret cannot be opened.
    #[error("client secret: {0}")]
    Secret(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Randomness or hashing failed.
    #[error("internal: {0}")]
    Internal(String),
}

/// What the browser is told when a sign-in or link at an upstream fails (the detail is logged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// There is no such upstream.
    Unknown,
    /// The callback's state or issuer does not match: a stale, replayed or forged link.
    InvalidLink,
    /// The upstream did not sign the user in.
    Refused,
    /// The local account is disabled.
    Disabled,
    /// The upstream does not sign in through this route.
    WrongFlow,
    /// The account is in no organisation allowed to sign in.
    NotAllowed,
    /// The upstream account is linked already.
    AlreadyLinked,
    /// The link was finished by another session than the one that asked.
    LinkSession,
    /// Anything else; try again later.
    Failed,
}

impl UpstreamError {
    /// What the browser is told of this failure.
    pub(crate) fn refusal(&self) -> Refusal {
        match self {
            Self::Unknown => Refusal::Unknown,
            Self::State | Self::Issuer => Refusal::InvalidLink,
            Self::Refused(_) => Refusal::Refused,
            Self::Disabled => Refusal::Disabled,
            Self::WrongFlow => Refusal::WrongFlow,
            Self::NotAllowed => Refusal::NotAllowed,
            Self::AlreadyLinked => Refusal::AlreadyLinked,
            Self::LinkSession => Refusal::LinkSession,
            _ => Refusal::Failed,
        }
    }
}

/// The sign-in being made at an upstream, stored until its callback.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    /// The upstream the browser was sent to.
    upstream: String,
    /// The `nonce` sent (OIDC).
    nonce: String,
    /// The PKCE verifier.
    verifier: String,
    /// The CSRF token of the browser's CSRF cookie: the callback must come from that browser.
    binding: String,
    /// The authorization request to resume afterwards (empty: the account page).
    request: String,
    /// The local user who asked, from the account page, to link the upstream account; `None`
    /// for a sign-in.
    #[serde(default)]
    link_user: Option<String>,
}

/// An account at an upstream, as it signed in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Identity {
    /// The account's stable id at the upstream.
    pub subject: String,
    /// A username to propose for a new local user.
    pub username: Option<String>,
    /// The e-mail address, with whether the upstream verified it.
    pub email: Option<String>,
    /// Whether the upstream says it verified `email`.
    pub email_verified: bool,
    /// Display name.
    pub name: Option<String>,
    /// Further standard claims (`given_name`, `family_name`, `locale`).
    pub attributes: BTreeMap<String, String>,
    /// Upstream group names (OIDC groups; GitHub `org/team-slug`).
    pub groups: Vec<String>,
    /// Authentication methods the upstream reported (OIDC `amr`).
    pub amr: Vec<String>,
}

/// What a sign-in at an upstream is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose<'a> {
    /// Signing in, then resuming this authorization request (empty: the account page).
    SignIn {
        /// The authorization request's query.
        request: &'a str,
    },
    /// Linking the upstream account to this signed-in local user (from the account page).
    Link {
        /// The local user's id.
        user_id: &'a str,
    },
}

/// The callback of a sign-in: where the flow resumes and the upstream account.
#[derive(Debug)]
pub(crate) struct Completed {
    /// The authorization request to resume (empty: the account page).
    pub request: String,
    /// The local user the account is to be linked to, when the sign-in was a link.
    pub link_user: Option<String>,
    /// The account.
    pub identity: Identity,
}

/// The redirect URI registered at the upstream: one per upstream, so a response can only land
/// at the callback of the upstream it came from (ISS-4).
pub(crate) fn callback_url(state: &AppState, upstream: &UpstreamRecord) -> String {
    format!(
        "{}/upstream/{}/callback",
        state.config.issuer.trim_end_matches('/'),
        upstream.id
    )
}

/// The associated data binding a sealed upstream client secret to its upstream.
pub(crate) fn secret_aad(id: &str) -> Vec<u8> {
    [b"portcullis upstream secret\0".as_slice(), id.as_bytes()].concat()
}

/// The stored form of an upstream client secret (sealed when a KEK is configured).
pub(crate) fn seal_secret(
    enc: &KeyEncryption,
    id: &str,
    secret: &str,
) -> Result<String, crate::at_rest::SealError> {
    enc.seal(&secret_aad(id), secret)
}

/// Opens the client secret of `upstream` (a directory's service-account password).
pub(crate) fn client_secret(
    state: &AppState,
    upstream: &UpstreamRecord,
) -> Result<zeroize::Zeroizing<String>, UpstreamError> {
    state
        .config
        .key_encryption
        .open(&secret_aad(upstream.id.as_str()), &upstream.client_secret)
        .map(|o| o.value)
        .map_err(|e| UpstreamError::Secret(e.to_string()))
}

/// Starts a sign-in at `upstream` for the browser whose CSRF cookie is `csrf_cookie`: stores
/// the pending record and returns the upstream authorization URL to redirect to.
pub(crate) async fn begin(
    state: &AppState,
    upstream: &UpstreamRecord,
    csrf_cookie: &str,
    purpose: Purpose<'_>,
) -> Result<String, UpstreamError> {
    let (request, link_user) = match purpose {
        Purpose::SignIn { request } => (request, None),
        Purpose::Link { user_id } => ("", Some(user_id.to_owned())),
    };
    let internal = |_| UpstreamError::Internal("randomness".into());
    let state_value = random_token().map_err(internal)?;
    let pending = Pending {
        upstream: upstream.id.as_str().to_owned(),
        nonce: random_token().map_err(internal)?,
        verifier: random_token().map_err(internal)?,
        binding: crate::domain::sessions::csrf_token(csrf_cookie),
        request: request.to_owned(),
        link_user,
    };
    let challenge = s256_challenge(&pending.verifier);
    let url = match &upstream.kind {
        UpstreamKind::Oidc { issuer, .. } => {
            let meta = oidc::discover(state, issuer).await?;
            oidc::authorization_url(
                state,
                upstream,
                &meta,
                &state_value,
                &pending.nonce,
                &challenge,
            )?
        }
        UpstreamKind::Github {
            base_url,
            allowed_orgs,
        } => github::authorization_url(
            state,
            upstream,
            base_url.as_deref(),
            !allowed_orgs.is_empty(),
            &state_value,
            &challenge,
        )?,
        UpstreamKind::Ldap(_) => return Err(UpstreamError::WrongFlow),
    };
    let payload =
        serde_json::to_string(&pending).map_err(|e| UpstreamError::Internal(e.to_string()))?;
    let now = state.now();
    state
        .store
        .put_artifact(
            PENDING_NAMESPACE,
            &secret_hash(&state_value),
            &payload,
            now.saturating_add(PENDING_TTL_SECS),
            now,
        )
        .await?;
    Ok(url)
}

/// Handles the callback of `upstream` with its query `params` for the browser whose CSRF cookie
/// is `csrf_cookie`: spends the pending record (once: a replayed callback finds nothing),
/// checks it belongs to this upstream and browser, then redeems the code.
pub(crate) async fn complete(
    state: &AppState,
    upstream: &UpstreamRecord,
    csrf_cookie: Option<&str>,
    params: &crate::domain::params::Params,
) -> Result<Completed, UpstreamError> {
    let state_value = params.get("state").ok_or(UpstreamError::State)?;
    let payload = state
        .store
        .take_artifact(PENDING_NAMESPACE, &secret_hash(state_value), state.now())
        .await?
        .ok_or(UpstreamError::State)?;
    let pending: Pending = serde_json::from_str(&payload).map_err(|_| UpstreamError::State)?;
    // ISS-4: a state minted for one upstream is worthless at another's callback.
    if pending.upstream != upstream.id.as_str() {
        return Err(UpstreamError::State);
    }
    if !csrf_cookie.is_some_and(|c| check_csrf(c, &pending.binding)) {
        return Err(UpstreamError::State);
    }
    if let Some(error) = params.get("error") {
        return Err(UpstreamError::Refused(error.chars().take(64).collect()));
    }
    let code = params
        .get("code")
        .ok_or_else(|| UpstreamError::Malformed("callback without code".into()))?;
    let secret = client_secret(state, upstream)?;
    let identity = match &upstream.kind {
        UpstreamKind::Oidc {
            issuer,
            userinfo,
            groups_claim,
        } => {
            let meta = oidc::discover(state, issuer).await?;
            oidc::check_response_issuer(&meta, params.get("iss"))?;
            oidc::redeem(
                state,
                upstream,
                &meta,
                oidc::Redeem {
                    code,
                    secret: &secret,
                    verifier: &pending.verifier,
                    nonce: &pending.nonce,
                    userinfo: *userinfo,
                    groups_claim: groups_claim.as_deref().unwrap_or("groups"),
                },
            )
            .await?
        }
        UpstreamKind::Github {
            base_url,
            allowed_orgs,
        } => {
            github::redeem(
                state,
                upstream,
                github::Site {
                    base: base_url.as_deref(),
                    allowed_orgs,
                },
                code,
                &secret,
                &pending.verifier,
            )
            .await?
        }
        UpstreamKind::Ldap(_) => return Err(UpstreamError::WrongFlow),
    };
    Ok(Completed {
        request: pending.request,
        link_user: pending.link_user,
        identity,
    })
}

/// Signs `username` in at the directory `upstream` with `password`, under the same throttle as
/// the local password form (the failures count alike). A right password links or creates the
/// local user just in time and refreshes its profile and mapped groups, as any upstream sign-in
/// does; the password itself is never stored. A directory that cannot be asked is an error,
/// and the attempt does not count.
#[tracing::instrument(skip_all, fields(upstream = %upstream.id))]
pub(crate) async fn directory_sign_in(
    state: &AppState,
    upstream: &UpstreamRecord,
    username: &str,
    password: &portcullis_types::secret::Password,
    addr: Option<std::net::IpAddr>,
) -> Result<SignInCheck, UpstreamError> {
    let UpstreamKind::Ldap(settings) = &upstream.kind else {
        return Err(UpstreamError::WrongFlow);
    };
    // Failures count against the username the directory would match, whatever its spelling.
    let canonical = ldap::canonical_username(username);
    let throttled_as = canonical.as_deref().unwrap_or(username);
    let check = async {
        let Some(username) = canonical.as_deref() else {
            tracing::info!("directory sign-in refused: unsupported username");
            return Ok(Verdict::Wrong);
        };
        let service_password = client_secret(state, upstream)?;
        let checked = ldap::authenticate(
            settings,
            &upstream.client_id,
            &service_password,
            username,
            password,
        )
        .await?;
        let identity = match checked {
            ldap::Checked::Account(identity) => identity,
            ldap::Checked::Refused(why) => {
                tracing::info!(refusal = ?why, "directory sign-in refused");
                return Ok(Verdict::Wrong);
            }
        };
        match accounts::sign_in(state, upstream, &identity).await {
            Ok((user, _)) => Ok(Verdict::Right(Box::new(user))),
            Err(UpstreamError::Disabled) => Ok(Verdict::RightButDisabled),
            Err(e) => Err(e),
        }
    };
    throttled(state, throttled_as, addr, check).await
}

/// How a directory sign-in signed the user in: at `upstream`, with a password.
pub(crate) fn directory_sign_in_method(upstream: &UpstreamRecord) -> FederatedSignIn {
    FederatedSignIn {
        idp: upstream.id.clone(),
        amr: vec![ldap::DIRECTORY_AMR.to_owned()],
    }
}
