//! Signing in through an upstream OpenID provider. A second Portcullis server (on `localhost`,
//! so the browser keeps its cookies apart) is the upstream, with real discovery and real keys;
//! the user signs in there, comes back through `/upstream/corp/callback`, and the web client
//! gets this server's usual tokens, carrying the upstream (`idp`), how it signed the user in
//! (`amr`), and the groups and roles mapped from the upstream's claims.

use crate::common::*;
use portcullis_server::admin::{self, NewUpstream};
use portcullis_server::store::{UpstreamId, UpstreamKind};
use portcullis_testkit::{
    Browser, ClientAuth, ClientSpec, CodeRequest, CodeResponse, Consent, Form, Outcome, Page,
    TestServer, Tokens, decode_jwt_parts, query_param,
};
use portcullis_types::{ClientSecret, GrantType, GroupName};
use serde_json::json;
use url::Url;

/// This server's client at the upstream.
const UP_CLIENT: &str = "portcullis-downstream";
const UP_SECRET: &str = "upstream-secret-6c1d0e2f3a4b5c6d7e8f90a1b2c3d4e5";
/// The upstream's id here.
const CORP: &str = "corp";
const ADA_PASSWORD: &str = "ada-upstream-password-1";

/// A server (`down`) whose users may sign in at `up`.
struct Fed {
    down: Env,
    up: TestServer,
}

/// The upstream provider: releases the `department` attribute under the custom scope `org`.
async fn upstream(callback: &str) -> TestServer {
    let up = TestServer::builder()
        .host("localhost")
        .configure(|s| {
            s.scope_claims
                .insert("org".into(), vec!["department".into()]);
            // Keys reloaded every second and used 61 s after they are published, so a test can
            // rotate them.
            s.key_reload_interval = 1;
            s.key_rotation_delay = 61;
        })
        .start()
        .await
        .unwrap();
    up.add_client(
        ClientSpec::confidential(UP_CLIENT, UP_SECRET)
            .redirect_uri(callback)
            .grant_types(&[GrantType::AuthorizationCode])
            .scope("openid profile email org"),
    )
    .await
    .unwrap();
    up.add_user("ada", ADA_PASSWORD).await.unwrap();
    set_department(&up, "ada", "eng").await;
    up
}

async fn set_department(server: &TestServer, user: &str, department: &str) {
    admin::update_user(
        server.store().as_ref(),
        user,
        admin::UserUpdate {
            set_attributes: [("department".to_owned(), department.to_owned())].into(),
            ..admin::UserUpdate::default()
        },
    )
    .await
    .unwrap();
}

/// Registers `id` at `down` for `up` (groups from `department`, `eng` → `engineering`).
async fn add_upstream(down: &Env, up: &TestServer, id: &str, trust_email: bool) {
    down.put_upstream(NewUpstream {
        id: UpstreamId::parse(id).unwrap(),
        kind: UpstreamKind::Oidc {
            issuer: up.issuer().to_owned(),
            userinfo: true,
            groups_claim: Some("department".into()),
        },
        display_name: Some("Corp SSO".into()),
        client_id: UP_CLIENT.into(),
        client_secret: ClientSecret::new(UP_SECRET),
        scopes: vec!["org".into()],
        trust_email,
        only: false,
        groups: [("eng".to_owned(), GroupName::parse("engineering").unwrap())].into(),
    })
    .await;
}

/// Both servers, the upstream registered as `corp`, a role given through the `engineering`
/// group, and the web client allowed to see all roles and groups.
async fn fed(trust_email: bool) -> Fed {
    let down = Env::start().await;
    let callback = format!("{}/upstream/{CORP}/callback", down.server.issuer());
    let up = upstream(&callback).await;
    add_upstream(&down, &up, CORP, trust_email).await;
    down.group_with_role_visible_to_web(
        "engineering",
        "orders:read",
        "openid profile email orders:read",
    )
    .await;
    Fed { down, up }
}

impl Fed {
    /// A web-client request that names the upstream (`idp_hint`).
    fn request(&self) -> CodeRequest {
        self.down
            .web_request("openid profile email orders:read")
            .param("idp_hint", CORP)
    }

