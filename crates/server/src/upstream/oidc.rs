//! An OpenID provider as upstream: discovery (the `issuer` must match exactly), the code flow
//! with PKCE S256, `state` and `nonce`, an ID token validated against the discovered JWKS, and
//! optionally userinfo. RFC 9207's `iss` response parameter is checked when the provider
//! advertises it.

use std::collections::BTreeMap;
use std::sync::Arc;

use portcullis_jose::{JwkSet, KeySet, Validator};
use serde::Deserialize;
use serde_json::Value;

use super::{Identity, UpstreamError, cache, callback_url};
use crate::state::AppState;
use crate::store::UpstreamRecord;

/// The scopes always asked for.
const BASE_SCOPES: [&str; 3] = ["openid", "email", "profile"];

/// Standard claims kept as user attributes.
const ATTRIBUTE_CLAIMS: [&str; 3] = ["given_name", "family_name", "locale"];

/// The discovery document fields used here.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Metadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

impl Metadata {
    /// Whether the client secret goes in the token request body: the provider lists
    /// `client_secret_post` and not `client_secret_basic` (absent, basic is the default).
    fn secret_in_body(&self) -> bool {
        self.token_endpoint_auth_methods_supported
            .as_ref()
            .is_some_and(|m| {
                m.iter().any(|x| x == "client_secret_post")
                    && !m.iter().any(|x| x == "client_secret_basic")
            })
    }
}

/// The provider's metadata, fetched at most once per [`cache::TTL_SECS`]; its `issuer` must
/// equal `issuer` exactly (ISS-2).
pub(super) async fn discover(
    state: &AppState,
    issuer: &str,
) -> Result<Arc<Metadata>, UpstreamError> {
    let docs = &state.upstream_docs.metadata;
    if let Some(meta) = docs.fresh(issuer, state.now(), cache::TTL_SECS) {
        return Ok(meta);
    }
    let meta = fetch_metadata(state, issuer).await?;
    Ok(docs.put(issuer, state.now(), meta))
}

/// Fetches the provider's metadata and checks its `issuer`.
async fn fetch_metadata(state: &AppState, issuer: &str) -> Result<Metadata, UpstreamError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let fetch = &state.upstream_http;
    let meta: Metadata = fetch
        .json(fetch.request(reqwest::Method::GET, &url)?)
        .await?;
    if meta.issuer != issuer {
        return Err(UpstreamError::Malformed(format!(
            "discovery names issuer {} instead of {issuer}",
            meta.issuer
        )));
    }
    Ok(meta)
}

/// The authorization URL of a code-flow request with PKCE S256, `state` and `nonce`.
pub(super) fn authorization_url(
    state: &AppState,
    upstream: &UpstreamRecord,
    meta: &Metadata,
    state_value: &str,
    nonce: &str,
    challenge: &str,
) -> Result<String, UpstreamError> {
    let mut url = super::fetch::allowed_url(&meta.authorization_endpoint)?;
    let scope: Vec<&str> = BASE_SCOPES
        .iter()
        .copied()
        .chain(upstream.scopes.iter().map(String::as_str))
        .collect();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &upstream.client_id)
        .append_pair("redirect_uri", &callback_url(state, upstream))
        .append_pair("scope", &scope.join(" "))
        .append_pair("state", state_value)
        .append_pair("nonce", nonce)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    Ok(url.into())
}

/// RFC 9207 §2.4: an `iss` present must equal the issuer; a provider that advertises the
/// parameter must send it.
pub(super) fn check_response_issuer(
    meta: &Metadata,
    iss: Option<&str>,
) -> Result<(), UpstreamError> {
    match iss {
        Some(iss) if iss == meta.issuer => Ok(()),
        Some(_) => Err(UpstreamError::Issuer),
        None if meta.authorization_response_iss_parameter_supported => Err(UpstreamError::Issuer),
        None => Ok(()),
    }
}

