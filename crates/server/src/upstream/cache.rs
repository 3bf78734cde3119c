//! What OpenID providers upstream publish, kept for a while so a sign-in does not fetch the
//! discovery document and the keys again each time: each entry is reused for [`TTL_SECS`]. Keys
//! are fetched again before that when an ID token names a key the cached set lacks (the provider
//! rotated), at most once per [`REFETCH_SECS`], so tokens naming unknown keys cannot make this
//! server hammer the provider.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// How long a discovery document or key set is reused, in seconds.
pub(crate) const TTL_SECS: i64 = 600;

/// The least time between two fetches of one provider's keys, in seconds.
pub(crate) const REFETCH_SECS: i64 = 5;

/// Upper bound on entries (one per configured provider in practice); past it the cache starts
/// afresh.
const MAX_ENTRIES: usize = 256;

/// The documents of the OpenID providers upstream, by URL.
#[derive(Debug, Default)]
pub(crate) struct ProviderDocs {
    /// Discovery documents, by issuer.
    pub(super) metadata: Published<super::oidc::Metadata>,
    /// Key sets, by `jwks_uri`.
    pub(super) keys: Published<portcullis_jose::KeySet>,
}

/// Values by URL, with the second each was fetched in.
#[derive(Debug)]
pub(crate) struct Published<V> {
    entries: Mutex<HashMap<String, (Arc<V>, i64)>>,
}

impl<V> Default for Published<V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<V> Published<V> {
    /// The value kept for `url` if it was fetched less than `max_age` seconds before `now`.
    pub(crate) fn fresh(&self, url: &str, now: i64, max_age: i64) -> Option<Arc<V>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(url)
            .filter(|(_, at)| now.saturating_sub(*at) < max_age && *at <= now)
            .map(|(v, _)| v.clone())
    }

    /// Keeps `value` for `url`, fetched at `now`, and returns it.
    pub(crate) fn put(&self, url: &str, now: i64, value: V) -> Arc<V> {
        let value = Arc::new(value);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(url) {
            entries.clear();
        }
        entries.insert(url.to_owned(), (value.clone(), now));
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_stay_bounded() {
        let cache = Published::<u32>::default();
        assert!(cache.fresh("a", 100, TTL_SECS).is_none());
        cache.put("a", 100, 7);
        assert_eq!(
            cache.fresh("a", 100 + TTL_SECS - 1, TTL_SECS).as_deref(),
            Some(&7)
        );
        assert!(
            cache.fresh("a", 100 + TTL_SECS, TTL_SECS).is_none(),
            "expired"
        );
        assert!(cache.fresh("a", 99, TTL_SECS).is_none(), "clock went back");
        assert!(cache.fresh("a", 100 + REFETCH_SECS, REFETCH_SECS).is_none());
        for i in 0..MAX_ENTRIES + 1 {
            cache.put(&i.to_string(), 100, 1);
        }
        assert!(cache.entries.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
