//! Storage: one trait between the handlers and SQL, with one implementation per backend, chosen
//! at start from the database URL. The trait speaks the domain's language; every rule that needs
//! a consistent read-then-write (ownership, state transitions, uniqueness) runs inside the
//! implementation's transaction, using the pure functions of `crate::domain`.

pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::{
    Connection, ConnectionAction, ConnectionStatus, Credential, Description, Endpoint, EndpointId,
    EndpointService, NewEndpoint, NewService, Permission, PermissionRecord, QueryError,
    ServiceError, ServicePatch, ServiceStatus, Tenant, TransitionError,
};

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
    /// No free address is left in the VPC's automatic range (EndPoint.2042 as well).
    #[error("no free address")]
    NoFreeAddress,
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
    Id(String),
    Name(String),
}

/// One item of the seed operation, validated.
#[derive(Clone, Debug)]
pub struct DescriptionUpdate {
    pub id: EndpointId,
    pub description: Description,
}

/// The seed operation's rules once its connections are found, in request order (docs/api.md §1),
/// for both backends: each must be in a state that allows the change (the first that is not is
/// the error); then each description that differs is set, with `updated_at = now`, and an
/// unchanged one keeps its `updated_at`. Returns the indices of the changed connections, which
/// the caller writes (or, on PostgreSQL, has written).
pub fn apply_description_updates(
    current: &mut [Connection],
    updates: &[DescriptionUpdate],
    now: i64,
) -> StoreResult<Vec<usize>> {
    for conn in current.iter() {
        conn.status
            .check_description_change()
            .map_err(StoreError::Transition)?;
    }
    let mut changed = Vec::new();
    for (i, (conn, u)) in current.iter_mut().zip(updates).enumerate() {
        if conn.description != u.description.as_str() {
            conn.description = u.description.as_str().to_owned();
            conn.updated_at = now;
            changed.push(i);
        }
    }
    Ok(changed)
}

/// The order of a seed response: the default order of ListServiceConnections (newest first,
/// then by id).
pub fn sort_as_listed(connections: &mut [Connection]) {
    connections.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| a.id.cmp(&b.id))
    });
}

/// Most whitelist entries one service may hold.
pub const MAX_WHITELIST: usize = 500;

/// One item of BatchAddEndpointServicePermissions, validated.
#[derive(Clone, Debug)]
pub struct NewPermission {
    pub permission: Permission,
    pub description: String,
}

