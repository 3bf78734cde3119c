//! The device pages (RFC 8628 §3.3): sign in, enter the code shown on the device, see which
//! application asks for which scopes and approve or deny, then a closing page.

use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::login::{SignInFailure, failure_message};
use super::{layout, page};
use crate::domain::consent::describe;

/// The sign-in form of the device page (posts to `/device/login`).
pub(crate) fn signin_page(
    csrf: &str,
    user_code: Option<&str>,
    failure: Option<SignInFailure>,
) -> Response {
    page(
        StatusCode::OK,
        layout(
            "Connect a device",
            html! {
                h1 { "Connect a device" }
                p.muted { "Sign in, then confirm the code shown on your device." }
                @if let Some(failure) = failure {
                    (failure_message(failure))
                }
                form method="post" action="/device/login" {
                    input type="hidden" name="csrf" value=(csrf);
                    @if let Some(code) = user_code {
                        input type="hidden" name="user_code" value=(code);
                    }
                    label for="username" { "Username" }
                    input id="username" type="text" name="username" autocomplete="username" required;
                    label for="password" { "Password" }
                    input id="password" type="password" name="password" autocomplete="current-password" required;
                    button type="submit" { "Sign in" }
                }
            },
        ),
    )
}

fn code_form(prefill: Option<&str>) -> Markup {
    html! {
        form method="get" action="/device" {
            label for="user_code" { "Code shown on your device" }
            input id="user_code" type="text" name="user_code" autocomplete="off"
                autocapitalize="characters" spellcheck="false" placeholder="XXXX-XXXX" required
                value=(prefill.unwrap_or_default());
            button type="submit" { "Continue" }
        }
    }
}

/// Asks for the user code; `error` explains why the previous one was not accepted.
pub(crate) fn enter_code_page(
    status: StatusCode,
    username: &str,
    error: Option<&str>,
    prefill: Option<&str>,
) -> Response {
    page(
        status,
        layout(
            "Connect a device",
            html! {
                h1 { "Connect a device" }
                p.muted { "Signed in as " strong { (username) } "." }
                @if let Some(message) = error {
                    p.error role="alert" { (message) }
                }
                (code_form(prefill))
            },
        ),
    )
}

/// What the confirmation page shows.
#[derive(Debug, Clone)]
pub(crate) struct DeviceConfirmView<'a> {
    /// Client display name (falls back to the id).
    pub client_name: &'a str,
    /// Client id.
    pub client_id: &'a str,
    /// Requested scope tokens.
    pub scopes: Vec<&'a str>,
    /// The signed-in user's name.
    pub username: &'a str,
    /// The user code in display form.
    pub user_code: &'a str,
    /// CSRF token of the session.
    pub csrf: &'a str,
}

/// Shows who asks for what, with Allow and Deny buttons posting to `/device`.
pub(crate) fn confirm_page(view: &DeviceConfirmView<'_>) -> Response {
    page(
        StatusCode::OK,
        layout(
            "Allow device access",
            html! {
                h1 { (view.client_name) " on a device wants to access your account" }
                p.muted { "Signed in as " strong { (view.username) } ". Client id: " code { (view.client_id) } }
                p { "Only continue if your device shows the code " strong { code { (view.user_code) } } "." }
                @if view.scopes.is_empty() {
                    p { "It asks for no particular permission." }
                } @else {
                    p { "It asks to:" }
                    ul.scopes {
                        @for s in &view.scopes {
                            li { (describe(s)) }
                        }
                    }
                }
                form method="post" action="/device" {
                    input type="hidden" name="csrf" value=(view.csrf);
                    input type="hidden" name="user_code" value=(view.user_code);
                    div.row {
                        button type="submit" name="decision" value="allow" { "Allow" }
                        button type="submit" name="decision" value="deny" { "Deny" }
                    }
                }
            },
        ),
    )
}

/// The closing page after a decision.
pub(crate) fn done_page(approved: bool) -> Response {
    page(
        StatusCode::OK,
        layout(
            "Device",
            html! {
                @if approved {
                    h1 { "Device connected" }
                    p { "You can return to your device; it will continue by itself." }
                } @else {
                    h1 { "Access denied" }
                    p { "The device was not given access. You can close this window." }
                }
            },
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    async fn body(r: Response) -> String {
        String::from_utf8(to_bytes(r.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn ui_5_confirm_page_names_client_scopes_and_code() {
        use axum::Router;
        use axum::body::Body;
        use axum::http::Request;
        use axum::routing::get;
        use tower::ServiceExt;

        let router = crate::ui::with_security_headers(Router::new().route(
            "/device",
            get(|| async {
                confirm_page(&DeviceConfirmView {
                    client_name: "Living-room TV",
                    client_id: "tv",
                    scopes: vec!["openid", "orders:read"],
                    username: "alice",
                    user_code: "WDJB-MJHT",
                    csrf: "tok",
                })
            }),
        ));
        let request = Request::get("/device").body(Body::empty()).unwrap();
        let r = router.oneshot(request).await.unwrap();
        assert_eq!(r.headers()["x-frame-options"], "DENY");
        let html = body(r).await;
        assert!(html.contains("Living-room TV"));
        assert!(html.contains("WDJB-MJHT"));
        assert!(html.contains("orders:read"));
        assert!(html.contains("name=\"csrf\" value=\"tok\""));
    }

    #[tokio::test]
    async fn markup_is_escaped() {
        let html = body(enter_code_page(
            StatusCode::BAD_REQUEST,
            "<b>",
            Some("bad"),
            Some("\"><script>"),
        ))
        .await;
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<b>"));
    }
}
