//! [`TestServer`]: the real authorization server on `127.0.0.1:0`, served by a background task,
//! with a shared [`FixedClock`] tests can move, its store, and registration helpers.

use crate::fixtures::{ClientSpec, user_record};
use anyhow::{Context as _, anyhow};
use portcullis_jose::time::{Clock, FixedClock, SystemClock, UnixTime};
use portcullis_server::at_rest::{Kek, KeyEncryption};
use portcullis_server::config::{ServerConfig, ServerSettings};
use portcullis_server::store::Store;
use std::sync::Arc;
use tokio::task::JoinHandle;
use url::Url;

/// Which store backs the server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StoreKind {
    /// The in-memory reference store (default; fastest).
    #[default]
    Memory,
    /// SQLite in a temporary directory removed when the server is dropped.
    Sqlite,
    /// Any URL `portcullis_server::store::connect` understands (e.g. PostgreSQL).
    Url(String),
}

/// The key-encryption key of every test server unless [`TestServerBuilder::configure`] sets
/// another: a published test value, never for a real deployment.
pub const TEST_KEK: [u8; 32] = *b"portcullis-testkit-kek-not-real!";

type Configure = Box<dyn FnOnce(&mut ServerSettings) + Send>;

/// Options of a [`TestServer`]; start with [`TestServer::builder`].
pub struct TestServerBuilder {
    store: StoreKind,
    start_time: Option<i64>,
    issuer: Option<String>,
    host: Option<String>,
    configure: Vec<Configure>,
    admin_listener: bool,
}

impl std::fmt::Debug for TestServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServerBuilder")
            .field("store", &self.store)
            .field("start_time", &self.start_time)
            .finish_non_exhaustive()
    }
}

impl TestServerBuilder {
    /// The store backend.
    pub fn store(mut self, store: StoreKind) -> Self {
        self.store = store;
        self
    }

    /// Also serves an admin listener on a port of its own, as `serve --admin-listen` does: the
    /// admin API and the admin console, whose client is registered for it
    /// ([`TestServer::admin_url`]). Not restarted by [`TestServer::restart`].
    pub fn admin_listener(mut self) -> Self {
        self.admin_listener = true;
        self
    }

    /// Starts the fixed clock at `unix_seconds` (default: the real time at start, so tokens
    /// also validate in clients that read the system clock).
    pub fn start_time(mut self, unix_seconds: i64) -> Self {
        self.start_time = Some(unix_seconds);
        self
    }

    /// Announces `issuer` instead of `http://127.0.0.1:PORT` (e.g. an `https://` issuer to see
    /// the cookie attributes of a TLS deployment). The server is still reached over plain HTTP
    /// at [`TestServer::base_url`]; [`TestServer::endpoints`] then name the announced URLs.
    pub fn issuer(mut self, issuer: &str) -> Self {
        self.issuer = Some(issuer.to_owned());
        self
    }

    /// Names the server `http://{host}:PORT` instead of `http://127.0.0.1:PORT` (it still
    /// listens on 127.0.0.1): with `localhost`, a second server (an upstream identity provider)
    /// is another site to the browser's cookie jar, as it would be in a deployment.
    pub fn host(mut self, host: &str) -> Self {
        self.host = Some(host.to_owned());
        self
    }

    /// Adjusts the server settings (the issuer is set by the test server afterwards).
    pub fn configure(mut self, f: impl FnOnce(&mut ServerSettings) + Send + 'static) -> Self {
        self.configure.push(Box::new(f));
        self
    }

    /// Binds `127.0.0.1:0`, builds the server and serves it in a background task.
    pub async fn start(self) -> anyhow::Result<TestServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let host = self.host.unwrap_or_else(|| addr.ip().to_string());
        let port = addr.port();
        let issuer = self
            .issuer
            .unwrap_or_else(|| format!("http://{host}:{port}"));
        let mut settings = ServerSettings::new(issuer.clone());
        // Sealed at rest as in production, under the test kit's fixed key so that a database
        // outliving one test run (PostgreSQL) stays readable by the next.
        settings.key_encryption = KeyEncryption::sealed(Kek::from_bytes(TEST_KEK), None);
        for f in self.configure {
            f(&mut settings);
        }
        settings.issuer = issuer.clone();
        let config = ServerConfig::new(settings).map_err(|e| anyhow!("{e}"))?;

        let tempdir = match self.store {
            StoreKind::Sqlite => Some(tempfile::tempdir().context("temporary directory")?),
            _ => None,
        };
        let store_url = match (&self.store, &tempdir) {
            (StoreKind::Memory, _) => "memory:".to_owned(),
            (StoreKind::Sqlite, Some(dir)) => {
                format!("sqlite://{}", dir.path().join("portcullis.db").display())
            }
            (StoreKind::Sqlite, None) => "sqlite::memory:".to_owned(),
            (StoreKind::Url(url), _) => url.clone(),
        };
        let store = portcullis_server::store::connect(&store_url)
            .await
            .map_err(|e| anyhow!("store {store_url}: {e}"))?;

