//! `portcullis serve`: layer the configuration, open the store, register the declared clients
//! and users, and serve until Ctrl-C or SIGTERM (in-flight requests finish first) through the
//! bounded listener in `listen.rs`.

use crate::audit_capture::{self, AuditArgs, AuditQueues};
use crate::config::{self, Overrides, Resolved};
use crate::db::{self, redact_url};
use crate::gc;
use crate::listen::{self, Limits};
use anyhow::{Context as _, anyhow};
use clap::Args;
use portcullis_jose::time::{Clock, SystemClock};
use portcullis_server::store::Store;
use portcullis_server::{Server, admin};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML config file.
    #[arg(long, env = "PORTCULLIS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The URL clients reach this server by, the `iss` of every token. Without it a loopback
    /// --listen gives http://ADDR, and any other --listen is refused (under --dev:
    /// http://127.0.0.1:PORT, with a warning) [default: http://127.0.0.1:8080].
    #[arg(long, env = "PORTCULLIS_ISSUER", value_name = "URL")]
    pub issuer: Option<String>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "PORTCULLIS_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// Database URL [default: sqlite://portcullis.db].
    #[arg(long, env = "PORTCULLIS_DATABASE_URL", value_name = "URL")]
    pub database: Option<String>,
    /// Seconds a request waits for a database connection before answering 503
    /// (`[database_pool] acquire_timeout_secs`) [default: 3].
    #[arg(long, env = "PORTCULLIS_DB_ACQUIRE_TIMEOUT", value_name = "SECS")]
    pub db_acquire_timeout: Option<u64>,
    /// Seconds a database statement may run (PostgreSQL `statement_timeout`; SQLite: the wait
    /// for the write lock) (`[database_pool] statement_timeout_secs`) [default: 5].
    #[arg(long, env = "PORTCULLIS_DB_STATEMENT_TIMEOUT", value_name = "SECS")]
    pub db_statement_timeout: Option<u64>,
    /// Redis URL; revoked token ids are published there for resource servers.
    #[arg(long, env = "PORTCULLIS_REDIS_URL", value_name = "URL")]
    pub redis: Option<String>,
    /// Development mode: create a demo user and clients and print how to try them; without a
    /// key-encryption key (PORTCULLIS_KEY_ENCRYPTION_KEY or `[keys] encryption_key_file`,
    /// required otherwise) private keys are stored in plaintext.
    #[arg(long)]
    pub dev: bool,
    /// Seconds a connection may take to send a request's headers, from when it opens or
    /// finished its previous response (so also the keep-alive idle timeout) [default: 10].
    #[arg(long, env = "PORTCULLIS_HEADER_READ_TIMEOUT", value_name = "SECS")]
    pub header_read_timeout: Option<u64>,
    /// Most connections open at once; further ones are closed at once [default: three
    /// quarters of the file-descriptor limit].
    #[arg(long, env = "PORTCULLIS_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Seconds between removals of expired state, jittered by up to a fifth; 0 turns them off
    /// [default: 300].
    #[arg(long, env = "PORTCULLIS_GC_INTERVAL", value_name = "SECS")]
    pub gc_interval: Option<u64>,
    /// Days the stored audit events are kept; the collection of expired state deletes older
    /// ones (`[gc] audit_retention_days`) [default: 90].
    #[arg(long, env = "PORTCULLIS_AUDIT_RETENTION_DAYS", value_name = "DAYS")]
    pub audit_retention_days: Option<u32>,
    /// A reverse proxy (address or CIDR range) whose `X-Forwarded-For` names the client; may
    /// be repeated, or comma-separated in the environment. From any other peer the header is
    /// ignored [default: none].
    #[arg(
        long = "trusted-proxy",
        env = "PORTCULLIS_TRUSTED_PROXIES",
        value_name = "CIDR",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,
    /// Address of the admin listener, which serves Prometheus metrics at /metrics and the admin
    /// API at /admin/v1 (tokens from a client made by `admin bootstrap`); keep it private
    /// (loopback, or a network only the monitoring and operators reach) [default: off].
    #[arg(long, env = "PORTCULLIS_ADMIN_LISTEN", value_name = "ADDR")]
    pub admin_listen: Option<String>,
    /// The URL at which operators' browsers reach the admin listener, for the admin console's
    /// sign-in redirect (`URL/admin/console/callback`) [default: http:// and the admin
    /// listener's bound address].
    #[arg(
        long,
        env = "PORTCULLIS_ADMIN_URL",
        value_name = "URL",
        requires = "admin_listen"
    )]
    pub admin_url: Option<String>,
    /// Open (`true`) or close (`false`) the self-service sign-up page, over the config file's
    /// `[registration] enabled` [default: false].
    #[arg(long, env = "PORTCULLIS_REGISTRATION", value_name = "BOOL")]
    pub registration: Option<bool>,
    /// The theme directory of the end-user pages: `theme.toml`, `style.css`, `logo.svg` or
    /// `logo.png`, and a subdirectory per named theme clients may select [default: the
    /// `[theme] dir` of the config file, else the built-in look].
    #[arg(long, env = "PORTCULLIS_THEME_DIR", value_name = "DIR")]
    pub theme_dir: Option<std::path::PathBuf>,
    /// Export OpenTelemetry traces over OTLP/HTTP (protobuf) to the collector at this base URL
    /// (spans go to URL/v1/traces), and follow W3C trace context (`traceparent`) in and out.
    /// Without it the standard OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
    /// OTEL_EXPORTER_OTLP_ENDPOINT turns them on; OTEL_SERVICE_NAME names the service
    /// [default: off; service name `portcullis`].
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<url::Url>,
    #[command(flatten)]
    pub audit: AuditArgs,
}

