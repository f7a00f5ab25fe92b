//! Quotas: how many endpoint services and endpoints one project may hold (ListQuotaDetails, and
//! EndPoint.1018 when a create would pass it). The limits are server settings.

/// The kinds of resource a quota counts, as ListQuotaDetails names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuotaKind {
    Endpoint,
    EndpointService,
}

impl QuotaKind {
    /// In the order ListQuotaDetails lists them.
    pub const ALL: [QuotaKind; 2] = [QuotaKind::Endpoint, QuotaKind::EndpointService];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Endpoint => "endpoint",
            Self::EndpointService => "endpoint_service",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The limits of one project.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quotas {
    pub endpoint_services: u64,
    pub endpoints: u64,
}

impl Default for Quotas {
    /// The figures of the public reference's example: 150 endpoints, 100 endpoint services.
    fn default() -> Self {
        Self {
            endpoint_services: 100,
            endpoints: 150,
        }
    }
}

impl Quotas {
    pub fn of(&self, kind: QuotaKind) -> u64 {
        match kind {
            QuotaKind::Endpoint => self.endpoints,
            QuotaKind::EndpointService => self.endpoint_services,
        }
    }
}

/// Whether a project that holds `used` resources of a kind may create one more.
pub fn has_room(used: u64, quota: u64) -> bool {
    used < quota
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_create_needs_room_under_the_quota() {
        assert!(has_room(0, 1));
        assert!(has_room(149, 150));
        assert!(!has_room(150, 150));
        assert!(!has_room(0, 0));
    }

    #[test]
    fn kinds_have_the_reference_names() {
        for k in QuotaKind::ALL {
            assert_eq!(QuotaKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(QuotaKind::parse("Endpoint"), None);
        assert_eq!(Quotas::default().of(QuotaKind::Endpoint), 150);
        assert_eq!(Quotas::default().of(QuotaKind::EndpointService), 100);
    }
}
