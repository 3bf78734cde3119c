//! Compiles the message catalogues in `locales/` into Rust: a `Msg` enum with one variant per
//! key of `en.toml` (so a key the code names but English lacks does not compile) and one table
//! per catalogue file (so a language is one more file). A catalogue with a key English lacks, or
//! a value that is not a string, fails the build; a key a catalogue lacks is left empty here
//! and reported by the `every_catalogue_has_every_key` test.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

/// The catalogue every other one is checked against, and the fallback language.
const SOURCE: &str = "en";

fn main() {
    if let Err(e) = generate() {
        println!("cargo::error={e}");
        std::process::exit(1);
    }
}

fn generate() -> Result<(), String> {
    let dir = Path::new("locales");
    println!("cargo::rerun-if-changed=locales");
    let mut catalogues = BTreeMap::new();
    for entry in fs::read_dir(dir).map_err(|e| format!("reading locales/: {e}"))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        println!("cargo::rerun-if-changed={}", path.display());
        let tag = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| format!("{}: not a UTF-8 file name", path.display()))?
            .to_owned();
        let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let table: toml::Table = text
            .parse()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut flat = BTreeMap::new();
        flatten("", &table, &mut flat).map_err(|e| format!("{}: {e}", path.display()))?;
        catalogues.insert(tag, flat);
    }
    let source = catalogues
        .get(SOURCE)
        .ok_or_else(|| format!("locales/{SOURCE}.toml is missing"))?;
    let keys: Vec<&String> = source.keys().collect();
    for (tag, flat) in &catalogues {
        if let Some(unknown) = flat.keys().find(|k| !source.contains_key(*k)) {
            return Err(format!(
                "locales/{tag}.toml: unknown key `{unknown}` (not in {SOURCE}.toml)"
            ));
        }
    }

    let mut out = String::new();
    out.push_str("/// A message of the page catalogues (`locales/*.toml`), named after its key.\n");
    out.push_str("#[derive(Debug, Clone, Copy, PartialEq, Eq)]\n#[repr(usize)]\n");
    out.push_str("pub(crate) enum Msg {\n");
    for key in &keys {
        let _ = writeln!(out, "    /// `{key}`\n    {},", variant(key));
    }
    out.push_str("}\n\nimpl Msg {\n    /// Every message, in the order of the tables.\n");
    let _ = writeln!(out, "    pub(crate) const ALL: [Msg; {}] = [", keys.len());
    for key in &keys {
        let _ = writeln!(out, "        Msg::{},", variant(key));
    }
    out.push_str("    ];\n\n    /// The message's key in the catalogues.\n");
    out.push_str("    pub(crate) const fn key(self) -> &'static str {\n        match self {\n");
    for key in &keys {
        let _ = writeln!(out, "            Msg::{} => {key:?},", variant(key));
    }
    out.push_str("        }\n    }\n}\n\n");
    out.push_str(
        "/// Every catalogue: its language tag (the file name) and its texts, by [`Msg`].\n",
    );
    let _ = writeln!(
        out,
        "pub(crate) static CATALOGUES: [(&str, [Option<&str>; {}]); {}] = [",
        keys.len(),
        catalogues.len()
    );
    // The source language first: it is the fallback, at index 0.
    let order = std::iter::once(SOURCE).chain(
        catalogues
            .keys()
            .map(String::as_str)
            .filter(|t| *t != SOURCE),
    );
    for tag in order {
        let Some(flat) = catalogues.get(tag) else {
            continue;
        };
        let _ = writeln!(out, "    ({tag:?}, [");
        for key in &keys {
            match flat.get(*key) {
                Some(text) => {
                    let _ = writeln!(out, "        Some({text:?}),");
                }
                None => out.push_str("        None,\n"),
            }
        }
        out.push_str("    ]),\n");
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").map_err(|e| e.to_string())?).join("messages.rs");
    fs::write(&dest, out).map_err(|e| format!("{}: {e}", dest.display()))
}

/// `[login] title = "…"` becomes `login.title`.
fn flatten(
    prefix: &str,
    table: &toml::Table,
    out: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    for (name, value) in table {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        if !key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
        {
            return Err(format!("key `{key}`: use lowercase letters, digits and _"));
        }
        match value {
            toml::Value::String(text) => {
                out.insert(key, text.clone());
            }
            toml::Value::Table(inner) => flatten(&key, inner, out)?,
            _ => return Err(format!("`{key}` is not a string")),
        }
    }
    Ok(())
}

/// `login.failed_wrong` becomes `LoginFailedWrong`.
fn variant(key: &str) -> String {
    key.split(['.', '_'])
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}
