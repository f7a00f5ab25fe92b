//! Checks on what the server answers: the error bodies of docs/api.md §2 with the reference's
//! table texts, key sets, timestamps, UUIDs and ids, and the small value helpers they use.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

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
        "EndPoint.1018" => &["Quota exceeded."],
        "EndPoint.2003" => &["The endpoint service does not exist."],
        "EndPoint.2004" => &["The endpoint service is unavailable."],
        "EndPoint.2010" => &["The input parameter subnet ID is empty."],
        "EndPoint.2012" => &["You have no permission to connect to the VPC endpoint service."],
        "EndPoint.2013" => &["The endpoint does not belong to the endpoint service."],
        "EndPoint.2017" => &["Invalid endpoint ID."],
        "EndPoint.2018" => &["The endpoint is being deleted."],
        "EndPoint.2019" => &["The endpoint is being created."],
        "EndPoint.2031" => &["Only one endpoint is allowed."],
        "EndPoint.2041" => &["Invalid Port IP address."],
        "EndPoint.2042" => &["The Port IP is in use."],
        "EndPoint.2044" => &["Invalid whitelist."],
        "EndPoint.2045" => &["The maximum number of whitelist records has been reached."],
        "EndPoint.2047" => &["The VPC endpoint in the Failed status cannot be modified."],
        "EndPoint.3006" => &["The endpoint service is being used."],
        "EndPoint.3062" => &["Invalid endpoint service ID."],
        "EndPoint.3021" => &["Invalid serverType."],
        "EndPoint.3045" => {
            &["Other properties cannot be modified in the current endpoint service state."]
        }
        "EndPoint.3066" => &["The tag cannot be empty."],
        "EndPoint.3067" => &["The tag key cannot be duplicated."],
        "EndPoint.3068" => &["Tag keys and values should meet relevant requirements."],
        "EndPoint.3069" => &["The maximum number of tags has been reached."],
        "EndPoint.3070" => &["Invalid resource type."],
        "EndPoint.3071" => &["The tag value cannot be duplicated."],
        "EndPoint.3072" => &["The tag key size is invalid."],
        "EndPoint.3073" => &["The tag value size is invalid."],
        "EndPoint.1019" => &["Invalid route table ID."],
        "EndPoint.2039" => &["The route table is being used by another VPC endpoint."],
        "EndPoint.2040" => &["The VPC endpoint has no route table bound."],
        "EndPoint.2048" => &["The VPC endpoint policy is invalid."],
        "EndPoint.2049" => &["The VPC endpoint has no policy associated."],
        "EndPoint.3076" => &["Invalid service name."],
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
    assert!(
        table_texts(code).iter().any(|t| msg.starts_with(t)),
        "message {msg:?} does not start with the table text of {code} ({:?})",
        table_texts(code)
    );
    msg.to_string()
}

pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
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
