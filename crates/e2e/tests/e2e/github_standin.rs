//! A GitHub stand-in on `127.0.0.1:0`, laid out like GitHub Enterprise Server (`/login/oauth/…`
//! and `/api/v3/…`), answering with the JSON shapes of GitHub's REST documentation: the OAuth
//! authorize redirect, `POST /login/oauth/access_token` (200 with `error` when it refuses),
//! `GET /user`, `GET /user/emails` and `GET /user/teams`. It checks what GitHub checks: the
//! client credentials, the code and its PKCE verifier, the bearer token and a `User-Agent`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use portcullis_testkit::{random_token, s256_challenge};
use serde_json::{Value, json};
use url::Url;

pub const CLIENT_ID: &str = "Iv1.8a61f9b3a7aba766";
pub const CLIENT_SECRET: &str = "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c";

/// One address of `GET /user/emails`.
#[derive(Debug, Clone)]
pub struct Email {
    pub email: String,
    pub primary: bool,
    pub verified: bool,
}

/// The account the stand-in signs in.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: u64,
    pub login: String,
    pub name: Option<String>,
    pub emails: Vec<Email>,
    /// `(organization login, team slug)`.
    pub teams: Vec<(String, String)>,
}

impl Account {
    /// `octocat` whose only address, primary, is `email`.
    pub fn with_email(email: &str, verified: bool) -> Self {
        Self {
            emails: vec![Email {
                email: email.to_owned(),
                primary: true,
                verified,
            }],
            ..Self::octocat(&[])
        }
    }

    /// `octocat` with one primary, verified address and the given teams.
    pub fn octocat(teams: &[(&str, &str)]) -> Self {
        Self {
            id: 583231,
            login: "octocat".into(),
            name: Some("The Octocat".into()),
            emails: vec![Email {
                email: "octocat@github.example".into(),
                primary: true,
                verified: true,
            }],
            teams: teams
                .iter()
                .map(|(o, t)| ((*o).to_owned(), (*t).to_owned()))
                .collect(),
        }
    }
}

#[derive(Default)]
struct Inner {
    account: Option<Account>,
    /// Answer the token request with this `error`.
    token_error: Option<String>,
    /// code → (challenge, redirect_uri)
    codes: HashMap<String, (String, String)>,
    tokens: Vec<String>,
}

/// The running stand-in.
#[derive(Clone)]
pub struct GitHub {
    pub base: Url,
    inner: Arc<Mutex<Inner>>,
}

