//! The Go clients over real HTTP, on both backends: requests signed as the Terraform provider's
//! golangsdk signs them (no `host`, `X-Project-Id` added after signing) and as the Go SDK v3
//! signs them (no `host`, no `content-type`), through a whole flow of services, whitelists,
//! endpoints from two projects and two accounts, accept, the seed operation, and deletes; the
//! IAM discovery those clients make at start; and the controls that must still be refused
//! (docs/signing.md §7, §12).

use reqwest::Method;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use crate::signer::{Algo, Client, Key, Req, Signed};
use crate::support::*;

fn key(who: &Credential, algo: Algo) -> Key {
    Key {
        algo,
        ..Key::sha256(who)
    }
}

/// One client acting for one credential.
struct Go<'a> {
    app: &'a TestApp,
    who: &'a Credential,
    client: Client,
    algo: Algo,
}

impl Go<'_> {
    fn req(&self, method: &str, rest: &str) -> Req {
        Req::of(self.client, self.app, &self.who.project_id, method, rest)
    }

    async fn send(&self, req: Req) -> Resp {
        let signed = req.sign(&key(self.who, self.algo));
        self.check_shape(&signed);
        signed.send(self.app).await
    }

    /// The request really has the client's shape: `host` is never signed, and golangsdk leaves
    /// `x-project-id` out, the Go SDK v3 `content-type`.
    #[track_caller]
    fn check_shape(&self, signed: &Signed) {
        let auth = signed.header("Authorization").unwrap_or_default();
        let names = auth
            .split("SignedHeaders=")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .unwrap_or_default();
        let names: Vec<&str> = names.split(';').collect();
        assert!(!names.contains(&"host"), "{auth}");
        match self.client {
            Client::Golangsdk => {
                assert!(!names.contains(&"x-project-id"), "{auth}");
                assert!(names.contains(&"accept"), "{auth}");
            }
            Client::GoSdkV3 => {
                assert!(!names.contains(&"content-type"), "{auth}");
                assert!(names.contains(&"x-project-id"), "{auth}");
            }
            Client::PythonSdk => {}
        }
    }

    async fn get(&self, rest: &str, query: &[(&str, &str)]) -> Resp {
        let mut req = self.req("GET", rest);
        for (k, v) in query {
            req = req.query(k, v);
        }
        self.send(req).await
    }

    async fn with_body(&self, method: &str, rest: &str, body: &Value) -> Resp {
        self.send(self.req(method, rest).json(body)).await
    }

    async fn delete(&self, rest: &str) -> Resp {
        self.send(self.req("DELETE", rest)).await
    }

    /// A POST under `/v2/{project}`: the provider's raw v2 calls, with a JSON body or none
    /// (then no Content-Type either).
    async fn post_v2(&self, rest: &str, body: Option<&Value>) -> Resp {
        let project = &self.who.project_id;
        let mut req = Req::golangsdk_path(self.app, "POST", &format!("/v2/{project}{rest}"))
            .header("X-Project-Id", project);
        if let Some(body) = body {
            req = req.json(body);
        }
        self.send(req).await
    }
}

fn go<'a>(app: &'a TestApp, who: &'a Credential, client: Client, algo: Algo) -> Go<'a> {
    Go {
        app,
        who,
        client,
        algo,
    }
}

