//! Protocol flows against a [`TestServer`]: the authorization request walked by a scripted
//! browser, code redemption, refresh, client credentials, userinfo, revocation, introspection.

use crate::browser::{Browser, Consent, Outcome};
use crate::oauth::{self, AuthorizeUrl, ClientAuth, Reply};
use crate::pkce::{Pkce, random_token};
use crate::server::TestServer;
use anyhow::{Context as _, bail};
use portcullis_jose::time::Clock as _;
use portcullis_jose::{KeySet, Validator};
use serde_json::Value;
use url::Url;

/// An authorization request (response type `code`) with its PKCE pair, `state` and `nonce`.
#[derive(Debug, Clone)]
pub struct CodeRequest {
    /// `client_id`.
    pub client_id: String,
    /// `redirect_uri` (sent when `Some`).
    pub redirect_uri: Option<String>,
    /// `scope`.
    pub scope: String,
    /// The PKCE pair; `None` sends no challenge.
    pub pkce: Option<Pkce>,
    /// `state` (sent when `Some`).
    pub state: Option<String>,
    /// `nonce` (sent when `Some`).
    pub nonce: Option<String>,
    /// Extra parameters, in order.
    pub extra: Vec<(String, String)>,
}

impl CodeRequest {
    /// A request with a fresh PKCE pair, state and nonce.
    pub fn new(client_id: &str, redirect_uri: &str, scope: &str) -> Self {
        Self {
            client_id: client_id.to_owned(),
            redirect_uri: Some(redirect_uri.to_owned()),
            scope: scope.to_owned(),
            pkce: Some(Pkce::new()),
            state: Some(random_token(16)),
            nonce: Some(random_token(16)),
            extra: Vec::new(),
        }
    }

    /// Removes the PKCE challenge.
    pub fn without_pkce(mut self) -> Self {
        self.pkce = None;
        self
    }

    /// Removes the `redirect_uri` parameter.
    pub fn without_redirect_uri(mut self) -> Self {
        self.redirect_uri = None;
        self
    }

    /// Removes the `nonce` parameter.
    pub fn without_nonce(mut self) -> Self {
        self.nonce = None;
        self
    }

    /// Adds a parameter.
    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.extra.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The query parameters, in order.
    pub fn params(&self) -> Vec<(String, String)> {
        let mut out = vec![
            ("response_type".to_owned(), "code".to_owned()),
            ("client_id".to_owned(), self.client_id.clone()),
        ];
        if let Some(uri) = &self.redirect_uri {
            out.push(("redirect_uri".into(), uri.clone()));
        }
        out.push(("scope".into(), self.scope.clone()));
        if let Some(state) = &self.state {
            out.push(("state".into(), state.clone()));
        }
        if let Some(nonce) = &self.nonce {
            out.push(("nonce".into(), nonce.clone()));
        }
        if let Some(pkce) = &self.pkce {
            out.push(("code_challenge".into(), pkce.challenge.clone()));
            out.push(("code_challenge_method".into(), "S256".into()));
        }
        out.extend(self.extra.iter().cloned());
        out
    }

    /// The authorize URL on `server`.
    pub fn url(&self, server: &TestServer) -> Url {
        self.url_at(&server.endpoints().authorization)
    }

    /// The authorize URL at `authorization_endpoint` (e.g. of a server in another process).
    pub fn url_at(&self, authorization_endpoint: &Url) -> Url {
        let mut builder = AuthorizeUrl::bare(authorization_endpoint);
        for (k, v) in self.params() {
            builder = builder.param(&k, &v);
        }
        builder.build()
    }

    /// The `code_verifier`, if any.
    pub fn verifier(&self) -> Option<&str> {
        self.pkce.as_ref().map(|p| p.verifier.as_str())
    }

    /// The token request redeeming `code` as this request would (same redirect URI and
    /// verifier).
    pub fn redeem_form<'a>(&'a self, code: &'a str) -> Vec<(&'a str, &'a str)> {
        let mut form = vec![("grant_type", "authorization_code"), ("code", code)];
        if let Some(uri) = &self.redirect_uri {
            form.push(("redirect_uri", uri));
        }
        if let Some(verifier) = self.verifier() {
            form.push(("code_verifier", verifier));
        }
        form
    }
}

