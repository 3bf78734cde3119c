//! The authorization code grant (checklist CODE-*): the happy path and RFC 9068 access tokens,
//! single use, revocation on reuse, atomic redemption, binding to client and redirect URI.

use crate::common::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_testkit::{ClientAuth, decode_jwt_parts};
use std::sync::Arc;

#[tokio::test]
async fn code_flow_issues_rfc9068_access_token() {
    let env = Env::start().await;
    let (request, code) = env.web_code("openid orders:read").await;
    let reply = env
        .server
        .redeem(&env.web_auth(), &code, &request)
        .await
        .unwrap();
    assert_token_ok(&reply);
    assert_eq!(reply.header("pragma"), Some("no-cache"));
    assert_eq!(reply.json["expires_in"], 900);
    let scope = reply.str("scope").unwrap();
    assert!(scope.split(' ').any(|s| s == "orders:read"), "{scope}");
    let access = reply.str("access_token").unwrap();
    let (header, _) = decode_jwt_parts(access).unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    assert!(header["kid"].is_string());
    let claims = env.server.verify_access_token(access, API).await.unwrap();
    assert_eq!(claims["iss"], env.server.issuer());
    assert_eq!(claims["sub"], env.alice_sub.as_str());
    assert_eq!(claims["client_id"], WEB);
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(iat, env.server.now());
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 900);
    let token_scope = claims["scope"].as_str().unwrap();
    assert!(token_scope.split(' ').any(|s| s == "orders:read"));
}

#[tokio::test]
async fn code_1_code_is_single_use() {
    let env = Env::start().await;
    let (request, code) = env.web_code("openid").await;
    let first = env
        .server
        .redeem(&env.web_auth(), &code, &request)
        .await
        .unwrap();
    assert_token_ok(&first);
    let second = env
        .server
        .redeem(&env.web_auth(), &code, &request)
        .await
        .unwrap();
    assert_token_error(&second, 400, "invalid_grant");
}

#[tokio::test]
async fn code_1_code_is_single_use_after_30_seconds() {
    let env = Env::start().await;
    let (request, code) = env.web_code("openid").await;
    assert_token_ok(
        &env.server
            .redeem(&env.web_auth(), &code, &request)
            .await
            .unwrap(),
    );
    env.server.advance(30);
    let second = env
        .server
        .redeem(&env.web_auth(), &code, &request)
        .await
        .unwrap();
    assert_token_error(&second, 400, "invalid_grant");
}

#[tokio::test]
async fn code_2_reuse_revokes_the_grant() {
    let env = Env::start().await;
    let (request, code) = env.web_code("openid offline_access orders:read").await;
    let first = env
        .server
        .redeem(&env.web_auth(), &code, &request)
        .await
        .unwrap();
    assert_token_ok(&first);
    let access = first.str("access_token").unwrap().to_owned();
    let refresh = first
        .str("refresh_token")
        .expect("refresh token")
        .to_owned();
    assert!(env.is_active(&access).await);

    let second = env
        .server
        .redeem(&env.web_auth(), &code, &request)
        .await
        .unwrap();
    assert_token_error(&second, 400, "invalid_grant");

    assert!(
        !env.is_active(&access).await,
        "access token survived code reuse"
    );
    let refreshed = env
        .server
        .refresh(&env.web_auth(), &refresh, None)
        .await
        .unwrap();
    assert_token_error(&refreshed, 400, "invalid_grant");
    let userinfo = env.server.userinfo(&access).await.unwrap();
    assert_eq!(userinfo.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn code_3_parallel_redemptions_exactly_one_succeeds() {
    let env = Arc::new(Env::start().await);
    let (request, code) = env.web_code("openid").await;
    let request = Arc::new(request);
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let env = Arc::clone(&env);
        let request = Arc::clone(&request);
        let code = code.clone();
        tasks.push(tokio::spawn(async move {
            env.server
                .redeem(&env.web_auth(), &code, &request)
                .await
                .unwrap()
        }));
    }
    let mut ok = 0;
    for task in tasks {
        let reply = task.await.unwrap();
        match reply.status.as_u16() {
            200 => ok += 1,
            400 => assert_eq!(reply.error(), Some("invalid_grant"), "{}", reply.body),
            other => panic!("unexpected status {other}: {}", reply.body),
        }
    }
    assert_eq!(ok, 1, "exactly one redemption may succeed");
}

#[tokio::test]
async fn code_4_code_is_bound_to_the_client() {
    let env = Env::start().await;
    let (request, code) = env.web_code("openid").await;
    let mut other_request = request.clone();
    other_request.redirect_uri = Some(OTHER_CB.to_owned());
    let reply = env
        .server
        .redeem(&env.other_auth(), &code, &request)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
    let reply = env
        .server
        .redeem(&env.other_auth(), &code, &other_request)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
    // A public client naming the web client's code is refused too.
    let reply = env
        .server
        .redeem(&env.spa_auth(), &code, &request)
        .await
        .unwrap();
    assert_eq!(reply.error(), Some("invalid_grant"), "{}", reply.body);
}

#[tokio::test]
async fn code_5_code_is_bound_to_the_redirect_uri() {
    let env = Env::start().await;
    let (request, code) = env.web_code("openid").await;
    let mut wrong = request.clone();
    wrong.redirect_uri = Some("https://web.example/cb/".to_owned());
    let reply = env
        .server
        .redeem(&env.web_auth(), &code, &wrong)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
}

#[tokio::test]
async fn code_6_expired_code_is_refused() {
    let env = Env::start().await;
    let (request, code) = env.web_code("openid").await;
    env.server.advance(10 * 60 + 1);
    let reply = env
        .server
        .redeem(&env.web_auth(), &code, &request)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
}

/// Every file of the SQLite database (main file, WAL, shared memory) as bytes.
fn sqlite_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    bytes
}

