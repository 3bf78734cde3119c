//! Conformance cases for long-lived records and small primitives: clients, users, sessions, the
//! login throttle, signing keys, server secrets, consents, single-use artifacts and health.

use std::sync::Arc;

use tokio::sync::Barrier;

use portcullis_types::{GrantType, GroupName, RoleName, Scope, TokenEndpointAuthMethod};

use super::{grant, refresh};
use crate::store::{
    ClientRecord, GroupRecord, RefreshStatus, ReleaseFilter, RoleRecord, SessionRecord,
    SigningKeyRecord, Store, StoreError, UserRecord, namespace,
};

const T0: i64 = 1_700_000_000;

fn client(id: &str) -> ClientRecord {
    ClientRecord {
        client_id: id.into(),
        secret_hash: Some("c2VjcmV0LWhhc2gtdmFsdWU".into()),
        token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
        redirect_uris: vec!["https://app.example/cb".into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scope: Scope::parse("openid profile").unwrap(),
        audience: vec!["https://api.example".into()],
        access_token_ttl: Some(300),
        refresh_token_ttl: None,
        id_token_signed_response_alg: Some(portcullis_jose::Algorithm::ES256),
        jwks: None,
        exchange_audiences: vec![],
        exchange_impersonation: false,
        name: Some("App".into()),
        roles: Vec::new(),
        token_roles: ReleaseFilter::Prefix("orders:".into()),
        token_groups: ReleaseFilter::All,
        refresh_grace_secs: 0,
        theme: None,
        previous_secret: None,
        created_at: T0,
    }
}

/// A user with an e-mail address and a password hash.
pub(super) fn user(id: &str, username: &str) -> UserRecord {
    UserRecord {
        id: id.into(),
        username: username.into(),
        email: Some(format!("{username}@example.com")),
        email_verified: true,
        name: None,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        roles: Vec::new(),
        groups: Vec::new(),
        attributes: Default::default(),
        disabled: false,
        tokens_not_before: None,
        verification_pending: false,
        created_at: T0,
    }
}

fn key(kid: &str, activate_at: i64) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: kid.into(),
        alg: "ES256".into(),
        private_jwk: r#"{"kty":"EC","crv":"P-256","d":"private-part"}"#.into(),
        created_at: T0,
        activate_at,
        retire_at: None,
        expire_at: None,
    }
}

pub async fn clients_crud(s: Arc<dyn Store>) {
    assert!(s.get_client("b").await.unwrap().is_none());
    s.put_client(client("b")).await.unwrap();
    s.put_client(client("a")).await.unwrap();
    assert_eq!(s.get_client("b").await.unwrap(), Some(client("b")));
    let mut changed = client("b");
    changed
        .redirect_uris
        .push("https://app.example/other".into());
    changed.secret_hash = None;
    s.put_client(changed.clone()).await.unwrap();
    assert_eq!(s.get_client("b").await.unwrap(), Some(changed));
    let ids: Vec<String> = s
        .list_clients()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.client_id.into_inner())
        .collect();
    assert_eq!(ids, ["a", "b"]);
    assert!(s.delete_client("a").await.unwrap());
    assert!(!s.delete_client("a").await.unwrap());
    assert_eq!(s.list_clients().await.unwrap().len(), 1);
    let shown = format!("{:?}", client("x"));
    assert!(
        !shown.contains("c2VjcmV0LWhhc2gtdmFsdWU"),
        "Debug must redact: {shown}"
    );
}

fn role(name: &str) -> RoleRecord {
    RoleRecord {
        name: RoleName::parse(name).unwrap(),
        description: Some(format!("may {name}")),
        created_at: T0,
    }
}

fn group(name: &str, roles: &[&str]) -> GroupRecord {
    GroupRecord {
        name: GroupName::parse(name).unwrap(),
        roles: roles.iter().map(|r| RoleName::parse(*r).unwrap()).collect(),
        created_at: T0,
    }
}