/// What redeeming a code needs.
pub(super) struct Redeem<'a> {
    pub code: &'a str,
    pub secret: &'a str,
    pub verifier: &'a str,
    pub nonce: &'a str,
    pub userinfo: bool,
    pub groups_claim: &'a str,
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// Exchanges the code, validates the ID token (signature by the discovered keys, `iss`, `aud`,
/// `azp`, `exp`, `nonce`) and reads the account from it, and from userinfo when configured.
pub(super) async fn redeem(
    state: &AppState,
    upstream: &UpstreamRecord,
    meta: &Metadata,
    r: Redeem<'_>,
) -> Result<Identity, UpstreamError> {
    let fetch = &state.upstream_http;
    let redirect_uri = callback_url(state, upstream);
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", r.code),
        ("redirect_uri", redirect_uri.as_str()),
        ("code_verifier", r.verifier),
    ];
    let request = fetch
        .request(reqwest::Method::POST, &meta.token_endpoint)?
        .header(reqwest::header::ACCEPT, "application/json");
    // `client_secret_basic` unless the provider lists only `client_secret_post` (RFC 8414 §2).
    let request = if meta.secret_in_body() {
        form.push(("client_id", upstream.client_id.as_str()));
        form.push(("client_secret", r.secret));
        request
    } else {
        request.basic_auth(
            form_urlencoded::byte_serialize(upstream.client_id.as_bytes()).collect::<String>(),
            Some(form_urlencoded::byte_serialize(r.secret.as_bytes()).collect::<String>()),
        )
    }
    .form(&form);
    let (status, body) = fetch.send(request).await?;
    let tokens: TokenResponse = serde_json::from_slice(&body)
        .map_err(|_| UpstreamError::TokenEndpoint(format!("HTTP {status}")))?;
    if let Some(error) = tokens.error {
        return Err(UpstreamError::TokenEndpoint(error));
    }
    if !status.is_success() {
        return Err(UpstreamError::TokenEndpoint(format!("HTTP {status}")));
    }
    let id_token = tokens
        .id_token
        .ok_or_else(|| UpstreamError::IdToken("the token response has no id_token".into()))?;
    let check = |keys: &KeySet| {
        validate_id_token(
            &id_token,
            keys,
            &meta.issuer,
            &upstream.client_id,
            r.nonce,
            state.clock.now(),
        )
    };
    let (subject, claims) = match keys(state, &meta.jwks_uri, false).await {
        Ok(cached) => match check(&cached) {
            // The provider may have rotated since the keys were fetched.
            Err(IdTokenError::UnknownKey) => check(&*keys(state, &meta.jwks_uri, true).await?),
            other => other,
        },
        Err(e) => return Err(e),
    }
    .map_err(IdTokenError::into_upstream)?;
    let mut claims = claims;
    if r.userinfo
        && let (Some(endpoint), Some(access_token)) =
            (&meta.userinfo_endpoint, tokens.access_token.as_deref())
    {
        let info: BTreeMap<String, Value> = fetch
            .json(
                fetch
                    .request(reqwest::Method::GET, endpoint)?
                    .bearer_auth(access_token)
                    .header(reqwest::header::ACCEPT, "application/json"),
            )
            .await?;
        // OIDC Core §5.3.2: a userinfo answer about another subject is not used at all.
        if info.get("sub").and_then(Value::as_str) != Some(subject.as_str()) {
            return Err(UpstreamError::Malformed(
                "userinfo describes another subject".into(),
            ));
        }
        for (k, v) in info {
            claims.entry(k).or_insert(v);
        }
    }
    Ok(identity(subject, &claims, r.groups_claim))
}

/// The provider's keys: the kept set while it is fresh, else fetched anew. With `refetch` (an ID
/// token named a key the kept set lacks), fetched anew unless that was done in the last
/// [`cache::REFETCH_SECS`].
async fn keys(
    state: &AppState,
    jwks_uri: &str,
    refetch: bool,
) -> Result<Arc<KeySet>, UpstreamError> {
    let docs = &state.upstream_docs.keys;
    let max_age = if refetch {
        cache::REFETCH_SECS
    } else {
        cache::TTL_SECS
    };
    if let Some(keys) = docs.fresh(jwks_uri, state.now(), max_age) {
        return Ok(keys);
    }
    let fetch = &state.upstream_http;
    let jwks: JwkSet = fetch
        .json(fetch.request(reqwest::Method::GET, jwks_uri)?)
        .await?;
    let keys = KeySet::from_jwks(&jwks).map_err(|e| UpstreamError::IdToken(e.to_string()))?;
    Ok(docs.put(jwks_uri, state.now(), keys))
}

