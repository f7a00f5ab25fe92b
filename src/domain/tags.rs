//! Resource tags: what BatchAddOrRemoveResourceInstance does to a resource's tags, the
//! project-wide aggregate of ListQueryProjectResourceTags, and the filters of
//! ListResourceInstances. The tags are the same ones a resource is created with (`tags` of
//! CreateEndpointService and CreateEndpoint), and the same limit holds for both.

use std::collections::{BTreeMap, BTreeSet};

use super::model::Tag;

/// At most 20 tags on one resource, at creation and through the tag operations (the reference
/// gives 10 [SDK, HW] and 20 [OTC]; creation already allowed 20, and a resource created with 20
/// tags must stay editable).
pub const MAX_TAGS_PER_RESOURCE: usize = 20;

/// At most 10 keys in one filter list, and 10 values per key (ListResourceInstances).
pub const MAX_FILTER_KEYS: usize = 10;
pub const MAX_FILTER_VALUES: usize = 10;

/// The `{resource_type}` of the tag operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceKind {
    EndpointService,
    Endpoint,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EndpointService => "endpoint_service",
            Self::Endpoint => "endpoint",
        }
    }

    /// The kind named by a tag route's path (`/v1/{project_id}/endpoint_service/...`).
    pub fn of_path(path: &str) -> Option<Self> {
        match path.split('/').nth(3)? {
            "endpoint_service" => Some(Self::EndpointService),
            "endpoint" => Some(Self::Endpoint),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagAction {
    /// Adds each tag; a key the resource has already gets the new value.
    Create,
    /// Removes each key (with a value: only when the resource's value is that one).
    Delete,
}

/// One tag of a BatchAddOrRemoveResourceInstance body (`ResourceTag`), validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagChange {
    pub key: String,
    /// Always present for `create`; for `delete`, `None` removes the key whatever its value.
    pub value: Option<String>,
}

/// The resource's tags after `changes`, in their order (new keys at the end); `None` when they
/// would be more than [`MAX_TAGS_PER_RESOURCE`].
pub fn apply(current: &[Tag], action: TagAction, changes: &[TagChange]) -> Option<Vec<Tag>> {
    let mut tags = current.to_vec();
    match action {
        TagAction::Create => {
            for c in changes {
                let value = c.value.clone().unwrap_or_default();
                match tags.iter_mut().find(|t| t.key == c.key) {
                    Some(t) => t.value = value,
                    None => tags.push(Tag {
                        key: c.key.clone(),
                        value,
                    }),
                }
            }
        }
        TagAction::Delete => tags.retain(|t| {
            !changes
                .iter()
                .any(|c| c.key == t.key && c.value.as_ref().is_none_or(|v| *v == t.value))
        }),
    }
    (tags.len() <= MAX_TAGS_PER_RESOURCE).then_some(tags)
}

/// A key with values (`TagValuesList`): in filters, an empty `values` means any value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagValues {
    pub key: String,
    pub values: Vec<String>,
}

/// Every key of the given resources' tags with its distinct values, both sorted.
pub fn aggregate<'a>(resources: impl IntoIterator<Item = &'a [Tag]>) -> Vec<TagValues> {
    let mut keys: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for tags in resources {
        for t in tags {
            keys.entry(&t.key).or_default().insert(&t.value);
        }
    }
    keys.into_iter()
        .map(|(key, values)| TagValues {
            key: key.to_owned(),
            values: values.into_iter().map(str::to_owned).collect(),
        })
        .collect()
}

/// A resource as the tag queries see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tagged {
    pub id: String,
    /// The service's full name; an endpoint has no name and shows its id.
    pub name: String,
    pub tags: Vec<Tag>,
}

/// The filters of ListResourceInstances, validated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstanceFilter {
    /// Every one of these keys (each with one of its values).
    pub tags: Vec<TagValues>,
    /// At least one of these.
    pub tags_any: Vec<TagValues>,
    /// Not every one of these.
    pub not_tags: Vec<TagValues>,
    /// None of these.
    pub not_tags_any: Vec<TagValues>,
    /// System tags: vpcep sets none, so a non-empty list matches nothing.
    pub sys_tags: Vec<TagValues>,
    /// `matches` on `resource_name`: a case-insensitive substring; empty means an exact match
    /// of the empty name, which no resource has.
    pub name: Option<String>,
    /// Only resources with no tag at all; the four tag lists are then ignored.
    pub without_any_tag: bool,
}

fn carries(tags: &[Tag], wanted: &TagValues) -> bool {
    tags.iter().any(|t| {
        t.key == wanted.key && (wanted.values.is_empty() || wanted.values.contains(&t.value))
    })
}

