//! Storage: every operation is a flow (`flows`), written once over the primitives of `tx`, run
//! by [`Store::run`] in one transaction of the backend chosen at start from the database URL
//! (`sqlite`, `postgres`). The backends hold SQL only; the rules flows apply live in
//! `crate::domain`. docs/architecture.md has the picture.

pub mod flows;
pub mod list;
pub mod postgres;
pub mod sqlite;
pub mod tx;

use std::sync::Arc;

use crate::domain::Credential;
use postgres::credential_cache::CredentialKey;

use crate::domain::{
    ConnectionStatus, Permission, QuotaKind, ServiceId, ServiceStatus, TransitionError,
};
use flows::Flow;

/// What can go wrong in the store, in terms the HTTP layer maps to the error catalogue in one place
/// (`api::error`).
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// The resource named in the path does not exist in the caller's project.
    #[error("not found")]
    NotFound,
    /// An id in the body is not a connection of the service (EndPoint.2013).
    #[error("endpoint {0} is not a connection of the service")]
    NotAConnection(String),
    /// CreateEndpoint to a service that does not exist (EndPoint.2003).
    #[error("endpoint service missing")]
    ServiceMissing,
    /// CreateEndpoint to a service that is not available (EndPoint.2004).
    #[error("endpoint service unavailable")]
    ServiceNotAvailable,
    /// The caller's account may not connect to the service (EndPoint.2012).
    #[error("not permitted to connect")]
    ConnectNotPermitted,
    /// DeleteEndpointService while endpoints are connected (EndPoint.3006).
    #[error("endpoint service in use")]
    ServiceInUse,
    /// A service being created or deleted cannot be deleted (409).
    #[error("endpoint service is being created or deleted")]
    ServiceBusy,
    /// UpdateEndpointService in a state that forbids it (EndPoint.3045).
    #[error("endpoint service state forbids the change")]
    ServiceStateForbids,
    /// The requested port IP is taken in that VPC (EndPoint.2042).
    #[error("port ip in use")]
    PortIpInUse,
    /// A requested address outside the data plane's block (EndPoint.2041; the block).
    #[error("port ip outside {0}")]
    PortIpOutsideRange(String),
    /// No free address is left in the VPC's automatic range (EndPoint.2042 as well).
    #[error("no free address")]
    NoFreeAddress,
    /// The project holds as many resources of the kind as its quota allows (EndPoint.1018).
    #[error("quota of {0:?} exceeded")]
    QuotaExceeded(QuotaKind),
    /// A policy where the endpoint's service takes none, or not of that kind (EndPoint.2048).
    #[error("policy refused: {0}")]
    PolicyRefused(&'static str),
    /// DeleteEndpointPolicy on an endpoint without one (EndPoint.2049).
    #[error("no policy")]
    NoPolicy,
    /// A route table another endpoint of the service holds in the VPC (EndPoint.2039).
    #[error("route table {0} in use")]
    RouteTableInUse(String),
    /// A gateway endpoint would be left with no route table (EndPoint.2040).
    #[error("no route table left")]
    NoRouteTable,
    /// Route tables of an endpoint that is not a gateway endpoint (EndPoint.0002).
    #[error("not a gateway endpoint")]
    NotGateway,
    /// An interface endpoint without a subnet (EndPoint.2010).
    #[error("subnet required")]
    SubnetRequired,
    /// UpgradeEndpoint while the service supports only the basic edition (EndPoint.0002).
    #[error("edition unsupported")]
    EditionUnsupported,
    /// Server resources (ELB instances) for a service whose server type is not `LB`
    /// (EndPoint.3021).
    #[error("not an LB service")]
    NotAnLbService,
    /// A service would hold more server resources than allowed (EndPoint.0016).
    #[error("too many server resources")]
    TooManyServerResources,
    /// A resource would carry more tags than allowed (EndPoint.3069).
    #[error("too many tags")]
    TooManyTags,
    /// A whitelist would grow past its maximum (EndPoint.3049).
    #[error("whitelist full")]
    WhitelistFull,
    /// An id in the body is not a whitelist record of the service (EndPoint.0002).
    #[error("{0} is not a whitelist record of the service")]
    NotAPermission(String),
    /// A port mapping collides with another service on the same backend port (EndPoint.3044).
    #[error("ports conflict with another endpoint service")]
    PortsConflict,
    /// A connection's state forbids the change.
    #[error("state forbids the change: {0:?}")]
    Transition(TransitionError),
    /// A credential's project already belongs to another account.
    #[error("project {0} belongs to another account")]
    ProjectOfAnotherDomain(String),
    /// The access key already exists.
    #[error("access key exists")]
    DuplicateAccessKey,
    /// A write conflict that persisted after retries.
    #[error("write conflict")]
    Conflict,
    /// The database cannot be reached or used (503).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database did not answer in time (504).
    #[error("database timeout")]
    Timeout,
    /// A bug or an unexpected database answer (500); the text is logged, never sent.
    #[error("internal: {0}")]
    Internal(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Sort order of lists (docs/api.md §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    CreatedAt,
    UpdatedAt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SortDir {
    #[default]
    Desc,
    Asc,
}

/// A page of a list: `limit` 0..=1000, `offset` >= 0, and the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub offset: u64,
    pub sort_key: SortKey,
    pub sort_dir: SortDir,
}

impl PageRequest {
    /// The sort column and direction, as SQL.
    pub fn order_sql(&self) -> (&'static str, &'static str) {
        let key = match self.sort_key {
            SortKey::CreatedAt => "created_at",
            SortKey::UpdatedAt => "updated_at",
        };
        let dir = match self.sort_dir {
            SortDir::Desc => "DESC",
            SortDir::Asc => "ASC",
        };
        (key, dir)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: 10,
            offset: 0,
            sort_key: SortKey::default(),
            sort_dir: SortDir::default(),
        }
    }
}

/// One page and the number of all matches.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total_count: i64,
}

