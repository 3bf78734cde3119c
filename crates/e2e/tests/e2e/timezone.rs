//! DUR-5, like Dex's `TimezoneSupport`: the process's time zone changes nothing. A `portcullis
//! serve` running with `TZ=Pacific/Kiritimati` (UTC+14) issues tokens with the same `iat` and
//! `exp` as one running in UTC and stores the same Unix seconds.

use crate::common::{API, SERVICE, SERVICE_SECRET};
use crate::process::Served;
use portcullis_jose::{Clock as _, SystemClock};
use portcullis_server::admin;
use portcullis_testkit::{ClientAuth, ClientSpec, decode_jwt_parts, oauth};
use portcullis_types::GrantType;
use std::ops::RangeInclusive;

/// Starts a server on a fresh SQLite file with `TZ=zone`, takes a client-credentials token and
/// returns its claims with the `created_at` of the signing keys the process generated.
async fn token_and_keys_in(zone: &str) -> (serde_json::Value, Vec<i64>) {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("portcullis.db").display());
    let store = portcullis_server::store::connect(&database).await.unwrap();
    admin::add_client(
        store.as_ref(),
        &SystemClock,
        &crate::process::sealed_config(),
        ClientSpec::confidential(SERVICE, SERVICE_SECRET)
            .grant_types(&[GrantType::ClientCredentials])
            .scope("orders:read")
            .audience(&[API])
            .into_config(),
    )
    .await
    .unwrap();
    let served = Served::start(&database, &[("TZ", zone)], &dir.path().join("serve.log")).await;
    let reply = oauth::post_form(
        &reqwest::Client::new(),
        served.endpoints.token.as_str(),
        &ClientAuth::basic(SERVICE, SERVICE_SECRET),
        &[("grant_type", "client_credentials")],
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 200, "{zone}: {}", reply.body);
    let (_, claims) = decode_jwt_parts(reply.str("access_token").unwrap()).unwrap();
    let keys = admin::list_keys(store.as_ref(), &SystemClock)
        .await
        .unwrap();
    (claims, keys.iter().map(|k| k.created_at).collect())
}

#[tokio::test]
async fn dur_5_time_zone_of_the_process_changes_no_timestamp() {
    let before = SystemClock.now().as_secs();
    let (utc, utc_keys) = token_and_keys_in("UTC").await;
    let (far, far_keys) = token_and_keys_in("Pacific/Kiritimati").await;
    let after = SystemClock.now().as_secs();
    // Every timestamp lies between two readings of the test's own UTC clock: a zone offset
    // (here 14 hours) would put it far outside.
    let window: RangeInclusive<i64> = before..=after;
    for (zone, claims, keys) in [("UTC", &utc, &utc_keys), ("Kiritimati", &far, &far_keys)] {
        let iat = claims["iat"].as_i64().unwrap();
        let exp = claims["exp"].as_i64().unwrap();
        assert!(
            window.contains(&iat),
            "{zone}: iat {iat} outside {window:?}"
        );
        assert_eq!(exp - iat, 900, "{zone}: lifetime");
        assert!(!keys.is_empty(), "{zone}: no signing keys stored");
        for created in keys {
            assert!(
                window.contains(created),
                "{zone}: key created_at {created} outside {window:?}"
            );
        }
    }
}
