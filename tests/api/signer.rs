//! A test-side AK/SK signer that signs requests the way the official clients do
//! (docs/signing.md §2–§5, §9, §12), written from that document and not from
//! `vpcep::auth::signing`, so that the two cannot share a mistake. It models three clients
//! ([`Client`]), which differ in which headers they sign: the Python SDK signs every header it
//! holds, `host` and `X-Project-Id` among them; the Terraform provider's golangsdk never signs
//! `host` and adds `X-Project-Id` after signing; the Go SDK v3 signs neither `host` nor
//! `content-type`. `signer_matches_*` below proves it against the Python SDK's vectors and against
//! requests captured from the Terraform provider.
//!
//! [`Req`] describes a call as the client would make it; [`Req::sign`] gives a [`Signed`] request
//! whose parts stay editable, so a test can tamper with it after signing and then send it with
//! reqwest ([`Signed::send`]) or byte for byte over TCP ([`Signed::send_raw`]).

use std::time::Duration;

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use reqwest::Method;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sm3::Sm3;
use time::macros::format_description;
use time::OffsetDateTime;

use crate::support::{Credential, RawResponse, Resp, TestApp};

/// The User-Agent the SDK sends, with our own suffix (docs/signing.md §10).
pub const USER_AGENT: &str = "huaweicloud-usdk-python/3.0; vpcep-tests";

/// The User-Agent of the Terraform provider's requests (docs/signing.md §12).
pub const GOLANGSDK_USER_AGENT: &str = "terraform-provider-iac golangsdk/2.0.0";

/// The User-Agent of the Go SDK v3.
pub const GO_SDK_V3_USER_AGENT: &str = "huaweicloud-usdk-go/3.0";

/// Which client's signing a [`Req`] models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// The official Python SDK: every header it holds is signed, `Host` and `X-Project-Id` too.
    PythonSdk,
    /// The Terraform provider's `golangsdk` signer: the keys of Go's header map at signing time
    /// (`accept;user-agent;x-sdk-date`, and `content-type` when there is a body). Go keeps the
    /// host outside that map, so `host` is never signed; `X-Project-Id` is set after signing.
    Golangsdk,
    /// The Go SDK v3: its header parameters, `X-Project-Id` included, but never `content-type`,
    /// and `host` only when the caller adds one (it does not by default).
    GoSdkV3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algo {
    /// `SDK-HMAC-SHA256`, the SDK default.
    Sha256,
    /// `SDK-HMAC-SM3`: SM3 for every hash and the HMAC (§9).
    Sm3,
}

impl Algo {
    pub fn name(self) -> &'static str {
        match self {
            Algo::Sha256 => "SDK-HMAC-SHA256",
            Algo::Sm3 => "SDK-HMAC-SM3",
        }
    }

    fn content_header(self) -> &'static str {
        match self {
            Algo::Sha256 => "X-Sdk-Content-Sha256",
            Algo::Sm3 => "X-Sdk-Content-Sm3",
        }
    }

    fn hex_hash(self, data: &[u8]) -> String {
        match self {
            Algo::Sha256 => hex::encode(Sha256::digest(data)),
            Algo::Sm3 => hex::encode(Sm3::digest(data)),
        }
    }

    fn hex_hmac(self, key: &[u8], data: &[u8]) -> String {
        fn run<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> String {
            let mut mac = <M as Mac>::new_from_slice(key).expect("HMAC takes any key length");
            mac.update(data);
            hex::encode(mac.finalize().into_bytes())
        }
        match self {
            Algo::Sha256 => run::<Hmac<Sha256>>(key, data),
            Algo::Sm3 => run::<Hmac<Sm3>>(key, data),
        }
    }
}

/// The keys a request is signed with.
#[derive(Debug, Clone)]
pub struct Key {
    pub access_key: String,
    pub secret_key: String,
    pub algo: Algo,
}

impl Key {
    pub fn sha256(who: &Credential) -> Key {
        Key {
            access_key: who.access_key.clone(),
            secret_key: who.secret_key.clone(),
            algo: Algo::Sha256,
        }
    }

    pub fn sm3(who: &Credential) -> Key {
        Key {
            algo: Algo::Sm3,
            ..Key::sha256(who)
        }
    }
}

/// `YYYYMMDDTHHMMSSZ` (§2).
pub fn sdk_date(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year][month][day]T[hour][minute][second]Z"
    ))
    .expect("format X-Sdk-Date")
}

/// Unreserved characters stay; every other byte is `%XX` in upper case (§3.2, §3.3).
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, ENCODE).to_string()
}