/// Which of `needles` (all of one length) occur in `haystack`, in one pass.
fn found<'a>(haystack: &[u8], needles: &[&'a [u8]]) -> std::collections::HashSet<&'a [u8]> {
    let wanted: std::collections::HashSet<&[u8]> = needles.iter().copied().collect();
    let len = needles[0].len();
    assert!(needles.iter().all(|n| n.len() == len));
    haystack
        .windows(len)
        .filter_map(|w| wanted.get(w).copied())
        .collect()
}

#[tokio::test]
async fn code_7_codes_are_long_random_and_distinct() {
    const CODES: usize = 256;
    let env = Env::start_with(
        portcullis_testkit::TestServer::builder().store(portcullis_testkit::StoreKind::Sqlite),
    )
    .await;
    let browser = env.signed_in_browser().await;
    let mut codes = Vec::with_capacity(CODES);
    for _ in 0..CODES {
        let response = env
            .server
            .authorize(&browser, &env.web_request("openid"), None)
            .await
            .expect("authorization succeeds");
        codes.push(response.code);
    }

    // Distinct, and at least 128 bits once decoded (base64url, as the server writes it).
    let unique: std::collections::HashSet<&String> = codes.iter().collect();
    assert_eq!(unique.len(), CODES, "a code repeated");
    let decoded: Vec<Vec<u8>> = codes
        .iter()
        .map(|c| URL_SAFE_NO_PAD.decode(c).expect("code is base64url"))
        .collect();
    let len = decoded[0].len();
    assert!(len >= 16, "codes carry {len} bytes, fewer than 128 bits");
    assert!(decoded.iter().all(|d| d.len() == len), "code lengths vary");

    // Every bit position is set in about half of the codes: with 256 codes the count of a fair
    // bit has a standard deviation of 8, and [80, 176] is six of them either side of 128. A
    // counter, a timestamp or a constant prefix leaves positions stuck near 0 or 256.
    for bit in 0..len * 8 {
        let ones = decoded
            .iter()
            .filter(|d| d[bit / 8] & (0x80 >> (bit % 8)) != 0)
            .count();
        assert!(
            (80..=176).contains(&ones),
            "bit {bit} is set in {ones} of {CODES} codes"
        );
    }
    // No byte is a copy or complement of another (repeated halves would fake the length).
    for i in 0..len {
        for j in i + 1..len {
            assert!(
                decoded.iter().any(|d| d[i] != d[j]) && decoded.iter().any(|d| d[i] != !d[j]),
                "bytes {i} and {j} are tied in every code"
            );
        }
    }

    // At rest: the database holds the codes' digests, never a code.
    let bytes = sqlite_bytes(env.server.sqlite_dir().expect("SQLite store"));
    let raw_codes: Vec<&[u8]> = codes.iter().map(|c| c.as_bytes()).collect();
    assert!(found(&bytes, &raw_codes).is_empty(), "a raw code is stored");
    let raw_bytes: Vec<&[u8]> = decoded.iter().map(Vec::as_slice).collect();
    assert!(
        found(&bytes, &raw_bytes).is_empty(),
        "a code's raw bytes are stored"
    );
    let digests: Vec<String> = codes
        .iter()
        .map(|c| portcullis_server::store::secret_hash(c))
        .collect();
    let digests: Vec<&[u8]> = digests.iter().map(|d| d.as_bytes()).collect();
    assert_eq!(
        found(&bytes, &digests).len(),
        CODES,
        "the codes' digests are not all in the database, so the search proves nothing"
    );
}

