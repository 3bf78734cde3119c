//! Several nodes on one database: started together on an empty database they create one signing
//! key per enabled algorithm and publish the same JWKS (SQLite in one process, PostgreSQL as
//! separate pools like separate processes, in a schema of its own).

use crate::common::*;
use portcullis_testkit::{StoreKind, TestServer};

const NODES: usize = 4;

/// Starts [`NODES`] servers on `url` at once, all at the same instant of their clocks.
async fn start_together(url: &str) -> Vec<TestServer> {
    let start = portcullis_jose::Clock::now(&portcullis_jose::SystemClock).as_secs();
    let tasks: Vec<_> = (0..NODES)
        .map(|_| {
            let url = url.to_owned();
            tokio::spawn(async move {
                TestServer::builder()
                    .store(StoreKind::Url(url))
                    .start_time(start)
                    .start()
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut nodes = Vec::new();
    for task in tasks {
        nodes.push(task.await.unwrap());
    }
    nodes
}

/// KEY-2: exactly one signing key per enabled algorithm, and every node's JWKS is that set.
async fn one_key_per_algorithm(nodes: &[TestServer]) {
    let first = &nodes[0];
    let records = first.store().list_signing_keys().await.unwrap();
    for alg in first.config().signing_algs() {
        let kids: Vec<&str> = records
            .iter()
            .filter(|r| r.alg == alg.as_str())
            .map(|r| r.kid.as_str())
            .collect();
        assert_eq!(kids.len(), 1, "{alg:?}: {kids:?}");
    }
    assert_eq!(
        records.len(),
        first.config().signing_algs().len(),
        "no keys of other algorithms: {records:?}"
    );
    let jwks = first.get("/.well-known/jwks.json").await.unwrap().json;
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        first.config().signing_algs().len()
    );
    for node in &nodes[1..] {
        let other = node.get("/.well-known/jwks.json").await.unwrap().json;
        assert_eq!(other, jwks, "every node publishes the same keys");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn key_2_nodes_started_together_share_keys_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    // The database and its tables exist before the nodes start.
    let store = portcullis_server::store::connect(&url).await.unwrap();
    let nodes = start_together(&url).await;
    one_key_per_algorithm(&nodes).await;
    drop(nodes);
    drop(store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn key_2_nodes_started_together_share_keys_on_postgres() {
    let Some((url, schema)) = postgres_schema("nodes_keys").await else {
        return;
    };
    let outcome = tokio::spawn(async move {
        let nodes = start_together(&url).await;
        one_key_per_algorithm(&nodes).await;
    })
    .await;
    // The schema goes even when the case failed.
    schema.drop_schema().await.unwrap();
    if let Err(failed) = outcome {
        std::panic::resume_unwind(failed.into_panic());
    }
}
