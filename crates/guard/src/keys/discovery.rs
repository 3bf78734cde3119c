//! Issuer discovery: OpenID Connect Discovery first, RFC 8414 metadata as fallback; the
//! document's `issuer` must equal the configured issuer byte for byte (RS-5, ISS).

use super::fetch::{FetchError, Fetcher, acceptable_url};
use http::StatusCode;
use portcullis_types::metadata::ProviderMetadata;
use url::Url;

/// The metadata URLs to try for `issuer`, in order.
pub(crate) fn metadata_urls(issuer: &str) -> Vec<String> {
    let base = issuer.strip_suffix('/').unwrap_or(issuer);
    let mut urls = vec![format!("{base}/.well-known/openid-configuration")];
    if let Ok(parsed) = Url::parse(issuer) {
        // RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path.
        let path = parsed.path().trim_end_matches('/');
        let mut origin = parsed.clone();
        origin.set_path("");
        origin.set_query(None);
        origin.set_fragment(None);
        let origin = origin.as_str().trim_end_matches('/').to_owned();
        let rfc8414 = format!("{origin}/.well-known/oauth-authorization-server{path}");
        if !urls.contains(&rfc8414) {
            urls.push(rfc8414);
        }
    }
    urls
}

/// Fetches the issuer's metadata and returns its checked `jwks_uri`.
pub(crate) async fn discover_jwks_uri(
    fetcher: &Fetcher,
    issuer: &str,
    allow_http: bool,
) -> Result<String, FetchError> {
    let mut last = FetchError::Status(StatusCode::NOT_FOUND);
    for url in metadata_urls(issuer) {
        match fetcher.get(&url).await {
            Ok(fetched) => {
                let metadata: ProviderMetadata = serde_json::from_slice(&fetched.body)?;
                if metadata.issuer != issuer {
                    return Err(FetchError::IssuerMismatch);
                }
                let jwks_uri = metadata.jwks_uri.ok_or(FetchError::NoJwksUri)?;
                if !acceptable_url(&jwks_uri, allow_http) {
                    return Err(FetchError::BadUrl("jwks_uri"));
                }
                return Ok(jwks_uri);
            }
            Err(FetchError::Status(StatusCode::NOT_FOUND)) => {
                last = FetchError::Status(StatusCode::NOT_FOUND);
            }
            Err(other) => return Err(other),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_for_issuers_with_and_without_path() {
        assert_eq!(
            metadata_urls("https://as.example"),
            vec![
                "https://as.example/.well-known/openid-configuration".to_owned(),
                "https://as.example/.well-known/oauth-authorization-server".to_owned(),
            ]
        );
        assert_eq!(
            metadata_urls("https://as.example/tenant/"),
            vec![
                "https://as.example/tenant/.well-known/openid-configuration".to_owned(),
                "https://as.example/.well-known/oauth-authorization-server/tenant".to_owned(),
            ]
        );
    }
}
