//! The store as an exporter sees it: every call through [`traced`] runs in a client span
//! `store` named after the operation, with `db.system` and `db.operation.name` (OpenTelemetry
//! database conventions). Installed only when traces are exported; otherwise the server holds
//! the backend itself and no call pays for a span.

use std::sync::Arc;

use async_trait::async_trait;
use tracing::{Instrument as _, Span};

use super::traits::{
    ArtifactStore, AuditStore, ClientStore, CodeStore, ConsentStore, DirectoryStore, GrantStore,
    KeyStore, Maintenance, MirrorStore, RefreshStore, ReplayStore, SessionStore, Store,
    ThrottleStore, UpstreamStore, UserStore,
};
use crate::store::{
    AuditFilter, AuditRecord, ClientRecord, CodeRecord, ConsentRecord, ConsumeOutcome, GcReport,
    GrantRecord, GroupRecord, MirrorEntry, RefreshRecord, RoleRecord, RotateOutcome, SessionRecord,
    SigningKeyRecord, StoreResult, StoredAuditRecord, UpstreamLinkRecord, UpstreamRecord,
    UserRecord,
};

/// Wraps `inner`, the backend opened from `url`, so that each of its calls is a span. The
/// `db.system` of the spans follows the URL's scheme: `sqlite`, `postgresql` or `memory`.
pub fn traced(inner: Arc<dyn Store>, url: &str) -> Arc<dyn Store> {
    let system = match url.split(':').next().unwrap_or_default() {
        "sqlite" => "sqlite",
        "postgres" | "postgresql" => "postgresql",
        _ => "memory",
    };
    Arc::new(TracedStore { inner, system })
}

/// A backend whose calls run in spans; made by [`traced`].
#[derive(Debug)]
struct TracedStore {
    inner: Arc<dyn Store>,
    /// The `db.system` attribute of every span.
    system: &'static str,
}

impl TracedStore {
    /// The span of one call to `operation`. At `debug` level, so the log filter leaves it out by
    /// default while the exporter still records it.
    fn span(&self, operation: &'static str) -> Span {
        tracing::debug_span!(
            "store",
            otel.name = operation,
            otel.kind = "client",
            db.system = self.system,
            db.operation.name = operation,
        )
    }
}

#[async_trait]
impl ClientStore for TracedStore {
    async fn put_client(&self, client: ClientRecord) -> StoreResult<()> {
        let span = self.span("put_client");
        self.inner.put_client(client).instrument(span).await
    }
    async fn insert_client(&self, client: ClientRecord) -> StoreResult<()> {
        let span = self.span("insert_client");
        self.inner.insert_client(client).instrument(span).await
    }
    async fn get_client(&self, client_id: &str) -> StoreResult<Option<ClientRecord>> {
        let span = self.span("get_client");
        self.inner.get_client(client_id).instrument(span).await
    }
    async fn list_clients(&self) -> StoreResult<Vec<ClientRecord>> {
        let span = self.span("list_clients");
        self.inner.list_clients().instrument(span).await
    }
    async fn delete_client(&self, client_id: &str) -> StoreResult<bool> {
        let span = self.span("delete_client");
        self.inner.delete_client(client_id).instrument(span).await
    }
}

#[async_trait]
impl UserStore for TracedStore {
    async fn put_user(&self, user: UserRecord) -> StoreResult<()> {
        let span = self.span("put_user");
        self.inner.put_user(user).instrument(span).await
    }
    async fn get_user(&self, id: &str) -> StoreResult<Option<UserRecord>> {
        let span = self.span("get_user");
        self.inner.get_user(id).instrument(span).await
    }
    async fn get_user_by_username(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        let span = self.span("get_user_by_username");
        self.inner
            .get_user_by_username(username)
            .instrument(span)
            .await
    }
    async fn get_users_by_email(&self, email: &str) -> StoreResult<Vec<UserRecord>> {
        let span = self.span("get_users_by_email");
        self.inner.get_users_by_email(email).instrument(span).await
    }
    async fn list_users(&self) -> StoreResult<Vec<UserRecord>> {
        let span = self.span("list_users");
        self.inner.list_users().instrument(span).await
    }
    async fn delete_user(&self, id: &str) -> StoreResult<bool> {
        let span = self.span("delete_user");
        self.inner.delete_user(id).instrument(span).await
    }
}

