//! The token-exchange request (RFC 8693 §2.1) as parsed from the form: the subject and actor
//! tokens with their types, the targets, the scope and the requested token type.

use super::super::super::error::ProtocolError;
use super::super::super::params::Params;

/// A parsed token-exchange request (RFC 8693 §2.1). `Debug` leaves the tokens out.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ExchangeRequest {
    /// The token that represents the subject.
    pub subject_token: String,
    /// Its type identifier.
    pub subject_token_type: String,
    /// The token that represents the acting party, with its type.
    pub actor: Option<(String, String)>,
    /// `audience` (a logical name of the target service).
    pub audience: Option<String>,
    /// `resource` (an absolute URI of the target service).
    pub resource: Option<String>,
    /// Requested scope.
    pub scope: Option<String>,
    /// Requested token type.
    pub requested_token_type: Option<String>,
}

impl std::fmt::Debug for ExchangeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeRequest")
            .field("subject_token", &"<redacted>")
            .field("subject_token_type", &self.subject_token_type)
            .field(
                "actor",
                &self.actor.as_ref().map(|(_, kind)| ("<redacted>", kind)),
            )
            .field("audience", &self.audience)
            .field("resource", &self.resource)
            .field("scope", &self.scope)
            .field("requested_token_type", &self.requested_token_type)
            .finish()
    }
}

impl ExchangeRequest {
    /// Parses the request parameters; missing or inconsistent ones are `invalid_request`.
    pub(crate) fn parse(params: &Params) -> Result<Self, ProtocolError> {
        let get = |name: &str| params.get(name).map(str::to_owned);
        let subject_token = get("subject_token")
            .ok_or_else(|| ProtocolError::invalid_request("subject_token is required"))?;
        let subject_token_type = get("subject_token_type")
            .ok_or_else(|| ProtocolError::invalid_request("subject_token_type is required"))?;
        let actor = match (get("actor_token"), get("actor_token_type")) {
            (Some(token), Some(kind)) => Some((token, kind)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ProtocolError::invalid_request(
                    "actor_token_type is required with actor_token",
                ));
            }
            (None, Some(_)) => {
                return Err(ProtocolError::invalid_request(
                    "actor_token_type was sent without actor_token",
                ));
            }
        };
        Ok(Self {
            subject_token,
            subject_token_type,
            actor,
            audience: get("audience"),
            resource: get("resource"),
            scope: get("scope"),
            requested_token_type: get("requested_token_type"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_types::ErrorCode;

    #[test]
    fn parse_requires_subject_and_consistent_actor() {
        let ok = Params::parse(
            b"subject_token=t&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token&audience=payments-api",
        );
        let req = ExchangeRequest::parse(&ok).unwrap();
        assert_eq!(req.audience.as_deref(), Some("payments-api"));
        assert_eq!(req.actor, None);
        for bad in [
            &b"subject_token_type=x"[..],
            b"subject_token=t",
            b"subject_token=t&subject_token_type=x&actor_token=a",
            b"subject_token=t&subject_token_type=x&actor_token_type=y",
        ] {
            assert_eq!(
                ExchangeRequest::parse(&Params::parse(bad))
                    .unwrap_err()
                    .code(),
                ErrorCode::InvalidRequest
            );
        }
    }
}