/// The whole flow the Terraform configuration of the issue runs, every request signed by
/// `client`: two services (one with approval and a whitelist), endpoints from the owner's second
/// project and from another account, listing with filters, accept, the seed operation on
/// several connections, reading them back, and deleting everything.
async fn whole_flow(client: Client, algo: Algo) {
    let app = TestApp::spawn();
    let owner_cred = app.owner.clone();
    let sibling = app.new_project_in_owner_account();
    let stranger = app.new_account();
    let owner = go(&app, &owner_cred, client, algo);
    let second = go(&app, &sibling, client, algo);
    let other = go(&app, &stranger, client, algo);

    // Two services: one open, one with approval and a whitelist for the other account.
    let open = owner
        .with_body(
            "POST",
            "/vpc-endpoint-services",
            &json!({"port_id": uuid(), "vpc_id": uuid(), "server_type": "VM",
                    "service_name": "open", "approval_enabled": false,
                    "ports": [{"client_port": 80, "server_port": 8080, "protocol": "TCP"}]}),
        )
        .await;
    let open_id = str_of(&open.ok()["id"]);
    let gated = owner
        .with_body(
            "POST",
            "/vpc-endpoint-services",
            &json!({"port_id": uuid(), "vpc_id": uuid(), "server_type": "VM",
                    "service_name": "gated", "approval_enabled": true,
                    "description": "终端节点 with approval",
                    "ports": [{"client_port": 443, "server_port": 8443, "protocol": "TCP"}]}),
        )
        .await;
    let gated_id = str_of(&gated.ok()["id"]);
    let gated_name = str_of(&gated.ok()["service_name"]);
    let svc = |id: &str, rest: &str| format!("/vpc-endpoint-services/{id}{rest}");

    // Before the whitelist, the other account may not connect.
    other
        .with_body("POST", "/vpc-endpoints", &endpoint_body(&gated_id))
        .await
        .assert_error(400, "EndPoint.2012");
    let whitelisted = owner
        .with_body(
            "POST",
            &svc(&gated_id, "/permissions/action"),
            &json!({"action": "add",
                    "permissions": [format!("iam:domain::{}", stranger.domain_id)]}),
        )
        .await;
    whitelisted.ok();
    let perms = owner
        .get(&svc(&gated_id, "/permissions"), &[("limit", "10")])
        .await;
    assert_eq!(perms.ok()["total_count"], 1, "{}", perms.text);

    // Endpoints: from the owner's second project and from the other account, to the gated
    // service; one more from the second project to the open one.
    let from_sibling = second
        .with_body("POST", "/vpc-endpoints", &endpoint_body(&gated_id))
        .await;
    let sibling_ep = str_of(&from_sibling.ok()["id"]);
    assert_eq!(from_sibling.ok()["status"], "pendingAcceptance");
    let from_other = other
        .with_body(
            "POST",
            "/vpc-endpoints",
            &json!({"endpoint_service_id": gated_id, "vpc_id": uuid(), "subnet_id": uuid(),
                    "description": "the consumer's own"}),
        )
        .await;
    let other_ep = str_of(&from_other.ok()["id"]);
    let to_open = second
        .with_body("POST", "/vpc-endpoints", &endpoint_body(&open_id))
        .await;
    let open_ep = str_of(&to_open.ok()["id"]);
    assert_eq!(to_open.ok()["status"], "accepted");

    // Lists with filters, as the data sources send them.
    let services = owner
        .get(
            "/vpc-endpoint-services",
            &[
                ("endpoint_service_name", gated_name.as_str()),
                ("limit", "10"),
                ("offset", "0"),
            ],
        )
        .await;
    assert_eq!(
        ids_of(&services.ok()["endpoint_services"]),
        [gated_id.as_str()]
    );
    let pending = owner
        .get(
            &svc(&gated_id, "/connections"),
            &[("status", "pendingAcceptance"), ("limit", "1000")],
        )
        .await;
    let mut listed = ids_of(&pending.ok()["connections"]);
    listed.sort();
    let mut expected = vec![sibling_ep.clone(), other_ep.clone()];
    expected.sort();
    assert_eq!(listed, expected, "{}", pending.text);
    let marker = pending.ok()["connections"][0]["marker_id"].to_string();
    let by_marker = owner
        .get(
            &svc(&gated_id, "/connections"),
            &[("marker_id", marker.as_str())],
        )
        .await;
    assert_eq!(
        by_marker.ok()["connections"].as_array().map(Vec::len),
        Some(1)
    );
    let mine = second
        .get(
            "/vpc-endpoints",
            &[("endpoint_service_name", gated_name.as_str())],
        )
        .await;
    assert_eq!(ids_of(&mine.ok()["endpoints"]), [sibling_ep.as_str()]);

    // Accept both (huaweicloud_vpcep_approval: one endpoint per call).
    for ep in [&sibling_ep, &other_ep] {
        let accepted = owner
            .with_body(
                "POST",
                &svc(&gated_id, "/connections/action"),
                &json!({"action": "receive", "endpoints": [ep]}),
            )
            .await;
        assert_eq!(accepted.ok()["connections"][0]["status"], "accepted");
    }

    // The seed operation on several connections, then read back one by one.
    let seeded = owner
        .with_body(
            "PUT",
            &svc(&gated_id, "/connections/description"),
            &json!({"connections": [
                {"id": sibling_ep, "description": "终端节点 billing, ticket 42"},
                {"id": other_ep, "description": "partner"},
            ]}),
        )
        .await;
    assert_eq!(seeded.ok()["connections"].as_array().map(Vec::len), Some(2));
    for (ep, want) in [
        (&sibling_ep, "终端节点 billing, ticket 42"),
        (&other_ep, "partner"),
    ] {
        let read = owner
            .get(
                &svc(&gated_id, "/connections"),
                &[("limit", "1000"), ("id", ep.as_str())],
            )
            .await;
        let c = &read.ok()["connections"];
        assert_eq!(ids_of(c), [ep.as_str()]);
        assert_eq!(c[0]["description"], want, "{}", read.text);
        assert_eq!(c[0]["status"], "accepted");
    }
    // The consumer's own description is untouched.
    let theirs = other.get(&format!("/vpc-endpoints/{other_ep}"), &[]).await;
    assert_eq!(theirs.ok()["description"], "the consumer's own");

    // Delete everything, as `terraform destroy` does, and see it gone.
    for (who, ep) in [
        (&second, &sibling_ep),
        (&other, &other_ep),
        (&second, &open_ep),
    ] {
        who.delete(&format!("/vpc-endpoints/{ep}"))
            .await
            .assert_status(204);
        who.get(&format!("/vpc-endpoints/{ep}"), &[])
            .await
            .assert_error(404, "EndPoint.0005");
    }
    for id in [&gated_id, &open_id] {
        owner.delete(&svc(id, "")).await.assert_status(204);
        owner
            .get(&svc(id, ""), &[])
            .await
            .assert_error(404, "EndPoint.0005");
    }
}