#[async_trait]
impl DirectoryStore for TracedStore {
    async fn insert_role(&self, role: RoleRecord) -> StoreResult<()> {
        let span = self.span("insert_role");
        self.inner.insert_role(role).instrument(span).await
    }
    async fn list_roles(&self) -> StoreResult<Vec<RoleRecord>> {
        let span = self.span("list_roles");
        self.inner.list_roles().instrument(span).await
    }
    async fn delete_role(&self, name: &str) -> StoreResult<bool> {
        let span = self.span("delete_role");
        self.inner.delete_role(name).instrument(span).await
    }
    async fn insert_group(&self, group: GroupRecord) -> StoreResult<()> {
        let span = self.span("insert_group");
        self.inner.insert_group(group).instrument(span).await
    }
    async fn get_group(&self, name: &str) -> StoreResult<Option<GroupRecord>> {
        let span = self.span("get_group");
        self.inner.get_group(name).instrument(span).await
    }
    async fn list_groups(&self) -> StoreResult<Vec<GroupRecord>> {
        let span = self.span("list_groups");
        self.inner.list_groups().instrument(span).await
    }
    async fn delete_group(&self, name: &str) -> StoreResult<bool> {
        let span = self.span("delete_group");
        self.inner.delete_group(name).instrument(span).await
    }
}

#[async_trait]
impl CodeStore for TracedStore {
    async fn insert_code(&self, code: CodeRecord) -> StoreResult<()> {
        let span = self.span("insert_code");
        self.inner.insert_code(code).instrument(span).await
    }
    async fn consume_code(
        &self,
        code_hash: &str,
        now: i64,
    ) -> StoreResult<ConsumeOutcome<CodeRecord>> {
        let span = self.span("consume_code");
        self.inner
            .consume_code(code_hash, now)
            .instrument(span)
            .await
    }
}

#[async_trait]
impl GrantStore for TracedStore {
    async fn insert_grant(&self, grant: GrantRecord) -> StoreResult<()> {
        let span = self.span("insert_grant");
        self.inner.insert_grant(grant).instrument(span).await
    }
    async fn get_grant(&self, grant_id: &str) -> StoreResult<Option<GrantRecord>> {
        let span = self.span("get_grant");
        self.inner.get_grant(grant_id).instrument(span).await
    }
    async fn list_grants(&self, user_id: &str) -> StoreResult<Vec<GrantRecord>> {
        let span = self.span("list_grants");
        self.inner.list_grants(user_id).instrument(span).await
    }
    async fn revoke_grant(&self, grant_id: &str, now: i64) -> StoreResult<bool> {
        let span = self.span("revoke_grant");
        self.inner
            .revoke_grant(grant_id, now)
            .instrument(span)
            .await
    }
    async fn record_access_token(&self, jti: &str, grant_id: &str, exp: i64) -> StoreResult<()> {
        let span = self.span("record_access_token");
        self.inner
            .record_access_token(jti, grant_id, exp)
            .instrument(span)
            .await
    }
    async fn list_grant_access_tokens(&self, grant_id: &str) -> StoreResult<Vec<(String, i64)>> {
        let span = self.span("list_grant_access_tokens");
        self.inner
            .list_grant_access_tokens(grant_id)
            .instrument(span)
            .await
    }
    async fn access_token_grant(&self, jti: &str) -> StoreResult<Option<String>> {
        let span = self.span("access_token_grant");
        self.inner.access_token_grant(jti).instrument(span).await
    }
}

