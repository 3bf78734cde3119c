//! `portcullis users grants|revoke-grant|sessions|end-session`: the access a user gave clients
//! and the user's browser sessions, listed and ended one at a time, against the database or
//! (with `--server`) the admin API, printing the same text and JSON either way.

use crate::db::format_time;
use crate::users::{AccountArgs, ShowArgs, with_targets};
use anyhow::{anyhow, bail};
use clap::Args;
use portcullis_jose::time::SystemClock;
use portcullis_server::admin;
use portcullis_server::admin::SessionInfo;
use portcullis_server::admin_api::{Deleted, GrantView};
use reqwest::Method;

/// Arguments of `users revoke-grant`.
#[derive(Debug, Args)]
pub struct RevokeGrantArgs {
    #[command(flatten)]
    pub account: AccountArgs,
    /// The client whose access ends.
    #[arg(long)]
    pub client_id: String,
}

/// Arguments of `users end-session`.
#[derive(Debug, Args)]
pub struct EndSessionArgs {
    #[command(flatten)]
    pub account: AccountArgs,
    /// The session, by the id `users sessions` shows.
    #[arg(long)]
    pub session: String,
}

/// `users grants`: the clients the user has given access to.
pub async fn grants(args: ShowArgs) -> anyhow::Result<()> {
    let grants: Vec<GrantView> = if let Some(remote) = args.target.remote().await? {
        remote.get(&["users", &args.username, "grants"]).await?
    } else {
        let (store, _) = args.target.store.open().await?;
        admin::list_grants(store.as_ref(), &args.username)
            .await
            .map_err(|e| anyhow!("{e}"))?
            .iter()
            .map(GrantView::from)
            .collect()
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&grants)?);
        return Ok(());
    }
    if grants.is_empty() {
        println!("user {} has given no client access", args.username);
        return Ok(());
    }
    println!("{:<28} {:<24} SCOPE", "CLIENT", "GRANTED");
    for g in &grants {
        println!(
            "{:<28} {:<24} {}",
            g.client_id,
            format_time(g.granted_at),
            g.scope
        );
    }
    Ok(())
}

/// Ends one thing of the account's user: `DELETE path` on the admin API, or `end` on the
/// database; `missing` is the error when there was no such thing.
async fn end_one(
    account: &AccountArgs,
    path: &[&str],
    end: impl AsyncFnOnce(admin::AccountTargets<'_>) -> Result<bool, admin::AdminError>,
    missing: String,
) -> anyhow::Result<()> {
    if let Some(remote) = account.target.remote().await? {
        let _deleted: Deleted = remote.call(Method::DELETE, path, None::<&()>).await?;
    } else if !with_targets(account, end).await? {
        bail!(missing);
    }
    Ok(())
}

/// `users revoke-grant`: withdraws the access the user gave a client.
pub async fn revoke_grant(args: RevokeGrantArgs) -> anyhow::Result<()> {
    let (username, client_id) = (&args.account.username, &args.client_id);
    end_one(
        &args.account,
        &["users", username, "grants", client_id],
        async |t| admin::revoke_grant(t, username, client_id).await,
        format!("user {username} has given {client_id} no access"),
    )
    .await?;
    println!(
        "user {username}: access of {client_id} withdrawn (its grants, refresh and access tokens \
         revoked)"
    );
    Ok(())
}

/// `users sessions`: the user's live browser sessions.
pub async fn sessions(args: ShowArgs) -> anyhow::Result<()> {
    let sessions: Vec<SessionInfo> = if let Some(remote) = args.target.remote().await? {
        remote.get(&["users", &args.username, "sessions"]).await?
    } else {
        let (store, _) = args.target.store.open().await?;
        admin::list_sessions(store.as_ref(), &SystemClock, &args.username)
            .await
            .map_err(|e| anyhow!("{e}"))?
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&sessions)?);
        return Ok(());
    }
    if sessions.is_empty() {
        println!("user {} has no browser sessions", args.username);
        return Ok(());
    }
    println!(
        "{:<44} {:<24} {:<24} VIA",
        "SESSION", "SIGNED IN", "EXPIRES"
    );
    for s in &sessions {
        println!(
            "{:<44} {:<24} {:<24} {}",
            s.id,
            format_time(s.auth_time),
            format_time(s.expires_at),
            s.upstream.as_deref().unwrap_or("password")
        );
    }
    Ok(())
}

/// `users end-session`: ends one browser session and the grants issued under it.
pub async fn end_session(args: EndSessionArgs) -> anyhow::Result<()> {
    let (username, session) = (&args.account.username, &args.session);
    end_one(
        &args.account,
        &["users", username, "sessions", session],
        async |t| admin::end_session(t, username, session).await,
        format!("user {username} has no session {session}"),
    )
    .await?;
    println!(
        "user {username}: session {session} ended (grants issued in it without offline_access \
         revoked)"
    );
    Ok(())
}
