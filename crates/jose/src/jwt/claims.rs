//! Registered JWT claims (RFC 7519 §4.1) with strict typing: a wrong type is an error,
//! never "absent". NumericDates are finite JSON numbers, floored, within `i64`.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;
use crate::json::{self, NameSeed, Names, Number, NumberSeed, Skip, Text, TextSeed};

/// Largest `aud` array examined.
const MAX_AUDIENCES: usize = 64;

/// The `aud` claim: one or more audience strings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Audience(pub Vec<String>);

impl Audience {
    /// True if one entry equals `aud` exactly.
    pub fn contains(&self, aud: &str) -> bool {
        self.0.iter().any(|a| a == aud)
    }

    /// The entries.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl From<&str> for Audience {
    fn from(aud: &str) -> Self {
        Audience(vec![aud.to_owned()])
    }
}

impl From<String> for Audience {
    fn from(aud: String) -> Self {
        Audience(vec![aud])
    }
}

impl From<Vec<String>> for Audience {
    fn from(auds: Vec<String>) -> Self {
        Audience(auds)
    }
}

/// Serializes as a string when there is one entry, otherwise as an array.
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
        struct AudVisitor;
        impl<'de> Visitor<'de> for AudVisitor {
            type Value = Audience;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Audience, E> {
                Ok(Audience(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Audience, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(Audience(out))
            }
        }
        deserializer.deserialize_any(AudVisitor)
    }
}

/// The registered claims of a verified token. `iss`, `aud` and `exp` are always present
/// after validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredClaims {
    /// Issuer.
    pub iss: String,
    /// Subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience(s).
    pub aud: Audience,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Not-before, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Issued-at, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// The `aud` member as read.
#[derive(Debug)]
enum RawAudience {
    One(String),
    Many(Vec<String>),
    /// An array with a non-string element or too many elements.
    BadArray,
    Other,
}

struct AudienceSeed;

impl<'de> DeserializeSeed<'de> for AudienceSeed {
    type Value = RawAudience;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawAudience, D::Error> {
        deserializer.deserialize_any(RawAudienceVisitor)
    }
}

struct RawAudienceVisitor;

