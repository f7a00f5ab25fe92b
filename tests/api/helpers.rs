//! The test harness: one real `vpcep serve` process per test, on a fresh database and on a port
//! chosen by the OS, plus one typed method per VPCEP operation.
//!
//! The database is a SQLite file in a temp folder, or, with `VPCEP_TEST_BACKEND=postgres`, a
//! uniquely named PostgreSQL database on `VPCEP_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432`), created for the test and dropped after it.
//!
//! The server is driven only through its documented interface (docs/api.md §4): the `credentials`
//! and `serve` commands, the listening line on stdout, signals, and HTTP.

use std::collections::BTreeSet;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::ops::Deref;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_vpcep");

/// A cold start runs the migrations on a new file; a debug build on a busy machine can be slow.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// A graceful stop finishes in-flight requests "bounded"; we allow that bound generously.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(20);
const LISTENING_PREFIX: &str = "vpcep listening on http://";

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

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

/// The `sqlite:///abs/path` URL of a database file at `relative` inside `dir`.
pub fn sqlite_url(dir: &TempDir, relative: &str) -> String {
    let path = dir.path().join(relative);
    assert!(path.is_absolute());
    format!("sqlite://{}", path.display())
}

// ---------------------------------------------------------------------------------------------
// The server process
// ---------------------------------------------------------------------------------------------

/// How to start `vpcep serve`; kept so that `restart` starts it the same way.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    args: Vec<String>,
    envs: Vec<(String, String)>,
    no_owner: bool,
    settings_via_env: bool,
    db_file: Option<String>,
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

    /// The database file, relative to the test's temp dir (default `vpcep.db`).
    pub fn db_file(mut self, relative: &str) -> Self {
        self.db_file = Some(relative.to_string());
        self
    }

    pub fn spawn(mut self) -> TestApp {
        let dir = tempfile::tempdir().expect("create a temp dir");
        if self.capture_log {
            self.log_file = Some(dir.path().join("serve.log"));
        }
        let db = match (backend(), &self.db_file) {
            // A test that names a file is about SQLite files.
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

/// The database backend the suite runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("VPCEP_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// The PostgreSQL server of the suite (without a database name).
pub fn postgres_base() -> String {
    std::env::var("VPCEP_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
        .trim_end_matches('/')
        .to_string()
}

/// Runs administrative SQL on the PostgreSQL server's `postgres` database, on a thread of its own
/// (tests call this from inside their own runtime).
pub fn postgres_admin(sql: String) {
    let url = format!("{}/postgres", postgres_base());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {url}: {e}"));
            tokio::spawn(conn);
            client
                .batch_execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        })
    })
    .join()
    .expect("the PostgreSQL admin thread");
}

/// A test's database: a SQLite file, or a PostgreSQL database dropped when the test ends.
pub struct TestDb {
    pub url: String,
    postgres_name: Option<String>,
}

impl TestDb {
    pub fn sqlite(dir: &TempDir, relative: &str) -> TestDb {
        TestDb {
            url: sqlite_url(dir, relative),
            postgres_name: None,
        }
    }

