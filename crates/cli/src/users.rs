//! `portcullis users add|list|show|update|remove|unlock|revoke-tokens|disable|enable|set-password`
//! (and, in [`crate::user_access`], `grants|revoke-grant|sessions|end-session`):
//! user accounts with argon2id password hashes, their roles, groups and attributes. Passwords are
//! read from standard input so they never appear in the process list or history.

use crate::db::format_time;
use crate::remote::{Remote, Target, encode};
use crate::user_access::{self, EndSessionArgs, RevokeGrantArgs};
use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use portcullis_jose::time::SystemClock;
use portcullis_server::admin;
use portcullis_server::admin_api::{
    AccountState, Deleted, NewUserRequest, SignOutView, UserPage, UserUpdateRequest, UserView,
};
use portcullis_types::secret::Password;
use portcullis_types::{GroupName, RoleName};
use reqwest::Method;

/// `portcullis users ...`
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user.
    Add(AddArgs),
    /// List users.
    List(ListArgs),
    /// Show one user: profile, roles (held and through groups), groups and attributes.
    Show(ShowArgs),
    /// Change a user's e-mail, name, roles, groups or attributes.
    Update(UpdateArgs),
    /// Delete a user.
    Remove(RemoveArgs),
    /// Clear a user's failed sign-ins (and, with --address, a client address's), so the login
    /// throttle admits them again at once.
    Unlock(UnlockArgs),
    /// Sign a user out everywhere: revoke every grant (refresh, access and ID tokens), end every
    /// browser session, and refuse the user's access tokens issued until now (resource servers
    /// checking Redis too). New sign-ins work.
    RevokeTokens(AccountArgs),
    /// Disable a user: no sign-in, no new tokens, and every token and session revoked as by
    /// revoke-tokens.
    Disable(AccountArgs),
    /// Enable a disabled user again (what was revoked stays revoked).
    Enable(AccountArgs),
    /// Set a user's password (read from standard input) and sign them out everywhere.
    SetPassword(SetPasswordArgs),
    /// List the clients a user has given access to, with the consented scope.
    Grants(ShowArgs),
    /// Withdraw the access a user gave a client: the consent, and every grant, refresh and
    /// access token of that client for the user.
    RevokeGrant(RevokeGrantArgs),
    /// List a user's live browser sessions, the newest first (at most 500).
    Sessions(ShowArgs),
    /// End one browser session of a user, and revoke the grants issued in it (all but
    /// offline_access ones), as signing out there does.
    EndSession(EndSessionArgs),
}

/// The account a lifecycle command acts on, and where its revocations go.
#[derive(Debug, Args)]
pub struct AccountArgs {
    /// Login name (or user id).
    #[arg(long)]
    pub username: String,
    /// Redis URL of the resource servers' denylist (default: the config file's `redis`); the
    /// revocations are published there too.
    #[arg(long, env = "PORTCULLIS_REDIS_URL", value_name = "URL")]
    pub redis: Option<String>,
    #[command(flatten)]
    pub target: Target,
}

/// Arguments of `users set-password`.
#[derive(Debug, Args)]
pub struct SetPasswordArgs {
    #[command(flatten)]
    pub account: AccountArgs,
    /// Read the new password from the first line of standard input.
    #[arg(long, required = true)]
    pub password_stdin: bool,
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
    /// A role to hold (repeatable; each must exist), e.g. `--role orders:read`.
    #[arg(long = "role", value_name = "ROLE")]
    pub roles: Vec<RoleName>,
    /// A group to join (repeatable; each must exist).
    #[arg(long = "group", value_name = "GROUP")]
    pub groups: Vec<GroupName>,
    /// An attribute (repeatable), e.g. `--attr given_name=Ada --attr address.country=UK
    /// --attr department=engines`; released into ID tokens and userinfo by scope.
    #[arg(long = "attr", value_name = "KEY=VALUE", value_parser = parse_attr)]
    pub attributes: Vec<(String, String)>,
    #[command(flatten)]
    pub target: Target,
}

/// Arguments of `users show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Login name (or user id).
    #[arg(long)]
    pub username: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub target: Target,
}

