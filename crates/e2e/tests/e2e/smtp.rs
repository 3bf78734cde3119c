//! A real SMTP server for the tests: `crates/e2e/smtp_sink.py` (aiosmtpd) on a port of its own,
//! writing each message it accepts to a temporary directory, and the messages read back,
//! their body decoded from its transfer encoding. Outside CI a test that needs it skips with a
//! notice when aiosmtpd is missing (`python3 -m pip install aiosmtpd`); with `CI` set it fails.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use portcullis_server::config::{SmtpSettings, SmtpTls};
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};

/// One message as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The envelope recipients.
    pub to: String,
    /// The `Subject` header.
    pub subject: String,
    /// The body, decoded.
    pub body: String,
}

impl Mail {
    /// The first link in the body that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> url::Url {
        let start = self
            .body
            .find(prefix)
            .unwrap_or_else(|| panic!("no link {prefix} in: {}", self.body));
        let rest = &self.body[start..];
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        url::Url::parse(&rest[..end]).unwrap()
    }
}

/// The running SMTP server.
pub struct SmtpSink {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl SmtpSink {
    /// Starts the server; `None` (after a notice) when aiosmtpd is missing outside CI.
    pub async fn start() -> Option<SmtpSink> {
        let probe = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
        if !probe.is_ok_and(|s| s.success()) {
            assert!(
                std::env::var_os("CI").is_none(),
                "aiosmtpd is required under CI (python3 -m pip install aiosmtpd)"
            );
            eprintln!("skipped: aiosmtpd is missing (python3 -m pip install aiosmtpd)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 starts");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(20),
            tokio::io::BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .expect("the SMTP server names its port")
        .unwrap();
        let port = line.trim().parse().expect("a port number");
        Some(SmtpSink { child, dir, port })
    }

    /// Relay settings for a server to send through this one (plain SMTP on loopback).
    pub fn settings(&self) -> SmtpSettings {
        let mut s = SmtpSettings::new("127.0.0.1", "Portcullis <no-reply@id.example>");
        s.tls = SmtpTls::InsecurePlaintext;
        s.port = self.port;
        s.timeout_secs = 10;
        s
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<Mail> {
        let mut names: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| parse(&std::fs::read(p).unwrap()))
            .collect()
    }

    /// Waits (in real time: the mail is sent by the server's background task) until at least
    /// `n` messages arrived, and returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Mail> {
        for _ in 0..300 {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {n} message(s), the SMTP server has {}",
            self.messages().len()
        );
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Splits a received message into recipients, subject and decoded body.
fn parse(raw: &[u8]) -> Mail {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    // Unfold continued header lines.
    let head = head.replace("\n ", " ").replace("\n\t", " ");
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let body = match header("Content-Transfer-Encoding")
        .to_ascii_lowercase()
        .as_str()
    {
        "base64" => {
            let compact: String = body.split_whitespace().collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .unwrap(),
            )
            .unwrap()
        }
        "quoted-printable" => quoted_printable(body),
        _ => body.to_owned(),
    };
    Mail {
        to: header("X-Envelope-To"),
        subject: decode_words(&header("Subject")),
        body: body.replace("\r\n", "\n"),
    }
}

/// A header value with its RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) decoded;
/// the white space between two encoded words is dropped (§6.2).
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut pending_space = String::new();
    let mut last_was_word = false;
    for token in value.split_inclusive(char::is_whitespace) {
        let word = token.trim_end();
        let space = &token[word.len()..];
        let decoded = word
            .strip_prefix("=?")
            .and_then(|w| w.strip_suffix("?="))
            .and_then(|w| {
                let mut parts = w.splitn(3, '?');
                let (_charset, encoding, text) = (parts.next()?, parts.next()?, parts.next()?);
                let bytes = match encoding {
                    "b" | "B" => base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .ok()?,
                    "q" | "Q" => quoted_printable(&text.replace('_', " ")).into_bytes(),
                    _ => return None,
                };
                String::from_utf8(bytes).ok()
            });
        match decoded {
            Some(text) => {
                if !last_was_word {
                    out.push_str(&pending_space);
                }
                out.push_str(&text);
                last_was_word = true;
            }
            None => {
                out.push_str(&pending_space);
                out.push_str(word);
                last_was_word = false;
            }
        }
        pending_space = space.to_owned();
    }
    out
}

/// Decodes quoted-printable text (RFC 2045 §6.7): soft line breaks and `=XX` escapes.
fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn quoted_printable_and_base64_bodies_are_decoded() {
    let qp = parse(
        b"X-Envelope-To: a@b.example\r\nSubject: Hi\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nhttps://x.example/p?token=3Dabc=\r\ndef caf=C3=A9\r\n",
    );
    assert_eq!(qp.body, "https://x.example/p?token=abcdef café\n");
    assert_eq!(qp.subject, "Hi");
    assert_eq!(qp.to, "a@b.example");
    let b64 = parse(b"Subject: S\r\nContent-Transfer-Encoding: base64\r\n\r\naGVs\r\nbG8=\r\n");
    assert_eq!(b64.body, "hello");
}
