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
