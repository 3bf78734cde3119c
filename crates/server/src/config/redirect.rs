//! Redirect URI rules: what may be registered (RED-3, RED-4) and how a requested URI is matched
//! (RED-1 exact string comparison; RED-2 only the port of a loopback IP literal may vary).
//!
//! A registered redirect URI is absolute and is one of: `https` with a host; `http` with a
//! loopback host (`127.0.0.1`, `[::1]`, `localhost`), whatever the server's mode; or a
//! private-use scheme in reverse-DNS form, which contains a dot (RFC 8252 §7.1,
//! `com.example.app:/callback`). No wildcard in the host, no fragment, no userinfo.

use std::fmt;

use portcullis_types::RedirectUri;

/// Why a redirect URI cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RedirectUriError {
    /// Not an absolute URI.
    NotAbsolute,
    /// Carries a fragment (RED-4).
    Fragment,
    /// `javascript:`, `data:` or `vbscript:` in any case (RED-4).
    DangerousScheme,
    /// `http` for a host other than loopback (RED-3).
    InsecureHttp,
    /// Userinfo (`user@host`) is not allowed in a redirect URI.
    UserInfo,
    /// A `*` in the host: every host is registered exactly (RED-1).
    Wildcard,
    /// A scheme other than `http`/`https` without a dot, e.g. `localhost:3000/callback`, where
    /// `localhost` is read as the scheme (RFC 8252 §7.1 wants reverse-DNS private schemes).
    SchemeNotReverseDns,
}

impl fmt::Display for RedirectUriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAbsolute => {
                "redirect URI must be an absolute URI with a scheme and no spaces, \
                 e.g. https://app.example.com/callback"
            }
            Self::Fragment => {
                "redirect URI must not contain a fragment (`#...`), \
                 e.g. https://app.example.com/callback"
            }
            Self::DangerousScheme => {
                "redirect URI scheme is not allowed (javascript, data, vbscript, file), \
                 e.g. https://app.example.com/callback"
            }
            Self::InsecureHttp => {
                "http redirect URIs are allowed only for loopback hosts (127.0.0.1, [::1], \
                 localhost); use https, e.g. https://app.example.com/callback, or a loopback \
                 one, e.g. http://127.0.0.1:8080/callback"
            }
            Self::UserInfo => {
                "redirect URI must not contain user information (`user@`), \
                 e.g. https://app.example.com/callback"
            }
            Self::Wildcard => {
                "redirect URI host must not contain a wildcard `*`; register each URI exactly, \
                 e.g. https://app.example.com/callback"
            }
            Self::SchemeNotReverseDns => {
                "redirect URI scheme must be https, http for a loopback host, or a private-use \
                 scheme in reverse-DNS form with a dot (RFC 8252 §7.1), e.g. \
                 com.example.app:/callback; for a web address write the scheme, e.g. \
                 http://localhost:3000/callback"
            }
        })
    }
}

impl std::error::Error for RedirectUriError {}

const LOOPBACK_IP_PREFIXES: [&str; 2] = ["http://127.0.0.1", "http://[::1]"];

/// Checks a redirect URI at registration time.
pub(crate) fn validate_registration(uri: &str) -> Result<(), RedirectUriError> {
    if uri.contains('#') {
        return Err(RedirectUriError::Fragment);
    }
    let scheme_end = uri.find(':').ok_or(RedirectUriError::NotAbsolute)?;
    let scheme = uri
        .get(..scheme_end)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if scheme.is_empty()
        || !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return Err(RedirectUriError::NotAbsolute);
    }
    if matches!(scheme.as_str(), "javascript" | "data" | "vbscript" | "file") {
        return Err(RedirectUriError::DangerousScheme);
    }
    if uri
        .chars()
        .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
    {
        return Err(RedirectUriError::NotAbsolute);
    }
    // Checked on the raw text: a parser may refuse `*` in a host before we can name it.
    if authority(uri).is_some_and(|a| a.contains('*')) {
        return Err(RedirectUriError::Wildcard);
    }
    let parsed = url::Url::parse(uri).map_err(|_| RedirectUriError::NotAbsolute)?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(RedirectUriError::UserInfo);
    }
    match scheme.as_str() {
        "https" if parsed.host_str().is_none_or(str::is_empty) => {
            return Err(RedirectUriError::NotAbsolute);
        }
        "http" if !is_loopback(&parsed) => return Err(RedirectUriError::InsecureHttp),
        "http" => {}
        "https" => {}
        _ if !scheme.contains('.') => return Err(RedirectUriError::SchemeNotReverseDns),
        _ => {}
    }
    Ok(())
}

