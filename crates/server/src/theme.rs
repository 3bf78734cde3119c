//! Themes of the end-user pages: a product name, colours, a stylesheet and a logo per deployment
//! and, by name, per client. The binary reads a theme directory into [`ThemeFiles`]; this module
//! validates them once at start ([`ThemeSet::new`]) and keeps them in memory, so serving a theme
//! asset never touches the file system and no request path can name a file.
//!
//! Colours are checked against WCAG 2.1's contrast minimum for text (4.5:1), so a theme cannot
//! make the pages less legible than the built-in one.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

/// The largest `theme.toml` accepted.
pub const MAX_MANIFEST_BYTES: usize = 16 * 1024;
/// The largest `style.css` accepted.
pub const MAX_STYLESHEET_BYTES: usize = 256 * 1024;
/// The largest logo accepted.
pub const MAX_LOGO_BYTES: usize = 256 * 1024;
/// The most named (per-client) themes one deployment may have.
pub const MAX_NAMED_THEMES: usize = 64;
/// The longest product name, in characters.
pub const MAX_PRODUCT_NAME_CHARS: usize = 64;
/// WCAG 2.1 (1.4.3) contrast minimum for normal text.
pub const MIN_CONTRAST: f64 = 4.5;

/// The name of the deployment theme in asset paths; no named theme may take it.
pub(crate) const DEFAULT_NAME: &str = "default";

/// A theme that cannot be used, naming the theme and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("theme `{theme}`: {reason}")]
pub struct ThemeError {
    /// The theme's name (`default` for the deployment theme).
    pub theme: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ThemeError {
    fn new(theme: &str, reason: impl Into<String>) -> Self {
        Self {
            theme: theme.to_owned(),
            reason: reason.into(),
        }
    }
}

/// The name of a per-client theme: a subdirectory of the theme directory, 1 to 32 characters of
/// `a-z`, `0-9`, `-` and `_`, starting with a letter or digit (so never `.`, `..` or a path).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ThemeName(String);

impl ThemeName {
    /// Parses a theme name.
    pub fn parse(name: &str) -> Result<Self, ThemeError> {
        let ok = (1..=32).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            && name
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric());
        if !ok {
            return Err(ThemeError::new(
                name,
                "a theme name is 1 to 32 characters of a-z, 0-9, - and _, starting with a letter or digit",
            ));
        }
        if name == DEFAULT_NAME {
            return Err(ThemeError::new(
                name,
                "`default` is the deployment theme's name",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for ThemeName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ThemeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An sRGB colour written `#rgb` or `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colour([u8; 3]);

impl Colour {
    /// Parses `#rgb` or `#rrggbb` (nothing else, so a colour cannot carry CSS).
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix('#')?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let digit = |i: usize| u8::from_str_radix(hex.get(i..=i)?, 16).ok();
        let pair = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
        match hex.len() {
            3 => Some(Self([digit(0)? * 17, digit(1)? * 17, digit(2)? * 17])),
            6 => Some(Self([pair(0)?, pair(2)?, pair(4)?])),
            _ => None,
        }
    }

    /// WCAG 2.1 relative luminance.
    fn luminance(self) -> f64 {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        let [r, g, b] = self.0;
        0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    }

    /// WCAG 2.1 contrast ratio between two colours (1 to 21).
    pub fn contrast(self, other: Self) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }
}

impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [r, g, b] = self.0;
        write!(f, "#{r:02x}{g:02x}{b:02x}")
    }
}

/// `theme.toml`: every key is optional; a colour left out keeps the built-in one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeManifest {
    /// The name shown in page titles and beside the logo (default `Portcullis`).
    pub product_name: Option<String>,
    /// The colours, `#rgb` or `#rrggbb`.
    #[serde(default)]
    pub colours: ColourManifest,
}

/// `[colours]` of `theme.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColourManifest {
    /// The page around the card.
    pub background: Option<String>,
    /// The card holding the form.
    pub surface: Option<String>,
    /// Text on the card.
    pub text: Option<String>,
    /// Secondary text on the card.
    pub muted: Option<String>,
    /// Buttons and links.
    pub accent: Option<String>,
    /// Text on buttons.
    pub accent_text: Option<String>,
}

/// The theme's colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colours {
    /// The page around the card.
    pub background: Colour,
    /// The card holding the form.
    pub surface: Colour,
    /// Text on the card.
    pub text: Colour,
    /// Secondary text on the card.
    pub muted: Colour,
    /// Buttons and links.
    pub accent: Colour,
    /// Text on buttons.
    pub accent_text: Colour,
}

