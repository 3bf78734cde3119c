//! The `portcullis` command: run the authorization server, manage clients, users and signing
//! keys in its database, and decode or verify tokens.

// Unsafe code is denied by the workspace lints; `memory` allows it for one `mallopt` call.

mod admin;
mod admin_listen;
mod audit;
mod audit_capture;
mod client_secret;
mod clients;
mod config;
mod db;
mod dev;
mod gc;
mod key_encryption;
mod keys;
mod listen;
mod log_writer;
mod logging;
mod memory;
mod migrate;
mod remote;
mod roles;
mod self_service;
mod serve;
mod stdin;
mod theme;
mod token;
mod token_hooks;
mod upstreams;
mod user_access;
mod users;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Portcullis: an OAuth 2.1 and OpenID Connect authorization server.
///
/// Commands that open the database seal private signing keys under the key-encryption key in
/// PORTCULLIS_KEY_ENCRYPTION_KEY (or the file `[keys] encryption_key_file` names), reading
/// PORTCULLIS_KEY_ENCRYPTION_KEY_PREVIOUS too during a rotation. Without one they refuse to run
/// outside `serve --dev` unless PORTCULLIS_ALLOW_PLAINTEXT_KEYS=1 or `[keys] allow_plaintext`.
#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about,
    long_about,
    propagate_version = true
)]
struct Cli {
    /// Log format on standard error (the level comes from RUST_LOG, default `info`).
    #[arg(long, global = true, value_enum, default_value_t = logging::LogFormat::Pretty)]
    log_format: logging::LogFormat,
    /// Also append every audit event (target `audit`, whatever RUST_LOG says) to this file, one
    /// JSON object per line as described by crates/server/audit-event.schema.json. The file is
    /// created with mode 0600 when missing.
    #[arg(
        long,
        global = true,
        env = "PORTCULLIS_AUDIT_FILE",
        value_name = "PATH"
    )]
    audit_file: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the authorization server.
    Serve(serve::ServeArgs),
    /// Manage registered clients.
    #[command(subcommand)]
    Clients(Box<clients::ClientsCommand>),
    /// Manage user accounts.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Manage roles: the named permissions tokens carry.
    #[command(subcommand)]
    Roles(roles::RolesCommand),
    /// Manage groups: sets of users that carry roles.
    #[command(subcommand)]
    Groups(roles::GroupsCommand),
    /// Manage upstream identity providers users sign in with (OpenID providers, GitHub).
    #[command(subcommand)]
    Upstreams(upstreams::UpstreamsCommand),
    /// List and rotate signing keys; re-encrypt them under a new key-encryption key.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Apply the database migrations of this build and exit (`serve` also does at start).
    Migrate(migrate::MigrateArgs),
    /// Remove expired codes, tokens, sessions and other dead state now.
    Gc(gc::GcArgs),
    /// Set up the admin API: `admin bootstrap` registers its first admin client.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Read the stored audit trail: `audit list`.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Decode or verify a JWT.
    #[command(subcommand)]
    Token(token::TokenCommand),
}

fn main() -> ExitCode {
    memory::return_large_blocks_to_the_system();
    let cli = Cli::parse();
    // `serve` keeps an audit trail: its events are captured from the start.
    let (capture, audit_queues) = match &cli.command {
        Command::Serve(args) => {
            let (layer, queues) = audit_capture::capture(&args.audit);
            (Some(layer), Some(queues))
        }
        _ => (None, None),
    };
    let log = match logging::init(cli.log_format, cli.audit_file.as_deref(), capture) {
        Ok(log) => log,
        Err(err) => {
            eprintln!("error: {err:#}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            drop(log);
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args, audit_queues).await.map(|()| 0),
            Command::Clients(cmd) => clients::run(*cmd).await.map(|()| 0),
            Command::Users(cmd) => users::run(cmd).await.map(|()| 0),
            Command::Roles(cmd) => roles::run_roles(cmd).await.map(|()| 0),
            Command::Groups(cmd) => roles::run_groups(cmd).await.map(|()| 0),
            Command::Keys(cmd) => keys::run(cmd).await.map(|()| 0),
            Command::Upstreams(cmd) => upstreams::run(cmd).await.map(|()| 0),
            Command::Gc(args) => gc::run(args).await.map(|()| 0),
            Command::Migrate(args) => migrate::run(args).await.map(|()| 0),
            Command::Admin(cmd) => admin::run(cmd).await.map(|()| 0),
            Command::Audit(cmd) => audit::run(cmd).await.map(|()| 0),
            Command::Token(cmd) => token::run(cmd).await,
        }
    });
    // Every log line is out before the closing words below.
    drop(runtime);
    drop(log);
    match result {
        Ok(0) => ExitCode::SUCCESS,
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
