//! Tenant isolation (docs/api.md §2 and §3): a project is a tenant. Nobody reads, lists, changes or
//! deletes another tenant's services, endpoints, connections or whitelist; a foreign resource
//! answers exactly like a missing one. Plus the credential rules that tenancy rests on.
//!
//! The world of these tests has four tenants in three accounts:
//! - `owner`: project A of account X, owns service `alpha`, whitelists `consumer`'s account;
//! - `sibling`: project B of the same account X, owns service `bravo`;
//! - `consumer`: account Y (whitelisted on `alpha`), owns service `charlie`;
//! - `stranger`: account Z (whitelisted nowhere), owns service `tango` and whitelists X on it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::permissions::{
    add_or_remove, batch_create_pairs, batch_delete_ids, describe_permission, domain_entry,
    error_problem, list_permissions,
};
use crate::support::*;

const OWNER: usize = 0;
const SIBLING: usize = 1;
const CONSUMER: usize = 2;
const STRANGER: usize = 3;
const NAMES: [&str; 4] = ["owner", "sibling", "consumer", "stranger"];

struct Tenant {
    name: &'static str,
    cred: Credential,
    /// The one service this tenant owns, its stored name, and its one whitelist record.
    service: String,
    service_name: String,
    permission: String,
    /// An endpoint connected to `service` (by whoever), used in accept/reject and seed bodies.
    connection: String,
    /// The tenant's own endpoints (in its project), to whichever services.
    endpoints: Vec<String>,
    /// The connections to `service`: endpoint id -> the consumer's domain id.
    connections: BTreeMap<String, String>,
}

struct World {
    app: TestApp,
    tenants: Vec<Tenant>,
}

async fn new_service_named(api: &Caller, name: &str) -> (String, String) {
    let mut body = service_body(false);
    body["service_name"] = json!(name);
    let svc = api.create_service(&body).await.ok().clone();
    (str_of(&svc["id"]), str_of(&svc["service_name"]))
}

fn first_record_id(r: Resp) -> String {
    str_of(&r.ok()["permissions"][0]["id"])
}

impl World {
    async fn build() -> World {
        let app = TestApp::spawn();
        let creds = [
            app.owner.clone(),
            app.new_project_in_owner_account(),
            app.new_account(),
            app.new_account(),
        ];
        let apis: Vec<Caller> = creds.iter().map(|c| app.as_(c)).collect();
        let service_names = ["alpha", "bravo", "charlie", "tango"];
        let mut services = Vec::new();
        for (api, name) in apis.iter().zip(service_names) {
            services.push(new_service_named(api, name).await);
        }
        let grants = [
            domain_entry(&creds[CONSUMER].domain_id),
            domain_entry("0123456789abcdef0123456789abcdef"),
            "*".to_string(),
            domain_entry(&creds[OWNER].domain_id),
        ];
        let mut permissions = Vec::new();
        for ((api, (sid, _)), grant) in apis.iter().zip(&services).zip(&grants) {
            let r = batch_create_pairs(api, sid, &[(grant, "the tenant's own")]).await;
            permissions.push(first_record_id(r));
        }

        // Who connects where: (consumer tenant, service-owning tenant).
        let links = [
            (OWNER, OWNER),
            (SIBLING, OWNER),
            (CONSUMER, OWNER),
            (SIBLING, SIBLING),
            (STRANGER, STRANGER),
            (OWNER, STRANGER),
        ];
        let mut endpoints: Vec<Vec<String>> = vec![Vec::new(); 4];
        let mut connections: Vec<BTreeMap<String, String>> = vec![BTreeMap::new(); 4];
        for (from, to) in links {
            let ep = apis[from].new_endpoint(&services[to].0).await;
            let eid = str_of(&ep["id"]);
            endpoints[from].push(eid.clone());
            connections[to].insert(eid, creds[from].domain_id.clone());
        }

        let mut tenants = Vec::new();
        for (i, cred) in creds.into_iter().enumerate() {
            let connection = connections[i].keys().next().cloned().unwrap_or_else(uuid);
            tenants.push(Tenant {
                name: NAMES[i],
                cred,
                service: services[i].0.clone(),
                service_name: services[i].1.clone(),
                permission: permissions[i].clone(),
                connection,
                endpoints: endpoints[i].clone(),
                connections: connections[i].clone(),
            });
        }
        World { app, tenants }
    }

