//! A graceful restart keeps every acknowledged write (docs/api.md §1: "a 2xx is sent only after the
//! change is durable"; §4: SIGTERM stops with exit code 0).

use std::collections::HashSet;

use serde_json::Value;

use crate::support::*;

/// The connections of a service as the owner lists them, sorted by id.
async fn connections(app: &TestApp, sid: &str) -> Vec<Value> {
    let r = app.list_connections(sid, "limit=1000").await;
    let mut list = r.ok()["connections"].as_array().unwrap().clone();
    list.sort_by_key(|c| str_of(&c["id"]));
    list
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_seed_writes_survive_a_restart() {
    let mut app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(4).await;
    for round in 0..5 {
        for (i, id) in ids.iter().enumerate() {
            let text = format!("round {round} conn {i} 中文 🚀");
            let r = app.set_descriptions(&sid, &[(id, &text)]).await;
            assert_eq!(r.ok()["connections"][0]["description"], text);
        }
    }
    // A batch, then a burst of concurrent writers on one connection.
    let pairs: Vec<(&str, &str)> = ids.iter().map(|id| (id.as_str(), "batch")).collect();
    app.set_descriptions(&sid, &pairs[1..]).await.ok();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let api = (*app).clone();
        let (sid, id) = (sid.clone(), ids[0].clone());
        tasks.push(tokio::spawn(async move {
            let text = format!("burst {i}");
            let r = api.set_descriptions(&sid, &[(&id, &text)]).await;
            assert_eq!(r.ok()["connections"][0]["description"], text);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let before = connections(&app, &sid).await;
    assert!(
        str_of(&before.iter().find(|c| c["id"] == ids[0]).unwrap()["description"])
            .starts_with("burst ")
    );

    app.restart();
    assert_eq!(connections(&app, &sid).await, before);
}

#[tokio::test]
async fn resources_and_credentials_survive_a_restart() {
    let mut app = TestApp::spawn();
    let sibling = app.new_project_in_owner_account();
    let open = app.new_service(false).await;
    let gated = app.new_service(true).await;
    let e1 = str_of(&app.new_endpoint(&open).await["id"]);
    let e2 = str_of(&app.new_endpoint(&gated).await["id"]);
    let e3 = str_of(&app.as_(&sibling).new_endpoint(&gated).await["id"]);
    app.accept_or_reject(
        &gated,
        &serde_json::json!({"action": "reject", "endpoints": [e3]}),
    )
    .await
    .ok();
    let doomed = str_of(&app.new_endpoint(&open).await["id"]);
    app.delete_endpoint(&doomed).await.assert_status(204);
    let gone = app.new_service(false).await;
    app.delete_service(&gone).await.assert_status(204);

    let services = app.list_services("limit=1000").await.ok().clone();
    let endpoints = app.list_endpoints("limit=1000").await.ok().clone();
    let e1_detail = app.get_endpoint(&e1).await.ok().clone();
    let gated_conns = connections(&app, &gated).await;
    let mut markers: HashSet<u64> = HashSet::new();
    for c in gated_conns
        .iter()
        .chain(connections(&app, &open).await.iter())
    {
        markers.insert(c["marker_id"].as_u64().unwrap());
    }

    app.restart();

    assert_eq!(*app.list_services("limit=1000").await.ok(), services);
    assert_eq!(*app.list_endpoints("limit=1000").await.ok(), endpoints);
    assert_eq!(*app.get_endpoint(&e1).await.ok(), e1_detail);
    assert_eq!(
        app.get_endpoint(&e2).await.ok()["status"],
        "pendingAcceptance"
    );
    assert_eq!(connections(&app, &gated).await, gated_conns);
    app.get_endpoint(&doomed)
        .await
        .assert_error(404, "EndPoint.0005");
    app.get_service(&gone)
        .await
        .assert_error(404, "EndPoint.0005");
    // The credential made with the CLI before the restart still works.
    assert_eq!(
        app.as_(&sibling).get_endpoint(&e3).await.ok()["status"],
        "rejected"
    );
    // marker_id is never reused, across restarts too.
    let fresh = app.new_endpoint(&open).await;
    assert!(
        !markers.contains(&fresh["marker_id"].as_u64().unwrap()),
        "marker_id reused after a restart"
    );
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_seed_update_finish() {
    let mut app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    let body = serde_json::json!({"connections": [{"id": ids[0], "description": "in flight"}]})
        .to_string();
    let len = body.len().to_string();
    let head = app.seed_head(&sid, &len);
    let mut conn = app.raw();
    conn.send(format!("{head}{}", &body[..10]).as_bytes())
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    app.signal("TERM");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    conn.send(&body.as_bytes()[10..]).unwrap();
    let r = conn
        .read_response(std::time::Duration::from_secs(5))
        .unwrap()
        .expect("the in-flight request must get its response");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["connections"][0]["description"], "in flight");
    let status = app.wait_exit();
    assert_eq!(status.code(), Some(0), "exit after SIGTERM: {status}");

    app.start_again();
    assert_eq!(
        app.connection(&sid, &ids[0]).await["description"],
        "in flight"
    );
}

/// SIGKILL leaves no chance to flush anything: every acknowledged write must already be
/// committed when its 200 is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_seed_writes_survive_a_kill() {
    let mut app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(8).await;
    let mut tasks = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let api = (*app).clone();
        let (sid, id) = (sid.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            let mut last = String::new();
            for round in 0..5 {
                last = format!("conn {i} round {round}");
                let r = api.set_descriptions(&sid, &[(&id, &last)]).await;
                assert_eq!(r.ok()["connections"][0]["description"], last);
            }
            (id, last)
        }));
    }
    let mut acknowledged = Vec::new();
    for t in tasks {
        acknowledged.push(t.await.unwrap());
    }
    let status = app.stop("KILL");
    assert_eq!(
        status.code(),
        None,
        "SIGKILL should end the process: {status}"
    );
    app.start_again();
    for (id, last) in &acknowledged {
        assert_eq!(app.connection(&sid, id).await["description"], *last);
    }
}

