//! Start-up that fails fast and says why: database URLs that cannot work end `vpcep serve` at
//! once, non-zero, with the reason of SQLite or the operating system and a hint, before anything
//! listens. PostgreSQL's refusals, and the wait for a PostgreSQL that cannot be reached (yet),
//! are in tests/postgres.rs.

use crate::support::*;

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
