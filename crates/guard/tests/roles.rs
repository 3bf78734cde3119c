//! Roles, groups and the name through whole requests (`Router::oneshot`): the typed
//! `RequireRole` extractor, `require_any_role`, configured claim paths and wrongly typed claims.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use axum::routing::{get, post};
use axum::{Json, Router};
use common::*;
use http::StatusCode;
use portcullis_guard::jose::Algorithm;
use portcullis_guard::{
    Authenticated, ConfigError, Guard, INVALID_TOKEN_DESCRIPTION, RequireRole, RoleName,
    require_any_role, require_role, require_scope,
};
use serde_json::{Value, json};

const ROLE_DESCRIPTION: &str = "The access token does not carry the role this resource requires";

struct OrdersWriter;

impl RoleName for OrdersWriter {
    const NAME: &'static str = "orders:write";
}

async fn whoami(auth: Authenticated) -> Json<Value> {
    Json(json!({
        "user": auth.user_id(),
        "name": auth.name(),
        "roles": auth.roles(),
        "groups": auth.groups(),
    }))
}

async fn create(writer: RequireRole<OrdersWriter>) -> Json<Value> {
    Json(json!({"created_by": writer.user_id(), "jti": writer.claims().jti()}))
}

/// `/whoami` (any token), `/orders` POST (`orders:write` scope by layer, role by extractor),
/// `/support` (either role by layer), `/admin` (role by layer).
fn app(guard: &Guard) -> Router {
    Router::new()
        .route("/whoami", get(whoami))
        .route(
            "/orders",
            post(create).route_layer(require_scope("orders:write")),
        )
        .route("/typed", get(create))
        .route(
            "/support",
            get(|| async { "support" }).route_layer(require_any_role(["support", "admin"])),
        )
        .route(
            "/nobody",
            get(|| async { "nobody" }).route_layer(require_any_role(Vec::<String>::new())),
        )
        .route(
            "/admin",
            get(|| async { "admin" }).route_layer(require_role("admin")),
        )
        .layer(guard.layer())
}

fn post_with(uri: &str, authorization: Option<&str>) -> http::Request<axum::body::Body> {
    let mut builder = http::Request::post(uri);
    if let Some(value) = authorization {
        builder = builder.header("authorization", value);
    }
    builder.body(axum::body::Body::empty()).unwrap()
}

fn token_with(issuer: &TestIssuer, extra: Value) -> String {
    let mut claims = issuer.claims();
    for (name, value) in extra.as_object().unwrap() {
        claims[name] = value.clone();
    }
    issuer.sign(&claims)
}

fn assert_role_refused(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert_eq!(
        reply.challenge(),
        format!(
            "Bearer realm=\"orders-api\", error=\"insufficient_scope\", error_description=\"{ROLE_DESCRIPTION}\""
        )
    );
    assert_eq!(
        reply.json(),
        json!({"error": "insufficient_scope", "error_description": ROLE_DESCRIPTION})
    );
    assert_eq!(reply.headers["cache-control"], "no-store");
}

#[tokio::test]
async fn require_role_extractor_admits_the_role_and_answers_403_without_it() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let guard = issuer.guard();
    let writer = token_with(
        &issuer,
        json!({"scope": "orders:write", "roles": ["viewer", "orders:write"]}),
    );
    let reply = send(app(&guard), post_with("/orders", Some(&bearer(&writer)))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json(), json!({"created_by": "alice", "jti": "jti-1"}));

    // The scope is there, the role is not: the extractor answers like `require_role`.
    let scoped = token_with(
        &issuer,
        json!({"scope": "orders:write", "roles": ["viewer"]}),
    );
    let by_extractor = send(app(&guard), post_with("/orders", Some(&bearer(&scoped)))).await;
    assert_role_refused(&by_extractor);
    let by_layer = send(app(&guard), get_with("/admin", Some(&bearer(&scoped)))).await;
    assert_role_refused(&by_layer);
    assert_eq!(by_extractor.body, by_layer.body);

    // A role named like the scope is not the scope: both are demanded.
    let role_only = token_with(
        &issuer,
        json!({"scope": "orders:read", "roles": ["orders:write"]}),
    );
    let reply = send(app(&guard), post_with("/orders", Some(&bearer(&role_only)))).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.challenge().contains("scope=\"orders:write\""));

    // The role must match exactly, and sit in the roles claim, not among the groups.
    for extra in [
        json!({"roles": ["Orders:Write"]}),
        json!({"roles": ["orders:write "]}),
        json!({"roles": [], "groups": ["orders:write"]}),
        json!({"roles": "orders:write,admin"}),
    ] {
        let token = token_with(&issuer, extra.clone());
        let reply = send(app(&guard), get_with("/typed", Some(&bearer(&token)))).await;
        assert_role_refused(&reply);
    }
}

