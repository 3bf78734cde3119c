//! In-memory reference backend: one mutex around plain maps, held for the whole of each primitive
//! (never across an `.await`), which makes every method atomic. Data is lost on restart.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use super::prelude::*;
use super::{
    AuditFilter, AuditRecord, CODE_RETENTION_SECS, ClientRecord, CodeRecord, ConsentRecord,
    ConsumeOutcome, GRANT_RETENTION_SECS, GcReport, GrantRecord, GroupRecord,
    LOGIN_FAILURE_RETENTION_SECS, MirrorEntry, RefreshRecord, RefreshStatus, RoleRecord,
    RotateOutcome, SessionRecord, SigningKeyRecord, StoreError, StoreResult, StoredAuditRecord,
    UpstreamLinkRecord, UpstreamRecord, UserRecord, union_scope,
};

/// An artifact payload with its expiry.
#[derive(Debug, Clone)]
struct Artifact {
    payload: String,
    expires_at: i64,
}

/// Everything the memory backend holds.
#[derive(Debug, Default)]
struct State {
    clients: BTreeMap<portcullis_types::ClientId, ClientRecord>,
    users: BTreeMap<portcullis_types::Subject, UserRecord>,
    roles: BTreeMap<String, RoleRecord>,
    /// sub -> (not_before, keep_until)
    subject_markers: BTreeMap<String, (i64, i64)>,
    /// id -> queued denylist entry
    mirror_queue: BTreeMap<i64, MirrorEntry>,
    next_mirror_id: i64,
    /// id -> stored audit event
    audit: BTreeMap<i64, StoredAuditRecord>,
    next_audit_id: i64,
    groups: BTreeMap<String, GroupRecord>,
    codes: HashMap<String, CodeRecord>,
    grants: HashMap<String, GrantRecord>,
    /// jti -> (grant_id, exp)
    access_tokens: HashMap<String, (String, i64)>,
    refresh: HashMap<String, RefreshRecord>,
    /// token hash -> (rotated at, grace retry used)
    refresh_rotations: HashMap<String, (i64, bool)>,
    /// jti -> exp
    denylist: HashMap<String, i64>,
    /// (namespace, key) -> exp
    replay: HashMap<(String, String), i64>,
    artifacts: HashMap<(String, String), Artifact>,
    /// (user_id, client_id) -> consent
    consents: BTreeMap<(String, String), ConsentRecord>,
    sessions: HashMap<String, SessionRecord>,
    /// key -> failure times
    failures: HashMap<String, Vec<i64>>,
    keys: BTreeMap<String, SigningKeyRecord>,
    /// name -> stored form
    server_secrets: HashMap<String, String>,
    upstreams: BTreeMap<String, UpstreamRecord>,
    /// (upstream id, upstream subject) -> link
    upstream_links: BTreeMap<(String, String), UpstreamLinkRecord>,
}

impl State {
    /// Revokes a grant, its refresh tokens and its recorded access tokens.
    fn revoke_grant(&mut self, grant_id: &str, now: i64) -> bool {
        let Some(grant) = self.grants.get_mut(grant_id) else {
            return false;
        };
        let newly = grant.revoked_at.is_none();
        if newly {
            grant.revoked_at = Some(now);
        }
        for rt in self.refresh.values_mut() {
            if rt.grant_id == grant_id && rt.status == RefreshStatus::Active {
                rt.status = RefreshStatus::Revoked;
            }
        }
        for (jti, (gid, exp)) in &self.access_tokens {
            if gid == grant_id {
                let entry = self.denylist.entry(jti.clone()).or_insert(*exp);
                *entry = (*entry).max(*exp);
            }
        }
        newly
    }

    /// `Ok` if the grant exists and is not revoked.
    fn check_grant_live(&self, grant_id: &str) -> StoreResult<()> {
        match self.grants.get(grant_id) {
            None => Err(StoreError::NotFound),
            Some(g) if g.revoked_at.is_some() => Err(StoreError::GrantRevoked),
            Some(_) => Ok(()),
        }
    }
}

