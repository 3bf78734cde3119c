//! The page and mail texts in the user's language: the catalogues in `crates/server/locales/`
//! (one TOML file per language, compiled in by `build.rs` as [`Msg`] and one table per file),
//! the choice of language (OIDC `ui_locales`, then `Accept-Language` with its q-values, then
//! English) and the filling of `{placeholders}`, with escaped markup for pages and as plain text
//! for mail.

use maud::{Markup, PreEscaped, html};

include!(concat!(env!("OUT_DIR"), "/messages.rs"));

/// The most language ranges of one header or parameter looked at (the rest is ignored).
const MAX_RANGES: usize = 16;

/// A language there is a catalogue for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Locale(usize);

impl Default for Locale {
    fn default() -> Self {
        Self::ENGLISH
    }
}

impl Locale {
    /// English, the source catalogue and the fallback (the build puts it first).
    pub(crate) const ENGLISH: Self = Self(0);

    /// Every language there is a catalogue for.
    pub(crate) fn all() -> impl Iterator<Item = Self> {
        (0..CATALOGUES.len()).map(Self)
    }

    fn catalogue(self) -> &'static (&'static str, [Option<&'static str>; Msg::ALL.len()]) {
        CATALOGUES
            .get(self.0)
            .or(CATALOGUES.first())
            .unwrap_or(&EMPTY)
    }

    /// The BCP 47 tag, for `<html lang>` and `Content-Language`.
    pub(crate) fn tag(self) -> &'static str {
        self.catalogue().0
    }

    /// The text of `msg` in this language, English when the catalogue lacks it (which the
    /// `every_catalogue_has_every_key` test forbids), the key when even English does.
    pub(crate) fn text(self, msg: Msg) -> &'static str {
        let index = msg as usize;
        self.catalogue()
            .1
            .get(index)
            .copied()
            .flatten()
            .or_else(|| Self::ENGLISH.catalogue().1.get(index).copied().flatten())
            .unwrap_or(msg.key())
    }

    /// RFC 4647 §3.4 lookup of one language range: the range, then shorter prefixes of it
    /// (`ko-KR` finds `ko`), compared without regard to case.
    pub(crate) fn lookup(range: &str) -> Option<Self> {
        let mut range = range.trim();
        loop {
            if range.is_empty() || range == "*" {
                return None;
            }
            if let Some(found) = Self::all().find(|l| l.tag().eq_ignore_ascii_case(range)) {
                return Some(found);
            }
            range = range.rsplit_once('-')?.0;
            // A single-letter subtag (`x` of a private use, an extension) goes with the next.
            if range.len() > 1 && range.as_bytes().get(range.len() - 2) == Some(&b'-') {
                range = range.get(..range.len() - 2)?;
            }
        }
    }

    /// The first of OIDC's `ui_locales` (space-separated, in order of preference) there is a
    /// catalogue for.
    pub(crate) fn from_ui_locales(ui_locales: &str) -> Option<Self> {
        ui_locales
            .split(' ')
            .take(MAX_RANGES)
            .find_map(Self::lookup)
    }

    /// The best match of an `Accept-Language` header (RFC 9110 §12.5.4): ranges by falling
    /// q-value, ties in the order written, `q=0` meaning "not this one".
    pub(crate) fn from_accept_language(header: &str) -> Option<Self> {
        let mut ranges: Vec<(u16, &str)> = header
            .split(',')
            .take(MAX_RANGES)
            .filter_map(|item| {
                let mut parts = item.split(';');
                let range = parts.next()?.trim();
                let q = parts
                    .find_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
                    .map_or(Some(1000), parse_qvalue)?;
                (q > 0).then_some((q, range))
            })
            .collect();
        ranges.sort_by_key(|(q, _)| std::cmp::Reverse(*q));
        ranges
            .into_iter()
            .find_map(|(_, range)| Self::lookup(range))
    }

    /// The page language: `ui_locales`, else `Accept-Language`, else English.
    pub(crate) fn negotiate(ui_locales: Option<&str>, accept_language: Option<&str>) -> Self {
        ui_locales
            .and_then(Self::from_ui_locales)
            .or_else(|| accept_language.and_then(Self::from_accept_language))
            .unwrap_or(Self::ENGLISH)
    }
}

/// Only reached if the build produced no catalogue at all, which `build.rs` refuses.
static EMPTY: (&str, [Option<&str>; Msg::ALL.len()]) = ("en", [None; Msg::ALL.len()]);

