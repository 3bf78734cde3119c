//! Signing in against an LDAP directory (OpenLDAP, Active Directory): bind as the service
//! account, search the user's entry with the typed username escaped per RFC 4515, bind as that
//! entry with the typed password, then read the entry's attributes and groups. Nothing of the
//! password is kept; every step runs under a timeout and the binds in flight are bounded.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use ldap3::{
    LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry, SearchOptions, ldap_escape,
};
use portcullis_types::secret::Password;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use rustls::{ClientConfig, RootCertStore};
use tokio::sync::Semaphore;

use super::{Identity, UpstreamError};
use crate::store::{LDAP_SUBJECT_DN, LdapGroups, LdapSettings};

/// The `amr` of a directory sign-in: the user typed a password (RFC 8176).
pub(crate) const DIRECTORY_AMR: &str = "pwd";

/// Binds in flight at once in this process; a sign-in waiting longer than its timeout for a
/// turn fails as busy.
const MAX_CONCURRENT_BINDS: usize = 32;

/// Most groups read for one user.
const MAX_GROUPS: i32 = 256;

/// Result code of a bind with a wrong password or unknown DN (RFC 4511 §A.1).
const INVALID_CREDENTIALS: u32 = 49;
/// Result code of a search that found more entries than its size limit.
const SIZE_LIMIT_EXCEEDED: u32 = 4;

static BINDS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(MAX_CONCURRENT_BINDS));

/// The system's CA certificates, read once.
static SYSTEM_ROOTS: LazyLock<Vec<CertificateDer<'static>>> =
    LazyLock::new(|| rustls_native_certs::load_native_certs().certs);

/// Why a directory did not sign the user in, though it answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The username or the password is empty: refused before any bind, since a bind with an
    /// empty password is an unauthenticated bind that succeeds for any DN (RFC 4513 §5.1.2).
    Empty,
    /// No entry matches the username.
    NoSuchUser,
    /// Several entries match the username: which one is meant is not ours to guess.
    Ambiguous,
    /// The directory refused the password.
    WrongPassword,
}

/// What a directory said of a username and password.
#[derive(Debug)]
pub(crate) enum Checked {
    /// The password is right: the account as the directory describes it.
    Account(Box<Identity>),
    /// Not signed in.
    Refused(Refusal),
}

/// The username as the directory will match it, or `None` when it is refused: surrounding
/// spaces dropped and inner runs of spaces made one, as LDAP's matching rules do (RFC 4518
/// insignificant space handling), and only printable ASCII. The sign-in throttle counts
/// failures per username, so every spelling the directory takes for one account must be one
/// username here: case is folded by the throttle, spaces here, and the Unicode normalisation the
/// directory would apply to other characters (full-width letters matching ASCII ones) is not
/// attempted: such usernames are refused.
pub(crate) fn canonical_username(raw: &str) -> Option<String> {
    let canonical = raw
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let ok = !canonical.is_empty() && canonical.chars().all(|c| c == ' ' || c.is_ascii_graphic());
    ok.then_some(canonical)
}

/// The typed username's share of the filter: `template` with every `{username}` replaced by
/// `username` escaped per RFC 4515, so `*`, `(`, `)`, `\` and NUL are matched literally.
pub(crate) fn user_filter(template: &str, username: &str) -> String {
    template.replace("{username}", &ldap_escape(username))
}

