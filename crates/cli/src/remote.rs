//! `--server URL`: the management commands on a running server's admin API (`/admin/v1` on
//! `serve --admin-listen`) instead of its database, so that an operator manages a remote
//! deployment. The bearer token comes from `PORTCULLIS_ADMIN_TOKEN`; it is sent, never printed.

use crate::db::StoreArgs;
use anyhow::{Context as _, anyhow, bail};
use clap::Args;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use url::Url;

/// The variable holding the admin API's bearer token.
pub const TOKEN_ENV: &str = "PORTCULLIS_ADMIN_TOKEN";

/// Where a management command works: a running server's admin API, or the database.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// Work through the admin API of a running server instead of its database: the base URL of
    /// its admin listener (`serve --admin-listen`), e.g. http://127.0.0.1:9090. The bearer token
    /// is read from PORTCULLIS_ADMIN_TOKEN: an access token for the audience ISSUER/admin/v1
    /// with the role `admin` and the operation's scope, e.g. one of the client `admin
    /// bootstrap` registers. --config and --database are then not used.
    #[arg(long, env = "PORTCULLIS_SERVER", value_name = "URL")]
    pub server: Option<Url>,
    #[command(flatten)]
    pub store: StoreArgs,
}

impl Target {
    /// The admin API client when `--server` is given, with the token from the environment.
    pub fn remote(&self) -> anyhow::Result<Option<Remote>> {
        let Some(server) = &self.server else {
            return Ok(None);
        };
        let token = std::env::var(TOKEN_ENV)
            .ok()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| anyhow!("--server needs an admin API bearer token in {TOKEN_ENV}"))?;
        Remote::new(server.clone(), BearerToken(token)).map(Some)
    }
}

/// A bearer token; its `Debug` hides it.
struct BearerToken(String);

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(***)")
    }
}

/// A client of one server's admin API.
#[derive(Debug)]
pub struct Remote {
    http: reqwest::Client,
    base: Url,
    token: BearerToken,
}

/// The error body of the admin API (`{error, error_description, field}`).
#[derive(Debug, serde::Deserialize)]
struct ErrorAnswer {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl Remote {
    fn new(base: Url, token: BearerToken) -> anyhow::Result<Self> {
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            bail!("--server {base}: not an http or https URL");
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the HTTP client")?;
        Ok(Self { http, base, token })
    }

    /// The URL of `/admin/v1/` followed by `segments`, each percent-encoded as one segment.
    fn url(&self, segments: &[&str]) -> anyhow::Result<Url> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| anyhow!("--server {}: not a base URL", self.base))?
            .pop_if_empty()
            .extend(["admin", "v1"])
            .extend(segments);
        Ok(url)
    }

    /// `GET /admin/v1/{segments}`.
    pub async fn get<T: DeserializeOwned>(&self, segments: &[&str]) -> anyhow::Result<T> {
        self.call(Method::GET, segments, None::<&()>).await
    }

    /// `GET /admin/v1/{segments}?{query}`, the query already encoded.
    pub async fn get_query<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &str,
    ) -> anyhow::Result<T> {
        self.send(Method::GET, segments, Some(query), None::<&()>)
            .await
    }

    /// `method /admin/v1/{segments}` with `body` as JSON, if any; the answer's JSON as `T`, or
    /// the API's error as a message.
    pub async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&B>,
    ) -> anyhow::Result<T> {
        self.send(method, segments, None, body).await
    }

    /// [`Remote::call`] with an encoded query string.
    async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: Option<&str>,
        body: Option<&B>,
    ) -> anyhow::Result<T> {
        let mut url = self.url(segments)?;
        url.set_query(query);
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .bearer_auth(&self.token.0);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach the admin API at {}", self.base))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .with_context(|| format!("reading the answer of {method} {}", url.path()))?;
        if !status.is_success() {
            return Err(api_error(status, &text));
        }
        serde_json::from_str(&text)
            .with_context(|| format!("unexpected answer to {method} {}", url.path()))
    }
}

/// A failed admin API call: its status and the message for the operator.
#[derive(Debug)]
pub struct ApiFailure {
    /// The answer's status.
    pub status: StatusCode,
    message: String,
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiFailure {}

/// The failure of a call answered `status` with `body`: the API's description, and what to do
/// about an authentication or authorization failure.
fn api_error(status: StatusCode, body: &str) -> anyhow::Error {
    let detail = serde_json::from_str::<ErrorAnswer>(body)
        .ok()
        .map(|e| e.error_description.unwrap_or(e.error));
    let detail = detail.unwrap_or_else(|| status.to_string());
    let message = match status {
        StatusCode::UNAUTHORIZED => format!(
            "unauthorized: the admin API refused the token in {TOKEN_ENV} ({detail}); \
             it needs a valid access token for the audience ISSUER/admin/v1"
        ),
        StatusCode::FORBIDDEN => format!(
            "forbidden: the token in {TOKEN_ENV} may not do this ({detail}); it needs the \
             role admin and the operation's admin scope"
        ),
        _ => detail,
    };
    ApiFailure { status, message }.into()
}

/// Whether `error` is the admin API's answer `status`.
pub fn answered(error: &anyhow::Error, status: StatusCode) -> bool {
    error
        .downcast_ref::<ApiFailure>()
        .is_some_and(|f| f.status == status)
}
