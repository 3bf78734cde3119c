//! `--audit-file`: every audit event appended to a file of its own, one JSON object per line,
//! each valid against `crates/server/audit-event.schema.json`; nothing else in it, no secret in
//! it, and the file readable by its owner only.

use crate::common::*;
use serde_json::Value;

const SCHEMA: &str = include_str!("../../../server/audit-event.schema.json");

#[tokio::test]
async fn audit_events_go_to_their_file_as_json_valid_against_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.jsonl");
    let mut served = serve(
        &["--dev", "--audit-file", file.to_str().unwrap()],
        dir.path(),
    )
    .await;
    let secret = "demo-app-secret-change-me";
    let wrong = "a-wrong-secret-0123456789";
    let token = |s| client_credentials_status(&served.base, "demo-app", s, Some("demo:read"));
    assert_eq!(token(secret).await, 200);
    assert_eq!(token(wrong).await, 401);
    let out = served.kill_and_collect();

    let text = std::fs::read_to_string(&file).unwrap();
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for event in &events {
        let errors: Vec<String> = validator
            .iter_errors(event)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{event}: {errors:?}");
        assert_eq!(event["target"], "audit", "{event}");
    }
    let named = |name: &str| {
        events
            .iter()
            .find(|e| e["event"] == name)
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    };
    let issued = named("token_issued");
    assert_eq!(issued["grant_type"], "client_credentials");
    assert_eq!(issued["client_id"], "demo-app");
    assert!(issued["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let failed = named("client_auth_failure");
    assert_eq!(failed["client_id"], "demo-app");
    assert_eq!(failed["level"], "WARN");
    assert!(!text.contains(secret) && !text.contains(wrong), "{text}");
    // Standard error keeps its own lines, audit records included.
    assert!(stderr(&out).contains("token_issued"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn an_audit_file_that_cannot_be_opened_stops_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-directory").join("audit.jsonl");
    let out = command(&[])
        .args([
            "--audit-file",
            missing.to_str().unwrap(),
            "clients",
            "list",
            "--database",
            &db_url(dir.path()),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot open the audit file"),
        "{}",
        stderr(&out)
    );
}
