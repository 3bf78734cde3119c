//! `portcullis token decode` and `portcullis token verify`: inspect a JWT, or check it against
//! a JWK Set (a file or a URL) with an issuer, an audience and optionally a `typ`.

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use portcullis_jose::time::{Clock as _, SystemClock};
use portcullis_jose::{JwkSet, KeySet, Validator};
use serde_json::{Value, json};

/// Largest JWK Set document accepted from a file or a URL.
const MAX_JWKS_BYTES: usize = 512 * 1024;

/// `portcullis token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a JWT's header and claims WITHOUT checking its signature.
    Decode(DecodeArgs),
    /// Verify a JWT's signature and claims against a JWK Set; exit code 1 on failure.
    Verify(VerifyArgs),
}

/// Arguments of `token decode`.
#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// The compact JWT.
    pub jwt: String,
}

/// Arguments of `token verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The compact JWT.
    pub jwt: String,
    /// A JWK Set: a file path, or an http(s) URL such as the issuer's `/.well-known/jwks.json`.
    #[arg(long)]
    pub jwks: String,
    /// The expected issuer (exact match).
    #[arg(long)]
    pub iss: String,
    /// The expected audience (the token's `aud` must contain it).
    #[arg(long)]
    pub aud: String,
    /// The required `typ` header, e.g. `at+jwt`.
    #[arg(long)]
    pub typ: Option<String>,
    /// Allowed clock skew in seconds.
    #[arg(long, default_value_t = 30)]
    pub leeway: u64,
}

/// Runs a `token` subcommand; returns the process exit code.
pub async fn run(cmd: TokenCommand) -> anyhow::Result<i32> {
    match cmd {
        TokenCommand::Decode(args) => {
            println!("{}", decode(&args.jwt)?);
            Ok(0)
        }
        TokenCommand::Verify(args) => {
            let jwks = load_jwks(&args.jwks).await?;
            match verify(&args, &jwks, SystemClock.now()) {
                Ok(claims) => {
                    println!("{claims}");
                    Ok(0)
                }
                Err(err) => {
                    eprintln!("token verification FAILED: {err}");
                    Ok(1)
                }
            }
        }
    }
}

/// The pretty-printed, clearly marked unverified header and claims of a token.
pub fn decode(jwt: &str) -> anyhow::Result<String> {
    let (header, claims) = portcullis_jose::dangerous::decode_unverified(jwt.trim())
        .map_err(|e| anyhow::anyhow!("cannot decode the token: {e}"))?;
    let doc = json!({ "header": header, "claims": claims });
    Ok(format!(
        "UNVERIFIED: the signature and claims of this token have NOT been checked.\n{}",
        serde_json::to_string_pretty(&doc)?
    ))
}

/// Verifies `args.jwt` against `jwks` at `now`; returns the pretty-printed verified claims.
pub fn verify(
    args: &VerifyArgs,
    jwks: &JwkSet,
    now: portcullis_jose::UnixTime,
) -> anyhow::Result<String> {
    let keys = KeySet::from_jwks(jwks).map_err(|e| anyhow::anyhow!("unusable JWK Set: {e}"))?;
    if keys.is_empty() {
        bail!("the JWK Set holds no key usable for signature verification");
    }
    let leeway = args.leeway.min(300);
    let builder = Validator::builder()
        .issuer(args.iss.clone())
        .audience(args.aud.clone())
        .leeway(leeway);
    let builder = match &args.typ {
        Some(typ) => builder.required_typ(typ.clone()),
        None => builder,
    };
    let validator = builder.build();
    let verified = validator
        .verify::<Value>(args.jwt.trim(), &keys, now)
        .map_err(|e| explain(&e, args))?;
    let doc = json!({
        "header": {
            "alg": verified.header().alg.as_str(),
            "kid": verified.header().kid,
            "typ": verified.header().typ,
        },
        "claims": verified.custom(),
    });
    Ok(format!(
        "VERIFIED: signature, issuer, audience and lifetime are valid.\n{}",
        serde_json::to_string_pretty(&doc)?
    ))
}

/// The failure, with the expected and the found value for a wrong issuer or audience. The
/// validator checks claims only after the signature, so the found value is the signed one.
fn explain(err: &portcullis_jose::Error, args: &VerifyArgs) -> anyhow::Error {
    let (claim, expected) = match err {
        portcullis_jose::Error::InvalidAudience => ("aud", &args.aud),
        portcullis_jose::Error::InvalidIssuer => ("iss", &args.iss),
        other => return anyhow::anyhow!("{other}"),
    };
    let found = portcullis_jose::dangerous::decode_unverified(args.jwt.trim())
        .ok()
        .and_then(|(_, claims)| claims.get(claim).cloned())
        .map_or_else(|| format!("no `{claim}` claim"), |v| v.to_string());
    anyhow::anyhow!("{err}: expected {expected:?}, found {found}")
}

/// Reads a JWK Set from a file or fetches it from an http(s) URL (no redirects followed).
pub async fn load_jwks(source: &str) -> anyhow::Result<JwkSet> {
    let bytes = if source.starts_with("https://") || source.starts_with("http://") {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        let resp = client
            .get(source)
            .send()
            .await
            .with_context(|| format!("fetching {source}"))?;
        if !resp.status().is_success() {
            bail!("fetching {source}: HTTP {}", resp.status());
        }
        let body = resp.bytes().await.context("reading the JWK Set")?;
        body.to_vec()
    } else {
        tokio::fs::read(source)
            .await
            .with_context(|| format!("reading {source}"))?
    };
    if bytes.len() > MAX_JWKS_BYTES {
        bail!("the JWK Set at {source} is larger than {MAX_JWKS_BYTES} bytes");
    }
    serde_json::from_slice(&bytes).with_context(|| format!("{source} is not a JWK Set"))
}
