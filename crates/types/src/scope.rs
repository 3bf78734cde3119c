//! OAuth scope values (RFC 6749 §3.3): a space-delimited set of case-sensitive tokens made of
//! `NQCHAR` (`%x21 / %x23-5B / %x5D-7E`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeSet;
use std::fmt;

/// A set of scope tokens, kept sorted so two equal sets always print the same way.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Scope(BTreeSet<String>);

/// A scope string that RFC 6749 §3.3 does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeError;

impl fmt::Display for ScopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("scope contains a character outside RFC 6749 NQCHAR")
    }
}

impl std::error::Error for ScopeError {}

fn is_nqchar(c: char) -> bool {
    matches!(c, '\u{21}' | '\u{23}'..='\u{5B}' | '\u{5D}'..='\u{7E}')
}

impl Scope {
    /// Parses a space-delimited scope string. Repeated spaces and an empty string are allowed
    /// (the empty string is the empty set); any other separator or character is refused.
    pub fn parse(value: &str) -> Result<Self, ScopeError> {
        let mut set = BTreeSet::new();
        for token in value.split(' ').filter(|t| !t.is_empty()) {
            if !token.chars().all(is_nqchar) {
                return Err(ScopeError);
            }
            set.insert(token.to_owned());
        }
        Ok(Self(set))
    }

    /// Builds a scope from tokens that are already known to be valid.
    pub fn from_tokens<I, S>(tokens: I) -> Result<Self, ScopeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = BTreeSet::new();
        for token in tokens {
            let token = token.as_ref();
            if token.is_empty() || !token.chars().all(is_nqchar) {
                return Err(ScopeError);
            }
            set.insert(token.to_owned());
        }
        Ok(Self(set))
    }

    /// Whether the set holds `token`.
    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    /// Whether every token of `self` is also in `other`.
    pub fn is_subset(&self, other: &Scope) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The tokens of `self` that are also in `other`.
    pub fn intersection(&self, other: &Scope) -> Scope {
        Self(self.0.intersection(&other.0).cloned().collect())
    }

    /// The tokens of `self` for which `keep` holds.
    pub fn filter(&self, keep: impl Fn(&str) -> bool) -> Scope {
        Self(self.0.iter().filter(|t| keep(t)).cloned().collect())
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tokens, in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for token in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            f.write_str(token)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({:?})", self.to_string())
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Scope::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_sorted() {
        let s = Scope::parse("openid  profile email").unwrap();
        assert_eq!(s.to_string(), "email openid profile");
        assert!(s.contains("openid"));
        assert!(!s.contains("Openid"));
        assert!(Scope::parse("").unwrap().is_empty());
    }

    #[test]
    fn refuses_invalid_characters() {
        assert_eq!(Scope::parse("a\"b"), Err(ScopeError));
        assert_eq!(Scope::parse("a\\b"), Err(ScopeError));
        assert_eq!(Scope::parse("a\tb"), Err(ScopeError));
        assert_eq!(Scope::parse("café"), Err(ScopeError));
    }

    #[test]
    fn subset_and_intersection() {
        let granted = Scope::parse("a b c").unwrap();
        let asked = Scope::parse("a c").unwrap();
        assert!(asked.is_subset(&granted));
        assert!(!granted.is_subset(&asked));
        assert_eq!(
            granted
                .intersection(&Scope::parse("c d").unwrap())
                .to_string(),
            "c"
        );
        assert_eq!(granted.filter(|t| t != "b").to_string(), "a c");
    }
}
