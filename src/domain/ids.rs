//! Identifier syntax.
//!
//! docs/api.md §3: path ids are 1..64 characters of `[0-9A-Za-z-]`, matched case-insensitively;
//! ids in bodies that name endpoints are UUIDs in the hyphenated 8-4-4-4-12 form only (any case,
//! returned lowercase). `uuid::Uuid::try_parse` also accepts braces, `urn:uuid:` and the bare
//! 32-hex form, which the contract rejects, so the shape is checked here by hand.

use std::fmt;

/// Maximum length of an id in a path (HW 2024 editions: 1..64).
pub const MAX_PATH_ID_LEN: usize = 64;

/// A path id: 1..64 characters of `[0-9A-Za-z-]`, returned lowercase for case-insensitive matching.
pub fn parse_path_id(s: &str) -> Option<String> {
    let ok = !s.is_empty()
        && s.len() <= MAX_PATH_ID_LEN
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then(|| s.to_ascii_lowercase())
}

/// True when `s` is a UUID in the hyphenated 8-4-4-4-12 form (any letter case).
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A hyphenated UUID, lowercased; `None` for any other form.
pub fn parse_uuid(s: &str) -> Option<String> {
    is_uuid(s).then(|| s.to_ascii_lowercase())
}

/// The ids that name resources in paths and through the store: each a newtype, so a service id
/// cannot be passed where an endpoint id is meant, and each made only by parsing (or by the
/// store, for ids it generated), so code past the HTTP edge never re-checks one.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// A path id (1..64 characters of `[0-9A-Za-z-]`), lowercased.
            pub fn from_path(s: &str) -> Option<Self> {
                parse_path_id(s).map(Self)
            }

            /// An id as the store holds it (generated or read back), taken as it is.
            pub fn stored(s: impl Into<String>) -> Self {
                Self(s.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A project (tenant) id: the path's, lowercased, or a credential's as it was created.
    ProjectId
);
id_type!(
    /// An account (domain) id.
    DomainId
);
id_type!(
    /// The id of an endpoint service.
    ServiceId
);
id_type!(
    /// The id of an endpoint (which is also the id of its connection). From a path it has the
    /// path syntax; in a body it must be a UUID ([`EndpointId::parse`]).
    EndpointId
);
id_type!(
    /// The id of a whitelist record of a service.
    PermissionId
);

impl EndpointId {
    /// A hyphenated UUID (the form bodies must use), lowercased.
    pub fn parse(s: &str) -> Option<Self> {
        parse_uuid(s).map(Self)
    }
}

/// A fresh lowercase UUID for a resource we create.
pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// A UUID that is always the same for the same `name`: the first 16 bytes of its SHA-256, with
/// the version and variant bits of a UUID. For ids several nodes must agree on without talking
/// (the public catalogue's services, a VPC's default route table).
pub fn derived_uuid(name: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(name.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// A fresh 32-hex-character id, the shape of real project and domain ids.
pub fn new_hex_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_accepts_only_the_hyphenated_form() {
        assert_eq!(
            parse_uuid("4189D3C2-8882-4871-A3C2-D380272EED88").as_deref(),
            Some("4189d3c2-8882-4871-a3c2-d380272eed88")
        );
        for bad in [
            "",
            "4189d3c2888248710a3c2d380272eed88",
            "4189d3c288824871a3c2d380272eed88",
            "{4189d3c2-8882-4871-a3c2-d380272eed88}",
            "urn:uuid:4189d3c2-8882-4871-a3c2-d380272eed88",
            "4189d3c2-8882-4871-a3c2-d380272eed8",
            "4189d3c2-8882-4871-a3c2-d380272eed88a",
            "4189d3c2_8882-4871-a3c2-d380272eed88",
            "g189d3c2-8882-4871-a3c2-d380272eed88",
            "4189d3c2-8882-4871-a3c2-d380272eé88",
        ] {
            assert!(parse_uuid(bad).is_none(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn path_ids_are_1_to_64_safe_characters() {
        assert_eq!(parse_path_id("AbC-1").as_deref(), Some("abc-1"));
        assert!(parse_path_id(&"a".repeat(64)).is_some());
        assert!(parse_path_id(&"a".repeat(65)).is_none());
        assert!(parse_path_id("").is_none());
        assert!(parse_path_id("a_b").is_none());
        assert!(parse_path_id("a.b").is_none());
        assert!(parse_path_id("ä").is_none());
    }

    #[test]
    fn typed_ids_are_lowercased_path_ids() {
        assert_eq!(
            ServiceId::from_path("AbC-1")
                .map(|i| i.to_string())
                .as_deref(),
            Some("abc-1")
        );
        assert!(ServiceId::from_path("a_b").is_none());
        assert!(EndpointId::from_path("not-a-uuid").is_some());
        assert!(EndpointId::parse("not-a-uuid").is_none());
        assert_eq!(
            EndpointId::parse("4189D3C2-8882-4871-A3C2-D380272EED88")
                .map(|i| i.to_string())
                .as_deref(),
            Some("4189d3c2-8882-4871-a3c2-d380272eed88")
        );
    }

    #[test]
    fn generated_ids_have_the_documented_shapes() {
        assert!(is_uuid(&new_uuid()));
        let hex = new_hex_id();
        assert_eq!(hex.len(), 32);
        assert!(hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }
}
