//! What every page is rendered with besides its own data: the language and the theme. They are
//! decided once per request by [`resolve`], the middleware of the pages router, and read by
//! [`super::layout`] and [`super::t`] while the handler runs, so a page (new ones included)
//! needs nothing beyond using them.
//!
//! The language comes from OIDC's `ui_locales`, then `Accept-Language`, then English; the
//! theme is the one the client names, else the deployment's. Both `ui_locales` and `client_id`
//! are read from the page's query or form, or from the pending authorization request it carries
//! in `request`, which is how they survive from `/authorize` to the login and consent pages.

use std::sync::{Arc, LazyLock};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::domain::params::Params;
use crate::http::extract::form::is_form;
use crate::i18n::Locale;
use crate::state::AppState;
use crate::theme::Theme;

/// The language and theme of the page being rendered.
#[derive(Debug, Clone)]
pub(crate) struct PageContext {
    /// The page language.
    pub(crate) locale: Locale,
    /// The page theme.
    pub(crate) theme: Arc<Theme>,
}

tokio::task_local! {
    static CURRENT: PageContext;
}

static BUILT_IN: LazyLock<Arc<Theme>> = LazyLock::new(|| Arc::new(Theme::built_in()));

impl Default for PageContext {
    /// English and the built-in theme (a page rendered outside the pages router, in tests).
    fn default() -> Self {
        Self {
            locale: Locale::ENGLISH,
            theme: Arc::clone(&BUILT_IN),
        }
    }
}

impl PageContext {
    /// The context of the page being rendered.
    pub(crate) fn current() -> Self {
        CURRENT.try_with(Clone::clone).unwrap_or_default()
    }

    /// The language of the page being rendered.
    pub(crate) fn locale() -> Locale {
        CURRENT.try_with(|c| c.locale).unwrap_or_default()
    }

    /// This context with the theme `client_theme` names, else the deployment's: for a page whose
    /// client is known only once the handler has checked the request (a device's user code).
    pub(crate) fn with_client_theme(self, state: &AppState, client_theme: Option<&str>) -> Self {
        Self {
            theme: Arc::clone(state.config.themes.for_client(client_theme)),
            ..self
        }
    }

    /// Renders a page (`f`) with this context.
    pub(crate) fn render<R>(self, f: impl FnOnce() -> R) -> R {
        CURRENT.sync_scope(self, f)
    }

    /// Runs `f` (a handler) with this context.
    pub(crate) async fn scope<F: Future>(self, f: F) -> F::Output {
        CURRENT.scope(self, f).await
    }
}

/// What a page request says about its language and client.
#[derive(Debug, Default)]
struct Hints {
    ui_locales: Option<String>,
    client_id: Option<String>,
}

impl Hints {
    /// Reads the hints from `params`, or from the authorization request in its `request`.
    fn read(&mut self, params: &Params) {
        let pending = params.get("request").map(|r| Params::parse(r.as_bytes()));
        for p in std::iter::once(params).chain(pending.as_ref()) {
            if self.ui_locales.is_none() {
                self.ui_locales = p.get("ui_locales").map(str::to_owned);
            }
            if self.client_id.is_none() {
                self.client_id = p.get("client_id").map(str::to_owned);
            }
        }
    }
}

/// The pages router's middleware: decides the page context and runs the handler with it. A form
/// body is read here (within the body limit) to find the hints, and handed on unchanged.
pub(crate) async fn resolve(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let mut hints = Hints::default();
    hints.read(&Params::parse(
        request.uri().query().unwrap_or_default().as_bytes(),
    ));
    let request = if is_form(request.headers()) {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, state.config.max_body_bytes).await else {
            return StatusCode::PAYLOAD_TOO_LARGE.into_response();
        };
        hints.read(&Params::parse(&bytes));
        Request::from_parts(parts, Body::from(bytes))
    } else {
        request
    };
    let accept_language = request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let locale = Locale::negotiate(hints.ui_locales.as_deref(), accept_language);
    let client_theme = match hints.client_id.as_deref() {
        Some(id) => state
            .client(id)
            .await
            .ok()
            .flatten()
            .and_then(|c| c.theme.clone()),
        None => None,
    };
    let theme = Arc::clone(state.config.themes.for_client(client_theme.as_deref()));
    let mut response = PageContext { locale, theme }.scope(next.run(request)).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(locale.tag()),
    );
    headers.append(header::VARY, HeaderValue::from_static("Accept-Language"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_come_from_the_page_or_its_pending_request() {
        let mut h = Hints::default();
        h.read(&Params::parse(
            b"request=client_id%3Dweb%26ui_locales%3Dko%2520en&failed=1",
        ));
        assert_eq!(h.ui_locales.as_deref(), Some("ko en"));
        assert_eq!(h.client_id.as_deref(), Some("web"));
        let mut h = Hints::default();
        h.read(&Params::parse(
            b"ui_locales=zh-TW&client_id=a&request=client_id%3Db%26ui_locales%3Dko",
        ));
        assert_eq!(h.ui_locales.as_deref(), Some("zh-TW"));
        assert_eq!(h.client_id.as_deref(), Some("a"));
    }

    #[test]
    fn outside_a_page_the_context_is_english_and_built_in() {
        let c = PageContext::current();
        assert_eq!(c.locale, Locale::ENGLISH);
        assert_eq!(c.theme.product_name(), "Portcullis");
    }
}
