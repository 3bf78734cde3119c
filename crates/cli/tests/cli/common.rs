//! Set-up shared by the CLI tests: running the built `portcullis` binary, a temporary SQLite
//! database, and a `serve` child process on a free port that is killed when dropped.

use serde_json::Value;
use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

/// The key-encryption key the tests run the binary with (bytes 0 to 31, base64url).
pub const TEST_KEK: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
/// Variable of the current key-encryption key.
pub const KEK_ENV: &str = "PORTCULLIS_KEY_ENCRYPTION_KEY";
/// Variable of the previous key-encryption key.
pub const KEK_PREVIOUS_ENV: &str = "PORTCULLIS_KEY_ENCRYPTION_KEY_PREVIOUS";
/// Variable of the plaintext opt-out.
pub const ALLOW_PLAINTEXT_ENV: &str = "PORTCULLIS_ALLOW_PLAINTEXT_KEYS";

/// The binary with [`TEST_KEK`] as its key-encryption key and nothing else of the caller's
/// key-encryption settings or admin API target; `envs` then sets (`Some`) or removes (`None`) variables.
pub fn command(envs: &[(&str, Option<&str>)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env(KEK_ENV, TEST_KEK)
        .env_remove(KEK_PREVIOUS_ENV)
        .env_remove(ALLOW_PLAINTEXT_ENV)
        .env_remove("PORTCULLIS_SERVER")
        .env_remove("PORTCULLIS_ADMIN_TOKEN");
    for (k, v) in envs {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd
}

pub fn portcullis(args: &[&str]) -> Output {
    portcullis_with(args, &[])
}

/// [`portcullis`] with variables set or removed as [`command`] does.
pub fn portcullis_with(args: &[&str], envs: &[(&str, Option<&str>)]) -> Output {
    command(envs)
        .args(args)
        .env_remove("PORTCULLIS_DATABASE_URL")
        .env_remove("PORTCULLIS_CONFIG")
        .env_remove("PORTCULLIS_ISSUER")
        .env_remove("PORTCULLIS_LISTEN")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("run portcullis")
}

pub fn portcullis_stdin(args: &[&str], input: &str) -> Output {
    portcullis_stdin_with(args, input, &[])
}

/// [`portcullis_stdin`] with variables set or removed as [`command`] does.
pub fn portcullis_stdin_with(args: &[&str], input: &str, envs: &[(&str, Option<&str>)]) -> Output {
    let mut child = command(envs)
        .args(args)
        .env_remove("PORTCULLIS_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn portcullis");
    // A command refused for its arguments exits before it reads standard input.
    match child.stdin.take().unwrap().write_all(input.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.unwrap(),
    }
    child.wait_with_output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status,
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

/// `portcullis WHAT list --json` against `db`, parsed.
pub fn list_json(what: &str, db: &str) -> Value {
    serde_json::from_str(&ok(&portcullis(&[
        what,
        "list",
        "--json",
        "--database",
        db,
    ])))
    .unwrap()
}

pub fn db_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("portcullis.db").display())
}

/// A `serve` child process that is killed when dropped.
pub struct Served {
    pub child: Option<Child>,
    pub base: String,
}

impl Served {
    pub fn child(&mut self) -> &mut Child {
        self.child.as_mut().unwrap()
    }

    /// Stops the process as an operator would (SIGTERM: a graceful shutdown that writes out the
    /// buffered log lines), killing it only if it has not exited within 30 s, and returns what
    /// it printed.
    pub fn kill_and_collect(&mut self) -> Output {
        let child = self.child.take().unwrap();
        let pid = child.id().to_string();
        let signal = move |name: &str| {
            let _ = std::process::Command::new("kill")
                .args([name, &pid])
                .status();
        };
        signal("-TERM");
        let (exited, watch) = std::sync::mpsc::channel::<()>();
        let watchdog = std::thread::spawn(move || {
            if watch
                .recv_timeout(std::time::Duration::from_secs(30))
                .is_err()
            {
                signal("-KILL");
            }
        });
        // Reads both pipes while the process shuts down, so a full pipe cannot hold it up.
        let output = child.wait_with_output().unwrap();
        let _ = exited.send(());
        let _ = watchdog.join();
        output
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

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The status of a client-credentials request to `base` with HTTP Basic authentication.
pub async fn client_credentials_status(
    base: &str,
    client: &str,
    secret: &str,
    scope: Option<&str>,
) -> reqwest::StatusCode {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    reqwest::Client::new()
        .post(format!("{base}/token"))
        .basic_auth(client, Some(secret))
        .form(&form)
        .send()
        .await
        .unwrap()
        .status()
}

pub async fn serve(extra: &[&str], dir: &Path) -> Served {
    serve_with(extra, dir, &[]).await
}

/// [`serve`] with variables set or removed as [`command`] does.
pub async fn serve_with(extra: &[&str], dir: &Path, envs: &[(&str, Option<&str>)]) -> Served {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let db = db_url(dir);
    let mut args = vec!["serve", "--listen", &listen, "--database", &db];
    args.extend_from_slice(extra);
    let child = command(envs)
        .args(&args)
        .env_remove("PORTCULLIS_ISSUER")
        .env("RUST_LOG", "info,portcullis_server=debug,tower_http=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let served = Served {
        child: Some(child),
        base: format!("http://{listen}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(resp) = reqwest::get(format!("{}/healthz", served.base)).await
            && resp.status() == 200
        {
            return served;
        }
        assert!(
            Instant::now() < deadline,
            "serve did not answer /healthz within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts `portcullis` with exactly these arguments and environment, and waits until
/// `base/healthz` answers.
pub async fn start(args: &[&str], envs: &[(&str, &str)], base: String) -> Served {
    let mut cmd = command(&[]);
    cmd.args(args)
        .env_remove("PORTCULLIS_ISSUER")
        .env_remove("PORTCULLIS_LISTEN")
        .env_remove("PORTCULLIS_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let served = Served {
        child: Some(cmd.spawn().unwrap()),
        base,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while reqwest::get(format!("{}/healthz", served.base))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "no answer at {}", served.base);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    served
}

pub async fn issuer_of(served: &Served) -> String {
    let doc: Value = reqwest::get(format!("{}/.well-known/openid-configuration", served.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    doc["issuer"].as_str().unwrap().to_owned()
}

/// Asserts the command failed and said `text` on standard error.
#[track_caller]
pub fn fails_with(out: &Output, text: &str) {
    assert!(!out.status.success(), "expected failure: {}", stdout(out));
    assert!(
        stderr(out).contains(text),
        "stderr lacks {text:?}: {}",
        stderr(out)
    );
}

/// Writes `toml` as `portcullis.toml` in `dir` and serves it on a free loopback port with a
/// SQLite database in `dir` and these variables; returns the server and the database URL.
pub async fn serve_config_file(dir: &Path, toml: &str, envs: &[(&str, &str)]) -> (Served, String) {
    let path = dir.join("portcullis.toml");
    std::fs::write(&path, toml).unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let db = db_url(dir);
    let served = start(
        &[
            "serve",
            "--config",
            path.to_str().unwrap(),
            "--listen",
            &listen,
            "--database",
            &db,
        ],
        envs,
        format!("http://{listen}"),
    )
    .await;
    (served, db)
}
