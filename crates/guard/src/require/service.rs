//! [`RequireService`]: checks the verified claims the guard layer left in the extensions; no
//! claims means no token was verified, which is answered with the 401 challenge.

use super::{Requirement, ResponseFuture};
use crate::extract::{GuardHandle, VerifiedClaims};
use crate::rejection::{GuardRejection, RejectionKind};
use axum::response::{IntoResponse, Response};
use futures_util::future::Either;
use http::Request;
use std::task::{Context, Poll};
use tower::Service;

/// The middleware built by [`RequireLayer`](super::RequireLayer).
#[derive(Debug, Clone)]
pub struct RequireService<S> {
    inner: S,
    requirement: Requirement,
}

impl<S> RequireService<S> {
    pub(crate) fn new(inner: S, requirement: Requirement) -> Self {
        Self { inner, requirement }
    }

    fn rejection<B>(&self, request: &Request<B>) -> Option<GuardRejection> {
        let handle = request.extensions().get::<GuardHandle>();
        let realm = handle.and_then(|h| h.0.realm());
        let (Some(VerifiedClaims(claims)), Some(GuardHandle(guard))) =
            (request.extensions().get::<VerifiedClaims>(), handle)
        else {
            return Some(GuardRejection::new(RejectionKind::MissingToken, realm));
        };
        let kind = self.requirement.unmet(claims, guard.now())?;
        Some(GuardRejection::new(kind, realm))
    }
}

impl<S, B> Service<Request<B>> for RequireService<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        match self.rejection(&request) {
            Some(rejection) => Either::Left(std::future::ready(Ok(rejection.into_response()))),
            None => Either::Right(self.inner.call(request)),
        }
    }
}
