//! The floor of the load benchmark: the least work an authorization server can do per request
//! on each measured path, so that `bench/load/compare.sh` can show how far Portcullis is from it.
//!
//! - `POST /token`: HTTP Basic client authentication (secret compared in constant time), then an
//!   RFC 9068-shaped ES256 JWT signed with aws-lc-rs, answered as a token response with
//!   `Cache-Control: no-store`. Only `grant_type=client_credentials`.
//! - `GET /userinfo`: verifies a Bearer ES256 JWT (signature, `iss`, `exp`), answers `{"sub"}`.
//! - `POST /introspect`: Basic client authentication, verifies the `token` form field the same
//!   way, answers `{"active": true, ...}` (`{"active": false}` for anything that does not verify).
//!
//! No storage, no logging, one signing key generated at start. `--print-token` writes one valid
//! user access token (scope `openid profile`) to stdout once the listener is bound.
//!
//! `--argon2-for SECS` serves nothing: it runs one argon2id verification after another on every
//! core for SECS seconds, with the parameters Portcullis hashes passwords with (19 MiB, 2
//! passes, 1 lane), and prints the rate as JSON. That is the most sign-ins per second the
//! machine allows; `bench/load/login_rss.py` sets the server's rate beside it.

// A benchmark tool, not part of the server: it reads the wall clock directly (there is no clock
// to inject and nothing to test in time), which the workspace bans outside `SystemClock`.
#![allow(clippy::disallowed_methods)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    UnparsedPublicKey,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use clap::Parser;
use serde_json::{Value, json};
use subtle::ConstantTimeEq as _;

/// Access-token lifetime, the Portcullis default.
const TOKEN_TTL_SECS: u64 = 900;
/// Tokens longer than this are not parsed.
const MAX_TOKEN_LEN: usize = 8 * 1024;

#[derive(Debug, Parser)]
#[command(about = "The load benchmark's floor endpoint (token, userinfo, introspection)")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// The `iss` of issued tokens (and the only one accepted).
    #[arg(long, default_value = "http://127.0.0.1:8090")]
    issuer: String,
    /// The `aud` of issued tokens.
    #[arg(long, default_value = "urn:portcullis-bench:api")]
    audience: String,
    /// The one confidential client's id.
    #[arg(long, default_value = "bench-client")]
    client_id: String,
    /// The one confidential client's secret.
    #[arg(long, default_value = "bench-secret-0123456789abcdef")]
    client_secret: String,
    /// Print one valid user access token (sub `bench-user`, scope `openid profile`) on stdout
    /// once listening.
    #[arg(long)]
    print_token: bool,
    /// Instead of serving: argon2id verifications on every core for this many seconds, then
    /// print `{"threads", "verifications", "seconds", "per_second"}` and exit.
    #[arg(long, value_name = "SECS")]
    argon2_for: Option<u64>,
}

struct Floor {
    key: EcdsaKeyPair,
    public: UnparsedPublicKey<Vec<u8>>,
    kid: String,
    issuer: String,
    audience: String,
    client_id: Vec<u8>,
    client_secret: Vec<u8>,
    rng: SystemRandom,
}

#[derive(Debug)]
enum FloorError {
    InvalidClient,
    InvalidRequest(&'static str),
    UnsupportedGrantType,
    InvalidToken,
    Internal,
}

impl IntoResponse for FloorError {
    fn into_response(self) -> Response {
        let (status, code, description) = match self {
            Self::InvalidClient => (
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication failed",
            ),
            Self::InvalidRequest(d) => (StatusCode::BAD_REQUEST, "invalid_request", d),
            Self::UnsupportedGrantType => (
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only client_credentials",
            ),
            Self::InvalidToken => (StatusCode::UNAUTHORIZED, "invalid_token", "invalid token"),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "server_error", ""),
        };
        let mut response = json_no_store(
            status,
            &json!({"error": code, "error_description": description}),
        );
        if status == StatusCode::UNAUTHORIZED {
            let challenge = if code == "invalid_token" {
                "Bearer error=\"invalid_token\""
            } else {
                "Basic"
            };
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

fn json_no_store(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Floor {
    fn new(args: &Args) -> Result<Self, String> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| "cannot generate the signing key")?;
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .map_err(|_| "cannot load the signing key")?;
        let public =
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, key.public_key().as_ref().to_vec());
        let mut kid = [0u8; 8];
        rng.fill(&mut kid).map_err(|_| "no randomness")?;
        Ok(Self {
            key,
            public,
            kid: URL_SAFE_NO_PAD.encode(kid),
            issuer: args.issuer.clone(),
            audience: args.audience.clone(),
            client_id: args.client_id.clone().into_bytes(),
            client_secret: args.client_secret.clone().into_bytes(),
            rng,
        })
    }