impl InstanceFilter {
    pub fn matches(&self, r: &Tagged) -> bool {
        if let Some(name) = &self.name {
            let hit = if name.is_empty() {
                r.name.is_empty()
            } else {
                r.name.to_lowercase().contains(&name.to_lowercase())
            };
            if !hit {
                return false;
            }
        }
        if !self.sys_tags.is_empty() {
            return false;
        }
        if self.without_any_tag {
            return r.tags.is_empty();
        }
        let t = r.tags.as_slice();
        self.tags.iter().all(|w| carries(t, w))
            && (self.tags_any.is_empty() || self.tags_any.iter().any(|w| carries(t, w)))
            && (self.not_tags.is_empty() || !self.not_tags.iter().all(|w| carries(t, w)))
            && !self.not_tags_any.iter().any(|w| carries(t, w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    fn change(k: &str, v: Option<&str>) -> TagChange {
        TagChange {
            key: k.into(),
            value: v.map(Into::into),
        }
    }

    fn tv(k: &str, vs: &[&str]) -> TagValues {
        TagValues {
            key: k.into(),
            values: vs.iter().map(|v| v.to_string()).collect(),
        }
    }

    #[test]
    fn create_adds_new_keys_and_overwrites_existing_ones() {
        let now = apply(
            &[tag("a", "1"), tag("b", "2")],
            TagAction::Create,
            &[change("b", Some("3")), change("c", Some(""))],
        );
        assert_eq!(now, Some(vec![tag("a", "1"), tag("b", "3"), tag("c", "")]));
    }

    #[test]
    fn delete_by_key_or_by_pair_and_ignores_what_is_absent() {
        let current = [tag("a", "1"), tag("b", "2"), tag("c", "3")];
        let now = apply(
            &current,
            TagAction::Delete,
            &[
                change("a", None),
                change("b", Some("other")),
                change("c", Some("3")),
                change("z", None),
            ],
        );
        assert_eq!(now, Some(vec![tag("b", "2")]));
    }

    #[test]
    fn no_resource_holds_more_than_the_maximum() {
        let full: Vec<Tag> = (0..MAX_TAGS_PER_RESOURCE)
            .map(|i| tag(&format!("k{i}"), ""))
            .collect();
        assert_eq!(
            apply(&full, TagAction::Create, &[change("k0", Some("x"))]).map(|t| t.len()),
            Some(20)
        );
        assert_eq!(
            apply(&full, TagAction::Create, &[change("new", Some("x"))]),
            None
        );
    }

    #[test]
    fn aggregate_sorts_keys_and_merges_values() {
        let a = [tag("env", "prod"), tag("team", "x")];
        let b = [tag("env", "dev"), tag("env2", "")];
        let c = [tag("env", "prod")];
        assert_eq!(
            aggregate([&a[..], &b[..], &c[..]]),
            vec![
                tv("env", &["dev", "prod"]),
                tv("env2", &[""]),
                tv("team", &["x"])
            ]
        );
    }

    #[test]
    fn filters_combine_as_the_reference_says() {
        let r = |name: &str, tags: Vec<Tag>| Tagged {
            id: name.into(),
            name: name.into(),
            tags,
        };
        let web = r("local-1.Web.1", vec![tag("env", "prod"), tag("team", "a")]);
        let db = r("local-1.db.2", vec![tag("env", "dev")]);
        let bare = r("local-1.bare.3", vec![]);
        let pick = |f: InstanceFilter| -> Vec<String> {
            [&web, &db, &bare]
                .into_iter()
                .filter(|x| f.matches(x))
                .map(|x| x.id.clone())
                .collect()
        };
        let all = pick(InstanceFilter::default());
        assert_eq!(all.len(), 3);
        let f = |g: fn(&mut InstanceFilter)| {
            let mut x = InstanceFilter::default();
            g(&mut x);
            pick(x)
        };
        assert_eq!(
            f(|x| x.tags = vec![tv("env", &[])]),
            ["local-1.Web.1", "local-1.db.2"]
        );
        assert_eq!(
            f(|x| x.tags = vec![tv("env", &["prod", "qa"]), tv("team", &[])]),
            ["local-1.Web.1"]
        );
        assert_eq!(
            f(|x| x.tags = vec![tv("env", &["prod"]), tv("nope", &[])]),
            Vec::<String>::new()
        );
        assert_eq!(
            f(|x| x.tags_any = vec![tv("team", &[]), tv("env", &["dev"])]),
            ["local-1.Web.1", "local-1.db.2"]
        );
        assert_eq!(
            f(|x| x.not_tags = vec![tv("env", &[]), tv("team", &[])]),
            ["local-1.db.2", "local-1.bare.3"]
        );
        assert_eq!(
            f(|x| x.not_tags_any = vec![tv("team", &[]), tv("env", &["dev"])]),
            ["local-1.bare.3"]
        );
        assert_eq!(f(|x| x.without_any_tag = true), ["local-1.bare.3"]);
        assert_eq!(
            f(|x| {
                x.without_any_tag = true;
                x.tags = vec![tv("env", &[])];
            }),
            ["local-1.bare.3"]
        );
        assert_eq!(f(|x| x.name = Some("WEB".into())), ["local-1.Web.1"]);
        assert_eq!(f(|x| x.name = Some(String::new())), Vec::<String>::new());
        assert_eq!(
            f(|x| x.sys_tags = vec![tv("_sys_enterprise_project_id", &[])]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_kind_comes_from_the_route_path() {
        assert_eq!(
            ResourceKind::of_path("/v1/{project_id}/endpoint_service/tags"),
            Some(ResourceKind::EndpointService)
        );
        assert_eq!(
            ResourceKind::of_path("/v1/{project_id}/endpoint/{resource_id}/tags/action"),
            Some(ResourceKind::Endpoint)
        );
        assert_eq!(ResourceKind::of_path("/v1/{project_id}/quotas"), None);
    }
}
