//! The JWS protected header: strict parsing of `alg`, `kid`, `typ`, `cty`, and `crit`
//! handling (RFC 7515 §4.1.11). We understand no extensions, so any `crit` is refused.

use std::fmt;

use serde::Serialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::json::{self, NameSeed, Names, Skip, StrictSeed, Text, TextSeed};
use crate::{Algorithm, Error};

/// The parsed protected header of a JWS.
///
/// Only these members are read. `jwk`, `jku`, `x5u` and `x5c` are never used to find a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Header {
    /// The algorithm the token claims; it must equal the selected key's algorithm.
    pub alg: Algorithm,
    /// Key id: a hint to select among trusted keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Media type of the whole token, e.g. `at+jwt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// Media type of the payload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cty: Option<String>,
}

/// Header parameter names registered by RFC 7515, 7516 and 7518; they may not appear in `crit`.
const STANDARD_NAMES: &[&str] = &[
    "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit", "enc",
    "zip", "epk", "apu", "apv", "iv", "tag", "p2s", "p2c",
];

/// Upper bound on `crit` entries examined.
const MAX_CRIT: usize = 16;

/// The header members as read, before their meaning is checked.
#[derive(Debug, Default)]
struct RawHeader<'de> {
    names: Names<'de>,
    alg: Option<Text>,
    kid: Option<Text>,
    typ: Option<Text>,
    cty: Option<Text>,
    crit: Option<Value>,
    b64: Option<Value>,
    enc: bool,
}

struct HeaderSeed;

impl<'de> DeserializeSeed<'de> for HeaderSeed {
    type Value = RawHeader<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(HeaderVisitor)
    }
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = RawHeader<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JOSE header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut raw = RawHeader::default();
        while let Some(name) = map.next_key_seed(NameSeed)? {
            match name.as_ref() {
                "alg" => raw.alg = Some(map.next_value_seed(TextSeed)?),
                "kid" => raw.kid = Some(map.next_value_seed(TextSeed)?),
                "typ" => raw.typ = Some(map.next_value_seed(TextSeed)?),
                "cty" => raw.cty = Some(map.next_value_seed(TextSeed)?),
                "crit" => raw.crit = Some(map.next_value_seed(StrictSeed)?),
                "b64" => raw.b64 = Some(map.next_value_seed(StrictSeed)?),
                "enc" => {
                    raw.enc = true;
                    map.next_value_seed(Skip)?;
                }
                _ => map.next_value_seed(Skip)?,
            }
            raw.names.add(name)?;
        }
        Ok(raw)
    }
}

fn optional_string(value: Option<Text>, what: &'static str) -> Result<Option<String>, Error> {
    match value {
        None => Ok(None),
        Some(Text::Str(s)) => Ok(Some(s)),
        Some(Text::Other) => Err(Error::Malformed(what)),
    }
}

impl Header {
    /// Parses decoded header bytes: strict JSON object, no duplicate names, checked `crit`.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Header, Error> {
        let raw = json::scan(bytes, HeaderSeed, "header is not a valid JSON object")?;
        if raw.enc {
            return Err(Error::Malformed("encrypted tokens are not supported"));
        }
        if let Some(crit) = &raw.crit {
            check_crit(crit, &raw.names)?;
        }
        if raw.b64.as_ref().is_some_and(|b| b != &Value::Bool(true)) {
            return Err(Error::Malformed("unencoded payloads are not supported"));
        }
        let alg = match raw.alg {
            None => return Err(Error::Malformed("header has no alg")),
            Some(Text::Str(s)) => s.parse::<Algorithm>()?,
            Some(Text::Other) => return Err(Error::Malformed("header alg is not a string")),
        };
        Ok(Header {
            alg,
            kid: optional_string(raw.kid, "header kid is not a string")?,
            typ: optional_string(raw.typ, "header typ is not a string")?,
            cty: optional_string(raw.cty, "header cty is not a string")?,
        })
    }
}

