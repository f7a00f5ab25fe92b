//! The request-signing verifier (`vpcep::auth::signing`) against the vectors that the official
//! Python SDK produced (`tests/data/signing-vectors.json`, layout in docs/signing.md §11) and
//! against four requests captured on the wire from the huaweicloud Terraform provider
//! (`tests/data/golangsdk-captured.json`, docs/signing.md §12), whose golangsdk signer never
//! signs `host` and adds `X-Project-Id` after signing. Every check starts from what a server
//! receives.

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};
use vpcep::auth::signing::{
    self, Algorithm, Authorization, Options, SignatureError, SignedRequest,
};

const VECTORS: &str = include_str!("data/signing-vectors.json");

const UNSIGNED_OK: Options = Options {
    allow_unsigned_payload: true,
};

fn doc() -> Value {
    serde_json::from_str(VECTORS).expect("signing-vectors.json is JSON")
}

fn list<'a>(doc: &'a Value, key: &str) -> &'a [Value] {
    doc[key]
        .as_array()
        .unwrap_or_else(|| panic!("`{key}` is not an array"))
}

fn id(v: &Value) -> &str {
    v["id"].as_str().expect("vector id")
}

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{} lacks the string {pointer}", id(v)))
}

/// The vector whose id starts with `prefix` (`"v11"`), in any of the lists.
fn vector<'a>(doc: &'a Value, prefix: &str) -> &'a Value {
    ["vectors", "other_algorithm_vectors", "negative_vectors"]
        .iter()
        .flat_map(|key| list(doc, key))
        .find(|v| id(v).starts_with(prefix))
        .unwrap_or_else(|| panic!("no vector {prefix}"))
}

/// A `wire_request` as the server would hold it.
struct Wire {
    method: String,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Wire {
    fn of(vector: &Value) -> Wire {
        let wire = &vector["wire_request"];
        let target = text(wire, "/request_target");
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
            None => (target.to_owned(), None),
        };
        let mut headers = HeaderMap::new();
        for pair in wire["headers"].as_array().expect("headers list") {
            let name = pair[0].as_str().expect("header name");
            let value = pair[1].as_str().expect("header value");
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).expect("valid header name"),
                HeaderValue::from_bytes(value.as_bytes()).expect("valid header value"),
            );
        }
        let body = wire["body_utf8"]
            .as_str()
            .map(|b| b.as_bytes().to_vec())
            .unwrap_or_default();
        Wire {
            method: text(wire, "/method").to_owned(),
            path,
            query,
            headers,
            body,
        }
    }

    fn request(&self) -> SignedRequest<'_> {
        SignedRequest {
            method: &self.method,
            path: &self.path,
            query: self.query.as_deref(),
            headers: &self.headers,
            body: &self.body,
        }
    }

    fn authorization(&self) -> Result<Authorization, SignatureError> {
        Authorization::from_headers(&self.headers).expect("the wire request has Authorization")
    }

    fn verify(&self, secret_key: &str, options: Options) -> Result<(), SignatureError> {
        signing::verify(&self.request(), &self.authorization()?, secret_key, options)
    }

    fn canonical(&self, options: Options, sorted_query: bool) -> String {
        let auth = self.authorization().expect("parsable Authorization");
        signing::canonical_request(&self.request(), &auth, options, sorted_query)
            .expect("canonical request")
    }
}

fn secret_of(vector: &Value) -> &str {
    text(vector, "/inputs/sk")
}

fn is_unsigned_payload(vector: &Value) -> bool {
    ["v14", "a02"].iter().any(|p| id(vector).starts_with(p))
}

fn options_for(vector: &Value) -> Options {
    if is_unsigned_payload(vector) {
        UNSIGNED_OK
    } else {
        Options::default()
    }
}

fn sdk_date(value: &str) -> OffsetDateTime {
    PrimitiveDateTime::parse(
        value,
        format_description!("[year][month][day]T[hour][minute][second]Z"),
    )
    .expect("X-Sdk-Date of a vector")
    .assume_utc()
}

fn hmac_vectors(doc: &Value) -> Vec<&Value> {
    list(doc, "vectors")
        .iter()
        .chain(
            list(doc, "other_algorithm_vectors")
                .iter()
                .filter(|v| text(v, "/algorithm") == "SDK-HMAC-SM3"),
        )
        .collect()
}

#[test]
fn the_file_holds_the_documented_number_of_vectors() {
    let doc = doc();
    assert_eq!(list(&doc, "vectors").len(), 23);
    assert_eq!(list(&doc, "other_algorithm_vectors").len(), 7);
    assert_eq!(list(&doc, "negative_vectors").len(), 15);
}