    pub fn postgres() -> TestDb {
        let name = format!("vpcep_test_{}", uuid::Uuid::new_v4().simple());
        postgres_admin(format!("CREATE DATABASE {name}"));
        TestDb {
            url: format!("{}/{name}", postgres_base()),
            postgres_name: Some(name),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.postgres_name {
            postgres_admin(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
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
        args.iter()
            .fold(ServeOptions::default(), |o, a| o.arg(a))
            .spawn()
    }

    pub fn builder() -> ServeOptions {
        ServeOptions::default()
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
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

// ---------------------------------------------------------------------------------------------
// HTTP: typed operations
// ---------------------------------------------------------------------------------------------

/// A response: status, headers, the raw text and the parsed JSON (`Null` when not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Resp {
    pub async fn from_reqwest(r: reqwest::Response) -> Resp {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.expect("read the response body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header"))
    }

    /// The `X-Request-Id` header, which every response must carry.
    #[track_caller]
    pub fn request_id(&self) -> String {
        let id = self
            .header("x-request-id")
            .unwrap_or_else(|| panic!("no X-Request-Id on a {} response", self.status));
        assert!(!id.trim().is_empty(), "empty X-Request-Id");
        id.to_string()
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Resp {
        assert_eq!(
            self.status, status,
            "expected HTTP {status}, got {} with body {}",
            self.status, self.text
        );
        self
    }

    /// Asserts HTTP 200 and returns the JSON body.
    #[track_caller]
    pub fn ok(&self) -> &Value {
        self.assert_status(200);
        assert!(
            self.body.is_object(),
            "a 200 body must be a JSON object: {}",
            self.text
        );
        self.request_id();
        &self.body
    }

    /// Asserts an error response of docs/api.md §2 and returns its message.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> String {
        self.assert_status(status);
        self.request_id();
        let content_type = self.header("content-type").unwrap_or("");
        assert!(
            content_type.starts_with("application/json"),
            "error Content-Type {content_type:?} is not JSON"
        );
        check_error_body(&self.body, code, &self.text)
    }
}

/// The table text an error message must start with (the reference's error code table); 0005
/// has two texts.
pub fn table_texts(code: &str) -> &'static [&'static str] {
    match code {
        "EndPoint.0001" => &["System error. Please retry."],
        "EndPoint.0002" => &["Parameter error."],
        "EndPoint.0003" => &["Authentication failed or authentication information is invalid."],
        "EndPoint.0004" => &["Authentication information is incorrect or you have no permissions."],
        "EndPoint.0005" => &[
            "The requested resource does not exist.",
            "The requested resource is unavailable.",
        ],
        "EndPoint.0006" => &["Invalid limit."],
        "EndPoint.0007" => &["Invalid action."],
        "EndPoint.0010" => &["Invalid offset."],
        "EndPoint.0013" => &["The request timed out."],
        "EndPoint.0014" => &["Invalid project ID."],
        "EndPoint.0016" => &["The number of batch operated resources exceeded the limit."],
        "EndPoint.0017" => &["Invalid sort_key."],
        "EndPoint.0018" => &["Invalid sort_dir."],
        "EndPoint.0019" => &["Invalid status."],
        "EndPoint.0021" => &["Invalid marker_id."],
        "EndPoint.2003" => &["The endpoint service does not exist."],
        "EndPoint.2004" => &["The endpoint service is unavailable."],
        "EndPoint.2012" => &["You have no permission to connect to the VPC endpoint service."],
        "EndPoint.2013" => &["The endpoint does not belong to the endpoint service."],
        "EndPoint.2017" => &["Invalid endpoint ID."],
        "EndPoint.2018" => &["The endpoint is being deleted."],
        "EndPoint.2019" => &["The endpoint is being created."],
        "EndPoint.2031" => &["Only one endpoint is allowed."],
        "EndPoint.2047" => &["The VPC endpoint in the Failed status cannot be modified."],
        "EndPoint.3006" => &["The endpoint service is being used."],
        "EndPoint.3062" => &["Invalid endpoint service ID."],
        other => panic!("no table text known to the tests for {other}"),
    }
}

/// Checks both error shapes of docs/api.md §2 and returns the message.
#[track_caller]
pub fn check_error_body(body: &Value, code: &str, raw: &str) -> String {
    assert_eq!(body["error_code"], code, "error_code in {raw}");
    assert_eq!(body["error"]["code"], code, "error.code in {raw}");
    let msg = body["error_msg"]
        .as_str()
        .unwrap_or_else(|| panic!("error_msg is not a string in {raw}"));
    assert_eq!(
        body["error"]["message"], msg,
        "error.message differs from error_msg in {raw}"
    );
    // A 501 says what is not implemented instead of the table's "Please retry".
    let not_implemented = code == "EndPoint.0001" && msg.ends_with(" is not implemented by vpcep.");
    assert!(
        not_implemented || table_texts(code).iter().any(|t| msg.starts_with(t)),
        "message {msg:?} does not start with the table text of {code} ({:?})",
        table_texts(code)
    );
    msg.to_string()
}

/// The typed VPCEP API as one caller (a token, or none) in one path project.
#[derive(Clone)]
pub struct Caller {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
    project: String,
}

impl Caller {
    /// `/v1/{project}{rest}`; `rest` starts with `/`.
    pub fn project_url(&self, rest: &str) -> String {
        format!("{}/v1/{}{}", self.base, self.project, rest)
    }

    fn request(&self, method: Method, rest: &str) -> reqwest::RequestBuilder {
        let mut rb = self.client.request(method, self.project_url(rest));
        if let Some(token) = &self.token {
            rb = rb.header("X-Auth-Token", token);
        }
        rb
    }

    /// Any method and path under the project, with an optional JSON body.
    pub async fn call(&self, method: Method, rest: &str, body: Option<&Value>) -> Resp {
        let mut rb = self.request(method, rest);
        if let Some(body) = body {
            rb = rb.json(body);
        }
        Resp::from_reqwest(rb.send().await.expect("send the request")).await
    }

    /// Any method and path under the project, with a body sent exactly as given.
    pub async fn call_text(
        &self,
        method: Method,
        rest: &str,
        content_type: &str,
        body: &str,
    ) -> Resp {
        let rb = self
            .request(method, rest)
            .header("Content-Type", content_type)
            .body(body.to_string());
        Resp::from_reqwest(rb.send().await.expect("send the request")).await
    }

    fn with_query(path: String, query: &str) -> String {
        if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        }
    }

    // CreateEndpointService
    pub async fn create_service(&self, body: &Value) -> Resp {
        self.call(Method::POST, "/vpc-endpoint-services", Some(body))
            .await
    }

    // ListEndpointService
    pub async fn list_services(&self, query: &str) -> Resp {
        let path = Self::with_query("/vpc-endpoint-services".into(), query);
        self.call(Method::GET, &path, None).await
    }

    // ListServiceDetails
    pub async fn get_service(&self, id: &str) -> Resp {
        self.call(Method::GET, &format!("/vpc-endpoint-services/{id}"), None)
            .await
    }

    // UpdateEndpointService
    pub async fn update_service(&self, id: &str, body: &Value) -> Resp {
        self.call(
            Method::PUT,
            &format!("/vpc-endpoint-services/{id}"),
            Some(body),
        )
        .await
    }

    // DeleteEndpointService
    pub async fn delete_service(&self, id: &str) -> Resp {
        self.call(
            Method::DELETE,
            &format!("/vpc-endpoint-services/{id}"),
            None,
        )
        .await
    }

    // ListServiceDescribeDetails
    pub async fn describe_service(&self, query: &str) -> Resp {
        let path = Self::with_query("/vpc-endpoint-services/describe".into(), query);
        self.call(Method::GET, &path, None).await
    }

    // CreateEndpoint
    pub async fn create_endpoint(&self, body: &Value) -> Resp {
        self.call(Method::POST, "/vpc-endpoints", Some(body)).await
    }

    // ListEndpoints
    pub async fn list_endpoints(&self, query: &str) -> Resp {
        let path = Self::with_query("/vpc-endpoints".into(), query);
        self.call(Method::GET, &path, None).await
    }

    // ListEndpointInfoDetails
    pub async fn get_endpoint(&self, id: &str) -> Resp {
        self.call(Method::GET, &format!("/vpc-endpoints/{id}"), None)
            .await
    }

    // DeleteEndpoint
    pub async fn delete_endpoint(&self, id: &str) -> Resp {
        self.call(Method::DELETE, &format!("/vpc-endpoints/{id}"), None)
            .await
    }

    // ListServiceConnections
    pub async fn list_connections(&self, service_id: &str, query: &str) -> Resp {
        let path = Self::with_query(
            format!("/vpc-endpoint-services/{service_id}/connections"),
            query,
        );
        self.call(Method::GET, &path, None).await
    }

    // AcceptOrRejectEndpoint
    pub async fn accept_or_reject(&self, service_id: &str, body: &Value) -> Resp {
        self.call(
            Method::POST,
            &format!("/vpc-endpoint-services/{service_id}/connections/action"),
            Some(body),
        )
        .await
    }

    // UpdateEndpointConnectionsDesc (the seed operation)
    pub async fn update_connection_descriptions(&self, service_id: &str, body: &Value) -> Resp {
        self.call(
            Method::PUT,
            &format!("/vpc-endpoint-services/{service_id}/connections/description"),
            Some(body),
        )
        .await
    }

    // ----- conveniences that assert success -----

    /// Creates a service with the typical body and returns its id.
    pub async fn new_service(&self, approval_enabled: bool) -> String {
        let r = self.create_service(&service_body(approval_enabled)).await;
        str_of(&r.ok()["id"])
    }

    /// Creates an endpoint to `service_id` and returns the 200 body.
    pub async fn new_endpoint(&self, service_id: &str) -> Value {
        self.create_endpoint(&endpoint_body(service_id))
            .await
            .ok()
            .clone()
    }

    /// A service without approval and `n` accepted connections: (service id, endpoint ids).
    pub async fn service_with_connections(&self, n: usize) -> (String, Vec<String>) {
        let sid = self.new_service(false).await;
        let mut ids = Vec::new();
        for _ in 0..n {
            ids.push(str_of(&self.new_endpoint(&sid).await["id"]));
        }
        (sid, ids)
    }

    /// One connection as the Terraform provider reads it (`?limit=1000&id=`).
    pub async fn connection(&self, service_id: &str, endpoint_id: &str) -> Value {
        let r = self
            .list_connections(service_id, &format!("limit=1000&id={endpoint_id}"))
            .await;
        let body = r.ok();
        let list = body["connections"].as_array().expect("connections array");
        assert_eq!(
            list.len(),
            1,
            "connection {endpoint_id} not listed once: {body}"
        );
        list[0].clone()
    }

    /// The seed operation with (id, description) pairs.
    pub async fn set_descriptions(&self, service_id: &str, pairs: &[(&str, &str)]) -> Resp {
        let items: Vec<Value> = pairs
            .iter()
            .map(|(id, d)| json!({"id": id, "description": d}))
            .collect();
        self.update_connection_descriptions(service_id, &json!({ "connections": items }))
            .await
    }
}

// ---------------------------------------------------------------------------------------------
// Bodies and small checks
// ---------------------------------------------------------------------------------------------

pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn service_body(approval_enabled: bool) -> Value {
    json!({
        "port_id": uuid(),
        "vpc_id": uuid(),
        "server_type": "VM",
        "ports": [{"client_port": 80, "server_port": 8080, "protocol": "TCP"}],
        "approval_enabled": approval_enabled,
    })
}

pub fn endpoint_body(service_id: &str) -> Value {
    json!({"endpoint_service_id": service_id, "vpc_id": uuid(), "subnet_id": uuid()})
}

#[track_caller]
pub fn str_of(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a JSON string, got {v}"))
        .to_string()
}

pub fn key_set(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("expected a JSON object, got {v}"))
        .keys()
        .cloned()
        .collect()
}

