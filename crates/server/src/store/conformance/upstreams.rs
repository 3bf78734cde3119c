//! Conformance cases for upstream identity providers and the links from upstream accounts to
//! local users: one local user per upstream account, decided atomically.

use std::sync::Arc;

use tokio::sync::Barrier;

use portcullis_types::GroupName;

use crate::store::{
    LdapGroups, LdapSettings, Store, StoreError, UpstreamId, UpstreamKind, UpstreamLinkRecord,
    UpstreamRecord, UserRecord,
};

const T0: i64 = 1_700_000_000;

fn upstream(id: &str) -> UpstreamRecord {
    UpstreamRecord {
        id: UpstreamId::parse(id).unwrap(),
        kind: UpstreamKind::Oidc {
            issuer: "https://idp.example".into(),
            userinfo: true,
            groups_claim: Some("roles".into()),
        },
        display_name: Some("Example IdP".into()),
        client_id: "portcullis".into(),
        client_secret: "pcs1:kek:sealed".into(),
        scopes: vec!["offline_access".into()],
        trust_email: true,
        only: false,
        groups: [("eng".to_owned(), GroupName::parse("engineering").unwrap())].into(),
        created_at: T0,
    }
}

fn user(id: &str) -> UserRecord {
    super::accounts::user(id, &format!("name-{id}"))
}

fn link(upstream: &str, subject: &str, user: &str) -> UpstreamLinkRecord {
    UpstreamLinkRecord {
        upstream_id: UpstreamId::parse(upstream).unwrap(),
        subject: subject.into(),
        user_id: user.into(),
        created_at: T0,
    }
}

/// Upstreams of every kind round-trip; a put replaces; removal reports whether one existed.
pub async fn upstreams_crud(s: Arc<dyn Store>) {
    let oidc = upstream("corp");
    let mut github = upstream("github");
    github.kind = UpstreamKind::Github {
        base_url: Some("https://ghe.example".into()),
        allowed_orgs: vec!["acme".into()],
    };
    github.groups.clear();
    // A directory: its settings sit beside the record's group mapping in the stored document.
    let mut directory = upstream("ad");
    let mut settings = LdapSettings::new("ldaps://dc01.corp.example", "OU=Staff,DC=corp");
    settings.ca_file = Some("/etc/portcullis/ca.pem".into());
    settings.subject_attribute = "objectGUID".into();
    settings.group_source = LdapGroups::Search {
        base: "OU=Groups,DC=corp".into(),
        filter: "(member={dn})".into(),
    };
    directory.kind = UpstreamKind::Ldap(settings);
    directory.client_id = "CN=svc,DC=corp".into();
    s.put_upstream(oidc.clone()).await.unwrap();
    s.put_upstream(github.clone()).await.unwrap();
    s.put_upstream(directory.clone()).await.unwrap();
    assert_eq!(s.get_upstream("corp").await.unwrap(), Some(oidc.clone()));
    assert_eq!(s.get_upstream("ad").await.unwrap(), Some(directory.clone()));
    assert_eq!(
        s.list_upstreams().await.unwrap(),
        vec![directory, oidc.clone(), github]
    );
    let mut changed = oidc;
    changed.only = true;
    s.put_upstream(changed.clone()).await.unwrap();
    assert_eq!(s.get_upstream("corp").await.unwrap(), Some(changed));
    assert!(s.delete_upstream("corp").await.unwrap());
    assert!(!s.delete_upstream("corp").await.unwrap());
    assert_eq!(s.get_upstream("corp").await.unwrap(), None);
}

