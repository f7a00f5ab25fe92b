//! The whitelist (the VPCEP permissions API) and how it admits CreateEndpoint: the VPCEP API
//! reference's five permission operations, its permission strings and its rule that only
//! whitelisted accounts may connect; docs/api.md §3.
//!
//! The helpers at the top are `pub(crate)` so that `isolation.rs` can drive the same operations.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

/// The keys of a whitelist record, in batch responses (EpsPermission) and in the list.
pub(crate) const RECORD_KEYS: &[&str] = &[
    "id",
    "permission",
    "permission_type",
    "description",
    "created_at",
];

// ---------------------------------------------------------------------------------------------
// The five operations
// ---------------------------------------------------------------------------------------------

pub(crate) fn permissions_path(sid: &str) -> String {
    format!("/vpc-endpoint-services/{sid}/permissions")
}

/// AddOrRemoveServicePermissions with any body.
pub(crate) async fn permission_action(api: &Caller, sid: &str, body: &Value) -> Resp {
    api.call(
        Method::POST,
        &format!("{}/action", permissions_path(sid)),
        Some(body),
    )
    .await
}

/// AddOrRemoveServicePermissions with `{"permissions": entries, "action": action}`.
pub(crate) async fn add_or_remove(api: &Caller, sid: &str, action: &str, entries: &[&str]) -> Resp {
    permission_action(api, sid, &json!({"permissions": entries, "action": action})).await
}

/// BatchAddEndpointServicePermissions with any body.
pub(crate) async fn batch_create(api: &Caller, sid: &str, body: &Value) -> Resp {
    api.call(
        Method::POST,
        &format!("{}/batch-create", permissions_path(sid)),
        Some(body),
    )
    .await
}

/// BatchAddEndpointServicePermissions with (permission, description) pairs.
pub(crate) async fn batch_create_pairs(api: &Caller, sid: &str, pairs: &[(&str, &str)]) -> Resp {
    let items: Vec<Value> = pairs
        .iter()
        .map(|(p, d)| json!({"permission": p, "description": d}))
        .collect();
    batch_create(api, sid, &json!({ "permissions": items })).await
}

/// BatchRemoveEndpointServicePermissions with any body.
pub(crate) async fn batch_delete(api: &Caller, sid: &str, body: &Value) -> Resp {
    api.call(
        Method::POST,
        &format!("{}/batch-delete", permissions_path(sid)),
        Some(body),
    )
    .await
}

/// BatchRemoveEndpointServicePermissions with record ids.
pub(crate) async fn batch_delete_ids(api: &Caller, sid: &str, ids: &[&str]) -> Resp {
    let items: Vec<Value> = ids.iter().map(|id| json!({ "id": id })).collect();
    batch_delete(api, sid, &json!({ "permissions": items })).await
}

/// ListServicePermissionsDetails.
pub(crate) async fn list_permissions(api: &Caller, sid: &str, query: &str) -> Resp {
    let path = if query.is_empty() {
        permissions_path(sid)
    } else {
        format!("{}?{query}", permissions_path(sid))
    };
    api.call(Method::GET, &path, None).await
}

/// UpdateEndpointServicePermissionDesc with any body.
pub(crate) async fn update_permission(api: &Caller, sid: &str, pid: &str, body: &Value) -> Resp {
    api.call(
        Method::PUT,
        &format!("{}/{pid}", permissions_path(sid)),
        Some(body),
    )
    .await
}

/// UpdateEndpointServicePermissionDesc with `{"permission": {"description": description}}`.
pub(crate) async fn describe_permission(
    api: &Caller,
    sid: &str,
    pid: &str,
    description: &str,
) -> Resp {
    update_permission(
        api,
        sid,
        pid,
        &json!({"permission": {"description": description}}),
    )
    .await
}

pub(crate) fn domain_entry(domain_id: &str) -> String {
    format!("iam:domain::{domain_id}")
}

/// Every record of a service, as its owner lists them.
pub(crate) async fn records(api: &Caller, sid: &str) -> Vec<Value> {
    let r = list_permissions(api, sid, "limit=500").await;
    let body = r.ok();
    let list = body["permissions"]
        .as_array()
        .unwrap_or_else(|| panic!("`permissions` is not an array: {body}"))
        .clone();
    assert_eq!(
        body["total_count"],
        list.len(),
        "total_count differs from the rows of a full page: {body}"
    );
    list
}