#[tokio::test]
async fn golangsdk_signed_whole_flow_succeeds() {
    whole_flow(Client::Golangsdk, Algo::Sha256).await;
}

#[tokio::test]
async fn golangsdk_sm3_signed_whole_flow_succeeds() {
    // The provider's own SM3 signer drops bodies (a client-side bug, docs/terraform.md); the
    // server verifies SM3 signatures over bodies all the same.
    whole_flow(Client::Golangsdk, Algo::Sm3).await;
}

#[tokio::test]
async fn go_sdk_v3_signed_whole_flow_succeeds() {
    whole_flow(Client::GoSdkV3, Algo::Sha256).await;
}

// ----- controls: what is still refused -----

fn list_services(app: &TestApp) -> Req {
    Req::golangsdk(app, app.project_id(), "GET", "/vpc-endpoint-services")
}

fn seed(app: &TestApp, sid: &str, eid: &str) -> Req {
    Req::golangsdk(
        app,
        app.project_id(),
        "PUT",
        &format!("/vpc-endpoint-services/{sid}/connections/description"),
    )
    .json(&json!({"connections": [{"description": "golangsdk", "id": eid}]}))
}

#[track_caller]
fn refused(resp: &Resp, app: &TestApp, signed: &Signed) {
    resp.assert_error(401, "EndPoint.0003");
    assert!(!resp.text.contains(&app.owner.secret_key), "{}", resp.text);
    assert!(!resp.text.contains(&signed.signature), "{}", resp.text);
}

