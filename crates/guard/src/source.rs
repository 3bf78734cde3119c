//! Finding the bearer token in a request: the `Authorization` header (scheme matched without
//! regard to case, RS-1), plus a cookie or query parameter only when configured; two at once is 400 (RS-2).

use http::{HeaderMap, Uri, header};

/// The ways a token may arrive, as configured.
#[derive(Debug, Clone, Default)]
pub(crate) struct TokenSources {
    pub(crate) query_parameter: Option<String>,
    pub(crate) cookie: Option<String>,
}

/// A malformed request (400 `invalid_request`), with a fixed description.
pub(crate) type Malformed = &'static str;

impl TokenSources {
    /// The token of the request, `None` when it carries none in any configured place.
    pub(crate) fn extract(
        &self,
        headers: &HeaderMap,
        uri: &Uri,
    ) -> Result<Option<String>, Malformed> {
        let mut found: Option<String> = None;
        let mut methods = 0usize;

        if let Some(token) = from_authorization(headers)? {
            methods += 1;
            found = Some(token);
        }
        if let Some(name) = &self.query_parameter
            && let Some(token) = from_query(uri, name)?
        {
            methods += 1;
            found = Some(token);
        }
        if let Some(name) = &self.cookie
            && let Some(token) = from_cookie(headers, name)?
        {
            methods += 1;
            found = Some(token);
        }
        if methods > 1 {
            return Err("more than one method was used to send the access token");
        }
        Ok(found)
    }
}

/// RFC 6750 §2.1: `Authorization: Bearer <b64token>`. Another scheme (`Basic`...) means "no
/// bearer token"; a `Bearer` header with a bad token is malformed.
fn from_authorization(headers: &HeaderMap) -> Result<Option<String>, Malformed> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("the Authorization header appears more than once");
    }
    let Ok(value) = value.to_str() else {
        return Err("the Authorization header is not visible ASCII");
    };
    let (scheme, rest) = match value.split_once(' ') {
        Some((scheme, rest)) => (scheme, rest),
        None => (value, ""),
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    let token = rest.trim_start_matches(' ');
    if !is_b64token(token) {
        return Err("the Bearer credentials are not a single b64token");
    }
    Ok(Some(token.to_owned()))
}

/// The named query parameter; present but empty or repeated is malformed.
fn from_query(uri: &Uri, name: &str) -> Result<Option<String>, Malformed> {
    let Some(query) = uri.query() else {
        return Ok(None);
    };
    let mut found = None;
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if key != name {
            continue;
        }
        if found.is_some() {
            return Err("the access token query parameter appears more than once");
        }
        if !is_b64token(&value) {
            return Err("the access token query parameter is not a b64token");
        }
        found = Some(value.into_owned());
    }
    Ok(found)
}

/// The named cookie; present but empty or repeated is malformed.
fn from_cookie(headers: &HeaderMap, name: &str) -> Result<Option<String>, Malformed> {
    let mut found = None;
    for value in headers.get_all(header::COOKIE) {
        let Ok(value) = value.to_str() else {
            continue;
        };
        for pair in value.split(';') {
            let Some((key, cookie)) = pair.trim().split_once('=') else {
                continue;
            };
            if key != name {
                continue;
            }
            if found.is_some() {
                return Err("the access token cookie appears more than once");
            }
            let cookie = cookie.trim_matches('"');
            if !is_b64token(cookie) {
                return Err("the access token cookie is not a b64token");
            }
            found = Some(cookie.to_owned());
        }
    }
    Ok(found)
}

/// RFC 6750 §2.1 `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn rs_1_scheme_is_case_insensitive() {
        let sources = TokenSources::default();
        for value in [
            "Bearer abc.def.ghi",
            "bearer abc.def.ghi",
            "BEARER  abc.def.ghi",
        ] {
            let mut map = HeaderMap::new();
            map.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            assert_eq!(
                sources.extract(&map, &uri("/")).unwrap().as_deref(),
                Some("abc.def.ghi"),
                "{value}"
            );
        }
    }

    #[test]
    fn rs_1_query_parameter_is_ignored_unless_configured() {
        let sources = TokenSources::default();
        assert_eq!(
            sources
                .extract(&HeaderMap::new(), &uri("/x?access_token=abc"))
                .unwrap(),
            None
        );
        let sources = TokenSources {
            query_parameter: Some("access_token".into()),
            cookie: None,
        };
        assert_eq!(
            sources
                .extract(&HeaderMap::new(), &uri("/x?access_token=abc"))
                .unwrap()
                .as_deref(),
            Some("abc")
        );
    }

    #[test]
    fn rs_1_cookie_only_when_configured() {
        let map = headers(&[("cookie", "a=1; at=tok.en.x; b=2")]);
        assert_eq!(
            TokenSources::default().extract(&map, &uri("/")).unwrap(),
            None
        );
        let sources = TokenSources {
            query_parameter: None,
            cookie: Some("at".into()),
        };
        assert_eq!(
            sources.extract(&map, &uri("/")).unwrap().as_deref(),
            Some("tok.en.x")
        );
    }

    #[test]
    fn rs_2_two_methods_are_refused() {
        let sources = TokenSources {
            query_parameter: Some("access_token".into()),
            cookie: Some("at".into()),
        };
        let map = headers(&[("authorization", "Bearer a.b.c")]);
        assert!(sources.extract(&map, &uri("/?access_token=a.b.c")).is_err());
        let map = headers(&[("authorization", "Bearer a.b.c"), ("cookie", "at=a.b.c")]);
        assert!(sources.extract(&map, &uri("/")).is_err());
        let map = headers(&[("authorization", "Bearer a"), ("authorization", "Bearer b")]);
        assert!(sources.extract(&map, &uri("/")).is_err());
        assert!(
            sources
                .extract(&HeaderMap::new(), &uri("/?access_token=a&access_token=b"))
                .is_err()
        );
    }

    #[test]
    fn malformed_bearer_credentials_are_refused() {
        let sources = TokenSources::default();
        for value in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer a,b",
            "Bearer ===",
            "Bearer a\"b",
        ] {
            let map = headers(&[("authorization", value)]);
            assert!(sources.extract(&map, &uri("/")).is_err(), "{value}");
        }
    }

    #[test]
    fn other_schemes_mean_no_token() {
        let map = headers(&[("authorization", "Basic dXNlcjpwYXNz")]);
        assert_eq!(
            TokenSources::default().extract(&map, &uri("/")).unwrap(),
            None
        );
    }
}
