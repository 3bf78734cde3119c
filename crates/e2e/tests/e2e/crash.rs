//! DUR-1: a real `portcullis serve` is killed with SIGKILL in the middle of a write-heavy load
//! (code redemptions, refresh rotations, revocations from several tasks) and restarted on the
//! same database. Everything it acknowledged with a 200 must hold afterwards; a request that got
//! no answer may have gone either way. Slower than the other flows: run it alone with
//! `cargo test -p portcullis-e2e --test e2e crash::`.

use crate::common::{ALICE, ALICE_PASSWORD, API, WEB, WEB_CB, WEB_SECRET, assert_token_error};
use crate::process::Served;
use portcullis_jose::{Clock as _, SystemClock};
use portcullis_server::admin;
use portcullis_server::store::Store;
use portcullis_testkit::{
    Browser, ClientAuth, ClientSpec, CodeRequest, CodeResponse, Consent, Reply,
    access_token_validator, fetch_key_set, oauth, user_record,
};
use portcullis_types::GrantType;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use url::Url;

/// Tasks driving the load at once.
const WORKERS: usize = 4;
/// Acknowledged operations (all tasks together) after which the server is killed.
const KILL_AFTER: usize = 120;
/// Upper bound on one task's operations, whatever happens.
const MAX_STEPS: usize = 2_000;
/// Bound on the load phase (not a timing assertion: a server this slow is broken).
const LOAD_DEADLINE: Duration = Duration::from_secs(180);
const SCOPE: &str = "openid offline_access orders:read";

/// One grant as the client saw it: every refresh token it was handed, oldest first.
#[derive(Debug, Default)]
struct Family {
    /// Acknowledged refresh tokens; all but the last were acknowledged as rotated away.
    chain: Vec<String>,
    /// Acknowledged access tokens of the grant.
    access: Vec<String>,
    /// Its refresh token was revoked (the whole grant) and the revocation acknowledged.
    revoked: bool,
    /// A rotation or revocation of it was in flight at the kill.
    in_doubt: bool,
}

/// What one task was told by the server.
#[derive(Debug, Default)]
struct Ledger {
    families: Vec<Family>,
    /// Codes whose redemption was acknowledged, with their requests.
    redeemed: Vec<(String, CodeRequest)>,
    /// Access tokens whose revocation was acknowledged.
    revoked_access: Vec<String>,
    /// Access tokens whose revocation was in flight at the kill.
    access_in_doubt: Vec<String>,
    /// Answers no live server should give, and failures before the kill.
    failures: Vec<String>,
}

/// A task of the load.
struct Worker {
    http: reqwest::Client,
    browser: Browser,
    token: Url,
    revocation: Url,
    authorization: Url,
    auth: ClientAuth,
    acked: Arc<AtomicUsize>,
    killed: Arc<AtomicBool>,
}

/// What a revocation names.
#[derive(Debug, Clone, Copy)]
enum Revoke {
    /// The newest refresh token, which revokes the whole grant.
    Grant,
    /// The newest access token alone.
    AccessToken,
}

/// The outcome of one request: a 200 with what was asked for, or no (whole) answer.
enum Answer {
    Ok(Reply),
    None,
}

impl Worker {
    /// POSTs `form`; a complete 200 carrying `members` is an answer. A request cut by the kill
    /// is no answer; anything else (an error status, a failure while the server was up) is
    /// recorded as a failure and also ends the task.
    async fn post(
        &self,
        ledger: &mut Ledger,
        url: &Url,
        form: &[(&str, &str)],
        members: &[&str],
    ) -> Answer {
        let result = oauth::post_form(&self.http, url.as_str(), &self.auth, form).await;
        let killed = self.killed.load(Ordering::SeqCst);
        match result {
            Ok(reply) if reply.status == 200 && members.iter().all(|m| reply.str(m).is_some()) => {
                self.acked.fetch_add(1, Ordering::SeqCst);
                Answer::Ok(reply)
            }
            // The status line left before the kill, the body did not.
            Ok(reply) if reply.status == 200 && killed => Answer::None,
            Ok(reply) => {
                ledger
                    .failures
                    .push(format!("{url}: {} {}", reply.status, reply.body));
                Answer::None
            }
            Err(_) if killed => Answer::None,
            Err(err) => {
                ledger
                    .failures
                    .push(format!("{url} while the server was up: {err:#}"));
                Answer::None
            }
        }
    }