/// The in-memory reference store. Cheap to create; each instance is independent.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The contents are credentials-adjacent and large: show none of them.
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// Creates an empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts `key` unless a stored key satisfies `blocks`, under one lock.
    fn insert_signing_key_unless(
        &self,
        key: SigningKeyRecord,
        blocks: impl Fn(&SigningKeyRecord) -> bool,
    ) -> StoreResult<bool> {
        let mut st = self.lock()?;
        if st.keys.values().any(blocks) {
            return Ok(false);
        }
        if st.keys.contains_key(&key.kid) {
            return Err(StoreError::Conflict(format!("kid `{}`", key.kid)));
        }
        st.keys.insert(key.kid.clone(), key);
        Ok(true)
    }

    /// Locks the state; a poisoned lock (a panic while holding it) becomes a backend error.
    fn lock(&self) -> StoreResult<MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".into()))
    }
}

#[async_trait]
impl ClientStore for MemoryStore {
    async fn put_client(&self, client: ClientRecord) -> StoreResult<()> {
        self.lock()?
            .clients
            .insert(client.client_id.clone(), client);
        Ok(())
    }

    async fn insert_client(&self, client: ClientRecord) -> StoreResult<()> {
        match self.lock()?.clients.entry(client.client_id.clone()) {
            std::collections::btree_map::Entry::Occupied(_) => Err(super::client_conflict(&client)),
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(client);
                Ok(())
            }
        }
    }

    async fn get_client(&self, client_id: &str) -> StoreResult<Option<ClientRecord>> {
        Ok(self.lock()?.clients.get(client_id).cloned())
    }

    async fn list_clients(&self) -> StoreResult<Vec<ClientRecord>> {
        Ok(self.lock()?.clients.values().cloned().collect())
    }

    async fn delete_client(&self, client_id: &str) -> StoreResult<bool> {
        Ok(self.lock()?.clients.remove(client_id).is_some())
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn put_user(&self, user: UserRecord) -> StoreResult<()> {
        let mut st = self.lock()?;
        if st
            .users
            .values()
            .any(|u| u.username == user.username && u.id != user.id)
        {
            return Err(StoreError::Conflict(format!(
                "username `{}`",
                user.username
            )));
        }
        st.users.insert(user.id.clone(), user);
        Ok(())
    }

    async fn get_user(&self, id: &str) -> StoreResult<Option<UserRecord>> {
        Ok(self.lock()?.users.get(id).cloned())
    }

    async fn get_user_by_username(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        Ok(self
            .lock()?
            .users
            .values()
            .find(|u| u.username == username)
            .cloned())
    }

    async fn get_users_by_email(&self, email: &str) -> StoreResult<Vec<UserRecord>> {
        let mut users: Vec<UserRecord> = self
            .lock()?
            .users
            .values()
            .filter(|u| {
                u.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .cloned()
            .collect();
        users.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(users)
    }

    async fn list_users(&self) -> StoreResult<Vec<UserRecord>> {
        let mut users: Vec<UserRecord> = self.lock()?.users.values().cloned().collect();
        users.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(users)
    }

    async fn delete_user(&self, id: &str) -> StoreResult<bool> {
        let mut st = self.lock()?;
        st.upstream_links.retain(|_, l| l.user_id.as_str() != id);
        Ok(st.users.remove(id).is_some())
    }
}

#[async_trait]
impl UpstreamStore for MemoryStore {
    async fn put_upstream(&self, upstream: UpstreamRecord) -> StoreResult<()> {
        self.lock()?
            .upstreams
            .insert(upstream.id.as_str().to_owned(), upstream);
        Ok(())
    }

    async fn get_upstream(&self, id: &str) -> StoreResult<Option<UpstreamRecord>> {
        Ok(self.lock()?.upstreams.get(id).cloned())
    }

    async fn list_upstreams(&self) -> StoreResult<Vec<UpstreamRecord>> {
        Ok(self.lock()?.upstreams.values().cloned().collect())
    }

    async fn delete_upstream(&self, id: &str) -> StoreResult<bool> {
        let mut st = self.lock()?;
        if st.upstreams.remove(id).is_none() {
            return Ok(false);
        }
        st.upstream_links.retain(|(upstream, _), _| upstream != id);
        Ok(true)
    }

    async fn insert_upstream_link(&self, link: UpstreamLinkRecord) -> StoreResult<()> {
        let mut st = self.lock()?;
        if !st.upstreams.contains_key(link.upstream_id.as_str())
            || !st.users.contains_key(link.user_id.as_str())
        {
            return Err(StoreError::NotFound);
        }
        let key = (link.upstream_id.as_str().to_owned(), link.subject.clone());
        if st.upstream_links.contains_key(&key) {
            return Err(StoreError::Conflict(format!(
                "upstream account `{}` of `{}`",
                link.subject, link.upstream_id
            )));
        }
        st.upstream_links.insert(key, link);
        Ok(())
    }

    async fn get_upstream_link(
        &self,
        upstream_id: &str,
        subject: &str,
    ) -> StoreResult<Option<UpstreamLinkRecord>> {
        Ok(self
            .lock()?
            .upstream_links
            .get(&(upstream_id.to_owned(), subject.to_owned()))
            .cloned())
    }

    async fn list_upstream_links(&self, user_id: &str) -> StoreResult<Vec<UpstreamLinkRecord>> {
        Ok(self
            .lock()?
            .upstream_links
            .values()
            .filter(|l| l.user_id.as_str() == user_id)
            .cloned()
            .collect())
    }

    async fn delete_upstream_link(&self, upstream_id: &str, user_id: &str) -> StoreResult<bool> {
        let mut st = self.lock()?;
        let before = st.upstream_links.len();
        st.upstream_links
            .retain(|(upstream, _), l| upstream != upstream_id || l.user_id.as_str() != user_id);
        Ok(st.upstream_links.len() < before)
    }
}

#[async_trait]
impl DirectoryStore for MemoryStore {
    async fn insert_role(&self, role: RoleRecord) -> StoreResult<()> {
        let mut st = self.lock()?;
        if st.roles.contains_key(role.name.as_str()) {
            return Err(StoreError::Conflict(format!("role `{}`", role.name)));
        }
        st.roles.insert(role.name.as_str().to_owned(), role);
        Ok(())
    }

    async fn list_roles(&self) -> StoreResult<Vec<RoleRecord>> {
        Ok(self.lock()?.roles.values().cloned().collect())
    }

    async fn delete_role(&self, name: &str) -> StoreResult<bool> {
        let mut st = self.lock()?;
        if st.roles.remove(name).is_none() {
            return Ok(false);
        }
        for group in st.groups.values_mut() {
            group.roles.retain(|r| r.as_str() != name);
        }
        for user in st.users.values_mut() {
            user.roles.retain(|r| r.as_str() != name);
        }
        for client in st.clients.values_mut() {
            client.roles.retain(|r| r.as_str() != name);
        }
        Ok(true)
    }

    async fn insert_group(&self, group: GroupRecord) -> StoreResult<()> {
        let mut st = self.lock()?;
        if st.groups.contains_key(group.name.as_str()) {
            return Err(StoreError::Conflict(format!("group `{}`", group.name)));
        }
        st.groups.insert(group.name.as_str().to_owned(), group);
        Ok(())
    }

    async fn get_group(&self, name: &str) -> StoreResult<Option<GroupRecord>> {
        Ok(self.lock()?.groups.get(name).cloned())
    }

    async fn list_groups(&self) -> StoreResult<Vec<GroupRecord>> {
        Ok(self.lock()?.groups.values().cloned().collect())
    }

    async fn delete_group(&self, name: &str) -> StoreResult<bool> {
        let mut st = self.lock()?;
        if st.groups.remove(name).is_none() {
            return Ok(false);
        }
        for user in st.users.values_mut() {
            user.groups.retain(|g| g.as_str() != name);
        }
        Ok(true)
    }
}

#[async_trait]
impl MirrorStore for MemoryStore {
    async fn record_subject_marker(
        &self,
        sub: &str,
        not_before: i64,
        keep_until: i64,
    ) -> StoreResult<()> {
        let mut st = self.lock()?;
        let entry = st
            .subject_markers
            .entry(sub.to_owned())
            .or_insert((not_before, keep_until));
        if not_before >= entry.0 {
            *entry = (not_before, keep_until.max(entry.1));
        }
        Ok(())
    }

    async fn queue_mirror(&self, entries: &[MirrorEntry]) -> StoreResult<()> {
        let mut st = self.lock()?;
        for entry in entries {
            st.next_mirror_id += 1;
            let id = st.next_mirror_id;
            st.mirror_queue.insert(id, entry.clone());
        }
        Ok(())
    }

    async fn queued_mirror(&self, limit: u32) -> StoreResult<Vec<(i64, MirrorEntry)>> {
        let st = self.lock()?;
        Ok(st
            .mirror_queue
            .iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|(id, e)| (*id, e.clone()))
            .collect())
    }

    async fn dequeue_mirror(&self, ids: &[i64]) -> StoreResult<()> {
        let mut st = self.lock()?;
        for id in ids {
            st.mirror_queue.remove(id);
        }
        Ok(())
    }

    async fn live_mirror_entries(
        &self,
        now: i64,
        after: Option<&MirrorEntry>,
        limit: u32,
    ) -> StoreResult<Vec<MirrorEntry>> {
        let st = self.lock()?;
        let mut all: Vec<MirrorEntry> = st
            .denylist
            .iter()
            .filter(|(_, exp)| **exp > now)
            .map(|(jti, exp)| MirrorEntry::Jti {
                jti: jti.clone(),
                keep_until: *exp,
            })
            .chain(
                st.subject_markers
                    .iter()
                    .filter(|(_, (_, keep_until))| *keep_until > now)
                    .map(|(sub, (not_before, keep_until))| MirrorEntry::Subject {
                        sub: sub.clone(),
                        not_before: *not_before,
                        keep_until: *keep_until,
                    }),
            )
            .collect();
        all.sort_by(|a, b| a.kind_and_name().cmp(&b.kind_and_name()));
        Ok(all
            .into_iter()
            .filter(|e| after.is_none_or(|a| e.kind_and_name() > a.kind_and_name()))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect())
    }
}

#[async_trait]
impl CodeStore for MemoryStore {
    async fn insert_code(&self, mut code: CodeRecord) -> StoreResult<()> {
        let mut st = self.lock()?;
        if st.codes.contains_key(&code.code_hash) {
            return Err(StoreError::Conflict("authorization code".into()));
        }
        code.consumed_at = None;
        st.codes.insert(code.code_hash.clone(), code);
        Ok(())
    }

    async fn consume_code(
        &self,
        code_hash: &str,
        now: i64,
    ) -> StoreResult<ConsumeOutcome<CodeRecord>> {
        let mut st = self.lock()?;
        let Some(code) = st.codes.get_mut(code_hash) else {
            return Ok(ConsumeOutcome::NotFound);
        };
        if code.consumed_at.is_some() {
            return Ok(ConsumeOutcome::AlreadyConsumed(code.clone()));
        }
        if now >= code.expires_at {
            return Ok(ConsumeOutcome::Expired);
        }
        code.consumed_at = Some(now);
        Ok(ConsumeOutcome::Consumed(code.clone()))
    }
}

#[async_trait]
impl GrantStore for MemoryStore {
    async fn insert_grant(&self, mut grant: GrantRecord) -> StoreResult<()> {
        let mut st = self.lock()?;
        if st.grants.contains_key(&grant.id) {
            return Err(StoreError::Conflict("grant id".into()));
        }
        grant.revoked_at = None;
        st.grants.insert(grant.id.clone(), grant);
        Ok(())
    }

    async fn get_grant(&self, grant_id: &str) -> StoreResult<Option<GrantRecord>> {
        Ok(self.lock()?.grants.get(grant_id).cloned())
    }

    async fn list_grants(&self, user_id: &str) -> StoreResult<Vec<GrantRecord>> {
        let mut grants: Vec<GrantRecord> = self
            .lock()?
            .grants
            .values()
            .filter(|g| g.user_id == user_id)
            .cloned()
            .collect();
        grants.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(grants)
    }

    async fn revoke_grant(&self, grant_id: &str, now: i64) -> StoreResult<bool> {
        Ok(self.lock()?.revoke_grant(grant_id, now))
    }

    async fn record_access_token(&self, jti: &str, grant_id: &str, exp: i64) -> StoreResult<()> {
        let mut st = self.lock()?;
        match st.check_grant_live(grant_id) {
            Ok(()) => {
                st.access_tokens
                    .insert(jti.to_owned(), (grant_id.to_owned(), exp));
                Ok(())
            }
            Err(StoreError::GrantRevoked) => {
                let entry = st.denylist.entry(jti.to_owned()).or_insert(exp);
                *entry = (*entry).max(exp);
                Err(StoreError::GrantRevoked)
            }
            Err(e) => Err(e),
        }
    }

    async fn access_token_grant(&self, jti: &str) -> StoreResult<Option<String>> {
        Ok(self.lock()?.access_tokens.get(jti).map(|(g, _)| g.clone()))
    }

    async fn list_grant_access_tokens(&self, grant_id: &str) -> StoreResult<Vec<(String, i64)>> {
        let st = self.lock()?;
        let mut tokens: Vec<(String, i64)> = st
            .access_tokens
            .iter()
            .filter(|(_, (g, _))| g == grant_id)
            .map(|(jti, (_, exp))| (jti.clone(), *exp))
            .collect();
        tokens.sort();
        Ok(tokens)
    }
}

#[async_trait]
impl RefreshStore for MemoryStore {
    async fn insert_refresh(&self, mut token: RefreshRecord) -> StoreResult<()> {
        let mut st = self.lock()?;
        st.check_grant_live(&token.grant_id)?;
        if st.refresh.contains_key(&token.token_hash) {
            return Err(StoreError::Conflict("refresh token".into()));
        }
        token.status = RefreshStatus::Active;
        st.refresh.insert(token.token_hash.clone(), token);
        Ok(())
    }

    async fn rotate_refresh(
        &self,
        old_hash: &str,
        mut new: RefreshRecord,
        now: i64,
    ) -> StoreResult<RotateOutcome> {
        let mut st = self.lock()?;
        let Some(old) = st.refresh.get(old_hash).cloned() else {
            return Ok(RotateOutcome::NotFound);
        };
        if old.status != RefreshStatus::Active {
            return Ok(RotateOutcome::Reused(old));
        }
        if now >= old.expires_at || now >= old.absolute_expires_at {
            return Ok(RotateOutcome::Expired);
        }
        match st.check_grant_live(&old.grant_id) {
            Ok(()) => {}
            Err(StoreError::GrantRevoked) => return Ok(RotateOutcome::Reused(old)),
            Err(e) => return Err(e),
        }
        if new.grant_id != old.grant_id {
            return Err(StoreError::Conflict(
                "successor refresh token must belong to the same grant".into(),
            ));
        }
        if st.refresh.contains_key(&new.token_hash) {
            return Err(StoreError::Conflict("refresh token".into()));
        }
        new.status = RefreshStatus::Active;
        if let Some(o) = st.refresh.get_mut(old_hash) {
            o.status = RefreshStatus::Rotated;
        }
        st.refresh_rotations
            .insert(old_hash.to_owned(), (now, false));
        st.refresh.insert(new.token_hash.clone(), new);
        Ok(RotateOutcome::Rotated(old))
    }

    async fn retry_rotated_refresh(
        &self,
        old_hash: &str,
        mut new: RefreshRecord,
        rotated_after: i64,
    ) -> StoreResult<RotateOutcome> {
        let mut st = self.lock()?;
        let Some(old) = st.refresh.get(old_hash).cloned() else {
            return Ok(RotateOutcome::NotFound);
        };
        match st.check_grant_live(&old.grant_id) {
            Ok(()) => {}
            Err(StoreError::GrantRevoked) => return Ok(RotateOutcome::Reused(old)),
            Err(e) => return Err(e),
        }
        if new.grant_id != old.grant_id {
            return Err(StoreError::Conflict(
                "successor refresh token must belong to the same grant".into(),
            ));
        }
        let eligible = old.status == RefreshStatus::Rotated
            && st
                .refresh_rotations
                .get(old_hash)
                .is_some_and(|(at, used)| *at > rotated_after && !used);
        if !eligible {
            return Ok(RotateOutcome::Reused(old));
        }
        if st.refresh.contains_key(&new.token_hash) {
            return Err(StoreError::Conflict("refresh token".into()));
        }
        if let Some(entry) = st.refresh_rotations.get_mut(old_hash) {
            entry.1 = true;
        }
        new.status = RefreshStatus::Active;
        st.refresh.insert(new.token_hash.clone(), new);
        Ok(RotateOutcome::Rotated(old))
    }

    async fn revoke_refresh(&self, token_hash: &str) -> StoreResult<bool> {
        let mut st = self.lock()?;
        match st.refresh.get_mut(token_hash) {
            Some(rt) if rt.status == RefreshStatus::Active => {
                rt.status = RefreshStatus::Revoked;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn find_refresh(&self, token_hash: &str) -> StoreResult<Option<RefreshRecord>> {
        Ok(self.lock()?.refresh.get(token_hash).cloned())
    }
}

#[async_trait]
impl ReplayStore for MemoryStore {
    async fn revoke_jti(&self, jti: &str, exp: i64) -> StoreResult<()> {
        let mut st = self.lock()?;
        let entry = st.denylist.entry(jti.to_owned()).or_insert(exp);
        *entry = (*entry).max(exp);
        Ok(())
    }

    async fn is_jti_revoked(&self, jti: &str, now: i64) -> StoreResult<bool> {
        Ok(self.lock()?.denylist.get(jti).is_some_and(|exp| now < *exp))
    }

    async fn insert_jti_if_absent(
        &self,
        namespace: &str,
        key: &str,
        exp: i64,
    ) -> StoreResult<bool> {
        let mut st = self.lock()?;
        let k = (namespace.to_owned(), key.to_owned());
        if st.replay.contains_key(&k) {
            return Ok(false);
        }
        st.replay.insert(k, exp);
        Ok(true)
    }
}

#[async_trait]
impl ArtifactStore for MemoryStore {
    async fn put_artifact(
        &self,
        namespace: &str,
        key_hash: &str,
        payload: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<()> {
        let mut st = self.lock()?;
        let k = (namespace.to_owned(), key_hash.to_owned());
        if st.artifacts.get(&k).is_some_and(|a| now < a.expires_at) {
            return Err(StoreError::Conflict(format!("{namespace} artifact")));
        }
        st.artifacts.insert(
            k,
            Artifact {
                payload: payload.to_owned(),
                expires_at,
            },
        );
        Ok(())
    }

    async fn get_artifact(
        &self,
        namespace: &str,
        key_hash: &str,
        now: i64,
    ) -> StoreResult<Option<String>> {
        let st = self.lock()?;
        Ok(st
            .artifacts
            .get(&(namespace.to_owned(), key_hash.to_owned()))
            .filter(|a| now < a.expires_at)
            .map(|a| a.payload.clone()))
    }

    async fn take_artifact(
        &self,
        namespace: &str,
        key_hash: &str,
        now: i64,
    ) -> StoreResult<Option<String>> {
        let mut st = self.lock()?;
        let k = (namespace.to_owned(), key_hash.to_owned());
        if st.artifacts.get(&k).is_none_or(|a| now >= a.expires_at) {
            return Ok(None);
        }
        Ok(st.artifacts.remove(&k).map(|a| a.payload))
    }

    async fn swap_artifact(
        &self,
        namespace: &str,
        key_hash: &str,
        expected: &str,
        new_payload: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let mut st = self.lock()?;
        match st
            .artifacts
            .get_mut(&(namespace.to_owned(), key_hash.to_owned()))
        {
            Some(a) if now < a.expires_at && a.payload == expected => {
                new_payload.clone_into(&mut a.payload);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

#[async_trait]
impl ConsentStore for MemoryStore {
    async fn put_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> StoreResult<ConsentRecord> {
        let mut st = self.lock()?;
        let rec = st
            .consents
            .entry((user_id.to_owned(), client_id.to_owned()))
            .and_modify(|c| {
                c.scope = union_scope(&c.scope, scope);
                c.updated_at = now;
            })
            .or_insert_with(|| ConsentRecord {
                user_id: user_id.into(),
                client_id: client_id.into(),
                scope: union_scope("", scope),
                created_at: now,
                updated_at: now,
            });
        Ok(rec.clone())
    }

    async fn get_consent(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<ConsentRecord>> {
        Ok(self
            .lock()?
            .consents
            .get(&(user_id.to_owned(), client_id.to_owned()))
            .cloned())
    }

    async fn list_consents(&self, user_id: &str) -> StoreResult<Vec<ConsentRecord>> {
        Ok(self
            .lock()?
            .consents
            .values()
            .filter(|c| c.user_id == user_id)
            .cloned()
            .collect())
    }

    async fn withdraw_consent(
        &self,
        user_id: &str,
        client_id: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let mut st = self.lock()?;
        let existed = st
            .consents
            .remove(&(user_id.to_owned(), client_id.to_owned()))
            .is_some();
        let ids: Vec<String> = st
            .grants
            .values()
            .filter(|g| g.user_id == user_id && g.client_id == client_id)
            .map(|g| g.id.clone())
            .collect();
        for id in ids {
            st.revoke_grant(&id, now);
        }
        Ok(existed)
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn insert_session(&self, session: SessionRecord) -> StoreResult<()> {
        let mut st = self.lock()?;
        if st.sessions.contains_key(&session.id_hash) {
            return Err(StoreError::Conflict("session".into()));
        }
        st.sessions.insert(session.id_hash.clone(), session);
        Ok(())
    }

    async fn get_session(&self, id_hash: &str, now: i64) -> StoreResult<Option<SessionRecord>> {
        Ok(self
            .lock()?
            .sessions
            .get(id_hash)
            .filter(|s| now < s.expires_at)
            .cloned())
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<bool> {
        Ok(self.lock()?.sessions.remove(id_hash).is_some())
    }

    async fn delete_user_sessions(&self, user_id: &str) -> StoreResult<u64> {
        let mut st = self.lock()?;
        let before = st.sessions.len();
        st.sessions.retain(|_, s| s.user_id != user_id);
        Ok(u64::try_from(before - st.sessions.len()).unwrap_or(u64::MAX))
    }

    async fn list_user_sessions(
        &self,
        user_id: &str,
        now: i64,
        limit: u32,
    ) -> StoreResult<Vec<SessionRecord>> {
        let mut live: Vec<SessionRecord> = self
            .lock()?
            .sessions
            .values()
            .filter(|s| s.user_id == user_id && now < s.expires_at)
            .cloned()
            .collect();
        live.sort_by(|a, b| {
            b.expires_at
                .cmp(&a.expires_at)
                .then_with(|| a.id_hash.cmp(&b.id_hash))
        });
        live.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(live)
    }

    async fn delete_user_session(
        &self,
        user_id: &str,
        id_hash: &str,
    ) -> StoreResult<Option<SessionRecord>> {
        let mut st = self.lock()?;
        if st
            .sessions
            .get(id_hash)
            .is_none_or(|s| s.user_id != user_id)
        {
            return Ok(None);
        }
        Ok(st.sessions.remove(id_hash))
    }
}

#[async_trait]
impl ThrottleStore for MemoryStore {
    async fn record_login_failure(
        &self,
        key: &str,
        now: i64,
        window_secs: i64,
    ) -> StoreResult<u32> {
        let mut st = self.lock()?;
        let list = st.failures.entry(key.to_owned()).or_default();
        list.retain(|t| *t > now - window_secs);
        list.push(now);
        Ok(u32::try_from(list.len()).unwrap_or(u32::MAX))
    }

    async fn register_attempt(&self, key: &str, now: i64, window_secs: i64) -> StoreResult<u32> {
        // The same step as a failure: one lock covers the count and the decision.
        self.record_login_failure(key, now, window_secs).await
    }

    async fn release_attempt(&self, key: &str, at: i64) -> StoreResult<()> {
        let mut st = self.lock()?;
        if let Some(list) = st.failures.get_mut(key)
            && let Some(i) = list.iter().position(|t| *t == at)
        {
            list.remove(i);
        }
        Ok(())
    }

    async fn login_failures(&self, key: &str, now: i64, window_secs: i64) -> StoreResult<u32> {
        let st = self.lock()?;
        let n = st.failures.get(key).map_or(0, |list| {
            list.iter()
                .filter(|t| **t > now - window_secs && **t <= now)
                .count()
        });
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn clear_login_failures(&self, key: &str) -> StoreResult<()> {
        self.lock()?.failures.remove(key);
        Ok(())
    }
}

#[async_trait]
impl KeyStore for MemoryStore {
    async fn insert_signing_key(&self, key: SigningKeyRecord) -> StoreResult<()> {
        let mut st = self.lock()?;
        if st.keys.contains_key(&key.kid) {
            return Err(StoreError::Conflict(format!("kid `{}`", key.kid)));
        }
        st.keys.insert(key.kid.clone(), key);
        Ok(())
    }

    async fn insert_signing_key_unless_active(
        &self,
        key: SigningKeyRecord,
        now: i64,
    ) -> StoreResult<bool> {
        let alg = key.alg.clone();
        self.insert_signing_key_unless(key, |k| k.alg == alg && k.signs_at(now))
    }

    async fn insert_signing_key_unless_newer(
        &self,
        key: SigningKeyRecord,
        created_after: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let alg = key.alg.clone();
        self.insert_signing_key_unless(key, |k| {
            k.alg == alg && k.created_at > created_after && k.is_published(now)
        })
    }

    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        let mut keys: Vec<SigningKeyRecord> = self.lock()?.keys.values().cloned().collect();
        keys.sort_by(|a, b| (a.activate_at, &a.kid).cmp(&(b.activate_at, &b.kid)));
        Ok(keys)
    }

    async fn update_signing_key(&self, key: SigningKeyRecord) -> StoreResult<()> {
        let mut st = self.lock()?;
        match st.keys.get_mut(&key.kid) {
            Some(slot) => {
                *slot = key;
                Ok(())
            }
            None => Err(StoreError::NotFound),
        }
    }

    async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool> {
        Ok(self.lock()?.keys.remove(kid).is_some())
    }

    async fn get_server_secret(&self, name: &str) -> StoreResult<Option<String>> {
        Ok(self.lock()?.server_secrets.get(name).cloned())
    }

    async fn insert_server_secret(&self, name: &str, value: &str) -> StoreResult<bool> {
        let mut st = self.lock()?;
        if st.server_secrets.contains_key(name) {
            return Ok(false);
        }
        st.server_secrets.insert(name.to_owned(), value.to_owned());
        Ok(true)
    }

    async fn update_server_secret(&self, name: &str, value: &str) -> StoreResult<()> {
        match self.lock()?.server_secrets.get_mut(name) {
            Some(slot) => {
                value.clone_into(slot);
                Ok(())
            }
            None => Err(StoreError::NotFound),
        }
    }
}

#[async_trait]
impl AuditStore for MemoryStore {
    async fn append_audit(&self, events: &[AuditRecord]) -> StoreResult<()> {
        let mut st = self.lock()?;
        for record in events {
            st.next_audit_id += 1;
            let id = st.next_audit_id;
            st.audit.insert(
                id,
                StoredAuditRecord {
                    id,
                    record: record.clone(),
                },
            );
        }
        Ok(())
    }

    async fn audit_events(&self, filter: &AuditFilter) -> StoreResult<Vec<StoredAuditRecord>> {
        let st = self.lock()?;
        Ok(st
            .audit
            .values()
            .rev()
            .filter(|e| filter.matches(e))
            .take(usize::try_from(filter.page_size()).unwrap_or(usize::MAX))
            .cloned()
            .collect())
    }

    async fn delete_audit_before(&self, cutoff: i64) -> StoreResult<u64> {
        let mut st = self.lock()?;
        let before = st.audit.len();
        st.audit.retain(|_, e| e.record.at >= cutoff);
        Ok(u64::try_from(before - st.audit.len()).unwrap_or(u64::MAX))
    }
}

#[async_trait]
impl Maintenance for MemoryStore {
    async fn gc(&self, now: i64) -> StoreResult<GcReport> {
        let mut st = self.lock()?;
        let mut deleted = 0usize;
        let mut count = |before: usize, after: usize| deleted += before - after;

        let b = st.codes.len();
        st.codes
            .retain(|_, c| now < c.expires_at.saturating_add(CODE_RETENTION_SECS));
        count(b, st.codes.len());

        let b = st.refresh.len();
        st.refresh.retain(|_, r| now < r.absolute_expires_at);
        let State {
            refresh,
            refresh_rotations,
            ..
        } = &mut *st;
        refresh_rotations.retain(|hash, _| refresh.contains_key(hash));
        count(b, st.refresh.len());

        let b = st.access_tokens.len();
        st.access_tokens.retain(|_, (_, exp)| now < *exp);
        count(b, st.access_tokens.len());

        let State {
            grants,
            refresh,
            access_tokens,
            ..
        } = &mut *st;
        let b = grants.len();
        grants.retain(|id, g| {
            now < g.created_at.saturating_add(GRANT_RETENTION_SECS)
                || refresh.values().any(|r| &r.grant_id == id)
                || access_tokens.values().any(|(gid, _)| gid == id)
        });
        count(b, grants.len());

        let b = st.denylist.len();
        st.denylist.retain(|_, exp| now < *exp);
        count(b, st.denylist.len());

        let b = st.replay.len();
        st.replay.retain(|_, exp| now < *exp);
        count(b, st.replay.len());

        let b = st.subject_markers.len();
        st.subject_markers
            .retain(|_, (_, keep_until)| now < *keep_until);
        count(b, st.subject_markers.len());

        let b = st.mirror_queue.len();
        st.mirror_queue.retain(|_, e| now < e.keep_until());
        count(b, st.mirror_queue.len());

        let b = st.artifacts.len();
        st.artifacts.retain(|_, a| now < a.expires_at);
        count(b, st.artifacts.len());

        let b = st.sessions.len();
        st.sessions.retain(|_, s| now < s.expires_at);
        count(b, st.sessions.len());

        let cutoff = now - LOGIN_FAILURE_RETENTION_SECS;
        for list in st.failures.values_mut() {
            let b = list.len();
            list.retain(|t| *t > cutoff);
            count(b, list.len());
        }
        st.failures.retain(|_, list| !list.is_empty());

        Ok(GcReport {
            deleted: u64::try_from(deleted).unwrap_or(u64::MAX),
        })
    }

    async fn health(&self) -> StoreResult<()> {
        self.lock().map(|_| ())
    }
}
