//! The rules of the seed operation, UpdateEndpointConnectionsDescription (docs/api.md §1), once
//! the named connections of the service are found: every id must be one of them (the first that
//! is not is the error), every one must be in a state that allows the change (the first that is
//! not is the error); then each description that differs is set with `updated_at = now`, an
//! unchanged one keeps its `updated_at`, and the answer lists them as ListServiceConnections
//! would (newest first, then by id).
//!
//! Both backends call [`apply`]. PostgreSQL also evaluates [`allowed`] inside its one-statement
//! update; `tests/store_rules.rs` checks that the statement and this function agree on every
//! case.

use super::ids::EndpointId;
use super::model::Connection;
use super::status::{ConnectionStatus, TransitionError};
use super::text::Description;

/// One item of the seed operation, validated.
#[derive(Clone, Debug)]
pub struct DescriptionUpdate {
    pub id: EndpointId,
    pub description: Description,
}

/// Why the seed operation refuses a request whose service was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SeedError {
    /// The id is not a connection of the service (EndPoint.2013).
    NotAConnection(EndpointId),
    /// A connection's state forbids the change.
    Transition(TransitionError),
}

/// The statuses in which a connection's description may change.
pub fn changeable_statuses() -> impl Iterator<Item = ConnectionStatus> {
    ConnectionStatus::ALL
        .into_iter()
        .filter(|s| s.check_description_change().is_ok())
}

/// Whether the request may be applied: every id found among `found`, every one of them in a
/// changeable state. What PostgreSQL's statement computes as its verdict.
pub fn allowed(found: &[Connection], updates: &[DescriptionUpdate]) -> bool {
    updates.iter().all(|u| {
        found
            .iter()
            .find(|c| c.id == u.id.as_str())
            .is_some_and(|c| c.status.check_description_change().is_ok())
    })
}

/// The seed's rules over the connections `found` (as they were before the request, any order):
/// the error, or the named connections after the change, in list order.
pub fn apply(
    mut found: Vec<Connection>,
    updates: &[DescriptionUpdate],
    now: i64,
) -> Result<Vec<Connection>, SeedError> {
    // Request order; a linear search, since a request names at most a few hundred connections
    // and most name one.
    let mut current = Vec::with_capacity(updates.len());
    for u in updates {
        match found.iter().position(|c| c.id == u.id.as_str()) {
            Some(i) => current.push(found.swap_remove(i)),
            None => return Err(SeedError::NotAConnection(u.id.clone())),
        }
    }
    for c in &current {
        c.status
            .check_description_change()
            .map_err(SeedError::Transition)?;
    }
    for (c, u) in current.iter_mut().zip(updates) {
        if c.description != u.description.as_str() {
            c.description = u.description.as_str().to_owned();
            c.updated_at = now;
        }
    }
    sort_as_listed(&mut current);
    Ok(current)
}

/// The default order of ListServiceConnections: newest first, then by id.
pub fn sort_as_listed(connections: &mut [Connection]) {
    connections.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| a.id.cmp(&b.id))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(id: &str, created_at: i64, status: ConnectionStatus, description: &str) -> Connection {
        Connection {
            id: id.to_owned(),
            marker_id: created_at,
            created_at,
            updated_at: created_at,
            domain_id: "d".into(),
            status,
            description: description.into(),
            error: Vec::new(),
        }
    }

    fn update(id: &str, description: &str) -> DescriptionUpdate {
        DescriptionUpdate {
            id: EndpointId::parse(id).expect("uuid"),
            description: Description::parse(description).expect("description"),
        }
    }

    const A: &str = "00000000-0000-4000-8000-00000000000a";
    const B: &str = "00000000-0000-4000-8000-00000000000b";
    const C: &str = "00000000-0000-4000-8000-00000000000c";

    #[test]
    fn only_real_changes_are_applied_and_move_updated_at() {
        let found = vec![
            conn(A, 1, ConnectionStatus::Accepted, "same"),
            conn(B, 2, ConnectionStatus::Rejected, "old"),
        ];
        let out = apply(found, &[update(A, "same"), update(B, "new")], 9).expect("allowed");
        let by = |id: &str| {
            out.iter()
                .find(|c| c.id == id)
                .map(|c| (c.description.clone(), c.updated_at))
        };
        assert_eq!(by(A), Some(("same".into(), 1)));
        assert_eq!(by(B), Some(("new".into(), 9)));
    }

    #[test]
    fn the_first_id_that_is_not_a_connection_is_the_error() {
        let found = vec![conn(A, 1, ConnectionStatus::Deleting, "a")];
        let err = apply(found, &[update(B, "x"), update(C, "x"), update(A, "x")], 9);
        assert_eq!(
            err,
            Err(SeedError::NotAConnection(
                EndpointId::parse(B).expect("uuid")
            ))
        );
    }

    #[test]
    fn the_first_connection_that_refuses_the_change_is_the_error() {
        let found = vec![
            conn(A, 1, ConnectionStatus::Accepted, "a"),
            conn(B, 2, ConnectionStatus::Deleting, "b"),
            conn(C, 3, ConnectionStatus::Creating, "c"),
        ];
        let updates = [update(A, "x"), update(B, "x"), update(C, "x")];
        assert!(!allowed(&found, &updates));
        assert_eq!(
            apply(found, &updates, 9),
            Err(SeedError::Transition(TransitionError::BeingDeleted))
        );
    }

    #[test]
    fn allowed_is_exactly_when_apply_succeeds() {
        for s1 in ConnectionStatus::ALL {
            for s2 in ConnectionStatus::ALL {
                for with_b in [true, false] {
                    let mut found = vec![conn(A, 1, s1, "a")];
                    if with_b {
                        found.push(conn(B, 2, s2, "b"));
                    }
                    let updates = [update(A, "x"), update(B, "b")];
                    assert_eq!(
                        allowed(&found, &updates),
                        apply(found.clone(), &updates, 9).is_ok(),
                        "{s1:?} {s2:?} {with_b}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_seed_response_is_in_list_order() {
        let found = vec![
            conn(B, 1, ConnectionStatus::Accepted, ""),
            conn(C, 2, ConnectionStatus::Accepted, ""),
            conn(A, 1, ConnectionStatus::Accepted, ""),
        ];
        let out = apply(found, &[update(A, ""), update(B, ""), update(C, "")], 9).expect("ok");
        let ids: Vec<&str> = out.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, [C, A, B]);
        assert!(out.iter().all(|c| c.updated_at != 9), "nothing changed");
    }
}