/// The storage interface. Methods that take a `project_id` only see that project's rows: another
/// tenant's resource is reported exactly like a missing one.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Succeeds when the database answers reads and writes.
    async fn health(&self) -> StoreResult<()>;

    // Credentials.
    async fn credential_by_token(&self, token_sha256: String) -> StoreResult<Option<Credential>>;
    async fn credential_by_access_key(&self, access_key: String)
        -> StoreResult<Option<Credential>>;
    async fn create_credential(&self, cred: Credential, token_sha256: String) -> StoreResult<()>;
    /// Creates `cred` only when no credential exists yet; true when it did.
    async fn bootstrap_credential(
        &self,
        cred: Credential,
        token_sha256: String,
    ) -> StoreResult<bool>;
    async fn list_credentials(&self) -> StoreResult<Vec<Credential>>;
    async fn delete_credential(&self, access_key: String) -> StoreResult<bool>;

    /// Removes every endpoint service, endpoint (connection), whitelist entry and planned
    /// failure of every tenant, in one transaction; credentials stay, and `marker_id`s are not
    /// reused afterwards.
    async fn reset(&self) -> StoreResult<ResetCounts>;

    // Endpoint services.
    async fn create_service(
        &self,
        owner: Tenant,
        region: String,
        new: NewService,
    ) -> StoreResult<EndpointService>;
    async fn get_service(&self, project_id: String, id: String) -> StoreResult<EndpointService>;
    async fn list_services(
        &self,
        project_id: String,
        filter: ServiceFilter,
        page: PageRequest,
    ) -> StoreResult<Page<EndpointService>>;
    async fn update_service(
        &self,
        project_id: String,
        id: String,
        region: String,
        patch: ServicePatch,
    ) -> StoreResult<EndpointService>;
    /// Deletes at once (`delay_ms` 0) or marks the service `deleting` until the delay passes.
    async fn delete_service(
        &self,
        project_id: String,
        id: String,
        delay_ms: i64,
    ) -> StoreResult<()>;
    /// Any tenant's service, for consumers looking one up before connecting.
    async fn describe_service(&self, by: DescribeBy) -> StoreResult<EndpointService>;

    // Endpoints.
    async fn create_endpoint(&self, consumer: Tenant, new: NewEndpoint) -> StoreResult<Endpoint>;
    async fn get_endpoint(&self, project_id: String, id: String) -> StoreResult<Endpoint>;
    async fn list_endpoints(
        &self,
        project_id: String,
        filter: EndpointFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Endpoint>>;
    /// Deletes at once (`delay_ms` 0) or marks the endpoint `deleting` until the delay passes.
    async fn delete_endpoint(
        &self,
        project_id: String,
        id: String,
        delay_ms: i64,
    ) -> StoreResult<()>;

    // Lifecycle and fault injection.
    /// Carries out the transitions due at `now_ms` (creating -> settled, deleting -> gone);
    /// returns how many. Each happens once, whichever node runs it.
    async fn settle_due(&self, now_ms: i64) -> StoreResult<u64>;
    /// Makes an endpoint (and its connection) `failed`. `project_id` is the endpoint's project or
    /// the project of the service it connects to.
    async fn fail_endpoint(
        &self,
        project_id: String,
        id: String,
        error: QueryError,
    ) -> StoreResult<Endpoint>;
    /// Makes a service of `project_id` `failed`.
    async fn fail_service(
        &self,
        project_id: String,
        id: String,
        error: ServiceError,
    ) -> StoreResult<EndpointService>;
    /// The next `count` services or endpoints created in `project_id` end `failed` with `error`
    /// (0 cancels the plan).
    async fn plan_failures(
        &self,
        project_id: String,
        count: u32,
        error: QueryError,
    ) -> StoreResult<()>;

    // Whitelists. Every method is scoped to a service in `project_id` (else NotFound).
    /// Adds (or removes) entries; returns the whole resulting list, oldest first.
    async fn add_or_remove_permissions(
        &self,
        project_id: String,
        service_id: String,
        entries: Vec<Permission>,
        add: bool,
    ) -> StoreResult<Vec<String>>;
    /// Adds entries with descriptions (an existing entry takes the new description); returns the
    /// records named in the request, in request order.
    async fn batch_add_permissions(
        &self,
        project_id: String,
        service_id: String,
        items: Vec<NewPermission>,
    ) -> StoreResult<Vec<PermissionRecord>>;
    /// Removes records by id, all or nothing; returns the removed records.
    async fn batch_remove_permissions(
        &self,
        project_id: String,
        service_id: String,
        ids: Vec<String>,
    ) -> StoreResult<Vec<PermissionRecord>>;
    async fn list_permissions(
        &self,
        project_id: String,
        service_id: String,
        permission_like: Option<String>,
        page: PageRequest,
    ) -> StoreResult<Page<PermissionRecord>>;
    async fn update_permission_description(
        &self,
        project_id: String,
        service_id: String,
        permission_id: String,
        description: String,
    ) -> StoreResult<PermissionRecord>;

    // Connections, seen by the owner of the service.
    async fn list_connections(
        &self,
        project_id: String,
        service_id: String,
        filter: ConnectionFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Connection>>;
    async fn accept_or_reject(
        &self,
        project_id: String,
        service_id: String,
        endpoint_id: EndpointId,
        action: ConnectionAction,
    ) -> StoreResult<Connection>;
    /// The seed operation: all or nothing; returns the named connections ordered by `created_at`
    /// descending, then `id` ascending.
    async fn update_connection_descriptions(
        &self,
        project_id: String,
        service_id: String,
        updates: Vec<DescriptionUpdate>,
    ) -> StoreResult<Vec<Connection>>;
}

pub type DynStore = Arc<dyn Store>;

/// What [`Store::reset`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResetCounts {
    pub services: u64,
    pub endpoints: u64,
    pub permissions: u64,
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
pub async fn open(url: &str, pg: &postgres::Options) -> anyhow::Result<DynStore> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let store = sqlite::SqliteStore::open(sqlite::file_path(path)?).await?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = postgres::PostgresStore::open(url, pg).await?;
        Ok(Arc::new(store))
    } else {
        anyhow::bail!(
            "unsupported database URL: expected sqlite://PATH or postgres://USER@HOST:PORT/DB"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(id: &str, created_at: i64, status: ConnectionStatus, description: &str) -> Connection {
        Connection {
            id: id.to_owned(),
            marker_id: created_at,
            created_at,
            updated_at: created_at,
            domain_id: "d".into(),
            status,
            description: description.into(),
            error: Vec::new(),
        }
    }

    fn update(id: &str, description: &str) -> DescriptionUpdate {
        DescriptionUpdate {
            id: EndpointId::parse(id).expect("uuid"),
            description: Description::parse(description).expect("description"),
        }
    }

    const A: &str = "00000000-0000-4000-8000-00000000000a";
    const B: &str = "00000000-0000-4000-8000-00000000000b";
    const C: &str = "00000000-0000-4000-8000-00000000000c";

    #[test]
    fn only_real_changes_are_applied_and_move_updated_at() {
        let mut current = vec![
            conn(A, 1, ConnectionStatus::Accepted, "same"),
            conn(B, 2, ConnectionStatus::Rejected, "old"),
        ];
        let changed =
            apply_description_updates(&mut current, &[update(A, "same"), update(B, "new")], 9)
                .expect("allowed");
        assert_eq!(changed, [1]);
        assert_eq!(
            (current[0].description.as_str(), current[0].updated_at),
            ("same", 1)
        );
        assert_eq!(
            (current[1].description.as_str(), current[1].updated_at),
            ("new", 9)
        );
    }

    #[test]
    fn the_first_connection_that_refuses_the_change_is_the_error_and_nothing_is_applied() {
        let mut current = vec![
            conn(A, 1, ConnectionStatus::Accepted, "a"),
            conn(B, 2, ConnectionStatus::Deleting, "b"),
            conn(C, 3, ConnectionStatus::Creating, "c"),
        ];
        let before = current.clone();
        let updates = [update(A, "x"), update(B, "x"), update(C, "x")];
        let err = apply_description_updates(&mut current, &updates, 9).expect_err("refused");
        assert!(
            matches!(err, StoreError::Transition(TransitionError::BeingDeleted)),
            "{err:?}"
        );
        assert_eq!(current, before);
    }

    #[test]
    fn a_seed_response_is_in_list_order() {
        let mut items = vec![
            conn(B, 1, ConnectionStatus::Accepted, ""),
            conn(C, 2, ConnectionStatus::Accepted, ""),
            conn(A, 1, ConnectionStatus::Accepted, ""),
        ];
        sort_as_listed(&mut items);
        let ids: Vec<&str> = items.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, [C, A, B]);
    }
}
