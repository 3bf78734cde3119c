//! JWT validation policy: a typestate builder that cannot finish without an issuer and an
//! audience, and the `Validator` that turns a token into `Verified` claims.
//!
//! A validator without an audience does not build:
//!
//! ```compile_fail
//! let v = portcullis_jose::Validator::builder().issuer("https://as.example").build();
//! ```

use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use super::claims::RegisteredClaims;
use crate::jws::{self, Header};
use crate::{Error, KeySet, UnixTime, b64};

/// Default clock-skew allowance, seconds.
pub const DEFAULT_LEEWAY: u64 = 30;
/// Largest clock-skew allowance the builder accepts, seconds (larger values are clamped).
pub const MAX_LEEWAY: u64 = 300;

/// Builder state: no issuer set yet.
#[derive(Debug, Clone, Copy)]
pub struct NoIssuer;
/// Builder state: issuer set.
#[derive(Debug, Clone, Copy)]
pub struct HasIssuer;
/// Builder state: no audience set yet.
#[derive(Debug, Clone, Copy)]
pub struct NoAudience;
/// Builder state: at least one audience set.
#[derive(Debug, Clone, Copy)]
pub struct HasAudience;

/// How the header `typ` is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TypRule {
    /// Not checked.
    Any,
    /// Present and matching.
    Required(String),
    /// Matching when present; a header without `typ` is accepted too.
    MatchingOrAbsent(String),
}

/// Builds a [`Validator`]; [`ValidatorBuilder::build`] exists only once both
/// [`issuer`](ValidatorBuilder::issuer) and [`audience`](ValidatorBuilder::audience) are set.
#[derive(Debug, Clone)]
pub struct ValidatorBuilder<I, A> {
    issuer: String,
    audiences: Vec<String>,
    any_audience: bool,
    typ: TypRule,
    leeway: i64,
    allow_expired: bool,
    state: PhantomData<(I, A)>,
}

impl<I, A> ValidatorBuilder<I, A> {
    fn into_state<I2, A2>(self) -> ValidatorBuilder<I2, A2> {
        ValidatorBuilder {
            issuer: self.issuer,
            audiences: self.audiences,
            any_audience: self.any_audience,
            typ: self.typ,
            leeway: self.leeway,
            allow_expired: self.allow_expired,
            state: PhantomData,
        }
    }

    /// The exact issuer (`iss`) to accept. No normalisation of any kind.
    pub fn issuer(mut self, issuer: impl Into<String>) -> ValidatorBuilder<HasIssuer, A> {
        self.issuer = issuer.into();
        self.into_state()
    }

    /// Adds an accepted audience; the token's `aud` must contain one accepted value exactly.
    pub fn audience(mut self, audience: impl Into<String>) -> ValidatorBuilder<I, HasAudience> {
        self.audiences.push(audience.into());
        self.into_state()
    }

    /// Adds several accepted audiences.
    pub fn audiences<S: Into<String>>(
        mut self,
        audiences: impl IntoIterator<Item = S>,
    ) -> ValidatorBuilder<I, HasAudience> {
        self.audiences.extend(audiences.into_iter().map(Into::into));
        self.into_state()
    }

    /// Accepts a token whatever its `aud` says, as long as `aud` is present and well formed
    /// (a string or a non-empty array of strings). Audiences added with
    /// [`audience`](ValidatorBuilder::audience) are then not required either.
    ///
    /// # Security Warning
    /// The audience check is what stops a token minted for one service from being replayed at
    /// another. This switch is only for an issuer reading back tokens it signed itself (at
    /// introspection, revocation, userinfo, logout or token exchange), where every audience it
    /// ever wrote is its own to answer for and the caller applies its own rule to the audience
    /// afterwards. A resource server must never use it.
    pub fn insecure_accept_any_audience(mut self) -> ValidatorBuilder<I, HasAudience> {
        self.any_audience = true;
        self.into_state()
    }

    /// Requires the header `typ`, compared case-insensitively with an optional
    /// `application/` prefix (so `at+jwt` matches `application/AT+JWT`).
    #[must_use]
    pub fn required_typ(mut self, typ: impl Into<String>) -> Self {
        self.typ = TypRule::Required(typ.into());
        self
    }

    /// Like [`required_typ`](ValidatorBuilder::required_typ), but a header without `typ` is
    /// accepted too: for tokens such as OpenID Connect ID tokens, which may be typed `JWT` or
    /// not typed at all. A header with any other `typ` is refused.
    #[must_use]
    pub fn typ_or_untyped(mut self, typ: impl Into<String>) -> Self {
        self.typ = TypRule::MatchingOrAbsent(typ.into());
        self
    }

    /// Clock-skew allowance in seconds (default 30), clamped to at most 300.
    #[must_use]
    pub fn leeway(mut self, secs: u64) -> Self {
        // Clamped to MAX_LEEWAY, so the conversion cannot fail.
        self.leeway = i64::try_from(secs.min(MAX_LEEWAY)).unwrap_or(0);
        self
    }

    /// Accepts tokens whose `exp` has passed (everything else is still checked).
    ///
    /// # Security Warning
    /// Only for hints that identify a past session, such as an `id_token_hint` at logout.
    /// Never use it to authenticate a request: an expired token would be accepted forever.
    #[must_use]
    pub fn insecure_allow_expired(mut self) -> Self {
        self.allow_expired = true;
        self
    }
}

