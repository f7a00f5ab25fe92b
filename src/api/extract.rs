//! Extractors that turn requests into validated inputs or into our errors, in the order of checks
//! of docs/api.md §2. [`Ctx`] runs the whole preamble of a `/v1` request: `Accept` (406) →
//! authentication (401) → path id syntax (400) → project match of the path and of any
//! `X-Project-Id` header (403) → the body within its size limit and read timeout (413, 408).
//! [`Caller`] does the same for the IAM discovery routes, which have no project in their path.
//! Handlers then parse the body ([`Ctx::json`]) and the query ([`QueryParams`]). axum's own
//! rejections are plain text, so none of its body or path extractors reach a client.
//!
//! A signed request (AK/SK, `auth::signing`) covers its body, so its signature can only be
//! checked once the body is read: for signed requests the order is header checks (401) → body
//! (413, 408) → signature (401) → path syntax (400) → project (403). Authentication still comes
//! before the path checks, and a 403 is never given to a request whose signature is not valid.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::{header, request::Parts, HeaderMap, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::{Map, Value};
use tokio::sync::OwnedSemaphorePermit;

use super::error::{ApiError, ErrorCode};
use super::AppState;
use crate::auth::{hash_token, signing};
use crate::domain::{
    parse_path_id, Credential, EndpointId, PermissionId, ProjectId, ServiceId, Tenant,
};
use crate::store::{PageRequest, SortDir, SortKey};

/// 406 unless the `Accept` header admits JSON (or is absent). An extractor rather than a route
/// layer, so that routing and method checks (404, 405) come first, as docs/api.md §2 orders them.
pub struct AcceptsJson;

impl<S: Send + Sync> FromRequestParts<S> for AcceptsJson {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let mut any = false;
        for v in parts.headers.get_all(header::ACCEPT) {
            any = true;
            if v.to_str().is_ok_and(super::accepts_json) {
                return Ok(AcceptsJson);
            }
        }
        if any {
            Err(ApiError::with(
                ErrorCode::ParameterError,
                "The Accept header must admit application/json.",
            )
            .status(StatusCode::NOT_ACCEPTABLE))
        } else {
            Ok(AcceptsJson)
        }
    }
}

/// The authenticated caller, the validated ids of the path (`P`: which ids the route has), and
/// the request body.
#[derive(Debug)]
pub struct Ctx<P = InProject> {
    pub tenant: Tenant,
    /// The path's project id (lowercase), equal to the caller's.
    pub project_id: ProjectId,
    /// The path's other ids.
    pub ids: P,
    pub body: Bytes,
    /// The body's share of the buffer budget, given back when the handler is done.
    _budget: BodyPermit,
}

/// The ids a route's path holds beyond its project, each parsed with its own error code by
/// [`PathIds`] before a handler runs.
pub trait RouteIds: Sized + Send {
    /// Takes this route's ids; `None` when the path lacks one, which only a route table that
    /// pairs a path with the wrong handler can cause (every route is exercised by the tests).
    fn take(ids: &mut PathIds) -> Option<Self>;
}

/// A route with only the project in its path.
#[derive(Debug)]
pub struct InProject;

/// `.../vpc-endpoint-services/{vpc_endpoint_service_id}...`
#[derive(Debug)]
pub struct OfService {
    pub service_id: ServiceId,
}

/// `.../vpc-endpoints/{vpc_endpoint_id}`
#[derive(Debug)]
pub struct OfEndpoint {
    pub endpoint_id: EndpointId,
}

/// `.../vpc-endpoint-services/{vpc_endpoint_service_id}/permissions/{permission_id}`
#[derive(Debug)]
pub struct OfPermission {
    pub service_id: ServiceId,
    pub permission_id: PermissionId,
}

impl RouteIds for InProject {
    fn take(_: &mut PathIds) -> Option<Self> {
        Some(InProject)
    }
}

impl RouteIds for OfService {
    fn take(ids: &mut PathIds) -> Option<Self> {
        Some(Self {
            service_id: ids.service_id.take()?,
        })
    }
}

impl RouteIds for OfEndpoint {
    fn take(ids: &mut PathIds) -> Option<Self> {
        Some(Self {
            endpoint_id: ids.endpoint_id.take()?,
        })
    }
}