/// kill -9 at a random moment while eight writers hammer the seed operation, several times over:
/// after each restart every connection holds its last acknowledged value or the one that was in
/// flight, and the SQLite file passes `PRAGMA integrity_check` at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill_at_random_moments() {
    use rand::Rng;
    use std::sync::{Arc, Mutex};

    let mut app = TestApp::spawn();
    let (sid, ids) = app.service_with_connections(8).await;
    for round in 0..5 {
        // Per connection: (last acknowledged value, value in flight).
        let state: Arc<Mutex<Vec<(String, String)>>> =
            Arc::new(Mutex::new(vec![(String::new(), String::new()); ids.len()]));
        let url = app.project_url(&format!(
            "/vpc-endpoint-services/{sid}/connections/description"
        ));
        let mut writers = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let (client, url, token, id) = (
                app.client.clone(),
                url.clone(),
                app.token().to_string(),
                id.clone(),
            );
            let state = state.clone();
            writers.push(tokio::spawn(async move {
                for n in 0u64.. {
                    let value = format!("round {round} writer {i} write {n}");
                    state.lock().unwrap()[i].1 = value.clone();
                    let body =
                        serde_json::json!({"connections": [{"id": id, "description": value}]});
                    let sent = client
                        .put(&url)
                        .header("X-Auth-Token", &token)
                        .json(&body)
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status().as_u16() == 200 => {
                            state.lock().unwrap()[i].0 = value;
                        }
                        // The server is gone: this writer's round is over.
                        _ => break,
                    }
                }
            }));
        }
        let wait = rand::rng().random_range(150..700);
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
        let status = app.stop("KILL");
        assert_eq!(
            status.code(),
            None,
            "SIGKILL should end the process: {status}"
        );
        for w in writers {
            w.await.expect("writer task");
        }
        app.start_again();
        let state = state.lock().unwrap().clone();
        assert!(
            state.iter().all(|(acked, _)| !acked.is_empty()),
            "round {round}: some writer never got an acknowledgement in {wait} ms: {state:?}"
        );
        for (id, (acked, in_flight)) in ids.iter().zip(&state) {
            let got = str_of(&app.connection(&sid, id).await["description"]);
            assert!(
                got == *acked || got == *in_flight,
                "round {round}, killed after {wait} ms: {id} holds {got:?}, \
                 acknowledged {acked:?}, in flight {in_flight:?}"
            );
        }
    }
    if backend() == Backend::Sqlite {
        assert_eq!(app.stop("TERM").code(), Some(0));
        let path = app.db_url.strip_prefix("sqlite://").unwrap();
        let conn = rusqlite::Connection::open(path).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }
}
