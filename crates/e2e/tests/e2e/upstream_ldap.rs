//! Signing in against an LDAP directory. Each test starts its own OpenLDAP `slapd` on a random
//! loopback port with a temporary configuration and database seeded by `slapadd`; the server
//! registers it as the upstream `corp`, searches users as a service account and binds as them.
//! Outside CI the tests skip with a notice when `slapd` is not installed; with `CI` set they
//! fail instead (`.ci/run` installs it).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use portcullis_server::admin::{self, NewUpstream};
use portcullis_server::store::{LdapGroups, LdapSettings, UpstreamId, UpstreamKind};
use portcullis_testkit::{Browser, CodeRequest, Consent, Outcome, Page, Tokens, decode_jwt_parts};
use portcullis_types::{ClientSecret, GroupName};
use serde_json::json;

const CORP: &str = "corp";
const SUFFIX: &str = "dc=example,dc=org";
const PEOPLE: &str = "ou=people,dc=example,dc=org";
const SERVICE_DN: &str = "cn=portcullis,ou=services,dc=example,dc=org";
const SERVICE_PASSWORD: &str = "service-account-pass-7d1e";
const ADA: &str = "ada";
const ADA_PASSWORD: &str = "ada-directory-pass-3f9a";
const GRACE: &str = "grace";
const GRACE_PASSWORD: &str = "grace-directory-pass-81c2";
/// Two entries answer to this username (one under `ou=people`, one under `ou=contractors`).
const TWIN: &str = "twin";
const TWIN_PASSWORD: &str = "twin-directory-pass-55aa";
const WRONG: &str = "Sign-in failed";
const UNREACHABLE: &str = "cannot be reached";

/// The directory: its suffix, the service account, ada (in `Engineers`, also listed in her
/// `memberOf`), grace (in no group) and two entries called twin.
fn seed() -> String {
    format!(
        "dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,{SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=contractors,{SUFFIX}
objectClass: organizationalUnit
ou: contractors

dn: ou=groups,{SUFFIX}
objectClass: organizationalUnit
ou: groups

dn: ou=services,{SUFFIX}
objectClass: organizationalUnit
ou: services

dn: {SERVICE_DN}
objectClass: person
cn: portcullis
sn: service
userPassword: {SERVICE_PASSWORD}

dn: uid={ADA},{PEOPLE}
objectClass: inetOrgPerson
uid: {ADA}
cn: Ada Lovelace
sn: Lovelace
mail: ada@example.org
userPassword: {ADA_PASSWORD}
memberOf: cn=Engineers,ou=groups,{SUFFIX}
memberOf: cn=Chess Club,ou=groups,{SUFFIX}

dn: uid={GRACE},{PEOPLE}
objectClass: inetOrgPerson
uid: {GRACE}
cn: Grace Hopper
sn: Hopper
userPassword: {GRACE_PASSWORD}

dn: uid={TWIN},{PEOPLE}
objectClass: inetOrgPerson
uid: {TWIN}
cn: Twin One
sn: One
userPassword: {TWIN_PASSWORD}

dn: uid={TWIN},ou=contractors,{SUFFIX}
objectClass: inetOrgPerson
uid: {TWIN}
cn: Twin Two
sn: Two
userPassword: {TWIN_PASSWORD}

dn: cn=Engineers,ou=groups,{SUFFIX}
objectClass: groupOfNames
cn: Engineers
member: uid={ADA},{PEOPLE}

dn: cn=Chess Club,ou=groups,{SUFFIX}
objectClass: groupOfNames
cn: Chess Club
member: uid={ADA},{PEOPLE}
"
    )
}