#[tokio::test]
async fn golangsdk_tampered_requests_are_401_and_change_nothing() {
    let app = TestApp::spawn();
    let key = Key::sha256(&app.owner);
    let (sid, eids) = app.service_with_connections(1).await;
    let eid = &eids[0];
    seed(&app, &sid, eid).sign(&key).send(&app).await.ok();
    assert_eq!(app.connection(&sid, eid).await["description"], "golangsdk");

    let mut body = seed(&app, &sid, eid).sign(&key);
    body.replace_in_body("golangsdk", "golangsdK");
    refused(&body.send(&app).await, &app, &body);

    // The same request sent to another of the owner's services.
    let (other_sid, _) = app.service_with_connections(0).await;
    let mut path = seed(&app, &sid, eid).sign(&key);
    path.path = path.path.replace(&sid, &other_sid);
    refused(&path.send(&app).await, &app, &path);

    let mut query = list_services(&app).query("limit", "5").sign(&key);
    query.replace_in_query("limit=5", "limit=6");
    refused(&query.send(&app).await, &app, &query);

    let mut method = list_services(&app).sign(&key);
    method.method = "DELETE".into();
    method.path.push_str(&format!("/{sid}"));
    refused(&method.send(&app).await, &app, &method);

    let mut date = list_services(&app).sign(&key);
    let later = crate::signer::sdk_date(OffsetDateTime::now_utc() + Duration::seconds(1));
    date.set_header("X-Sdk-Date", &later);
    refused(&date.send(&app).await, &app, &date);

    let mut user_agent = list_services(&app).sign(&key);
    user_agent.set_header("User-Agent", "terraform-provider-iac golangsdk/2.0.1");
    refused(&user_agent.send(&app).await, &app, &user_agent);

    let mut dropped = list_services(&app).sign(&key);
    dropped.remove_header("Accept");
    refused(&dropped.send(&app).await, &app, &dropped);

    let wrong = Key {
        secret_key: format!("{}x", app.owner.secret_key),
        ..key.clone()
    };
    let signed = list_services(&app).sign(&wrong);
    refused(&signed.send(&app).await, &app, &signed);

    // Nothing changed on the way.
    assert_eq!(app.connection(&sid, eid).await["description"], "golangsdk");
}

#[tokio::test]
async fn golangsdk_dates_out_of_window_and_unsigned_dates_are_401() {
    let app = TestApp::spawn();
    let key = Key::sha256(&app.owner);
    let now = OffsetDateTime::now_utc();
    for t in [now - Duration::minutes(16), now + Duration::minutes(16)] {
        let signed = list_services(&app).date(t).sign(&key);
        refused(&signed.send(&app).await, &app, &signed);
    }
    let signed = list_services(&app)
        .date(now - Duration::minutes(14))
        .sign(&key);
    signed.send(&app).await.ok();

    let signed = list_services(&app).unsigned("X-Sdk-Date").sign(&key);
    let resp = signed.send(&app).await;
    refused(&resp, &app, &signed);
    assert!(
        resp.assert_error(401, "EndPoint.0003")
            .contains("X-Sdk-Date must be among the signed headers."),
        "{}",
        resp.text
    );
}

#[tokio::test]
async fn golangsdk_malformed_signed_headers_and_unsigned_payloads_are_401() {
    let app = TestApp::spawn();
    let key = Key::sha256(&app.owner);
    let signed = list_services(&app).sign(&key);
    let auth = signed
        .header("Authorization")
        .unwrap_or_default()
        .to_string();
    assert!(
        auth.contains("SignedHeaders=accept;user-agent;x-sdk-date,"),
        "{auth}"
    );
    for bad in [
        "SignedHeaders=user-agent;accept;x-sdk-date,",
        "SignedHeaders=accept;accept;user-agent;x-sdk-date,",
        "SignedHeaders=Accept;user-agent;x-sdk-date,",
        "SignedHeaders=accept;user-agent,",
    ] {
        let mut tampered = signed.clone();
        tampered.set_header(
            "Authorization",
            &auth.replace("SignedHeaders=accept;user-agent;x-sdk-date,", bad),
        );
        refused(&tampered.send(&app).await, &app, &tampered);
    }

    let (sid, eids) = app.service_with_connections(1).await;
    let signed = seed(&app, &sid, &eids[0])
        .header("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD")
        .sign(&key);
    refused(&signed.send(&app).await, &app, &signed);
    assert_eq!(app.connection(&sid, &eids[0]).await["description"], "");
}

