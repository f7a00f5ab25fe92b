//! The command line (docs/api.md §4): every `serve` flag is also an environment variable.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::domain::credential::GivenCredential;

pub const DEFAULT_DATABASE: &str = "sqlite://vpcep-data/vpcep.db";

#[derive(Parser, Debug)]
#[command(
    name = "vpcep",
    version,
    about = "A VPC Endpoint control plane speaking the Huawei Cloud VPCEP v1 API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How log lines on stderr are written: `text` for people, `json` for a log collector (one
    /// object per line, in the field names of tracing-subscriber's JSON formatter).
    #[arg(long, global = true, env = "VPCEP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// `--log-format`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the API server.
    Serve(ServeArgs),
    /// Manage the credentials that may call the API.
    #[command(subcommand)]
    Credentials(CredentialsCommand),
    /// Inject faults for tests of clients: failed endpoints and services, failing creations.
    #[command(subcommand)]
    Inject(InjectCommand),
    /// Manage the public catalogue: endpoint services every tenant sees and may connect to.
    #[command(subcommand)]
    PublicServices(PublicServicesCommand),
    /// Register where the data plane (`serve --data-plane`) forwards the connections of services
    /// created without an `ip`, by their backend port (`port_id`).
    #[command(subcommand)]
    Backends(BackendsCommand),
    /// Remove every endpoint service, endpoint and whitelist entry of every tenant; credentials
    /// stay. For test databases.
    Reset {
        #[command(flatten)]
        db: DatabaseArg,
        /// Confirm: without it nothing is removed.
        #[arg(long)]
        yes: bool,
    },
}

/// The error an injected fault carries.
#[derive(Args, Debug, Clone)]
pub struct InjectedError {
    /// The `error_code` shown in the failed resource's `error` list.
    #[arg(long, default_value = "EndPoint.0001")]
    pub error_code: String,
    /// The `error_message` shown with it.
    #[arg(long, default_value = "System error. Please retry.")]
    pub error_message: String,
}

#[derive(Subcommand, Debug)]
pub enum InjectCommand {
    /// Make an endpoint (and its connection) `failed`.
    EndpointFailed {
        #[command(flatten)]
        db: DatabaseArg,
        /// The endpoint's project, or the project of the service it connects to.
        #[arg(long)]
        project_id: String,
        /// The endpoint id.
        #[arg(long)]
        id: String,
        #[command(flatten)]
        error: InjectedError,
    },
    /// Make an endpoint service `failed`.
    ServiceFailed {
        #[command(flatten)]
        db: DatabaseArg,
        #[arg(long)]
        project_id: String,
        /// The service id.
        #[arg(long)]
        id: String,
        #[command(flatten)]
        error: InjectedError,
    },
    /// Make the next N services or endpoints created in a project end `failed` (0 cancels).
    FailNextCreations {
        #[command(flatten)]
        db: DatabaseArg,
        #[arg(long)]
        project_id: String,
        #[arg(long)]
        count: u32,
        #[command(flatten)]
        error: InjectedError,
    },
}

