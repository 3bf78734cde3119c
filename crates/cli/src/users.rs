//! `portcullis users add|list|remove`: user accounts with argon2id password hashes. The
//! password is read from standard input so it never appears in the process list or history.

use crate::db::{StoreArgs, format_time};
use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use portcullis_jose::time::SystemClock;
use portcullis_server::admin;
use portcullis_types::secret::Password;

/// `portcullis users ...`
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user.
    Add(AddArgs),
    /// List users.
    List(ListArgs),
    /// Delete a user.
    Remove(RemoveArgs),
    /// Clear a user's failed sign-ins (and, with --address, a client address's), so the login
    /// throttle admits them again at once.
    Unlock(UnlockArgs),
}

/// Arguments of `users add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Login name.
    #[arg(long)]
    pub username: String,
    /// E-mail address.
    #[arg(long)]
    pub email: Option<String>,
    /// Display name.
    #[arg(long)]
    pub name: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long, required = true)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `users list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `users remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Login name (or user id).
    #[arg(long)]
    pub username: String,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Runs a `users` subcommand.
pub async fn run(cmd: UsersCommand) -> anyhow::Result<()> {
    match cmd {
        UsersCommand::Add(args) => add(args).await,
        UsersCommand::List(args) => list(args).await,
        UsersCommand::Remove(args) => remove(args).await,
        UsersCommand::Unlock(args) => unlock(args).await,
    }
}

async fn read_password() -> anyhow::Result<Password> {
    crate::stdin::read_secret_line("password")
        .await
        .map(Password::new)
}

async fn add(args: AddArgs) -> anyhow::Result<()> {
    let password = read_password().await?;
    let (store, _) = args.store.open().await?;
    let user = admin::add_user(
        store.as_ref(),
        &SystemClock,
        &args.username,
        args.email,
        args.name,
        password,
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    println!("user {} created (sub {})", user.username, user.id);
    Ok(())
}

async fn list(args: ListArgs) -> anyhow::Result<()> {
    let (store, _) = args.store.open().await?;
    let mut users = admin::list_users(store.as_ref())
        .await
        .map_err(|e| anyhow!("{e}"))?;
    users.sort_by(|a, b| a.username.cmp(&b.username));
    if args.json {
        let docs: Vec<_> = users
            .iter()
            .map(|u| {
                serde_json::json!({
                    "sub": u.id,
                    "username": u.username,
                    "email": u.email,
                    "email_verified": u.email_verified,
                    "name": u.name,
                    "created_at": u.created_at,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&docs)?);
        return Ok(());
    }
    if users.is_empty() {
        println!("no users");
        return Ok(());
    }
    println!("{:<24} {:<28} {:<32} CREATED", "USERNAME", "SUB", "EMAIL");
    for u in &users {
        println!(
            "{:<24} {:<28} {:<32} {}",
            u.username,
            u.id,
            u.email.as_deref().unwrap_or("-"),
            format_time(u.created_at)
        );
    }
    Ok(())
}

/// Arguments of `users unlock`.
#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// Login name.
    #[arg(long)]
    pub username: String,
    /// Also clear this client address's failed sign-ins (e.g. 127.0.0.1, or an office's
    /// address behind which several people typed wrong passwords).
    #[arg(long, value_name = "IP")]
    pub address: Option<std::net::IpAddr>,
    #[command(flatten)]
    pub store: StoreArgs,
}

async fn unlock(args: UnlockArgs) -> anyhow::Result<()> {
    let (store, _) = args.store.open().await?;
    let known = admin::unlock_user(store.as_ref(), &args.username, args.address)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    if !known {
        bail!(
            "no user {} (its failed sign-ins, if any, were cleared anyway)",
            args.username
        );
    }
    match args.address {
        Some(ip) => println!("user {} and address {ip} unlocked", args.username),
        None => println!("user {} unlocked", args.username),
    }
    Ok(())
}

async fn remove(args: RemoveArgs) -> anyhow::Result<()> {
    let (store, _) = args.store.open().await?;
    let removed = admin::remove_user(store.as_ref(), &args.username)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    if !removed {
        bail!("no user {}", args.username);
    }
    println!("user {} removed", args.username);
    Ok(())
}