    /// Walks `request` at `down` in `browser` until it is sent to the upstream; returns the
    /// upstream authorization URL.
    async fn to_upstream(&self, browser: &Browser, request: &CodeRequest) -> Url {
        match browser
            .walk(&request.url(&self.down.server), None, Consent::Approve)
            .await
            .unwrap()
        {
            Outcome::Redirect(url) => {
                assert!(url.as_str().starts_with(self.up.issuer()), "{url}");
                url
            }
            Outcome::Page(page) => panic!("not sent upstream: {} {}", page.status, page.body),
        }
    }

    /// Signs `user` in at the upstream and returns the callback it sends the browser to.
    async fn at_upstream(&self, to_up: &Url, user: &str, password: &str) -> Url {
        let browser = self.up.browser().unwrap();
        browser
            .walk(to_up, Some((user, password)), Consent::Approve)
            .await
            .unwrap()
            .redirect()
            .unwrap()
    }

    /// The whole sign-in of `user` through the upstream and the code redemption.
    async fn tokens(&self, user: &str, password: &str) -> Tokens {
        let browser = self.down.server.browser().unwrap();
        let request = self.request();
        let to_up = self.to_upstream(&browser, &request).await;
        let back = self.at_upstream(&to_up, user, password).await;
        self.come_back(&browser, &back, &request).await
    }

    /// Follows the upstream's callback `back` in `browser` through consent and redeems the
    /// code `request` gets.
    async fn come_back(&self, browser: &Browser, back: &Url, request: &CodeRequest) -> Tokens {
        let redirect = browser
            .walk(back, None, Consent::Approve)
            .await
            .unwrap()
            .redirect()
            .unwrap();
        let code = CodeResponse::from_redirect(redirect).unwrap().code;
        Tokens::from_reply(
            self.down
                .server
                .redeem(&self.down.web_auth(), &code, request)
                .await
                .unwrap(),
        )
        .unwrap()
    }

    /// The `sub` of the access token a sign-in of `user` gives.
    async fn sub(&self, user: &str, password: &str) -> String {
        let tokens = self.tokens(user, password).await;
        let (_, claims) = decode_jwt_parts(&tokens.access_token).unwrap();
        claims["sub"].as_str().unwrap().to_owned()
    }
}

/// The `sub` of `username` at the upstream `up`.
async fn sub_at(up: &TestServer, username: &str) -> String {
    up.store()
        .get_user_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string()
}

/// The status of GETting `url` in `browser`.
async fn status(browser: &Browser, url: &Url) -> u16 {
    browser.get(url).await.unwrap().status.as_u16()
}

fn with_param(url: &Url, name: &str, value: Option<&str>) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut out = url.clone();
    out.query_pairs_mut().clear().extend_pairs(pairs);
    if let Some(v) = value {
        out.query_pairs_mut().append_pair(name, v);
    }
    out
}

