//! `/.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`: one
//! metadata document advertising only safe values (ISS-3) and the issuer exactly (ISS-2).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use portcullis_types::metadata::ProviderMetadata;

use crate::config::ServerConfig;
use crate::state::AppState;

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| (*s).to_owned()).collect()
}

/// The metadata document for `config`.
pub fn metadata(config: &ServerConfig) -> ProviderMetadata {
    let auth_methods = strings(&[
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ]);
    let confidential_methods = strings(&[
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ]);
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
        scopes_supported: strings(&["openid", "profile", "email"]),
        response_types_supported: strings(&["code"]),
        response_modes_supported: strings(&["query"]),
        grant_types_supported: strings(&[
            "authorization_code",
            "client_credentials",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ]),
        token_endpoint_auth_methods_supported: auth_methods.clone(),
        token_endpoint_auth_signing_alg_values_supported: strings(&[
            "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
        ]),
        revocation_endpoint_auth_methods_supported: auth_methods,
        introspection_endpoint_auth_methods_supported: confidential_methods,
        code_challenge_methods_supported: strings(&["S256"]),
        subject_types_supported: strings(&["public"]),
        id_token_signing_alg_values_supported: config
            .signing_algs()
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect(),
        claims_supported: strings(&[
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "sid",
            "at_hash",
            "name",
            "preferred_username",
            "email",
            "email_verified",
        ]),
        prompt_values_supported: strings(&["none", "login", "consent"]),
        authorization_response_iss_parameter_supported: true,
        claims_parameter_supported: false,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
    }
}

/// Serves the metadata document.
pub async fn handler(State(state): State<Arc<AppState>>) -> Response {
    let mut response = Json(metadata(&state.config)).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
