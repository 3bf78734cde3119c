//! The orders service's client for payments-api: it authenticates as itself with a
//! client-credentials token from the issuer, cached until shortly before it expires.

use anyhow::{Context, bail};
use portcullis_types::metadata::ProviderMetadata;
use portcullis_types::{ClientSecret, TokenResponse};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// A token is renewed this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(30);

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

/// Calls payments-api with the orders service's own token.
pub struct PaymentsClient {
    http: reqwest::Client,
    payments_url: String,
    issuer: String,
    client_id: String,
    client_secret: ClientSecret,
    token_endpoint: Mutex<Option<String>>,
    token: Mutex<Option<CachedToken>>,
}

impl std::fmt::Debug for PaymentsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentsClient")
            .field("payments_url", &self.payments_url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl PaymentsClient {
    /// A client for payments-api at `payments_url`, getting tokens from `issuer`.
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
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret,
            token_endpoint: Mutex::new(None),
            token: Mutex::new(None),
        })
    }

    /// Charges `amount_cents` for `order_id`.
    pub async fn charge(&self, order_id: u64, amount_cents: u64) -> anyhow::Result<Payment> {
        let token = self.token().await?;
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

    /// The cached token, or a new one from the token endpoint.
    async fn token(&self) -> anyhow::Result<String> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref()
            && Instant::now() < token.renew_at
        {
            return Ok(token.value.clone());
        }
        let endpoint = self.token_endpoint().await?;
        // RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
        let id: String = url::form_urlencoded::byte_serialize(self.client_id.as_bytes()).collect();
        let secret: String =
            url::form_urlencoded::byte_serialize(self.client_secret.secret().as_bytes()).collect();
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("scope", "payments:write")
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
            bail!("the token endpoint answered {}", response.status());
        }
        let token: TokenResponse = response.json().await?;
        let lifetime = Duration::from_secs(token.expires_in.unwrap_or(60));
        let renew_at = Instant::now() + lifetime.saturating_sub(RENEW_BEFORE);
        tracing::info!(
            expires_in = lifetime.as_secs(),
            "obtained a client-credentials token for payments-api"
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
