//! `portcullis clients add|list|remove`: register, show and delete OAuth clients. Validation
//! (redirect URI rules, grant types, secrets) is the server's, shared with the config file.

use crate::db::format_time;
use crate::remote::{Remote, Target, answered};
use anyhow::{Context as _, anyhow, bail};
use clap::{ArgGroup, Args, Subcommand};
use portcullis_jose::time::SystemClock;
use portcullis_server::admin;
use portcullis_server::admin_api::{ClientRequest, ClientView, Deleted, SavedClient};
use portcullis_server::config::ClientConfig;
use portcullis_server::store::ReleaseFilter;
use portcullis_server::theme::ThemeName;
use portcullis_types::{ClientSecret, GrantType, RoleName, TokenEndpointAuthMethod};
use reqwest::{Method, StatusCode};
use std::path::PathBuf;

/// `portcullis clients ...`
#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Register a client; an id already registered is refused unless --replace is given.
    Add(Box<AddArgs>),
    /// List registered clients.
    List(ListArgs),
    /// Delete a client.
    Remove(RemoveArgs),
    /// Give a confidential client a new random secret (printed once); the current one stays
    /// accepted for --overlap (default: not at all).
    RotateSecret(RotateSecretArgs),
}

/// Arguments of `clients add`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("kind").required(true).args(["secret", "secret_stdin", "generate_secret", "public", "jwks"])))]
pub struct AddArgs {
    /// The client id.
    #[arg(long)]
    pub id: String,
    /// The secret of a confidential client (at least 16 characters; stored as a keyed digest).
    #[arg(long)]
    pub secret: Option<String>,
    /// Read the secret of a confidential client from standard input (one line), so it stays
    /// out of the process list and the shell's history.
    #[arg(long)]
    pub secret_stdin: bool,
    /// Generate the secret of a confidential client: 32 random bytes, base64url, printed once.
    #[arg(long)]
    pub generate_secret: bool,
    /// A public client (no secret; PKCE only).
    #[arg(long)]
    pub public: bool,
    /// A JWK Set file with the client's public keys (private_key_jwt).
    #[arg(long, value_name = "FILE")]
    pub jwks: Option<PathBuf>,
    /// A redirect URI (repeat for several).
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// A post-logout redirect URI (repeat for several).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Grant types, comma-separated, e.g. authorization_code,refresh_token (RFC names, also
    /// urn:ietf:params:oauth:grant-type:device_code and
    /// urn:ietf:params:oauth:grant-type:token-exchange).
    #[arg(long, value_delimiter = ',')]
    pub grant_types: Vec<String>,
    /// Allowed scopes, space-separated.
    #[arg(long)]
    pub scope: Option<String>,
    /// client_secret_basic, client_secret_post, private_key_jwt or none.
    #[arg(long)]
    pub auth_method: Option<TokenEndpointAuthMethod>,
    /// Access-token audience (repeat for several).
    #[arg(long)]
    pub audience: Vec<String>,
    /// Access-token lifetime in seconds.
    #[arg(long, value_name = "SECONDS")]
    pub access_token_ttl: Option<i64>,
    /// Refresh-token lifetime in seconds.
    #[arg(long, value_name = "SECONDS")]
    pub refresh_token_ttl: Option<i64>,
    /// ID-token signing algorithm (RS256, ES256, PS256, EdDSA).
    #[arg(long)]
    pub id_token_alg: Option<String>,
    /// Display name shown on the consent page.
    #[arg(long)]
    pub name: Option<String>,
    /// An audience the client may obtain tokens for by token exchange (repeat for several).
    #[arg(long = "exchange-audience", value_name = "AUD")]
    pub exchange_audiences: Vec<String>,
    /// Allow token exchange without an actor token (impersonation; the issued token then names
    /// no actor). Without it every exchange is a delegation recording `act`.
    #[arg(long)]
    pub exchange_impersonation: bool,
    /// Replace the client with the same id, if any: every setting (audiences included) is
    /// overwritten by this command's. Without it an id already registered is refused.
    #[arg(long)]
    pub replace: bool,
    /// A role of the client itself as a service account (repeatable; each must exist): its
    /// client-credentials tokens carry them, e.g. `--role reports:run`.
    #[arg(long = "role", value_name = "ROLE")]
    pub roles: Vec<RoleName>,
    /// Which of a user's roles the client's access tokens carry: `all`, `none` (default) or
    /// `PREFIX*`, e.g. `orders:*`, so a token for one API does not list the rest.
    #[arg(long, value_name = "all|none|PREFIX*", value_parser = ReleaseFilter::parse, default_value = "none")]
    pub token_roles: ReleaseFilter,
    /// Which of a user's groups the client's access tokens carry: `all`, `none` (default) or
    /// `PREFIX*`.
    #[arg(long, value_name = "all|none|PREFIX*", value_parser = ReleaseFilter::parse, default_value = "none")]
    pub token_groups: ReleaseFilter,
    /// A grace window for refresh-token rotation (0 to 60 s; default off): presenting the
    /// token just rotated once more within it, e.g. after a lost response, gets a working
    /// refresh token instead of revoking the grant. Any other reuse still revokes it.
    #[arg(long, value_name = "SECONDS")]
    pub refresh_grace: Option<i64>,
    /// The named theme of its pages: a subdirectory of the theme directory (`[theme] dir`,
    /// `--theme-dir`) [default: the deployment's theme].
    #[arg(long, value_name = "NAME", value_parser = parse_theme)]
    pub theme: Option<ThemeName>,
    #[command(flatten)]
    pub target: Target,
}