#[tokio::test]
async fn code_8_artifacts_of_one_kind_are_not_accepted_as_another() {
    let env = Env::start().await;
    let tokens = env.web_tokens("openid offline_access").await;
    let refresh = tokens.refresh_token.clone().expect("refresh token");
    let request = env.web_request("openid");
    // A refresh token presented as a code.
    let reply = env
        .server
        .redeem(&env.web_auth(), &refresh, &request)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
    // An access token presented as a code and as a refresh token.
    let reply = env
        .server
        .redeem(&env.web_auth(), &tokens.access_token, &request)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
    let reply = env
        .server
        .refresh(&env.web_auth(), &tokens.access_token, None)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
    // A code presented as a refresh token.
    let (_, code) = env.web_code("openid").await;
    let reply = env
        .server
        .refresh(&env.web_auth(), &code, None)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
}

#[tokio::test]
async fn code_flow_works_for_public_client_with_pkce() {
    let env = Env::start().await;
    let tokens = env.spa_tokens("openid orders:read").await;
    let claims = env
        .server
        .verify_access_token(&tokens.access_token, API)
        .await
        .unwrap();
    assert_eq!(claims["client_id"], SPA);
    assert_eq!(claims["sub"], env.alice_sub.as_str());
}

#[tokio::test]
async fn code_flow_with_client_secret_post() {
    let env = Env::start().await;
    let (request, code) = env.web_code("openid").await;
    let reply = env
        .server
        .redeem(&ClientAuth::post(WEB, WEB_SECRET), &code, &request)
        .await
        .unwrap();
    assert_token_ok(&reply);
}

#[tokio::test]
async fn code_flow_without_client_authentication_is_refused_for_confidential_client() {
    let env = Env::start().await;
    let (request, code) = env.web_code("openid").await;
    let reply = env
        .server
        .redeem(&ClientAuth::public(WEB), &code, &request)
        .await
        .unwrap();
    assert_token_error(&reply, 401, "invalid_client");
    // The code survives a failed client authentication only if the server checks the client
    // first; either way the legitimate client still gets exactly one use.
}

#[tokio::test]
async fn dur_2_consumed_and_rotated_state_survives_restart_on_sqlite() {
    let mut env = Env::start_with(
        portcullis_testkit::TestServer::builder().store(portcullis_testkit::StoreKind::Sqlite),
    )
    .await;
    let (request, code) = env.web_code("openid offline_access orders:read").await;
    let first = env
        .server
        .redeem(&env.web_auth(), &code, &request)
        .await
        .unwrap();
    assert_token_ok(&first);
    let refresh = first.str("refresh_token").unwrap().to_owned();
    let rotated = env
        .server
        .refresh(&env.web_auth(), &refresh, None)
        .await
        .unwrap();
    assert_token_ok(&rotated);
    let access = rotated.str("access_token").unwrap().to_owned();

    env.server.restart().await.unwrap();

    // Keys survived: the access token issued before the restart still verifies and is active.
    env.server.verify_access_token(&access, API).await.unwrap();
    assert!(env.is_active(&access).await);
    // The consumed code is still consumed.
    let again = env
        .server
        .redeem(&env.web_auth(), &code, &request)
        .await
        .unwrap();
    assert_token_error(&again, 400, "invalid_grant");
    // The rotated refresh token is still rotated (and its reuse still revokes the family).
    let reuse = env
        .server
        .refresh(&env.web_auth(), &refresh, None)
        .await
        .unwrap();
    assert_token_error(&reuse, 400, "invalid_grant");
    assert!(!env.is_active(&access).await);
}
