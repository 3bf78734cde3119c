//! Discovery (OIDC Discovery, RFC 8414), the JWK Set and the health endpoints: issuer identity,
//! safe advertised values, public-only key material.

use crate::common::Env;
use serde_json::Value;

fn strings(doc: &Value, member: &str) -> Vec<String> {
    doc.get(member)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{member} missing or not an array"))
        .iter()
        .map(|v| v.as_str().expect("string").to_owned())
        .collect()
}

#[tokio::test]
async fn iss_2_discovery_issuer_equals_fetch_prefix() {
    let env = Env::start().await;
    let server = &env.server;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let reply = server.get(path).await.unwrap();
        assert_eq!(reply.status, 200, "{path}");
        assert!(
            reply
                .header("content-type")
                .unwrap_or_default()
                .starts_with("application/json"),
            "{path} content type"
        );
        assert_eq!(reply.str("issuer"), Some(server.issuer()), "{path}");
        // Every endpoint lives under the issuer.
        for member in [
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "revocation_endpoint",
            "introspection_endpoint",
        ] {
            let url = reply.str(member).unwrap_or_else(|| panic!("{member}"));
            assert!(url.starts_with(server.issuer()), "{member} = {url}");
        }
    }
    let oidc = server.discovery().await.unwrap();
    for member in ["userinfo_endpoint", "end_session_endpoint"] {
        let url = oidc.get(member).and_then(Value::as_str).unwrap();
        assert!(url.starts_with(server.issuer()), "{member} = {url}");
    }
}

#[tokio::test]
async fn iss_2_every_token_iss_equals_issuer_byte_for_byte() {
    let env = Env::start().await;
    let tokens = env.web_tokens("openid orders:read").await;
    let at = env
        .server
        .verify_access_token(&tokens.access_token, crate::common::API)
        .await
        .unwrap();
    assert_eq!(at["iss"], env.server.issuer());
    let id = env
        .server
        .verify_id_token(tokens.id_token.as_deref().unwrap(), crate::common::WEB)
        .await
        .unwrap();
    assert_eq!(id["iss"], env.server.issuer());
}

#[tokio::test]
async fn iss_3_metadata_advertises_only_safe_values() {
    let env = Env::start().await;
    let doc = env.server.discovery().await.unwrap();
    assert_eq!(strings(&doc, "code_challenge_methods_supported"), ["S256"]);
    assert_eq!(strings(&doc, "response_types_supported"), ["code"]);
    let grants = strings(&doc, "grant_types_supported");
    assert!(grants.iter().any(|g| g == "authorization_code"));
    assert!(grants.iter().any(|g| g == "refresh_token"));
    assert!(grants.iter().any(|g| g == "client_credentials"));
    assert!(!grants.iter().any(|g| g == "password"), "{grants:?}");
    assert!(!grants.iter().any(|g| g == "implicit"), "{grants:?}");
    let methods = strings(&doc, "token_endpoint_auth_methods_supported");
    for m in [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ] {
        assert!(methods.iter().any(|x| x == m), "{m} not in {methods:?}");
    }
    let id_algs = strings(&doc, "id_token_signing_alg_values_supported");
    assert!(id_algs.iter().any(|a| a == "RS256"), "{id_algs:?}");
    assert!(!id_algs.iter().any(|a| a == "none"), "{id_algs:?}");
    let scopes = strings(&doc, "scopes_supported");
    assert!(scopes.iter().any(|s| s == "openid"));
    assert!(strings(&doc, "subject_types_supported").contains(&"public".to_owned()));
}

#[tokio::test]
async fn iss_1_metadata_advertises_iss_parameter() {
    let env = Env::start().await;
    let doc = env.server.discovery().await.unwrap();
    assert_eq!(
        doc["authorization_response_iss_parameter_supported"],
        Value::Bool(true)
    );
}

#[tokio::test]
async fn key_1_jwks_publishes_only_public_members() {
    let env = Env::start().await;
    let reply = env.server.get("/.well-known/jwks.json").await.unwrap();
    assert_eq!(reply.status, 200);
    let keys = reply.json["keys"].as_array().expect("keys array");
    assert!(!keys.is_empty());
    let mut kids = std::collections::HashSet::new();
    for key in keys {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(key.get(private).is_none(), "JWKS leaks {private}: {key}");
        }
        assert!(key.get("alg").is_some(), "every key names its alg: {key}");
        let kid = key["kid"].as_str().expect("every key has a kid");
        assert!(kids.insert(kid.to_owned()), "duplicate kid {kid} (KEY-2)");
    }
    // The JWKS publishes a key for RS256 (OIDC default) and for the access-token algorithm.
    let algs: Vec<&str> = keys.iter().filter_map(|k| k["alg"].as_str()).collect();
    assert!(algs.contains(&"RS256"), "{algs:?}");
    assert!(algs.contains(&"ES256"), "{algs:?}");
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let env = Env::start().await;
    assert_eq!(env.server.get("/healthz").await.unwrap().status, 200);
    assert_eq!(env.server.get("/readyz").await.unwrap().status, 200);
}

#[tokio::test]
async fn red_13_no_cors_on_authorize_but_cors_on_metadata() {
    let env = Env::start().await;
    let http = env.server.http();
    let authorize = env.server.endpoints().authorization.clone();
    let resp = http
        .request(reqwest::Method::OPTIONS, authorize.clone())
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers().get("access-control-allow-origin").is_none(),
        "preflight to /authorize allowed CORS"
    );
    let resp = http
        .get(authorize)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    let resp = http
        .get(env.server.url("/.well-known/openid-configuration").unwrap())
        .header("origin", "https://spa.example")
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers().get("access-control-allow-origin").is_some(),
        "metadata should be readable cross-origin"
    );
}