#[tokio::test]
async fn host_need_not_be_signed_but_a_signed_host_must_match() {
    let app = TestApp::spawn();
    let key = Key::sha256(&app.owner);
    // Unsigned: any Host gets through the signature (it is not what the client signed).
    let mut unsigned = list_services(&app).sign(&key);
    unsigned.set_header("Host", "vpcep.example.com:8400");
    unsigned.send(&app).await.ok();
    // Signed, as the Python SDK and a Go SDK v3 caller that adds Host do: verified as received.
    let signed = Req::sdk(&app, app.project_id(), "GET", "/vpc-endpoint-services").sign(&key);
    assert!(signed.canonical_request.contains("\nhost:"));
    signed.send(&app).await.ok();
    let mut moved = signed.clone();
    moved.set_header("Host", "vpcep.example.com:8400");
    refused(&moved.send(&app).await, &app, &moved);
}

#[tokio::test]
async fn unsigned_x_project_id_must_name_the_paths_project() {
    let app = TestApp::spawn();
    let key = Key::sha256(&app.owner);
    let sibling = app.new_project_in_owner_account();
    // The provider's own shape: sent after signing, naming the path's project.
    let signed = list_services(&app).sign(&key);
    assert_eq!(signed.header("X-Project-Id"), Some(app.project_id()));
    assert!(!signed.canonical_request.contains("x-project-id"));
    signed.send(&app).await.ok();
    // Without it at all.
    let mut absent = list_services(&app).sign(&key);
    absent.remove_header("X-Project-Id");
    absent.send(&app).await.ok();
    // Another project of the same account, unsigned: 403, as when it is signed.
    let mut other = list_services(&app).sign(&key);
    other.set_header("X-Project-Id", &sibling.project_id);
    other.send(&app).await.assert_error(403, "EndPoint.0004");
    let mut twice = list_services(&app).sign(&key);
    twice.append_header("X-Project-Id", &sibling.project_id);
    twice.send(&app).await.assert_error(403, "EndPoint.0004");
    // Letter case does not matter (ids are compared case-insensitively).
    let mut upper = list_services(&app).sign(&key);
    upper.set_header("X-Project-Id", &app.project_id().to_ascii_uppercase());
    upper.send(&app).await.ok();
    // A token request with a foreign X-Project-Id is refused alike.
    let resp = Resp::from_reqwest(
        app.client
            .get(app.project_url("/vpc-endpoint-services"))
            .header("X-Auth-Token", app.token())
            .header("X-Project-Id", &sibling.project_id)
            .send()
            .await
            .expect("send"),
    )
    .await;
    resp.assert_error(403, "EndPoint.0004");
}

// ----- IAM discovery -----

fn iam(app: &TestApp, client: Client, path: &str) -> Req {
    match client {
        Client::PythonSdk => Req::sdk_iam(app, "GET", path),
        _ => Req::golangsdk_path(app, "GET", path),
    }
}

#[tokio::test]
async fn iam_discovery_answers_from_the_calling_credential() {
    let app = TestApp::spawn();
    let stranger = app.new_account();
    for client in [Client::Golangsdk, Client::PythonSdk] {
        for who in [&app.owner, &stranger] {
            for algo in [Algo::Sha256, Algo::Sm3] {
                let k = key(who, algo);
                let domains = iam(&app, client, "/v3/auth/domains")
                    .sign(&k)
                    .send(&app)
                    .await;
                let d = &domains.ok()["domains"];
                assert_eq!(d.as_array().map(Vec::len), Some(1), "{}", domains.text);
                assert_eq!(d[0]["id"], who.domain_id.as_str());
                assert_eq!(d[0]["name"], who.domain_id.as_str());
                assert_eq!(d[0]["enabled"], true);

                let projects = iam(&app, client, "/v3/projects")
                    .query("name", "local-1")
                    .sign(&k)
                    .send(&app)
                    .await;
                let p = &projects.ok()["projects"];
                assert_eq!(p.as_array().map(Vec::len), Some(1), "{}", projects.text);
                assert_eq!(p[0]["id"], who.project_id.as_str());
                assert_eq!(p[0]["name"], "local-1");
                assert_eq!(p[0]["domain_id"], who.domain_id.as_str());
                assert_eq!(projects.ok()["links"]["next"], Value::Null);

                let catalog = iam(&app, client, "/v3/auth/catalog")
                    .sign(&k)
                    .send(&app)
                    .await;
                let entries = &catalog.ok()["catalog"];
                let vpcep = entries
                    .as_array()
                    .and_then(|a| a.iter().find(|e| e["type"] == "vpcep"))
                    .unwrap_or_else(|| panic!("no vpcep entry: {}", catalog.text));
                assert_eq!(
                    vpcep["endpoints"][0]["url"],
                    format!("{}/v1/{}", app.base(), who.project_id).as_str()
                );
                assert_eq!(vpcep["endpoints"][0]["region"], "local-1");

                let auth_projects = iam(&app, client, "/v3/auth/projects")
                    .sign(&k)
                    .send(&app)
                    .await;
                assert_eq!(
                    ids_of(&auth_projects.ok()["projects"]),
                    [who.project_id.as_str()]
                );
            }
        }
    }
}