#[async_trait]
impl RefreshStore for TracedStore {
    async fn insert_refresh(&self, token: RefreshRecord) -> StoreResult<()> {
        let span = self.span("insert_refresh");
        self.inner.insert_refresh(token).instrument(span).await
    }
    async fn rotate_refresh(
        &self,
        old_hash: &str,
        new: RefreshRecord,
        now: i64,
    ) -> StoreResult<RotateOutcome> {
        let span = self.span("rotate_refresh");
        self.inner
            .rotate_refresh(old_hash, new, now)
            .instrument(span)
            .await
    }
    async fn retry_rotated_refresh(
        &self,
        old_hash: &str,
        new: RefreshRecord,
        rotated_after: i64,
    ) -> StoreResult<RotateOutcome> {
        let span = self.span("retry_rotated_refresh");
        self.inner
            .retry_rotated_refresh(old_hash, new, rotated_after)
            .instrument(span)
            .await
    }
    async fn revoke_refresh(&self, token_hash: &str) -> StoreResult<bool> {
        let span = self.span("revoke_refresh");
        self.inner.revoke_refresh(token_hash).instrument(span).await
    }
    async fn find_refresh(&self, token_hash: &str) -> StoreResult<Option<RefreshRecord>> {
        let span = self.span("find_refresh");
        self.inner.find_refresh(token_hash).instrument(span).await
    }
}

#[async_trait]
impl ReplayStore for TracedStore {
    async fn revoke_jti(&self, jti: &str, exp: i64) -> StoreResult<()> {
        let span = self.span("revoke_jti");
        self.inner.revoke_jti(jti, exp).instrument(span).await
    }
    async fn is_jti_revoked(&self, jti: &str, now: i64) -> StoreResult<bool> {
        let span = self.span("is_jti_revoked");
        self.inner.is_jti_revoked(jti, now).instrument(span).await
    }
    async fn insert_jti_if_absent(
        &self,
        namespace: &str,
        key: &str,
        exp: i64,
    ) -> StoreResult<bool> {
        let span = self.span("insert_jti_if_absent");
        self.inner
            .insert_jti_if_absent(namespace, key, exp)
            .instrument(span)
            .await
    }
}

