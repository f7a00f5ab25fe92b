//! The command line: `credentials create|list|delete` and `serve` (docs/api.md §4).

use serde_json::{json, Value};

use crate::helpers::*;

const CREDENTIAL_KEYS: &[&str] = &[
    "name",
    "domain_id",
    "project_id",
    "access_key",
    "secret_key",
    "token",
];

fn list_credentials(db_url: &str) -> Vec<Value> {
    let out = vpcep(&["credentials", "list", "--database", db_url]);
    assert!(
        out.status.success(),
        "credentials list failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    single_json(&out.stdout)
        .as_array()
        .unwrap_or_else(|| panic!("credentials list did not print an array"))
        .clone()
}

#[test]
fn credentials_create_prints_one_credential_object() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&dir, "vpcep.db");
    let out = vpcep(&[
        "credentials",
        "create",
        "--database",
        &db,
        "--name",
        "alice",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = single_json(&out.stdout);
    assert_keys(&v, CREDENTIAL_KEYS, "credentials create output");
    let alice = Credential::from_json(&v);
    assert_eq!(alice.name, "alice");
    assert_hex32(&alice.domain_id);
    assert_hex32(&alice.project_id);
    for secret in [&alice.access_key, &alice.secret_key, &alice.token] {
        assert!(!secret.is_empty());
    }
    assert_ne!(alice.token, alice.secret_key);

    // Without ids: a new account and a new project each time.
    let bob = create_credential(&db, &[]);
    assert_hex32(&bob.domain_id);
    assert_ne!(bob.domain_id, alice.domain_id);
    assert_ne!(bob.project_id, alice.project_id);
    assert_ne!(bob.access_key, alice.access_key);
    assert_ne!(bob.token, alice.token);
}

#[test]
fn credentials_create_with_domain_id_adds_a_project_to_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&dir, "vpcep.db");
    let first = create_credential(&db, &[]);
    let second = create_credential(&db, &["--domain-id", &first.domain_id]);
    assert_eq!(second.domain_id, first.domain_id);
    assert_ne!(second.project_id, first.project_id);
    assert_hex32(&second.project_id);

    // A chosen, unused project id in that account is taken as given.
    let chosen = uuid::Uuid::new_v4().simple().to_string();
    let third = create_credential(
        &db,
        &["--domain-id", &first.domain_id, "--project-id", &chosen],
    );
    assert_eq!(third.project_id, chosen);
    assert_eq!(third.domain_id, first.domain_id);
}

#[test]
fn credentials_create_refuses_a_project_of_another_account() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&dir, "vpcep.db");
    let a = create_credential(&db, &[]);
    let b = create_credential(&db, &[]);
    let mut args = vec!["credentials", "create", "--database", &db];
    args.extend_from_slice(&["--project-id", &a.project_id, "--domain-id", &b.domain_id]);
    let out = vpcep(&args);
    assert!(!out.status.success(), "`{}` succeeded", args.join(" "));
    assert!(!out.stderr.is_empty(), "no message on stderr");
    assert!(
        serde_json::from_slice::<Value>(&out.stdout).is_err(),
        "a refused create printed a credential: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(list_credentials(&db).len(), 2);
}

#[test]
fn credentials_list_shows_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&dir, "vpcep.db");
    let a = create_credential(&db, &["--name", "first"]);
    let b = create_credential(&db, &["--name", "second", "--domain-id", &a.domain_id]);
    let listed = list_credentials(&db);
    assert_eq!(listed.len(), 2, "{listed:?}");
    for cred in [&a, &b] {
        let row = listed
            .iter()
            .find(|r| r["access_key"] == cred.access_key)
            .unwrap_or_else(|| panic!("{} not listed: {listed:?}", cred.access_key));
        assert_eq!(row["name"], cred.name);
        assert_eq!(row["domain_id"], cred.domain_id);
        assert_eq!(row["project_id"], cred.project_id);
        let keys = key_set(row);
        assert!(
            !keys.contains("secret_key") && !keys.contains("token"),
            "secrets listed: {row}"
        );
        let text = row.to_string();
        assert!(
            !text.contains(&cred.secret_key) && !text.contains(&cred.token),
            "secret value listed: {row}"
        );
    }
}

#[tokio::test]
async fn credentials_delete_revokes_the_token_on_a_running_server() {
    let app = TestApp::spawn();
    let other = app.new_account();
    let api = app.as_(&other);
    api.list_services("").await.ok();

    let out = vpcep(&[
        "credentials",
        "delete",
        "--database",
        &app.db_url,
        "--access-key",
        &other.access_key,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    api.list_services("")
        .await
        .assert_error(401, "EndPoint.0003");
    assert!(list_credentials(&app.db_url)
        .iter()
        .all(|r| r["access_key"] != other.access_key));
    // The owner is unaffected.
    app.list_services("").await.ok();
}

#[tokio::test]
async fn first_serve_on_an_empty_database_prints_a_working_credential_once() {
    let mut app = TestApp::builder().no_owner().spawn();
    assert_eq!(
        app.startup_lines().len(),
        1,
        "stdout before listening: {:?}",
        app.startup_lines()
    );
    let printed: Value = serde_json::from_str(&app.startup_lines()[0]).unwrap();
    assert_keys(&printed, CREDENTIAL_KEYS, "credential printed by serve");
    assert_hex32(app.project_id());
    assert_hex32(app.domain_id());
    assert!(!app.token().is_empty());
    app.list_services("").await.ok();
    app.new_service(false).await;

    app.restart();
    assert!(
        app.startup_lines().is_empty(),
        "a second serve printed {:?}",
        app.startup_lines()
    );
    assert_eq!(list_credentials(&app.db_url).len(), 1);
    assert_eq!(app.list_services("").await.ok()["total_count"], 1);
}

#[tokio::test]
async fn serve_prints_no_credential_when_one_exists() {
    let app = TestApp::spawn();
    assert!(
        app.startup_lines().is_empty(),
        "serve printed {:?}",
        app.startup_lines()
    );
    assert_eq!(list_credentials(&app.db_url).len(), 1);
}

#[tokio::test]
async fn serve_creates_the_database_folder() {
    let app = TestApp::builder()
        .no_owner()
        .db_file("nested/deeper/vpcep.db")
        .spawn();
    let path = app.db_url.strip_prefix("sqlite://").unwrap();
    assert!(
        std::path::Path::new(path).is_file(),
        "{path} was not created"
    );
    app.list_services("").await.ok();
}

#[tokio::test]
async fn serve_reads_its_settings_from_the_environment() {
    let app = TestApp::builder()
        .settings_via_env()
        .env("VPCEP_REGION", "env-region-9")
        .env("VPCEP_MAX_BATCH", "2")
        .spawn();
    let mut body = service_body(false);
    body["service_name"] = json!("envsvc");
    let svc = app.create_service(&body).await.ok().clone();
    let sid = str_of(&svc["id"]);
    assert_eq!(svc["service_name"], format!("env-region-9.envsvc.{sid}"));
    let three: Vec<Value> = (0..3)
        .map(|_| json!({"id": uuid(), "description": "x"}))
        .collect();
    app.update_connection_descriptions(&sid, &json!({ "connections": three }))
        .await
        .assert_error(400, "EndPoint.0016");
}

#[tokio::test]
async fn sigint_and_sigterm_stop_the_server_with_exit_code_zero() {
    for signal in ["INT", "TERM"] {
        let mut app = TestApp::spawn();
        app.list_services("").await.ok();
        let status = app.stop(signal);
        assert_eq!(status.code(), Some(0), "exit after SIG{signal}: {status}");
    }
}