    /// Checks `Authorization: Basic` against the one client, the secret in constant time.
    fn authenticate(&self, headers: &HeaderMap) -> Result<(), FloorError> {
        let value = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(FloorError::InvalidClient)?;
        let (scheme, encoded) = value.split_once(' ').ok_or(FloorError::InvalidClient)?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(FloorError::InvalidClient);
        }
        let decoded = STANDARD
            .decode(encoded.trim())
            .map_err(|_| FloorError::InvalidClient)?;
        let colon = decoded
            .iter()
            .position(|&b| b == b':')
            .ok_or(FloorError::InvalidClient)?;
        let (id, secret) = decoded.split_at(colon);
        let secret = secret.get(1..).unwrap_or_default();
        let id_ok = id == self.client_id.as_slice();
        let secret_ok: bool = secret.ct_eq(&self.client_secret).into();
        if id_ok && secret_ok {
            Ok(())
        } else {
            Err(FloorError::InvalidClient)
        }
    }

    /// Signs an RFC 9068 access token.
    fn issue(&self, sub: &str, client_id: &str, scope: &str) -> Result<String, FloorError> {
        let mut jti = [0u8; 16];
        self.rng.fill(&mut jti).map_err(|_| FloorError::Internal)?;
        let iat = now_secs();
        let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": self.kid});
        let claims = json!({
            "iss": self.issuer,
            "sub": sub,
            "aud": self.audience,
            "exp": iat + TOKEN_TTL_SECS,
            "iat": iat,
            "jti": URL_SAFE_NO_PAD.encode(jti),
            "client_id": client_id,
            "scope": scope,
        });
        let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature = self
            .key
            .sign(&self.rng, token.as_bytes())
            .map_err(|_| FloorError::Internal)?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature.as_ref()));
        Ok(token)
    }

    /// Verifies the signature, `typ`, `iss` and `exp` of a token; returns its claims.
    fn verify(&self, token: &str) -> Result<Value, FloorError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(FloorError::InvalidToken);
        }
        let (signed, signature) = token.rsplit_once('.').ok_or(FloorError::InvalidToken)?;
        let (header, payload) = signed.split_once('.').ok_or(FloorError::InvalidToken)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| FloorError::InvalidToken)?;
        self.public
            .verify(signed.as_bytes(), &signature)
            .map_err(|_| FloorError::InvalidToken)?;
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(header)
                .map_err(|_| FloorError::InvalidToken)?,
        )
        .map_err(|_| FloorError::InvalidToken)?;
        if header.get("alg").and_then(Value::as_str) != Some("ES256")
            || header.get("typ").and_then(Value::as_str) != Some("at+jwt")
        {
            return Err(FloorError::InvalidToken);
        }
        let claims: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(payload)
                .map_err(|_| FloorError::InvalidToken)?,
        )
        .map_err(|_| FloorError::InvalidToken)?;
        let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
        if exp <= now_secs() || claims.get("iss").and_then(Value::as_str) != Some(&self.issuer) {
            return Err(FloorError::InvalidToken);
        }
        Ok(claims)
    }
}

