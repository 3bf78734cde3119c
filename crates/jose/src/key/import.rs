//! Turning JWK members into validated key material: algorithm resolution, RSA size and
//! exponent checks, EC/OKP lengths and curve binding, HMAC secret length.

use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, ParsedPublicKey, RsaKeyPair, RsaPublicKeyComponents,
};
use zeroize::Zeroizing;

use crate::{Algorithm, Error, Jwk, b64};

/// Smallest accepted RSA modulus, in bits (RFC 7518 §3.3).
pub(crate) const MIN_RSA_BITS: usize = 2048;
/// Largest accepted RSA modulus, in bits (the backend's limit).
pub(crate) const MAX_RSA_BITS: usize = 8192;

/// Which operation a JWK is being imported for (checked against `key_ops`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    Sign,
    Verify,
}

/// Resolves the one algorithm a JWK is bound to, and checks `kty`, `crv`, `use` and `key_ops`.
pub(crate) fn resolve_alg(
    jwk: &Jwk,
    requested: Option<Algorithm>,
    purpose: Purpose,
) -> Result<Algorithm, Error> {
    if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
        return Err(Error::InvalidKey("key use is not sig"));
    }
    if let Some(ops) = &jwk.key_ops {
        let op = match purpose {
            Purpose::Sign => "sign",
            Purpose::Verify => "verify",
        };
        if !ops.iter().any(|o| o == op) {
            return Err(Error::InvalidKey("key_ops does not allow this operation"));
        }
    }
    let declared = jwk
        .alg
        .as_deref()
        .map(str::parse::<Algorithm>)
        .transpose()?;
    let alg = match (declared, requested) {
        (Some(d), Some(r)) if d != r => return Err(Error::AlgorithmMismatch),
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) => infer_alg(jwk)?,
    };
    if jwk.kty != alg.key_type() {
        return Err(Error::InvalidKey("kty does not match alg"));
    }
    if let Some(curve) = alg.curve()
        && jwk.crv.as_deref() != Some(curve)
    {
        return Err(Error::InvalidKey("crv does not match alg"));
    }
    Ok(alg)
}

/// The algorithm implied by the curve, for EC and OKP keys without `alg`.
fn infer_alg(jwk: &Jwk) -> Result<Algorithm, Error> {
    match (jwk.kty.as_str(), jwk.crv.as_deref()) {
        ("EC", Some("P-256")) => Ok(Algorithm::ES256),
        ("EC", Some("P-384")) => Ok(Algorithm::ES384),
        ("OKP", Some("Ed25519")) => Ok(Algorithm::EdDSA),
        ("RSA" | "oct", _) => Err(Error::InvalidKey("RSA and oct keys need an alg")),
        _ => Err(Error::UnsupportedAlgorithm),
    }
}

fn member<'a>(value: &'a Option<String>, what: &'static str) -> Result<&'a str, Error> {
    value.as_deref().ok_or(Error::InvalidKey(what))
}

fn decode(value: &Option<String>, what: &'static str) -> Result<Vec<u8>, Error> {
    b64::decode(member(value, what)?, what).map_err(|_| Error::InvalidKey(what))
}

fn decode_secret(value: &Option<String>, what: &'static str) -> Result<Zeroizing<Vec<u8>>, Error> {
    decode(value, what).map(Zeroizing::new)
}

/// Field size in bytes of the curve behind an EC algorithm.
pub(crate) fn ec_field_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::ES384 => 48,
        Algorithm::ES256 => 32,
        // Not EC: never called with these. Listed, not wildcarded, so that a new algorithm
        // must be placed here.
        Algorithm::HS256
        | Algorithm::HS384
        | Algorithm::HS512
        | Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512
        | Algorithm::EdDSA => 32,
    }
}

/// Length of a signature under `alg` for a key whose RSA modulus is `rsa_len` bytes.
pub(crate) fn signature_len(alg: Algorithm, rsa_len: usize) -> usize {
    match alg {
        Algorithm::ES256 | Algorithm::EdDSA => 64,
        Algorithm::ES384 => 96,
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => rsa_len,
        // HMAC keys never come through here (no public key); listed so that a new algorithm
        // must be placed here.
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => rsa_len,
    }
}

