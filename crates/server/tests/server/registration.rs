//! Registering clients through the admin API: a taken id is refused with nothing changed unless
//! the caller asks to replace, and redirect URIs are checked on both paths (RED-3, RED-4).
#![allow(clippy::unwrap_used)]

use portcullis_jose::{FixedClock, UnixTime};
use portcullis_server::admin::{self, AdminError};
use portcullis_server::at_rest::{Kek, KeyEncryption};
use portcullis_server::config::{ClientConfig, ServerConfig, ServerSettings};
use portcullis_server::store::ClientStore as _;
use portcullis_server::store::memory::MemoryStore;
use portcullis_types::ClientSecret;

use crate::common::{ISSUER, START};

fn config() -> ServerConfig {
    let mut settings = ServerSettings::new(ISSUER);
    settings.key_encryption = KeyEncryption::sealed(Kek::generate().unwrap(), None);
    ServerConfig::new(settings).unwrap()
}

fn web(audience: &str) -> ClientConfig {
    ClientConfig {
        client_id: "web".into(),
        secret: Some(ClientSecret::new("web-secret-0123456789")),
        redirect_uris: vec!["https://app.example/cb".into()],
        audience: vec![audience.to_owned()],
        ..ClientConfig::default()
    }
}

#[tokio::test]
async fn add_client_refuses_a_taken_id_and_keeps_the_stored_one() {
    let (store, clock, config) = (
        MemoryStore::new(),
        FixedClock::new(UnixTime(START)),
        config(),
    );
    admin::add_client(&store, &clock, &config, web("orders-api"))
        .await
        .unwrap();
    let err = admin::add_client(&store, &clock, &config, web("billing-api"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AdminError::ClientExists(id) if id == "web"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "a client with id `web` is already registered"
    );
    let stored = store.get_client("web").await.unwrap().unwrap();
    assert_eq!(stored.audience, ["orders-api"]);
}

#[tokio::test]
async fn replace_client_overwrites_and_reports_whether_one_existed() {
    let (store, clock, config) = (
        MemoryStore::new(),
        FixedClock::new(UnixTime(START)),
        config(),
    );
    let first = admin::replace_client(&store, &clock, &config, web("orders-api"))
        .await
        .unwrap();
    assert!(!first.existed);
    let second = admin::replace_client(&store, &clock, &config, web("billing-api"))
        .await
        .unwrap();
    assert!(second.existed);
    let stored = store.get_client("web").await.unwrap().unwrap();
    assert_eq!(stored.audience, ["billing-api"]);
}

#[tokio::test]
async fn red_3_red_4_both_registration_paths_check_redirect_uris() {
    let (store, clock, config) = (
        MemoryStore::new(),
        FixedClock::new(UnixTime(START)),
        config(),
    );
    for bad in [
        "localhost:3000/callback",
        "https://*.example.com/cb",
        "http://app.example.com/cb",
        "https://app.example.com/cb#top",
        "https://user@app.example.com/cb",
    ] {
        let client = ClientConfig {
            redirect_uris: vec![bad.into()],
            ..web("orders-api")
        };
        for err in [
            admin::add_client(&store, &clock, &config, client.clone())
                .await
                .unwrap_err(),
            admin::replace_client(&store, &clock, &config, client)
                .await
                .unwrap_err(),
        ] {
            assert!(matches!(err, AdminError::Invalid(_)), "{bad}: {err:?}");
            let text = err.to_string();
            assert!(text.contains(bad) && text.contains("e.g. "), "{text}");
        }
    }
    assert!(store.list_clients().await.unwrap().is_empty());
}
