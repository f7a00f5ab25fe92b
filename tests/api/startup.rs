//! Start-up that fails fast and says why: database URLs that cannot work end `vpcep serve` at
//! once, non-zero, with the reason of SQLite, the operating system or PostgreSQL and a hint,
//! before anything listens; only a PostgreSQL that cannot be reached (yet) is waited for.

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::*;

/// How long a refused start may take before the test calls it a hang. A refusal is immediate; a
/// start that waits for PostgreSQL would take `--database-wait` (30 s by default) instead.
const HANG: Duration = Duration::from_secs(10);

/// Runs `vpcep serve` on `url` until it exits: (exit success, stdout, last stderr line, time).
fn serve_until_exit(url: &str) -> (bool, String, String, Duration) {
    let started = Instant::now();
    let mut child = vpcep_command()
        .args(["serve", "--listen", "127.0.0.1:0", "--database", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn `vpcep serve`");
    let mut stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`vpcep serve --database {url}` did not exit within {HANG:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let mut stdout = String::new();
    let _ = child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout);
    let stderr = reader.join().expect("stderr reader");
    let last = stderr.lines().last().unwrap_or_default().to_owned();
    (status.success(), stdout, last, elapsed)
}

#[track_caller]
fn assert_refused(url: &str, wants: &[&str]) {
    let (ok, stdout, last, elapsed) = serve_until_exit(url);
    assert!(!ok, "serve on {url} exited successfully");
    assert!(
        !stdout.contains("listening"),
        "serve on {url} listened: {stdout:?}"
    );
    assert!(stdout.is_empty(), "serve on {url} printed {stdout:?}");
    assert!(last.starts_with("vpcep: "), "{url}: {last:?}");
    for want in wants {
        assert!(last.contains(want), "{url}: {last:?} lacks {want:?}");
    }
    eprintln!("{url}: refused in {elapsed:?}: {last}");
}

#[test]
fn in_memory_and_empty_sqlite_urls_are_refused_before_anything_listens() {
    for url in [
        "sqlite://:memory:",
        "sqlite://file::memory:?cache=shared",
        "sqlite://file:vpcep?mode=memory",
    ] {
        assert_refused(
            url,
            &[
                "is not supported",
                "own empty in-memory database",
                "Use a file",
            ],
        );
    }
    assert_refused("sqlite://", &["needs a file path"]);
}

#[test]
fn sqlite_open_errors_carry_the_path_and_the_operating_systems_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().display().to_string();
    assert_refused(
        &format!("sqlite://{folder}"),
        &[
            &format!("cannot open the database file {folder}"),
            "Is a directory",
        ],
    );

    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"not a folder").expect("write a file");
    assert_refused(
        &format!("sqlite://{}/vpcep.db", file.display()),
        &["cannot create the database folder", "plain-file"],
    );

    // A folder this process may not write to. Root writes through permission bits, so then take
    // sysfs, where even root may not create files.
    let read_only = dir.path().join("read-only");
    std::fs::create_dir(&read_only).expect("mkdir");
    let mut perms = std::fs::metadata(&read_only).expect("stat").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o555);
    std::fs::set_permissions(&read_only, perms).expect("chmod");
    let target = if std::fs::write(read_only.join("probe"), b"").is_ok() {
        "/sys/vpcep-test.db".to_owned()
    } else {
        read_only.join("vpcep.db").display().to_string()
    };
    assert_refused(
        &format!("sqlite://{target}"),
        &[
            &format!("cannot open the database file {target}"),
            "(os error",
        ],
    );
}

#[test]
fn an_unknown_url_scheme_is_refused() {
    assert_refused(
        "mysql://root@127.0.0.1/vpcep",
        &["unsupported database URL", "sqlite://", "postgres://"],
    );
}

/// The PostgreSQL cases need a server that answers; they run in the PostgreSQL pass of the suite.
fn postgres_answers() -> Option<String> {
    if backend() != Backend::Postgres {
        eprintln!("\n*** SKIPPED startup::postgres: run with VPCEP_TEST_BACKEND=postgres ***\n");
        return None;
    }
    Some(postgres_base())
}

#[test]
fn postgres_refusals_end_the_start_at_once_with_postgres_own_reason() {
    let Some(base) = postgres_answers() else {
        return;
    };
    let missing = format!("vpcep_missing_{}", uuid().replace('-', ""));
    assert_refused(
        &format!("{base}/{missing}"),
        &[
            &format!("database \"{missing}\" does not exist"),
            "SQLSTATE 3D000",
            "createdb",
            &missing,
        ],
    );
    let (host_part, _) = base
        .strip_prefix("postgres://")
        .and_then(|rest| rest.split_once('@'))
        .map(|(_, host)| (host.to_owned(), ()))
        .expect("VPCEP_TEST_POSTGRES is postgres://USER@HOST:PORT");
    assert_refused(
        &format!("postgres://vpcep_no_such_role@{host_part}/postgres"),
        &[
            "role \"vpcep_no_such_role\" does not exist",
            "SQLSTATE 28000",
            "pg_hba.conf",
        ],
    );
    assert_refused(
        &format!("{base}/postgres?sslmode=require"),
        &["TLS", "sslmode=disable"],
    );
    assert_refused("postgres://user@[not-a-host", &["invalid PostgreSQL URL"]);
}
