//! Connections, the service owner's side: ListServiceConnections, AcceptOrRejectEndpoint and the
//! seed operation, UpdateEndpointConnectionsDesc.

use std::borrow::Cow;
use std::collections::HashSet;

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::error::{ApiError, ErrorCode};
use super::extract::{Ctx, Fields, OfService, QueryParams};
use super::{render, AppState};
use crate::domain::DescriptionUpdate;
use crate::domain::{ConnectionAction, ConnectionStatus, Description, EndpointId};
use crate::store::{flows::endpoints as flows, ConnectionFilter};

/// `GET /v1/{project_id}/vpc-endpoint-services/{vpc_endpoint_service_id}/connections`
pub async fn list_service_connections(
    State(state): State<AppState>,
    query: QueryParams,
    ctx: Ctx<OfService>,
) -> Result<Json<Value>, ApiError> {
    let page = query.page(1000)?;
    let status = query
        .filter("status")
        .map(|s| {
            // The filter takes only the settled states that the reference's ListServiceConnections
            // lists.
            ConnectionStatus::parse(&s)
                .filter(|s| !matches!(s, ConnectionStatus::Creating | ConnectionStatus::Deleting))
                .ok_or_else(|| {
                    ApiError::with(
                        ErrorCode::InvalidStatus,
                        "status must be pendingAcceptance, accepted, rejected or failed.",
                    )
                })
        })
        .transpose()?;
    // The query carries marker_id as a string; the response as an integer (the reference's
    // ListServiceConnections).
    let marker_id = query
        .filter("marker_id")
        .map(|m| {
            m.parse::<i64>().ok().filter(|m| *m > 0).ok_or_else(|| {
                ApiError::with(
                    ErrorCode::InvalidMarkerId,
                    "marker_id must be a positive integer.",
                )
            })
        })
        .transpose()?;
    let filter = ConnectionFilter {
        id: query.filter("id").map(|s| s.to_ascii_lowercase()),
        marker_id,
        status,
    };
    let page = state
        .run(flows::ListConnections {
            project: ctx.project_id,
            service: ctx.ids.service_id,
            filter,
            page,
        })
        .await?;
    let items: Vec<Value> = page.items.iter().map(render::connection).collect();
    Ok(Json(
        json!({"connections": items, "total_count": page.total_count}),
    ))
}

/// `POST /v1/{project_id}/vpc-endpoint-services/{vpc_endpoint_service_id}/connections/action`
pub async fn accept_or_reject_endpoint(
    State(state): State<AppState>,
    ctx: Ctx<OfService>,
) -> Result<Json<Value>, ApiError> {
    let body = ctx.json()?;
    let f = Fields::new(&body);
    let action = f.req_str("action").and_then(|a| {
        ConnectionAction::parse(a).ok_or_else(|| {
            ApiError::with(
                ErrorCode::InvalidAction,
                "action must be receive or reject.",
            )
        })
    })?;
    let endpoints = f
        .opt_strings("endpoints")?
        .ok_or_else(|| f.missing("endpoints"))?;
    let [id] = endpoints.as_slice() else {
        return Err(ApiError::with(
            ErrorCode::OnlyOneEndpoint,
            format!(
                "endpoints holds {} ids; exactly one is required.",
                endpoints.len()
            ),
        ));
    };
    let id = EndpointId::parse(id).ok_or_else(|| {
        ApiError::with(ErrorCode::InvalidEndpointId, "endpoints[0] must be a UUID.")
    })?;
    let connection = state
        .run(flows::AcceptOrReject {
            project: ctx.project_id,
            service: ctx.ids.service_id,
            endpoint: id,
            action,
        })
        .await?;
    Ok(Json(
        json!({"connections": [render::connection(&connection)]}),
    ))
}

/// The seed body as the clients send it, read straight into borrowed strings (no JSON value
/// tree). Unknown keys are skipped. Anything this does not take (a `null`, a number where a
/// string goes, a repeated key, an empty body...) goes to [`parse_description_updates`], which
/// says exactly what is wrong.
#[derive(Deserialize)]
struct SeedBody<'a> {
    #[serde(borrow)]
    connections: Vec<SeedItem<'a>>,
}