/// Arguments of `clients list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub target: Target,
}

/// Arguments of `clients remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The client id.
    #[arg(long)]
    pub id: String,
    #[command(flatten)]
    pub target: Target,
}

/// Arguments of `clients rotate-secret`.
#[derive(Debug, Args)]
pub struct RotateSecretArgs {
    /// The client id.
    #[arg(long)]
    pub id: String,
    /// How long the current secret stays accepted beside the new one: seconds, or a number
    /// with s, m, h or d (e.g. 1d); at most 30 days. Default 0: refused at once.
    #[arg(long, value_name = "DURATION", value_parser = crate::client_secret::parse_overlap, default_value = "0")]
    pub overlap: std::time::Duration,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub target: Target,
}

/// Runs a `clients` subcommand.
pub async fn run(cmd: ClientsCommand) -> anyhow::Result<()> {
    match cmd {
        ClientsCommand::Add(args) => add(*args).await,
        ClientsCommand::List(args) => list(args).await,
        ClientsCommand::Remove(args) => remove(args).await,
        ClientsCommand::RotateSecret(args) => crate::client_secret::rotate(args).await,
    }
}

async fn add(args: AddArgs) -> anyhow::Result<()> {
    if let Some(remote) = args.target.remote().await? {
        return add_remote(&remote, args).await;
    }
    let (store, resolved) = args.target.store.open().await?;
    let jwks = match &args.jwks {
        Some(path) => Some(
            tokio::fs::read_to_string(path)
                .await
                .with_context(|| format!("reading {}", path.display()))?,
        ),
        None => None,
    };
    let auth_method = match (args.auth_method, &jwks) {
        (None, Some(_)) => Some(TokenEndpointAuthMethod::PrivateKeyJwt),
        (m, _) => m,
    };
    let grant_types = args
        .grant_types
        .iter()
        .map(|g| g.trim())
        .filter(|g| !g.is_empty())
        .map(str::parse::<GrantType>)
        .collect::<Result<Vec<_>, _>>()
        .context("--grant-types")?;
    let generated = if args.generate_secret {
        Some(
            portcullis_server::secrets::random_token()
                .map_err(|e| anyhow!("generating the secret: {e}"))?,
        )
    } else {
        None
    };
    let from_stdin = if args.secret_stdin {
        Some(crate::stdin::read_secret_line("client secret").await?)
    } else {
        None
    };
    let config = ClientConfig {
        client_id: args.id.clone().into(),
        secret: args
            .secret
            .or(from_stdin)
            .or_else(|| generated.clone())
            .map(ClientSecret::new),
        auth_method,
        redirect_uris: args.redirect_uris.into_iter().map(Into::into).collect(),
        post_logout_redirect_uris: args
            .post_logout_redirect_uris
            .into_iter()
            .map(Into::into)
            .collect(),
        grant_types,
        scope: args.scope,
        audience: args.audience,
        access_token_ttl: args.access_token_ttl,
        refresh_token_ttl: args.refresh_token_ttl,
        id_token_signed_response_alg: args.id_token_alg,
        jwks,
        name: args.name,
        exchange_audiences: args.exchange_audiences,
        exchange_impersonation: args.exchange_impersonation,
        roles: args.roles,
        token_roles: args.token_roles,
        token_groups: args.token_groups,
        refresh_grace_secs: args.refresh_grace,
        theme: args.theme,
    };
    let (record, verb) = if args.replace {
        let done = admin::replace_client(store.as_ref(), &SystemClock, &resolved.server, config)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let verb = if done.existed {
            "replaced"
        } else {
            "registered"
        };
        (done.record, verb)
    } else {
        let record = admin::add_client(store.as_ref(), &SystemClock, &resolved.server, config)
            .await
            .map_err(|e| match e {
                admin::AdminError::ClientExists(_) => anyhow!(
                    "{e}; pass --replace to replace it (all its settings, audiences included, \
                     are overwritten), or `clients remove --id {}` first",
                    args.id
                ),
                other => anyhow!("{other}"),
            })?;
        (record, "registered")
    };
    print_saved(&ClientView::from(&record), verb, generated.as_deref());
    Ok(())
}