/// Roles and groups are stored and listed by name; a taken name is a conflict that changes
/// nothing.
pub async fn roles_and_groups_crud(s: Arc<dyn Store>) {
    s.insert_role(role("orders:write")).await.unwrap();
    s.insert_role(role("orders:read")).await.unwrap();
    let err = s.insert_role(role("orders:read")).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let names: Vec<String> = s
        .list_roles()
        .await
        .unwrap()
        .into_iter()
        .map(|r| String::from(r.name))
        .collect();
    assert_eq!(names, ["orders:read", "orders:write"]);
    assert_eq!(s.list_roles().await.unwrap()[0], role("orders:read"));

    s.insert_group(group("sales", &["orders:read"]))
        .await
        .unwrap();
    let err = s.insert_group(group("sales", &[])).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        s.get_group("sales").await.unwrap(),
        Some(group("sales", &["orders:read"]))
    );
    assert!(s.get_group("nobody").await.unwrap().is_none());
    assert_eq!(s.list_groups().await.unwrap().len(), 1);
}

/// Removing a role takes it from every group, user and client holding it, and nothing else;
/// removing a group takes it from its users. A second removal reports nothing removed.
pub async fn removing_a_role_or_group_takes_it_from_its_holders(s: Arc<dyn Store>) {
    for name in ["orders:read", "orders:write", "orders:re"] {
        s.insert_role(role(name)).await.unwrap();
    }
    s.insert_group(group("sales", &["orders:read", "orders:re"]))
        .await
        .unwrap();
    s.insert_group(group("ops", &["orders:write"]))
        .await
        .unwrap();
    let mut ada = user("u-ada", "ada");
    ada.roles = vec![
        RoleName::parse("orders:read").unwrap(),
        RoleName::parse("orders:write").unwrap(),
    ];
    ada.groups = vec![
        GroupName::parse("sales").unwrap(),
        GroupName::parse("ops").unwrap(),
    ];
    s.put_user(ada).await.unwrap();
    let mut svc = client("svc");
    svc.roles = vec![RoleName::parse("orders:read").unwrap()];
    s.put_client(svc).await.unwrap();

    assert!(s.delete_role("orders:read").await.unwrap());
    assert!(!s.delete_role("orders:read").await.unwrap());
    let ada = s.get_user("u-ada").await.unwrap().unwrap();
    assert_eq!(ada.roles, [RoleName::parse("orders:write").unwrap()]);
    assert_eq!(ada.groups.len(), 2);
    assert_eq!(
        s.get_group("sales").await.unwrap().unwrap().roles,
        [RoleName::parse("orders:re").unwrap()],
        "a role whose name is a prefix of the removed one stays"
    );
    assert!(s.get_client("svc").await.unwrap().unwrap().roles.is_empty());
    assert_eq!(s.list_roles().await.unwrap().len(), 2);

    assert!(s.delete_group("sales").await.unwrap());
    assert!(!s.delete_group("sales").await.unwrap());
    let ada = s.get_user("u-ada").await.unwrap().unwrap();
    assert_eq!(ada.groups, [GroupName::parse("ops").unwrap()]);
    assert_eq!(
        s.get_group("ops").await.unwrap().unwrap().roles,
        [RoleName::parse("orders:write").unwrap()]
    );
}

/// A user's roles, groups, attributes, state and "not before" time survive the round trip.
pub async fn user_identity_round_trips(s: Arc<dyn Store>) {
    let mut ada = user("u-ada", "ada");
    ada.roles = vec![RoleName::parse("admin").unwrap()];
    ada.groups = vec![GroupName::parse("ops").unwrap()];
    ada.attributes.insert("given_name".into(), "Ada".into());
    ada.attributes.insert("address.country".into(), "UK".into());
    ada.disabled = true;
    ada.tokens_not_before = Some(T0 + 7);
    s.put_user(ada.clone()).await.unwrap();
    assert_eq!(s.get_user("u-ada").await.unwrap(), Some(ada));
    let svc = client("svc");
    s.put_client(svc.clone()).await.unwrap();
    assert_eq!(s.get_client("svc").await.unwrap(), Some(svc));
}