#[tokio::test]
async fn oidc_upstream_sign_in_gives_our_tokens_with_idp_amr_groups_and_roles() {
    let fed = fed(false).await;
    let tokens = fed.tokens("ada", ADA_PASSWORD).await;
    let at = fed
        .down
        .server
        .verify_access_token(&tokens.access_token, API)
        .await
        .unwrap();
    let sub = at["sub"].as_str().unwrap().to_owned();
    let upstream_sub = sub_at(&fed.up, "ada").await;
    assert_ne!(
        sub,
        upstream_sub.as_str(),
        "a local sub, not the upstream's"
    );
    assert_eq!(at["iss"], json!(fed.down.server.issuer()));
    assert_eq!(at["idp"], json!(CORP));
    // The upstream said how it signed the user in (a password); that is passed on.
    assert_eq!(at["amr"], json!(["pwd"]));
    assert_eq!(at["groups"], json!(["engineering"]));
    assert_eq!(at["roles"], json!(["orders:read"]));
    let id = fed
        .down
        .server
        .verify_id_token(tokens.id_token.as_deref().unwrap(), WEB)
        .await
        .unwrap();
    assert_eq!(id["sub"], json!(sub));
    assert_eq!(id["idp"], json!(CORP));
    assert_eq!(id["amr"], json!(["pwd"]));
    assert_eq!(id["email"], json!("ada@example.com"));
    assert_eq!(id["preferred_username"], json!("ada"));

    // A refreshed access token still says where and how the user signed in.
    let refreshed = Tokens::from_reply(
        fed.down
            .server
            .refresh(
                &fed.down.web_auth(),
                tokens.refresh_token.as_deref().unwrap(),
                None,
            )
            .await
            .unwrap(),
    )
    .unwrap();
    let (_, rt_claims) = decode_jwt_parts(&refreshed.access_token).unwrap();
    assert_eq!(rt_claims["idp"], json!(CORP));
    assert_eq!(rt_claims["amr"], json!(["pwd"]));
    assert_eq!(rt_claims["sub"], json!(sub));

    let store = fed.down.server.store();
    let link = store
        .get_upstream_link(CORP, &upstream_sub)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.user_id.as_str(), sub);

    // Signing in again, now through the login page's button, is the same local user; the
    // groups follow the upstream at each sign-in.
    set_department(&fed.up, "ada", "sales").await;
    let browser = fed.down.server.browser().unwrap();
    let request = fed.down.web_request("openid orders:read");
    let login = browser.get(&request.url(&fed.down.server)).await.unwrap();
    assert_eq!(login.status, 200);
    assert!(
        login.body.contains("Sign in with Corp SSO"),
        "{}",
        login.body
    );
    assert!(login.login_form().is_some(), "the password form stays");
    let href = login
        .body
        .split("href=\"")
        .skip(1)
        .find_map(|rest| {
            rest.split('"')
                .next()
                .filter(|h| h.starts_with("/upstream/"))
        })
        .unwrap()
        .replace("&amp;", "&");
    let start = fed.down.server.url(&href).unwrap();
    let to_up = match browser.walk(&start, None, Consent::Approve).await.unwrap() {
        Outcome::Redirect(url) => url,
        Outcome::Page(page) => panic!("{} {}", page.status, page.body),
    };
    let back = fed.at_upstream(&to_up, "ada", ADA_PASSWORD).await;
    let again = fed.come_back(&browser, &back, &request).await;
    let (_, claims) = decode_jwt_parts(&again.access_token).unwrap();
    assert_eq!(claims["sub"], json!(sub));
    assert_eq!(claims.get("groups"), None, "no longer in a mapped group");
    assert_eq!(claims.get("roles"), None);
}

#[tokio::test]
async fn iss_4_state_of_one_upstream_is_refused_at_another_callback() {
    let fed = fed(false).await;
    add_upstream(&fed.down, &fed.up, "corp-two", false).await;
    let browser = fed.down.server.browser().unwrap();
    let to_up = fed.to_upstream(&browser, &fed.request()).await;
    let back = fed.at_upstream(&to_up, "ada", ADA_PASSWORD).await;
    let mut elsewhere = back.clone();
    elsewhere.set_path("/upstream/corp-two/callback");
    assert_eq!(status(&browser, &elsewhere).await, 400);
    // The state was spent by that attempt.
    assert_eq!(status(&browser, &back).await, 400);
}

#[tokio::test]
async fn iss_4_mix_up_by_a_second_upstream_is_refused() {
    // Two upstream providers: the honest one (`corp`) and an attacker's (`evil`), both
    // registered here. The user picks `evil`; the attacker sends the browser on to the honest
    // provider with the state it was given, hoping to be handed the honest provider's code.
    let fed = fed(false).await;
    let evil_callback = format!("{}/upstream/evil/callback", fed.down.server.issuer());
    let evil = upstream(&evil_callback).await;
    add_upstream(&fed.down, &evil, "evil", false).await;

    let browser = fed.down.server.browser().unwrap();
    let request = fed
        .down
        .web_request("openid profile email orders:read")
        .param("idp_hint", "evil");
    let to_evil = match browser
        .walk(&request.url(&fed.down.server), None, Consent::Approve)
        .await
        .unwrap()
    {
        Outcome::Redirect(url) => url,
        Outcome::Page(page) => panic!("{} {}", page.status, page.body),
    };
    assert!(to_evil.as_str().starts_with(evil.issuer()), "{to_evil}");
    // The attacker's redirect: the honest authorization endpoint, the honest callback (the
    // only one the honest provider accepts), the state and PKCE challenge meant for `evil`.
    let mut to_honest = fed.up.endpoints().authorization.clone();
    let corp_callback = format!("{}/upstream/{CORP}/callback", fed.down.server.issuer());
    to_honest
        .query_pairs_mut()
        .extend_pairs(to_evil.query_pairs().map(|(k, v)| match k.as_ref() {
            "redirect_uri" => (k.into_owned(), corp_callback.clone()),
            _ => (k.into_owned(), v.into_owned()),
        }));
    let back = fed.at_upstream(&to_honest, "ada", ADA_PASSWORD).await;
    assert_eq!(back.path(), "/upstream/corp/callback");
    assert_eq!(
        query_param(&back, "state"),
        query_param(&to_evil, "state"),
        "the honest provider answered with the state minted for evil"
    );
    assert_eq!(status(&browser, &back).await, 400);
    let upstream_sub = sub_at(&fed.up, "ada").await;
    assert!(
        fed.down
            .server
            .store()
            .get_upstream_link(CORP, &upstream_sub)
            .await
            .unwrap()
            .is_none(),
        "nobody was signed in"
    );
}

