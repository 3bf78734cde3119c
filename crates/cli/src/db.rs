//! The `--config` and `--database` options shared by the commands that work on the database,
//! and opening the store they name.

use crate::config::{self, Overrides, Resolved};
use anyhow::anyhow;
use clap::Args;
use portcullis_server::store::{ConnectOptions, Store};
use std::path::PathBuf;
use std::sync::Arc;

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// TOML config file (the database URL and settings may come from it).
    #[arg(long, env = "PORTCULLIS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database URL, e.g. sqlite://portcullis.db or postgres://user@host/db.
    #[arg(long, env = "PORTCULLIS_DATABASE_URL", value_name = "URL")]
    pub database: Option<String>,
}

impl StoreArgs {
    /// Layers the configuration (file < env < flags) and opens the store.
    pub async fn open(&self) -> anyhow::Result<(Arc<dyn Store>, Resolved)> {
        self.open_with_redis(None).await
    }

    /// [`StoreArgs::open`], with a Redis URL given on the command line overriding the file's.
    pub async fn open_with_redis(
        &self,
        redis: Option<String>,
    ) -> anyhow::Result<(Arc<dyn Store>, Resolved)> {
        let overrides = Overrides {
            database: self.database.clone(),
            redis,
            ..Overrides::default()
        };
        let resolved = config::resolve(self.config.as_deref(), &overrides)?;
        let store = connect(&resolved.database, resolved.database_pool).await?;
        Ok((store, resolved))
    }
}

/// Opens the store named by `url` (SQLite files are created when missing).
pub async fn connect(url: &str, options: ConnectOptions) -> anyhow::Result<Arc<dyn Store>> {
    portcullis_server::store::connect_with(url, options)
        .await
        .map_err(|e| anyhow!("opening database {}: {e}", redact_url(url)))
}

/// The URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ignored = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Formats Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_time(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_time(1_700_000_000), "2023-11-14 22:13:20 UTC");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://user:secret@db/test"),
            "postgres://user:***@db/test"
        );
        assert_eq!(
            redact_url("sqlite://portcullis.db"),
            "sqlite://portcullis.db"
        );
    }
}
