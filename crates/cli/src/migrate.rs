//! `portcullis migrate`: bring the database's schema to this build's newest migration and exit,
//! so an upgrade can migrate once before the new nodes start (`serve` also migrates at start;
//! on PostgreSQL the migrations hold a lock, so racing nodes apply each one once).

use anyhow::anyhow;
use clap::Args;

use crate::db::StoreArgs;

/// Arguments of `migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Applies the pending migrations (opening the store does) and checks the result.
pub async fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let (store, resolved) = args.store.open().await?;
    store
        .health()
        .await
        .map_err(|e| anyhow!("after migrating: {e}"))?;
    println!(
        "{}: the schema is at this build's newest migration",
        crate::db::redact_url(&resolved.database)
    );
    Ok(())
}