impl GitHub {
    pub async fn start(account: Account) -> GitHub {
        let inner = Arc::new(Mutex::new(Inner {
            account: Some(account),
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/login/oauth/authorize", get(authorize))
            .route("/login/oauth/access_token", post(access_token))
            .route("/api/v3/user", get(user))
            .route("/api/v3/user/emails", get(emails))
            .route("/api/v3/user/teams", get(teams))
            .route("/api/v3/user/orgs", get(orgs))
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        GitHub {
            base: Url::parse(&format!("http://{addr}")).unwrap(),
            inner,
        }
    }

    /// Makes the token endpoint refuse every code with `error`.
    pub fn refuse_tokens(&self, error: &str) {
        self.inner.lock().unwrap().token_error = Some(error.to_owned());
    }

    /// The base URL as configured (`--base-url`).
    pub fn base_url(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_owned()
    }
}

type Shared = State<Arc<Mutex<Inner>>>;

async fn authorize(State(inner): Shared, Query(q): Query<HashMap<String, String>>) -> Response {
    let (Some(client_id), Some(redirect_uri), Some(state)) =
        (q.get("client_id"), q.get("redirect_uri"), q.get("state"))
    else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if client_id != CLIENT_ID || q.get("code_challenge_method").map(String::as_str) != Some("S256")
    {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let challenge = q.get("code_challenge").cloned().unwrap_or_default();
    let code = random_token(20);
    inner
        .lock()
        .unwrap()
        .codes
        .insert(code.clone(), (challenge, redirect_uri.clone()));
    let mut to = Url::parse(redirect_uri).unwrap();
    to.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", state);
    // GitHub answers the approved authorization with a 302.
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
}

/// The error body GitHub sends, with status 200, for a refused code.
fn token_error(error: &str) -> Response {
    axum::Json(json!({
        "error": error,
        "error_description": "The code passed is incorrect or expired.",
        "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code"
    }))
    .into_response()
}

async fn access_token(
    State(inner): Shared,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(error) = inner.token_error.clone() {
        return token_error(&error);
    }
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    let Some((challenge, redirect_uri)) = inner.codes.remove(field("code")) else {
        return token_error("bad_verification_code");
    };
    if field("client_id") != CLIENT_ID || field("client_secret") != CLIENT_SECRET {
        return token_error("incorrect_client_credentials");
    }
    if field("redirect_uri") != redirect_uri {
        return token_error("redirect_uri_mismatch");
    }
    if s256_challenge(field("code_verifier")) != challenge {
        return token_error("bad_verification_code");
    }
    let token = format!("gho_{}", random_token(24));
    inner.tokens.push(token.clone());
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if accept.contains("application/json") {
        axum::Json(json!({
            "access_token": token,
            "scope": "read:org,read:user,user:email",
            "token_type": "bearer"
        }))
        .into_response()
    } else {
        // Without `Accept: application/json` GitHub answers form-encoded.
        format!("access_token={token}&scope=read%3Auser&token_type=bearer").into_response()
    }
}

/// GitHub's answer to an API request: `body` of the account behind the bearer token, or
/// 403 without a `User-Agent` and 401 for an unknown token, as GitHub answers.
fn answer(
    inner: &Mutex<Inner>,
    headers: &HeaderMap,
    body: impl FnOnce(&Account) -> Value,
) -> Response {
    if !headers.contains_key(header::USER_AGENT) {
        return (
            StatusCode::FORBIDDEN,
            "Request forbidden by administrative rules. Please make sure your request has a User-Agent header",
        )
            .into_response();
    }
    let inner = inner.lock().unwrap();
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    match (&inner.account, inner.tokens.iter().any(|t| t == presented)) {
        (Some(a), true) => axum::Json(body(a)).into_response(),
        _ => (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({
                "message": "Bad credentials",
                "documentation_url": "https://docs.github.com/rest",
                "status": "401"
            })),
        )
            .into_response(),
    }
}

async fn user(State(inner): Shared, headers: HeaderMap) -> Response {
    answer(&inner, &headers, |a| {
        json!({
            "login": a.login,
            "id": a.id,
            "node_id": "MDQ6VXNlcjE=",
            "avatar_url": "https://github.com/images/error/octocat_happy.gif",
            "type": "User",
            "site_admin": false,
            "name": a.name,
            "company": "GitHub",
            // The public profile address: not what sign-in relies on.
            "email": Value::Null,
            "created_at": "2008-01-14T04:33:35Z",
            "updated_at": "2008-01-14T04:33:35Z"
        })
    })
}

async fn emails(State(inner): Shared, headers: HeaderMap) -> Response {
    answer(&inner, &headers, |a| {
        a.emails
            .iter()
            .map(|e| {
                json!({
                    "email": e.email,
                    "verified": e.verified,
                    "primary": e.primary,
                    "visibility": if e.primary { json!("public") } else { Value::Null }
                })
            })
            .collect()
    })
}

/// GitHub's paging parameters: `per_page` (default 30, at most 100) and `page` (from 1), as
/// `(entries to skip, entries per page)`.
fn paging(q: &HashMap<String, String>) -> (usize, usize) {
    let number = |k: &str, default: usize| {
        q.get(k)
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(default)
    };
    let per_page = number("per_page", 30).clamp(1, 100);
    (
        number("page", 1).max(1).saturating_sub(1) * per_page,
        per_page,
    )
}

/// `GET /user/orgs`, in pages like the teams: the organisations of the account's teams (a team
/// member is a member of its organisation), each once.
async fn orgs(
    State(inner): Shared,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (skip, per_page) = paging(&q);
    answer(&inner, &headers, |a| {
        let mut logins: Vec<&str> = a.teams.iter().map(|(org, _)| org.as_str()).collect();
        logins.dedup();
        logins
            .into_iter()
            .enumerate()
            .skip(skip)
            .take(per_page)
            .map(|(i, login)| {
                json!({
                    "login": login,
                    "id": i + 1,
                    "node_id": "MDEyOk9yZ2FuaXphdGlvbjE=",
                    "url": format!("https://api.github.com/orgs/{login}"),
                    "avatar_url": "https://github.com/images/error/octocat_happy.gif",
                    "description": "A great organization"
                })
            })
            .collect()
    })
}

/// `GET /user/teams`, in pages (`per_page` default 30, at most 100; `page` from 1).
async fn teams(
    State(inner): Shared,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (skip, per_page) = paging(&q);
    answer(&inner, &headers, |a| {
        a.teams
            .iter()
            .enumerate()
            .skip(skip)
            .take(per_page)
            .map(|(i, (org, slug))| {
                json!({
                    "id": i + 1,
                    "node_id": "MDQ6VGVhbTE=",
                    "name": slug,
                    "slug": slug,
                    "description": Value::Null,
                    "privacy": "closed",
                    "permission": "admin",
                    "organization": { "login": org, "id": 1, "node_id": "MDEyOk9yZ2FuaXphdGlvbjE=" }
                })
            })
            .collect()
    })
}
