//! `portcullis keys list|rotate|rewrap|generate-kek`: show the signing keys and their life cycle,
//! start a rotation (the new key is published now and signs after the configured delay), and
//! manage the key-encryption key they are sealed under.

use crate::db::{StoreArgs, format_time};
use crate::remote::Target;
use anyhow::anyhow;
use clap::{Args, Subcommand};
use portcullis_jose::time::{Clock as _, SystemClock};
use portcullis_server::admin;
use portcullis_server::admin_api::{KeyView, RotateRequest, Rotated, RotationMode};
use portcullis_server::at_rest::Kek;
use reqwest::Method;

/// `portcullis keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List signing keys (no private material).
    List(ListArgs),
    /// Publish new signing keys; they sign after the rotation delay (publish before use), and
    /// the old keys stay published until the tokens they signed expire.
    ///
    /// For a leaked key: `keys rotate --now --revoke-old` makes the new keys sign at once and
    /// unpublishes the old ones, so every access and ID token they signed stops verifying as
    /// soon as resource servers refresh their key sets; clients refresh to get new tokens.
    Rotate(RotateArgs),
    /// Re-encrypt every stored private key and the client-secret pepper under the current
    /// key-encryption key (those under the previous one, and plaintext ones). Run it after
    /// setting a new PORTCULLIS_KEY_ENCRYPTION_KEY with the old one as
    /// PORTCULLIS_KEY_ENCRYPTION_KEY_PREVIOUS; then the previous key can be removed.
    Rewrap(RewrapArgs),
    /// Print a new random key-encryption key (32 bytes, base64url) for
    /// PORTCULLIS_KEY_ENCRYPTION_KEY or `[keys] encryption_key_file`.
    GenerateKek,
}

/// Arguments of `keys list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub target: Target,
}

/// Arguments of `keys rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// Sign with the new keys at once instead of after the rotation delay (nodes switch at
    /// their next key reload; the old keys stay published until their tokens expire).
    #[arg(long)]
    pub now: bool,
    /// With --now: unpublish the old keys at once (a leaked key). Every token they signed
    /// stops verifying.
    #[arg(long, requires = "now")]
    pub revoke_old: bool,
    #[command(flatten)]
    pub target: Target,
}

/// Arguments of `keys rewrap`.
#[derive(Debug, Args)]
pub struct RewrapArgs {
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Runs a `keys` subcommand.
pub async fn run(cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::List(args) => list(args).await,
        KeysCommand::Rotate(args) => rotate(args).await,
        KeysCommand::Rewrap(args) => rewrap(args).await,
        KeysCommand::GenerateKek => {
            let kek = Kek::generate().map_err(|e| anyhow!("{e}"))?;
            println!("{}", kek.to_base64url().as_str());
            Ok(())
        }
    }
}

fn opt_time(t: Option<i64>) -> String {
    t.map_or_else(|| "-".to_owned(), format_time)
}

async fn list(args: ListArgs) -> anyhow::Result<()> {
    let mut keys: Vec<KeyView> = if let Some(remote) = args.target.remote().await? {
        remote.get(&["keys"]).await?
    } else {
        let (store, _) = args.target.store.open().await?;
        admin::list_keys(store.as_ref(), &SystemClock)
            .await
            .map_err(|e| anyhow!("{e}"))?
            .iter()
            .map(KeyView::from)
            .collect()
    };
    keys.sort_by(|a, b| a.alg.cmp(&b.alg).then(a.activate_at.cmp(&b.activate_at)));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&keys)?);
        return Ok(());
    }
    if keys.is_empty() {
        println!("no signing keys yet: `portcullis serve` creates them on first start");
        return Ok(());
    }
    println!(
        "{:<44} {:<6} {:<8} {:<24} {:<24} UNPUBLISHED",
        "KID", "ALG", "STATE", "SIGNS FROM", "SIGNS UNTIL"
    );
    for k in &keys {
        println!(
            "{:<44} {:<6} {:<8} {:<24} {:<24} {}",
            k.kid,
            k.alg,
            k.state,
            format_time(k.activate_at),
            opt_time(k.retire_at),
            opt_time(k.expire_at)
        );
    }
    Ok(())
}

async fn rotate(args: RotateArgs) -> anyhow::Result<()> {
    let mode = match (args.now, args.revoke_old) {
        (false, _) => RotationMode::Scheduled,
        (true, false) => RotationMode::Now,
        (true, true) => RotationMode::NowRevokeOld,
    };
    let rotated: Rotated = if let Some(remote) = args.target.remote().await? {
        remote
            .call(
                Method::POST,
                &["keys", "rotate"],
                Some(&RotateRequest { mode }),
            )
            .await?
    } else {
        let (store, resolved) = args.target.store.open().await?;
        admin::ensure_keys(store.clone(), &SystemClock, &resolved.server)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let how = match mode {
            RotationMode::Scheduled => admin::KeyRotation::Scheduled,
            RotationMode::Now => admin::KeyRotation::Now,
            RotationMode::NowRevokeOld => admin::KeyRotation::NowRevokeOld,
        };
        let kids = admin::rotate_keys(store.as_ref(), &SystemClock, &resolved.server, how)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let now = SystemClock.now().as_secs();
        Rotated::new(kids, how, now, &resolved.server)
    };
    for kid in &rotated.kids {
        println!("published {kid}");
    }
    match mode {
        RotationMode::NowRevokeOld => println!(
            "new keys sign now (each node from its next key reload, within {} s); the previous \
             keys are unpublished: every token they signed stops verifying once resource servers \
             refresh their key sets, and clients must refresh or sign in again",
            rotated.reload_interval_secs
        ),
        RotationMode::Now => println!(
            "new keys sign now (each node from its next key reload, within {} s); the previous \
             keys stay published until their tokens expire",
            rotated.reload_interval_secs
        ),
        RotationMode::Scheduled => println!(
            "new keys sign from {} (rotation delay {} s); the previous keys stay published \
             until their tokens expire",
            format_time(rotated.signs_from),
            rotated.rotation_delay_secs
        ),
    }
    Ok(())
}

async fn rewrap(args: RewrapArgs) -> anyhow::Result<()> {
    let (store, resolved) = args.store.open().await?;
    let report = admin::rewrap(store.as_ref(), &resolved.server)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    for kid in &report.keys {
        println!("re-encrypted signing key {kid}");
    }
    if report.pepper {
        println!("re-encrypted the client-secret pepper");
    }
    for id in &report.upstreams {
        println!("re-encrypted the client secret of upstream {id}");
    }
    println!(
        "{} signing key(s) re-encrypted; everything is under the current key-encryption key",
        report.keys.len()
    );
    Ok(())
}
