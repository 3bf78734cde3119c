//! Entry points for the fuzz targets in `fuzz/`, hidden from the documentation: they are not a
//! supported API and may change in any release. Use [`crate::Guard`] instead.

use http::{HeaderMap, Uri};

use crate::source::TokenSources;

/// Finds the access token of a request exactly as a guard would: the `Authorization: Bearer`
/// header, plus the named query parameter and cookie when given (`None` means not configured).
///
/// `Ok(None)` when the request carries no token; `Err` with the fixed description of the 400
/// `invalid_request` answer when it carries a malformed one or more than one.
///
/// # Errors
/// A malformed `Authorization` header, cookie or query parameter, or two methods at once.
pub fn extract_token(
    headers: &HeaderMap,
    uri: &Uri,
    query_parameter: Option<&str>,
    cookie: Option<&str>,
) -> Result<Option<String>, &'static str> {
    TokenSources {
        query_parameter: query_parameter.map(str::to_owned),
        cookie: cookie.map(str::to_owned),
    }
    .extract(headers, uri)
}