/// Checks `username` and `password` against the directory of `settings`, searching as
/// `bind_dn` with `bind_password`. Errors are the directory's failures (unreachable, timed out,
/// the service account refused), never the user's.
#[tracing::instrument(skip_all, fields(url = %settings.url))]
pub(crate) async fn authenticate(
    settings: &LdapSettings,
    bind_dn: &str,
    bind_password: &str,
    username: &str,
    password: &Password,
) -> Result<Checked, UpstreamError> {
    if username.is_empty() || password.secret().is_empty() {
        return Ok(Checked::Refused(Refusal::Empty));
    }
    let step = Duration::from_secs(settings.timeout_secs.max(1));
    // Connect, service bind, search, user bind, rebind and group search: the whole exchange is
    // bounded, whatever the directory does between the steps.
    let total = step.saturating_mul(6);
    let _turn = tokio::time::timeout(step, BINDS.acquire())
        .await
        .map_err(|_| UpstreamError::Busy)?
        .map_err(|_| UpstreamError::Busy)?;
    let exchange = Exchange {
        settings,
        step,
        bind_dn,
        bind_password,
    };
    tokio::time::timeout(total, exchange.run(username, password))
        .await
        .map_err(|_| UpstreamError::Unreachable("the directory did not answer in time".into()))?
}

/// One sign-in's conversation with the directory.
struct Exchange<'a> {
    settings: &'a LdapSettings,
    step: Duration,
    bind_dn: &'a str,
    bind_password: &'a str,
}

/// A directory failure: timeouts and I/O mean the directory is unreachable, anything else is a
/// refusal of ours (the service account, a bad base DN) told to the operator through the log.
fn directory_error(what: &str, e: LdapError) -> UpstreamError {
    match e {
        LdapError::Timeout { .. } | LdapError::Io { .. } => {
            UpstreamError::Unreachable(format!("{what}: {e}"))
        }
        LdapError::LdapResult { result } => UpstreamError::Directory(format!(
            "{what}: result code {} {}",
            result.rc,
            result.text.chars().take(200).collect::<String>()
        )),
        other => UpstreamError::Unreachable(format!("{what}: {other}")),
    }
}

