//! The fixture every flow starts from: a server on a random port with a user, a confidential
//! web client, a second confidential client, a public SPA client and a service client.

use portcullis_server::store::postgres::PostgresStore;
use portcullis_testkit::{
    ClientAuth, ClientSpec, CodeRequest, Reply, TestServer, Tokens, random_token,
};
use portcullis_types::GrantType;
use serde_json::Value;

pub const ALICE: &str = "alice";
pub const ALICE_PASSWORD: &str = "correct horse battery staple";
pub const BOB: &str = "bob";
pub const BOB_PASSWORD: &str = "tr0ub4dor&3 is not a good password";

pub const WEB: &str = "web-app";
pub const WEB_SECRET: &str = "web-secret-4f1c2a9e7b3d5f60a8c1e2d3b4a5f607";
pub const WEB_CB: &str = "https://web.example/cb";
pub const WEB_LOGOUT_CB: &str = "https://web.example/logged-out";

pub const OTHER: &str = "other-app";
pub const OTHER_SECRET: &str = "other-secret-9a8b7c6d5e4f30211203f4e5d6c7b8a9";
pub const OTHER_CB: &str = "https://other.example/cb";

pub const SPA: &str = "spa";
pub const SPA_CB: &str = "http://127.0.0.1/callback";

pub const SERVICE: &str = "billing-service";
pub const SERVICE_SECRET: &str = "service-secret-0f1e2d3c4b5a69788796a5b4c3d2e1f0";
pub const API: &str = "orders-api";

pub const OIDC_SCOPE: &str = "openid profile email";

/// A `private_key_jwt` client registered by [`Env::add_jwt_client`], and its key's `kid`.
pub const JWT_CLIENT: &str = "jwt-client";
pub const JWT_CLIENT_KID: &str = "client-key-1";

/// A running server with the standard registrations.
pub struct Env {
    pub server: TestServer,
    pub alice_sub: String,
}

impl Env {
    pub async fn start() -> Env {
        Self::start_with(TestServer::builder()).await
    }

    pub async fn start_with(builder: portcullis_testkit::TestServerBuilder) -> Env {
        let server = builder.start().await.expect("server starts");
        server
            .add_client(
                ClientSpec::confidential(WEB, WEB_SECRET)
                    .redirect_uri(WEB_CB)
                    .post_logout_redirect_uri(WEB_LOGOUT_CB)
                    .grant_types(&[GrantType::AuthorizationCode, GrantType::RefreshToken])
                    .scope("openid profile email offline_access orders:read")
                    .audience(&[API]),
            )
            .await
            .expect("web client");
        server
            .add_client(
                ClientSpec::confidential(OTHER, OTHER_SECRET)
                    .redirect_uri(OTHER_CB)
                    .grant_types(&[GrantType::AuthorizationCode, GrantType::RefreshToken])
                    .scope("openid profile email offline_access orders:read")
                    .audience(&[API]),
            )
            .await
            .expect("other client");
        server
            .add_client(
                ClientSpec::public(SPA)
                    .redirect_uri(SPA_CB)
                    .grant_types(&[GrantType::AuthorizationCode, GrantType::RefreshToken])
                    .scope("openid profile email offline_access orders:read")
                    .audience(&[API]),
            )
            .await
            .expect("spa client");
        server
            .add_client(
                ClientSpec::confidential(SERVICE, SERVICE_SECRET)
                    .grant_types(&[GrantType::ClientCredentials])
                    .scope("orders:read orders:write")
                    .audience(&[API]),
            )
            .await
            .expect("service client");
        let alice_sub = server
            .add_user(ALICE, ALICE_PASSWORD)
            .await
            .expect("user alice");
        server.add_user(BOB, BOB_PASSWORD).await.expect("user bob");
        Env { server, alice_sub }
    }

    pub fn web_auth(&self) -> ClientAuth {
        ClientAuth::basic(WEB, WEB_SECRET)
    }

    pub fn other_auth(&self) -> ClientAuth {
        ClientAuth::basic(OTHER, OTHER_SECRET)
    }

    pub fn spa_auth(&self) -> ClientAuth {
        ClientAuth::public(SPA)
    }

    pub fn service_auth(&self) -> ClientAuth {
        ClientAuth::basic(SERVICE, SERVICE_SECRET)
    }

