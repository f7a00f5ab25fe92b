//! What the IAM discovery calls of the clients see (`api::iam`): the calling credential's account
//! (a Keystone domain) and project, in the terms Huawei Cloud's IAM uses for them.
//!
//! vpcep has one region and no IAM of its own: a credential acts for one project of one account.
//! Huawei Cloud names a region's main project after the region (`cn-north-4`), and the clients
//! look their project up by that name (`GET /v3/projects?name=<region>`), so the credential's
//! project is named after the server's `--region`. An account has no name in vpcep; its name is
//! its id, so a client configured with a domain name must use the id (golangsdk compares the
//! two when `domain_name` is set).

use super::Credential;

/// A Keystone project: the credential's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Project {
    pub id: String,
    /// The region's name, as Huawei Cloud names a region's main project.
    pub name: String,
    pub domain_id: String,
}

impl Project {
    pub fn of(credential: &Credential, region: &str) -> Self {
        Self {
            id: credential.project_id.clone(),
            name: region.to_owned(),
            domain_id: credential.domain_id.clone(),
        }
    }

    /// A main project's parent is its account (Keystone's `parent_id`).
    pub fn parent_id(&self) -> &str {
        &self.domain_id
    }
}

/// A Keystone domain: the credential's account. Its name is its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain {
    pub id: String,
}

impl Domain {
    pub fn of(credential: &Credential) -> Self {
        Self {
            id: credential.domain_id.clone(),
        }
    }

    pub fn name(&self) -> &str {
        &self.id
    }
}

/// The filters of `GET /v3/projects` (Keystone's `name`, `domain_id`, `parent_id`, `enabled`,
/// `is_domain`); an absent filter admits every project. Names compare exactly, as Keystone's do;
/// ids without regard to case, like every id of vpcep.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProjectFilter {
    pub name: Option<String>,
    pub domain_id: Option<String>,
    pub parent_id: Option<String>,
    pub enabled: Option<bool>,
    pub is_domain: Option<bool>,
}

impl ProjectFilter {
    /// Every project of vpcep is enabled and none is a domain.
    pub fn admits(&self, p: &Project) -> bool {
        let id_is = |want: &Option<String>, id: &str| {
            want.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(id))
        };
        self.name.as_deref().is_none_or(|n| n == p.name)
            && id_is(&self.domain_id, &p.domain_id)
            && id_is(&self.parent_id, p.parent_id())
            && self.enabled.is_none_or(|e| e)
            && self.is_domain.is_none_or(|d| !d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential() -> Credential {
        Credential {
            name: "default".into(),
            domain_id: "8c17456cf0124f549ed77323b4f1f0cb".into(),
            project_id: "9955502e5b274375ad24bbd9614ecff9".into(),
            access_key: "AK".into(),
            secret_key: "SK".into(),
            created_at: 0,
        }
    }

    #[test]
    fn the_project_is_named_after_the_region_and_its_parent_is_the_account() {
        let p = Project::of(&credential(), "local-1");
        assert_eq!(p.id, "9955502e5b274375ad24bbd9614ecff9");
        assert_eq!(p.name, "local-1");
        assert_eq!(p.parent_id(), "8c17456cf0124f549ed77323b4f1f0cb");
        let d = Domain::of(&credential());
        assert_eq!(d.name(), d.id);
    }

    #[test]
    fn filters() {
        let p = Project::of(&credential(), "local-1");
        let f = |filter: ProjectFilter| filter.admits(&p);
        assert!(f(ProjectFilter::default()));
        assert!(f(ProjectFilter {
            name: Some("local-1".into()),
            domain_id: Some("8C17456CF0124F549ED77323B4F1F0CB".into()),
            parent_id: Some("8c17456cf0124f549ed77323b4f1f0cb".into()),
            enabled: Some(true),
            is_domain: Some(false),
        }));
        for refused in [
            ProjectFilter {
                name: Some("cn-north-4".into()),
                ..Default::default()
            },
            ProjectFilter {
                name: Some("LOCAL-1".into()),
                ..Default::default()
            },
            ProjectFilter {
                domain_id: Some("other".into()),
                ..Default::default()
            },
            ProjectFilter {
                parent_id: Some("9955502e5b274375ad24bbd9614ecff9".into()),
                ..Default::default()
            },
            ProjectFilter {
                enabled: Some(false),
                ..Default::default()
            },
            ProjectFilter {
                is_domain: Some(true),
                ..Default::default()
            },
        ] {
            assert!(!f(refused.clone()), "{refused:?}");
        }
    }
}
