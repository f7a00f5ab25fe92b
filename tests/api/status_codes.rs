//! Status codes, the order of checks and connection handling (docs/api.md §2).

use std::collections::HashSet;
use std::io;
use std::io::Write;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::support::metrics::{scrape, value};
use crate::support::*;

const SHORT: Duration = Duration::from_secs(5);

async fn get_with_accept(app: &TestApp, path: &str, token: Option<&str>, accept: &str) -> Resp {
    let mut rb = app.client.get(app.url(path)).header("Accept", accept);
    if let Some(token) = token {
        rb = rb.header("X-Auth-Token", token);
    }
    Resp::from_reqwest(rb.send().await.expect("send")).await
}

fn allow_methods(r: &Resp) -> Vec<String> {
    let allow = r
        .header("allow")
        .unwrap_or_else(|| panic!("405 without an Allow header: {:?}", r.headers));
    allow
        .split(',')
        .map(|m| m.trim().to_ascii_uppercase())
        .filter(|m| !m.is_empty())
        .collect()
}

#[tokio::test]
async fn unknown_routes_are_404_with_a_json_body() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let r = Resp::from_reqwest(
        app.client
            .get(app.url("/no-such-thing"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.assert_error(404, "EndPoint.0005");
    for rest in [
        "/no-such-thing",
        &format!("/vpc-endpoint-services/{sid}/no-such-thing"),
    ] {
        app.call(Method::GET, rest, None)
            .await
            .assert_error(404, "EndPoint.0005");
    }
}

#[tokio::test]
async fn unknown_route_beats_missing_token() {
    let app = TestApp::spawn();
    let anonymous = app.caller(None, app.project_id());
    anonymous
        .call(Method::GET, "/no-such-thing", None)
        .await
        .assert_error(404, "EndPoint.0005");
    // ...and the Accept check too.
    let path = format!("/v1/{}/no-such-thing", app.project_id());
    get_with_accept(&app, &path, None, "text/html")
        .await
        .assert_error(404, "EndPoint.0005");
}

#[tokio::test]
async fn wrong_method_is_405_with_allow_header() {
    let app = TestApp::spawn();
    let r = app
        .call(Method::DELETE, "/vpc-endpoint-services", None)
        .await;
    r.assert_error(405, "EndPoint.0002");
    let allow = allow_methods(&r);
    assert!(
        allow.contains(&"GET".into()) && allow.contains(&"POST".into()),
        "Allow: {allow:?}"
    );
    assert!(!allow.contains(&"DELETE".into()), "Allow: {allow:?}");

    let sid = app.new_service(false).await;
    let r = app
        .call(
            Method::PATCH,
            &format!("/vpc-endpoint-services/{sid}/connections/description"),
            None,
        )
        .await;
    r.assert_error(405, "EndPoint.0002");
    assert!(
        allow_methods(&r).contains(&"PUT".into()),
        "Allow: {:?}",
        allow_methods(&r)
    );

    let r = Resp::from_reqwest(app.client.post(app.url("/health")).send().await.unwrap()).await;
    r.assert_error(405, "EndPoint.0002");
    assert!(allow_methods(&r).contains(&"GET".into()));
}

#[tokio::test]
async fn method_405_beats_406_and_401() {
    let app = TestApp::spawn();
    let r = app
        .client
        .delete(app.url(&format!("/v1/{}/vpc-endpoint-services", app.project_id())))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    let r = Resp::from_reqwest(r).await;
    r.assert_error(405, "EndPoint.0002");
    allow_methods(&r);
}

#[tokio::test]
async fn accept_without_json_is_406() {
    let app = TestApp::spawn();
    let path = format!("/v1/{}/vpc-endpoint-services", app.project_id());
    for accept in [
        "text/html",
        "application/xml",
        "text/*",
        "application/json;q=0",
    ] {
        get_with_accept(&app, &path, Some(app.token()), accept)
            .await
            .assert_error(406, "EndPoint.0002");
    }
}

#[tokio::test]
async fn accept_headers_that_admit_json_are_fine() {
    let app = TestApp::spawn();
    let path = format!("/v1/{}/vpc-endpoint-services", app.project_id());
    for accept in [
        "*/*",
        "application/*",
        "application/json",
        "application/json;charset=UTF-8",
        "text/html, application/json",
    ] {
        let r = get_with_accept(&app, &path, Some(app.token()), accept).await;
        assert_eq!(r.ok()["total_count"], 0, "Accept {accept:?}");
    }
    // No Accept header at all (reqwest always sends one, so go raw).
    let mut conn = app.raw();
    let head = request_head(app.addr(), "GET", &path, &[("X-Auth-Token", app.token())]);
    conn.send(head.as_bytes()).unwrap();
    let r = conn.read_response(SHORT).unwrap().expect("a response");
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
}

#[tokio::test]
async fn not_acceptable_406_beats_missing_token() {
    let app = TestApp::spawn();
    let path = format!("/v1/{}/vpc-endpoint-services", app.project_id());
    get_with_accept(&app, &path, None, "text/html")
        .await
        .assert_error(406, "EndPoint.0002");
}

#[tokio::test]
async fn missing_token_beats_malformed_path_ids() {
    let app = TestApp::spawn();
    let p = app.project_id();
    let paths = [
        "/v1/bad_project/vpc-endpoint-services".to_string(),
        format!("/v1/{p}/vpc-endpoint-services/bad_id"),
        format!("/v1/{p}/vpc-endpoints/bad_id"),
        format!("/v1/{p}/vpc-endpoint-services/bad_id/connections"),
    ];
    for path in &paths {
        let r = Resp::from_reqwest(app.client.get(app.url(path)).send().await.unwrap()).await;
        r.assert_error(401, "EndPoint.0003");
        let r = Resp::from_reqwest(
            app.client
                .get(app.url(path))
                .header("X-Auth-Token", "bogus")
                .send()
                .await
                .unwrap(),
        )
        .await;
        r.assert_error(401, "EndPoint.0003");
    }
}

#[tokio::test]
async fn malformed_project_id_is_0014_before_403() {
    let app = TestApp::spawn();
    let too_long = "a".repeat(65);
    for project in ["abc_def", "abc.def", too_long.as_str()] {
        app.caller(Some(app.token()), project)
            .list_services("")
            .await
            .assert_error(400, "EndPoint.0014");
    }
    // Well-formed but not the caller's: 403.
    let longest = "a".repeat(64);
    for project in ["a", longest.as_str(), "0123456789abcdef0123456789abcdef"] {
        app.caller(Some(app.token()), project)
            .list_services("")
            .await
            .assert_error(403, "EndPoint.0004");
    }
}

#[tokio::test]
async fn malformed_service_id_is_3062() {
    let app = TestApp::spawn();
    let other = app.new_account();
    let too_long = "a".repeat(65);
    let body = json!({"connections": [{"id": uuid(), "description": "x"}]});
    let action = json!({"action": "receive", "endpoints": [uuid()]});
    // Path syntax (400) comes before the project match (403).
    for api in [
        (*app).clone(),
        app.caller(Some(app.token()), &other.project_id),
    ] {
        for sid in ["bad_id", "a.b", too_long.as_str()] {
            api.get_service(sid)
                .await
                .assert_error(400, "EndPoint.3062");
            api.update_service(sid, &json!({"description": "x"}))
                .await
                .assert_error(400, "EndPoint.3062");
            api.delete_service(sid)
                .await
                .assert_error(400, "EndPoint.3062");
            api.list_connections(sid, "")
                .await
                .assert_error(400, "EndPoint.3062");
            api.accept_or_reject(sid, &action)
                .await
                .assert_error(400, "EndPoint.3062");
            api.update_connection_descriptions(sid, &body)
                .await
                .assert_error(400, "EndPoint.3062");
        }
    }
}

#[tokio::test]
async fn malformed_endpoint_id_is_2017() {
    let app = TestApp::spawn();
    let other = app.new_account();
    let too_long = "a".repeat(65);
    for api in [
        (*app).clone(),
        app.caller(Some(app.token()), &other.project_id),
    ] {
        for eid in ["bad_id", "a.b", too_long.as_str()] {
            api.get_endpoint(eid)
                .await
                .assert_error(400, "EndPoint.2017");
            api.delete_endpoint(eid)
                .await
                .assert_error(400, "EndPoint.2017");
        }
    }
}

fn seed_put_head(app: &TestApp, project: &str, headers: &[(&str, &str)]) -> String {
    let path = format!(
        "/v1/{project}/vpc-endpoint-services/{}/connections/description",
        uuid()
    );
    let mut all = vec![
        ("X-Auth-Token", app.token()),
        ("Content-Type", "application/json"),
    ];
    all.extend_from_slice(headers);
    request_head(app.addr(), "PUT", &path, &all)
}

#[tokio::test]
async fn forbidden_403_beats_payload_too_large() {
    let app = TestApp::spawn();
    let other = app.new_account();
    let mut conn = app.raw();
    let head = seed_put_head(&app, &other.project_id, &[("Content-Length", "10000000")]);
    conn.send(head.as_bytes()).unwrap();
    let r = conn.read_response(SHORT).unwrap().expect("a response");
    r.assert_error(403, "EndPoint.0004");
}

#[tokio::test]
async fn payload_too_large_is_decided_from_content_length_before_the_body() {
    let app = TestApp::spawn();
    for length in ["4194305", "10000000", "1000000000000"] {
        let mut conn = app.raw();
        let head = seed_put_head(&app, app.project_id(), &[("Content-Length", length)]);
        conn.send(head.as_bytes()).unwrap();
        let started = Instant::now();
        let r = conn
            .read_response(SHORT)
            .unwrap_or_else(|e| panic!("no prompt response for Content-Length {length}: {e}"))
            .expect("a response");
        r.assert_error(413, "EndPoint.0002");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "413 was not prompt"
        );
    }
}

#[tokio::test]
async fn payload_too_large_beats_body_syntax() {
    let app = TestApp::with_args(&["--max-body-bytes", "1024"]);
    let mut conn = app.raw();
    let garbage = "x".repeat(2000);
    let head = seed_put_head(&app, app.project_id(), &[("Content-Length", "2000")]);
    conn.send(format!("{head}{garbage}").as_bytes()).unwrap();
    let r = conn.read_response(SHORT).unwrap().expect("a response");
    r.assert_error(413, "EndPoint.0002");
}

fn chunked(body: &[u8], chunk: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in body.chunks(chunk) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[tokio::test]
async fn chunked_body_over_the_limit_is_413() {
    let app = TestApp::with_args(&["--max-body-bytes", "1024"]);
    let (sid, ids) = app.service_with_connections(1).await;
    let path = app.seed_path(&sid);
    let headers = [
        ("X-Auth-Token", app.token()),
        ("Content-Type", "application/json"),
        ("Transfer-Encoding", "chunked"),
    ];

    // A small chunked body is fine.
    let small = json!({"connections": [{"id": ids[0], "description": "chunked"}]}).to_string();
    let mut conn = app.raw();
    let mut bytes = request_head(app.addr(), "PUT", &path, &headers).into_bytes();
    bytes.extend(chunked(small.as_bytes(), 16));
    conn.send(&bytes).unwrap();
    let r = conn.read_response(SHORT).unwrap().expect("a response");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["connections"][0]["description"], "chunked");

    // Over the limit: a valid JSON document of 4000 bytes, sent in chunks of 500.
    let big =
        json!({"connections": [{"id": ids[0], "description": "big"}], "pad": "p".repeat(4000)})
            .to_string();
    let mut conn = app.raw();
    let head = request_head(app.addr(), "PUT", &path, &headers);
    conn.send(head.as_bytes()).unwrap();
    let mut writer = conn.writer();
    let body = chunked(big.as_bytes(), 500);
    // The server may answer and close before reading everything; write errors are expected then.
    let feeder = std::thread::spawn(move || {
        for piece in body.chunks(600) {
            if writer.write_all(piece).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let r = conn.read_response(SHORT).unwrap().expect("a response");
    feeder.join().unwrap();
    r.assert_error(413, "EndPoint.0002");
    assert_eq!(
        app.connection(&sid, &ids[0]).await["description"],
        "chunked"
    );
}

#[tokio::test]
async fn stalled_body_is_408() {
    let app = TestApp::with_args(&["--read-timeout", "1s"]);
    let (sid, _) = app.service_with_connections(1).await;
    let head = app.seed_head(&sid, "100");
    let mut conn = app.raw();
    conn.send(format!("{head}{{\"connecti").as_bytes()).unwrap();
    let started = Instant::now();
    let r = conn
        .read_response(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("no 408 within 10 s: {e}"))
        .expect("a 408 response, not a silent close");
    let waited = started.elapsed();
    r.assert_error(408, "EndPoint.0013");
    assert!(
        waited >= Duration::from_millis(800),
        "408 came before the read timeout: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(6),
        "408 came long after the read timeout: {waited:?}"
    );
}

#[tokio::test]
async fn default_read_timeout_does_not_cut_a_slow_but_steady_client() {
    let app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    let body = json!({"connections": [{"id": ids[0], "description": "slow"}]}).to_string();
    let len = body.len().to_string();
    let head = app.seed_head(&sid, &len);
    let mut conn = app.raw();
    conn.send(head.as_bytes()).unwrap();
    let (a, b) = body.split_at(body.len() / 2);
    conn.send(a.as_bytes()).unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    conn.send(b.as_bytes()).unwrap();
    let r = conn.read_response(SHORT).unwrap().expect("a response");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

/// After `first` (a whole request), the same connection either serves GET /health or is closed.
fn assert_connection_usable_after(
    app: &TestApp,
    first: &[u8],
    status: u16,
    code: &str,
    pipelined: bool,
) {
    let health = request_head(app.addr(), "GET", "/health", &[]);
    let mut conn = app.raw();
    if pipelined {
        let mut both = first.to_vec();
        both.extend_from_slice(health.as_bytes());
        conn.send(&both).unwrap();
    } else {
        conn.send(first).unwrap();
    }
    let r = conn.read_response(SHORT).unwrap().expect("a response");
    r.assert_error(status, code);
    if !pipelined && conn.send(health.as_bytes()).is_err() {
        return; // closed: acceptable
    }
    match conn.read_response(SHORT) {
        Ok(None) => {}
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
            ) => {}
        Ok(Some(next)) => {
            assert_eq!(
                next.status, 200,
                "next response on the connection: {next:?}"
            );
            assert_eq!(next.json(), json!({"status": "ok"}));
        }
        Err(e) => panic!(
            "after a {status}, the connection gave neither a clean close nor a valid response: {e}"
        ),
    }
}

#[tokio::test]
async fn connection_stays_usable_or_closes_cleanly_after_errors() {
    let app = TestApp::spawn();
    let (sid, _) = app.service_with_connections(1).await;
    let other = app.new_account();
    let p = app.project_id();
    let token = app.token();
    let seed_path = format!("/v1/{p}/vpc-endpoint-services/{sid}/connections/description");
    let unknown_id_body = json!({"connections": [{"id": uuid(), "description": "x"}]}).to_string();
    let with_body = |method: &str, path: &str, headers: &[(&str, &str)], body: &str| -> Vec<u8> {
        let len = body.len().to_string();
        let mut all = vec![
            ("Content-Type", "application/json"),
            ("Content-Length", len.as_str()),
        ];
        all.extend_from_slice(headers);
        format!("{}{body}", request_head(app.addr(), method, path, &all)).into_bytes()
    };
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (
            with_body(
                "POST",
                &format!("/v1/{p}/no-such"),
                &[("X-Auth-Token", token)],
                &unknown_id_body,
            ),
            404,
            "EndPoint.0005",
        ),
        (
            with_body(
                "DELETE",
                &format!("/v1/{p}/vpc-endpoint-services"),
                &[("X-Auth-Token", token)],
                &unknown_id_body,
            ),
            405,
            "EndPoint.0002",
        ),
        (
            with_body("PUT", &seed_path, &[], &unknown_id_body),
            401,
            "EndPoint.0003",
        ),
        (
            with_body(
                "PUT",
                &seed_path.replace(p, &other.project_id),
                &[("X-Auth-Token", token)],
                &unknown_id_body,
            ),
            403,
            "EndPoint.0004",
        ),
        (
            with_body(
                "PUT",
                &seed_path,
                &[("X-Auth-Token", token)],
                "{\"connections\": [nope",
            ),
            400,
            "EndPoint.0002",
        ),
        (
            with_body(
                "PUT",
                &seed_path,
                &[("X-Auth-Token", token)],
                &unknown_id_body,
            ),
            400,
            "EndPoint.2013",
        ),
        (
            with_body(
                "PUT",
                &seed_path,
                &[("X-Auth-Token", token), ("Accept", "text/html")],
                &unknown_id_body,
            ),
            406,
            "EndPoint.0002",
        ),
    ];
    for (first, status, code) in &cases {
        for pipelined in [false, true] {
            assert_connection_usable_after(&app, first, *status, code, pipelined);
        }
    }
}

#[tokio::test]
async fn every_response_has_a_distinct_request_id() {
    let app = TestApp::spawn();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let health =
            Resp::from_reqwest(app.client.get(app.url("/health")).send().await.unwrap()).await;
        health.assert_status(200);
        ids.push(health.request_id());
        ids.push(app.list_services("").await.assert_status(200).request_id());
        let unknown =
            Resp::from_reqwest(app.client.get(app.url("/nope")).send().await.unwrap()).await;
        unknown.assert_status(404);
        ids.push(unknown.request_id());
        ids.push(
            app.caller(None, app.project_id())
                .list_services("")
                .await
                .assert_status(401)
                .request_id(),
        );
        ids.push(
            app.get_service(&uuid())
                .await
                .assert_status(404)
                .request_id(),
        );
    }
    let distinct: HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "request ids repeat: {ids:?}");
}

#[tokio::test]
async fn health_and_version_documents_need_no_token() {
    let app = TestApp::spawn();
    let get = |path: &str| {
        let url = app.url(path);
        let client = app.client.clone();
        async move { Resp::from_reqwest(client.get(url).send().await.unwrap()).await }
    };
    assert_eq!(*get("/health").await.ok(), json!({"status": "ok"}));

    let versions = get("/").await;
    let list = versions.ok()["versions"]
        .as_array()
        .expect("versions array")
        .clone();
    let v1 = list
        .iter()
        .find(|v| v["id"] == "v1")
        .unwrap_or_else(|| panic!("no v1 in {list:?}"));
    assert_keys(
        v1,
        &["id", "status", "updated", "version", "min_version", "links"],
        "VersionObject",
    );
    assert_timestamp(&v1["updated"]);

    let one = get("/v1").await;
    let version = &one.ok()["version"];
    assert_eq!(version["id"], "v1");
    assert_keys(
        version,
        &["id", "status", "updated", "version", "min_version", "links"],
        "VersionObject",
    );
}

#[tokio::test]
async fn missing_or_bad_token_is_401_on_every_operation() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let eid = str_of(&app.new_endpoint(&sid).await["id"]);
    for token in [None, Some("bogus")] {
        let api = app.caller(token, app.project_id());
        api.create_service(&service_body(false))
            .await
            .assert_error(401, "EndPoint.0003");
        api.list_services("")
            .await
            .assert_error(401, "EndPoint.0003");
        api.get_service(&sid)
            .await
            .assert_error(401, "EndPoint.0003");
        api.update_service(&sid, &json!({"description": "x"}))
            .await
            .assert_error(401, "EndPoint.0003");
        api.delete_service(&sid)
            .await
            .assert_error(401, "EndPoint.0003");
        api.describe_service(&format!("id={sid}"))
            .await
            .assert_error(401, "EndPoint.0003");
        api.create_endpoint(&endpoint_body(&sid))
            .await
            .assert_error(401, "EndPoint.0003");
        api.list_endpoints("")
            .await
            .assert_error(401, "EndPoint.0003");
        api.get_endpoint(&eid)
            .await
            .assert_error(401, "EndPoint.0003");
        api.delete_endpoint(&eid)
            .await
            .assert_error(401, "EndPoint.0003");
        api.list_connections(&sid, "")
            .await
            .assert_error(401, "EndPoint.0003");
        api.accept_or_reject(&sid, &json!({"action": "reject", "endpoints": [eid]}))
            .await
            .assert_error(401, "EndPoint.0003");
    }
    // Nothing was changed by the rejected calls.
    assert_eq!(app.get_endpoint(&eid).await.ok()["status"], "accepted");
    app.get_service(&sid).await.ok();
}

