//! Token hooks: before an access or ID token is signed, every configured hook that applies to
//! the token and its client is POSTed the claims so far and may answer claims to add. A hook
//! adds, it never changes: an answer touching a protected or present claim is a failure.
//!
//! Outcomes, hook by hook in configuration order:
//! * a valid answer: its claims are added, and the next hook sees them;
//! * `403`: the hook refuses the grant; the request gets `invalid_grant`, whatever
//!   `on_failure` says;
//! * anything else (timeout, refused connection, other status, not `application/json`, too
//!   large, invalid or too deep JSON, not `{"claims": {...}}`, a protected claim, over the
//!   budget of added claims): a failure, logged and counted without claim values; with
//!   `on_failure = "deny"` the request gets `503 temporarily_unavailable`, with `"allow"` the
//!   token goes out without this hook's claims.

mod answer;
pub(crate) mod call;
pub(crate) mod signature;

use portcullis_types::{GrantType, Scope};
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::{Map, Value};

use crate::config::{OnFailure, TokenHookSettings, TokenKind};
use crate::domain::ProtocolError;
use crate::domain::UNAVAILABLE_RETRY_AFTER_SECS;
use crate::domain::audit;
use crate::state::AppState;
use crate::store::ClientRecord;

pub(crate) use call::http_client;

/// Why a hook's answer could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HookFailure {
    /// No complete answer within `timeout_ms`.
    Timeout,
    /// The connection could not be made (refused, unreachable, TLS handshake failed).
    Connect,
    /// The connection broke off or the request could not be sent.
    Transport,
    /// The hook answered `403`: it refuses the grant.
    Refused,
    /// A status other than `2xx` or `403` (redirects included).
    Status(u16),
    /// The answer is not `application/json`.
    ContentType,
    /// The answer is longer than `max_response_bytes`.
    TooLarge,
    /// The answer is not JSON.
    InvalidJson,
    /// The answer is JSON, but not `{"claims": {...}}`.
    NotAClaimsObject,
    /// The answer nests deeper than [`answer::MAX_ANSWER_DEPTH`].
    TooDeep,
    /// The answer sets a protected claim or one the token already has (named; no value).
    ProtectedClaim(String),
    /// The claims would take the token over [`answer::MAX_ADDED_CLAIMS_BYTES`] of added claims.
    ClaimsTooLarge,
}

impl HookFailure {
    /// A fixed name for logs and metric labels.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::Transport => "transport",
            Self::Refused => "refused",
            Self::Status(_) => "status",
            Self::ContentType => "content_type",
            Self::TooLarge => "too_large",
            Self::InvalidJson => "invalid_json",
            Self::NotAClaimsObject => "not_a_claims_object",
            Self::TooDeep => "too_deep",
            Self::ProtectedClaim(_) => "protected_claim",
            Self::ClaimsTooLarge => "claims_too_large",
        }
    }
}

/// What a hook is told about the token besides its claims.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HookContext<'a> {
    /// The grant the token is issued under.
    pub grant_type: GrantType,
    /// The client the token is issued to.
    pub client: &'a ClientRecord,
    /// The token's subject: a user id, or the client id for client credentials.
    pub subject: &'a str,
    /// The granted scope.
    pub scope: &'a Scope,
}

/// The JSON body of a hook call.
#[derive(Serialize)]
struct HookRequest<'a> {
    token_kind: TokenKind,
    subject: &'a str,
    client_id: &'a str,
    grant_type: &'a str,
    scope: Vec<&'a str>,
    claims: Merged<'a>,
}

/// The server's claims followed by those earlier hooks added, as one JSON object.
struct Merged<'a>(&'a Map<String, Value>, &'a Map<String, Value>);

impl Serialize for Merged<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len().saturating_add(self.1.len())))?;
        for (k, v) in self.0.iter().chain(self.1) {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// The claims the hooks that apply add to a `kind` token whose claims so far are `claims`.
/// Without such a hook this returns an empty map at once, touching nothing.
pub(crate) async fn extra_claims<T: Serialize>(
    state: &AppState,
    kind: TokenKind,
    ctx: HookContext<'_>,
    claims: &T,
) -> Result<Map<String, Value>, ProtocolError> {
    let applies = |hook: &TokenHookSettings| hook.applies(kind, &ctx.client.client_id);
    if !state.config.token_hooks.iter().any(applies) {
        return Ok(Map::new());
    }
    let Some(client) = &state.hook_client else {
        return Err(ProtocolError::internal(
            "token hook",
            &"hooks are configured but no HTTP client was built",
        ));
    };
    let base = match serde_json::to_value(claims) {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            return Err(ProtocolError::internal(
                "token hook",
                &"claims not an object",
            ));
        }
        Err(e) => return Err(ProtocolError::internal("token hook", &e)),
    };
    let mut added = Map::new();
    let mut added_bytes = 0usize;
    for (index, hook) in state.config.token_hooks.iter().enumerate() {
        if !applies(hook) {
            continue;
        }
        let request = HookRequest {
            token_kind: kind,
            subject: ctx.subject,
            client_id: ctx.client.client_id.as_str(),
            grant_type: ctx.grant_type.as_str(),
            scope: ctx.scope.iter().collect(),
            claims: Merged(&base, &added),
        };
        let body =
            serde_json::to_vec(&request).map_err(|e| ProtocolError::internal("token hook", &e))?;
        let outcome = match call::call(client, hook, body, state.now()).await {
            Ok(answer) => answer::parse(&answer).and_then(|new| {
                answer::admit(&new, &base, &added, added_bytes).map(|bytes| (new, bytes))
            }),
            Err(failure) => Err(failure),
        };
        match outcome {
            Ok((new, bytes)) => {
                added_bytes = added_bytes.saturating_add(bytes);
                added.extend(new);
            }
            Err(failure) => failed(index, hook, kind, ctx, &failure)?,
        }
    }
    Ok(added)
}

/// Logs and counts a failure, then applies the hook's policy: an error refuses the request.
fn failed(
    index: usize,
    hook: &TokenHookSettings,
    kind: TokenKind,
    ctx: HookContext<'_>,
    failure: &HookFailure,
) -> Result<(), ProtocolError> {
    let (outcome, result) = match (failure, hook.on_failure) {
        (HookFailure::Refused, _) => (
            "refused",
            Err(ProtocolError::invalid_grant(
                "the grant was refused by policy",
            )),
        ),
        (_, OnFailure::Deny) => (
            "denied",
            Err(ProtocolError::temporarily_unavailable(
                "the service is temporarily unavailable",
                UNAVAILABLE_RETRY_AFTER_SECS,
            )),
        ),
        (_, OnFailure::Allow) => ("allowed", Ok(())),
    };
    audit::token_hook_failed(&audit::HookFailureEvent {
        hook: index,
        host: hook.url.host_str().unwrap_or_default(),
        token: kind.as_str(),
        client_id: ctx.client.client_id.as_str(),
        grant_type: ctx.grant_type.as_str(),
        failure: failure.kind(),
        status: match failure {
            HookFailure::Status(s) => Some(*s),
            _ => None,
        },
        claim: match failure {
            HookFailure::ProtectedClaim(name) => Some(name.as_str()),
            _ => None,
        },
        outcome,
    });
    result
}
