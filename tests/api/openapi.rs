//! The OpenAPI document (`GET /openapi.json`) against the route table and the running server:
//! every route is documented and every documented operation is routed, the document equals its
//! snapshot, each operation documents the errors it produces, and the document is structurally
//! valid OpenAPI 3.0. `scripts/schemathesis.sh` fuzzes the server against the same document.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use vpcep::api::routes::{Operation, ROUTES};

use crate::support::*;

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
const SNAPSHOT: &str = "tests/data/openapi.snapshot.json";
/// A well-formed project id that no credential of the test owns.
const OTHER_PROJECT: &str = "0123456789abcdef0123456789abcdef";
const SHORT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Reading the document
// ---------------------------------------------------------------------------------------------

async fn served(app: &TestApp) -> Value {
    let r = Resp::from_reqwest(
        app.client
            .get(app.url("/openapi.json"))
            .send()
            .await
            .expect("GET /openapi.json"),
    )
    .await;
    r.ok().clone()
}

/// One documented operation.
#[derive(Clone, Debug)]
struct Op {
    /// Upper case, as in the route table.
    method: String,
    path: String,
    op: Value,
}

impl Op {
    fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    fn operation(&self) -> Operation {
        ROUTES
            .iter()
            .find(|r| r.method == self.method && r.path == self.path)
            .unwrap_or_else(|| panic!("{} is not in the route table", self.label()))
            .operation
    }

    fn path_parameters(&self) -> Vec<String> {
        self.path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_owned)
            .collect()
    }

    fn has_body(&self) -> bool {
        self.op.get("requestBody").is_some()
    }

    /// Whether the body may be left out.
    fn body_optional(&self) -> bool {
        self.op["requestBody"]["required"] == false
    }
}

fn operations(doc: &Value) -> Vec<Op> {
    let paths = doc["paths"].as_object().expect("paths is an object");
    let mut out = Vec::new();
    for (path, item) in paths {
        let item = item.as_object().expect("a path item is an object");
        for (key, op) in item {
            if HTTP_METHODS.contains(&key.as_str()) {
                out.push(Op {
                    method: key.to_ascii_uppercase(),
                    path: path.clone(),
                    op: op.clone(),
                });
            }
        }
    }
    out
}

/// The target of a local `$ref` (`#/components/...`).
fn target<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

/// Follows `$ref`s until an object without one.
fn resolve<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..32 {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => v = target(doc, r).unwrap_or_else(|| panic!("unresolvable $ref {r}")),
            None => return v,
        }
    }
    panic!("$ref chain too long at {v}")
}

/// The statuses an operation documents.
fn statuses(op: &Op) -> BTreeSet<String> {
    op.op["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{} has no responses", op.label()))
        .keys()
        .cloned()
        .collect()
}

/// The `error_code` values a response schema names in `enum`s, here or in its `allOf`, `anyOf`
/// and `oneOf` branches (the document names them once per response); `None` when it names none.
fn error_codes(doc: &Value, schema: &Value) -> Option<BTreeSet<String>> {
    let schema = resolve(doc, schema);
    let mut found: Option<BTreeSet<String>> = None;
    if let Some(list) = schema.pointer("/properties/error_code/enum") {
        found = Some(
            list.as_array()
                .expect("an enum is an array")
                .iter()
                .map(|c| c.as_str().expect("codes are strings").to_owned())
                .collect(),
        );
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        for branch in schema[key].as_array().into_iter().flatten() {
            if let Some(codes) = error_codes(doc, branch) {
                found.get_or_insert_with(BTreeSet::new).extend(codes);
            }
        }
    }
    found
}

/// The JSON schema of an operation's response to `status`, from the served document.
fn response_schema<'a>(doc: &'a Value, op: &Op, status: &str) -> Option<&'a Value> {
    let response =
        doc["paths"][&op.path][op.method.to_ascii_lowercase()]["responses"].get(status)?;
    resolve(doc, response).pointer("/content/application~1json/schema")
}

