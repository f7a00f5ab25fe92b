//! The HTTP layer: the router with every VPCEP path (implemented or answering 501), the
//! middleware that every request passes, and one module per resource.

mod backends;
mod connections;
mod console;
mod dispatch;
mod endpoints;
pub mod error;
mod extract;
mod faults;
mod iam;
mod openapi;
mod permissions;
mod quotas;
mod render;
mod reset;
pub mod routes;
mod services;
mod state;
mod tags;
mod validate;
mod versions;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use tokio::sync::Semaphore;
use tracing::Instrument;

use error::{ApiError, ErrorCode};
use extract::AcceptsJson;
pub use state::AppState;

/// The detail views of resources, for the command line (`vpcep inject` prints what it changed).
pub mod render_for_cli {
    use serde_json::Value;

    use super::render::{self, EndpointView, ServiceView};
    use crate::domain::{Endpoint, EndpointService};

    pub fn endpoint(e: &Endpoint) -> Value {
        render::endpoint(e, EndpointView::Detail)
    }

    pub fn public_service(s: &EndpointService) -> Value {
        render::public_service(s)
    }

    pub fn service(s: &EndpointService) -> Value {
        render::service(s, ServiceView::Detail)
    }

    pub fn reset(n: crate::store::ResetCounts) -> Value {
        render::reset(n)
    }

    pub fn backend(b: &crate::domain::route::Backend) -> Value {
        render::backend(b)
    }
}

/// The whole application as a router, built from the route table.
pub fn router(state: AppState) -> Router {
    let in_flight = Arc::new(Semaphore::new(state.settings.max_in_flight));
    let mut api = Router::new();
    for route in routes::ROUTES {
        let name = route.operation.name();
        // Every log line of the request names the operation (route_layer: not on 404/405).
        let handler = dispatch::method_router(route)
            .route_layer(middleware::from_fn(name_missing_resource))
            .route_layer(middleware::map_request(move |req: Request| async move {
                tracing::Span::current().record("operation", name);
                req
            }));
        api = api.route(route.path, handler);
    }
    // The browser console's static files: not API routes (no operation, no authentication).
    let api = api
        .merge(console::router())
        .fallback(unknown_route)
        .layer(middleware::map_response(method_not_allowed_body))
        .with_state(state);

    api.layer(middleware::from_fn(move |req, next| {
        limit_in_flight(in_flight.clone(), req, next)
    }))
    .layer(tower_http::catch_panic::CatchPanicLayer::custom(
        |_: Box<dyn std::any::Any + Send>| {
            ApiError::internal(&"a handler panicked").into_response()
        },
    ))
    .layer(middleware::from_fn(request_context))
}

/// `GET /health`: 200 when the database answers, 503 otherwise; no authentication.
pub(crate) async fn health(_: AcceptsJson, State(state): State<AppState>) -> Response {
    match state.db(state.store.health()).await {
        Ok(()) => Json(serde_json::json!({"status": "ok"})).into_response(),
        Err(_) => {
            let mut res = (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "unavailable"})),
            )
                .into_response();
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            res
        }
    }
}

