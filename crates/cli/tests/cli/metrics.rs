//! `serve --admin-listen`: Prometheus metrics on a listener of their own, scraped after real
//! requests and checked by name; the public listener does not serve them.

use crate::common::*;

/// The value of the sample `name{labels}` in a Prometheus text exposition (labels in the order
/// the exporter writes them, as `k="v"` joined by commas).
fn sample(text: &str, name: &str, labels: &str) -> Option<f64> {
    let prefix = if labels.is_empty() {
        format!("{name} ")
    } else {
        format!("{name}{{{labels}}} ")
    };
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test]
async fn admin_listener_serves_the_metrics_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let admin = format!("127.0.0.1:{}", free_port());
    let served = serve(&["--dev", "--admin-listen", &admin], dir.path()).await;
    let http = reqwest::Client::new();
    let token =
        |secret| client_credentials_status(&served.base, "demo-app", secret, Some("demo:read"));
    assert_eq!(token("demo-app-secret-change-me").await, 200);
    assert_eq!(token("demo-app-secret-change-me").await, 200);
    assert_eq!(token("a-wrong-secret-0123456789").await, 401);
    let login = http
        .post(format!("{}/login", served.base))
        .form(&[("username", "demo"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert!(login.status().is_client_error(), "{}", login.status());

    // Not on the public listener.
    let public = http
        .get(format!("{}/metrics", served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 404);

    let scrape = http
        .get(format!("http://{admin}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scrape.status(), 200);
    assert!(
        scrape.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = scrape.text().await.unwrap();
    let has = |name: &str, labels: &str| {
        sample(&text, name, labels).unwrap_or_else(|| panic!("no {name}{{{labels}}} in\n{text}"))
    };
    assert_eq!(
        has(
            "portcullis_http_requests_total",
            r#"method="POST",route="/token",status="200""#
        ),
        2.0
    );
    assert_eq!(
        has(
            "portcullis_http_requests_total",
            r#"method="POST",route="/token",status="401""#
        ),
        1.0
    );
    assert_eq!(
        has(
            "portcullis_tokens_issued_total",
            r#"grant_type="client_credentials",client_id="demo-app""#
        ),
        2.0
    );
    assert_eq!(
        has(
            "portcullis_client_auth_failures_total",
            r#"method="client_secret_basic""#
        ),
        1.0
    );
    assert_eq!(
        has(
            "portcullis_build_info",
            &format!(r#"version="{}""#, env!("CARGO_PKG_VERSION"))
        ),
        1.0
    );
    assert!(
        text.contains("portcullis_http_request_duration_seconds_bucket{"),
        "{text}"
    );
    assert!(
        text.contains("portcullis_signing_key_age_seconds{alg=\"ES256\"}"),
        "{text}"
    );
    // The unmatched path is counted under a fixed label, not the path the client sent.
    assert!(!text.contains("route=\"/metrics\""), "{text}");
    assert!(text.contains("route=\"unmatched\""), "{text}");
}

#[test]
fn an_admin_address_in_use_stops_serve_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let admin = taken.local_addr().unwrap().to_string();
    let listen = format!("127.0.0.1:{}", free_port());
    let out = portcullis(&[
        "serve",
        "--dev",
        "--listen",
        &listen,
        "--database",
        &db_url(dir.path()),
        "--admin-listen",
        &admin,
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("binding the admin listener"), "{err}");
    assert!(err.contains(&admin), "{err}");
}
