//! GitHub as upstream: plain OAuth 2.0 (no ID token) and the REST API. The account is
//! `GET /user`; the e-mail address is the primary one of `GET /user/emails`, used only when
//! verified; teams (`GET /user/teams`, scope `read:org`) become `org/team-slug` groups; with
//! allowed organisations, only their members (`GET /user/orgs`) may sign in.
//! GitHub Enterprise Server is `{base}/login/oauth/…` and `{base}/api/v3/…`.

use serde::Deserialize;

use super::{Identity, UpstreamError, callback_url};
use crate::state::AppState;
use crate::store::UpstreamRecord;

/// Where github.com serves the OAuth pages.
const GITHUB_WEB: &str = "https://github.com";
/// Where github.com serves the REST API.
const GITHUB_API: &str = "https://api.github.com";
/// Teams per page of `GET /user/teams` (GitHub's largest page).
const TEAM_PAGE: usize = 100;
/// The most pages of teams read (10,000 teams).
const MAX_TEAM_PAGES: usize = 100;
/// The media type the REST API documents.
const API_ACCEPT: &str = "application/vnd.github+json";

/// The web and API bases of a GitHub: github.com, or an Enterprise Server at `base`.
fn bases(base: Option<&str>) -> (String, String) {
    match base {
        Some(b) => {
            let b = b.trim_end_matches('/');
            (b.to_owned(), format!("{b}/api/v3"))
        }
        None => (GITHUB_WEB.to_owned(), GITHUB_API.to_owned()),
    }
}

/// The scopes asked for: the user and their addresses, and organisations when teams are
/// mapped to groups or membership decides who may sign in.
fn scopes(upstream: &UpstreamRecord, reads_orgs: bool) -> String {
    let mut scopes = vec!["read:user", "user:email"];
    if !upstream.groups.is_empty() || reads_orgs {
        scopes.push("read:org");
    }
    scopes.extend(upstream.scopes.iter().map(String::as_str));
    scopes.join(" ")
}

/// The authorization URL (`/login/oauth/authorize`) with `state` and PKCE S256.
pub(super) fn authorization_url(
    state: &AppState,
    upstream: &UpstreamRecord,
    base: Option<&str>,
    reads_orgs: bool,
    state_value: &str,
    challenge: &str,
) -> Result<String, UpstreamError> {
    let (web, _) = bases(base);
    let mut url = super::fetch::allowed_url(&format!("{web}/login/oauth/authorize"))?;
    url.query_pairs_mut()
        .append_pair("client_id", &upstream.client_id)
        .append_pair("redirect_uri", &callback_url(state, upstream))
        .append_pair("scope", &scopes(upstream, reads_orgs))
        .append_pair("state", state_value)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("allow_signup", "false");
    Ok(url.into())
}

/// `POST /login/oauth/access_token` answers 200 both with a token and with an error.
#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// `GET /user`.
#[derive(Deserialize)]
struct User {
    id: u64,
    login: String,
    #[serde(default)]
    name: Option<String>,
}

/// One entry of `GET /user/emails`.
#[derive(Deserialize)]
struct Email {
    email: String,
    primary: bool,
    verified: bool,
}

/// One entry of `GET /user/teams`.
#[derive(Deserialize)]
struct Team {
    slug: String,
    organization: Organization,
}

#[derive(Deserialize)]
struct Organization {
    login: String,
}

/// Where a GitHub upstream lives and who may sign in through it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Site<'a> {
    /// An Enterprise Server's base URL; `None` for github.com.
    pub base: Option<&'a str>,
    /// Organisations whose members may sign in; empty: everyone.
    pub allowed_orgs: &'a [String],
}

/// One entry of `GET /user/orgs`.
#[derive(Deserialize)]
struct Org {
    login: String,
}

/// Exchanges the code and reads the account; refuses one in none of `site.allowed_orgs`.
pub(super) async fn redeem(
    state: &AppState,
    upstream: &UpstreamRecord,
    site: Site<'_>,
    code: &str,
    secret: &str,
    verifier: &str,
) -> Result<Identity, UpstreamError> {
    let fetch = &state.upstream_http;
    let (web, api) = bases(site.base);
    let redirect_uri = callback_url(state, upstream);
    let request = fetch
        .request(
            reqwest::Method::POST,
            &format!("{web}/login/oauth/access_token"),
        )?
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&[
            ("client_id", upstream.client_id.as_str()),
            ("client_secret", secret),
            ("code", code),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", verifier),
        ]);
    let (status, body) = fetch.send(request).await?;
    let tokens: TokenResponse = serde_json::from_slice(&body)
        .map_err(|_| UpstreamError::TokenEndpoint(format!("HTTP {status}")))?;
    if let Some(error) = tokens.error {
        return Err(UpstreamError::TokenEndpoint(error));
    }
    let token = match tokens.access_token {
        Some(t) if status.is_success() && !t.is_empty() => t,
        _ => return Err(UpstreamError::TokenEndpoint(format!("HTTP {status}"))),
    };
    let get = |path: &str| {
        fetch
            .request(reqwest::Method::GET, &format!("{api}{path}"))
            .map(|r| {
                r.bearer_auth(&token)
                    .header(reqwest::header::ACCEPT, API_ACCEPT)
                    .header("X-GitHub-Api-Version", "2022-11-28")
            })
    };
    let user: User = fetch.json(get("/user")?).await?;
    if !site.allowed_orgs.is_empty() {
        // The organisations come in pages like the teams; stop at the first allowed one.
        let mut allowed = false;
        for page in 1..=MAX_TEAM_PAGES {
            let orgs: Vec<Org> = fetch
                .json(get(&format!(
                    "/user/orgs?per_page={TEAM_PAGE}&page={page}"
                ))?)
                .await?;
            let last = orgs.len() < TEAM_PAGE;
            if orgs.iter().any(|o| {
                site.allowed_orgs
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(&o.login))
            }) {
                allowed = true;
                break;
            }
            if last {
                break;
            }
        }
        if !allowed {
            return Err(UpstreamError::NotAllowed);
        }
    }
    let emails: Vec<Email> = fetch.json(get("/user/emails?per_page=100")?).await?;
    let primary = emails.into_iter().find(|e| e.primary);
    let mut groups = Vec::new();
    if !upstream.groups.is_empty() {
        // The teams come in pages of at most 100; a short page is the last.
        for page in 1..=MAX_TEAM_PAGES {
            let teams: Vec<Team> = fetch
                .json(get(&format!(
                    "/user/teams?per_page={TEAM_PAGE}&page={page}"
                ))?)
                .await?;
            let last = teams.len() < TEAM_PAGE;
            groups.extend(
                teams
                    .into_iter()
                    .map(|t| format!("{}/{}", t.organization.login, t.slug)),
            );
            if last {
                break;
            }
        }
    }
    Ok(Identity {
        subject: user.id.to_string(),
        username: Some(user.login),
        email_verified: primary.as_ref().is_some_and(|e| e.verified),
        email: primary.map(|e| e.email),
        name: user.name,
        groups,
        ..Identity::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enterprise_server_layout() {
        assert_eq!(
            bases(Some("https://ghe.example/")),
            (
                "https://ghe.example".to_owned(),
                "https://ghe.example/api/v3".to_owned()
            )
        );
        assert_eq!(bases(None), (GITHUB_WEB.to_owned(), GITHUB_API.to_owned()));
    }
}
