//! Negative tests for the compact serialization format (JWT-7): segment count, padding,
//! whitespace, non-canonical base64url, the standard alphabet and JSON serialization.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use common::*;
use portcullis_jose::jws::{sign_compact, verify_compact};
use portcullis_jose::{Algorithm, Error, KeySet, SigningKey};
use serde_json::json;

fn hs256() -> SigningKey {
    SigningKey::hmac(HMAC_SECRET, Algorithm::HS256)
        .unwrap()
        .with_kid("hs")
}

fn malformed(token: &str, keys: &KeySet, what: &str) {
    let err = verify_compact(token, keys).unwrap_err();
    assert!(matches!(err, Error::Malformed(_)), "{what}: {err:?}");
}

#[test]
fn jwt_7_exactly_three_segments() {
    let key = hs256();
    let keys = keyset([key.verifying_key()]);
    let t = sign_compact(&key, None, b"{}").unwrap();
    let parts: Vec<&str> = t.split('.').collect();
    malformed(&format!("{}.{}", parts[0], parts[1]), &keys, "2 segments");
    malformed(&format!("{t}.{}", parts[2]), &keys, "4 segments");
    malformed(&format!("{t}."), &keys, "trailing dot");
    malformed(&format!("{t}.AA.AA"), &keys, "5 segments (JWE shape)");
    malformed(&format!(".{t}"), &keys, "leading dot");
    malformed("", &keys, "empty");
    malformed("..", &keys, "only dots");
    malformed(&t.replace('.', ".."), &keys, "double dots");
}

#[test]
fn jwt_7_no_padding_and_no_whitespace() {
    let key = hs256();
    let keys = keyset([key.verifying_key()]);
    let t = sign_compact(&key, None, b"{\"a\":1}").unwrap();
    for i in 0..3 {
        let seg = t.split('.').nth(i).unwrap();
        malformed(
            &replace_segment(&t, i, &format!("{seg}=")),
            &keys,
            "padding =",
        );
        malformed(
            &replace_segment(&t, i, &format!("{seg}==")),
            &keys,
            "padding ==",
        );
        malformed(&replace_segment(&t, i, &format!("{seg} ")), &keys, "space");
        malformed(
            &replace_segment(&t, i, &format!("\n{seg}")),
            &keys,
            "newline",
        );
        let mid = seg.len() / 2;
        let split = format!("{}\t{}", &seg[..mid], &seg[mid..]);
        malformed(&replace_segment(&t, i, &split), &keys, "tab");
    }
    malformed(&format!(" {t}"), &keys, "leading space");
    malformed(&format!("{t}\r\n"), &keys, "trailing CRLF");
    malformed(&format!("Bearer {t}"), &keys, "scheme prefix");
}

/// Sets the unused low bits of the last character of a base64url segment.
fn with_trailing_bits(seg: &str) -> Option<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let unused = match seg.len() % 4 {
        2 => 0b1111,
        3 => 0b11,
        _ => return None,
    };
    let last = *seg.as_bytes().last().unwrap();
    let v = ALPHABET.iter().position(|c| *c == last).unwrap();
    let nv = v | unused;
    (nv != v).then(|| format!("{}{}", &seg[..seg.len() - 1], ALPHABET[nv] as char))
}

#[test]
fn jwt_7_non_canonical_trailing_bits_are_rejected() {
    let key = hs256();
    let keys = keyset([key.verifying_key()]);
    let mut checked = 0;
    // HS256 signatures are 32 bytes (43 chars, 2 unused bits); vary the payload until each
    // segment has a length with unused bits and a last character with those bits clear.
    for i in 0..64 {
        let payload = format!("{{\"n\":{i}}}");
        let t = sign_compact(&key, None, payload.as_bytes()).unwrap();
        verify_compact(&t, &keys).unwrap();
        for seg_index in 0..3 {
            let seg = t.split('.').nth(seg_index).unwrap();
            if let Some(bent) = with_trailing_bits(seg) {
                malformed(
                    &replace_segment(&t, seg_index, &bent),
                    &keys,
                    "trailing bits",
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} cases exercised");
}

#[test]
fn jwt_7_standard_base64_alphabet_is_rejected() {
    let key = hs256();
    let keys = keyset([key.verifying_key()]);
    let (mut plus, mut slash) = (0, 0);
    for i in 0..200 {
        let t = sign_compact(&key, None, format!("{{\"n\":{i}}}").as_bytes()).unwrap();
        let sig = t.rsplit('.').next().unwrap();
        if sig.contains('-') {
            malformed(&replace_segment(&t, 2, &sig.replace('-', "+")), &keys, "+");
            plus += 1;
        }
        if sig.contains('_') {
            malformed(&replace_segment(&t, 2, &sig.replace('_', "/")), &keys, "/");
            slash += 1;
        }
    }
    assert!(plus > 0 && slash > 0);
}

#[test]
fn jwt_7_json_serialization_is_rejected_where_compact_expected() {
    let key = hs256();
    let keys = keyset([key.verifying_key()]);
    let t = sign_compact(&key, None, b"{}").unwrap();
    let p: Vec<&str> = t.split('.').collect();
    let general = json!({"payload": p[1], "signatures": [{"protected": p[0], "signature": p[2]}]});
    let flat = json!({"payload": p[1], "protected": p[0], "signature": p[2]});
    for j in [general, flat] {
        malformed(&j.to_string(), &keys, "JSON serialization");
    }
}

#[test]
fn jwt_7_signature_segment_must_be_present_and_exact() {
    let key = hs256();
    let keys = keyset([key.verifying_key()]);
    let t = sign_compact(&key, None, b"{}").unwrap();
    let err = verify_compact(&replace_segment(&t, 2, ""), &keys).unwrap_err();
    assert!(
        matches!(err, Error::InvalidSignature | Error::Malformed(_)),
        "{err:?}"
    );
    let sig = unb64(t.rsplit('.').next().unwrap());
    let mut longer = sig.clone();
    longer.push(0);
    let err = verify_compact(&replace_segment(&t, 2, &b64(&longer)), &keys).unwrap_err();
    assert!(matches!(err, Error::InvalidSignature), "{err:?}");
    let err = verify_compact(&replace_segment(&t, 2, &b64(&sig[..31])), &keys).unwrap_err();
    assert!(matches!(err, Error::InvalidSignature), "{err:?}");
}