/// Arguments of `users update`; what is not given stays as it is.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Login name (or user id).
    #[arg(long)]
    pub username: String,
    /// New e-mail address.
    #[arg(long)]
    pub email: Option<String>,
    /// New display name.
    #[arg(long)]
    pub name: Option<String>,
    /// A role to give (repeatable; each must exist).
    #[arg(long = "add-role", value_name = "ROLE")]
    pub add_roles: Vec<RoleName>,
    /// A role to take away (repeatable).
    #[arg(long = "remove-role", value_name = "ROLE")]
    pub remove_roles: Vec<RoleName>,
    /// A group to join (repeatable; each must exist).
    #[arg(long = "add-group", value_name = "GROUP")]
    pub add_groups: Vec<GroupName>,
    /// A group to leave (repeatable).
    #[arg(long = "remove-group", value_name = "GROUP")]
    pub remove_groups: Vec<GroupName>,
    /// An attribute to set (repeatable), `KEY=VALUE`.
    #[arg(long = "attr", value_name = "KEY=VALUE", value_parser = parse_attr)]
    pub attributes: Vec<(String, String)>,
    /// An attribute to remove (repeatable).
    #[arg(long = "unset-attr", value_name = "KEY")]
    pub unset_attributes: Vec<String>,
    #[command(flatten)]
    pub target: Target,
}

/// Parses `KEY=VALUE` (the value may contain `=`).
fn parse_attr(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE"))
}

/// Arguments of `users list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub target: Target,
}

/// Arguments of `users remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Login name (or user id).
    #[arg(long)]
    pub username: String,
    #[command(flatten)]
    pub target: Target,
}

/// Runs a `users` subcommand.
pub async fn run(cmd: UsersCommand) -> anyhow::Result<()> {
    match cmd {
        UsersCommand::Add(args) => add(args).await,
        UsersCommand::List(args) => list(args).await,
        UsersCommand::Show(args) => show(args).await,
        UsersCommand::Update(args) => update(args).await,
        UsersCommand::Remove(args) => remove(args).await,
        UsersCommand::Unlock(args) => unlock(args).await,
        UsersCommand::RevokeTokens(args) => revoke_tokens(args).await,
        UsersCommand::Disable(args) => disable(args).await,
        UsersCommand::Enable(args) => enable(args).await,
        UsersCommand::SetPassword(args) => set_password(args).await,
        UsersCommand::Grants(args) => user_access::grants(args).await,
        UsersCommand::RevokeGrant(args) => user_access::revoke_grant(args).await,
        UsersCommand::Sessions(args) => user_access::sessions(args).await,
        UsersCommand::EndSession(args) => user_access::end_session(args).await,
    }
}

async fn read_password() -> anyhow::Result<Password> {
    crate::stdin::read_secret_line("password")
        .await
        .map(Password::new)
}

