//! A real `portcullis serve` process, for the flows an in-process server cannot show: a crash
//! (SIGKILL) and a restart on the same database, or an environment of its own (`TZ`). The
//! binary is built by cargo on first use (a no-op when it is fresh); the process listens on a
//! free loopback port and is killed when dropped.

use portcullis_server::at_rest::{Kek, KeyEncryption};
use portcullis_server::config::{ServerConfig, ServerSettings};
use portcullis_testkit::{Endpoints, TEST_KEK};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use url::Url;

/// How long a starting server may take to answer `/healthz` (a bound, not a timing assertion).
const START_DEADLINE: Duration = Duration::from_secs(60);

/// The configuration to register clients with in a database a spawned server will open: their
/// secrets' digests are keyed with the pepper sealed under the test kit's key, which the spawned
/// server is given too.
pub fn sealed_config() -> ServerConfig {
    let mut settings = ServerSettings::new("http://127.0.0.1");
    settings.key_encryption = KeyEncryption::sealed(Kek::from_bytes(TEST_KEK), None);
    ServerConfig::new(settings).expect("a valid configuration")
}

/// The `portcullis` binary of this build profile, built by cargo if needed. Only the CLI
/// package's own tests get `CARGO_BIN_EXE_portcullis`, so this asks cargo for the binary in the
/// target directory this test binary was built into.
fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test binary's path");
        // <target>/<profile dir>/deps/<test binary>
        let profile_dir = exe.parent().and_then(Path::parent).expect("profile dir");
        let target_dir = profile_dir.parent().expect("target dir");
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev",
            Some(other) => other,
        };
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        // Cargo describes this test's own package in the environment; build scripts that watch
        // those variables (ring's watches CARGO_MANIFEST_DIR) would otherwise rebuild each time.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("CARGO_PKG_")
                || name.starts_with("CARGO_MANIFEST_")
                || [
                    "CARGO_CRATE_NAME",
                    "CARGO_BIN_NAME",
                    "CARGO_PRIMARY_PACKAGE",
                    "CARGO_TARGET_TMPDIR",
                    "CARGO_RUSTC_CURRENT_DIR",
                ]
                .contains(&name.as_ref())
            {
                build.env_remove(name.as_ref());
            }
        }
        let status = build
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([
                "build",
                "--quiet",
                "-p",
                "portcullis-cli",
                "--bin",
                "portcullis",
            ])
            .args(["--profile", profile])
            .arg("--target-dir")
            .arg(target_dir)
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building portcullis failed: {status}");
        let bin = profile_dir.join(format!("portcullis{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.exists(), "no binary at {}", bin.display());
        bin
    })
}

/// How to start the server again: the same command, address and database.
struct Launch {
    listen: String,
    database: String,
    envs: Vec<(String, String)>,
    log: PathBuf,
    base: Url,
}

impl Launch {
    /// Spawns the process and waits until `/healthz` answers.
    async fn spawn(&self) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("server log file");
        let mut cmd = Command::new(binary());
        cmd.args([
            "serve",
            "--listen",
            &self.listen,
            "--database",
            &self.database,
        ])
        .args(["--gc-interval", "0"])
        .env_remove("PORTCULLIS_CONFIG")
        .env_remove("PORTCULLIS_ISSUER")
        .env_remove("PORTCULLIS_LISTEN")
        .env_remove("PORTCULLIS_DATABASE_URL")
        .env_remove("PORTCULLIS_REDIS_URL")
        .env_remove("PORTCULLIS_KEY_ENCRYPTION_KEY_PREVIOUS")
        .env_remove("PORTCULLIS_ALLOW_PLAINTEXT_KEYS")
        .env(
            "PORTCULLIS_KEY_ENCRYPTION_KEY",
            Kek::from_bytes(TEST_KEK).to_base64url().as_str(),
        )
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn portcullis serve");
        let health = self.base.join("healthz").unwrap();
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if let Ok(resp) = reqwest::get(health.clone()).await
                && resp.status() == 200
            {
                return child;
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "portcullis serve exited with {status}:\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "portcullis serve did not answer /healthz in time"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A `portcullis serve` child process on `127.0.0.1`, killed when dropped.
pub struct Served {
    launch: Launch,
    child: Option<Child>,
    /// The issuer (`http://127.0.0.1:PORT`, from the listen address, unless
    /// `PORTCULLIS_ISSUER` was given).
    pub issuer: String,
    /// The endpoints its discovery document names.
    pub endpoints: Endpoints,
}

impl Served {
    /// Starts `portcullis serve` on a free port with `database`, the environment `envs` added,
    /// and its log appended to `log`; returns once `/healthz` answers.
    pub async fn start(database: &str, envs: &[(&str, &str)], log: &Path) -> Served {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listen = format!("127.0.0.1:{port}");
        let launch = Launch {
            base: Url::parse(&format!("http://{listen}/")).unwrap(),
            listen,
            database: database.to_owned(),
            envs: envs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            log: log.to_owned(),
        };
        let child = launch.spawn().await;
        // The issuer the process was given (several nodes behind one address), else the one
        // its loopback listen address gives.
        let issuer = envs
            .iter()
            .find(|(k, _)| *k == "PORTCULLIS_ISSUER")
            .map_or_else(
                || format!("http://{}", launch.listen),
                |(_, v)| (*v).to_owned(),
            );
        let endpoints = Endpoints::discover(&launch.base, &issuer)
            .await
            .expect("discovery");
        Served {
            launch,
            child: Some(child),
            issuer,
            endpoints,
        }
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn base(&self) -> &Url {
        &self.launch.base
    }

    /// Kills the process with SIGKILL (no shutdown, nothing flushed) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reap the killed server");
        }
    }

    /// Starts the process again on the same address and database.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "restart of a running server");
        self.child = Some(self.launch.spawn().await);
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
