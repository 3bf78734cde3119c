//! Self-service accounts: sign-up, e-mail verification and password reset by mail, the
//! password policy every new password is held to, and the SMTP relay the mail goes through.

use std::fmt;

use portcullis_types::secret::Password;

use super::{ConfigError, ThrottleSettings};

/// What every new password must satisfy (sign-up, reset, the account page, `users add` and
/// `users set-password`), after NIST SP 800-63B §3.1.1.2: a minimum and a generous maximum
/// length counted in characters, no composition rules, and no password from the list of common
/// passwords shipped with the server (nor the username itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Fewest characters (default 8, the least NIST allows; at least 8).
    pub min_length: usize,
    /// Most characters (default 128; at least 64, as NIST asks verifiers to accept).
    pub max_length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 128,
        }
    }
}

impl PasswordPolicy {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.min_length < 8 {
            return Err(ConfigError::new(
                "password_policy.min_length",
                "must be at least 8 (NIST SP 800-63B)",
            ));
        }
        if self.max_length < 64 || self.max_length > 1024 {
            return Err(ConfigError::new(
                "password_policy.max_length",
                "must be between 64 and 1024",
            ));
        }
        if self.min_length > self.max_length {
            return Err(ConfigError::new(
                "password_policy.min_length",
                "must not exceed max_length",
            ));
        }
        Ok(())
    }
}

/// How the connection to the SMTP relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// TLS from the first byte (submissions port 465).
    Implicit,
    /// A plain connection upgraded with STARTTLS, which is required (port 587; the default).
    StartTls,
    /// No TLS at all: only for a relay on the same host or network (e.g. a local MTA or a test
    /// server). Credentials and the links in the mail cross the network in clear.
    InsecurePlaintext,
}

impl SmtpTls {
    /// Reads `implicit`, `starttls` or `none`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "implicit" => Some(Self::Implicit),
            "starttls" => Some(Self::StartTls),
            "none" => Some(Self::InsecurePlaintext),
            _ => None,
        }
    }

    /// The port used when none is configured.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Implicit => 465,
            Self::StartTls => 587,
            Self::InsecurePlaintext => 25,
        }
    }
}

/// The SMTP relay self-service mail is sent through.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    /// Host name of the relay (also the name its certificate must carry).
    pub host: String,
    /// Port (default by `tls`: 465, 587 or 25).
    pub port: u16,
    /// Transport security (default STARTTLS, required).
    pub tls: SmtpTls,
    /// The sender, e.g. `Portcullis <no-reply@id.example>`.
    pub from: String,
    /// User name for SMTP AUTH, if the relay wants one.
    pub username: Option<String>,
    /// Password for SMTP AUTH (from the environment, never the file).
    pub password: Option<Password>,
    /// Seconds one delivery may take, connection included (default 10).
    pub timeout_secs: u64,
    /// Messages waiting to be sent at most (default 256); beyond that new ones are dropped and
    /// logged, so a dead relay cannot make the server hold mail without bound.
    pub queue: usize,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("from", &self.from)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("timeout_secs", &self.timeout_secs)
            .field("queue", &self.queue)
            .finish()
    }
}

impl SmtpSettings {
    /// A relay at `host` with STARTTLS on port 587, sending as `from`.
    pub fn new(host: impl Into<String>, from: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            port: SmtpTls::StartTls.default_port(),
            tls: SmtpTls::StartTls,
            from: from.into(),
            username: None,
            password: None,
            timeout_secs: 10,
            queue: 256,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.host.is_empty() {
            return Err(ConfigError::new("smtp.host", "must not be empty"));
        }
        if self.port == 0 {
            return Err(ConfigError::new("smtp.port", "must not be 0"));
        }
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError::new(
                "smtp.from",
                "must be an address, e.g. `Portcullis <no-reply@id.example>`",
            ));
        }
        if self.username.is_some() != self.password.is_some() {
            return Err(ConfigError::new(
                "smtp.username",
                "needs a password (smtp.password_env), and the other way round",
            ));
        }
        if self.timeout_secs == 0 || self.timeout_secs > 300 {
            return Err(ConfigError::new(
                "smtp.timeout_secs",
                "must be between 1 and 300",
            ));
        }
        if self.queue == 0 {
            return Err(ConfigError::new("smtp.queue", "must be at least 1"));
        }
        Ok(())
    }
}