/// The value of one form field (the first occurrence).
fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn token(State(floor): State<Arc<Floor>>, headers: HeaderMap, body: Bytes) -> Response {
    let result = (|| {
        floor.authenticate(&headers)?;
        if form_field(&body, "grant_type").as_deref() != Some("client_credentials") {
            return Err(FloorError::UnsupportedGrantType);
        }
        let scope = form_field(&body, "scope").unwrap_or_default();
        let client_id = String::from_utf8_lossy(&floor.client_id);
        let access_token = floor.issue(&client_id, &client_id, &scope)?;
        Ok(json_no_store(
            StatusCode::OK,
            &json!({
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": TOKEN_TTL_SECS,
                "scope": scope,
            }),
        ))
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn userinfo(State(floor): State<Arc<Floor>>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let Some(token) = token else {
        return FloorError::InvalidToken.into_response();
    };
    match floor.verify(token) {
        Ok(claims) => {
            let scopes = claims.get("scope").and_then(Value::as_str).unwrap_or("");
            if !scopes.split(' ').any(|s| s == "openid") {
                return json_no_store(
                    StatusCode::FORBIDDEN,
                    &json!({"error": "insufficient_scope"}),
                );
            }
            let sub = claims.get("sub").cloned().unwrap_or(Value::Null);
            json_no_store(StatusCode::OK, &json!({ "sub": sub }))
        }
        Err(e) => e.into_response(),
    }
}

async fn introspect(State(floor): State<Arc<Floor>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(e) = floor.authenticate(&headers) {
        return e.into_response();
    }
    let Some(token) = form_field(&body, "token") else {
        return FloorError::InvalidRequest("token is required").into_response();
    };
    let answer = match floor.verify(&token) {
        Ok(claims) => {
            let field = |name: &str| claims.get(name).cloned().unwrap_or(Value::Null);
            json!({
                "active": true,
                "iss": field("iss"),
                "sub": field("sub"),
                "aud": field("aud"),
                "exp": field("exp"),
                "iat": field("iat"),
                "jti": field("jti"),
                "client_id": field("client_id"),
                "scope": field("scope"),
                "token_type": "Bearer",
            })
        }
        Err(_) => json!({"active": false}),
    };
    json_no_store(StatusCode::OK, &answer)
}

async fn healthz() -> &'static str {
    "ok"
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portcullis-bench-floor: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The argon2id bound: verifications per second with one thread per core, each reusing its
/// memory, as Portcullis's hashing workers do.
fn argon2_bound(secs: u64) -> Result<(), String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    use argon2::{Argon2, Block, Params, PasswordHash};
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let salt = SaltString::encode_b64(b"bench-floor-salt").map_err(|e| e.to_string())?;
    let phc = Argon2::default()
        .hash_password(b"bench-password", &salt)
        .map_err(|e| e.to_string())?
        .to_string();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let started = std::time::Instant::now();
    let counts = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let phc = phc.as_str();
                scope.spawn(move || -> Result<u64, String> {
                    let parsed = PasswordHash::new(phc).map_err(|e| e.to_string())?;
                    let params = Params::try_from(&parsed).map_err(|e| e.to_string())?;
                    let mut salt_buf = [0u8; 64];
                    let salt = parsed
                        .salt
                        .ok_or("no salt")?
                        .decode_b64(&mut salt_buf)
                        .map_err(|e| e.to_string())?;
                    let argon = Argon2::new(
                        argon2::Algorithm::Argon2id,
                        argon2::Version::V0x13,
                        params.clone(),
                    );
                    let mut blocks = vec![Block::default(); params.block_count()];
                    let mut out = [0u8; 32];
                    let mut n = 0u64;
                    while std::time::Instant::now() < until {
                        argon
                            .hash_password_into_with_memory(
                                b"bench-password",
                                salt,
                                &mut out,
                                &mut blocks,
                            )
                            .map_err(|e| e.to_string())?;
                        n += 1;
                    }
                    Ok(n)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .map_err(|_| "a hashing thread panicked".to_owned())?
            })
            .collect::<Result<Vec<u64>, String>>()
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let total: u64 = counts.iter().sum();
    let rate = total as f64 / seconds;
    println!(
        "{}",
        json!({"threads": threads, "verifications": total, "seconds": seconds, "per_second": rate})
    );
    Ok(())
}

async fn run(args: Args) -> Result<(), String> {
    if let Some(secs) = args.argon2_for {
        return tokio::task::spawn_blocking(move || argon2_bound(secs))
            .await
            .map_err(|e| e.to_string())?;
    }
    let floor = Arc::new(Floor::new(&args)?);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    if args.print_token {
        let token = floor
            .issue("bench-user", &args.client_id, "openid profile")
            .map_err(|_| "cannot sign the token")?;
        println!("{token}");
    }
    let app = Router::new()
        .route("/token", post(token))
        .route("/userinfo", get(userinfo))
        .route("/introspect", post(introspect))
        .route("/healthz", get(healthz))
        .with_state(floor);
    let shutdown = async {
        // Ends on Ctrl-C; the benchmark script stops the process with SIGTERM.
        let _ = tokio::signal::ctrl_c().await;
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| format!("server error: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn floor() -> Floor {
        Floor::new(&Args::parse_from([
            "floor",
            "--issuer",
            "http://127.0.0.1:1",
            "--client-id",
            "c1",
            "--client-secret",
            "s3cret-s3cret-s3cret",
        ]))
        .unwrap()
    }

    fn basic(credentials: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode(credentials));
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn issued_tokens_verify_with_rfc_9068_shape() {
        let floor = floor();
        let token = floor.issue("u1", "c1", "openid profile").unwrap();
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(header["kid"], floor.kid.as_str());
        let claims = floor.verify(&token).unwrap();
        for name in [
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "jti",
            "client_id",
            "scope",
        ] {
            assert!(claims.get(name).is_some(), "{name} missing");
        }
        assert_eq!(claims["sub"], "u1");
        assert_ne!(
            floor.issue("u1", "c1", "x").unwrap(),
            floor.issue("u1", "c1", "x").unwrap()
        );
    }

    #[test]
    fn tampered_or_foreign_tokens_do_not_verify() {
        let floor = floor();
        let token = floor.issue("u1", "c1", "openid").unwrap();
        let mut tampered = token.clone().into_bytes();
        let i = token.find('.').unwrap() + 3;
        tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
        assert!(floor.verify(&String::from_utf8(tampered).unwrap()).is_err());
        let other = super::tests::floor().issue("u1", "c1", "openid").unwrap();
        assert!(floor.verify(&other).is_err());
        assert!(floor.verify("a.b").is_err());
    }

    #[test]
    fn only_the_right_basic_credentials_pass() {
        let floor = floor();
        assert!(
            floor
                .authenticate(&basic("c1:s3cret-s3cret-s3cret"))
                .is_ok()
        );
        assert!(
            floor
                .authenticate(&basic("c1:s3cret-s3cret-s3creT"))
                .is_err()
        );
        assert!(
            floor
                .authenticate(&basic("c2:s3cret-s3cret-s3cret"))
                .is_err()
        );
        assert!(floor.authenticate(&basic("c1")).is_err());
        assert!(floor.authenticate(&HeaderMap::new()).is_err());
    }
}