#[tokio::test]
async fn iam_project_lookup_by_another_region_or_filter_finds_nothing() {
    let app = TestApp::builder().arg("--region").arg("eu-test-7").spawn();
    let k = Key::sha256(&app.owner);
    let lookup = |query: &[(&str, &str)]| {
        let mut req = iam(&app, Client::Golangsdk, "/v3/projects");
        for (name, value) in query {
            req = req.query(name, value);
        }
        req.sign(&k)
    };
    let count = |r: &Resp| r.ok()["projects"].as_array().map(Vec::len);
    let found = lookup(&[("name", "eu-test-7")]).send(&app).await;
    assert_eq!(count(&found), Some(1), "{}", found.text);
    assert_eq!(count(&lookup(&[]).send(&app).await), Some(1));
    let domain = app.domain_id().to_string();
    for query in [
        vec![("name", "local-1")],
        vec![("name", "EU-TEST-7")],
        vec![("name", "")],
        vec![("name", "eu-test-7"), ("domain_id", "0123")],
        vec![("parent_id", app.project_id())],
        vec![("enabled", "false")],
        vec![("is_domain", "true")],
    ] {
        let resp = lookup(&query).send(&app).await;
        assert_eq!(count(&resp), Some(0), "{query:?}: {}", resp.text);
    }
    let both = lookup(&[
        ("domain_id", &domain),
        ("parent_id", &domain),
        ("enabled", "True"),
    ])
    .send(&app)
    .await;
    assert_eq!(count(&both), Some(1), "{}", both.text);
    lookup(&[("enabled", "maybe")])
        .send(&app)
        .await
        .assert_error(400, "EndPoint.0002");
}

#[tokio::test]
async fn iam_discovery_is_authenticated_like_every_route() {
    let app = TestApp::spawn();
    let k = Key::sha256(&app.owner);
    let sibling = app.new_project_in_owner_account();
    for path in [
        "/v3/auth/domains",
        "/v3/projects",
        "/v3/auth/projects",
        "/v3/auth/catalog",
    ] {
        // A token works too; nothing is 401.
        app.plain(Method::GET, path, Some(app.token())).await.ok();
        let none = app.plain(Method::GET, path, None).await;
        none.assert_error(401, "EndPoint.0003");
        // A tampered or stale signature: 401.
        let mut tampered = iam(&app, Client::Golangsdk, path).sign(&k);
        tampered.set_header("User-Agent", "curl/8");
        refused(&tampered.send(&app).await, &app, &tampered);
        let stale = iam(&app, Client::Golangsdk, path)
            .date(OffsetDateTime::now_utc() - Duration::minutes(20))
            .sign(&k);
        refused(&stale.send(&app).await, &app, &stale);
        // An X-Project-Id of another project: 403.
        let mut foreign = iam(&app, Client::Golangsdk, path).sign(&k);
        foreign.set_header("X-Project-Id", &sibling.project_id);
        foreign.send(&app).await.assert_error(403, "EndPoint.0004");
        // Other methods: 405 with Allow.
        let post = app.plain(Method::POST, path, Some(app.token())).await;
        post.assert_error(405, "EndPoint.0002");
    }
}