    pub fn web_request(&self, scope: &str) -> CodeRequest {
        CodeRequest::new(WEB, WEB_CB, scope)
    }

    pub fn spa_request(&self, scope: &str) -> CodeRequest {
        CodeRequest::new(SPA, SPA_CB, scope)
    }

    /// Signs alice in (fresh browser), consents, and returns the code with its request.
    pub async fn web_code(&self, scope: &str) -> (CodeRequest, String) {
        let request = self.web_request(scope);
        let browser = self.server.browser().expect("browser");
        let response = self
            .server
            .authorize(&browser, &request, Some((ALICE, ALICE_PASSWORD)))
            .await
            .expect("authorization succeeds");
        (request, response.code)
    }

    /// Signs `username` out everywhere as `portcullis users revoke-tokens` does: through the
    /// admin operation, with the server's configured denylist (it must have one).
    pub async fn sign_out_everywhere(&self, username: &str) {
        let config = self.server.config();
        let denylist = portcullis_server::admin::connect_denylist(config)
            .await
            .expect("denylist")
            .expect("a denylist is configured");
        let targets = portcullis_server::admin::AccountTargets {
            store: self.server.store().as_ref(),
            denylist: Some(denylist.as_ref()),
            clock: self.server.clock().as_ref(),
            config,
        };
        portcullis_server::admin::revoke_user_tokens(targets, username)
            .await
            .expect("sign out everywhere")
            .expect("the user exists");
    }

    /// Registers [`JWT_CLIENT`] (`private_key_jwt`, client credentials) and returns its key.
    pub async fn add_jwt_client(&self) -> portcullis_jose::SigningKey {
        let (key, jwks) =
            portcullis_testkit::client_key(portcullis_jose::Algorithm::ES256, JWT_CLIENT_KID)
                .expect("client key");
        self.server
            .add_client(
                ClientSpec::private_key_jwt(JWT_CLIENT, &jwks)
                    .grant_types(&[GrantType::ClientCredentials])
                    .scope("orders:read")
                    .audience(&[API]),
            )
            .await
            .expect("jwt client");
        key
    }

    /// A client-credentials request authenticated by `assertion`, naming `client_id`.
    pub async fn with_assertion(&self, client_id: &str, assertion: &str) -> Reply {
        let mut fields = portcullis_testkit::AssertionClaims::form_fields(assertion);
        fields.push(("client_id".into(), client_id.into()));
        self.server
            .client_credentials(&ClientAuth::Fields(fields), None)
            .await
            .expect("token endpoint answers")
    }

    /// A browser in which alice signed in and consented for the web client.
    pub async fn signed_in_browser(&self) -> portcullis_testkit::Browser {
        let browser = self.server.browser().expect("browser");
        self.server
            .authorize(
                &browser,
                &self.web_request("openid"),
                Some((ALICE, ALICE_PASSWORD)),
            )
            .await
            .expect("authorization succeeds");
        browser
    }

    /// The whole code flow for the web client.
    pub async fn web_tokens(&self, scope: &str) -> Tokens {
        self.server
            .code_flow(
                &self.web_auth(),
                &self.web_request(scope),
                (ALICE, ALICE_PASSWORD),
            )
            .await
            .expect("code flow succeeds")
    }

    /// The whole code flow for the public SPA client.
    pub async fn spa_tokens(&self, scope: &str) -> Tokens {
        self.server
            .code_flow(
                &self.spa_auth(),
                &self.spa_request(scope),
                (ALICE, ALICE_PASSWORD),
            )
            .await
            .expect("code flow succeeds")
    }

    /// Registers (or replaces) an upstream identity provider, as `upstreams add` does.
    pub async fn put_upstream(&self, upstream: portcullis_server::admin::NewUpstream) {
        portcullis_server::admin::put_upstream(
            self.server.store().as_ref(),
            self.server.clock().as_ref(),
            &self.server.config().key_encryption,
            upstream,
        )
        .await
        .unwrap();
    }