#[derive(Clone, Debug, Default)]
pub struct ServiceFilter {
    /// Case-insensitive substring of the full service name.
    pub name: Option<String>,
    pub id: Option<String>,
    pub status: Option<ServiceStatus>,
}

#[derive(Clone, Debug, Default)]
pub struct EndpointFilter {
    /// Case-insensitive substring of the connected service's full name.
    pub service_name: Option<String>,
    pub vpc_id: Option<String>,
    pub id: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct ConnectionFilter {
    pub id: Option<String>,
    pub marker_id: Option<i64>,
    pub status: Option<ConnectionStatus>,
}

/// How ListServiceDescribeDetails names the service.
#[derive(Clone, Debug)]
pub enum DescribeBy {
    Id(ServiceId),
    Name(String),
}

/// One item of BatchAddEndpointServicePermissions, validated.
#[derive(Clone, Debug)]
pub struct NewPermission {
    pub permission: Permission,
    pub description: String,
}

/// What [`flows::lifecycle::Reset`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResetCounts {
    pub services: u64,
    pub endpoints: u64,
    pub permissions: u64,
}

/// The store: one of the backends. Flows that take a project only see that project's rows:
/// another tenant's resource is reported exactly like a missing one.
pub enum Store {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PostgresStore),
}

/// The store as the server and the commands share it.
pub type SharedStore = Arc<Store>;

impl Store {
    /// The credential of an access key: on PostgreSQL from the node's cache when it may be
    /// (`postgres::credential_cache`), else from the database.
    pub async fn credential_by_access_key(
        &self,
        access_key: &str,
    ) -> StoreResult<Option<Credential>> {
        let flow = flows::credentials::ByAccessKey {
            access_key: access_key.to_owned(),
        };
        self.credential(CredentialKey::AccessKey(access_key.to_owned()), flow)
            .await
    }

    /// The credential of a token (by the token's SHA-256), like
    /// [`Store::credential_by_access_key`].
    pub async fn credential_by_token(&self, token_sha256: &str) -> StoreResult<Option<Credential>> {
        let flow = flows::credentials::ByToken {
            token_sha256: token_sha256.to_owned(),
        };
        self.credential(CredentialKey::TokenSha256(token_sha256.to_owned()), flow)
            .await
    }

    async fn credential<F>(&self, key: CredentialKey, flow: F) -> StoreResult<Option<Credential>>
    where
        F: Flow<Output = Option<Credential>>,
    {
        match self {
            Store::Sqlite(s) => s.run(flow).await,
            Store::Postgres(p) => Box::pin(p.credential(key, flow)).await,
        }
    }

    /// Runs one flow in a transaction of the kind it declares ([`flows::Access`]).
    pub async fn run<F: Flow>(&self, flow: F) -> StoreResult<F::Output> {
        match self {
            Store::Sqlite(s) => s.run(flow).await,
            // Boxed: a PostgreSQL flow awaits the database, and its state would otherwise be part of
            // every handler future that runs it.
            Store::Postgres(p) => Box::pin(p.run(flow)).await,
        }
    }

    /// The PostgreSQL pool's figures (`None` on SQLite), for `/metrics`.
    pub fn pool_figures(&self) -> Option<crate::metrics::PoolFigures> {
        match self {
            Store::Sqlite(_) => None,
            Store::Postgres(p) => Some(p.pool_figures()),
        }
    }

    /// `sqlite` or `postgres`, for the build-info metric.
    pub fn backend_name(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Succeeds when the database answers reads and writes.
    pub async fn health(&self) -> StoreResult<()> {
        match self {
            Store::Sqlite(s) => s.health().await,
            Store::Postgres(p) => p.health().await,
        }
    }
}

/// A database URL without its password, for logs and messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Opens the store a database URL names (`sqlite://PATH` or `postgres://...`), applying
/// migrations.
pub async fn open(url: &str, pg: &postgres::Options) -> anyhow::Result<SharedStore> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let store = sqlite::SqliteStore::open(sqlite::file_path(path)?).await?;
        Ok(Arc::new(Store::Sqlite(store)))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = postgres::PostgresStore::open(url, pg).await?;
        Ok(Arc::new(Store::Postgres(store)))
    } else {
        anyhow::bail!(
            "unsupported database URL: expected sqlite://PATH or postgres://USER@HOST:PORT/DB"
        )
    }
}
