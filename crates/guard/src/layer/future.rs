//! [`ResponseFuture`]: waits for the token check, then either answers with the RFC 6750
//! rejection or calls the inner service with the verified claims attached.

use crate::claims::AccessClaims;
use crate::extract::VerifiedClaims;
use crate::rejection::GuardRejection;
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use http::{Request, StatusCode};
use pin_project_lite::pin_project;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use tower::Service;

type Check = BoxFuture<'static, Result<Arc<AccessClaims>, GuardRejection>>;

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Rejected { rejection: Option<GuardRejection> },
        Authenticating { check: Check },
        Inner { #[pin] future: F },
    }
}

pin_project! {
    /// The response future of [`GuardService`](super::GuardService).
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        state: State<S::Future>,
        pending: Option<(S, Request<B>)>,
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    pub(crate) fn rejected(rejection: GuardRejection) -> Self {
        Self {
            state: State::Rejected {
                rejection: Some(rejection),
            },
            pending: None,
        }
    }

    pub(crate) fn inner(future: S::Future) -> Self {
        Self {
            state: State::Inner { future },
            pending: None,
        }
    }

    pub(crate) fn authenticating(check: Check, service: S, request: Request<B>) -> Self {
        Self {
            state: State::Authenticating { check },
            pending: Some((service, request)),
        }
    }
}

impl<S, B> Future for ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response>,
{
    type Output = Result<Response, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Rejected { rejection } => {
                    let response = match rejection.take() {
                        Some(rejection) => rejection.into_response(),
                        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                    };
                    return Poll::Ready(Ok(response));
                }
                StateProj::Authenticating { check } => match ready!(check.as_mut().poll(cx)) {
                    Ok(claims) => {
                        let Some((mut service, mut request)) = this.pending.take() else {
                            return Poll::Ready(Ok(
                                StatusCode::INTERNAL_SERVER_ERROR.into_response()
                            ));
                        };
                        request.extensions_mut().insert(VerifiedClaims(claims));
                        let future = service.call(request);
                        this.state.set(State::Inner { future });
                    }
                    Err(rejection) => return Poll::Ready(Ok(rejection.into_response())),
                },
                StateProj::Inner { future } => return future.poll(cx),
            }
        }
    }
}

impl<S, B> fmt::Debug for ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