        let start = self
            .start_time
            .unwrap_or_else(|| SystemClock.now().as_secs());
        let clock = Arc::new(FixedClock::new(UnixTime(start)));
        let admin = if self.admin_listener {
            let admin = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .context("binding the admin listener")?;
            let base = Url::parse(&format!("http://{host}:{}/", admin.local_addr()?.port()))?;
            Some((admin, base))
        } else {
            None
        };
        let admin_base = admin.as_ref().map(|(_, base)| base.clone());
        let task = spawn_server(listener, &config, &store, &clock, admin).await?;
        let base = Url::parse(&format!("http://{host}:{port}/"))?;
        let endpoints = Endpoints::discover(&base, &issuer).await?;
        Ok(TestServer {
            base,
            addr,
            issuer,
            config,
            store_url,
            store,
            clock,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            endpoints,
            task,
            tempdir,
            admin_base,
        })
    }
}

/// Builds the server and serves it on `listener` in a background task.
async fn spawn_server(
    listener: tokio::net::TcpListener,
    config: &ServerConfig,
    store: &Arc<dyn Store>,
    clock: &Arc<FixedClock>,
    admin: Option<(tokio::net::TcpListener, Url)>,
) -> anyhow::Result<JoinHandle<()>> {
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let server = portcullis_server::Server::new(config.clone(), Arc::clone(store), dyn_clock)
        .await
        .map_err(|e| anyhow!("server: {e}"))?;
    if let Some((listener, base)) = admin {
        let base = base.as_str().trim_end_matches('/');
        portcullis_server::admin::register_console_client(
            store.as_ref(),
            clock.as_ref(),
            config,
            base,
        )
        .await
        .map_err(|e| anyhow!("the admin console's client: {e}"))?;
        let admin_app = server
            .admin_router()
            .map_err(|e| anyhow!("admin API: {e}"))?
            .merge(
                server
                    .admin_console_router(base)
                    .map_err(|e| anyhow!("admin console: {e}"))?,
            );
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, admin_app).await {
                eprintln!("test admin listener stopped: {err}");
            }
        });
    }
    let router = server.router();
    Ok(tokio::spawn(async move {
        let app = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        let serve = async {
            if let Err(err) = axum::serve(listener, app).await {
                eprintln!("test server stopped: {err}");
            }
        };
        // As `portcullis serve` does, but often, so tests see a Redis that is back soon.
        let sync = server.sync_denylist_periodically(std::time::Duration::from_millis(200));
        tokio::join!(serve, sync);
    }))
}

/// The server's endpoints, read from its discovery document at start.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// `authorization_endpoint`.
    pub authorization: Url,
    /// `token_endpoint`.
    pub token: Url,
    /// `userinfo_endpoint`.
    pub userinfo: Url,
    /// `revocation_endpoint`.
    pub revocation: Url,
    /// `introspection_endpoint`.
    pub introspection: Url,
    /// `end_session_endpoint`.
    pub end_session: Url,
    /// `jwks_uri`.
    pub jwks: Url,
}

impl Endpoints {
    /// Reads the discovery document of the server at `base` whose issuer is `issuer` (endpoints
    /// it does not name fall back to the usual paths under the issuer).
    pub async fn discover(base: &Url, issuer: &str) -> anyhow::Result<Self> {
        let doc: serde_json::Value = reqwest::get(base.join(".well-known/openid-configuration")?)
            .await
            .context("fetching discovery")?
            .json()
            .await
            .context("discovery is not JSON")?;
        let get = |member: &str, fallback: &str| -> anyhow::Result<Url> {
            let raw = doc
                .get(member)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{issuer}{fallback}"));
            Url::parse(&raw).with_context(|| format!("{member} = {raw}"))
        };
        Ok(Self {
            authorization: get("authorization_endpoint", "/authorize")?,
            token: get("token_endpoint", "/token")?,
            userinfo: get("userinfo_endpoint", "/userinfo")?,
            revocation: get("revocation_endpoint", "/revoke")?,
            introspection: get("introspection_endpoint", "/introspect")?,
            end_session: get("end_session_endpoint", "/logout")?,
            jwks: get("jwks_uri", "/.well-known/jwks.json")?,
        })
    }
}

