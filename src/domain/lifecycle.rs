//! How resources start and settle: with `--transition-delay`, a new service or endpoint is
//! `creating` until its transition is due; without, it is settled at once.

use super::status::{ConnectionStatus, ServiceStatus};

/// The status a new resource is stored with and, when it must wait, where it settles and when
/// (epoch milliseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Start<S> {
    pub status: S,
    pub pending: Option<(S, i64)>,
}

pub fn start<S: Copy>(creating: S, settled: S, delay_ms: i64, now_ms: i64) -> Start<S> {
    if delay_ms > 0 {
        Start {
            status: creating,
            pending: Some((settled, now_ms.saturating_add(delay_ms))),
        }
    } else {
        Start {
            status: settled,
            pending: None,
        }
    }
}

/// How a new endpoint starts: `creating` for `delay_ms`, then `failed` when a planned failure
/// was taken for it, else `pendingAcceptance` or `accepted` by the service's approval setting.
pub fn endpoint_start(
    approval_enabled: bool,
    fails: bool,
    delay_ms: i64,
    now_ms: i64,
) -> Start<ConnectionStatus> {
    let settled = if fails {
        ConnectionStatus::Failed
    } else {
        ConnectionStatus::initial(approval_enabled)
    };
    start(ConnectionStatus::Creating, settled, delay_ms, now_ms)
}

/// How a new service starts: `creating` for `delay_ms`, then `failed` when a planned failure was
/// taken for it, else `available`.
pub fn service_start(fails: bool, delay_ms: i64, now_ms: i64) -> Start<ServiceStatus> {
    let settled = if fails {
        ServiceStatus::Failed
    } else {
        ServiceStatus::Available
    };
    start(ServiceStatus::Creating, settled, delay_ms, now_ms)
}

impl<S: Copy> Start<S> {
    /// The `settled_status` column.
    pub fn settles_in(&self) -> Option<S> {
        self.pending.map(|(s, _)| s)
    }

    /// The `transition_at` column.
    pub fn due_ms(&self) -> Option<i64> {
        self.pending.map(|(_, due)| due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ConnectionStatus::*;

    #[test]
    fn without_a_delay_a_resource_is_settled_at_once() {
        let s = start(Creating, Accepted, 0, 1_000);
        assert_eq!(s.status, Accepted);
        assert_eq!((s.settles_in(), s.due_ms()), (None, None));
    }

    #[test]
    fn a_planned_failure_or_the_approval_setting_decides_where_a_create_settles() {
        assert_eq!(endpoint_start(true, false, 0, 0).status, PendingAcceptance);
        assert_eq!(endpoint_start(false, false, 0, 0).status, Accepted);
        assert_eq!(endpoint_start(false, true, 0, 0).status, Failed);
        assert_eq!(
            endpoint_start(true, false, 5, 0).settles_in(),
            Some(PendingAcceptance)
        );
        assert_eq!(service_start(false, 0, 0).status, ServiceStatus::Available);
        assert_eq!(
            service_start(true, 5, 0).settles_in(),
            Some(ServiceStatus::Failed)
        );
        assert_eq!(service_start(true, 5, 0).status, ServiceStatus::Creating);
    }

    #[test]
    fn with_a_delay_it_is_creating_until_due() {
        let s = start(Creating, PendingAcceptance, 1_500, 1_000);
        assert_eq!(s.status, Creating);
        assert_eq!(s.settles_in(), Some(PendingAcceptance));
        assert_eq!(s.due_ms(), Some(2_500));
    }
}
