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

/// A project's count of a kind is kept in this many shards, each with a share of the quota, so
/// that creates in one project need not take their turn (docs/architecture.md, "Quotas").
pub const QUOTA_SHARDS: u32 = 8;

/// One shard of a project's count of a kind: how many resources it counts, and the share of the
/// quota it may count (`limit`), set for the quota `for_quota` (`None`: never set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaShard {
    pub shard: u32,
    pub count: u64,
    pub limit: u64,
    pub for_quota: Option<u64>,
}

impl QuotaShard {
    /// Whether a create may count itself in this shard alone: its share was set for `quota`
    /// and is not used up. The shares of one quota add up to at most the quota, and no shard
    /// counts past its share, so creates that pass this never pass the quota together.
    pub fn has_room_for(&self, quota: u64) -> bool {
        self.for_quota == Some(quota) && self.count < self.limit
    }
}

/// The shard a new resource tries first, from its id (any spread will do).
pub fn first_shard(id: &str) -> u32 {
    id.bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % QUOTA_SHARDS
}

/// New shares for every shard, when one create found its shard full: with the whole count in
/// view (every shard locked), the room left under `quota` is spread over the shards, each share
/// at least its count. Returns the shares (by shard) and the shard the create counts in, or
/// `None` when the project has no room at all.
pub fn rebalance(shards: &[QuotaShard], quota: u64) -> Option<(Vec<u64>, u32)> {
    let mut counts = vec![0u64; QUOTA_SHARDS as usize];
    for s in shards {
        if let Some(c) = counts.get_mut(s.shard as usize) {
            *c = s.count;
        }
    }
    let total: u64 = counts.iter().sum();
    if !has_room(total, quota) {
        return None;
    }
    let free = quota - total;
    let n = u64::from(QUOTA_SHARDS);
    let limits: Vec<u64> = counts
        .iter()
        .enumerate()
        .map(|(i, c)| c + free / n + u64::from((i as u64) < free % n))
        .collect();
    // The shard with the most room; at least one has room since free >= 1.
    let chosen = (0..QUOTA_SHARDS)
        .max_by_key(|&i| {
            (
                limits[i as usize] - counts[i as usize],
                std::cmp::Reverse(i),
            )
        })
        .unwrap_or(0);
    Some((limits, chosen))
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

    fn shard(shard: u32, count: u64, limit: u64, for_quota: Option<u64>) -> QuotaShard {
        QuotaShard {
            shard,
            count,
            limit,
            for_quota,
        }
    }

    #[test]
    fn a_shard_has_room_only_under_a_share_set_for_this_quota() {
        assert!(shard(0, 3, 4, Some(10)).has_room_for(10));
        assert!(!shard(0, 4, 4, Some(10)).has_room_for(10));
        assert!(!shard(0, 0, 4, Some(12)).has_room_for(10));
        assert!(!shard(0, 0, 4, None).has_room_for(10));
    }

    #[test]
    fn rebalancing_spreads_the_room_left_and_never_passes_the_quota() {
        for quota in [0u64, 1, 7, 8, 9, 150, 1000] {
            for used in [0u64, 1, 5, 149, 150] {
                let shards: Vec<QuotaShard> = (0..QUOTA_SHARDS)
                    .map(|i| shard(i, if i == 3 { used } else { 0 }, 0, None))
                    .collect();
                match rebalance(&shards, quota) {
                    None => assert!(used >= quota, "{used} of {quota}"),
                    Some((limits, chosen)) => {
                        assert!(used < quota);
                        assert_eq!(limits.iter().sum::<u64>(), quota, "{used} of {quota}");
                        let counts: Vec<u64> = shards.iter().map(|s| s.count).collect();
                        assert!(limits.iter().zip(&counts).all(|(l, c)| l >= c));
                        let c = chosen as usize;
                        assert!(limits[c] > counts[c], "the chosen shard has room");
                    }
                }
            }
        }
    }

    #[test]
    fn first_shards_are_in_range_and_spread() {
        let ids: Vec<String> = (0..64).map(|i| format!("id-{i}")).collect();
        let shards: std::collections::HashSet<u32> = ids.iter().map(|i| first_shard(i)).collect();
        assert!(shards.iter().all(|s| *s < QUOTA_SHARDS));
        assert!(shards.len() > 4);
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