/// A running `slapd`, stopped (and its files removed) on drop.
struct Slapd {
    child: Child,
    /// `ldap://127.0.0.1:PORT` (StartTLS offered when started with TLS).
    url: String,
    /// With TLS: `ldaps://127.0.0.1:PORT` and the PEM file of the CA that issued its
    /// certificate (for `127.0.0.1`).
    tls: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where `slapd` is, or `None` (with a notice) when it is not installed outside CI.
fn slapd_binary() -> Option<PathBuf> {
    let found = [
        "/usr/sbin/slapd",
        "/usr/local/sbin/slapd",
        "/usr/local/libexec/slapd",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists());
    match found {
        Some(p) => Some(p),
        None if std::env::var_os("CI").is_none() => {
            eprintln!("skipping LDAP test: slapd is not installed (apt-get install slapd)");
            None
        }
        None => panic!("slapd required in CI (apt-get install slapd ldap-utils)"),
    }
}

/// `slapadd` beside `slapd` (the same program under another name).
fn slapadd_for(slapd: &Path) -> PathBuf {
    slapd.with_file_name("slapadd")
}

/// A free loopback port (bound and released; slapd takes it right after).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `openssl` with `args` in `dir`; `false` when it is not installed.
fn openssl(dir: &Path, args: &[&str]) -> bool {
    match Command::new("openssl").args(args).current_dir(dir).output() {
        Ok(out) => {
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            true
        }
        Err(_) => false,
    }
}

/// A test CA (`ca.pem`) and a certificate for `127.0.0.1` it issued (`server.pem`,
/// `server.key`) in `dir`; `false` (with a notice, or a failure under CI) without `openssl`.
fn issue_certificates(dir: &Path) -> bool {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let ca = [
        &["req", "-x509"][..],
        &ec,
        &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2"],
        &["-subj", "/CN=Portcullis Test CA"],
    ]
    .concat();
    if !openssl(dir, &ca) {
        assert!(
            std::env::var_os("CI").is_none(),
            "openssl required in CI for the LDAP TLS test"
        );
        eprintln!("skipping LDAP TLS test: openssl is not installed");
        return false;
    }
    let csr = [
        &["req"][..],
        &ec,
        &[
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    ]
    .concat();
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(dir, &csr)
        && openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.pem",
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
            ],
        )
}

impl Slapd {
    /// Starts a seeded directory over plain LDAP; `None` when the test is skipped.
    async fn start() -> Option<Slapd> {
        Self::start_with(false).await
    }