/// A seed body padded with an unknown key to exactly `size` bytes.
fn seed_body_of_size(id: &str, size: usize) -> String {
    let base = json!({"connections": [{"id": id, "description": "sized"}], "pad": ""}).to_string();
    assert!(base.len() <= size);
    json!({"connections": [{"id": id, "description": "sized"}], "pad": "p".repeat(size - base.len())})
        .to_string()
}

#[tokio::test]
async fn body_limit_is_inclusive() {
    let app = TestApp::with_args(&["--max-body-bytes", "1024"]);
    let (sid, ids) = app.service_with_connections(1).await;
    for (size, status) in [(1024, 200), (1025, 413)] {
        let body = seed_body_of_size(&ids[0], size);
        assert_eq!(body.len(), size);
        let len = size.to_string();
        let head = app.seed_head(&sid, &len);
        let mut conn = app.raw();
        conn.send(format!("{head}{body}").as_bytes()).unwrap();
        let r = conn.read_response(SHORT).unwrap().expect("a response");
        if status == 200 {
            assert_eq!(
                r.status,
                200,
                "{size} bytes: {}",
                String::from_utf8_lossy(&r.body)
            );
        } else {
            r.assert_error(413, "EndPoint.0002");
        }
    }
}

#[tokio::test]
async fn default_body_limit_fits_a_full_batch_of_escaped_descriptions() {
    let app = TestApp::spawn();
    let (sid, _) = app.service_with_connections(1).await;
    // 1000 items of 512 characters, each written as a \uXXXX escape: about 3.1 MB.
    let description = "\\u4e2d".repeat(512);
    let items: Vec<String> = (0..1000)
        .map(|_| {
            format!(
                "{{\"id\":\"{}\",\"description\":\"{description}\"}}",
                uuid()
            )
        })
        .collect();
    let body = format!("{{\"connections\":[{}]}}", items.join(","));
    assert!(body.len() > 3_000_000 && body.len() < 4_194_304);
    let r = app
        .call_text(
            Method::PUT,
            &format!("/vpc-endpoint-services/{sid}/connections/description"),
            "application/json",
            &body,
        )
        .await;
    // Past the size and syntax rules, it fails only on the unknown ids.
    r.assert_error(400, "EndPoint.2013");
}