pub async fn insert_client_refuses_a_taken_id(s: Arc<dyn Store>) {
    s.insert_client(client("a")).await.unwrap();
    let mut other = client("a");
    other.audience = vec![];
    other.name = Some("Other".into());
    let err = s.insert_client(other).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(s.get_client("a").await.unwrap(), Some(client("a")));
}

/// Of concurrent inserts of one client id exactly one succeeds; the stored record is its.
pub async fn insert_client_concurrent_exactly_one(s: Arc<dyn Store>) {
    const N: usize = 8;
    let barrier = Arc::new(Barrier::new(N));
    let mut tasks = Vec::new();
    for i in 0..N {
        let (s, barrier) = (s.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = client("race");
            c.name = Some(format!("n{i}"));
            barrier.wait().await;
            s.insert_client(c).await.ok().map(|()| i)
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        winners.extend(t.await.unwrap());
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let stored = s.get_client("race").await.unwrap().unwrap();
    assert_eq!(stored.name, Some(format!("n{}", winners[0])));
}

pub async fn users_crud_and_duplicate_username_conflict(s: Arc<dyn Store>) {
    s.put_user(user("u2", "bob")).await.unwrap();
    s.put_user(user("u1", "alice")).await.unwrap();
    let err = s.put_user(user("u3", "alice")).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(s.get_user("u3").await.unwrap().is_none());
    // Updating the same user (same id) keeps or changes its username.
    let mut renamed = user("u1", "alice2");
    renamed.email_verified = false;
    s.put_user(renamed.clone()).await.unwrap();
    assert_eq!(s.get_user("u1").await.unwrap(), Some(renamed.clone()));
    assert_eq!(
        s.get_user_by_username("alice2").await.unwrap(),
        Some(renamed)
    );
    assert!(s.get_user_by_username("alice").await.unwrap().is_none());
    s.put_user(user("u3", "alice")).await.unwrap();
    let names: Vec<String> = s
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["alice", "alice2", "bob"]);
    assert!(s.delete_user("u2").await.unwrap());
    assert!(!s.delete_user("u2").await.unwrap());
    assert!(s.get_user_by_username("bob").await.unwrap().is_none());
    let shown = format!("{:?}", user("u9", "zed"));
    assert!(!shown.contains("argon2id"), "Debug must redact: {shown}");
}

/// Users are found by e-mail address ignoring ASCII case, every holder of a shared address in
/// username order; a changed or removed address no longer finds the user, nor does a deleted user.
pub async fn users_found_by_email(s: Arc<dyn Store>) {
    let mut carol = user("u1", "carol");
    carol.email = Some("Shared@Example.com".into());
    let mut ann = user("u2", "ann");
    ann.email = Some("shared@example.COM".into());
    let mut none = user("u3", "nomail");
    none.email = None;
    for u in [carol.clone(), ann.clone(), none, user("u4", "dave")] {
        s.put_user(u).await.unwrap();
    }
    let names = |users: Vec<UserRecord>| users.into_iter().map(|u| u.username).collect::<Vec<_>>();
    assert_eq!(
        names(s.get_users_by_email("SHARED@example.com").await.unwrap()),
        ["ann", "carol"]
    );
    assert_eq!(
        s.get_users_by_email("dave@example.com").await.unwrap(),
        vec![user("u4", "dave")]
    );
    assert!(s.get_users_by_email("").await.unwrap().is_empty());
    assert!(
        s.get_users_by_email("nobody@example.com")
            .await
            .unwrap()
            .is_empty()
    );
    carol.email = Some("carol@example.org".into());
    s.put_user(carol.clone()).await.unwrap();
    assert_eq!(
        names(s.get_users_by_email("shared@example.com").await.unwrap()),
        ["ann"]
    );
    assert_eq!(
        s.get_users_by_email("CAROL@example.org").await.unwrap(),
        vec![carol]
    );
    assert!(s.delete_user("u2").await.unwrap());
    assert!(
        s.get_users_by_email("shared@example.com")
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn sessions_expire(s: Arc<dyn Store>) {
    let sess = SessionRecord {
        upstream: None,
        sid: Some("sid-1".into()),
        id_hash: "sess-hash".into(),
        user_id: "u1".into(),
        auth_time: T0,
        created_at: T0,
        expires_at: T0 + 3_600,
    };
    s.insert_session(sess.clone()).await.unwrap();
    let dup = s.insert_session(sess.clone()).await.unwrap_err();
    assert!(matches!(dup, StoreError::Conflict(_)), "{dup:?}");
    assert_eq!(
        s.get_session("sess-hash", T0 + 3_599).await.unwrap(),
        Some(sess)
    );
    assert!(
        s.get_session("sess-hash", T0 + 3_600)
            .await
            .unwrap()
            .is_none()
    );
    assert!(s.get_session("other", T0).await.unwrap().is_none());
    assert!(s.delete_session("sess-hash").await.unwrap());
    assert!(!s.delete_session("sess-hash").await.unwrap());
    assert!(s.get_session("sess-hash", T0).await.unwrap().is_none());
}

pub async fn user_sessions_deleted_together(s: Arc<dyn Store>) {
    let sess = |id: &str, user: &str, expires_at: i64| SessionRecord {
        id_hash: id.into(),
        user_id: user.into(),
        auth_time: T0,
        created_at: T0,
        expires_at,
        upstream: None,
        sid: None,
    };
    s.insert_session(sess("a1", "ua", T0 + 60)).await.unwrap();
    s.insert_session(sess("a2", "ua", T0 + 60)).await.unwrap();
    s.insert_session(sess("a3", "ua", T0 - 1)).await.unwrap();
    s.insert_session(sess("b1", "ub", T0 + 60)).await.unwrap();
    assert_eq!(s.delete_user_sessions("ua").await.unwrap(), 3);
    assert!(s.get_session("a1", T0).await.unwrap().is_none());
    assert!(s.get_session("a2", T0).await.unwrap().is_none());
    assert!(s.get_session("b1", T0).await.unwrap().is_some());
    assert_eq!(s.delete_user_sessions("ua").await.unwrap(), 0);
}

pub async fn user_sessions_listed_and_ended_one_by_one(s: Arc<dyn Store>) {
    let sess = |id: &str, user: &str, expires_at: i64| SessionRecord {
        id_hash: id.into(),
        user_id: user.into(),
        auth_time: T0,
        created_at: expires_at - 3_600,
        expires_at,
        upstream: None,
        sid: Some(format!("sid-{id}")),
    };
    s.insert_session(sess("a1", "ua", T0 + 60)).await.unwrap();
    s.insert_session(sess("a2", "ua", T0 + 120)).await.unwrap();
    s.insert_session(sess("a0", "ua", T0 + 120)).await.unwrap();
    s.insert_session(sess("a3", "ua", T0)).await.unwrap();
    s.insert_session(sess("b1", "ub", T0 + 60)).await.unwrap();
    let ids = |list: Vec<SessionRecord>| list.into_iter().map(|r| r.id_hash).collect::<Vec<_>>();
    // Live only, the latest to expire first, ties by id; bounded by the limit.
    assert_eq!(
        ids(s.list_user_sessions("ua", T0, 10).await.unwrap()),
        ["a0", "a2", "a1"]
    );
    assert_eq!(
        ids(s.list_user_sessions("ua", T0, 2).await.unwrap()),
        ["a0", "a2"]
    );
    assert_eq!(
        s.list_user_sessions("ua", T0, 10).await.unwrap()[2],
        sess("a1", "ua", T0 + 60)
    );
    assert!(
        s.list_user_sessions("nobody", T0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Another user's session is neither deleted nor revealed.
    assert_eq!(s.delete_user_session("ua", "b1").await.unwrap(), None);
    assert!(s.get_session("b1", T0).await.unwrap().is_some());
    assert_eq!(
        s.delete_user_session("ua", "a1").await.unwrap(),
        Some(sess("a1", "ua", T0 + 60))
    );
    assert_eq!(s.delete_user_session("ua", "a1").await.unwrap(), None);
    assert_eq!(
        ids(s.list_user_sessions("ua", T0, 10).await.unwrap()),
        ["a0", "a2"]
    );
    assert_eq!(s.delete_user_session("ua", "missing").await.unwrap(), None);
}

pub async fn throttle_counts_within_window(s: Arc<dyn Store>) {
    let w = 300;
    assert_eq!(s.login_failures("ip:1", T0, w).await.unwrap(), 0);
    assert_eq!(s.record_login_failure("ip:1", T0, w).await.unwrap(), 1);
    assert_eq!(s.record_login_failure("ip:1", T0 + 10, w).await.unwrap(), 2);
    assert_eq!(
        s.record_login_failure("ip:1", T0 + 200, w).await.unwrap(),
        3
    );
    assert_eq!(
        s.record_login_failure("user:al", T0 + 200, w)
            .await
            .unwrap(),
        1
    );
    assert_eq!(s.login_failures("ip:1", T0 + 200, w).await.unwrap(), 3);
    // T0 leaves the window at T0 + 300, T0 + 10 at T0 + 310.
    assert_eq!(s.login_failures("ip:1", T0 + 300, w).await.unwrap(), 2);
    assert_eq!(
        s.record_login_failure("ip:1", T0 + 310, w).await.unwrap(),
        2
    );
    s.clear_login_failures("ip:1").await.unwrap();
    assert_eq!(s.login_failures("ip:1", T0 + 310, w).await.unwrap(), 0);
    assert_eq!(s.login_failures("user:al", T0 + 310, w).await.unwrap(), 1);
}

pub async fn dos_4_concurrent_attempts_exactly_limit_pass(s: Arc<dyn Store>) {
    const N: u32 = 40;
    const LIMIT: u32 = 5;
    let w = 300;
    let barrier = Arc::new(Barrier::new(N as usize));
    let tasks: Vec<_> = (0..N)
        .map(|_| {
            let s = s.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                s.register_attempt("user:target", T0, w).await.unwrap()
            })
        })
        .collect();
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.unwrap());
    }
    assert_eq!(
        counts.iter().filter(|n| **n <= LIMIT).count(),
        LIMIT as usize,
        "exactly the limit of concurrent attempts pass: {counts:?}"
    );
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=N).collect::<Vec<_>>(),
        "every count is seen once"
    );
    assert_eq!(s.login_failures("user:target", T0, w).await.unwrap(), N);
}