    /// Creates role `role` and group `group` carrying it, and lets the web client (scope
    /// `scope`) see all of its users' roles and groups: the setup of the sign-in flows that
    /// bring groups from an upstream provider.
    pub async fn group_with_role_visible_to_web(&self, group: &str, role: &str, scope: &str) {
        use portcullis_server::admin;
        use portcullis_types::{ClientSecret, GroupName, RoleName};
        let store = self.server.store().as_ref();
        let clock = self.server.clock().as_ref();
        let role = RoleName::parse(role).unwrap();
        admin::add_role(store, clock, role.clone(), None)
            .await
            .unwrap();
        admin::add_group(store, clock, GroupName::parse(group).unwrap(), vec![role])
            .await
            .unwrap();
        admin::replace_client(
            store,
            clock,
            self.server.config(),
            portcullis_server::config::ClientConfig {
                client_id: WEB.into(),
                secret: Some(ClientSecret::new(WEB_SECRET)),
                redirect_uris: vec![WEB_CB.into()],
                grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
                scope: Some(scope.into()),
                audience: vec![API.into()],
                token_roles: portcullis_server::store::ReleaseFilter::All,
                token_groups: portcullis_server::store::ReleaseFilter::All,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }

    /// Whether an access token is still active according to introspection.
    pub async fn is_active(&self, token: &str) -> bool {
        let reply = self
            .server
            .introspect(&self.web_auth(), token)
            .await
            .expect("introspection answers");
        assert_eq!(reply.status, 200, "introspection: {}", reply.body);
        reply.json.get("active") == Some(&Value::Bool(true))
    }
}

/// Asserts an RFC 6749 §5.2 error reply: status, `error` code, JSON and `Cache-Control: no-store`.
#[track_caller]
pub fn assert_token_error(reply: &Reply, status: u16, error: &str) {
    assert_eq!(
        reply.status.as_u16(),
        status,
        "expected {status} {error}, got {} {}",
        reply.status,
        reply.body
    );
    assert_eq!(reply.error(), Some(error), "body: {}", reply.body);
    let cache = reply.header("cache-control").unwrap_or_default();
    assert!(
        cache.contains("no-store"),
        "error without Cache-Control: no-store ({cache:?})"
    );
}

/// Asserts a successful token reply with `Cache-Control: no-store`.
#[track_caller]
pub fn assert_token_ok(reply: &Reply) {
    assert_eq!(reply.status, 200, "token request failed: {}", reply.body);
    assert!(
        reply
            .header("cache-control")
            .unwrap_or_default()
            .contains("no-store"),
        "token response without Cache-Control: no-store"
    );
    assert_eq!(
        reply
            .str("token_type")
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("bearer")
    );
}

/// Runs the futures concurrently on this task.
pub async fn join_concurrently<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in pinned.iter_mut().zip(results.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(r) => *slot = Some(r),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    results.into_iter().map(Option::unwrap).collect()
}

/// A fresh PostgreSQL schema (migrated), so a test meets neither other tests' rows nor other
/// versions' migrations: the database URL that confines a server to it (`search_path`) and the
/// store, whose `drop_schema` cleans up. `None`, with a notice, when PostgreSQL is unreachable
/// outside CI; with `CI` set that fails the test instead.
pub async fn postgres_schema(tag: &str) -> Option<(String, PostgresStore)> {
    let url = std::env::var("PORTCULLIS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let suffix: String = random_token(12)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    let schema = format!("pcs_e2e_{tag}_{}_{suffix}", std::process::id());
    match PostgresStore::connect_in_schema(&url, &schema).await {
        Ok(store) => {
            let sep = if url.contains('?') { '&' } else { '?' };
            Some((
                format!("{url}{sep}options=-c%20search_path%3D{schema}"),
                store,
            ))
        }
        Err(err) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping PostgreSQL test: {url} unreachable ({err})");
            None
        }
        Err(err) => panic!("PostgreSQL required in CI: {err}"),
    }
}

/// Whether the Redis at `url` answers; outside CI a missing Redis skips the test (with a
/// notice), in CI it fails it.
pub async fn redis_reachable(url: &str) -> bool {
    let reachable = match redis::Client::open(url) {
        Ok(client) => client.get_multiplexed_async_connection().await.is_ok(),
        Err(_) => false,
    };
    if !reachable {
        assert!(
            std::env::var_os("CI").is_none(),
            "Redis required in CI at {url}"
        );
        eprintln!("skipping: Redis unreachable at {url}");
    }
    reachable
}
