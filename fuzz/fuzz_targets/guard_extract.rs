//! The guard's token extraction from a request: the `Authorization: Bearer` header (RS-1), and
//! the cookie and query parameter when configured, with more than one method refused (RS-2).
//!
//! The input reads like the head of an HTTP request: a request target on the first line, then
//! `Name: value` header lines. Every input is tried under three configurations.
#![no_main]

use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use libfuzzer_sys::fuzz_target;
use portcullis_guard::fuzzing::extract_token;

const CONFIGS: [(Option<&str>, Option<&str>); 3] = [
    (None, None),
    (None, Some("at")),
    (Some("access_token"), Some("at")),
];

fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|&b| b == b'\n');
    let target = lines.next().unwrap_or_default();
    let uri = Uri::try_from(target.strip_suffix(b"\r").unwrap_or(target)).unwrap_or_default();
    let mut headers = HeaderMap::new();
    for line in lines {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = line.split_at(colon);
        let value = value.get(1..).unwrap_or_default();
        let value = value.strip_prefix(b" ").unwrap_or(value);
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }

    let mut header_token = None;
    for (i, (query, cookie)) in CONFIGS.into_iter().enumerate() {
        let result = extract_token(&headers, &uri, query, cookie);
        if let Ok(Some(token)) = &result {
            assert!(
                is_b64token(token),
                "extracted a token that is not a b64token"
            );
        }
        if i == 0 {
            // Without a cookie or query parameter configured, only the Authorization header
            // may yield a token, and only a Bearer one.
            if let Ok(Some(token)) = &result {
                let values: Vec<_> = headers
                    .get_all(http::header::AUTHORIZATION)
                    .iter()
                    .collect();
                assert_eq!(values.len(), 1);
                let value = values
                    .first()
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                assert!(value.len() > 6 && value[..6].eq_ignore_ascii_case("bearer"));
                assert!(value.ends_with(token.as_str()));
            }
            header_token = Some(result);
        } else if let Some(Err(_)) = &header_token {
            // A malformed Authorization header stays malformed whatever else is configured.
            assert!(
                result.is_err(),
                "more sources made a malformed request acceptable"
            );
        } else if let Some(Ok(Some(_))) = &header_token {
            // A header token plus any other token is two methods, never a silent choice.
            if let Ok(Some(token)) = &result {
                assert_eq!(Some(&Ok(Some(token.clone()))), header_token.as_ref());
            }
        }
    }
});
