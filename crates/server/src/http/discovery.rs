//! `/.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`: one
//! metadata document advertising only safe values (ISS-3) and the issuer exactly (ISS-2).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use portcullis_jose::Algorithm;
use portcullis_types::metadata::ProviderMetadata;
use portcullis_types::{CodeChallengeMethod, GrantType, ResponseType, TokenEndpointAuthMethod};

use crate::config::ServerConfig;
use crate::state::AppState;

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| (*s).to_owned()).collect()
}

fn names<T: AsRef<str>>(values: impl IntoIterator<Item = T>) -> Vec<String> {
    values.into_iter().map(|v| v.as_ref().to_owned()).collect()
}

/// Whether discovery advertises `grant`. The password grant works only for clients that opt in,
/// so it is not offered (ISS-3).
fn advertised(grant: GrantType) -> bool {
    match grant {
        GrantType::AuthorizationCode
        | GrantType::ClientCredentials
        | GrantType::RefreshToken
        | GrantType::DeviceCode
        | GrantType::TokenExchange => true,
        GrantType::Password => false,
    }
}

/// The metadata document for `config`.
pub(crate) fn metadata(config: &ServerConfig) -> ProviderMetadata {
    let auth_methods = names(TokenEndpointAuthMethod::iter());
    let confidential_methods =
        names(TokenEndpointAuthMethod::iter().filter(|m| m.is_confidential()));
    ProviderMetadata {
        issuer: config.issuer.clone(),
        authorization_endpoint: Some(config.endpoint("/authorize")),
        token_endpoint: Some(config.endpoint("/token")),
        jwks_uri: Some(config.endpoint("/.well-known/jwks.json")),
        userinfo_endpoint: Some(config.endpoint("/userinfo")),
        revocation_endpoint: Some(config.endpoint("/revoke")),
        introspection_endpoint: Some(config.endpoint("/introspect")),
        device_authorization_endpoint: Some(config.endpoint("/device_authorization")),
        end_session_endpoint: Some(config.endpoint("/logout")),
        scopes_supported: crate::domain::identity::scopes_supported(config),
        response_types_supported: names(ResponseType::iter()),
        response_modes_supported: strings(&["query"]),
        grant_types_supported: names(GrantType::iter().filter(|g| advertised(*g))),
        token_endpoint_auth_methods_supported: auth_methods.clone(),
        token_endpoint_auth_signing_alg_values_supported: Algorithm::ALL
            .iter()
            .filter(|a| !a.is_symmetric())
            .map(|a| a.as_str().to_owned())
            .collect(),
        revocation_endpoint_auth_methods_supported: auth_methods,
        introspection_endpoint_auth_methods_supported: confidential_methods,
        code_challenge_methods_supported: names(CodeChallengeMethod::iter()),
        subject_types_supported: strings(&["public"]),
        id_token_signing_alg_values_supported: config
            .signing_algs()
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect(),
        claims_supported: crate::domain::identity::claims_supported(config),
        prompt_values_supported: strings(&["none", "login", "consent"]),
        authorization_response_iss_parameter_supported: true,
        claims_parameter_supported: false,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
    }
}

/// Serves the metadata document.
pub(crate) async fn handler(State(state): State<Arc<AppState>>) -> Response {
    let mut response = Json(metadata(&state.config)).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
