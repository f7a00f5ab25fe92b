//! The server under test: `vpcep credentials create` and `vpcep serve` processes, driven only
//! through the documented interface (docs/api.md §4), and what `/proc` tells about them.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

const LISTENING_PREFIX: &str = "vpcep listening on http://";

/// A `vpcep` command that does not inherit `VPCEP_*` or `RUST_LOG` settings from the caller.
fn command(bin: &Path) -> Command {
    let mut cmd = Command::new(bin);
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if k.starts_with("VPCEP_") || k == "RUST_LOG" {
            cmd.env_remove(&key);
        }
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// A credential as `vpcep credentials create` prints it.
#[derive(Debug, Clone)]
pub struct Credential {
    pub domain_id: String,
    pub project_id: String,
    pub access_key: String,
    pub secret_key: String,
    pub token: String,
}

impl Credential {
    fn from_json(v: &Value) -> Result<Credential> {
        let field = |k: &str| -> Result<String> {
            v[k].as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("the credential JSON lacks `{k}`: {v}"))
        };
        Ok(Credential {
            domain_id: field("domain_id")?,
            project_id: field("project_id")?,
            access_key: field("access_key")?,
            secret_key: field("secret_key")?,
            token: field("token")?,
        })
    }
}

/// `vpcep credentials create --database URL EXTRA...`
pub fn create_credential(bin: &Path, database: &str, extra: &[&str]) -> Result<Credential> {
    let out = command(bin)
        .args(["credentials", "create", "--database", database])
        .args(extra)
        .output()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    if !out.status.success() {
        bail!(
            "`vpcep credentials create` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(text.trim())
        .with_context(|| format!("`vpcep credentials create` printed no JSON object: {text:?}"))?;
    Credential::from_json(&v)
}

/// What the server under test gets on top of the `--server-arg`s (`given`) when the data-plane
/// scenario runs: `--data-plane`, and `--data-plane-cidr=CIDR`, each unless `given` has it.
pub fn data_plane_args(given: &[String], cidr: &str) -> Vec<String> {
    let mut out = Vec::new();
    if !given.iter().any(|a| a == "--data-plane") {
        out.push("--data-plane".to_string());
    }
    if crate::dataplane::given_cidr(given).is_none() {
        out.push(format!("--data-plane-cidr={cidr}"));
    }
    out
}

/// A running `vpcep serve`. Dropping it stops it (SIGTERM, then SIGKILL).
pub struct Server {
    child: Option<Child>,
    pub pid: u32,
    pub addr: SocketAddr,
    pub exit: Option<ExitStatus>,
}

impl Server {
    /// Starts `vpcep serve --listen 127.0.0.1:0 --database URL`, logging to `log` (appended), and
    /// waits for the listening line; stdout is drained for the life of the process.
    pub fn start(
        bin: &Path,
        database: &str,
        log: &Path,
        log_filter: &str,
        extra_args: &[String],
        timeout: Duration,
    ) -> Result<Server> {
        let log_file = File::options()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("cannot open {}", log.display()))?;
        let mut child = command(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
            .args(extra_args)
            // The scenarios create far more than a project's default quotas allow; a
            // `--server-arg=--quota-endpoints=N` still overrides these.
            .env("VPCEP_QUOTA_ENDPOINTS", "1000000000000")
            .env("VPCEP_QUOTA_ENDPOINT_SERVICES", "1000000000000")
            .env("VPCEP_LOG", log_filter)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let pid = child.id();
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::Builder::new()
            .name("vpcep-stdout".into())
            .spawn(move || {
                // Keep draining: the server must never block on a full pipe.
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let _ = tx.send(line);
                }
            })
            .context("cannot start the stdout reader")?;
        let mut server = Server {
            child: Some(child),
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            exit: None,
        };
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(LISTENING_PREFIX) {
                        server.addr = rest
                            .trim()
                            .parse()
                            .with_context(|| format!("bad listening line {line:?}"))?;
                        return Ok(server);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    bail!(
                        "`vpcep serve` did not print its address within {timeout:?}; see {}",
                        log.display()
                    )
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = server.child.as_mut().and_then(|c| c.wait().ok());
                    bail!(
                        "`vpcep serve` ended before listening ({status:?}); see {}",
                        log.display()
                    )
                }
            }
        }
    }

    /// SIGTERM, then waits up to `timeout` (SIGKILL after it).
    pub fn stop(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let Some(mut child) = self.child.take() else {
            return self
                .exit
                .ok_or_else(|| anyhow!("the server is not running"));
        };
        // SAFETY: kill(2) on the id of our own child, which has not been reaped yet.
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait()? {
                self.exit = Some(status);
                return Ok(status);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let status = child.wait()?;
                self.exit = Some(status);
                bail!("the server did not stop within {timeout:?} of SIGTERM; killed ({status})");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn memory(&self) -> Memory {
        Memory::of(self.pid)
    }

    /// Resets `VmHWM` to the current RSS (`/proc/PID/clear_refs`, value 5), so that the next
    /// reading is the peak since now.
    pub fn reset_peak_rss(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5").is_ok()
    }

    pub fn cpu_seconds(&self) -> Option<f64> {
        cpu_seconds(&format!("/proc/{}/stat", self.pid))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.is_some() {
            let _ = self.stop(Duration::from_secs(10));
        }
    }
}

/// Memory figures of a process, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub hwm_kib: Option<u64>,
    pub rss_kib: Option<u64>,
}

