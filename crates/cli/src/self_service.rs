//! `[registration]`, `[password_policy]` and `[smtp]`: self-service accounts and the relay
//! their mail goes through. The SMTP password comes from an environment variable, never from
//! the file.

use anyhow::{Context as _, anyhow};
use portcullis_server::config::{SelfServiceSettings, SmtpSettings, SmtpTls};
use portcullis_types::secret::Password;
use serde::Deserialize;

/// The environment variable read for the SMTP password unless `[smtp] password_env` names
/// another.
pub const DEFAULT_SMTP_PASSWORD_ENV: &str = "PORTCULLIS_SMTP_PASSWORD";

/// `[registration]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegistration {
    /// Whether the sign-up page is open (default false).
    pub enabled: Option<bool>,
    /// Whether a new account must verify its address before signing in (default true).
    pub verify_email: Option<bool>,
    /// Whether the login page offers "Forgot password?" when a relay is configured (default
    /// true).
    pub password_reset: Option<bool>,
    /// Lifetime of a verification link in seconds (default 86400).
    pub verification_ttl_secs: Option<i64>,
    /// Lifetime of a reset link in seconds (default 1800).
    pub reset_ttl_secs: Option<i64>,
    /// Sign-ups and reset requests per client address, and mails per recipient, per window
    /// (default 5).
    pub max_requests: Option<u32>,
    /// The window of `max_requests` in seconds (default 3600).
    pub window_secs: Option<i64>,
}

/// `[password_policy]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPasswordPolicy {
    /// Fewest characters (default 8).
    pub min_length: Option<usize>,
    /// Most characters (default 128).
    pub max_length: Option<usize>,
}

/// `[smtp]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSmtp {
    /// Host name of the relay.
    pub host: String,
    /// Port (default by `tls`: 465, 587 or 25).
    pub port: Option<u16>,
    /// `starttls` (default), `implicit` or `none`.
    pub tls: Option<String>,
    /// The sender, e.g. `Portcullis <no-reply@id.example>`.
    pub from: String,
    /// User name for SMTP AUTH.
    pub username: Option<String>,
    /// Name of the environment variable holding the SMTP password (default
    /// `PORTCULLIS_SMTP_PASSWORD`; read only when `username` is set).
    pub password_env: Option<String>,
    /// Seconds one delivery may take (default 10).
    pub timeout_secs: Option<u64>,
    /// Messages waiting to be sent at most (default 256).
    pub queue: Option<usize>,
}

/// Layers the three sections over the defaults; `ServerConfig::new` checks the result.
pub fn settings(
    registration: Option<RawRegistration>,
    policy: Option<RawPasswordPolicy>,
    smtp: Option<RawSmtp>,
    registration_override: Option<bool>,
) -> anyhow::Result<SelfServiceSettings> {
    let mut s = SelfServiceSettings::default();
    if let Some(r) = registration {
        set(&mut s.registration, r.enabled);
        set(&mut s.verify_email, r.verify_email);
        set(&mut s.password_reset, r.password_reset);
        set(&mut s.verification_ttl_secs, r.verification_ttl_secs);
        set(&mut s.reset_ttl_secs, r.reset_ttl_secs);
        set(&mut s.throttle.max_failures, r.max_requests);
        set(&mut s.throttle.window_secs, r.window_secs);
    }
    set(&mut s.registration, registration_override);
    if let Some(p) = policy {
        set(&mut s.password_policy.min_length, p.min_length);
        set(&mut s.password_policy.max_length, p.max_length);
    }
    s.smtp = smtp.map(smtp_settings).transpose()?;
    Ok(s)
}

fn smtp_settings(raw: RawSmtp) -> anyhow::Result<SmtpSettings> {
    let tls = match raw.tls.as_deref() {
        None => SmtpTls::StartTls,
        Some(t) => SmtpTls::parse(t).ok_or_else(|| {
            anyhow!("smtp.tls: {t:?} is not one of `starttls`, `implicit`, `none`")
        })?,
    };
    let password = match &raw.username {
        Some(_) => {
            let var = raw
                .password_env
                .as_deref()
                .unwrap_or(DEFAULT_SMTP_PASSWORD_ENV);
            let value = std::env::var(var).with_context(|| {
                format!("smtp: environment variable {var} (the SMTP password) is not set")
            })?;
            Some(Password::new(value))
        }
        None => None,
    };
    let mut s = SmtpSettings::new(raw.host, raw.from);
    s.tls = tls;
    s.port = raw.port.unwrap_or_else(|| tls.default_port());
    s.username = raw.username;
    s.password = password;
    set(&mut s.timeout_secs, raw.timeout_secs);
    set(&mut s.queue, raw.queue);
    Ok(s)
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_layer_over_the_defaults_and_the_flag_wins() {
        let s = settings(None, None, None, None).unwrap();
        assert!(!s.registration, "off by default");
        let raw: RawRegistration = toml::from_str("enabled = true\nreset_ttl_secs = 600").unwrap();
        let s = settings(Some(raw), None, None, Some(false)).unwrap();
        assert!(!s.registration, "the flag wins over the file");
        assert_eq!(s.reset_ttl_secs, 600);
        let smtp: RawSmtp = toml::from_str(
            "host = \"mail.example\"\nfrom = \"no-reply@id.example\"\ntls = \"implicit\"",
        )
        .unwrap();
        let policy: RawPasswordPolicy = toml::from_str("min_length = 12").unwrap();
        let s = settings(None, Some(policy), Some(smtp), None).unwrap();
        let smtp = s.smtp.unwrap();
        assert_eq!((smtp.tls, smtp.port), (SmtpTls::Implicit, 465));
        assert_eq!(s.password_policy.min_length, 12);
    }

    #[test]
    fn unknown_tls_and_missing_password_are_named() {
        let bad: RawSmtp =
            toml::from_str("host = \"m\"\nfrom = \"a@b.example\"\ntls = \"ssl\"").unwrap();
        let e = settings(None, None, Some(bad), None).unwrap_err();
        assert!(e.to_string().contains("smtp.tls"), "{e}");
        let no_password: RawSmtp = toml::from_str(
            "host = \"m\"\nfrom = \"a@b.example\"\nusername = \"u\"\n\
             password_env = \"PORTCULLIS_TEST_SURELY_UNSET_SMTP_PASSWORD\"",
        )
        .unwrap();
        let e = settings(None, None, Some(no_password), None).unwrap_err();
        assert!(
            e.to_string()
                .contains("PORTCULLIS_TEST_SURELY_UNSET_SMTP_PASSWORD"),
            "{e}"
        );
    }
}
