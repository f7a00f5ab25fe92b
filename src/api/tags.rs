//! Tags of services and endpoints: BatchAddOrRemoveResourceInstance,
//! ListQueryProjectResourceTags, ListResourceInstances. The route names the resource type
//! (`endpoint_service` or `endpoint`), which the dispatcher passes in.

use std::collections::HashSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Map, Value};

use super::error::{ApiError, ErrorCode};
use super::extract::{Ctx, Fields, OfResource};
use super::{validate, AppState};
use crate::domain::tags::{
    InstanceFilter, ResourceKind, TagAction, TagChange, TagValues, MAX_FILTER_KEYS,
    MAX_FILTER_VALUES, MAX_TAGS_PER_RESOURCE,
};
use crate::store::flows::tags as flows;

/// The elements of the array `key` (absent: none) as objects, each with its path for messages
/// (`tags[2]`).
fn objects<'a>(f: &Fields<'a>, key: &str) -> Result<Vec<(String, Fields<'a>)>, ApiError> {
    let Some(items) = f.opt_array(key)? else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let path = f.path(&format!("{key}[{i}]"));
            Fields::item(item, &path).map(|fields| (path, fields))
        })
        .collect()
}

/// `action` and `tags` of a BatchAddOrRemoveResourceInstance body: keys and values follow the
/// rules of tags at creation; `create` needs a value for each key (EndPoint.3066); a key twice
/// is EndPoint.3067; more tags than a resource may carry is EndPoint.3069.
fn parse_change(body: &Map<String, Value>) -> Result<(TagAction, Vec<TagChange>), ApiError> {
    let f = Fields::new(body);
    let action = match f.req_str("action")? {
        "create" => TagAction::Create,
        "delete" => TagAction::Delete,
        other => {
            return Err(ApiError::with(
                ErrorCode::InvalidAction,
                format!("action must be create or delete, not {other:?}."),
            ))
        }
    };
    let items = objects(&f, "tags")?;
    if items.len() > MAX_TAGS_PER_RESOURCE {
        return Err(ApiError::with(
            ErrorCode::TagLimit,
            format!("At most {MAX_TAGS_PER_RESOURCE} tags are allowed in one request."),
        ));
    }
    let mut keys = HashSet::new();
    let mut changes = Vec::with_capacity(items.len());
    for (path, tf) in items {
        let key = tf.opt_str("key")?.unwrap_or("");
        let value = tf.opt_str("value")?;
        if action == TagAction::Create && value.is_none() && !key.is_empty() {
            return Err(ApiError::with(
                ErrorCode::TagEmpty,
                format!("{path}.value is required when action is create."),
            ));
        }
        validate::check_tag(&path, key, value.unwrap_or(""))?;
        if !keys.insert(key) {
            return Err(ApiError::with(
                ErrorCode::TagKeyDuplicated,
                format!("{path}.key {key} is repeated."),
            ));
        }
        changes.push(TagChange {
            key: key.to_owned(),
            value: value.map(str::to_owned),
        });
    }
    Ok((action, changes))
}