#[derive(Subcommand, Debug)]
pub enum BackendsCommand {
    /// Register (or replace) the address of a backend port.
    Set {
        #[command(flatten)]
        db: DatabaseArg,
        /// The services' `port_id`.
        #[arg(long)]
        port_id: String,
        /// An IPv4 address or a host name; the service's port mappings give the ports.
        #[arg(long)]
        address: String,
        /// Serve only this project's services (default: every project's; a project's own
        /// registration wins).
        #[arg(long)]
        project_id: Option<String>,
    },
    /// List every registration.
    List {
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Remove a registration.
    Delete {
        #[command(flatten)]
        db: DatabaseArg,
        #[arg(long)]
        port_id: String,
        /// The project it was registered for (default: the one for every project).
        #[arg(long)]
        project_id: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum PublicServicesCommand {
    /// Add a service to the catalogue of a region (nothing changes if it is there already).
    Add {
        #[command(flatten)]
        db: DatabaseArg,
        /// The region the service is listed in (the first part of its name).
        #[arg(long, env = "VPCEP_REGION", default_value = "local-1")]
        region: String,
        /// The name after the region: 1..64 of `[A-Za-z0-9_.-]`, e.g. com.example.v1.storage.
        #[arg(long)]
        name: String,
        /// `interface` or `gateway`.
        #[arg(long, default_value = "interface", value_parser = ["interface", "gateway"])]
        service_type: String,
        /// Who runs it (`owner` in ListServicePublicDetails).
        #[arg(long, default_value = "vpcep")]
        owner: String,
        /// Its endpoints take policies (statements for gateway, a document for interface).
        #[arg(long)]
        enable_policy: bool,
        /// Endpoints to it are billed (`is_charge`).
        #[arg(long)]
        charge: bool,
        /// A TCP port mapping `CLIENT:SERVER`, e.g. 443:8443; repeat for more.
        #[arg(long = "port", value_parser = parse_port_mapping)]
        ports: Vec<(u16, u16)>,
    },
    /// List the catalogue of every region.
    List {
        #[command(flatten)]
        db: DatabaseArg,
    },
}

fn parse_port_mapping(s: &str) -> Result<(u16, u16), String> {
    let bad = || format!("{s:?} is not CLIENT:SERVER with ports 1..65535");
    let (c, v) = s.split_once(':').ok_or_else(bad)?;
    let port = |p: &str| p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad);
    Ok((port(c)?, port(v)?))
}

#[derive(Args, Debug, Clone)]
pub struct DatabaseArg {
    /// Database URL: sqlite://PATH (relative to the working directory, or sqlite:///ABSOLUTE) or
    /// postgres://USER[:PASSWORD]@HOST:PORT/DB.
    #[arg(long, env = "VPCEP_DATABASE", default_value = DEFAULT_DATABASE)]
    pub database: String,
    /// PostgreSQL: connections in the pool.
    #[arg(long, env = "VPCEP_POOL_SIZE", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    pub pool_size: u32,
    /// PostgreSQL: how long to wait for a database that cannot be reached yet.
    #[arg(long, env = "VPCEP_DATABASE_WAIT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub database_wait: Duration,
    /// PostgreSQL: how long to wait for a connection (a request answers 503 after).
    #[arg(long, env = "VPCEP_CONNECT_TIMEOUT", default_value = "3s", value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,
}

impl DatabaseArg {
    /// The database in words, for the one stderr line of each command: the URL without its
    /// password, and for SQLite the absolute path, since a relative one depends on the folder
    /// the command runs in.
    pub fn describe(&self) -> String {
        let url = crate::store::redact_url(&self.database);
        match self.sqlite_file() {
            Some(path) => match std::path::absolute(&path) {
                Ok(abs) if abs != path => format!("{url} ({})", abs.display()),
                _ => url,
            },
            None => url,
        }
    }

    fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        self.database
            .strip_prefix("sqlite://")
            .map(std::path::PathBuf::from)
    }

    /// Opens a database that must exist already: commands that only read or change what is in
    /// it (`credentials list|delete`, `inject`) must not create an empty one because they ran in
    /// another folder than `serve`.
    pub async fn open_existing(&self) -> anyhow::Result<crate::store::SharedStore> {
        if let Some(path) = self.sqlite_file() {
            if !path.is_file() {
                anyhow::bail!(
                    "no database at {}: `vpcep serve` creates it on its first start. Run this \
                     command from the folder `serve` runs in, or pass the same --database (or \
                     VPCEP_DATABASE)",
                    self.describe()
                );
            }
        }
        self.open().await
    }

    /// Opens the database this argument names.
    pub async fn open(&self) -> anyhow::Result<crate::store::SharedStore> {
        let pg = crate::store::postgres::Options {
            pool_size: self.pool_size as usize,
            startup_wait: self.database_wait,
            connect_timeout: self.connect_timeout,
        };
        crate::store::open(&self.database, &pg).await
    }
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, env = "VPCEP_LISTEN", default_value = "127.0.0.1:8400")]
    pub listen: SocketAddr,
    /// Serve `GET /metrics` (Prometheus, no authentication) on this address instead of on
    /// --listen, e.g. one that only the monitoring network reaches (port 0 picks a free port;
    /// the chosen address is printed).
    #[arg(long, env = "VPCEP_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    #[command(flatten)]
    pub db: DatabaseArg,
    /// Region name used in service names (`{region}.{name}.{id}`).
    #[arg(long, env = "VPCEP_REGION", default_value = "local-1")]
    pub region: String,
    /// Do not put the default public services (an OBS-like gateway service and a DNS-like
    /// interface service) in the region's catalogue at start.
    #[arg(long, env = "VPCEP_NO_DEFAULT_PUBLIC_SERVICES")]
    pub no_default_public_services: bool,
    /// Most connections one seed request may update.
    #[arg(long, env = "VPCEP_MAX_BATCH", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_batch: u32,
    /// Most endpoint services one project may hold (ListQuotaDetails; 400 `EndPoint.1018` past it).
    #[arg(long, env = "VPCEP_QUOTA_ENDPOINT_SERVICES", default_value_t = 100)]
    pub quota_endpoint_services: u64,
    /// Most endpoints one project may hold (ListQuotaDetails; 400 `EndPoint.1018` past it).
    #[arg(long, env = "VPCEP_QUOTA_ENDPOINTS", default_value_t = 150)]
    pub quota_endpoints: u64,
    /// Largest request body accepted, in bytes (413 above).
    #[arg(long, env = "VPCEP_MAX_BODY_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Most bytes of request bodies held at once, all requests together; a body that does not
    /// fit is refused with 503 and `Retry-After` before it is read. At least --max-body-bytes.
    #[arg(long, env = "VPCEP_MAX_BUFFERED_BODY_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_buffered_body_bytes: usize,
    /// Time a client has to send a request's headers, and again its body (408 after).
    #[arg(long, env = "VPCEP_READ_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub read_timeout: Duration,
    /// Deadline of each database call (504 after).
    #[arg(long, env = "VPCEP_REQUEST_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,
    /// Requests served at once; more are refused with 503 at once.
    #[arg(long, env = "VPCEP_MAX_IN_FLIGHT", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_in_flight: u32,
    /// How long new services and endpoints stay `creating`, and deleted ones `deleting`, before
    /// they settle (0s: at once). Pending transitions survive restarts.
    #[arg(long, env = "VPCEP_TRANSITION_DELAY", default_value = "0s", value_parser = humantime::parse_duration)]
    pub transition_delay: Duration,
    /// How long a graceful stop waits for in-flight requests.
    #[arg(long, env = "VPCEP_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_timeout: Duration,
    /// A credential with keys you choose, ACCESS_KEY:SECRET_KEY[:PROJECT_ID[:DOMAIN_ID]], created
    /// at start unless the database holds it already (then it must match). It replaces the
    /// generated first credential. Prefer the variable: a command line is visible to others.
    #[arg(long, env = "VPCEP_BOOTSTRAP_CREDENTIAL", hide_env_values = true, value_parser = keep_secret)]
    pub bootstrap_credential: Option<Secret>,
    /// Serve a fresh SQLite database in a temporary folder, removed when the server stops: the
    /// one-liner for a CI job. Allows reset. Not with --database.
    #[arg(long, env = "VPCEP_EPHEMERAL", conflicts_with = "database")]
    pub ephemeral: bool,
    /// Let any authenticated caller wipe every service, endpoint and whitelist of the server with
    /// `POST /_vpcep/reset` (credentials stay). For test servers only.
    #[arg(long, env = "VPCEP_ALLOW_RESET")]
    pub allow_reset: bool,
    /// Serve the data plane: every accepted connection listens on its endpoint's address and
    /// forwards TCP to the service's backend (with a Proxy Protocol v2 header when the service's
    /// tcp_proxy asks for one). Endpoint addresses then come from --data-plane-cidr.
    #[arg(long, env = "VPCEP_DATA_PLANE")]
    pub data_plane: bool,
    /// The block endpoint addresses come from with --data-plane, shared by every VPC (Linux
    /// routes all of 127.0.0.0/8 to the loopback interface).
    #[arg(long, env = "VPCEP_DATA_PLANE_CIDR", default_value = "127.16.0.0/12", value_parser = data_plane_block)]
    pub data_plane_cidr: crate::domain::AddressRange,
}