#[test]
fn every_sdk_hmac_sha256_vector_verifies_from_its_wire_request() {
    let doc = doc();
    for v in list(&doc, "vectors") {
        let wire = Wire::of(v);
        assert_eq!(
            wire.authorization().unwrap().algorithm,
            Algorithm::HmacSha256
        );
        if let Err(e) = wire.verify(secret_of(v), options_for(v)) {
            panic!("{} refused: {e}", id(v));
        }
    }
}

#[test]
fn every_vector_is_refused_with_a_wrong_secret_key() {
    let doc = doc();
    for v in hmac_vectors(&doc) {
        let wrong = format!("{}x", secret_of(v));
        assert!(
            matches!(
                Wire::of(v).verify(&wrong, options_for(v)),
                Err(SignatureError::Mismatch)
            ),
            "{} accepted with a wrong secret key",
            id(v)
        );
    }
}

#[test]
fn canonical_request_equals_the_sdks_for_every_hmac_vector() {
    let doc = doc();
    for v in hmac_vectors(&doc) {
        // v11 is signed over the SDK's numeric order, which is the received order.
        let sorted = !id(v).starts_with("v11");
        assert_eq!(
            Wire::of(v).canonical(options_for(v), sorted),
            text(v, "/outputs/canonical_request"),
            "canonical request of {}",
            id(v)
        );
    }
}

#[test]
fn numeric_sort_quirk_v11_verifies_only_through_the_received_order_fallback() {
    let doc = doc();
    let v = vector(&doc, "v11");
    let wire = Wire::of(v);
    let sorted = wire.canonical(Options::default(), true);
    assert_eq!(
        sorted.lines().nth(2),
        Some("limit=10&limit=9&page=100&page=20&page=3"),
        "the string-sorted query differs from the SDK's"
    );
    assert_ne!(sorted, text(v, "/outputs/canonical_request"));
    wire.verify(secret_of(v), Options::default())
        .expect("v11 verifies through the received-order retry");
}

#[test]
fn received_order_fallback_does_not_accept_a_changed_pair() {
    let doc = doc();
    let v = vector(&doc, "v11");
    let mut wire = Wire::of(v);
    wire.query = Some("limit=9&limit=11&page=3&page=20&page=100".into());
    assert!(matches!(
        wire.verify(secret_of(v), Options::default()),
        Err(SignatureError::Mismatch)
    ));
}

#[test]
fn unsigned_payload_v14_verifies_only_when_allowed() {
    let doc = doc();
    let v = vector(&doc, "v14");
    let wire = Wire::of(v);
    wire.verify(secret_of(v), UNSIGNED_OK)
        .expect("v14 with allow_unsigned_payload");
    let refused = wire.verify(secret_of(v), Options::default()).unwrap_err();
    assert!(matches!(refused, SignatureError::UnsignedPayload));
    assert_eq!(refused.to_string(), "UNSIGNED-PAYLOAD is not accepted");
}

#[test]
fn unsigned_payload_header_on_an_empty_body_v15_needs_no_option() {
    let doc = doc();
    let v = vector(&doc, "v15");
    Wire::of(v)
        .verify(secret_of(v), Options::default())
        .expect("v15 hashes the empty body");
}

#[test]
fn sm3_vectors_a01_to_a03_verify() {
    let doc = doc();
    for prefix in ["a01", "a03"] {
        let v = vector(&doc, prefix);
        let wire = Wire::of(v);
        assert_eq!(wire.authorization().unwrap().algorithm, Algorithm::HmacSm3);
        wire.verify(secret_of(v), Options::default())
            .unwrap_or_else(|e| panic!("{prefix} refused: {e}"));
    }
    let a02 = vector(&doc, "a02");
    let wire = Wire::of(a02);
    wire.verify(secret_of(a02), UNSIGNED_OK)
        .expect("a02 with allow_unsigned_payload");
    assert!(matches!(
        wire.verify(secret_of(a02), Options::default()),
        Err(SignatureError::UnsignedPayload)
    ));
}

#[test]
fn sm3_signature_is_not_accepted_as_sha256() {
    let doc = doc();
    let v = vector(&doc, "a01");
    let mut wire = Wire::of(v);
    let auth = text(&v["outputs"], "/authorization").replacen("SDK-HMAC-SM3", "SDK-HMAC-SHA256", 1);
    wire.headers.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(&auth).unwrap(),
    );
    assert!(matches!(
        wire.verify(secret_of(v), Options::default()),
        Err(SignatureError::Mismatch)
    ));
}

