//! The primitives a backend offers the flows (`store::flows`): small reads and writes of one
//! kind of row, each one SQL statement (or a few) and no decision. A flow is written once,
//! generic over [`Tx`], and runs inside one transaction of whichever backend serves it.
//!
//! Every method returns a `Send` future, so flows are `Send` on PostgreSQL (where primitives do
//! await the database) and trivially ready on SQLite (where they run on the thread that holds
//! the connection; see `store::sqlite::ready`).

use std::future::Future;

use crate::domain::lifecycle::Start;
use crate::domain::route::{Backend, Route};
use crate::domain::tags::{ResourceKind, Tagged};
use crate::domain::{
    quota::QuotaShard, AddressRange, Connection, ConnectionStatus, Credential, DescriptionUpdate,
    Endpoint, EndpointId, EndpointService, NewEndpoint, PermissionRecord, Port, ProjectId,
    QueryError, QuotaKind, ServiceError, ServiceId, ServiceStatus, Tag, Tenant,
};
use crate::store::list::ListQuery;
use crate::store::{Page, PageRequest, ResetCounts, StoreResult};

/// How a read locks the rows it returns until the transaction ends (PostgreSQL; SQLite's single
/// writer makes every write transaction exclusive already, and ignores it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lock {
    No,
    /// `FOR SHARE`: the row may not change or go away meanwhile.
    Share,
    /// `FOR UPDATE`: this transaction will change the row.
    Update,
}

/// A service row with its short name (the `name` the owner gave, without region and id).
#[derive(Clone, Debug)]
pub struct StoredService {
    pub service: EndpointService,
    pub name: Option<String>,
}

/// Everything a new endpoint row holds.
#[derive(Clone, Copy, Debug)]
pub struct EndpointInsert<'a> {
    pub id: &'a str,
    pub consumer: &'a Tenant,
    pub service_id: &'a str,
    pub new: &'a NewEndpoint,
    pub port_ip: u32,
    pub start: &'a Start<ConnectionStatus>,
    pub error: Option<&'a QueryError>,
    pub now: i64,
    /// The shard of the project's endpoint count it is counted in.
    pub quota_shard: u32,
}

/// One transaction of a backend.
pub trait Tx:
    CredentialRows
    + ServiceRows
    + EndpointRows
    + ConnectionRows
    + PermissionRows
    + LifecycleRows
    + TagRows
{
    /// Makes flows that name the same `key` run one at a time until this transaction ends
    /// (PostgreSQL: a transaction-scoped advisory lock; SQLite: a no-op, its one writer already
    /// runs write transactions one at a time).
    fn serialize(&mut self, key: &str) -> impl Future<Output = StoreResult<()>> + Send;
}