#[tokio::test]
async fn require_role_extractor_without_a_token_or_the_layer() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let reply = send(app(&issuer.guard()), get_with("/typed", None)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), "Bearer realm=\"orders-api\"");

    // Behind the optional layer, an anonymous request reaches the extractor: still a 401.
    let guard = issuer.guard();
    let optional = Router::new()
        .route("/typed", get(create))
        .layer(guard.optional_layer());
    let reply = send(optional, get_with("/typed", None)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), "Bearer realm=\"orders-api\"");

    // Without any guard layer the extractor refuses rather than trusting the request.
    let token = token_with(&issuer, json!({"roles": ["orders:write"]}));
    let bare = Router::new().route("/typed", get(create));
    let reply = send(bare, get_with("/typed", Some(&bearer(&token)))).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn require_any_role_admits_any_listed_role() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let guard = issuer.guard();
    for roles in [json!(["support"]), json!(["viewer", "admin"])] {
        let token = token_with(&issuer, json!({ "roles": roles }));
        let reply = send(app(&guard), get_with("/support", Some(&bearer(&token)))).await;
        assert_eq!(reply.status, StatusCode::OK, "{roles}");
    }
    let viewer = token_with(&issuer, json!({"roles": ["viewer"]}));
    assert_role_refused(&send(app(&guard), get_with("/support", Some(&bearer(&viewer)))).await);
    // No role at all: the claim is absent.
    assert_role_refused(
        &send(
            app(&guard),
            get_with("/support", Some(&bearer(&issuer.token()))),
        )
        .await,
    );
    // An empty list admits nobody.
    let admin = token_with(&issuer, json!({"roles": ["admin"]}));
    assert_role_refused(&send(app(&guard), get_with("/nobody", Some(&bearer(&admin)))).await);
}

#[tokio::test]
async fn groups_and_name_reach_the_handler() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let token = token_with(
        &issuer,
        json!({"roles": ["orders:write"], "groups": ["staff", "eu"], "name": "Alice Example"}),
    );
    let reply = send(
        app(&issuer.guard()),
        get_with("/whoami", Some(&bearer(&token))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"user": "alice", "name": "Alice Example", "roles": ["orders:write"],
            "groups": ["staff", "eu"]})
    );

    let reply = send(
        app(&issuer.guard()),
        get_with("/whoami", Some(&bearer(&issuer.token()))),
    )
    .await;
    assert_eq!(
        reply.json(),
        json!({"user": "alice", "name": null, "roles": [], "groups": []})
    );
}

#[tokio::test]
async fn configured_groups_and_name_claims_are_read_from_their_paths() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let guard = issuer
        .builder()
        .roles_claim("realm_access.roles")
        .groups_claim("org.teams")
        .name_claim("preferred_username")
        .build()
        .unwrap();
    let token = token_with(
        &issuer,
        json!({
            "realm_access": {"roles": ["admin"]},
            "org": {"teams": ["blue"]},
            "preferred_username": "alice.e",
            // The default claims are not read once others are configured.
            "groups": ["staff"],
            "name": "Alice Example",
        }),
    );
    let reply = send(app(&guard), get_with("/whoami", Some(&bearer(&token)))).await;
    assert_eq!(
        reply.json(),
        json!({"user": "alice", "name": "alice.e", "roles": ["admin"], "groups": ["blue"]})
    );
    // With the default paths, a wrongly typed claim elsewhere is none of the guard's business.
    let token = token_with(
        &issuer,
        json!({"org": {"teams": ["blue"]}, "preferred_username": "alice.e", "name": 7, "groups": 7}),
    );
    let reply = send(app(&guard), get_with("/whoami", Some(&bearer(&token)))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn rs_9_wrongly_typed_groups_or_name_make_the_token_invalid() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    for extra in [
        json!({"groups": [1, 2]}),
        json!({"groups": {"staff": true}}),
        json!({"groups": false}),
        json!({"name": ["Alice"]}),
        json!({"name": 7}),
        json!({"roles": [["admin"]]}),
    ] {
        let token = token_with(&issuer, extra.clone());
        let reply = send(
            app(&issuer.guard()),
            get_with("/whoami", Some(&bearer(&token))),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{extra}");
        assert_eq!(
            reply.json(),
            json!({"error": "invalid_token", "error_description": INVALID_TOKEN_DESCRIPTION}),
            "{extra}"
        );
    }
}

#[test]
fn empty_claim_path_segments_are_configuration_errors() {
    let builder = || Guard::builder().issuer("https://as").audience("a");
    assert!(matches!(
        builder().groups_claim("").build(),
        Err(ConfigError::Empty("a segment of the groups claim"))
    ));
    assert!(matches!(
        builder().name_claim("org..name").build(),
        Err(ConfigError::Empty("a segment of the name claim"))
    ));
    assert!(
        builder()
            .groups_claim("org.teams")
            .name_claim("sub")
            .build()
            .is_ok()
    );
}