#[track_caller]
pub fn assert_keys(v: &Value, expected: &[&str], what: &str) {
    let got = key_set(v);
    let want: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: missing keys {missing:?}, unexpected keys {extra:?} in {v}"
    );
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the timestamp format of the VPCEP API reference.
#[track_caller]
pub fn assert_timestamp(v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("timestamp is not a string: {v}"));
    let b = s.as_bytes();
    let ok = b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    assert!(ok, "timestamp {s:?} is not YYYY-MM-DDTHH:MM:SSZ");
}

/// A lowercase hyphenated UUID.
#[track_caller]
pub fn assert_lower_uuid(v: &Value) {
    let s = str_of(v);
    let parsed = uuid::Uuid::parse_str(&s).unwrap_or_else(|e| panic!("{s:?} is not a UUID: {e}"));
    assert_eq!(
        s,
        parsed.hyphenated().to_string(),
        "{s:?} is not lowercase hyphenated"
    );
}

/// 32 lowercase hex characters.
#[track_caller]
pub fn assert_hex32(s: &str) {
    assert!(
        s.len() == 32
            && s.bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)),
        "{s:?} is not 32 lowercase hex characters"
    );
}

/// The ids of a list of objects, in order.
pub fn ids_of(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {list}"))
        .iter()
        .map(|item| str_of(&item["id"]))
        .collect()
}