/// A successful authorization response.
#[derive(Debug, Clone)]
pub struct CodeResponse {
    /// The whole redirect.
    pub redirect: Url,
    /// `code`.
    pub code: String,
    /// `state`, as returned.
    pub state: Option<String>,
    /// `iss` (RFC 9207), as returned.
    pub iss: Option<String>,
}

impl CodeResponse {
    /// Reads a redirect; fails when it carries an `error` or no `code`.
    pub fn from_redirect(redirect: Url) -> anyhow::Result<Self> {
        if let Some(error) = oauth::query_param(&redirect, "error") {
            bail!("authorization failed: {error} ({redirect})");
        }
        let code = oauth::query_param(&redirect, "code").context("no code in the redirect")?;
        Ok(Self {
            state: oauth::query_param(&redirect, "state"),
            iss: oauth::query_param(&redirect, "iss"),
            code,
            redirect,
        })
    }
}

/// Tokens from a successful token response.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// `access_token`.
    pub access_token: String,
    /// `refresh_token`, if issued.
    pub refresh_token: Option<String>,
    /// `id_token`, if issued.
    pub id_token: Option<String>,
    /// The whole reply.
    pub reply: Reply,
}

impl Tokens {
    /// Reads a token reply; fails unless it is a 200 with an access token.
    pub fn from_reply(reply: Reply) -> anyhow::Result<Self> {
        if reply.status != reqwest::StatusCode::OK {
            bail!("token request failed: {} {}", reply.status, reply.body);
        }
        Ok(Self {
            access_token: reply
                .str("access_token")
                .context("no access_token")?
                .to_owned(),
            refresh_token: reply.str("refresh_token").map(str::to_owned),
            id_token: reply.str("id_token").map(str::to_owned),
            reply,
        })
    }
}

impl TestServer {
    /// A fresh scripted browser (own cookie jar) for this server.
    pub fn browser(&self) -> anyhow::Result<Browser> {
        Browser::new(self.base_url().clone())
    }

    /// Walks `request` in `browser`, signing in with `login` if asked and approving consent;
    /// returns the client redirect (which may carry an `error`).
    pub async fn authorize_redirect(
        &self,
        browser: &Browser,
        request: &CodeRequest,
        login: Option<(&str, &str)>,
    ) -> anyhow::Result<Url> {
        browser
            .walk(&request.url(self), login, Consent::Approve)
            .await?
            .redirect()
    }

    /// Walks `request` and returns the page or redirect it ends on.
    pub async fn authorize_outcome(
        &self,
        browser: &Browser,
        request: &CodeRequest,
        login: Option<(&str, &str)>,
        consent: Consent,
    ) -> anyhow::Result<Outcome> {
        browser.walk(&request.url(self), login, consent).await
    }

    /// Walks `request` and returns the code.
    pub async fn authorize(
        &self,
        browser: &Browser,
        request: &CodeRequest,
        login: Option<(&str, &str)>,
    ) -> anyhow::Result<CodeResponse> {
        CodeResponse::from_redirect(self.authorize_redirect(browser, request, login).await?)
    }

    /// Redeems `code` as `request` would (same redirect URI and verifier).
    pub async fn redeem(
        &self,
        auth: &ClientAuth,
        code: &str,
        request: &CodeRequest,
    ) -> anyhow::Result<Reply> {
        self.token(auth, &request.redeem_form(code)).await
    }

    /// Signs in and consents in a fresh browser, then redeems the code: the whole code flow.
    pub async fn code_flow(
        &self,
        auth: &ClientAuth,
        request: &CodeRequest,
        login: (&str, &str),
    ) -> anyhow::Result<Tokens> {
        let browser = self.browser()?;
        let response = self.authorize(&browser, request, Some(login)).await?;
        Tokens::from_reply(self.redeem(auth, &response.code, request).await?)
    }

    /// POSTs to the token endpoint.
    pub async fn token(&self, auth: &ClientAuth, form: &[(&str, &str)]) -> anyhow::Result<Reply> {
        oauth::post_form(self.http(), self.endpoints().token.as_str(), auth, form).await
    }