/// The provider's resources and data sources beyond the first release, request by request as
/// `huaweicloud/services/vpcep/` makes them (golangsdk signing; the success codes each call
/// accepts): public services (paged by offset until a page is empty), quotas, tags and
/// resources by tags (a string `limit`, an integer `offset`, until `resources` is empty), a
/// gateway endpoint with route tables and a policy, tag updates (delete the old map, then create
/// the new), and the v2 upgrade and add-servers resources (no body; only 204 counts).
#[tokio::test]
async fn golangsdk_terraform_surface_beyond_the_first_release() {
    let app = TestApp::spawn();
    let owner_cred = app.owner.clone();
    let tf = go(&app, &owner_cred, Client::Golangsdk, Algo::Sha256);

    // data "huaweicloud_vpcep_public_services" { service_name = "obs" }
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let q = offset.to_string();
        let page = tf
            .get(
                "/vpc-endpoint-services/public",
                &[("endpoint_service_name", "obs"), ("offset", &q)],
            )
            .await;
        let items = page.ok()["endpoint_services"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if items.is_empty() {
            break;
        }
        offset += items.len();
        seen.extend(items);
    }
    assert_eq!(seen.len(), 1, "{seen:?}");
    let obs = &seen[0];
    for key in ["id", "owner", "service_name", "service_type", "is_charge"] {
        assert!(obs.get(key).is_some(), "{key} in {obs}");
    }
    let obs_id = str_of(&obs["id"]);

    // data "huaweicloud_vpcep_quotas" { type = "endpoint" }
    let q = tf.get("/quotas", &[("type", "endpoint")]).await;
    assert_eq!(q.ok()["quotas"]["resources"][0]["type"], "endpoint");

    // resource "huaweicloud_vpcep_endpoint" to the gateway service, with a policy.
    let vpc = uuid();
    let (rt1, rt2) = (uuid(), uuid());
    let stmt = json!([{"Effect": "Allow", "Action": ["obs:*:*"], "Resource": ["obs:*:*:*:*/*"]}]);
    let created = tf
        .with_body(
            "POST",
            "/vpc-endpoints",
            &json!({"endpoint_service_id": obs_id, "vpc_id": vpc,
                    "routetables": [rt1], "enable_dns": false, "policy_statement": stmt,
                    "tags": [{"key": "foo0", "value": "bar0"}]}),
        )
        .await;
    created.assert_status(200);
    let eid = str_of(&created.ok()["id"]);
    let read = tf.get(&format!("/vpc-endpoints/{eid}"), &[]).await;
    let ep = read.ok();
    assert_eq!(
        (ep["status"].as_str(), ep["service_type"].as_str()),
        (Some("accepted"), Some("gateway"))
    );
    assert_eq!(ep["routetables"], json!([rt1]));
    assert_eq!(ep["policy_statement"], stmt);
    // Update: routetables, then the policy, then the tags (delete old, create new).
    let r = tf
        .with_body(
            "PUT",
            &format!("/vpc-endpoints/{eid}/routetables"),
            &json!({"routetables": [rt1, rt2]}),
        )
        .await;
    assert_eq!(r.ok()["routetables"], json!([rt1, rt2]));
    let stmt2 = json!([{"Effect": "Deny", "Action": ["obs:object:DeleteObject"], "Resource": ["obs:*:*:*:*/*"]}]);
    tf.with_body(
        "PUT",
        &format!("/vpc-endpoints/{eid}/policy"),
        &json!({"policy_statement": stmt2}),
    )
    .await
    .assert_status(200);
    for (action, tags) in [
        ("delete", json!([{"key": "foo0", "value": "bar0"}])),
        ("create", json!([{"key": "foo1", "value": "bar1"}])),
    ] {
        let r = tf
            .with_body(
                "POST",
                &format!("/endpoint/{eid}/tags/action"),
                &json!({"action": action, "tags": tags}),
            )
            .await;
        assert!([200, 204].contains(&r.status), "{}", r.text);
    }
    let ep = tf
        .get(&format!("/vpc-endpoints/{eid}"), &[])
        .await
        .ok()
        .clone();
    assert_eq!(
        (ep["routetables"].clone(), ep["policy_statement"].clone()),
        (json!([rt1, rt2]), stmt2)
    );
    assert_eq!(ep["tags"], json!([{"key": "foo1", "value": "bar1"}]));

    // resource "huaweicloud_vpcep_service" with tags, upgraded, with ELB backends.
    let svc = tf
        .with_body(
            "POST",
            "/vpc-endpoint-services",
            &json!({"port_id": uuid(), "vpc_id": uuid(), "server_type": "LB", "service_name": "tf",
                    "approval_enabled": false, "service_type": "interface",
                    "ports": [{"client_port": 80, "server_port": 8080, "protocol": "TCP"}],
                    "tags": [{"key": "foo0", "value": "a"}, {"key": "foo1", "value": "b"}]}),
        )
        .await;
    let sid = str_of(&svc.ok()["id"]);
    tf.post_v2(&format!("/vpc-endpoint-services/{sid}/upgrade"), None)
        .await
        .assert_status(204);
    let sep = str_of(
        &tf.with_body("POST", "/vpc-endpoints", &endpoint_body(&sid))
            .await
            .ok()["id"],
    );
    tf.post_v2(&format!("/vpc-endpoints/{sep}/upgrade"), None)
        .await
        .assert_status(204);
    tf.post_v2(
        &format!("/vpc-endpoint-services/{sid}/add-server-resources"),
        Some(&json!({"server_resources": [{"resource_id": uuid(), "availability_zone_id": null}]})),
    )
    .await
    .assert_status(204);
    let detail = tf
        .get(&format!("/vpc-endpoint-services/{sid}"), &[])
        .await
        .ok()
        .clone();
    assert_eq!(detail["supported_editions"], json!(["basic", "profession"]));
    assert_eq!(detail["server_resources"].as_array().map(Vec::len), Some(1));
    let ep = tf
        .get(&format!("/vpc-endpoints/{sep}"), &[])
        .await
        .ok()
        .clone();
    assert_eq!(ep["specification_name"], "profession");

    // data "huaweicloud_vpcep_tags" { resource_type = "endpoint_service" }
    let tags = tf
        .send(
            tf.req("GET", "/endpoint_service/tags")
                .header("Content-Type", "application/json"),
        )
        .await;
    assert_eq!(
        tags.ok()["tags"],
        json!([{"key": "foo0", "values": ["a"]}, {"key": "foo1", "values": ["b"]}])
    );

    // data "huaweicloud_vpcep_resources_by_tags": filter pages until empty, then count.
    let mut found = Vec::new();
    let mut offset = 0;
    loop {
        let body = json!({"action": "filter", "tags": [{"key": "foo0", "values": ["a"]}],
                          "limit": "1000", "offset": offset});
        let page = tf
            .with_body("POST", "/endpoint_service/resource_instances/action", &body)
            .await;
        assert_eq!(page.ok()["total_count"], 1);
        let items = page.ok()["resources"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if items.is_empty() {
            break;
        }
        offset += items.len();
        found.extend(items);
    }
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["resource_id"], json!(sid));
    assert_eq!(found[0]["tags"][0]["key"], "foo0");
    assert_eq!(found[0]["tags"][1]["key"], "foo1");
    let count = tf
        .with_body(
            "POST",
            "/endpoint/resource_instances/action",
            &json!({"action": "count", "matches": [{"key": "resource_name", "value": eid}]}),
        )
        .await;
    assert_eq!(count.ok(), &json!({"total_count": 1}));

    // Destroy: endpoints, then the service; each read after is 404.
    for id in [&eid, &sep] {
        tf.delete(&format!("/vpc-endpoints/{id}"))
            .await
            .assert_status(204);
        tf.get(&format!("/vpc-endpoints/{id}"), &[])
            .await
            .assert_error(404, "EndPoint.0005");
    }
    tf.delete(&format!("/vpc-endpoint-services/{sid}"))
        .await
        .assert_status(204);
}