/// Whether `url`'s host is this machine: a loopback address or `localhost` (the parser has
/// already lower-cased the host of an `http`/`https` URL).
pub(crate) fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

/// The authority of a hierarchical URI (`scheme://authority/...`), as written.
fn authority(uri: &str) -> Option<&str> {
    let (_, rest) = uri.split_once("://")?;
    Some(rest.split(['/', '?']).next().unwrap_or(rest))
}

/// Splits a loopback IP-literal `http` URI into (prefix, rest after the optional port).
fn split_loopback(uri: &str) -> Option<(&'static str, Option<&str>, &str)> {
    for prefix in LOOPBACK_IP_PREFIXES {
        if let Some(after) = uri.strip_prefix(prefix) {
            if let Some(with_port) = after.strip_prefix(':') {
                let digits_end = with_port
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(with_port.len());
                let (port, rest) = with_port.split_at(digits_end);
                if port.is_empty() || port.len() > 5 || port.parse::<u16>().is_err() {
                    return None;
                }
                if !(rest.is_empty() || rest.starts_with('/') || rest.starts_with('?')) {
                    return None;
                }
                return Some((prefix, Some(port), rest));
            }
            if after.is_empty() || after.starts_with('/') || after.starts_with('?') {
                return Some((prefix, None, after));
            }
            return None;
        }
    }
    None
}

/// Whether `requested` matches `registered`: byte-for-byte equality, except that for a loopback
/// IP literal (`http://127.0.0.1`, `http://[::1]`) the port may differ (RFC 8252 §7.3).
pub(crate) fn matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    match (split_loopback(registered), split_loopback(requested)) {
        (Some((reg_prefix, _, reg_rest)), Some((req_prefix, _, req_rest))) => {
            reg_prefix == req_prefix && reg_rest == req_rest
        }
        _ => false,
    }
}

/// Picks the redirect URI of an authorization request: the requested one if it matches a
/// registered one, else the only registered one when none was requested (RED-5).
pub(crate) fn resolve<'a>(
    registered: &'a [RedirectUri],
    requested: Option<&'a str>,
) -> Option<&'a str> {
    match requested {
        Some(req) => registered
            .iter()
            .any(|r| matches(r.as_str(), req))
            .then_some(req),
        None => match registered {
            [only] => Some(only.as_str()),
            _ => None,
        },
    }
}

