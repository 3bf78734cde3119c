//! `--server URL`: the management commands on a running server's admin API (`/admin/v1` on
//! `serve --admin-listen`) instead of its database, so that an operator manages a remote
//! deployment. The bearer token comes from `PORTCULLIS_ADMIN_TOKEN`, or is fetched by the
//! client-credentials grant of the client in `PORTCULLIS_ADMIN_CLIENT_ID` and
//! `PORTCULLIS_ADMIN_CLIENT_SECRET` at the token endpoint of `PORTCULLIS_ISSUER`. Tokens and
//! secrets are sent, never printed.

use crate::db::StoreArgs;
use anyhow::{Context as _, anyhow, bail};
use clap::Args;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use url::Url;

/// `value` percent-encoded for a query string.
pub fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The variable holding the admin API's bearer token.
pub const TOKEN_ENV: &str = "PORTCULLIS_ADMIN_TOKEN";
/// The variable holding the admin client's id, when the token is to be fetched.
const CLIENT_ID_ENV: &str = "PORTCULLIS_ADMIN_CLIENT_ID";
/// The variable holding the admin client's secret.
const CLIENT_SECRET_ENV: &str = "PORTCULLIS_ADMIN_CLIENT_SECRET";
/// The variable holding the issuer whose token endpoint gives the admin client its token.
const ISSUER_ENV: &str = "PORTCULLIS_ISSUER";

/// Where a management command works: a running server's admin API, or the database.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// Work through the admin API of a running server instead of its database: the base URL of
    /// its admin listener (`serve --admin-listen`), e.g. http://127.0.0.1:9090. The bearer token
    /// is read from PORTCULLIS_ADMIN_TOKEN: an access token for the audience ISSUER/admin/v1
    /// with the role `admin` and the operation's scope, e.g. one of the client `admin
    /// bootstrap` registers. Without it, the command gets one by the client-credentials grant
    /// of PORTCULLIS_ADMIN_CLIENT_ID and PORTCULLIS_ADMIN_CLIENT_SECRET at the token endpoint of
    /// PORTCULLIS_ISSUER. --config and --database are then not used.
    #[arg(long, env = "PORTCULLIS_SERVER", value_name = "URL")]
    pub server: Option<Url>,
    #[command(flatten)]
    pub store: StoreArgs,
}

impl Target {
    /// The admin API client when `--server` is given, with the token from the environment.
    pub async fn remote(&self) -> anyhow::Result<Option<Remote>> {
        let Some(server) = &self.server else {
            return Ok(None);
        };
        let http = reqwest::Client::builder()
            .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the HTTP client")?;
        let token = match var(TOKEN_ENV) {
            Some(token) => BearerToken(token),
            None => match (var(CLIENT_ID_ENV), var(CLIENT_SECRET_ENV), var(ISSUER_ENV)) {
                (Some(id), Some(secret), Some(issuer)) => {
                    fetch_token(&http, &issuer, &id, &secret).await?
                }
                _ => bail!(
                    "--server needs an admin API bearer token in {TOKEN_ENV}, or an admin \
                     client in {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV} with {ISSUER_ENV}"
                ),
            },
        };
        Remote::new(http, server.clone(), token).map(Some)
    }
}

/// The non-empty value of the variable `name`.
fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The access token of a token endpoint's answer.
#[derive(serde::Deserialize)]
struct TokenAnswer {
    access_token: String,
}

/// A token of the client `id` by the client-credentials grant at `issuer`'s token endpoint.
async fn fetch_token(
    http: &reqwest::Client,
    issuer: &str,
    id: &str,
    secret: &str,
) -> anyhow::Result<BearerToken> {
    let endpoint = format!("{}/token", issuer.trim_end_matches('/'));
    let response = http
        .post(&endpoint)
        .basic_auth(
            form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>(),
            Some(form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>()),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .with_context(|| format!("cannot reach the token endpoint {endpoint}"))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .with_context(|| format!("reading the answer of {endpoint}"))?;
    if !status.is_success() {
        let detail = serde_json::from_str::<ErrorAnswer>(&text).ok().map_or_else(
            || status.to_string(),
            |e| e.error_description.unwrap_or(e.error),
        );
        bail!("{endpoint} refused the admin client {id}: {detail}");
    }
    let answer: TokenAnswer = serde_json::from_str(&text)
        .with_context(|| format!("unexpected answer from {endpoint}"))?;
    Ok(BearerToken(answer.access_token))
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
    fn new(http: reqwest::Client, base: Url, token: BearerToken) -> anyhow::Result<Self> {
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            bail!("--server {base}: not an http or https URL");
        }
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