#[tokio::test]
async fn iss_4_response_with_a_wrong_or_missing_iss_is_refused() {
    let fed = fed(false).await;
    let discovery = fed.up.discovery().await.unwrap();
    assert_eq!(
        discovery["authorization_response_iss_parameter_supported"],
        json!(true)
    );
    for iss in [Some("http://evil.localhost:1"), None] {
        let browser = fed.down.server.browser().unwrap();
        let to_up = fed.to_upstream(&browser, &fed.request()).await;
        let back = fed.at_upstream(&to_up, "ada", ADA_PASSWORD).await;
        assert_eq!(query_param(&back, "iss").as_deref(), Some(fed.up.issuer()));
        let tampered = with_param(&back, "iss", iss);
        assert_eq!(status(&browser, &tampered).await, 400, "iss {iss:?}");
        let after = browser
            .get(&fed.down.server.url("/account").unwrap())
            .await
            .unwrap();
        assert_ne!(after.status, 200, "no session was made");
    }
}

#[tokio::test]
async fn forged_state_and_replayed_callback_are_refused() {
    let fed = fed(false).await;
    let browser = fed.down.server.browser().unwrap();
    let forged = fed
        .down
        .server
        .url("/upstream/corp/callback?code=abc&state=forged-state-value")
        .unwrap();
    assert_eq!(status(&browser, &forged).await, 400);

    let to_up = fed.to_upstream(&browser, &fed.request()).await;
    let back = fed.at_upstream(&to_up, "ada", ADA_PASSWORD).await;
    // The callback's state is bound to the browser that started the sign-in.
    let other = fed.down.server.browser().unwrap();
    assert_eq!(status(&other, &back).await, 400);

    // Replayed in the right browser, it was spent by the attempt above: the state is single use.
    assert_eq!(status(&browser, &back).await, 400);

    let to_up = fed.to_upstream(&browser, &fed.request()).await;
    let back = fed.at_upstream(&to_up, "ada", ADA_PASSWORD).await;
    assert_eq!(status(&browser, &back).await, 303);
    assert_eq!(status(&browser, &back).await, 400, "a replayed callback");
}

#[tokio::test]
async fn unknown_upstream_is_a_page_not_a_crash() {
    let fed = fed(false).await;
    let browser = fed.down.server.browser().unwrap();
    for path in [
        "/upstream/nope/start",
        "/upstream/nope/callback?state=x&code=y",
    ] {
        let url = fed.down.server.url(path).unwrap();
        assert_eq!(status(&browser, &url).await, 400, "{path}");
    }
    // An unknown idp_hint leaves the choice to the user.
    let request = fed.down.web_request("openid").param("idp_hint", "nope");
    let page = browser.get(&request.url(&fed.down.server)).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Sign in with Corp SSO"));
}

#[tokio::test]
async fn linked_account_is_not_taken_over_by_another_upstream_subject() {
    let fed = fed(true).await;
    let ada = fed.sub("ada", ADA_PASSWORD).await;
    // Another upstream account now claims ada's verified address.
    fed.up
        .add_user("mallory", "mallory-password-1")
        .await
        .unwrap();
    admin::update_user(
        fed.up.store().as_ref(),
        "mallory",
        admin::UserUpdate {
            email: Some("ada@example.com".into()),
            ..admin::UserUpdate::default()
        },
    )
    .await
    .unwrap();
    let mallory = fed.sub("mallory", "mallory-password-1").await;
    assert_ne!(mallory, ada, "signed in as the linked user");
    assert_eq!(fed.sub("ada", ADA_PASSWORD).await, ada);
}

