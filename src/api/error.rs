//! The error catalogue: every `EndPoint.*` code vpcep sends, its HTTP status and its table text
//! (the error code table of the VPCEP API reference, with the statuses of docs/api.md §2 where
//! they differ), and `ApiError`, which renders both documented error shapes.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::domain::TransitionError;
use crate::store::StoreError;

macro_rules! catalogue {
    ($($variant:ident = $code:literal, $status:ident, $msg:literal;)*) => {
        /// The `EndPoint.*` codes vpcep produces.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum ErrorCode { $($variant),* }

        impl ErrorCode {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $code),* }
            }
            /// The status this code is sent with, unless the situation names another
            /// (docs/api.md §2).
            pub fn status(self) -> StatusCode {
                match self { $(Self::$variant => StatusCode::$status),* }
            }
            /// The table's text, which every message starts with.
            pub fn message(self) -> &'static str {
                match self { $(Self::$variant => $msg),* }
            }
        }
    };
}

catalogue! {
    SystemError = "EndPoint.0001", INTERNAL_SERVER_ERROR, "System error. Please retry.";
    ParameterError = "EndPoint.0002", BAD_REQUEST, "Parameter error.";
    AuthenticationFailed = "EndPoint.0003", UNAUTHORIZED,
        "Authentication failed or authentication information is invalid.";
    Forbidden = "EndPoint.0004", FORBIDDEN,
        "Authentication information is incorrect or you have no permissions.";
    NotFound = "EndPoint.0005", NOT_FOUND, "The requested resource does not exist.";
    InvalidLimit = "EndPoint.0006", BAD_REQUEST, "Invalid limit.";
    InvalidAction = "EndPoint.0007", BAD_REQUEST, "Invalid action.";
    InvalidOffset = "EndPoint.0010", BAD_REQUEST, "Invalid offset.";
    TimedOut = "EndPoint.0013", GATEWAY_TIMEOUT, "The request timed out.";
    InvalidProjectId = "EndPoint.0014", BAD_REQUEST, "Invalid project ID.";
    BatchLimitExceeded = "EndPoint.0016", BAD_REQUEST,
        "The number of batch operated resources exceeded the limit.";
    InvalidSortKey = "EndPoint.0017", BAD_REQUEST, "Invalid sort_key.";
    InvalidSortDir = "EndPoint.0018", BAD_REQUEST, "Invalid sort_dir.";
    InvalidStatus = "EndPoint.0019", BAD_REQUEST, "Invalid status.";
    InvalidVpcId = "EndPoint.0020", BAD_REQUEST, "Invalid VPC ID.";
    InvalidMarkerId = "EndPoint.0021", BAD_REQUEST, "Invalid marker_id.";
    InvalidSubnetId = "EndPoint.0023", BAD_REQUEST, "Invalid subnet_id.";
    QuotaExceeded = "EndPoint.1018", BAD_REQUEST, "Quota exceeded.";
    InvalidRouteTable = "EndPoint.1019", BAD_REQUEST, "Invalid route table ID.";
    ServiceMissing = "EndPoint.2003", BAD_REQUEST, "The endpoint service does not exist.";
    ServiceNotAvailable = "EndPoint.2004", BAD_REQUEST, "The endpoint service is unavailable.";
    SubnetIdEmpty = "EndPoint.2010", BAD_REQUEST, "The input parameter subnet ID is empty.";
    VpcIdEmpty = "EndPoint.2011", BAD_REQUEST, "The input parameter VPC ID is empty.";
    ConnectNotPermitted = "EndPoint.2012", BAD_REQUEST,
        "You have no permission to connect to the VPC endpoint service.";
    NotAConnection = "EndPoint.2013", BAD_REQUEST,
        "The endpoint does not belong to the endpoint service.";
    InvalidEndpointId = "EndPoint.2017", BAD_REQUEST, "Invalid endpoint ID.";
    EndpointBeingDeleted = "EndPoint.2018", CONFLICT, "The endpoint is being deleted.";
    EndpointBeingCreated = "EndPoint.2019", CONFLICT, "The endpoint is being created.";
    OnlyOneEndpoint = "EndPoint.2031", BAD_REQUEST, "Only one endpoint is allowed.";
    InvalidEnableDns = "EndPoint.2033", BAD_REQUEST,
        "The entered parameter enable_dns is invalid.";
    RouteTableInUse = "EndPoint.2039", BAD_REQUEST,
        "The route table is being used by another VPC endpoint.";
    NoRouteTable = "EndPoint.2040", BAD_REQUEST, "The VPC endpoint has no route table bound.";
    InvalidPortIp = "EndPoint.2041", BAD_REQUEST, "Invalid Port IP address.";
    PortIpInUse = "EndPoint.2042", BAD_REQUEST, "The Port IP is in use.";
    InvalidWhitelist = "EndPoint.2044", BAD_REQUEST, "Invalid whitelist.";
    EndpointWhitelistFull = "EndPoint.2045", BAD_REQUEST,
        "The maximum number of whitelist records has been reached.";
    EndpointFailed = "EndPoint.2047", BAD_REQUEST,
        "The VPC endpoint in the Failed status cannot be modified.";
    InvalidPolicy = "EndPoint.2048", BAD_REQUEST, "The VPC endpoint policy is invalid.";
    NoPolicy = "EndPoint.2049", BAD_REQUEST, "The VPC endpoint has no policy associated.";
    InvalidPermission = "EndPoint.3002", BAD_REQUEST, "Invalid permission.";
    InvalidPortId = "EndPoint.3003", BAD_REQUEST, "Invalid port ID.";
    ServiceInUse = "EndPoint.3006", BAD_REQUEST, "The endpoint service is being used.";
    InvalidIpAddress = "EndPoint.3010", BAD_REQUEST, "Invalid IP address.";
    InvalidServerType = "EndPoint.3021", BAD_REQUEST, "Invalid serverType.";
    InvalidPermissions = "EndPoint.3036", BAD_REQUEST, "Invalid permissions.";
    InvalidServicePort = "EndPoint.3043", BAD_REQUEST, "The service port is invalid.";
    PortsConflict = "EndPoint.3044", BAD_REQUEST,
        "The parameter ports conflicted with ports in an existing endpoint service.";
    WhitelistFull = "EndPoint.3049", BAD_REQUEST,
        "The maximum number of whitelist records has been reached.";
    ServiceStateForbids = "EndPoint.3045", BAD_REQUEST,
        "Other properties cannot be modified in the current endpoint service state.";
    InvalidServiceId = "EndPoint.3062", BAD_REQUEST, "Invalid endpoint service ID.";
    TagEmpty = "EndPoint.3066", BAD_REQUEST, "The tag cannot be empty.";
    TagKeyDuplicated = "EndPoint.3067", BAD_REQUEST, "The tag key cannot be duplicated.";
    TagInvalid = "EndPoint.3068", BAD_REQUEST,
        "Tag keys and values should meet relevant requirements.";
    TagLimit = "EndPoint.3069", BAD_REQUEST, "The maximum number of tags has been reached.";
    InvalidResourceType = "EndPoint.3070", BAD_REQUEST, "Invalid resource type.";
    TagValueDuplicated = "EndPoint.3071", BAD_REQUEST, "The tag value cannot be duplicated.";
    TagKeySize = "EndPoint.3072", BAD_REQUEST, "The tag key size is invalid.";
    TagValueSize = "EndPoint.3073", BAD_REQUEST, "The tag value size is invalid.";
    PortLimit = "EndPoint.3074", BAD_REQUEST, "The maximum of ports has been reached.";
    InvalidProtocol = "EndPoint.3075", BAD_REQUEST, "The protocol is invalid.";
    InvalidServiceName = "EndPoint.3076", BAD_REQUEST, "Invalid service name.";
}