/// The permission strings of a list of records.
pub(crate) fn entries_of(list: &[Value]) -> BTreeSet<String> {
    list.iter().map(|r| str_of(&r["permission"])).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The permission strings of an AddOrRemoveServicePermissions answer.
#[track_caller]
fn action_list(r: &Resp) -> Vec<String> {
    let body = r.ok();
    assert_keys(
        body,
        &["permissions", "permission_type"],
        "AddOrRemoveServicePermissions response",
    );
    let t = &body["permission_type"];
    assert!(
        t == "domainId" || t == "orgPath",
        "permission_type {t} is neither domainId nor orgPath: {body}"
    );
    body["permissions"]
        .as_array()
        .unwrap_or_else(|| panic!("`permissions` is not an array: {body}"))
        .iter()
        .map(str_of)
        .collect()
}

/// The records of a `{"permissions": [EpsPermission]}` answer, each checked for shape.
#[track_caller]
fn eps_records(r: &Resp, what: &str) -> Vec<Value> {
    let body = r.ok();
    assert_keys(body, &["permissions"], what);
    let list = body["permissions"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: `permissions` is not an array: {body}"))
        .clone();
    for rec in &list {
        assert_record_shape(rec, what);
    }
    list
}

#[track_caller]
fn assert_record_shape(rec: &Value, what: &str) {
    assert_keys(rec, RECORD_KEYS, what);
    assert_lower_uuid(&rec["id"]);
    assert_timestamp(&rec["created_at"]);
    assert!(rec["description"].is_string(), "{what}: {rec}");
    let p = str_of(&rec["permission"]);
    let want = if p.starts_with("organizations:orgPath::") {
        "orgPath"
    } else {
        "domainId"
    };
    assert_eq!(rec["permission_type"], want, "{what}: type of {rec}");
}

// ---------------------------------------------------------------------------------------------
// Error checks for codes the shared table does not know
// ---------------------------------------------------------------------------------------------

fn texts(code: &str) -> &'static [&'static str] {
    match code {
        "EndPoint.3002" => &["Invalid permission."],
        "EndPoint.3036" => &["Invalid permissions."],
        other => table_texts(other),
    }
}

/// What is wrong with `r` as the error `status`/`code` of docs/api.md §2 (any of `codes`), if
/// anything.
pub(crate) fn error_problem(r: &Resp, status: u16, codes: &[&str]) -> Option<String> {
    if r.status != status {
        return Some(format!(
            "expected HTTP {status}, got {} {}",
            r.status, r.text
        ));
    }
    if r.header("x-request-id").is_none_or(|v| v.trim().is_empty()) {
        return Some(format!("no X-Request-Id on the {} response", r.status));
    }
    let ct = r.header("content-type").unwrap_or("");
    if !ct.starts_with("application/json") {
        return Some(format!("error Content-Type {ct:?} is not JSON"));
    }
    let b = &r.body;
    let Some(code) = b["error_code"].as_str() else {
        return Some(format!("no string error_code in {}", r.text));
    };
    if !codes.contains(&code) {
        return Some(format!("expected error code {codes:?}, got {}", r.text));
    }
    if b["error"]["code"] != code {
        return Some(format!("error.code differs from error_code in {}", r.text));
    }
    let Some(msg) = b["error_msg"].as_str() else {
        return Some(format!("no string error_msg in {}", r.text));
    };
    if b["error"]["message"] != msg {
        return Some(format!(
            "error.message differs from error_msg in {}",
            r.text
        ));
    }
    if !texts(code).iter().any(|t| msg.starts_with(t)) {
        return Some(format!(
            "message {msg:?} does not start with the table text of {code} ({:?})",
            texts(code)
        ));
    }
    None
}

#[track_caller]
pub(crate) fn assert_err(r: &Resp, status: u16, code: &str) {
    if let Some(problem) = error_problem(r, status, &[code]) {
        panic!("{problem}");
    }
}

#[track_caller]
fn assert_err_of(r: &Resp, status: u16, codes: &[&str], what: &str) {
    if let Some(problem) = error_problem(r, status, codes) {
        panic!("{what}: {problem}");
    }
}

// ---------------------------------------------------------------------------------------------
// Entries and their formats
// ---------------------------------------------------------------------------------------------

const SOME_DOMAIN: &str = "0123456789abcdef0123456789abcdef";

fn valid_entries() -> Vec<String> {
    vec![
        domain_entry(SOME_DOMAIN),
        domain_entry("A1b2C3"),
        domain_entry("x"),
        domain_entry("*"),
        domain_entry("abc*"),
        domain_entry(&"Z9".repeat(32)),
        "organizations:orgPath::o-abc/r-def/ou-ghi/*".into(),
        "organizations:orgPath::?".into(),
        "organizations:orgPath::*".into(),
        "organizations:orgPath::x".into(),
        format!("organizations:orgPath::{}", "aZ9/-*?".repeat(146) + "ab"),
        "*".into(),
    ]
}

fn invalid_entries() -> Vec<String> {
    vec![
        String::new(),
        "iam:domain::".into(),
        domain_entry(&"a".repeat(65)),
        domain_entry("abc-def"),
        domain_entry("abc_def"),
        domain_entry("abc def"),
        domain_entry("abc/def"),
        domain_entry(":abc"),
        domain_entry("abc?"),
        domain_entry("abc "),
        domain_entry(" abc"),
        domain_entry("abc\n"),
        domain_entry("é"),
        "iam:domain:abc".into(),
        "IAM:DOMAIN::abc".into(),
        "iam:domains::abc".into(),
        "domain::abc".into(),
        SOME_DOMAIN.into(),
        " *".into(),
        "* ".into(),
        "**".into(),
        "organizations:orgPath::".into(),
        format!("organizations:orgPath::{}", "a".repeat(1025)),
        "organizations:orgPath::o_1".into(),
        "organizations:orgPath::o 1".into(),
        "organizations:orgPath::o.1".into(),
        "organizations:orgPath::o:1".into(),
        "organizations:orgpath::o-1".into(),
        "organizations:orgPath:o-1".into(),
    ]
}

// ---------------------------------------------------------------------------------------------
// AddOrRemoveServicePermissions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn add_answers_the_full_resulting_list() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let a = domain_entry("aaaa1111");
    let b = domain_entry("bbbb2222");
    let c = domain_entry("cccc3333");

    let r = add_or_remove(&app, &sid, "add", &[&a]).await;
    assert_eq!(action_list(&r), vec![a.clone()]);
    assert_eq!(r.body["permission_type"], "domainId");

    let r = permission_action(
        &app,
        &sid,
        &json!({"permissions": [&b, &c], "permission_type": "domainId", "action": "add"}),
    )
    .await;
    let got: BTreeSet<String> = action_list(&r).into_iter().collect();
    assert_eq!(got, set(&[&a, &b, &c]), "{}", r.text);
    assert_eq!(r.body["permission_type"], "domainId");

    let r = add_or_remove(&app, &sid, "remove", &[&b]).await;
    let got: BTreeSet<String> = action_list(&r).into_iter().collect();
    assert_eq!(got, set(&[&a, &c]), "{}", r.text);

    assert_eq!(entries_of(&records(&app, &sid).await), set(&[&a, &c]));
    for rec in records(&app, &sid).await {
        assert_record_shape(&rec, "a record added by action");
    }
}

#[tokio::test]
async fn add_of_an_existing_entry_and_remove_of_an_absent_one_are_no_ops() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let a = domain_entry("aaaa1111");
    add_or_remove(&app, &sid, "add", &[&a]).await.ok();
    let before = records(&app, &sid).await;
    assert_eq!(before.len(), 1);

    let r = add_or_remove(&app, &sid, "add", &[&a]).await;
    assert_eq!(
        action_list(&r),
        vec![a.clone()],
        "adding twice lists it twice"
    );
    assert_eq!(
        records(&app, &sid).await,
        before,
        "adding an existing entry changed its record"
    );

    let absent = domain_entry("dddd4444");
    let r = add_or_remove(&app, &sid, "remove", &[&absent]).await;
    assert_eq!(action_list(&r), vec![a.clone()]);
    assert_eq!(records(&app, &sid).await, before);

    // Removing everything leaves an empty whitelist; removing again is still fine.
    let r = add_or_remove(&app, &sid, "remove", &[&a]).await;
    assert_eq!(action_list(&r), Vec::<String>::new());
    let r = add_or_remove(&app, &sid, "remove", &[&a]).await;
    assert_eq!(action_list(&r), Vec::<String>::new());
    let listed = list_permissions(&app, &sid, "").await;
    assert_eq!(listed.ok()["permissions"], json!([]));
    assert_eq!(listed.body["total_count"], 0);
}