pub async fn sleep_past_second() {
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1 over TCP
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body of the {} response is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts an error response of docs/api.md §2.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> String {
        let raw = String::from_utf8_lossy(&self.body).to_string();
        assert_eq!(
            self.status, status,
            "expected HTTP {status}, got {} {raw}",
            self.status
        );
        assert!(
            self.header("x-request-id").is_some_and(|v| !v.is_empty()),
            "no X-Request-Id on {self:?}"
        );
        check_error_body(&self.json(), code, &raw)
    }
}

pub struct RawConn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RawConn {
    pub fn connect(addr: SocketAddr) -> RawConn {
        let stream = TcpStream::connect(addr).expect("connect to vpcep");
        stream.set_nodelay(true).expect("nodelay");
        RawConn {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// A second handle on the same socket, e.g. for writing from another thread.
    pub fn writer(&self) -> TcpStream {
        self.stream.try_clone().expect("clone the socket")
    }

    fn fill(&mut self, deadline: Instant) -> io::Result<usize> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "response deadline passed",
            ));
        }
        self.stream.set_read_timeout(Some(left))?;
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    fn take_line(&mut self, deadline: Instant) -> io::Result<String> {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..pos]).to_string();
                self.buf.drain(..pos + 2);
                return Ok(line);
            }
            if self.fill(deadline)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "EOF inside a line",
                ));
            }
        }
    }

    fn take_exact(&mut self, n: usize, deadline: Instant) -> io::Result<Vec<u8>> {
        while self.buf.len() < n {
            if self.fill(deadline)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "EOF inside a body",
                ));
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// Reads one response. `Ok(None)`: the server closed the connection before sending a byte.
    /// A response that is not well-formed HTTP/1.1 is an `InvalidData` error.
    pub fn read_response(&mut self, timeout: Duration) -> io::Result<Option<RawResponse>> {
        let deadline = Instant::now() + timeout;
        while self.buf.is_empty() {
            if self.fill(deadline)? == 0 {
                return Ok(None);
            }
        }
        let status_line = self.take_line(deadline)?;
        let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
        let status: u16 = status_line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| bad(format!("not an HTTP/1.1 status line: {status_line:?}")))?;
        let mut headers = Vec::new();
        loop {
            let line = self.take_line(deadline)?;
            if line.is_empty() {
                break;
            }
            let (k, v) = line
                .split_once(':')
                .ok_or_else(|| bad(format!("bad header line {line:?}")))?;
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
        let mut resp = RawResponse {
            status,
            headers,
            body: Vec::new(),
        };
        if let Some(len) = resp.header("content-length") {
            let len: usize = len
                .parse()
                .map_err(|_| bad(format!("bad Content-Length {len:?}")))?;
            resp.body = self.take_exact(len, deadline)?;
        } else if resp
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            loop {
                let size_line = self.take_line(deadline)?;
                let size =
                    usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
                        .map_err(|_| bad(format!("bad chunk size {size_line:?}")))?;
                if size == 0 {
                    while !self.take_line(deadline)?.is_empty() {}
                    break;
                }
                let chunk = self.take_exact(size, deadline)?;
                resp.body.extend_from_slice(&chunk);
                self.take_exact(2, deadline)?;
            }
        } else if status != 204 && status != 304 {
            // No framing: the body runs to the end of the connection.
            while self.fill(deadline)? > 0 {}
            resp.body = std::mem::take(&mut self.buf);
        }
        Ok(Some(resp))
    }
}

/// Request head bytes: `METHOD PATH HTTP/1.1`, Host, the given headers, blank line.
pub fn request_head(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head
}
