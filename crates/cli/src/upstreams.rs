//! `portcullis upstreams add|list|remove` and the `[[upstreams]]` tables of the config file:
//! the identity providers users may sign in with (any OpenID provider, GitHub, or an LDAP
//! directory such as OpenLDAP or Active Directory).

use std::collections::BTreeMap;

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use portcullis_jose::time::SystemClock;
use portcullis_server::admin::{self, NewUpstream};
use portcullis_server::admin_api::{Deleted, UpstreamKindView, UpstreamRequest, UpstreamView};
use portcullis_server::store::{LdapSettings, UpstreamId, UpstreamKind};
use portcullis_types::GroupName;
use portcullis_types::secret::ClientSecret;
use serde::Deserialize;

use crate::db::format_time;
use crate::remote::Target;
use reqwest::Method;

/// `portcullis upstreams ...`
#[derive(Debug, Subcommand)]
pub enum UpstreamsCommand {
    /// Add (or replace) an upstream, e.g. `upstreams add --id github --kind github
    /// --client-id Iv1.abc --client-secret-stdin`, or `upstreams add --id corp --kind ldap
    /// --url ldaps://dc.corp.example --bind-dn cn=portcullis,dc=corp --bind-password-stdin
    /// --user-base ou=people,dc=corp`.
    Add(Box<AddArgs>),
    /// List upstreams (client secrets are never shown).
    List(ListArgs),
    /// Remove an upstream; its account links go, the local users stay.
    Remove(RemoveArgs),
}

/// The protocol an upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Any OpenID provider, found by discovery at `--issuer`.
    Oidc,
    /// GitHub, or GitHub Enterprise Server at `--base-url`.
    Github,
    /// An LDAP directory (OpenLDAP, Active Directory) at `--url`: a password form checked by
    /// binding.
    Ldap,
}

/// The directory settings of an `ldap` upstream (flags of `upstreams add`; the same names, with
/// `_`, in `[[upstreams]]`).
#[derive(Debug, Default, Args)]
pub struct LdapOptions {
    /// The directory, `ldap://host[:port]` or `ldaps://host[:port]` (kind `ldap`). Plain
    /// `ldap://` needs `--starttls` unless the host is loopback.
    #[arg(long)]
    pub url: Option<String>,
    /// Upgrade the `ldap://` connection with StartTLS before binding (kind `ldap`).
    #[arg(long)]
    pub starttls: bool,
    /// A PEM file of the CAs the directory's certificate must chain to (kind `ldap`; default:
    /// the system's).
    #[arg(long)]
    pub ca_file: Option<String>,
    /// The DN of the service account that searches users (kind `ldap`).
    #[arg(long)]
    pub bind_dn: Option<String>,
    /// Where users are searched, e.g. `ou=people,dc=example,dc=org` (kind `ldap`).
    #[arg(long)]
    pub user_base: Option<String>,
    /// The user filter, `{username}` replaced by the escaped username (kind `ldap`; default
    /// `(uid={username})`; Active Directory: `(sAMAccountName={username})`).
    #[arg(long)]
    pub user_filter: Option<String>,
    /// The attribute holding the account's stable id (kind `ldap`; default `entryUUID`;
    /// Active Directory: `objectGUID`; `dn` for the DN).
    #[arg(long)]
    pub subject_attribute: Option<String>,
    /// The e-mail attribute (kind `ldap`; default `mail`).
    #[arg(long)]
    pub email_attribute: Option<String>,
    /// The display-name attribute (kind `ldap`; default `cn`).
    #[arg(long)]
    pub name_attribute: Option<String>,
    /// The user attribute listing the user's group DNs (kind `ldap`; default `memberOf`).
    #[arg(long, conflicts_with = "group_base")]
    pub group_attribute: Option<String>,
    /// Search groups under this DN instead of reading `memberOf` (kind `ldap`).
    #[arg(long)]
    pub group_base: Option<String>,
    /// The group-search filter, `{dn}` replaced by the user's escaped DN (kind `ldap`; default
    /// `(member={dn})`).
    #[arg(long, requires = "group_base")]
    pub group_filter: Option<String>,
    /// Seconds allowed to connect and for each directory operation (kind `ldap`; default 5).
    #[arg(long)]
    pub timeout_secs: Option<u64>,
}