impl Colours {
    /// The built-in colours (those of the stylesheet without a theme).
    pub const BUILT_IN: Self = Self {
        background: Colour([0xf4, 0xf5, 0xf7]),
        surface: Colour([0xff, 0xff, 0xff]),
        text: Colour([0x1d, 0x23, 0x30]),
        muted: Colour([0x5a, 0x62, 0x72]),
        accent: Colour([0x1d, 0x4e, 0xd8]),
        accent_text: Colour([0xff, 0xff, 0xff]),
    };

    fn from_manifest(theme: &str, m: &ColourManifest) -> Result<Self, ThemeError> {
        let pick = |name: &str, value: &Option<String>, default: Colour| match value {
            None => Ok(default),
            Some(v) => Colour::parse(v).ok_or_else(|| {
                ThemeError::new(
                    theme,
                    format!("colours.{name}: `{v}` is not #rgb or #rrggbb"),
                )
            }),
        };
        let d = Self::BUILT_IN;
        let colours = Self {
            background: pick("background", &m.background, d.background)?,
            surface: pick("surface", &m.surface, d.surface)?,
            text: pick("text", &m.text, d.text)?,
            muted: pick("muted", &m.muted, d.muted)?,
            accent: pick("accent", &m.accent, d.accent)?,
            accent_text: pick("accent_text", &m.accent_text, d.accent_text)?,
        };
        for (what, fg, bg) in [
            ("text on surface", colours.text, colours.surface),
            ("muted on surface", colours.muted, colours.surface),
            ("accent (links) on surface", colours.accent, colours.surface),
            ("accent_text on accent", colours.accent_text, colours.accent),
        ] {
            let ratio = fg.contrast(bg);
            if ratio < MIN_CONTRAST {
                return Err(ThemeError::new(
                    theme,
                    format!(
                        "colours: {what} has a contrast of {ratio:.2}:1, below {MIN_CONTRAST}:1 (WCAG 2.1 AA)"
                    ),
                ));
            }
        }
        Ok(colours)
    }
}

/// The logo's image format, from its file name (`logo.svg` or `logo.png`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoFormat {
    /// `logo.svg`, served as `image/svg+xml`.
    Svg,
    /// `logo.png`, served as `image/png`.
    Png,
}

impl LogoFormat {
    /// The file name in a theme directory and in the asset path.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Svg => "logo.svg",
            Self::Png => "logo.png",
        }
    }

    /// The `Content-Type` it is served with.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Self::Svg => "image/svg+xml",
            Self::Png => "image/png",
        }
    }

    fn check(self, theme: &str, bytes: &[u8]) -> Result<(), ThemeError> {
        let ok = match self {
            Self::Png => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            Self::Svg => std::str::from_utf8(bytes).is_ok_and(|s| s.contains("<svg")),
        };
        if ok {
            Ok(())
        } else {
            Err(ThemeError::new(
                theme,
                format!("{} is not a {self:?} image", self.file_name()),
            ))
        }
    }
}

/// A theme as read from its directory, before validation.
#[derive(Debug, Clone, Default)]
pub struct ThemeFiles {
    /// `theme.toml`.
    pub manifest: ThemeManifest,
    /// `style.css`, added after the built-in rules.
    pub stylesheet: Option<String>,
    /// `logo.svg` or `logo.png`.
    pub logo: Option<(LogoFormat, Vec<u8>)>,
}

/// A validated theme, ready to serve.
#[derive(Clone, PartialEq)]
pub struct Theme {
    name: String,
    product_name: String,
    colours: Colours,
    /// The theme's stylesheet: its colours as CSS variables, the rules using them, `style.css`.
    stylesheet: Option<String>,
    logo: Option<(LogoFormat, Vec<u8>)>,
    /// A digest of the assets, in their paths so that they can be cached for good.
    version: String,
}

impl fmt::Debug for Theme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Theme")
            .field("name", &self.name)
            .field("product_name", &self.product_name)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// The product name without a theme.
pub const DEFAULT_PRODUCT_NAME: &str = "Portcullis";

impl Theme {
    /// The pages as they are without a theme.
    pub fn built_in() -> Self {
        Self {
            name: DEFAULT_NAME.to_owned(),
            product_name: DEFAULT_PRODUCT_NAME.to_owned(),
            colours: Colours::BUILT_IN,
            stylesheet: None,
            logo: None,
            version: String::new(),
        }
    }

