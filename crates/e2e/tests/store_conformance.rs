//! The storage conformance suite run from outside `portcullis-server`, through its public
//! `conformance` feature, exactly as an out-of-tree backend runs it: one test per case against
//! a fresh store from an opener function. Here the backends are the in-tree memory store and a
//! SQLite file opened through the public API.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use portcullis_server::store::conformance::Backend;
use portcullis_server::store::memory::MemoryStore;

async fn open_memory() -> Option<Backend> {
    Some(Backend::new(Arc::new(MemoryStore::new())))
}

async fn open_sqlite_file() -> Option<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = portcullis_server::store::connect(&url).await.unwrap();
    Some(Backend::new(store).with_cleanup(async move { drop(dir) }))
}

mod memory {
    portcullis_server::conformance_suite!(super::open_memory);
}

mod sqlite_file {
    portcullis_server::conformance_suite!(super::open_sqlite_file);
}