#[test]
fn other_algorithms_a04_to_a07_are_refused_as_unsupported() {
    let doc = doc();
    for v in list(&doc, "other_algorithm_vectors")
        .iter()
        .filter(|v| text(v, "/algorithm") != "SDK-HMAC-SM3")
    {
        let algorithm = text(v, "/algorithm");
        let err = Wire::of(v).authorization().unwrap_err();
        assert!(
            matches!(err, SignatureError::UnsupportedAlgorithm(_)),
            "{}: {err}",
            id(v)
        );
        assert_eq!(
            err.to_string(),
            format!("unsupported signing algorithm {algorithm}")
        );
    }
}

#[test]
fn tamper_vectors_expected_to_fail_are_refused() {
    let doc = doc();
    let mut seen = 0;
    for n in list(&doc, "negative_vectors") {
        if text(n, "/expected") != "fail" {
            continue;
        }
        seen += 1;
        let base = vector(&doc, text(n, "/base_vector"));
        let result = Wire::of(n).verify(secret_of(base), Options::default());
        match id(n) {
            "n09_signed_header_removed" => assert_eq!(
                result.unwrap_err().to_string(),
                "signed header x-custom-spaces is missing"
            ),
            other => assert!(
                matches!(result, Err(SignatureError::Mismatch)),
                "{other} ({}): {result:?}",
                text(n, "/change")
            ),
        }
    }
    assert_eq!(seen, 10);
}

#[test]
fn tamper_controls_expected_to_pass_are_accepted() {
    let doc = doc();
    let mut seen = 0;
    for n in list(&doc, "negative_vectors") {
        if text(n, "/expected") != "pass" {
            continue;
        }
        seen += 1;
        let base = vector(&doc, text(n, "/base_vector"));
        if let Err(e) = Wire::of(n).verify(secret_of(base), Options::default()) {
            panic!("{} ({}) refused: {e}", id(n), text(n, "/change"));
        }
    }
    assert_eq!(seen, 5);
}

#[test]
fn date_check_passes_at_the_signing_time_and_fails_twenty_minutes_away() {
    let doc = doc();
    for v in hmac_vectors(&doc) {
        let headers = Wire::of(v).headers;
        let signed_at = sdk_date(text(v, "/inputs/x_sdk_date"));
        assert_eq!(
            signing::check_date(&headers, signed_at).expect("at the signing time"),
            signed_at,
            "{}",
            id(v)
        );
        for now in [
            signed_at + Duration::minutes(20),
            signed_at - Duration::minutes(20),
        ] {
            assert!(
                matches!(
                    signing::check_date(&headers, now),
                    Err(SignatureError::DateOutOfWindow)
                ),
                "{} accepted at {now}",
                id(v)
            );
        }
    }
}

#[test]
fn authorization_debug_of_a_vector_hides_its_signature() {
    let doc = doc();
    let v = vector(&doc, "v01");
    let shown = format!("{:?}", Wire::of(v).authorization().unwrap());
    assert!(!shown.contains(text(v, "/outputs/signature")), "{shown}");
}

// ----- the Terraform provider's requests, as captured (docs/signing.md §12) -----

const CAPTURED: &str = include_str!("data/golangsdk-captured.json");

/// A captured request, its secret key and its `X-Sdk-Date`.
fn captured() -> Vec<(Wire, String, OffsetDateTime)> {
    let doc: Value = serde_json::from_str(CAPTURED).expect("golangsdk-captured.json is JSON");
    let secret = text(&doc, "/credential/secret_key").to_owned();
    list(&doc, "requests")
        .iter()
        .map(|r| {
            let target = text(r, "/target");
            let (path, query) = match target.split_once('?') {
                Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
                None => (target.to_owned(), None),
            };
            let mut headers = HeaderMap::new();
            let mut date = None;
            for pair in r["headers"].as_array().expect("headers") {
                let (name, value) = (
                    pair[0].as_str().expect("name"),
                    pair[1].as_str().expect("value"),
                );
                if name == "X-Sdk-Date" {
                    date = Some(sdk_date(value));
                }
                headers.append(
                    HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                    HeaderValue::from_bytes(value.as_bytes()).expect("header value"),
                );
            }
            let wire = Wire {
                method: text(r, "/method").to_owned(),
                path,
                query,
                headers,
                body: text(r, "/body").as_bytes().to_vec(),
            };
            (wire, secret.clone(), date.expect("X-Sdk-Date"))
        })
        .collect()
}

