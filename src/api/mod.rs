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
pub mod metrics;
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

use crate::metrics::OperationMetrics;
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

/// The whole application as a router, built from the route table; with `metrics`, `GET /metrics`
/// is served here too (not when it has a listen address of its own).
pub fn router(state: AppState, metrics: Option<metrics::Exporter>) -> Router {
    let mut api = Router::new();
    for route in routes::ROUTES {
        let name = route.operation.name();
        let counted = Arc::new(OperationMetrics::new(name));
        let in_flight = state.in_flight.clone();
        // Every log line of the request names the operation, the metrics count it, and the
        // in-flight limit applies (route_layer: not on 404/405).
        let handler = dispatch::method_router(route)
            .route_layer(middleware::from_fn(name_missing_resource))
            .route_layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
            .route_layer(middleware::from_fn(move |req, next| {
                per_route(counted.clone(), in_flight.clone(), req, next)
            }));
        api = api.route(route.path, handler);
    }
    // The browser console's static files: not API routes (no authentication).
    let mut app = api
        .merge(named(console::router(), "Console"))
        .fallback(unknown_route)
        .layer(middleware::map_response(method_not_allowed_body))
        .with_state(state);
    if let Some(exporter) = metrics {
        app = app.merge(named(metrics::router(exporter), "Metrics"));
    }
    let unrouted = Arc::new(OperationMetrics::new("unrouted"));
    app.layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .layer(middleware::from_fn(move |req, next| {
            request_context(unrouted.clone(), req, next)
        }))
}

/// Routes outside the route table under one name, for their log lines and metrics.
fn named<S: Clone + Send + Sync + 'static>(router: Router<S>, name: &'static str) -> Router<S> {
    let counted = Arc::new(OperationMetrics::new(name));
    router.layer(middleware::map_response(move |mut res: Response| {
        let counted = counted.clone();
        async move {
            tracing::Span::current().record("operation", name);
            res.extensions_mut().insert(counted);
            res
        }
    }))
}

/// A handler's panic, as the client sees it: a 500 (the cause is logged with the request id).
fn panicked(_: Box<dyn std::any::Any + Send>) -> Response {
    ApiError::internal(&"a handler panicked").into_response()
}

/// What every routed request passes: its span names the operation, `--max-in-flight` may refuse
/// it (503 with `Retry-After`, at once), and the answer carries the operation's metrics, which
/// `request_context` records.
async fn per_route(
    counted: Arc<OperationMetrics>,
    limit: Arc<Semaphore>,
    req: Request,
    next: Next,
) -> Response {
    tracing::Span::current().record("operation", counted.name());
    let mut res = match limit.try_acquire_owned() {
        Ok(_permit) => next.run(req).await,
        Err(_) => ApiError::unavailable(
            error::Refusal::InFlightLimit,
            "Too many requests in flight; retry later.",
        )
        .into_response(),
    };
    res.extensions_mut().insert(counted);
    res
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

/// Gives each request an id (sent back as `X-Request-Id`, also on errors) and a span that every
/// log line of the request carries, and logs one line per request.
async fn request_context(unrouted: Arc<OperationMetrics>, req: Request, next: Next) -> Response {
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let method = req.method().clone();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        path = %req.uri().path(),
        operation = tracing::field::Empty,
        access_key = tracing::field::Empty,
    );
    let started = Instant::now();
    let mut res = next.run(req).instrument(span.clone()).await;
    let status = res.status();
    let elapsed = started.elapsed();
    record_metrics(&res, &unrouted, elapsed);
    span.in_scope(|| {
        let duration_ms = elapsed.as_secs_f64() * 1000.0;
        // Successes are debug-level (VPCEP_LOG=debug shows every request): at tens of
        // thousands of requests a second, an info line each costs about a tenth of the
        // throughput. Refusals are info, failures warn, both with the code and message sent.
        let sent = res.extensions().get::<error::Sent>();
        // Named as in the answer's body: a field called `message` would clash with the event's
        // own message (two `message` keys in one JSON log object).
        let error_code = sent.map(|s| s.code.as_str());
        let error_msg = sent.map(|s| s.message.as_str());
        if status.is_server_error() {
            tracing::warn!(
                status = status.as_u16(),
                duration_ms,
                error_code,
                error_msg,
                "request failed"
            );
        } else if status.is_client_error() {
            tracing::info!(
                status = status.as_u16(),
                duration_ms,
                error_code,
                error_msg,
                "request refused"
            );
        } else {
            tracing::debug!(status = status.as_u16(), duration_ms, "request");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}

/// Counts the request and its duration by operation (`unrouted`: no route matched, or the method
/// is not allowed), and a refusal by its reason.
fn record_metrics(res: &Response, unrouted: &OperationMetrics, elapsed: std::time::Duration) {
    let counted = res.extensions().get::<Arc<OperationMetrics>>();
    counted
        .map_or(unrouted, |c| c.as_ref())
        .record(res.status().as_u16(), elapsed);
    if let Some(refusal) = res
        .extensions()
        .get::<error::Sent>()
        .and_then(|s| s.refusal)
    {
        ::metrics::counter!(crate::metrics::HTTP_REFUSALS, "reason" => refusal.as_str())
            .increment(1);
    }
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
