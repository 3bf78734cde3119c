//! The response future of [`RequireService`](super::RequireService): the immediate 401/403
//! answer, or the inner service's future when the requirement is met.

use axum::response::Response;
use futures_util::future::Either;
use std::future::Ready;

/// Either the rejection, ready at once, or the inner future.
pub type ResponseFuture<F, E> = Either<Ready<Result<Response, E>>, F>;