#[derive(Deserialize)]
struct SeedItem<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    description: Cow<'a, str>,
}

/// At least one item, at most `max_batch` (EndPoint.0016).
fn check_count(n: usize, max_batch: usize) -> Result<(), ApiError> {
    if n == 0 {
        return Err(ApiError::param("connections must hold at least one item."));
    }
    if n > max_batch {
        return Err(ApiError::with(
            ErrorCode::BatchLimitExceeded,
            format!("connections holds {n} items; at most {max_batch} are allowed."),
        ));
    }
    Ok(())
}

/// Item `i`'s id: EndPoint.2017 unless a UUID.
fn check_id(i: usize, id: &str) -> Result<EndpointId, ApiError> {
    EndpointId::parse(id).ok_or_else(|| {
        ApiError::with(
            ErrorCode::InvalidEndpointId,
            format!("connections[{i}].id must be a UUID in the 8-4-4-4-12 form."),
        )
    })
}

/// Item `i`'s description (its text rules), and that its id was not named before.
fn check_item(
    i: usize,
    id: EndpointId,
    text: &str,
    seen: &mut HashSet<EndpointId>,
) -> Result<DescriptionUpdate, ApiError> {
    let description = Description::parse(text)
        .map_err(|e| ApiError::param(format!("connections[{i}].description {e}.")))?;
    if !seen.insert(id.clone()) {
        return Err(ApiError::param(format!(
            "connections[{i}].id {id} appears more than once."
        )));
    }
    Ok(DescriptionUpdate { id, description })
}

/// The seed body read without a JSON value tree, when it has the shape clients send; `None`
/// when it does not, and [`parse_description_updates`] must say why. For a body of that shape
/// both give the same answer: the same checks run in the same order.
fn parse_description_updates_fast(
    body: &[u8],
    max_batch: usize,
) -> Option<Result<Vec<DescriptionUpdate>, ApiError>> {
    let parsed: SeedBody<'_> = serde_json::from_slice(body).ok()?;
    let items = &parsed.connections;
    Some(check_count(items.len(), max_batch).and_then(|()| {
        let mut seen = HashSet::with_capacity(items.len());
        items
            .iter()
            .enumerate()
            .map(|(i, c)| check_item(i, check_id(i, &c.id)?, &c.description, &mut seen))
            .collect()
    }))
}

/// Parses and validates the seed operation's body (docs/api.md §1): everything about the body is
/// decided here, before the store is asked anything.
pub fn parse_description_updates(
    body: &Map<String, Value>,
    max_batch: usize,
) -> Result<Vec<DescriptionUpdate>, ApiError> {
    let f = Fields::new(body);
    let items = f
        .opt_array("connections")?
        .ok_or_else(|| f.missing("connections"))?;
    check_count(items.len(), max_batch)?;
    let mut seen = HashSet::with_capacity(items.len());
    let mut updates = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("connections[{i}]");
        let item = Fields::item(item, &path)?;
        // The id's form is checked before the description is looked at.
        let id = check_id(i, item.req_str("id")?)?;
        let text = item.req_str("description")?;
        updates.push(check_item(i, id, text, &mut seen)?);
    }
    Ok(updates)
}

