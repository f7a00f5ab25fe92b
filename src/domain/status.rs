//! The lifecycles of connections and endpoint services (the `status` values of the VPCEP API
//! reference).
//!
//! A connection and its endpoint are one record seen from two sides, so they share one status.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnectionStatus {
    Creating,
    PendingAcceptance,
    Accepted,
    Rejected,
    Failed,
    Deleting,
}

/// The owner's decision on a connection (AcceptOrRejectEndpoint `action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionAction {
    Receive,
    Reject,
}

/// Why a change is refused in the current state. Transitional states are conflicts (409,
/// docs/api.md §2); the others are plain 400s of the reference's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransitionError {
    /// EndPoint.2019: the endpoint is being created.
    BeingCreated,
    /// EndPoint.2018: the endpoint is being deleted.
    BeingDeleted,
    /// EndPoint.2047: an endpoint in `failed` cannot be modified.
    Failed,
}

impl ConnectionStatus {
    pub const ALL: [ConnectionStatus; 6] = [
        Self::Creating,
        Self::PendingAcceptance,
        Self::Accepted,
        Self::Rejected,
        Self::Failed,
        Self::Deleting,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "creating",
            Self::PendingAcceptance => "pendingAcceptance",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
            Self::Deleting => "deleting",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The settled status of a new connection: the owner must approve it when the service asks for
    /// approval (the reference's `approval_enabled`).
    pub fn initial(approval_enabled: bool) -> Self {
        if approval_enabled {
            Self::PendingAcceptance
        } else {
            Self::Accepted
        }
    }

    /// Accept works from `pendingAcceptance` and `rejected`, reject from `pendingAcceptance` and
    /// `accepted`; the same action twice is a no-op (docs/api.md §3). Returns the new status.
    pub fn apply(self, action: ConnectionAction) -> Result<Self, TransitionError> {
        use ConnectionAction::*;
        match (self, action) {
            (Self::Creating, _) => Err(TransitionError::BeingCreated),
            (Self::Deleting, _) => Err(TransitionError::BeingDeleted),
            (Self::Failed, _) => Err(TransitionError::Failed),
            (Self::PendingAcceptance | Self::Rejected | Self::Accepted, Receive) => {
                Ok(Self::Accepted)
            }
            (Self::PendingAcceptance | Self::Accepted | Self::Rejected, Reject) => {
                Ok(Self::Rejected)
            }
        }
    }

    /// The service owner may set a connection's description in any state but the transitional
    /// ones: a connection being created or deleted is not yet (or no longer) the owner's to edit.
    pub fn check_description_change(self) -> Result<(), TransitionError> {
        match self {
            Self::Creating => Err(TransitionError::BeingCreated),
            Self::Deleting => Err(TransitionError::BeingDeleted),
            _ => Ok(()),
        }
    }

    /// An endpoint's own settings (its IP whitelist) change only once it is settled and not
    /// `failed`: EndPoint.2019 while it is created, 2018 while it is deleted, 2047 when failed.
    pub fn check_endpoint_update(self) -> Result<(), TransitionError> {
        match self {
            Self::Failed => Err(TransitionError::Failed),
            other => other.check_description_change(),
        }
    }

    /// Deleting an endpoint is refused while it is still being created or already being deleted.
    pub fn check_delete(self) -> Result<(), TransitionError> {
        self.check_description_change()
    }

    /// Counted by a service's `connection_count` (the reference's endpoint service object).
    pub fn counts_as_connection(self) -> bool {
        matches!(self, Self::Creating | Self::Accepted)
    }
}

impl fmt::Display for ConnectionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ConnectionAction {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "receive" => Some(Self::Receive),
            "reject" => Some(Self::Reject),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServiceStatus {
    Creating,
    Available,
    Failed,
    Deleting,
}

impl ServiceStatus {
    pub const ALL: [ServiceStatus; 4] = [
        Self::Creating,
        Self::Available,
        Self::Failed,
        Self::Deleting,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "creating",
            Self::Available => "available",
            Self::Failed => "failed",
            Self::Deleting => "deleting",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Only an available service takes new connections (EndPoint.2004 otherwise).
    pub fn accepts_connections(self) -> bool {
        self == Self::Available
    }

    /// Properties can be changed only in a settled state (EndPoint.3045 otherwise).
    pub fn allows_update(self) -> bool {
        matches!(self, Self::Available | Self::Failed)
    }

    /// A service being created or deleted cannot be deleted (409); any other can, once no
    /// endpoint is connected to it.
    pub fn allows_delete(self) -> bool {
        !matches!(self, Self::Creating | Self::Deleting)
    }
}

#[cfg(test)]
mod tests {
    use super::ConnectionAction::*;
    use super::ConnectionStatus::*;
    use super::*;

