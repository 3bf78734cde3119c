//! The SQL implementation of [`UpstreamStore`](crate::store::UpstreamStore), expanded per
//! backend like [`impl_sql_store!`](super::impl_sql_store). Links go with their upstream or
//! user through the schema's `ON DELETE CASCADE`.

/// Expands to `impl UpstreamStore for $store` over the `upstreams` and `upstream_links` tables.
macro_rules! impl_sql_upstreams {
    ($store:ty) => {
        #[async_trait]
        impl UpstreamStore for $store {
            async fn put_upstream(&self, upstream: UpstreamRecord) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO upstreams (id, doc) VALUES ($1, $2) \
                     ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                )
                .bind(upstream.id.as_str())
                .bind(to_doc(&upstream)?)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn get_upstream(&self, id: &str) -> StoreResult<Option<UpstreamRecord>> {
                let row: Option<(String,)> =
                    sqlx::query_as("SELECT doc FROM upstreams WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                row.map(|(d,)| from_doc(&d)).transpose()
            }

            async fn list_upstreams(&self) -> StoreResult<Vec<UpstreamRecord>> {
                let rows: Vec<(String,)> = sqlx::query_as("SELECT doc FROM upstreams ORDER BY id")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(|(d,)| from_doc(d)).collect()
            }

            async fn delete_upstream(&self, id: &str) -> StoreResult<bool> {
                let r = sqlx::query("DELETE FROM upstreams WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() > 0)
            }

            async fn insert_upstream_link(&self, link: UpstreamLinkRecord) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO upstream_links (upstream_id, subject, user_id, created_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(link.upstream_id.as_str())
                .bind(&link.subject)
                .bind(link.user_id.as_str())
                .bind(link.created_at)
                .execute(&self.pool)
                .await
                .map_err(|e| {
                    insert_err(
                        e,
                        &format!(
                            "upstream account `{}` of `{}`",
                            link.subject, link.upstream_id
                        ),
                    )
                })?;
                Ok(())
            }

            async fn get_upstream_link(
                &self,
                upstream_id: &str,
                subject: &str,
            ) -> StoreResult<Option<UpstreamLinkRecord>> {
                let row: Option<(String, String, String, i64)> = sqlx::query_as(
                    "SELECT upstream_id, subject, user_id, created_at FROM upstream_links \
                     WHERE upstream_id = $1 AND subject = $2",
                )
                .bind(upstream_id)
                .bind(subject)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                row.map($crate::store::sql::upstreams::link_from_row)
                    .transpose()
            }

            async fn list_upstream_links(
                &self,
                user_id: &str,
            ) -> StoreResult<Vec<UpstreamLinkRecord>> {
                let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
                    "SELECT upstream_id, subject, user_id, created_at FROM upstream_links \
                     WHERE user_id = $1 ORDER BY upstream_id, subject",
                )
                .bind(user_id)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.into_iter()
                    .map($crate::store::sql::upstreams::link_from_row)
                    .collect()
            }

            async fn delete_upstream_link(
                &self,
                upstream_id: &str,
                user_id: &str,
            ) -> StoreResult<bool> {
                let r = sqlx::query(
                    "DELETE FROM upstream_links WHERE upstream_id = $1 AND user_id = $2",
                )
                .bind(upstream_id)
                .bind(user_id)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(r.rows_affected() > 0)
            }
        }
    };
}

pub(crate) use impl_sql_upstreams;

use crate::store::{StoreError, UpstreamId, UpstreamLinkRecord};

/// A link from its row `(upstream_id, subject, user_id, created_at)`.
pub(crate) fn link_from_row(
    (upstream_id, subject, user_id, created_at): (String, String, String, i64),
) -> Result<UpstreamLinkRecord, StoreError> {
    Ok(UpstreamLinkRecord {
        upstream_id: UpstreamId::parse(upstream_id)
            .map_err(|e| StoreError::Corrupt(format!("upstream link: {e}")))?,
        subject,
        user_id: user_id.into(),
        created_at,
    })
}