impl LdapOptions {
    /// Whether any directory setting is given.
    fn any(&self) -> bool {
        self.url.is_some()
            || self.starttls
            || self.ca_file.is_some()
            || self.bind_dn.is_some()
            || self.user_base.is_some()
            || self.user_filter.is_some()
            || self.subject_attribute.is_some()
            || self.email_attribute.is_some()
            || self.name_attribute.is_some()
            || self.group_attribute.is_some()
            || self.group_base.is_some()
            || self.group_filter.is_some()
            || self.timeout_secs.is_some()
    }

    /// The directory settings, defaults filled in (by the server, as for the admin API).
    fn settings(self) -> anyhow::Result<LdapSettings> {
        admin::LdapOptions {
            url: self.url,
            starttls: self.starttls,
            ca_file: self.ca_file,
            user_base: self.user_base,
            user_filter: self.user_filter,
            subject_attribute: self.subject_attribute,
            email_attribute: self.email_attribute,
            name_attribute: self.name_attribute,
            group_attribute: self.group_attribute,
            group_base: self.group_base,
            group_filter: self.group_filter,
            timeout_secs: self.timeout_secs,
        }
        .settings()
        .map_err(|e| anyhow!("{e}"))
    }
}

/// Arguments of `upstreams add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The upstream's id: lowercase letters, digits, `-`, `_` (used in the callback URL
    /// `{issuer}/upstream/{id}/callback`, in `idp_hint` and in the `idp` claim).
    #[arg(long)]
    pub id: UpstreamId,
    /// `oidc`, `github` or `ldap`.
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// The OpenID provider's issuer (kind `oidc`).
    #[arg(long, required_if_eq("kind", "oidc"))]
    pub issuer: Option<String>,
    /// A GitHub Enterprise Server's base URL (kind `github`; default github.com).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Only members of this GitHub organisation may sign in (kind `github`; repeatable; asks
    /// for `read:org`). Without it, every GitHub account may.
    #[arg(long = "allowed-org", value_name = "ORG")]
    pub allowed_orgs: Vec<String>,
    /// This server's client id at the upstream (kinds `oidc`, `github`).
    #[arg(long)]
    pub client_id: Option<String>,
    /// Read this server's client secret at the upstream from standard input (one line; kinds
    /// `oidc`, `github`).
    #[arg(long, conflicts_with = "bind_password_stdin")]
    pub client_secret_stdin: bool,
    /// Read the service account's password from standard input (one line; kind `ldap`).
    #[arg(long)]
    pub bind_password_stdin: bool,
    #[command(flatten)]
    pub ldap: LdapOptions,
    /// The label of the sign-in button (default: the id).
    #[arg(long)]
    pub name: Option<String>,
    /// A scope to ask for besides the kind's own (repeatable).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// Link a verified e-mail address to the local user holding it.
    #[arg(long)]
    pub trust_email: bool,
    /// Make this upstream the only way in (the login page goes straight to it).
    #[arg(long)]
    pub only: bool,
    /// Ask the OpenID provider's userinfo endpoint for claims too (kind `oidc`).
    #[arg(long)]
    pub userinfo: bool,
    /// The ID-token claim holding the user's groups (kind `oidc`; default `groups`).
    #[arg(long)]
    pub groups_claim: Option<String>,
    /// Map an upstream group to a local group, `UPSTREAM=LOCAL` (repeatable), e.g.
    /// `--group acme/payments=payments` for a GitHub team, `--group Admins=admins` for the
    /// directory group with `cn` Admins.
    #[arg(long = "group", value_name = "UPSTREAM=LOCAL", value_parser = parse_group)]
    pub groups: Vec<(String, GroupName)>,
    #[command(flatten)]
    pub target: Target,
}

/// Arguments of `upstreams list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub target: Target,
}

/// Arguments of `upstreams remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The upstream's id.
    pub id: String,
    #[command(flatten)]
    pub target: Target,
}

fn parse_group(value: &str) -> Result<(String, GroupName), String> {
    let (upstream, local) = value
        .split_once('=')
        .ok_or_else(|| "expected UPSTREAM=LOCAL".to_owned())?;
    if upstream.is_empty() {
        return Err("the upstream group is empty".into());
    }
    let local = GroupName::parse(local).map_err(|e| format!("local group: {e}"))?;
    Ok((upstream.to_owned(), local))
}

