//! Signing in through node-oidc-provider, an OpenID provider written by others: the upstream
//! runs as a Node process (`crates/e2e/node/upstream.mjs`) with its own discovery, keys, PKCE,
//! RFC 9207 `iss` and userinfo, and the web client of this server gets its usual tokens for the
//! user, with the groups and roles mapped from the upstream's `groups` claim. Skipped with a
//! notice when Node 20+ or the npm packages are unavailable, unless `PORTCULLIS_E2E_NODE=1`
//! requires it.

use std::process::Stdio;
use std::time::Duration;

use crate::common::*;
use crate::interop_openid_client::{node_dir, node_ready};
use portcullis_server::admin::NewUpstream;
use portcullis_server::store::{UpstreamId, UpstreamKind};
use portcullis_testkit::{
    Browser, CodeRequest, CodeResponse, Consent, Outcome, Tokens, decode_jwt_parts, query_param,
};
use portcullis_types::{ClientSecret, GroupName};
use serde_json::json;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};
use url::Url;

const NODE: &str = "node-idp";
const CLIENT: &str = "portcullis";
const SECRET: &str = "node-upstream-secret-5b0c7a1e9d2f4386";
const GRACE_PASSWORD: &str = "grace-password-at-node-1";

/// A running node-oidc-provider and its issuer.
struct NodeProvider {
    issuer: String,
    _child: Child,
}

/// Starts node-oidc-provider with one account, `grace`, in the upstream group `ops`; `None`
/// (after a notice) when Node is not set up and not required.
async fn start_node(callback: &str) -> Option<NodeProvider> {
    if let Err(why) = node_ready().await {
        if std::env::var_os("PORTCULLIS_E2E_NODE").is_some() {
            panic!("node-oidc-provider required: {why}");
        }
        eprintln!("skipping the node-oidc-provider upstream test: {why}");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let accounts = json!({
        "grace": {
            "password": GRACE_PASSWORD, "email": "grace@example.net", "email_verified": true,
            "name": "Grace Hopper", "groups": ["ops", "unmapped"]
        }
    });
    let mut child = Command::new("node")
        .arg("upstream.mjs")
        .current_dir(node_dir())
        .env("PORT", port.to_string())
        .env("CLIENT_ID", CLIENT)
        .env("CLIENT_SECRET", SECRET)
        .env("REDIRECT_URI", callback)
        .env("ACCOUNTS", accounts.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn node");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let issuer = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(issuer) = line.strip_prefix("READY ") {
                return Some(issuer.to_owned());
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .expect("node-oidc-provider did not start");
    // Keep reading what it prints, so that it never writes into a closed pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Some(NodeProvider {
        issuer,
        _child: child,
    })
}

/// This server with node-oidc-provider registered as `node-idp` (upstream group `ops` →
/// `operations`, which gives the role `orders:read`), or `None` when skipped.
async fn setup() -> Option<(Env, NodeProvider)> {
    let env = Env::start().await;
    let callback = format!("{}/upstream/{NODE}/callback", env.server.issuer());
    let node = start_node(&callback).await?;
    env.put_upstream(NewUpstream {
        id: UpstreamId::parse(NODE).unwrap(),
        kind: UpstreamKind::Oidc {
            issuer: node.issuer.clone(),
            userinfo: true,
            groups_claim: None,
        },
        display_name: Some("Node IdP".into()),
        client_id: CLIENT.into(),
        client_secret: ClientSecret::new(SECRET),
        scopes: vec!["groups".into()],
        trust_email: false,
        only: false,
        groups: [("ops".to_owned(), GroupName::parse("operations").unwrap())].into(),
    })
    .await;
    env.group_with_role_visible_to_web("operations", "orders:read", "openid profile email")
        .await;
    Some((env, node))
}

/// Walks a web-client request naming the upstream to node-oidc-provider, signs grace in there
/// and returns the request and the callback the upstream sends the browser to.
async fn through_node(env: &Env, node: &NodeProvider, browser: &Browser) -> (CodeRequest, Url) {
    let request = env
        .web_request("openid profile email")
        .param("idp_hint", NODE);
    let to_node = match browser
        .walk(&request.url(&env.server), None, Consent::Approve)
        .await
        .unwrap()
    {
        Outcome::Redirect(url) => url,
        Outcome::Page(page) => panic!("not sent upstream: {} {}", page.status, page.body),
    };
    assert!(to_node.as_str().starts_with(&node.issuer), "{to_node}");
    assert_eq!(
        query_param(&to_node, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let at_node = Browser::new(Url::parse(&node.issuer).unwrap()).unwrap();
    let back = at_node
        .walk(&to_node, Some(("grace", GRACE_PASSWORD)), Consent::Approve)
        .await
        .unwrap()
        .redirect()
        .unwrap();
    (request, back)
}

#[tokio::test]
async fn node_oidc_provider_upstream_sign_in_gives_our_tokens() {
    let Some((env, node)) = setup().await else {
        return;
    };
    let browser = env.server.browser().unwrap();
    let (request, back) = through_node(&env, &node, &browser).await;
    // node-oidc-provider answers with RFC 9207's `iss`.
    assert_eq!(
        query_param(&back, "iss").as_deref(),
        Some(node.issuer.as_str())
    );
    let redirect = browser
        .walk(&back, None, Consent::Approve)
        .await
        .unwrap()
        .redirect()
        .unwrap();
    let code = CodeResponse::from_redirect(redirect).unwrap().code;
    let tokens = Tokens::from_reply(
        env.server
            .redeem(&env.web_auth(), &code, &request)
            .await
            .unwrap(),
    )
    .unwrap();
    let at = env
        .server
        .verify_access_token(&tokens.access_token, API)
        .await
        .unwrap();
    assert_eq!(at["idp"], json!(NODE));
    assert_eq!(at["amr"], json!(["pwd"]));
    assert_eq!(at["groups"], json!(["operations"]));
    assert_eq!(at["roles"], json!(["orders:read"]));
    assert_ne!(at["sub"], json!("grace"), "a local sub, not the upstream's");
    let (_, id) = decode_jwt_parts(tokens.id_token.as_deref().unwrap()).unwrap();
    assert_eq!(id["sub"], at["sub"]);
    assert_eq!(id["email"], json!("grace@example.net"));
    assert_eq!(id["name"], json!("Grace Hopper"));
    assert_eq!(id["idp"], json!(NODE));
}

#[tokio::test]
async fn node_oidc_provider_callback_replayed_or_tampered_is_refused() {
    let Some((env, node)) = setup().await else {
        return;
    };
    let browser = env.server.browser().unwrap();
    let (_, back) = through_node(&env, &node, &browser).await;
    // ISS-4: an `iss` naming another issuer is refused, and that attempt spent the state.
    let mut tampered = back.clone();
    let pairs: Vec<(String, String)> = back
        .query_pairs()
        .map(|(k, v)| match k.as_ref() {
            "iss" => (k.into_owned(), "http://localhost:1".to_owned()),
            _ => (k.into_owned(), v.into_owned()),
        })
        .collect();
    tampered.query_pairs_mut().clear().extend_pairs(pairs);
    assert_eq!(browser.get(&tampered).await.unwrap().status, 400);
    assert_eq!(browser.get(&back).await.unwrap().status, 400);
    let account = browser
        .get(&env.server.url("/account").unwrap())
        .await
        .unwrap();
    assert_ne!(account.status, 200, "nobody was signed in");
}