pub async fn dos_4_released_attempts_no_longer_count(s: Arc<dyn Store>) {
    let w = 300;
    assert_eq!(s.register_attempt("addr:1", T0, w).await.unwrap(), 1);
    assert_eq!(s.register_attempt("addr:1", T0 + 5, w).await.unwrap(), 2);
    assert_eq!(s.register_attempt("addr:1", T0 + 5, w).await.unwrap(), 3);
    assert_eq!(s.register_attempt("addr:2", T0 + 5, w).await.unwrap(), 1);
    s.release_attempt("addr:1", T0 + 5).await.unwrap();
    assert_eq!(s.login_failures("addr:1", T0 + 5, w).await.unwrap(), 2);
    assert_eq!(s.login_failures("addr:2", T0 + 5, w).await.unwrap(), 1);
    // Nothing recorded at that instant (any more): a no-op.
    s.release_attempt("addr:1", T0 + 6).await.unwrap();
    s.release_attempt("addr:3", T0).await.unwrap();
    assert_eq!(s.login_failures("addr:1", T0 + 5, w).await.unwrap(), 2);
    s.release_attempt("addr:1", T0 + 5).await.unwrap();
    s.release_attempt("addr:1", T0 + 5).await.unwrap();
    assert_eq!(s.login_failures("addr:1", T0 + 5, w).await.unwrap(), 1);
    // Attempts and failures are one count.
    assert_eq!(
        s.record_login_failure("addr:1", T0 + 6, w).await.unwrap(),
        2
    );
    assert_eq!(s.register_attempt("addr:1", T0 + 7, w).await.unwrap(), 3);
}

