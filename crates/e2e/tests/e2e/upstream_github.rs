//! Signing in with GitHub, against the stand-in of `github_standin` laid out like GitHub
//! Enterprise Server: teams become groups (and, through them, roles), the primary address is
//! used only when GitHub verified it, and a refused code is a refused sign-in.

use crate::common::*;
use crate::github_standin::{Account, CLIENT_ID, CLIENT_SECRET, Email, GitHub};
use portcullis_server::admin::NewUpstream;
use portcullis_server::store::{UpstreamId, UpstreamKind};
use portcullis_testkit::{
    Browser, CodeRequest, CodeResponse, Consent, Outcome, TestServer, TestServerBuilder, Tokens,
    decode_jwt_parts,
};
use portcullis_types::{ClientSecret, GroupName};
use serde_json::json;
use url::Url;

/// Starts a server whose `github` upstream is a stand-in signing in `account`; the
/// `payments` group (role `payments:approve`) is given to members of team `acme/payments`.
async fn setup(account: Account, trust_email: bool) -> (Env, GitHub) {
    setup_with(TestServer::builder(), account, trust_email, false).await
}

/// [`setup`] on a server built by `builder`, the upstream marked `only` when asked.
async fn setup_with(
    builder: TestServerBuilder,
    account: Account,
    trust_email: bool,
    only: bool,
) -> (Env, GitHub) {
    let env = Env::start_with(builder).await;
    let github = GitHub::start(account).await;
    env.group_with_role_visible_to_web("payments", "payments:approve", "openid profile email")
        .await;
    add_github(&env, "github", &github, trust_email, only).await;
    (env, github)
}

/// Registers the stand-in `github` at `env` as upstream `id`.
async fn add_github(env: &Env, id: &str, github: &GitHub, trust_email: bool, only: bool) {
    add_github_for(env, id, github, trust_email, only, &[]).await;
}

/// [`add_github`], only members of `allowed_orgs` (when any) may sign in.
async fn add_github_for(
    env: &Env,
    id: &str,
    github: &GitHub,
    trust_email: bool,
    only: bool,
    allowed_orgs: &[&str],
) {
    env.put_upstream(NewUpstream {
        id: UpstreamId::parse(id).unwrap(),
        kind: UpstreamKind::Github {
            base_url: Some(github.base_url()),
            allowed_orgs: allowed_orgs.iter().map(|o| (*o).to_owned()).collect(),
        },
        display_name: Some("GitHub".into()),
        client_id: CLIENT_ID.into(),
        client_secret: ClientSecret::new(CLIENT_SECRET),
        scopes: Vec::new(),
        trust_email,
        only,
        groups: [
            ("acme/payments", "payments"),
            // Mapped to a group that does not exist here: skipped.
            ("acme/ops", "operations"),
        ]
        .into_iter()
        .map(|(t, g)| (t.to_owned(), GroupName::parse(g).unwrap()))
        .collect(),
    })
    .await;
}

fn request(env: &Env) -> CodeRequest {
    request_for(env, "github")
}

/// A web-client request naming upstream `id`.
fn request_for(env: &Env, id: &str) -> CodeRequest {
    env.web_request("openid profile email")
        .param("idp_hint", id)
}

/// Goes to GitHub and back: returns the browser (with its cookies) and the callback URL.
async fn through_github(env: &Env, request: &CodeRequest) -> (Browser, Url) {
    let browser = env.server.browser().unwrap();
    let to_github = match browser
        .walk(&request.url(&env.server), None, Consent::Approve)
        .await
        .unwrap()
    {
        Outcome::Redirect(url) => url,
        Outcome::Page(page) => panic!("not sent to GitHub: {} {}", page.status, page.body),
    };
    assert_eq!(to_github.path(), "/login/oauth/authorize");
    let scope = portcullis_testkit::query_param(&to_github, "scope").unwrap();
    assert_eq!(scope, "read:user user:email read:org");
    let answer = env.server.http().get(to_github).send().await.unwrap();
    assert_eq!(answer.status(), 302, "the stand-in sends the browser back");
    let back = Url::parse(answer.headers().get("location").unwrap().to_str().unwrap()).unwrap();
    (browser, back)
}

/// The whole sign-in and code redemption.
async fn sign_in(env: &Env) -> Tokens {
    sign_in_with(env, "github").await
}