/// An error response: a code, the status it is sent with, and optional specifics appended to the
/// table text. Never carries internal details: those are logged where the error is made.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub detail: Option<String>,
    /// `Allow` for 405.
    pub allow: Option<HeaderValue>,
    /// Close the connection after the response (an unread or partly read body).
    pub close: bool,
    /// Why the server refused, when it did (503, 504).
    pub refusal: Option<Refusal>,
}

/// What an error response said, kept in the response's extensions so that the request's log line
/// can name it (`api::request_context`) and a 404 can be told which resource it is about
/// (`api::name_missing_resource`). Messages never hold secrets, so they may be logged.
#[derive(Clone, Debug)]
pub struct Sent {
    pub code: ErrorCode,
    pub message: String,
    /// Whether the error came without specifics (`ApiError::detail` was `None`).
    pub generic: bool,
    /// Why the server refused (503, 504), for `vpcep_http_refusals_total`.
    pub refusal: Option<Refusal>,
}

/// Why the server itself refused a request (503 or 504): the `reason` label of the refusals
/// metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `--max-in-flight` requests were already being served.
    InFlightLimit,
    /// `--max-buffered-body-bytes` of bodies were already being received.
    BodyBudget,
    /// The database could not be reached (or the pool gave no connection).
    DatabaseUnavailable,
    /// The database did not answer within the request timeout.
    DatabaseTimeout,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::InFlightLimit => "in_flight_limit",
            Refusal::BodyBudget => "body_budget",
            Refusal::DatabaseUnavailable => "database_unavailable",
            Refusal::DatabaseTimeout => "database_timeout",
        }
    }
}