#[tokio::test]
async fn verified_address_links_to_a_local_user_only_when_trusted() {
    for trust in [true, false] {
        let fed = fed(trust).await;
        // Alice exists here with a verified address; the upstream has an alice too.
        fed.up.add_user(ALICE, "alice-upstream-pass").await.unwrap();
        let sub = fed.sub(ALICE, "alice-upstream-pass").await;
        assert_eq!(sub == fed.down.alice_sub, trust, "trust_email = {trust}");
        if !trust {
            let user = fed
                .down
                .server
                .store()
                .get_user(&sub)
                .await
                .unwrap()
                .unwrap();
            assert_ne!(user.username, ALICE, "the local username stays alice's");
            assert!(
                user.password_hash.is_empty(),
                "no password for an upstream user"
            );
        }
    }
}

impl Fed {
    /// The link of ada's account at the upstream, if any.
    async fn ada_link(&self) -> Option<portcullis_server::store::UpstreamLinkRecord> {
        let upstream_sub = sub_at(&self.up, "ada").await;
        self.down
            .server
            .store()
            .get_upstream_link(CORP, &upstream_sub)
            .await
            .unwrap()
    }

    /// The account page of `browser` (signed in here) and the form posting to `action` for
    /// the upstream `id`.
    async fn account_form(&self, browser: &Browser, action: &str, id: &str) -> (Page, Form) {
        let page = browser
            .get(&self.down.server.url("/account").unwrap())
            .await
            .unwrap();
        assert_eq!(page.status, 200, "{}", page.body);
        let form = page
            .forms()
            .into_iter()
            .find(|f| f.action == action && f.field("upstream") == Some(id))
            .unwrap_or_else(|| panic!("no {action} form for {id}: {}", page.body));
        (page, form)
    }

    /// Links, from the account page of `browser`, the account `user` of the upstream; returns
    /// the page the browser lands on after the callback.
    async fn link(&self, browser: &Browser, user: &str, password: &str) -> Page {
        let (page, form) = self
            .account_form(browser, "/account/upstreams/link", CORP)
            .await;
        let sent = browser.submit(&page, &form, None).await.unwrap();
        assert_eq!(sent.status, 303, "{}", sent.body);
        let to_up = sent.location().unwrap();
        assert!(to_up.as_str().starts_with(self.up.issuer()), "{to_up}");
        let back = self.at_upstream(&to_up, user, password).await;
        browser.get(&back).await.unwrap()
    }
}

#[tokio::test]
async fn account_page_links_and_unlinks_an_upstream_account() {
    let fed = fed(false).await;
    let alice = fed.down.alice_sub.clone();
    let browser = fed.down.signed_in_browser().await;
    let (page, _) = fed
        .account_form(&browser, "/account/upstreams/link", CORP)
        .await;
    assert!(page.body.contains("Corp SSO"), "{}", page.body);

    // Alice links her account at the upstream (ada there) to her local account.
    let landed = fed.link(&browser, "ada", ADA_PASSWORD).await;
    assert_eq!(landed.status, 303, "{}", landed.body);
    assert_eq!(
        landed.location().unwrap().as_str(),
        fed.down
            .server
            .url("/account?upstream=linked")
            .unwrap()
            .as_str()
    );
    let link = fed.ada_link().await.unwrap();
    assert_eq!(link.user_id.as_str(), alice);
    // The page now offers to unlink it; signing in at the upstream is signing in as alice,
    // with the groups the upstream maps.
    fed.account_form(&browser, "/account/upstreams/unlink", CORP)
        .await;
    let tokens = fed.tokens("ada", ADA_PASSWORD).await;
    let (_, claims) = decode_jwt_parts(&tokens.access_token).unwrap();
    assert_eq!(claims["sub"], json!(alice));
    assert_eq!(claims["groups"], json!(["engineering"]));

    // Unlinked, the upstream account no longer signs in as alice (a new user is made), and the
    // group it gave her is gone.
    let (page, form) = fed
        .account_form(&browser, "/account/upstreams/unlink", CORP)
        .await;
    let done = browser.submit(&page, &form, None).await.unwrap();
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(
        done.location()
            .unwrap()
            .as_str()
            .ends_with("/account?upstream=unlinked")
    );
    let user = fed
        .down
        .server
        .store()
        .get_user(&alice)
        .await
        .unwrap()
        .unwrap();
    assert!(user.groups.is_empty(), "{:?}", user.groups);
    assert_ne!(fed.sub("ada", ADA_PASSWORD).await, alice);
}

