//! `portcullis clients rotate-secret`: a confidential client's new secret, printed once, with
//! the old one accepted for an overlap, against the database or (with `--server`) the admin API,
//! printing the same text and JSON either way.

use std::time::Duration;

use crate::clients::RotateSecretArgs;
use crate::db::format_time;
use anyhow::anyhow;
use portcullis_jose::time::SystemClock;
use portcullis_server::admin;
use portcullis_server::admin_api::{RotatedSecretView, SecretRotation};
use reqwest::Method;

/// Parses an overlap: whole seconds, or a number followed by `s`, `m`, `h` or `d`.
pub fn parse_overlap(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (text.get(..i).unwrap_or_default(), c),
        _ => (text, 's'),
    };
    let scale: u64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return Err(format!("`{text}`: the unit is one of s, m, h, d")),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 3600, 90m, 12h or 1d"))?;
    n.checked_mul(scale)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is too long"))
}

/// `clients rotate-secret`.
pub async fn rotate(args: RotateSecretArgs) -> anyhow::Result<()> {
    let rotated: RotatedSecretView = if let Some(remote) = args.target.remote().await? {
        let request = SecretRotation {
            overlap_seconds: args.overlap.as_secs(),
        };
        remote
            .call(
                Method::POST,
                &["clients", &args.id, "secret"],
                Some(&request),
            )
            .await?
    } else {
        let (store, resolved) = args.target.store.open().await?;
        admin::rotate_client_secret(
            store.as_ref(),
            &SystemClock,
            &resolved.server,
            &args.id,
            args.overlap,
        )
        .await
        .map_err(|e| anyhow!("{e}"))?
        .into()
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rotated)?);
        return Ok(());
    }
    println!("client {}: secret rotated", rotated.client_id);
    println!("client_secret: {}", rotated.client_secret);
    match rotated.previous_secret_expires_at {
        Some(until) => println!(
            "the previous secret is accepted until {} (running servers may take their client \
             cache lifetime to accept the new one)",
            format_time(until)
        ),
        None => println!("the previous secret is no longer accepted"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlaps_parse_in_seconds_or_with_a_unit() {
        assert_eq!(parse_overlap("0"), Ok(Duration::ZERO));
        assert_eq!(parse_overlap("3600"), Ok(Duration::from_secs(3_600)));
        assert_eq!(parse_overlap("45s"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_overlap("90m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_overlap("12h"), Ok(Duration::from_secs(43_200)));
        assert_eq!(parse_overlap("1d"), Ok(Duration::from_secs(86_400)));
        for bad in ["", "d", "1w", "-1", "1.5h", "x1d", "99999999999999999999d"] {
            assert!(parse_overlap(bad).is_err(), "{bad}");
        }
    }
}