    fn new(name: &str, files: ThemeFiles) -> Result<Self, ThemeError> {
        let product_name = match files.manifest.product_name {
            None => DEFAULT_PRODUCT_NAME.to_owned(),
            Some(p) => {
                let p = p.trim().to_owned();
                if p.is_empty()
                    || p.chars().count() > MAX_PRODUCT_NAME_CHARS
                    || p.chars().any(char::is_control)
                {
                    return Err(ThemeError::new(
                        name,
                        format!(
                            "product_name must be 1 to {MAX_PRODUCT_NAME_CHARS} characters without control characters"
                        ),
                    ));
                }
                p
            }
        };
        let colours = Colours::from_manifest(name, &files.manifest.colours)?;
        if files
            .stylesheet
            .as_ref()
            .is_some_and(|css| css.len() > MAX_STYLESHEET_BYTES)
        {
            return Err(ThemeError::new(
                name,
                format!("style.css is larger than {MAX_STYLESHEET_BYTES} bytes"),
            ));
        }
        if let Some((format, bytes)) = &files.logo {
            if bytes.len() > MAX_LOGO_BYTES {
                return Err(ThemeError::new(
                    name,
                    format!(
                        "{} is larger than {MAX_LOGO_BYTES} bytes",
                        format.file_name()
                    ),
                ));
            }
            format.check(name, bytes)?;
        }
        let stylesheet = theme_stylesheet(&colours, files.stylesheet.as_deref());
        let mut hashed = stylesheet.clone().into_bytes();
        if let Some((_, bytes)) = &files.logo {
            hashed.extend_from_slice(bytes);
        }
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &hashed);
        let version = URL_SAFE_NO_PAD.encode(digest.as_ref().get(..9).unwrap_or_default());
        Ok(Self {
            name: name.to_owned(),
            product_name,
            colours,
            stylesheet: Some(stylesheet),
            logo: files.logo,
            version,
        })
    }

    /// The name shown in titles and beside the logo.
    pub fn product_name(&self) -> &str {
        &self.product_name
    }

    /// The theme's colours.
    pub fn colours(&self) -> Colours {
        self.colours
    }

    /// Where the theme's stylesheet is served, if it has one.
    pub(crate) fn stylesheet_path(&self) -> Option<String> {
        self.stylesheet
            .as_ref()
            .map(|_| self.asset_path("theme.css"))
    }

    /// Where the theme's logo is served, if it has one.
    pub(crate) fn logo_path(&self) -> Option<String> {
        self.logo
            .as_ref()
            .map(|(format, _)| self.asset_path(format.file_name()))
    }

    fn asset_path(&self, file: &str) -> String {
        format!("{ASSET_PREFIX}/{}/{}/{file}", self.name, self.version)
    }

    /// The asset `file` of this theme at `version`: its content type and bytes.
    pub(crate) fn asset(&self, version: &str, file: &str) -> Option<(&'static str, &[u8])> {
        if version != self.version {
            return None;
        }
        match (file, &self.stylesheet, &self.logo) {
            ("theme.css", Some(css), _) => Some(("text/css; charset=utf-8", css.as_bytes())),
            (f, _, Some((format, bytes))) if f == format.file_name() => {
                Some((format.content_type(), bytes))
            }
            _ => None,
        }
    }
}

/// Where theme assets are served: `/assets/theme/{theme}/{version}/{file}`.
pub(crate) const ASSET_PREFIX: &str = "/assets/theme";

/// The colours as CSS variables and the rules that use them beyond the built-in stylesheet
/// (which falls back to the built-in colours), then the theme's own rules.
fn theme_stylesheet(c: &Colours, custom: Option<&str>) -> String {
    format!(
        ":root{{--pc-background:{};--pc-surface:{};--pc-text:{};--pc-muted:{};--pc-accent:{};--pc-accent-text:{}}}\n\
         a{{color:var(--pc-accent)}}\n\
         button,a.button{{background:var(--pc-accent);color:var(--pc-accent-text);border:1px solid var(--pc-accent);border-radius:4px}}\n\
         {}",
        c.background,
        c.surface,
        c.text,
        c.muted,
        c.accent,
        c.accent_text,
        custom.unwrap_or_default()
    )
}

/// The deployment theme and the named themes clients may select.
#[derive(Debug, Clone)]
pub struct ThemeSet {
    default: Arc<Theme>,
    named: BTreeMap<ThemeName, Arc<Theme>>,
}

impl Default for ThemeSet {
    /// The built-in look, with no named themes.
    fn default() -> Self {
        Self {
            default: Arc::new(Theme::built_in()),
            named: BTreeMap::new(),
        }
    }
}

impl ThemeSet {
    /// Validates the deployment theme and the named ones (at most [`MAX_NAMED_THEMES`]).
    pub fn new(
        default: ThemeFiles,
        named: Vec<(ThemeName, ThemeFiles)>,
    ) -> Result<Self, ThemeError> {
        if named.len() > MAX_NAMED_THEMES {
            return Err(ThemeError::new(
                DEFAULT_NAME,
                format!("more than {MAX_NAMED_THEMES} named themes"),
            ));
        }
        let default = Arc::new(Theme::new(DEFAULT_NAME, default)?);
        let mut themes = BTreeMap::new();
        for (name, files) in named {
            let theme = Theme::new(name.as_str(), files)?;
            themes.insert(name, Arc::new(theme));
        }
        Ok(Self {
            default,
            named: themes,
        })
    }