/// `.../{resource_type}/{resource_id}/tags/action`: a service or endpoint id, checked by the
/// handler once it knows which.
#[derive(Debug)]
pub struct OfResource {
    pub resource_id: String,
}

/// `/_vpcep/v1/{project_id}/backends/{port_id}`
#[derive(Debug)]
pub struct OfBackendPort {
    pub port_id: String,
}

impl RouteIds for OfBackendPort {
    fn take(ids: &mut PathIds) -> Option<Self> {
        Some(Self {
            port_id: ids.port_id.take()?,
        })
    }
}

impl RouteIds for OfResource {
    fn take(ids: &mut PathIds) -> Option<Self> {
        Some(Self {
            resource_id: ids.resource_id.take()?,
        })
    }
}

impl RouteIds for OfPermission {
    fn take(ids: &mut PathIds) -> Option<Self> {
        Some(Self {
            service_id: ids.service_id.take()?,
            permission_id: ids.permission_id.take()?,
        })
    }
}

/// How a request proved who it is.
enum Identity {
    Token(Credential),
    Signed(Credential, signing::Authorization),
}

/// A 401 whose reason is safe to tell (it never holds a secret); logged at debug level.
fn unauthorized(reason: impl std::fmt::Display) -> ApiError {
    tracing::debug!(%reason, "authentication failed");
    let reason = reason.to_string();
    let mut chars = reason.chars();
    let sentence: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => reason,
    };
    ApiError::with(ErrorCode::AuthenticationFailed, format!("{sentence}."))
}

/// Header-level authentication: a signature's form, date and access key, or a token.
async fn authenticate(headers: &HeaderMap, state: &AppState) -> Result<Identity, ApiError> {
    if let Some(parsed) = signing::Authorization::from_headers(headers) {
        let auth = parsed.map_err(unauthorized)?;
        signing::check_date(headers, time::OffsetDateTime::now_utc()).map_err(unauthorized)?;
        let credential = state
            .db(state.store.credential_by_access_key(&auth.access_key))
            .await?
            .ok_or_else(|| unauthorized("Unknown access key"))?;
        return Ok(Identity::Signed(credential, auth));
    }
    let token = headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthorized("Send X-Auth-Token or sign the request with AK/SK"))?;
    let credential = state
        .db(state.store.credential_by_token(&hash_token(token)))
        .await?
        .ok_or_else(|| unauthorized("Unknown token"))?;
    Ok(Identity::Token(credential))
}

/// The ids of the path, lowercased, each checked for syntax with its own code.
#[derive(Default)]
pub struct PathIds {
    project_id: Option<ProjectId>,
    service_id: Option<ServiceId>,
    endpoint_id: Option<EndpointId>,
    permission_id: Option<PermissionId>,
    resource_id: Option<String>,
    port_id: Option<String>,
}

/// A handler whose route lacks the ids it takes: a bug of the route table.
fn route_table_error() -> ApiError {
    ApiError::internal(&"the route's path lacks its handler's ids")
}

impl PathIds {
    /// The path's project, once [`check_project`] passes.
    fn checked_project(
        &mut self,
        credential: &Credential,
        headers: &HeaderMap,
    ) -> Result<ProjectId, ApiError> {
        let project_id = self.project_id.take().ok_or_else(route_table_error)?;
        check_project(&project_id, credential, headers)?;
        Ok(project_id)
    }