/// The SDK's `resource_path` with each segment encoded: the path on the wire.
fn wire_path(resource_path: &str) -> String {
    resource_path
        .split('/')
        .map(encode)
        .collect::<Vec<_>>()
        .join("/")
}

/// The SDK sorts the pairs on their unencoded text and sends the canonical query as the URL's
/// query (§3.3), so one string serves both.
fn sorted_query(pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort();
    sorted
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Signs like the SDK's `Signer.sign`. `headers` already hold `Host` and `X-Sdk-Date`; `unsigned`
/// names headers that are sent but left out of the signature (beside names with `_`, which the
/// SDK never signs), to build requests that sign too little.
pub fn sign(
    key: &Key,
    method: &str,
    resource_path: &str,
    query: &[(String, String)],
    mut headers: Vec<(String, String)>,
    body: &[u8],
    unsigned: &[String],
) -> Signed {
    // §2: a non-JSON Content-Type (looked up with this exact spelling) makes the SDK add the
    // content header with UNSIGNED-PAYLOAD.
    let content_type = headers.iter().find(|(k, _)| k == "Content-Type");
    if content_type.is_some_and(|(_, v)| {
        !v.starts_with("application/json") && !v.starts_with("application/bson")
    }) {
        headers.push((
            key.algo.content_header().to_string(),
            "UNSIGNED-PAYLOAD".to_string(),
        ));
    }

    let mut signed: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| !k.contains('_') && !unsigned.iter().any(|u| u.eq_ignore_ascii_case(k)))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    signed.sort();
    let signed_names = signed
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_headers: String = signed.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();

    let content_header = key.algo.content_header();
    let payload_hash = match headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(content_header))
    {
        _ if body.is_empty() => key.algo.hex_hash(b""),
        Some((_, literal)) => literal.clone(),
        None => key.algo.hex_hash(body),
    };

    let mut canonical_uri = wire_path(resource_path);
    if !canonical_uri.ends_with('/') {
        canonical_uri.push('/');
    }
    let query = sorted_query(query);
    let canonical_request = format!(
        "{}\n{canonical_uri}\n{query}\n{canonical_headers}\n{signed_names}\n{payload_hash}",
        method.to_ascii_uppercase()
    );
    let date = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-sdk-date"))
        .map(|(_, v)| v.clone())
        .expect("X-Sdk-Date is set before signing");
    let string_to_sign = format!(
        "{}\n{date}\n{}",
        key.algo.name(),
        key.algo.hex_hash(canonical_request.as_bytes())
    );
    let signature = key
        .algo
        .hex_hmac(key.secret_key.as_bytes(), string_to_sign.as_bytes());
    headers.push((
        "Authorization".to_string(),
        format!(
            "{} Access={}, SignedHeaders={signed_names}, Signature={signature}",
            key.algo.name(),
            key.access_key
        ),
    ));
    Signed {
        method: method.to_string(),
        path: wire_path(resource_path),
        query,
        headers,
        body: body.to_vec(),
        canonical_request,
        signature,
    }
}

/// A VPCEP call as a client builds it before signing.
#[derive(Debug, Clone)]
pub struct Req {
    client: Client,
    method: String,
    resource_path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    unsigned: Vec<String>,
}

impl Req {
    /// `METHOD /v1/{project}{rest}` to `app` with the SDK's headers: Content-Type
    /// `application/json`, User-Agent, `X-Project-Id: project`, `X-Sdk-Date` (now) and
    /// `Host: 127.0.0.1:PORT`, exactly as reqwest would send it (§2).
    pub fn sdk(app: &TestApp, project: &str, method: &str, rest: &str) -> Req {
        Req::path(app, method, &format!("/v1/{project}{rest}")).header("X-Project-Id", project)
    }

    /// `METHOD path` as the Python SDK sends it to an IAM endpoint (docs/signing.md §10): no
    /// Content-Type and no X-Project-Id.
    pub fn sdk_iam(app: &TestApp, method: &str, path: &str) -> Req {
        let mut req = Req::path(app, method, path);
        req.headers.retain(|(k, _)| k != "Content-Type");
        req
    }

    fn path(app: &TestApp, method: &str, resource_path: &str) -> Req {
        Req::path_at(&app.addr().to_string(), method, resource_path)
    }

