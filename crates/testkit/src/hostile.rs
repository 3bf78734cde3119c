//! Attacker-shaped input for tests of what the server and the guard must never do with it
//! (JWT-20): JWS with a header of the test's choosing, and a [`Tripwire`] listener to prove that
//! a URL in a token (`jku`, `x5u`, `request_uri`) is never fetched.

use anyhow::{Context as _, anyhow};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_jose::SigningKey;
use serde_json::Value;

/// A compact JWS with exactly `header` (e.g. a `jku`, an `x5u` or an odd `kid`), signed by `key`.
/// `alg` must be the key's for the signature to be checkable.
pub fn sign_with_header(
    key: &SigningKey,
    header: &Value,
    claims: &Value,
) -> anyhow::Result<String> {
    let header = URL_SAFE_NO_PAD.encode(header.to_string());
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{header}.{claims}");
    let signature = key
        .sign(input.as_bytes())
        .map_err(|e| anyhow!("sign: {e}"))?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// A loopback TCP listener a test points a URL at, to prove nothing connects to it. A
/// connection made while a request was handled is complete (in the listen queue) by the time
/// the answer arrives, so a non-blocking `accept` afterwards sees it; no waiting is involved.
#[derive(Debug)]
pub struct Tripwire {
    listener: std::net::TcpListener,
}

impl Tripwire {
    /// Listens on `127.0.0.1:0`.
    pub fn new() -> anyhow::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").context("loopback listener")?;
        listener.set_nonblocking(true).context("non-blocking")?;
        Ok(Self { listener })
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        match self.listener.local_addr() {
            Ok(addr) => format!("http://{addr}{path}"),
            Err(_) => format!("http://127.0.0.1:0{path}"),
        }
    }

    /// Whether anything has connected since the last call.
    pub fn was_touched(&self) -> anyhow::Result<bool> {
        match self.listener.accept() {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(anyhow!("tripwire listener failed: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tripwire_sees_a_connection() {
        let wire = Tripwire::new().unwrap();
        assert!(!wire.was_touched().unwrap());
        let addr = wire.url("");
        let _stream = std::net::TcpStream::connect(addr.trim_start_matches("http://")).unwrap();
        assert!(wire.was_touched().unwrap());
        assert!(!wire.was_touched().unwrap());
    }

    #[test]
    fn header_is_kept_and_signature_checks() {
        use portcullis_jose::{Algorithm, KeySet, jws};
        let key = SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .with_kid("k");
        let token = sign_with_header(
            &key,
            &serde_json::json!({"alg": "ES256", "kid": "k", "jku": "http://x/"}),
            &serde_json::json!({"a": 1}),
        )
        .unwrap();
        let mut keys = KeySet::new();
        keys.insert(key.verifying_key()).unwrap();
        assert!(jws::verify_compact(&token, &keys).is_ok());
    }
}