    /// A `refresh_token` grant.
    pub async fn refresh(
        &self,
        auth: &ClientAuth,
        refresh_token: &str,
        scope: Option<&str>,
    ) -> anyhow::Result<Reply> {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.token(auth, &form).await
    }

    /// A `client_credentials` grant.
    pub async fn client_credentials(
        &self,
        auth: &ClientAuth,
        scope: Option<&str>,
    ) -> anyhow::Result<Reply> {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.token(auth, &form).await
    }

    /// GET the userinfo endpoint with a Bearer token.
    pub async fn userinfo(&self, access_token: &str) -> anyhow::Result<Reply> {
        oauth::get_bearer(
            self.http(),
            self.endpoints().userinfo.as_str(),
            access_token,
        )
        .await
    }

    /// RFC 7009 revocation.
    pub async fn revoke(
        &self,
        auth: &ClientAuth,
        token: &str,
        hint: Option<&str>,
    ) -> anyhow::Result<Reply> {
        let mut form = vec![("token", token)];
        if let Some(hint) = hint {
            form.push(("token_type_hint", hint));
        }
        oauth::post_form(
            self.http(),
            self.endpoints().revocation.as_str(),
            auth,
            &form,
        )
        .await
    }

    /// RFC 7662 introspection.
    pub async fn introspect(&self, auth: &ClientAuth, token: &str) -> anyhow::Result<Reply> {
        oauth::post_form(
            self.http(),
            self.endpoints().introspection.as_str(),
            auth,
            &[("token", token)],
        )
        .await
    }

    /// GET a path (or absolute URL) on the server without cookies.
    pub async fn get(&self, path: &str) -> anyhow::Result<Reply> {
        let url = self.url(path)?;
        let resp = self.http().get(url).send().await?;
        Ok(Reply::read(resp).await)
    }

    /// The discovery document.
    pub async fn discovery(&self) -> anyhow::Result<Value> {
        Ok(self.get("/.well-known/openid-configuration").await?.json)
    }

    /// The published keys, as a verifier would load them.
    pub async fn key_set(&self) -> anyhow::Result<KeySet> {
        fetch_key_set(self.http(), &self.endpoints().jwks).await
    }

    /// A validator for this server's access tokens (`typ: at+jwt`) meant for `audience`.
    pub fn access_token_validator(&self, audience: &str) -> Validator {
        access_token_validator(self.issuer(), audience)
    }

    /// Verifies an access token for `audience` with the published keys at the server's clock.
    pub async fn verify_access_token(&self, token: &str, audience: &str) -> anyhow::Result<Value> {
        let keys = self.key_set().await?;
        let verified = self
            .access_token_validator(audience)
            .verify::<Value>(token, &keys, self.clock().now())
            .map_err(|e| anyhow::anyhow!("access token: {e}"))?;
        Ok(verified.custom().clone())
    }

    /// Verifies an ID token for `client_id` with the published keys at the server's clock.
    pub async fn verify_id_token(&self, token: &str, client_id: &str) -> anyhow::Result<Value> {
        let keys = self.key_set().await?;
        let verified = Validator::builder()
            .issuer(self.issuer().to_owned())
            .audience(client_id.to_owned())
            .build()
            .verify::<Value>(token, &keys, self.clock().now())
            .map_err(|e| anyhow::anyhow!("id token: {e}"))?;
        Ok(verified.custom().clone())
    }
}

/// The keys published at `jwks_uri`, as a verifier would load them.
pub async fn fetch_key_set(http: &reqwest::Client, jwks_uri: &Url) -> anyhow::Result<KeySet> {
    let reply = Reply::read(http.get(jwks_uri.clone()).send().await?).await;
    let jwks: portcullis_jose::JwkSet =
        serde_json::from_value(reply.json).context("the JWKS is not a JWK Set")?;
    KeySet::from_jwks(&jwks).map_err(|e| anyhow::anyhow!("JWKS: {e}"))
}

/// A validator for access tokens (`typ: at+jwt`) of `issuer` meant for `audience`.
pub fn access_token_validator(issuer: &str, audience: &str) -> Validator {
    Validator::builder()
        .issuer(issuer.to_owned())
        .audience(audience.to_owned())
        .required_typ("at+jwt")
        .build()
}