    /// A token request answered with an access and a refresh token, or `None`.
    async fn token_request(
        &self,
        ledger: &mut Ledger,
        form: &[(&str, &str)],
    ) -> Option<(String, String)> {
        match self
            .post(
                ledger,
                &self.token,
                form,
                &["access_token", "refresh_token"],
            )
            .await
        {
            Answer::Ok(reply) => Some((
                reply.str("access_token").unwrap().to_owned(),
                reply.str("refresh_token").unwrap().to_owned(),
            )),
            Answer::None => None,
        }
    }

    /// Signs in (first time only), consents and redeems a code: a new family.
    async fn new_family(&self, ledger: &mut Ledger) -> Option<usize> {
        let request = CodeRequest::new(WEB, WEB_CB, SCOPE);
        let login = ledger
            .families
            .is_empty()
            .then_some((ALICE, ALICE_PASSWORD));
        let walked = self
            .browser
            .walk(
                &request.url_at(&self.authorization),
                login,
                Consent::Approve,
            )
            .await
            .and_then(|outcome| outcome.redirect())
            .and_then(CodeResponse::from_redirect);
        let code = match walked {
            Ok(response) => response.code,
            Err(_) if self.killed.load(Ordering::SeqCst) => return None,
            Err(err) => {
                ledger.failures.push(format!("authorization: {err:#}"));
                return None;
            }
        };
        // An unanswered redemption may or may not have consumed the code.
        let (access, refresh) = self
            .token_request(ledger, &request.redeem_form(&code))
            .await?;
        ledger.families.push(Family {
            chain: vec![refresh],
            access: vec![access],
            ..Family::default()
        });
        ledger.redeemed.push((code, request));
        Some(ledger.families.len() - 1)
    }

    /// Rotates the family's newest refresh token.
    async fn rotate(&self, ledger: &mut Ledger, f: usize) -> bool {
        let newest = ledger.families[f].chain.last().unwrap().clone();
        let form = [("grant_type", "refresh_token"), ("refresh_token", &newest)];
        match self.token_request(ledger, &form).await {
            Some((access, refresh)) => {
                let family = &mut ledger.families[f];
                family.chain.push(refresh);
                family.access.push(access);
                true
            }
            None => {
                ledger.families[f].in_doubt = true;
                false
            }
        }
    }

    /// Revokes the family's newest refresh token (and with it the grant) or its newest access
    /// token alone.
    async fn revoke(&self, ledger: &mut Ledger, f: usize, what: Revoke) -> bool {
        let family = &ledger.families[f];
        let (token, hint) = match what {
            Revoke::Grant => (family.chain.last(), "refresh_token"),
            Revoke::AccessToken => (family.access.last(), "access_token"),
        };
        let token = token.unwrap().clone();
        let form = [("token", token.as_str()), ("token_type_hint", hint)];
        let answered = matches!(
            self.post(ledger, &self.revocation, &form, &[]).await,
            Answer::Ok(_)
        );
        match (what, answered) {
            (Revoke::Grant, _) => {
                ledger.families[f].revoked = answered;
                ledger.families[f].in_doubt = !answered;
            }
            (Revoke::AccessToken, true) => ledger.revoked_access.push(token),
            (Revoke::AccessToken, false) => ledger.access_in_doubt.push(token),
        }
        answered
    }