    fn api(&self, who: usize) -> Caller {
        self.app.as_(&self.tenants[who].cred)
    }

    /// `who`'s token with `path_owner`'s project id in the path.
    fn api_in(&self, who: usize, path_owner: usize) -> Caller {
        self.app.caller(
            Some(&self.tenants[who].cred.token),
            &self.tenants[path_owner].cred.project_id,
        )
    }

    /// Everything every tenant can see of its own resources.
    async fn snapshot(&self) -> Value {
        let mut all = serde_json::Map::new();
        for (i, t) in self.tenants.iter().enumerate() {
            let api = self.api(i);
            let mut endpoints = serde_json::Map::new();
            for eid in &t.endpoints {
                endpoints.insert(eid.clone(), api.get_endpoint(eid).await.body);
            }
            all.insert(
                t.name.to_string(),
                json!({
                    "services": api.list_services("limit=1000").await.body,
                    "service": api.get_service(&t.service).await.body,
                    "connections": api.list_connections(&t.service, "limit=1000").await.body,
                    "permissions": list_permissions(&api, &t.service, "limit=500").await.body,
                    "endpoints": api.list_endpoints("limit=1000").await.body,
                    "endpoint details": endpoints,
                }),
            );
        }
        Value::Object(all)
    }
}

// ---------------------------------------------------------------------------------------------
// The operations of the matrix
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    ListServices,
    GetService,
    UpdateService,
    DeleteService,
    Describe,
    ListConnections,
    AcceptOrReject,
    SetDescriptions,
    ListPermissions,
    AddPermissions,
    BatchCreatePermissions,
    BatchDeletePermissions,
    UpdatePermissionDescription,
    ListEndpoints,
    CreateEndpoint,
    GetEndpoint,
    DeleteEndpoint,
}

/// The operations whose path names a service.
const SERVICE_OPS: [Op; 11] = [
    Op::GetService,
    Op::UpdateService,
    Op::DeleteService,
    Op::ListConnections,
    Op::AcceptOrReject,
    Op::SetDescriptions,
    Op::ListPermissions,
    Op::AddPermissions,
    Op::BatchCreatePermissions,
    Op::BatchDeletePermissions,
    Op::UpdatePermissionDescription,
];

/// The operations whose path names an endpoint.
const ENDPOINT_OPS: [Op; 2] = [Op::GetEndpoint, Op::DeleteEndpoint];

/// The operations that name no resource in the path.
const PROJECT_OPS: [Op; 4] = [
    Op::ListServices,
    Op::ListEndpoints,
    Op::CreateEndpoint,
    Op::Describe,
];

/// What an operation acts on. Bodies are valid, so that only "whose is it" can refuse them.
#[derive(Clone, Debug)]
struct Target {
    service: String,
    /// The endpoint in the path (endpoint operations) or in the body (accept/reject, seed).
    endpoint: String,
    permission: String,
    /// The account a whitelist write would admit: the caller's own.
    grantee: String,
}

impl Op {
    async fn run(self, api: &Caller, t: &Target) -> Resp {
        let sid = t.service.as_str();
        let entry = domain_entry(&t.grantee);
        match self {
            Op::ListServices => api.list_services("limit=1000").await,
            Op::GetService => api.get_service(sid).await,
            Op::UpdateService => {
                api.update_service(sid, &json!({"description": "hijacked"}))
                    .await
            }
            Op::DeleteService => api.delete_service(sid).await,
            Op::Describe => api.describe_service(&format!("id={sid}")).await,
            Op::ListConnections => api.list_connections(sid, "limit=1000").await,
            Op::AcceptOrReject => {
                api.accept_or_reject(sid, &json!({"action": "reject", "endpoints": [t.endpoint]}))
                    .await
            }
            Op::SetDescriptions => {
                api.set_descriptions(sid, &[(&t.endpoint, "hijacked")])
                    .await
            }
            Op::ListPermissions => list_permissions(api, sid, "limit=500").await,
            Op::AddPermissions => add_or_remove(api, sid, "add", &[&entry]).await,
            Op::BatchCreatePermissions => {
                batch_create_pairs(api, sid, &[(&entry, "hijacked")]).await
            }
            Op::BatchDeletePermissions => batch_delete_ids(api, sid, &[&t.permission]).await,
            Op::UpdatePermissionDescription => {
                describe_permission(api, sid, &t.permission, "hijacked").await
            }
            Op::ListEndpoints => api.list_endpoints("limit=1000").await,
            Op::CreateEndpoint => api.create_endpoint(&endpoint_body(sid)).await,
            Op::GetEndpoint => api.get_endpoint(&t.endpoint).await,
            Op::DeleteEndpoint => api.delete_endpoint(&t.endpoint).await,
        }
    }