impl Exchange<'_> {
    async fn run(&self, username: &str, password: &Password) -> Result<Checked, UpstreamError> {
        let mut conn = self.connect().await?;
        let checked = self.check(&mut conn, username, password).await;
        // Best effort: the server drops the connection on its own anyway.
        let _ = conn.with_timeout(self.step).unbind().await;
        checked
    }

    async fn connect(&self) -> Result<ldap3::Ldap, UpstreamError> {
        let mut conn = LdapConnSettings::new().set_conn_timeout(self.step);
        let tls = self.settings.starttls || self.settings.url.starts_with("ldaps:");
        if tls {
            conn = conn
                .set_starttls(self.settings.starttls)
                .set_config(tls_config(self.settings.ca_file.as_deref()).await?);
        }
        let (driver, ldap) = LdapConnAsync::with_settings(conn, &self.settings.url)
            .await
            .map_err(|e| directory_error("connect", e))?;
        tokio::spawn(async move {
            if let Err(e) = driver.drive().await {
                tracing::debug!(error = %e, "directory connection ended");
            }
        });
        Ok(ldap)
    }

    async fn service_bind(&self, conn: &mut ldap3::Ldap) -> Result<(), UpstreamError> {
        conn.with_timeout(self.step)
            .simple_bind(self.bind_dn, self.bind_password)
            .await
            .and_then(ldap3::LdapResult::success)
            .map_err(|e| directory_error("service account bind", e))?;
        Ok(())
    }

    async fn check(
        &self,
        conn: &mut ldap3::Ldap,
        username: &str,
        password: &Password,
    ) -> Result<Checked, UpstreamError> {
        let s = self.settings;
        self.service_bind(conn).await?;
        let mut attributes = vec![
            s.subject_attribute.as_str(),
            s.email_attribute.as_str(),
            s.name_attribute.as_str(),
        ];
        if let LdapGroups::Attribute(a) = &s.group_source {
            attributes.push(a.as_str());
        }
        let filter = user_filter(&s.user_filter, username);
        // Two entries are enough to know the username is ambiguous.
        let found = conn
            .with_timeout(self.step)
            .with_search_options(SearchOptions::new().sizelimit(2))
            .search(&s.user_base, Scope::Subtree, &filter, attributes)
            .await
            .map_err(|e| directory_error("user search", e))?;
        let ldap3::SearchResult(entries, result) = found;
        let entries = parse_entries(entries)?;
        if result.rc == SIZE_LIMIT_EXCEEDED || entries.len() > 1 {
            return Ok(Checked::Refused(Refusal::Ambiguous));
        }
        result
            .success()
            .map_err(|e| directory_error("user search", e))?;
        let Some(entry) = entries.into_iter().next() else {
            return Ok(Checked::Refused(Refusal::NoSuchUser));
        };
        // An empty DN would make the next bind anonymous.
        if entry.dn.is_empty() {
            return Ok(Checked::Refused(Refusal::NoSuchUser));
        }
        let bound = conn
            .with_timeout(self.step)
            .simple_bind(&entry.dn, password.secret())
            .await
            .map_err(|e| directory_error("user bind", e))?;
        match bound.rc {
            0 => {}
            INVALID_CREDENTIALS => return Ok(Checked::Refused(Refusal::WrongPassword)),
            _ => {
                return Err(directory_error(
                    "user bind",
                    LdapError::LdapResult { result: bound },
                ));
            }
        }
        let groups = match &s.group_source {
            LdapGroups::Attribute(a) => values(&entry, a)
                .iter()
                .filter_map(|dn| group_name(dn))
                .take(usize::try_from(MAX_GROUPS).unwrap_or(usize::MAX))
                .collect(),
            LdapGroups::Search { base, filter } => {
                // The user may not read the groups: search them as the service account.
                self.service_bind(conn).await?;
                self.groups_of(conn, base, filter, &entry.dn).await?
            }
        };
        Ok(Checked::Account(Box::new(identity(
            s, username, entry, groups,
        )?)))
    }

    /// The `cn`s of the groups under `base` whose `filter` matches the user `dn`.
    async fn groups_of(
        &self,
        conn: &mut ldap3::Ldap,
        base: &str,
        filter: &str,
        dn: &str,
    ) -> Result<Vec<String>, UpstreamError> {
        let filter = filter.replace("{dn}", &ldap_escape(dn));
        let found = conn
            .with_timeout(self.step)
            .with_search_options(SearchOptions::new().sizelimit(MAX_GROUPS))
            .search(base, Scope::Subtree, &filter, vec!["cn"])
            .await
            .map_err(|e| directory_error("group search", e))?;
        let ldap3::SearchResult(entries, result) = found;
        if result.rc != SIZE_LIMIT_EXCEEDED {
            result
                .success()
                .map_err(|e| directory_error("group search", e))?;
        }
        Ok(parse_entries(entries)?
            .into_iter()
            .filter_map(|g| {
                values(&g, "cn")
                    .into_iter()
                    .next()
                    .or_else(|| group_name(&g.dn))
            })
            .collect())
    }
}

/// The entries of a search result (referrals and intermediate messages left out). ldap3's
/// parser panics on an entry it cannot read (a DN that is not UTF-8, a malformed structure);
/// such an answer is refused as malformed instead of taking the request down.
fn parse_entries(entries: Vec<ldap3::ResultEntry>) -> Result<Vec<SearchEntry>, UpstreamError> {
    entries
        .into_iter()
        .filter(|e| !e.is_ref() && !e.is_intermediate())
        .map(|e| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| SearchEntry::construct(e)))
                .map_err(|_| UpstreamError::Malformed("an unreadable directory entry".into()))
        })
        .collect()
}

/// The text values of attribute `name` of `entry` (attribute names compare without case).
fn values(entry: &SearchEntry, name: &str) -> Vec<String> {
    entry
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// The first value of attribute `name`, text as is and binary (`objectGUID`) as lowercase hex.
fn first_value(entry: &SearchEntry, name: &str) -> Option<String> {
    if let Some(v) = values(entry, name).into_iter().find(|v| !v.is_empty()) {
        return Some(v);
    }
    entry
        .bin_attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.first())
        .filter(|v| !v.is_empty())
        .map(|v| v.iter().map(|b| format!("{b:02x}")).collect())
}

