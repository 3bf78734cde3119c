//! Negative tests for the JSON layer and resource limits (JWT-8, DOS-1, DOS-2): duplicate
//! members, non-UTF-8, non-object headers, oversized tokens and deep nesting.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use portcullis_jose::jws::{MAX_TOKEN_LEN, verify_compact};
use portcullis_jose::{Algorithm, Error, KeySet, SigningKey, dangerous};
use serde_json::Value;

fn hs256() -> SigningKey {
    SigningKey::hmac(HMAC_SECRET, Algorithm::HS256)
        .unwrap()
        .with_kid("hs")
}

fn keys() -> KeySet {
    keyset([hs256().verifying_key()])
}

fn claims_text() -> String {
    good_claims().to_string()
}

#[test]
fn jwt_8_duplicate_header_members_are_rejected() {
    let headers = [
        r#"{"alg":"HS256","kid":"hs","alg":"HS256"}"#,
        r#"{"alg":"none","kid":"hs","alg":"HS256"}"#,
        r#"{"alg":"HS256","kid":"hs","alg":"none"}"#,
        r#"{"alg":"HS256","kid":"other","kid":"hs"}"#,
        r#"{"alg":"HS256","kid":"hs","typ":"JWT","typ":"at+jwt"}"#,
        r#"{"alg":"HS256","kid":"hs","crit":["x"],"x":1,"x":2}"#,
    ];
    for h in headers {
        let t = sign_raw(&hs256(), h, claims_text().as_bytes());
        let err = verify_compact(&t, &keys()).unwrap_err();
        assert!(matches!(err, Error::Malformed(_)), "{h}: {err:?}");
        assert!(dangerous::decode_unverified(&t).is_err(), "{h}");
    }
    // The same header without the duplicate is fine.
    let t = sign_raw(&hs256(), r#"{"alg":"HS256","kid":"hs"}"#, b"{}");
    verify_compact(&t, &keys()).unwrap();
}

#[test]
fn jwt_8_duplicate_payload_members_are_rejected() {
    let header = r#"{"alg":"HS256","kid":"hs"}"#;
    let exp = NOW + 600;
    let payloads = [
        format!(r#"{{"iss":"https://evil.example","iss":"{ISS}","aud":"{AUD}","exp":{exp}}}"#),
        format!(r#"{{"iss":"{ISS}","aud":"{AUD}","aud":"other","exp":{exp}}}"#),
        format!(r#"{{"iss":"{ISS}","aud":"{AUD}","exp":1,"exp":{exp}}}"#),
        format!(r#"{{"iss":"{ISS}","aud":"{AUD}","exp":{exp},"scope":"a","scope":"admin"}}"#),
        format!(r#"{{"iss":"{ISS}","aud":"{AUD}","exp":{exp},"x":{{"y":1,"y":2}}}}"#),
    ];
    for p in payloads {
        let t = sign_raw(&hs256(), header, p.as_bytes());
        let err = validator().verify::<Value>(&t, &keys(), now()).unwrap_err();
        assert!(
            matches!(err, Error::Malformed(_) | Error::InvalidClaim(_)),
            "{p}: {err:?}"
        );
    }
    // Control: the unique version verifies.
    let p = format!(r#"{{"iss":"{ISS}","aud":"{AUD}","exp":{exp}}}"#);
    let t = sign_raw(&hs256(), header, p.as_bytes());
    validator().verify::<Value>(&t, &keys(), now()).unwrap();
}

#[test]
fn jwt_8_header_must_be_utf8_json_object() {
    let bad: [&[u8]; 9] = [
        b"{\"alg\":\"HS256\",\"kid\":\"\xff\"}",
        b"\xef\xbb\xbf{\"alg\":\"HS256\",\"kid\":\"hs\"}",
        b"\xff\xfe{\x00\"\x00a\x00l\x00g\x00\"\x00:\x00\"\x00H\x00S\x002\x005\x006\x00\"\x00}\x00",
        b"[\"HS256\"]",
        b"\"HS256\"",
        b"null",
        b"",
        b"{\"alg\":\"HS256\",\"kid\":\"hs\"} trailing",
        b"{\"alg\":\"HS256\",\"kid\":\"hs\"",
    ];
    for h in bad {
        let input = format!("{}.{}", b64(h), b64(b"{}"));
        let sig = hs256().sign(input.as_bytes()).unwrap();
        let t = format!("{input}.{}", b64(&sig));
        let err = verify_compact(&t, &keys()).unwrap_err();
        assert!(matches!(err, Error::Malformed(_)), "{h:?}: {err:?}");
    }
}

#[test]
fn jwt_8_claims_must_be_utf8_json_object() {
    let header = r#"{"alg":"HS256","kid":"hs"}"#;
    let bad: [&[u8]; 5] = [
        b"{\"iss\":\"https://as.example\",\"aud\":\"orders-api\",\"exp\":4000000000,\"sub\":\"\xc3\x28\"}",
        b"\xef\xbb\xbf{\"iss\":\"https://as.example\",\"aud\":\"orders-api\",\"exp\":4000000000}",
        b"[1,2,3]",
        b"\"claims\"",
        b"",
    ];
    for p in bad {
        let t = sign_raw(&hs256(), header, p);
        let err = validator().verify::<Value>(&t, &keys(), now()).unwrap_err();
        assert!(
            matches!(err, Error::Malformed(_) | Error::InvalidClaim(_)),
            "{p:?}: {err:?}"
        );
    }
}

#[test]
fn dos_1_one_mebibyte_token_fails_fast() {
    let dots = ".".repeat(1 << 20);
    let junk = "A".repeat(1 << 20);
    let shaped = format!("{}.{}.{}", "e".repeat(1 << 19), "e".repeat(1 << 19), "A");
    for token in [&dots, &junk, &shaped] {
        let start = Instant::now();
        let err = verify_compact(token, &keys()).unwrap_err();
        assert!(matches!(err, Error::TooLarge), "{err:?}");
        let err = validator()
            .verify::<Value>(token, &keys(), now())
            .unwrap_err();
        assert!(matches!(err, Error::TooLarge), "{err:?}");
        let err = dangerous::decode_unverified(token).unwrap_err();
        assert!(matches!(err, Error::TooLarge), "{err:?}");
        // Generous bound for a debug build on a shared machine; a linear scan takes microseconds.
        assert!(
            start.elapsed() < Duration::from_millis(500),
            "{:?}",
            start.elapsed()
        );
    }
}

#[test]
fn dos_1_limit_is_exactly_max_token_len() {
    let key = hs256();
    let base = sign_raw(&key, r#"{"alg":"HS256","kid":"hs"}"#, b"{}");
    // Pad the header with a string member until the token is exactly MAX_TOKEN_LEN long.
    let mut pad = MAX_TOKEN_LEN - base.len();
    let token = loop {
        let header = format!(r#"{{"alg":"HS256","kid":"hs","p":"{}"}}"#, "x".repeat(pad));
        let t = sign_raw(&key, &header, b"{}");
        if t.len() <= MAX_TOKEN_LEN {
            break t;
        }
        pad -= 1;
    };
    assert!(MAX_TOKEN_LEN - token.len() < 4);
    verify_compact(&token, &keys()).unwrap();
    let over = sign_raw(
        &key,
        &format!(
            r#"{{"alg":"HS256","kid":"hs","p":"{}"}}"#,
            "x".repeat(pad + 4)
        ),
        b"{}",
    );
    assert!(over.len() > MAX_TOKEN_LEN);
    assert!(matches!(
        verify_compact(&over, &keys()),
        Err(Error::TooLarge)
    ));
}

fn nested(depth: usize) -> String {
    format!(
        r#"{{"alg":"HS256","kid":"hs","x":{}{}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

#[test]
fn dos_2_deep_nesting_in_header_errors_without_stack_overflow() {
    // 100k levels: beyond the size cap, refused before parsing.
    let t = sign_raw(&hs256(), &nested(100_000), b"{}");
    assert!(matches!(verify_compact(&t, &keys()), Err(Error::TooLarge)));
    // As deep as fits under the cap: must reach the parser and fail on depth, not crash.
    let depth = (MAX_TOKEN_LEN * 3 / 4 - 200) / 2;
    let t = sign_raw(&hs256(), &nested(depth), b"{}");
    assert!(t.len() <= MAX_TOKEN_LEN, "{}", t.len());
    let err = verify_compact(&t, &keys()).unwrap_err();
    assert!(matches!(err, Error::Malformed(_)), "{err:?}");
    assert!(dangerous::decode_unverified(&t).is_err());
    // Unbalanced opening brackets only.
    let open = format!(r#"{{"alg":"HS256","kid":"hs","x":{}"#, "[".repeat(depth));
    let t = sign_raw(&hs256(), &open, b"{}");
    assert!(matches!(
        verify_compact(&t, &keys()),
        Err(Error::Malformed(_))
    ));
}

#[test]
fn dos_2_deep_nesting_in_claims_errors_without_stack_overflow() {
    let depth = (MAX_TOKEN_LEN * 3 / 4 - 300) / 2;
    let payload = format!(
        r#"{{"iss":"{ISS}","aud":"{AUD}","exp":{},"x":{}{}}}"#,
        NOW + 600,
        "{\"a\":".repeat(depth / 3),
        "}".repeat(depth / 3)
    );
    let t = sign_raw(
        &hs256(),
        r#"{"alg":"HS256","kid":"hs"}"#,
        payload.as_bytes(),
    );
    assert!(t.len() <= MAX_TOKEN_LEN, "{}", t.len());
    let err = validator().verify::<Value>(&t, &keys(), now()).unwrap_err();
    assert!(
        matches!(err, Error::Malformed(_) | Error::InvalidClaim(_)),
        "{err:?}"
    );
}

#[test]
fn dos_2_long_aud_and_crit_arrays_are_bounded() {
    // A few thousand audience entries fit under the size cap; the result must be a plain
    // accept/reject decision, not a panic. The wanted audience is last.
    let mut aud: Vec<String> = (0..1500).map(|i| format!("a{i}")).collect();
    aud.push(AUD.to_owned());
    let mut c = good_claims();
    c["aud"] = serde_json::json!(aud);
    let t = sign_raw(
        &hs256(),
        r#"{"alg":"HS256","kid":"hs"}"#,
        c.to_string().as_bytes(),
    );
    assert!(t.len() <= MAX_TOKEN_LEN, "{}", t.len());
    match validator().verify::<Value>(&t, &keys(), now()) {
        Ok(v) => assert!(v.claims().aud.contains(AUD)),
        Err(e) => assert!(
            matches!(e, Error::InvalidClaim(_) | Error::Malformed(_)),
            "{e:?}"
        ),
    }
    let crit: Vec<String> = (0..1500).map(|i| format!("c{i}")).collect();
    let h = serde_json::json!({"alg": "HS256", "kid": "hs", "crit": crit});
    let t = sign_raw(&hs256(), &h.to_string(), b"{}");
    assert!(verify_compact(&t, &keys()).is_err());
}