impl Memory {
    pub fn of(pid: u32) -> Memory {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            return Memory::default();
        };
        let field = |key: &str| -> Option<u64> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        };
        Memory {
            hwm_kib: field("VmHWM:"),
            rss_kib: field("VmRSS:"),
        }
    }
}

/// User plus system CPU time of a process, from a `/proc/.../stat` file.
pub fn cpu_seconds(stat_path: &str) -> Option<f64> {
    let text = std::fs::read_to_string(stat_path).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command name: state is field 3, utime 14, stime 15 (proc(5)).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = if ticks > 0 { ticks as f64 } else { 100.0 };
    Some((utime + stime) / ticks)
}

/// The default server binary: `<target dir>/release/vpcep`, next to this harness's own profile
/// folder (so that `CARGO_TARGET_DIR` is honoured); in smoke mode the harness's own profile's
/// `vpcep` when there is no release build.
pub fn default_binary(smoke: bool) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate the harness binary")?;
    let profile_dir = exe
        .parent()
        .ok_or_else(|| anyhow!("the harness binary has no folder"))?;
    let target_dir = profile_dir
        .parent()
        .ok_or_else(|| anyhow!("the harness binary's folder has no parent"))?;
    let release = target_dir.join("release").join("vpcep");
    if release.is_file() {
        return Ok(release);
    }
    let sibling = profile_dir.join("vpcep");
    if smoke && sibling.is_file() {
        return Ok(sibling);
    }
    bail!(
        "no server binary at {}: build it first (`cargo build --release --workspace`) or pass --server-bin PATH",
        release.display()
    )
}

/// WARN and ERROR lines of a server log, and the first few of each.
#[derive(Debug, Default)]
pub struct LogSummary {
    pub lines: u64,
    pub warn: u64,
    pub error: u64,
    pub samples: Vec<String>,
}

pub fn summarize_log(path: &Path) -> LogSummary {
    let mut s = LogSummary::default();
    let Ok(f) = File::open(path) else { return s };
    for line in BufReader::new(f).lines() {
        let Ok(line) = line else { continue };
        s.lines += 1;
        let head: String = line.chars().take(64).collect();
        let is_warn = head.contains(" WARN ");
        let is_error = head.contains(" ERROR ") || line.contains("panicked");
        if is_warn {
            s.warn += 1;
        }
        if is_error {
            s.error += 1;
        }
        if (is_warn || is_error) && s.samples.len() < 10 {
            s.samples.push(line.chars().take(400).collect());
        }
    }
    s
}