/// `clients add` through the admin API: `POST /clients`, or `PUT /clients/{id}` with
/// `--replace`.
async fn add_remote(remote: &Remote, args: AddArgs) -> anyhow::Result<()> {
    let jwks = match &args.jwks {
        Some(path) => {
            let text = tokio::fs::read_to_string(path)
                .await
                .with_context(|| format!("reading {}", path.display()))?;
            Some(
                serde_json::from_str::<serde_json::Value>(&text)
                    .with_context(|| format!("{}: not JSON", path.display()))?,
            )
        }
        None => None,
    };
    let secret = if args.secret_stdin {
        Some(crate::stdin::read_secret_line("client secret").await?)
    } else {
        args.secret
    };
    let request = ClientRequest {
        client_id: Some(args.id.clone()),
        secret,
        generate_secret: args.generate_secret,
        jwks,
        token_endpoint_auth_method: args.auth_method.map(|m| m.to_string()),
        redirect_uris: args.redirect_uris,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        grant_types: args
            .grant_types
            .iter()
            .map(|g| g.trim())
            .filter(|g| !g.is_empty())
            .map(str::to_owned)
            .collect(),
        scope: args.scope,
        audience: args.audience,
        access_token_ttl: args.access_token_ttl,
        refresh_token_ttl: args.refresh_token_ttl,
        id_token_signed_response_alg: args.id_token_alg,
        name: args.name,
        exchange_audiences: args.exchange_audiences,
        exchange_impersonation: args.exchange_impersonation,
        roles: args.roles.iter().map(ToString::to_string).collect(),
        token_roles: Some(args.token_roles.to_string()),
        token_groups: Some(args.token_groups.to_string()),
        refresh_grace_secs: args.refresh_grace,
        theme: args.theme.map(|t| t.to_string()),
    };
    let (saved, verb) = if args.replace {
        // Only for the message: whether this registers or replaces.
        let existed = remote
            .get::<Vec<ClientView>>(&["clients"])
            .await?
            .iter()
            .any(|c| c.client_id == args.id);
        let saved: SavedClient = remote
            .call(Method::PUT, &["clients", &args.id], Some(&request))
            .await?;
        (saved, if existed { "replaced" } else { "registered" })
    } else {
        let saved: SavedClient = remote
            .call(Method::POST, &["clients"], Some(&request))
            .await
            .map_err(|e| {
                if answered(&e, StatusCode::CONFLICT) {
                    anyhow!(
                        "{e:#}; pass --replace to replace it (all its settings, audiences \
                         included, are overwritten), or `clients remove --id {}` first",
                        args.id
                    )
                } else {
                    e
                }
            })?;
        (saved, "registered")
    };
    print_saved(&saved.client, verb, saved.client_secret.as_deref());
    Ok(())
}

/// The lines `clients add` prints: what was saved and, once, the secret generated for it.
fn print_saved(client: &ClientView, verb: &str, generated: Option<&str>) {
    println!(
        "client {} {verb} ({}, grants: {})",
        client.client_id,
        client.token_endpoint_auth_method,
        client.grant_types.join(",")
    );
    if let Some(secret) = generated {
        // Shown this once: only its keyed digest is stored.
        println!("client_secret: {secret}");
    }
}

async fn list(args: ListArgs) -> anyhow::Result<()> {
    let clients: Vec<ClientView> = if let Some(remote) = args.target.remote().await? {
        remote.get(&["clients"]).await?
    } else {
        let (store, _) = args.target.store.open().await?;
        let mut records = admin::list_clients(store.as_ref())
            .await
            .map_err(|e| anyhow!("{e}"))?;
        records.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        records.iter().map(ClientView::from).collect()
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&clients)?);
        return Ok(());
    }
    if clients.is_empty() {
        println!("no clients");
        return Ok(());
    }
    for c in &clients {
        println!("{}", c.client_id);
        println!("  auth method:   {}", c.token_endpoint_auth_method);
        println!("  grant types:   {}", c.grant_types.join(","));
        println!("  scope:         {}", c.scope);
        if !c.redirect_uris.is_empty() {
            println!("  redirect URIs: {}", c.redirect_uris.join(" "));
        }
        if !c.audience.is_empty() {
            println!("  audience:      {}", c.audience.join(" "));
        }
        if !c.exchange_audiences.is_empty() {
            println!("  exchange for:  {}", c.exchange_audiences.join(" "));
        }
        if c.exchange_impersonation {
            println!("  impersonation: allowed");
        }
        if let Some(until) = c.previous_secret_expires_at {
            println!("  old secret:    accepted until {}", format_time(until));
        }
        println!("  created:       {}", format_time(c.created_at));
    }
    Ok(())
}

async fn remove(args: RemoveArgs) -> anyhow::Result<()> {
    if let Some(remote) = args.target.remote().await? {
        let _deleted: Deleted = remote
            .call(Method::DELETE, &["clients", &args.id], None::<&()>)
            .await?;
        println!("client {} removed", args.id);
        return Ok(());
    }
    let (store, _) = args.target.store.open().await?;
    let removed = admin::remove_client(store.as_ref(), &args.id)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    if !removed {
        bail!("no client with id {}", args.id);
    }
    println!("client {} removed", args.id);
    Ok(())
}

fn parse_theme(name: &str) -> Result<ThemeName, String> {
    ThemeName::parse(name).map_err(|e| e.reason)
}
