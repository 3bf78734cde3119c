//! The opt-in refresh grace window (RT-5): within it, the same client presenting the token it
//! just rotated gets one working refresh token and the family lives on; a second retry, a retry
//! after the window, or any reuse by a client without a window revokes the family (RT-3).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use common::*;

async fn with_grace(grace: Option<i64>) -> Harness {
    let h = harness().await;
    replace_web(&h, |c| c.refresh_grace_secs = grace)
        .await
        .unwrap();
    h
}

async fn first_refresh_token(h: &Harness) -> String {
    let (location, _) = login_and_consent(h, &authorize_url("")).await;
    let code = param(&location, "code").unwrap();
    let resp = redeem(h, &code, VERIFIER).await;
    assert_eq!(resp.status(), 200);
    body_json(resp).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Presents `token`; the new refresh token on success, the `error` otherwise.
async fn refresh(h: &Harness, token: &str) -> Result<String, String> {
    let resp = send(
        &h.router,
        form_with(
            "/token",
            &format!("grant_type=refresh_token&refresh_token={}", enc(token)),
            &[("authorization", &basic("web", WEB_SECRET))],
        ),
    )
    .await;
    let ok = resp.status() == 200;
    let body = body_json(resp).await;
    if ok {
        Ok(body["refresh_token"].as_str().unwrap().to_owned())
    } else {
        Err(body["error"].as_str().unwrap().to_owned())
    }
}

#[tokio::test]
async fn rt_5_one_retry_within_the_window_keeps_the_family() {
    let h = with_grace(Some(30)).await;
    let a = first_refresh_token(&h).await;
    let b = refresh(&h, &a).await.unwrap();
    h.clock.advance(10);
    // The response carrying B was "lost": the client retries with A.
    let c = refresh(&h, &a).await.unwrap();
    assert_ne!(b, c);
    // Both successors work: the family is alive.
    let d = refresh(&h, &c).await.unwrap();
    refresh(&h, &b).await.unwrap();
    // A second retry of A is reuse: the whole family goes.
    assert_eq!(refresh(&h, &a).await.unwrap_err(), "invalid_grant");
    assert_eq!(refresh(&h, &d).await.unwrap_err(), "invalid_grant");
}

#[tokio::test]
async fn rt_5_a_retry_after_the_window_revokes_the_family() {
    let h = with_grace(Some(30)).await;
    let a = first_refresh_token(&h).await;
    let b = refresh(&h, &a).await.unwrap();
    h.clock.advance(31);
    assert_eq!(refresh(&h, &a).await.unwrap_err(), "invalid_grant");
    assert_eq!(refresh(&h, &b).await.unwrap_err(), "invalid_grant");
}

#[tokio::test]
async fn rt_5_without_a_window_any_reuse_revokes_the_family() {
    let h = with_grace(None).await;
    let a = first_refresh_token(&h).await;
    let b = refresh(&h, &a).await.unwrap();
    assert_eq!(refresh(&h, &a).await.unwrap_err(), "invalid_grant");
    assert_eq!(refresh(&h, &b).await.unwrap_err(), "invalid_grant");
}

#[tokio::test]
async fn rt_5_the_window_is_bounded() {
    let h = harness().await;
    for bad in [61, -1] {
        let err = replace_web(&h, |c| c.refresh_grace_secs = Some(bad))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("refresh_grace_secs"), "{err}");
    }
}
