//! The texts of the self-service mail. Plain text, one link each; the link is the only secret
//! in them, and they are never logged.

use crate::mail::Email;

/// "N hours" or "N minutes" for a link's lifetime.
fn lifetime(secs: i64) -> String {
    match secs {
        s if s >= 7200 && s % 3600 == 0 => format!("{} hours", s / 3600),
        s if s >= 120 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

/// The mail asking the owner of a new account to verify the address.
pub(super) fn verification(to: &str, issuer: &str, username: &str, link: &str, ttl: i64) -> Email {
    Email {
        to: to.to_owned(),
        subject: "Verify your e-mail address".to_owned(),
        body: format!(
            "Hello {username},\r\n\r\n\
             an account was created at {issuer} with this address. To confirm that the address \
             is yours, open this link within {}:\r\n\r\n{link}\r\n\r\n\
             If you did not create the account, ignore this mail: the account cannot be used \
             until the address is confirmed.\r\n",
            lifetime(ttl)
        ),
    }
}

/// The mail sent instead of a verification when someone signs up with an address that already
/// has an account: the owner learns of it, the person signing up learns nothing.
pub(super) fn already_registered(to: &str, issuer: &str, reset: Option<&str>) -> Email {
    let reset = match reset {
        Some(url) => {
            format!("If you forgot your password, you can choose a new one at {url}\r\n\r\n")
        }
        None => String::new(),
    };
    Email {
        to: to.to_owned(),
        subject: "Sign-up with your e-mail address".to_owned(),
        body: format!(
            "Hello,\r\n\r\n\
             someone tried to create an account at {issuer} with this address, which already \
             has an account there. No new account was created.\r\n\r\n{reset}\
             If it was not you, ignore this mail.\r\n"
        ),
    }
}

/// The mail with a password-reset link.
pub(super) fn reset(to: &str, issuer: &str, username: &str, link: &str, ttl: i64) -> Email {
    Email {
        to: to.to_owned(),
        subject: "Reset your password".to_owned(),
        body: format!(
            "Hello {username},\r\n\r\n\
             someone asked to reset the password of your account at {issuer}. To choose a new \
             password, open this link within {}; it works once:\r\n\r\n{link}\r\n\r\n\
             If you did not ask for it, ignore this mail: your password stays as it is.\r\n",
            lifetime(ttl)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::lifetime;

    #[test]
    fn lifetimes_read_naturally() {
        assert_eq!(lifetime(86_400), "24 hours");
        assert_eq!(lifetime(1800), "30 minutes");
        assert_eq!(lifetime(90), "90 seconds");
    }
}
