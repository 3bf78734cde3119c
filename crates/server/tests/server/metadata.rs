//! Handler tests of the discovery documents (ISS-2, ISS-3), the JWKS (KEY-1), key rotation
//! with a publication delay (KEY-3) and the health endpoints.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use common::*;

#[tokio::test]
async fn iss_2_iss_3_discovery_documents() {
    let h = harness_with(|_| {}, false).await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let resp = send(&h.router, get(path, &[])).await;
        assert_eq!(resp.status(), 200);
        let doc = body_json(resp).await;
        assert_eq!(doc["issuer"], ISSUER);
        assert_eq!(
            doc["authorization_endpoint"],
            "https://as.example/authorize"
        );
        assert_eq!(doc["token_endpoint"], "https://as.example/token");
        assert_eq!(
            doc["device_authorization_endpoint"],
            "https://as.example/device_authorization"
        );
        assert_eq!(doc["jwks_uri"], "https://as.example/.well-known/jwks.json");
        assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
        assert_eq!(
            doc["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        assert_eq!(
            doc["grant_types_supported"],
            serde_json::json!([
                "authorization_code",
                "client_credentials",
                "refresh_token",
                "urn:ietf:params:oauth:grant-type:device_code",
                "urn:ietf:params:oauth:grant-type:token-exchange"
            ])
        );
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            serde_json::json!(["ES256", "RS256"])
        );
        let text = doc.to_string();
        assert!(!text.contains("\"token\""));
        assert!(!text.contains("password"));
        assert!(!text.contains("plain"));
    }
}

#[tokio::test]
async fn key_1_jwks_has_only_public_members() {
    let h = harness_with(|_| {}, false).await;
    let resp = send(&h.router, get("/.well-known/jwks.json", &[])).await;
    assert_eq!(resp.status(), 200);
    let doc = body_json(resp).await;
    let keys = doc["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for k in keys {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(k.get(private).is_none(), "{private} published");
        }
        assert!(k["kid"].is_string());
        assert_eq!(k["use"], "sig");
    }
    let algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert!(algs.contains(&"ES256") && algs.contains(&"RS256"));
}

#[tokio::test]
async fn health_endpoints() {
    let h = harness_with(|_| {}, false).await;
    assert_eq!(send(&h.router, get("/healthz", &[])).await.status(), 200);
    assert_eq!(send(&h.router, get("/readyz", &[])).await.status(), 200);
}

#[tokio::test]
async fn key_3_rotation_is_published_before_use() {
    let h = harness_with(|s| s.key_rotation_delay = 600, false).await;
    let config = h.server.config().clone();
    let new = portcullis_server::admin::rotate_keys(
        h.store.as_ref(),
        h.clock.as_ref(),
        &config,
        Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(new.len(), 2);
    // The next reload happens after the reload interval.
    h.clock.advance(61);
    let doc = body_json(send(&h.router, get("/.well-known/jwks.json", &[])).await).await;
    assert_eq!(doc["keys"].as_array().unwrap().len(), 4);
    let kids: Vec<String> = doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    for k in &new {
        assert!(kids.contains(k));
    }
    // Before the delay, tokens are still signed with the old key.
    let resp = send(
        &h.router,
        form_with(
            "/token",
            "grant_type=client_credentials",
            &[("authorization", &basic("svc", SVC_SECRET))],
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let token = body_json(resp).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (header, _) = portcullis_jose::dangerous::decode_unverified(&token).unwrap();
    assert!(!new.contains(&header["kid"].as_str().unwrap().to_owned()));
    // After the delay the new key signs.
    h.clock.advance(600);
    let resp = send(
        &h.router,
        form_with(
            "/token",
            "grant_type=client_credentials",
            &[("authorization", &basic("svc", SVC_SECRET))],
        ),
    )
    .await;
    let token = body_json(resp).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (header, _) = portcullis_jose::dangerous::decode_unverified(&token).unwrap();
    assert!(new.contains(&header["kid"].as_str().unwrap().to_owned()));
}