impl<'de> Visitor<'de> for RawAudienceVisitor {
    type Value = RawAudience;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_str<E>(self, v: &str) -> Result<RawAudience, E> {
        Ok(RawAudience::One(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<RawAudience, E> {
        Ok(RawAudience::One(v))
    }
    fn visit_bool<E>(self, _: bool) -> Result<RawAudience, E> {
        Ok(RawAudience::Other)
    }
    fn visit_i64<E>(self, _: i64) -> Result<RawAudience, E> {
        Ok(RawAudience::Other)
    }
    fn visit_u64<E>(self, _: u64) -> Result<RawAudience, E> {
        Ok(RawAudience::Other)
    }
    fn visit_f64<E>(self, _: f64) -> Result<RawAudience, E> {
        Ok(RawAudience::Other)
    }
    fn visit_unit<E>(self) -> Result<RawAudience, E> {
        Ok(RawAudience::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawAudience, A::Error> {
        json::skip_map(map).map(|()| RawAudience::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawAudience, A::Error> {
        let mut out = Vec::new();
        let mut bad = false;
        while let Some(item) = seq.next_element_seed(TextSeed)? {
            match item {
                Text::Str(s) if out.len() < MAX_AUDIENCES => out.push(s),
                _ => bad = true,
            }
        }
        Ok(if bad {
            RawAudience::BadArray
        } else {
            RawAudience::Many(out)
        })
    }
}

/// The registered claim members as read, before their meaning is checked.
#[derive(Debug, Default)]
struct RawClaims {
    iss: Option<Text>,
    sub: Option<Text>,
    jti: Option<Text>,
    aud: Option<RawAudience>,
    exp: Option<Number>,
    nbf: Option<Number>,
    iat: Option<Number>,
}

struct ClaimsSeed;

impl<'de> DeserializeSeed<'de> for ClaimsSeed {
    type Value = RawClaims;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawClaims, D::Error> {
        deserializer.deserialize_map(ClaimsVisitor)
    }
}

struct ClaimsVisitor;

impl<'de> Visitor<'de> for ClaimsVisitor {
    type Value = RawClaims;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JWT claims object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawClaims, A::Error> {
        let mut raw = RawClaims::default();
        let mut names = Names::default();
        while let Some(name) = map.next_key_seed(NameSeed)? {
            match name.as_ref() {
                "iss" => raw.iss = Some(map.next_value_seed(TextSeed)?),
                "sub" => raw.sub = Some(map.next_value_seed(TextSeed)?),
                "jti" => raw.jti = Some(map.next_value_seed(TextSeed)?),
                "aud" => raw.aud = Some(map.next_value_seed(AudienceSeed)?),
                "exp" => raw.exp = Some(map.next_value_seed(NumberSeed)?),
                "nbf" => raw.nbf = Some(map.next_value_seed(NumberSeed)?),
                "iat" => raw.iat = Some(map.next_value_seed(NumberSeed)?),
                _ => map.next_value_seed(Skip)?,
            }
            names.add(name)?;
        }
        Ok(raw)
    }
}

/// A NumericDate: a finite JSON number, floored, within `i64`.
fn numeric_date(value: Number, name: &'static str) -> Result<i64, Error> {
    // i64::MIN is exactly representable; i64::MAX rounds up to 2^63, which is out of range.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    match value {
        Number::Int(i) => Ok(i),
        Number::Float(f) => {
            let f = f.floor();
            if !f.is_finite() || !(-LIMIT..LIMIT).contains(&f) {
                return Err(Error::InvalidClaim(name));
            }
            // The range check above keeps this conversion exact and in bounds.
            #[allow(clippy::cast_possible_truncation)]
            Ok(f as i64)
        }
        Number::Big | Number::Other => Err(Error::InvalidClaim(name)),
    }
}

fn optional_date(value: Option<Number>, name: &'static str) -> Result<Option<i64>, Error> {
    value.map(|v| numeric_date(v, name)).transpose()
}

fn optional_string(value: Option<Text>, name: &'static str) -> Result<Option<String>, Error> {
    match value {
        None => Ok(None),
        Some(Text::Str(s)) => Ok(Some(s)),
        Some(Text::Other) => Err(Error::InvalidClaim(name)),
    }
}

impl RegisteredClaims {
    /// Parses a claims object (strict JSON, no duplicate names at any depth) and type-checks
    /// the registered claims. Other members are checked for well-formedness only.
    pub(crate) fn parse(payload: &[u8]) -> Result<RegisteredClaims, Error> {
        let raw = json::scan(payload, ClaimsSeed, "claims are not a valid JSON object")?;
        let iss = match raw.iss {
            None => return Err(Error::MissingClaim("iss")),
            Some(Text::Str(s)) => s,
            Some(Text::Other) => return Err(Error::InvalidClaim("iss")),
        };
        let aud = match raw.aud {
            None => return Err(Error::MissingClaim("aud")),
            Some(RawAudience::One(s)) => Audience(vec![s]),
            Some(RawAudience::Many(v)) if v.is_empty() => return Err(Error::InvalidAudience),
            Some(RawAudience::Many(v)) => Audience(v),
            Some(RawAudience::BadArray | RawAudience::Other) => {
                return Err(Error::InvalidClaim("aud"));
            }
        };
        let exp = numeric_date(raw.exp.ok_or(Error::MissingClaim("exp"))?, "exp")?;
        Ok(RegisteredClaims {
            iss,
            sub: optional_string(raw.sub, "sub")?,
            aud,
            exp,
            nbf: optional_date(raw.nbf, "nbf")?,
            iat: optional_date(raw.iat, "iat")?,
            jti: optional_string(raw.jti, "jti")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: &str) -> Result<RegisteredClaims, Error> {
        RegisteredClaims::parse(json.as_bytes())
    }

    #[test]
    fn jwt_9_numeric_dates_type_checked() {
        let base = r#""iss":"i","aud":"a""#;
        assert_eq!(claims(&format!("{{{base},\"exp\":10}}")).unwrap().exp, 10);
        assert_eq!(claims(&format!("{{{base},\"exp\":10.9}}")).unwrap().exp, 10);
        assert_eq!(claims(&format!("{{{base},\"exp\":-1.5}}")).unwrap().exp, -2);
        for bad in [
            "\"10\"",
            "true",
            "null",
            "[10]",
            "18446744073709551615",
            "1e300",
            "9223372036854775808.0",
        ] {
            assert_eq!(
                claims(&format!("{{{base},\"exp\":{bad}}}")),
                Err(Error::InvalidClaim("exp")),
                "{bad}"
            );
        }
        assert_eq!(
            claims(&format!("{{{base}}}")),
            Err(Error::MissingClaim("exp"))
        );
        assert_eq!(
            claims(&format!("{{{base},\"exp\":1,\"nbf\":\"0\"}}")),
            Err(Error::InvalidClaim("nbf"))
        );
    }

    #[test]
    fn jwt_9_strings_type_checked() {
        let tail = r#""aud":"a","exp":1"#;
        assert_eq!(
            claims(&format!("{{\"iss\":[\"i\"],{tail}}}")),
            Err(Error::InvalidClaim("iss"))
        );
        assert_eq!(
            claims(&format!("{{{tail}}}")),
            Err(Error::MissingClaim("iss"))
        );
        assert_eq!(
            claims(&format!("{{\"iss\":\"i\",\"sub\":null,{tail}}}")),
            Err(Error::InvalidClaim("sub"))
        );
        assert_eq!(
            claims(&format!("{{\"iss\":\"i\",\"jti\":5,{tail}}}")),
            Err(Error::InvalidClaim("jti"))
        );
    }

    #[test]
    fn jwt_11_audience_shapes() {
        let c = claims(r#"{"iss":"i","aud":["a","b"],"exp":1}"#).unwrap();
        assert!(c.aud.contains("b") && !c.aud.contains("c"));
        assert_eq!(
            claims(r#"{"iss":"i","aud":[],"exp":1}"#),
            Err(Error::InvalidAudience)
        );
        assert_eq!(
            claims(r#"{"iss":"i","aud":["a",1],"exp":1}"#),
            Err(Error::InvalidClaim("aud"))
        );
        assert_eq!(
            claims(r#"{"iss":"i","aud":{},"exp":1}"#),
            Err(Error::InvalidClaim("aud"))
        );
        assert_eq!(
            claims(r#"{"iss":"i","exp":1}"#),
            Err(Error::MissingClaim("aud"))
        );
    }

    #[test]
    fn audience_serde() {
        assert_eq!(
            serde_json::to_string(&Audience::from("a")).unwrap(),
            r#""a""#
        );
        let two = Audience(vec!["a".into(), "b".into()]);
        assert_eq!(serde_json::to_string(&two).unwrap(), r#"["a","b"]"#);
        assert_eq!(
            serde_json::from_str::<Audience>(r#"["a","b"]"#).unwrap(),
            two
        );
        assert!(serde_json::from_str::<Audience>("5").is_err());
    }
}
