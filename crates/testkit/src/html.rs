//! A small HTML form reader for driving the server's login and consent pages in tests.
//! It understands `<form>`, `<input>` and `<button>` tags and the usual entity escapes.

/// One `<form>` of a page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    /// The `action` attribute (entity-decoded), empty when absent.
    pub action: String,
    /// The `method` attribute in lower case (`get` when absent).
    pub method: String,
    /// `(name, value)` of every named `<input>` except submit buttons, in document order.
    pub fields: Vec<(String, String)>,
    /// `(name, value)` of every named submit control (`<button>` or `<input type=submit>`).
    pub buttons: Vec<(String, String)>,
    /// The `type` of each named input, parallel to `fields`.
    pub field_types: Vec<String>,
}

impl Form {
    /// The value of the first field called `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the form has a password input.
    pub fn has_password(&self) -> bool {
        self.field_types.iter().any(|t| t == "password")
    }

    /// The name of the first input of type `password`.
    pub fn password_field(&self) -> Option<&str> {
        self.fields
            .iter()
            .zip(&self.field_types)
            .find(|(_, t)| *t == "password")
            .map(|((n, _), _)| n.as_str())
    }

    /// The name of the first text-like input (the username box of a login form).
    pub fn username_field(&self) -> Option<&str> {
        self.fields
            .iter()
            .zip(&self.field_types)
            .find(|(_, t)| matches!(t.as_str(), "text" | "email" | ""))
            .map(|((n, _), _)| n.as_str())
    }

    /// Sets (or adds) a field.
    pub fn set(&mut self, name: &str, value: &str) {
        if let Some(slot) = self.fields.iter_mut().find(|(n, _)| n == name) {
            slot.1 = value.to_owned();
        } else {
            self.fields.push((name.to_owned(), value.to_owned()));
            self.field_types.push("hidden".to_owned());
        }
    }

    /// The submit button whose name or value contains one of `words` (case-insensitive).
    pub fn button_matching(&self, words: &[&str]) -> Option<(String, String)> {
        self.buttons
            .iter()
            .find(|(n, v)| {
                let hay = format!("{n} {v}").to_ascii_lowercase();
                words.iter().any(|w| hay.contains(w))
            })
            .cloned()
    }
}

/// Every form of an HTML document, in order.
pub fn forms(html: &str) -> Vec<Form> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = find_tag(rest, "form") {
        let Some(after_open) = rest.get(start..) else {
            break;
        };
        let (attrs, body_start) = tag_attributes(after_open);
        let body = after_open.get(body_start..).unwrap_or("");
        let end = find_ci(body, "</form").unwrap_or(body.len());
        let inner = body.get(..end).unwrap_or("");
        let mut form = Form {
            action: attr(&attrs, "action").unwrap_or_default(),
            method: attr(&attrs, "method")
                .unwrap_or_else(|| "get".to_owned())
                .to_ascii_lowercase(),
            ..Form::default()
        };
        collect_controls(inner, &mut form);
        out.push(form);
        rest = body.get(end..).unwrap_or("");
        if rest.is_empty() {
            break;
        }
        rest = rest.get(1..).unwrap_or("");
    }
    out
}

fn collect_controls(inner: &str, form: &mut Form) {
    let mut pos = 0;
    while let Some(lt) = inner.get(pos..).and_then(|s| s.find('<')) {
        let at = pos + lt;
        let Some(tail) = inner.get(at..) else { break };
        let lower_head: String = tail
            .chars()
            .take(8)
            .collect::<String>()
            .to_ascii_lowercase();
        let (attrs, len) = tag_attributes(tail);
        if lower_head.starts_with("<input") {
            let kind = attr(&attrs, "type")
                .unwrap_or_else(|| "text".to_owned())
                .to_ascii_lowercase();
            if let Some(name) = attr(&attrs, "name") {
                let value = attr(&attrs, "value").unwrap_or_default();
                if kind == "submit" {
                    form.buttons.push((name, value));
                } else if matches!(kind.as_str(), "checkbox" | "radio") {
                    if attrs.iter().any(|(n, _)| n == "checked") {
                        form.fields.push((name, value_or_on(value)));
                        form.field_types.push(kind);
                    }
                } else {
                    form.fields.push((name, value));
                    form.field_types.push(kind);
                }
            }
        } else if lower_head.starts_with("<button") {
            let kind = attr(&attrs, "type")
                .unwrap_or_else(|| "submit".to_owned())
                .to_ascii_lowercase();
            if kind == "submit" {
                let name = attr(&attrs, "name").unwrap_or_default();
                let value = attr(&attrs, "value").unwrap_or_default();
                form.buttons.push((name, value));
            }
        }
        pos = at + len.max(1);
    }
}

fn value_or_on(value: String) -> String {
    if value.is_empty() {
        "on".to_owned()
    } else {
        value
    }
}

