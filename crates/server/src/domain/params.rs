//! Form and query parameters as RFC 6749 §3.1 wants them: a parameter sent twice is an error,
//! a parameter without a value is absent, unknown parameters are ignored.

use std::collections::{BTreeMap, BTreeSet};

/// Parsed `application/x-www-form-urlencoded` parameters.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Params {
    values: BTreeMap<String, String>,
    duplicates: BTreeSet<String>,
}

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be secrets (passwords, codes, client secrets): print only the names.
        f.debug_struct("Params")
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .field("duplicates", &self.duplicates)
            .finish()
    }
}

impl Params {
    /// Parses a urlencoded string (query string or form body). Empty values are dropped.
    pub(crate) fn parse(input: &[u8]) -> Self {
        let mut values = BTreeMap::new();
        let mut duplicates = BTreeSet::new();
        for (name, value) in form_urlencoded::parse(input) {
            if value.is_empty() {
                continue;
            }
            let name = name.into_owned();
            match values.entry(name) {
                std::collections::btree_map::Entry::Occupied(e) => {
                    duplicates.insert(e.key().clone());
                }
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(value.into_owned());
                }
            }
        }
        Self { values, duplicates }
    }

    /// The value of a parameter sent once with a non-empty value.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        if self.duplicates.contains(name) {
            return None;
        }
        self.values.get(name).map(String::as_str)
    }

    /// Whether a parameter was sent more than once.
    pub(crate) fn is_duplicated(&self, name: &str) -> bool {
        self.duplicates.contains(name)
    }

    /// The first duplicated parameter name, if any.
    pub(crate) fn first_duplicate(&self) -> Option<&str> {
        self.duplicates.iter().next().map(String::as_str)
    }

    /// Whether the parameter is present (once or more).
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// Replaces (or with `None` removes) a parameter.
    pub(crate) fn set(&mut self, name: &str, value: Option<String>) {
        self.duplicates.remove(name);
        match value {
            Some(v) if !v.is_empty() => {
                self.values.insert(name.to_owned(), v);
            }
            _ => {
                self.values.remove(name);
            }
        }
    }

    /// Re-encodes the parameters (first value of each) as a query string, without `skip`. A
    /// duplicated parameter is written twice, so parsing the result finds it duplicated again:
    /// a request resumed after login is refused for it like the original (RED-11).
    pub(crate) fn to_query_without(&self, skip: &[&str]) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.values {
            if !skip.contains(&k.as_str()) {
                out.append_pair(k, v);
                if self.duplicates.contains(k) {
                    out.append_pair(k, v);
                }
            }
        }
        out.finish()
    }

    /// Re-encodes the parameters as a query string.
    pub(crate) fn to_query(&self) -> String {
        self.to_query_without(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn red_11_duplicates_detected_and_empty_values_absent() {
        let p = Params::parse(b"client_id=a&client_id=b&scope=&state=xyz&foo=bar");
        assert!(p.is_duplicated("client_id"));
        assert_eq!(p.get("client_id"), None);
        assert_eq!(p.get("scope"), None);
        assert_eq!(p.get("state"), Some("xyz"));
        assert_eq!(p.first_duplicate(), Some("client_id"));
    }

    #[test]
    fn red_11_duplicates_survive_reencoding() {
        let p = Params::parse(b"redirect_uri=https://a/cb&state=s&redirect_uri=https://evil/cb");
        let again = Params::parse(p.to_query().as_bytes());
        assert!(again.is_duplicated("redirect_uri"));
        assert_eq!(again.get("redirect_uri"), None);
        assert_eq!(again.get("state"), Some("s"));
        assert!(!again.to_query().contains("evil"));
    }

    #[test]
    fn decodes_and_reencodes() {
        let p = Params::parse(b"a=x+y%26z&b=%C3%A9");
        assert_eq!(p.get("a"), Some("x y&z"));
        assert_eq!(p.get("b"), Some("é"));
        let q = Params::parse(p.to_query().as_bytes());
        assert_eq!(q, p);
        assert_eq!(p.to_query_without(&["a"]), "b=%C3%A9");
    }
}