fn rsa_params(alg: Algorithm) -> &'static signature::RsaParameters {
    match alg {
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        // Not RSA: never called with these. Listed, not wildcarded, so that a new
        // algorithm must be placed here.
        Algorithm::HS256
        | Algorithm::HS384
        | Algorithm::HS512
        | Algorithm::ES256
        | Algorithm::ES384
        | Algorithm::EdDSA => &signature::RSA_PKCS1_2048_8192_SHA256,
    }
}

pub(crate) fn ecdsa_signing(alg: Algorithm) -> &'static signature::EcdsaSigningAlgorithm {
    match alg {
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        // Not ECDSA: never called with these. Listed, not wildcarded, so that a new algorithm
        // must be placed here.
        Algorithm::HS256
        | Algorithm::HS384
        | Algorithm::HS512
        | Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512
        | Algorithm::EdDSA => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    }
}

fn ecdsa_verification(alg: Algorithm) -> &'static signature::EcdsaVerificationAlgorithm {
    match alg {
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
        Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
        // Not ECDSA: never called with these. Listed, not wildcarded, so that a new algorithm
        // must be placed here.
        Algorithm::HS256
        | Algorithm::HS384
        | Algorithm::HS512
        | Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512
        | Algorithm::EdDSA => &signature::ECDSA_P256_SHA256_FIXED,
    }
}

/// Checks RSA public members: minimal encoding, 2048..=8192-bit modulus, odd exponent > 1.
fn check_rsa_public(n: &[u8], e: &[u8]) -> Result<(), Error> {
    let first = *n.first().ok_or(Error::InvalidKey("empty RSA modulus"))?;
    if first == 0 {
        return Err(Error::InvalidKey("RSA modulus has a leading zero"));
    }
    let bits = (n.len() - 1) * 8 + (8 - first.leading_zeros() as usize);
    if bits < MIN_RSA_BITS {
        return Err(Error::InvalidKey("RSA modulus shorter than 2048 bits"));
    }
    if bits > MAX_RSA_BITS {
        return Err(Error::InvalidKey("RSA modulus longer than 8192 bits"));
    }
    if super::roca::has_roca_fingerprint(n) {
        return Err(Error::InvalidKey("RSA modulus has the ROCA fingerprint"));
    }
    if e.first().is_none_or(|&b| b == 0) || e.len() > 8 {
        return Err(Error::InvalidKey("bad RSA public exponent encoding"));
    }
    let exponent = e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    if exponent < 3 || exponent % 2 == 0 || exponent >= (1 << 33) {
        return Err(Error::InvalidKey("bad RSA public exponent"));
    }
    Ok(())
}

/// Validated public key ready for verification, and the exact signature length it expects.
pub(crate) fn public_key(jwk: &Jwk, alg: Algorithm) -> Result<(ParsedPublicKey, usize), Error> {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            Err(Error::InvalidKey("HMAC keys have no public key"))
        }
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => {
            let n = decode(&jwk.n, "RSA n")?;
            let e = decode(&jwk.e, "RSA e")?;
            check_rsa_public(&n, &e)?;
            let key = RsaPublicKeyComponents {
                n: &n[..],
                e: &e[..],
            }
            .to_parsed_public_key(rsa_params(alg))
            .map_err(|_| Error::InvalidKey("RSA public key rejected"))?;
            Ok((key, n.len()))
        }
        Algorithm::ES256 | Algorithm::ES384 => {
            let point = ec_point(jwk, alg)?;
            let key = ParsedPublicKey::new(ecdsa_verification(alg), &point)
                .map_err(|_| Error::InvalidKey("EC point not on curve"))?;
            Ok((key, signature_len(alg, 0)))
        }
        Algorithm::EdDSA => {
            let x = ed_public(jwk)?;
            let key = ParsedPublicKey::new(&signature::ED25519, &x)
                .map_err(|_| Error::InvalidKey("Ed25519 public key rejected"))?;
            Ok((key, signature_len(alg, 0)))
        }
    }
}

