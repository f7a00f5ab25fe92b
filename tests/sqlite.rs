//! The tests that hold on SQLite only: the database misbehaving, by a writer lock held by another
//! process, makes the server answer 504 within its request deadline, or 503 with `Retry-After`
//! once SQLite gives up waiting; and a graceful stop finishes a request that is in flight. (The
//! PostgreSQL outage has its own tests, in tests/postgres.rs.)
//!
//! Every server here runs on a SQLite file, whatever `VPCEP_TEST_BACKEND` says; scripts/test.sh
//! runs this binary once, in its SQLite phase.

use std::time::{Duration, Instant};

use serde_json::json;

mod support;

use support::{hold_sqlite_write_lock, str_of, Backend, TestApp};

#[tokio::test]
async fn a_database_past_the_request_deadline_gives_504_and_changes_nothing() {
    let app = TestApp::builder()
        .on(Backend::Sqlite)
        .args(&["--request-timeout", "1s"])
        .spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    let lock = hold_sqlite_write_lock(&app.db_url);

    let started = Instant::now();
    let r = app.set_descriptions(&sid, &[(&ids[0], "late")]).await;
    r.assert_error(504, "EndPoint.0013");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "504 came after {:?}, not at the 1 s deadline",
        started.elapsed()
    );
    // Reads do not need the write lock and keep working.
    assert_eq!(app.connection(&sid, &ids[0]).await["description"], "");

    lock.execute_batch("ROLLBACK").expect("release the lock");
    // The abandoned write is not applied later; a new one is.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.connection(&sid, &ids[0]).await["description"], "");
    app.set_descriptions(&sid, &[(&ids[0], "now")]).await.ok();
    assert_eq!(app.connection(&sid, &ids[0]).await["description"], "now");
}

#[tokio::test]
async fn a_database_that_stays_locked_gives_503_with_retry_after_and_health_says_so() {
    let app = TestApp::builder().on(Backend::Sqlite).spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    let lock = hold_sqlite_write_lock(&app.db_url);

    // The seed request goes first; /health joins the writer's queue behind it.
    let api = (*app).clone();
    let (sid2, id2) = (sid.clone(), ids[0].clone());
    let seed = tokio::spawn(async move { api.set_descriptions(&sid2, &[(&id2, "x")]).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let health = tokio::spawn(app.client.get(app.url("/health")).send());
    let r = seed.await.expect("join");
    let message = r.assert_error(503, "EndPoint.0001");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(
        !message.to_lowercase().contains("sqlite") && !message.contains("locked"),
        "internal detail leaked: {message}"
    );
    let health = health.await.expect("join").expect("health answers");
    assert_eq!(health.status().as_u16(), 503);
    assert!(health.headers().contains_key("retry-after"));

    lock.execute_batch("ROLLBACK").expect("release the lock");
    let health = app
        .client
        .get(app.url("/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status().as_u16(), 200);
    app.set_descriptions(&sid, &[(&ids[0], "back")]).await.ok();
}

#[tokio::test]
async fn sigterm_lets_the_request_in_flight_finish_and_exits_0() {
    let mut app = TestApp::builder().on(Backend::Sqlite).spawn();
    let (sid, ids) = app.service_with_connections(1).await;
    let lock = hold_sqlite_write_lock(&app.db_url);

    let url = app.project_url(&format!(
        "/vpc-endpoint-services/{sid}/connections/description"
    ));
    let req = app
        .client
        .put(url)
        .header("X-Auth-Token", app.token())
        .json(&json!({"connections": [{"id": ids[0], "description": "in flight"}]}));
    let in_flight = tokio::spawn(async move { req.send().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.signal("TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The listener is closed: new connections are refused.
    assert!(
        std::net::TcpStream::connect_timeout(&app.addr(), Duration::from_secs(1)).is_err(),
        "a stopping server still accepts connections"
    );
    lock.execute_batch("ROLLBACK").expect("release the lock");

    let res = in_flight
        .await
        .expect("join")
        .expect("the in-flight request is answered");
    assert_eq!(res.status().as_u16(), 200);
    let body: serde_json::Value = res.json().await.expect("JSON");
    assert_eq!(str_of(&body["connections"][0]["description"]), "in flight");
    assert_eq!(app.wait_exit().code(), Some(0));

    app.start_again();
    assert_eq!(
        app.connection(&sid, &ids[0]).await["description"],
        "in flight"
    );
}
