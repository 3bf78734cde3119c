//! `portcullis audit list`: the stored audit trail, newest first, a page at a time, from the
//! database or, with `--server`, from a running server's admin API (the same page either way).

use anyhow::anyhow;
use clap::{Args, Subcommand};
use portcullis_server::admin::{self, AuditEntry, AuditPage, AuditQuery, DEFAULT_AUDIT_PAGE};

use crate::db::format_time;
use crate::remote::{Target, encode};

/// `portcullis audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List stored audit events, newest first, e.g. `audit list --event login_failure`.
    List(ListArgs),
}

/// Arguments of `audit list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this event (`login_success`, `token_issued`, `admin_change`, ...).
    #[arg(long)]
    pub event: Option<String>,
    /// Only events about this user: their `user_id`, `sub` or `actor`.
    #[arg(long)]
    pub user: Option<String>,
    /// Only events naming this client.
    #[arg(long = "client", value_name = "CLIENT_ID")]
    pub client_id: Option<String>,
    /// Only events older than this id (the `next` a previous page printed).
    #[arg(long, value_name = "ID")]
    pub before: Option<i64>,
    /// Events to show, 1 to 200.
    #[arg(long, default_value_t = DEFAULT_AUDIT_PAGE)]
    pub limit: usize,
    /// Print the page as JSON (`{"events": [...], "next": ...}`) instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub target: Target,
}

impl ListArgs {
    fn query(&self) -> AuditQuery {
        AuditQuery {
            event: self.event.clone(),
            user: self.user.clone(),
            client_id: self.client_id.clone(),
            before: self.before,
            limit: self.limit,
        }
    }
}

/// Runs an `audit` subcommand.
pub async fn run(cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::List(args) => list(args).await,
    }
}

async fn list(args: ListArgs) -> anyhow::Result<()> {
    let query = args.query();
    let page: AuditPage = if let Some(remote) = args.target.remote().await? {
        remote.get_query(&["audit"], &query_string(&query)).await?
    } else {
        let (store, _) = args.target.store.open().await?;
        admin::audit_events(store.as_ref(), &query)
            .await
            .map_err(|e| anyhow!("{e}"))?
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&page)?);
        return Ok(());
    }
    if page.events.is_empty() {
        println!("no audit events");
        return Ok(());
    }
    println!("{:>8} {:<23} {:<24} FIELDS", "ID", "TIME", "EVENT");
    for entry in &page.events {
        println!(
            "{:>8} {:<23} {:<24} {}",
            entry.id,
            format_time(entry.at),
            entry.event,
            fields(entry)
        );
    }
    if let Some(next) = page.next {
        println!("more: --before {next}");
    }
    Ok(())
}

/// The fields as `name=value`, strings unquoted.
fn fields(entry: &AuditEntry) -> String {
    entry
        .fields
        .iter()
        .map(|(name, value)| match value {
            serde_json::Value::String(s) => format!("{name}={s}"),
            other => format!("{name}={other}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The query as the admin API reads it.
fn query_string(query: &AuditQuery) -> String {
    let mut parts = vec![format!("limit={}", query.limit)];
    for (name, value) in [
        ("event", &query.event),
        ("user", &query.user),
        ("client_id", &query.client_id),
    ] {
        if let Some(value) = value {
            parts.push(format!("{name}={}", encode(value)));
        }
    }
    if let Some(before) = query.before {
        parts.push(format!("before={before}"));
    }
    parts.join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_string_carries_every_filter_encoded() {
        let query = AuditQuery {
            event: Some("admin_change".into()),
            user: Some("a b&c".into()),
            client_id: None,
            before: Some(42),
            limit: 10,
        };
        assert_eq!(
            query_string(&query),
            "limit=10&event=admin_change&user=a+b%26c&before=42"
        );
    }
}
