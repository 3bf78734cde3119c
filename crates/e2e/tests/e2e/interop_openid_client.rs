//! Interoperability with Node's `openid-client` (panva): discovery, the code flow with PKCE
//! (state, nonce and RFC 9207 `iss` checked by the library), userinfo and refresh rotation.
//! Skipped with a notice when Node 20+ or the npm package is unavailable, unless
//! `PORTCULLIS_E2E_NODE=1` requires it.

use crate::common::*;
use portcullis_testkit::Consent;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::Command;

pub(crate) fn node_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("node")
}

/// Whether Node and the packages are ready (installing them when missing).
pub(crate) async fn node_ready() -> Result<(), String> {
    let out = Command::new("node")
        .arg("--version")
        .output()
        .await
        .map_err(|e| format!("node not found: {e}"))?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major < 20 {
        return Err(format!("node {version} is older than 20"));
    }
    if ["openid-client", "oidc-provider"]
        .iter()
        .all(|p| node_dir().join("node_modules").join(p).exists())
    {
        return Ok(());
    }
    let install = tokio::time::timeout(
        Duration::from_secs(120),
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(node_dir())
            .output(),
    )
    .await
    .map_err(|_| "npm ci timed out".to_owned())?
    .map_err(|e| format!("npm not found: {e}"))?;
    if !install.status.success() {
        return Err(format!(
            "npm ci failed: {}",
            String::from_utf8_lossy(&install.stderr)
        ));
    }
    Ok(())
}

async fn run(env: &Env, client_id: &str, secret: &str, redirect: &str) -> Value {
    let mut child = Command::new("node")
        .arg("interop.mjs")
        .args([env.server.issuer(), client_id, secret, redirect])
        .current_dir(node_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn node");
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stdin = child.stdin.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let stderr_task = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        let mut all = String::new();
        while let Ok(Some(line)) = lines.next_line().await {
            all.push_str(&line);
            all.push('\n');
        }
        all
    });

    let mut next = async |prefix: &str| -> Option<String> {
        tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = stdout.next_line().await {
                if let Some(rest) = line.strip_prefix(prefix) {
                    return Some(rest.to_owned());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
    };
    let Some(authorize) = next("AUTHORIZE ").await else {
        let _ = child.kill().await;
        panic!(
            "openid-client printed no authorize URL: {}",
            stderr_task.await.unwrap()
        );
    };
    let browser = env.server.browser().unwrap();
    let callback = browser
        .walk(
            &url::Url::parse(&authorize).unwrap(),
            Some((ALICE, ALICE_PASSWORD)),
            Consent::Approve,
        )
        .await
        .unwrap()
        .redirect()
        .unwrap();
    stdin
        .write_all(format!("{callback}\n").as_bytes())
        .await
        .unwrap();
    stdin.flush().await.unwrap();
    let Some(result) = next("RESULT ").await else {
        let _ = child.kill().await;
        panic!("openid-client failed: {}", stderr_task.await.unwrap());
    };
    serde_json::from_str(&result).unwrap()
}

async fn check(client_id: &str, secret: &str, redirect: &str) {
    if let Err(why) = node_ready().await {
        if std::env::var_os("PORTCULLIS_E2E_NODE").is_some() {
            panic!("openid-client interop required: {why}");
        }
        eprintln!("skipping the openid-client interop test: {why}");
        return;
    }
    let env = Env::start().await;
    let result = run(&env, client_id, secret, redirect).await;
    assert_eq!(result["sub"], env.alice_sub.as_str());
    assert_eq!(result["userinfo_sub"], env.alice_sub.as_str());
    assert_eq!(result["iss"], env.server.issuer());
    assert_eq!(result["email"], "alice@example.com");
    assert_eq!(result["rotated"], true);
    assert_eq!(result["reuse_refused"], true);
}

#[tokio::test]
async fn interop_openid_client_confidential_client() {
    check(WEB, WEB_SECRET, WEB_CB).await;
}

#[tokio::test]
async fn interop_openid_client_public_client() {
    check(SPA, "", SPA_CB).await;
}