pub async fn signing_key_crud(s: Arc<dyn Store>) {
    s.insert_signing_key(key("k2", T0 + 100)).await.unwrap();
    s.insert_signing_key(key("k1", T0)).await.unwrap();
    let err = s.insert_signing_key(key("k1", T0)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let kids: Vec<String> = s
        .list_signing_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert_eq!(kids, ["k1", "k2"]);
    let mut retired = key("k1", T0);
    retired.retire_at = Some(T0 + 50);
    retired.expire_at = Some(T0 + 500);
    s.update_signing_key(retired.clone()).await.unwrap();
    let listed = s.list_signing_keys().await.unwrap();
    assert_eq!(listed.first(), Some(&retired));
    let err = s.update_signing_key(key("missing", T0)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert!(s.delete_signing_key("k1").await.unwrap());
    assert!(!s.delete_signing_key("k1").await.unwrap());
    assert_eq!(s.list_signing_keys().await.unwrap().len(), 1);
    let shown = format!("{:?}", key("k3", T0));
    assert!(
        !shown.contains("private-part"),
        "Debug must redact: {shown}"
    );
}

/// Runs `call(store, i)` for every `i` in `0..n` at once (released together by a barrier) and
/// returns what the calls gave back, in call order.
async fn all_at_once<F, Fut>(s: &Arc<dyn Store>, n: usize, call: F) -> Vec<String>
where
    F: Fn(Arc<dyn Store>, usize) -> Fut,
    Fut: std::future::Future<Output = Option<String>> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let run = call(s.clone(), i);
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                run.await
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.extend(t.await.unwrap());
    }
    out
}

