//! Gateway endpoints and endpoint policies: the route tables a gateway endpoint binds, and the
//! policy an endpoint of a service with `enable_policy` carries (statements for gateway
//! services, a document for interface services).

use std::collections::HashSet;

use serde_json::Value;

use super::ids::derived_uuid;

/// At most 10 statements in a gateway endpoint's policy (the reference's 0..10).
pub const MAX_POLICY_STATEMENTS: usize = 10;
/// At most 20 route tables on one gateway endpoint.
pub const MAX_ROUTETABLES: usize = 20;

pub const GATEWAY: &str = "gateway";

/// The route table a gateway endpoint binds when it is given none: the VPC's default one. vpcep
/// keeps no VPCs, so it is derived from the VPC id and is the same every time.
pub fn default_route_table(vpc_id: &str) -> String {
    derived_uuid(&format!("vpcep-default-route-table:{vpc_id}"))
}

/// What a policy statement lacks, if anything (`PolicyStatement`: `Effect` `Allow` or `Deny`,
/// non-empty `Action` and `Resource` lists of non-empty strings, optional `Condition` object
/// and `Sid` string).
pub fn statement_problem(statement: &Value) -> Option<String> {
    let Some(obj) = statement.as_object() else {
        return Some("is not an object".into());
    };
    match obj.get("Effect").and_then(Value::as_str) {
        Some("Allow" | "Deny") => {}
        _ => return Some("has no Effect Allow or Deny".into()),
    }
    for key in ["Action", "Resource"] {
        let ok = obj.get(key).and_then(Value::as_array).is_some_and(|items| {
            !items.is_empty()
                && items
                    .iter()
                    .all(|i| i.as_str().is_some_and(|s| !s.trim().is_empty()))
        });
        if !ok {
            return Some(format!("has no {key} list of non-empty strings"));
        }
    }
    if obj
        .get("Condition")
        .is_some_and(|c| !c.is_object() && !c.is_null())
    {
        return Some("has a Condition that is not an object".into());
    }
    if obj
        .get("Sid")
        .is_some_and(|c| !c.is_string() && !c.is_null())
    {
        return Some("has a Sid that is not a string".into());
    }
    None
}

/// Why a policy may not be given to an endpoint of a service, if it may not (EndPoint.2048):
/// only services with `enable_policy` take one, statements only for gateway services and a
/// document only for interface services.
pub fn policy_refusal(
    service_type: &str,
    enable_policy: bool,
    statements: bool,
    document: bool,
) -> Option<&'static str> {
    if !statements && !document {
        return None;
    }
    if !enable_policy {
        return Some(
            "The endpoint's service does not take endpoint policies (enable_policy is false).",
        );
    }
    let gateway = service_type == GATEWAY;
    if statements && !gateway {
        return Some("policy_statement is for endpoints of gateway services; use policy_document.");
    }
    if document && gateway {
        return Some(
            "policy_document is for endpoints of interface services; use policy_statement.",
        );
    }
    None
}

/// The outcome of UpdateEndpointRoutetable: the tables bound afterwards, and those that could
/// not be bound because another endpoint of the same service in the VPC holds them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rebind {
    pub routetables: Vec<String>,
    pub bind_failed: Vec<String>,
}

/// Binds `wanted` instead of `current`: tables held by other endpoints of the service
/// (`taken`) stay unbound and are reported; the rest, in the order wanted, are bound.
pub fn rebind(wanted: &[String], taken: &HashSet<String>) -> Rebind {
    let (bind_failed, routetables) = wanted.iter().cloned().partition(|t| taken.contains(t));
    Rebind {
        routetables,
        bind_failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_default_route_table_is_a_stable_uuid_per_vpc() {
        let a = default_route_table("vpc-a");
        assert!(crate::domain::is_uuid(&a));
        assert_eq!(a, default_route_table("vpc-a"));
        assert_ne!(a, default_route_table("vpc-b"));
    }

    #[test]
    fn statements_need_effect_action_and_resource() {
        let ok = json!({"Effect": "Allow", "Action": ["obs:*:*"], "Resource": ["obs:*:*:*:*/*"]});
        assert_eq!(statement_problem(&ok), None);
        let with = json!({"Effect": "Deny", "Action": ["*"], "Resource": ["*"], "Condition": {}, "Sid": "x"});
        assert_eq!(statement_problem(&with), None);
        for bad in [
            json!("Allow"),
            json!({"Effect": "allow", "Action": ["*"], "Resource": ["*"]}),
            json!({"Effect": "Allow", "Action": [], "Resource": ["*"]}),
            json!({"Effect": "Allow", "Action": ["*"], "Resource": [" "]}),
            json!({"Effect": "Allow", "Action": ["*"]}),
            json!({"Effect": "Allow", "Action": ["*"], "Resource": ["*"], "Condition": []}),
        ] {
            assert!(statement_problem(&bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn policies_go_only_where_the_service_takes_them() {
        assert_eq!(policy_refusal("gateway", false, false, false), None);
        assert!(policy_refusal("gateway", false, true, false).is_some());
        assert_eq!(policy_refusal("gateway", true, true, false), None);
        assert!(policy_refusal("gateway", true, false, true).is_some());
        assert_eq!(policy_refusal("interface", true, false, true), None);
        assert!(policy_refusal("interface", true, true, false).is_some());
        assert!(policy_refusal("interface", false, false, true).is_some());
    }

    #[test]
    fn rebinding_keeps_what_others_hold_out() {
        let taken: HashSet<String> = ["b".to_string()].into();
        let r = rebind(&["a".into(), "b".into(), "c".into()], &taken);
        assert_eq!(r.routetables, ["a", "c"]);
        assert_eq!(r.bind_failed, ["b"]);
    }
}