/// A q-value (`0`, `0.5`, `1.000`) in thousandths; `None` when malformed.
fn parse_qvalue(q: &str) -> Option<u16> {
    let (int, frac) = q.split_once('.').unwrap_or((q, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths: u16 = format!("{frac:0<3}").parse().ok()?;
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// A piece of a template: its own text, or the value given for one of its `{placeholders}`.
enum Piece<'t, 'v, V> {
    Text(&'t str),
    Value(&'v V),
}

/// Walks `template`, handing `emit` its text and, for each `{name}` that `args` has a value
/// for, that value. A placeholder without a value is left as written.
fn substitute<'t, 'v, V>(
    template: &'t str,
    args: &'v [(&str, V)],
    mut emit: impl FnMut(Piece<'t, 'v, V>),
) {
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let (before, after) = rest.split_at(start);
        emit(Piece::Text(before));
        let value = after.find('}').and_then(|end| {
            let name = after.get(1..end)?;
            let (_, value) = args.iter().find(|(n, _)| *n == name)?;
            Some((value, end))
        });
        match value {
            Some((value, end)) => {
                emit(Piece::Value(value));
                rest = after.get(end + 1..).unwrap_or_default();
            }
            None => {
                emit(Piece::Text("{"));
                rest = after.get(1..).unwrap_or_default();
            }
        }
    }
    emit(Piece::Text(rest));
}

/// `template` with each `{name}` replaced by the markup given for `name`; the template's own
/// text is escaped. A placeholder without a value is left as written.
pub(crate) fn fill(template: &str, args: &[(&str, Markup)]) -> Markup {
    let mut out = String::with_capacity(template.len());
    substitute(template, args, |piece| match piece {
        Piece::Text(text) => out.push_str(&html! { (text) }.into_string()),
        Piece::Value(markup) => out.push_str(&markup.0),
    });
    PreEscaped(out)
}

/// `template` as plain text (a mail) with each `{name}` replaced by the text given for `name`.
pub(crate) fn fill_text(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    substitute(template, args, |piece| match piece {
        Piece::Text(text) => out.push_str(text),
        Piece::Value(value) => out.push_str(value),
    });
    out
}

/// The `{names}` a template uses, for the catalogue tests.
#[cfg(test)]
fn placeholders(template: &str) -> Vec<&str> {
    let mut names: Vec<&str> = template
        .split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(name, _)| name))
        .collect();
    names.sort_unstable();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(l: Option<Locale>) -> Option<&'static str> {
        l.map(Locale::tag)
    }

    #[test]
    fn every_catalogue_has_every_key() {
        let mut missing = Vec::new();
        for locale in Locale::all() {
            for (msg, text) in Msg::ALL.iter().zip(locale.catalogue().1) {
                match text {
                    None => missing.push(format!("{}: {}", locale.tag(), msg.key())),
                    Some(t) if t.trim().is_empty() => {
                        missing.push(format!("{}: {} (empty)", locale.tag(), msg.key()));
                    }
                    Some(_) => {}
                }
            }
        }
        assert!(missing.is_empty(), "missing translations: {missing:#?}");
        assert!(Locale::all().count() >= 3);
    }

    #[test]
    fn every_translation_keeps_the_placeholders() {
        for locale in Locale::all() {
            for msg in Msg::ALL {
                assert_eq!(
                    placeholders(locale.text(msg)),
                    placeholders(Locale::ENGLISH.text(msg)),
                    "{}: {}",
                    locale.tag(),
                    msg.key()
                );
            }
        }
    }

    #[test]
    fn shipped_languages_are_translated() {
        for t in ["en", "zh-TW", "ko"] {
            assert_eq!(tag(Locale::lookup(t)), Some(t));
        }
        let ko = Locale::lookup("ko").unwrap();
        assert_eq!(ko.text(Msg::CommonSignIn), "로그인");
        assert_eq!(
            Locale::lookup("zh-tw").unwrap().text(Msg::CommonSignIn),
            "登入"
        );
    }

    #[test]
    fn lookup_truncates_ranges() {
        assert_eq!(tag(Locale::lookup("ko-KR")), Some("ko"));
        assert_eq!(tag(Locale::lookup("zh-TW-x-private")), Some("zh-TW"));
        assert_eq!(tag(Locale::lookup("en-GB")), Some("en"));
        assert_eq!(tag(Locale::lookup("zh")), None);
        assert_eq!(tag(Locale::lookup("fr")), None);
        assert_eq!(tag(Locale::lookup("*")), None);
        assert_eq!(tag(Locale::lookup("")), None);
    }

    #[test]
    fn accept_language_honours_q_values() {
        let pick = |h| tag(Locale::from_accept_language(h));
        assert_eq!(pick("en;q=0.5, ko;q=0.9, zh-TW;q=0.7"), Some("ko"));
        assert_eq!(
            pick("fr-FR, fr;q=0.9, zh-TW;q=0.8, en;q=0.7"),
            Some("zh-TW")
        );
        assert_eq!(pick("ko;q=0, en"), Some("en"));
        assert_eq!(pick("ko;q=0"), None);
        assert_eq!(
            pick("ko;q=1.5, en;q=0.1"),
            Some("en"),
            "a malformed q-value drops its range"
        );
        assert_eq!(
            pick("zh-TW, ko"),
            Some("zh-TW"),
            "ties keep the written order"
        );
        assert_eq!(pick("*"), None);
        assert_eq!(pick(""), None);
        assert_eq!(pick(&"fr,".repeat(100)), None);
    }

    #[test]
    fn ui_locales_win_over_accept_language() {
        let n = |u, a| Locale::negotiate(u, a).tag();
        assert_eq!(n(Some("fr ko"), Some("zh-TW")), "ko");
        assert_eq!(n(Some("fr"), Some("zh-TW")), "zh-TW");
        assert_eq!(n(None, Some("fr")), "en");
        assert_eq!(n(None, None), "en");
    }

    #[test]
    fn fill_escapes_the_template_and_inserts_markup() {
        let out = fill(
            "<b>{user}</b> & {missing} {",
            &[("user", html! { strong { "a<b" } })],
        );
        assert_eq!(
            out.into_string(),
            "&lt;b&gt;<strong>a&lt;b</strong>&lt;/b&gt; &amp; {missing} {"
        );
    }

    #[test]
    fn q_values() {
        assert_eq!(parse_qvalue("1"), Some(1000));
        assert_eq!(parse_qvalue("0.8"), Some(800));
        assert_eq!(parse_qvalue("0.125"), Some(125));
        assert_eq!(parse_qvalue("0.1234"), None);
        assert_eq!(parse_qvalue("1.5"), None);
        assert_eq!(parse_qvalue("2"), None);
    }
}