/// The account of the bound `entry`.
fn identity(
    s: &LdapSettings,
    username: &str,
    entry: SearchEntry,
    groups: Vec<String>,
) -> Result<Identity, UpstreamError> {
    let subject = if s.subject_attribute.eq_ignore_ascii_case(LDAP_SUBJECT_DN) {
        entry.dn.clone()
    } else {
        first_value(&entry, &s.subject_attribute).ok_or_else(|| {
            UpstreamError::Malformed(format!(
                "the entry has no subject attribute {}",
                s.subject_attribute
            ))
        })?
    };
    let email = first_value(&entry, &s.email_attribute);
    Ok(Identity {
        subject,
        username: Some(username.to_owned()),
        // The directory is the operator's own: its addresses count as verified.
        email_verified: email.is_some(),
        email,
        name: first_value(&entry, &s.name_attribute),
        attributes: Default::default(),
        groups,
        amr: vec![DIRECTORY_AMR.to_owned()],
    })
}

/// The name of the group whose DN is `dn`: the value of its first RDN when that is a `cn`
/// (`cn=Admins,ou=groups,dc=example,dc=org` → `Admins`), escapes undone.
pub(crate) fn group_name(dn: &str) -> Option<String> {
    let (attr, rest) = dn.split_once('=')?;
    if !attr.trim().eq_ignore_ascii_case("cn") {
        return None;
    }
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            ',' | '+' => break,
            '\\' => match chars.next() {
                Some(h) if h.is_ascii_hexdigit() => {
                    // `\XX`: one byte of UTF-8; only ASCII is decoded here, the rest kept.
                    let l = chars.next()?;
                    let byte = u8::from_str_radix(&format!("{h}{l}"), 16).ok()?;
                    out.push(if byte.is_ascii() {
                        char::from(byte)
                    } else {
                        '?'
                    });
                }
                Some(other) => out.push(other),
                None => return None,
            },
            c => out.push(c),
        }
    }
    let out = out.trim().to_owned();
    (!out.is_empty()).then_some(out)
}

/// Checks settings before they are stored: the setting at fault and why, if any.
pub(crate) fn check_settings(s: &LdapSettings) -> Result<(), (&'static str, String)> {
    let url = url::Url::parse(&s.url).map_err(|e| ("url", format!("`{}`: {e}", s.url)))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(("url", "names no host".into()));
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || !url.username().is_empty() {
        return Err((
            "url",
            "must be ldap://host[:port] or ldaps://host[:port], with nothing after".into(),
        ));
    }
    match url.scheme() {
        "ldaps" if s.starttls => {
            return Err((
                "starttls",
                "is for ldap:// URLs; ldaps:// is TLS already".into(),
            ));
        }
        "ldaps" => {}
        "ldap" if s.starttls || super::fetch::is_loopback(&url) => {}
        "ldap" => {
            return Err((
                "url",
                "a plain ldap:// URL sends passwords in clear: use --starttls or ldaps:// \
                 (plain ldap:// is allowed only to a loopback host)"
                    .into(),
            ));
        }
        other => return Err(("url", format!("unknown scheme `{other}`"))),
    }
    if s.user_base.trim().is_empty() {
        return Err(("user_base", "is required".into()));
    }
    if !s.user_filter.contains("{username}") || !s.user_filter.starts_with('(') {
        return Err((
            "user_filter",
            "must be a parenthesised filter with {username}, e.g. (uid={username})".into(),
        ));
    }
    for (setting, attr) in [
        ("subject_attribute", &s.subject_attribute),
        ("email_attribute", &s.email_attribute),
        ("name_attribute", &s.name_attribute),
    ] {
        if attr.is_empty() || !attr.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err((setting, format!("`{attr}` is not an attribute name")));
        }
    }
    match &s.group_source {
        LdapGroups::Attribute(a)
            if a.is_empty() || !a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
        {
            return Err(("group_attribute", format!("`{a}` is not an attribute name")));
        }
        LdapGroups::Search { base, filter }
            if base.trim().is_empty() || !filter.contains("{dn}") || !filter.starts_with('(') =>
        {
            return Err((
                "group_filter",
                "a group search needs a base and a parenthesised filter with {dn}".into(),
            ));
        }
        _ => {}
    }
    if !(1..=60).contains(&s.timeout_secs) {
        return Err(("timeout_secs", "must be 1 to 60 seconds".into()));
    }
    if s.ca_file.as_deref().is_some_and(str::is_empty) {
        return Err(("ca_file", "is empty".into()));
    }
    Ok(())
}

