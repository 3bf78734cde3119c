//! The exchanging client's policy: which targets (`audience`, `resource`) it may obtain tokens
//! for, from its registered `exchange_audiences`.

use portcullis_types::ErrorCode;

use super::super::super::error::ProtocolError;
use super::request::ExchangeRequest;
use crate::store::ClientRecord;

/// The requested targets, each checked against the client's `exchange_audiences`.
pub(super) fn targets(
    client: &ClientRecord,
    req: &ExchangeRequest,
) -> Result<Vec<String>, ProtocolError> {
    let requested: Vec<String> = req
        .audience
        .iter()
        .chain(req.resource.iter())
        .cloned()
        .collect();
    if requested.is_empty() {
        return Err(ProtocolError::invalid_request(
            "audience or resource is required",
        ));
    }
    for target in &requested {
        if !client.exchange_audiences.iter().any(|a| a == target) {
            return Err(ProtocolError::new(
                ErrorCode::InvalidTarget,
                "the client may not obtain tokens for this audience",
            ));
        }
    }
    let mut unique = Vec::with_capacity(requested.len());
    for t in requested {
        if !unique.contains(&t) {
            unique.push(t);
        }
    }
    Ok(unique)
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_types::Scope;
    use portcullis_types::token::token_type_uri;

    fn client(audiences: &[&str]) -> ClientRecord {
        ClientRecord {
            client_id: "orders-api".into(),
            secret_hash: None,
            token_endpoint_auth_method:
                portcullis_types::TokenEndpointAuthMethod::ClientSecretBasic,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![portcullis_types::GrantType::TokenExchange],
            scope: Scope::default(),
            audience: vec![],
            access_token_ttl: None,
            refresh_token_ttl: None,
            id_token_signed_response_alg: None,
            jwks: None,
            exchange_audiences: audiences.iter().map(|s| (*s).to_owned()).collect(),
            exchange_impersonation: false,
            name: None,
            roles: Vec::new(),
            token_roles: Default::default(),
            token_groups: Default::default(),
            refresh_grace_secs: 0,
            theme: None,
            previous_secret: None,
            created_at: 0,
        }
    }

    fn request(audience: Option<&str>, resource: Option<&str>) -> ExchangeRequest {
        ExchangeRequest {
            subject_token: "t".into(),
            subject_token_type: token_type_uri::ACCESS_TOKEN.into(),
            actor: None,
            audience: audience.map(str::to_owned),
            resource: resource.map(str::to_owned),
            scope: None,
            requested_token_type: None,
        }
    }

    #[test]
    fn targets_follow_the_client_policy() {
        let c = client(&["payments-api", "https://ledger.example"]);
        assert_eq!(
            targets(&c, &request(Some("payments-api"), None)).unwrap(),
            vec!["payments-api".to_owned()]
        );
        assert_eq!(
            targets(
                &c,
                &request(Some("payments-api"), Some("https://ledger.example"))
            )
            .unwrap()
            .len(),
            2
        );
        assert_eq!(
            targets(&c, &request(Some("admin-api"), None))
                .unwrap_err()
                .code(),
            ErrorCode::InvalidTarget
        );
        assert_eq!(
            targets(&client(&[]), &request(Some("payments-api"), None))
                .unwrap_err()
                .code(),
            ErrorCode::InvalidTarget
        );
        assert_eq!(
            targets(&c, &request(None, None)).unwrap_err().code(),
            ErrorCode::InvalidRequest
        );
    }
}
