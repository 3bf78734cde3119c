//! A minimal DER reader for the one structure we need: the RSA private key inside the
//! PKCS#8 document aws-lc-rs exports, so generated RSA keys can be written as JWKs.

use crate::Error;

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;

const BAD: Error = Error::InvalidKey("unexpected private key encoding");

/// The integers of an RSAPrivateKey (RFC 8017 A.1.2), big-endian without leading zeros.
#[derive(Debug)]
pub(crate) struct RsaPrivateParts<'a> {
    pub(crate) n: &'a [u8],
    pub(crate) e: &'a [u8],
    pub(crate) d: &'a [u8],
    pub(crate) p: &'a [u8],
    pub(crate) q: &'a [u8],
    pub(crate) dp: &'a [u8],
    pub(crate) dq: &'a [u8],
    pub(crate) qi: &'a [u8],
}

/// Reads one TLV, returning (tag, contents, rest).
fn read_tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8]), Error> {
    let (&tag, rest) = input.split_first().ok_or(BAD)?;
    let (&first, rest) = rest.split_first().ok_or(BAD)?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 3 {
            return Err(BAD);
        }
        let bytes = rest.get(..count).ok_or(BAD)?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, rest.get(count..).ok_or(BAD)?)
    };
    let contents = rest.get(..len).ok_or(BAD)?;
    let rest = rest.get(len..).ok_or(BAD)?;
    Ok((tag, contents, rest))
}

fn expect(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), Error> {
    let (t, contents, rest) = read_tlv(input)?;
    if t != tag {
        return Err(BAD);
    }
    Ok((contents, rest))
}

/// Reads a non-negative INTEGER and strips its leading zero bytes.
fn unsigned(input: &[u8]) -> Result<(&[u8], &[u8]), Error> {
    let (mut value, rest) = expect(input, INTEGER)?;
    if value.first().is_some_and(|b| b & 0x80 != 0) {
        return Err(BAD);
    }
    while let Some((&0, tail)) = value.split_first() {
        value = tail;
    }
    Ok((value, rest))
}

/// Extracts the RSA private key members from a PKCS#8 v1 `PrivateKeyInfo`.
pub(crate) fn rsa_from_pkcs8(pkcs8: &[u8]) -> Result<RsaPrivateParts<'_>, Error> {
    let (info, _) = expect(pkcs8, SEQUENCE)?;
    let (_version, rest) = unsigned(info)?;
    let (_algorithm, rest) = expect(rest, SEQUENCE)?;
    let (octets, _) = expect(rest, OCTET_STRING)?;
    let (key, _) = expect(octets, SEQUENCE)?;
    let (_version, rest) = unsigned(key)?;
    let (n, rest) = unsigned(rest)?;
    let (e, rest) = unsigned(rest)?;
    let (d, rest) = unsigned(rest)?;
    let (p, rest) = unsigned(rest)?;
    let (q, rest) = unsigned(rest)?;
    let (dp, rest) = unsigned(rest)?;
    let (dq, rest) = unsigned(rest)?;
    let (qi, _) = unsigned(rest)?;
    Ok(RsaPrivateParts {
        n,
        e,
        d,
        p,
        q,
        dp,
        dq,
        qi,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_or_wrong_input_is_an_error() {
        assert!(rsa_from_pkcs8(&[]).is_err());
        assert!(rsa_from_pkcs8(&[0x30, 0x82, 0x01]).is_err());
        assert!(rsa_from_pkcs8(&[0x31, 0x00]).is_err());
        assert!(rsa_from_pkcs8(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_err());
    }

    #[test]
    fn reads_integers_without_leading_zero() {
        let (v, rest) = unsigned(&[0x02, 0x03, 0x00, 0x80, 0x01, 0xff]).unwrap();
        assert_eq!(v, [0x80, 0x01]);
        assert_eq!(rest, [0xff]);
        // Negative integers are not valid key members.
        assert!(unsigned(&[0x02, 0x01, 0x80]).is_err());
    }
}
