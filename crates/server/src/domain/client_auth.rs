//! Client authentication at the back-channel endpoints: extracting exactly one method from the
//! request (TOK-4) and checking it against the registered client (TOK-5, TOK-6).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use portcullis_types::ClientSecret;

use super::error::ProtocolError;
use super::params::Params;

/// The RFC 7523 assertion type.
pub(crate) const JWT_BEARER_ASSERTION: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Registered authentication method names.
pub(crate) mod method {
    use portcullis_types::TokenEndpointAuthMethod;

    /// HTTP Basic with the form-urlencoded id and secret.
    pub(crate) const SECRET_BASIC: &str = TokenEndpointAuthMethod::ClientSecretBasic.as_str();
    /// Id and secret in the form body.
    pub(crate) const SECRET_POST: &str = TokenEndpointAuthMethod::ClientSecretPost.as_str();
    /// RFC 7523 JWT assertion signed with the client's key.
    pub(crate) const PRIVATE_KEY_JWT: &str = TokenEndpointAuthMethod::PrivateKeyJwt.as_str();
    /// Public client: the id alone.
    pub(crate) const NONE: &str = TokenEndpointAuthMethod::None.as_str();
}

/// The credentials a request presented, exactly one method. `Debug` shows the method and client
/// id only: secrets are redacted newtypes and the assertion is left out.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum PresentedCredentials {
    /// `Authorization: Basic`.
    Basic {
        /// Client id.
        client_id: String,
        /// Client secret.
        secret: ClientSecret,
    },
    /// `client_id` and `client_secret` in the body.
    Post {
        /// Client id.
        client_id: String,
        /// Client secret.
        secret: ClientSecret,
    },
    /// `client_assertion` (RFC 7523).
    Jwt {
        /// The body's `client_id`, if sent (must equal the assertion's `sub`).
        client_id: Option<String>,
        /// The assertion.
        assertion: String,
    },
    /// A public client identifying itself.
    None {
        /// Client id.
        client_id: String,
    },
}

impl std::fmt::Debug for PresentedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Basic { client_id, secret } => f
                .debug_struct("Basic")
                .field("client_id", client_id)
                .field("secret", secret)
                .finish(),
            Self::Post { client_id, secret } => f
                .debug_struct("Post")
                .field("client_id", client_id)
                .field("secret", secret)
                .finish(),
            Self::Jwt { client_id, .. } => f
                .debug_struct("Jwt")
                .field("client_id", client_id)
                .field("assertion", &"<redacted>")
                .finish(),
            Self::None { client_id } => f
                .debug_struct("None")
                .field("client_id", client_id)
                .finish(),
        }
    }
}

impl PresentedCredentials {
    /// Whether the `Authorization` header was used (so errors carry `WWW-Authenticate`).
    pub(crate) fn used_header(&self) -> bool {
        matches!(self, Self::Basic { .. })
    }