/// Checks `crit` (RFC 7515 §4.1.11). A malformed list is `Malformed`; a well-formed list of
/// extensions is `UnknownCritical`, since this implementation understands none.
fn check_crit(crit: &Value, header: &Names<'_>) -> Result<(), Error> {
    let Value::Array(names) = crit else {
        return Err(Error::Malformed("crit is not an array"));
    };
    if names.is_empty() {
        return Err(Error::Malformed("crit is empty"));
    }
    if names.len() > MAX_CRIT {
        return Err(Error::Malformed("crit is too long"));
    }
    for (i, name) in names.iter().enumerate() {
        let Value::String(name) = name else {
            return Err(Error::Malformed("crit entry is not a string"));
        };
        if STANDARD_NAMES.contains(&name.as_str()) {
            return Err(Error::Malformed("crit lists a standard header parameter"));
        }
        if names
            .iter()
            .take(i)
            .any(|earlier| earlier.as_str() == Some(name))
        {
            return Err(Error::Malformed("crit lists a name twice"));
        }
        if !header.contains(name) {
            return Err(Error::Malformed("crit lists an absent header parameter"));
        }
    }
    Err(Error::UnknownCritical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_members() {
        let h = Header::parse(br#"{"alg":"ES256","kid":"k","typ":"at+jwt","x5c":["x"]}"#).unwrap();
        assert_eq!(h.alg, Algorithm::ES256);
        assert_eq!(h.kid.as_deref(), Some("k"));
        assert_eq!(h.typ.as_deref(), Some("at+jwt"));
        assert_eq!(h.cty, None);
    }

    #[test]
    fn jwt_3_none_header_rejected() {
        assert_eq!(
            Header::parse(br#"{"alg":"none"}"#),
            Err(Error::UnsupportedAlgorithm)
        );
        assert_eq!(
            Header::parse(br#"{"alg":"NONE"}"#),
            Err(Error::UnsupportedAlgorithm)
        );
        assert!(matches!(
            Header::parse(br#"{"alg":null}"#),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(Header::parse(br#"{}"#), Err(Error::Malformed(_))));
    }

    #[test]
    fn jwt_6_crit_rules() {
        let unknown = br#"{"alg":"ES256","crit":["exp"],"exp":1}"#;
        assert_eq!(Header::parse(unknown), Err(Error::UnknownCritical));
        for bad in [
            &br#"{"alg":"ES256","crit":[]}"#[..],
            br#"{"alg":"ES256","crit":"exp","exp":1}"#,
            br#"{"alg":"ES256","crit":["alg"]}"#,
            br#"{"alg":"ES256","crit":["exp"]}"#,
            br#"{"alg":"ES256","crit":[1]}"#,
            br#"{"alg":"ES256","crit":["exp","exp"],"exp":1}"#,
        ] {
            assert!(
                matches!(Header::parse(bad), Err(Error::Malformed(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn jwt_8_duplicate_header_member_rejected() {
        assert!(Header::parse(br#"{"alg":"HS256","alg":"ES256"}"#).is_err());
    }

    #[test]
    fn jwt_8_duplicates_rejected_inside_unknown_members() {
        assert!(Header::parse(br#"{"alg":"ES256","jwk":{"kty":"EC","kty":"RSA"}}"#).is_err());
        assert!(Header::parse(br#"{"alg":"ES256","x5c":[{"a":1,"a":1}]}"#).is_err());
        assert!(Header::parse(br#"{"alg":"ES256","kid":"a","k\u0069d":"b"}"#).is_err());
    }

    #[test]
    fn member_types_checked() {
        assert!(Header::parse(br#"{"alg":"ES256","kid":5}"#).is_err());
        assert!(Header::parse(br#"{"alg":"ES256","typ":["at+jwt"]}"#).is_err());
        assert!(Header::parse(br#"{"alg":"ES256","enc":"A128GCM"}"#).is_err());
        assert!(Header::parse(br#"{"alg":"ES256","b64":false}"#).is_err());
    }
}
