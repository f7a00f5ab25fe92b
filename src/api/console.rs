//! The browser console at `/console/`: a few static files (`console/` at the repository root)
//! embedded in the binary, served without authentication (the page signs its own API calls, see
//! `console/sign.js`). Nothing is fetched from elsewhere: every answer carries a
//! Content-Security-Policy that admits only this origin and no inline script or style.
//!
//! These paths are not API routes: they are not in `api::routes::ROUTES` (nor in the OpenAPI
//! document), and `GET /{version}` does not take `/console`, since a literal path wins over a
//! parameter.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::error::{ApiError, ErrorCode};

/// Own origin only, nothing inline, no framing, no `<base>`.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

/// One embedded file: its name under `/console/`, its Content-Type and its bytes.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

/// Every file the console serves; `index.html` is also `/console/`.
pub const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../../console/index.html"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../console/app.js"),
    },
    Asset {
        name: "sign.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../console/sign.js"),
    },
    Asset {
        name: "style.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../console/style.css"),
    },
];

/// The console's routes, for `api::router` to merge before its fallback.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/console", get(redirect))
        .route("/console/", get(index))
        .route("/console/{*file}", get(file))
}

/// The headers of every console answer, its 404s and redirect included.
fn security_headers(headers: &mut HeaderMap) {
    let fixed: [(HeaderName, &'static str); 4] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

fn with_security_headers(mut res: Response) -> Response {
    security_headers(res.headers_mut());
    res
}

/// `GET /console`: the page lives at `/console/`, so that its relative links resolve there.
async fn redirect() -> Response {
    with_security_headers(
        (
            StatusCode::MOVED_PERMANENTLY,
            [(header::LOCATION, "/console/")],
        )
            .into_response(),
    )
}

async fn index() -> Response {
    serve("index.html")
}

async fn file(Path(name): Path<String>) -> Response {
    serve(&name)
}

/// The named asset, or a 404 (with the API's error body) for any other name.
fn serve(name: &str) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return with_security_headers(
            ApiError::with(ErrorCode::NotFound, "No such console file.").into_response(),
        );
    };
    let mut res = asset.body.into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    // The files change with the binary: revalidate every time rather than keep a stale page.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    with_security_headers(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Routing itself (which path reaches which handler) is tested over HTTP in
    // tests/api/console.rs; here, what each handler answers.

    fn header<'a>(res: &'a Response, name: &str) -> &'a str {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header"))
    }

    fn assert_security_headers(res: &Response) {
        assert_eq!(
            header(res, "content-security-policy"),
            CONTENT_SECURITY_POLICY
        );
        assert_eq!(header(res, "x-content-type-options"), "nosniff");
        assert_eq!(header(res, "referrer-policy"), "no-referrer");
    }

    #[tokio::test]
    async fn every_asset_has_its_type_and_the_security_headers() {
        let index = index().await;
        assert_eq!(header(&index, "content-type"), "text/html; charset=utf-8");
        assert_security_headers(&index);
        for (name, kind) in [
            ("index.html", "text/html; charset=utf-8"),
            ("app.js", "text/javascript; charset=utf-8"),
            ("sign.js", "text/javascript; charset=utf-8"),
            ("style.css", "text/css; charset=utf-8"),
        ] {
            let res = file(Path(name.to_owned())).await;
            assert_eq!(res.status(), StatusCode::OK, "{name}");
            assert_eq!(header(&res, "content-type"), kind, "{name}");
            assert_eq!(header(&res, "cache-control"), "no-cache", "{name}");
            assert_security_headers(&res);
        }
    }

    #[tokio::test]
    async fn the_bare_path_redirects_and_unknown_files_are_404() {
        let res = redirect().await;
        assert_eq!(res.status(), StatusCode::MOVED_PERMANENTLY);
        assert_eq!(header(&res, "location"), "/console/");
        assert_security_headers(&res);
        for name in ["nope", "a/app.js", "../app.js", "", "APP.JS"] {
            let res = file(Path(name.to_owned())).await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{name}");
            assert_security_headers(&res);
        }
    }

    #[test]
    fn the_policy_admits_only_this_origin_and_nothing_inline() {
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
        assert!(!CONTENT_SECURITY_POLICY.contains("http"));
        assert!(CONTENT_SECURITY_POLICY.contains("default-src 'none'"));
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
    }

    /// The CSP forbids inline code, so the page must hold none: no `<script>` without `src`, no
    /// `<style>`, no `style=` or `on...=` attributes.
    #[test]
    fn the_page_holds_no_inline_script_or_style() {
        let html = std::str::from_utf8(ASSETS[0].body).expect("UTF-8");
        let lower = html.to_ascii_lowercase();
        assert!(!lower.contains("<style"), "inline <style>");
        assert!(!lower.contains(" style="), "style= attribute");
        assert!(!lower.contains(" onclick=") && !lower.contains(" onload="));
        for (i, _) in lower.match_indices("<script") {
            let tag_end = lower[i..].find('>').map_or(lower.len(), |e| i + e);
            assert!(lower[i..tag_end].contains(" src="), "inline <script>");
        }
    }
}
