//! The same flows on the persistent stores: SQLite always, PostgreSQL when reachable (required
//! when `CI` is set), each PostgreSQL test in a schema of its own. Concurrency (CODE-3, RT-4) is
//! where backends differ, so it runs on each.

use crate::common::*;
use portcullis_server::store::postgres::PostgresStore;
use portcullis_testkit::{
    ClientAuth, ClientSpec, CodeRequest, StoreKind, TestServer, Tokens, random_token,
};
use portcullis_types::GrantType;
use std::sync::Arc;

/// A server on PostgreSQL in a schema of its own, with the store that drops the schema, or
/// `None` (with a notice) when it is unreachable outside CI.
async fn postgres_server() -> Option<(TestServer, PostgresStore)> {
    let (url, schema) = postgres_schema("backends").await?;
    let server = TestServer::builder()
        .store(StoreKind::Url(url))
        .start()
        .await
        .unwrap();
    Some((server, schema))
}

/// Registrations with unique names (a PostgreSQL database outlives the test).
struct Fixture {
    client: String,
    secret: String,
    user: String,
}

async fn fixture(server: &TestServer) -> Fixture {
    let suffix = random_token(6);
    let f = Fixture {
        client: format!("web-{suffix}"),
        secret: format!("secret-{suffix}-0123456789abcdef"),
        user: format!("alice-{suffix}"),
    };
    server
        .add_client(
            ClientSpec::confidential(&f.client, &f.secret)
                .redirect_uri(WEB_CB)
                .grant_types(&[GrantType::AuthorizationCode, GrantType::RefreshToken])
                .scope("openid profile email offline_access orders:read")
                .audience(&[API]),
        )
        .await
        .unwrap();
    server.add_user(&f.user, ALICE_PASSWORD).await.unwrap();
    f
}

/// CODE-3: 32 parallel redemptions of one code, exactly one success.
async fn parallel_redemptions(server: TestServer) {
    let server = Arc::new(server);
    let f = fixture(&server).await;
    let auth = ClientAuth::basic(&f.client, &f.secret);
    let request = CodeRequest::new(&f.client, WEB_CB, "openid offline_access orders:read");
    let browser = server.browser().unwrap();
    let code = server
        .authorize(&browser, &request, Some((&f.user, ALICE_PASSWORD)))
        .await
        .unwrap()
        .code;
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (server, auth, request, code) = (
                Arc::clone(&server),
                auth.clone(),
                request.clone(),
                code.clone(),
            );
            tokio::spawn(async move { server.redeem(&auth, &code, &request).await.unwrap() })
        })
        .collect();
    let mut ok = 0;
    let mut winner = None;
    let mut failures = Vec::new();
    for task in tasks {
        let reply = task.await.unwrap();
        if reply.status == 200 {
            ok += 1;
            winner = Some(reply);
        } else {
            failures.push(format!("{} {}", reply.status, reply.body));
        }
    }
    assert_eq!(ok, 1, "CODE-3: {failures:#?}");
    // CODE-2: the replays revoked what the one redemption issued.
    let winner = winner.unwrap();
    let access = winner.str("access_token").unwrap().to_owned();
    let introspection = server.introspect(&auth, &access).await.unwrap();
    assert_eq!(
        introspection.json["active"],
        serde_json::json!(false),
        "CODE-2: the winner's access token must be revoked by the replays"
    );
    assert!(
        failures
            .iter()
            .all(|f| f.starts_with("400") && f.contains("invalid_grant")),
        "{failures:#?}"
    );
}

/// RT-4: 32 parallel refreshes of one token, at most one success.
async fn parallel_refreshes(server: TestServer) {
    let server = Arc::new(server);
    let f = fixture(&server).await;
    let auth = ClientAuth::basic(&f.client, &f.secret);
    let request = CodeRequest::new(&f.client, WEB_CB, "openid offline_access orders:read");
    let tokens: Tokens = server
        .code_flow(&auth, &request, (&f.user, ALICE_PASSWORD))
        .await
        .unwrap();
    let refresh = tokens.refresh_token.clone().unwrap();
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (server, auth, refresh) = (Arc::clone(&server), auth.clone(), refresh.clone());
            tokio::spawn(async move { server.refresh(&auth, &refresh, None).await.unwrap() })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        let reply = task.await.unwrap();
        match reply.status.as_u16() {
            200 => ok += 1,
            400 => assert_eq!(reply.error(), Some("invalid_grant"), "{}", reply.body),
            other => panic!("RT-4: unexpected {other}: {}", reply.body),
        }
    }
    assert!(ok <= 1, "RT-4: {ok} parallel refreshes succeeded");
}

async fn sqlite_server() -> TestServer {
    TestServer::builder()
        .store(StoreKind::Sqlite)
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn code_3_parallel_redemptions_on_sqlite() {
    parallel_redemptions(sqlite_server().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn code_3_parallel_redemptions_on_postgres() {
    if let Some((server, schema)) = postgres_server().await {
        parallel_redemptions(server).await;
        schema.drop_schema().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rt_4_parallel_refreshes_on_sqlite() {
    parallel_refreshes(sqlite_server().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rt_4_parallel_refreshes_on_postgres() {
    if let Some((server, schema)) = postgres_server().await {
        parallel_refreshes(server).await;
        schema.drop_schema().await.unwrap();
    }
}

#[tokio::test]
async fn full_code_flow_and_userinfo_on_postgres() {
    let Some((server, schema)) = postgres_server().await else {
        return;
    };
    let f = fixture(&server).await;
    let auth = ClientAuth::basic(&f.client, &f.secret);
    let tokens = server
        .code_flow(
            &auth,
            &CodeRequest::new(&f.client, WEB_CB, OIDC_SCOPE),
            (&f.user, ALICE_PASSWORD),
        )
        .await
        .unwrap();
    let userinfo = server.userinfo(&tokens.access_token).await.unwrap();
    assert_eq!(userinfo.status, 200, "{}", userinfo.body);
    assert_eq!(userinfo.json["email"], format!("{}@example.com", f.user));
    drop(server);
    schema.drop_schema().await.unwrap();
}