/// Asserts that a response the server gave is documented for the operation: its status, and for
/// an error its `error_code`.
#[track_caller]
fn assert_documented(doc: &Value, op: &Op, what: &str, status: u16, body: &Value) {
    let documented = statuses(op);
    assert!(
        documented.contains(&status.to_string()),
        "{} ({what}) answered {status}, which its document does not list ({documented:?}): {body}",
        op.label()
    );
    if status < 400 {
        return;
    }
    let schema = response_schema(doc, op, &status.to_string())
        .unwrap_or_else(|| panic!("{} documents {status} without a JSON body", op.label()));
    let code = body["error_code"].as_str().unwrap_or_else(|| {
        panic!(
            "{} ({what}) {status} without error_code: {body}",
            op.label()
        )
    });
    if let Some(codes) = error_codes(doc, schema) {
        assert!(
            codes.contains(code),
            "{} ({what}) answered {status} {code}, but documents only {codes:?} for {status}: {body}",
            op.label()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Calling the server
// ---------------------------------------------------------------------------------------------

/// Resources of the test's owner that the documented paths can name.
struct Ids(BTreeMap<String, String>);

impl Ids {
    /// A service (without approval) with one endpoint and one whitelist record.
    async fn create(app: &TestApp) -> Ids {
        let (sid, endpoints) = app.service_with_connections(1).await;
        let r = app
            .call(
                Method::POST,
                &format!("/vpc-endpoint-services/{sid}/permissions/batch-create"),
                Some(&json!({"permissions": [{"permission": "iam:domain::abc", "description": "d"}]})),
            )
            .await;
        let pid = str_of(&r.ok()["permissions"][0]["id"]);
        // A backend registration, so that its DELETE finds one.
        let port_id = uuid();
        let url = app.url(&format!(
            "/_vpcep/v1/{}/backends/{port_id}",
            app.project_id()
        ));
        let r = app
            .client
            .put(url)
            .header("X-Auth-Token", app.token())
            .json(&json!({"address": "127.0.0.1"}))
            .send()
            .await
            .expect("register a backend");
        assert_eq!(r.status(), 200, "register a backend");
        let m = [
            ("project_id", app.project_id().to_owned()),
            ("vpc_endpoint_service_id", sid.clone()),
            ("vpc_endpoint_id", endpoints[0].clone()),
            ("permission_id", pid),
            ("resource_id", sid),
            ("port_id", port_id),
            ("version", "v1".to_owned()),
        ];
        Ids(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    fn get(&self, name: &str) -> &str {
        &self.0[name]
    }

    fn with(&self, name: &str, value: &str) -> Ids {
        let mut m = self.0.clone();
        m.insert(name.to_owned(), value.to_owned());
        Ids(m)
    }

    fn fill(&self, path: &str) -> String {
        path.split('/')
            .map(
                |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => self
                        .0
                        .get(name)
                        .unwrap_or_else(|| panic!("no id for {{{name}}} in {path}"))
                        .clone(),
                    None => seg.to_owned(),
                },
            )
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// Sends one request: the owner's token unless `token` is `None`, a JSON body when given.
async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Resp {
    let method = Method::from_bytes(method.as_bytes()).expect("an HTTP method");
    let mut rb = app.client.request(method, app.url(path));
    if let Some(token) = token {
        rb = rb.header("X-Auth-Token", token);
    }
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    if let Some(body) = body {
        rb = rb
            .header("Content-Type", "application/json")
            .body(body.to_owned());
    }
    Resp::from_reqwest(rb.send().await.expect("send the request")).await
}

/// The body each probe sends to an operation that takes one.
fn probe_body(op: &Op) -> Option<&'static str> {
    op.has_body().then_some("{}")
}

fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(SNAPSHOT)
}

// ---------------------------------------------------------------------------------------------
// (a) The document and the route table
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_route_is_documented_and_nothing_else() {
    let app = TestApp::spawn();
    let doc = served(&app).await;
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|op| (op.method, op.path))
        .collect();
    let routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routes without documentation: {undocumented:?}; documented operations without a route: {unrouted:?}"
    );
    assert_eq!(documented.len(), ROUTES.len(), "a route is listed twice");

    for route in ROUTES {
        let op = &doc["paths"][route.path][route.method.to_ascii_lowercase()];
        let label = format!("{} {}", route.method, route.path);
        assert_eq!(
            op["x-vpcep-operation"],
            route.operation.name(),
            "{label}: x-vpcep-operation"
        );
        assert!(
            op.get("x-vpcep-not-implemented").is_none(),
            "{label}: every operation is implemented"
        );
        // Public operations opt out of the document's security; the others inherit it.
        assert_eq!(
            op.get("security") == Some(&json!([])),
            !route.operation.authenticated(),
            "{label}: security"
        );
    }
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = TestApp::spawn();
    let doc = served(&app).await;
    let ids = Ids::create(&app).await;
    let mut ops = operations(&doc);
    // Deletions last, the endpoint before its service, so every probe names a live resource.
    ops.sort_by_key(|op| match (op.method.as_str(), op.path.as_str()) {
        ("DELETE", p) if p.ends_with("/vpc-endpoints/{vpc_endpoint_id}") => 1,
        ("DELETE", p) if p.ends_with("/vpc-endpoint-services/{vpc_endpoint_service_id}") => 2,
        _ => 0,
    });
    for op in &ops {
        let path = ids.fill(&op.path);
        let r = send(
            &app,
            &op.method,
            &path,
            Some(app.token()),
            &[],
            probe_body(op),
        )
        .await;
        assert!(
            r.status != 404 && r.status != 405,
            "{} ({} {path}) is documented but not routed: {} {}",
            op.label(),
            op.method,
            r.status,
            r.text
        );
        assert_documented(&doc, op, "a probe with live ids", r.status, &r.body);
    }
}

// ---------------------------------------------------------------------------------------------
// (b) The snapshot
// ---------------------------------------------------------------------------------------------

/// The JSON pointers where two documents differ (at most `max`).
fn differences(a: &Value, b: &Value, at: String, out: &mut Vec<String>, max: usize) {
    if out.len() >= max {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                match (x.get(k), y.get(k)) {
                    (Some(v), Some(w)) => differences(v, w, here, out, max),
                    (Some(_), None) => out.push(format!("{here}: only in the served document")),
                    (None, Some(_)) => out.push(format!("{here}: only in the snapshot")),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                differences(v, w, format!("{at}/{i}"), out, max);
            }
        }
        _ if a != b => out.push(format!("{at}: served {a}, snapshot {b}")),
        _ => {}
    }
}

#[tokio::test]
async fn served_document_equals_the_snapshot() {
    let app = TestApp::spawn();
    let doc = served(&app).await;
    let path = snapshot_path();
    let pretty = serde_json::to_string_pretty(&doc).expect("serialize") + "\n";
    if std::env::var("UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        std::fs::write(&path, pretty).expect("write the snapshot");
        // Straight to stderr: the test harness captures `eprintln!` of passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "UPDATE_SNAPSHOTS=1: rewrote {} from the served document",
            path.display()
        );
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}); create it with UPDATE_SNAPSHOTS=1 cargo test --test api openapi",
            path.display()
        )
    });
    let snapshot: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let mut diffs = Vec::new();
    differences(&doc, &snapshot, String::new(), &mut diffs, 20);
    assert!(
        diffs.is_empty(),
        "the served OpenAPI document differs from {SNAPSHOT}:\n  {}\nIf the change is intended, \
         review it and run UPDATE_SNAPSHOTS=1 cargo test --test api openapi",
        diffs.join("\n  ")
    );
    assert_eq!(
        text, pretty,
        "{SNAPSHOT} holds the same document but not in the canonical form; rewrite it with \
         UPDATE_SNAPSHOTS=1 cargo test --test api openapi"
    );
}