/// The whole sign-in through upstream `id` and code redemption.
async fn sign_in_with(env: &Env, id: &str) -> Tokens {
    let request = request_for(env, id);
    let (browser, back) = through_github(env, &request).await;
    let redirect = browser
        .walk(&back, None, Consent::Approve)
        .await
        .unwrap()
        .redirect()
        .unwrap();
    let code = CodeResponse::from_redirect(redirect).unwrap().code;
    Tokens::from_reply(
        env.server
            .redeem(&env.web_auth(), &code, &request)
            .await
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn github_sign_in_gives_our_tokens_with_teams_as_groups_and_roles() {
    let account = Account::octocat(&[("acme", "payments"), ("acme", "ops"), ("other", "x")]);
    let (env, _github) = setup(account, false).await;
    let tokens = sign_in(&env).await;
    let at = env
        .server
        .verify_access_token(&tokens.access_token, API)
        .await
        .unwrap();
    assert_eq!(at["idp"], json!("github"));
    assert_eq!(at["amr"], json!(["fed"]));
    assert_eq!(at["groups"], json!(["payments"]));
    assert_eq!(at["roles"], json!(["payments:approve"]));
    let sub = at["sub"].as_str().unwrap();
    assert_ne!(sub, "583231", "a local sub, not GitHub's id");
    let id = env
        .server
        .verify_id_token(tokens.id_token.as_deref().unwrap(), WEB)
        .await
        .unwrap();
    assert_eq!(id["idp"], json!("github"));
    assert_eq!(id["amr"], json!(["fed"]));
    assert_eq!(id["preferred_username"], json!("octocat"));
    assert_eq!(id["name"], json!("The Octocat"));
    assert_eq!(id["email"], json!("octocat@github.example"));
    assert_eq!(id["email_verified"], json!(true));
    let link = env
        .server
        .store()
        .get_upstream_link("github", "583231")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.user_id.as_str(), sub);

    // The next sign-in is the same user.
    let (_, again) = decode_jwt_parts(&sign_in(&env).await.access_token).unwrap();
    assert_eq!(again["sub"], json!(sub));
}

#[tokio::test]
async fn github_token_endpoint_error_is_a_refused_sign_in() {
    let (env, github) = setup(Account::octocat(&[]), false).await;
    github.refuse_tokens("bad_verification_code");
    let (browser, back) = through_github(&env, &request(&env)).await;
    let page = browser.get(&back).await.unwrap();
    assert_eq!(page.status, 400);
    assert!(page.body.contains("did not sign you in") || page.body.contains("failed"));
    assert!(
        env.server
            .store()
            .get_upstream_link("github", "583231")
            .await
            .unwrap()
            .is_none()
    );
    let account = browser
        .get(&env.server.url("/account").unwrap())
        .await
        .unwrap();
    assert_ne!(account.status, 200, "no session");
}

#[tokio::test]
async fn github_unverified_primary_email_is_neither_linked_nor_kept() {
    let mut account = Account::octocat(&[]);
    account.emails = vec![
        Email {
            email: "alice@example.com".into(),
            primary: true,
            verified: false,
        },
        Email {
            email: "octo@elsewhere.example".into(),
            primary: false,
            verified: true,
        },
    ];
    let (env, _github) = setup(account, true).await;
    let tokens = sign_in(&env).await;
    let (_, at) = decode_jwt_parts(&tokens.access_token).unwrap();
    let sub = at["sub"].as_str().unwrap();
    assert_ne!(
        sub, env.alice_sub,
        "linked to alice by an unverified address"
    );
    let user = env.server.store().get_user(sub).await.unwrap().unwrap();
    assert_eq!(user.email, None);
    assert!(!user.email_verified);
}

#[tokio::test]
async fn github_account_without_email_signs_in_as_a_new_user() {
    let mut account = Account::octocat(&[]);
    account.emails.clear();
    let (env, _github) = setup(account, true).await;
    let tokens = sign_in(&env).await;
    let id = env
        .server
        .verify_id_token(tokens.id_token.as_deref().unwrap(), WEB)
        .await
        .unwrap();
    assert_eq!(id.get("email"), None);
    assert_eq!(id["preferred_username"], json!("octocat"));
}

#[tokio::test]
async fn github_verified_primary_email_links_to_the_local_user_when_trusted() {
    let account = Account::with_email("alice@example.com", true);
    let (env, _github) = setup(account, true).await;
    let tokens = sign_in(&env).await;
    let (_, at) = decode_jwt_parts(&tokens.access_token).unwrap();
    assert_eq!(at["sub"], json!(env.alice_sub));
    assert_eq!(at["amr"], json!(["fed"]));
}

#[tokio::test]
async fn an_only_upstream_skips_the_choice_and_password_login_can_be_turned_off() {
    let builder = TestServer::builder().configure(|s| s.password_login = false);
    let (env, _github) = setup_with(builder, Account::octocat(&[]), false, false).await;
    let browser = env.server.browser().unwrap();
    let page = browser
        .get(&env.web_request("openid").url(&env.server))
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Sign in with GitHub"), "{}", page.body);
    assert!(page.login_form().is_none(), "the password form is shown");
    // A password posted all the same does not sign in.
    let login = env.server.url("/login").unwrap();
    // The login page has no form to take a CSRF token from; the device page's form has one
    // for the same browser.
    let form = browser
        .get(&env.server.url("/device").unwrap())
        .await
        .unwrap()
        .forms();
    let csrf = form
        .iter()
        .flat_map(|f| f.fields.iter())
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.clone());
    assert!(csrf.is_some(), "no CSRF token on the device page");
    let fields: Vec<(String, String)> = [
        ("csrf", csrf.unwrap_or_default()),
        ("username", ALICE.to_owned()),
        ("password", ALICE_PASSWORD.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let posted = browser.post_form(&login, &fields).await.unwrap();
    assert_eq!(posted.status, 303);
    assert!(
        posted
            .header("location")
            .unwrap_or_default()
            .contains("failed"),
        "{:?}",
        posted.header("location")
    );

    // Marked `only`, the upstream is where the login page sends every browser.
    let (env, github) = setup_with(TestServer::builder(), Account::octocat(&[]), false, true).await;
    let browser = env.server.browser().unwrap();
    match browser
        .walk(
            &env.web_request("openid").url(&env.server),
            None,
            Consent::Approve,
        )
        .await
        .unwrap()
    {
        Outcome::Redirect(url) => {
            assert!(url.as_str().starts_with(github.base.as_str()), "{url}");
        }
        Outcome::Page(page) => panic!("the choice was shown: {}", page.body),
    }
}

#[tokio::test]
async fn a_disabled_local_user_cannot_sign_in_through_github() {
    let (env, _github) = setup(Account::octocat(&[]), false).await;
    let (_, at) = decode_jwt_parts(&sign_in(&env).await.access_token).unwrap();
    let store = env.server.store();
    let mut user = store
        .get_user(at["sub"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    user.disabled = true;
    store.put_user(user).await.unwrap();
    let (browser, back) = through_github(&env, &request(&env)).await;
    let page = browser.get(&back).await.unwrap();
    assert_eq!(page.status, 400);
    assert!(page.body.contains("disabled"), "{}", page.body);
}

#[tokio::test]
async fn github_teams_are_read_past_the_first_page() {
    let mut account = Account::octocat(&[]);
    account.teams = (0..150)
        .map(|i| ("acme".to_owned(), format!("team-{i}")))
        .chain([("acme".to_owned(), "payments".to_owned())])
        .collect();
    let (env, _github) = setup(account, false).await;
    let (_, at) = decode_jwt_parts(&sign_in(&env).await.access_token).unwrap();
    assert_eq!(at["groups"], json!(["payments"]));
}

#[tokio::test]
async fn an_address_from_an_untrusted_upstream_never_opens_an_account_to_a_trusted_one() {
    // Someone signs in through an upstream not trusted for addresses (any GitHub account) with
    // an address GitHub verified for them; that must not let a trusted upstream's account with
    // the same address sign in as the user so created.
    let mut account = Account::with_email("victim@corp.example", true);
    let (env, _github) = setup(account.clone(), false).await;
    let (_, first) = decode_jwt_parts(&sign_in(&env).await.access_token).unwrap();
    account.id = 7;
    let enterprise = GitHub::start(account).await;
    add_github(&env, "ghe", &enterprise, true, false).await;
    let (_, second) = decode_jwt_parts(&sign_in_with(&env, "ghe").await.access_token).unwrap();
    assert_ne!(
        second["sub"], first["sub"],
        "linked to the untrusted upstream's user"
    );
    assert_eq!(second["idp"], json!("ghe"));

    // Nor once the untrusted upstream is gone with its links: the user it made has no
    // password, so nothing vouches for its address.
    let mut account = Account::with_email("victim@corp.example", true);
    let (env, _github) = setup(account.clone(), false).await;
    let (_, first) = decode_jwt_parts(&sign_in(&env).await.access_token).unwrap();
    assert!(env.server.store().delete_upstream("github").await.unwrap());
    account.id = 9;
    let enterprise = GitHub::start(account).await;
    add_github(&env, "ghe", &enterprise, true, false).await;
    let (_, later) = decode_jwt_parts(&sign_in_with(&env, "ghe").await.access_token).unwrap();
    assert_ne!(later["sub"], first["sub"]);
}

/// With allowed organisations, a member of one signs in; an account in none of them is refused
/// and gets no local user or link.
#[tokio::test]
async fn github_allowed_orgs_admit_members_only() {
    let env = Env::start_with(TestServer::builder()).await;
    env.group_with_role_visible_to_web("payments", "payments:approve", "openid profile email")
        .await;
    let member = GitHub::start(Account::octocat(&[("other", "x"), ("ACME", "payments")])).await;
    add_github_for(&env, "github", &member, false, false, &["acme"]).await;
    let tokens = sign_in(&env).await;
    assert!(!tokens.access_token.is_empty());

    let outsider = GitHub::start(Account::octocat(&[("other", "x")])).await;
    add_github_for(&env, "gh-out", &outsider, false, false, &["acme"]).await;
    let request = request_for(&env, "gh-out");
    let (browser, back) = through_github(&env, &request).await;
    let page = browser.get(&back).await.unwrap();
    assert_eq!(page.status, 400);
    assert!(page.body.contains("may not sign in here"), "{}", page.body);
    assert!(
        env.server
            .store()
            .get_upstream_link("gh-out", "583231")
            .await
            .unwrap()
            .is_none()
    );
}