#[tokio::test]
async fn org_path_entries_are_added_with_their_type() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let org = "organizations:orgPath::o-abc/r-def/ou-ghi/*";
    let r = permission_action(
        &app,
        &sid,
        &json!({"permissions": [org], "permission_type": "orgPath", "action": "add"}),
    )
    .await;
    assert_eq!(action_list(&r), vec![org.to_string()]);
    assert_eq!(r.body["permission_type"], "orgPath");
    let recs = records(&app, &sid).await;
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["permission"], org);
    assert_eq!(recs[0]["permission_type"], "orgPath");
}

#[tokio::test]
async fn unknown_actions_are_0007_and_change_nothing() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let a = domain_entry("aaaa1111");
    for action in ["delete", "Add", "REMOVE", "", "receive", "create"] {
        let r = add_or_remove(&app, &sid, action, &[&a]).await;
        assert_err_of(&r, 400, &["EndPoint.0007"], &format!("action {action:?}"));
    }
    // A missing or non-string action is a bad action too, or a plain parameter error.
    for body in [
        json!({"permissions": [&a]}),
        json!({"permissions": [&a], "action": null}),
        json!({"permissions": [&a], "action": 1}),
        json!({"permissions": [&a], "action": ["add"]}),
    ] {
        let r = permission_action(&app, &sid, &body).await;
        assert_err_of(
            &r,
            400,
            &["EndPoint.0007", "EndPoint.0002"],
            &body.to_string(),
        );
    }
    assert_eq!(records(&app, &sid).await, Vec::<Value>::new());
}

// ---------------------------------------------------------------------------------------------
// Permission strings (the formats of the VPCEP API reference)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn valid_permission_formats_are_accepted_by_add_and_batch_create() {
    let app = TestApp::spawn();
    let by_action = app.new_service(false).await;
    let by_batch = app.new_service(false).await;
    let entries = valid_entries();
    // The longest entries sit exactly at the reference's bounds (64 and 1024 characters).
    assert!(entries.contains(&domain_entry(&"Z9".repeat(32))));
    assert!(entries
        .iter()
        .any(|e| e.strip_prefix("organizations:orgPath::").map(str::len) == Some(1024)));
    for e in &entries {
        let r = add_or_remove(&app, &by_action, "add", &[e]).await;
        assert_eq!(r.status, 200, "add {e:?}: {}", r.text);
        assert!(action_list(&r).contains(e), "{e:?} not in {}", r.text);

        let r = batch_create_pairs(&app, &by_batch, &[(e, "ok")]).await;
        assert_eq!(r.status, 200, "batch-create {e:?}: {}", r.text);
        let recs = eps_records(&r, "batch-create response");
        assert_eq!(entries_of(&recs), set(&[e]), "{}", r.text);
    }
    let want: BTreeSet<String> = entries.iter().cloned().collect();
    for sid in [&by_action, &by_batch] {
        let recs = records(&app, sid).await;
        assert_eq!(entries_of(&recs), want);
        for rec in &recs {
            assert_record_shape(rec, "listed record");
        }
    }
}

#[tokio::test]
async fn invalid_permission_formats_are_3002_and_change_nothing() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let kept = domain_entry("aaaa1111");
    add_or_remove(&app, &sid, "add", &[&kept]).await.ok();
    let before = records(&app, &sid).await;
    let fresh = domain_entry("bbbb2222");

    let mut failures = Vec::new();
    for bad in invalid_entries() {
        let attempts = [
            ("add", add_or_remove(&app, &sid, "add", &[&bad]).await),
            (
                "add beside a valid entry",
                add_or_remove(&app, &sid, "add", &[&fresh, &bad]).await,
            ),
            (
                "remove",
                add_or_remove(&app, &sid, "remove", &[&kept, &bad]).await,
            ),
            (
                "batch-create",
                batch_create_pairs(&app, &sid, &[(&fresh, "x"), (&bad, "x")]).await,
            ),
        ];
        for (what, r) in attempts {
            if let Some(p) = error_problem(&r, 400, &["EndPoint.3002"]) {
                failures.push(format!("{what} {bad:?}: {p}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        records(&app, &sid).await,
        before,
        "a refused request changed the whitelist"
    );
}

#[tokio::test]
async fn non_string_entries_and_bad_shapes_are_400() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let a = domain_entry("aaaa1111");
    let action_bodies = [
        json!({"permissions": [5], "action": "add"}),
        json!({"permissions": [null], "action": "add"}),
        json!({"permissions": [{"permission": a}], "action": "add"}),
        json!({"permissions": a, "action": "add"}),
        json!({"permissions": null, "action": "add"}),
        json!({"action": "add"}),
    ];
    for body in &action_bodies {
        let r = permission_action(&app, &sid, body).await;
        assert_err_of(
            &r,
            400,
            &["EndPoint.0002", "EndPoint.3002", "EndPoint.3036"],
            &format!("action {body}"),
        );
    }
    let batch_bodies = [
        json!({"permissions": [{"permission": 5, "description": ""}]}),
        json!({"permissions": [{"permission": null, "description": ""}]}),
        json!({"permissions": [{"description": "no permission key"}]}),
        json!({"permissions": [{"permission": a, "description": 5}]}),
        json!({"permissions": [a]}),
        json!({"permissions": {"permission": a, "description": ""}}),
        json!({}),
    ];
    for body in &batch_bodies {
        let r = batch_create(&app, &sid, body).await;
        assert_err_of(
            &r,
            400,
            &["EndPoint.0002", "EndPoint.3002", "EndPoint.3036"],
            &format!("batch-create {body}"),
        );
    }
    for text in ["", "[]", "not json", "{\"permissions\": ["] {
        let r = app
            .call_text(
                Method::POST,
                &format!("{}/action", permissions_path(&sid)),
                "application/json",
                text,
            )
            .await;
        assert_err_of(&r, 400, &["EndPoint.0002"], &format!("body {text:?}"));
    }
    assert_eq!(records(&app, &sid).await, Vec::<Value>::new());
}

#[tokio::test]
async fn empty_permission_lists_are_3036() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    for action in ["add", "remove"] {
        let r = add_or_remove(&app, &sid, action, &[]).await;
        assert_err_of(&r, 400, &["EndPoint.3036"], &format!("{action} []"));
    }
    let r = batch_create(&app, &sid, &json!({"permissions": []})).await;
    assert_err_of(&r, 400, &["EndPoint.3036"], "batch-create []");
    let r = batch_delete(&app, &sid, &json!({"permissions": []})).await;
    assert_err_of(&r, 400, &["EndPoint.3036"], "batch-delete []");
}

#[tokio::test]
async fn permission_type_is_domain_id_or_org_path() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let a = domain_entry("aaaa1111");
    for t in ["domainid", "DomainId", "orgpath", "", "iam", "*"] {
        let r = permission_action(
            &app,
            &sid,
            &json!({"permissions": [&a], "permission_type": t, "action": "add"}),
        )
        .await;
        assert_err_of(
            &r,
            400,
            &["EndPoint.0002", "EndPoint.3002"],
            &format!("permission_type {t:?}"),
        );
        let r = batch_create(
            &app,
            &sid,
            &json!({"permissions": [{"permission": &a, "description": ""}], "permission_type": t}),
        )
        .await;
        assert_err_of(
            &r,
            400,
            &["EndPoint.0002", "EndPoint.3002"],
            &format!("batch-create permission_type {t:?}"),
        );
    }
    assert_eq!(records(&app, &sid).await, Vec::<Value>::new());
    let r = batch_create(
        &app,
        &sid,
        &json!({"permissions": [{"permission": &a, "description": "d"}], "permission_type": "domainId"}),
    )
    .await;
    assert_eq!(entries_of(&eps_records(&r, "batch-create")), set(&[&a]));
}