/// `[[upstreams]]` of the config file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    /// The upstream's id.
    pub id: UpstreamId,
    /// `oidc`, `github` or `ldap`.
    pub kind: Kind,
    /// The OpenID provider's issuer (kind `oidc`).
    pub issuer: Option<String>,
    /// A GitHub Enterprise Server's base URL (kind `github`).
    pub base_url: Option<String>,
    /// Only members of these organisations may sign in (kind `github`).
    #[serde(default)]
    pub allowed_orgs: Vec<String>,
    /// This server's client id at the upstream (kinds `oidc`, `github`).
    pub client_id: Option<String>,
    /// Name of the environment variable holding the client secret (kinds `oidc`, `github`).
    pub client_secret_env: Option<String>,
    /// Button label.
    pub name: Option<String>,
    /// Extra scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Link verified addresses to existing local users.
    #[serde(default)]
    pub trust_email: bool,
    /// The only way in.
    #[serde(default)]
    pub only: bool,
    /// Ask userinfo too (kind `oidc`).
    #[serde(default)]
    pub userinfo: bool,
    /// The groups claim (kind `oidc`).
    pub groups_claim: Option<String>,
    /// Upstream group → local group.
    #[serde(default)]
    pub groups: BTreeMap<String, GroupName>,
    /// The directory's URL (kind `ldap`).
    pub url: Option<String>,
    /// StartTLS (kind `ldap`).
    #[serde(default)]
    pub starttls: bool,
    /// CA certificates, PEM (kind `ldap`).
    pub ca_file: Option<String>,
    /// The service account's DN (kind `ldap`).
    pub bind_dn: Option<String>,
    /// Name of the environment variable holding the service account's password (kind `ldap`).
    pub bind_password_env: Option<String>,
    /// Where users are searched (kind `ldap`).
    pub user_base: Option<String>,
    /// The user filter with `{username}` (kind `ldap`).
    pub user_filter: Option<String>,
    /// The stable-id attribute (kind `ldap`).
    pub subject_attribute: Option<String>,
    /// The e-mail attribute (kind `ldap`).
    pub email_attribute: Option<String>,
    /// The display-name attribute (kind `ldap`).
    pub name_attribute: Option<String>,
    /// The user attribute listing group DNs (kind `ldap`).
    pub group_attribute: Option<String>,
    /// Where groups are searched (kind `ldap`).
    pub group_base: Option<String>,
    /// The group filter with `{dn}` (kind `ldap`).
    pub group_filter: Option<String>,
    /// Seconds per directory step (kind `ldap`).
    pub timeout_secs: Option<u64>,
}

/// The protocol-specific settings of an upstream, as given.
#[derive(Debug, Default)]
struct KindOptions {
    issuer: Option<String>,
    base_url: Option<String>,
    allowed_orgs: Vec<String>,
    userinfo: bool,
    groups_claim: Option<String>,
    ldap: LdapOptions,
}

/// The protocol settings of an upstream from its parts.
fn kind(kind: Kind, o: KindOptions) -> anyhow::Result<UpstreamKind> {
    let oidc_only = o.issuer.is_some() || o.userinfo || o.groups_claim.is_some();
    let github_only = o.base_url.is_some() || !o.allowed_orgs.is_empty();
    if kind != Kind::Ldap && o.ldap.any() {
        bail!("url, bind_dn, user_base and the other directory settings are for ldap upstreams");
    }
    Ok(match kind {
        Kind::Oidc if github_only => {
            bail!("base_url and allowed organisations are settings of github upstreams")
        }
        Kind::Oidc => UpstreamKind::Oidc {
            issuer: o
                .issuer
                .ok_or_else(|| anyhow!("an oidc upstream needs an issuer"))?,
            userinfo: o.userinfo,
            groups_claim: o.groups_claim,
        },
        Kind::Github if oidc_only => {
            bail!("issuer, userinfo and groups_claim are settings of oidc upstreams")
        }
        Kind::Github => UpstreamKind::Github {
            base_url: o.base_url,
            allowed_orgs: o.allowed_orgs,
        },
        Kind::Ldap if oidc_only || github_only => {
            bail!("an ldap upstream takes url, bind_dn, user_base and the directory settings")
        }
        Kind::Ldap => UpstreamKind::Ldap(o.ldap.settings()?),
    })
}