/// Of concurrent first keys of one algorithm exactly one is stored: nodes starting together on an
/// empty database publish one key per algorithm, not one each. A key that no longer signs (or
/// signs only later) does not count, nor does a key of another algorithm.
pub async fn signing_key_created_once(s: Arc<dyn Store>) {
    const N: usize = 16;
    let mut retired = key("retired", T0 - 100);
    retired.retire_at = Some(T0);
    retired.expire_at = Some(T0 + 500);
    s.insert_signing_key(retired).await.unwrap();
    s.insert_signing_key(key("later", T0 + 60)).await.unwrap();
    let mut other = key("other-alg", T0);
    other.alg = "RS256".into();
    s.insert_signing_key(other).await.unwrap();
    let winners = all_at_once(&s, N, |s, i| async move {
        let kid = format!("first-{i}");
        let won = s
            .insert_signing_key_unless_active(key(&kid, T0), T0)
            .await
            .unwrap();
        won.then_some(kid)
    })
    .await;
    assert_eq!(winners.len(), 1, "exactly one key is created: {winners:?}");
    let signing: Vec<String> = s
        .list_signing_keys()
        .await
        .unwrap()
        .into_iter()
        .filter(|k| k.alg == "ES256" && k.signs_at(T0))
        .map(|k| k.kid)
        .collect();
    assert_eq!(signing, winners);
    // A later start finds the winner and stores nothing.
    assert!(
        !s.insert_signing_key_unless_active(key("again", T0 + 1), T0 + 1)
            .await
            .unwrap()
    );
    assert_eq!(s.list_signing_keys().await.unwrap().len(), 4);
}