/// The value of the `content` attribute of `<meta name=...>` or the text of `<title>`.
pub fn title(html: &str) -> Option<String> {
    let start = find_ci(html, "<title>")? + "<title>".len();
    let rest = html.get(start..)?;
    let end = find_ci(rest, "</title>")?;
    rest.get(..end).map(decode_entities)
}

fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    hay.to_ascii_lowercase().find(&needle.to_ascii_lowercase())
}

/// Position of the next `<name` tag (followed by whitespace, `>` or `/`).
fn find_tag(hay: &str, name: &str) -> Option<usize> {
    let lower = hay.to_ascii_lowercase();
    let open = format!("<{name}");
    let mut from = 0;
    while let Some(rel) = lower.get(from..).and_then(|s| s.find(&open)) {
        let at = from + rel;
        let next = lower.as_bytes().get(at + open.len()).copied();
        if matches!(next, Some(b' ' | b'>' | b'/' | b'\n' | b'\t' | b'\r')) {
            return Some(at);
        }
        from = at + open.len();
    }
    None
}

/// Parses the attributes of the tag starting at `tag[0] == '<'`; returns them and the length
/// of the tag including the closing `>`.
fn tag_attributes(tag: &str) -> (Vec<(String, String)>, usize) {
    let bytes = tag.as_bytes();
    let at = |i: usize| bytes.get(i).copied();
    let space = |i: usize| at(i).is_some_and(is_space);
    let mut i = 1;
    while at(i).is_some_and(|b| !is_space(b) && b != b'>' && b != b'/') {
        i += 1;
    }
    let mut attrs = Vec::new();
    loop {
        while at(i).is_some_and(|b| is_space(b) || b == b'/') {
            i += 1;
        }
        match at(i) {
            None => return (attrs, bytes.len()),
            Some(b'>') => return (attrs, i + 1),
            Some(_) => {}
        }
        let name_start = i;
        while at(i).is_some_and(|b| !is_space(b) && !matches!(b, b'=' | b'>' | b'/')) {
            i += 1;
        }
        let name = tag.get(name_start..i).unwrap_or("").to_ascii_lowercase();
        while space(i) {
            i += 1;
        }
        let mut value = String::new();
        if at(i) == Some(b'=') {
            i += 1;
            while space(i) {
                i += 1;
            }
            if let Some(quote @ (b'"' | b'\'')) = at(i) {
                i += 1;
                let start = i;
                while at(i).is_some_and(|b| b != quote) {
                    i += 1;
                }
                value = decode_entities(tag.get(start..i).unwrap_or(""));
                i += 1;
            } else {
                let start = i;
                while at(i).is_some_and(|b| !is_space(b) && b != b'>') {
                    i += 1;
                }
                value = decode_entities(tag.get(start..i).unwrap_or(""));
            }
        }
        if !name.is_empty() {
            attrs.push((name, value));
        }
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\t' | b'\r' | b'\x0c')
}

fn attr(attrs: &[(String, String)], name: &str) -> Option<String> {
    attrs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

/// Decodes the entities an HTML serializer emits in attributes and text.
pub fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or(""));
        let tail = rest.get(amp..).unwrap_or("");
        let Some(semi) = tail.find(';').filter(|s| *s <= 10) else {
            out.push('&');
            rest = tail.get(1..).unwrap_or("");
            continue;
        };
        let entity = tail.get(1..semi).unwrap_or("");
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = tail.get(semi + 1..).unwrap_or("");
            }
            None => {
                out.push('&');
                rest = tail.get(1..).unwrap_or("");
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_login_form() {
        let html = r#"<html><head><title>Sign in &amp; go</title></head><body>
            <form method="POST" action="/login?x=1&amp;y=2">
              <input type="hidden" name="csrf" value="a&quot;b">
              <input name="username" value="">
              <input type="password" name="password">
              <input type="checkbox" name="remember">
              <button type="submit" name="action" value="login">Sign in</button>
            </form>
            <form action="/other"><input type=submit name=go value=yes></form>
            </body></html>"#;
        let forms = forms(html);
        assert_eq!(forms.len(), 2);
        let f = &forms[0];
        assert_eq!(f.action, "/login?x=1&y=2");
        assert_eq!(f.method, "post");
        assert_eq!(f.field("csrf"), Some("a\"b"));
        assert!(f.has_password());
        assert_eq!(f.password_field(), Some("password"));
        assert_eq!(f.username_field(), Some("username"));
        assert_eq!(f.field("remember"), None);
        assert_eq!(
            f.button_matching(&["login"]),
            Some(("action".into(), "login".into()))
        );
        assert_eq!(forms[1].buttons, vec![("go".into(), "yes".into())]);
        assert_eq!(title(html).as_deref(), Some("Sign in & go"));
    }

    #[test]
    fn decodes_numeric_entities_and_keeps_stray_ampersands() {
        assert_eq!(decode_entities("a&#39;b&#x27;c & d"), "a'b'c & d");
    }
}