/// This server's credential at an upstream of `kind`: (client id or bind DN, where the secret
/// comes from), checking the ones for the other kinds are absent.
fn credential<S>(
    kind: Kind,
    client_id: Option<String>,
    client_secret: Option<S>,
    bind_dn: Option<String>,
    bind_password: Option<S>,
) -> anyhow::Result<(String, S)> {
    match kind {
        Kind::Ldap => {
            if client_id.is_some() || client_secret.is_some() {
                bail!("an ldap upstream takes bind_dn and its password, not a client id or secret");
            }
            Ok((
                bind_dn.ok_or_else(|| anyhow!("an ldap upstream needs a bind_dn"))?,
                bind_password.ok_or_else(|| anyhow!("an ldap upstream needs the bind password"))?,
            ))
        }
        Kind::Oidc | Kind::Github => {
            if bind_password.is_some() {
                bail!("a bind password is for ldap upstreams");
            }
            Ok((
                client_id.ok_or_else(|| anyhow!("the upstream needs a client id"))?,
                client_secret.ok_or_else(|| anyhow!("the upstream needs a client secret"))?,
            ))
        }
    }
}

impl RawUpstream {
    /// The upstream to store, its secret read from `client_secret_env` (`bind_password_env`).
    pub fn resolve(self) -> anyhow::Result<NewUpstream> {
        let id = self.id.clone();
        let ldap = LdapOptions {
            url: self.url,
            starttls: self.starttls,
            ca_file: self.ca_file,
            bind_dn: None,
            user_base: self.user_base,
            user_filter: self.user_filter,
            subject_attribute: self.subject_attribute,
            email_attribute: self.email_attribute,
            name_attribute: self.name_attribute,
            group_attribute: self.group_attribute,
            group_base: self.group_base,
            group_filter: self.group_filter,
            timeout_secs: self.timeout_secs,
        };
        let (client_id, env) = credential(
            self.kind,
            self.client_id,
            self.client_secret_env,
            self.bind_dn,
            self.bind_password_env,
        )
        .with_context(|| format!("upstreams.{id}"))?;
        let secret = std::env::var(&env)
            .with_context(|| format!("upstreams.{id}: environment variable {env} is not set"))?;
        let kind = kind(
            self.kind,
            KindOptions {
                issuer: self.issuer,
                base_url: self.base_url,
                allowed_orgs: self.allowed_orgs,
                userinfo: self.userinfo,
                groups_claim: self.groups_claim,
                ldap,
            },
        )
        .with_context(|| format!("upstreams.{id}"))?;
        Ok(NewUpstream {
            kind,
            id: self.id,
            display_name: self.name,
            client_id,
            client_secret: ClientSecret::new(secret),
            scopes: self.scopes,
            trust_email: self.trust_email,
            only: self.only,
            groups: self.groups,
        })
    }
}

/// Runs an `upstreams` subcommand.
/// What `upstreams add` prints: what was saved and what to do next, at the issuer's URLs when
/// known (through `--server` they are the issuer's, which the admin API does not say).
fn print_saved(id: &str, kind: &str, issuer: Option<&str>) {
    println!("upstream {id} saved ({kind})");
    let base = issuer.map_or_else(
        || "ISSUER".to_owned(),
        |i| i.trim_end_matches('/').to_owned(),
    );
    if kind == "ldap" {
        println!(
            "users sign in with their directory password at {base}/upstream/{id}/start \
             (or with idp_hint={id})"
        );
    } else {
        println!("register this callback URL at the upstream: {base}/upstream/{id}/callback");
    }
}