// ---------------------------------------------------------------------------------------------
// (c) Error responses
// ---------------------------------------------------------------------------------------------

/// Whether the path names a resource that may be missing.
fn names_a_resource(op: &Op) -> bool {
    op.path_parameters().iter().any(|p| {
        matches!(
            p.as_str(),
            "vpc_endpoint_service_id" | "vpc_endpoint_id" | "permission_id"
        )
    })
}

#[tokio::test]
async fn every_operation_documents_the_errors_it_can_produce() {
    let app = TestApp::spawn();
    let doc = served(&app).await;
    for op in operations(&doc) {
        let operation = op.operation();
        let have = statuses(&op);
        let label = op.label();
        let mut need: Vec<&str> = vec!["500", "503"];
        if operation.authenticated() {
            // The preamble of every /v1 and /v2 request (docs/api.md §2): Accept, authentication,
            // path syntax, project, body size and read timeout; the database's deadline.
            need.extend(["400", "401", "403", "406", "408", "413", "504"]);
        } else if operation != Operation::OpenApi {
            need.push("406");
        }
        if names_a_resource(&op) || operation == Operation::ListSpecifiedVersionDetails {
            need.push("404");
        }
        let missing: Vec<_> = need.iter().filter(|s| !have.contains(**s)).collect();
        assert!(missing.is_empty(), "{label} does not document {missing:?}");

        let successes: Vec<_> = have.iter().filter(|s| s.starts_with('2')).collect();
        assert_eq!(
            successes.len(),
            1,
            "{label}: one success status, not {successes:?}"
        );
        assert!(!have.contains("501"), "{label} documents 501");
        for status in have.iter().filter(|s| !s.starts_with('2')) {
            let schema = response_schema(&doc, &op, status)
                .unwrap_or_else(|| panic!("{label} {status} has no JSON body"));
            let codes = error_codes(&doc, schema)
                .unwrap_or_else(|| panic!("{label} {status} does not name its error codes"));
            assert!(!codes.is_empty(), "{label} {status}: no codes");
            assert!(
                codes.iter().all(|c| c.starts_with("EndPoint.")),
                "{label} {status}: {codes:?}"
            );
        }
    }
}

