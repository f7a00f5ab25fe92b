//! Validation of the structured fields that several operations share: port mappings, tags, IP
//! addresses, descriptions. Each failure carries the code the VPCEP API reference's error code
//! table gives it.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use serde_json::Value;

use super::error::{ApiError, ErrorCode};
use super::extract::Fields;
use crate::domain::{parse_uuid, text::check_text, Port, Tag, MAX_DESCRIPTION_CHARS};

/// At most 200 port mappings per request (the reference's `PortList` rules).
pub const MAX_PORTS: usize = 200;
/// At most 20 tags on a resource at creation (the same limit as the tag operations').
pub const MAX_TAGS: usize = crate::domain::tags::MAX_TAGS_PER_RESOURCE;

/// A description field: 0..512 characters, no `<`, `>` or control characters.
pub fn description(f: &Fields<'_>, key: &str) -> Result<Option<String>, ApiError> {
    let Some(s) = f.opt_str(key)? else {
        return Ok(None);
    };
    check_text(s, MAX_DESCRIPTION_CHARS)
        .map_err(|e| ApiError::param(format!("{} {e}.", f.path(key))))?;
    Ok(Some(s.to_owned()))
}

/// A required UUID field: `missing` when absent, `invalid` when malformed.
pub fn uuid_field(
    f: &Fields<'_>,
    key: &str,
    missing: ErrorCode,
    invalid: ErrorCode,
) -> Result<String, ApiError> {
    let s = f
        .opt_str(key)?
        .ok_or_else(|| ApiError::with(missing, format!("{} is required.", f.path(key))))?;
    opt_uuid(f, key, s, invalid)
}

pub fn opt_uuid(
    f: &Fields<'_>,
    key: &str,
    s: &str,
    invalid: ErrorCode,
) -> Result<String, ApiError> {
    parse_uuid(s).ok_or_else(|| ApiError::with(invalid, format!("{} must be a UUID.", f.path(key))))
}

fn port_number(f: &Fields<'_>, key: &str, v: Option<&Value>) -> Result<u16, ApiError> {
    v.and_then(Value::as_u64)
        .and_then(|n| u16::try_from(n).ok())
        .filter(|n| *n >= 1)
        .ok_or_else(|| {
            ApiError::with(
                ErrorCode::InvalidServicePort,
                format!("{} must be an integer from 1 to 65535.", f.path(key)),
            )
        })
}