// ---------------------------------------------------------------------------------------------
// BatchAddEndpointServicePermissions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn batch_create_returns_the_new_records() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let d = domain_entry(SOME_DOMAIN);
    let org = "organizations:orgPath::o-1/r-2/*";
    let pairs = [
        ("*", "everyone"),
        (d.as_str(), "one account"),
        (org, ""),
        ("iam:domain::*", "every account"),
    ];
    let r = batch_create_pairs(&app, &sid, &pairs).await;
    let recs = eps_records(&r, "BatchAddEndpointServicePermissions response");
    assert_eq!(recs.len(), 4, "{}", r.text);
    for (p, desc) in pairs {
        let rec = recs
            .iter()
            .find(|rec| rec["permission"] == p)
            .unwrap_or_else(|| panic!("{p} not returned: {}", r.text));
        assert_eq!(rec["description"], desc, "{rec}");
    }
    let types: Vec<(String, String)> = recs
        .iter()
        .map(|rec| (str_of(&rec["permission"]), str_of(&rec["permission_type"])))
        .collect();
    for (p, t) in &types {
        let want = if p == org { "orgPath" } else { "domainId" };
        assert_eq!(t, want, "type of {p}");
    }
    let ids: BTreeSet<String> = recs.iter().map(|rec| str_of(&rec["id"])).collect();
    assert_eq!(ids.len(), 4, "record ids are not distinct: {}", r.text);

    // The list shows exactly these records, field for field.
    let mut listed = records(&app, &sid).await;
    let mut created = recs.clone();
    listed.sort_by_key(|rec| str_of(&rec["id"]));
    created.sort_by_key(|rec| str_of(&rec["id"]));
    assert_eq!(listed, created);
}

#[tokio::test]
async fn batch_create_of_an_existing_entry_adds_no_row() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let a = domain_entry("aaaa1111");
    let b = domain_entry("bbbb2222");
    batch_create_pairs(&app, &sid, &[(&a, "first")]).await.ok();
    add_or_remove(&app, &sid, "add", &[&b]).await.ok();
    let r = batch_create_pairs(&app, &sid, &[(&a, "again"), (&b, "again")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let recs = records(&app, &sid).await;
    assert_eq!(recs.len(), 2, "duplicate rows: {recs:?}");
    assert_eq!(entries_of(&recs), set(&[&a, &b]));
    let r = add_or_remove(&app, &sid, "add", &[&a, &b]).await;
    assert_eq!(action_list(&r).len(), 2, "{}", r.text);
    assert_eq!(records(&app, &sid).await.len(), 2);
}

#[tokio::test]
async fn action_and_batch_operations_share_one_whitelist() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let a = domain_entry("aaaa1111");
    let b = domain_entry("bbbb2222");
    let created = batch_create_pairs(&app, &sid, &[(&a, "by batch")]).await;
    let a_id = str_of(&eps_records(&created, "batch-create")[0]["id"]);

    // The action's resulting list includes the batch-created entry...
    let r = add_or_remove(&app, &sid, "add", &[&b]).await;
    let got: BTreeSet<String> = action_list(&r).into_iter().collect();
    assert_eq!(got, set(&[&a, &b]));
    // ...and the action's entry can be removed by its record id.
    let b_id = records(&app, &sid)
        .await
        .into_iter()
        .find(|rec| rec["permission"] == b)
        .map(|rec| str_of(&rec["id"]))
        .expect("b listed");
    let removed = batch_delete_ids(&app, &sid, &[&b_id]).await;
    assert_eq!(
        entries_of(&eps_records(&removed, "batch-delete")),
        set(&[&b])
    );
    // The batch-created entry can be removed by the action.
    let r = add_or_remove(&app, &sid, "remove", &[&a]).await;
    assert_eq!(action_list(&r), Vec::<String>::new());
    assert!(records(&app, &sid).await.is_empty());
    // Its record id is gone with it.
    let r = describe_permission(&app, &sid, &a_id, "x").await;
    assert_err(&r, 404, "EndPoint.0005");
}

// ---------------------------------------------------------------------------------------------
// Whitelist descriptions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn whitelist_descriptions_allow_0_to_128_characters() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let ascii = "d".repeat(128);
    let cjk = "描".repeat(128);
    let cases = [
        (domain_entry("aaaa1"), ascii.clone()),
        (domain_entry("aaaa2"), cjk.clone()),
        (domain_entry("aaaa3"), String::new()),
        (
            domain_entry("aaaa4"),
            "Ünïcödé ✓ with spaces, digits 123 & punctuation.".into(),
        ),
    ];
    for (p, d) in &cases {
        let r = batch_create_pairs(&app, &sid, &[(p, d)]).await;
        let recs = eps_records(&r, "batch-create");
        assert_eq!(recs[0]["description"], *d, "{}", r.text);
    }
    let recs = records(&app, &sid).await;
    for (p, d) in &cases {
        let rec = recs.iter().find(|r| r["permission"] == *p).unwrap();
        assert_eq!(rec["description"], *d);
    }
    let pid = str_of(&recs[0]["id"]);
    for d in [ascii.as_str(), cjk.as_str(), ""] {
        let r = describe_permission(&app, &sid, &pid, d).await;
        assert_eq!(eps_records(&r, "update")[0]["description"], d);
    }

    for d in ["d".repeat(129), "描".repeat(129)] {
        let r = batch_create_pairs(&app, &sid, &[(&domain_entry("bbbb"), &d)]).await;
        assert_err(&r, 400, "EndPoint.0002");
        let r = describe_permission(&app, &sid, &pid, &d).await;
        assert_err(&r, 400, "EndPoint.0002");
    }
    assert_eq!(records(&app, &sid).await.len(), cases.len());
}