    fn path_at(host: &str, method: &str, resource_path: &str) -> Req {
        Req {
            client: Client::PythonSdk,
            method: method.to_string(),
            resource_path: resource_path.to_string(),
            query: Vec::new(),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("User-Agent".into(), USER_AGENT.into()),
                ("X-Sdk-Date".into(), sdk_date(OffsetDateTime::now_utc())),
                ("Host".into(), host.to_string()),
            ],
            body: Vec::new(),
            unsigned: Vec::new(),
        }
    }

    /// `METHOD /v1/{project}{rest}` as the Terraform provider sends it (docs/signing.md §12, the
    /// captured requests): `User-Agent`, `Accept: application/json`, `X-Sdk-Date`,
    /// `Content-Type: application/json` when there is a body, all signed; `Host` sent unsigned;
    /// `X-Project-Id: project` added after signing.
    pub fn golangsdk(app: &TestApp, project: &str, method: &str, rest: &str) -> Req {
        Req::golangsdk_path(app, method, &format!("/v1/{project}{rest}"))
            .header("X-Project-Id", project)
    }

    /// Any path as golangsdk sends it, e.g. the provider's IAM calls (no X-Project-Id).
    pub fn golangsdk_path(app: &TestApp, method: &str, path: &str) -> Req {
        Req::golangsdk_at(&app.addr().to_string(), method, path)
    }

    fn golangsdk_at(host: &str, method: &str, path: &str) -> Req {
        let mut req = Req::path_at(host, method, path);
        req.client = Client::Golangsdk;
        req.headers = vec![
            ("Host".into(), host.to_string()),
            ("User-Agent".into(), GOLANGSDK_USER_AGENT.into()),
            ("Accept".into(), "application/json".into()),
            ("Content-Type".into(), "application/json".into()),
            ("X-Sdk-Date".into(), sdk_date(OffsetDateTime::now_utc())),
        ];
        req
    }

    /// `METHOD /v1/{project}{rest}` as the Go SDK v3 sends it: `User-Agent`, `X-Project-Id` and
    /// `X-Sdk-Date` signed; `Content-Type` and `Host` sent unsigned.
    pub fn go_sdk_v3(app: &TestApp, project: &str, method: &str, rest: &str) -> Req {
        let mut req = Req::path(app, method, &format!("/v1/{project}{rest}"));
        req.client = Client::GoSdkV3;
        req.headers = vec![
            ("Host".into(), app.addr().to_string()),
            ("User-Agent".into(), GO_SDK_V3_USER_AGENT.into()),
            ("Content-Type".into(), "application/json".into()),
            ("X-Project-Id".into(), project.into()),
            ("X-Sdk-Date".into(), sdk_date(OffsetDateTime::now_utc())),
        ];
        req
    }

    /// `METHOD /v1/{project}{rest}` as `client` sends it.
    pub fn of(client: Client, app: &TestApp, project: &str, method: &str, rest: &str) -> Req {
        match client {
            Client::PythonSdk => Req::sdk(app, project, method, rest),
            Client::Golangsdk => Req::golangsdk(app, project, method, rest),
            Client::GoSdkV3 => Req::go_sdk_v3(app, project, method, rest),
        }
    }

    pub fn query(mut self, key: &str, value: &str) -> Req {
        self.query.push((key.into(), value.into()));
        self
    }

    /// The body as serde_json writes it.
    pub fn json(self, body: &Value) -> Req {
        self.body(serde_json::to_vec(body).expect("serialize the body"))
    }

    /// The body bytes exactly as given.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Req {
        self.body = body.into();
        self
    }

    /// Sets a header (replacing one of the same name, any case) before signing.
    pub fn header(mut self, name: &str, value: &str) -> Req {
        set_header(&mut self.headers, name, value);
        self
    }

    /// `X-Sdk-Date` at `t` instead of now.
    pub fn date(self, t: OffsetDateTime) -> Req {
        self.header("X-Sdk-Date", &sdk_date(t))
    }

    /// Sends `name` but leaves it out of `SignedHeaders` (and of the signature).
    pub fn unsigned(mut self, name: &str) -> Req {
        self.unsigned.push(name.to_string());
        self
    }

    /// Signs as [`Client`] says this client does.
    pub fn sign(&self, key: &Key) -> Signed {
        let mut headers = self.headers.clone();
        let mut unsigned = self.unsigned.clone();
        let mut after_signing = Vec::new();
        match self.client {
            Client::PythonSdk => {}
            Client::Golangsdk => {
                // Go's Request.Host is not in Request.Header; Content-Type is set only with a
                // body; X-Project-Id is added to the request after the signer ran.
                unsigned.push("Host".into());
                if self.body.is_empty() {
                    headers.retain(|(k, _)| k != "Content-Type");
                }
                after_signing.extend(headers.iter().filter(|(k, _)| k == "X-Project-Id").cloned());
                headers.retain(|(k, _)| k != "X-Project-Id");
            }
            Client::GoSdkV3 => {
                unsigned.push("Host".into());
                unsigned.push("Content-Type".into());
            }
        }
        let mut signed = sign(
            key,
            &self.method,
            &self.resource_path,
            &self.query,
            headers,
            &self.body,
            &unsigned,
        );
        signed.headers.extend(after_signing);
        signed
    }
}

fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: &str) {
    match headers
        .iter_mut()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
    {
        Some(slot) => slot.1 = value.to_string(),
        None => headers.push((name.to_string(), value.to_string())),
    }
}

/// A signed request, as it will go on the wire. Every part may be changed after signing.
#[derive(Debug, Clone)]
pub struct Signed {
    pub method: String,
    /// The encoded path.
    pub path: String,
    /// The query without `?`; empty for none.
    pub query: String,
    /// In sending order, `Authorization` last.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// What was signed, for failure messages.
    pub canonical_request: String,
    /// The hex signature inside `Authorization`.
    pub signature: String,
}

impl Signed {
    /// Path and query, as on the request line.
    pub fn target(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Replaces a header's value (or adds the header) after signing.
    pub fn set_header(&mut self, name: &str, value: &str) {
        set_header(&mut self.headers, name, value);
    }

    /// Adds a second header of that name after signing.
    pub fn append_header(&mut self, name: &str, value: &str) {
        self.headers.push((name.to_string(), value.to_string()));
    }

    /// Removes every header of that name after signing.
    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }

    /// Replaces the first `from` in the body with `to`, asserting it was there.
    #[track_caller]
    pub fn replace_in_body(&mut self, from: &str, to: &str) {
        let text = String::from_utf8(self.body.clone()).expect("a UTF-8 body");
        assert!(text.contains(from), "{from:?} not in the body {text}");
        self.body = text.replacen(from, to, 1).into_bytes();
    }

    /// Replaces the first `from` in the query with `to`, asserting it was there.
    #[track_caller]
    pub fn replace_in_query(&mut self, from: &str, to: &str) {
        assert!(
            self.query.contains(from),
            "{from:?} not in the query {}",
            self.query
        );
        self.query = self.query.replacen(from, to, 1);
    }

    /// Sends it with reqwest, which adds only unsigned headers (`accept`, `content-length`).
    pub async fn send(&self, app: &TestApp) -> Resp {
        let method = Method::from_bytes(self.method.as_bytes()).expect("a method token");
        let mut rb = app.client.request(method, app.url(&self.target()));
        for (name, value) in &self.headers {
            rb = rb.header(name.as_str(), value.as_bytes());
        }
        let resp = rb
            .body(self.body.clone())
            .send()
            .await
            .expect("send the signed request");
        Resp::from_reqwest(resp).await
    }

    /// Writes it byte for byte on a new TCP connection (for what reqwest would normalise) and
    /// reads one response.
    pub fn send_raw(&self, app: &TestApp) -> RawResponse {
        let mut bytes = format!("{} {} HTTP/1.1\r\n", self.method, self.target()).into_bytes();
        for (name, value) in &self.headers {
            bytes.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        bytes.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        bytes.extend_from_slice(b"Connection: close\r\n\r\n");
        bytes.extend_from_slice(&self.body);
        let mut conn = app.raw();
        conn.send(&bytes).expect("write the request");
        conn.read_response(Duration::from_secs(10))
            .expect("read the response")
            .expect("a response before the connection closed")
    }
}

// ---------------------------------------------------------------------------------------------
// The signer against the SDK's vectors
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod vectors {
    use super::*;

    const VECTORS: &str = include_str!("../data/signing-vectors.json");

    fn strings(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            other => panic!("a query value the test signer does not model: {other}"),
        }
    }