/// Why an ID token was refused: signed by a key the set lacks, or anything else.
#[derive(Debug)]
enum IdTokenError {
    /// No key of the set matches the token's header.
    UnknownKey,
    /// Any other failure.
    Invalid(UpstreamError),
}

/// A refusal of the ID token for `reason`.
fn refused(reason: String) -> IdTokenError {
    IdTokenError::Invalid(UpstreamError::IdToken(reason))
}

impl IdTokenError {
    fn into_upstream(self) -> UpstreamError {
        match self {
            Self::UnknownKey => {
                UpstreamError::IdToken(portcullis_jose::Error::KeyNotFound.to_string())
            }
            Self::Invalid(e) => e,
        }
    }
}

/// Validates an ID token (OIDC Core §3.1.3.7): the signature by one of `keys` with the
/// algorithm the key fixes, `iss` exactly, `aud` containing `client_id`, `azp` (required with
/// several audiences, and this client when present), `exp`, and the `nonce` sent. Returns
/// `sub` and the claims.
fn validate_id_token(
    id_token: &str,
    keys: &KeySet,
    issuer: &str,
    client_id: &str,
    nonce: &str,
    now: portcullis_jose::UnixTime,
) -> Result<(String, BTreeMap<String, Value>), IdTokenError> {
    let validator = Validator::builder()
        .issuer(issuer)
        .audience(client_id)
        .typ_or_untyped("JWT")
        .build();
    let verified = validator
        .verify::<BTreeMap<String, Value>>(id_token, keys, now)
        .map_err(|e| match e {
            portcullis_jose::Error::KeyNotFound => IdTokenError::UnknownKey,
            other => refused(other.to_string()),
        })?;
    let (_, registered, claims) = verified.into_parts();
    let azp = claims.get("azp").and_then(Value::as_str);
    if registered.aud.iter().count() > 1 && azp.is_none() {
        return Err(refused("several audiences and no azp".into()));
    }
    if azp.is_some_and(|a| a != client_id) {
        return Err(refused("azp names another client".into()));
    }
    if claims.get("nonce").and_then(Value::as_str) != Some(nonce) {
        return Err(refused("nonce mismatch".into()));
    }
    let subject = registered
        .sub
        .filter(|s| !s.is_empty())
        .ok_or_else(|| refused("no sub".into()))?;
    Ok((subject, claims))
}

