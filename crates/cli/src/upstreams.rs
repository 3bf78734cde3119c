//! `portcullis upstreams add|list|remove` and the `[[upstreams]]` tables of the config file:
//! the identity providers users may sign in with (any OpenID provider, or GitHub).

use std::collections::BTreeMap;

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use portcullis_jose::time::SystemClock;
use portcullis_server::admin::{self, NewUpstream};
use portcullis_server::store::{UpstreamId, UpstreamKind, UpstreamRecord};
use portcullis_types::GroupName;
use portcullis_types::secret::ClientSecret;
use serde::Deserialize;

use crate::db::{StoreArgs, format_time};
use crate::roles::ListArgs;

/// `portcullis upstreams ...`
#[derive(Debug, Subcommand)]
pub enum UpstreamsCommand {
    /// Add (or replace) an upstream, e.g. `upstreams add --id github --kind github
    /// --client-id Iv1.abc --client-secret-stdin`.
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
}

/// Arguments of `upstreams add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The upstream's id: lowercase letters, digits, `-`, `_` (used in the callback URL
    /// `{issuer}/upstream/{id}/callback`, in `idp_hint` and in the `idp` claim).
    #[arg(long)]
    pub id: UpstreamId,
    /// `oidc` or `github`.
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
    /// This server's client id at the upstream.
    #[arg(long)]
    pub client_id: String,
    /// Read this server's client secret at the upstream from standard input (one line).
    #[arg(long, required = true)]
    pub client_secret_stdin: bool,
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
    /// `--group acme/payments=payments` for a GitHub team.
    #[arg(long = "group", value_name = "UPSTREAM=LOCAL", value_parser = parse_group)]
    pub groups: Vec<(String, GroupName)>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `upstreams remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The upstream's id.
    pub id: String,
    #[command(flatten)]
    pub store: StoreArgs,
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
    /// `oidc` or `github`.
    pub kind: Kind,
    /// The OpenID provider's issuer (kind `oidc`).
    pub issuer: Option<String>,
    /// A GitHub Enterprise Server's base URL (kind `github`).
    pub base_url: Option<String>,
    /// Only members of these organisations may sign in (kind `github`).
    #[serde(default)]
    pub allowed_orgs: Vec<String>,
    /// This server's client id at the upstream.
    pub client_id: String,
    /// Name of the environment variable holding the client secret.
    pub client_secret_env: String,
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
}

/// The protocol settings of an upstream from its parts.
fn kind(
    kind: Kind,
    issuer: Option<String>,
    base_url: Option<String>,
    allowed_orgs: Vec<String>,
    userinfo: bool,
    groups_claim: Option<String>,
) -> anyhow::Result<UpstreamKind> {
    Ok(match kind {
        Kind::Oidc if !allowed_orgs.is_empty() => {
            bail!("allowed organisations are a setting of github upstreams")
        }
        Kind::Oidc => UpstreamKind::Oidc {
            issuer: issuer.ok_or_else(|| anyhow!("an oidc upstream needs an issuer"))?,
            userinfo,
            groups_claim,
        },
        Kind::Github => {
            if issuer.is_some() || userinfo || groups_claim.is_some() {
                bail!("issuer, userinfo and groups_claim are settings of oidc upstreams");
            }
            UpstreamKind::Github {
                base_url,
                allowed_orgs,
            }
        }
    })
}

impl RawUpstream {
    /// The upstream to store, its secret read from `client_secret_env`.
    pub fn resolve(self) -> anyhow::Result<NewUpstream> {
        let secret = std::env::var(&self.client_secret_env).with_context(|| {
            format!(
                "upstreams.{}: environment variable {} is not set",
                self.id, self.client_secret_env
            )
        })?;
        Ok(NewUpstream {
            kind: kind(
                self.kind,
                self.issuer,
                self.base_url,
                self.allowed_orgs,
                self.userinfo,
                self.groups_claim,
            )
            .with_context(|| format!("upstreams.{}", self.id))?,
            id: self.id,
            display_name: self.name,
            client_id: self.client_id,
            client_secret: ClientSecret::new(secret),
            scopes: self.scopes,
            trust_email: self.trust_email,
            only: self.only,
            groups: self.groups,
        })
    }
}

/// What `upstreams list --json` prints of an upstream: everything but the secret.
fn describe(u: &UpstreamRecord) -> serde_json::Value {
    let mut doc = serde_json::json!({
        "id": u.id,
        "kind": u.kind.name(),
        "name": u.display_name,
        "client_id": u.client_id,
        "scopes": u.scopes,
        "trust_email": u.trust_email,
        "only": u.only,
        "groups": u.groups,
        "created_at": u.created_at,
    });
    if let (Some(obj), Ok(serde_json::Value::Object(kind))) =
        (doc.as_object_mut(), serde_json::to_value(&u.kind))
    {
        obj.extend(kind);
    }
    doc
}

/// Runs an `upstreams` subcommand.
pub async fn run(cmd: UpstreamsCommand) -> anyhow::Result<()> {
    match cmd {
        UpstreamsCommand::Add(args) => {
            let args = *args;
            let (store, resolved) = args.store.open().await?;
            let secret = crate::stdin::read_secret_line("client secret").await?;
            let new = NewUpstream {
                kind: kind(
                    args.kind,
                    args.issuer,
                    args.base_url,
                    args.allowed_orgs,
                    args.userinfo,
                    args.groups_claim,
                )?,
                id: args.id,
                display_name: args.name,
                client_id: args.client_id,
                client_secret: ClientSecret::new(secret),
                scopes: args.scopes,
                trust_email: args.trust_email,
                only: args.only,
                groups: args.groups.into_iter().collect(),
            };
            let up = admin::put_upstream(
                store.as_ref(),
                &SystemClock,
                &resolved.server.key_encryption,
                new,
            )
            .await
            .map_err(|e| anyhow!("{e}"))?;
            println!("upstream {} saved ({})", up.id, up.kind.name());
            println!(
                "register this callback URL at the upstream: {}/upstream/{}/callback",
                resolved.server.issuer.trim_end_matches('/'),
                up.id
            );
        }
        UpstreamsCommand::List(args) => {
            let (store, _) = args.store.open().await?;
            let ups = admin::list_upstreams(store.as_ref())
                .await
                .map_err(|e| anyhow!("{e}"))?;
            if args.json {
                let docs: Vec<_> = ups.iter().map(describe).collect();
                println!("{}", serde_json::to_string_pretty(&docs)?);
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
            let (store, _) = args.store.open().await?;
            if !admin::remove_upstream(store.as_ref(), &args.id)
                .await
                .map_err(|e| anyhow!("{e}"))?
            {
                bail!("no upstream {}", args.id);
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
}
