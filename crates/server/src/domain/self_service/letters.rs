//! The texts of the self-service mail, in the language of the page that caused it (the
//! catalogues' `[mail]` table). Plain text, one link each; the link is the only secret in them,
//! and they are never logged.

use crate::i18n::{Locale, Msg, fill_text};
use crate::mail::Email;

/// A link's lifetime in words: whole hours from two hours on, else minutes from two minutes on,
/// else seconds.
fn lifetime(locale: Locale, secs: i64) -> String {
    let (one, many, n) = match secs {
        s if s >= 7200 && s % 3600 == 0 => (Msg::WaitHour, Msg::WaitHours, s / 3600),
        s if s >= 120 => (Msg::WaitMinute, Msg::WaitMinutes, s / 60),
        s => (Msg::WaitSecond, Msg::WaitSeconds, s),
    };
    if n == 1 {
        return locale.text(one).to_owned();
    }
    fill_text(locale.text(many), &[("n", &n.to_string())])
}

/// A mail of `subject` and `body` in `locale`, with the body's line breaks as CRLF.
fn letter(locale: Locale, to: &str, subject: Msg, body: Msg, args: &[(&str, &str)]) -> Email {
    Email {
        to: to.to_owned(),
        subject: locale.text(subject).to_owned(),
        body: fill_text(locale.text(body), args).replace('\n', "\r\n"),
    }
}

/// The mail asking the owner of a new account to verify the address.
pub(super) fn verification(
    locale: Locale,
    to: &str,
    issuer: &str,
    username: &str,
    link: &str,
    ttl: i64,
) -> Email {
    let texts = (Msg::MailVerifySubject, Msg::MailVerifyBody);
    with_link(locale, to, texts, issuer, username, link, ttl)
}

/// The mail sent instead of a verification when someone signs up with an address that already
/// has an account: the owner learns of it, the person signing up learns nothing.
pub(super) fn already_registered(
    locale: Locale,
    to: &str,
    issuer: &str,
    reset: Option<&str>,
) -> Email {
    let reset = reset
        .map(|url| fill_text(locale.text(Msg::MailRegisteredReset), &[("url", url)]))
        .unwrap_or_default();
    letter(
        locale,
        to,
        Msg::MailRegisteredSubject,
        Msg::MailRegisteredBody,
        &[("issuer", issuer), ("reset", &reset)],
    )
}

/// The mail with a password-reset link.
pub(super) fn reset(
    locale: Locale,
    to: &str,
    issuer: &str,
    username: &str,
    link: &str,
    ttl: i64,
) -> Email {
    let texts = (Msg::MailResetSubject, Msg::MailResetBody);
    with_link(locale, to, texts, issuer, username, link, ttl)
}

/// A mail to `username` whose body holds `link`, valid for `ttl` seconds.
fn with_link(
    locale: Locale,
    to: &str,
    (subject, body): (Msg, Msg),
    issuer: &str,
    username: &str,
    link: &str,
    ttl: i64,
) -> Email {
    let lifetime = lifetime(locale, ttl);
    letter(
        locale,
        to,
        subject,
        body,
        &[
            ("username", username),
            ("issuer", issuer),
            ("link", link),
            ("lifetime", &lifetime),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locale(tag: &str) -> Locale {
        Locale::lookup(tag).unwrap_or_default()
    }

    #[test]
    fn lifetimes_read_naturally() {
        let en = Locale::ENGLISH;
        assert_eq!(lifetime(en, 86_400), "24 hours");
        assert_eq!(lifetime(en, 3600), "60 minutes");
        assert_eq!(lifetime(en, 1800), "30 minutes");
        assert_eq!(lifetime(en, 90), "90 seconds");
        assert_eq!(lifetime(en, 1), "1 second");
        assert_eq!(lifetime(locale("ko"), 86_400), "24시간");
        assert_eq!(lifetime(locale("zh-TW"), 1800), "30 分鐘");
    }

    #[test]
    fn mail_is_written_in_the_asked_language_with_every_value_filled() {
        for tag in ["en", "zh-TW", "ko"] {
            let mail = reset(
                locale(tag),
                "a@example.com",
                "https://id.example.com",
                "alice",
                "https://id.example.com/password/reset?token=T",
                1800,
            );
            assert_eq!(mail.subject, locale(tag).text(Msg::MailResetSubject));
            assert!(
                mail.body
                    .contains("\r\nhttps://id.example.com/password/reset?token=T\r\n")
            );
            assert!(mail.body.contains("alice") && mail.body.contains("https://id.example.com"));
            assert!(mail.body.contains(&lifetime(locale(tag), 1800)));
            assert!(!mail.body.contains('{'), "{tag}: {}", mail.body);
            assert!(
                !mail.body.replace("\r\n", "").contains('\n'),
                "bare LF in {tag}"
            );
        }
        assert_ne!(
            reset(Locale::ENGLISH, "a@x", "i", "u", "l", 60).subject,
            reset(locale("ko"), "a@x", "i", "u", "l", 60).subject
        );
    }

    #[test]
    fn the_reset_offer_is_in_the_registered_mail_only_when_given() {
        let with = already_registered(Locale::ENGLISH, "a@x", "iss", Some("https://r"));
        let without = already_registered(Locale::ENGLISH, "a@x", "iss", None);
        assert!(with.body.contains("https://r"));
        assert!(!without.body.contains("https://") && !without.body.contains('{'));
    }
}
