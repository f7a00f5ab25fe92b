//! Running the `vpcep` binary: commands without the developer's `VPCEP_*` settings, credentials
//! made with `vpcep credentials create`, and `serve` starts that must be refused.

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_vpcep");

/// A `vpcep` command that does not inherit `VPCEP_*` settings from the developer's shell.
pub fn vpcep_command() -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("VPCEP_") {
            cmd.env_remove(key);
        }
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// Runs `vpcep ARGS...` to completion.
pub fn vpcep(args: &[&str]) -> Output {
    vpcep_command()
        .args(args)
        .output()
        .expect("failed to run the vpcep binary")
}

/// The credential object printed by `credentials create` and by a first `serve`.
#[derive(Debug, Clone)]
pub struct Credential {
    pub name: String,
    pub domain_id: String,
    pub project_id: String,
    pub access_key: String,
    pub secret_key: String,
    pub token: String,
}

impl Credential {
    pub fn from_json(v: &Value) -> Credential {
        let field = |key: &str| -> String {
            v[key]
                .as_str()
                .unwrap_or_else(|| panic!("credential JSON lacks the string `{key}`: {v}"))
                .to_string()
        };
        Credential {
            name: field("name"),
            domain_id: field("domain_id"),
            project_id: field("project_id"),
            access_key: field("access_key"),
            secret_key: field("secret_key"),
            token: field("token"),
        }
    }
}

/// Parses stdout that must hold exactly one JSON value.
pub fn single_json(stdout: &[u8]) -> Value {
    let text = String::from_utf8_lossy(stdout);
    let values: Vec<Value> = serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {text:?}"));
    assert_eq!(
        values.len(),
        1,
        "stdout must hold exactly one JSON value: {text:?}"
    );
    values.into_iter().next().unwrap()
}

/// `vpcep credentials create --database DB EXTRA...`, asserting success.
pub fn create_credential(db_url: &str, extra: &[&str]) -> Credential {
    let mut args = vec!["credentials", "create", "--database", db_url];
    args.extend_from_slice(extra);
    let out = vpcep(&args);
    assert!(
        out.status.success(),
        "`vpcep {}` failed with {}: stderr {:?}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Credential::from_json(&single_json(&out.stdout))
}

/// How long a refused start may take before the test calls it a hang. A refusal is immediate; a
/// start that waits for PostgreSQL would take `--database-wait` (30 s by default) instead.
pub const HANG: Duration = Duration::from_secs(10);

/// Runs `vpcep serve` on `url` until it exits: (exit success, stdout, last stderr line, time).
pub fn serve_until_exit(url: &str) -> (bool, String, String, Duration) {
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
pub fn assert_refused(url: &str, wants: &[&str]) {
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
