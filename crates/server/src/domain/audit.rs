//! Audit events as structured `tracing` records with target `audit`: one function per event so
//! the field names stay consistent. Secrets never appear; only ids. Each event also counts in a
//! metric (through the `metrics` facade; nothing is kept without a recorder), labelled only with
//! bounded values: outcomes, grant types, kinds and registered client ids, never user names.

/// A user signed in.
pub(crate) fn login_succeeded(user_id: &str, username: &str) {
    tracing::info!(target: "audit", event = "login_success", user_id, username);
    metrics::counter!("portcullis_logins_total", "outcome" => "success").increment(1);
}

/// A user signed in through the upstream identity provider `idp`.
pub(crate) fn upstream_login_succeeded(user_id: &str, username: &str, idp: &str) {
    tracing::info!(target: "audit", event = "login_success", user_id, username, idp);
    metrics::counter!("portcullis_logins_total", "outcome" => "success").increment(1);
}

/// A sign-in through the upstream `idp` (as the request named it, so not a metric label)
/// failed; `reason` is the logged cause.
pub(crate) fn upstream_login_failed(idp: &str, reason: &str) {
    tracing::warn!(target: "audit", event = "upstream_login_failure", idp, reason);
    metrics::counter!("portcullis_logins_total", "outcome" => "failure").increment(1);
}

/// A signed-in user linked an account of the upstream `idp` from the account page.
pub(crate) fn upstream_linked(user_id: &str, idp: &str) {
    tracing::info!(target: "audit", event = "upstream_linked", user_id, idp);
}

/// A signed-in user unlinked the upstream `idp` from the account page.
pub(crate) fn upstream_unlinked(user_id: &str, idp: &str) {
    tracing::info!(target: "audit", event = "upstream_unlinked", user_id, idp);
}

/// A sign-in attempt failed (or was refused by the throttle).
pub(crate) fn login_failed(username: &str, addr: Option<&str>, throttled: bool) {
    tracing::warn!(target: "audit", event = "login_failure", username, addr, throttled);
    let outcome = if throttled { "throttled" } else { "failure" };
    metrics::counter!("portcullis_logins_total", "outcome" => outcome).increment(1);
}

/// Tokens were issued at the token endpoint.
pub(crate) fn token_issued(grant_type: &str, client_id: &str, sub: &str, jti: &str, scope: &str) {
    tracing::info!(target: "audit", event = "token_issued", grant_type, client_id, sub, jti, scope);
    metrics::counter!(
        "portcullis_tokens_issued_total",
        "grant_type" => grant_type.to_owned(),
        "client_id" => client_id.to_owned()
    )
    .increment(1);
}

/// A refresh token was rotated.
pub(crate) fn refresh_rotated(client_id: &str, grant_id: &str) {
    tracing::info!(target: "audit", event = "refresh", client_id, grant_id);
}

/// A rotated refresh token or a consumed code was presented again; the grant is revoked.
pub(crate) fn reuse_detected(kind: &str, client_id: &str, grant_id: &str) {
    tracing::warn!(target: "audit", event = "reuse_detected", kind, client_id, grant_id);
    metrics::counter!("portcullis_reuse_detected_total", "kind" => kind.to_owned()).increment(1);
}

/// A token or grant was revoked.
pub(crate) fn revoked(kind: &str, client_id: &str, id: &str) {
    tracing::info!(target: "audit", event = "revocation", kind, client_id, id);
    metrics::counter!("portcullis_revocations_total", "kind" => kind.to_owned()).increment(1);
}

/// A user granted consent.
pub(crate) fn consent_granted(user_id: &str, client_id: &str, scope: &str) {
    tracing::info!(target: "audit", event = "consent_granted", user_id, client_id, scope);
}

/// A user withdrew consent.
pub(crate) fn consent_withdrawn(user_id: &str, client_id: &str) {
    tracing::info!(target: "audit", event = "consent_withdrawn", user_id, client_id);
}

/// Client authentication failed.
pub(crate) fn client_auth_failed(client_id: &str, method: &str) {
    tracing::warn!(target: "audit", event = "client_auth_failure", client_id, method);
    metrics::counter!("portcullis_client_auth_failures_total", "method" => method.to_owned())
        .increment(1);
}

/// A user signed out.
pub(crate) fn logout(user_id: &str) {
    tracing::info!(target: "audit", event = "logout", user_id);
}

/// A token hook failed or refused, with what became of the token request. Claim values never
/// appear; a protected claim the hook tried to set is named.
#[derive(Debug)]
pub(crate) struct HookFailureEvent<'a> {
    /// The hook's position in the configuration.
    pub hook: usize,
    /// The host of its URL.
    pub host: &'a str,
    /// `access` or `id`.
    pub token: &'static str,
    /// The client the token was for.
    pub client_id: &'a str,
    /// The grant it was issued under.
    pub grant_type: &'static str,
    /// The kind of failure (`timeout`, `protected_claim`, …).
    pub failure: &'static str,
    /// The HTTP status, for `status` failures.
    pub status: Option<u16>,
    /// The claim name, for `protected_claim` failures.
    pub claim: Option<&'a str>,
    /// `denied`, `allowed` (issued without the hook's claims) or `refused`.
    pub outcome: &'static str,
}

