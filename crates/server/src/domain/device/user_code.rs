//! User codes (RFC 8628 §6.1): generated from an alphabet without look-alikes, normalised from
//! what a user types, shown as `XXXX-XXXX`, and stored under their digest.

use crate::domain::error::ProtocolError;
use crate::domain::secrets::secret_hash;

/// Characters of a user code: digits and capital letters without the look-alikes `0`/`O` and
/// `1`/`I` (32 symbols, so one random byte maps to one symbol without bias).
pub(crate) const USER_CODE_ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// Symbols in a user code (40 bits), shown as two groups of four: `WDJB-MJHT`.
pub(crate) const USER_CODE_LEN: usize = 8;

/// A fresh user code in its display form, `XXXX-XXXX`.
pub(crate) fn generate_user_code() -> Result<String, ProtocolError> {
    let mut bytes = [0u8; USER_CODE_LEN];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| ProtocolError::internal("rng", &"random generator failed"))?;
    let mut out = String::with_capacity(USER_CODE_LEN + 1);
    for (i, b) in bytes.iter().enumerate() {
        if i == USER_CODE_LEN / 2 {
            out.push('-');
        }
        let symbol = USER_CODE_ALPHABET
            .get(usize::from(*b) % USER_CODE_ALPHABET.len())
            .copied()
            .unwrap_or(b'X');
        out.push(char::from(symbol));
    }
    Ok(out)
}

/// The canonical form of what a user typed: case-insensitive, dashes and spaces ignored.
/// `None` when it cannot be a user code (wrong length or a symbol outside the alphabet).
pub(crate) fn normalize_user_code(input: &str) -> Option<String> {
    let mut out = String::with_capacity(USER_CODE_LEN);
    for c in input.chars() {
        if c == '-' || c.is_whitespace() {
            continue;
        }
        let upper = c.to_ascii_uppercase();
        if !upper.is_ascii() || !USER_CODE_ALPHABET.contains(&(upper as u8)) {
            return None;
        }
        if out.len() == USER_CODE_LEN {
            return None;
        }
        out.push(upper);
    }
    (out.len() == USER_CODE_LEN).then_some(out)
}

/// The display form `XXXX-XXXX` of a canonical code.
pub(crate) fn display_user_code(canonical: &str) -> String {
    match (canonical.get(..4), canonical.get(4..)) {
        (Some(a), Some(b)) => format!("{a}-{b}"),
        _ => canonical.to_owned(),
    }
}
/// The store key of a user code (digest of its canonical form).
pub(super) fn user_code_key(canonical: &str) -> String {
    secret_hash(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_use_the_unambiguous_alphabet() {
        for _ in 0..200 {
            let code = generate_user_code().unwrap();
            assert_eq!(code.len(), USER_CODE_LEN + 1);
            assert_eq!(code.as_bytes()[4], b'-');
            for c in code.chars().filter(|c| *c != '-') {
                assert!(!"01OI".contains(c), "{code}");
                assert!(USER_CODE_ALPHABET.contains(&(c as u8)));
            }
        }
        assert_ne!(generate_user_code().unwrap(), generate_user_code().unwrap());
    }

    #[test]
    fn user_code_entry_ignores_case_dashes_and_spaces() {
        assert_eq!(
            normalize_user_code("wdjb-mjht").as_deref(),
            Some("WDJBMJHT")
        );
        assert_eq!(
            normalize_user_code(" WdJb MjHt ").as_deref(),
            Some("WDJBMJHT")
        );
        assert_eq!(
            normalize_user_code("WD-JB-MJ-HT").as_deref(),
            Some("WDJBMJHT")
        );
        assert_eq!(display_user_code("WDJBMJHT"), "WDJB-MJHT");
    }

    #[test]
    fn malformed_user_codes_are_refused() {
        for bad in [
            "",
            "WDJB-MJH",
            "WDJB-MJHTX",
            "WDJB-MJH0",
            "WDJB-MJHO",
            "WDJB-MJH1",
            "WDJB-MJHI",
            "WDJB_MJHT",
            "WDJB-MJHÉ",
        ] {
            assert_eq!(normalize_user_code(bad), None, "{bad}");
        }
    }
}