/// Port mappings: 1..=200 items, ports 1..65535, protocol `TCP` (the default), no client port
/// twice.
pub fn ports(f: &Fields<'_>, key: &str) -> Result<Option<Vec<Port>>, ApiError> {
    let Some(items) = f.opt_array(key)? else {
        return Ok(None);
    };
    if items.is_empty() {
        return Err(ApiError::with(
            ErrorCode::InvalidServicePort,
            format!("{key} must hold at least one port mapping."),
        ));
    }
    if items.len() > MAX_PORTS {
        return Err(ApiError::with(
            ErrorCode::PortLimit,
            format!(
                "{key} holds {} mappings; at most {MAX_PORTS} are allowed.",
                items.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    let mut client_ports = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("{key}[{i}]");
        let pf = Fields::item(item, &path)?;
        let client_port = port_number(&pf, "client_port", pf.value("client_port"))?;
        let server_port = port_number(&pf, "server_port", pf.value("server_port"))?;
        let protocol = pf.opt_str("protocol")?.unwrap_or("TCP");
        if protocol != "TCP" {
            return Err(ApiError::with(
                ErrorCode::InvalidProtocol,
                format!("{path}.protocol must be TCP."),
            ));
        }
        if !client_ports.insert(client_port) {
            return Err(ApiError::with(
                ErrorCode::InvalidServicePort,
                format!("{path}.client_port {client_port} is mapped twice."),
            ));
        }
        out.push(Port {
            client_port,
            server_port,
            protocol: protocol.to_owned(),
        });
    }
    Ok(Some(out))
}

fn tag_char_ok(c: char, value: bool) -> bool {
    c.is_alphanumeric() || " _.:=+-@".contains(c) || (value && c == '/')
}

/// Tags: at most 20; key 1..128 characters, value 0..255, letters of any script, digits, space
/// and `_ . : = + - @` (`/` too in values); keys unique, not starting with `_sys_`, not padded
/// with spaces.
pub fn tags(f: &Fields<'_>, key: &str) -> Result<Vec<Tag>, ApiError> {
    let Some(items) = f.opt_array(key)? else {
        return Ok(Vec::new());
    };
    if items.len() > MAX_TAGS {
        return Err(ApiError::with(
            ErrorCode::TagLimit,
            format!("At most {MAX_TAGS} tags are allowed."),
        ));
    }
    let mut keys = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("{key}[{i}]");
        let tf = Fields::item(item, &path)?;
        let k = tf.opt_str("key")?.unwrap_or("");
        let v = tf.opt_str("value")?.unwrap_or("");
        check_tag(&path, k, v)?;
        if !keys.insert(k) {
            return Err(ApiError::with(
                ErrorCode::TagKeyDuplicated,
                format!("{path}.key {k} is repeated."),
            ));
        }
        out.push(Tag {
            key: k.to_owned(),
            value: v.to_owned(),
        });
    }
    Ok(out)
}

/// One tag's key and value: EndPoint.3066 for an empty key, 3072/3073 for sizes, 3068 for a
/// character that is not allowed, a key starting with `_sys_` or padded with spaces.
pub fn check_tag(path: &str, k: &str, v: &str) -> Result<(), ApiError> {
    if k.is_empty() {
        return Err(ApiError::with(
            ErrorCode::TagEmpty,
            format!("{path}.key is empty."),
        ));
    }
    if k.chars().count() > 128 {
        return Err(ApiError::with(
            ErrorCode::TagKeySize,
            format!("{path}.key is longer than 128 characters."),
        ));
    }
    if v.chars().count() > 255 {
        return Err(ApiError::with(
            ErrorCode::TagValueSize,
            format!("{path}.value is longer than 255 characters."),
        ));
    }
    if k.starts_with("_sys_")
        || k.trim() != k
        || !k.chars().all(|c| tag_char_ok(c, false))
        || !v.chars().all(|c| tag_char_ok(c, true))
    {
        return Err(ApiError::with(
            ErrorCode::TagInvalid,
            format!("{path} has characters that are not allowed."),
        ));
    }
    Ok(())
}

/// A dotted-quad IPv4 address.
pub fn ipv4(s: &str) -> Option<u32> {
    s.parse::<Ipv4Addr>().ok().map(u32::from)
}

/// An IPv4 address or an IPv4 CIDR block (`10.0.0.0/8`).
pub fn ipv4_or_cidr(s: &str) -> bool {
    match s.split_once('/') {
        None => ipv4(s).is_some(),
        Some((addr, bits)) => {
            ipv4(addr).is_some()
                && bits.bytes().all(|b| b.is_ascii_digit())
                && bits.parse::<u8>().is_ok_and(|b| b <= 32)
        }
    }
}

pub use crate::domain::address::ip_or_domain;

/// A short service name: 0..16 characters of `[A-Za-z0-9_-]`.
pub fn service_name(s: &str) -> bool {
    s.len() <= 16
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ip_forms() {
        assert_eq!(ipv4("172.16.0.2"), Some(0xAC10_0002));
        assert!(ipv4("172.16.0").is_none());
        assert!(ipv4_or_cidr("10.0.0.0/8"));
        assert!(ipv4_or_cidr("10.1.2.3"));
        assert!(!ipv4_or_cidr("10.0.0.0/33"));
        assert!(!ipv4_or_cidr("10.0.0.0/"));
        assert!(ip_or_domain("backend.example.com"));
        assert!(ip_or_domain("10.0.0.1"));
        assert!(!ip_or_domain("999.1.1.1"));
        assert!(!ip_or_domain("-bad.example"));
    }

    #[test]
    fn short_service_names() {
        assert!(service_name("obs_test-1"));
        assert!(service_name(""));
        assert!(!service_name("a.b"));
        assert!(!service_name(&"a".repeat(17)));
    }

    #[test]
    fn port_rules() {
        let body = json!({"ports": [{"client_port": 80, "server_port": 8080}]});
        let f = Fields::new(body.as_object().unwrap());
        let p = ports(&f, "ports").unwrap().unwrap();
        assert_eq!(p[0].protocol, "TCP");
        for (bad, code) in [
            (json!({"ports": []}), ErrorCode::InvalidServicePort),
            (
                json!({"ports": [{"client_port": 0, "server_port": 1}]}),
                ErrorCode::InvalidServicePort,
            ),
            (
                json!({"ports": [{"client_port": 65536, "server_port": 1}]}),
                ErrorCode::InvalidServicePort,
            ),
            (
                json!({"ports": [{"client_port": 1, "server_port": 1, "protocol": "UDP"}]}),
                ErrorCode::InvalidProtocol,
            ),
            (
                json!({"ports": [{"client_port": 1, "server_port": 1}, {"client_port": 1, "server_port": 2}]}),
                ErrorCode::InvalidServicePort,
            ),
        ] {
            let f = Fields::new(bad.as_object().unwrap());
            assert_eq!(ports(&f, "ports").unwrap_err().code, code, "{bad}");
        }
    }

    #[test]
    fn tag_rules() {
        let ok = json!({"tags": [{"key": "环境 env", "value": "a/b"}, {"key": "k2"}]});
        assert_eq!(
            tags(&Fields::new(ok.as_object().unwrap()), "tags")
                .unwrap()
                .len(),
            2
        );
        for (bad, code) in [
            (json!({"tags": [{"value": "v"}]}), ErrorCode::TagEmpty),
            (
                json!({"tags": [{"key": "a"}, {"key": "a"}]}),
                ErrorCode::TagKeyDuplicated,
            ),
            (json!({"tags": [{"key": "_sys_x"}]}), ErrorCode::TagInvalid),
            (json!({"tags": [{"key": " a"}]}), ErrorCode::TagInvalid),
            (json!({"tags": [{"key": "a/b"}]}), ErrorCode::TagInvalid),
            (
                json!({"tags": [{"key": "k".repeat(129)}]}),
                ErrorCode::TagKeySize,
            ),
            (
                json!({"tags": [{"key": "k", "value": "v".repeat(256)}]}),
                ErrorCode::TagValueSize,
            ),
        ] {
            assert_eq!(
                tags(&Fields::new(bad.as_object().unwrap()), "tags")
                    .unwrap_err()
                    .code,
                code,
                "{bad}"
            );
        }
    }
}
