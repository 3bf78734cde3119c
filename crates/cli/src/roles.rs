//! `portcullis roles add|list|remove` and `portcullis groups add|list|remove`: the roles tokens
//! carry and the groups that give them to their members.

use crate::db::{StoreArgs, format_time};
use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use portcullis_jose::time::SystemClock;
use portcullis_server::admin;
use portcullis_types::{GroupName, RoleName};

/// `portcullis roles ...`
#[derive(Debug, Subcommand)]
pub enum RolesCommand {
    /// Create a role, e.g. `roles add orders:read --description "Read orders"`.
    Add(AddRoleArgs),
    /// List roles.
    List(ListArgs),
    /// Delete a role; every group, user and client holding it loses it.
    Remove(RemoveArgs),
}

/// `portcullis groups ...`
#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// Create a group carrying roles, e.g. `groups add sales --role orders:read`.
    Add(AddGroupArgs),
    /// List groups with their roles.
    List(ListArgs),
    /// Delete a group; its members leave it (and lose the roles it gave them).
    Remove(RemoveArgs),
}

/// Arguments of `roles add`.
#[derive(Debug, Args)]
pub struct AddRoleArgs {
    /// The role's name: letters, digits and `. _ : / @ -`, e.g. `orders:read` or `admin`.
    pub name: RoleName,
    /// What the role allows, for operators.
    #[arg(long)]
    pub description: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `groups add`.
#[derive(Debug, Args)]
pub struct AddGroupArgs {
    /// The group's name: letters, digits and `. _ : / @ -`.
    pub name: GroupName,
    /// A role every member holds (repeatable; each must exist).
    #[arg(long = "role", value_name = "ROLE")]
    pub roles: Vec<RoleName>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `roles list` and `groups list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `roles remove` and `groups remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The name.
    pub name: String,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Runs a `roles` subcommand.
pub async fn run_roles(cmd: RolesCommand) -> anyhow::Result<()> {
    match cmd {
        RolesCommand::Add(args) => {
            let (store, _) = args.store.open().await?;
            let role = admin::add_role(store.as_ref(), &SystemClock, args.name, args.description)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            println!("role {} created", role.name);
        }
        RolesCommand::List(args) => {
            let (store, _) = args.store.open().await?;
            let roles = admin::list_roles(store.as_ref())
                .await
                .map_err(|e| anyhow!("{e}"))?;
            if args.json {
                let docs: Vec<_> = roles
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "name": r.name,
                            "description": r.description,
                            "created_at": r.created_at,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&docs)?);
            } else if roles.is_empty() {
                println!("no roles");
            } else {
                println!("{:<32} {:<20} DESCRIPTION", "ROLE", "CREATED");
                for r in &roles {
                    println!(
                        "{:<32} {:<20} {}",
                        r.name,
                        format_time(r.created_at),
                        r.description.as_deref().unwrap_or("-")
                    );
                }
            }
        }
        RolesCommand::Remove(args) => {
            let (store, _) = args.store.open().await?;
            if !admin::remove_role(store.as_ref(), &args.name)
                .await
                .map_err(|e| anyhow!("{e}"))?
            {
                bail!("no role {}", args.name);
            }
            println!("role {} removed (and taken from every holder)", args.name);
        }
    }
    Ok(())
}

/// Runs a `groups` subcommand.
pub async fn run_groups(cmd: GroupsCommand) -> anyhow::Result<()> {
    match cmd {
        GroupsCommand::Add(args) => {
            let (store, _) = args.store.open().await?;
            let group = admin::add_group(store.as_ref(), &SystemClock, args.name, args.roles)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            println!("group {} created", group.name);
        }
        GroupsCommand::List(args) => {
            let (store, _) = args.store.open().await?;
            let groups = admin::list_groups(store.as_ref())
                .await
                .map_err(|e| anyhow!("{e}"))?;
            if args.json {
                let docs: Vec<_> = groups
                    .iter()
                    .map(|g| {
                        serde_json::json!({
                            "name": g.name,
                            "roles": g.roles,
                            "created_at": g.created_at,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&docs)?);
            } else if groups.is_empty() {
                println!("no groups");
            } else {
                println!("{:<32} ROLES", "GROUP");
                for g in &groups {
                    let roles: Vec<&str> = g.roles.iter().map(RoleName::as_str).collect();
                    println!("{:<32} {}", g.name, roles.join(", "));
                }
            }
        }
        GroupsCommand::Remove(args) => {
            let (store, _) = args.store.open().await?;
            if !admin::remove_group(store.as_ref(), &args.name)
                .await
                .map_err(|e| anyhow!("{e}"))?
            {
                bail!("no group {}", args.name);
            }
            println!("group {} removed (its members left it)", args.name);
        }
    }
    Ok(())
}