async fn add(args: AddArgs) -> anyhow::Result<()> {
    let password = read_password().await?;
    if let Some(remote) = args.target.remote().await? {
        let request = NewUserRequest {
            username: args.username,
            password: password.secret().to_owned(),
            email: args.email,
            name: args.name,
            roles: args.roles.iter().map(ToString::to_string).collect(),
            groups: args.groups.iter().map(ToString::to_string).collect(),
            attributes: args.attributes.into_iter().collect(),
        };
        let user: UserView = remote
            .call(Method::POST, &["users"], Some(&request))
            .await?;
        println!("user {} created (sub {})", user.username, user.sub);
        return Ok(());
    }
    let (store, resolved) = args.target.store.open().await?;
    let new = admin::NewUser {
        email: args.email,
        name: args.name,
        roles: args.roles,
        groups: args.groups,
        attributes: args.attributes.into_iter().collect(),
        ..admin::NewUser::new(args.username, password)
    };
    let user = admin::add_user(
        store.as_ref(),
        &SystemClock,
        &resolved.server.self_service.password_policy,
        new,
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    println!("user {} created (sub {})", user.username, user.id);
    Ok(())
}

async fn list(args: ListArgs) -> anyhow::Result<()> {
    let mut users: Vec<UserView> = if let Some(remote) = args.target.remote().await? {
        all_users(&remote).await?
    } else {
        let (store, _) = args.target.store.open().await?;
        admin::list_users(store.as_ref())
            .await
            .map_err(|e| anyhow!("{e}"))?
            .iter()
            .map(UserView::from)
            .collect()
    };
    users.sort_by(|a, b| a.username.cmp(&b.username));
    if args.json {
        let docs: Vec<_> = users
            .iter()
            .map(|u| {
                serde_json::json!({
                    "sub": u.sub,
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
            u.sub,
            u.email.as_deref().unwrap_or("-"),
            format_time(u.created_at)
        );
    }
    Ok(())
}

/// Every user the admin API lists, page after page.
async fn all_users(remote: &Remote) -> anyhow::Result<Vec<UserView>> {
    let mut users = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let query = match &after {
            Some(after) => format!("limit=200&after={}", encode(after)),
            None => "limit=200".to_owned(),
        };
        let page: UserPage = remote.get_query(&["users"], &query).await?;
        users.extend(page.users);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(users),
        }
    }
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
    pub target: Target,
}

async fn unlock(args: UnlockArgs) -> anyhow::Result<()> {
    if let Some(remote) = args.target.remote().await? {
        if args.address.is_some() {
            bail!("--address is not available with --server: the admin API unlocks users only");
        }
        let _state: AccountState = remote
            .call(
                Method::POST,
                &["users", &args.username, "unlock"],
                None::<&()>,
            )
            .await?;
        println!("user {} unlocked", args.username);
        return Ok(());
    }
    let (store, _) = args.target.store.open().await?;
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

async fn show(args: ShowArgs) -> anyhow::Result<()> {
    let user: UserView = if let Some(remote) = args.target.remote().await? {
        remote.get(&["users", &args.username]).await?
    } else {
        let (store, _) = args.target.store.open().await?;
        let Some(user) = admin::find_user(store.as_ref(), &args.username)
            .await
            .map_err(|e| anyhow!("{e}"))?
        else {
            bail!("no user {}", args.username);
        };
        let effective = admin::effective_roles(store.as_ref(), &user)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        UserView {
            effective_roles: Some(effective.iter().map(ToString::to_string).collect()),
            ..UserView::from(&user)
        }
    };
    let effective = user.effective_roles.clone().unwrap_or_default();
    if args.json {
        let doc = serde_json::json!({
            "sub": user.sub,
            "username": user.username,
            "email": user.email,
            "email_verified": user.email_verified,
            "name": user.name,
            "roles": user.roles,
            "groups": user.groups,
            "effective_roles": effective,
            "attributes": user.attributes,
            "disabled": user.disabled,
            "verification_pending": user.verification_pending,
            "created_at": user.created_at,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    let list = |names: Vec<String>| {
        if names.is_empty() {
            "-".to_owned()
        } else {
            names.join(", ")
        }
    };
    println!("username:   {}", user.username);
    println!("sub:        {}", user.sub);
    println!("email:      {}", user.email.as_deref().unwrap_or("-"));
    println!(
        "verified:   {}",
        match (user.email_verified, user.verification_pending) {
            (true, _) => "yes",
            (false, true) => "no (a self-service sign-up: no sign-in until verified)",
            (false, false) => "no",
        }
    );
    println!("name:       {}", user.name.as_deref().unwrap_or("-"));
    println!("disabled:   {}", if user.disabled { "yes" } else { "no" });
    println!("roles:      {}", list(user.roles.clone()));
    println!("groups:     {}", list(user.groups.clone()));
    println!("all roles:  {}", list(effective));
    println!("created:    {}", format_time(user.created_at));
    if user.attributes.is_empty() {
        println!("attributes: -");
    } else {
        println!("attributes:");
        for (k, v) in &user.attributes {
            println!("  {k} = {v}");
        }
    }
    Ok(())
}

async fn update(args: UpdateArgs) -> anyhow::Result<()> {
    if let Some(remote) = args.target.remote().await? {
        let request = UserUpdateRequest {
            email: args.email,
            name: args.name,
            add_roles: args.add_roles.iter().map(ToString::to_string).collect(),
            remove_roles: args.remove_roles.iter().map(ToString::to_string).collect(),
            add_groups: args.add_groups.iter().map(ToString::to_string).collect(),
            remove_groups: args.remove_groups.iter().map(ToString::to_string).collect(),
            set_attributes: args.attributes.into_iter().collect(),
            unset_attributes: args.unset_attributes,
        };
        let user: UserView = remote
            .call(Method::PATCH, &["users", &args.username], Some(&request))
            .await?;
        print_updated(&user.username);
        return Ok(());
    }
    let (store, _) = args.target.store.open().await?;
    let change = admin::UserUpdate {
        email: args.email,
        name: args.name,
        add_roles: args.add_roles,
        remove_roles: args.remove_roles,
        add_groups: args.add_groups,
        remove_groups: args.remove_groups,
        set_attributes: args.attributes.into_iter().collect(),
        unset_attributes: args.unset_attributes,
    };
    let user = admin::update_user(store.as_ref(), &args.username, change)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    print_updated(&user.username);
    Ok(())
}

/// What `users update` prints.
fn print_updated(username: &str) {
    println!(
        "user {username} updated (running servers see it within their user cache lifetime; \
         tokens carry it from their next issuance)"
    );
}

async fn remove(args: RemoveArgs) -> anyhow::Result<()> {
    if let Some(remote) = args.target.remote().await? {
        let _deleted: Deleted = remote
            .call(Method::DELETE, &["users", &args.username], None::<&()>)
            .await?;
        println!("user {} removed", args.username);
        return Ok(());
    }
    let (store, _) = args.target.store.open().await?;
    let removed = admin::remove_user(store.as_ref(), &args.username)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    if !removed {
        bail!("no user {}", args.username);
    }
    println!("user {} removed", args.username);
    Ok(())
}

/// Runs `act` against the account targets of `args` (store, Redis denylist when configured).
pub(crate) async fn with_targets<T>(
    args: &AccountArgs,
    act: impl AsyncFnOnce(admin::AccountTargets<'_>) -> Result<T, admin::AdminError>,
) -> anyhow::Result<T> {
    let (store, resolved) = args
        .target
        .store
        .open_with_redis(args.redis.clone())
        .await?;
    let denylist = admin::connect_denylist(&resolved.server)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let targets = admin::AccountTargets {
        store: store.as_ref(),
        denylist: denylist.as_deref(),
        clock: &SystemClock,
        config: &resolved.server,
    };
    act(targets).await.map_err(|e| anyhow!("{e}"))
}

/// Prints what signing `username` out everywhere revoked.
fn print_sign_out(username: &str, report: &SignOutView) {
    println!(
        "user {username}: {} grant(s) revoked with their refresh, access and ID tokens, {} \
         browser session(s) ended; access tokens issued before {} are refused",
        report.grants,
        report.sessions,
        format_time(report.not_before)
    );
    match report.marker_until {
        Some(until) => println!(
            "resource servers checking Redis refuse them too (marker kept until {})",
            format_time(until)
        ),
        None => println!(
            "no Redis configured: resource servers validating tokens offline accept them until \
             they expire"
        ),
    }
}

/// `POST /users/{username}/{action}` on the admin API.
async fn account_action<T: serde::de::DeserializeOwned>(
    remote: &Remote,
    username: &str,
    action: &str,
) -> anyhow::Result<T> {
    remote
        .call(Method::POST, &["users", username, action], None::<&()>)
        .await
}

async fn revoke_tokens(args: AccountArgs) -> anyhow::Result<()> {
    let username = args.username.clone();
    let report = if let Some(remote) = args.target.remote().await? {
        account_action(&remote, &username, "revoke-tokens").await?
    } else {
        let report = with_targets(&args, async |t| {
            admin::revoke_user_tokens(t, &username).await
        })
        .await?
        .ok_or_else(|| anyhow!("no user {username}"))?;
        SignOutView::new(&username, &report)
    };
    print_sign_out(&username, &report);
    Ok(())
}

async fn disable(args: AccountArgs) -> anyhow::Result<()> {
    let username = args.username.clone();
    let report = if let Some(remote) = args.target.remote().await? {
        account_action(&remote, &username, "disable").await?
    } else {
        let report = with_targets(&args, async |t| admin::disable_user(t, &username).await)
            .await?
            .ok_or_else(|| anyhow!("no user {username}"))?;
        SignOutView::new(&username, &report)
    };
    println!("user {username} disabled");
    print_sign_out(&username, &report);
    Ok(())
}

async fn enable(args: AccountArgs) -> anyhow::Result<()> {
    let username = args.username.clone();
    let changed = if let Some(remote) = args.target.remote().await? {
        let before: UserView = remote.get(&["users", &username]).await?;
        let _state: AccountState = account_action(&remote, &username, "enable").await?;
        before.disabled
    } else {
        with_targets(&args, async |t| admin::enable_user(t, &username).await)
            .await?
            .ok_or_else(|| anyhow!("no user {username}"))?
    };
    if changed {
        println!("user {username} enabled");
    } else {
        println!("user {username} was not disabled");
    }
    Ok(())
}

async fn set_password(args: SetPasswordArgs) -> anyhow::Result<()> {
    if args.account.target.server.is_some() {
        bail!("set-password is not available with --server: the admin API sets no passwords");
    }
    let password = read_password().await?;
    let username = args.account.username.clone();
    let report = with_targets(&args.account, async |t| {
        admin::set_user_password(t, &username, password).await
    })
    .await?
    .ok_or_else(|| anyhow!("no user {username}"))?;
    println!("user {username}: password changed");
    print_sign_out(&username, &SignOutView::new(&username, &report));
    Ok(())
}
