//! The browser console over HTTP: `/console/` is an HTML page with a Content-Security-Policy of
//! its own origin only, its script and style are served with their types, nothing it serves
//! names another origin, and unknown files are 404. No authentication: the page signs its own
//! API calls. (The page itself is tested in Chromium by tests/browser/.)

use reqwest::Method;

use crate::support::*;

const ASSETS: [(&str, &str); 4] = [
    ("/console/", "text/html; charset=utf-8"),
    ("/console/app.js", "text/javascript; charset=utf-8"),
    ("/console/sign.js", "text/javascript; charset=utf-8"),
    ("/console/style.css", "text/css; charset=utf-8"),
];

#[track_caller]
fn assert_security_headers(r: &Resp, what: &str) {
    let csp = r
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("no CSP on {what}"));
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{what}: {directive} not in {csp}");
    }
    assert!(!csp.contains("unsafe"), "{what}: {csp}");
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{what}");
}

/// A URL of another origin in a served file: `http://`, `https://`, or a protocol-relative
/// `//host` where a URL starts (after a quote, `(` or `=`; a JavaScript comment is not one).
fn foreign_urls(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lower = text.to_ascii_lowercase();
    for scheme in ["http://", "https://"] {
        for (i, _) in lower.match_indices(scheme) {
            found.push(text[i..].chars().take(60).collect());
        }
    }
    for (i, _) in lower.match_indices("//") {
        let before = lower[..i].chars().last();
        let after = lower[i + 2..].chars().next();
        if matches!(before, Some('"' | '\'' | '`' | '(' | '='))
            && after.is_some_and(|c| c.is_ascii_alphanumeric())
        {
            found.push(text[i.saturating_sub(1)..].chars().take(60).collect());
        }
    }
    found
}

#[test]
fn the_check_for_foreign_urls_finds_them() {
    assert!(foreign_urls("// a comment\nconst x = 1; // another").is_empty());
    assert!(foreign_urls("fetch(`${path}?${qs}`)").is_empty());
    for bad in [
        "<script src=\"https://cdn.example/x.js\">",
        "@import url(//fonts.example/css);",
        "<img src='//evil.example/p.png'>",
        "fetch(\"HTTP://x\")",
    ] {
        assert!(!foreign_urls(bad).is_empty(), "{bad}");
    }
}

#[tokio::test]
async fn the_console_is_served_with_its_types_and_a_csp_of_its_own_origin() {
    let app = TestApp::spawn();
    for (path, content_type) in ASSETS {
        // No credential: the console's files need none.
        let r = app.plain(Method::GET, path, None).await;
        r.assert_status(200);
        assert_eq!(r.header("content-type"), Some(content_type), "{path}");
        assert!(
            r.header("cache-control").is_some(),
            "{path}: no Cache-Control"
        );
        assert_security_headers(&r, path);
        let urls = foreign_urls(&r.text);
        assert!(urls.is_empty(), "{path} names another origin: {urls:?}");
    }
    let page = app.plain(Method::GET, "/console/", None).await;
    assert!(page.text.starts_with("<!doctype html>"), "{}", page.text);
    for asset in ["src=\"app.js\"", "href=\"style.css\""] {
        assert!(page.text.contains(asset), "the page does not load {asset}");
    }
    // The CSP forbids inline code: none in the page.
    let lower = page.text.to_ascii_lowercase();
    assert!(!lower.contains("<style") && !lower.contains(" style="));
    assert!(!lower.contains("<script>") && !lower.contains(" onclick="));
}

#[tokio::test]
async fn console_redirects_to_the_page_and_unknown_files_are_404() {
    let app = TestApp::spawn();
    // Not taken by `GET /{version}` (which would answer 404 for an unknown version).
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = Resp::from_reqwest(
        client
            .get(app.url("/console"))
            .send()
            .await
            .expect("GET /console"),
    )
    .await;
    r.assert_status(301);
    assert_eq!(r.header("location"), Some("/console/"));
    assert_security_headers(&r, "/console");

    for path in ["/console/nope", "/console/app.js/x", "/console/index.htm"] {
        let r = app.plain(Method::GET, path, None).await;
        r.assert_error(404, "EndPoint.0005");
        assert_security_headers(&r, path);
    }
    // The versions are still there.
    app.plain(Method::GET, "/v1", None).await.assert_status(200);
    // A method the files do not take.
    app.plain(Method::POST, "/console/", None)
        .await
        .assert_status(405);
}