/// A body the operation accepts, naming the resources of `ids`, so that only the path decides
/// the answer.
fn valid_body(op: &Op, ids: &Ids) -> Option<String> {
    let eid = ids.get("vpc_endpoint_id");
    let body = match op.op["x-vpcep-operation"].as_str()? {
        "CreateEndpointService" => service_body(false),
        "UpdateEndpointService" => json!({"description": "x"}),
        "UpdateEndpointServiceName" => json!({"endpoint_service_name": "x"}),
        "UpdateEndpointWhite" => json!({"whitelist": ["10.0.0.0/24"]}),
        "CreateEndpoint" => endpoint_body(ids.get("vpc_endpoint_service_id")),
        "AcceptOrRejectEndpoint" => json!({"action": "receive", "endpoints": [eid]}),
        "UpdateEndpointConnectionsDesc" => {
            json!({"connections": [{"id": eid, "description": "x"}]})
        }
        "AddOrRemoveServicePermissions" => {
            json!({"permissions": ["iam:domain::abc"], "action": "add"})
        }
        "BatchAddEndpointServicePermissions" => {
            json!({"permissions": [{"permission": "iam:domain::abc", "description": "d"}]})
        }
        "BatchRemoveEndpointServicePermissions" => {
            json!({"permissions": [{"id": ids.get("permission_id")}]})
        }
        "UpdateEndpointServicePermissionDesc" => json!({"permission": {"description": "x"}}),
        "BatchAddOrRemoveResourceInstance" => {
            json!({"action": "create", "tags": [{"key": "k", "value": "v"}]})
        }
        "ListResourceInstances" => json!({"action": "filter"}),
        "UpdateEndpointRoutetable" => json!({"routetables": [uuid()]}),
        "AddEndpointServiceServerResource" => {
            json!({"server_resources": [{"resource_id": uuid()}]})
        }
        "UpgradeEndpoint" => json!({"action": "start"}),
        _ => return op.has_body().then(|| "{}".to_owned()),
    };
    Some(body.to_string())
}

