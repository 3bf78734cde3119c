//! The SQL implementation of [`AuditStore`](crate::store::AuditStore), expanded per backend like
//! [`impl_sql_store!`](super::impl_sql_store): one `audit_events` table whose filtered columns
//! (event, user, client) are indexed together with the id, so every page is an index range.

/// The query of a page of audit events: the conditions of the filters given, numbered from `$1`
/// in the order [`impl_sql_audit!`] binds them (event, user, client, before), then the limit.
pub(crate) fn audit_page_sql(filter: &crate::store::AuditFilter) -> String {
    let mut conditions = Vec::new();
    let mut next = 0;
    let mut condition = |column: &str, op: &str| {
        next += 1;
        conditions.push(format!("{column} {op} ${next}"));
    };
    if filter.event.is_some() {
        condition("event", "=");
    }
    if filter.user.is_some() {
        condition("user_id", "=");
    }
    if filter.client_id.is_some() {
        condition("client_id", "=");
    }
    if filter.before.is_some() {
        condition("id", "<");
    }
    let filters = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    format!(
        "SELECT id, at, event, user_id, client_id, fields FROM audit_events{filters} \
         ORDER BY id DESC LIMIT ${}",
        next + 1
    )
}

/// Expands to `impl AuditStore for $store` over the `audit_events` table.
macro_rules! impl_sql_audit {
    ($store:ty) => {
        #[async_trait]
        impl AuditStore for $store {
            async fn append_audit(&self, events: &[AuditRecord]) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                for record in events {
                    sqlx::query(
                        "INSERT INTO audit_events (at, event, user_id, client_id, fields) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(record.at)
                    .bind(&record.event)
                    .bind(record.user.as_deref())
                    .bind(record.client_id.as_deref())
                    .bind(to_doc(&record.fields)?)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)?;
                Ok(())
            }

            async fn audit_events(
                &self,
                filter: &AuditFilter,
            ) -> StoreResult<Vec<StoredAuditRecord>> {
                let sql = super::sql::audit::audit_page_sql(filter);
                let mut query = sqlx::query_as::<
                    _,
                    (i64, i64, String, Option<String>, Option<String>, String),
                >(&sql);
                for value in [&filter.event, &filter.user, &filter.client_id]
                    .into_iter()
                    .flatten()
                {
                    query = query.bind(value.as_str());
                }
                if let Some(before) = filter.before {
                    query = query.bind(before);
                }
                let rows = query
                    .bind(i64::from(filter.page_size()))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.into_iter()
                    .map(|(id, at, event, user, client_id, fields)| {
                        Ok(StoredAuditRecord {
                            id,
                            record: AuditRecord {
                                at,
                                event,
                                user,
                                client_id,
                                fields: from_doc(&fields)?,
                            },
                        })
                    })
                    .collect()
            }

            async fn delete_audit_before(&self, cutoff: i64) -> StoreResult<u64> {
                let r = sqlx::query("DELETE FROM audit_events WHERE at < $1")
                    .bind(cutoff)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected())
            }
        }
    };
}

pub(crate) use impl_sql_audit;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AuditFilter;

    #[test]
    fn the_page_query_numbers_only_the_filters_given() {
        let all = AuditFilter {
            event: Some("e".into()),
            user: Some("u".into()),
            client_id: Some("c".into()),
            before: Some(9),
            limit: 5,
        };
        assert_eq!(
            audit_page_sql(&all),
            "SELECT id, at, event, user_id, client_id, fields FROM audit_events WHERE \
             event = $1 AND user_id = $2 AND client_id = $3 AND id < $4 ORDER BY id DESC LIMIT $5"
        );
        let some = AuditFilter {
            client_id: Some("c".into()),
            ..AuditFilter::default()
        };
        assert_eq!(
            audit_page_sql(&some),
            "SELECT id, at, event, user_id, client_id, fields FROM audit_events WHERE \
             client_id = $1 ORDER BY id DESC LIMIT $2"
        );
        assert!(
            audit_page_sql(&AuditFilter::default())
                .ends_with("audit_events ORDER BY id DESC LIMIT $1")
        );
    }
}