/// `PUT /v1/{project_id}/vpc-endpoint-services/{vpc_endpoint_service_id}/connections/description`
pub async fn update_endpoint_connections_desc(
    State(state): State<AppState>,
    ctx: Ctx<OfService>,
) -> Result<Json<Value>, ApiError> {
    let max = state.settings.max_batch;
    let updates = match parse_description_updates_fast(&ctx.body, max) {
        Some(updates) => updates?,
        None => parse_description_updates(&ctx.json()?, max)?,
    };
    let connections = state
        .run(flows::UpdateDescriptions {
            project: ctx.project_id,
            service: ctx.ids.service_id,
            updates,
        })
        .await?;
    let items: Vec<Value> = connections.iter().map(render::connection).collect();
    Ok(Json(json!({"connections": items})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value, max: usize) -> Result<Vec<DescriptionUpdate>, ApiError> {
        let Value::Object(map) = v else {
            panic!("object")
        };
        parse_description_updates(&map, max)
    }

    const ID: &str = "4189d3c2-8882-4871-a3c2-d380272eed88";

    /// The fast path answers exactly what the value-tree path answers, whenever it answers.
    #[test]
    fn the_fast_path_agrees_with_the_value_tree_path() {
        let id2 = "5189d3c2-8882-4871-a3c2-d380272eed88";
        let bodies = [
            json!({"connections": [{"id": ID, "description": "a"}]}),
            json!({"connections": [{"id": ID.to_uppercase(), "description": "", "x": 1}], "y": [1]}),
            json!({"connections": [{"id": ID, "description": "a"}, {"id": id2, "description": "b"}]}),
            json!({"connections": [{"id": ID, "description": "a"}, {"id": ID, "description": "b"}]}),
            json!({"connections": [{"id": "nope", "description": "a"}]}),
            json!({"connections": [{"id": ID, "description": "<b>"}]}),
            json!({"connections": [{"id": ID, "description": "x".repeat(513)}]}),
            json!({"connections": [{"id": ID, "description": "\u{00e9}\t"}]}),
            json!({"connections": []}),
            json!({"connections": (0..4).map(|_| json!({"id": ID, "description": ""})).collect::<Vec<_>>()}),
            json!({"connections": [{"id": ID}]}),
            json!({"connections": [{"id": ID, "description": null}]}),
            json!({"connections": null}),
            json!({"connections": [1]}),
            json!({}),
        ];
        let describe = |r: Result<Vec<DescriptionUpdate>, ApiError>| match r {
            Ok(u) => format!("{u:?}"),
            Err(e) => format!("{} {:?}", e.code.as_str(), e.detail),
        };
        let mut fast_answers = 0;
        for body in bodies {
            let bytes = serde_json::to_vec(&body).unwrap();
            if let Some(fast) = parse_description_updates_fast(&bytes, 3) {
                fast_answers += 1;
                assert_eq!(describe(fast), describe(parse(body.clone(), 3)), "{body}");
            }
        }
        assert_eq!(
            fast_answers, 10,
            "the well-shaped bodies take the fast path"
        );
        // A key given twice: the value tree keeps the last; the fast path leaves it to it.
        let twice = br#"{"connections": [], "connections": [{"id": "x", "description": ""}]}"#;
        assert!(parse_description_updates_fast(twice, 3).is_none());
    }

    #[test]
    fn valid_items_and_unknown_keys() {
        let u = parse(
            json!({"x": 1, "connections": [{"id": ID.to_uppercase(), "description": "", "y": 2}]}),
            10,
        )
        .unwrap();
        assert_eq!(u[0].id.as_str(), ID);
        assert_eq!(u[0].description.as_str(), "");
    }

    #[test]
    fn each_rule_has_its_code() {
        let other = "5189d3c2-8882-4871-a3c2-d380272eed88";
        for (body, code, needle) in [
            (
                json!({}),
                ErrorCode::ParameterError,
                "connections is required",
            ),
            (
                json!({"connections": []}),
                ErrorCode::ParameterError,
                "at least one",
            ),
            (
                json!({"connections": {}}),
                ErrorCode::ParameterError,
                "must be an array",
            ),
            (
                json!({"connections": [{"id": ID, "description": "a"}, {"id": other, "description": "b"}]}),
                ErrorCode::BatchLimitExceeded,
                "at most 1",
            ),
            (
                json!({"connections": [1]}),
                ErrorCode::ParameterError,
                "connections[0] must be an object",
            ),
            (
                json!({"connections": [{"id": 5, "description": ""}]}),
                ErrorCode::ParameterError,
                "connections[0].id must be a string",
            ),
            (
                json!({"connections": [{"id": "abc", "description": ""}]}),
                ErrorCode::InvalidEndpointId,
                "connections[0].id",
            ),
            (
                json!({"connections": [{"id": ID}]}),
                ErrorCode::ParameterError,
                "connections[0].description is required",
            ),
            (
                json!({"connections": [{"id": ID, "description": null}]}),
                ErrorCode::ParameterError,
                "is required",
            ),
            (
                json!({"connections": [{"id": ID, "description": 7}]}),
                ErrorCode::ParameterError,
                "must be a string",
            ),
            (
                json!({"connections": [{"id": ID, "description": "a<b"}]}),
                ErrorCode::ParameterError,
                "connections[0].description contains '<'",
            ),
        ] {
            let max = if code == ErrorCode::BatchLimitExceeded {
                1
            } else {
                10
            };
            let err = parse(body.clone(), max).unwrap_err();
            assert_eq!(err.code, code, "{body}");
            assert!(err.message().contains(needle), "{body}: {}", err.message());
        }
    }

    #[test]
    fn duplicate_ids_are_refused_whatever_their_case() {
        let err = parse(
            json!({"connections": [{"id": ID, "description": "a"}, {"id": ID.to_uppercase(), "description": "b"}]}),
            10,
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::ParameterError);
        assert!(
            err.message().contains("connections[1].id"),
            "{}",
            err.message()
        );
        assert!(err.message().contains(ID));
    }
}

/// Properties of the seed body decoder over arbitrary input: it never panics, and whatever it
/// accepts satisfies every rule of docs/api.md §1, checked here independently of the domain types.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn uuid_like() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
            "[0-9a-fA-F-]{30,40}",
            "\\{[0-9a-f-]{36}\\}",
            ".{0,40}",
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            uuid_like().prop_map(Value::String),
            "\\PC{0,20}".prop_map(Value::String),
            // Long texts and the forbidden characters, so the limits are exercised.
            ("[a中<>\\x00-\\x1f\\x7f]{0,8}", 500usize..520)
                .prop_map(|(tail, n)| Value::String(format!("{}{tail}", "x".repeat(n)))),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("id".to_owned()),
                        Just("description".to_owned()),
                        "[a-z]{1,6}"
                    ],
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn item() -> impl Strategy<Value = Value> {
        prop_oneof![
            (uuid_like(), "\\PC{0,30}").prop_map(|(id, d)| json!({"id": id, "description": d})),
            (uuid_like(), value()).prop_map(|(id, d)| json!({"id": id, "description": d})),
            value(),
        ]
    }

    fn allowed(description: &str) -> bool {
        description.chars().count() <= 512
            && !description
                .chars()
                .any(|c| c == '<' || c == '>' || (c as u32) < 0x20 || c as u32 == 0x7f)
    }

    fn lowercase_hyphenated_uuid(s: &str) -> bool {
        s.len() == 36
            && s.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn accepted_bodies_satisfy_every_rule(
            items in proptest::collection::vec(item(), 0..8),
            extra in proptest::option::of(value()),
            max in 1usize..8,
        ) {
            let mut body = Map::new();
            body.insert("connections".into(), Value::Array(items.clone()));
            if let Some(extra) = extra {
                body.insert("other".into(), extra);
            }
            if let Ok(updates) = parse_description_updates(&body, max) {
                prop_assert!(!updates.is_empty() && updates.len() <= max);
                prop_assert_eq!(updates.len(), items.len());
                let mut ids = HashSet::new();
                for (u, raw) in updates.iter().zip(&items) {
                    prop_assert!(lowercase_hyphenated_uuid(u.id.as_str()));
                    prop_assert!(ids.insert(u.id.as_str().to_owned()), "duplicate accepted");
                    let sent = raw["description"].as_str();
                    prop_assert_eq!(Some(u.description.as_str()), sent);
                    prop_assert!(allowed(u.description.as_str()));
                    prop_assert_eq!(raw["id"].as_str().map(str::to_ascii_lowercase), Some(u.id.to_string()));
                }
            }
        }

        #[test]
        fn arbitrary_top_levels_never_panic(body in value(), max in 1usize..4) {
            if let Value::Object(map) = body {
                let _ = parse_description_updates(&map, max);
            }
        }
    }
}
