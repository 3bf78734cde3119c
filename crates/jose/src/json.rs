//! Strict JSON for headers and claims: UTF-8 only, duplicate member names rejected at
//! every depth, serde_json's recursion limit left on.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::Error;

/// Parses `bytes` as a JSON object, rejecting duplicate member names anywhere in it.
pub(crate) fn parse_object(bytes: &[u8], what: &'static str) -> Result<Map<String, Value>, Error> {
    match parse_value(bytes, what)? {
        Value::Object(map) => Ok(map),
        _ => Err(Error::Malformed(what)),
    }
}

/// Parses `bytes` as any JSON value, rejecting duplicate member names anywhere in it.
pub(crate) fn parse_value(bytes: &[u8], what: &'static str) -> Result<Value, Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictSeed
        .deserialize(&mut de)
        .map_err(|_| Error::Malformed(what))?;
    de.end().map_err(|_| Error::Malformed(what))?;
    Ok(value)
}

/// Deserializes one JSON value, erroring on a repeated member name in any object.
pub(crate) struct StrictSeed;

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        StrictSeed.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictSeed)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let value = access.next_value_seed(StrictSeed)?;
            if map.insert(key, value).is_some() {
                return Err(de::Error::custom("duplicate member name"));
            }
        }
        Ok(Value::Object(map))
    }
}

/// Above this many members an object's names are tracked in a hash set.
const LINEAR_NAMES: usize = 16;

/// The member names of one object, rejecting a repeat.
#[derive(Debug, Default)]
pub(crate) struct Names<'de> {
    list: Vec<Cow<'de, str>>,
    set: Option<HashSet<Cow<'de, str>>>,
}

impl<'de> Names<'de> {
    /// Records `name`, erroring if it was already seen.
    pub(crate) fn add<E: de::Error>(&mut self, name: Cow<'de, str>) -> Result<(), E> {
        if let Some(set) = &mut self.set {
            if !set.insert(name) {
                return Err(E::custom("duplicate member name"));
            }
            return Ok(());
        }
        if self.list.contains(&name) {
            return Err(E::custom("duplicate member name"));
        }
        self.list.push(name);
        if self.list.len() > LINEAR_NAMES {
            self.set = Some(self.list.drain(..).collect());
        }
        Ok(())
    }

    /// True if `name` was recorded.
    pub(crate) fn contains(&self, name: &str) -> bool {
        match &self.set {
            Some(set) => set.contains(name),
            None => self.list.iter().any(|n| n == name),
        }
    }
}

/// Deserializes a member name, borrowing from the input when it has no escapes.
pub(crate) struct NameSeed;

impl<'de> DeserializeSeed<'de> for NameSeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v))
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

/// Consumes one value of any shape, rejecting duplicate member names inside it.
pub(crate) struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(SkipVisitor)
    }
}

/// Consumes the rest of an array with [`Skip`].
pub(crate) fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element_seed(Skip)?.is_some() {}
    Ok(())
}

/// Consumes the rest of an object with [`Skip`], rejecting duplicate names.
pub(crate) fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    let mut names = Names::default();
    while let Some(name) = map.next_key_seed(NameSeed)? {
        names.add(name)?;
        map.next_value_seed(Skip)?;
    }
    Ok(())
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        skip_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        skip_map(map)
    }
}

/// A member that should be a string: the string, or a marker that it had another type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Text {
    Str(String),
    Other,
}

/// Deserializes a [`Text`], consuming (and checking) non-string values.
pub(crate) struct TextSeed;

