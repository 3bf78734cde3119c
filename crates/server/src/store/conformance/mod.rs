//! The storage conformance suite: the contract of [`Store`] as executable cases, so that every
//! backend — the in-tree memory, SQLite and PostgreSQL ones and any out-of-tree one — is held to
//! the same behaviour (DUR-3): atomic single use of codes and artifacts, refresh rotation with
//! reuse detection, cascading revocation, the replay cache, the login throttle counting concurrent
//! attempts exactly, retention by [`Maintenance::gc`](crate::store::Maintenance::gc).
//!
//! Available with the `conformance` Cargo feature of `portcullis-server` (off by default).
//!
//! # Running it against a backend
//!
//! Write an async function that opens a fresh, empty store and returns it as a [`Backend`] (or
//! `None` to skip, e.g. when a database server is unreachable outside CI), and expand
//! [`conformance_suite!`](crate::conformance_suite) with it in a test target. That generates one
//! `#[test]` per case, named after the case; each runs on its own multi-threaded runtime and gets
//! its own store, whose cleanup (if any) runs even when the case fails:
//!
//! ```ignore
//! // tests/conformance.rs of the backend crate, which has in its [dev-dependencies]:
//! // portcullis-server = { version = "…", features = ["conformance"] }
//! use std::sync::Arc;
//! use portcullis_server::store::conformance::Backend;
//!
//! async fn open() -> Option<Backend> {
//!     let store = my_backend::MyStore::connect("…").await.ok()?;
//!     let handle = store.clone();
//!     Some(Backend::new(Arc::new(store)).with_cleanup(async move { handle.drop_all().await }))
//! }
//!
//! portcullis_server::conformance_suite!(open);
//! ```
//!
//! Expand it inside a module to run it for several backends in one target (as the in-tree backends
//! do: `mod memory { portcullis_server::conformance_suite!(super::open_memory); }`). Each case is
//! also a public async function of [`tokens`], [`accounts`], [`upstreams`] or [`audit`] taking the store, and [`run`] runs
//! one of them the way the generated tests do.

// The cases are tests: a failed assertion or unwrap is the test failing, as in `#[cfg(test)]`
// code, which clippy lets unwrap and index. Each case is named after the behaviour it checks
// (with its checklist ID where it has one): the name is its documentation.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use portcullis_types::{CodeChallengeMethod, Scope};

use super::{CodeRecord, GrantRecord, RefreshRecord, RefreshStatus, Store};

pub mod accounts;
pub mod audit;
pub mod tokens;
pub mod upstreams;

#[cfg(test)]
mod backends;
#[cfg(test)]
mod time_columns;

/// A fresh store under test plus what must be cleaned up after the case.
pub struct Backend {
    store: Arc<dyn Store>,
    cleanup: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("store", &self.store)
            .field("cleanup", &self.cleanup.is_some())
            .finish()
    }
}

impl Backend {
    /// A backend needing no cleanup.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            cleanup: None,
        }
    }

    /// Runs `cleanup` (dropping a schema, closing a pool, deleting files) after the case,
    /// whether it passed or failed.
    #[must_use]
    pub fn with_cleanup(mut self, cleanup: impl Future<Output = ()> + Send + 'static) -> Self {
        self.cleanup = Some(Box::pin(cleanup));
        self
    }

    /// The store under test.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Runs the cleanup.
    pub async fn finish(self) {
        if let Some(cleanup) = self.cleanup {
            cleanup.await;
        }
    }
}

impl From<Arc<dyn Store>> for Backend {
    fn from(store: Arc<dyn Store>) -> Self {
        Self::new(store)
    }
}

/// Runs one case against a backend opened by `open` on a fresh multi-threaded runtime (the
/// concurrency cases need real parallelism), then the backend's cleanup; a failing case panics
/// with its own message after the cleanup. Skips (returns) when `open` yields `None`.
pub fn run<O, OF, C, CF>(open: O, case: C)
where
    O: FnOnce() -> OF,
    OF: Future<Output = Option<Backend>>,
    C: FnOnce(Arc<dyn Store>) -> CF,
    CF: Future<Output = ()> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a runtime for the conformance case");
    runtime.block_on(async move {
        let Some(backend) = open().await else {
            return;
        };
        // Run the case as a task so a failing assertion still runs the cleanup.
        let outcome = tokio::spawn(case(Arc::clone(&backend.store))).await;
        backend.finish().await;
        if let Err(e) = outcome {
            if e.is_panic() {
                std::panic::resume_unwind(e.into_panic());
            }
            panic!("conformance case did not finish: {e}");
        }
    });
}