/// Runs the server. The audit events captured in `audit` are stored (and sent to the webhook)
/// once the store is open; `traced` when spans are exported (the subscriber's exporter is set
/// up by `logging::init`): requests then follow W3C trace context and store calls are spans.
pub async fn run(args: ServeArgs, audit: Option<AuditQueues>, traced: bool) -> anyhow::Result<()> {
    let overrides = Overrides {
        issuer: args.issuer,
        listen: args.listen,
        database: args.database,
        db_acquire_timeout_secs: args.db_acquire_timeout,
        db_statement_timeout_secs: args.db_statement_timeout,
        redis: args.redis,
        dev: args.dev,
        header_read_timeout_secs: args.header_read_timeout,
        max_connections: args.max_connections,
        gc_interval_secs: args.gc_interval,
        audit_retention_days: args.audit_retention_days,
        trusted_proxies: (!args.trusted_proxies.is_empty()).then_some(args.trusted_proxies),
        request_metrics: args.admin_listen.is_some(),
        trace_context: traced,
        registration: args.registration,
        theme_dir: args.theme_dir,
    };
    let resolved = config::resolve(args.config.as_deref(), &overrides)?;
    // The recorder goes in before anything records (the key cache records at start).
    let admin = match &args.admin_listen {
        Some(addr) => Some(crate::admin_listen::bind(addr).await?),
        None => None,
    };
    let store = db::connect(&resolved.database, resolved.database_pool).await?;
    let store = if traced {
        portcullis_server::store::traced(store, &resolved.database)
    } else {
        store
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);

    let listener = tokio::net::TcpListener::bind(&resolved.listen)
        .await
        .with_context(|| format!("binding {}", resolved.listen))?;
    let local = listener.local_addr()?;
    let issuer = resolved.server.issuer.clone();
    let limits = Limits {
        header_read_timeout: Duration::from_secs(resolved.server.header_read_timeout_secs),
        max_connections: resolved
            .server
            .max_connections
            .unwrap_or_else(listen::default_max_connections),
    };
    // The server opens the stored keys and pepper first: a wrong key-encryption key stops the
    // start here, naming the key it cannot read, before anything is written.
    let server = Server::new(
        resolved.server.clone(),
        Arc::clone(&store),
        Arc::clone(&clock),
    )
    .await
    .map_err(|e| anyhow!("starting the server: {e}"))?;
    let audit_consumers = match audit {
        Some(queues) => Some(audit_capture::start(
            &args.audit,
            queues,
            Arc::clone(&store),
            Arc::clone(&clock),
        )?),
        None => None,
    };
    seed(&store, clock.as_ref(), &resolved).await?;
    let dev_demo = if args.dev {
        Some(crate::dev::bootstrap(&store, clock.as_ref(), server.config()).await?)
    } else {
        None
    };
    if let Some(admin) = admin {
        let at = admin.local_addr()?;
        let admin_url = args
            .admin_url
            .clone()
            .unwrap_or_else(|| format!("http://{at}"));
        admin::register_console_client(store.as_ref(), clock.as_ref(), server.config(), &admin_url)
            .await
            .map_err(|e| anyhow!("registering the admin console's client: {e}"))?;
        let api = server
            .admin_router()
            .map_err(|e| anyhow!("the admin API: {e}"))?
            .merge(
                server
                    .admin_console_router(&admin_url)
                    .map_err(|e| anyhow!("the admin console: {e}"))?,
            );
        admin.spawn(api);
        tracing::info!(admin_listen = %at, "metrics at http://{at}/metrics, admin API at http://{at}/admin/v1, admin console at {}/admin/console/", admin_url.trim_end_matches('/'));
    }
    tracing::info!(
        %issuer,
        listen = %local,
        database = %redact_url(&resolved.database),
        max_connections = limits.max_connections,
        "portcullis listening"
    );
    let mut router = server.router();
    if let Some(demo) = dev_demo {
        demo.print();
        router = router.merge(Arc::new(demo).callback_router());
    }
    let gc_interval = server.config().gc_interval_secs;
    let collector = (gc_interval > 0).then(|| {
        tokio::spawn(gc::periodically(
            server.clone(),
            Duration::from_secs(gc_interval),
        ))
    });
    // Keeps the Redis denylist whole: refills it after Redis lost its data and delivers the
    // revocations queued while it was out of reach.
    let mirror = tokio::spawn(
        server
            .clone()
            .sync_denylist_periodically(Duration::from_secs(DENYLIST_SYNC_SECS)),
    );
    listen::serve(listener, router, limits, shutdown_signal()).await;
    mirror.abort();
    if let Some(task) = collector {
        task.abort();
    }
    if let Some(consumers) = audit_consumers {
        consumers.flush().await;
    }
    tracing::info!("portcullis stopped");
    Ok(())
}

