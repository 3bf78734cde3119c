//! The atomic primitives of the SQL backends (consume, rotate, revoke, consent, throttle, GC):
//! expanded per backend as inherent `*_impl` methods that the `Store` impl delegates to.
//!
//! Each is one conditional statement or one write transaction from the backend's `begin_write`
//! (SQLite: `BEGIN IMMEDIATE`, taking the write lock first; PostgreSQL: `BEGIN` plus `FOR UPDATE`
//! / `FOR SHARE` row locks, always the grant row before token rows, so transactions cannot
//! deadlock). The backend type must have a `pool` field and an
//! `async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, $db>>`; `$for_update` /
//! `$for_share` are the row-lock suffixes (empty for SQLite, whose write transaction already
//! excludes every other writer) and `$row_id` the name of the physical row id (`rowid` /
//! `ctid`). The login throttle also needs
//! `async fn lock_throttle_key(tx: &mut sqlx::Transaction<'static, $db>, key: &str)`, which makes
//! concurrent transactions on one throttle key run one after the other, and the first signing
//! keys `async fn lock_signing_keys(tx: &mut sqlx::Transaction<'static, $db>)`, which does the
//! same for every transaction that creates a key.

macro_rules! impl_sql_atomic {
    ($store:ty, $db:ty, $for_update:literal, $for_share:literal, $row_id:literal) => {
        impl $store {
            /// Revokes a grant inside `tx`: grant row, refresh tokens, access-token jtis.
            async fn revoke_grant_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                grant_id: &str,
                now: i64,
            ) -> StoreResult<bool> {
                let row: Option<(Option<i64>,)> = sqlx::query_as(concat!(
                    "SELECT revoked_at FROM grants WHERE id = $1",
                    $for_update
                ))
                .bind(grant_id)
                .fetch_optional(&mut **tx)
                .await
                .map_err(db_err)?;
                let Some((revoked_at,)) = row else {
                    return Ok(false);
                };
                if revoked_at.is_none() {
                    sqlx::query("UPDATE grants SET revoked_at = $2 WHERE id = $1")
                        .bind(grant_id)
                        .bind(now)
                        .execute(&mut **tx)
                        .await
                        .map_err(db_err)?;
                }
                sqlx::query(
                    "UPDATE refresh_tokens SET status = 'revoked' \
                     WHERE grant_id = $1 AND status = 'active'",
                )
                .bind(grant_id)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
                sqlx::query(
                    "INSERT INTO revoked_jtis (jti, exp) \
                     SELECT jti, exp FROM access_tokens WHERE grant_id = $1 \
                     ON CONFLICT (jti) DO UPDATE SET exp = CASE \
                     WHEN excluded.exp > revoked_jtis.exp THEN excluded.exp \
                     ELSE revoked_jtis.exp END",
                )
                .bind(grant_id)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
                Ok(revoked_at.is_none())
            }

            /// Locks the grant row against revocation and reports whether it is live.
            async fn grant_live_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                grant_id: &str,
            ) -> StoreResult<()> {
                let row: Option<(Option<i64>,)> = sqlx::query_as(concat!(
                    "SELECT revoked_at FROM grants WHERE id = $1",
                    $for_share
                ))
                .bind(grant_id)
                .fetch_optional(&mut **tx)
                .await
                .map_err(db_err)?;
                match row {
                    None => Err(StoreError::NotFound),
                    Some((Some(_),)) => Err(StoreError::GrantRevoked),
                    Some((None,)) => Ok(()),
                }
            }

            /// Denylists a jti (the later expiry wins).
            async fn deny_jti<'e, E>(exec: E, jti: &str, exp: i64) -> StoreResult<()>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                sqlx::query(
                    "INSERT INTO revoked_jtis (jti, exp) VALUES ($1, $2) \
                     ON CONFLICT (jti) DO UPDATE SET exp = CASE \
                     WHEN excluded.exp > revoked_jtis.exp THEN excluded.exp \
                     ELSE revoked_jtis.exp END",
                )
                .bind(jti)
                .bind(exp)
                .execute(exec)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            /// Reads a refresh token with its authoritative status column.
            async fn read_refresh<'e, E>(
                exec: E,
                token_hash: &str,
            ) -> StoreResult<Option<RefreshRecord>>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                let row: Option<(String, String)> = sqlx::query_as(
                    "SELECT doc, status FROM refresh_tokens WHERE token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(exec)
                .await
                .map_err(db_err)?;
                row.map(|(doc, status)| {
                    let mut rec: RefreshRecord = from_doc(&doc)?;
                    rec.status = RefreshStatus::parse(&status).ok_or_else(|| {
                        StoreError::Backend(format!("bad refresh status `{status}`"))
                    })?;
                    Ok(rec)
                })
                .transpose()
            }

            /// Inserts a refresh token row as `active` inside `tx`.
            async fn insert_refresh_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                mut token: RefreshRecord,
            ) -> StoreResult<()> {
                token.status = RefreshStatus::Active;
                sqlx::query(
                    "INSERT INTO refresh_tokens \
                     (token_hash, grant_id, status, expires_at, absolute_expires_at, doc) \
                     VALUES ($1, $2, 'active', $3, $4, $5)",
                )
                .bind(&token.token_hash)
                .bind(&token.grant_id)
                .bind(token.expires_at)
                .bind(token.absolute_expires_at)
                .bind(to_doc(&token)?)
                .execute(&mut **tx)
                .await
                .map_err(|e| insert_err(e, "refresh token"))?;
                Ok(())
            }

            async fn consume_code_impl(
                &self,
                code_hash: &str,
                now: i64,
            ) -> StoreResult<ConsumeOutcome<CodeRecord>> {
                // The single conditional UPDATE is the whole decision (CODE-3).
                let won: Option<(String,)> = sqlx::query_as(
                    "UPDATE codes SET consumed_at = $2 \
                     WHERE code_hash = $1 AND consumed_at IS NULL AND expires_at > $2 \
                     RETURNING doc",
                )
                .bind(code_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                if let Some((doc,)) = won {
                    let mut rec: CodeRecord = from_doc(&doc)?;
                    rec.consumed_at = Some(now);
                    return Ok(ConsumeOutcome::Consumed(rec));
                }
                // Lost: classify. Consumption and expiry are monotonic, so this read is safe.
                let row: Option<(String, Option<i64>, i64)> = sqlx::query_as(
                    "SELECT doc, consumed_at, expires_at FROM codes WHERE code_hash = $1",
                )
                .bind(code_hash)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(match row {
                    Some((doc, Some(at), _)) => {
                        let mut rec: CodeRecord = from_doc(&doc)?;
                        rec.consumed_at = Some(at);
                        ConsumeOutcome::AlreadyConsumed(rec)
                    }
                    Some((_, None, exp)) if now >= exp => ConsumeOutcome::Expired,
                    _ => ConsumeOutcome::NotFound,
                })
            }

            async fn revoke_grant_impl(&self, grant_id: &str, now: i64) -> StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let newly = Self::revoke_grant_tx(&mut tx, grant_id, now).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(newly)
            }

            async fn record_access_token_impl(
                &self,
                jti: &str,
                grant_id: &str,
                exp: i64,
            ) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                match Self::grant_live_tx(&mut tx, grant_id).await {
                    Ok(()) => {
                        sqlx::query(
                            "INSERT INTO access_tokens (jti, grant_id, exp) VALUES ($1, $2, $3)",
                        )
                        .bind(jti)
                        .bind(grant_id)
                        .bind(exp)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| insert_err(e, "access token jti"))?;
                        tx.commit().await.map_err(db_err)?;
                        Ok(())
                    }
                    Err(StoreError::GrantRevoked) => {
                        Self::deny_jti(&mut *tx, jti, exp).await?;
                        tx.commit().await.map_err(db_err)?;
                        Err(StoreError::GrantRevoked)
                    }
                    Err(e) => Err(e),
                }
            }

            async fn insert_refresh_impl(&self, token: RefreshRecord) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                Self::grant_live_tx(&mut tx, &token.grant_id).await?;
                Self::insert_refresh_tx(&mut tx, token).await?;
                tx.commit().await.map_err(db_err)
            }

            async fn rotate_refresh_impl(
                &self,
                old_hash: &str,
                new: RefreshRecord,
                now: i64,
            ) -> StoreResult<RotateOutcome> {
                let mut tx = self.begin_write().await?;
                // grant_id never changes, so reading it unlocked is safe; the grant row is then
                // locked before any token row (same order as revoke_grant).
                let Some(old) = Self::read_refresh(&mut *tx, old_hash).await? else {
                    return Ok(RotateOutcome::NotFound);
                };
                match Self::grant_live_tx(&mut tx, &old.grant_id).await {
                    Ok(()) => {}
                    Err(StoreError::GrantRevoked) | Err(StoreError::NotFound) => {
                        let cur = Self::read_refresh(&mut *tx, old_hash).await?;
                        return Ok(cur.map_or(RotateOutcome::NotFound, RotateOutcome::Reused));
                    }
                    Err(e) => return Err(e),
                }
                if new.grant_id != old.grant_id {
                    return Err(StoreError::Conflict(
                        "successor refresh token must belong to the same grant".into(),
                    ));
                }
                // The conditional UPDATE decides the single winner (RT-4).
                let won: Option<(String,)> = sqlx::query_as(
                    "UPDATE refresh_tokens SET status = 'rotated', rotated_at = $2 \
                     WHERE token_hash = $1 AND status = 'active' \
                     AND expires_at > $2 AND absolute_expires_at > $2 \
                     RETURNING doc",
                )
                .bind(old_hash)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
                if let Some((doc,)) = won {
                    let mut before: RefreshRecord = from_doc(&doc)?;
                    before.status = RefreshStatus::Active;
                    Self::insert_refresh_tx(&mut tx, new).await?;
                    tx.commit().await.map_err(db_err)?;
                    return Ok(RotateOutcome::Rotated(before));
                }
                let cur = Self::read_refresh(&mut *tx, old_hash).await?;
                Ok(match cur {
                    None => RotateOutcome::NotFound,
                    Some(rec) if rec.status != RefreshStatus::Active => RotateOutcome::Reused(rec),
                    Some(_) => RotateOutcome::Expired,
                })
            }

            async fn retry_rotated_refresh_impl(
                &self,
                old_hash: &str,
                new: RefreshRecord,
                rotated_after: i64,
            ) -> StoreResult<RotateOutcome> {
                let mut tx = self.begin_write().await?;
                let Some(old) = Self::read_refresh(&mut *tx, old_hash).await? else {
                    return Ok(RotateOutcome::NotFound);
                };
                match Self::grant_live_tx(&mut tx, &old.grant_id).await {
                    Ok(()) => {}
                    Err(StoreError::GrantRevoked) | Err(StoreError::NotFound) => {
                        return Ok(RotateOutcome::Reused(old));
                    }
                    Err(e) => return Err(e),
                }
                if new.grant_id != old.grant_id {
                    return Err(StoreError::Conflict(
                        "successor refresh token must belong to the same grant".into(),
                    ));
                }
                let won = sqlx::query(
                    "UPDATE refresh_tokens SET grace_used = 1 \
                     WHERE token_hash = $1 AND status = 'rotated' AND grace_used = 0 \
                     AND rotated_at > $2",
                )
                .bind(old_hash)
                .bind(rotated_after)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                if won.rows_affected() == 1 {
                    Self::insert_refresh_tx(&mut tx, new).await?;
                    tx.commit().await.map_err(db_err)?;
                    return Ok(RotateOutcome::Rotated(old));
                }
                Ok(RotateOutcome::Reused(old))
            }

            async fn put_consent_impl(
                &self,
                user_id: &str,
                client_id: &str,
                scope: &str,
                now: i64,
            ) -> StoreResult<ConsentRecord> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO consents (user_id, client_id, scope, created_at, updated_at) \
                     VALUES ($1, $2, '', $3, $3) ON CONFLICT (user_id, client_id) DO NOTHING",
                )
                .bind(user_id)
                .bind(client_id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                let (existing, created_at): (String, i64) = sqlx::query_as(concat!(
                    "SELECT scope, created_at FROM consents WHERE user_id = $1 AND client_id = $2",
                    $for_update
                ))
                .bind(user_id)
                .bind(client_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
                let merged = union_scope(&existing, scope);
                sqlx::query(
                    "UPDATE consents SET scope = $3, updated_at = $4 \
                     WHERE user_id = $1 AND client_id = $2",
                )
                .bind(user_id)
                .bind(client_id)
                .bind(&merged)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(ConsentRecord {
                    user_id: user_id.into(),
                    client_id: client_id.into(),
                    scope: merged,
                    created_at,
                    updated_at: now,
                })
            }

            async fn withdraw_consent_impl(
                &self,
                user_id: &str,
                client_id: &str,
                now: i64,
            ) -> StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let ids: Vec<(String,)> = sqlx::query_as(concat!(
                    "SELECT id FROM grants WHERE user_id = $1 AND client_id = $2 ORDER BY id",
                    $for_update
                ))
                .bind(user_id)
                .bind(client_id)
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
                for (id,) in &ids {
                    Self::revoke_grant_tx(&mut tx, id, now).await?;
                }
                let r = sqlx::query("DELETE FROM consents WHERE user_id = $1 AND client_id = $2")
                    .bind(user_id)
                    .bind(client_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(r.rows_affected() > 0)
            }

            async fn record_login_failure_impl(
                &self,
                key: &str,
                now: i64,
                window_secs: i64,
            ) -> StoreResult<u32> {
                let since = now.saturating_sub(window_secs);
                let mut tx = self.begin_write().await?;
                // Concurrent attempts on one key queue here, so each counts the others' rows.
                Self::lock_throttle_key(&mut tx, key).await?;
                sqlx::query("DELETE FROM login_failures WHERE throttle_key = $1 AND at <= $2")
                    .bind(key)
                    .bind(since)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                sqlx::query("INSERT INTO login_failures (throttle_key, at) VALUES ($1, $2)")
                    .bind(key)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let (n,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM login_failures \
                     WHERE throttle_key = $1 AND at > $2 AND at <= $3",
                )
                .bind(key)
                .bind(since)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(count_u32(n))
            }

            async fn release_attempt_impl(&self, key: &str, at: i64) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                Self::lock_throttle_key(&mut tx, key).await?;
                sqlx::query(concat!(
                    "DELETE FROM login_failures WHERE ",
                    $row_id,
                    " = (SELECT ",
                    $row_id,
                    " FROM login_failures WHERE throttle_key = $1 AND at = $2 LIMIT 1)"
                ))
                .bind(key)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(())
            }

            async fn insert_signing_key_unless_active_impl(
                &self,
                key: SigningKeyRecord,
                now: i64,
            ) -> StoreResult<bool> {
                let alg = key.alg.clone();
                self.insert_signing_key_unless_impl(key, |existing| {
                    existing.alg == alg && existing.signs_at(now)
                })
                .await
            }

            async fn insert_signing_key_unless_newer_impl(
                &self,
                key: SigningKeyRecord,
                created_after: i64,
                now: i64,
            ) -> StoreResult<bool> {
                let alg = key.alg.clone();
                self.insert_signing_key_unless_impl(key, |existing| {
                    existing.alg == alg
                        && existing.created_at > created_after
                        && existing.is_published(now)
                })
                .await
            }

            /// Inserts `key` unless a stored key satisfies `blocks`, deciding and writing in
            /// one transaction. Nodes creating keys together (an empty database, a scheduled
            /// rotation) queue on the lock, so each sees the key of the one before.
            async fn insert_signing_key_unless_impl(
                &self,
                key: SigningKeyRecord,
                blocks: impl Fn(&SigningKeyRecord) -> bool + Send,
            ) -> StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                Self::lock_signing_keys(&mut tx).await?;
                let rows: Vec<(String,)> = sqlx::query_as("SELECT doc FROM signing_keys")
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err)?;
                for (doc,) in &rows {
                    let existing: SigningKeyRecord = from_doc(doc)?;
                    if blocks(&existing) {
                        return Ok(false);
                    }
                }
                sqlx::query("INSERT INTO signing_keys (kid, activate_at, doc) VALUES ($1, $2, $3)")
                    .bind(&key.kid)
                    .bind(key.activate_at)
                    .bind(to_doc(&key)?)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| insert_err(e, &format!("kid `{}`", key.kid)))?;
                tx.commit().await.map_err(db_err)?;
                Ok(true)
            }

            async fn gc_impl(&self, now: i64) -> StoreResult<GcReport> {
                let code_cutoff = now.saturating_sub(CODE_RETENTION_SECS);
                let grant_cutoff = now.saturating_sub(GRANT_RETENTION_SECS);
                let failure_cutoff = now.saturating_sub(LOGIN_FAILURE_RETENTION_SECS);
                // Refresh tokens go only at their family's absolute expiry (DUR-4); grants only
                // once nothing hangs off them any more.
                let steps: [(&str, i64); 11] = [
                    ("DELETE FROM codes WHERE expires_at <= $1", code_cutoff),
                    ("DELETE FROM refresh_tokens WHERE absolute_expires_at <= $1", now),
                    ("DELETE FROM access_tokens WHERE exp <= $1", now),
                    (
                        "DELETE FROM grants WHERE created_at <= $1 \
                         AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.grant_id = grants.id) \
                         AND NOT EXISTS (SELECT 1 FROM access_tokens a WHERE a.grant_id = grants.id)",
                        grant_cutoff,
                    ),
                    ("DELETE FROM revoked_jtis WHERE exp <= $1", now),
                    ("DELETE FROM subject_markers WHERE keep_until <= $1", now),
                    ("DELETE FROM denylist_queue WHERE keep_until <= $1", now),
                    ("DELETE FROM replay_cache WHERE exp <= $1", now),
                    ("DELETE FROM artifacts WHERE expires_at <= $1", now),
                    ("DELETE FROM sessions WHERE expires_at <= $1", now),
                    ("DELETE FROM login_failures WHERE at <= $1", failure_cutoff),
                ];
                let mut tx = self.begin_write().await?;
                if !Self::gc_turn(&mut tx).await? {
                    // Another node is collecting right now.
                    return Ok(GcReport::default());
                }
                let mut deleted = 0u64;
                for (sql, bound) in steps {
                    let r = sqlx::query(sql)
                        .bind(bound)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    deleted = deleted.saturating_add(r.rows_affected());
                }
                tx.commit().await.map_err(db_err)?;
                Ok(GcReport { deleted })
            }

            /// Rewrites, inside `tx`, the JSON document of every row of `table` whose document
            /// mentions `name`, with `strip` applied. The `LIKE` only narrows the rows read (its
            /// `_` wildcard may let more through); `strip` decides, and returns whether it
            /// changed the record. The rows are locked for the rewrite.
            async fn strip_name_tx<T, F>(
                tx: &mut sqlx::Transaction<'static, $db>,
                table: &'static str,
                key: &'static str,
                name: &str,
                mut strip: F,
            ) -> StoreResult<()>
            where
                T: serde::Serialize + serde::de::DeserializeOwned,
                F: FnMut(&mut T) -> bool,
            {
                let select = format!(
                    "SELECT {key}, doc FROM {table} WHERE doc LIKE $1{}",
                    $for_update
                );
                let rows: Vec<(String, String)> = sqlx::query_as(&select)
                    .bind(format!("%\"{name}\"%"))
                    .fetch_all(&mut **tx)
                    .await
                    .map_err(db_err)?;
                let update = format!("UPDATE {table} SET doc = $2 WHERE {key} = $1");
                for (id, doc) in rows {
                    let mut record: T = from_doc(&doc)?;
                    if strip(&mut record) {
                        sqlx::query(&update)
                            .bind(id)
                            .bind(to_doc(&record)?)
                            .execute(&mut **tx)
                            .await
                            .map_err(db_err)?;
                    }
                }
                Ok(())
            }

            /// Removes a role and takes it from every group, user and client, in one
            /// transaction.
            async fn delete_role_impl(&self, name: &str) -> StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let r = sqlx::query("DELETE FROM directory_roles WHERE name = $1")
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if r.rows_affected() == 0 {
                    return Ok(false);
                }
                let held = |roles: &mut Vec<portcullis_types::RoleName>| {
                    let before = roles.len();
                    roles.retain(|r| r.as_str() != name);
                    roles.len() != before
                };
                Self::strip_name_tx(&mut tx, "directory_groups", "name", name, |g: &mut GroupRecord| {
                    held(&mut g.roles)
                })
                .await?;
                Self::strip_name_tx(&mut tx, "users", "id", name, |u: &mut UserRecord| {
                    held(&mut u.roles)
                })
                .await?;
                Self::strip_name_tx(&mut tx, "clients", "client_id", name, |c: &mut ClientRecord| {
                    held(&mut c.roles)
                })
                .await?;
                tx.commit().await.map_err(db_err)?;
                Ok(true)
            }

            /// Removes a group and takes it from every user, in one transaction.
            async fn delete_group_impl(&self, name: &str) -> StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let r = sqlx::query("DELETE FROM directory_groups WHERE name = $1")
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if r.rows_affected() == 0 {
                    return Ok(false);
                }
                Self::strip_name_tx(&mut tx, "users", "id", name, |u: &mut UserRecord| {
                    let before = u.groups.len();
                    u.groups.retain(|g| g.as_str() != name);
                    u.groups.len() != before
                })
                .await?;
                tx.commit().await.map_err(db_err)?;
                Ok(true)
            }
        }
    };
}

pub(crate) use impl_sql_atomic;