/// Appends response parameters to a redirect URI, keeping its registered query (RED-7).
pub(crate) fn append_params(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    let encoded = ser.finish();
    let sep = if redirect_uri.contains('?') {
        if redirect_uri.ends_with('?') || redirect_uri.ends_with('&') {
            ""
        } else {
            "&"
        }
    } else {
        "?"
    };
    format!("{redirect_uri}{sep}{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn red_1_exact_match_only() {
        let reg = "https://c.example/cb";
        assert!(matches(reg, "https://c.example/cb"));
        for bad in [
            "https://c.example/cb/",
            "https://c.example/CB",
            "https://C.example/cb",
            "https://c.example/cb?x=1",
            "https://c.example/cb#f",
            "https://c.example/cb/../cb",
            "https://c.example/%63b",
            "https://c.example.evil/cb",
            "https://c.example@evil/cb",
            "https://evil@c.example/cb",
            "https://c.example/cb;x",
            "https://c.example/..;/cb",
            "https://c.example:443/cb",
        ] {
            assert!(!matches(reg, bad), "{bad} must not match");
        }
    }

    #[test]
    fn red_2_loopback_port_may_vary() {
        let reg = "http://127.0.0.1/cb";
        assert!(matches(reg, "http://127.0.0.1:51234/cb"));
        assert!(matches(reg, "http://127.0.0.1/cb"));
        for bad in [
            "http://127.0.0.1:51234/cb?bar=foo",
            "http://127.0.0.1:5/other",
            "http://127.1/cb",
            "http://localhost.evil/cb",
            "http://127.0.0.1:99999/cb",
            "http://127.0.0.1:/cb",
            "http://127.0.0.1.evil/cb",
            "http://127.0.0.1:80@evil/cb",
        ] {
            assert!(!matches(reg, bad), "{bad} must not match");
        }
        assert!(matches("http://[::1]:8080/cb", "http://[::1]:9/cb"));
        assert!(!matches("http://[::1]/cb", "http://127.0.0.1/cb"));
        // A non-IP-literal host does not get the exception.
        assert!(!matches("http://localhost/cb", "http://localhost:8/cb"));
    }

    #[test]
    fn red_3_http_only_for_loopback() {
        assert_eq!(
            validate_registration("http://c.example/cb"),
            Err(RedirectUriError::InsecureHttp)
        );
        assert_eq!(validate_registration("http://[::1]/cb"), Ok(()));
        assert_eq!(validate_registration("http://127.0.0.1/cb"), Ok(()));
        assert_eq!(validate_registration("https://c.example/cb"), Ok(()));
        assert_eq!(validate_registration("com.example.app:/cb"), Ok(()));
    }

    #[test]
    fn red_4_fragment_and_dangerous_schemes_refused() {
        assert_eq!(
            validate_registration("https://c/cb#x"),
            Err(RedirectUriError::Fragment)
        );
        for bad in [
            "JavaScript:alert(1)",
            "data:text/html,x",
            "VBScript:x",
            "javascript:x",
        ] {
            assert_eq!(
                validate_registration(bad),
                Err(RedirectUriError::DangerousScheme),
                "{bad}"
            );
        }
        assert_eq!(
            validate_registration("/cb"),
            Err(RedirectUriError::NotAbsolute)
        );
        assert_eq!(
            validate_registration("https://u@c.example/cb"),
            Err(RedirectUriError::UserInfo)
        );
    }

    #[test]
    fn red_4_wildcards_refused() {
        for bad in [
            "https://*.example.com/cb",
            "https://app.*.example.com/cb",
            "http://*/cb",
            "https://*:443/cb",
        ] {
            assert_eq!(
                validate_registration(bad),
                Err(RedirectUriError::Wildcard),
                "{bad}"
            );
        }
    }

    #[test]
    fn red_3_private_schemes_need_reverse_dns_form() {
        for bad in [
            "localhost:3000/callback",
            "myapp:/callback",
            "myapp://callback",
            "app.example.com",
        ] {
            assert_eq!(
                validate_registration(bad),
                Err(if bad.contains(':') {
                    RedirectUriError::SchemeNotReverseDns
                } else {
                    RedirectUriError::NotAbsolute
                }),
                "{bad}"
            );
        }
        for good in [
            "com.example.app:/callback",
            "com.example.app:/oauth2redirect/example-provider",
            "http://localhost:3000/callback",
            "http://127.0.0.1:8080/callback",
            "https://app.example.com/callback?tenant=1",
        ] {
            assert_eq!(validate_registration(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn errors_show_a_valid_example() {
        for e in [
            RedirectUriError::NotAbsolute,
            RedirectUriError::Fragment,
            RedirectUriError::DangerousScheme,
            RedirectUriError::InsecureHttp,
            RedirectUriError::UserInfo,
            RedirectUriError::Wildcard,
            RedirectUriError::SchemeNotReverseDns,
        ] {
            assert!(e.to_string().contains("e.g. "), "{e}");
        }
    }

    #[test]
    fn red_5_missing_redirect_uri_needs_single_registration() {
        let one = vec![RedirectUri::new("https://a/cb")];
        let two = vec![
            RedirectUri::new("https://a/cb"),
            RedirectUri::new("https://a/cb2"),
        ];
        assert_eq!(resolve(&one, None), Some("https://a/cb"));
        assert_eq!(resolve(&two, None), None);
        assert_eq!(resolve(&two, Some("https://a/cb2")), Some("https://a/cb2"));
        assert_eq!(resolve(&two, Some("https://a/cb3")), None);
    }

    #[test]
    fn red_7_registered_query_preserved() {
        assert_eq!(
            append_params("https://c/cb?x=1", &[("code", "a b"), ("state", "s")]),
            "https://c/cb?x=1&code=a+b&state=s"
        );
        assert_eq!(
            append_params("https://c/cb", &[("code", "c")]),
            "https://c/cb?code=c"
        );
    }
}