impl<'de> DeserializeSeed<'de> for TextSeed {
    type Value = Text;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Text, D::Error> {
        deserializer.deserialize_any(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_str<E>(self, v: &str) -> Result<Text, E> {
        Ok(Text::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Text, E> {
        Ok(Text::Str(v))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Text, E> {
        Ok(Text::Other)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Text, E> {
        Ok(Text::Other)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Text, E> {
        Ok(Text::Other)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Text, E> {
        Ok(Text::Other)
    }
    fn visit_unit<E>(self) -> Result<Text, E> {
        Ok(Text::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Text, A::Error> {
        skip_seq(seq).map(|()| Text::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Text, A::Error> {
        skip_map(map).map(|()| Text::Other)
    }
}

/// A member that should be a JSON number, as read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    Int(i64),
    /// An integer above `i64::MAX`.
    Big,
    Float(f64),
    Other,
}

/// Deserializes a [`Number`], consuming (and checking) other values.
pub(crate) struct NumberSeed;

impl<'de> DeserializeSeed<'de> for NumberSeed {
    type Value = Number;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Number, D::Error> {
        deserializer.deserialize_any(NumberVisitor)
    }
}

struct NumberVisitor;

impl<'de> Visitor<'de> for NumberVisitor {
    type Value = Number;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_i64<E>(self, v: i64) -> Result<Number, E> {
        Ok(Number::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Number, E> {
        Ok(i64::try_from(v).map_or(Number::Big, Number::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Number, E> {
        Ok(Number::Float(v))
    }
    fn visit_str<E>(self, _: &str) -> Result<Number, E> {
        Ok(Number::Other)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Number, E> {
        Ok(Number::Other)
    }
    fn visit_unit<E>(self) -> Result<Number, E> {
        Ok(Number::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Number, A::Error> {
        skip_seq(seq).map(|()| Number::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Number, A::Error> {
        skip_map(map).map(|()| Number::Other)
    }
}

/// Runs `seed` over the whole of `bytes`, rejecting trailing data.
pub(crate) fn scan<'de, S: DeserializeSeed<'de>>(
    bytes: &'de [u8],
    seed: S,
    what: &'static str,
) -> Result<S::Value, Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = seed
        .deserialize(&mut de)
        .map_err(|_| Error::Malformed(what))?;
    de.end().map_err(|_| Error::Malformed(what))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_8_duplicate_members_rejected_at_any_depth() {
        assert!(parse_object(br#"{"a":1,"a":2}"#, "x").is_err());
        assert!(parse_object(br#"{"a":{"b":1,"b":1}}"#, "x").is_err());
        assert!(parse_object(br#"{"a":[{"b":1,"b":2}]}"#, "x").is_err());
        // Escaped spelling of the same name is still the same name.
        assert!(parse_object(br#"{"alg":1,"\u0061lg":2}"#, "x").is_err());
        assert!(parse_object(br#"{"a":1,"b":{"a":2}}"#, "x").is_ok());
    }

    #[test]
    fn jwt_8_utf8_only_and_objects_only() {
        assert!(parse_object(b"\xEF\xBB\xBF{}", "x").is_err());
        assert!(parse_object(b"{\"a\":\"\xFF\"}", "x").is_err());
        assert!(parse_object(br#"{"a":"\ud800"}"#, "x").is_err());
        assert!(parse_object(b"[]", "x").is_err());
        assert!(parse_object(b"{} {}", "x").is_err());
        assert!(parse_object(b"{}", "x").is_ok());
    }

    #[test]
    fn dos_2_deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        assert!(parse_value(deep.as_bytes(), "x").is_err());
        let deep_obj = format!("{}{}", r#"{"a":"#.repeat(10_000), "1");
        assert!(parse_value(deep_obj.as_bytes(), "x").is_err());
    }

    #[test]
    fn skip_still_rejects_duplicates_and_many_names_work() {
        assert!(scan(br#"{"a":[{"x":1,"x":2}]}"#, Skip, "x").is_err());
        assert!(scan(br#"{"a":1} x"#, Skip, "x").is_err());
        let many: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let ok = format!("{{{}}}", many.join(","));
        assert!(scan(ok.as_bytes(), Skip, "x").is_ok());
        let dup = format!("{{{},\"k39\":0}}", many.join(","));
        assert!(scan(dup.as_bytes(), Skip, "x").is_err());
    }

    #[test]
    fn typed_seeds() {
        assert_eq!(
            scan(br#""a\u0062""#, TextSeed, "x").unwrap(),
            Text::Str("ab".into())
        );
        assert_eq!(scan(br#"[1]"#, TextSeed, "x").unwrap(), Text::Other);
        assert_eq!(
            scan(b"18446744073709551615", NumberSeed, "x").unwrap(),
            Number::Big
        );
        assert_eq!(scan(b"-3", NumberSeed, "x").unwrap(), Number::Int(-3));
        assert_eq!(scan(b"2.5", NumberSeed, "x").unwrap(), Number::Float(2.5));
        assert_eq!(scan(br#""1""#, NumberSeed, "x").unwrap(), Number::Other);
    }

    #[test]
    fn numbers_kept() {
        let v = parse_object(br#"{"i":-5,"u":18446744073709551615,"f":1.5}"#, "x").unwrap();
        assert_eq!(v["i"].as_i64(), Some(-5));
        assert_eq!(v["u"].as_u64(), Some(u64::MAX));
        assert_eq!(v["f"].as_f64(), Some(1.5));
        assert!(parse_object(br#"{"f":1e400}"#, "x").is_err());
    }
}
