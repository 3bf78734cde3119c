//! A hook's answer, `{"claims": {...}}`: parsed within a nesting limit, then admitted only when
//! it adds claims and changes none, within a size budget per token.

use serde_json::error::Category;
use serde_json::{Map, Value};

use super::HookFailure;

/// Deepest nesting of arrays and objects in an answer; the answer object and its `claims`
/// object count, so a claim value may nest six levels.
pub(crate) const MAX_ANSWER_DEPTH: usize = 8;

/// Most bytes of JSON all hooks together may add to one token.
pub(crate) const MAX_ADDED_CLAIMS_BYTES: usize = 16 * 1024;

/// Claims no hook may set, whether or not the token already has them: registered JWT claims,
/// the RFC 9068 and RFC 8693 claims resource servers authorize on, the OpenID Connect claims a
/// relying party validates the ID token or the sign-in with, and the usual authorization
/// attributes (roles, groups, permissions, entitlements, RFC 9396 details), and `idp`, the
/// upstream provider the user signed in through. A claim the token
/// already carries (e.g. `email` with the `email` scope) is protected as well.
pub(crate) const PROTECTED_CLAIMS: [&str; 31] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "client_id",
    "scope",
    "scp",
    "cnf",
    "act",
    "may_act",
    "auth_time",
    "acr",
    "amr",
    "azp",
    "nonce",
    "at_hash",
    "c_hash",
    "s_hash",
    "sid",
    "roles",
    "groups",
    "entitlements",
    "permissions",
    "authorization_details",
    "email_verified",
    "phone_number_verified",
    "events",
    "idp",
];

/// The claims of an answer body: a JSON object whose only member is the object `claims`. (Read
/// as a map, not into a struct, which would also take the array `[{...}]`.)
pub(crate) fn parse(body: &[u8]) -> Result<Map<String, Value>, HookFailure> {
    if nesting(body) > MAX_ANSWER_DEPTH {
        return Err(HookFailure::TooDeep);
    }
    let mut answer = match serde_json::from_slice::<Map<String, Value>>(body) {
        Ok(answer) => answer,
        Err(e) if e.classify() == Category::Data => return Err(HookFailure::NotAClaimsObject),
        Err(_) => return Err(HookFailure::InvalidJson),
    };
    match answer.remove("claims") {
        Some(Value::Object(claims)) if answer.is_empty() => Ok(claims),
        _ => Err(HookFailure::NotAClaimsObject),
    }
}

/// Checks that `new` only adds claims: none protected, none already in `base` (the server's
/// claims) or `added` (earlier hooks'), and that the additions fit the budget. Returns the
/// bytes `new` takes.
pub(crate) fn admit(
    new: &Map<String, Value>,
    base: &Map<String, Value>,
    added: &Map<String, Value>,
    added_bytes: usize,
) -> Result<usize, HookFailure> {
    for name in new.keys() {
        if let Some(protected) = PROTECTED_CLAIMS.iter().find(|p| **p == name.as_str()) {
            return Err(HookFailure::ProtectedClaim((*protected).to_owned()));
        }
        if base.contains_key(name) || added.contains_key(name) {
            return Err(HookFailure::ProtectedClaim(name.clone()));
        }
    }
    let bytes = json_len(new);
    if added_bytes.saturating_add(bytes) > MAX_ADDED_CLAIMS_BYTES {
        return Err(HookFailure::ClaimsTooLarge);
    }
    Ok(bytes)
}

/// The length of `claims` as compact JSON.
fn json_len(claims: &Map<String, Value>) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.saturating_add(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, claims) {
        Ok(()) => count.0,
        // A map of JSON values always serializes; count it as over any budget if not.
        Err(_) => usize::MAX,
    }
}

/// The deepest nesting of `[` and `{` outside strings, read before any parsing so that a deep
/// answer costs a scan, never a deep parse.
fn nesting(body: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &b in body {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth = depth.saturating_add(1);
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn claims_object_is_read() {
        let claims = parse(br#"{"claims": {"tenant": "acme", "tier": ["gold"]}}"#).unwrap();
        assert_eq!(claims["tenant"], "acme");
        assert_eq!(parse(br#"{"claims": {}}"#).unwrap().len(), 0);
    }

    #[test]
    fn wrong_shapes_are_failures() {
        for body in [
            &br#"[]"#[..],
            br#""claims""#,
            br#"{"claims": []}"#,
            br#"{"claims": "x"}"#,
            br#"{"claims": null}"#,
            br#"{}"#,
            br#"{"claims": {}, "extra": 1}"#,
            br#"[{"claims": {}}]"#,
            br#"[{"tenant": "x"}]"#,
            br#"null"#,
            br#"7"#,
        ] {
            assert_eq!(
                parse(body).unwrap_err(),
                HookFailure::NotAClaimsObject,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        for body in [&b""[..], b"{", b"{\"claims\": {}} x", b"\xff", b"nul"] {
            assert_eq!(parse(body).unwrap_err(), HookFailure::InvalidJson);
        }
    }

    #[test]
    fn dos_2_nesting_is_bounded_before_parsing() {
        let ok = br#"{"claims": {"a": [[[[[[1]]]]]]}}"#;
        assert!(parse(ok).is_ok());
        let deep = br#"{"claims": {"a": [[[[[[[1]]]]]]]}}"#;
        assert_eq!(parse(deep).unwrap_err(), HookFailure::TooDeep);
        let huge = format!(r#"{{"claims": {{"a": {}}}}}"#, "[".repeat(100_000));
        assert_eq!(parse(huge.as_bytes()).unwrap_err(), HookFailure::TooDeep);
        // Brackets inside strings, escaped quotes included, do not count.
        let strings = br#"{"claims": {"a": "[[[[[[[[[[\"{{{{{{{{{{"}}"#;
        assert!(parse(strings).is_ok());
    }

    #[test]
    fn protected_and_present_claims_are_refused() {
        let base = map(json!({"sub": "u", "email": "a@b.example"}));
        let none = Map::new();
        for name in PROTECTED_CLAIMS {
            let new = map(json!({ name: "x" }));
            assert_eq!(
                admit(&new, &none, &none, 0).unwrap_err(),
                HookFailure::ProtectedClaim(name.to_owned())
            );
        }
        let email = map(json!({"email": "evil@example"}));
        assert_eq!(
            admit(&email, &base, &none, 0).unwrap_err(),
            HookFailure::ProtectedClaim("email".into())
        );
        let earlier = map(json!({"tenant": "acme"}));
        let again = map(json!({"tenant": "other"}));
        assert_eq!(
            admit(&again, &base, &earlier, 17).unwrap_err(),
            HookFailure::ProtectedClaim("tenant".into())
        );
        assert_eq!(admit(&earlier, &base, &none, 0).unwrap(), 17);
    }

    #[test]
    fn added_claims_fit_a_budget() {
        let none = Map::new();
        let big = map(json!({"blob": "x".repeat(MAX_ADDED_CLAIMS_BYTES)}));
        assert_eq!(
            admit(&big, &none, &none, 0).unwrap_err(),
            HookFailure::ClaimsTooLarge
        );
        let small = map(json!({"a": 1}));
        assert_eq!(
            admit(&small, &none, &none, MAX_ADDED_CLAIMS_BYTES - 6).unwrap_err(),
            HookFailure::ClaimsTooLarge
        );
        assert_eq!(
            admit(&small, &none, &none, MAX_ADDED_CLAIMS_BYTES - 7).unwrap(),
            7
        );
    }
}