/// The TLS settings: the CAs of `ca_file` (PEM), or the system's, over the ring provider.
async fn tls_config(ca_file: Option<&str>) -> Result<Arc<ClientConfig>, UpstreamError> {
    let bad = |e: String| UpstreamError::Directory(format!("TLS settings: {e}"));
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let pem = tokio::fs::read(path)
                .await
                .map_err(|e| bad(format!("{path}: {e}")))?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| bad(format!("{path}: {e}")))?;
                roots.add(cert).map_err(|e| bad(format!("{path}: {e}")))?;
            }
            if roots.is_empty() {
                return Err(bad(format!("{path} holds no certificate")));
            }
        }
        None => {
            roots.add_parsable_certificates(SYSTEM_ROOTS.iter().cloned());
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldap_injection_in_the_username_is_escaped() {
        assert_eq!(
            user_filter("(uid={username})", "*)(uid=*"),
            r"(uid=\2a\29\28uid=\2a)"
        );
        assert_eq!(
            user_filter("(&(objectClass=user)(sAMAccountName={username}))", r"a\b*"),
            r"(&(objectClass=user)(sAMAccountName=a\5cb\2a))"
        );
        assert_eq!(user_filter("(uid={username})", "a\0b"), r"(uid=a\00b)");
    }

    #[test]
    fn usernames_are_taken_in_the_one_spelling_the_directory_matches() {
        assert_eq!(canonical_username("ada").as_deref(), Some("ada"));
        assert_eq!(canonical_username("  ada ").as_deref(), Some("ada"));
        assert_eq!(
            canonical_username("Ada  Lovelace").as_deref(),
            Some("Ada Lovelace")
        );
        assert_eq!(
            canonical_username("ada@corp.example").as_deref(),
            Some("ada@corp.example")
        );
        for refused in [
            "",
            "   ",
            "\u{ff41}da",
            "ad\u{e4}",
            "ada\t",
            "a\u{0}b",
            "ada\n",
        ] {
            assert_eq!(canonical_username(refused), None, "{refused:?}");
        }
    }

    #[test]
    fn group_names_are_the_first_cn_of_the_dn() {
        assert_eq!(
            group_name("cn=Admins,ou=groups,dc=example,dc=org").as_deref(),
            Some("Admins")
        );
        assert_eq!(
            group_name(r"CN=Sales\, EMEA,OU=Groups,DC=corp").as_deref(),
            Some("Sales, EMEA")
        );
        assert_eq!(
            group_name(r"cn=a\2cb,dc=x").as_deref(),
            Some("a,b"),
            "hex escapes"
        );
        assert_eq!(group_name("ou=groups,dc=example"), None);
        assert_eq!(group_name("cn=,dc=example"), None);
        assert_eq!(group_name("garbage"), None);
        assert_eq!(group_name(r"cn=trailing\"), None);
    }

    #[test]
    fn settings_refuse_cleartext_to_remote_hosts_and_filters_without_username() {
        let ok = LdapSettings::new("ldap://127.0.0.1:389", "dc=example,dc=org");
        assert_eq!(check_settings(&ok), Ok(()));
        let with = |f: &dyn Fn(&mut LdapSettings)| {
            let mut s = ok.clone();
            f(&mut s);
            check_settings(&s).map_err(|(setting, _)| setting)
        };
        assert_eq!(
            with(&|s| s.url = "ldap://dc.corp.example".into()),
            Err("url")
        );
        assert_eq!(
            with(&|s| {
                s.url = "ldap://dc.corp.example".into();
                s.starttls = true;
            }),
            Ok(())
        );
        assert_eq!(
            with(&|s| s.url = "ldaps://dc.corp.example:636".into()),
            Ok(())
        );
        assert_eq!(
            with(&|s| {
                s.url = "ldaps://dc.corp.example".into();
                s.starttls = true;
            }),
            Err("starttls")
        );
        assert_eq!(with(&|s| s.url = "ldap:///".into()), Err("url"));
        assert_eq!(with(&|s| s.url = "https://dc.example".into()), Err("url"));
        assert_eq!(
            with(&|s| s.url = "ldap://127.0.0.1/dc=x?cn".into()),
            Err("url")
        );
        assert_eq!(
            with(&|s| s.user_filter = "(uid=alice)".into()),
            Err("user_filter")
        );
        assert_eq!(with(&|s| s.user_base = String::new()), Err("user_base"));
        assert_eq!(
            with(&|s| s.subject_attribute = "entryUUID)(x".into()),
            Err("subject_attribute")
        );
        assert_eq!(
            with(&|s| s.group_source = LdapGroups::Search {
                base: "ou=groups".into(),
                filter: "(member=x)".into()
            }),
            Err("group_filter")
        );
        assert_eq!(with(&|s| s.timeout_secs = 0), Err("timeout_secs"));
    }

    /// The message id of an LDAP request (`30 len 02 n id`, a one-byte id), to answer it.
    fn message_id(request: &[u8]) -> u8 {
        let len_len = match request[1] {
            l if l & 0x80 != 0 => usize::from(l & 0x7f),
            _ => 0,
        };
        let at = 2 + len_len;
        assert_eq!(request[at], 0x02, "a message id");
        request[at + 1 + usize::from(request[at + 1])]
    }

    #[tokio::test]
    async fn an_unreadable_entry_is_refused_not_a_panic() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        // A directory that accepts the service bind, then answers the search with an entry
        // whose DN is not UTF-8 (which ldap3's entry parser panics on).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ldap://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 512];
            let n = sock.read(&mut buf).await.unwrap();
            let id = message_id(&buf[..n]);
            let bound = [
                0x30, 0x0c, 0x02, 0x01, id, 0x61, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00,
            ];
            sock.write_all(&bound).await.unwrap();
            let n = sock.read(&mut buf).await.unwrap();
            let id = message_id(&buf[..n]);
            let entry = [
                0x30, 0x0b, 0x02, 0x01, id, 0x64, 0x06, 0x04, 0x02, 0xff, 0xfe, 0x30, 0x00,
            ];
            let done = [
                0x30, 0x0c, 0x02, 0x01, id, 0x65, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00,
            ];
            sock.write_all(&[&entry[..], &done[..]].concat())
                .await
                .unwrap();
            // Keep the connection open until the client is done.
            let _ = sock.read(&mut buf).await;
        });
        let settings = LdapSettings::new(url, "dc=example,dc=org");
        let checked = authenticate(
            &settings,
            "cn=svc",
            "svc",
            "alice",
            &Password::new("secret".to_owned()),
        )
        .await;
        assert!(
            matches!(checked, Err(UpstreamError::Malformed(_))),
            "{checked:?}"
        );
    }

    #[tokio::test]
    async fn empty_passwords_are_refused_before_any_connection() {
        // Nothing listens on this address: reaching the directory would be an error.
        let settings = LdapSettings::new("ldap://127.0.0.1:9", "dc=example,dc=org");
        for (user, pass) in [("alice", ""), ("", "secret")] {
            let checked = authenticate(
                &settings,
                "cn=svc",
                "svc",
                user,
                &Password::new(pass.to_owned()),
            )
            .await
            .unwrap();
            assert!(
                matches!(checked, Checked::Refused(Refusal::Empty)),
                "{checked:?}"
            );
        }
    }
}