    async fn extract(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Path(params) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::param("The path is not valid UTF-8."))?;
        let mut ids = PathIds::default();
        for (name, value) in params {
            if name == "project_id" && value == "{project_id}" {
                return Err(unfilled_project_id());
            }
            let invalid = |code: ErrorCode| match code {
                ErrorCode::ParameterError => ApiError::param(format!("Invalid {name}.")),
                code => ApiError::new(code),
            };
            match name.as_str() {
                "project_id" => {
                    ids.project_id = Some(
                        ProjectId::from_path(&value)
                            .ok_or_else(|| invalid(ErrorCode::InvalidProjectId))?,
                    )
                }
                "vpc_endpoint_service_id" => {
                    ids.service_id = Some(
                        ServiceId::from_path(&value)
                            .ok_or_else(|| invalid(ErrorCode::InvalidServiceId))?,
                    )
                }
                "vpc_endpoint_id" => {
                    ids.endpoint_id = Some(
                        EndpointId::from_path(&value)
                            .ok_or_else(|| invalid(ErrorCode::InvalidEndpointId))?,
                    )
                }
                "permission_id" => {
                    ids.permission_id = Some(
                        PermissionId::from_path(&value)
                            .ok_or_else(|| invalid(ErrorCode::ParameterError))?,
                    )
                }
                "resource_id" => {
                    ids.resource_id = Some(
                        parse_path_id(&value).ok_or_else(|| invalid(ErrorCode::ParameterError))?,
                    )
                }
                "port_id" => {
                    ids.port_id = Some(
                        parse_path_id(&value).ok_or_else(|| invalid(ErrorCode::ParameterError))?,
                    )
                }
                _ => {
                    parse_path_id(&value).ok_or_else(|| invalid(ErrorCode::ParameterError))?;
                }
            }
        }
        Ok(ids)
    }
}

/// The path of an SDK that was given no project id: it sends its template's `{project_id}` as it
/// is (`%7Bproject_id%7D` on the wire). Say what the client is missing.
fn unfilled_project_id() -> ApiError {
    ApiError::with(
        ErrorCode::InvalidProjectId,
        "The path holds the literal {project_id}: the client was given no project id. Pass it to \
         the credentials (BasicCredentials(ak, sk, project_id)), or build the client with a \
         region and point its IAM endpoint at vpcep, which answers the project lookup.",
    )
}

/// 403 unless the path's project is the credential's, and [`check_project_header`].
fn check_project(
    project_id: &ProjectId,
    credential: &Credential,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    if project_id.as_str() != credential.project_id.to_ascii_lowercase() {
        return Err(ApiError::with(
            ErrorCode::Forbidden,
            "The project in the path is not the credential's project.",
        ));
    }
    check_project_header(credential, headers)
}

/// 403 unless every `X-Project-Id` header names the credential's project (the path's, on `/v1`
/// routes). Signed or not: the Terraform provider's golangsdk adds `X-Project-Id` after signing,
/// so an unsigned one is what it always sends, and a request must not say two different things
/// about which project it acts in.
fn check_project_header(credential: &Credential, headers: &HeaderMap) -> Result<(), ApiError> {
    let own = &credential.project_id;
    let names_own = |v: &axum::http::HeaderValue| {
        std::str::from_utf8(v.as_bytes()).is_ok_and(|p| p.trim().eq_ignore_ascii_case(own))
    };
    if headers.get_all("x-project-id").iter().all(names_own) {
        Ok(())
    } else {
        Err(ApiError::with(
            ErrorCode::Forbidden,
            "X-Project-Id is not the credential's project.",
        ))
    }
}

/// The caller of a route without a project in its path (the IAM discovery of `api::iam`):
/// `Accept` (406) → authentication, with the body read first for signed requests (401, 413,
/// 408) → `X-Project-Id` (403).
pub struct Caller {
    pub credential: Credential,
}

impl FromRequest<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (mut parts, body) = req.into_parts();
        AcceptsJson::from_request_parts(&mut parts, state).await?;
        let credential = match authenticate(&parts.headers, state).await? {
            Identity::Token(credential) => {
                read_body(&parts.headers, body, state).await?;
                credential
            }
            Identity::Signed(credential, auth) => {
                verify_signed(&parts, body, state, &credential, &auth).await?;
                credential
            }
        };
        check_project_header(&credential, &parts.headers)?;
        tracing::Span::current().record("access_key", credential.access_key.as_str());
        Ok(Caller { credential })
    }
}

/// Reads the body of a signed request (within its limits) and verifies the signature over it.
async fn verify_signed(
    parts: &Parts,
    body: Body,
    state: &AppState,
    credential: &Credential,
    auth: &signing::Authorization,
) -> Result<(Bytes, BodyPermit), ApiError> {
    let (body, permit) = read_body(&parts.headers, body, state).await?;
    let request = signing::SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &parts.headers,
        body: &body,
    };
    let options = signing::Options::default();
    if let Err(e) = signing::verify(&request, auth, &credential.secret_key, options) {
        if tracing::enabled!(tracing::Level::TRACE) {
            // The canonical request holds no secret; it shows what was signed.
            let canonical = signing::canonical_request(&request, auth, options, true);
            tracing::trace!(?canonical, "signature mismatch");
        }
        return Err(unauthorized(e));
    }
    Ok((body, permit))
}

