//! Running the `vpcep` binary: commands without the developer's `VPCEP_*` settings, and
//! credentials made with `vpcep credentials create`.

use std::process::{Command, Output, Stdio};

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
