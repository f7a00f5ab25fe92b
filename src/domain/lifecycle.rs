//! How resources start and settle: with `--transition-delay`, a new service or endpoint is
//! `creating` until its transition is due; without, it is settled at once.

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
    fn with_a_delay_it_is_creating_until_due() {
        let s = start(Creating, PendingAcceptance, 1_500, 1_000);
        assert_eq!(s.status, Creating);
        assert_eq!(s.settles_in(), Some(PendingAcceptance));
        assert_eq!(s.due_ms(), Some(2_500));
    }
}