pub async fn run(cmd: UpstreamsCommand) -> anyhow::Result<()> {
    match cmd {
        UpstreamsCommand::Add(args) => {
            let args = *args;
            let mut ldap = args.ldap;
            let (client_id, what) = credential(
                args.kind,
                args.client_id,
                args.client_secret_stdin.then_some("client secret"),
                ldap.bind_dn.take(),
                args.bind_password_stdin.then_some("bind password"),
            )?;
            let kind = kind(
                args.kind,
                KindOptions {
                    issuer: args.issuer,
                    base_url: args.base_url,
                    allowed_orgs: args.allowed_orgs,
                    userinfo: args.userinfo,
                    groups_claim: args.groups_claim,
                    ldap,
                },
            )?;
            let secret = crate::stdin::read_secret_line(what).await?;
            let groups: BTreeMap<String, GroupName> = args.groups.into_iter().collect();
            if let Some(remote) = args.target.remote().await? {
                let request = UpstreamRequest {
                    kind: UpstreamKindView::from(&kind),
                    display_name: args.name,
                    client_id,
                    client_secret: secret,
                    scopes: args.scopes,
                    trust_email: args.trust_email,
                    only: args.only,
                    groups: groups
                        .into_iter()
                        .map(|(from, to)| (from, to.to_string()))
                        .collect(),
                };
                let up: UpstreamView = remote
                    .call(
                        Method::PUT,
                        &["upstreams", args.id.as_str()],
                        Some(&request),
                    )
                    .await?;
                print_saved(&up.id, up.kind.name(), None);
                return Ok(());
            }
            let (store, resolved) = args.target.store.open().await?;
            let new = NewUpstream {
                kind,
                id: args.id,
                display_name: args.name,
                client_id,
                client_secret: ClientSecret::new(secret),
                scopes: args.scopes,
                trust_email: args.trust_email,
                only: args.only,
                groups,
            };
            let up = admin::put_upstream(
                store.as_ref(),
                &SystemClock,
                &resolved.server.key_encryption,
                new,
            )
            .await
            .map_err(|e| anyhow!("{e}"))?;
            print_saved(
                up.id.as_str(),
                up.kind.name(),
                Some(&resolved.server.issuer),
            );
        }
        UpstreamsCommand::List(args) => {
            let ups: Vec<UpstreamView> = if let Some(remote) = args.target.remote().await? {
                remote.get(&["upstreams"]).await?
            } else {
                let (store, _) = args.target.store.open().await?;
                admin::list_upstreams(store.as_ref())
                    .await
                    .map_err(|e| anyhow!("{e}"))?
                    .iter()
                    .map(UpstreamView::from)
                    .collect()
            };
            if args.json {
                println!("{}", serde_json::to_string_pretty(&ups)?);
            } else if ups.is_empty() {
                println!("no upstreams");
            } else {
                println!(
                    "{:<20} {:<8} {:<32} {:<20} FLAGS",
                    "ID", "KIND", "CLIENT ID", "CREATED"
                );
                for u in &ups {
                    let mut flags = Vec::new();
                    if u.trust_email {
                        flags.push("trust_email");
                    }
                    if u.only {
                        flags.push("only");
                    }
                    println!(
                        "{:<20} {:<8} {:<32} {:<20} {}",
                        u.id,
                        u.kind.name(),
                        u.client_id,
                        format_time(u.created_at),
                        flags.join(",")
                    );
                }
            }
        }
        UpstreamsCommand::Remove(args) => {
            if let Some(remote) = args.target.remote().await? {
                let _deleted: Deleted = remote
                    .call(Method::DELETE, &["upstreams", &args.id], None::<&()>)
                    .await?;
            } else {
                let (store, _) = args.target.store.open().await?;
                if !admin::remove_upstream(store.as_ref(), &args.id)
                    .await
                    .map_err(|e| anyhow!("{e}"))?
                {
                    bail!("no upstream {}", args.id);
                }
            }
            println!("upstream {} removed (its account links too)", args.id);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;
    use portcullis_server::store::LdapGroups;

    /// The `[[upstreams]]` of a config file, resolved.
    fn resolve(text: &str) -> anyhow::Result<Vec<NewUpstream>> {
        parse(text)?
            .upstreams
            .into_iter()
            .map(RawUpstream::resolve)
            .collect()
    }

    #[test]
    fn upstreams_are_read_from_the_config_file_and_checked() {
        // `PATH` is set in every test environment: the client secret is read from it.
        let ups = resolve(
            r#"
            version = 1
            [[upstreams]]
            id = "github"
            kind = "github"
            base_url = "https://ghe.example"
            allowed_orgs = ["acme"]
            client_id = "Iv1.abc"
            client_secret_env = "PATH"
            groups = { "acme/payments" = "payments" }
            [[upstreams]]
            id = "corp"
            kind = "oidc"
            issuer = "https://idp.example"
            client_id = "portcullis"
            client_secret_env = "PATH"
            trust_email = true
            userinfo = true
            "#,
        )
        .unwrap();
        assert_eq!(
            ups[0].kind,
            UpstreamKind::Github {
                base_url: Some("https://ghe.example".into()),
                allowed_orgs: vec!["acme".into()],
            }
        );
        assert_eq!(ups[0].groups["acme/payments"].as_str(), "payments");
        assert!(ups[1].trust_email);
        assert!(!format!("{:?}", ups[1]).contains(&std::env::var("PATH").unwrap()));

        let one = |rest: &str| format!("version = 1\n[[upstreams]]\nclient_id = \"x\"\n{rest}");
        let no_issuer = resolve(&one(
            "id = \"c\"\nkind = \"oidc\"\nclient_secret_env = \"PATH\"\n",
        ))
        .unwrap_err();
        assert!(
            format!("{no_issuer:#}").contains("needs an issuer"),
            "{no_issuer:#}"
        );
        let bad_id = resolve(&one(
            "id = \"Git Hub\"\nkind = \"github\"\nclient_secret_env = \"PATH\"\n",
        ))
        .unwrap_err();
        assert!(format!("{bad_id:#}").contains("upstream id"), "{bad_id:#}");
        let no_env = resolve(&one(
            "id = \"g\"\nkind = \"github\"\nclient_secret_env = \"PORTCULLIS_TEST_UNSET_SECRET\"\n",
        ))
        .unwrap_err();
        assert!(no_env.to_string().contains("upstreams.g"), "{no_env}");
    }

    #[test]
    fn ldap_upstreams_are_read_from_the_config_file_with_defaults() {
        let ups = resolve(
            r#"
            version = 1
            [[upstreams]]
            id = "ad"
            kind = "ldap"
            url = "ldaps://dc01.corp.example:636"
            ca_file = "/etc/portcullis/ca.pem"
            bind_dn = "CN=svc,DC=corp"
            bind_password_env = "PATH"
            user_base = "OU=Staff,DC=corp"
            user_filter = "(sAMAccountName={username})"
            subject_attribute = "objectGUID"
            groups = { "Payments Team" = "payments" }
            [[upstreams]]
            id = "openldap"
            kind = "ldap"
            url = "ldap://ldap.corp.example"
            starttls = true
            bind_dn = "cn=svc,dc=corp"
            bind_password_env = "PATH"
            user_base = "ou=people,dc=corp"
            group_base = "ou=groups,dc=corp"
            "#,
        )
        .unwrap();
        let UpstreamKind::Ldap(ad) = &ups[0].kind else {
            panic!("{:?}", ups[0].kind)
        };
        assert_eq!(ups[0].client_id, "CN=svc,DC=corp");
        assert_eq!(ad.user_filter, "(sAMAccountName={username})");
        assert_eq!(ad.subject_attribute, "objectGUID");
        assert_eq!(ad.email_attribute, "mail");
        assert_eq!(ad.group_source, LdapGroups::Attribute("memberOf".into()));
        assert_eq!(ups[0].groups["Payments Team"].as_str(), "payments");
        let UpstreamKind::Ldap(open) = &ups[1].kind else {
            panic!("{:?}", ups[1].kind)
        };
        assert!(open.starttls);
        assert_eq!(open.user_filter, "(uid={username})");
        assert_eq!(
            open.group_source,
            LdapGroups::Search {
                base: "ou=groups,dc=corp".into(),
                filter: "(member={dn})".into()
            }
        );

        let one = |rest: &str| {
            format!(
                "version = 1\n[[upstreams]]\nid = \"d\"\nkind = \"ldap\"\n\
                 url = \"ldap://127.0.0.1\"\nuser_base = \"dc=x\"\n{rest}"
            )
        };
        let no_dn = resolve(&one("bind_password_env = \"PATH\"\n")).unwrap_err();
        assert!(format!("{no_dn:#}").contains("bind_dn"), "{no_dn:#}");
        let client_secret = resolve(&one(
            "bind_dn = \"cn=x\"\nbind_password_env = \"PATH\"\nclient_secret_env = \"PATH\"\n",
        ))
        .unwrap_err();
        assert!(
            format!("{client_secret:#}").contains("not a client id or secret"),
            "{client_secret:#}"
        );
        let issuer = resolve(&one(
            "bind_dn = \"cn=x\"\nbind_password_env = \"PATH\"\nissuer = \"https://x\"\n",
        ))
        .unwrap_err();
        assert!(format!("{issuer:#}").contains("upstreams.d"), "{issuer:#}");
        let ldap_on_github = resolve(
            "version = 1\n[[upstreams]]\nid = \"g\"\nkind = \"github\"\nclient_id = \"x\"\n\
             client_secret_env = \"PATH\"\nuser_base = \"dc=x\"\n",
        )
        .unwrap_err();
        assert!(
            format!("{ldap_on_github:#}").contains("for ldap upstreams"),
            "{ldap_on_github:#}"
        );
    }
}