/// Of concurrent scheduled rotations of one algorithm exactly one stores its key: nodes due at
/// the same moment make one new key. A key created after the due time (the winner's, or a
/// rotation by hand) makes every later attempt stand down; an unpublished one does not count.
pub async fn scheduled_rotation_creates_one_key(s: Arc<dyn Store>) {
    const N: usize = 16;
    let mut old = key("old", T0 - 10_000);
    old.created_at = T0 - 10_000;
    s.insert_signing_key(old).await.unwrap();
    let mut gone = key("gone", T0 - 10);
    gone.created_at = T0 - 10;
    gone.retire_at = Some(T0 - 5);
    gone.expire_at = Some(T0 - 1);
    s.insert_signing_key(gone).await.unwrap();
    let due_before = T0 - 3_600;
    let winners = all_at_once(&s, N, |s, i| async move {
        let kid = format!("rotated-{i}");
        let mut k = key(&kid, T0 + 60);
        k.created_at = T0;
        let won = s
            .insert_signing_key_unless_newer(k, due_before, T0)
            .await
            .unwrap();
        won.then_some(kid)
    })
    .await;
    assert_eq!(winners.len(), 1, "exactly one key is created: {winners:?}");
    let mut late = key("late", T0 + 60);
    late.created_at = T0 + 1;
    assert!(
        !s.insert_signing_key_unless_newer(late, due_before + 1, T0 + 1)
            .await
            .unwrap()
    );
    assert_eq!(s.list_signing_keys().await.unwrap().len(), 3);
}

/// Of concurrent first inserts of a server secret exactly one wins, and its value is what every
/// later read returns: nodes starting together agree on one pepper.
pub async fn server_secret_inserted_once(s: Arc<dyn Store>) {
    const N: usize = 16;
    assert_eq!(s.get_server_secret("pepper").await.unwrap(), None);
    let winners = all_at_once(&s, N, |s, i| async move {
        let value = format!("value-{i}");
        let won = s.insert_server_secret("pepper", &value).await.unwrap();
        won.then_some(value)
    })
    .await;
    assert_eq!(winners.len(), 1, "exactly one insert wins: {winners:?}");
    assert_eq!(
        s.get_server_secret("pepper").await.unwrap().as_ref(),
        winners.first()
    );
    s.update_server_secret("pepper", "resealed").await.unwrap();
    assert_eq!(
        s.get_server_secret("pepper").await.unwrap().as_deref(),
        Some("resealed")
    );
    assert!(!s.insert_server_secret("pepper", "again").await.unwrap());
    let err = s.update_server_secret("missing", "x").await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(s.get_server_secret("missing").await.unwrap(), None);
}

pub async fn consent_scopes_accumulate(s: Arc<dyn Store>) {
    assert!(s.get_consent("u1", "c1").await.unwrap().is_none());
    let first = s
        .put_consent("u1", "c1", "openid profile", T0)
        .await
        .unwrap();
    assert_eq!(first.scope, "openid profile");
    assert_eq!((first.created_at, first.updated_at), (T0, T0));
    let second = s
        .put_consent("u1", "c1", "email  openid", T0 + 5)
        .await
        .unwrap();
    assert_eq!(second.scope, "openid profile email");
    assert_eq!((second.created_at, second.updated_at), (T0, T0 + 5));
    assert_eq!(s.get_consent("u1", "c1").await.unwrap(), Some(second));
    s.put_consent("u1", "a0", "openid", T0).await.unwrap();
    s.put_consent("u2", "c1", "openid", T0).await.unwrap();
    let clients: Vec<String> = s
        .list_consents("u1")
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.client_id.into_inner())
        .collect();
    assert_eq!(clients, ["a0", "c1"]);
}

pub async fn withdraw_consent_cascades(s: Arc<dyn Store>) {
    s.put_consent("u1", "c1", "openid offline_access", T0)
        .await
        .unwrap();
    s.put_consent("u1", "c2", "openid", T0).await.unwrap();
    for (g, client) in [("g1", "c1"), ("g2", "c1"), ("g3", "c2")] {
        s.insert_grant(grant(g, "u1", client, T0)).await.unwrap();
        s.insert_refresh(refresh(&format!("rt-{g}"), g, T0))
            .await
            .unwrap();
        s.record_access_token(&format!("jti-{g}"), g, T0 + 600)
            .await
            .unwrap();
    }
    assert!(s.withdraw_consent("u1", "c1", T0 + 10).await.unwrap());
    assert!(s.get_consent("u1", "c1").await.unwrap().is_none());
    for g in ["g1", "g2"] {
        assert_eq!(
            s.get_grant(g).await.unwrap().unwrap().revoked_at,
            Some(T0 + 10)
        );
        let rt = s.find_refresh(&format!("rt-{g}")).await.unwrap().unwrap();
        assert_eq!(rt.status, RefreshStatus::Revoked);
        assert!(
            s.is_jti_revoked(&format!("jti-{g}"), T0 + 20)
                .await
                .unwrap()
        );
    }
    // The other client's consent and grant are untouched.
    assert!(s.get_consent("u1", "c2").await.unwrap().is_some());
    assert!(
        s.get_grant("g3")
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );
    assert!(!s.is_jti_revoked("jti-g3", T0 + 20).await.unwrap());
    assert!(!s.withdraw_consent("u1", "c1", T0 + 30).await.unwrap());
}

