//! Protocol helpers for tests: authorize URLs, redirect parsing, and calls to the token,
//! revocation, introspection and userinfo endpoints that return status, headers and JSON.

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::HeaderMap;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use url::Url;

/// How a client authenticates to a back-channel endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_basic`: id and secret form-urlencoded, then Basic (RFC 6749 §2.3.1).
    Basic(String, String),
    /// `client_secret_post`: id and secret in the form body.
    Post(String, String),
    /// `none`: a public client sends only `client_id`.
    Public(String),
    /// Send no client identification at all.
    Nothing,
    /// Extra form fields chosen by the test (for `private_key_jwt` assertions and the like).
    Fields(Vec<(String, String)>),
}

impl ClientAuth {
    /// `client_secret_basic` credentials.
    pub fn basic(id: &str, secret: &str) -> Self {
        Self::Basic(id.to_owned(), secret.to_owned())
    }

    /// `client_secret_post` credentials.
    pub fn post(id: &str, secret: &str) -> Self {
        Self::Post(id.to_owned(), secret.to_owned())
    }

    /// A public client.
    pub fn public(id: &str) -> Self {
        Self::Public(id.to_owned())
    }
}

/// The `Authorization: Basic` value for a client id and secret (RFC 6749 §2.3.1).
pub fn basic_header(id: &str, secret: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

/// A JSON reply with its status and headers.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body parsed as JSON (`Value::Null` when it is not JSON).
    pub json: Value,
    /// The raw body.
    pub body: String,
}

impl Reply {
    /// Reads a response.
    pub async fn read(resp: reqwest::Response) -> Self {
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.text().await.unwrap_or_default();
        let json = serde_json::from_str(&body).unwrap_or(Value::Null);
        Self {
            status,
            headers,
            json,
            body,
        }
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `error` member of the body.
    pub fn error(&self) -> Option<&str> {
        self.json.get("error").and_then(Value::as_str)
    }

    /// A string member of the body.
    pub fn str(&self, member: &str) -> Option<&str> {
        self.json.get(member).and_then(Value::as_str)
    }
}

/// POSTs a form to `url` with the given client authentication.
pub async fn post_form(
    http: &Client,
    url: &str,
    auth: &ClientAuth,
    form: &[(&str, &str)],
) -> anyhow::Result<Reply> {
    let mut fields: Vec<(String, String)> = form
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut req = http.post(url);
    match auth {
        ClientAuth::Basic(id, secret) => {
            req = req.header("authorization", basic_header(id, secret));
        }
        ClientAuth::Post(id, secret) => {
            fields.push(("client_id".into(), id.clone()));
            fields.push(("client_secret".into(), secret.clone()));
        }
        ClientAuth::Public(id) => fields.push(("client_id".into(), id.clone())),
        ClientAuth::Nothing => {}
        ClientAuth::Fields(extra) => fields.extend(extra.iter().cloned()),
    }
    let resp = req
        .form(&fields)
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    Ok(Reply::read(resp).await)
}

/// GETs `url` with a Bearer token.
pub async fn get_bearer(http: &Client, url: &str, token: &str) -> anyhow::Result<Reply> {
    let resp = http
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    Ok(Reply::read(resp).await)
}

/// Builds an authorization request URL.
#[derive(Debug, Clone)]
pub struct AuthorizeUrl {
    url: Url,
}

impl AuthorizeUrl {
    /// `endpoint?response_type=code&client_id=..&redirect_uri=..&scope=..`; add the rest
    /// with [`AuthorizeUrl::param`].
    pub fn code(endpoint: &Url, client_id: &str, redirect_uri: &str, scope: &str) -> Self {
        let mut url = endpoint.clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", scope);
        Self { url }
    }

    /// An empty request to `endpoint`, for tests that pick every parameter themselves.
    pub fn bare(endpoint: &Url) -> Self {
        Self {
            url: endpoint.clone(),
        }
    }

    /// Appends a parameter.
    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.url.query_pairs_mut().append_pair(name, value);
        self
    }

    /// Appends `code_challenge` and `code_challenge_method=S256`.
    pub fn pkce(self, pkce: &crate::Pkce) -> Self {
        self.param("code_challenge", &pkce.challenge)
            .param("code_challenge_method", "S256")
    }

    /// The URL.
    pub fn build(self) -> Url {
        self.url
    }
}

/// The query parameters of a redirect, in order.
pub fn query_pairs(url: &Url) -> Vec<(String, String)> {
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The first query parameter `name` of a URL.
pub fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}