impl ValidatorBuilder<HasIssuer, HasAudience> {
    /// The finished, immutable validator.
    pub fn build(self) -> Validator {
        Validator {
            issuer: self.issuer,
            audiences: self.audiences,
            any_audience: self.any_audience,
            typ: self.typ,
            leeway: self.leeway,
            allow_expired: self.allow_expired,
        }
    }
}

/// A JWT validation policy: issuer, audiences, optional `typ`, leeway.
#[derive(Debug, Clone)]
pub struct Validator {
    issuer: String,
    audiences: Vec<String>,
    any_audience: bool,
    typ: TypRule,
    leeway: i64,
    allow_expired: bool,
}

/// A token that passed signature and claim validation.
#[derive(Debug, Clone)]
pub struct Verified<C> {
    header: Header,
    claims: RegisteredClaims,
    custom: C,
}

impl<C> Verified<C> {
    /// The protected header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The registered claims.
    pub fn claims(&self) -> &RegisteredClaims {
        &self.claims
    }

    /// The whole claims object, deserialized as `C`.
    pub fn custom(&self) -> &C {
        &self.custom
    }

    /// Header, registered claims and custom claims.
    pub fn into_parts(self) -> (Header, RegisteredClaims, C) {
        (self.header, self.claims, self.custom)
    }
}

/// `typ` comparison per media-type rules: case-insensitive, `application/` optional.
fn typ_matches(actual: &str, expected: &str) -> bool {
    fn strip(s: &str) -> &str {
        match s.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => {
                s.get(12..).unwrap_or("")
            }
            _ => s,
        }
    }
    strip(actual).eq_ignore_ascii_case(strip(expected))
}

impl Validator {
    /// A builder; `issuer` and `audience` must be set before `build` is available.
    pub fn builder() -> ValidatorBuilder<NoIssuer, NoAudience> {
        ValidatorBuilder {
            issuer: String::new(),
            audiences: Vec::new(),
            any_audience: false,
            typ: TypRule::Any,
            // DEFAULT_LEEWAY is a small constant, so the cast is exact.
            leeway: DEFAULT_LEEWAY as i64,
            allow_expired: false,
            state: PhantomData,
        }
    }

    /// The configured leeway, seconds.
    pub fn leeway_secs(&self) -> u64 {
        self.leeway.unsigned_abs()
    }

    /// Verifies the signature with `keys`, then the header `typ`, then the claims at `now`:
    /// types of registered claims, `exp` (required), `nbf`, `iat`, `iss`, `aud`. Finally the
    /// whole claims object is deserialized as `C`.
    ///
    /// # Errors
    /// The first failed check, as an [`Error`].
    pub fn verify<C: DeserializeOwned>(
        &self,
        token: &str,
        keys: &KeySet,
        now: UnixTime,
    ) -> Result<Verified<C>, Error> {
        let parts = jws::split(token)?;
        let header = jws::decode_header(parts.header)?;
        let payload = b64::decode(parts.payload, "payload is not base64url")?;
        jws::verify_parts(&parts, &header, keys)?;
        let typ_ok = match (&self.typ, &header.typ) {
            (TypRule::Any, _) | (TypRule::MatchingOrAbsent(_), None) => true,
            (TypRule::Required(_), None) => false,
            (TypRule::Required(expected) | TypRule::MatchingOrAbsent(expected), Some(actual)) => {
                typ_matches(actual, expected)
            }
        };
        if !typ_ok {
            return Err(Error::InvalidType);
        }
        let claims = RegisteredClaims::parse(&payload)?;
        self.check(&claims, now)?;
        // The scan above proved the payload strict (no duplicate names at any depth), so the
        // caller's type reads exactly the document that was checked.
        let custom = serde_json::from_slice::<C>(&payload)
            .map_err(|_| Error::InvalidClaim("claims do not match the expected type"))?;
        Ok(Verified {
            header,
            claims,
            custom,
        })
    }

    fn check(&self, claims: &RegisteredClaims, now: UnixTime) -> Result<(), Error> {
        let now = now.as_secs();
        if !self.allow_expired && now >= claims.exp.saturating_add(self.leeway) {
            return Err(Error::Expired);
        }
        if let Some(nbf) = claims.nbf
            && now < nbf.saturating_sub(self.leeway)
        {
            return Err(Error::NotYetValid);
        }
        if let Some(iat) = claims.iat
            && now < iat.saturating_sub(self.leeway)
        {
            return Err(Error::IssuedInFuture);
        }
        if claims.iss != self.issuer {
            return Err(Error::InvalidIssuer);
        }
        if !self.any_audience && !self.audiences.iter().any(|a| claims.aud.contains(a)) {
            return Err(Error::InvalidAudience);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_12_typ_comparison() {
        assert!(typ_matches("at+jwt", "at+jwt"));
        assert!(typ_matches("application/at+jwt", "at+jwt"));
        assert!(typ_matches("AT+JWT", "application/at+jwt"));
        assert!(!typ_matches("jwt", "at+jwt"));
        assert!(!typ_matches("logout+jwt", "at+jwt"));
        assert!(!typ_matches("text/at+jwt", "at+jwt"));
    }

    #[test]
    fn jwt_10_leeway_default_and_clamped() {
        let v = Validator::builder().issuer("i").audience("a").build();
        assert_eq!(v.leeway_secs(), DEFAULT_LEEWAY);
        let v = Validator::builder()
            .audience("a")
            .issuer("i")
            .leeway(u64::MAX)
            .build();
        assert_eq!(v.leeway_secs(), MAX_LEEWAY);
    }
}