pub trait CredentialRows: Send {
    fn credential_by_token(
        &mut self,
        token_sha256: &str,
    ) -> impl Future<Output = StoreResult<Option<Credential>>> + Send;
    fn credential_by_access_key(
        &mut self,
        access_key: &str,
    ) -> impl Future<Output = StoreResult<Option<Credential>>> + Send;
    fn any_credential(&mut self) -> impl Future<Output = StoreResult<bool>> + Send;
    /// The account of another credential of `project_id` whose account is not `domain_id`.
    fn other_account_of_project(
        &mut self,
        project_id: &str,
        domain_id: &str,
    ) -> impl Future<Output = StoreResult<Option<String>>> + Send;
    /// Inserts the credential; false (and nothing written) when its access key exists.
    fn insert_credential(
        &mut self,
        cred: &Credential,
        token_sha256: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn list_credentials(&mut self) -> impl Future<Output = StoreResult<Vec<Credential>>> + Send;
    fn delete_credential(
        &mut self,
        access_key: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}

pub trait ServiceRows: Send {
    /// The service `id`, in `project` when one is given (any tenant's otherwise).
    fn service(
        &mut self,
        project: Option<&ProjectId>,
        id: &ServiceId,
        lock: Lock,
    ) -> impl Future<Output = StoreResult<Option<StoredService>>> + Send;
    fn service_by_full_name(
        &mut self,
        service_name: &str,
    ) -> impl Future<Output = StoreResult<Option<EndpointService>>> + Send;
    /// Whether `project` has the service `id`; takes a share lock on its row.
    fn service_exists(
        &mut self,
        project: &ProjectId,
        id: &ServiceId,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Registers (or replaces) the backend address of `port_id` for `project_id` (empty: every
    /// project).
    fn set_backend(&mut self, backend: &Backend) -> impl Future<Output = StoreResult<()>> + Send;
    /// The registered backends of `project_id` (and those for every project), by port id.
    fn backends(
        &mut self,
        project_id: Option<&str>,
    ) -> impl Future<Output = StoreResult<Vec<Backend>>> + Send;
    /// Removes a registration; whether there was one.
    fn delete_backend(
        &mut self,
        project_id: &str,
        port_id: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// The id and ports of every service of `project` on the backend port `port_id`.
    fn services_on_port(
        &mut self,
        project: &ProjectId,
        port_id: &str,
    ) -> impl Future<Output = StoreResult<Vec<(String, Vec<Port>)>>> + Send;
    /// Inserts the service, counted in the shard `quota_shard` of its project's count.
    fn insert_service(
        &mut self,
        service: &EndpointService,
        name: Option<&str>,
        start: &Start<ServiceStatus>,
        quota_shard: u32,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Writes the changeable properties of `service` (and its short name).
    fn update_service(
        &mut self,
        service: &EndpointService,
        name: Option<&str>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn service_has_endpoints(
        &mut self,
        id: &ServiceId,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn mark_service_deleting(
        &mut self,
        id: &ServiceId,
        due_ms: i64,
        now: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_service(&mut self, id: &ServiceId) -> impl Future<Output = StoreResult<()>> + Send;
    fn set_service_failed(
        &mut self,
        id: &ServiceId,
        error: &ServiceError,
        now: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// A page of services with their `connection_count`; the conditions name columns of
    /// `endpoint_services s`.
    fn list_services(
        &mut self,
        query: &ListQuery,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<EndpointService>>> + Send;
}

pub trait EndpointRows: Send {
    fn endpoint(
        &mut self,
        project: &ProjectId,
        id: &EndpointId,
    ) -> impl Future<Output = StoreResult<Option<Endpoint>>> + Send;
    /// The status of the endpoint `id` of `project`, row-locked for update.
    fn endpoint_status(
        &mut self,
        project: &ProjectId,
        id: &EndpointId,
    ) -> impl Future<Output = StoreResult<Option<ConnectionStatus>>> + Send;
    /// The project of the endpoint `id` when `project` is its own or its service's, row-locked
    /// for update.
    fn endpoint_project_seen_by(
        &mut self,
        project: &ProjectId,
        id: &EndpointId,
    ) -> impl Future<Output = StoreResult<Option<ProjectId>>> + Send;
    /// Every accepted connection of an interface service, as the data plane serves it.
    fn data_plane_routes(&mut self) -> impl Future<Output = StoreResult<Vec<Route>>> + Send;
    /// Whether an endpoint has the address in the VPC (`None`: in any VPC).
    fn port_ip_taken(
        &mut self,
        vpc_id: Option<&str>,
        ip: u32,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// The highest address of the range in use in the VPC (`None`: in any VPC).
    fn highest_ip_in(
        &mut self,
        vpc_id: Option<&str>,
        range: &AddressRange,
    ) -> impl Future<Output = StoreResult<Option<u32>>> + Send;
    /// Every address of the range in use in the VPC (`None`: in any VPC), ascending.
    fn ips_in_use(
        &mut self,
        vpc_id: Option<&str>,
        range: &AddressRange,
    ) -> impl Future<Output = StoreResult<Vec<u32>>> + Send;
    fn insert_endpoint(
        &mut self,
        row: EndpointInsert<'_>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn mark_endpoint_deleting(
        &mut self,
        id: &EndpointId,
        due_ms: i64,
        now: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_endpoint(&mut self, id: &EndpointId) -> impl Future<Output = StoreResult<()>> + Send;
    /// Sets the endpoint's IP whitelist and whether it is enforced.
    fn set_endpoint_whitelist(
        &mut self,
        id: &EndpointId,
        whitelist: &[String],
        enabled: bool,
        now: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Sets the endpoint's policy: a gateway endpoint's statements, another's document.
    fn set_endpoint_policy(
        &mut self,
        id: &EndpointId,
        statement: &[serde_json::Value],
        document: Option<&serde_json::Value>,
        now: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn set_endpoint_routetables(
        &mut self,
        id: &EndpointId,
        routetables: &[String],
        now: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn set_endpoint_edition(
        &mut self,
        id: &EndpointId,
        edition: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The id and route tables of every endpoint of `service` in the VPC `vpc_id`.
    fn routetables_of_service(
        &mut self,
        service: &ServiceId,
        vpc_id: &str,
    ) -> impl Future<Output = StoreResult<Vec<(String, Vec<String>)>>> + Send;
    fn set_endpoint_failed(
        &mut self,
        id: &EndpointId,
        error: &QueryError,
        now: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// A page of endpoints; the conditions name columns of `endpoints e` and of their service
    /// `endpoint_services s`.
    fn list_endpoints(
        &mut self,
        query: &ListQuery,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<Endpoint>>> + Send;
}

pub trait ConnectionRows: Send {
    /// The connection `id` of the service `service` of `project`, row-locked for update: one
    /// indexed lookup that also proves the service is the caller's.
    fn connection(
        &mut self,
        project: &ProjectId,
        service: &ServiceId,
        id: &EndpointId,
    ) -> impl Future<Output = StoreResult<Option<Connection>>> + Send;
    fn set_connection_status(
        &mut self,
        id: &EndpointId,
        status: ConnectionStatus,
        now: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The service's connections (in `status`, or all), from the counters the schema keeps.
    fn connection_count(
        &mut self,
        service: &ServiceId,
        status: Option<ConnectionStatus>,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Connections by status in the whole database, from the same counters; statuses without a
    /// connection may be missing.
    fn connection_totals(
        &mut self,
    ) -> impl Future<Output = StoreResult<Vec<(ConnectionStatus, i64)>>> + Send;
    /// A page of connections; the conditions name columns of `endpoints`.
    fn list_connections(
        &mut self,
        query: &ListQuery,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<Connection>>> + Send;
    /// The seed's one step: finds the connections of `service` named by `updates` (row-locked
    /// for update) and, only when `domain::seed::allowed` says so, writes each description that
    /// differs, with `updated_at = now`. Returns the connections as they were, in any order;
    /// `None` when `project` has no such service. SQLite asks the rule in Rust; PostgreSQL
    /// evaluates the same rule inside one statement (`tests/store_rules.rs` checks they agree).
    fn find_and_update_descriptions(
        &mut self,
        project: &ProjectId,
        service: &ServiceId,
        updates: &[DescriptionUpdate],
        now: i64,
    ) -> impl Future<Output = StoreResult<Option<Vec<Connection>>>> + Send;
}

pub trait PermissionRows: Send {
    /// The whitelist entries of a service, oldest first.
    fn whitelist(
        &mut self,
        service: &ServiceId,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
    fn permission_by_entry(
        &mut self,
        service: &ServiceId,
        entry: &str,
    ) -> impl Future<Output = StoreResult<Option<PermissionRecord>>> + Send;
    fn permission_by_id(
        &mut self,
        service: &ServiceId,
        id: &str,
    ) -> impl Future<Output = StoreResult<Option<PermissionRecord>>> + Send;
    fn permission_count(
        &mut self,
        service: &ServiceId,
    ) -> impl Future<Output = StoreResult<usize>> + Send;
    fn insert_permission(
        &mut self,
        service: &ServiceId,
        record: &PermissionRecord,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn set_permission_description(
        &mut self,
        id: &str,
        description: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_permission_entry(
        &mut self,
        service: &ServiceId,
        entry: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_permissions(&mut self, ids: &[&str]) -> impl Future<Output = StoreResult<()>> + Send;
    /// A page of whitelist records; the conditions name columns of
    /// `endpoint_service_permissions`.
    fn list_permissions(
        &mut self,
        query: &ListQuery,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<PermissionRecord>>> + Send;
}

pub trait LifecycleRows: Send {
    /// How many resources of `kind` the project holds (in any state): the sum of its shards.
    fn count_of_project(
        &mut self,
        project: &ProjectId,
        kind: QuotaKind,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    /// One shard of the project's count of `kind`, row-locked as `lock` says.
    fn quota_shard(
        &mut self,
        project: &ProjectId,
        kind: QuotaKind,
        shard: u32,
        lock: Lock,
    ) -> impl Future<Output = StoreResult<Option<QuotaShard>>> + Send;
    /// Every shard of the project's count of `kind` that exists, row-locked for update, in
    /// shard order.
    fn quota_shards(
        &mut self,
        project: &ProjectId,
        kind: QuotaKind,
    ) -> impl Future<Output = StoreResult<Vec<QuotaShard>>> + Send;
    /// Sets each shard's share (`limits[shard]`) of the quota `for_quota`, making missing
    /// shards.
    fn set_quota_shares(
        &mut self,
        project: &ProjectId,
        kind: QuotaKind,
        limits: &[u64],
        for_quota: u64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Takes one failure from the project's fault plan, if it has any left.
    fn take_fault(
        &mut self,
        project: &ProjectId,
    ) -> impl Future<Output = StoreResult<Option<QueryError>>> + Send;
    /// Sets (or with `count` 0, removes) the project's fault plan.
    fn plan_failures(
        &mut self,
        project: &ProjectId,
        count: u32,
        error: &QueryError,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Carries out every transition due at `now_ms`; each statement matches only rows still in
    /// the transitional state, so a transition happens once whichever node runs it.
    fn settle_due(
        &mut self,
        now_ms: i64,
        now: i64,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    /// Removes every endpoint, whitelist record, fault plan and service but those of the public
    /// catalogue.
    fn reset_all(&mut self) -> impl Future<Output = StoreResult<ResetCounts>> + Send;
}

/// The table of a kind of tagged resource, and the column that is its name in the tag queries
/// (an endpoint has none: its id); the same in both backends' SQL.
pub fn tag_table(kind: ResourceKind) -> (&'static str, &'static str) {
    match kind {
        ResourceKind::EndpointService => ("endpoint_services", "service_name"),
        ResourceKind::Endpoint => ("endpoints", "id"),
    }
}

pub trait TagRows: Send {
    /// The tags of the resource `id` of `kind` in `project`, row-locked for update; `None` when
    /// `project` has no such resource.
    fn resource_tags(
        &mut self,
        project: &ProjectId,
        kind: ResourceKind,
        id: &str,
    ) -> impl Future<Output = StoreResult<Option<Vec<Tag>>>> + Send;
    fn set_resource_tags(
        &mut self,
        kind: ResourceKind,
        id: &str,
        tags: &[Tag],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Every resource of `kind` in `project` with its name and tags, newest first (the order of
    /// the list operations).
    fn tagged_resources(
        &mut self,
        project: &ProjectId,
        kind: ResourceKind,
    ) -> impl Future<Output = StoreResult<Vec<Tagged>>> + Send;
}