    /// The same target with the resource of the path replaced by a fresh id, the real id, and
    /// the fresh one.
    fn missing(self, t: &Target) -> Option<(Target, String, String)> {
        let fresh = uuid();
        let mut m = t.clone();
        if SERVICE_OPS.contains(&self) {
            m.service = fresh.clone();
            Some((m, t.service.clone(), fresh))
        } else if ENDPOINT_OPS.contains(&self) {
            m.endpoint = fresh.clone();
            Some((m, t.endpoint.clone(), fresh))
        } else {
            None
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Expect {
    Ok,
    Error(u16, &'static str),
}

struct Case {
    label: String,
    api: Caller,
    op: Op,
    target: Target,
    expect: Expect,
}

/// Runs every case and returns every mismatch. A 404 must also be byte-for-byte the answer for
/// a missing resource (the same caller and operation on a fresh id), once that id is put back.
async fn run_cases(cases: &[Case]) -> Vec<String> {
    let mut failures = Vec::new();
    for case in cases {
        let r = case.op.run(&case.api, &case.target).await;
        match case.expect {
            Expect::Ok => {
                if r.status != 200 || !r.body.is_object() {
                    failures.push(format!(
                        "{}: expected 200, got {} {}",
                        case.label, r.status, r.text
                    ));
                }
            }
            Expect::Error(status, code) => {
                if let Some(p) = error_problem(&r, status, &[code]) {
                    failures.push(format!("{}: {p}", case.label));
                } else if status == 404 {
                    if let Some((target, real, fresh)) = case.op.missing(&case.target) {
                        let m = case.op.run(&case.api, &target).await;
                        let missing_body: Value =
                            serde_json::from_str(&m.text.replace(&fresh, &real))
                                .unwrap_or(Value::Null);
                        if m.status != 404 || missing_body != r.body {
                            failures.push(format!(
                                "{}: the foreign resource is distinguishable from a missing one:\n  \
                                 foreign: {} {}\n  missing: {} {}",
                                case.label, r.status, r.text, m.status, m.text
                            ));
                        }
                    }
                }
            }
        }
    }
    failures
}

#[track_caller]
fn assert_no_failures(failures: &[String], total: usize) {
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// The matrix
// ---------------------------------------------------------------------------------------------

/// Every tenant against every other tenant's service and endpoints, in its own project: 404,
/// indistinguishable from missing; and its own resources: 200 (so the 404s are not vacuous).
#[tokio::test]
async fn nobody_reaches_another_tenants_services_or_endpoints() {
    let w = World::build().await;
    let before = w.snapshot().await;
    let mut cases = Vec::new();
    for (o, owner) in w.tenants.iter().enumerate() {
        for (c, caller) in w.tenants.iter().enumerate() {
            let target = Target {
                service: owner.service.clone(),
                endpoint: owner.connection.clone(),
                permission: owner.permission.clone(),
                grantee: caller.cred.domain_id.clone(),
            };
            let ops: &[Op] = if c == o {
                &[
                    Op::GetService,
                    Op::ListConnections,
                    Op::ListPermissions,
                    Op::Describe,
                ]
            } else {
                &SERVICE_OPS
            };
            for &op in ops {
                let expect = if c == o || op == Op::Describe {
                    Expect::Ok
                } else {
                    Expect::Error(404, "EndPoint.0005")
                };
                cases.push(Case {
                    label: format!("{} {op:?} on {}'s service", caller.name, owner.name),
                    api: w.api(c),
                    op,
                    target: target.clone(),
                    expect,
                });
            }
            // Describe is for everyone (that is its purpose).
            if c != o {
                cases.push(Case {
                    label: format!("{} Describe on {}'s service", caller.name, owner.name),
                    api: w.api(c),
                    op: Op::Describe,
                    target: target.clone(),
                    expect: Expect::Ok,
                });
            }
            for eid in &owner.endpoints {
                let target = Target {
                    endpoint: eid.clone(),
                    ..target.clone()
                };
                let ops: &[Op] = if c == o {
                    &[Op::GetEndpoint]
                } else {
                    &ENDPOINT_OPS
                };
                for &op in ops {
                    cases.push(Case {
                        label: format!("{} {op:?} on {}'s endpoint {eid}", caller.name, owner.name),
                        api: w.api(c),
                        op,
                        target: target.clone(),
                        expect: if c == o {
                            Expect::Ok
                        } else {
                            Expect::Error(404, "EndPoint.0005")
                        },
                    });
                }
            }
        }
        // The owner of a service with connections cannot delete it either (3006), which shows
        // that the 404s above are about ownership and not about the connections.
        if !owner.connections.is_empty() {
            cases.push(Case {
                label: format!("{} DeleteService on its own service", owner.name),
                api: w.api(o),
                op: Op::DeleteService,
                target: Target {
                    service: owner.service.clone(),
                    endpoint: owner.connection.clone(),
                    permission: owner.permission.clone(),
                    grantee: owner.cred.domain_id.clone(),
                },
                expect: Expect::Error(400, "EndPoint.3006"),
            });
        }
    }
    let failures = run_cases(&cases).await;
    assert_no_failures(&failures, cases.len());
    let after = w.snapshot().await;
    assert!(
        before == after,
        "the matrix changed what the tenants own:\nbefore: {before:#}\nafter: {after:#}"
    );
}

/// Every tenant's token with another tenant's project id in the path: 403 on every operation,
/// before anything about the resources is considered.
#[tokio::test]
async fn another_projects_path_is_403_for_every_operation() {
    let w = World::build().await;
    let before = w.snapshot().await;
    let mut cases = Vec::new();
    for (o, owner) in w.tenants.iter().enumerate() {
        for (c, caller) in w.tenants.iter().enumerate() {
            if c == o {
                continue;
            }
            let target = Target {
                service: owner.service.clone(),
                endpoint: owner.connection.clone(),
                permission: owner.permission.clone(),
                grantee: caller.cred.domain_id.clone(),
            };
            let mut rows: Vec<(Op, Target)> = SERVICE_OPS
                .iter()
                .chain(PROJECT_OPS.iter())
                .map(|&op| (op, target.clone()))
                .collect();
            for eid in &owner.endpoints {
                for &op in &ENDPOINT_OPS {
                    rows.push((
                        op,
                        Target {
                            endpoint: eid.clone(),
                            ..target.clone()
                        },
                    ));
                }
            }
            for (op, target) in rows {
                cases.push(Case {
                    label: format!(
                        "{} {op:?} in {}'s project path (endpoint {})",
                        caller.name, owner.name, target.endpoint
                    ),
                    api: w.api_in(c, o),
                    op,
                    target,
                    expect: Expect::Error(403, "EndPoint.0004"),
                });
            }
        }
    }
    let failures = run_cases(&cases).await;
    assert_no_failures(&failures, cases.len());
    assert!(before == w.snapshot().await, "a 403 case changed state");
}

// ---------------------------------------------------------------------------------------------
// CreateEndpoint across tenants
// ---------------------------------------------------------------------------------------------

/// The owner's account connects from any of its projects, a whitelisted account from any of its
/// projects, a stranger not at all; and nobody creates in another project's path.
#[tokio::test]
async fn create_endpoint_matrix() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let sibling = app.new_project_in_owner_account();
    let consumer = app.new_account();
    let consumer_b = create_credential(
        &app.db_url,
        &["--name", "consumer-b", "--domain-id", &consumer.domain_id],
    );
    let stranger = app.new_account();
    add_or_remove(&app, &sid, "add", &[&domain_entry(&consumer.domain_id)])
        .await
        .ok();

    let rows: Vec<(&str, &Credential, Expect)> = vec![
        ("owner", &app.owner, Expect::Ok),
        ("sibling project", &sibling, Expect::Ok),
        ("whitelisted consumer", &consumer, Expect::Ok),
        ("consumer's second project", &consumer_b, Expect::Ok),
        ("stranger", &stranger, Expect::Error(400, "EndPoint.2012")),
    ];
    let mut failures = Vec::new();
    let mut created: Vec<(String, &Credential)> = Vec::new();
    for (who, cred, expect) in &rows {
        let r = app.as_(cred).create_endpoint(&endpoint_body(&sid)).await;
        match expect {
            Expect::Ok => {
                if r.status != 200 {
                    failures.push(format!("{who}: expected 200, got {} {}", r.status, r.text));
                    continue;
                }
                if r.body["project_id"] != cred.project_id {
                    failures.push(format!("{who}: endpoint not in its project: {}", r.text));
                }
                created.push((str_of(&r.body["id"]), *cred));
            }
            Expect::Error(status, code) => {
                if let Some(p) = error_problem(&r, *status, &[code]) {
                    failures.push(format!("{who}: {p}"));
                }
            }
        }
        if *who != "owner" {
            let r = app
                .caller(Some(&cred.token), app.project_id())
                .create_endpoint(&endpoint_body(&sid))
                .await;
            if let Some(p) = error_problem(&r, 403, &["EndPoint.0004"]) {
                failures.push(format!("{who} in the owner's project path: {p}"));
            }
        }
    }
    assert_no_failures(&failures, rows.len() * 2 - 1);

    // The owner sees each connection with its consumer's account; each consumer sees only its own.
    let r = app.list_connections(&sid, "limit=1000").await;
    assert_eq!(r.ok()["total_count"], created.len());
    for (eid, cred) in &created {
        let c = app.connection(&sid, eid).await;
        assert_eq!(c["domain_id"], cred.domain_id, "connection {eid}");
        let mine = app.as_(cred).list_endpoints("limit=1000").await;
        assert_eq!(ids_of(&mine.ok()["endpoints"]), vec![eid.clone()]);
        assert_eq!(mine.body["total_count"], 1);
    }
    assert_eq!(
        app.as_(&stranger).list_endpoints("").await.ok()["total_count"],
        0
    );
}

// ---------------------------------------------------------------------------------------------
// Lists
// ---------------------------------------------------------------------------------------------

fn id_set(list: &Value) -> BTreeSet<String> {
    ids_of(list).into_iter().collect()
}

/// What is wrong with a list answer that should hold exactly `want`, if anything.
fn list_problem(what: &str, r: &Resp, key: &str, want: &BTreeSet<String>) -> Option<String> {
    if r.status != 200 || !r.body[key].is_array() {
        return Some(format!("{what}: {} {}", r.status, r.text));
    }
    let got = id_set(&r.body[key]);
    if got != *want || r.body["total_count"] != want.len() {
        return Some(format!(
            "{what}: want {want:?} (total {}), got {got:?} (total_count {})",
            want.len(),
            r.body["total_count"]
        ));
    }
    None
}

/// What is wrong with a `limit=0` answer: an empty page with the true count.
fn count_problem(what: &str, r: &Resp, key: &str, count: usize) -> Option<String> {
    if r.status != 200 || r.body[key] != json!([]) || r.body["total_count"] != count {
        return Some(format!(
            "{what}: want [] and total_count {count}, got {} {}",
            r.status, r.text
        ));
    }
    None
}

/// Every list counts and shows only the caller's own rows, with and without filters that name
/// another tenant's resources.
#[tokio::test]
async fn lists_never_leak_other_tenants_rows_or_counts() {
    let w = World::build().await;
    let mut results: Vec<Option<String>> = Vec::new();
    let none = BTreeSet::new();
    for (i, t) in w.tenants.iter().enumerate() {
        let api = w.api(i);
        let name = t.name;
        let own_service: BTreeSet<String> = [t.service.clone()].into();
        let own_endpoints: BTreeSet<String> = t.endpoints.iter().cloned().collect();
        let own_connections: BTreeSet<String> = t.connections.keys().cloned().collect();
        let own_permissions: BTreeSet<String> = [t.permission.clone()].into();
        let services = "endpoint_services";

        let r = api.list_services("limit=1000").await;
        results.push(list_problem(
            &format!("{name} ListEndpointService"),
            &r,
            services,
            &own_service,
        ));
        let r = api.list_services("limit=0").await;
        results.push(count_problem(
            &format!("{name} ListEndpointService limit=0"),
            &r,
            services,
            1,
        ));
        let r = api.list_endpoints("limit=1000").await;
        results.push(list_problem(
            &format!("{name} ListEndpoints"),
            &r,
            "endpoints",
            &own_endpoints,
        ));
        let r = api.list_endpoints("limit=0").await;
        results.push(count_problem(
            &format!("{name} ListEndpoints limit=0"),
            &r,
            "endpoints",
            own_endpoints.len(),
        ));
        let r = api.list_connections(&t.service, "limit=1000").await;
        results.push(list_problem(
            &format!("{name} ListServiceConnections"),
            &r,
            "connections",
            &own_connections,
        ));
        let r = api.list_connections(&t.service, "limit=0").await;
        results.push(count_problem(
            &format!("{name} ListServiceConnections limit=0"),
            &r,
            "connections",
            own_connections.len(),
        ));
        let r = list_permissions(&api, &t.service, "limit=500").await;
        results.push(list_problem(
            &format!("{name} ListServicePermissionsDetails"),
            &r,
            "permissions",
            &own_permissions,
        ));
        let r = list_permissions(&api, &t.service, "limit=0").await;
        results.push(count_problem(
            &format!("{name} ListServicePermissionsDetails limit=0"),
            &r,
            "permissions",
            1,
        ));

        // Filters that name another tenant's resources find nothing.
        for other in w.tenants.iter().filter(|o| o.name != name) {
            let r = api.list_services(&format!("id={}", other.service)).await;
            results.push(list_problem(
                &format!("{name} ListEndpointService id= {}'s service", other.name),
                &r,
                services,
                &none,
            ));
            let r = api
                .list_services(&format!("endpoint_service_name={}", other.service_name))
                .await;
            results.push(list_problem(
                &format!("{name} ListEndpointService name= {}'s service", other.name),
                &r,
                services,
                &none,
            ));
            for eid in &other.endpoints {
                let r = api.list_endpoints(&format!("id={eid}")).await;
                results.push(list_problem(
                    &format!("{name} ListEndpoints id= {}'s endpoint", other.name),
                    &r,
                    "endpoints",
                    &none,
                ));
            }
        }
        // Endpoints to the owner's service `alpha`: only the caller's own.
        let alpha = &w.tenants[OWNER];
        let want: BTreeSet<String> = t
            .endpoints
            .iter()
            .filter(|e| alpha.connections.contains_key(*e))
            .cloned()
            .collect();
        let r = api
            .list_endpoints(&format!(
                "endpoint_service_name={}&limit=1000",
                alpha.service_name
            ))
            .await;
        results.push(list_problem(
            &format!("{name} ListEndpoints endpoint_service_name= alpha"),
            &r,
            "endpoints",
            &want,
        ));
    }
    let failures: Vec<String> = results.iter().flatten().cloned().collect();
    assert_no_failures(&failures, results.len());
}

/// The owner sees each connection to its service with the consumer's account; the consumer sees
/// its endpoint, but cannot manage the connection from either side of the path.
#[tokio::test]
async fn owner_sees_consumer_accounts_and_consumers_see_only_their_endpoints() {
    let w = World::build().await;
    let owner = &w.tenants[OWNER];
    let consumer = &w.tenants[CONSUMER];
    let eid = consumer.endpoints[0].clone();

    let r = w.app.list_connections(&owner.service, "limit=1000").await;
    let listed: BTreeMap<String, String> = r.ok()["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (str_of(&c["id"]), str_of(&c["domain_id"])))
        .collect();
    assert_eq!(listed, owner.connections);
    assert_eq!(listed[&eid], consumer.cred.domain_id);
    assert_eq!(
        listed[&w.tenants[SIBLING].endpoints[0]], owner.cred.domain_id,
        "a sibling project's connection carries the shared account"
    );

    let api = w.api(CONSUMER);
    let ep = api.get_endpoint(&eid).await.ok().clone();
    assert_eq!(ep["endpoint_service_id"], owner.service);
    assert_eq!(ep["project_id"], consumer.cred.project_id);
    assert_eq!(
        ids_of(&api.list_endpoints("limit=1000").await.ok()["endpoints"]),
        vec![eid.clone()]
    );

    for (path, api, status, code) in [
        ("its own project", w.api(CONSUMER), 404, "EndPoint.0005"),
        (
            "the owner's project",
            w.api_in(CONSUMER, OWNER),
            403,
            "EndPoint.0004",
        ),
    ] {
        let r = api
            .set_descriptions(&owner.service, &[(&eid, "mine")])
            .await;
        r.assert_error(status, code);
        for action in ["receive", "reject"] {
            let r = api
                .accept_or_reject(
                    &owner.service,
                    &json!({"action": action, "endpoints": [&eid]}),
                )
                .await;
            assert!(
                error_problem(&r, status, &[code]).is_none(),
                "{action} in {path}: {} {}",
                r.status,
                r.text
            );
        }
        let r = api.list_connections(&owner.service, "").await;
        r.assert_error(status, code);
    }
    let c = w.app.connection(&owner.service, &eid).await;
    assert_eq!(c["description"], "");
    assert_eq!(c["status"], "accepted");
}

/// ListServiceDescribeDetails shows any tenant's service, the same summary to everyone.
#[tokio::test]
async fn describe_shows_every_tenants_service_to_everyone() {
    let w = World::build().await;
    let mut failures = Vec::new();
    let mut total = 0;
    for (o, owner) in w.tenants.iter().enumerate() {
        let own = w
            .api(o)
            .describe_service(&format!("id={}", owner.service))
            .await
            .ok()
            .clone();
        assert_eq!(own["id"], owner.service);
        for (c, caller) in w.tenants.iter().enumerate() {
            for query in [
                format!("id={}", owner.service),
                format!("endpoint_service_name={}", owner.service_name),
            ] {
                total += 1;
                let r = w.api(c).describe_service(&query).await;
                if r.status != 200 || r.body != own {
                    failures.push(format!(
                        "{} describes {}'s service by {query}: {} {} (owner sees {own})",
                        caller.name, owner.name, r.status, r.text
                    ));
                }
            }
        }
    }
    assert_no_failures(&failures, total);
}

// ---------------------------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------------------------

/// Secret keys are at least 40 characters; access keys, secret keys and tokens never repeat,
/// across new accounts and across projects of one account.
#[test]
fn credentials_have_long_secrets_and_unique_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&dir, "vpcep.db");
    let first = create_credential(&db, &[]);
    let mut creds = vec![first.clone()];
    for i in 1..20 {
        creds.push(if i % 2 == 0 {
            create_credential(&db, &[])
        } else {
            create_credential(&db, &["--domain-id", &first.domain_id])
        });
    }
    for c in &creds {
        assert!(
            c.secret_key.chars().count() >= 40,
            "secret key of {} characters: {:?}",
            c.secret_key.chars().count(),
            c.secret_key
        );
        assert_ne!(c.access_key, c.secret_key);
        assert!(!c.access_key.is_empty());
    }
    let unique = |f: fn(&Credential) -> &str, what: &str| {
        let values: BTreeSet<&str> = creds.iter().map(f).collect();
        assert_eq!(values.len(), creds.len(), "repeated {what}: {creds:?}");
    };
    unique(|c| &c.access_key, "access keys");
    unique(|c| &c.secret_key, "secret keys");
    unique(|c| &c.token, "tokens");
    unique(|c| &c.project_id, "project ids");
}

/// A credential of one project is no credential for another project of the same account.
#[tokio::test]
async fn a_token_is_bound_to_its_project_even_within_one_account() {
    let app = TestApp::spawn();
    let sibling = app.new_project_in_owner_account();
    let sid = app.new_service(false).await;
    app.caller(Some(&sibling.token), app.project_id())
        .get_service(&sid)
        .await
        .assert_error(403, "EndPoint.0004");
    app.caller(Some(app.token()), &sibling.project_id)
        .list_services("")
        .await
        .assert_error(403, "EndPoint.0004");
    // Each token works in its own project.
    app.as_(&sibling).list_services("").await.ok();
    app.get_service(&sid).await.ok();
}
