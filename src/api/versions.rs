//! ListVersionDetails (`GET /`) and ListSpecifiedVersionDetails (`GET /{version}`): no
//! authentication. vpcep serves v1 only.

use axum::http::{HeaderMap, Uri};
use axum::Json;
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::AcceptsJson;

fn v1(headers: &HeaderMap) -> Value {
    let base = super::base_url(headers);
    json!({
        "id": "v1",
        "status": "CURRENT",
        "updated": "2018-09-30T00:00:00Z",
        "version": "1",
        "min_version": "",
        "links": [{"href": format!("{base}/v1"), "type": "application/json", "rel": "self"}],
    })
}

/// `GET /`
pub async fn list_version_details(_: AcceptsJson, headers: HeaderMap) -> Json<Value> {
    Json(json!({"versions": [v1(&headers)]}))
}

/// `GET /{version}`: 404 for any version but `v1`. Read from the raw path rather than a decoded
/// path parameter, whose rejection (e.g. for `/%FF`) would be axum's plain text.
pub async fn list_specified_version_details(
    _: AcceptsJson,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    if uri.path() == "/v1" {
        Ok(Json(json!({"version": v1(&headers)})))
    } else {
        Err(ApiError::not_found())
    }
}