/// Provokes each error the preamble of a request can give (docs/api.md §2 order of checks), and
/// 404/501 where they apply, on every documented operation, and checks that the operation
/// documents the status and the `error_code`.
#[tokio::test]
async fn errors_the_server_produces_are_documented() {
    let app = TestApp::spawn();
    let doc = served(&app).await;
    let ids = Ids::create(&app).await;
    let mut checked = 0;
    for op in operations(&doc) {
        let operation = op.operation();
        let path = ids.fill(&op.path);
        let valid = valid_body(&op, &ids);
        let body = valid.as_deref();
        let token = Some(app.token());
        let mut check = |what: &str, status: u16, body: &Value| {
            assert_documented(&doc, &op, what, status, body);
            checked += 1;
        };

        let r = send(
            &app,
            &op.method,
            &path,
            token,
            &[("Accept", "text/html")],
            body,
        )
        .await;
        if operation == Operation::OpenApi {
            r.assert_status(200);
        } else {
            r.assert_error(406, "EndPoint.0002");
        }
        check("Accept: text/html", r.status, &r.body);

        if !operation.authenticated() {
            if operation == Operation::ListSpecifiedVersionDetails {
                let r = send(&app, "GET", "/v9", None, &[], None).await;
                r.assert_error(404, "EndPoint.0005");
                check("an unknown version", r.status, &r.body);
            }
            continue;
        }

        let r = send(&app, &op.method, &path, None, &[], body).await;
        r.assert_error(401, "EndPoint.0003");
        check("no token", r.status, &r.body);

        let r = send(&app, &op.method, &path, Some("not-a-token"), &[], body).await;
        r.assert_error(401, "EndPoint.0003");
        check("an unknown token", r.status, &r.body);

        if op.path_parameters().iter().any(|n| n == "project_id") {
            let other = ids.with("project_id", OTHER_PROJECT).fill(&op.path);
            let r = send(&app, &op.method, &other, token, &[], body).await;
            r.assert_error(403, "EndPoint.0004");
            check("another project", r.status, &r.body);
        }
        let foreign = [("X-Project-Id", OTHER_PROJECT)];
        let r = send(&app, &op.method, &path, token, &foreign, body).await;
        r.assert_error(403, "EndPoint.0004");
        check("an X-Project-Id of another project", r.status, &r.body);

        for name in op.path_parameters() {
            let bad = ids.with(&name, "bad_id").fill(&op.path);
            let r = send(&app, &op.method, &bad, token, &[], body).await;
            r.assert_status(400);
            check(&format!("a malformed {name}"), r.status, &r.body);
        }

        // Setting a backend is an upsert: any port id is one it may register.
        let upsert = op.method == "PUT" && op.path.ends_with("/backends/{port_id}");
        for name in op
            .path_parameters()
            .iter()
            .filter(|n| *n != "project_id" && !upsert)
        {
            let missing = ids.with(name, &uuid()).fill(&op.path);
            let r = send(&app, &op.method, &missing, token, &[], body).await;
            r.assert_error(404, "EndPoint.0005");
            check(&format!("a {name} that does not exist"), r.status, &r.body);
        }
        if operation == Operation::ListServiceDescribeDetails {
            let r = send(
                &app,
                "GET",
                &format!("{path}?id={}", uuid()),
                token,
                &[],
                None,
            )
            .await;
            r.assert_error(404, "EndPoint.0005");
            check("a service that does not exist", r.status, &r.body);
        }

        if op.has_body() {
            for (what, text) in [
                ("a body that is not JSON", "not json"),
                ("a body that is not an object", "[]"),
                ("an empty body", ""),
            ] {
                if text.is_empty() && op.body_optional() {
                    continue;
                }
                let r = send(&app, &op.method, &path, token, &[], Some(text)).await;
                r.assert_error(400, "EndPoint.0002");
                check(what, r.status, &r.body);
            }
            // Whatever `{}` gets (400 for a missing key, 200 where every key is optional).
            let r = send(&app, &op.method, &path, token, &[], Some("{}")).await;
            check("an empty object", r.status, &r.body);
        }

        // 413 is decided from Content-Length, before a byte of the body is read.
        let head = request_head(
            app.addr(),
            &op.method,
            &path,
            &[
                ("X-Auth-Token", app.token()),
                ("Content-Type", "application/json"),
                ("Content-Length", "1000000000"),
            ],
        );
        let mut conn = app.raw();
        conn.send(head.as_bytes()).unwrap();
        let raw = conn.read_response(SHORT).unwrap().expect("a 413 response");
        raw.assert_error(413, "EndPoint.0002");
        check("a body over the limit", raw.status, &raw.json());
    }
    assert!(checked > 200, "only {checked} responses were checked");
}

