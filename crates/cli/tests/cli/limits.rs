//! What `serve` bounds: connection timeouts and the connection cap, oversized and slow bodies,
//! and the garbage collection of expired state (by `portcullis gc` and periodically).

use crate::common::*;
use serde_json::Value;
use std::io::Write as _;
use std::time::{Duration, Instant};

/// A raw connection to a served instance.
fn connect(served: &Served) -> std::net::TcpStream {
    let addr = served.base.trim_start_matches("http://");
    let stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Reads until the server closes the connection; what it sent and how long that took.
fn read_until_closed(stream: &mut std::net::TcpStream) -> (String, Duration) {
    use std::io::Read as _;
    let start = Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the server kept the connection open ({e})"),
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        start.elapsed(),
    )
}

#[tokio::test]
async fn dos_1_slowloris_and_idle_keep_alive_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(&["--header-read-timeout", "1"], dir.path()).await;
    tokio::task::spawn_blocking(move || {
        // Half a request head, never finished.
        let mut slow = connect(&served);
        slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .unwrap();
        let (_, took) = read_until_closed(&mut slow);
        assert!(took < Duration::from_secs(4), "closed after {took:?}");

        // A kept-alive connection that goes idle after its response.
        let mut idle = connect(&served);
        idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let (received, took) = read_until_closed(&mut idle);
        assert!(received.starts_with("HTTP/1.1 200"), "{received}");
        assert!(took < Duration::from_secs(4), "closed after {took:?}");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn dos_1_connections_beyond_the_cap_are_refused_until_idle_ones_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(
        &["--header-read-timeout", "2", "--max-connections", "4"],
        dir.path(),
    )
    .await;
    // Let the readiness probe's connection close.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base = served.base.clone();
    let idle: Vec<_> = (0..4).map(|_| connect(&served)).collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut refused = connect(&served);
    let (received, took) = tokio::task::spawn_blocking(move || read_until_closed(&mut refused))
        .await
        .unwrap();
    assert!(received.is_empty(), "{received}");
    assert!(took < Duration::from_secs(1), "refused after {took:?}");
    // Once the idle connections time out, real requests are served again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let resp = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(resp.status(), 200);
    drop(idle);
}

#[tokio::test]
async fn dos_5_huge_content_length_is_refused_before_the_body() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(&[], dir.path()).await;
    tokio::task::spawn_blocking(move || {
        let mut stream = connect(&served);
        stream
            .write_all(
                b"POST /token HTTP/1.1\r\nHost: x\r\n\
                  Content-Type: application/x-www-form-urlencoded\r\n\
                  Content-Length: 10000000000\r\n\r\n",
            )
            .unwrap();
        let (received, took) = read_until_closed(&mut stream);
        assert!(received.starts_with("HTTP/1.1 413"), "{received}");
        assert!(took < Duration::from_secs(3), "answered after {took:?}");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn dos_5_slow_body_is_cut_off_by_the_request_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("portcullis.toml");
    std::fs::write(&path, "version = 1\n[http]\nrequest_timeout_secs = 1\n").unwrap();
    let served = serve(&["--config", path.to_str().unwrap()], dir.path()).await;
    tokio::task::spawn_blocking(move || {
        let mut stream = connect(&served);
        stream
            .write_all(
                b"POST /token HTTP/1.1\r\nHost: x\r\n\
                  Content-Type: application/x-www-form-urlencoded\r\n\
                  Content-Length: 100\r\n\r\ngrant_type",
            )
            .unwrap();
        let (received, took) = read_until_closed(&mut stream);
        assert!(received.starts_with("HTTP/1.1 408"), "{received}");
        assert!(took < Duration::from_secs(4), "answered after {took:?}");
    })
    .await
    .unwrap();
}

/// Stores an authorization code that expired long ago in the database at `url`.
async fn store_expired_code(url: &str, hash: &str) {
    let store = portcullis_server::store::connect(url).await.unwrap();
    store
        .insert_code(portcullis_server::store::CodeRecord {
            code_hash: hash.into(),
            client_id: "c1".into(),
            user_id: "u1".into(),
            grant_id: "g1".into(),
            redirect_uri: "https://app.example/cb".into(),
            scope: portcullis_types::Scope::parse("openid").unwrap(),
            nonce: None,
            code_challenge: None,
            code_challenge_method: None,
            auth_time: 1,
            sid: None,
            resource: vec![],
            extra: Value::Null,
            expires_at: 10,
            consumed_at: None,
        })
        .await
        .unwrap();
}

/// Whether the code is still stored.
async fn code_exists(url: &str, hash: &str) -> bool {
    let store = portcullis_server::store::connect(url).await.unwrap();
    !matches!(
        store.consume_code(hash, 20).await.unwrap(),
        portcullis_server::store::ConsumeOutcome::NotFound
    )
}

#[tokio::test]
async fn dur_4_gc_command_removes_expired_state_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    store_expired_code(&url, "h-gc-cmd").await;
    let out = tokio::task::spawn_blocking({
        let url = url.clone();
        move || portcullis(&["gc", "--database", &url])
    })
    .await
    .unwrap();
    assert_eq!(ok(&out).trim(), "removed 1 expired records");
    assert!(!code_exists(&url, "h-gc-cmd").await);
}

#[tokio::test]
async fn dur_4_serve_removes_expired_state_periodically() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    store_expired_code(&url, "h-gc-serve").await;
    let mut served = serve(&["--gc-interval", "1"], dir.path()).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while code_exists(&url, "h-gc-serve").await {
        assert!(
            Instant::now() < deadline,
            "the expired code was never removed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let output = served.kill_and_collect();
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(logs.contains("expired state removed"), "{logs}");
}