impl<P: RouteIds> FromRequest<AppState> for Ctx<P> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (mut parts, body) = req.into_parts();
        AcceptsJson::from_request_parts(&mut parts, state).await?;
        let (credential, mut ids, project_id, (body, budget)) =
            match authenticate(&parts.headers, state).await? {
                Identity::Token(credential) => {
                    let mut ids = PathIds::extract(&mut parts, state).await?;
                    let project_id = ids.checked_project(&credential, &parts.headers)?;
                    let body = read_body(&parts.headers, body, state).await?;
                    (credential, ids, project_id, body)
                }
                Identity::Signed(credential, auth) => {
                    // The signature covers the body: read it (within its limits), verify, and
                    // only then look at the path and the project.
                    let body = verify_signed(&parts, body, state, &credential, &auth).await?;
                    let mut ids = PathIds::extract(&mut parts, state).await?;
                    let project_id = ids.checked_project(&credential, &parts.headers)?;
                    (credential, ids, project_id, body)
                }
            };
        let route_ids = P::take(&mut ids).ok_or_else(route_table_error)?;
        tracing::Span::current().record("access_key", credential.access_key.as_str());
        Ok(Ctx {
            tenant: Tenant::from(credential),
            project_id,
            ids: route_ids,
            body,
            _budget: budget,
        })
    }
}

impl<P> Ctx<P> {
    /// Whether the request came without a body (or only whitespace).
    pub fn body_is_empty(&self) -> bool {
        self.body.iter().all(u8::is_ascii_whitespace)
    }

    /// The body as a JSON object (400 `EndPoint.0002` saying what is wrong and where).
    pub fn json(&self) -> Result<Map<String, Value>, ApiError> {
        if self.body_is_empty() {
            return Err(ApiError::param("The request body is empty."));
        }
        let value: Value = serde_json::from_slice(&self.body)
            .map_err(|e| ApiError::param(format!("The body is not valid JSON: {e}.")))?;
        match value {
            Value::Object(map) => Ok(map),
            other => Err(ApiError::param(format!(
                "The body must be a JSON object, not {}.",
                kind(&other)
            ))),
        }
    }
}

/// The share of `--max-buffered-body-bytes` a request's body holds until the request is
/// answered.
pub type BodyPermit = Option<OwnedSemaphorePermit>;

/// 503 with `Retry-After` for a body the buffer budget cannot hold now. The connection is
/// closed, since the body was not (or not fully) read.
fn budget_exhausted() -> ApiError {
    ApiError::unavailable(
        super::error::Refusal::BodyBudget,
        "Too many request bodies are being received at once; retry shortly.",
    )
    .close_connection()
}

/// Takes `n` bytes of the body budget at once, or fails.
fn take_budget(state: &AppState, n: usize) -> Result<BodyPermit, ApiError> {
    if n == 0 {
        return Ok(None);
    }
    let n = u32::try_from(n).map_err(|_| budget_exhausted())?;
    state
        .body_budget
        .clone()
        .try_acquire_many_owned(n)
        .map(Some)
        .map_err(|_| budget_exhausted())
}

