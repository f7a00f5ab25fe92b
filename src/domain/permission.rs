//! Whitelist entries of an endpoint service (the permission strings of the VPCEP API reference:
//! AddOrRemoveServicePermissions) and the rule of who may connect.

use super::model::EndpointService;

const DOMAIN_PREFIX: &str = "iam:domain::";
const ORG_PREFIX: &str = "organizations:orgPath::";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PermissionType {
    DomainId,
    OrgPath,
}

impl PermissionType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DomainId => "domainId",
            Self::OrgPath => "orgPath",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "domainId" => Some(Self::DomainId),
            "orgPath" => Some(Self::OrgPath),
            _ => None,
        }
    }
}

/// A validated whitelist entry: `*`, `iam:domain::<domain_id>` (1..64 of `[A-Za-z0-9*]`) or
/// `organizations:orgPath::<path>` (1..1024 of `[A-Za-z0-9/*?-]`). Kept exactly as the client
/// sent it, so that tools comparing what they wrote with what they read (Terraform) see no
/// drift; domain ids are compared case-insensitively when admitting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permission {
    text: String,
    kind: PermissionType,
}

impl Permission {
    pub fn parse(s: &str) -> Option<Self> {
        if s == "*" {
            return Some(Self {
                text: s.to_owned(),
                kind: PermissionType::DomainId,
            });
        }
        if let Some(domain) = s.strip_prefix(DOMAIN_PREFIX) {
            let ok = (1..=64).contains(&domain.len())
                && domain
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'*');
            return ok.then(|| Self {
                text: s.to_owned(),
                kind: PermissionType::DomainId,
            });
        }
        if let Some(path) = s.strip_prefix(ORG_PREFIX) {
            let ok = (1..=1024).contains(&path.len())
                && path
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/*?-".contains(&b));
            return ok.then(|| Self {
                text: s.to_owned(),
                kind: PermissionType::OrgPath,
            });
        }
        None
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn kind(&self) -> PermissionType {
        self.kind
    }

    /// Whether this entry lets the account `domain_id` connect. `*` in a domain entry matches any
    /// run of characters. vpcep has no organizations, so an org path admits nobody.
    pub fn admits(&self, domain_id: &str) -> bool {
        if self.text == "*" {
            return true;
        }
        match self.text.strip_prefix(DOMAIN_PREFIX) {
            Some(pattern) => glob(
                pattern.to_ascii_lowercase().as_bytes(),
                domain_id.to_ascii_lowercase().as_bytes(),
            ),
            None => false,
        }
    }
}

/// `*`-only glob matching, iterative with one backtrack point (linear in practice).
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|b| *b == b'*')
}

/// Most entries of an endpoint's IP whitelist (EndPoint.2045 past it). The reference names the
/// limit without a number; vpcep's choice is documented in docs/api.md.
pub const MAX_ENDPOINT_WHITELIST: usize = 100;

/// Most whitelist entries one service may hold (EndPoint.3049 past it).
pub const MAX_WHITELIST: usize = 500;

/// Whether a whitelist of `len` entries can take one more.
pub fn whitelist_has_room(len: usize) -> bool {
    len < MAX_WHITELIST
}

/// Whether an account may create an endpoint to a service: the owner's own account always (the
/// reference: it is whitelisted by default), any other only when an entry of the service's
/// whitelist admits it. Anyone may connect to a service of the public catalogue.
pub fn may_connect<'a>(
    service: &EndpointService,
    consumer_domain_id: &str,
    whitelist: impl IntoIterator<Item = &'a str>,
) -> bool {
    service.public
        || service.domain_id.eq_ignore_ascii_case(consumer_domain_id)
        || whitelist
            .into_iter()
            .filter_map(Permission::parse)
            .any(|p| p.admits(consumer_domain_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_formats() {
        let p = Permission::parse("iam:domain::5FC973EEA581490997E82EA11A1DF31F").unwrap();
        assert_eq!(p.as_str(), "iam:domain::5FC973EEA581490997E82EA11A1DF31F");
        assert!(p.admits("5fc973eea581490997e82ea11a1df31f"));
        assert_eq!(p.kind(), PermissionType::DomainId);
        assert_eq!(
            Permission::parse("*").unwrap().kind(),
            PermissionType::DomainId
        );
        assert_eq!(
            Permission::parse("organizations:orgPath::o-a/r-b/ou-c/*")
                .unwrap()
                .kind(),
            PermissionType::OrgPath
        );
        assert!(Permission::parse(&format!("iam:domain::{}", "a".repeat(64))).is_some());
        for bad in [
            "",
            "**",
            "iam:domain::",
            "iam:domain::a-b",
            "iam:domain::a.b",
            "IAM:domain::abc",
            "iam:domain:abc",
            "organizations:orgPath::",
            "organizations:orgPath::a b",
            "abc",
        ] {
            assert!(Permission::parse(bad).is_none(), "{bad:?}");
        }
        assert!(Permission::parse(&format!("iam:domain::{}", "a".repeat(65))).is_none());
        assert!(
            Permission::parse(&format!("organizations:orgPath::{}", "a".repeat(1025))).is_none()
        );
    }

    #[test]
    fn who_is_admitted() {
        let admits = |entry: &str, domain: &str| Permission::parse(entry).unwrap().admits(domain);
        assert!(admits("*", "anyone"));
        assert!(admits("iam:domain::*", "anyone"));
        assert!(admits("iam:domain::abc", "ABC"));
        assert!(!admits("iam:domain::abc", "abcd"));
        assert!(admits("iam:domain::ab*", "abcd"));
        assert!(admits("iam:domain::a*d", "abcd"));
        assert!(!admits("iam:domain::a*e", "abcd"));
        assert!(!admits("organizations:orgPath::*", "abcd"));
    }
}