#[async_trait]
impl ArtifactStore for TracedStore {
    async fn put_artifact(
        &self,
        namespace: &str,
        key_hash: &str,
        payload: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<()> {
        let span = self.span("put_artifact");
        self.inner
            .put_artifact(namespace, key_hash, payload, expires_at, now)
            .instrument(span)
            .await
    }
    async fn get_artifact(
        &self,
        namespace: &str,
        key_hash: &str,
        now: i64,
    ) -> StoreResult<Option<String>> {
        let span = self.span("get_artifact");
        self.inner
            .get_artifact(namespace, key_hash, now)
            .instrument(span)
            .await
    }
    async fn take_artifact(
        &self,
        namespace: &str,
        key_hash: &str,
        now: i64,
    ) -> StoreResult<Option<String>> {
        let span = self.span("take_artifact");
        self.inner
            .take_artifact(namespace, key_hash, now)
            .instrument(span)
            .await
    }
    async fn swap_artifact(
        &self,
        namespace: &str,
        key_hash: &str,
        expected: &str,
        new_payload: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let span = self.span("swap_artifact");
        self.inner
            .swap_artifact(namespace, key_hash, expected, new_payload, now)
            .instrument(span)
            .await
    }
}

#[async_trait]
impl ConsentStore for TracedStore {
    async fn put_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> StoreResult<ConsentRecord> {
        let span = self.span("put_consent");
        self.inner
            .put_consent(user_id, client_id, scope, now)
            .instrument(span)
            .await
    }
    async fn get_consent(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<ConsentRecord>> {
        let span = self.span("get_consent");
        self.inner
            .get_consent(user_id, client_id)
            .instrument(span)
            .await
    }
    async fn list_consents(&self, user_id: &str) -> StoreResult<Vec<ConsentRecord>> {
        let span = self.span("list_consents");
        self.inner.list_consents(user_id).instrument(span).await
    }
    async fn withdraw_consent(
        &self,
        user_id: &str,
        client_id: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let span = self.span("withdraw_consent");
        self.inner
            .withdraw_consent(user_id, client_id, now)
            .instrument(span)
            .await
    }
}

#[async_trait]
impl SessionStore for TracedStore {
    async fn insert_session(&self, session: SessionRecord) -> StoreResult<()> {
        let span = self.span("insert_session");
        self.inner.insert_session(session).instrument(span).await
    }
    async fn get_session(&self, id_hash: &str, now: i64) -> StoreResult<Option<SessionRecord>> {
        let span = self.span("get_session");
        self.inner.get_session(id_hash, now).instrument(span).await
    }
    async fn delete_session(&self, id_hash: &str) -> StoreResult<bool> {
        let span = self.span("delete_session");
        self.inner.delete_session(id_hash).instrument(span).await
    }
    async fn delete_user_sessions(&self, user_id: &str) -> StoreResult<u64> {
        let span = self.span("delete_user_sessions");
        self.inner
            .delete_user_sessions(user_id)
            .instrument(span)
            .await
    }
    async fn list_user_sessions(
        &self,
        user_id: &str,
        now: i64,
        limit: u32,
    ) -> StoreResult<Vec<SessionRecord>> {
        let span = self.span("list_user_sessions");
        self.inner
            .list_user_sessions(user_id, now, limit)
            .instrument(span)
            .await
    }
    async fn delete_user_session(
        &self,
        user_id: &str,
        id_hash: &str,
    ) -> StoreResult<Option<SessionRecord>> {
        let span = self.span("delete_user_session");
        self.inner
            .delete_user_session(user_id, id_hash)
            .instrument(span)
            .await
    }
}

#[async_trait]
impl ThrottleStore for TracedStore {
    async fn record_login_failure(
        &self,
        key: &str,
        now: i64,
        window_secs: i64,
    ) -> StoreResult<u32> {
        let span = self.span("record_login_failure");
        self.inner
            .record_login_failure(key, now, window_secs)
            .instrument(span)
            .await
    }
    async fn register_attempt(&self, key: &str, now: i64, window_secs: i64) -> StoreResult<u32> {
        let span = self.span("register_attempt");
        self.inner
            .register_attempt(key, now, window_secs)
            .instrument(span)
            .await
    }
    async fn release_attempt(&self, key: &str, at: i64) -> StoreResult<()> {
        let span = self.span("release_attempt");
        self.inner.release_attempt(key, at).instrument(span).await
    }
    async fn login_failures(&self, key: &str, now: i64, window_secs: i64) -> StoreResult<u32> {
        let span = self.span("login_failures");
        self.inner
            .login_failures(key, now, window_secs)
            .instrument(span)
            .await
    }
    async fn clear_login_failures(&self, key: &str) -> StoreResult<()> {
        let span = self.span("clear_login_failures");
        self.inner.clear_login_failures(key).instrument(span).await
    }
}

#[async_trait]
impl KeyStore for TracedStore {
    async fn insert_signing_key(&self, key: SigningKeyRecord) -> StoreResult<()> {
        let span = self.span("insert_signing_key");
        self.inner.insert_signing_key(key).instrument(span).await
    }
    async fn insert_signing_key_unless_active(
        &self,
        key: SigningKeyRecord,
        now: i64,
    ) -> StoreResult<bool> {
        let span = self.span("insert_signing_key_unless_active");
        self.inner
            .insert_signing_key_unless_active(key, now)
            .instrument(span)
            .await
    }
    async fn insert_signing_key_unless_newer(
        &self,
        key: SigningKeyRecord,
        created_after: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let span = self.span("insert_signing_key_unless_newer");
        self.inner
            .insert_signing_key_unless_newer(key, created_after, now)
            .instrument(span)
            .await
    }
    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        let span = self.span("list_signing_keys");
        self.inner.list_signing_keys().instrument(span).await
    }
    async fn update_signing_key(&self, key: SigningKeyRecord) -> StoreResult<()> {
        let span = self.span("update_signing_key");
        self.inner.update_signing_key(key).instrument(span).await
    }
    async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool> {
        let span = self.span("delete_signing_key");
        self.inner.delete_signing_key(kid).instrument(span).await
    }
    async fn get_server_secret(&self, name: &str) -> StoreResult<Option<String>> {
        let span = self.span("get_server_secret");
        self.inner.get_server_secret(name).instrument(span).await
    }
    async fn insert_server_secret(&self, name: &str, value: &str) -> StoreResult<bool> {
        let span = self.span("insert_server_secret");
        self.inner
            .insert_server_secret(name, value)
            .instrument(span)
            .await
    }
    async fn update_server_secret(&self, name: &str, value: &str) -> StoreResult<()> {
        let span = self.span("update_server_secret");
        self.inner
            .update_server_secret(name, value)
            .instrument(span)
            .await
    }
}

#[async_trait]
impl UpstreamStore for TracedStore {
    async fn put_upstream(&self, upstream: UpstreamRecord) -> StoreResult<()> {
        let span = self.span("put_upstream");
        self.inner.put_upstream(upstream).instrument(span).await
    }
    async fn get_upstream(&self, id: &str) -> StoreResult<Option<UpstreamRecord>> {
        let span = self.span("get_upstream");
        self.inner.get_upstream(id).instrument(span).await
    }
    async fn list_upstreams(&self) -> StoreResult<Vec<UpstreamRecord>> {
        let span = self.span("list_upstreams");
        self.inner.list_upstreams().instrument(span).await
    }
    async fn delete_upstream(&self, id: &str) -> StoreResult<bool> {
        let span = self.span("delete_upstream");
        self.inner.delete_upstream(id).instrument(span).await
    }
    async fn insert_upstream_link(&self, link: UpstreamLinkRecord) -> StoreResult<()> {
        let span = self.span("insert_upstream_link");
        self.inner.insert_upstream_link(link).instrument(span).await
    }
    async fn get_upstream_link(
        &self,
        upstream_id: &str,
        subject: &str,
    ) -> StoreResult<Option<UpstreamLinkRecord>> {
        let span = self.span("get_upstream_link");
        self.inner
            .get_upstream_link(upstream_id, subject)
            .instrument(span)
            .await
    }
    async fn list_upstream_links(&self, user_id: &str) -> StoreResult<Vec<UpstreamLinkRecord>> {
        let span = self.span("list_upstream_links");
        self.inner
            .list_upstream_links(user_id)
            .instrument(span)
            .await
    }
    async fn delete_upstream_link(&self, upstream_id: &str, user_id: &str) -> StoreResult<bool> {
        let span = self.span("delete_upstream_link");
        self.inner
            .delete_upstream_link(upstream_id, user_id)
            .instrument(span)
            .await
    }
}

#[async_trait]
impl AuditStore for TracedStore {
    async fn append_audit(&self, events: &[AuditRecord]) -> StoreResult<()> {
        let span = self.span("append_audit");
        self.inner.append_audit(events).instrument(span).await
    }
    async fn audit_events(&self, filter: &AuditFilter) -> StoreResult<Vec<StoredAuditRecord>> {
        let span = self.span("audit_events");
        self.inner.audit_events(filter).instrument(span).await
    }
    async fn delete_audit_before(&self, cutoff: i64) -> StoreResult<u64> {
        let span = self.span("delete_audit_before");
        self.inner
            .delete_audit_before(cutoff)
            .instrument(span)
            .await
    }
}

#[async_trait]
impl Maintenance for TracedStore {
    async fn gc(&self, now: i64) -> StoreResult<GcReport> {
        let span = self.span("gc");
        self.inner.gc(now).instrument(span).await
    }
    async fn health(&self) -> StoreResult<()> {
        let span = self.span("health");
        self.inner.health().instrument(span).await
    }
}

#[async_trait]
impl MirrorStore for TracedStore {
    async fn record_subject_marker(
        &self,
        sub: &str,
        not_before: i64,
        keep_until: i64,
    ) -> StoreResult<()> {
        let span = self.span("record_subject_marker");
        self.inner
            .record_subject_marker(sub, not_before, keep_until)
            .instrument(span)
            .await
    }
    async fn queue_mirror(&self, entries: &[MirrorEntry]) -> StoreResult<()> {
        let span = self.span("queue_mirror");
        self.inner.queue_mirror(entries).instrument(span).await
    }
    async fn queued_mirror(&self, limit: u32) -> StoreResult<Vec<(i64, MirrorEntry)>> {
        let span = self.span("queued_mirror");
        self.inner.queued_mirror(limit).instrument(span).await
    }
    async fn dequeue_mirror(&self, ids: &[i64]) -> StoreResult<()> {
        let span = self.span("dequeue_mirror");
        self.inner.dequeue_mirror(ids).instrument(span).await
    }
    async fn live_mirror_entries(
        &self,
        now: i64,
        after: Option<&MirrorEntry>,
        limit: u32,
    ) -> StoreResult<Vec<MirrorEntry>> {
        let span = self.span("live_mirror_entries");
        self.inner
            .live_mirror_entries(now, after, limit)
            .instrument(span)
            .await
    }
}