/// Self-service accounts (`[registration]`, `[password_policy]`, `[smtp]`). All off by
/// default except the password policy, which always applies, and the password reset, which is
/// offered as soon as a relay is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfServiceSettings {
    /// Whether anyone may create an account on the sign-up page (default false).
    pub registration: bool,
    /// Whether a registered account must verify its address before it can sign in (default
    /// true; needs `smtp`).
    pub verify_email: bool,
    /// Whether the login page offers "Forgot password?" (default true; only with `smtp`).
    pub password_reset: bool,
    /// Lifetime of a verification link in seconds (default 24 hours).
    pub verification_ttl_secs: i64,
    /// Lifetime of a password-reset link in seconds (default 30 minutes, at most 24 hours).
    pub reset_ttl_secs: i64,
    /// Sign-ups and reset requests per client address, and mails per recipient, in a window
    /// (default 5 per hour).
    pub throttle: ThrottleSettings,
    /// The password policy.
    pub password_policy: PasswordPolicy,
    /// The SMTP relay; without one no mail is sent, so neither verification nor reset is
    /// offered.
    pub smtp: Option<SmtpSettings>,
}

impl Default for SelfServiceSettings {
    fn default() -> Self {
        Self {
            registration: false,
            verify_email: true,
            password_reset: true,
            verification_ttl_secs: 24 * 3600,
            reset_ttl_secs: 1800,
            throttle: ThrottleSettings {
                max_failures: 5,
                window_secs: 3600,
            },
            password_policy: PasswordPolicy::default(),
            smtp: None,
        }
    }
}

impl SelfServiceSettings {
    /// Whether sign-ups must verify their address before they can sign in.
    pub fn verification_required(&self) -> bool {
        self.verify_email && self.smtp.is_some()
    }

    /// Whether the password reset by mail is offered.
    pub fn reset_offered(&self) -> bool {
        self.password_reset && self.smtp.is_some()
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        self.password_policy.validate()?;
        if let Some(smtp) = &self.smtp {
            smtp.validate()?;
        }
        if self.registration && self.verify_email && self.smtp.is_none() {
            return Err(ConfigError::new(
                "registration.verify_email",
                "needs an [smtp] relay to send the verification mail (or verify_email = false)",
            ));
        }
        if self.verification_ttl_secs <= 0 || self.verification_ttl_secs > 7 * 24 * 3600 {
            return Err(ConfigError::new(
                "registration.verification_ttl_secs",
                "must be between 1 second and 7 days",
            ));
        }
        if self.reset_ttl_secs <= 0 || self.reset_ttl_secs > 24 * 3600 {
            return Err(ConfigError::new(
                "registration.reset_ttl_secs",
                "must be between 1 second and 24 hours",
            ));
        }
        if self.throttle.max_failures == 0 || self.throttle.window_secs <= 0 {
            return Err(ConfigError::new(
                "registration.throttle",
                "needs max_requests > 0 and a window",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_registration_is_off() {
        let s = SelfServiceSettings::default();
        assert!(s.validate().is_ok());
        assert!(!s.registration);
        assert!(!s.reset_offered(), "no relay, no reset");
    }

    #[test]
    fn verification_needs_a_relay() {
        let mut s = SelfServiceSettings {
            registration: true,
            ..SelfServiceSettings::default()
        };
        assert_eq!(
            s.validate().unwrap_err().setting,
            "registration.verify_email"
        );
        s.verify_email = false;
        assert!(s.validate().is_ok());
        s.smtp = Some(SmtpSettings::new("mail.example", "no-reply@id.example"));
        s.verify_email = true;
        assert!(s.validate().is_ok());
        assert!(s.verification_required());
    }

    #[test]
    fn policy_bounds_follow_nist() {
        for (min, max, setting) in [
            (7, 128, "password_policy.min_length"),
            (8, 63, "password_policy.max_length"),
            (100, 64, "password_policy.min_length"),
        ] {
            let s = SelfServiceSettings {
                password_policy: PasswordPolicy {
                    min_length: min,
                    max_length: max,
                },
                ..SelfServiceSettings::default()
            };
            assert_eq!(s.validate().unwrap_err().setting, setting);
        }
    }

    #[test]
    fn smtp_settings_are_checked_and_the_password_redacted() {
        let mut smtp = SmtpSettings::new("mail.example", "not an address");
        assert_eq!(smtp.validate().unwrap_err().setting, "smtp.from");
        smtp.from = "Portcullis <no-reply@id.example>".into();
        smtp.username = Some("relay-user".into());
        assert_eq!(smtp.validate().unwrap_err().setting, "smtp.username");
        smtp.password = Some(Password::new("relay-secret-value"));
        assert!(smtp.validate().is_ok());
        let shown = format!("{smtp:?}");
        assert!(!shown.contains("relay-secret-value"), "{shown}");
        assert_eq!(SmtpTls::parse("none"), Some(SmtpTls::InsecurePlaintext));
        assert_eq!(SmtpTls::parse("tls"), None);
    }
}
