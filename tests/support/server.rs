//! One real `vpcep serve` process per test, on a fresh database and on a port chosen by the OS
//! (`ServeOptions`, `TestApp`), driven only through its documented interface (docs/api.md §4):
//! the `credentials` and `serve` commands, the listening line on stdout, signals, and HTTP.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::ops::Deref;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use super::cli::{create_credential, vpcep_command, Credential};
use super::client::{Caller, Resp};
use super::db::{backend, Backend, TestDb};
use super::raw::{request_head, RawConn};

/// A cold start runs the migrations on a new file; a debug build on a busy machine can be slow.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// A graceful stop finishes in-flight requests "bounded"; we allow that bound generously.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(20);
/// The line `serve` prints once it listens, followed by the address.
pub const LISTENING_PREFIX: &str = "vpcep listening on http://";

/// How to start `vpcep serve`; kept so that `restart` starts it the same way.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    args: Vec<String>,
    envs: Vec<(String, String)>,
    no_owner: bool,
    settings_via_env: bool,
    db_file: Option<String>,
    /// The backend, when the test does not take the run's (`backend()`).
    on: Option<Backend>,
    capture_log: bool,
    /// Where the server's stderr goes when `capture_log` is set (in the test's temp dir).
    log_file: Option<PathBuf>,
}

impl ServeOptions {
    /// An extra command-line argument for `serve`.
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_string());
        self
    }

    /// Extra command-line arguments for `serve`.
    pub fn args(self, args: &[&str]) -> Self {
        args.iter().fold(self, |o, a| o.arg(a))
    }

    /// Runs on this backend whatever `VPCEP_TEST_BACKEND` says: for the binaries of one backend
    /// (tests/sqlite.rs, tests/postgres.rs).
    pub fn on(mut self, backend: Backend) -> Self {
        self.on = Some(backend);
        self
    }

    /// An extra environment variable for `serve`.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.envs.push((key.to_string(), value.to_string()));
        self
    }

    /// Do not create a credential before the first start: `serve` must make and print one.
    pub fn no_owner(mut self) -> Self {
        self.no_owner = true;
        self
    }

    /// Pass the database and the listen address as `VPCEP_DATABASE` / `VPCEP_LISTEN`.
    pub fn settings_via_env(mut self) -> Self {
        self.settings_via_env = true;
        self
    }

    /// Keep the server's log (stderr) in a file, for [`TestApp::log`].
    pub fn capture_log(mut self) -> Self {
        self.capture_log = true;
        self
    }

    /// The database file, relative to the test's temp dir (default `vpcep.db`). A test that names
    /// a file is about SQLite files: it runs on SQLite on either backend.
    pub fn db_file(mut self, relative: &str) -> Self {
        self.db_file = Some(relative.to_string());
        self
    }

    pub fn spawn(mut self) -> TestApp {
        let dir = tempfile::tempdir().expect("create a temp dir");
        if self.capture_log {
            self.log_file = Some(dir.path().join("serve.log"));
        }
        let db = match (self.on.unwrap_or_else(backend), &self.db_file) {
            (Backend::Postgres, None) => TestDb::postgres(),
            _ => TestDb::sqlite(&dir, self.db_file.as_deref().unwrap_or("vpcep.db")),
        };
        let db_url = db.url.clone();
        let precreated = if self.no_owner {
            None
        } else {
            Some(create_credential(&db_url, &["--name", "owner"]))
        };
        let server = Server::start(&db_url, &self);
        let owner = match precreated {
            Some(owner) => owner,
            None => {
                let printed = server.startup_lines.first().unwrap_or_else(|| {
                    panic!("serve on an empty database printed no credential before listening")
                });
                let v: Value = serde_json::from_str(printed).unwrap_or_else(|e| {
                    panic!("first stdout line of serve is not a credential JSON ({e}): {printed:?}")
                });
                Credential::from_json(&v)
            }
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("build the HTTP client");
        let api = Caller {
            client: client.clone(),
            base: server.base(),
            token: Some(owner.token.clone()),
            project: owner.project_id.clone(),
        };
        TestApp {
            server,
            api,
            client,
            owner,
            db_url,
            options: self,
            _db: db,
            _dir: dir,
        }
    }
}

