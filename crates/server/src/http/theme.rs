//! `GET /assets/theme/{theme}/{version}/{file}`: a theme's stylesheet and logo, from memory. The
//! path only selects among the assets loaded at start (no file is opened, so no path can reach
//! outside the theme); the version in it is a digest of the assets, so they are cached for a
//! year and a changed theme gets new paths.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// What a theme asset answers besides its bytes: it may be cached for good, is never sniffed as
/// another type, and, should an SVG logo be opened as a document, runs nothing.
const ASSET_HEADERS: [(header::HeaderName, &str); 3] = [
    (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    ),
];

/// `GET /assets/theme/{theme}/{version}/{file}`.
pub(crate) async fn asset(
    State(state): State<Arc<AppState>>,
    Path((theme, version, file)): Path<(String, String, String)>,
) -> Response {
    let Some((content_type, bytes)) = state
        .config
        .themes
        .by_path_name(&theme)
        .and_then(|t| t.asset(&version, &file))
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = ([(header::CONTENT_TYPE, content_type)], bytes.to_vec()).into_response();
    for (name, value) in ASSET_HEADERS {
        response
            .headers_mut()
            .insert(name, header::HeaderValue::from_static(value));
    }
    response
}
