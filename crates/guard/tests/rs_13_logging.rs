//! RS-13: the guard's logs name tokens by `jti` or hash, never by value. A test binary of its
//! own, so no other test registers the log callsites before the capturing subscriber exists.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use portcullis_guard::jose::Algorithm;
use std::sync::{Arc, Mutex};

#[test]
fn rs_13_logs_never_contain_the_token() {
    use std::io::Write;
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let issuer = TestIssuer::new(Algorithm::ES256);
    let good = issuer.token();
    let forged = TestIssuer::new(Algorithm::ES256).token();
    runtime.block_on(async {
        send(app(&issuer.guard()), get_with("/me", Some(&bearer(&good)))).await;
        send(
            app(&issuer.guard()),
            get_with("/me", Some(&bearer(&forged))),
        )
        .await;
    });
    let logs = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("sha256:"),
        "the refusal is logged with a hash: {logs}"
    );
    assert!(
        logs.contains("jti:jti-1"),
        "the acceptance is logged with the jti: {logs}"
    );
    for token in [&good, &forged] {
        let signature = token.rsplit('.').next().unwrap();
        assert!(!logs.contains(signature));
    }
}
