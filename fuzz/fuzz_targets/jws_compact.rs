//! Compact JWS parsing: the size cap, the three segments, strict base64url, the strict header
//! (duplicates, `alg`, `crit`, `b64`), key selection and the signature check, through the two
//! public entry points that take a compact token.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_fuzz::{ASYMMETRIC, SYMMETRIC};
use portcullis_jose::{Error, dangerous, jws};

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let decoded = dangerous::decode_unverified(token);
    for keys in [&*ASYMMETRIC, &*SYMMETRIC] {
        let Ok((header, payload)) = jws::verify_compact(token, keys) else {
            continue;
        };
        // A verified token is a structurally valid one: decoding without a key agrees, and
        // can only fail on the payload, which JWS does not require to be JSON.
        match &decoded {
            Ok((raw_header, _)) => {
                assert_eq!(raw_header["alg"].as_str(), Some(header.alg.as_str()));
            }
            Err(e) => assert_eq!(
                *e,
                Error::Malformed("payload is not JSON"),
                "verified a token that does not decode: {token:?}"
            ),
        }
        // The key decides the algorithm: the selected key has the header's `alg`.
        assert!(
            keys.iter().any(|k| k.alg() == header.alg
                && (header.kid.is_none() || k.kid() == header.kid.as_deref())),
            "verified with no key of the header's alg/kid"
        );
        let signing_input = token.rsplit_once('.').map(|(input, _)| input);
        let encoded_payload = signing_input
            .and_then(|i| i.split_once('.'))
            .map(|(_, p)| p);
        assert_eq!(
            encoded_payload,
            Some(portcullis_fuzz::b64(&payload).as_str())
        );
    }
});