/// Seconds between two passes that keep the Redis denylist whole.
const DENYLIST_SYNC_SECS: u64 = 2;

/// Creates the roles and groups, registers the clients and creates the users declared in the
/// config file. Clients are replaced on every start; roles, groups and users are created when
/// missing and otherwise left as they are (the command line manages them from then on).
async fn seed(
    store: &Arc<dyn Store>,
    clock: &dyn Clock,
    resolved: &Resolved,
) -> anyhow::Result<()> {
    let roles = admin::list_roles(store.as_ref())
        .await
        .map_err(|e| anyhow!("{e}"))?;
    for role in &resolved.roles {
        if roles.iter().all(|r| r.name != role.name) {
            admin::add_role(
                store.as_ref(),
                clock,
                role.name.clone(),
                role.description.clone(),
            )
            .await
            .map_err(|e| anyhow!("config role {}: {e}", role.name))?;
        }
    }
    for group in &resolved.groups {
        if admin::list_groups(store.as_ref())
            .await
            .map_err(|e| anyhow!("{e}"))?
            .iter()
            .all(|g| g.name != group.name)
        {
            admin::add_group(
                store.as_ref(),
                clock,
                group.name.clone(),
                group.roles.clone(),
            )
            .await
            .map_err(|e| anyhow!("config group {}: {e}", group.name))?;
        }
    }
    for client in &resolved.clients {
        // The config file is the source of truth for its clients: each start replaces them.
        let done = admin::replace_client(store.as_ref(), clock, &resolved.server, client.clone())
            .await
            .map_err(|e| anyhow!("config client {}: {e}", client.client_id))?;
        tracing::info!(client_id = %done.record.client_id, "client registered from the config file");
    }
    for upstream in &resolved.upstreams {
        // Like clients, the file is the source of truth for its upstreams.
        let saved = admin::put_upstream(
            store.as_ref(),
            clock,
            &resolved.server.key_encryption,
            upstream.clone(),
        )
        .await
        .map_err(|e| anyhow!("config upstream {}: {e}", upstream.id))?;
        tracing::info!(upstream = %saved.id, kind = saved.kind.name(), "upstream saved from the config file");
    }
    for user in &resolved.users {
        if store
            .get_user_by_username(&user.username)
            .await
            .map_err(|e| anyhow!("{e}"))?
            .is_some()
        {
            continue;
        }
        let created = admin::add_user(
            store.as_ref(),
            clock,
            &resolved.server.self_service.password_policy,
            user.to_new_user(),
        )
        .await
        .map_err(|e| anyhow!("config user {}: {e}", user.username))?;
        tracing::info!(username = %created.username, sub = %created.id, "user created from the config file");
    }
    Ok(())
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(err) => {
                tracing::warn!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