#[tokio::test]
async fn whitelist_descriptions_reject_angle_brackets_and_control_characters() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let created = batch_create_pairs(&app, &sid, &[(&domain_entry("aaaa"), "kept")]).await;
    let pid = str_of(&eps_records(&created, "batch-create")[0]["id"]);
    let before = records(&app, &sid).await;
    for d in [
        "<script>",
        "a>b",
        "a<b",
        "line\nbreak",
        "tab\there",
        "nul\u{0}",
        "esc\u{1b}",
        "del\u{7f}",
        "\r",
    ] {
        let r = batch_create_pairs(&app, &sid, &[(&domain_entry("bbbb"), d)]).await;
        assert_err_of(&r, 400, &["EndPoint.0002"], &format!("batch-create {d:?}"));
        let r = describe_permission(&app, &sid, &pid, d).await;
        assert_err_of(&r, 400, &["EndPoint.0002"], &format!("update {d:?}"));
    }
    assert_eq!(records(&app, &sid).await, before);
}

// ---------------------------------------------------------------------------------------------
// UpdateEndpointServicePermissionDesc
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn update_description_answers_the_record_in_a_list() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let a = domain_entry("aaaa1111");
    let b = domain_entry("bbbb2222");
    let created = batch_create_pairs(&app, &sid, &[(&a, "old"), (&b, "other")]).await;
    let recs = eps_records(&created, "batch-create");
    let rec_a = recs.iter().find(|r| r["permission"] == a).unwrap().clone();

    let r = describe_permission(&app, &sid, &str_of(&rec_a["id"]), "new text").await;
    let got = eps_records(&r, "UpdateEndpointServicePermissionDesc response");
    assert_eq!(got.len(), 1, "{}", r.text);
    let mut want = rec_a.clone();
    want["description"] = json!("new text");
    assert_eq!(got[0], want, "only the description changes");

    let listed = records(&app, &sid).await;
    let listed_a = listed.iter().find(|r| r["permission"] == a).unwrap();
    assert_eq!(*listed_a, want);
    let listed_b = listed.iter().find(|r| r["permission"] == b).unwrap();
    assert_eq!(listed_b["description"], "other", "the other record changed");

    // Path ids are matched case-insensitively (docs/api.md §3).
    let upper = str_of(&rec_a["id"]).to_uppercase();
    let r = describe_permission(&app, &sid, &upper, "by upper id").await;
    assert_eq!(eps_records(&r, "update")[0]["id"], rec_a["id"]);
}

#[tokio::test]
async fn update_description_of_an_unknown_record_is_404() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let other_sid = app.new_service(false).await;
    let created = batch_create_pairs(&app, &other_sid, &[(&domain_entry("aaaa"), "theirs")]).await;
    let foreign_pid = str_of(&eps_records(&created, "batch-create")[0]["id"]);

    let r = describe_permission(&app, &sid, &uuid(), "x").await;
    assert_err(&r, 404, "EndPoint.0005");
    // A record of another service of the same owner is not a record of this one.
    let r = describe_permission(&app, &sid, &foreign_pid, "x").await;
    assert_err(&r, 404, "EndPoint.0005");
    assert_eq!(records(&app, &other_sid).await[0]["description"], "theirs");
    assert!(records(&app, &sid).await.is_empty());
}

#[tokio::test]
async fn update_description_body_is_checked() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let created = batch_create_pairs(&app, &sid, &[(&domain_entry("aaaa"), "kept")]).await;
    let pid = str_of(&eps_records(&created, "batch-create")[0]["id"]);
    for body in [
        json!({}),
        json!({"description": "not nested"}),
        json!({"permission": "x"}),
        json!({"permission": {}}),
        json!({"permission": {"description": null}}),
        json!({"permission": {"description": 5}}),
    ] {
        let r = update_permission(&app, &sid, &pid, &body).await;
        assert_err_of(&r, 400, &["EndPoint.0002"], &body.to_string());
    }
    assert_eq!(records(&app, &sid).await[0]["description"], "kept");
}

// ---------------------------------------------------------------------------------------------
// BatchRemoveEndpointServicePermissions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn batch_delete_answers_the_removed_records() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let entries = [domain_entry("aaaa"), domain_entry("bbbb"), "*".to_string()];
    let pairs: Vec<(&str, &str)> = entries.iter().map(|e| (e.as_str(), "d")).collect();
    let created = eps_records(
        &batch_create_pairs(&app, &sid, &pairs).await,
        "batch-create",
    );
    let (gone, kept): (Vec<Value>, Vec<Value>) = created
        .into_iter()
        .partition(|r| r["permission"] != entries[0]);
    let gone_ids: Vec<String> = gone.iter().map(|r| str_of(&r["id"])).collect();
    let ids: Vec<&str> = gone_ids.iter().map(String::as_str).collect();

    let r = batch_delete_ids(&app, &sid, &ids).await;
    let mut removed = eps_records(&r, "BatchRemoveEndpointServicePermissions response");
    let mut want = gone.clone();
    removed.sort_by_key(|r| str_of(&r["id"]));
    want.sort_by_key(|r| str_of(&r["id"]));
    assert_eq!(removed, want, "the answer is not the removed records");
    assert_eq!(records(&app, &sid).await, kept);

    // Gone means gone: a second delete of the same ids names records that no longer exist.
    let r = batch_delete_ids(&app, &sid, &ids[..1]).await;
    assert_err(&r, 400, "EndPoint.0002");
    assert_eq!(records(&app, &sid).await, kept);
}

#[tokio::test]
async fn batch_delete_of_an_id_that_is_not_a_record_here_is_0002_and_removes_nothing() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let other_sid = app.new_service(false).await;
    let mine = eps_records(
        &batch_create_pairs(&app, &sid, &[(&domain_entry("aaaa"), "")]).await,
        "batch-create",
    );
    let mine_id = str_of(&mine[0]["id"]);
    let theirs = eps_records(
        &batch_create_pairs(&app, &other_sid, &[(&domain_entry("bbbb"), "")]).await,
        "batch-create",
    );
    let theirs_id = str_of(&theirs[0]["id"]);
    let before = records(&app, &sid).await;
    let other_before = records(&app, &other_sid).await;

    let random = uuid();
    for (what, ids) in [
        ("a random id", vec![random.as_str()]),
        ("a random id after a real one", vec![&mine_id, &random]),
        ("a record of another service", vec![&theirs_id]),
        (
            "a record of another service after a real one",
            vec![&mine_id, &theirs_id],
        ),
        ("not an id at all", vec![&mine_id, "not-a-record"]),
    ] {
        let r = batch_delete_ids(&app, &sid, &ids).await;
        assert_err_of(&r, 400, &["EndPoint.0002"], what);
    }
    for body in [
        json!({"permissions": [{"id": 5}]}),
        json!({"permissions": [{}]}),
        json!({"permissions": [mine_id]}),
        json!({}),
    ] {
        let r = batch_delete(&app, &sid, &body).await;
        assert_err_of(
            &r,
            400,
            &["EndPoint.0002", "EndPoint.3036"],
            &body.to_string(),
        );
    }
    assert_eq!(
        records(&app, &sid).await,
        before,
        "a refused delete removed records"
    );
    assert_eq!(records(&app, &other_sid).await, other_before);
}