/// `POST /v1/{project_id}/{resource_type}/{resource_id}/tags/action`: 204.
pub async fn batch_add_or_remove_resource_instance(
    State(state): State<AppState>,
    ctx: Ctx<OfResource>,
    kind: ResourceKind,
) -> Result<StatusCode, ApiError> {
    let body = ctx.json()?;
    let (action, changes) = parse_change(&body)?;
    state
        .run(flows::Change {
            project: ctx.project_id,
            kind,
            id: ctx.ids.resource_id,
            action,
            changes,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn tag_values_json(t: &TagValues) -> Value {
    json!({"key": t.key, "values": t.values})
}

/// `GET /v1/{project_id}/{resource_type}/tags`
pub async fn list_query_project_resource_tags(
    State(state): State<AppState>,
    ctx: Ctx,
    kind: ResourceKind,
) -> Result<Json<Value>, ApiError> {
    let tags = state
        .run(flows::ProjectTags {
            project: ctx.project_id,
            kind,
        })
        .await?;
    let tags: Vec<Value> = tags.iter().map(tag_values_json).collect();
    Ok(Json(json!({ "tags": tags })))
}

/// A filter list of `TagValuesList`: at most 10 keys of 10 values, trimmed; EndPoint.3066 for
/// an empty key, 3072/3073 for sizes, 3067/3071 for a repeated key or value, 3069 for too many.
/// The character set is not checked: these are searches.
fn tag_values_list(f: &Fields<'_>, key: &str) -> Result<Vec<TagValues>, ApiError> {
    let items = objects(f, key)?;
    if items.len() > MAX_FILTER_KEYS {
        return Err(ApiError::with(
            ErrorCode::TagLimit,
            format!("{} has more than {MAX_FILTER_KEYS} keys.", f.path(key)),
        ));
    }
    let mut keys = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (path, tf) in items {
        let k = tf.opt_str("key")?.unwrap_or("").trim();
        if k.is_empty() {
            return Err(ApiError::with(
                ErrorCode::TagEmpty,
                format!("{path}.key is empty."),
            ));
        }
        if k.chars().count() > 128 {
            return Err(ApiError::with(
                ErrorCode::TagKeySize,
                format!("{path}.key is longer than 128 characters."),
            ));
        }
        if !keys.insert(k) {
            return Err(ApiError::with(
                ErrorCode::TagKeyDuplicated,
                format!("{path}.key {k} is repeated."),
            ));
        }
        let values = tf
            .opt_strings("values")?
            .ok_or_else(|| tf.missing("values"))?;
        if values.len() > MAX_FILTER_VALUES {
            return Err(ApiError::with(
                ErrorCode::TagLimit,
                format!("{path}.values has more than {MAX_FILTER_VALUES} values."),
            ));
        }
        let mut seen = HashSet::new();
        for v in &values {
            let v = v.trim();
            if v.chars().count() > 255 {
                return Err(ApiError::with(
                    ErrorCode::TagValueSize,
                    format!("{path}.values has a value longer than 255 characters."),
                ));
            }
            if !seen.insert(v) {
                return Err(ApiError::with(
                    ErrorCode::TagValueDuplicated,
                    format!("{path}.values repeats {v:?}."),
                ));
            }
        }
        out.push(TagValues {
            key: k.to_owned(),
            values: values.iter().map(|v| v.trim().to_owned()).collect(),
        });
    }
    Ok(out)
}

/// `limit` or `offset`: the SDK sends strings, the Terraform provider a string limit and an
/// integer offset; both are taken.
fn number(f: &Fields<'_>, body: &Map<String, Value>, key: &str) -> Result<Option<i64>, ApiError> {
    let bad = || {
        let (code, what) = match key {
            "limit" => (ErrorCode::InvalidLimit, "an integer from 1 to 1000"),
            _ => (ErrorCode::InvalidOffset, "an integer >= 0"),
        };
        ApiError::with(code, format!("{} must be {what}.", f.path(key)))
    };
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s.trim().parse::<i64>().map(Some).map_err(|_| bad()),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

/// What a ListResourceInstances body asks: the filter, and the page (`None` for `count`).
struct InstanceQuery {
    filter: InstanceFilter,
    page: Option<(usize, usize)>,
}

fn parse_instance_query(body: &Map<String, Value>) -> Result<InstanceQuery, ApiError> {
    let f = Fields::new(body);
    let count = match f.req_str("action")? {
        "filter" => false,
        "count" => true,
        other => {
            return Err(ApiError::with(
                ErrorCode::InvalidAction,
                format!("action must be filter or count, not {other:?}."),
            ))
        }
    };
    let without_any_tag = f.opt_bool("without_any_tag")?.unwrap_or(false);
    let lists = |key: &str| -> Result<Vec<TagValues>, ApiError> {
        if without_any_tag {
            // The reference: with without_any_tag the tag lists are not validated (nor used);
            // they must still be lists.
            f.opt_array(key)?;
            Ok(Vec::new())
        } else {
            tag_values_list(&f, key)
        }
    };
    let mut filter = InstanceFilter {
        tags: lists("tags")?,
        tags_any: lists("tags_any")?,
        not_tags: lists("not_tags")?,
        not_tags_any: lists("not_tags_any")?,
        sys_tags: tag_values_list(&f, "sys_tags")?,
        name: None,
        without_any_tag,
    };
    for (path, mf) in objects(&f, "matches")? {
        let key = mf.req_str("key")?;
        if key != "resource_name" {
            return Err(ApiError::param(format!(
                "{path}.key must be resource_name, not {key:?}."
            )));
        }
        if filter.name.is_some() {
            return Err(ApiError::param(format!("{path} repeats resource_name.")));
        }
        let value = mf.req_str("value")?;
        if value.chars().count() > 255 {
            return Err(ApiError::param(format!(
                "{path}.value is longer than 255 characters."
            )));
        }
        filter.name = Some(value.to_owned());
    }
    let limit = number(&f, body, "limit")?;
    let offset = number(&f, body, "offset")?;
    if count {
        if limit.is_some() || offset.is_some() {
            return Err(ApiError::param(
                "limit and offset are not allowed when action is count.",
            ));
        }
        return Ok(InstanceQuery { filter, page: None });
    }
    let limit = match limit {
        None => 1000,
        Some(l) => usize::try_from(l)
            .ok()
            .filter(|l| (1..=1000).contains(l))
            .ok_or_else(|| {
                ApiError::with(
                    ErrorCode::InvalidLimit,
                    "limit must be an integer from 1 to 1000.",
                )
            })?,
    };
    let offset = match offset {
        None => 0,
        Some(o) => usize::try_from(o).map_err(|_| {
            ApiError::with(ErrorCode::InvalidOffset, "offset must be an integer >= 0.")
        })?,
    };
    Ok(InstanceQuery {
        filter,
        page: Some((offset, limit)),
    })
}

/// `POST /v1/{project_id}/{resource_type}/resource_instances/action`: `filter` answers a page
/// of `resources` and `total_count`, `count` only `total_count`.
pub async fn list_resource_instances(
    State(state): State<AppState>,
    ctx: Ctx,
    kind: ResourceKind,
) -> Result<Json<Value>, ApiError> {
    let body = ctx.json()?;
    let query = parse_instance_query(&body)?;
    let (offset, limit) = match query.page {
        Some((offset, limit)) => (offset, Some(limit)),
        None => (0, Some(0)),
    };
    let (page, total) = state
        .run(flows::Instances {
            project: ctx.project_id,
            kind,
            filter: query.filter,
            offset,
            limit,
        })
        .await?;
    if query.page.is_none() {
        return Ok(Json(json!({ "total_count": total })));
    }
    let resources: Vec<Value> = page
        .iter()
        .map(|r| {
            json!({
                "resource_id": r.id,
                "resource_name": r.name,
                "resource_detail": null,
                "tags": r.tags,
            })
        })
        .collect();
    Ok(Json(
        json!({ "resources": resources, "total_count": total }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn code<T>(r: Result<T, ApiError>) -> Option<&'static str> {
        r.err().map(|e| e.code.as_str())
    }

    #[test]
    fn change_bodies_are_checked_like_the_reference_says() {
        let ok = parse_change(&obj(json!({"action": "delete", "tags": [{"key": "a"}]})));
        assert!(ok.is_ok());
        assert!(parse_change(&obj(json!({"action": "create"}))).is_ok());
        for (body, want) in [
            (json!({"action": "add", "tags": []}), "EndPoint.0007"),
            (json!({"tags": []}), "EndPoint.0002"),
            (
                json!({"action": "create", "tags": [{"key": "a"}]}),
                "EndPoint.3066",
            ),
            (
                json!({"action": "create", "tags": [{"value": "a"}]}),
                "EndPoint.3066",
            ),
            (
                json!({"action": "create", "tags": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]}),
                "EndPoint.3067",
            ),
            (
                json!({"action": "create", "tags": [{"key": "a<", "value": "1"}]}),
                "EndPoint.3068",
            ),
            (
                json!({"action": "create", "tags": [{"key": "k".repeat(129), "value": ""}]}),
                "EndPoint.3072",
            ),
            (
                json!({"action": "create", "tags": [{"key": "k", "value": "v".repeat(256)}]}),
                "EndPoint.3073",
            ),
            (json!({"action": "create", "tags": "a"}), "EndPoint.0002"),
        ] {
            assert_eq!(code(parse_change(&obj(body.clone()))), Some(want), "{body}");
        }
        let many: Vec<Value> = (0..21)
            .map(|i| json!({"key": format!("k{i}"), "value": ""}))
            .collect();
        assert_eq!(
            code(parse_change(&obj(
                json!({"action": "create", "tags": many})
            ))),
            Some("EndPoint.3069")
        );
    }

    #[test]
    fn instance_queries_take_string_and_integer_numbers() {
        let q = parse_instance_query(&obj(
            json!({"action": "filter", "limit": "10", "offset": 5}),
        ));
        assert_eq!(q.ok().and_then(|q| q.page), Some((5, 10)));
        let q = parse_instance_query(&obj(json!({"action": "filter"})));
        assert_eq!(q.ok().and_then(|q| q.page), Some((0, 1000)));
        let q = parse_instance_query(&obj(json!({"action": "count"})));
        assert!(q.is_ok_and(|q| q.page.is_none()));
        for (body, want) in [
            (json!({"action": "filter", "limit": "0"}), "EndPoint.0006"),
            (
                json!({"action": "filter", "limit": "1001"}),
                "EndPoint.0006",
            ),
            (json!({"action": "filter", "limit": "x"}), "EndPoint.0006"),
            (json!({"action": "filter", "offset": "-1"}), "EndPoint.0010"),
            (json!({"action": "count", "limit": "10"}), "EndPoint.0002"),
            (json!({"action": "list"}), "EndPoint.0007"),
            (
                json!({"action": "filter", "tags": [{"key": " ", "values": []}]}),
                "EndPoint.3066",
            ),
            (
                json!({"action": "filter", "tags": [{"key": "a", "values": ["x", " x"]}]}),
                "EndPoint.3071",
            ),
            (
                json!({"action": "filter", "tags_any": [{"key": "a", "values": []}, {"key": "a ", "values": []}]}),
                "EndPoint.3067",
            ),
            (
                json!({"action": "filter", "not_tags": [{"key": "a"}]}),
                "EndPoint.0002",
            ),
            (
                json!({"action": "filter", "matches": [{"key": "name", "value": "x"}]}),
                "EndPoint.0002",
            ),
        ] {
            assert_eq!(
                code(parse_instance_query(&obj(body.clone()))),
                Some(want),
                "{body}"
            );
        }
        // With without_any_tag the tag lists are not checked, only that they are lists.
        assert_eq!(
            code(parse_instance_query(&obj(
                json!({"action": "count", "without_any_tag": true, "tags_any": 1.5}),
            ))),
            Some("EndPoint.0002")
        );
        let q = parse_instance_query(&obj(
            json!({"action": "filter", "without_any_tag": true, "tags": [{"key": ""}]}),
        ));
        assert!(q.is_ok());
    }
}