#[tokio::test]
async fn path_project_id_is_matched_case_insensitively() {
    let app = TestApp::spawn();
    let sid = app.new_service(false).await;
    let upper = app.project_id().to_uppercase();
    assert_ne!(
        upper,
        app.project_id(),
        "a project id of digits only cannot test this"
    );
    let api = app.caller(Some(app.token()), &upper);
    assert_eq!(api.get_service(&sid).await.ok()["id"], sid);
    assert_eq!(api.list_services("").await.ok()["total_count"], 1);
}

#[tokio::test]
async fn in_flight_limit_answers_503_with_retry_after() {
    let app = TestApp::with_args(&["--max-in-flight", "1"]);
    let (sid, ids) = app.service_with_connections(1).await;
    let body = json!({"connections": [{"id": ids[0], "description": "held"}]}).to_string();
    let len = body.len().to_string();
    let head = app.seed_head(&sid, &len);
    // One request holds the only slot while its body is still arriving.
    let mut held = app.raw();
    held.send(format!("{head}{}", &body[..10]).as_bytes())
        .unwrap();
    // Give the server time to take that request in; a probe sent earlier could take the slot
    // first and turn the held request into the 503 instead.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = app.list_services("").await;
    r.assert_error(503, "EndPoint.0001");
    let retry = r.header("retry-after").expect("503 without Retry-After");
    assert!(
        retry.trim().parse::<u64>().is_ok(),
        "Retry-After {retry:?} is not delta-seconds"
    );
    // The refusal is counted by its reason; /metrics and the console are not behind the limit,
    // so they answer while the only slot is taken.
    let (_, all) = scrape(&app, &app.base()).await;
    let reason = [("reason", "in_flight_limit")];
    assert_eq!(value(&all, "vpcep_http_refusals_total", &reason), 1.0);
    let refused = [("operation", "ListEndpointService"), ("status", "503")];
    assert_eq!(value(&all, "vpcep_http_requests_total", &refused), 1.0);
    assert_eq!(value(&all, "vpcep_http_requests_in_flight", &[]), 1.0);
    app.plain(reqwest::Method::GET, "/console/", None)
        .await
        .assert_status(200);

    held.send(&body.as_bytes()[10..]).unwrap();
    let done = held.read_response(SHORT).unwrap().expect("a response");
    assert_eq!(done.status, 200, "{}", String::from_utf8_lossy(&done.body));
    assert_eq!(app.connection(&sid, &ids[0]).await["description"], "held");
}

#[tokio::test]
async fn a_refused_oversized_body_never_leaks_into_the_next_request() {
    let app = TestApp::spawn();
    let mut conn = app.raw();
    let head = seed_put_head(&app, app.project_id(), &[("Content-Length", "10000000")]);
    conn.send(head.as_bytes()).unwrap();
    let r = conn.read_response(SHORT).unwrap().expect("a response");
    r.assert_error(413, "EndPoint.0002");
    // The body was never sent: the server cannot drain it, so it must close the connection
    // rather than read the next request as body bytes.
    let health = request_head(app.addr(), "GET", "/health", &[]);
    if conn.send(health.as_bytes()).is_err() {
        return;
    }
    match conn.read_response(SHORT) {
        Ok(None) => {}
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
            ) => {}
        Ok(Some(next)) => {
            assert_eq!(next.status, 200, "{next:?}");
            assert_eq!(next.json(), json!({"status": "ok"}));
        }
        Err(e) => panic!("after a 413 the connection neither closed nor answered: {e}"),
    }
}