    #[test]
    fn an_endpoint_changes_its_settings_only_when_settled_and_not_failed() {
        for s in ConnectionStatus::ALL {
            let expected = match s {
                Creating => Err(TransitionError::BeingCreated),
                Deleting => Err(TransitionError::BeingDeleted),
                Failed => Err(TransitionError::Failed),
                _ => Ok(()),
            };
            assert_eq!(s.check_endpoint_update(), expected, "{s:?}");
        }
    }

    #[test]
    fn status_names_round_trip() {
        for s in ConnectionStatus::ALL {
            assert_eq!(ConnectionStatus::parse(s.as_str()), Some(s));
        }
        for s in ServiceStatus::ALL {
            assert_eq!(ServiceStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ConnectionStatus::parse("Accepted"), None);
        assert_eq!(ConnectionStatus::parse("pendingacceptance"), None);
    }

    #[test]
    fn accept_and_reject_transitions() {
        assert_eq!(PendingAcceptance.apply(Receive), Ok(Accepted));
        assert_eq!(PendingAcceptance.apply(Reject), Ok(Rejected));
        assert_eq!(Accepted.apply(Reject), Ok(Rejected));
        assert_eq!(Rejected.apply(Receive), Ok(Accepted));
        // The same action twice is a no-op.
        assert_eq!(Accepted.apply(Receive), Ok(Accepted));
        assert_eq!(Rejected.apply(Reject), Ok(Rejected));
        for a in [Receive, Reject] {
            assert_eq!(Creating.apply(a), Err(TransitionError::BeingCreated));
            assert_eq!(Deleting.apply(a), Err(TransitionError::BeingDeleted));
            assert_eq!(Failed.apply(a), Err(TransitionError::Failed));
        }
    }

    #[test]
    fn initial_status_follows_approval() {
        assert_eq!(ConnectionStatus::initial(true), PendingAcceptance);
        assert_eq!(ConnectionStatus::initial(false), Accepted);
    }

    #[test]
    fn descriptions_are_editable_outside_transitional_states() {
        for s in [PendingAcceptance, Accepted, Rejected, Failed] {
            assert_eq!(s.check_description_change(), Ok(()));
        }
        assert_eq!(
            Creating.check_description_change(),
            Err(TransitionError::BeingCreated)
        );
        assert_eq!(
            Deleting.check_description_change(),
            Err(TransitionError::BeingDeleted)
        );
    }

    #[test]
    fn connection_count_counts_creating_and_accepted() {
        let counted: Vec<_> = ConnectionStatus::ALL
            .into_iter()
            .filter(|s| s.counts_as_connection())
            .collect();
        assert_eq!(counted, vec![Creating, Accepted]);
    }

    #[test]
    fn action_names() {
        assert_eq!(ConnectionAction::parse("receive"), Some(Receive));
        assert_eq!(ConnectionAction::parse("reject"), Some(Reject));
        assert_eq!(ConnectionAction::parse("accept"), None);
    }

    #[test]
    fn service_states() {
        assert!(ServiceStatus::Available.accepts_connections());
        assert!(!ServiceStatus::Creating.accepts_connections());
        assert!(!ServiceStatus::Deleting.allows_update());
    }
}