// ---------------------------------------------------------------------------------------------
// ListServicePermissionsDetails
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn permission_list_has_its_shape_and_never_shows_the_owner() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let r = list_permissions(&app, &sid, "").await;
    assert_keys(
        r.ok(),
        &["permissions", "total_count"],
        "ListServicePermissionsDetails response",
    );
    assert_eq!(r.body["permissions"], json!([]));
    assert_eq!(r.body["total_count"], 0);

    batch_create_pairs(&app, &sid, &[("*", "all")]).await.ok();
    let recs = records(&app, &sid).await;
    assert_eq!(entries_of(&recs), set(&["*"]));
    assert!(
        recs.iter()
            .all(|r| !str_of(&r["permission"]).contains(app.domain_id())),
        "the owner's implicit entry is listed: {recs:?}"
    );
    for rec in &recs {
        assert_record_shape(rec, "ListServicePermissionsDetails item");
    }
}

#[tokio::test]
async fn permission_list_filters_by_permission_case_insensitively() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let mixed = domain_entry("AbCdEf01");
    let plain = domain_entry("xyz9");
    let org = "organizations:orgPath::o-abcd/r-1/*";
    batch_create_pairs(
        &app,
        &sid,
        &[(&mixed, ""), (&plain, ""), (org, ""), ("*", "")],
    )
    .await
    .ok();

    let cases: Vec<(&str, BTreeSet<String>)> = vec![
        ("abcd", set(&[&mixed, org])),
        ("ABCDEF", set(&[&mixed])),
        ("iam:domain::", set(&[&mixed, &plain])),
        ("IAM:DOMAIN::X", set(&[&plain])),
        ("orgpath", set(&[org])),
        ("*", set(&[org, "*"])),
        ("zzz", set(&[])),
        // `%` and `_` are not wildcards: no entry contains them.
        ("%25", set(&[])),
        ("_", set(&[])),
        ("%25%25", set(&[])),
        (&plain, set(&[&plain])),
    ];
    let mut failures = Vec::new();
    for (filter, want) in &cases {
        let r = list_permissions(&app, &sid, &format!("permission={filter}&limit=500")).await;
        let body = r.ok();
        let got: Vec<Value> = body["permissions"].as_array().unwrap().clone();
        if entries_of(&got) != *want || body["total_count"] != want.len() {
            failures.push(format!(
                "permission={filter}: want {want:?}, got {}",
                r.text
            ));
        }
        // total_count is the number of matches, not of the page.
        let r = list_permissions(&app, &sid, &format!("permission={filter}&limit=1")).await;
        if r.ok()["total_count"] != want.len() {
            failures.push(format!("permission={filter}&limit=1: {}", r.text));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn permission_list_pages() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let entries: Vec<String> = (0..12).map(|i| domain_entry(&format!("d{i:02}"))).collect();
    let pairs: Vec<(&str, &str)> = entries.iter().map(|e| (e.as_str(), "")).collect();
    batch_create_pairs(&app, &sid, &pairs).await.ok();

    let page = |q: &'static str| {
        let (app, sid) = (&app, &sid);
        async move {
            let r = list_permissions(app, sid, q).await;
            let body = r.ok().clone();
            assert_eq!(body["total_count"], 12, "{q}: {body}");
            ids_of(&body["permissions"])
        }
    };
    let all = page("limit=500").await;
    assert_eq!(all.len(), 12);
    assert_eq!(page("").await, all[..10], "default limit is 10");
    assert_eq!(page("limit=0").await, Vec::<String>::new());
    assert_eq!(page("offset=0").await, all[..10]);
    assert_eq!(page("offset=10").await, all[10..]);
    assert_eq!(page("offset=12").await, Vec::<String>::new());
    assert_eq!(page("offset=100").await, Vec::<String>::new());
    assert_eq!(page("offset=11&limit=5").await, all[11..]);
    let mut stitched = page("limit=5&offset=0").await;
    stitched.extend(page("limit=5&offset=5").await);
    stitched.extend(page("limit=5&offset=10").await);
    assert_eq!(stitched, all, "pages do not stitch into the full list");
}

#[tokio::test]
async fn permission_list_rejects_invalid_parameters() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let cases = [
        ("limit=501", "EndPoint.0006"),
        ("limit=1000", "EndPoint.0006"),
        ("limit=-1", "EndPoint.0006"),
        ("limit=abc", "EndPoint.0006"),
        ("limit=1.5", "EndPoint.0006"),
        ("offset=-1", "EndPoint.0010"),
        ("offset=abc", "EndPoint.0010"),
        ("sort_key=name", "EndPoint.0017"),
        ("sort_key=CREATE_AT", "EndPoint.0017"),
        ("sort_dir=up", "EndPoint.0018"),
    ];
    for (q, code) in cases {
        let r = list_permissions(&app, &sid, q).await;
        assert_err_of(&r, 400, &[code], q);
    }
    for q in [
        "limit=500",
        "limit=0",
        "sort_key=create_at",
        "sort_key=created_at",
        "sort_key=update_at",
        "sort_key=updated_at",
        "sort_dir=asc",
        "sort_dir=desc",
    ] {
        let r = list_permissions(&app, &sid, q).await;
        assert_eq!(r.status, 200, "{q}: {}", r.text);
    }
}

#[tokio::test]
async fn permission_list_sorts_by_creation_time() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let mut ids = Vec::new();
    for (i, e) in [
        "iam:domain::first",
        "iam:domain::second",
        "iam:domain::third",
    ]
    .iter()
    .enumerate()
    {
        if i > 0 {
            sleep_past_second().await;
        }
        let r = batch_create_pairs(&app, &sid, &[(e, "")]).await;
        ids.push(str_of(&eps_records(&r, "batch-create")[0]["id"]));
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    for (q, want) in [
        ("", &newest_first),
        ("sort_dir=desc", &newest_first),
        ("sort_key=create_at", &newest_first),
        ("sort_key=created_at&sort_dir=desc", &newest_first),
        ("sort_dir=asc", &ids),
        ("sort_key=create_at&sort_dir=asc", &ids),
        ("sort_key=created_at&sort_dir=asc", &ids),
    ] {
        let r = list_permissions(&app, &sid, q).await;
        assert_eq!(ids_of(&r.ok()["permissions"]), *want, "{q}");
    }
}