impl ApiError {
    pub fn new(code: ErrorCode) -> Self {
        Self {
            status: code.status(),
            code,
            detail: None,
            allow: None,
            close: false,
            refusal: None,
        }
    }

    pub fn with(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            detail: Some(detail.into()),
            ..Self::new(code)
        }
    }

    /// `EndPoint.0002` with specifics.
    pub fn param(detail: impl Into<String>) -> Self {
        Self::with(ErrorCode::ParameterError, detail)
    }

    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn close_connection(mut self) -> Self {
        self.close = true;
        self
    }

    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound)
    }

    pub fn unauthorized() -> Self {
        Self::new(ErrorCode::AuthenticationFailed)
    }

    /// 503: the database is unreachable, the server is full, or it is stopping.
    pub fn unavailable(refusal: Refusal, detail: &str) -> Self {
        let mut e =
            Self::with(ErrorCode::SystemError, detail).status(StatusCode::SERVICE_UNAVAILABLE);
        e.refusal = Some(refusal);
        e
    }

    /// 500 for a bug: the cause is logged with the request id here, and never sent.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(cause = %cause, "internal error");
        Self::new(ErrorCode::SystemError)
    }

    pub fn message(&self) -> String {
        match &self.detail {
            Some(d) => format!("{} {d}", self.code.message()),
            None => self.code.message().to_owned(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = self.message();
        let code = self.code.as_str();
        let body = json!({
            "error_code": code,
            "error_msg": message,
            "error": {"code": code, "message": message},
        });
        let mut res = (self.status, axum::Json(body)).into_response();
        let headers = res.headers_mut();
        if let Some(allow) = self.allow {
            headers.insert(header::ALLOW, allow);
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if self.close {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        res.extensions_mut().insert(Sent {
            code: self.code,
            message,
            generic: self.detail.is_none(),
            refusal: self.refusal,
        });
        res
    }
}

impl From<TransitionError> for ApiError {
    fn from(e: TransitionError) -> Self {
        ApiError::new(match e {
            TransitionError::BeingCreated => ErrorCode::EndpointBeingCreated,
            TransitionError::BeingDeleted => ErrorCode::EndpointBeingDeleted,
            TransitionError::Failed => ErrorCode::EndpointFailed,
        })
    }
}

/// The one place where store outcomes become API errors.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        use ErrorCode as C;
        match e {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::NotAConnection(id) => {
                ApiError::with(C::NotAConnection, format!("id: {id}."))
            }
            StoreError::ServiceMissing => ApiError::new(C::ServiceMissing),
            StoreError::ServiceNotAvailable => ApiError::new(C::ServiceNotAvailable),
            StoreError::ConnectNotPermitted => ApiError::new(C::ConnectNotPermitted),
            StoreError::ServiceInUse => ApiError::with(
                C::ServiceInUse,
                "Delete the endpoints connected to it first.",
            ),
            StoreError::ServiceStateForbids => ApiError::new(C::ServiceStateForbids),
            StoreError::QuotaExceeded(kind) => ApiError::with(
                C::QuotaExceeded,
                format!(
                    "The project holds its quota of {} resources (ListQuotaDetails shows it).",
                    kind.as_str()
                ),
            ),
            StoreError::ServiceBusy => ApiError::with(
                C::SystemError,
                "The endpoint service is being created or deleted.",
            )
            .status(StatusCode::CONFLICT),
            StoreError::PortIpInUse => ApiError::new(C::PortIpInUse),
            StoreError::PortIpOutsideRange(block) => ApiError::with(
                C::InvalidPortIp,
                format!("port_ip must be an address of the data plane's block {block}."),
            ),
            StoreError::NoFreeAddress => {
                ApiError::with(C::PortIpInUse, "No free address is left in this VPC.")
            }
            StoreError::PortsConflict => ApiError::new(C::PortsConflict),
            StoreError::PolicyRefused(why) => ApiError::with(C::InvalidPolicy, why),
            StoreError::NoPolicy => ApiError::new(C::NoPolicy),
            StoreError::RouteTableInUse(id) => ApiError::with(
                C::RouteTableInUse,
                format!("Route table {id} is bound to another endpoint of the service in the VPC."),
            ),
            StoreError::NoRouteTable => ApiError::with(
                C::NoRouteTable,
                "A gateway endpoint keeps at least one route table.",
            ),
            StoreError::NotGateway => {
                ApiError::param("Only endpoints of gateway services have route tables.")
            }
            StoreError::SubnetRequired => ApiError::with(
                C::SubnetIdEmpty,
                "An endpoint of an interface service needs subnet_id.",
            ),
            StoreError::EditionUnsupported => ApiError::param(
                "The endpoint's service supports only the basic edition; upgrade the service \
                 first (UpgradeEndpointService).",
            ),
            StoreError::NotAnLbService => ApiError::with(
                C::InvalidServerType,
                "Server resources are ELB instances: the service's server_type must be LB.",
            ),
            StoreError::TooManyServerResources => ApiError::with(
                C::BatchLimitExceeded,
                format!(
                    "A service holds at most {} server resources.",
                    crate::store::flows::services::MAX_SERVER_RESOURCES
                ),
            ),
            StoreError::TooManyTags => ApiError::with(
                C::TagLimit,
                format!(
                    "A resource carries at most {} tags.",
                    crate::domain::tags::MAX_TAGS_PER_RESOURCE
                ),
            ),
            StoreError::WhitelistFull => ApiError::with(
                C::WhitelistFull,
                format!(
                    "A service holds at most {} entries.",
                    crate::domain::MAX_WHITELIST
                ),
            ),
            StoreError::NotAPermission(id) => {
                ApiError::param(format!("{id} is not a whitelist record of this service."))
            }
            StoreError::Transition(t) => t.into(),
            StoreError::Conflict => ApiError::with(C::SystemError, "A write conflict persisted.")
                .status(StatusCode::CONFLICT),
            StoreError::Unavailable(cause) => {
                tracing::warn!(cause = %cause, "database unavailable");
                ApiError::unavailable(Refusal::DatabaseUnavailable, "The database is unavailable.")
            }
            StoreError::Timeout => {
                let mut e = ApiError::with(C::TimedOut, "The database did not answer in time.");
                e.refusal = Some(Refusal::DatabaseTimeout);
                e
            }
            e @ (StoreError::ProjectOfAnotherDomain(_)
            | StoreError::DuplicateAccessKey
            | StoreError::Internal(_)) => ApiError::internal(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_statuses_and_texts() {
        assert_eq!(ErrorCode::ParameterError.as_str(), "EndPoint.0002");
        assert_eq!(ErrorCode::NotAConnection.status(), StatusCode::BAD_REQUEST);
        assert_eq!(ErrorCode::TimedOut.status(), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(
            ApiError::param("connections[1].description contains '<'.").message(),
            "Parameter error. connections[1].description contains '<'."
        );
    }
}