/// A link is found by (upstream, subject), listed by user, and the same upstream account
/// cannot be linked twice; the same subject at another upstream is another account.
pub async fn upstream_link_is_unique_per_account(s: Arc<dyn Store>) {
    s.put_upstream(upstream("a")).await.unwrap();
    s.put_upstream(upstream("b")).await.unwrap();
    s.put_user(user("u1")).await.unwrap();
    s.put_user(user("u2")).await.unwrap();
    s.insert_upstream_link(link("a", "sub-1", "u1"))
        .await
        .unwrap();
    let err = s
        .insert_upstream_link(link("a", "sub-1", "u2"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    s.insert_upstream_link(link("b", "sub-1", "u2"))
        .await
        .unwrap();
    assert_eq!(
        s.get_upstream_link("a", "sub-1").await.unwrap(),
        Some(link("a", "sub-1", "u1"))
    );
    assert_eq!(s.get_upstream_link("a", "sub-2").await.unwrap(), None);
    assert_eq!(
        s.list_upstream_links("u2").await.unwrap(),
        vec![link("b", "sub-1", "u2")]
    );
    let err = s
        .insert_upstream_link(link("missing", "sub-1", "u1"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let err = s
        .insert_upstream_link(link("a", "sub-9", "nobody"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

/// Removing an upstream or a user removes their links.
pub async fn upstream_links_go_with_upstream_and_user(s: Arc<dyn Store>) {
    s.put_upstream(upstream("a")).await.unwrap();
    s.put_upstream(upstream("b")).await.unwrap();
    s.put_user(user("u1")).await.unwrap();
    s.put_user(user("u2")).await.unwrap();
    s.insert_upstream_link(link("a", "s1", "u1")).await.unwrap();
    s.insert_upstream_link(link("b", "s1", "u1")).await.unwrap();
    s.insert_upstream_link(link("b", "s2", "u2")).await.unwrap();
    assert!(s.delete_upstream("a").await.unwrap());
    assert_eq!(s.get_upstream_link("a", "s1").await.unwrap(), None);
    assert!(s.delete_user("u1").await.unwrap());
    assert_eq!(s.get_upstream_link("b", "s1").await.unwrap(), None);
    assert_eq!(s.list_upstream_links("u1").await.unwrap(), vec![]);
    assert_eq!(
        s.get_upstream_link("b", "s2").await.unwrap(),
        Some(link("b", "s2", "u2"))
    );
}

/// A user unlinks one provider: only that user's links to it go.
pub async fn upstream_link_deleted_per_user_and_upstream(s: Arc<dyn Store>) {
    s.put_upstream(upstream("a")).await.unwrap();
    s.put_upstream(upstream("b")).await.unwrap();
    s.put_user(user("u1")).await.unwrap();
    s.put_user(user("u2")).await.unwrap();
    s.insert_upstream_link(link("a", "s1", "u1")).await.unwrap();
    s.insert_upstream_link(link("b", "s1", "u1")).await.unwrap();
    s.insert_upstream_link(link("a", "s2", "u2")).await.unwrap();
    assert!(s.delete_upstream_link("a", "u1").await.unwrap());
    assert!(
        !s.delete_upstream_link("a", "u1").await.unwrap(),
        "already gone"
    );
    assert_eq!(s.get_upstream_link("a", "s1").await.unwrap(), None);
    assert_eq!(
        s.list_upstream_links("u1").await.unwrap(),
        vec![link("b", "s1", "u1")]
    );
    assert_eq!(
        s.get_upstream_link("a", "s2").await.unwrap(),
        Some(link("a", "s2", "u2"))
    );
    // The account is free again: it may be linked to another user.
    s.insert_upstream_link(link("a", "s1", "u2")).await.unwrap();
}

/// Of concurrent first sign-ins of one upstream account exactly one link is made, so the
/// account never ends up with two local users.
pub async fn upstream_link_concurrent_exactly_one(s: Arc<dyn Store>) {
    const N: usize = 8;
    s.put_upstream(upstream("a")).await.unwrap();
    for i in 0..N {
        s.put_user(user(&format!("u{i}"))).await.unwrap();
    }
    let barrier = Arc::new(Barrier::new(N));
    let mut tasks = Vec::new();
    for i in 0..N {
        let (s, barrier) = (s.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            s.insert_upstream_link(link("a", "race", &format!("u{i}")))
                .await
                .ok()
                .map(|()| i)
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        winners.extend(t.await.unwrap());
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let stored = s.get_upstream_link("a", "race").await.unwrap().unwrap();
    assert_eq!(stored.user_id.as_str(), format!("u{}", winners[0]));
}
