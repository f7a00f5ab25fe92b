//! Who is calling: credentials (access key, secret key, token) and how they are issued and looked
//! up. Request signing (AK/SK) joins this module as its own submodule.

pub mod signing;

use rand::distr::{Alphanumeric, SampleString};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::domain::{time, Credential};

/// The token's SHA-256, hex: only this is stored, so the database never holds a usable token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new credential and its token, which exists only here and in what `credentials create` prints.
pub struct Issued {
    pub credential: Credential,
    pub token: String,
}

/// Makes a credential with fresh keys. Access keys look like Huawei Cloud's (20 upper-case
/// letters and digits), secret keys are 40 letters and digits, tokens 64 hex digits after a prefix
/// that secret scanners can recognise.
pub fn issue(name: String, domain_id: String, project_id: String) -> Issued {
    let mut rng = rand::rng();
    let access_key = Alphanumeric
        .sample_string(&mut rng, 20)
        .to_ascii_uppercase();
    let secret_key = Alphanumeric.sample_string(&mut rng, 40);
    issue_with_keys(name, domain_id, project_id, access_key, secret_key)
}

/// A credential with keys the caller chose (`domain::credential::GivenCredential`, already
/// validated) and a fresh token.
pub fn issue_with_keys(
    name: String,
    domain_id: String,
    project_id: String,
    access_key: String,
    secret_key: String,
) -> Issued {
    let mut rng = rand::rng();
    let mut raw = [0u8; 32];
    rng.fill_bytes(&mut raw);
    Issued {
        credential: Credential {
            name,
            domain_id,
            project_id,
            access_key,
            secret_key,
            created_at: time::now(),
        },
        token: format!("vpcep_{}", hex::encode(raw)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_credentials_have_the_documented_shapes() {
        let a = issue("n".into(), "d".into(), "p".into());
        let b = issue("n".into(), "d".into(), "p".into());
        assert_eq!(a.credential.access_key.len(), 20);
        assert!(a
            .credential
            .access_key
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
        assert_eq!(a.credential.secret_key.len(), 40);
        assert!(a.token.starts_with("vpcep_") && a.token.len() == 70);
        assert_ne!(a.token, b.token);
        assert_ne!(a.credential.access_key, b.credential.access_key);
    }

    #[test]
    fn token_hash_is_sha256_hex() {
        assert_eq!(
            hash_token(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
