//! The request span of the tracing layer: method, path and a query whose secret-bearing
//! parameters (codes, hints, `state`, credentials) read `[redacted]`, at every level (KEY-4).

use axum::http::{Request, Uri};
use tower_http::trace::MakeSpan;
use tracing::Span;

/// Query parameters whose values never reach a log.
const SECRET_PARAMS: &[&str] = &[
    "access_token",
    "actor_token",
    "assertion",
    "client_assertion",
    "client_secret",
    "code",
    "code_verifier",
    "device_code",
    "email",
    "id_token",
    "id_token_hint",
    "login_hint",
    "password",
    "refresh_token",
    "request",
    "state",
    "subject_token",
    "token",
    "user_code",
];

/// Makes the `request` span with the redacted URI.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RedactedSpan;

impl<B> MakeSpan<B> for RedactedSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        tracing::debug_span!(
            "request",
            method = %request.method(),
            uri = %redacted_uri(request.uri()),
            version = ?request.version(),
        )
    }
}

/// The path and query of `uri`, each secret parameter's value replaced by `[redacted]`; the
/// other parameters are kept as sent.
pub(crate) fn redacted_uri(uri: &Uri) -> String {
    let Some(query) = uri.query() else {
        return uri.path().to_owned();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| {
            let raw_name = pair.split('=').next().unwrap_or_default();
            let secret = form_urlencoded::parse(raw_name.as_bytes())
                .next()
                .is_some_and(|(name, _)| SECRET_PARAMS.contains(&name.as_ref()));
            if secret {
                format!("{raw_name}=[redacted]")
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!("{}?{}", uri.path(), pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_4_secret_query_values_are_redacted() {
        let uri: Uri =
            "/authorize?client_id=web&state=s3cr3t&co%64e=abc&login_hint=a%40b&scope=openid"
                .parse()
                .unwrap();
        assert_eq!(
            redacted_uri(&uri),
            "/authorize?client_id=web&state=[redacted]&co%64e=[redacted]&login_hint=[redacted]&scope=openid"
        );
        assert_eq!(redacted_uri(&"/token".parse().unwrap()), "/token");
        let reset: Uri = "/password/reset?token=t0k3n&error=short".parse().unwrap();
        assert_eq!(
            redacted_uri(&reset),
            "/password/reset?token=[redacted]&error=short"
        );
        let sign_up: Uri = "/register?username=ada&email=ada%40example.com&error=taken"
            .parse()
            .unwrap();
        assert_eq!(
            redacted_uri(&sign_up),
            "/register?username=ada&email=[redacted]&error=taken"
        );
    }
}