/// Reads the whole body, holding its bytes against the server's budget for buffered bodies:
/// - 413 when `Content-Length` announces more than the limit (before reading a byte) or when a
///   streamed body grows past it;
/// - 503 with `Retry-After` when the budget cannot hold the announced length (before reading a
///   byte) or, for a body without a length, the next part of it;
/// - 408 when the client stalls.
///
/// All three close the connection, since the rest of the body was not read.
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    state: &AppState,
) -> Result<(Bytes, BodyPermit), ApiError> {
    let limit = state.settings.max_body_bytes;
    let timeout: Duration = state.settings.read_timeout;
    let too_large = || {
        ApiError::param(format!("The request body is larger than {limit} bytes."))
            .status(StatusCode::PAYLOAD_TOO_LARGE)
            .close_connection()
    };
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut permit = match announced {
        Some(len) if len > limit as u64 => return Err(too_large()),
        // At most `limit`, which fits a usize.
        Some(len) => take_budget(state, usize::try_from(len).unwrap_or(limit))?,
        None => None,
    };
    let mut held = permit.as_ref().map_or(0, |p| p.num_permits());
    let mut body = Limited::new(body, limit);
    // Sized once for an announced body, so it never grows past what the budget holds.
    let mut buf: Vec<u8> = Vec::with_capacity(held);
    let read = async {
        while let Some(frame) = body.frame().await {
            let frame = match frame {
                Ok(frame) => frame,
                Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return Err(too_large()),
                Err(_) => {
                    return Err(
                        ApiError::param("The request body could not be read.").close_connection()
                    )
                }
            };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            let need = (buf.len() + data.len()).saturating_sub(held);
            if let Some(more) = take_budget(state, need)? {
                held += need;
                match permit.as_mut() {
                    Some(p) => p.merge(more),
                    None => permit = Some(more),
                }
            }
            buf.extend_from_slice(&data);
        }
        Ok(())
    };
    match tokio::time::timeout(timeout, read).await {
        Err(_) => Err(ApiError::with(
            ErrorCode::TimedOut,
            "The request body was not received in time.",
        )
        .status(StatusCode::REQUEST_TIMEOUT)
        .close_connection()),
        Ok(Err(e)) => Err(e),
        Ok(Ok(())) => Ok((Bytes::from(buf), permit)),
    }
}

/// The JSON type of a value, for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Typed access to the fields of a JSON object, with messages naming the field's path
/// (`connections[1].description`). `null` counts as absent: the SDK leaves nulls out anyway.
pub struct Fields<'a> {
    obj: &'a Map<String, Value>,
    prefix: String,
}

impl<'a> Fields<'a> {
    pub fn new(obj: &'a Map<String, Value>) -> Self {
        Self {
            obj,
            prefix: String::new(),
        }
    }

    /// The fields of `item`, an element of a body array at `path` (e.g. `connections[1]`):
    /// 400 `EndPoint.0002` when it is not an object.
    pub fn item(item: &'a Value, path: &str) -> Result<Self, ApiError> {
        match item.as_object() {
            Some(obj) => Ok(Self::nested(obj, path)),
            None => Err(ApiError::param(format!(
                "{path} must be an object, not {}.",
                kind(item)
            ))),
        }
    }

    /// Fields of a nested object at `path` (e.g. `connections[1]`).
    pub fn nested(obj: &'a Map<String, Value>, path: &str) -> Self {
        Self {
            obj,
            prefix: format!("{path}."),
        }
    }

