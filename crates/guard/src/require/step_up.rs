//! [`StepUp`]: what a route demands of the user's authentication (`acr`, `amr`, `auth_time`),
//! checked against the verified claims; unmet, the answer is RFC 9470's step-up challenge (RS-8).

use crate::claims::AccessClaims;
use crate::rejection::RejectionKind;
use std::time::Duration;

/// A step-up requirement (RFC 9470): the authentication context class, the authentication
/// methods and how recent the user's sign-in must be. Mount it with
/// [`require_step_up`](super::require_step_up). A requirement left empty demands nothing.
///
/// ```
/// use std::time::Duration;
/// use portcullis_guard::StepUp;
///
/// // The token's `acr` must be `mfa`, and the user must have signed in within five minutes.
/// let step_up = StepUp::new().acr_values(["mfa"]).max_age(Duration::from_secs(300));
/// # let _ = step_up;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepUp {
    acr_values: Vec<String>,
    max_age: Option<u64>,
    amr: Vec<String>,
}

impl StepUp {
    /// A requirement that demands nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The token's `acr` must be one of `values`; a token without `acr` does not qualify.
    /// Sent back as `acr_values` in the challenge.
    pub fn acr_values<I, T>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.acr_values = values.into_iter().map(Into::into).collect();
        self
    }

    /// The user must have authenticated at most `max_age` ago (the token's `auth_time`, read
    /// with the guard's clock); a token without `auth_time` does not qualify. Sent back as
    /// `max_age` (whole seconds) in the challenge.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age.as_secs());
        self
    }

    /// The token's `amr` must contain every one of `methods` (RFC 8176 values such as `mfa`,
    /// `otp`, `hwk`). RFC 9470 has no challenge parameter for methods: an unmet `amr` is
    /// answered with the same challenge, naming the `acr_values` and `max_age` if any.
    pub fn amr<I, T>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.amr = methods.into_iter().map(Into::into).collect();
        self
    }

    /// Whether `claims` satisfy the requirement at `now` (seconds since the epoch).
    pub(crate) fn is_met(&self, claims: &AccessClaims, now: i64) -> bool {
        let acr_ok = self.acr_values.is_empty()
            || claims
                .acr()
                .is_some_and(|acr| self.acr_values.iter().any(|v| v == acr));
        let age_ok = match self.max_age {
            None => true,
            Some(max_age) => claims.auth_time().is_some_and(|at| {
                i64::try_from(max_age).is_ok_and(|max_age| now.saturating_sub(at) <= max_age)
            }),
        };
        let amr_ok = self
            .amr
            .iter()
            .all(|method| claims.amr().iter().any(|m| m == method));
        acr_ok && age_ok && amr_ok
    }

    /// The 401 `insufficient_user_authentication` answer naming what is demanded.
    pub(crate) fn rejection(&self) -> RejectionKind {
        RejectionKind::InsufficientUserAuthentication {
            acr_values: (!self.acr_values.is_empty()).then(|| self.acr_values.join(" ")),
            max_age: self.max_age,
        }
    }
}
