//! HTTP through reqwest: a response as the tests read it (`Resp`), and the typed VPCEP API as
//! one caller in one project (`Caller`, one method per operation), with the typical bodies.

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

use super::assert::{check_error_body, str_of, uuid};

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

/// The typed VPCEP API as one caller (a token, or none) in one path project.
#[derive(Clone)]
pub struct Caller {
    pub(super) client: reqwest::Client,
    pub(super) base: String,
    pub(super) token: Option<String>,
    pub(super) project: String,
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

    /// A POST under `/v2/{project}`, with a JSON body or none at all (no Content-Type either),
    /// as the Terraform provider sends the v2 upgrades.
    pub async fn post_v2(&self, rest: &str, body: Option<&Value>) -> Resp {
        let url = format!("{}/v2/{}{}", self.base, self.project, rest);
        let mut rb = self.client.post(url);
        if let Some(token) = &self.token {
            rb = rb.header("X-Auth-Token", token);
        }
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

    // UpdateEndpointServiceName
    pub async fn rename_service(&self, id: &str, body: &Value) -> Resp {
        self.call(
            Method::PUT,
            &format!("/vpc-endpoint-services/{id}/name"),
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

    // ListQuotaDetails
    pub async fn quotas(&self, query: &str) -> Resp {
        let path = Self::with_query("/quotas".into(), query);
        self.call(Method::GET, &path, None).await
    }

    // UpdateEndpointWhite
    pub async fn update_endpoint_white(&self, id: &str, body: &Value) -> Resp {
        self.call(Method::PUT, &format!("/vpc-endpoints/{id}"), Some(body))
            .await
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
