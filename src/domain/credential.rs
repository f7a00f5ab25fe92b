//! Credentials whose keys the user chose (`serve --bootstrap-credential`), so that a CI pipeline
//! or a `.tfvars` file can hold them before vpcep first starts, as LocalStack and moto users are
//! used to. Generated credentials (`auth::issue`) always pass these rules.

use super::ids::parse_path_id;

/// `ACCESS_KEY:SECRET_KEY[:PROJECT_ID[:DOMAIN_ID]]`, validated.
#[derive(Clone, PartialEq, Eq)]
pub struct GivenCredential {
    pub access_key: String,
    pub secret_key: String,
    /// Lower case; `None`: a new project.
    pub project_id: Option<String>,
    /// Lower case; `None`: the account the project already has, or a new one.
    pub domain_id: Option<String>,
}

impl std::fmt::Debug for GivenCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GivenCredential")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("project_id", &self.project_id)
            .field("domain_id", &self.domain_id)
            .finish()
    }
}

/// Key lengths the SDKs and the Terraform provider accept: any non-empty text, in practice.
/// Huawei Cloud's are 20 (access) and 40 (secret) characters; 4 admits LocalStack-style `test`.
const KEY_LENGTH: std::ops::RangeInclusive<usize> = 4..=128;

impl GivenCredential {
    /// Parses the flag's value. Messages name the part that is wrong and never repeat the
    /// secret key.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split(':').collect();
        let (access_key, secret_key, project_id, domain_id) =
            match parts.as_slice() {
                [a, s] => (*a, *s, None, None),
                [a, s, p] => (*a, *s, Some(*p), None),
                [a, s, p, d] => (*a, *s, Some(*p), Some(*d)),
                _ => return Err(
                    "expected ACCESS_KEY:SECRET_KEY[:PROJECT_ID[:DOMAIN_ID]] (the keys may not \
                     contain ':')"
                        .to_owned(),
                ),
            };
        // The access key travels in `Authorization: ... Access=AK, ...` and in logs: letters
        // and digits only, as Huawei Cloud's are.
        if !KEY_LENGTH.contains(&access_key.len())
            || !access_key.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(format!(
                "the access key must be {}..{} letters or digits",
                KEY_LENGTH.start(),
                KEY_LENGTH.end()
            ));
        }
        // The secret key is the HMAC key, as UTF-8 bytes: printable ASCII without spaces keeps
        // it the same in every shell, environment variable and configuration file.
        if !KEY_LENGTH.contains(&secret_key.len())
            || !secret_key.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(format!(
                "the secret key must be {}..{} printable ASCII characters without spaces",
                KEY_LENGTH.start(),
                KEY_LENGTH.end()
            ));
        }
        let id = |what: &str, value: Option<&str>| {
            value
                .map(|v| {
                    parse_path_id(v)
                        .ok_or_else(|| format!("the {what} must be 1..64 letters, digits or '-'"))
                })
                .transpose()
        };
        Ok(Self {
            access_key: access_key.to_owned(),
            secret_key: secret_key.to_owned(),
            project_id: id("project id", project_id)?,
            domain_id: id("domain id", domain_id)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_two_to_four_parts() {
        let c = GivenCredential::parse("AKIATEST1234:s3cr3t/+=key").unwrap();
        assert_eq!(
            (c.access_key.as_str(), c.secret_key.as_str()),
            ("AKIATEST1234", "s3cr3t/+=key")
        );
        assert_eq!((c.project_id, c.domain_id), (None, None));
        let c = GivenCredential::parse("test:test:0123ABCD:dd").unwrap();
        assert_eq!(c.project_id.as_deref(), Some("0123abcd"));
        assert_eq!(c.domain_id.as_deref(), Some("dd"));
    }

    #[test]
    fn refuses_what_a_client_could_not_send() {
        for bad in [
            "",
            "onlyone",
            "a:b:c:d:e",
            "abc:secret",
            "AK WITH SPACE:secret",
            "AK,1:secret",
            "AKTEST:sec",
            "AKTEST:secret key",
            "AKTEST:sécret",
            "AKTEST:secret:bad_id",
            "AKTEST:secret:p:",
        ] {
            assert!(GivenCredential::parse(bad).is_err(), "{bad:?} accepted");
        }
        let too_long = format!("AKTEST:{}", "s".repeat(129));
        assert!(GivenCredential::parse(&too_long).is_err());
    }

    #[test]
    fn messages_and_debug_never_show_the_secret_key() {
        let err = GivenCredential::parse("AKTEST:secret key with spaces").unwrap_err();
        assert!(!err.contains("secret key with"), "{err}");
        let c = GivenCredential::parse("AKTEST:hunter2hunter2").unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