/// The uncompressed SEC1 point `04 || x || y`, with exact coordinate lengths.
fn ec_point(jwk: &Jwk, alg: Algorithm) -> Result<Vec<u8>, Error> {
    let len = ec_field_len(alg);
    let x = decode(&jwk.x, "EC x")?;
    let y = decode(&jwk.y, "EC y")?;
    if x.len() != len || y.len() != len {
        return Err(Error::InvalidKey("EC coordinate length"));
    }
    let mut point = Vec::with_capacity(1 + 2 * len);
    point.push(4);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    Ok(point)
}

fn ed_public(jwk: &Jwk) -> Result<Vec<u8>, Error> {
    let x = decode(&jwk.x, "OKP x")?;
    if x.len() != signature::ED25519_PUBLIC_KEY_LEN {
        return Err(Error::InvalidKey("Ed25519 public key length"));
    }
    Ok(x)
}

/// An HMAC secret, checked against the minimum length for `alg`.
pub(crate) fn check_hmac_secret(secret: &[u8], alg: Algorithm) -> Result<(), Error> {
    let min = alg
        .hmac_min_len()
        .ok_or(Error::InvalidKey("not an HMAC algorithm"))?;
    if secret.len() < min {
        return Err(Error::InvalidKey(
            "HMAC secret shorter than the hash output",
        ));
    }
    Ok(())
}

pub(crate) fn oct_secret(jwk: &Jwk, alg: Algorithm) -> Result<Zeroizing<Vec<u8>>, Error> {
    let k = decode_secret(&jwk.k, "oct k")?;
    check_hmac_secret(&k, alg)?;
    Ok(k)
}

pub(crate) fn rsa_key_pair(jwk: &Jwk) -> Result<RsaKeyPair, Error> {
    let n = decode(&jwk.n, "RSA n")?;
    let e = decode(&jwk.e, "RSA e")?;
    check_rsa_public(&n, &e)?;
    let d = decode_secret(&jwk.d, "RSA d")?;
    let p = decode_secret(&jwk.p, "RSA private key needs p")?;
    let q = decode_secret(&jwk.q, "RSA private key needs q")?;
    let dp = decode_secret(&jwk.dp, "RSA private key needs dp")?;
    let dq = decode_secret(&jwk.dq, "RSA private key needs dq")?;
    let qi = decode_secret(&jwk.qi, "RSA private key needs qi")?;
    let components = aws_lc_rs::rsa::KeyPairComponents {
        public_key: RsaPublicKeyComponents {
            n: &n[..],
            e: &e[..],
        },
        d: &d[..],
        p: &p[..],
        q: &q[..],
        dP: &dp[..],
        dQ: &dq[..],
        qInv: &qi[..],
    };
    RsaKeyPair::from_components(&components)
        .map_err(|_| Error::InvalidKey("inconsistent RSA private key"))
}

pub(crate) fn ecdsa_key_pair(jwk: &Jwk, alg: Algorithm) -> Result<EcdsaKeyPair, Error> {
    let point = ec_point(jwk, alg)?;
    let d = decode_secret(&jwk.d, "EC d")?;
    if d.len() != ec_field_len(alg) {
        return Err(Error::InvalidKey("EC private key length"));
    }
    EcdsaKeyPair::from_private_key_and_public_key(ecdsa_signing(alg), &d, &point)
        .map_err(|_| Error::InvalidKey("inconsistent EC private key"))
}

pub(crate) fn ed25519_key_pair(jwk: &Jwk) -> Result<Ed25519KeyPair, Error> {
    let x = ed_public(jwk)?;
    let d = decode_secret(&jwk.d, "OKP d")?;
    if d.len() != 32 {
        return Err(Error::InvalidKey("Ed25519 seed length"));
    }
    Ed25519KeyPair::from_seed_and_public_key(&d, &x)
        .map_err(|_| Error::InvalidKey("inconsistent Ed25519 private key"))
}