    /// Runs until the server stops answering. Each family is redeemed, rotated three times,
    /// loses an access token to revocation, is rotated twice more and then either has its
    /// refresh token revoked (even families) or is left alive (odd ones).
    async fn run(self) -> Ledger {
        let mut ledger = Ledger::default();
        let mut live: Option<(usize, usize)> = None;
        for _ in 0..MAX_STEPS {
            let went_on = match live {
                None => match self.new_family(&mut ledger).await {
                    Some(f) => {
                        live = Some((f, 0));
                        true
                    }
                    None => false,
                },
                Some((f, step)) => {
                    live = Some((f, step + 1));
                    match step {
                        3 => self.revoke(&mut ledger, f, Revoke::AccessToken).await,
                        6 if f % 2 == 0 => {
                            live = None;
                            self.revoke(&mut ledger, f, Revoke::Grant).await
                        }
                        6 => {
                            live = None;
                            true
                        }
                        _ => self.rotate(&mut ledger, f).await,
                    }
                }
            };
            if !went_on {
                break;
            }
        }
        ledger
    }
}

/// Registers the web client and alice directly in the database the server will open.
async fn seed(store: &dyn Store) {
    admin::add_client(
        store,
        &SystemClock,
        &crate::process::sealed_config(),
        ClientSpec::confidential(WEB, WEB_SECRET)
            .redirect_uri(WEB_CB)
            .grant_types(&[GrantType::AuthorizationCode, GrantType::RefreshToken])
            .scope(SCOPE)
            .audience(&[API])
            .into_config(),
    )
    .await
    .unwrap();
    store
        .put_user(user_record(ALICE, ALICE_PASSWORD, SystemClock.now().as_secs()).unwrap())
        .await
        .unwrap();
}

