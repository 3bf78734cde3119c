//! Secrets read from standard input, so they never appear in the process list or the shell's
//! history.

use anyhow::{Context as _, bail};

/// Reads one line from standard input (without its line ending) for `what`; an empty line is
/// an error naming it.
pub async fn read_secret_line(what: &str) -> anyhow::Result<String> {
    let line = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    })
    .await?
    .with_context(|| format!("reading the {what} from standard input"))?;
    let value = line.trim_end_matches(['\n', '\r']).to_owned();
    if value.is_empty() {
        bail!("no {what} on standard input");
    }
    Ok(value)
}
