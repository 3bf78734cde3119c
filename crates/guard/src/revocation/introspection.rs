//! RFC 7662 introspection: authenticated with `client_secret_basic`, failing closed on any error
//! or timeout, with a bounded cache of `active` answers that never outlives the token (RS-12).

use crate::config::IntrospectionConfig;
use crate::guard::token_digest;
use crate::keys::fetch::read_limited;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderValue, StatusCode, header};
use portcullis_jose::time::{Clock, UnixTime};
use portcullis_types::introspection::IntrospectionResponse;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The largest introspection response accepted.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// What the endpoint said about a token.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// `active: true`, with the whole response (it may carry claims the guard maps).
    Active(Arc<Value>),
    /// `active: false`.
    Inactive,
}

struct Entry {
    until: UnixTime,
    response: Arc<Value>,
}

/// An introspection client with its cache.
pub(crate) struct Introspector {
    endpoint: String,
    authorization: HeaderValue,
    client: reqwest::Client,
    config: IntrospectionConfig,
    clock: Arc<dyn Clock>,
    cache: Mutex<HashMap<[u8; 32], Entry>>,
}

impl std::fmt::Debug for Introspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspector")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined and encoded.
fn basic_authorization(client_id: &str, secret: &str) -> Option<HeaderValue> {
    let id: String = url::form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
    let secret: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let encoded = STANDARD.encode(format!("{id}:{secret}"));
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

impl Introspector {
    pub(crate) fn new(
        config: IntrospectionConfig,
        client: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Option<Self> {
        let authorization = basic_authorization(&config.client_id, config.client_secret.secret())?;
        Some(Self {
            endpoint: config.endpoint.clone(),
            authorization,
            client,
            config,
            clock,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Asks about `token`. `token_exp` (from a verified JWT) bounds the cache lifetime when
    /// the response has no `exp`. `Err` means the endpoint could not answer: fail closed.
    pub(crate) async fn introspect(
        &self,
        token: &str,
        token_exp: Option<i64>,
    ) -> Result<Outcome, String> {
        let key = token_digest(token);
        let now = self.clock.now();
        if let Some(response) = self.cached(&key, now) {
            return Ok(Outcome::Active(response));
        }
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .append_pair("token_type_hint", "access_token")
            .finish();
        let request = self
            .client
            .post(&self.endpoint)
            .header(header::AUTHORIZATION, self.authorization.clone())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .timeout(self.config.timeout)
            .body(body);
        let call = async {
            let mut response = request
                .send()
                .await
                .map_err(|e| format!("introspection: {e}"))?;
            if response.status() != StatusCode::OK {
                return Err(format!("introspection: status {}", response.status()));
            }
            let body = read_limited(&mut response, MAX_RESPONSE_BYTES)
                .await
                .map_err(|e| format!("introspection: {e}"))?;
            serde_json::from_slice::<Value>(&body)
                .map_err(|_| "introspection: response is not JSON".to_owned())
        };
        let value = match tokio::time::timeout(self.config.timeout, call).await {
            Ok(result) => result?,
            Err(_) => return Err("introspection: timed out".to_owned()),
        };
        let parsed = IntrospectionResponse::deserialize_from(&value)
            .ok_or_else(|| "introspection: response has an invalid shape".to_owned())?;
        if !parsed.active {
            self.forget(&key);
            return Ok(Outcome::Inactive);
        }
        let response = Arc::new(value);
        if let Some(exp) = parsed.exp.or(token_exp) {
            self.remember(key, now, exp, Arc::clone(&response));
        }
        Ok(Outcome::Active(response))
    }

    fn cached(&self, key: &[u8; 32], now: UnixTime) -> Option<Arc<Value>> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .get(key)
            .filter(|entry| now < entry.until)
            .map(|entry| Arc::clone(&entry.response))
    }

    fn forget(&self, key: &[u8; 32]) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    fn remember(&self, key: [u8; 32], now: UnixTime, exp: i64, response: Arc<Value>) {
        let ttl = i64::try_from(self.config.cache_ttl.as_secs()).unwrap_or(i64::MAX);
        let until = UnixTime(now.plus(ttl).as_secs().min(exp));
        if until <= now || self.config.cache_size == 0 {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= self.config.cache_size {
            cache.retain(|_, entry| now < entry.until);
            if cache.len() >= self.config.cache_size {
                return;
            }
        }
        cache.insert(key, Entry { until, response });
    }
}

/// Reads the typed response out of the JSON value without consuming it.
trait DeserializeFrom: Sized {
    fn deserialize_from(value: &Value) -> Option<Self>;
}

impl DeserializeFrom for IntrospectionResponse {
    fn deserialize_from(value: &Value) -> Option<Self> {
        serde::Deserialize::deserialize(value).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_encoded() {
        let value = basic_authorization("svc 1", "p:w").unwrap();
        let expected = format!("Basic {}", STANDARD.encode("svc+1:p%3Aw"));
        assert_eq!(value.to_str().unwrap(), expected);
        assert!(value.is_sensitive());
    }
}
