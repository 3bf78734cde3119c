//! `portcullis roles add|list|remove` and `portcullis groups add|list|remove`: the roles tokens
//! carry and the groups that give them to their members.

use crate::db::format_time;
use crate::remote::Target;
use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use portcullis_jose::time::SystemClock;
use portcullis_server::admin;
use portcullis_server::admin_api::{Deleted, GroupView, NewGroup, NewRole, RoleView};
use portcullis_types::{GroupName, RoleName};
use reqwest::Method;

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
    pub target: Target,
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
    pub target: Target,
}

/// Arguments of `roles list` and `groups list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub target: Target,
}

/// Arguments of `roles remove` and `groups remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The name.
    pub name: String,
    #[command(flatten)]
    pub target: Target,
}

/// Runs a `roles` subcommand.
pub async fn run_roles(cmd: RolesCommand) -> anyhow::Result<()> {
    match cmd {
        RolesCommand::Add(args) => {
            let role: RoleView = if let Some(remote) = args.target.remote().await? {
                let request = NewRole {
                    name: args.name.to_string(),
                    description: args.description,
                };
                remote
                    .call(Method::POST, &["roles"], Some(&request))
                    .await?
            } else {
                let (store, _) = args.target.store.open().await?;
                let role =
                    admin::add_role(store.as_ref(), &SystemClock, args.name, args.description)
                        .await
                        .map_err(|e| anyhow!("{e}"))?;
                RoleView::from(&role)
            };
            println!("role {} created", role.name);
        }
        RolesCommand::List(args) => {
            let roles: Vec<RoleView> = if let Some(remote) = args.target.remote().await? {
                remote.get(&["roles"]).await?
            } else {
                let (store, _) = args.target.store.open().await?;
                admin::list_roles(store.as_ref())
                    .await
                    .map_err(|e| anyhow!("{e}"))?
                    .iter()
                    .map(RoleView::from)
                    .collect()
            };
            if args.json {
                println!("{}", serde_json::to_string_pretty(&roles)?);
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
            if let Some(remote) = args.target.remote().await? {
                let _deleted: Deleted = remote
                    .call(Method::DELETE, &["roles", &args.name], None::<&()>)
                    .await?;
            } else {
                let (store, _) = args.target.store.open().await?;
                if !admin::remove_role(store.as_ref(), &args.name)
                    .await
                    .map_err(|e| anyhow!("{e}"))?
                {
                    bail!("no role {}", args.name);
                }
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
            let group: GroupView = if let Some(remote) = args.target.remote().await? {
                let request = NewGroup {
                    name: args.name.to_string(),
                    roles: args.roles.iter().map(ToString::to_string).collect(),
                };
                remote
                    .call(Method::POST, &["groups"], Some(&request))
                    .await?
            } else {
                let (store, _) = args.target.store.open().await?;
                let group = admin::add_group(store.as_ref(), &SystemClock, args.name, args.roles)
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
                GroupView::from(&group)
            };
            println!("group {} created", group.name);
        }
        GroupsCommand::List(args) => {
            let groups: Vec<GroupView> = if let Some(remote) = args.target.remote().await? {
                remote.get(&["groups"]).await?
            } else {
                let (store, _) = args.target.store.open().await?;
                admin::list_groups(store.as_ref())
                    .await
                    .map_err(|e| anyhow!("{e}"))?
                    .iter()
                    .map(GroupView::from)
                    .collect()
            };
            if args.json {
                println!("{}", serde_json::to_string_pretty(&groups)?);
            } else if groups.is_empty() {
                println!("no groups");
            } else {
                println!("{:<32} ROLES", "GROUP");
                for g in &groups {
                    println!("{:<32} {}", g.name, g.roles.join(", "));
                }
            }
        }
        GroupsCommand::Remove(args) => {
            if let Some(remote) = args.target.remote().await? {
                let _deleted: Deleted = remote
                    .call(Method::DELETE, &["groups", &args.name], None::<&()>)
                    .await?;
            } else {
                let (store, _) = args.target.store.open().await?;
                if !admin::remove_group(store.as_ref(), &args.name)
                    .await
                    .map_err(|e| anyhow!("{e}"))?
                {
                    bail!("no group {}", args.name);
                }
            }
            println!("group {} removed (its members left it)", args.name);
        }
    }
    Ok(())
}
