//! Outgoing mail (verification and password-reset links) through the configured SMTP relay
//! with `lettre`, off the request path: a handler only queues a message ([`Mailer::queue`],
//! which never waits), and one background task delivers the queue in order, each delivery
//! bounded by the relay timeout. A full queue drops the new message; a failed delivery is
//! logged with the relay's error, never with the message, its link or the recipient's token.

use std::fmt;
use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::mpsc;

use crate::config::{SmtpSettings, SmtpTls};

/// One message to send. Its body carries a secret link, so `Debug` shows neither the body nor
/// the recipient.
#[derive(Clone)]
pub(crate) struct Email {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Email")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Why the mailer could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MailerError {
    /// The relay settings cannot make a transport (e.g. TLS parameters for the host name).
    #[error("smtp relay: {0}")]
    Transport(String),
}

/// The queue in front of the delivery task; `None` inside when no relay is configured.
#[derive(Debug)]
pub(crate) struct Mailer {
    queue: Option<mpsc::Sender<Email>>,
}

impl Mailer {
    /// A mailer that sends nothing (no relay configured).
    pub(crate) fn disabled() -> Self {
        Self { queue: None }
    }

    /// Starts the delivery task for `settings` (needs a Tokio runtime).
    pub(crate) fn start(settings: &SmtpSettings) -> Result<Self, MailerError> {
        let transport = transport(settings)?;
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| MailerError::Transport(format!("from address: {e}")))?;
        let timeout = Duration::from_secs(settings.timeout_secs);
        let (tx, mut rx) = mpsc::channel::<Email>(settings.queue);
        tokio::spawn(async move {
            while let Some(email) = rx.recv().await {
                deliver(&transport, &from, email, timeout).await;
            }
        });
        Ok(Self { queue: Some(tx) })
    }

    /// Queues `email` without waiting; `false` when it was dropped (no relay, or the queue is
    /// full).
    pub(crate) fn queue(&self, email: Email) -> bool {
        let Some(queue) = &self.queue else {
            return false;
        };
        match queue.try_send(email) {
            Ok(()) => {
                metrics::counter!("portcullis_mail_total", "outcome" => "queued").increment(1);
                true
            }
            Err(e) => {
                let reason = match e {
                    mpsc::error::TrySendError::Full(_) => "queue full",
                    mpsc::error::TrySendError::Closed(_) => "delivery task stopped",
                };
                tracing::warn!(reason, "mail dropped");
                metrics::counter!("portcullis_mail_total", "outcome" => "dropped").increment(1);
                false
            }
        }
    }
}

type Transport = AsyncSmtpTransport<Tokio1Executor>;

/// The transport for the relay: TLS as configured, credentials when given, the timeout on
/// every command.
fn transport(s: &SmtpSettings) -> Result<Transport, MailerError> {
    let err = |e: lettre::transport::smtp::Error| MailerError::Transport(e.to_string());
    let tls_parameters = || TlsParameters::new(s.host.clone()).map_err(err);
    let tls = match s.tls {
        SmtpTls::Implicit => Tls::Wrapper(tls_parameters()?),
        SmtpTls::StartTls => Tls::Required(tls_parameters()?),
        SmtpTls::InsecurePlaintext => Tls::None,
    };
    let mut builder = Transport::builder_dangerous(s.host.as_str())
        .port(s.port)
        .tls(tls)
        .timeout(Some(Duration::from_secs(s.timeout_secs)));
    if let (Some(user), Some(password)) = (&s.username, &s.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.secret().to_owned()));
    }
    Ok(builder.build())
}

/// Sends one message, logging the outcome without the message.
async fn deliver(transport: &Transport, from: &Mailbox, email: Email, timeout: Duration) {
    let message = email
        .to
        .parse::<Mailbox>()
        .map_err(|e| e.to_string())
        .and_then(|to| {
            Message::builder()
                .from(from.clone())
                .to(to)
                .subject(email.subject.as_str())
                .header(ContentType::TEXT_PLAIN)
                .body(email.body)
                .map_err(|e| e.to_string())
        });
    let message = match message {
        Ok(m) => m,
        Err(error) => {
            tracing::warn!(%error, subject = %email.subject, "mail not sent: cannot build the message");
            metrics::counter!("portcullis_mail_total", "outcome" => "failed").increment(1);
            return;
        }
    };
    let outcome = match tokio::time::timeout(timeout, transport.send(message)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
    };
    match outcome {
        Ok(()) => {
            tracing::info!(subject = %email.subject, "mail sent");
            metrics::counter!("portcullis_mail_total", "outcome" => "sent").increment(1);
        }
        Err(error) => {
            tracing::warn!(%error, subject = %email.subject, "mail not sent");
            metrics::counter!("portcullis_mail_total", "outcome" => "failed").increment(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_4_debug_shows_no_body_nor_recipient() {
        let email = Email {
            to: "someone@example.com".into(),
            subject: "Reset your password".into(),
            body: "https://id.example/password/reset?token=SECRET-TOKEN".into(),
        };
        let shown = format!("{email:?}");
        assert!(!shown.contains("SECRET-TOKEN"), "{shown}");
        assert!(!shown.contains("someone@"), "{shown}");
    }

    /// Log lines written while a test runs.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    #[tokio::test]
    async fn key_4_a_relay_that_never_answers_times_out_and_the_log_keeps_the_link_out() {
        // A relay that accepts the connection and says nothing.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let mut settings = SmtpSettings::new("127.0.0.1", "no-reply@id.example");
        settings.tls = SmtpTls::InsecurePlaintext;
        settings.port = port;
        settings.timeout_secs = 1;
        let mailer = Mailer::start(&settings).unwrap();
        assert!(mailer.queue(Email {
            to: "victim@example.com".into(),
            subject: "Reset your password".into(),
            body: "https://id.example/password/reset?token=SECRET-TOKEN".into(),
        }));
        let started = std::time::Instant::now();
        while !logs.text().contains("mail not sent") {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no failure logged: {}",
                logs.text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let text = logs.text();
        assert!(!text.contains("SECRET-TOKEN"), "{text}");
        assert!(!text.contains("victim@"), "{text}");
        assert!(text.contains("Reset your password"), "{text}");
    }

    #[tokio::test]
    async fn a_full_queue_drops_instead_of_waiting() {
        let (tx, _rx) = mpsc::channel(1);
        let mailer = Mailer { queue: Some(tx) };
        let email = || Email {
            to: "a@example.com".into(),
            subject: "s".into(),
            body: "b".into(),
        };
        assert!(mailer.queue(email()));
        assert!(!mailer.queue(email()), "the second does not fit");
        assert!(!Mailer::disabled().queue(email()));
    }
}
