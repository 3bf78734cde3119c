//! `portcullis admin bootstrap`: the first admin of the admin API (`serve --admin-listen`), a
//! client that gets admin tokens by the client-credentials grant.

use crate::config::{self, Overrides};
use crate::db::{self, StoreArgs};
use anyhow::anyhow;
use clap::{Args, Subcommand};
use portcullis_jose::time::SystemClock;
use portcullis_server::admin::{self, ADMIN_TOKEN_TTL_SECS};
use portcullis_server::admin_api::{ADMIN_ROLE, admin_audience};

/// `portcullis admin ...`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create the role `admin` when missing and register a confidential client that obtains
    /// admin-API tokens by the client-credentials grant (all admin scopes, the admin audience);
    /// its generated secret is printed once.
    Bootstrap(BootstrapArgs),
}

/// Arguments of `admin bootstrap`.
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// The id of the admin client to register (refused when taken).
    #[arg(long, value_name = "ID")]
    pub client_id: String,
    /// The issuer of the server the client is for (as `serve --issuer`): the admin audience is
    /// this URL followed by /admin/v1.
    #[arg(long, env = "PORTCULLIS_ISSUER", value_name = "URL")]
    pub issuer: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Runs an `admin` subcommand.
pub async fn run(cmd: AdminCommand) -> anyhow::Result<()> {
    match cmd {
        AdminCommand::Bootstrap(args) => bootstrap(args).await,
    }
}

async fn bootstrap(args: BootstrapArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        issuer: args.issuer,
        database: args.store.database.clone(),
        ..Overrides::default()
    };
    let resolved = config::resolve(args.store.config.as_deref(), &overrides)?;
    let store = db::connect(&resolved.database, resolved.database_pool).await?;
    let done = admin::bootstrap_admin(
        store.as_ref(),
        &SystemClock,
        &resolved.server,
        &args.client_id,
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    if done.role_created {
        println!("role {ADMIN_ROLE} created");
    }
    println!(
        "admin client {} registered (client_credentials, tokens for {}, valid {ADMIN_TOKEN_TTL_SECS} s)",
        done.client.client_id,
        admin_audience(&resolved.server.issuer)
    );
    // Shown this once: only its keyed digest is stored.
    println!("client_secret: {}", done.secret.secret());
    Ok(())
}
