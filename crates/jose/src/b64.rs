//! Strict base64url (RFC 7515 §2): no padding, no whitespace, canonical trailing bits.
//! Every decode in the crate goes through here.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::Error;

/// The one engine: URL-safe alphabet, no padding accepted or produced, non-zero trailing bits rejected.
pub(crate) const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// Encodes bytes as unpadded base64url.
pub(crate) fn encode(bytes: &[u8]) -> String {
    ENGINE.encode(bytes)
}

/// Decodes strict base64url; `what` names the field for the error.
pub(crate) fn decode(input: &str, what: &'static str) -> Result<Vec<u8>, Error> {
    ENGINE.decode(input).map_err(|_| Error::Malformed(what))
}

/// Decodes strict base64url into `out`, returning the written prefix length.
pub(crate) fn decode_into(
    input: &[u8],
    out: &mut [u8],
    what: &'static str,
) -> Result<usize, Error> {
    ENGINE
        .decode_slice(input, out)
        .map_err(|_| Error::Malformed(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_7_rejects_padding_whitespace_and_noncanonical_bits() {
        assert_eq!(decode("YQ", "x").unwrap(), b"a");
        assert!(decode("YQ==", "x").is_err());
        assert!(decode("Y Q", "x").is_err());
        assert!(decode("YQ\n", "x").is_err());
        // "YR" decodes to 'a' only if the trailing bits are ignored.
        assert!(decode("YR", "x").is_err());
        // Standard alphabet characters are not base64url.
        assert!(decode("a+/a", "x").is_err());
    }

    #[test]
    fn roundtrip() {
        let data = [0u8, 1, 2, 250, 251, 252, 253, 254, 255];
        assert_eq!(decode(&encode(&data), "x").unwrap(), data);
    }
}
