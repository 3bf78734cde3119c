//! The `aud` value of tokens and introspection responses (RFC 7519 §4.1.3, RFC 7662 §2.2): one
//! audience as a JSON string, several as an array of strings.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One or more audiences, in the order they were written. Compared exactly, never normalised.
///
/// Serialises a single audience as a string and anything else as an array; reads a string or
/// an array of strings and refuses every other JSON shape.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Audience(Vec<String>);

impl Audience {
    /// True if one entry equals `audience` exactly.
    pub fn contains(&self, audience: &str) -> bool {
        self.0.iter().any(|a| a == audience)
    }

    /// The entries, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, String> {
        self.0.iter()
    }

    /// The first entry, if any.
    pub fn first(&self) -> Option<&str> {
        self.0.first().map(String::as_str)
    }

    /// The entries as a slice.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is no entry.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries, owned.
    pub fn into_vec(self) -> Vec<String> {
        self.0
    }
}

impl From<&str> for Audience {
    fn from(audience: &str) -> Self {
        Self(vec![audience.to_owned()])
    }
}

impl From<String> for Audience {
    fn from(audience: String) -> Self {
        Self(vec![audience])
    }
}

impl From<Vec<String>> for Audience {
    fn from(audiences: Vec<String>) -> Self {
        Self(audiences)
    }
}

impl From<&[String]> for Audience {
    fn from(audiences: &[String]) -> Self {
        Self(audiences.to_vec())
    }
}

impl FromIterator<String> for Audience {
    fn from_iter<T: IntoIterator<Item = String>>(iter: T) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a Audience {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for Audience {
    type Item = String;
    type IntoIter = std::vec::IntoIter<String>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// The same JSON as serialising: a string for one audience, an array otherwise.
impl From<Audience> for serde_json::Value {
    fn from(audience: Audience) -> Self {
        match <[String; 1]>::try_from(audience.0) {
            Ok([one]) => serde_json::Value::String(one),
            Err(many) => serde_json::Value::from(many),
        }
    }
}

impl Serialize for Audience {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => serializer.serialize_str(one),
            many => many.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AudienceVisitor;

        impl<'de> Visitor<'de> for AudienceVisitor {
            type Value = Audience;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Audience, E> {
                Ok(Audience::from(v))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Audience, E> {
                Ok(Audience::from(v))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Audience, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(16));
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(Audience(out))
            }
        }

        deserializer.deserialize_any(AudienceVisitor)
    }
}

/// Reads an optional `aud` member of a document whose other members must stay usable when it
/// is malformed: any shape but a string or an array of strings reads as `None`.
pub(crate) fn absent_unless_well_formed<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Audience>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_audience_is_a_string() {
        let one = Audience::from("api");
        assert_eq!(serde_json::to_string(&one).unwrap(), r#""api""#);
        assert_eq!(serde_json::Value::from(one.clone()), json!("api"));
        assert_eq!(serde_json::from_str::<Audience>(r#""api""#).unwrap(), one);
    }

    #[test]
    fn several_audiences_are_an_array() {
        let two = Audience::from(vec!["a".to_owned(), "b".to_owned()]);
        assert_eq!(serde_json::to_string(&two).unwrap(), r#"["a","b"]"#);
        assert_eq!(serde_json::Value::from(two.clone()), json!(["a", "b"]));
        assert_eq!(
            serde_json::from_str::<Audience>(r#"["a","b"]"#).unwrap(),
            two
        );
        let one_in_array = serde_json::from_str::<Audience>(r#"["a"]"#).unwrap();
        assert_eq!(one_in_array, Audience::from("a"));
        let empty = serde_json::from_str::<Audience>("[]").unwrap();
        assert!(empty.is_empty());
        assert_eq!(serde_json::to_string(&empty).unwrap(), "[]");
    }

    #[test]
    fn other_shapes_are_refused() {
        for bad in [
            "5",
            "null",
            "true",
            "{}",
            r#"{"aud":"a"}"#,
            r#"["a",1]"#,
            "[null]",
        ] {
            assert!(serde_json::from_str::<Audience>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn contains_and_iteration_are_exact() {
        let aud: Audience = ["a", "b"].into_iter().map(str::to_owned).collect();
        assert!(aud.contains("a") && aud.contains("b"));
        assert!(!aud.contains("A") && !aud.contains("a "));
        assert_eq!(
            aud.iter().map(String::as_str).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!((&aud).into_iter().count(), 2);
        assert_eq!(aud.first(), Some("a"));
        assert_eq!(aud.len(), 2);
        assert_eq!(aud.as_slice(), ["a".to_owned(), "b".to_owned()]);
        assert_eq!(aud.into_vec().len(), 2);
    }
}