    /// Signs the vector's `inputs` as the SDK did and returns it with the expected outputs.
    fn sign_inputs(id_prefix: &str) -> (Signed, Value) {
        let doc: Value = serde_json::from_str(VECTORS).expect("vectors JSON");
        let v = ["vectors", "other_algorithm_vectors"]
            .iter()
            .flat_map(|k| doc[*k].as_array().expect("vector list").iter())
            .find(|v| v["id"].as_str().is_some_and(|id| id.starts_with(id_prefix)))
            .unwrap_or_else(|| panic!("no vector {id_prefix}"))
            .clone();
        let inputs = &v["inputs"];
        let s = |key: &str| inputs[key].as_str().expect(key).to_string();
        let key = Key {
            access_key: s("ak"),
            secret_key: s("sk"),
            algo: match v["algorithm"].as_str() {
                Some("SDK-HMAC-SHA256") => Algo::Sha256,
                Some("SDK-HMAC-SM3") => Algo::Sm3,
                other => panic!("algorithm {other:?}"),
            },
        };
        let query: Vec<(String, String)> = inputs["query_params"]
            .as_array()
            .expect("query_params")
            .iter()
            .map(|p| (strings(&p["key"]), strings(&p["value"])))
            .collect();
        let mut headers: Vec<(String, String)> = inputs["headers_before_signing"]
            .as_array()
            .expect("headers")
            .iter()
            .map(|h| (strings(&h[0]), strings(&h[1])))
            .collect();
        headers.push(("Host".into(), s("host")));
        let body = inputs["body_utf8"].as_str().unwrap_or("").as_bytes();
        let signed = sign(
            &key,
            &s("method"),
            &s("resource_path"),
            &query,
            headers,
            body,
            &[],
        );
        (signed, v["outputs"].clone())
    }

    #[test]
    fn signer_matches_the_sdk_for_sha256_vectors() {
        // v01: GET with a query; v02: PUT with a raw UTF-8 body and a host with a port;
        // v14: the UNSIGNED-PAYLOAD header the SDK adds; c01/c02: the real VpcepClient pipeline.
        for id in ["v01", "v02", "v14", "c01", "c02"] {
            let (signed, out) = sign_inputs(id);
            assert_eq!(signed.canonical_request, out["canonical_request"], "{id}");
            assert_eq!(signed.signature, out["signature"], "{id}");
            assert_eq!(
                signed.header("Authorization"),
                out["authorization"].as_str(),
                "{id}"
            );
            assert_eq!(
                signed.target(),
                out["wire_request_target"].as_str().unwrap(),
                "{id}"
            );
        }
    }

    /// The Terraform provider's requests, captured on the wire (`data/golangsdk-captured.json`):
    /// [`Client::Golangsdk`] rebuilds each one, header for header, and signs it to the same
    /// signature.
    #[test]
    fn signer_matches_the_terraform_providers_captured_requests() {
        let doc: Value =
            serde_json::from_str(include_str!("../data/golangsdk-captured.json")).expect("JSON");
        let cred = &doc["credential"];
        let text = |v: &Value| v.as_str().expect("a string").to_string();
        let requests = doc["requests"].as_array().expect("requests");
        assert_eq!(requests.len(), 4);
        for captured in requests {
            let headers: Vec<(String, String)> = captured["headers"]
                .as_array()
                .expect("headers")
                .iter()
                .map(|h| (text(&h[0]), text(&h[1])))
                .collect();
            let get = |name: &str| {
                headers
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| panic!("no {name}"))
            };
            let target = text(&captured["target"]);
            let (path, query) = target.split_once('?').unwrap_or((&target, ""));
            let mut req = Req::golangsdk_at(&get("Host"), &text(&captured["method"]), path)
                .header("X-Sdk-Date", &get("X-Sdk-Date"))
                .header("X-Project-Id", &get("X-Project-Id"))
                .body(text(&captured["body"]));
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                req = req.query(k, v);
            }
            let key = Key {
                access_key: text(&cred["access_key"]),
                secret_key: text(&cred["secret_key"]),
                algo: match captured["algorithm"].as_str() {
                    Some("SDK-HMAC-SM3") => Algo::Sm3,
                    _ => Algo::Sha256,
                },
            };
            let signed = req.sign(&key);
            assert_eq!(
                signed.header("Authorization"),
                Some(get("Authorization").as_str()),
                "{target}\n{}",
                signed.canonical_request
            );
            // The same headers, but for what Go's transport adds.
            let names = |h: &[(String, String)]| {
                let mut n: Vec<String> = h
                    .iter()
                    .map(|(k, _)| k.to_ascii_lowercase())
                    .filter(|k| k != "accept-encoding" && k != "content-length")
                    .collect();
                n.sort();
                n
            };
            assert_eq!(names(&signed.headers), names(&headers), "{target}");
        }
    }

    #[test]
    fn signer_matches_the_sdk_for_sm3_vectors() {
        for id in ["a01", "a02", "a03"] {
            let (signed, out) = sign_inputs(id);
            assert_eq!(signed.canonical_request, out["canonical_request"], "{id}");
            assert_eq!(signed.signature, out["signature"], "{id}");
        }
    }
}
