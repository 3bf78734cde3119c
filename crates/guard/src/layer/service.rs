//! [`GuardService`]: finds the token synchronously, then verifies it in the response future;
//! a request is passed on only with verified claims in its extensions (or, in optional mode, with no token at all).

use super::ResponseFuture;
use crate::extract::{GuardHandle, VerifiedClaims};
use crate::guard::Guard;
use axum::response::Response;
use http::Request;
use std::task::{Context, Poll};
use tower::Service;

/// The middleware built by [`GuardLayer`](super::GuardLayer).
#[derive(Debug, Clone)]
pub struct GuardService<S> {
    inner: S,
    guard: Guard,
    optional: bool,
}

impl<S> GuardService<S> {
    pub(crate) fn new(inner: S, guard: Guard, optional: bool) -> Self {
        Self {
            inner,
            guard,
            optional,
        }
    }
}

impl<S, B> Service<Request<B>> for GuardService<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // Claims a client may have smuggled in cannot exist (the type is private), but clear
        // the slot anyway so only this service decides what the handlers see.
        request.extensions_mut().remove::<VerifiedClaims>();
        request
            .extensions_mut()
            .insert(GuardHandle(self.guard.clone()));
        let token = match self.guard.extract(request.headers(), request.uri()) {
            Ok(token) => token,
            Err(rejection) => return ResponseFuture::rejected(rejection),
        };
        match token {
            None if self.optional => ResponseFuture::inner(self.inner.call(request)),
            None => ResponseFuture::rejected(self.guard.missing_token()),
            Some(token) => {
                // The ready service handles this request; the clone waits for the next one.
                let clone = self.inner.clone();
                let ready = std::mem::replace(&mut self.inner, clone);
                let guard = self.guard.clone();
                let check = Box::pin(async move { guard.check(&token).await });
                ResponseFuture::authenticating(check, ready, request)
            }
        }
    }
}
