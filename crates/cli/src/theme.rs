//! Reads a theme directory at start (`[theme] dir`, `--theme-dir`): the deployment theme in the
//! directory itself and one named theme per subdirectory, each `theme.toml` with an optional
//! `style.css` and `logo.svg` or `logo.png`. Every file is read once with a size bound and
//! validated by `portcullis_server::theme`; anything else in the directory, or a bad file, stops
//! the start with a message naming it.

use std::fs;
use std::io::Read as _;
use std::path::Path;

use anyhow::{Context as _, bail};
use portcullis_server::theme::{
    LogoFormat, MAX_LOGO_BYTES, MAX_MANIFEST_BYTES, MAX_NAMED_THEMES, MAX_STYLESHEET_BYTES,
    ThemeFiles, ThemeManifest, ThemeName, ThemeSet,
};

/// The theme set of the directory `dir`.
pub fn load(dir: &Path) -> anyhow::Result<ThemeSet> {
    let default = read_theme(dir, true)?;
    let mut named = Vec::new();
    let entries = fs::read_dir(dir).with_context(|| format!("theme dir {}", dir.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("theme dir {}", dir.display()))?
            .path();
        if !path.is_dir() {
            continue;
        }
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            bail!(
                "theme dir {}: a subdirectory name is not UTF-8",
                dir.display()
            );
        };
        // Hidden entries are not themes (a Kubernetes volume keeps its `..data` link there).
        if name.starts_with('.') {
            continue;
        }
        let name = ThemeName::parse(name).with_context(|| format!("{}", path.display()))?;
        if named.len() == MAX_NAMED_THEMES {
            bail!(
                "theme dir {}: more than {MAX_NAMED_THEMES} named themes",
                dir.display()
            );
        }
        named.push((name, read_theme(&path, false)?));
    }
    ThemeSet::new(default, named).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))
}

/// One theme directory's files; `with_subdirs` lets it hold the named themes' directories.
fn read_theme(dir: &Path, with_subdirs: bool) -> anyhow::Result<ThemeFiles> {
    let mut files = ThemeFiles::default();
    let mut manifest = None;
    for entry in fs::read_dir(dir).with_context(|| format!("theme dir {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("theme dir {}", dir.display()))?
            .path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with('.') || (with_subdirs && path.is_dir()) {
            continue;
        }
        match name {
            "theme.toml" => {
                let text = read_text(&path, MAX_MANIFEST_BYTES)?;
                let parsed: ThemeManifest =
                    toml::from_str(&text).with_context(|| format!("{}", path.display()))?;
                manifest = Some(parsed);
            }
            "style.css" => files.stylesheet = Some(read_text(&path, MAX_STYLESHEET_BYTES)?),
            "logo.svg" | "logo.png" => {
                let format = if name == "logo.svg" {
                    LogoFormat::Svg
                } else {
                    LogoFormat::Png
                };
                if files.logo.is_some() {
                    bail!("{}: has both logo.svg and logo.png", dir.display());
                }
                files.logo = Some((format, read_bounded(&path, MAX_LOGO_BYTES)?));
            }
            _ => bail!(
                "{}: not a theme file (expected theme.toml, style.css, logo.svg or logo.png{})",
                path.display(),
                if with_subdirs {
                    ", or a named theme's directory"
                } else {
                    ""
                }
            ),
        }
    }
    files.manifest =
        manifest.with_context(|| format!("{}: theme.toml is missing", dir.display()))?;
    Ok(files)
}

/// The file's bytes, refusing it when larger than `max`.
fn read_bounded(path: &Path, max: usize) -> anyhow::Result<Vec<u8>> {
    let file = fs::File::open(path).with_context(|| format!("{}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut bytes)
        .with_context(|| format!("{}", path.display()))?;
    if bytes.len() > max {
        bail!("{}: larger than {max} bytes", path.display());
    }
    Ok(bytes)
}

fn read_text(path: &Path, max: usize) -> anyhow::Result<String> {
    String::from_utf8(read_bounded(path, max)?)
        .with_context(|| format!("{}: not UTF-8", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, content: &[u8]) {
        fs::write(dir.join(name), content).unwrap();
    }

    #[test]
    fn loads_the_deployment_and_named_themes() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "theme.toml",
            b"product_name = \"Acme ID\"\n[colours]\naccent = \"#0b6e4f\"\n",
        );
        write(dir.path(), "style.css", b"h1{letter-spacing:.02em}");
        write(
            dir.path(),
            "logo.svg",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
        );
        fs::create_dir(dir.path().join("partner")).unwrap();
        write(
            &dir.path().join("partner"),
            "theme.toml",
            b"product_name = \"Partner\"\n",
        );
        fs::create_dir(dir.path().join("..data")).unwrap();
        let set = load(dir.path()).unwrap();
        assert_eq!(set.default_theme().product_name(), "Acme ID");
        assert_eq!(set.get("partner").unwrap().product_name(), "Partner");
        assert!(set.get("..data").is_none());
    }

    #[test]
    fn a_bad_theme_stops_the_start() {
        let cases: &[(&str, &[u8], &str)] = &[
            ("theme.toml", b"product_nam = \"x\"", "unknown field"),
            ("theme.toml", b"[colours]\ntext = \"#eee\"", "contrast"),
            ("theme.toml", b"[colours]\ntext = \"red\"", "colours.text"),
            ("logo.jpg", b"x", "not a theme file"),
            ("logo.png", b"<svg/>", "logo.png"),
        ];
        for (file, content, expected) in cases {
            let dir = tempfile::tempdir().unwrap();
            if *file != "theme.toml" {
                write(dir.path(), "theme.toml", b"");
            }
            write(dir.path(), file, content);
            let err = format!("{:#}", load(dir.path()).unwrap_err());
            assert!(err.contains(expected), "{file}: {err}");
        }
        let dir = tempfile::tempdir().unwrap();
        let err = format!("{:#}", load(dir.path()).unwrap_err());
        assert!(err.contains("theme.toml is missing"), "{err}");
        write(dir.path(), "theme.toml", b"");
        write(
            dir.path(),
            "style.css",
            &vec![b' '; MAX_STYLESHEET_BYTES + 1],
        );
        let err = format!("{:#}", load(dir.path()).unwrap_err());
        assert!(err.contains("larger than"), "{err}");
        fs::remove_file(dir.path().join("style.css")).unwrap();
        fs::create_dir(dir.path().join("Bad Name")).unwrap();
        let err = format!("{:#}", load(dir.path()).unwrap_err());
        assert!(err.contains("theme name"), "{err}");
        assert!(load(&dir.path().join("absent")).is_err());
    }
}
