//! Three `portcullis serve` processes on one PostgreSQL database and one Redis, started at the
//! same moment behind a round-robin proxy that is their common issuer, as an operator runs them:
//! every node publishes the same JWKS at all times (at start and through a rotation, which
//! publishes before any node signs with the new key), a token from one node is accepted by the
//! others, a revocation on one is seen by all, a browser sign-in spread over the nodes works,
//! and racing redemptions of one code or one refresh token across the nodes have one winner.

use crate::common::{ALICE, ALICE_PASSWORD, API, WEB, WEB_CB, WEB_SECRET};
use crate::process::{Served, sealed_config};
use portcullis_jose::{Clock as _, SystemClock};
use portcullis_server::admin;
use portcullis_testkit::{
    Browser, ClientAuth, ClientSpec, CodeRequest, CodeResponse, Consent, Reply, oauth, user_record,
};
use portcullis_types::GrantType;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use url::Url;

const SCOPE: &str = "openid offline_access orders:read";
const SERVICE: &str = "nodes-service";
const SERVICE_SECRET: &str = "nodes-service-secret-0123456789abcdef";
const REDIS_URL: &str = "redis://127.0.0.1:6379";

async fn jwks(http: &reqwest::Client, node: &Served) -> Value {
    http.get(node.base().join(".well-known/jwks.json").unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The kids of a JWKS, sorted.
fn kids(set: &Value) -> Vec<String> {
    let mut kids: Vec<String> = set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    kids
}

async fn post(
    http: &reqwest::Client,
    node: &Served,
    path: &str,
    auth: &ClientAuth,
    form: &[(&str, &str)],
) -> Reply {
    oauth::post_form(http, node.base().join(path).unwrap().as_str(), auth, form)
        .await
        .unwrap()
}

/// Walks the browser through `authorize` (signing in when `login` is given) to its code.
async fn code_of(browser: &Browser, authorize: &Url, login: Option<(&str, &str)>) -> String {
    browser
        .walk(authorize, login, Consent::Approve)
        .await
        .and_then(|o| o.redirect())
        .and_then(CodeResponse::from_redirect)
        .unwrap()
        .code
}

fn header_kid(token: &str) -> String {
    let (header, _) = portcullis_jose::dangerous::decode_unverified(token).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_on_postgres_and_redis_agree() {
    let Some((database, store)) = crate::common::postgres_schema("nodes3").await else {
        return;
    };
    if !crate::common::redis_reachable(REDIS_URL).await {
        return;
    }
    let config = sealed_config();
    for spec in [
        ClientSpec::confidential(WEB, WEB_SECRET)
            .redirect_uri(WEB_CB)
            .grant_types(&[GrantType::AuthorizationCode, GrantType::RefreshToken])
            .scope(SCOPE)
            .audience(&[API]),
        ClientSpec::confidential(SERVICE, SERVICE_SECRET)
            .grant_types(&[GrantType::ClientCredentials])
            .scope("orders:read")
            .audience(&[API]),
    ] {
        admin::add_client(&store, &SystemClock, &config, spec.into_config())
            .await
            .unwrap();
    }
    portcullis_server::store::UserStore::put_user(
        &store,
        user_record(ALICE, ALICE_PASSWORD, SystemClock.now().as_secs()).unwrap(),
    )
    .await
    .unwrap();

    // The proxy's address is the issuer; keys reload every second so a rotation is seen soon.
    let lb_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let lb_port = lb_listener.local_addr().unwrap().port();
    drop(lb_listener);
    let issuer = format!("http://127.0.0.1:{lb_port}");
    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("portcullis.toml");
    std::fs::write(
        &config_file,
        "version = 1\n[keys]\nreload_interval = 1\nrotation_delay = 61\n",
    )
    .unwrap();
    let envs = [
        ("PORTCULLIS_ISSUER", issuer.as_str()),
        ("PORTCULLIS_REDIS_URL", REDIS_URL),
        ("PORTCULLIS_CONFIG", config_file.to_str().unwrap()),
    ];
    let logs: Vec<_> = (0..3)
        .map(|i| dir.path().join(format!("node{i}.log")))
        .collect();
    let (a, b, c) = tokio::join!(
        Served::start(&database, &envs, &logs[0]),
        Served::start(&database, &envs, &logs[1]),
        Served::start(&database, &envs, &logs[2]),
    );
    let nodes = [a, b, c];
    let addrs: Vec<String> = nodes
        .iter()
        .map(|n| format!("127.0.0.1:{}", n.base().port().unwrap()))
        .collect();
    // The proxy takes the port the issuer names.
    let lb = {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let port = round_robin_on(lb_port, addrs.clone()).await;
            if let Some(port) = port {
                break port;
            }
            assert!(Instant::now() < deadline, "the proxy port was taken");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    assert_eq!(lb, lb_port);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // One key per algorithm, the same JWKS on every node.
    let first = jwks(&http, &nodes[0]).await;
    assert_eq!(kids(&first).len(), 2, "{first}");
    for node in &nodes[1..] {
        assert_eq!(kids(&jwks(&http, node).await), kids(&first));
    }

    // A token from one node is active on the others; a revocation on one is seen by all.
    let service = ClientAuth::basic(SERVICE, SERVICE_SECRET);
    let issued = post(
        &http,
        &nodes[0],
        "token",
        &service,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    let token = issued.str("access_token").unwrap().to_owned();
    for node in &nodes[1..] {
        let r = post(&http, node, "introspect", &service, &[("token", &token)]).await;
        assert_eq!(r.json["active"], true, "{}", r.body);
    }
    let revoked = post(&http, &nodes[1], "revoke", &service, &[("token", &token)]).await;
    assert_eq!(revoked.status, 200);
    for node in [&nodes[0], &nodes[2]] {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let r = post(&http, node, "introspect", &service, &[("token", &token)]).await;
            if r.json["active"] == false {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "revocation not seen within the cache second"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // A browser sign-in through the proxy (each request to the next node), then one code
    // redeemed on all three nodes at once: one winner.
    let lb_base = Url::parse(&format!("{issuer}/")).unwrap();
    let browser = Browser::new(lb_base.clone()).unwrap();
    let request = CodeRequest::new(WEB, WEB_CB, SCOPE);
    let authorize = request.url_at(&lb_base.join("authorize").unwrap());
    let code = code_of(&browser, &authorize, Some((ALICE, ALICE_PASSWORD))).await;
    let web = ClientAuth::basic(WEB, WEB_SECRET);
    let form = request.redeem_form(&code);
    let (r0, r1, r2) = tokio::join!(
        post(&http, &nodes[0], "token", &web, &form),
        post(&http, &nodes[1], "token", &web, &form),
        post(&http, &nodes[2], "token", &web, &form),
    );
    let winners: Vec<&Reply> = [&r0, &r1, &r2]
        .into_iter()
        .filter(|r| r.status == 200)
        .collect();
    assert_eq!(winners.len(), 1, "{} / {} / {}", r0.body, r1.body, r2.body);
    // The losing redemptions were replays: the grant is revoked (CODE-2), so its access token
    // is no longer active anywhere.
    let old_kid = header_kid(winners[0].str("access_token").unwrap());

    // A new code (the browser's session, held in the database, is seen by every node), redeemed
    // once; its refresh token is then raced across the nodes.
    let code = code_of(&browser, &authorize, None).await;
    let redeemed = post(&http, &nodes[2], "token", &web, &request.redeem_form(&code)).await;
    assert_eq!(redeemed.status, 200, "{}", redeemed.body);
    let refresh = redeemed
        .str("refresh_token")
        .unwrap_or_else(|| panic!("no refresh token: {}", redeemed.body))
        .to_owned();

    // The refresh token raced across the nodes: one rotation wins.
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ];
    let (r0, r1, r2) = tokio::join!(
        post(&http, &nodes[0], "token", &web, &form),
        post(&http, &nodes[1], "token", &web, &form),
        post(&http, &nodes[2], "token", &web, &form),
    );
    let ok = [&r0, &r1, &r2]
        .into_iter()
        .filter(|r| r.status == 200)
        .count();
    // At most one rotation wins (the losers are reuse and revoke the family, which may also
    // take the winner's answer back: RT-3 and RT-4 over three processes).
    assert!(ok <= 1, "{} / {} / {}", r0.body, r1.body, r2.body);

    // A rotation is published by every node before any signs with it.
    admin::rotate_keys(&store, &SystemClock, &config, admin::KeyRotation::Scheduled)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let published = loop {
        let sets = [
            kids(&jwks(&http, &nodes[0]).await),
            kids(&jwks(&http, &nodes[1]).await),
            kids(&jwks(&http, &nodes[2]).await),
        ];
        if sets.iter().all(|s| s.len() == 4) {
            assert!(sets.iter().all(|s| *s == sets[0]), "{sets:?}");
            break sets[0].clone();
        }
        assert!(
            Instant::now() < deadline,
            "rotation not published everywhere: {sets:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(published.contains(&old_kid));
    for node in &nodes {
        let r = post(
            &http,
            node,
            "token",
            &service,
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!(
            header_kid(r.str("access_token").unwrap()),
            old_kid,
            "signed with an unannounced key"
        );
    }
}

/// A round-robin TCP proxy to `nodes` on exactly `port` (the issuer's address, which clients
/// and browsers use); `None` if the port was taken meanwhile.
async fn round_robin_on(port: u16, nodes: Vec<String>) -> Option<u16> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .ok()?;
    let next = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            let target = nodes[next.fetch_add(1, Ordering::Relaxed) % nodes.len()].clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    Some(port)
}