struct Server {
    child: Child,
    addr: SocketAddr,
    /// Stdout lines printed before the listening line.
    startup_lines: Vec<String>,
}

impl Server {
    fn start(db_url: &str, options: &ServeOptions) -> Server {
        let mut cmd = vpcep_command();
        cmd.arg("serve");
        if options.settings_via_env {
            cmd.env("VPCEP_DATABASE", db_url)
                .env("VPCEP_LISTEN", "127.0.0.1:0");
        } else {
            cmd.args(["--listen", "127.0.0.1:0", "--database", db_url]);
        }
        cmd.args(&options.args);
        for (key, value) in &options.envs {
            cmd.env(key, value);
        }
        cmd.stdout(Stdio::piped());
        if let Some(path) = &options.log_file {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .expect("open the server's log file");
            cmd.stderr(file);
        } else if std::env::var_os("TEST_LOG").is_some() {
            cmd.stderr(Stdio::inherit());
        } else {
            cmd.stderr(Stdio::null());
        }
        let mut child = cmd.spawn().expect("spawn `vpcep serve`");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel::<String>();
        // Keep draining stdout for the life of the process so the pipe never fills up.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(line) => {
                        let _ = tx.send(line);
                    }
                    Err(_) => break,
                }
            }
        });

        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut lines = Vec::new();
        loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(LISTENING_PREFIX) {
                        let addr: SocketAddr = rest.parse().unwrap_or_else(|e| {
                            let _ = child.kill();
                            panic!("bad listening line {line:?} ({e}); expected `{LISTENING_PREFIX}127.0.0.1:PORT`")
                        });
                        assert!(
                            addr.ip().is_loopback() && addr.port() != 0,
                            "listening line names {addr}, expected 127.0.0.1 and a real port"
                        );
                        return Server {
                            child,
                            addr,
                            startup_lines: lines,
                        };
                    }
                    lines.push(line);
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "`vpcep serve` did not print `{LISTENING_PREFIX}...` within {STARTUP_TIMEOUT:?}; \
                         stdout so far: {lines:?} (set TEST_LOG=1 to see its stderr)"
                    );
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = child.wait();
                    panic!(
                        "`vpcep serve` closed stdout ({status:?}) before printing `{LISTENING_PREFIX}...`; \
                         stdout: {lines:?} (set TEST_LOG=1 to see its stderr)"
                    );
                }
            }
        }
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sends a signal with the `kill` command.
    fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([format!("-{signal}"), pid])
            .status()
            .expect("run `kill`");
        assert!(sent.success(), "`kill -{signal}` failed");
    }

    /// Waits (bounded) for the process to exit.
    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for vpcep") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("vpcep did not exit within {SHUTDOWN_TIMEOUT:?} after a stop signal");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One running server on its own database, with the owner credential made before it started.
pub struct TestApp {
    server: Server,
    api: Caller,
    pub client: reqwest::Client,
    pub owner: Credential,
    pub db_url: String,
    options: ServeOptions,
    // Dropped after `server` (fields drop in order): the server stops before its database goes.
    _db: TestDb,
    _dir: TempDir,
}

/// The owner's typed API is the default one: `app.create_service(..)`.
impl Deref for TestApp {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.api
    }
}

impl TestApp {
    /// A server with default settings.
    pub fn spawn() -> TestApp {
        ServeOptions::default().spawn()
    }

    /// A server started with extra `serve` arguments.
    pub fn with_args(args: &[&str]) -> TestApp {
        ServeOptions::default().args(args).spawn()
    }

    pub fn builder() -> ServeOptions {
        ServeOptions::default()
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// The server process's id.
    pub fn pid(&self) -> u32 {
        self.server.child.id()
    }

    pub fn base(&self) -> String {
        self.server.base()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base(), path)
    }