    /// Starts a seeded directory, with `tls` also offering StartTLS and LDAPS with a
    /// certificate of a test CA; `None` when the test is skipped.
    async fn start_with(tls: bool) -> Option<Slapd> {
        let slapd = slapd_binary()?;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("db")).unwrap();
        let tls_conf = if tls {
            if !issue_certificates(root) {
                return None;
            }
            format!(
                "TLSCACertificateFile {r}/ca.pem\nTLSCertificateFile {r}/server.pem\n\
                 TLSCertificateKeyFile {r}/server.key\n",
                r = root.display()
            )
        } else {
            String::new()
        };
        // `allow bind_anon_dn`: like some Active Directory set-ups, this directory accepts a
        // bind with a DN and no password as an anonymous bind, so only the server's own check
        // keeps an empty password from signing anyone in.
        let conf = format!(
            "include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile {root}/slapd.pid
{tls_conf}modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
allow bind_anon_dn
database mdb
maxsize 10485760
suffix \"{SUFFIX}\"
rootdn \"cn=admin,{SUFFIX}\"
directory {root}/db
overlay memberof
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
",
            root = root.display()
        );
        std::fs::write(root.join("slapd.conf"), conf).unwrap();
        std::fs::write(root.join("seed.ldif"), seed()).unwrap();
        let added = Command::new(slapadd_for(&slapd))
            .arg("-f")
            .arg(root.join("slapd.conf"))
            .arg("-l")
            .arg(root.join("seed.ldif"))
            .output()
            .unwrap();
        assert!(
            added.status.success(),
            "slapadd: {}",
            String::from_utf8_lossy(&added.stderr)
        );
        let port = free_port();
        let url = format!("ldap://127.0.0.1:{port}");
        let tls = tls.then(|| {
            (
                format!("ldaps://127.0.0.1:{}", free_port()),
                root.join("ca.pem").display().to_string(),
            )
        });
        let listen = match &tls {
            Some((ldaps, _)) => format!("{url}/ {ldaps}/"),
            None => format!("{url}/"),
        };
        let child = Command::new(&slapd)
            .arg("-f")
            .arg(root.join("slapd.conf"))
            .arg("-h")
            .arg(listen)
            .args(["-d", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let directory = Slapd {
            child,
            url,
            tls,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "slapd did not start on {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(directory)
    }
}

/// Directory settings for `url`: users by `uid` under `ou=people` and `ou=contractors` (the
/// whole suffix), groups from `memberOf`.
fn settings(url: &str) -> LdapSettings {
    LdapSettings::new(url, SUFFIX)
}

/// Registers the directory as `corp`: the group `Engineers` maps to `engineering`.
async fn add_directory(env: &Env, settings: LdapSettings) {
    admin::put_upstream(
        env.server.store().as_ref(),
        env.server.clock().as_ref(),
        &env.server.config().key_encryption,
        NewUpstream {
            id: UpstreamId::parse(CORP).unwrap(),
            kind: UpstreamKind::Ldap(settings),
            display_name: Some("Corp directory".into()),
            client_id: SERVICE_DN.into(),
            client_secret: ClientSecret::new(SERVICE_PASSWORD),
            scopes: Vec::new(),
            trust_email: false,
            only: false,
            groups: [(
                "Engineers".to_owned(),
                GroupName::parse("engineering").unwrap(),
            )]
            .into(),
        },
    )
    .await
    .unwrap();
}

/// A server with the directory registered, the `engineering` group carrying `orders:read`.
async fn env_with(settings: LdapSettings) -> Env {
    let env = Env::start().await;
    add_directory(&env, settings).await;
    env.group_with_role_visible_to_web(
        "engineering",
        "orders:read",
        "openid profile email orders:read",
    )
    .await;
    env
}

/// A web-client request sent to the directory's form (`idp_hint`).
fn request(env: &Env) -> CodeRequest {
    env.web_request("openid profile email orders:read")
        .param("idp_hint", CORP)
}

/// Signs in at the directory form in a fresh browser: the redirect to the client, or the page
/// the flow stopped at.
async fn sign_in(env: &Env, request: &CodeRequest, user: &str, password: &str) -> Outcome {
    let browser = env.server.browser().unwrap();
    browser
        .walk(
            &request.url(&env.server),
            Some((user, password)),
            Consent::Approve,
        )
        .await
        .unwrap()
}

/// The directory form's page after a refused attempt.
async fn refused(env: &Env, user: &str, password: &str) -> Page {
    match sign_in(env, &request(env), user, password).await {
        Outcome::Page(page) => {
            assert_eq!(page.status, 200, "{}", page.body);
            assert!(page.login_form().is_some(), "the form again: {}", page.body);
            page
        }
        Outcome::Redirect(url) => panic!("{user} signed in: {url}"),
    }
}

/// The tokens a sign-in of `user` at the directory form gives the web client.
async fn tokens_for(env: &Env, user: &str, password: &str) -> Tokens {
    env.server
        .code_flow(&env.web_auth(), &request(env), (user, password))
        .await
        .unwrap()
}

/// How many local users are linked to the directory.
async fn linked_users(env: &Env) -> usize {
    let store = env.server.store();
    let mut n = 0;
    for user in store.list_users().await.unwrap() {
        let links = store.list_upstream_links(user.id.as_str()).await.unwrap();
        n += links
            .iter()
            .filter(|l| l.upstream_id.as_str() == CORP)
            .count();
    }
    n
}

#[tokio::test]
async fn ldap_sign_in_gives_our_tokens_with_idp_amr_groups_and_roles() {
    let Some(slapd) = Slapd::start().await else {
        return;
    };
    let env = env_with(settings(&slapd.url)).await;
    let tokens = tokens_for(&env, ADA, ADA_PASSWORD).await;
    let at = env
        .server
        .verify_access_token(&tokens.access_token, API)
        .await
        .unwrap();
    assert_eq!(at["idp"], json!(CORP));
    assert_eq!(at["amr"], json!(["pwd"]));
    assert_eq!(
        at["groups"],
        json!(["engineering"]),
        "Chess Club is unmapped"
    );
    assert_eq!(at["roles"], json!(["orders:read"]));
    let sub = at["sub"].as_str().unwrap().to_owned();
    let id = env
        .server
        .verify_id_token(tokens.id_token.as_deref().unwrap(), WEB)
        .await
        .unwrap();
    assert_eq!(id["sub"], json!(sub));
    assert_eq!(id["idp"], json!(CORP));
    assert_eq!(id["email"], json!("ada@example.org"));
    assert_eq!(id["name"], json!("Ada Lovelace"));
    assert_eq!(id["preferred_username"], json!(ADA));

    // Created just in time, linked by the entry's entryUUID, with no password of its own.
    let store = env.server.store();
    let user = store.get_user(&sub).await.unwrap().unwrap();
    assert!(user.password_hash.is_empty(), "no password stored locally");
    let links = store.list_upstream_links(&sub).await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(
        links[0].subject.len(),
        36,
        "an entryUUID: {}",
        links[0].subject
    );

    // The local password form does not know ada: her password lives in the directory only.
    let local = env
        .server
        .browser()
        .unwrap()
        .walk(
            &env.web_request("openid").url(&env.server),
            Some((ADA, ADA_PASSWORD)),
            Consent::Approve,
        )
        .await
        .unwrap();
    assert!(matches!(local, Outcome::Page(p) if p.body.contains(WRONG)));

    // Groups read by a group search instead of memberOf: the same user, the same groups.
    let mut by_search = settings(&slapd.url);
    by_search.group_source = LdapGroups::Search {
        base: format!("ou=groups,{SUFFIX}"),
        filter: "(member={dn})".into(),
    };
    add_directory(&env, by_search).await;
    let again = tokens_for(&env, ADA, ADA_PASSWORD).await;
    let (_, claims) = decode_jwt_parts(&again.access_token).unwrap();
    assert_eq!(claims["sub"], json!(sub));
    assert_eq!(claims["groups"], json!(["engineering"]));
    assert_eq!(claims["roles"], json!(["orders:read"]));

    // Grace is in no group: signed in, with neither groups nor roles.
    let grace = tokens_for(&env, GRACE, GRACE_PASSWORD).await;
    let (_, claims) = decode_jwt_parts(&grace.access_token).unwrap();
    assert_eq!(claims["idp"], json!(CORP));
    assert_eq!(claims.get("groups"), None);
    assert_eq!(claims.get("roles"), None);
    assert_eq!(linked_users(&env).await, 2);
}

#[tokio::test]
async fn ldap_directory_button_idp_hint_and_only_lead_to_its_form() {
    let Some(slapd) = Slapd::start().await else {
        return;
    };
    let env = env_with(settings(&slapd.url)).await;
    let browser: Browser = env.server.browser().unwrap();
    let login = browser
        .get(&env.web_request("openid").url(&env.server))
        .await
        .unwrap();
    assert!(
        login.body.contains("Sign in with Corp directory"),
        "{}",
        login.body
    );
    let start = env.server.url("/upstream/corp/start").unwrap();
    let form = browser.get(&start).await.unwrap();
    assert_eq!(form.status, 200);
    let login_form = form.login_form().unwrap();
    assert_eq!(login_form.action, "/upstream/corp/login");
    assert!(form.body.contains("Corp directory"));

    // `idp_hint` goes straight to the directory's form.
    let mut page = browser.get(&request(&env).url(&env.server)).await.unwrap();
    let outcome = browser
        .walk_from(&mut page, None, Consent::Approve)
        .await
        .unwrap();
    assert!(
        matches!(&outcome, Outcome::Page(p) if p.url.path() == "/upstream/corp/start"),
        "{outcome:?}"
    );

    // Made the only way in, the directory's form is what every sign-in shows.
    let store = env.server.store();
    let mut only = store.get_upstream(CORP).await.unwrap().unwrap();
    only.only = true;
    store.put_upstream(only).await.unwrap();
    let browser = env.server.browser().unwrap();
    let mut page = browser
        .get(&env.web_request("openid").url(&env.server))
        .await
        .unwrap();
    let outcome = browser
        .walk_from(&mut page, None, Consent::Approve)
        .await
        .unwrap();
    let Outcome::Page(form) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(form.url.path(), "/upstream/corp/start");
    assert_eq!(form.login_form().unwrap().action, "/upstream/corp/login");
    assert!(!form.body.contains("action=\"/login\""), "no local form");
}

/// The values of the cookies the browser was sent so far.
fn cookie_values(browser: &Browser) -> Vec<String> {
    browser
        .hops()
        .iter()
        .flat_map(|h| h.headers.get_all("set-cookie").iter())
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next())
        .filter(|c| !c.ends_with('='))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn ui_4_ldap_sign_in_replaces_the_browser_session_and_honours_disabled_accounts() {
    let Some(slapd) = Slapd::start().await else {
        return;
    };
    let env = env_with(settings(&slapd.url)).await;
    // Alice is signed in locally in this browser; ada now signs in at the directory in it.
    let browser = env.signed_in_browser().await;
    // Alice has no directory account: the account page offers no link to the directory (a
    // directory account links by signing in with its form).
    let alices = browser
        .get(&env.server.url("/account").unwrap())
        .await
        .unwrap();
    assert_eq!(alices.status, 200);
    assert!(!alices.body.contains("Corp directory"), "{}", alices.body);
    let before = cookie_values(&browser);
    let start = env.server.url("/upstream/corp/start").unwrap();
    let mut page = browser.get(&start).await.unwrap();
    let outcome = browser
        .walk_from(&mut page, Some((ADA, ADA_PASSWORD)), Consent::Approve)
        .await
        .unwrap();
    let Outcome::Page(account) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(account.url.path(), "/account", "{}", account.body);
    assert!(account.body.contains(ADA), "{}", account.body);
    assert!(
        account.body.contains("Unlink Corp directory"),
        "{}",
        account.body
    );
    let issued: Vec<String> = cookie_values(&browser)
        .into_iter()
        .skip(before.len())
        .collect();
    assert!(!issued.is_empty());
    for new in &issued {
        assert!(
            !before.contains(new),
            "cookie value kept across sign-in: {new}"
        );
    }

    // A disabled local user stays out, though the directory still takes the password.
    admin::disable_user(
        admin::AccountTargets {
            store: env.server.store().as_ref(),
            denylist: None,
            clock: env.server.clock().as_ref(),
            config: env.server.config(),
        },
        ADA,
    )
    .await
    .unwrap()
    .unwrap();
    let page = refused(&env, ADA, ADA_PASSWORD).await;
    assert!(page.body.contains("disabled"), "{}", page.body);
}

#[tokio::test]
async fn ldap_injection_in_the_username_signs_in_no_one() {
    let Some(slapd) = Slapd::start().await else {
        return;
    };
    let env = env_with(settings(&slapd.url)).await;
    // Unescaped, `ad*` would find exactly ada and sign in with her password; the others would
    // match every entry or rewrite the filter.
    for username in [
        "ad*",
        "*",
        "*)(uid=*",
        "ada)(|(uid=*",
        "*)(|(objectClass=*",
        "ada)(objectClass=*",
        "\\2a",
    ] {
        let page = refused(&env, username, ADA_PASSWORD).await;
        assert!(page.body.contains(WRONG), "{username}: {}", page.body);
    }
    assert_eq!(linked_users(&env).await, 0, "nobody was signed in");
}

#[tokio::test]
async fn ldap_empty_password_is_never_an_anonymous_login() {
    let Some(slapd) = Slapd::start().await else {
        return;
    };
    // The directory itself would take ada's DN with no password (an unauthenticated bind).
    let whoami = Command::new("ldapwhoami")
        .args([
            "-x",
            "-H",
            &slapd.url,
            "-D",
            &format!("uid={ADA},{PEOPLE}"),
            "-w",
            "",
        ])
        .output();
    if let Ok(out) = whoami {
        assert!(
            out.status.success(),
            "the directory allows unauthenticated binds"
        );
    }
    let env = env_with(settings(&slapd.url)).await;
    let browser = env.server.browser().unwrap();
    let start = env.server.url("/upstream/corp/start").unwrap();
    let page = browser.get(&start).await.unwrap();
    let mut form = page.login_form().unwrap();
    form.set("username", ADA);
    form.set("password", "");
    let answer = browser.submit(&page, &form, None).await.unwrap();
    assert_eq!(answer.status, 303);
    let location = answer.location().unwrap();
    assert_eq!(location.path(), "/upstream/corp/start");
    let again = browser.get(&location).await.unwrap();
    assert!(again.body.contains(WRONG), "{}", again.body);
    let account = browser
        .get(&env.server.url("/account").unwrap())
        .await
        .unwrap();
    assert_ne!(account.status, 200, "no session");
    assert_eq!(linked_users(&env).await, 0);
}

#[tokio::test]
async fn dos_4_ldap_wrong_password_unknown_user_and_ambiguous_username_are_refused_and_throttled() {
    let Some(slapd) = Slapd::start().await else {
        return;
    };
    let env = env_with(settings(&slapd.url)).await;
    for (user, password) in [
        (ADA, "not-her-password"),
        ("nobody", ADA_PASSWORD),
        (TWIN, TWIN_PASSWORD),
    ] {
        let page = refused(&env, user, password).await;
        assert!(page.body.contains(WRONG), "{user}: {}", page.body);
    }
    assert_eq!(linked_users(&env).await, 0);

    // A spelling the directory might match to ada but this server cannot tell apart is refused
    // even with her password (full-width letters; LDAP's matching normalises Unicode).
    let page = refused(&env, "\u{ff41}\u{ff44}\u{ff41}", ADA_PASSWORD).await;
    assert!(page.body.contains(WRONG), "{}", page.body);

    // Directory failures count against the account like local ones, however the username is
    // spelt (case and spaces are the directory's business, not a way round the throttle): after
    // the limit even the right password is not checked.
    let limit = env.server.config().login_throttle.max_failures;
    let spellings = ["ADA", " ada", "Ada  "];
    for n in 1..limit {
        let spelling = spellings[usize::try_from(n).unwrap() % spellings.len()];
        refused(&env, spelling, "still-not-her-password").await;
    }
    let page = refused(&env, ADA, ADA_PASSWORD).await;
    assert!(page.body.contains("Too many failed"), "{}", page.body);
    assert_eq!(linked_users(&env).await, 0);
}

#[tokio::test]
async fn ldap_starttls_and_ldaps_check_the_directory_certificate() {
    let Some(slapd) = Slapd::start_with(true).await else {
        return;
    };
    let (ldaps, ca_file) = slapd.tls.clone().unwrap();
    let mut starttls = settings(&slapd.url);
    starttls.starttls = true;
    starttls.ca_file = Some(ca_file.clone());
    let env = env_with(starttls.clone()).await;
    let (_, claims) =
        decode_jwt_parts(&tokens_for(&env, ADA, ADA_PASSWORD).await.access_token).unwrap();
    assert_eq!(claims["idp"], json!(CORP));
    assert_eq!(claims["groups"], json!(["engineering"]));

    let mut over_ldaps = settings(&ldaps);
    over_ldaps.ca_file = Some(ca_file);
    add_directory(&env, over_ldaps.clone()).await;
    let (_, again) =
        decode_jwt_parts(&tokens_for(&env, ADA, ADA_PASSWORD).await.access_token).unwrap();
    assert_eq!(again["sub"], claims["sub"], "the same account either way");

    // Without the test CA the certificate is not trusted: no sign-in, over either.
    for mut untrusted in [starttls, over_ldaps] {
        untrusted.ca_file = None;
        add_directory(&env, untrusted).await;
        let page = refused(&env, GRACE, GRACE_PASSWORD).await;
        assert!(page.body.contains(UNREACHABLE), "{}", page.body);
    }
}

#[tokio::test]
async fn ldap_directory_down_is_a_clear_page_not_a_500_or_a_hang() {
    let Some(slapd) = Slapd::start().await else {
        return;
    };
    let up = slapd.url.clone();
    drop(slapd);
    // Nothing listens any more: the connection is refused.
    let env = env_with(settings(&up)).await;
    let started = Instant::now();
    let page = refused(&env, ADA, ADA_PASSWORD).await;
    assert!(page.body.contains(UNREACHABLE), "{}", page.body);
    assert!(started.elapsed() < Duration::from_secs(10));

    // A directory that accepts the connection and never answers: the timeout ends it.
    let hole = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut silent = settings(&format!("ldap://{}", hole.local_addr().unwrap()));
    silent.timeout_secs = 1;
    add_directory(&env, silent).await;
    let started = Instant::now();
    let page = refused(&env, ADA, ADA_PASSWORD).await;
    assert!(page.body.contains(UNREACHABLE), "{}", page.body);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    // Nothing was checked: the attempts do not count towards the throttle.
    let limit = env.server.config().login_throttle.max_failures;
    for _ in 0..limit {
        let page = refused(&env, GRACE, GRACE_PASSWORD).await;
        assert!(page.body.contains(UNREACHABLE), "{}", page.body);
    }
    drop(hole);
}
