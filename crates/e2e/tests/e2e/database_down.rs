//! When the database is down: the server answers 503 `temporarily_unavailable` with
//! `Retry-After` (JSON endpoints) or a 503 page (pages) instead of 500 or a long wait, and
//! recovers without a restart once the database is back. The server reaches PostgreSQL through
//! a TCP proxy the test closes (dropping every connection and refusing new ones) and reopens.

use crate::common::*;
use portcullis_testkit::{StoreKind, TestServer};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP forwarder to the database that can be closed and reopened on the same address.
struct Proxy {
    addr: SocketAddr,
    upstream: String,
    accept: Option<JoinHandle<()>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut proxy = Proxy {
            addr: listener.local_addr().unwrap(),
            upstream,
            accept: None,
            connections: Arc::default(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let (upstream, connections) = (self.upstream.clone(), Arc::clone(&self.connections));
        self.accept = Some(tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let forward = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                connections.lock().unwrap().push(forward);
            }
        }));
    }

    /// Drops every forwarded connection and stops listening: connecting is refused.
    async fn close(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
            let _ = accept.await;
        }
        let open: Vec<_> = self.connections.lock().unwrap().drain(..).collect();
        for connection in open {
            connection.abort();
            let _ = connection.await;
        }
    }

    /// Listens again on the same address.
    async fn reopen(&mut self) {
        let mut listener = None;
        for _ in 0..100 {
            match TcpListener::bind(self.addr).await {
                Ok(l) => {
                    listener = Some(l);
                    break;
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            }
        }
        self.serve(listener.expect("the proxy's address is free again"));
    }
}

async fn service_token(env: &Env) -> portcullis_testkit::Reply {
    env.server
        .client_credentials(&env.service_auth(), Some("orders:read"))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_down_is_503_with_retry_after_then_recovers_on_postgres() {
    let Some((url, schema)) = postgres_schema("db_down").await else {
        return;
    };
    let outcome = tokio::spawn(async move {
        let mut proxied = url::Url::parse(&url).unwrap();
        let upstream = format!(
            "{}:{}",
            proxied.host_str().unwrap(),
            proxied.port().unwrap_or(5432)
        );
        let mut proxy = Proxy::start(upstream).await;
        proxied.set_port(Some(proxy.addr.port())).unwrap();
        let env =
            Env::start_with(TestServer::builder().store(StoreKind::Url(proxied.to_string()))).await;
        assert_token_ok(&service_token(&env).await);

        proxy.close().await;
        // Past the client cache, so the client is read from the database again.
        env.server.advance(env.server.config().client_cache_ttl + 1);
        let reply = service_token(&env).await;
        assert_token_error(&reply, 503, "temporarily_unavailable");
        let retry: u64 = reply.header("retry-after").unwrap().parse().unwrap();
        assert!(retry > 0);

        // A page answers with a short 503 page, not the internal error page.
        let page = env
            .server
            .get(&format!(
                "/authorize?client_id={WEB}&response_type=code&redirect_uri={WEB_CB}&scope=openid"
            ))
            .await
            .unwrap();
        assert_eq!(page.status.as_u16(), 503, "{}", page.body);
        assert!(page.header("retry-after").is_some());
        assert!(
            page.body.contains("temporarily unavailable"),
            "{}",
            page.body
        );

        // Back: the pool reconnects by itself.
        proxy.reopen().await;
        assert_token_ok(&service_token(&env).await);
        proxy.close().await;
    })
    .await;
    schema.drop_schema().await.unwrap();
    if let Err(failed) = outcome {
        std::panic::resume_unwind(failed.into_panic());
    }
}
