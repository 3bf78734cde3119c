//! Injected time: a `UnixTime` value type, the `Clock` trait, the system clock (the only
//! place that reads the wall clock) and a shareable fixed clock for tests.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Seconds since the Unix epoch (the JWT NumericDate, integer part).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixTime(pub i64);

impl UnixTime {
    /// The number of seconds since the epoch.
    pub fn as_secs(self) -> i64 {
        self.0
    }

    /// This time moved by `secs` seconds, saturating at the `i64` bounds.
    #[must_use]
    pub fn plus(self, secs: i64) -> UnixTime {
        UnixTime(self.0.saturating_add(secs))
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A source of the current time. Validation code takes time from a `Clock` (or an explicit
/// `UnixTime`), never from the system directly.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> UnixTime;
}

impl<T: Clock + ?Sized> Clock for Arc<T> {
    fn now(&self) -> UnixTime {
        (**self).now()
    }
}

impl<T: Clock + ?Sized> Clock for &T {
    fn now(&self) -> UnixTime {
        (**self).now()
    }
}

/// The wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    // This is the one sanctioned reader of the system time; everything else injects a Clock.
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> UnixTime {
        let secs = match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
        };
        UnixTime(secs)
    }
}

/// A clock that stays where it is put. Share it through an `Arc` and move it with
/// [`FixedClock::set`] / [`FixedClock::advance`] to travel in time.
#[derive(Debug, Default)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    /// A clock stopped at `t`.
    pub fn new(t: UnixTime) -> FixedClock {
        FixedClock(AtomicI64::new(t.0))
    }

    /// Moves the clock to `t`.
    pub fn set(&self, t: UnixTime) {
        self.0.store(t.0, Ordering::SeqCst);
    }

    /// Moves the clock by `secs` seconds (negative goes back), saturating.
    pub fn advance(&self, secs: i64) {
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(secs))
            });
    }
}

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_saturates() {
        assert_eq!(UnixTime(i64::MAX).plus(10), UnixTime(i64::MAX));
        assert_eq!(UnixTime(i64::MIN).plus(-10), UnixTime(i64::MIN));
        assert_eq!(UnixTime(5).plus(-2).as_secs(), 3);
    }

    #[test]
    fn fixed_clock_travels_when_shared() {
        let clock = Arc::new(FixedClock::new(UnixTime(1_000)));
        let shared: Arc<dyn Clock> = clock.clone();
        clock.advance(30);
        assert_eq!(shared.now(), UnixTime(1_030));
        clock.set(UnixTime(7));
        assert_eq!(shared.now(), UnixTime(7));
        clock.set(UnixTime(i64::MAX));
        clock.advance(1);
        assert_eq!(clock.now(), UnixTime(i64::MAX));
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now() > UnixTime(1_577_836_800));
    }
}