    /// The deployment theme.
    pub fn default_theme(&self) -> &Arc<Theme> {
        &self.default
    }

    /// The named theme `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<&Arc<Theme>> {
        self.named.get(name)
    }

    /// Whether a named theme `name` exists.
    pub fn contains(&self, name: &ThemeName) -> bool {
        self.named.contains_key(name)
    }

    /// The theme a client's setting selects: its named theme, else the deployment theme.
    pub(crate) fn for_client(&self, name: Option<&str>) -> &Arc<Theme> {
        name.and_then(|n| self.get(n)).unwrap_or(&self.default)
    }

    /// The theme an asset path names (`default` or a named theme).
    pub(crate) fn by_path_name(&self, name: &str) -> Option<&Arc<Theme>> {
        if name == DEFAULT_NAME {
            Some(&self.default)
        } else {
            self.get(name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(colours: ColourManifest) -> ThemeFiles {
        ThemeFiles {
            manifest: ThemeManifest {
                product_name: Some("Acme ID".into()),
                colours,
            },
            ..ThemeFiles::default()
        }
    }

    #[test]
    fn colours_parse_only_hex() {
        assert_eq!(Colour::parse("#fff"), Some(Colour([255, 255, 255])));
        assert_eq!(
            Colour::parse("#1d2330").map(|c| c.to_string()),
            Some("#1d2330".into())
        );
        for bad in [
            "fff",
            "#ffff",
            "#ggg",
            "red",
            "#fff;}body{x:y",
            "#ff ff",
            "",
        ] {
            assert_eq!(Colour::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn built_in_colours_meet_the_contrast_minimum() {
        let theme = Theme::new("default", ThemeFiles::default()).unwrap();
        assert_eq!(theme.colours(), Colours::BUILT_IN);
        let c = Colours::BUILT_IN;
        assert!(c.text.contrast(c.surface) >= 12.0);
        assert!(
            (Colour::parse("#000")
                .unwrap()
                .contrast(Colour::parse("#fff").unwrap())
                - 21.0)
                .abs()
                < 1e-9
        );
    }

    #[test]
    fn low_contrast_themes_are_refused() {
        let err = Theme::new(
            "pale",
            files(ColourManifest {
                text: Some("#cccccc".into()),
                ..ColourManifest::default()
            }),
        )
        .unwrap_err();
        assert!(err.reason.contains("text on surface"), "{err}");
        let err = Theme::new(
            "pale",
            files(ColourManifest {
                accent: Some("#ffff00".into()),
                ..ColourManifest::default()
            }),
        )
        .unwrap_err();
        assert!(err.reason.contains("accent"), "{err}");
    }

    #[test]
    fn theme_names_cannot_be_paths() {
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "A",
            "-x",
            "default",
            &"x".repeat(33),
        ] {
            assert!(ThemeName::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(ThemeName::parse("acme-2").unwrap().as_str(), "acme-2");
    }

    #[test]
    fn bad_product_names_and_logos_are_refused() {
        let mut f = files(ColourManifest::default());
        f.manifest.product_name = Some("a\u{7}b".into());
        assert!(Theme::new("x", f).is_err());
        let mut f = files(ColourManifest::default());
        f.logo = Some((LogoFormat::Png, b"<svg/>".to_vec()));
        assert!(Theme::new("x", f).unwrap_err().reason.contains("logo.png"));
        let mut f = files(ColourManifest::default());
        f.stylesheet = Some("a{}".repeat(MAX_STYLESHEET_BYTES));
        assert!(Theme::new("x", f).unwrap_err().reason.contains("style.css"));
    }

    #[test]
    fn assets_are_found_only_at_their_version() {
        let mut f = files(ColourManifest::default());
        f.logo = Some((
            LogoFormat::Svg,
            b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec(),
        ));
        f.stylesheet = Some("h1{letter-spacing:1px}".into());
        let theme = Theme::new("default", f).unwrap();
        let css_path = theme.stylesheet_path().unwrap();
        let version = css_path.split('/').nth(4).unwrap();
        let (ct, css) = theme.asset(version, "theme.css").unwrap();
        assert_eq!(ct, "text/css; charset=utf-8");
        let css = std::str::from_utf8(css).unwrap();
        assert!(css.contains("--pc-accent:#1d4ed8") && css.ends_with("h1{letter-spacing:1px}"));
        assert_eq!(theme.asset(version, "logo.svg").unwrap().0, "image/svg+xml");
        assert!(theme.asset(version, "logo.png").is_none());
        assert!(theme.asset("old", "theme.css").is_none());
        assert!(theme.asset(version, "../theme.toml").is_none());
    }
}
