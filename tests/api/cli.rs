//! The command line: `credentials create|list|delete` and `serve` (docs/api.md §4).

use serde_json::{json, Value};

use crate::support::*;

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

// ----- credentials known in advance, and which database a command uses -----

const CI_KEY: &str = "AKCITEST0001";
const CI_SECRET: &str = "ci-secret/0001+=";

#[tokio::test]
async fn a_bootstrap_credential_is_created_on_first_start_and_kept_after() {
    let project = "0123456789abcdef0123456789abcdef";
    let given = format!("{CI_KEY}:{CI_SECRET}:{project}");
    let mut app = TestApp::builder()
        .no_owner()
        .env("VPCEP_BOOTSTRAP_CREDENTIAL", &given)
        .capture_log()
        .spawn();
    // Printed once, like the generated first credential, with the keys the pipeline chose.
    assert_eq!(app.startup_lines().len(), 1, "{:?}", app.startup_lines());
    assert_eq!(app.owner.access_key, CI_KEY);
    assert_eq!(app.owner.secret_key, CI_SECRET);
    assert_eq!(app.project_id(), project);
    assert_hex32(app.domain_id());
    // It signs like any credential.
    let signed = crate::signer::Req::sdk(&app, project, "GET", "/vpc-endpoint-services")
        .sign(&crate::signer::Key::sha256(&app.owner));
    signed.send(&app).await.ok();
    app.new_service(false).await;
    // No generated credential beside it.
    assert_eq!(list_credentials(&app.db_url).len(), 1);

    // A restart with the same variable changes nothing and says what the database holds.
    app.restart();
    assert!(app.startup_lines().is_empty(), "{:?}", app.startup_lines());
    assert_eq!(list_credentials(&app.db_url).len(), 1);
    assert_eq!(app.list_services("").await.ok()["total_count"], 1);
    let log = app.log();
    assert!(
        log.contains("the database holds 1 credential(s)") && log.contains("credentials list"),
        "{log}"
    );
    assert!(
        !log.contains(CI_SECRET),
        "the secret key is in the log: {log}"
    );
}

/// `vpcep serve` that must refuse to start: (stdout, stderr).
fn serve_refused(db_url: &str, extra: &[&str], envs: &[(&str, &str)]) -> (String, String) {
    let mut cmd = vpcep_command();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--database", db_url])
        .args(extra)
        .stdin(std::process::Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let out = child.wait_with_output().expect("wait for serve");
    assert!(!out.status.success(), "serve started: {out:?}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_bootstrap_credential_that_differs_from_the_stored_one_stops_the_start() {
    let mut app = TestApp::builder()
        .no_owner()
        .env(
            "VPCEP_BOOTSTRAP_CREDENTIAL",
            &format!("{CI_KEY}:{CI_SECRET}"),
        )
        .spawn();
    // Stopped, but kept: its database lives as long as `app`.
    app.stop("TERM");
    let db = app.db_url.clone();
    for (given, why) in [
        (format!("{CI_KEY}:another-secret"), "another secret key"),
        (
            format!("{CI_KEY}:{CI_SECRET}:fedcba9876543210fedcba9876543210"),
            "another project",
        ),
    ] {
        let (stdout, stderr) = serve_refused(&db, &["--bootstrap-credential", &given], &[]);
        assert!(stdout.is_empty(), "{why}: {stdout}");
        assert!(
            stderr.contains(&format!("already holds access key {CI_KEY}"))
                && stderr.contains("credentials delete --access-key"),
            "{why}: {stderr}"
        );
        assert!(!stderr.contains("another-secret"), "{stderr}");
    }
}

#[test]
fn a_malformed_bootstrap_credential_is_refused_without_echoing_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&dir, "vpcep.db");
    for (given, want) in [
        ("AKCITEST0001", "ACCESS_KEY:SECRET_KEY"),
        ("AK:longenoughsecret", "access key must be"),
        ("AKCITEST0001:has a space", "secret key must be"),
        ("AKCITEST0001:goodsecret:bad_project", "project id must be"),
    ] {
        let (_, stderr) = serve_refused(&db, &[], &[("VPCEP_BOOTSTRAP_CREDENTIAL", given)]);
        assert!(stderr.contains(want), "{given}: {stderr}");
        assert!(!stderr.contains("has a space"), "{stderr}");
    }
}

#[test]
fn credentials_create_with_format_env_can_be_evaluated_by_a_shell() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&dir, "vpcep.db");
    let bin = env!("CARGO_BIN_EXE_vpcep");
    let script = format!(
        "set -e; eval \"$('{bin}' credentials create --format env --name \"ci's\" --database '{db}')\"; \
         printf '%s\\n' \"$VPCEP_ACCESS_KEY\" \"$VPCEP_SECRET_KEY\" \"$VPCEP_PROJECT_ID\" \
         \"$VPCEP_DOMAIN_ID\" \"$VPCEP_TOKEN\" \"$VPCEP_CREDENTIAL_NAME\""
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let values: Vec<&str> = stdout.lines().collect();
    assert_eq!(values.len(), 6, "{stdout}");
    assert_eq!(values[5], "ci's");
    let listed = list_credentials(&db);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["access_key"], values[0]);
    assert_eq!(listed[0]["project_id"], values[2]);
    assert_eq!(listed[0]["domain_id"], values[3]);
    assert!(values[4].starts_with("vpcep_"));
}

#[test]
fn credentials_list_and_delete_refuse_a_database_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("elsewhere").join("vpcep.db");
    let db = format!("sqlite://{}", missing.display());
    for args in [
        vec!["credentials", "list", "--database", &db],
        vec![
            "credentials",
            "delete",
            "--database",
            &db,
            "--access-key",
            CI_KEY,
        ],
        vec![
            "inject",
            "fail-next-creations",
            "--database",
            &db,
            "--project-id",
            "p",
            "--count",
            "1",
        ],
    ] {
        let out = vpcep(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            stderr.contains(&format!("no database at {db}"))
                && stderr.contains("creates it on its first start"),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?} printed {:?}", out.stdout);
    }
    assert!(!missing.exists(), "a command created {}", missing.display());
    assert!(
        !missing.parent().unwrap().exists(),
        "a command created the folder"
    );
}

#[test]
fn every_credentials_command_names_its_database_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    // A relative path, resolved against the command's working directory.
    let run = |args: &[&str]| {
        let out = vpcep_command()
            .current_dir(dir.path())
            .args(args)
            .output()
            .expect("run vpcep");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let absolute = dir.path().join("data").join("v.db");
    let want = format!(
        "vpcep: database sqlite://data/v.db ({})",
        absolute.display()
    );
    let created = run(&["credentials", "create", "--database", "sqlite://data/v.db"]);
    assert!(created.contains(&want), "{created}");
    let listed = run(&["credentials", "list", "--database", "sqlite://data/v.db"]);
    assert!(listed.contains(&want), "{listed}");
}
