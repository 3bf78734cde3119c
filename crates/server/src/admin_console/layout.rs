//! The console's page frame (title, navigation, sign-out), its stylesheet, the confirmation
//! step of destructive actions and the message pages.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::CONSOLE_PATH;
use super::access::Console;
use crate::admin_api::auth::ClientsRead;

/// The console's stylesheet: high-contrast colours, visible focus, tables with headers.
const STYLESHEET: &str = "\
body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2330;margin:0}\
header{background:#1d2330;color:#fff;padding:.6rem 1.2rem;display:flex;flex-wrap:wrap;gap:1rem;align-items:center}\
header a{color:#fff}header form{margin:0 0 0 auto}header button{margin:0}\
nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:1rem;margin:0;padding:0}\
main{max-width:60rem;margin:1.5rem auto;background:#fff;padding:1.5rem 2rem;border-radius:6px}\
h1{font-size:1.5rem;margin-top:0}h2{font-size:1.15rem;margin-top:1.8rem}\
label{display:block;margin:.8rem 0 .2rem;font-weight:600}\
input[type=text],input[type=password],input[type=email],input[type=search],select{width:100%;max-width:30rem;padding:.45rem;box-sizing:border-box;border:1px solid #5a6272;border-radius:4px}\
button{margin-top:.8rem;padding:.45rem 1rem;cursor:pointer;border:1px solid #1d2330;border-radius:4px;background:#fff;color:#1d2330}\
button.danger{background:#a40000;color:#fff;border-color:#a40000}\
a:focus,button:focus,input:focus,select:focus{outline:3px solid #0b57d0;outline-offset:2px}\
a{color:#0b4fa8}table{width:100%;border-collapse:collapse;margin-top:1rem}\
th,td{text-align:left;padding:.45rem .4rem;border-bottom:1px solid #c9ced8;vertical-align:top}\
td form{display:inline;margin:0}td button{margin:0}\
.error{color:#8a0000;background:#fde8e8;padding:.6rem;border-radius:4px}\
.notice{background:#e6f4ea;color:#0d4a1c;padding:.6rem;border-radius:4px}\
.secret{font-family:monospace;font-size:1.05rem;background:#fff8d6;padding:.4rem;word-break:break-all}\
.muted{color:#4a5262}.row{display:flex;flex-wrap:wrap;gap:.8rem;align-items:flex-end}\
.row label{margin-top:0}";

/// Serves [`STYLESHEET`].
pub(crate) async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        STYLESHEET,
    )
        .into_response()
}

/// A console page: the navigation, the sign-out form (with `csrf`) and `body`.
pub(crate) fn page(title: &str, csrf: &str, body: Markup) -> Response {
    let at = |path: &str| format!("{CONSOLE_PATH}{path}");
    html_response(
        StatusCode::OK,
        frame(
            title,
            html! {
                header {
                    a href=(at("/")) { strong { "Portcullis admin" } }
                    nav aria-label="Console" {
                        ul {
                            li { a href=(at("/clients")) { "Clients" } }
                            li { a href=(at("/users")) { "Users" } }
                            li { a href=(at("/roles")) { "Roles and groups" } }
                            li { a href=(at("/keys")) { "Keys" } }
                            li { a href=(at("/upstreams")) { "Upstreams" } }
                            li { a href=(at("/audit")) { "Audit trail" } }
                        }
                    }
                    form method="post" action=(at("/logout")) {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { "Sign out" }
                    }
                }
                main { h1 { (title) } (body) }
            },
        ),
    )
}

/// The HTML document around `body`.
fn frame(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " \u{2013} Portcullis admin" }
                link rel="stylesheet" href=(format!("{CONSOLE_PATH}/console.css"));
            }
            body { (body) }
        }
    }
}

fn html_response(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

/// A page that only says something (a refusal, a failure), with a way back.
pub(crate) fn message_page(status: StatusCode, title: &str, text: &str) -> Response {
    html_response(
        status,
        frame(
            title,
            html! {
                main {
                    h1 { (title) }
                    p.error role="alert" { (text) }
                    p { a href=(format!("{CONSOLE_PATH}/")) { "Back to the console" } }
                }
            },
        ),
    )
}

/// A page without the console's navigation (sign-in steps), with `extra` in its head.
pub(crate) fn bare_page(status: StatusCode, title: &str, head: Markup, body: Markup) -> Response {
    html_response(
        status,
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="referrer" content="no-referrer";
                    (head)
                    title { (title) " \u{2013} Portcullis admin" }
                    link rel="stylesheet" href=(format!("{CONSOLE_PATH}/console.css"));
                }
                body { main { h1 { (title) } (body) } }
            }
        },
    )
}

/// A `303 See Other` to `location`.
pub(crate) fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// The confirmation step of a destructive action: `question`, and a form posting `confirm=yes`
/// (with `fields`) back to `action`, or a way back to `back`.
pub(crate) fn confirm(
    title: &str,
    csrf: &str,
    question: Markup,
    action: &str,
    fields: &[(&str, &str)],
    back: &str,
) -> Response {
    page(
        title,
        csrf,
        html! {
            p { (question) }
            form method="post" action=(action) {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="confirm" value="yes";
                @for (name, value) in fields {
                    input type="hidden" name=(name) value=(value);
                }
                button.danger type="submit" { "Yes, " (title.to_lowercase()) }
            }
            p { a href=(back) { "No, go back" } }
        },
    )
}

/// A hidden CSRF field.
pub(crate) fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

/// The field of a destructive action's form: `yes` once confirmed.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Confirm {
    confirm: Option<String>,
}

impl Confirm {
    /// Whether the action is confirmed.
    pub(crate) fn confirmed(&self) -> bool {
        self.confirm.as_deref() == Some("yes")
    }
}

/// A form's space-separated list.
pub(crate) fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// A form's optional text: `None` when left empty.
pub(crate) fn optional(text: &str) -> Option<String> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// `value` as one URL path segment.
pub(crate) fn seg(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The console's start page: what it manages.
pub(crate) async fn home(console: Console<ClientsRead>) -> Response {
    let at = |path: &str| format!("{CONSOLE_PATH}{path}");
    page(
        "Administration",
        &console.csrf,
        html! {
            p { "Signed in as " code { (console.actor.sub) } "." }
            ul {
                li { a href=(at("/clients")) { "Clients" } ": register, delete, see settings." }
                li { a href=(at("/users")) { "Users" } ": create, disable, unlock, sign out, grants." }
                li { a href=(at("/roles")) { "Roles and groups" } ": create and delete." }
                li { a href=(at("/keys")) { "Signing keys" } ": list and rotate." }
                li { a href=(at("/upstreams")) { "Upstream identity providers" } ": list and remove." }
                li { a href=(at("/audit")) { "Audit trail" } ": who changed what, newest first." }
            }
        },
    )
}
