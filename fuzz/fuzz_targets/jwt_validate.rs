//! Full JWT validation with `Validator::verify` against fixed ES256 and RS256 keys.
//!
//! The input is structured: the fuzzer supplies the claims JSON (and optionally the header
//! JSON), the target signs them with one of the trusted keys and then applies one mutation, so
//! both a genuine signature (reaching the claims checks) and a damaged one are exercised. With
//! `Signer::None` the text is the whole token, for seeds that are real tokens.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use portcullis_fuzz::{AUD, ISS, SIGNING, TRUSTED, VALIDATORS, b64, now};
use portcullis_jose::{Error, SigningKey};
use serde_json::Value;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Signer {
    /// The text is the whole token.
    None,
    Es256,
    Rs256,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum HeaderKind {
    /// `{"alg", "kid", "typ":"at+jwt"}` for the signing key.
    Standard,
    /// `{"alg", "typ":"at+jwt"}`: the key is selected by `alg`.
    NoKid,
    /// `{"alg", "kid"}`.
    NoTyp,
    /// The text is `header JSON` `\n` `claims JSON`.
    Raw,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Mutation {
    None,
    FlipBit {
        at: u16,
        bit: u8,
    },
    Truncate {
        at: u16,
    },
    Insert {
        at: u16,
        byte: u8,
    },
    /// Signs the same input with the other trusted key.
    OtherKey,
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    signer: Signer,
    header: HeaderKind,
    mutation: Mutation,
    validator: u8,
    /// Seconds added to the fixed evaluation time.
    shift: i32,
    text: &'a str,
}

fn sign(key: &SigningKey, header: &str, claims: &str) -> Option<String> {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let signature = key.sign(input.as_bytes()).ok()?;
    Some(format!("{input}.{}", b64(&signature)))
}

fn header_for(key: &SigningKey, kind: HeaderKind) -> Value {
    let mut header = serde_json::json!({ "alg": key.alg().as_str() });
    if !matches!(kind, HeaderKind::NoKid) {
        header["kid"] = key.kid().into();
    }
    if !matches!(kind, HeaderKind::NoTyp) {
        header["typ"] = "at+jwt".into();
    }
    header
}

fn mutate(token: String, mutation: Mutation, other: &SigningKey) -> Option<String> {
    let mut bytes = token.into_bytes();
    match mutation {
        Mutation::None => {}
        Mutation::FlipBit { at, bit } => {
            let len = bytes.len();
            if let Some(b) = bytes.get_mut(usize::from(at) % len.max(1)) {
                *b ^= 1 << (bit % 8);
            }
        }
        Mutation::Truncate { at } => bytes.truncate(usize::from(at)),
        Mutation::Insert { at, byte } => {
            let at = usize::from(at).min(bytes.len());
            bytes.insert(at, byte);
        }
        Mutation::OtherKey => {
            let token = String::from_utf8(bytes).ok()?;
            let (input, _) = token.rsplit_once('.')?;
            let signature = other.sign(input.as_bytes()).ok()?;
            return Some(format!("{input}.{}", b64(&signature)));
        }
    }
    String::from_utf8(bytes).ok()
}

fuzz_target!(|input: Input<'_>| {
    let (token, signed) = match input.signer {
        Signer::None => (input.text.to_owned(), None),
        Signer::Es256 | Signer::Rs256 => {
            let (key, other) = match input.signer {
                Signer::Es256 => (&SIGNING[0], &SIGNING[1]),
                _ => (&SIGNING[1], &SIGNING[0]),
            };
            let (header, claims) = match input.header {
                HeaderKind::Raw => {
                    let (header, claims) = input.text.split_once('\n').unwrap_or((input.text, ""));
                    (header.to_owned(), claims)
                }
                kind => (header_for(key, kind).to_string(), input.text),
            };
            let Some(original) = sign(key, &header, claims) else {
                return;
            };
            let Some(token) = mutate(original.clone(), input.mutation, other) else {
                return;
            };
            // A token the other trusted key signed is genuine too.
            let genuine = if matches!(input.mutation, Mutation::OtherKey) {
                token.clone()
            } else {
                original
            };
            (token, Some(genuine))
        }
    };

    let index = usize::from(input.validator) % VALIDATORS.len();
    let now = now(input.shift);
    let result = VALIDATORS[index].verify::<Value>(&token, &TRUSTED, now);

    let Ok(verified) = result else {
        if let (Err(Error::InvalidSignature), Some(original)) = (&result, &signed)
            && !matches!(input.mutation, Mutation::OtherKey)
            && !matches!(input.header, HeaderKind::Raw)
        {
            // Under a header made for the signing key, only a change to the token may break
            // the signature that key made.
            assert_ne!(&token, original, "genuine signature refused");
        }
        return;
    };

    // Nothing but what the trusted key signed verifies.
    if let Some(original) = &signed {
        assert_eq!(&token, original, "a modified token verified");
    }
    // The checks the validator promises held for what it returned.
    let claims = verified.claims();
    assert_eq!(claims.iss, ISS);
    let audiences: &[&str] = if index == 1 {
        &["other-api", AUD]
    } else {
        &[AUD]
    };
    assert!(audiences.iter().any(|a| claims.aud.contains(a)));
    let leeway = i128::from(VALIDATORS[index].leeway_secs());
    let t = i128::from(now.as_secs());
    if index != 2 {
        assert!(
            t < i128::from(claims.exp) + leeway,
            "expired token accepted"
        );
    }
    if let Some(nbf) = claims.nbf {
        assert!(t >= i128::from(nbf) - leeway, "token used before nbf");
    }
    if let Some(iat) = claims.iat {
        assert!(t >= i128::from(iat) - leeway, "token issued in the future");
    }
    if index == 0 {
        let typ = verified.header().typ.as_deref().unwrap_or_default();
        assert!(typ.to_ascii_lowercase().ends_with("at+jwt"));
    }
    assert!(
        TRUSTED.iter().any(|k| k.alg() == verified.header().alg),
        "verified with an algorithm no trusted key has"
    );
    // The claims object returned is the payload that was signed.
    let (_, raw_claims) = portcullis_jose::dangerous::decode_unverified(&token)
        .unwrap_or_else(|e| panic!("verified token does not decode: {e}"));
    assert_eq!(&raw_claims, verified.custom());
});