#[test]
fn the_terraform_providers_captured_requests_verify_at_their_date() {
    let requests = captured();
    assert_eq!(requests.len(), 4);
    let mut algorithms = Vec::new();
    for (wire, secret, date) in &requests {
        let auth = wire.authorization().expect("Authorization parses");
        assert!(!auth.is_signed("host"), "{auth:?}");
        assert!(!auth.is_signed("x-project-id"), "{auth:?}");
        algorithms.push(auth.algorithm);
        signing::check_date(&wire.headers, *date).expect("within the window at its date");
        wire.verify(secret, Options::default())
            .unwrap_or_else(|e| panic!("{} {} refused: {e}", wire.method, wire.path));
        assert!(matches!(
            signing::check_date(&wire.headers, *date + Duration::minutes(16)),
            Err(SignatureError::DateOutOfWindow)
        ));
    }
    assert!(algorithms.contains(&Algorithm::HmacSha256));
    assert!(algorithms.contains(&Algorithm::HmacSm3));
}

#[test]
fn captured_requests_changed_in_what_they_sign_are_refused() {
    for (wire, secret, _) in captured() {
        let what = format!("{} {}", wire.method, wire.path);
        let mismatch = |w: &Wire, change: &str| {
            assert!(
                matches!(
                    w.verify(&secret, Options::default()),
                    Err(SignatureError::Mismatch)
                ),
                "{what}: accepted after {change}"
            );
        };
        let mut w = clone(&wire);
        w.headers.insert(
            "user-agent",
            HeaderValue::from_static("terraform-provider-iac golangsdk/2.0.1"),
        );
        mismatch(&w, "a changed User-Agent");
        let mut w = clone(&wire);
        w.headers.insert("accept", HeaderValue::from_static("*/*"));
        mismatch(&w, "a changed Accept");
        let mut w = clone(&wire);
        w.path = w.path.replace("0001", "0003");
        mismatch(&w, "a changed path");
        let mut w = clone(&wire);
        w.method = if w.method == "GET" {
            "DELETE".into()
        } else {
            "POST".into()
        };
        mismatch(&w, "a changed method");
        if let Some(q) = &wire.query {
            let mut w = clone(&wire);
            w.query = Some(q.replace("0002", "0004"));
            mismatch(&w, "a changed query");
        }
        if !wire.body.is_empty() {
            let mut w = clone(&wire);
            w.body[20] ^= 1;
            mismatch(&w, "a changed body byte");
            let mut w = clone(&wire);
            w.headers.insert(
                "content-type",
                HeaderValue::from_static("application/json;charset=utf-8"),
            );
            mismatch(&w, "a changed Content-Type");
        }
        assert!(
            matches!(
                wire.verify(&format!("{secret}x"), Options::default()),
                Err(SignatureError::Mismatch)
            ),
            "{what}: accepted with a wrong secret key"
        );
        // Claiming `host` was signed, keeping the signature: the canonical request changes.
        let mut w = clone(&wire);
        let auth = w.headers["authorization"]
            .to_str()
            .expect("ASCII")
            .replace("SignedHeaders=accept;", "SignedHeaders=accept;host;");
        let auth = auth.replace(
            "SignedHeaders=accept;host;content-type;",
            "SignedHeaders=accept;content-type;host;",
        );
        w.headers.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(&auth).expect("header"),
        );
        mismatch(&w, "host added to SignedHeaders");
    }
}

#[test]
fn what_captured_requests_leave_unsigned_may_change() {
    for (wire, secret, _) in captured() {
        // Host and X-Project-Id are not signed by golangsdk: the signature does not cover them
        // (the server checks X-Project-Id against the path's project on its own).
        let mut w = clone(&wire);
        w.headers
            .insert("host", HeaderValue::from_static("vpcep.example.com"));
        w.headers.insert(
            "x-project-id",
            HeaderValue::from_static("0123456789abcdef0123456789abcdef"),
        );
        w.headers.remove("accept-encoding");
        w.verify(&secret, Options::default())
            .unwrap_or_else(|e| panic!("{} {}: {e}", w.method, w.path));
    }
}

fn clone(w: &Wire) -> Wire {
    Wire {
        method: w.method.clone(),
        path: w.path.clone(),
        query: w.query.clone(),
        headers: w.headers.clone(),
        body: w.body.clone(),
    }
}