/// `http://<Host>` as the client addressed this server, for the links in answers.
pub(crate) fn base_url(headers: &axum::http::HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// A 404 `EndPoint.0005` without specifics is about the resource the path names: say which, so
/// that a client sees whether its service or its endpoint id is wrong. The ids were checked for
/// syntax before any handler ran (1..64 of `[0-9A-Za-z-]`), so they are safe to repeat.
async fn name_missing_resource(req: Request, next: Next) -> Response {
    // Only the cheap handles are kept (the route's template and the URI share their buffers);
    // the ids are read from them only for a generic 404, not on every request.
    let template = req.extensions().get::<MatchedPath>().cloned();
    let uri = req.uri().clone();
    let res = next.run(req).await;
    let generic_404 = res
        .extensions()
        .get::<error::Sent>()
        .is_some_and(|s| s.code == ErrorCode::NotFound && s.generic);
    let Some(template) = template.filter(|_| generic_404) else {
        return res;
    };
    // The template's `{name}` segments stand where the path's id segments are.
    let id = |name: &str| {
        let placeholder = format!("{{{name}}}");
        template
            .as_str()
            .split('/')
            .zip(uri.path().split('/'))
            .find(|(t, _)| *t == placeholder)
            .map(|(_, v)| v.to_ascii_lowercase())
    };
    let detail = match (
        id("vpc_endpoint_id"),
        id("vpc_endpoint_service_id"),
        id("permission_id"),
    ) {
        (Some(endpoint), _, _) => format!("No endpoint {endpoint} in this project."),
        (None, Some(service), Some(permission)) => format!(
            "No whitelist record {permission} of endpoint service {service} in this project."
        ),
        (None, Some(service), None) => format!("No endpoint service {service} in this project."),
        (None, None, _) => return res,
    };
    let close = res.headers().get(header::CONNECTION).cloned();
    let mut named = ApiError::with(ErrorCode::NotFound, detail).into_response();
    if let Some(close) = close {
        named.headers_mut().insert(header::CONNECTION, close);
    }
    named
}

async fn unknown_route() -> ApiError {
    ApiError::with(ErrorCode::NotFound, "No such route.")
}

/// axum answers a known path with an unsupported method by a bare 405 with `Allow`; give it our
/// body, keeping the header.
async fn method_not_allowed_body(res: Response) -> Response {
    if res.status() != StatusCode::METHOD_NOT_ALLOWED
        || res.headers().contains_key(header::CONTENT_TYPE)
    {
        return res;
    }
    let mut err = ApiError::with(
        ErrorCode::ParameterError,
        "The method is not allowed for this path.",
    )
    .status(StatusCode::METHOD_NOT_ALLOWED);
    err.allow = res.headers().get(header::ALLOW).cloned();
    err.into_response()
}

/// Whether one `Accept` header value admits JSON: `application/json`, `application/*`, `*/*`
/// (not with `q=0`), or an empty value.
pub(crate) fn accepts_json(accept: &str) -> bool {
    if accept.trim().is_empty() {
        return true;
    }
    accept.split(',').any(|range| {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            let p = p.trim();
            p.strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        !refused && matches!(media.as_str(), "application/json" | "application/*" | "*/*")
    })
}

/// 503 with `Retry-After` at once when `--max-in-flight` requests are already being served.
async fn limit_in_flight(limit: Arc<Semaphore>, req: Request, next: Next) -> Response {
    match limit.try_acquire_owned() {
        Ok(_permit) => next.run(req).await,
        Err(_) => {
            ApiError::unavailable("Too many requests in flight; retry later.").into_response()
        }
    }
}

/// Gives each request an id (sent back as `X-Request-Id`, also on errors) and a span that every
/// log line of the request carries, and logs one line per request.
async fn request_context(req: Request, next: Next) -> Response {
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let method = req.method().clone();
    let span = tracing::info_span!(
        "request",
        id = %request_id,
        method = %method,
        path = %req.uri().path(),
        operation = tracing::field::Empty,
        access_key = tracing::field::Empty,
    );
    let started = Instant::now();
    let mut res = next.run(req).instrument(span.clone()).await;
    let status = res.status();
    span.in_scope(|| {
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        // Successes are debug-level (VPCEP_LOG=debug shows every request): at tens of
        // thousands of requests a second, an info line each costs about a tenth of the
        // throughput. Refusals are info, failures warn, both with the code and message sent.
        let sent = res.extensions().get::<error::Sent>();
        let code = sent.map(|s| s.code.as_str());
        let message = sent.map(|s| s.message.as_str());
        if status.is_server_error() {
            tracing::warn!(
                status = status.as_u16(),
                ms,
                code,
                message,
                "request failed"
            );
        } else if status.is_client_error() {
            tracing::info!(
                status = status.as_u16(),
                ms,
                code,
                message,
                "request refused"
            );
        } else {
            tracing::debug!(status = status.as_u16(), ms, "request");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}

#[cfg(test)]
mod tests {
    #[test]
    fn accept_header_rules() {
        for ok in [
            "",
            "application/json",
            "*/*",
            "application/*",
            "text/html, application/json;q=0.9",
            "Application/JSON; charset=utf-8",
        ] {
            assert!(super::accepts_json(ok), "{ok:?}");
        }
        for refused in [
            "text/html",
            "application/xml",
            "application/json;q=0",
            "text/*",
        ] {
            assert!(!super::accepts_json(refused), "{refused:?}");
        }
    }
}
