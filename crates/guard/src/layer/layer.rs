//! [`GuardLayer`]: wraps a service in a [`GuardService`]. Obtained from `Guard::layer` (a token
//! is required) or `Guard::optional_layer` (requests without a token pass through).

use super::GuardService;
use crate::guard::Guard;
use tower::Layer;

/// Applies the guard to every request of the wrapped service.
#[derive(Debug, Clone)]
pub struct GuardLayer {
    guard: Guard,
    optional: bool,
}

impl GuardLayer {
    pub(crate) fn new(guard: Guard, optional: bool) -> Self {
        Self { guard, optional }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = GuardService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GuardService::new(inner, self.guard.clone(), self.optional)
    }
}
