//! The OpenAPI 3.0 document of vpcep, generated from the route table (`routes::ROUTES`) so that
//! every routed operation is documented and nothing else is.

use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use super::routes::{Operation, ROUTES};

/// The document, built on first use.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build)
}

fn build() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let item = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        if let Value::Object(item) = item {
            item.insert(
                route.method.to_ascii_lowercase(),
                operation(route.operation, route.path),
            );
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "vpcep", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "token": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"},
            },
        },
    })
}

fn operation(op: Operation, path: &str) -> Value {
    let params: Vec<Value> = path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    let mut o = json!({
        "operationId": op.name(),
        "parameters": params,
        "responses": {"default": {"description": "see the vpcep API contract"}},
    });
    if op.authenticated() {
        o["security"] = json!([{"token": []}]);
    }
    if !op.implemented() {
        o["x-vpcep-not-implemented"] = json!(true);
    }
    o
}