/// A token hook could not be used, or refused the grant.
pub(crate) fn token_hook_failed(e: &HookFailureEvent<'_>) {
    tracing::warn!(
        target: "audit",
        event = "token_hook_failure",
        hook = e.hook,
        host = e.host,
        token = e.token,
        client_id = e.client_id,
        grant_type = e.grant_type,
        failure = e.failure,
        status = e.status,
        claim = e.claim,
        outcome = e.outcome,
    );
    metrics::counter!(
        "portcullis_token_hook_failures_total",
        "kind" => e.failure,
        "outcome" => e.outcome,
        "token" => e.token
    )
    .increment(1);
}

/// Every token and session of a user was revoked (signed out everywhere); `why` names the
/// cause: `sign_out_everywhere`, `disabled` or `password_changed`.
pub(crate) fn signed_out_everywhere(user_id: &str, why: &str, grants: usize, sessions: u64) {
    tracing::info!(target: "audit", event = "signed_out_everywhere", user_id, why, grants, sessions);
}

/// An account was disabled or enabled again.
pub(crate) fn account_status(user_id: &str, disabled: bool) {
    tracing::info!(target: "audit", event = "account_status", user_id, disabled);
}

/// A client presented a refresh token it had just rotated, within its grace window, and got a
/// working one (RT-5) instead of losing the grant.
pub(crate) fn refresh_grace_used(client_id: &str, grant_id: &str) {
    tracing::info!(target: "audit", event = "refresh_grace_used", client_id, grant_id);
    metrics::counter!("portcullis_refresh_grace_used_total").increment(1);
}

/// An account was made on the sign-up page.
pub(crate) fn account_registered(user_id: &str, username: &str, verification_pending: bool) {
    tracing::info!(target: "audit", event = "account_registered", user_id, username, verification_pending);
    metrics::counter!("portcullis_self_service_total", "event" => "registered").increment(1);
}

/// A user verified their e-mail address through a mailed link.
pub(crate) fn email_verified(user_id: &str) {
    tracing::info!(target: "audit", event = "email_verified", user_id);
    metrics::counter!("portcullis_self_service_total", "event" => "email_verified").increment(1);
}

/// A password-reset link was mailed for a user (never logged: the link, the address).
pub(crate) fn password_reset_mailed(user_id: &str) {
    tracing::info!(target: "audit", event = "password_reset_mailed", user_id);
    metrics::counter!("portcullis_self_service_total", "event" => "reset_mailed").increment(1);
}

/// A user set a new password through a mailed reset link.
pub(crate) fn password_reset(user_id: &str) {
    tracing::info!(target: "audit", event = "password_reset", user_id);
    metrics::counter!("portcullis_self_service_total", "event" => "password_reset").increment(1);
}

/// A user deleted their own account (after every token and session of it was revoked).
pub(crate) fn account_deleted(user_id: &str, username: &str) {
    tracing::info!(target: "audit", event = "account_deleted", user_id, username);
    metrics::counter!("portcullis_self_service_total", "event" => "account_deleted").increment(1);
}

/// An operator changed something through the admin API: `actor` (the token's `sub`) acting
/// through the client `client_id` did `action` (`client_created`, `user_disabled`,
/// `keys_rotated`, ...) to `resource` (a client id, user id, role or group name, upstream id, or
/// the new key ids; not `target`, which names the log target in a JSON record). The fixed
/// `action` is the metric label.
pub(crate) fn admin_change(actor: &str, client_id: &str, action: &'static str, resource: &str) {
    tracing::info!(target: "audit", event = "admin_change", actor, client_id, action, resource);
    metrics::counter!("portcullis_admin_changes_total", "action" => action).increment(1);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    /// The event names written anywhere under `dir` (the string literal after `event =`).
    fn event_names(dir: &Path, names: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                event_names(&path, names);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for rest in text.split("event = \"").skip(1) {
                    if let Some((name, _)) = rest.split_once('"') {
                        names.insert(name.to_owned());
                    }
                }
            }
        }
    }

    /// The schema of the audit file names every event the code emits, and no other.
    #[test]
    fn the_audit_schema_lists_exactly_the_events_emitted() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut emitted = BTreeSet::new();
        event_names(&root.join("src"), &mut emitted);
        let schema: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(root.join("audit-event.schema.json")).unwrap(),
        )
        .unwrap();
        let listed: BTreeSet<String> = schema["properties"]["event"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        let described: BTreeSet<String> = schema["$defs"]["events"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(listed, emitted, "schema enum vs events in the code");
        assert_eq!(
            described, emitted,
            "schema descriptions vs events in the code"
        );
    }
}