    /// The method name.
    pub(crate) fn method(&self) -> &'static str {
        match self {
            Self::Basic { .. } => method::SECRET_BASIC,
            Self::Post { .. } => method::SECRET_POST,
            Self::Jwt { .. } => method::PRIVATE_KEY_JWT,
            Self::None { .. } => method::NONE,
        }
    }
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
fn form_decode(input: &str) -> Option<String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = input.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Parses `Authorization: Basic` per RFC 6749 §2.3.1: base64 of
/// `urlencode(client_id) ":" urlencode(secret)`.
fn parse_basic(value: &str) -> Result<(String, ClientSecret), ProtocolError> {
    let bad =
        || ProtocolError::invalid_client("malformed Basic credentials").with_header_auth(true);
    let decoded = STANDARD.decode(value.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let id = form_decode(id).ok_or_else(bad)?;
    let secret = form_decode(secret).ok_or_else(bad)?;
    if id.is_empty() {
        return Err(bad());
    }
    Ok((id, ClientSecret::new(secret)))
}

/// Extracts the credentials of a back-channel request. More than one method → `invalid_request`
/// (TOK-4); none at all → `invalid_client`.
pub(crate) fn extract(
    authorization: Option<&str>,
    params: &Params,
) -> Result<PresentedCredentials, ProtocolError> {
    for name in [
        "client_id",
        "client_secret",
        "client_assertion",
        "client_assertion_type",
    ] {
        if params.is_duplicated(name) {
            return Err(ProtocolError::invalid_request("duplicate client parameter"));
        }
    }
    let basic = authorization.and_then(|h| {
        let (scheme, rest) = h.split_once(' ')?;
        scheme.eq_ignore_ascii_case("basic").then_some(rest)
    });
    let body_secret = params.get("client_secret");
    let assertion = params.get("client_assertion");
    let body_id = params.get("client_id");

    if let Some(value) = basic {
        if body_secret.is_some() || assertion.is_some() {
            return Err(ProtocolError::invalid_request(
                "more than one client authentication method",
            ));
        }
        let (client_id, secret) = parse_basic(value)?;
        if body_id.is_some_and(|b| b != client_id) {
            return Err(ProtocolError::invalid_request(
                "client_id does not match credentials",
            ));
        }
        return Ok(PresentedCredentials::Basic { client_id, secret });
    }
    if let Some(assertion) = assertion {
        if body_secret.is_some() {
            return Err(ProtocolError::invalid_request(
                "more than one client authentication method",
            ));
        }
        if params.get("client_assertion_type") != Some(JWT_BEARER_ASSERTION) {
            return Err(ProtocolError::invalid_client(
                "unsupported client_assertion_type",
            ));
        }
        return Ok(PresentedCredentials::Jwt {
            client_id: body_id.map(str::to_owned),
            assertion: assertion.to_owned(),
        });
    }
    match (body_id, body_secret) {
        (Some(id), Some(secret)) => Ok(PresentedCredentials::Post {
            client_id: id.to_owned(),
            secret: ClientSecret::new(secret),
        }),
        (Some(id), None) => Ok(PresentedCredentials::None {
            client_id: id.to_owned(),
        }),
        (None, _) => Err(ProtocolError::invalid_client(
            "client authentication required",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_types::ErrorCode;

    fn basic(id: &str, secret: &str) -> String {
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
        )
    }

    #[test]
    fn tok_5_basic_credentials_are_form_urlencoded() {
        let header = basic("my client", "se:cr%et+");
        let creds = extract(Some(&header), &Params::default()).unwrap();
        match creds {
            PresentedCredentials::Basic { client_id, secret } => {
                assert_eq!(client_id, "my client");
                assert_eq!(secret.secret(), "se:cr%et+");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn tok_5_malformed_basic_is_invalid_client_with_header_flag() {
        let err = extract(Some("Basic !!!"), &Params::default()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidClient);
        assert!(err.header_auth());
        let no_colon = format!("Basic {}", STANDARD.encode("abc"));
        assert!(extract(Some(&no_colon), &Params::default()).is_err());
        let bad_pct = format!("Basic {}", STANDARD.encode("a:%zz"));
        assert!(extract(Some(&bad_pct), &Params::default()).is_err());
    }

    #[test]
    fn tok_4_two_methods_rejected() {
        let header = basic("c", "s");
        let params = Params::parse(b"client_id=c&client_secret=s");
        let err = extract(Some(&header), &params).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest);

        let params = Params::parse(
            b"client_id=c&client_secret=s&client_assertion=x&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer",
        );
        let err = extract(None, &params).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest);
    }

    #[test]
    fn body_methods() {
        let p = Params::parse(b"client_id=c&client_secret=s");
        assert_eq!(extract(None, &p).unwrap().method(), method::SECRET_POST);
        let p = Params::parse(b"client_id=c");
        assert_eq!(extract(None, &p).unwrap().method(), method::NONE);
        let p = Params::parse(b"grant_type=x");
        assert_eq!(
            extract(None, &p).unwrap_err().code(),
            ErrorCode::InvalidClient
        );
        let p = Params::parse(b"client_id=c&client_id=d");
        assert_eq!(
            extract(None, &p).unwrap_err().code(),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn basic_with_mismatching_body_id_rejected() {
        let header = basic("c", "s");
        let p = Params::parse(b"client_id=other");
        assert_eq!(
            extract(Some(&header), &p).unwrap_err().code(),
            ErrorCode::InvalidRequest
        );
        let p = Params::parse(b"client_id=c");
        assert!(extract(Some(&header), &p).is_ok());
    }
}