/// Expands to one `#[test]` per conformance case, each running the case against a fresh backend
/// from `$open` (an async function returning
/// `Option<`[`Backend`](crate::store::conformance::Backend)`>`) through
/// [`run`](crate::store::conformance::run). See the [`store::conformance`] docs.
///
/// [`store::conformance`]: crate::store::conformance
#[macro_export]
macro_rules! conformance_suite {
    ($open:path) => {
        $crate::__conformance_cases!(
            $open;
            tokens::code_1_second_consume_is_already_consumed,
            tokens::code_6_expired_code_is_expired,
            tokens::code_3_concurrent_consume_exactly_one,
            tokens::code_insert_duplicate_is_conflict,
            tokens::rt_3_reuse_after_rotation_is_reused,
            tokens::rt_4_concurrent_rotation_exactly_one,
            tokens::rt_5_grace_retry_exactly_once_within_the_window,
            tokens::rt_7_expired_refresh_is_expired,
            tokens::refresh_requires_live_grant,
            tokens::rotate_after_grant_revocation_is_reused,
            tokens::revoke_refresh_only_that_token,
            tokens::code_2_revoke_grant_cascades,
            tokens::code_2_revocation_racing_token_recording_denylists_all,
            tokens::rt_3_revocation_racing_rotation_leaves_nothing_active,
            tokens::tok_10_jti_denylist_honours_expiry,
            tokens::code_8_replay_namespaces_are_separate,
            tokens::code_8_codes_and_refresh_tokens_never_cross,
            tokens::dur_3_concurrent_replay_insert_exactly_one,
            tokens::dur_4_gc_keeps_rotated_tokens_of_live_family,
            tokens::gc_removes_only_dead_state,
            accounts::clients_crud,
            accounts::insert_client_refuses_a_taken_id,
            accounts::roles_and_groups_crud,
            accounts::scheduled_rotation_creates_one_key,
            tokens::mirror_live_entries_page_in_order_and_markers_only_move_forward,
            tokens::mirror_queue_is_first_in_first_out_until_delivered,
            accounts::removing_a_role_or_group_takes_it_from_its_holders,
            accounts::user_identity_round_trips,
            accounts::insert_client_concurrent_exactly_one,
            accounts::users_crud_and_duplicate_username_conflict,
            accounts::users_found_by_email,
            accounts::sessions_expire,
            accounts::user_sessions_deleted_together,
            accounts::user_sessions_listed_and_ended_one_by_one,
            accounts::throttle_counts_within_window,
            accounts::dos_4_concurrent_attempts_exactly_limit_pass,
            accounts::dos_4_released_attempts_no_longer_count,
            accounts::signing_key_crud,
            accounts::signing_key_created_once,
            accounts::server_secret_inserted_once,
            accounts::consent_scopes_accumulate,
            accounts::withdraw_consent_cascades,
            accounts::code_8_artifacts_single_use_and_namespaced,
            accounts::artifact_compare_and_swap,
            accounts::health_is_ok,
            upstreams::upstreams_crud,
            upstreams::upstream_link_is_unique_per_account,
            upstreams::upstream_links_go_with_upstream_and_user,
            upstreams::upstream_link_deleted_per_user_and_upstream,
            upstreams::upstream_link_concurrent_exactly_one,
            audit::audit_events_round_trip_newest_first,
            audit::audit_pages_follow_the_cursor_without_gaps,
            audit::audit_filters_combine,
            audit::audit_pages_are_bounded,
            audit::audit_retention_deletes_only_older_events,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($open:path; $($group:ident :: $case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::store::conformance::run(
                    $open,
                    $crate::store::conformance::$group::$case,
                );
            }
        )*
    };
}

/// A live grant of user `user` to client `client`.
pub(super) fn grant(id: &str, user: &str, client: &str, now: i64) -> GrantRecord {
    GrantRecord {
        id: id.into(),
        client_id: client.into(),
        user_id: user.into(),
        scope: Scope::parse("openid offline_access").unwrap(),
        auth_time: now,
        sid: Some("sid-1".into()),
        created_at: now,
        revoked_at: None,
    }
}

/// An authorization code of `grant_id` expiring at `expires_at`.
pub(super) fn code(hash: &str, grant_id: &str, expires_at: i64) -> CodeRecord {
    CodeRecord {
        code_hash: hash.into(),
        client_id: "client-a".into(),
        user_id: "user-1".into(),
        grant_id: grant_id.into(),
        redirect_uri: "https://app.example/cb".into(),
        scope: Scope::parse("openid").unwrap(),
        nonce: Some("n-0S6_WzA2Mj".into()),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        code_challenge_method: Some(CodeChallengeMethod::S256),
        auth_time: expires_at - 120,
        sid: Some("sid-1".into()),
        resource: vec!["https://api.example".into()],
        extra: serde_json::json!({"acr": "1"}),
        expires_at,
        consumed_at: None,
    }
}

/// A refresh token of `grant_id` issued at `now`: 1 h inactivity, 1 day absolute.
pub(super) fn refresh(hash: &str, grant_id: &str, now: i64) -> RefreshRecord {
    RefreshRecord {
        token_hash: hash.into(),
        grant_id: grant_id.into(),
        client_id: "client-a".into(),
        user_id: "user-1".into(),
        scope: Scope::parse("openid offline_access").unwrap(),
        issued_at: now,
        expires_at: now + 3_600,
        absolute_expires_at: now + 86_400,
        auth_time: now,
        sid: Some("sid-1".into()),
        status: RefreshStatus::Active,
        upstream: None,
    }
}