    /// An unsigned request to any path (not only under `/v1/{project}`), with a token or
    /// without any credential.
    pub async fn plain(&self, method: reqwest::Method, path: &str, token: Option<&str>) -> Resp {
        let mut rb = self.client.request(method, self.url(path));
        if let Some(token) = token {
            rb = rb.header("X-Auth-Token", token);
        }
        Resp::from_reqwest(rb.send().await.expect("send")).await
    }

    /// What the server logged so far (needs [`ServeOptions::capture_log`]).
    pub fn log(&self) -> String {
        let path = self
            .options
            .log_file
            .as_ref()
            .expect("start the server with capture_log() to read its log");
        std::fs::read_to_string(path).unwrap_or_default()
    }

    /// Stdout lines the current server process printed before its listening line.
    pub fn startup_lines(&self) -> &[String] {
        &self.server.startup_lines
    }

    pub fn token(&self) -> &str {
        &self.owner.token
    }

    pub fn project_id(&self) -> &str {
        &self.owner.project_id
    }

    pub fn domain_id(&self) -> &str {
        &self.owner.domain_id
    }

    /// The typed API as another credential.
    pub fn as_(&self, who: &Credential) -> Caller {
        self.caller(Some(&who.token), &who.project_id)
    }

    /// The typed API with any token (or none) and any path project id.
    pub fn caller(&self, token: Option<&str>, project: &str) -> Caller {
        Caller {
            client: self.client.clone(),
            base: self.base(),
            token: token.map(str::to_string),
            project: project.to_string(),
        }
    }

    /// A new project in the owner's account (`credentials create --domain-id`).
    pub fn new_project_in_owner_account(&self) -> Credential {
        create_credential(
            &self.db_url,
            &["--name", "sibling", "--domain-id", &self.owner.domain_id],
        )
    }

    /// A new account with its own project.
    pub fn new_account(&self) -> Credential {
        create_credential(&self.db_url, &["--name", "stranger"])
    }

    /// SIGTERM, wait for exit code 0, start again on the same database.
    pub fn restart(&mut self) {
        let status = self.stop("TERM");
        assert_eq!(
            status.code(),
            Some(0),
            "vpcep exited with {status} after SIGTERM"
        );
        self.start_again();
    }

    /// Starts the server again on the same database after it has exited.
    pub fn start_again(&mut self) {
        assert!(
            self.server
                .child
                .try_wait()
                .expect("wait for vpcep")
                .is_some(),
            "the server is still running"
        );
        self.server = Server::start(&self.db_url, &self.options);
        self.api.base = self.server.base();
    }

    /// Sends a signal (`TERM`, `INT`) and waits for the process to exit.
    pub fn stop(&mut self, signal: &str) -> ExitStatus {
        self.server.signal(signal);
        self.server.wait_exit()
    }

    /// Sends a signal without waiting.
    pub fn signal(&self, signal: &str) {
        self.server.signal(signal);
    }

    /// Waits (bounded) for the server to exit, e.g. after `signal`.
    pub fn wait_exit(&mut self) -> ExitStatus {
        self.server.wait_exit()
    }

    /// A raw TCP connection to the server, for what an HTTP client library will not send.
    pub fn raw(&self) -> RawConn {
        RawConn::connect(self.addr())
    }

    /// The full path of the seed operation on one of the owner's services.
    pub fn seed_path(&self, sid: &str) -> String {
        format!(
            "/v1/{}/vpc-endpoint-services/{sid}/connections/description",
            self.project_id()
        )
    }

    /// The head of a seed request with the owner's token and a JSON body of `content_length`
    /// bytes, for tests that send (or hold back) the body themselves over `raw()`.
    pub fn seed_head(&self, sid: &str, content_length: &str) -> String {
        request_head(
            self.addr(),
            "PUT",
            &self.seed_path(sid),
            &[
                ("X-Auth-Token", self.token()),
                ("Content-Type", "application/json"),
                ("Content-Length", content_length),
            ],
        )
    }
}