#[tokio::test]
async fn permission_list_sorts_by_update_time() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let first = batch_create_pairs(&app, &sid, &[("iam:domain::first", "")]).await;
    let first = str_of(&eps_records(&first, "batch-create")[0]["id"]);
    sleep_past_second().await;
    let second = batch_create_pairs(&app, &sid, &[("iam:domain::second", "")]).await;
    let second = str_of(&eps_records(&second, "batch-create")[0]["id"]);
    sleep_past_second().await;
    describe_permission(&app, &sid, &first, "touched")
        .await
        .ok();

    for (q, want) in [
        ("sort_key=update_at", vec![&first, &second]),
        ("sort_key=updated_at&sort_dir=desc", vec![&first, &second]),
        ("sort_key=update_at&sort_dir=asc", vec![&second, &first]),
        ("sort_key=create_at", vec![&second, &first]),
    ] {
        let r = list_permissions(&app, &sid, q).await;
        let want: Vec<String> = want.into_iter().cloned().collect();
        assert_eq!(ids_of(&r.ok()["permissions"]), want, "{q}");
    }
}

// ---------------------------------------------------------------------------------------------
// Which service: missing, another tenant's, order of checks
// ---------------------------------------------------------------------------------------------

/// Each whitelist operation on `sid` with a body that is valid for it.
async fn every_operation(api: &Caller, sid: &str, pid: &str, grantee: &str) -> Vec<(String, Resp)> {
    let entry = domain_entry(grantee);
    vec![
        (
            "ListServicePermissionsDetails".into(),
            list_permissions(api, sid, "").await,
        ),
        (
            "AddOrRemoveServicePermissions add".into(),
            add_or_remove(api, sid, "add", &[&entry]).await,
        ),
        (
            "AddOrRemoveServicePermissions remove".into(),
            add_or_remove(api, sid, "remove", &[&entry]).await,
        ),
        (
            "BatchAddEndpointServicePermissions".into(),
            batch_create_pairs(api, sid, &[(&entry, "mine now")]).await,
        ),
        (
            "BatchRemoveEndpointServicePermissions".into(),
            batch_delete_ids(api, sid, &[pid]).await,
        ),
        (
            "UpdateEndpointServicePermissionDesc".into(),
            describe_permission(api, sid, pid, "mine now").await,
        ),
    ]
}

