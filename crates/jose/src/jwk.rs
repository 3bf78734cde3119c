//! JSON Web Keys (RFC 7517) as plain serde structs, with RFC 7638 thumbprints and a
//! public projection. Turning a `Jwk` into a usable key happens in [`crate::key`].

use std::fmt;

use aws_lc_rs::digest;
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::{Error, b64};

/// One JSON Web Key. Byte-valued members hold their base64url text as found on the wire.
///
/// Unknown members are ignored when parsing. `Debug` never prints private members.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `RSA`, `EC`, `OKP` or `oct`.
    pub kty: String,
    /// Intended use: `sig` or `enc`.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Permitted operations (`sign`, `verify`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    /// The algorithm the key is meant for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Curve (EC and OKP keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// X coordinate (EC) or public key (OKP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// Y coordinate (EC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA modulus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Private exponent (RSA), private scalar (EC) or seed (OKP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<String>,
    /// RSA first prime factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<String>,
    /// RSA second prime factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// RSA first factor CRT exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp: Option<String>,
    /// RSA second factor CRT exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dq: Option<String>,
    /// RSA first CRT coefficient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qi: Option<String>,
    /// Symmetric key value (oct).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<String>,
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("use", &self.use_)
            .field("key_ops", &self.key_ops)
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("crv", &self.crv)
            .field("x", &self.x)
            .field("y", &self.y)
            .field("n", &self.n)
            .field("e", &self.e)
            .field("d", &redact(&self.d))
            .field("p", &redact(&self.p))
            .field("q", &redact(&self.q))
            .field("dp", &redact(&self.dp))
            .field("dq", &redact(&self.dq))
            .field("qi", &redact(&self.qi))
            .field("k", &redact(&self.k))
            .finish()
    }
}

impl Jwk {
    /// True if the key carries private or secret material (`d`, RSA CRT members, or `k`).
    pub fn is_private(&self) -> bool {
        self.d.is_some()
            || self.p.is_some()
            || self.q.is_some()
            || self.dp.is_some()
            || self.dq.is_some()
            || self.qi.is_some()
            || self.k.is_some()
    }

    /// The public form of this key: the same members without `d p q dp dq qi` (and `k`).
    ///
    /// # Errors
    /// [`Error::InvalidKey`] for `oct` keys, which have no public form.
    pub fn to_public(&self) -> Result<Jwk, Error> {
        if self.kty == "oct" || self.k.is_some() {
            return Err(Error::InvalidKey("symmetric keys have no public form"));
        }
        let mut out = self.clone();
        out.wipe_private();
        Ok(out)
    }

    /// Clears and drops every private member.
    pub(crate) fn wipe_private(&mut self) {
        for member in [
            &mut self.d,
            &mut self.p,
            &mut self.q,
            &mut self.dp,
            &mut self.dq,
            &mut self.qi,
            &mut self.k,
        ] {
            if let Some(mut v) = member.take() {
                v.zeroize();
            }
        }
    }

    /// The RFC 7638 thumbprint: base64url(SHA-256) of the required members in
    /// lexicographic order with no whitespace.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if `kty` is unknown or a required member is missing.
    pub fn thumbprint(&self) -> Result<String, Error> {
        let members: &[(&str, &Option<String>)] = match self.kty.as_str() {
            "RSA" => &[("e", &self.e), ("n", &self.n)],
            "EC" => &[("crv", &self.crv), ("x", &self.x), ("y", &self.y)],
            "OKP" => &[("crv", &self.crv), ("x", &self.x)],
            "oct" => &[("k", &self.k)],
            _ => return Err(Error::InvalidKey("unsupported kty")),
        };
        // Members sort as: crv, e, k, kty, n, x, y.
        let kty = Some(self.kty.clone());
        let mut all: Vec<(&str, &Option<String>)> = members.to_vec();
        all.push(("kty", &kty));
        all.sort_by(|a, b| a.0.cmp(b.0));
        let mut json = String::from("{");
        for (i, (name, value)) in all.iter().enumerate() {
            let value = value
                .as_deref()
                .ok_or(Error::InvalidKey("missing member required for thumbprint"))?;
            if i > 0 {
                json.push(',');
            }
            json.push('"');
            json.push_str(name);
            json.push_str("\":");
            json.push_str(
                &serde_json::to_string(value).map_err(|_| Error::InvalidKey("member encoding"))?,
            );
        }
        json.push('}');
        let hash = digest::digest(&digest::SHA256, json.as_bytes());
        json.zeroize();
        Ok(b64::encode(hash.as_ref()))
    }
}

/// A JWK Set (RFC 7517 §5).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    /// The keys, in publication order.
    pub keys: Vec<Jwk>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

    fn rfc7638_key() -> Jwk {
        Jwk {
            kty: "RSA".into(),
            n: Some(RFC7638_N.into()),
            e: Some("AQAB".into()),
            alg: Some("RS256".into()),
            kid: Some("2011-04-29".into()),
            ..Jwk::default()
        }
    }

    #[test]
    fn rfc7638_3_1_thumbprint_known_answer() {
        assert_eq!(
            rfc7638_key().thumbprint().unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn rfc8037_a_3_okp_thumbprint_known_answer() {
        let key = Jwk {
            kty: "OKP".into(),
            crv: Some("Ed25519".into()),
            x: Some("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".into()),
            d: Some("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A".into()),
            ..Jwk::default()
        };
        assert_eq!(
            key.thumbprint().unwrap(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
        // Private members and metadata do not change the thumbprint.
        assert_eq!(key.to_public().unwrap().thumbprint(), key.thumbprint());
    }

    #[test]
    fn thumbprint_needs_required_members() {
        let mut key = rfc7638_key();
        key.e = None;
        assert!(matches!(key.thumbprint(), Err(Error::InvalidKey(_))));
        key.kty = "XYZ".into();
        assert!(key.thumbprint().is_err());
    }

    #[test]
    fn key_1_public_form_drops_private_members() {
        let mut key = rfc7638_key();
        key.d = Some("ZA".into());
        key.p = Some("cA".into());
        key.qi = Some("cWk".into());
        assert!(key.is_private());
        let public = key.to_public().unwrap();
        assert!(!public.is_private());
        let json = serde_json::to_value(&public).unwrap();
        for member in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(json.get(member).is_none(), "{member} leaked");
        }
        assert_eq!(json["n"], RFC7638_N);
    }

    #[test]
    fn oct_has_no_public_form_and_debug_redacts() {
        let key = Jwk {
            kty: "oct".into(),
            k: Some("c2VjcmV0".into()),
            ..Jwk::default()
        };
        assert!(key.to_public().is_err());
        assert!(!format!("{key:?}").contains("c2VjcmV0"));
    }

    #[test]
    fn parses_set_and_ignores_unknown_members() {
        let set: JwkSet = serde_json::from_str(
            r#"{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA","use":"sig","x5t":"zz"}]}"#,
        )
        .unwrap();
        assert_eq!(set.keys.len(), 1);
        assert_eq!(set.keys[0].use_.as_deref(), Some("sig"));
        let back = serde_json::to_string(&set.keys[0]).unwrap();
        assert!(back.contains(r#""use":"sig""#));
    }
}
