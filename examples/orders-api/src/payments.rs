//! The orders service's client for payments-api. For each payment it trades the caller's token
//! for one meant for payments-api (RFC 8693 token exchange), acting as itself: its actor token is
//! a client-credentials token of its own, cached until shortly before it expires. payments-api
//! therefore sees on whose behalf it is called (`sub`) and who calls (`act`), and the caller's
//! own token never travels further than orders-api.

use anyhow::{Context, bail};
use portcullis_types::metadata::ProviderMetadata;
use portcullis_types::token::{grant_type, token_type_uri};
use portcullis_types::{ClientSecret, TokenResponse};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// A token is renewed this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(30);

/// The audience of the exchanged tokens by default.
pub const PAYMENTS_AUDIENCE: &str = "payments-api";

/// The scope asked for in the exchanged token (it must be within the caller's token).
pub const PAYMENTS_SCOPE: &str = "payments:write";

/// What payments-api answers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Payment {
    /// The payment's identifier.
    pub payment_id: String,
    /// `captured`.
    pub status: String,
}

struct CachedToken {
    value: String,
    renew_at: Instant,
}

/// Calls payments-api with tokens exchanged from the caller's.
pub struct PaymentsClient {
    http: reqwest::Client,
    payments_url: String,
    audience: String,
    issuer: String,
    client_id: String,
    client_secret: ClientSecret,
    token_endpoint: Mutex<Option<String>>,
    actor_token: Mutex<Option<CachedToken>>,
}

impl std::fmt::Debug for PaymentsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentsClient")
            .field("payments_url", &self.payments_url)
            .field("audience", &self.audience)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl PaymentsClient {
    /// A client for payments-api at `payments_url`, exchanging tokens at `issuer` as
    /// `client_id` for the audience [`PAYMENTS_AUDIENCE`].
    pub fn new(
        payments_url: impl Into<String>,
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: ClientSecret,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self {
            http,
            payments_url: payments_url.into(),
            audience: PAYMENTS_AUDIENCE.to_owned(),
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret,
            token_endpoint: Mutex::new(None),
            actor_token: Mutex::new(None),
        })
    }

    /// Asks for exchanged tokens meant for `audience` instead of [`PAYMENTS_AUDIENCE`].
    #[must_use]
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// Charges `amount_cents` for `order_id` on behalf of the holder of `caller_token`.
    pub async fn charge(
        &self,
        caller_token: &str,
        order_id: u64,
        amount_cents: u64,
    ) -> anyhow::Result<Payment> {
        let token = self.exchange(caller_token).await?;
        let response = self
            .http
            .post(format!(
                "{}/api/payments",
                self.payments_url.trim_end_matches('/')
            ))
            .bearer_auth(token)
            .json(&serde_json::json!({"order_id": order_id, "amount_cents": amount_cents}))
            .send()
            .await
            .context("payments-api is unreachable")?;
        if !response.status().is_success() {
            bail!("payments-api answered {}", response.status());
        }
        Ok(response.json().await?)
    }

    /// POSTs a form to the token endpoint, authenticated as this service (RFC 6749 §2.3.1:
    /// both parts form-urlencoded before the Basic encoding).
    async fn token_request(&self, form: &[(&str, &str)]) -> anyhow::Result<TokenResponse> {
        let endpoint = self.token_endpoint().await?;
        let id: String = url::form_urlencoded::byte_serialize(self.client_id.as_bytes()).collect();
        let secret: String =
            url::form_urlencoded::byte_serialize(self.client_secret.secret().as_bytes()).collect();
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = self
            .http
            .post(&endpoint)
            .basic_auth(id, Some(secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .context("the token endpoint is unreachable")?;
        if !response.status().is_success() {
            let status = response.status();
            let error = response
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                .unwrap_or_default();
            bail!("the token endpoint answered {status} {error}");
        }
        Ok(response.json().await?)
    }

    /// RFC 8693: the caller's token as subject, our own token as actor, for payments-api.
    async fn exchange(&self, caller_token: &str) -> anyhow::Result<String> {
        let actor = self.actor_token().await?;
        let token = self
            .token_request(&[
                ("grant_type", grant_type::TOKEN_EXCHANGE),
                ("subject_token", caller_token),
                ("subject_token_type", token_type_uri::ACCESS_TOKEN),
                ("actor_token", &actor),
                ("actor_token_type", token_type_uri::ACCESS_TOKEN),
                ("audience", &self.audience),
                ("scope", PAYMENTS_SCOPE),
                ("requested_token_type", token_type_uri::ACCESS_TOKEN),
            ])
            .await
            .context("token exchange for payments-api failed")?;
        tracing::info!(
            audience = %self.audience,
            expires_in = token.expires_in.unwrap_or_default(),
            "exchanged the caller's token for payments-api"
        );
        Ok(token.access_token)
    }

    /// This service's own client-credentials token (the actor), cached.
    async fn actor_token(&self) -> anyhow::Result<String> {
        let mut cached = self.actor_token.lock().await;
        if let Some(token) = cached.as_ref()
            && Instant::now() < token.renew_at
        {
            return Ok(token.value.clone());
        }
        let token = self
            .token_request(&[("grant_type", grant_type::CLIENT_CREDENTIALS)])
            .await?;
        let lifetime = Duration::from_secs(token.expires_in.unwrap_or(60));
        let renew_at = Instant::now() + lifetime.saturating_sub(RENEW_BEFORE);
        tracing::info!(
            expires_in = lifetime.as_secs(),
            "obtained this service's own client-credentials token"
        );
        *cached = Some(CachedToken {
            value: token.access_token.clone(),
            renew_at,
        });
        Ok(token.access_token)
    }

    /// The issuer's token endpoint, from its discovery document (the `issuer` must match).
    async fn token_endpoint(&self) -> anyhow::Result<String> {
        let mut endpoint = self.token_endpoint.lock().await;
        if let Some(url) = endpoint.as_ref() {
            return Ok(url.clone());
        }
        let base = self.issuer.trim_end_matches('/');
        let metadata: ProviderMetadata = self
            .http
            .get(format!("{base}/.well-known/openid-configuration"))
            .send()
            .await
            .context("the issuer is unreachable")?
            .error_for_status()?
            .json()
            .await?;
        if metadata.issuer != self.issuer {
            bail!("the discovery document names another issuer");
        }
        let url = metadata
            .token_endpoint
            .context("the issuer has no token endpoint")?;
        *endpoint = Some(url.clone());
        Ok(url)
    }
}