#[tokio::test]
async fn account_linked_to_another_user_is_not_linked_again() {
    let fed = fed(false).await;
    // Ada's upstream account already signed in once: it has its own local user.
    let ada = fed.sub("ada", ADA_PASSWORD).await;
    let browser = fed.down.signed_in_browser().await;
    let landed = fed.link(&browser, "ada", ADA_PASSWORD).await;
    assert_eq!(landed.status, 400, "{}", landed.body);
    assert!(landed.body.contains("linked already"), "{}", landed.body);
    let link = fed.ada_link().await.unwrap();
    assert_eq!(link.user_id.as_str(), ada, "the link stays where it was");
    assert!(
        fed.down
            .server
            .store()
            .list_upstream_links(&fed.down.alice_sub)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn link_finished_in_another_session_is_refused() {
    // The link was asked for as alice, but by the time the upstream answers the browser is
    // signed in as someone else: nothing is linked to either.
    let fed = fed(false).await;
    let browser = fed.down.signed_in_browser().await;
    let (page, form) = fed
        .account_form(&browser, "/account/upstreams/link", CORP)
        .await;
    let to_up = browser
        .submit(&page, &form, None)
        .await
        .unwrap()
        .location()
        .unwrap();
    let back = fed.at_upstream(&to_up, "ada", ADA_PASSWORD).await;
    fed.down
        .server
        .authorize(
            &browser,
            &fed.down.web_request("openid").param("prompt", "login"),
            Some((BOB, BOB_PASSWORD)),
        )
        .await
        .unwrap();
    let landed = browser.get(&back).await.unwrap();
    assert_eq!(landed.status, 400, "{}", landed.body);
    assert!(fed.ada_link().await.is_none());
}

#[tokio::test]
async fn only_way_in_is_not_unlinked() {
    let fed = fed(false).await;
    // Ada's local user was made by the upstream: no password, one link.
    let browser = fed.down.server.browser().unwrap();
    let request = fed.request();
    let to_up = fed.to_upstream(&browser, &request).await;
    let back = fed.at_upstream(&to_up, "ada", ADA_PASSWORD).await;
    fed.come_back(&browser, &back, &request).await;
    let (page, form) = fed
        .account_form(&browser, "/account/upstreams/unlink", CORP)
        .await;
    let refused = browser.submit(&page, &form, None).await.unwrap();
    assert!(
        refused
            .location()
            .unwrap()
            .as_str()
            .ends_with("/account?upstream=last-way-in")
    );
    assert!(fed.ada_link().await.is_some());
    let shown = browser.get(&refused.location().unwrap()).await.unwrap();
    assert!(shown.body.contains("only way to sign in"), "{}", shown.body);
}

#[tokio::test]
async fn upstream_keys_are_kept_and_fetched_again_when_the_upstream_rotates() {
    let fed = fed(false).await;
    // The first sign-in fetches the upstream's keys, which this server then keeps.
    let first = fed.sub("ada", ADA_PASSWORD).await;

    // The upstream rotates: its ID tokens are now signed with a key published after that.
    let new_kids = fed.up.rotate_keys().await.unwrap();
    fed.up.advance(62);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    const PROBE: &str = "probe";
    const PROBE_CB: &str = "http://127.0.0.1:9/cb";
    fed.up
        .add_client(
            ClientSpec::confidential(PROBE, "probe-secret-0123456789abcdef0123456789")
                .redirect_uri(PROBE_CB)
                .grant_types(&[GrantType::AuthorizationCode])
                .scope("openid"),
        )
        .await
        .unwrap();
    let probe = fed
        .up
        .code_flow(
            &ClientAuth::basic(PROBE, "probe-secret-0123456789abcdef0123456789"),
            &CodeRequest::new(PROBE, PROBE_CB, "openid"),
            ("ada", ADA_PASSWORD),
        )
        .await
        .unwrap();
    let (header, _) = decode_jwt_parts(probe.id_token.as_deref().unwrap()).unwrap();
    let kid = header["kid"].as_str().unwrap().to_owned();
    assert!(new_kids.contains(&kid), "{kid} not among {new_kids:?}");

    // With the clocks in step again, past the pause between two fetches of one provider's keys
    // and well within their lifetime: the unknown key makes this server fetch the set again,
    // and the sign-in works.
    fed.down.server.advance(62);
    assert_eq!(fed.sub("ada", ADA_PASSWORD).await, first);
}