/// A running authorization server for tests.
///
/// ```no_run
/// # async fn demo() -> anyhow::Result<()> {
/// use portcullis_testkit::{ClientAuth, ClientSpec, CodeRequest, TestServer};
/// let server = TestServer::builder().start().await?;
/// server.add_client(ClientSpec::confidential("app", "app-secret-0123456789abcdef")
///     .redirect_uri("https://app.example/cb").scope("openid orders:read")).await?;
/// server.add_user("alice", "alice-password").await?;
/// let tokens = server.code_flow(
///     &ClientAuth::basic("app", "app-secret-0123456789abcdef"),
///     &CodeRequest::new("app", "https://app.example/cb", "openid orders:read"),
///     ("alice", "alice-password"),
/// ).await?;
/// server.advance(901); // the access token is now expired
/// # let _ = tokens; Ok(()) }
/// ```
///
/// The server task is aborted when the value is dropped.
#[derive(Debug)]
pub struct TestServer {
    base: Url,
    addr: std::net::SocketAddr,
    issuer: String,
    config: ServerConfig,
    store_url: String,
    store: Arc<dyn Store>,
    clock: Arc<FixedClock>,
    http: reqwest::Client,
    endpoints: Endpoints,
    task: JoinHandle<()>,
    tempdir: Option<tempfile::TempDir>,
    admin_base: Option<Url>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// A builder with the defaults: memory store, real start time, default settings.
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder {
            store: StoreKind::Memory,
            start_time: None,
            issuer: None,
            host: None,
            configure: Vec::new(),
            admin_listener: false,
        }
    }

    /// The directory holding the SQLite database and its journal files, for
    /// [`StoreKind::Sqlite`] (e.g. to read what is stored at rest); `None` for other stores.
    pub fn sqlite_dir(&self) -> Option<&std::path::Path> {
        self.tempdir.as_ref().map(tempfile::TempDir::path)
    }

    /// A server with the defaults.
    pub async fn start() -> anyhow::Result<Self> {
        Self::builder().start().await
    }

    /// Stops the server and starts a new one on the same address, issuer, clock and database.
    /// With a persistent store (SQLite, PostgreSQL) the store is reopened from its URL, so the
    /// restart shows what survives a process restart (DUR-2); the memory store is kept as is.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.task.abort();
        let _cancelled = (&mut self.task).await;
        if self.store_url != "memory:" {
            self.store = portcullis_server::store::connect(&self.store_url)
                .await
                .map_err(|e| anyhow!("store {}: {e}", self.store_url))?;
        }
        let mut listener = None;
        for _ in 0..50 {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(l) => {
                    listener = Some(l);
                    break;
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            }
        }
        let listener = listener.with_context(|| format!("rebinding {}", self.addr))?;
        self.task = spawn_server(listener, &self.config, &self.store, &self.clock, None).await?;
        Ok(())
    }

    /// A path (`/admin/console/`) on the admin listener of
    /// [`TestServerBuilder::admin_listener`]; an error when the server has none.
    pub fn admin_url(&self, path: &str) -> anyhow::Result<Url> {
        let base = self
            .admin_base
            .as_ref()
            .context("the test server was started without an admin listener")?;
        Ok(base.join(path)?)
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The issuer identifier (`http://127.0.0.1:PORT`, no trailing slash).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// A path (`/x`) or absolute URL resolved against the server.
    pub fn url(&self, path: &str) -> anyhow::Result<Url> {
        Ok(self.base.join(path)?)
    }

    /// The endpoints advertised by discovery.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The validated configuration the server runs with.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The store (shared with the server).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The clock (shared with the server).
    pub fn clock(&self) -> &Arc<FixedClock> {
        &self.clock
    }

    /// The server's current time, Unix seconds.
    pub fn now(&self) -> i64 {
        self.clock.now().as_secs()
    }

    /// Moves the server's clock forward.
    pub fn advance(&self, secs: i64) {
        self.clock.advance(secs);
    }

    /// A client without cookies that does not follow redirects.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Registers a client through the server's own validation.
    pub async fn add_client(&self, spec: ClientSpec) -> anyhow::Result<()> {
        portcullis_server::admin::add_client(
            self.store.as_ref(),
            self.clock.as_ref(),
            &self.config,
            spec.into_config(),
        )
        .await
        .map(|_| ())
        .map_err(|e| anyhow!("add_client: {e}"))
    }

    /// Registers a client, replacing the one with the same id (`clients add --replace`).
    pub async fn replace_client(&self, spec: ClientSpec) -> anyhow::Result<()> {
        portcullis_server::admin::replace_client(
            self.store.as_ref(),
            self.clock.as_ref(),
            &self.config,
            spec.into_config(),
        )
        .await
        .map(|_| ())
        .map_err(|e| anyhow!("replace_client: {e}"))
    }

    /// Rotates the signing keys as `portcullis keys rotate` does; returns the new key ids.
    /// The server picks them up at its next key reload (`key_reload_interval`).
    pub async fn rotate_keys(&self) -> anyhow::Result<Vec<String>> {
        portcullis_server::admin::rotate_keys(
            self.store.as_ref(),
            self.clock.as_ref(),
            &self.config,
            portcullis_server::admin::KeyRotation::Scheduled,
        )
        .await
        .map_err(|e| anyhow!("rotate_keys: {e}"))
    }

    /// Creates a user (`<name>@example.com`, display name = username) and returns its `sub`.
    /// The password hash uses cheap argon2id parameters so tests stay fast.
    pub async fn add_user(&self, username: &str, password: &str) -> anyhow::Result<String> {
        let record = user_record(username, password, self.now())?;
        let id = record.id.to_string();
        self.store
            .put_user(record)
            .await
            .map_err(|e| anyhow!("put_user: {e}"))?;
        Ok(id)
    }
}