/// A command-line value that holds a secret: `Debug` hides it, and it is parsed after clap,
/// whose error messages would repeat a rejected value whole.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

fn keep_secret(text: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret(text.to_owned()))
}

impl ServeArgs {
    /// `--bootstrap-credential`, validated.
    pub fn bootstrap_credential(&self) -> anyhow::Result<Option<GivenCredential>> {
        self.bootstrap_credential
            .as_ref()
            .map(|s| {
                GivenCredential::parse(s.expose())
                    .map_err(|e| anyhow::anyhow!("--bootstrap-credential: {e}"))
            })
            .transpose()
    }
}

/// How `credentials create` prints the new credential.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum CredentialFormat {
    /// One JSON object.
    #[default]
    Json,
    /// `export VPCEP_...=...` lines, for `eval "$(vpcep credentials create --format env)"`.
    Env,
}

#[derive(Subcommand, Debug)]
pub enum CredentialsCommand {
    /// Create a credential and print it (with its secrets) as one JSON object.
    Create {
        #[command(flatten)]
        db: DatabaseArg,
        /// A label for the credential.
        #[arg(long, default_value = "default")]
        name: String,
        /// The account; a new one when omitted.
        #[arg(long)]
        domain_id: Option<String>,
        /// The project; a new one when omitted. It must not belong to another account.
        #[arg(long)]
        project_id: Option<String>,
        /// How to print it.
        #[arg(long, value_enum, default_value_t = CredentialFormat::Json)]
        format: CredentialFormat,
    },
    /// List credentials, without secrets.
    List {
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Delete a credential: its token stops working at once.
    Delete {
        #[command(flatten)]
        db: DatabaseArg,
        #[arg(long)]
        access_key: String,
    },
}

/// The settings the request path reads.
#[derive(Debug, Clone)]
pub struct Settings {
    pub region: String,
    pub max_batch: usize,
    pub max_body_bytes: usize,
    pub max_buffered_body_bytes: usize,
    pub read_timeout: Duration,
    pub request_timeout: Duration,
    pub max_in_flight: usize,
    pub transition_delay: Duration,
    /// `POST /_vpcep/reset` may wipe the database (`--allow-reset`, `--ephemeral`).
    pub allow_reset: bool,
    /// Each project's limits.
    pub quotas: crate::domain::Quotas,
    /// Where new endpoints' addresses come from (the data plane's block with --data-plane).
    pub addresses: crate::domain::AddressRange,
}

impl Settings {
    /// The transition delay in milliseconds, as the store takes it.
    pub fn delay_ms(&self) -> i64 {
        i64::try_from(self.transition_delay.as_millis()).unwrap_or(i64::MAX)
    }
}

impl From<&ServeArgs> for Settings {
    fn from(a: &ServeArgs) -> Self {
        Self {
            region: a.region.clone(),
            max_batch: a.max_batch as usize,
            max_body_bytes: a.max_body_bytes,
            max_buffered_body_bytes: a.max_buffered_body_bytes,
            read_timeout: a.read_timeout,
            request_timeout: a.request_timeout,
            max_in_flight: a.max_in_flight as usize,
            transition_delay: a.transition_delay,
            allow_reset: a.allow_reset || a.ephemeral,
            quotas: crate::domain::Quotas {
                endpoint_services: a.quota_endpoint_services,
                endpoints: a.quota_endpoints,
            },
            addresses: if a.data_plane {
                a.data_plane_cidr
            } else {
                crate::domain::AddressRange::AUTO
            },
        }
    }
}

fn data_plane_block(s: &str) -> Result<crate::domain::AddressRange, String> {
    crate::domain::AddressRange::shared_block(s)
}