    /// The raw value of `key`, `null` included.
    pub fn value(&self, key: &str) -> Option<&'a Value> {
        self.obj.get(key)
    }

    pub fn path(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn present(&self, key: &str) -> Option<&'a Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }

    fn wrong_type(&self, key: &str, want: &str, got: &Value) -> ApiError {
        ApiError::param(format!(
            "{} must be {want}, not {}.",
            self.path(key),
            kind(got)
        ))
    }

    pub fn missing(&self, key: &str) -> ApiError {
        ApiError::param(format!("{} is required.", self.path(key)))
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, ApiError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.wrong_type(key, "a string", v)),
        }
    }

    /// A required string; absent or `null` is `missing` (EndPoint.0002 unless the caller maps it).
    pub fn req_str(&self, key: &str) -> Result<&'a str, ApiError> {
        self.opt_str(key)?.ok_or_else(|| self.missing(key))
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.wrong_type(key, "a boolean", v)),
        }
    }

    pub fn opt_array(&self, key: &str) -> Result<Option<&'a Vec<Value>>, ApiError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => Err(self.wrong_type(key, "an array", v)),
        }
    }

    pub fn opt_object(&self, key: &str) -> Result<Option<&'a Map<String, Value>>, ApiError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o)),
            Some(v) => Err(self.wrong_type(key, "an object", v)),
        }
    }

    /// An optional array of strings.
    pub fn opt_strings(&self, key: &str) -> Result<Option<Vec<&'a str>>, ApiError> {
        let Some(items) = self.opt_array(key)? else {
            return Ok(None);
        };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str().ok_or_else(|| {
                    ApiError::param(format!(
                        "{}[{i}] must be a string, not {}.",
                        self.path(key),
                        kind(v)
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

/// Query parameters, decoded. Unknown parameters are ignored; of a repeated one the last counts.
pub struct QueryParams(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or("");
        Ok(QueryParams(
            url::form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

impl QueryParams {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A filter value; an empty value filters nothing, as when the parameter is absent.
    pub fn filter(&self, key: &str) -> Option<String> {
        self.get(key).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    /// `limit` (0..=`max_limit`, default 10), `offset` (>= 0), `sort_key`, `sort_dir`
    /// (docs/api.md §3).
    pub fn page(&self, max_limit: u32) -> Result<PageRequest, ApiError> {
        let mut page = PageRequest::default();
        if let Some(v) = self.get("limit") {
            page.limit = v
                .parse::<u32>()
                .ok()
                .filter(|l| *l <= max_limit)
                .ok_or_else(|| {
                    ApiError::with(
                        ErrorCode::InvalidLimit,
                        format!("limit must be an integer from 0 to {max_limit}."),
                    )
                })?;
        }
        if let Some(v) = self.get("offset") {
            page.offset = v
                .parse::<u64>()
                .ok()
                .filter(|o| *o <= i64::MAX as u64)
                .ok_or_else(|| {
                    ApiError::with(ErrorCode::InvalidOffset, "offset must be an integer >= 0.")
                })?;
        }
        if let Some(v) = self.get("sort_key") {
            page.sort_key = match v {
                "create_at" | "created_at" => SortKey::CreatedAt,
                "update_at" | "updated_at" => SortKey::UpdatedAt,
                _ => {
                    return Err(ApiError::with(
                        ErrorCode::InvalidSortKey,
                        "sort_key must be create_at or update_at.",
                    ))
                }
            };
        }
        if let Some(v) = self.get("sort_dir") {
            page.sort_dir = match v {
                "desc" => SortDir::Desc,
                "asc" => SortDir::Asc,
                _ => {
                    return Err(ApiError::with(
                        ErrorCode::InvalidSortDir,
                        "sort_dir must be desc or asc.",
                    ))
                }
            };
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> QueryParams {
        QueryParams(
            url::form_urlencoded::parse(s.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    #[test]
    fn page_defaults_and_bounds() {
        assert_eq!(q("").page(1000).unwrap(), PageRequest::default());
        let p = q("limit=0&offset=5&sort_key=updated_at&sort_dir=asc")
            .page(1000)
            .unwrap();
        assert_eq!(
            (p.limit, p.offset, p.sort_key, p.sort_dir),
            (0, 5, SortKey::UpdatedAt, SortDir::Asc)
        );
        assert_eq!(q("limit=1000").page(1000).unwrap().limit, 1000);
        for (query, code) in [
            ("limit=1001", ErrorCode::InvalidLimit),
            ("limit=-1", ErrorCode::InvalidLimit),
            ("limit=abc", ErrorCode::InvalidLimit),
            ("limit=", ErrorCode::InvalidLimit),
            ("offset=-1", ErrorCode::InvalidOffset),
            ("offset=1.5", ErrorCode::InvalidOffset),
            ("sort_key=name", ErrorCode::InvalidSortKey),
            ("sort_dir=up", ErrorCode::InvalidSortDir),
        ] {
            assert_eq!(q(query).page(1000).unwrap_err().code, code, "{query}");
        }
    }

    #[test]
    fn both_sort_key_spellings() {
        assert_eq!(
            q("sort_key=create_at").page(10).unwrap().sort_key,
            SortKey::CreatedAt
        );
        assert_eq!(
            q("sort_key=update_at").page(10).unwrap().sort_key,
            SortKey::UpdatedAt
        );
    }

    #[test]
    fn fields_name_the_path_in_messages() {
        let v: Value = serde_json::json!({"a": 1, "b": null, "c": "x"});
        let obj = v.as_object().unwrap();
        let f = Fields::nested(obj, "connections[1]");
        assert_eq!(
            f.req_str("a").unwrap_err().message(),
            "Parameter error. connections[1].a must be a string, not a number."
        );
        assert_eq!(
            f.req_str("b").unwrap_err().message(),
            "Parameter error. connections[1].b is required."
        );
        assert_eq!(f.req_str("c").unwrap(), "x");
    }
}