/// The account described by verified claims.
fn identity(subject: String, claims: &BTreeMap<String, Value>, groups_claim: &str) -> Identity {
    let text = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_owned);
    // An array of strings; a single string counts as one value.
    let strings = |k: &str| -> Vec<String> {
        match claims.get(k) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        }
    };
    Identity {
        subject,
        username: text("preferred_username"),
        email: text("email"),
        email_verified: claims.get("email_verified").and_then(Value::as_bool) == Some(true),
        name: text("name"),
        attributes: ATTRIBUTE_CLAIMS
            .iter()
            .filter_map(|k| text(k).map(|v| ((*k).to_owned(), v)))
            .collect(),
        groups: strings(groups_claim),
        amr: strings("amr"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(advertised: bool) -> Metadata {
        Metadata {
            issuer: "https://idp.example".into(),
            authorization_endpoint: "https://idp.example/authorize".into(),
            token_endpoint: "https://idp.example/token".into(),
            jwks_uri: "https://idp.example/jwks".into(),
            userinfo_endpoint: None,
            authorization_response_iss_parameter_supported: advertised,
            token_endpoint_auth_methods_supported: None,
        }
    }

    #[test]
    fn client_secret_goes_in_the_body_only_when_basic_is_not_offered() {
        let mut m = meta(false);
        assert!(!m.secret_in_body(), "basic is the default");
        m.token_endpoint_auth_methods_supported = Some(vec![
            "client_secret_post".into(),
            "client_secret_basic".into(),
        ]);
        assert!(!m.secret_in_body());
        m.token_endpoint_auth_methods_supported = Some(vec!["client_secret_post".into()]);
        assert!(m.secret_in_body());
    }

    #[test]
    fn iss_4_response_issuer_checked_per_rfc_9207() {
        assert!(check_response_issuer(&meta(true), Some("https://idp.example")).is_ok());
        assert!(check_response_issuer(&meta(true), None).is_err());
        assert!(check_response_issuer(&meta(true), Some("https://evil.example")).is_err());
        assert!(check_response_issuer(&meta(false), None).is_ok());
        assert!(check_response_issuer(&meta(false), Some("https://evil.example")).is_err());
    }

    use portcullis_jose::{Algorithm, SigningKey, UnixTime, jwt};

    const NOW: i64 = 1_800_000_000;

    fn signed(key: &SigningKey, claims: serde_json::Value) -> String {
        jwt::encode(key, "JWT", &claims).unwrap()
    }

    fn claims() -> serde_json::Value {
        serde_json::json!({
            "iss": "https://idp.example", "sub": "u-1", "aud": "portcullis",
            "exp": NOW + 300, "iat": NOW, "nonce": "n-1"
        })
    }

    fn check(key: &SigningKey, keys: &KeySet, claims: serde_json::Value) -> Result<String, String> {
        validate_id_token(
            &signed(key, claims),
            keys,
            "https://idp.example",
            "portcullis",
            "n-1",
            UnixTime(NOW),
        )
        .map(|(sub, _)| sub)
        .map_err(|e| e.into_upstream().to_string())
    }

    fn keys() -> (SigningKey, KeySet) {
        let key = SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .with_kid("k1");
        let mut set = KeySet::new();
        set.insert(key.verifying_key()).unwrap();
        (key, set)
    }

    #[test]
    fn id_token_of_the_upstream_is_accepted() {
        let (key, set) = keys();
        assert_eq!(check(&key, &set, claims()), Ok("u-1".to_owned()));
    }

    #[test]
    fn iss_4_id_token_from_another_issuer_is_refused() {
        let (key, set) = keys();
        let mut c = claims();
        c["iss"] = "https://evil.example".into();
        assert!(check(&key, &set, c).is_err());
    }

    #[test]
    fn id_token_with_a_wrong_nonce_is_refused() {
        let (key, set) = keys();
        let mut c = claims();
        c["nonce"] = "n-other".into();
        assert_eq!(
            check(&key, &set, c),
            Err("id token: nonce mismatch".to_owned())
        );
        let mut c = claims();
        c.as_object_mut().unwrap().remove("nonce");
        assert!(check(&key, &set, c).is_err());
    }

    #[test]
    fn id_token_for_another_client_or_expired_or_forged_is_refused() {
        let (key, set) = keys();
        let mut c = claims();
        c["aud"] = "someone-else".into();
        assert!(check(&key, &set, c).is_err());
        let mut c = claims();
        c["aud"] = serde_json::json!(["portcullis", "other"]);
        assert_eq!(
            check(&key, &set, c.clone()),
            Err("id token: several audiences and no azp".to_owned())
        );
        c["azp"] = "other".into();
        assert!(check(&key, &set, c.clone()).is_err());
        c["azp"] = "portcullis".into();
        assert!(check(&key, &set, c).is_ok());
        let mut c = claims();
        c["exp"] = (NOW - 600).into();
        assert!(check(&key, &set, c).is_err());
        let (other, _) = keys();
        assert!(
            check(&other, &set, claims()).is_err(),
            "signed by a key not in the JWKS"
        );
    }

    #[test]
    fn identity_reads_standard_claims_and_groups() {
        let claims: BTreeMap<String, Value> = serde_json::from_value(serde_json::json!({
            "email": "ada@example.com", "email_verified": "true", "name": "Ada",
            "given_name": "Ada", "roles": ["eng", 7], "amr": ["pwd", "otp"]
        }))
        .unwrap();
        let id = identity("s1".into(), &claims, "roles");
        assert_eq!(id.groups, vec!["eng"]);
        assert_eq!(id.amr, vec!["pwd", "otp"]);
        assert!(!id.email_verified, "only the JSON boolean true counts");
        assert_eq!(
            id.attributes.get("given_name").map(String::as_str),
            Some("Ada")
        );
    }
}