/// Drives the load against `served`, kills it once `KILL_AFTER` operations were acknowledged,
/// and returns what each task was told.
async fn load_then_kill(served: &mut Served) -> Vec<Ledger> {
    let acked = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..WORKERS)
        .map(|_| {
            let worker = Worker {
                http: reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap(),
                browser: Browser::new(served.base().clone()).unwrap(),
                token: served.endpoints.token.clone(),
                revocation: served.endpoints.revocation.clone(),
                authorization: served.endpoints.authorization.clone(),
                auth: ClientAuth::basic(WEB, WEB_SECRET),
                acked: Arc::clone(&acked),
                killed: Arc::clone(&killed),
            };
            tokio::spawn(worker.run())
        })
        .collect();
    let deadline = Instant::now() + LOAD_DEADLINE;
    while acked.load(Ordering::SeqCst) < KILL_AFTER
        && !tasks.iter().all(tokio::task::JoinHandle::is_finished)
    {
        assert!(Instant::now() < deadline, "the load did not get going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    killed.store(true, Ordering::SeqCst);
    served.kill();
    let mut ledgers = Vec::new();
    for task in tasks {
        ledgers.push(task.await.unwrap());
    }
    let failures: Vec<_> = ledgers.iter().flat_map(|l| l.failures.iter()).collect();
    assert!(failures.is_empty(), "DUR-1: during the load: {failures:#?}");
    assert!(
        acked.load(Ordering::SeqCst) >= KILL_AFTER,
        "DUR-1: the load stopped before the kill"
    );
    ledgers
}

/// What a client can ask the restarted server.
struct Checker {
    http: reqwest::Client,
    served_token: Url,
    introspection: Url,
    auth: ClientAuth,
}

impl Checker {
    async fn token(&self, form: &[(&str, &str)]) -> Reply {
        oauth::post_form(&self.http, self.served_token.as_str(), &self.auth, form)
            .await
            .unwrap()
    }

    async fn refresh(&self, token: &str) -> Reply {
        self.token(&[("grant_type", "refresh_token"), ("refresh_token", token)])
            .await
    }

    async fn active(&self, token: &str) -> bool {
        let reply = oauth::post_form(
            &self.http,
            self.introspection.as_str(),
            &self.auth,
            &[("token", token)],
        )
        .await
        .unwrap();
        assert_eq!(reply.status, 200, "introspection: {}", reply.body);
        reply.json["active"] == Value::Bool(true)
    }
}

/// Checks every acknowledged write against the restarted server. Code replays revoke grants
/// (CODE-2) and rotated-token replays revoke families (RT-3), so they come after the checks that
/// need the grants alive.
async fn check_after_restart(served: &Served, ledgers: &[Ledger]) {
    let http = reqwest::Client::new();
    let checker = Checker {
        http: http.clone(),
        served_token: served.endpoints.token.clone(),
        introspection: served.endpoints.introspection.clone(),
        auth: ClientAuth::basic(WEB, WEB_SECRET),
    };
    let families: Vec<&Family> = ledgers.iter().flat_map(|l| &l.families).collect();
    let revoked_access: Vec<&String> = ledgers.iter().flat_map(|l| &l.revoked_access).collect();
    let access_in_doubt: Vec<&String> = ledgers.iter().flat_map(|l| &l.access_in_doubt).collect();

    // The signing keys survived: every access token handed out still verifies.
    let keys = fetch_key_set(&http, &served.endpoints.jwks).await.unwrap();
    let validator = access_token_validator(&served.issuer, API);
    for token in families.iter().flat_map(|f| &f.access) {
        validator
            .verify::<Value>(token, &keys, SystemClock.now())
            .unwrap_or_else(|e| {
                panic!("DUR-1: an acknowledged access token no longer verifies: {e}")
            });
    }

    // Revocations survived; access tokens of live grants are still active.
    for token in &revoked_access {
        assert!(
            !checker.active(token).await,
            "DUR-1: a revoked access token is active again"
        );
    }
    for family in &families {
        for token in &family.access {
            if family.revoked {
                assert!(
                    !checker.active(token).await,
                    "DUR-1: an access token of a revoked grant is active again"
                );
            } else if !family.in_doubt
                && !revoked_access.contains(&token)
                && !access_in_doubt.contains(&token)
            {
                assert!(
                    checker.active(token).await,
                    "DUR-1: an access token of a live grant was lost"
                );
            }
        }
        if family.revoked {
            let newest = family.chain.last().unwrap();
            assert!(
                !checker.active(newest).await,
                "DUR-1: a revoked refresh token is active again"
            );
            assert_token_error(&checker.refresh(newest).await, 400, "invalid_grant");
        }
    }

    // Rotations survived: the newest token works, every rotated-away one is refused, and
    // presenting one is reuse (RT-3), which revokes the family.
    for family in families.iter().filter(|f| !f.revoked) {
        let (newest, rotated_away) = family.chain.split_last().unwrap();
        let reply = checker.refresh(newest).await;
        let successor = if family.in_doubt {
            // The rotation or revocation in flight may have happened.
            if reply.status != 200 {
                assert_token_error(&reply, 400, "invalid_grant");
            }
            None
        } else {
            assert_eq!(
                reply.status, 200,
                "DUR-1: the newest acknowledged refresh token was lost: {}",
                reply.body
            );
            Some(reply.str("refresh_token").unwrap().to_owned())
        };
        for old in rotated_away {
            assert_token_error(&checker.refresh(old).await, 400, "invalid_grant");
        }
        if let (Some(successor), false) = (successor, rotated_away.is_empty()) {
            assert_token_error(&checker.refresh(&successor).await, 400, "invalid_grant");
        }
    }

    // Consumed codes stay consumed.
    for (code, request) in ledgers.iter().flat_map(|l| &l.redeemed) {
        assert_token_error(
            &checker.token(&request.redeem_form(code)).await,
            400,
            "invalid_grant",
        );
    }
}

/// Seeds, loads, kills, restarts on the same database and checks.
async fn crash_and_restart(database: &str, store: &dyn Store) {
    seed(store).await;
    let dir = tempfile::tempdir().unwrap();
    let mut served = Served::start(database, &[], &dir.path().join("serve.log")).await;
    let ledgers = load_then_kill(&mut served).await;
    served.restart().await;
    check_after_restart(&served, &ledgers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dur_1_acknowledged_writes_survive_sigkill_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("portcullis.db").display());
    let store = portcullis_server::store::connect(&database).await.unwrap();
    crash_and_restart(&database, store.as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dur_1_acknowledged_writes_survive_sigkill_on_postgres() {
    let Some((database, store)) = crate::common::postgres_schema("dur1").await else {
        return;
    };
    crash_and_restart(&database, &store).await;
    store.drop_schema().await.unwrap();
}