#[tokio::test]
async fn permission_operations_on_a_missing_service_are_404() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let created = batch_create_pairs(&app, &sid, &[(&domain_entry("aaaa"), "")]).await;
    let pid = str_of(&eps_records(&created, "batch-create")[0]["id"]);
    let missing = uuid();
    let mut failures = Vec::new();
    for (what, r) in every_operation(&app, &missing, &pid, "bbbb").await {
        if let Some(p) = error_problem(&r, 404, &["EndPoint.0005"]) {
            failures.push(format!("{what}: {p}"));
        }
    }
    // A deleted service is missing too.
    let gone = app.new_service(false).await;
    app.delete_service(&gone).await.assert_status(204);
    for (what, r) in every_operation(&app, &gone, &pid, "bbbb").await {
        if let Some(p) = error_problem(&r, 404, &["EndPoint.0005"]) {
            failures.push(format!("deleted service, {what}: {p}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(records(&app, &sid).await.len(), 1);
}

#[tokio::test]
async fn permission_operations_on_another_tenants_service_are_404_and_change_nothing() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let created = batch_create_pairs(&app, &sid, &[(&domain_entry("aaaa"), "owner's")]).await;
    let pid = str_of(&eps_records(&created, "batch-create")[0]["id"]);
    let before = records(&app, &sid).await;

    let stranger = app.new_account();
    let sibling = app.new_project_in_owner_account();
    let mut failures = Vec::new();
    for (who, cred) in [("stranger", &stranger), ("sibling project", &sibling)] {
        let api = app.as_(cred);
        // Each has a service of its own, so the 404 is not about having none.
        api.new_service(false).await;
        for (what, r) in every_operation(&api, &sid, &pid, &cred.domain_id).await {
            if let Some(p) = error_problem(&r, 404, &["EndPoint.0005"]) {
                failures.push(format!("{who}, {what}: {p}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        records(&app, &sid).await,
        before,
        "another tenant changed the whitelist"
    );
    // The stranger did not whitelist itself.
    app.as_(&stranger)
        .create_endpoint(&endpoint_body(&sid))
        .await
        .assert_error(400, "EndPoint.2012");
}

#[tokio::test]
async fn permission_bodies_are_checked_before_the_service() {
    let app = TestApp::spawn();
    let stranger = app.new_account();
    let theirs = app.as_(&stranger).new_service(false).await;
    for sid in [uuid(), theirs] {
        let r = add_or_remove(&app, &sid, "add", &["nope"]).await;
        assert_err_of(&r, 400, &["EndPoint.3002"], "bad entry");
        let r = add_or_remove(&app, &sid, "add", &[]).await;
        assert_err_of(&r, 400, &["EndPoint.3036"], "empty list");
        let r = add_or_remove(&app, &sid, "grant", &["*"]).await;
        assert_err_of(&r, 400, &["EndPoint.0007"], "bad action");
        let r = batch_create_pairs(&app, &sid, &[("*", "<b>")]).await;
        assert_err_of(&r, 400, &["EndPoint.0002"], "bad description");
        let r = describe_permission(&app, &sid, &uuid(), &"x".repeat(129)).await;
        assert_err_of(&r, 400, &["EndPoint.0002"], "long description");
        // A well-formed id that is not a record is a reference inside the body: the service
        // is checked first.
        let r = batch_delete_ids(&app, &sid, &[&uuid()]).await;
        assert_err_of(
            &r,
            404,
            &["EndPoint.0005"],
            "unknown record of a missing service",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// CreateEndpoint and the whitelist (only whitelisted accounts may connect)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_owner_account_is_implicitly_whitelisted() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let sibling = app.new_project_in_owner_account();
    // An empty whitelist, then one naming only someone else, then one emptied again.
    app.new_endpoint(&sid).await;
    app.as_(&sibling).new_endpoint(&sid).await;
    add_or_remove(&app, &sid, "add", &[&domain_entry(SOME_DOMAIN)])
        .await
        .ok();
    app.as_(&sibling).new_endpoint(&sid).await;
    add_or_remove(&app, &sid, "remove", &[&domain_entry(SOME_DOMAIN)])
        .await
        .ok();
    add_or_remove(&app, &sid, "add", &["*"]).await.ok();
    add_or_remove(&app, &sid, "remove", &["*"]).await.ok();
    app.as_(&sibling).new_endpoint(&sid).await;
    assert!(records(&app, &sid).await.is_empty());
    let r = app.list_connections(&sid, "limit=1000").await;
    assert_eq!(r.ok()["total_count"], 4);
}

#[tokio::test]
async fn a_stranger_is_2012_until_whitelisted() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let stranger = app.new_account();
    let api = app.as_(&stranger);
    api.create_endpoint(&endpoint_body(&sid))
        .await
        .assert_error(400, "EndPoint.2012");

    add_or_remove(&app, &sid, "add", &[&domain_entry(&stranger.domain_id)])
        .await
        .ok();
    let ep = api.new_endpoint(&sid).await;
    assert_eq!(ep["status"], "accepted");
    assert_eq!(ep["project_id"], stranger.project_id);
    let c = app.connection(&sid, &str_of(&ep["id"])).await;
    assert_eq!(c["domain_id"], stranger.domain_id);
    assert_eq!(app.list_connections(&sid, "").await.ok()["total_count"], 1);
}

#[tokio::test]
async fn a_domain_entry_admits_every_project_of_that_account_and_no_other() {
    let app = TestApp::spawn();
    let sid = app.new_service(true).await;
    let consumer = app.new_account();
    let consumer_b = create_credential(
        &app.db_url,
        &["--name", "consumer-b", "--domain-id", &consumer.domain_id],
    );
    let stranger = app.new_account();
    batch_create_pairs(
        &app,
        &sid,
        &[(&domain_entry(&consumer.domain_id), "consumer")],
    )
    .await
    .ok();

    for cred in [&consumer, &consumer_b] {
        let ep = app.as_(cred).new_endpoint(&sid).await;
        assert_eq!(ep["status"], "pendingAcceptance");
        let c = app.connection(&sid, &str_of(&ep["id"])).await;
        assert_eq!(c["domain_id"], consumer.domain_id);
    }
    app.as_(&stranger)
        .create_endpoint(&endpoint_body(&sid))
        .await
        .assert_error(400, "EndPoint.2012");
    assert_eq!(app.list_connections(&sid, "").await.ok()["total_count"], 2);
}

#[tokio::test]
async fn wildcard_entries_admit_every_account() {
    let app = TestApp::spawn();
    let stranger = app.new_account();
    let api = app.as_(&stranger);
    for (how, entry) in [
        ("action", "iam:domain::*"),
        ("action", "*"),
        ("batch", "iam:domain::*"),
        ("batch", "*"),
    ] {
        let sid = app.new_service(false).await;
        api.create_endpoint(&endpoint_body(&sid))
            .await
            .assert_error(400, "EndPoint.2012");
        if how == "action" {
            add_or_remove(&app, &sid, "add", &[entry]).await.ok();
        } else {
            batch_create_pairs(&app, &sid, &[(entry, "all")]).await.ok();
        }
        let r = api.create_endpoint(&endpoint_body(&sid)).await;
        assert_eq!(r.status, 200, "{entry} added by {how}: {}", r.text);
    }
}

#[tokio::test]
async fn org_path_entries_are_accepted_but_admit_nobody() {
    let app = TestApp::spawn();
    let stranger = app.new_account();
    let sid = app.new_service(false).await;
    let entries = [
        "organizations:orgPath::*",
        "organizations:orgPath::o-abc/r-def/*",
        "organizations:orgPath::?",
    ];
    let r = permission_action(
        &app,
        &sid,
        &json!({"permissions": entries, "permission_type": "orgPath", "action": "add"}),
    )
    .await;
    assert_eq!(action_list(&r).len(), 3, "{}", r.text);
    let recs = records(&app, &sid).await;
    assert_eq!(entries_of(&recs), set(&entries));
    assert!(recs.iter().all(|r| r["permission_type"] == "orgPath"));
    app.as_(&stranger)
        .create_endpoint(&endpoint_body(&sid))
        .await
        .assert_error(400, "EndPoint.2012");
    // The owner's account is still admitted.
    app.new_endpoint(&sid).await;
}

#[tokio::test]
async fn whitelists_are_per_service() {
    let app = TestApp::spawn();
    let open = app.new_service(false).await;
    let closed = app.new_service(false).await;
    let consumer = app.new_account();
    add_or_remove(&app, &open, "add", &[&domain_entry(&consumer.domain_id)])
        .await
        .ok();
    app.as_(&consumer).new_endpoint(&open).await;
    app.as_(&consumer)
        .create_endpoint(&endpoint_body(&closed))
        .await
        .assert_error(400, "EndPoint.2012");
    assert!(records(&app, &closed).await.is_empty());
}

#[tokio::test]
async fn removing_a_consumer_stops_new_endpoints_but_keeps_existing_connections() {
    let app = TestApp::spawn();
    let consumer = app.new_account();
    let api = app.as_(&consumer);
    let entry = domain_entry(&consumer.domain_id);
    for how in ["action", "batch-delete"] {
        let sid = app.new_service(false).await;
        let created = batch_create_pairs(&app, &sid, &[(&entry, "consumer")]).await;
        let pid = str_of(&eps_records(&created, "batch-create")[0]["id"]);
        let ep = api.new_endpoint(&sid).await;
        let eid = str_of(&ep["id"]);
        let endpoint_before = api.get_endpoint(&eid).await.ok().clone();
        let connection_before = app.connection(&sid, &eid).await;
        assert_eq!(connection_before["status"], "accepted");

        if how == "action" {
            let r = add_or_remove(&app, &sid, "remove", &[&entry]).await;
            assert_eq!(action_list(&r), Vec::<String>::new());
        } else {
            batch_delete_ids(&app, &sid, &[&pid]).await.ok();
        }
        let r = api.create_endpoint(&endpoint_body(&sid)).await;
        assert_err_of(&r, 400, &["EndPoint.2012"], &format!("after {how}"));

        // The existing connection is untouched, on both sides.
        assert_eq!(
            api.get_endpoint(&eid).await.ok(),
            &endpoint_before,
            "{how} changed the consumer's endpoint"
        );
        assert_eq!(
            app.connection(&sid, &eid).await,
            connection_before,
            "{how} changed the connection"
        );
        let listed = api.list_endpoints("limit=1000").await;
        assert!(ids_of(&listed.ok()["endpoints"]).contains(&eid));
        // And the owner still manages it.
        let r = app.set_descriptions(&sid, &[(&eid, "still here")]).await;
        assert_eq!(r.ok()["connections"][0]["domain_id"], consumer.domain_id);
        let r = app
            .accept_or_reject(&sid, &json!({"action": "reject", "endpoints": [&eid]}))
            .await;
        assert_eq!(r.ok()["connections"][0]["status"], "rejected");
    }
}