/// Every error has a JSON body (docs/api.md §2), also when a path segment is not UTF-8 once
/// decoded.
#[tokio::test]
async fn a_version_that_is_not_utf8_gets_a_documented_json_error() {
    let app = TestApp::spawn();
    let doc = served(&app).await;
    let op = operations(&doc)
        .into_iter()
        .find(|op| op.path == "/{version}")
        .expect("GET /{version}");
    let r = send(&app, "GET", "/%FF", None, &[], None).await;
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "GET /%FF answered {} {:?}: {}",
        r.status,
        r.header("content-type"),
        r.text
    );
    assert_documented(&doc, &op, "a version that is not UTF-8", r.status, &r.body);
}

/// A body that never arrives is 408 on every operation that reads one (all of `/v1` and `/v2`).
#[tokio::test]
async fn stalled_bodies_are_documented_408s() {
    let app = TestApp::with_args(&["--read-timeout", "1s"]);
    let doc = served(&app).await;
    let ids = Ids::create(&app).await;
    let ops: Vec<Op> = operations(&doc)
        .into_iter()
        .filter(|op| op.operation().authenticated())
        .collect();
    // One connection per operation, all stalled at once: the whole test waits one timeout.
    let answers: Vec<(Op, RawResponse)> = std::thread::scope(|s| {
        let handles: Vec<_> = ops
            .iter()
            .map(|op| {
                let path = ids.fill(&op.path);
                let addr = app.addr();
                let token = app.token().to_owned();
                s.spawn(move || {
                    let head = request_head(
                        addr,
                        &op.method,
                        &path,
                        &[
                            ("X-Auth-Token", &token),
                            ("Content-Type", "application/json"),
                            ("Content-Length", "100"),
                        ],
                    );
                    let mut conn = RawConn::connect(addr);
                    conn.send(format!("{head}{{\"a").as_bytes()).unwrap();
                    let r = conn
                        .read_response(SHORT)
                        .unwrap_or_else(|e| panic!("{}: no answer: {e}", op.label()))
                        .unwrap_or_else(|| panic!("{}: closed without a 408", op.label()));
                    (op.clone(), r)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (op, r) in answers {
        r.assert_error(408, "EndPoint.0013");
        assert_documented(&doc, &op, "a stalled body", r.status, &r.json());
    }
}

// ---------------------------------------------------------------------------------------------
// (d) Structural validity
// ---------------------------------------------------------------------------------------------

/// Every `$ref` in the document, with where it is.
fn refs(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, w) in m {
                if k == "$ref" {
                    out.push((
                        at.to_owned(),
                        w.as_str().unwrap_or("<not a string>").to_owned(),
                    ));
                } else {
                    refs(w, &format!("{at}/{k}"), out);
                }
            }
        }
        Value::Array(a) => {
            for (i, w) in a.iter().enumerate() {
                refs(w, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Every schema object under `v` (any object with `type`, `properties` or `allOf`; call it on
/// parts of the document that hold only schemas where such keys appear).
fn schemas<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(m) => {
            if m.contains_key("type") || m.contains_key("properties") || m.contains_key("allOf") {
                out.push(v);
            }
            for w in m.values() {
                schemas(w, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|w| schemas(w, out)),
        _ => {}
    }
}

#[tokio::test]
async fn document_is_structurally_valid_openapi_3_0() {
    let app = TestApp::spawn();
    let doc = served(&app).await;
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.0.")),
        "openapi: {}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());

    let mut all = Vec::new();
    refs(&doc, "", &mut all);
    assert!(!all.is_empty());
    let broken: Vec<_> = all
        .iter()
        .filter(|(_, r)| !r.starts_with("#/components/") || target(&doc, r).is_none())
        .collect();
    assert!(
        broken.is_empty(),
        "unresolvable $refs (at, ref): {broken:?}"
    );

    let mut ids = BTreeMap::new();
    let declared_tags: BTreeSet<&str> = doc["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| t["name"].as_str().expect("tag name"))
        .collect();
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("securitySchemes");
    for op in operations(&doc) {
        let label = op.label();
        let id = op.op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{label} has no operationId"));
        if let Some(first) = ids.insert(id.to_owned(), label.clone()) {
            panic!("operationId {id} is used by {first} and {label}");
        }

        // Path parameters: each template variable declared once, in path, required; no others.
        let mut declared = BTreeMap::new();
        for p in op.op["parameters"].as_array().into_iter().flatten() {
            let p = resolve(&doc, p);
            let (name, place) = (p["name"].as_str().unwrap(), p["in"].as_str().unwrap());
            assert!(
                ["path", "query", "header", "cookie"].contains(&place),
                "{label}: parameter {name} in {place}"
            );
            assert!(
                declared
                    .insert((name.to_owned(), place.to_owned()), ())
                    .is_none(),
                "{label}: parameter {name} in {place} declared twice"
            );
            assert!(
                p.get("schema").is_some(),
                "{label}: parameter {name} has no schema"
            );
            if place == "path" {
                assert_eq!(
                    p["required"], true,
                    "{label}: path parameter {name} is required"
                );
            }
        }
        let in_path: BTreeSet<String> = declared
            .keys()
            .filter(|(_, place)| place == "path")
            .map(|(name, _)| name.clone())
            .collect();
        let in_template: BTreeSet<String> = op.path_parameters().into_iter().collect();
        assert_eq!(in_path, in_template, "{label}: path parameters");

        let responses = op.op["responses"].as_object().expect("responses");
        assert!(!responses.is_empty(), "{label}: no responses");
        for (status, response) in responses {
            assert!(
                status == "default"
                    || (status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit())),
                "{label}: response key {status}"
            );
            let response = resolve(&doc, response);
            assert!(
                response["description"].is_string(),
                "{label} {status}: a response needs a description"
            );
            for (name, link) in response["links"].as_object().into_iter().flatten() {
                let target_id = link["operationId"].as_str().expect("link operationId");
                assert!(
                    operations(&doc)
                        .iter()
                        .any(|o| o.op["operationId"] == target_id),
                    "{label} {status}: link {name} targets unknown operation {target_id}"
                );
            }
        }
        if let Some(body) = op.op.get("requestBody") {
            assert!(
                body.pointer("/content/application~1json/schema").is_some(),
                "{label}: a request body needs a JSON schema"
            );
        }
        for tag in op.op["tags"].as_array().into_iter().flatten() {
            assert!(
                declared_tags.contains(tag.as_str().unwrap()),
                "{label}: tag {tag} is not declared"
            );
        }
        for requirement in op.op["security"]
            .as_array()
            .or(doc["security"].as_array())
            .into_iter()
            .flatten()
        {
            for name in requirement.as_object().unwrap().keys() {
                assert!(
                    schemes.contains_key(name),
                    "{label}: security scheme {name}"
                );
            }
        }
    }

    // Schemas: `required` names declared properties; `nullable` goes with `type`; `enum`s of
    // nullable schemas list `null` (OpenAPI 3.0.3).
    let mut found = Vec::new();
    schemas(&doc["paths"], &mut found);
    for part in ["schemas", "parameters", "headers", "responses"] {
        schemas(&doc["components"][part], &mut found);
    }
    for s in found {
        if let (Some(required), Some(properties)) =
            (s["required"].as_array(), s["properties"].as_object())
        {
            for r in required {
                assert!(
                    properties.contains_key(r.as_str().unwrap()),
                    "required {r} is not a property of {s}"
                );
            }
        }
        if s["nullable"] == true {
            assert!(s.get("type").is_some(), "nullable without type: {s}");
            if let Some(values) = s["enum"].as_array() {
                assert!(
                    values.contains(&Value::Null),
                    "a nullable enum lists null: {s}"
                );
            }
        }
        if let Some(t) = s["type"].as_str() {
            assert!(
                ["object", "array", "string", "integer", "number", "boolean"].contains(&t),
                "type {t} is not OpenAPI 3.0: {s}"
            );
        }
    }
}
