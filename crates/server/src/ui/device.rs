//! The device pages (RFC 8628 §3.3): sign in, enter the code shown on the device, see which
//! application asks for which scopes and approve or deny, then a closing page.

use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::consent::{decision_buttons, scope_list, who_and_which};
use super::login::{SignInFailure, failure_message, password_form};
use super::{Msg, layout, page, t, tf};

/// The sign-in form of the device page (posts to `/device/login`).
pub(crate) fn signin_page(
    csrf: &str,
    user_code: Option<&str>,
    failure: Option<SignInFailure>,
) -> Response {
    let hidden: Vec<(&str, &str)> = user_code.map(|c| ("user_code", c)).into_iter().collect();
    page(
        StatusCode::OK,
        layout(
            t(Msg::DeviceTitle),
            html! {
                h1 { (t(Msg::DeviceTitle)) }
                p.muted { (t(Msg::DeviceSignInFirst)) }
                @if let Some(failure) = failure {
                    (failure_message(failure))
                }
                (password_form("/device/login", csrf, &hidden, None))
            },
        ),
    )
}

fn code_form(prefill: Option<&str>) -> Markup {
    html! {
        form method="get" action="/device" {
            label for="user_code" { (t(Msg::DeviceCodeLabel)) }
            input id="user_code" type="text" name="user_code" autocomplete="off"
                autocapitalize="characters" spellcheck="false" placeholder="XXXX-XXXX" required
                value=(prefill.unwrap_or_default());
            button type="submit" { (t(Msg::DeviceContinue)) }
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
            t(Msg::DeviceTitle),
            html! {
                h1 { (t(Msg::DeviceTitle)) }
                p.muted { (tf(Msg::DeviceSignedIn, &[("user", html! { strong { (username) } })])) }
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
            t(Msg::DeviceConfirmTitle),
            html! {
                h1 { (tf(Msg::DeviceConfirmHeading, &[("client", html! { (view.client_name) })])) }
                (who_and_which(Msg::DeviceSignedIn, view.username, view.client_id))
                p { (tf(Msg::DeviceCheckCode, &[("code", html! { strong { code { (view.user_code) } } })])) }
                @if view.scopes.is_empty() {
                    p { (t(Msg::DeviceNoScopes)) }
                } @else {
                    (scope_list(&view.scopes))
                }
                form method="post" action="/device" {
                    input type="hidden" name="csrf" value=(view.csrf);
                    input type="hidden" name="user_code" value=(view.user_code);
                    (decision_buttons())
                }
            },
        ),
    )
}

/// The closing page after a decision.
pub(crate) fn done_page(approved: bool) -> Response {
    let (heading, text) = if approved {
        (Msg::DeviceConnected, Msg::DeviceConnectedText)
    } else {
        (Msg::DeviceDenied, Msg::DeviceDeniedText)
    };
    page(
        StatusCode::OK,
        layout(
            t(Msg::DeviceDoneTitle),
            html! {
                h1 { (t(heading)) }
                p { (t(text)) }
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