pub async fn code_8_artifacts_single_use_and_namespaced(s: Arc<dyn Store>) {
    let ns = namespace::PAR_REQUEST_URI;
    s.put_artifact(ns, "h1", r#"{"client_id":"c1"}"#, T0 + 60, T0)
        .await
        .unwrap();
    let err = s
        .put_artifact(ns, "h1", "other", T0 + 60, T0)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // Same key in another namespace is another artifact: never redeemable across kinds.
    assert!(
        s.get_artifact(namespace::CONSENT_CHALLENGE, "h1", T0)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.take_artifact(namespace::DEVICE_CODE, "h1", T0)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        s.get_artifact(ns, "h1", T0).await.unwrap().as_deref(),
        Some(r#"{"client_id":"c1"}"#)
    );
    // Concurrent redemptions: exactly one gets the payload.
    let barrier = Arc::new(Barrier::new(16));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (s, barrier) = (s.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            s.take_artifact(namespace::PAR_REQUEST_URI, "h1", T0 + 1)
                .await
        }));
    }
    let mut got = 0;
    for t in tasks {
        if t.await.unwrap().unwrap().is_some() {
            got += 1;
        }
    }
    assert_eq!(got, 1);
    assert!(s.get_artifact(ns, "h1", T0 + 1).await.unwrap().is_none());
    // Expired artifacts are invisible and may be replaced.
    s.put_artifact(ns, "h2", "v1", T0 + 60, T0).await.unwrap();
    assert!(s.take_artifact(ns, "h2", T0 + 60).await.unwrap().is_none());
    s.put_artifact(ns, "h2", "v2", T0 + 200, T0 + 60)
        .await
        .unwrap();
    assert_eq!(
        s.take_artifact(ns, "h2", T0 + 61).await.unwrap().as_deref(),
        Some("v2")
    );
}

pub async fn artifact_compare_and_swap(s: Arc<dyn Store>) {
    let ns = namespace::DEVICE_CODE;
    s.put_artifact(ns, "dc", "pending", T0 + 600, T0)
        .await
        .unwrap();
    assert!(
        !s.swap_artifact(ns, "dc", "approved", "consumed", T0)
            .await
            .unwrap()
    );
    assert!(
        s.swap_artifact(ns, "dc", "pending", "approved", T0)
            .await
            .unwrap()
    );
    assert!(
        !s.swap_artifact(ns, "dc", "pending", "denied", T0)
            .await
            .unwrap()
    );
    assert_eq!(
        s.get_artifact(ns, "dc", T0).await.unwrap().as_deref(),
        Some("approved")
    );
    assert!(
        !s.swap_artifact(ns, "dc", "approved", "x", T0 + 600)
            .await
            .unwrap(),
        "expired"
    );
    let barrier = Arc::new(Barrier::new(16));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (s, barrier) = (s.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            s.swap_artifact(namespace::DEVICE_CODE, "dc", "approved", "consumed", T0 + 1)
                .await
        }));
    }
    let mut won = 0;
    for t in tasks {
        if t.await.unwrap().unwrap() {
            won += 1;
        }
    }
    assert_eq!(won, 1);
}

pub async fn health_is_ok(s: Arc<dyn Store>) {
    s.health().await.unwrap();
}
